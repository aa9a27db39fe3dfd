//! Helpers for the end-to-end tests: a throw-away consortium in a temporary folder, the
//! `greenledger` binary, and a few ways to craft entries the CLI would never sign.
//!
//! * [`Env`] — a temporary folder with an admin key, a genesis and an entries folder, and
//!   shortcuts for the commands the tests run over and over (admit, attest, bundle, verify).
//! * [`Run`] — one finished command: exit code, standard output and error, and assertions that
//!   print all three when they fail.
//! * [`Env::sign_payload`], [`Env::sign_raw`] — entries signed in-process with
//!   `greenledger-testkit`: forks, bad roll-ups, admissions by non-admins, unknown kinds. (Tests
//!   that sign whole chains use testkit's `Chain` directly.)

use std::{
    fs,
    path::{Path, PathBuf},
    time::Duration,
};

use greenledger_core::{Body, EntryId, Genesis, PublicKey, SecretKey, SignedEntry, canonical};
use greenledger_testkit::{Chain, sign_bytes};
use serde_json::Value;

/// The longest any one command may take before the test fails instead of hanging.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The `greenledger` binary under test: `GREENLEDGER_BIN` if set (e.g. to run the suite
/// against `target/release/greenledger`), else the copy cargo builds for this package.
fn binary() -> PathBuf {
    match std::env::var_os("GREENLEDGER_BIN") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_BIN_EXE_greenledger-e2e")),
    }
}

/// A `greenledger` command, run in `dir`, with no node configured.
fn gl_in(dir: &Path) -> assert_cmd::Command {
    let mut cmd = std::process::Command::new(binary());
    // clap names the program after argv[0] in usage lines; make it the real name.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::arg0(&mut cmd, "greenledger");
    cmd.current_dir(dir).env_remove("GREENLEDGER_NODE");
    let mut cmd = assert_cmd::Command::from_std(cmd);
    cmd.timeout(COMMAND_TIMEOUT);
    cmd
}

/// The outcome of one command.
#[derive(Debug)]
pub(crate) struct Run {
    /// What was run, for failure messages.
    what: String,
    /// The exit code (-1 if killed by a signal or the timeout).
    pub(crate) code: i32,
    /// Standard output.
    pub(crate) stdout: String,
    /// Standard error.
    pub(crate) stderr: String,
}

impl Run {
    /// Runs `cmd` to completion.
    pub(crate) fn of(cmd: &mut assert_cmd::Command, what: String) -> Run {
        let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
        Run {
            what,
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn context(&self) -> String {
        format!(
            "command: {}\nexit code: {}\n--- stdout\n{}\n--- stderr\n{}",
            self.what, self.code, self.stdout, self.stderr
        )
    }

    /// Asserts the exit code.
    #[track_caller]
    pub(crate) fn code(self, want: i32) -> Self {
        assert_eq!(self.code, want, "unexpected exit code\n{}", self.context());
        self
    }

    /// Asserts exit code 0.
    #[track_caller]
    pub(crate) fn ok(self) -> Self {
        self.code(0)
    }

    /// Asserts that standard output contains `needle`.
    #[track_caller]
    pub(crate) fn stdout_has(self, needle: &str) -> Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n{}",
            self.context()
        );
        self
    }

    /// Asserts that standard output does not contain `needle`.
    #[track_caller]
    pub(crate) fn stdout_lacks(self, needle: &str) -> Self {
        assert!(
            !self.stdout.contains(needle),
            "stdout should not contain {needle:?}\n{}",
            self.context()
        );
        self
    }

    /// Asserts that standard error contains `needle`.
    #[track_caller]
    pub(crate) fn stderr_has(self, needle: &str) -> Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.context()
        );
        self
    }

    /// The last line of standard output, trimmed (where the contract puts ids and keys).
    #[track_caller]
    pub(crate) fn last_line(&self) -> String {
        self.stdout
            .lines()
            .last()
            .map(|l| l.trim().to_string())
            .unwrap_or_else(|| panic!("no output\n{}", self.context()))
    }

    /// Standard output parsed as one JSON value.
    #[track_caller]
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", self.context()))
    }

    /// The `[step. check] message` lines of a failed verification, from the text report.
    pub(crate) fn reasons(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with('[') && l.contains("] "))
            .collect()
    }

    /// Asserts that exactly one reason line starts with `[step. check]` and contains every one
    /// of `needles`.
    #[track_caller]
    pub(crate) fn reason(self, step: &str, needles: &[&str]) -> Self {
        let prefix = format!("[{step}] ");
        let matching: Vec<&str> = self
            .reasons()
            .into_iter()
            .filter(|l| l.starts_with(&prefix) && needles.iter().all(|n| l.contains(n)))
            .collect();
        assert_eq!(
            matching.len(),
            1,
            "expected one reason [{step}] containing {needles:?}\n{}",
            self.context()
        );
        self
    }

    /// Asserts how many reasons the report lists.
    #[track_caller]
    pub(crate) fn reason_count(self, n: usize) -> Self {
        assert_eq!(self.reasons().len(), n, "expected {n} reasons\n{}", self.context());
        self
    }
}

/// A key file and its public key.
#[derive(Clone, Debug)]
pub(crate) struct Key {
    /// The key file.
    pub(crate) path: PathBuf,
    /// The public key, lowercase hex.
    pub(crate) public: String,
}

impl Key {
    /// The first 8 hex characters, as the verifier prints a key.
    pub(crate) fn short(&self) -> &str {
        &self.public[..8]
    }

    /// The secret key, read from the file with the CLI's key-file reader.
    pub(crate) fn secret(&self) -> SecretKey {
        let text = fs::read_to_string(&self.path).expect("read key file");
        greenledger_cli::keyfile::open(&text).expect("parse key file")
    }

    /// The public key as a core type.
    pub(crate) fn public_key(&self) -> PublicKey {
        self.public.parse().expect("public key")
    }
}

/// A consortium in a temporary folder: `admin.key`, `genesis.json` (network "test-net" with
/// that admin) and an empty `entries/` folder.
pub(crate) struct Env {
    dir: tempfile::TempDir,
    /// The genesis admin.
    pub(crate) admin: Key,
    /// The genesis file.
    pub(crate) genesis: PathBuf,
    /// The network id printed by `genesis`.
    pub(crate) network_id: String,
    /// The entries folder.
    pub(crate) entries: PathBuf,
}

impl Env {
    /// A fresh consortium.
    pub(crate) fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let entries = dir.path().join("entries");
        fs::create_dir(&entries).expect("mkdir entries");
        let genesis = dir.path().join("genesis.json");
        let mut env = Env {
            admin: Key {
                path: PathBuf::new(),
                public: String::new(),
            },
            genesis,
            network_id: String::new(),
            entries,
            dir,
        };
        env.admin = env.key("admin");
        env.network_id = env
            .run(&[
                "genesis",
                "--network",
                "test-net",
                "--admin",
                &env.admin.public.clone(),
                "--out",
                "genesis.json",
            ])
            .ok()
            .last_line();
        assert_eq!(env.network_id.len(), 64, "network id {:?}", env.network_id);
        env
    }

    /// The temporary folder.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the temporary folder.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The `greenledger` command, run in the temporary folder.
    pub(crate) fn gl(&self) -> assert_cmd::Command {
        gl_in(self.dir())
    }

    /// Runs `greenledger ARGS…` in the temporary folder.
    pub(crate) fn run<S: AsRef<str>>(&self, args: &[S]) -> Run {
        let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
        Run::of(self.gl().args(&args), format!("greenledger {}", args.join(" ")))
    }

    /// Runs `greenledger ARGS… --node URL`.
    pub(crate) fn run_on(&self, url: &str, args: &[&str]) -> Run {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--node", url]);
        self.run(&all)
    }

    /// `--genesis genesis.json --entries entries`, for signing and bundling offline.
    pub(crate) fn offline(&self) -> [String; 4] {
        [
            "--genesis".into(),
            self.genesis.display().to_string(),
            "--entries".into(),
            self.entries.display().to_string(),
        ]
    }

    /// Runs a signing or bundling command with [`Env::offline`] appended.
    pub(crate) fn run_offline<S: AsRef<str>>(&self, args: &[S]) -> Run {
        let mut all: Vec<String> = args.iter().map(|a| a.as_ref().to_string()).collect();
        all.extend(self.offline());
        self.run(&all)
    }

    /// `key generate --out NAME.key`.
    pub(crate) fn key(&self, name: &str) -> Key {
        let file = format!("{name}.key");
        let public = self.run(&["key", "generate", "--out", &file]).ok().last_line();
        assert_eq!(public.len(), 64, "public key {public:?}");
        Key {
            path: self.path(&file),
            public,
        }
    }

    /// A new key admitted by the genesis admin as a supplier of organisation `org`.
    pub(crate) fn supplier(&self, name: &str, org: &str) -> Key {
        let k = self.key(name);
        self.admit(&k, org, "supplier");
        k
    }

    /// Like [`Env::supplier`], admitted through the node at `url`.
    pub(crate) fn supplier_on(&self, url: &str, name: &str, org: &str) -> Key {
        let k = self.key(name);
        let admin = self.admin.path.display().to_string();
        let args = [
            "admit", "--key", &admin, "--member", &k.public, "--name", org, "--role", "supplier",
        ];
        self.run_on(url, &args).ok();
        k
    }

    /// The genesis admin admits `member` with `role`; returns the admission's id.
    pub(crate) fn admit(&self, member: &Key, org: &str, role: &str) -> String {
        self.run_offline(&[
            "admit",
            "--key",
            &self.admin.path.display().to_string(),
            "--member",
            &member.public,
            "--name",
            org,
            "--role",
            role,
        ])
        .ok()
        .last_line()
    }

    /// Runs `attest` (own emissions and inputs as decimal strings) without checking the outcome.
    pub(crate) fn try_attest(
        &self,
        key: &Key,
        part: &str,
        unit: &str,
        own: &str,
        inputs: &[(&str, &str)],
        extra: &[&str],
    ) -> Run {
        let mut args: Vec<String> = [
            "attest",
            "--key",
            &key.path.display().to_string(),
            "--part",
            part,
            "--unit",
            unit,
            "--own",
            own,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for (id, qty) in inputs {
            args.push("--input".into());
            args.push(format!("{id}={qty}"));
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        self.run_offline(&args)
    }

    /// Signs an attestation with `attest` into the entries folder; returns its id.
    pub(crate) fn attest(&self, key: &Key, part: &str, unit: &str, own: &str, inputs: &[(&str, &str)]) -> String {
        let id = self.try_attest(key, part, unit, own, inputs, &[]).ok().last_line();
        assert_eq!(id.len(), 64, "entry id {id:?}");
        id
    }

    /// `bundle ID --out NAME.bundle`; returns the bundle's path.
    pub(crate) fn bundle(&self, id: &str, name: &str) -> PathBuf {
        let out = format!("{name}.bundle");
        let printed = self.run_offline(&["bundle", id, "--out", &out]).ok().last_line();
        if id.len() == 64 {
            assert_eq!(printed, id, "bundle prints the target id");
        }
        self.path(&out)
    }

    /// `verify --bundle FILE EXTRA…`.
    pub(crate) fn verify(&self, bundle: &Path, extra: &[&str]) -> Run {
        let mut args = vec!["verify", "--bundle"];
        let b = bundle.display().to_string();
        args.push(&b);
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// The genesis, read with `greenledger-core`.
    pub(crate) fn genesis(&self) -> Genesis {
        Genesis::from_json(&fs::read(&self.genesis).expect("read genesis")).expect("genesis")
    }

    /// Signs `body` at (`seq`, `prev`) — no rule is checked beyond the payload's own
    /// structure — and writes the entry into the entries folder. Returns its id.
    pub(crate) fn sign_payload(&self, key: &Key, seq: u64, prev: Option<&str>, body: Body) -> EntryId {
        let prev = prev.map(|p| p.parse().expect("prev id"));
        let v = Chain::new(key.secret(), &self.genesis()).sign_at(seq, prev, body);
        self.write_entry(v.signed());
        v.id()
    }

    /// Signs arbitrary payload JSON (canonicalised, but not checked against the format) with
    /// `key`: the way to make a correctly signed entry of an unknown kind or version.
    pub(crate) fn sign_raw(&self, key: &Key, payload: &Value) -> SignedEntry {
        let bytes = canonical::to_canonical(payload).expect("canonical payload");
        sign_bytes(&key.secret(), &bytes)
    }

    /// Writes a signed entry into the entries folder as `<id>.json`; returns the path.
    pub(crate) fn write_entry(&self, se: &SignedEntry) -> PathBuf {
        let path = self.entries.join(format!("{}.json", se.id()));
        fs::write(&path, se.to_json()).expect("write entry");
        path
    }

    /// The payload of an entry file in the entries folder, as JSON.
    pub(crate) fn payload_of(&self, id: &str) -> Value {
        let bytes = fs::read(self.entries.join(format!("{id}.json"))).expect("read entry");
        let v: Value = serde_json::from_slice(&bytes).expect("entry JSON");
        v["payload"].clone()
    }
}

/// Reads a file as text.
pub(crate) fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Writes text to a file.
pub(crate) fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// The first 12 hex characters of an id, as the verifier prints it.
pub(crate) fn short(id: &str) -> &str {
    &id[..12]
}

/// Bundle text with the entry line containing `needle` removed, keeping the JSON valid (the
/// bundle writer puts one entry per line, each ending in `,` and the last one in `],`).
#[track_caller]
pub(crate) fn remove_entry_line(bundle: &str, needle: &str) -> String {
    let lines: Vec<&str> = bundle.lines().collect();
    let hits: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("{\"payload\"") && lines[i].contains(needle))
        .collect();
    assert_eq!(hits.len(), 1, "one entry line should contain {needle:?}");
    let i = hits[0];
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let removed = out.remove(i);
    if removed.ends_with("}],") {
        // It was the last entry, which also closes the array: the one before it takes over.
        let before = &mut out[i - 1];
        let trimmed = before.strip_suffix(',').expect("entry separator").to_string();
        *before = format!("{trimmed}],");
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// Bundle text with `entry` added as the first entry.
pub(crate) fn insert_entry_line(bundle: &str, entry: &SignedEntry) -> String {
    let line = String::from_utf8(entry.to_json()).expect("utf-8 entry");
    let marker = "\"entries\":[";
    assert!(bundle.contains(marker), "not a bundle: {bundle}");
    bundle.replacen(marker, &format!("{marker}\n{line},"), 1)
}
