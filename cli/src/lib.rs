//! # greenledger-cli
//!
//! The `greenledger` command: a thin shell over `greenledger-core`, with `greenledger-interop`
//! for PACT, Catena-X and EPCIS files.
//!
//! # Layout
//!
//! * [`args`] — the command line (clap derive).
//! * `client` — the node's HTTP API (`--node URL`).
//! * [`keyfile`] — the secret key file: plain or encrypted (Argon2id + XChaCha20-Poly1305).
//! * `files` — key, genesis, entry-folder and state files; atomic writes.
//! * `cmd` — one module per command family.
//! * `output` — the provenance tree and other terminal output.
//! * `style` — colour (only on a terminal, never with `NO_COLOR`).
//! * `progress` — progress bars on standard error (only on a terminal).
//!
//! Errors are `anyhow` errors mapped to exit codes in one place ([`run`]): a [`Refused`] error
//! (verification failed, the ledger rules refuse the entry) exits 1, anything else 2.

#![forbid(unsafe_code)]

pub mod args;
mod client;
mod cmd;
mod files;
pub mod keyfile;
mod output;
mod progress;
mod style;

use std::process::ExitCode;

use clap::Parser;

/// An error meaning "the rules refuse this": exit code 1.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Whether `--json` is on the command line (before any `--`), for errors clap reports before
/// the command line is parsed.
fn wants_json() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// Parses the command line and runs the command; returns the process exit code.
pub fn run() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // With --json, a usage error is an object on stdout too (the text goes to stderr).
            if e.use_stderr() && wants_json() {
                let message = e.render().to_string();
                let message = message.trim().trim_start_matches("error: ");
                println!(
                    "{}",
                    serde_json::json!({"error": {"code": "usage", "message": message}})
                );
            }
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let json = cli.json;
    if cli.json || cli.quiet {
        progress::turn_off();
    }
    match cmd::dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            let refused = err.downcast_ref::<Refused>().is_some();
            if json {
                let v = serde_json::json!({"error": {"code": if refused { "refused" } else { "error" }, "message": format!("{err:#}")}});
                println!("{v}");
            }
            anstream::eprintln!("{} {err:#}", style::paint(style::BAD, "error:"));
            if refused { ExitCode::from(1) } else { ExitCode::from(2) }
        }
    }
}
