//! `greenledger-node completions SHELL` and `greenledger-node man`: generated from the node's
//! clap definitions, they load in bash and name every command.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use crate::node_util::node_cmd;

const COMMANDS: [&str; 5] = ["init", "run", "pact-client", "completions", "man"];

#[test]
fn node_completions_load_in_bash_and_the_manual_names_every_command() {
    let (code, script, err) = node_cmd(&["completions", "bash"]);
    assert_eq!(code, 0, "{err}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("node.bash"), &script).unwrap();
    if let Ok(out) = Command::new("bash")
        .args(["-c", "source ./node.bash && complete -p greenledger-node"])
        .current_dir(dir.path())
        .output()
    {
        let registered = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && registered.contains("greenledger-node"),
            "{registered}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for shell in ["zsh", "fish", "powershell"] {
        let (code, script, err) = node_cmd(&["completions", shell]);
        assert_eq!(code, 0, "{err}");
        for c in COMMANDS {
            assert!(script.contains(c), "{shell} completions lack {c}");
        }
    }
    let (code, page, err) = node_cmd(&["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(page.contains(".TH greenledger-node 1"), "{page}");
    for c in COMMANDS {
        let roff = c.replace('-', "\\-");
        assert!(
            page.contains(&format!("greenledger\\-node\\-{roff}(1)")),
            "the page lacks {c}:\n{page}"
        );
    }
    let out = dir.path().join("man1");
    let (code, _, err) = node_cmd(&["man", "--out", &out.display().to_string()]);
    assert_eq!(code, 0, "{err}");
    for name in ["greenledger-node", "greenledger-node-run", "greenledger-node-init"] {
        let text = std::fs::read_to_string(out.join(format!("{name}.1"))).unwrap();
        assert!(text.contains(&format!(".TH {name} 1")), "{name}.1:\n{text}");
    }
    // The run page documents the flags, --no-progress among them.
    let run = std::fs::read_to_string(out.join("greenledger-node-run.1")).unwrap();
    assert!(run.contains("no\\-progress"), "{run}");
}
