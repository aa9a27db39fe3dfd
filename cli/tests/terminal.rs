//! What the command line gives a shell and a terminal: completion scripts and manual pages
//! generated from the clap definitions, colour only where it belongs, and nothing of a
//! progress bar in a pipe.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::{
    fs,
    path::Path,
    process::{Command, Output},
};

use greenledger_testkit::{Consortium, attestation};

/// Every subcommand of `greenledger`, as the manual and the completions must name them.
const COMMANDS: [&str; 16] = [
    "key",
    "genesis",
    "admit",
    "revoke",
    "attest",
    "cert",
    "ship",
    "lots",
    "sign",
    "submit",
    "show",
    "bundle",
    "verify",
    "log",
    "completions",
    "man",
];

fn gl(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_greenledger"))
        .args(args)
        .current_dir(dir)
        .env_remove("GREENLEDGER_NODE")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR")
        .envs(vars.iter().copied())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// A folder with `bar.bundle`: an attestation with one input, valid.
fn bundle_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Consortium::new("terminal-net");
    let mut s = c.supplier(11, "Smelter");
    let ore = c.sign(&mut s, attestation("urn:greenledger:t:ore", 250_000, &[]));
    let bar = c.sign(
        &mut s,
        attestation("urn:greenledger:t:bar", 2_000_000, &[(ore.entry(), 3_500_000)]),
    );
    fs::write(dir.path().join("bar.bundle"), c.bundle(bar.id()).to_json()).unwrap();
    dir
}

#[test]
fn bash_completion_loads_and_registers_a_function() {
    let dir = tempfile::tempdir().unwrap();
    let script = stdout(&gl(dir.path(), &["completions", "bash"], &[]));
    fs::write(dir.path().join("gl.bash"), &script).unwrap();
    let out = Command::new("bash")
        .args(["-c", "source ./gl.bash && complete -p greenledger"])
        .current_dir(dir.path())
        .output();
    let Ok(out) = out else {
        eprintln!("SKIPPED: no bash");
        return;
    };
    let registered = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        registered.contains("-F _greenledger greenledger"),
        "no completion function registered: {registered}"
    );
    // The function completes the subcommands: ask it as bash would, after `greenledger ve`.
    let out = Command::new("bash")
        .args([
            "-c",
            "source ./gl.bash && COMP_WORDS=(greenledger ve) COMP_CWORD=1 COMP_LINE='greenledger ve' COMP_POINT=14 && _greenledger greenledger ve greenledger && printf '%s\\n' \"${COMPREPLY[@]}\"",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let offered = String::from_utf8_lossy(&out.stdout);
    assert!(offered.lines().any(|l| l.trim() == "verify"), "{offered}");
}

#[test]
fn completions_for_every_shell_name_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = stdout(&gl(dir.path(), &["completions", shell], &[]));
        for c in COMMANDS {
            assert!(script.contains(c), "{shell} completions lack {c}");
        }
    }
    let bad = gl(dir.path(), &["completions", "tcsh"], &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("possible values: bash, elvish, fish, powershell, zsh"));
}

#[test]
fn the_manual_names_every_command_and_writes_a_page_for_each() {
    let dir = tempfile::tempdir().unwrap();
    let page = stdout(&gl(dir.path(), &["man"], &[]));
    assert!(page.contains(".TH greenledger 1"), "not a roff page:\n{page}");
    for c in COMMANDS {
        assert!(
            page.contains(&format!("greenledger\\-{c}(1)")),
            "the page lacks {c}:\n{page}"
        );
    }
    let out = gl(dir.path(), &["man", "--out", "man1"], &[]);
    stdout(&out);
    for name in [
        "greenledger",
        "greenledger-verify",
        "greenledger-key-generate",
        "greenledger-log-verify",
    ] {
        let p = dir.path().join(format!("man1/{name}.1"));
        let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(text.contains(&format!(".TH {name} 1")), "{name}.1:\n{text}");
    }
    let pages = fs::read_dir(dir.path().join("man1")).unwrap().count();
    assert!(
        pages > COMMANDS.len(),
        "{pages} pages: one per command and the top page"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("wrote {pages} manual pages")));
}

#[test]
fn colour_only_where_asked_and_never_under_no_color() {
    let dir = bundle_dir();
    let args = ["verify", "--bundle", "bar.bundle"];
    // A pipe: no colour.
    let piped = gl(dir.path(), &args, &[]);
    let text = stdout(&piped);
    assert!(text.starts_with("VALID: "), "{text}");
    assert!(!text.contains('\u{1b}'), "colour in a pipe: {text:?}");
    // Forced (as a terminal would get it): the verdict is green, and still the word.
    let forced = stdout(&gl(dir.path(), &args, &[("CLICOLOR_FORCE", "1")]));
    assert!(forced.contains("\u{1b}[32m"), "no colour when forced: {forced:?}");
    assert!(forced.contains("VALID\u{1b}[0m: urn:greenledger:t:bar"), "{forced:?}");
    // NO_COLOR wins over everything.
    let none = stdout(&gl(dir.path(), &args, &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]));
    assert!(!none.contains('\u{1b}'), "colour despite NO_COLOR: {none:?}");
    assert_eq!(none, text);
}

#[test]
fn no_progress_in_a_pipe_and_json_unchanged() {
    let dir = bundle_dir();
    let piped = gl(dir.path(), &["verify", "--bundle", "bar.bundle"], &[]);
    assert!(piped.status.success());
    assert!(piped.stderr.is_empty(), "{:?}", String::from_utf8_lossy(&piped.stderr));
    let json = gl(
        dir.path(),
        &["verify", "--bundle", "bar.bundle", "--json"],
        &[("CLICOLOR_FORCE", "1")],
    );
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert!(!String::from_utf8_lossy(&json.stdout).contains('\u{1b}'));
    assert!(json.stderr.is_empty());
}

#[test]
fn a_bar_on_a_terminal_unless_quiet() {
    let dir = bundle_dir();
    let on_terminal = |args: &str| -> Option<String> {
        let out = Command::new("script")
            .args([
                "-qefc",
                &format!("{} {args}", env!("CARGO_BIN_EXE_greenledger")),
                "/dev/null",
            ])
            .current_dir(dir.path())
            .env("TERM", "xterm-256color")
            .env_remove("NO_COLOR")
            .env_remove("GREENLEDGER_NODE")
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let Some(shown) = on_terminal("verify --bundle bar.bundle") else {
        eprintln!("SKIPPED: no `script` (util-linux) to make a pseudo-terminal");
        return;
    };
    assert!(shown.contains("verify ["), "no bar on a terminal: {shown:?}");
    assert!(shown.contains("decoding and signatures"), "{shown:?}");
    assert!(shown.contains("\u{1b}[32m"), "no colour on a terminal: {shown:?}");
    let quiet = on_terminal("verify --bundle bar.bundle --quiet").unwrap();
    assert!(!quiet.contains("verify ["), "a bar despite --quiet: {quiet:?}");
    let json = on_terminal("verify --bundle bar.bundle --json").unwrap();
    assert!(!json.contains("verify ["), "a bar with --json: {json:?}");
    assert!(!json.contains('\u{1b}'), "control codes with --json: {json:?}");
}
