//! End-to-end tests: the real `greenledger` binary on temporary folders.
//!
//! # Layout
//!
//! * `util` — `Env` (a throw-away consortium: admin key, genesis, entries folder), `Run`
//!   (one command's exit code and output, with assertions), entry crafting with
//!   `greenledger-core`.
//! * `cli` — the offline happy path (a four-tier supply chain), network pinning, `show`, the
//!   `--json` outputs, key files and input errors.
//! * `refusals` — every way an entry or a bundle is refused: tampering, missing inputs, a
//!   wrong roll-up, membership, revocation, supersession, forks, unknown kinds and versions.
//!
//! Run with `cargo test -p greenledger-tests`; set `GREENLEDGER_BIN` to test another build of
//! the binary (e.g. `target/release/greenledger`).

mod careful;
mod cli;
mod node;
mod node_util;
mod refusals;
mod util;
