//! The text of the main outputs and errors, pinned with insta: a change to what people read
//! (`verify`, `show`, `lots`, `key show`, the help, and the errors of a missing file, a bad
//! flag value, a bad `--input`, a wrong kind of file, an unreachable node) shows up in review
//! as a changed `.snap` file under `tests/snapshots/`.
//!
//! Every input is deterministic (greenledger-testkit's keys, genesis and timestamps) and every
//! path is relative to the test's folder, so the text does not change from run to run. After
//! an intended change: `cargo insta review` (or `INSTA_UPDATE=always cargo test`), then read the
//! diff.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::{fs, path::Path, process::Command};

use greenledger_core::{Quantity, VerifiedEntry};
use greenledger_testkit::{Consortium, attestation, key};

/// A consortium in a folder: genesis.json, entries/, key files, and two bundles.
///
/// ore (a 1,000 kg batch of the smelter) → bar (3.5 kg of ore per kg) → housing (2.5 kg of
/// bar) and pack (1 housing and 0.4 kg of bar): the bar appears twice in the pack's tree.
struct Fixture {
    dir: tempfile::TempDir,
    ore: VerifiedEntry,
    bar: VerifiedEntry,
    pack: VerifiedEntry,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Consortium::new("snapshot-net");
        let mut smelter = c.supplier(11, "Nordic Smelter AB");
        let mut maker = c.supplier(12, "PackAssembly SE");
        let mut ore = attestation("urn:greenledger:snap:ore", 250_000, &[]);
        ore.produced_quantity = Some(Quantity(1_000_000_000));
        let ore = c.sign(&mut smelter, ore);
        let bar = c.sign(
            &mut smelter,
            attestation("urn:greenledger:snap:bar", 2_000_000, &[(ore.entry(), 3_500_000)]),
        );
        let housing = c.sign(
            &mut maker,
            attestation("urn:greenledger:snap:housing", 1_250_000, &[(bar.entry(), 2_500_000)]),
        );
        let pack = c.sign(
            &mut maker,
            attestation(
                "urn:greenledger:snap:pack",
                12_750_000,
                &[(housing.entry(), 1_000_000), (bar.entry(), 400_000)],
            ),
        );
        let p = dir.path();
        fs::write(p.join("genesis.json"), c.genesis.canonical_bytes()).unwrap();
        fs::create_dir(p.join("entries")).unwrap();
        for e in &c.entries {
            fs::write(p.join(format!("entries/{}.json", e.id())), e.signed().to_json()).unwrap();
        }
        fs::write(p.join("pack.bundle"), c.bundle(pack.id()).to_json()).unwrap();
        fs::write(p.join("bar.bundle"), c.bundle(bar.id()).to_json()).unwrap();
        fs::write(p.join("smelter.key"), greenledger_cli::keyfile::to_text(&key(11))).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(p.join("smelter.key"), fs::Permissions::from_mode(0o600)).unwrap();
        }
        Fixture { dir, ore, bar, pack }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `greenledger ARGS` in the fixture's folder, with no node and no colour: the command
    /// line, the exit code, standard output and standard error.
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_greenledger"))
            .args(args)
            .current_dir(self.path())
            .env_remove("GREENLEDGER_NODE")
            .env_remove("GREENLEDGER_PASSPHRASE")
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        format!(
            "$ greenledger {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
            args.join(" "),
            out.status.code().unwrap_or(-1),
            text(&out.stdout),
            text(&out.stderr)
        )
    }
}

#[test]
fn verify_valid_with_a_folded_tree() {
    let f = Fixture::new();
    let out = f.run(&["verify", "--bundle", "pack.bundle", "--genesis", "genesis.json"]);
    // Not only pinned text: the verdict is first and the repeated bar is folded.
    assert!(out.contains("--- stdout\nVALID: urn:greenledger:snap:pack"), "{out}");
    assert!(out.contains("↳ (shown above)"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn verify_not_pinned() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.run(&["verify", "--bundle", "bar.bundle"]));
}

#[test]
fn verify_invalid_against_another_network() {
    let f = Fixture::new();
    let other = "0".repeat(64);
    let out = f.run(&["verify", "--bundle", "pack.bundle", "--network", &other]);
    assert!(out.contains("exit: 1\n--- stdout\nINVALID: 1 problem"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn verify_depth_one() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.run(&[
        "verify",
        "--bundle",
        "pack.bundle",
        "--genesis",
        "genesis.json",
        "--depth",
        "1"
    ]));
}

#[test]
fn show_an_entry_file() {
    let f = Fixture::new();
    let file = format!("entries/{}.json", f.bar.id());
    insta::assert_snapshot!(f.run(&["show", &file]));
}

#[test]
fn show_a_part_from_the_entries_folder() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.run(&[
        "show",
        "urn:greenledger:snap:ore",
        "--entries",
        "entries",
        "--genesis",
        "genesis.json"
    ]));
}

#[test]
fn lots_of_a_holder() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.run(&[
        "lots",
        "--key",
        "smelter.key",
        "--genesis",
        "genesis.json",
        "--entries",
        "entries"
    ]));
}

#[test]
fn key_show() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.run(&["key", "show", "--key", "smelter.key"]));
}

#[test]
fn top_level_help() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.run(&["--help"]));
}

// The errors: each names the file, entry or flag and says what to do.

#[test]
fn error_missing_bundle_file() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.run(&["verify", "--bundle", "missing.bundle"]));
}

#[test]
fn error_a_genesis_given_as_the_bundle() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.run(&["verify", "--bundle", "genesis.json"]));
}

#[test]
fn error_an_empty_bundle() {
    let f = Fixture::new();
    fs::write(f.path().join("empty.bundle"), b"").unwrap();
    insta::assert_snapshot!(f.run(&["verify", "--bundle", "empty.bundle"]));
}

#[test]
fn error_a_truncated_bundle() {
    let f = Fixture::new();
    let whole = fs::read(f.path().join("bar.bundle")).unwrap();
    fs::write(f.path().join("cut.bundle"), &whole[..whole.len() / 2]).unwrap();
    insta::assert_snapshot!(f.run(&["verify", "--bundle", "cut.bundle"]));
}

#[test]
fn error_a_bad_flag_value() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.run(&["verify", "--bundle", "pack.bundle", "--depth", "deep"]));
}

#[test]
fn error_an_unknown_unit() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.run(&[
        "attest",
        "--key",
        "smelter.key",
        "--part",
        "urn:greenledger:snap:wire",
        "--unit",
        "furlong",
        "--own",
        "1",
        "--genesis",
        "genesis.json",
        "--entries",
        "entries"
    ]));
}

#[test]
fn error_a_bad_input_flag() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.run(&[
        "attest",
        "--key",
        "smelter.key",
        "--part",
        "urn:greenledger:snap:wire",
        "--unit",
        "kg",
        "--own",
        "1",
        "--input",
        "ore-3.5",
        "--genesis",
        "genesis.json",
        "--entries",
        "entries"
    ]));
}

#[test]
fn error_an_input_not_in_the_folder() {
    let f = Fixture::new();
    let unknown = format!("{}=1", "ab".repeat(32));
    insta::assert_snapshot!(f.run(&[
        "attest",
        "--key",
        "smelter.key",
        "--part",
        "urn:greenledger:snap:wire",
        "--unit",
        "kg",
        "--own",
        "1",
        "--input",
        &unknown,
        "--genesis",
        "genesis.json",
        "--entries",
        "entries"
    ]));
}

#[test]
fn error_not_a_key_file() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.run(&["key", "show", "--key", "genesis.json"]));
}

#[test]
fn error_a_missing_key_file() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.run(&["key", "show", "--key", "nope.key"]));
}

#[test]
fn error_an_unreachable_node() {
    let f = Fixture::new();
    let file = format!("entries/{}.json", f.ore.id());
    // Port 9 (discard) on loopback: nothing listens there.
    insta::assert_snapshot!(f.run(&["submit", &file, "--node", "http://127.0.0.1:9"]));
}

#[test]
fn error_verify_without_a_node() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.run(&["verify", "urn:greenledger:snap:pack"]));
}

#[test]
fn error_an_unknown_command() {
    let f = Fixture::new();
    let _ = &f.pack;
    insta::assert_snapshot!(f.run(&["frobnicate"]));
}

#[test]
fn error_a_missing_entries_folder() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.run(&["show", "deadbeef00", "--entries", "nope"]));
}
