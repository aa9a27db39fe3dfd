//! What the CLI's offline tests share: a temporary folder in which the real `greenledger`
//! binary runs (no node, no passphrase from the environment), and what a run printed.

// Each test crate uses the part it needs.
#![allow(dead_code)]

use std::{
    path::PathBuf,
    process::{Command, Output},
};

/// What one run of `greenledger` printed, and its exit code.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn of(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The last line of stdout (a signing command's new id).
    pub(crate) fn last(&self) -> String {
        self.stdout.lines().last().unwrap_or("").trim().to_string()
    }
}

/// A command line as a person would type it, for failure messages.
pub(crate) fn line<S: AsRef<str>>(args: &[S]) -> String {
    args.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(" ")
}

/// A temporary working folder for `greenledger`.
pub(crate) struct Workdir {
    pub(crate) dir: tempfile::TempDir,
}

impl Workdir {
    pub(crate) fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// Runs `greenledger ARGS` in the folder.
    pub(crate) fn run<S: AsRef<str>>(&self, args: &[S]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_greenledger"))
            .args(args.iter().map(AsRef::as_ref))
            .current_dir(self.dir.path())
            .env_remove("GREENLEDGER_NODE")
            .env_remove("GREENLEDGER_PASSPHRASE")
            .output()
            .unwrap();
        Run::of(out)
    }

    /// Runs `greenledger ARGS`, which must succeed.
    pub(crate) fn ok<S: AsRef<str>>(&self, args: &[S]) -> Run {
        let r = self.run(args);
        assert_eq!(
            r.code,
            0,
            "greenledger {} failed:\n{}{}",
            line(args),
            r.stdout,
            r.stderr
        );
        r
    }

    /// Runs a signing command offline (the network's `genesis.json`, the `entries` folder) and
    /// returns the last line it printed (the new entry's id).
    pub(crate) fn sign<S: AsRef<str>>(&self, args: &[S]) -> String {
        let mut all: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
        all.extend(["--genesis", "genesis.json", "--entries", "entries"]);
        self.ok(&all).last()
    }
}
