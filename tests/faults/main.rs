//! Crashes, for real: `kill -9` of nodes under load and while they catch up.
//!
//! # Layout
//!
//! * `common` — a signing chain, the heavy-test lock, log digests, env-var settings.
//! * `crash` — repeated `kill -9` of one node under concurrent HTTP ingest (acknowledged
//!   entries survive, unacknowledged ones are resubmitted), and of a node of three while it
//!   pulls from the others (all three converge).
//!
//! Settings: `GREENLEDGER_CRASH_CYCLES` (default 3; the long mode uses 25). Each test prints
//! one summary line.
//!
//! Run with `cargo test --release -p greenledger-tests --test faults -- --nocapture`.

#[allow(dead_code)]
mod common;
mod crash;
#[allow(dead_code)]
#[path = "../e2e/node_util.rs"]
mod node_util;
#[allow(dead_code)]
#[path = "../e2e/util.rs"]
mod util;
