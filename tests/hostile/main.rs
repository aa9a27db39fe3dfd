//! Hostile HTTP against one real `greenledger-node` process: every request a careless or
//! malicious client could send is answered with a 4xx (or, for bodies too large or too slow to
//! read, a bounded refusal such as a closed connection), the node stays up, and it stores
//! nothing invalid.
//!
//! * `cases` — the catalogue: one table of requests (name, method, path, headers, body,
//!   expected status range, expected error code), run by one driver
//!   ([`hostile_requests_are_refused_and_nothing_invalid_is_stored`]). After every case the
//!   driver checks the status (never 5xx, never a hang), the JSON error shape, and that
//!   `GET /v1/health` still answers; at the end, that the log holds exactly the valid entries
//!   and that `greenledger log verify` passes.
//! * `conn` — connection-level cases that a table cannot express: slow and stalled bodies and
//!   headers, hundreds of idle connections, pipelined garbage.
//! * `raw` — HTTP/1.1 over a bare `TcpStream`, with deadlines.
//!
//! Run with `cargo test --release -p greenledger-tests --test hostile_http`.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod cases;
mod conn;
#[allow(dead_code)]
#[path = "../e2e/node_util.rs"]
mod node_util;
mod raw;
#[allow(dead_code)]
#[path = "../e2e/util.rs"]
mod util;

use std::time::Duration;

use greenledger_core::{Role, SecretKey, SignedEntry, VerifiedEntry};
use greenledger_testkit::Chain;

use crate::{node_util::TestNode, util::Env};

/// Short HTTP deadlines, so that the slow-client cases finish in seconds.
pub(crate) const STALL: Duration = Duration::from_secs(2);
/// The node's per-request deadline in these tests.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(4);

/// A node on a fresh consortium, with [`STALL`] and [`REQUEST_TIMEOUT`] as its HTTP limits.
pub(crate) fn start_node(env: &Env) -> TestNode {
    let cfg = env.path("hostile.toml");
    std::fs::write(
        &cfg,
        format!(
            "[http_limits]\nstall_timeout = \"{}s\"\nrequest_timeout = \"{}s\"\n",
            STALL.as_secs(),
            REQUEST_TIMEOUT.as_secs()
        ),
    )
    .unwrap();
    TestNode::start_with(
        &env.path("node"),
        &env.genesis,
        &["--config", &cfg.display().to_string()],
    )
}

/// `127.0.0.1:PORT` of a node.
pub(crate) fn addr_of(node: &TestNode) -> String {
    node.url.trim_start_matches("http://").to_string()
}

/// A consortium, a node, an admitted supplier and the valid entries submitted so far.
pub(crate) struct Fixture {
    pub(crate) env: Env,
    pub(crate) node: TestNode,
    pub(crate) addr: String,
    /// The supplier's chain (testkit's): its next position is after every valid entry.
    pub(crate) supplier: Chain,
    /// Every valid entry submitted (and acknowledged) so far, in order.
    pub(crate) valid: Vec<SignedEntry>,
}

impl Fixture {
    /// A node with an admitted supplier who has attested ore (seq 1) and a bar made of it (seq 2).
    pub(crate) fn new() -> Fixture {
        let env = Env::new();
        let node = start_node(&env);
        let addr = addr_of(&node);
        let genesis = env.genesis();
        let mut admin = Chain::new(env.admin.secret(), &genesis);
        let supplier_key = SecretKey::generate();
        let admit = admin.admit(&supplier_key.public(), "Hostile Test Smelter", Role::Supplier);
        let mut f = Fixture {
            env,
            node,
            addr,
            supplier: Chain::new(supplier_key, &genesis),
            valid: Vec::new(),
        };
        f.submit_valid(&admit);
        let ore = f.supplier.attest("urn:greenledger:hostile:ore", 250_000, &[]);
        f.submit_valid(&ore);
        let bar = f
            .supplier
            .attest("urn:greenledger:hostile:bar", 2_000_000, &[(ore.entry(), 3_000_000)]);
        f.submit_valid(&bar);
        f
    }

    /// Submits an entry that must be stored (201).
    pub(crate) fn submit_valid(&mut self, e: &VerifiedEntry) {
        let se = e.signed();
        let (st, b) = self.node.submit(&se.to_json());
        assert_eq!(st, 201, "a valid entry was not stored: {b}");
        self.valid.push(se.clone());
    }
}

#[test]
fn hostile_requests_are_refused_and_nothing_invalid_is_stored() {
    cases::run_catalogue();
}

#[test]
fn a_stalled_body_times_out_and_others_are_served_meanwhile() {
    conn::stalled_body();
}

#[test]
fn a_trickled_body_times_out_and_others_are_served_meanwhile() {
    conn::trickled_body();
}

#[test]
fn trickled_headers_are_cut_off() {
    conn::trickled_headers();
}

#[test]
fn hundreds_of_idle_connections_do_not_block_a_request_and_are_dropped() {
    conn::idle_connections();
}

#[test]
fn pipelined_garbage_after_a_good_request_is_refused() {
    conn::pipelined_garbage();
}
