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

use greenledger_core::{Body, EntryId, NetworkId, Payload, Role, SecretKey, SignedEntry, entry, model::MemberAdmit};

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

/// Signs entries for one key at the right chain position, with `greenledger-core` directly.
pub(crate) struct Signer {
    key: SecretKey,
    network: NetworkId,
    /// The last seq signed and accepted.
    pub(crate) seq: u64,
    /// The id at `seq`.
    pub(crate) prev: Option<EntryId>,
}

impl Signer {
    pub(crate) fn new(key: SecretKey, network: NetworkId) -> Signer {
        Signer {
            key,
            network,
            seq: 0,
            prev: None,
        }
    }

    /// The public key.
    pub(crate) fn public(&self) -> greenledger_core::PublicKey {
        self.key.public()
    }

    /// The payload of the next entry in the chain (not advancing it).
    pub(crate) fn next_payload(&self, body: Body) -> Payload {
        Payload {
            network: self.network,
            signer: self.key.public(),
            seq: self.seq + 1,
            prev: self.prev,
            timestamp: util::TIMESTAMP.into(),
            body,
        }
    }

    /// Signs the next entry and advances the chain (for entries that will be accepted).
    pub(crate) fn sign(&mut self, body: Body) -> SignedEntry {
        let v = entry::sign(&self.key, &self.next_payload(body)).unwrap();
        self.seq += 1;
        self.prev = Some(v.id());
        v.signed().clone()
    }

    /// Signs arbitrary payload bytes, as they stand (no check at all).
    pub(crate) fn sign_bytes(&self, payload: &[u8]) -> SignedEntry {
        let mut msg = entry::ENTRY_TAG.to_vec();
        msg.extend_from_slice(payload);
        SignedEntry::from_parts(payload.to_vec(), self.key.sign(&msg))
    }

    /// The canonical bytes of the next payload with `body` (not signed, not advancing).
    pub(crate) fn next_bytes(&self, body: Body) -> Vec<u8> {
        self.next_payload(body).to_canonical().unwrap()
    }
}

pub(crate) use util::attestation;

/// A consortium, a node, an admitted supplier and the valid entries submitted so far.
pub(crate) struct Fixture {
    pub(crate) env: Env,
    pub(crate) node: TestNode,
    pub(crate) addr: String,
    pub(crate) supplier: Signer,
    /// Every valid entry submitted (and acknowledged) so far, in order.
    pub(crate) valid: Vec<SignedEntry>,
}

impl Fixture {
    /// A node with an admitted supplier who has attested ore (seq 1) and a bar made of it (seq 2).
    pub(crate) fn new() -> Fixture {
        let env = Env::new();
        let node = start_node(&env);
        let addr = addr_of(&node);
        let network = env.network();
        let mut admin = Signer::new(env.admin.secret(), network);
        let supplier_key = SecretKey::generate();
        let admit = admin.sign(Body::MemberAdmit(MemberAdmit {
            member: supplier_key.public(),
            name: "Hostile Test Smelter".into(),
            role: Role::Supplier,
            peer_id: None,
        }));
        let mut f = Fixture {
            env,
            node,
            addr,
            supplier: Signer::new(supplier_key, network),
            valid: Vec::new(),
        };
        f.submit_valid(admit);
        let ore = f
            .supplier
            .sign(attestation("urn:greenledger:hostile:ore", 250_000, &[]));
        f.submit_valid(ore.clone());
        let bar = f.supplier.sign(attestation(
            "urn:greenledger:hostile:bar",
            2_000_000,
            &[(ore.id(), 3_000_000, 250_000)],
        ));
        f.submit_valid(bar);
        f
    }

    /// Submits an entry that must be stored (201).
    pub(crate) fn submit_valid(&mut self, se: SignedEntry) {
        let (st, b) = self.node.submit(&se.to_json());
        assert_eq!(st, 201, "a valid entry was not stored: {b}");
        self.valid.push(se);
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
