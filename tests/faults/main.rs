//! Crashes and network faults, for real: `kill -9` of nodes under load and while they catch up,
//! and testnets in Linux network namespaces with partitions, lossy and slow links.
//!
//! # Layout
//!
//! * `common` — testkit's signing chain, the heavy-test lock, log digests, env-var settings.
//! * `crash` — repeated `kill -9` of one node under concurrent HTTP ingest (acknowledged
//!   entries survive, unacknowledged ones are resubmitted), and of a node of three while it
//!   pulls from the others (all three converge).
//! * `netns` — 3–5 nodes, each in its own network namespace, joined by veth pairs to bridges
//!   in a namespace of the test's own: a 2 | 3 partition by downed links, healed; loss and
//!   delay (`tc netem`, or downed-link bursts where the kernel has no netem). Needs root and
//!   `ip` (iproute2); otherwise these tests print that they are skipped, and why.
//!
//! Settings: `GREENLEDGER_CRASH_CYCLES` (default 3; the long mode uses 25) and
//! `GREENLEDGER_NETFAULT_ROUNDS` (default 2). Each test prints one summary line.
//!
//! Run with `cargo test --release -p greenledger-tests --test faults -- --nocapture`.

#[allow(dead_code)]
mod common;
mod crash;
mod netns;
#[allow(dead_code)]
#[path = "../e2e/node_util.rs"]
mod node_util;
#[allow(dead_code)]
#[path = "../e2e/util.rs"]
mod util;
