//! The node, end to end: the real `greenledger-node` and `greenledger` binaries on temporary
//! data dirs and free loopback ports.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::{
    sync::{Arc, Mutex, atomic::AtomicBool},
    time::Duration,
};

use greenledger_core::{
    Attestation, Body, Emissions, EntryId, Input, Mass, Quantity, Role, SecretKey, SignedEntry, Unit,
    model::MemberRevoke,
};
use greenledger_testkit::{attestation, set_inputs};
use serde_json::Value;

use crate::{
    node_util::TestNode,
    util::{Env, Run},
};

pub(crate) use greenledger_testkit::Chain;

/// A node with the env's genesis, a supplier admitted through the node.
struct Setup {
    env: Env,
    node: TestNode,
    admin: Chain,
    supplier: Chain,
}

fn setup() -> Setup {
    let env = Env::new();
    let node = TestNode::start(&env.path("node"), &env.genesis);
    let genesis = env.genesis();
    let mut admin = Chain::new(env.admin.secret(), &genesis);
    let supplier_key = SecretKey::generate();
    let admit = admin.admit(&supplier_key.public(), "Smelter AG", Role::Supplier);
    let (st, body) = node.submit(&admit.signed().to_json());
    assert_eq!(st, 201, "{body}");
    let supplier = Chain::new(supplier_key, &genesis);
    Setup {
        env,
        node,
        admin,
        supplier,
    }
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an API error: {body}"))
}

#[test]
fn four_tier_chain_online_verifies_with_the_cli() {
    let env = Env::new();
    let node = TestNode::start(&env.path("node"), &env.genesis);
    let url = node.url.clone();
    let on = |args: &[&str]| env.run_on(&url, args);
    let mine = env.key("mine");
    let smelter = env.key("smelter");
    let housing = env.key("housing");
    let packer = env.key("packer");
    let cells = env.key("cells");
    let grid = env.key("grid");
    for (k, name) in [
        (&mine, "Bauxite Mine"),
        (&smelter, "Smelter AG"),
        (&housing, "Housing GmbH"),
        (&packer, "Pack Assembly"),
        (&cells, "Cell Maker"),
        (&grid, "Grid Utility"),
    ] {
        on(&[
            "admit",
            "--key",
            &env.admin.path.display().to_string(),
            "--member",
            &k.public,
            "--name",
            name,
            "--role",
            "supplier",
        ])
        .ok();
    }
    let key = |k: &crate::util::Key| k.path.display().to_string();
    let bauxite = on(&[
        "attest",
        "--key",
        &key(&mine),
        "--part",
        "urn:greenledger:test:bauxite",
        "--unit",
        "kilogram",
        "--own",
        "0.1",
    ])
    .ok()
    .last_line();
    let ingot = on(&[
        "attest",
        "--key",
        &key(&smelter),
        "--part",
        "urn:greenledger:test:ingot",
        "--unit",
        "kilogram",
        "--own",
        "8",
        "--input",
        &format!("{bauxite}=4"),
    ])
    .ok()
    .last_line();
    let shell = on(&[
        "attest",
        "--key",
        &key(&housing),
        "--part",
        "urn:greenledger:test:housing",
        "--unit",
        "piece",
        "--own",
        "1.5",
        "--input",
        &format!("{ingot}=10"),
    ])
    .ok()
    .last_line();
    let cell = on(&[
        "attest",
        "--key",
        &key(&cells),
        "--part",
        "urn:greenledger:test:cell",
        "--unit",
        "piece",
        "--own",
        "2.25",
    ])
    .ok()
    .last_line();
    let power = on(&[
        "attest",
        "--key",
        &key(&grid),
        "--part",
        "urn:greenledger:test:power",
        "--unit",
        "kWh",
        "--own",
        "0.4",
    ])
    .ok()
    .last_line();
    on(&[
        "attest",
        "--key",
        &key(&packer),
        "--part",
        "urn:greenledger:test:pack",
        "--unit",
        "piece",
        "--own",
        "5",
        "--input",
        &format!("{shell}=1"),
        "--input",
        &format!("{cell}=96"),
        "--input",
        &format!("{power}=50"),
    ])
    .ok();
    // ingot 8 + 4×0.1 = 8.4; housing 1.5 + 10×8.4 = 85.5; pack 5 + 85.5 + 96×2.25 + 50×0.4 = 326.5
    let genesis = env.genesis.display().to_string();
    on(&["verify", "urn:greenledger:test:pack", "--genesis", &genesis])
        .ok()
        .stdout_has("326.5")
        .stdout_has("Pack Assembly")
        .stdout_has("Bauxite Mine")
        .stdout_has("VALID");
    let v = on(&["verify", "urn:greenledger:test:pack", "--json", "--genesis", &genesis])
        .ok()
        .json();
    assert_eq!(v["valid"], Value::Bool(true));
    assert_eq!(v["network_pinned"], Value::Bool(true));
    on(&["bundle", "urn:greenledger:test:pack", "--out", "pack.bundle"]).ok();
    env.run(&["verify", "--bundle", "pack.bundle", "--genesis", &genesis])
        .ok()
        .stdout_has("326.5");
    on(&["log", "verify"]).ok().stdout_has("VALID");
    on(&["show", "urn:greenledger:test:ingot"])
        .ok()
        .stdout_has("urn:greenledger:test:ingot");
    // Where used.
    let (st, used) = node.get(&format!("/v1/entries/{ingot}/consumers"));
    assert_eq!(st, 200);
    assert_eq!(used["consumers"][0]["id"], Value::String(shell.clone()));
    // Signing a second attestation continues the chain from the node's head.
    let ore2 = on(&[
        "attest",
        "--key",
        &key(&mine),
        "--part",
        "urn:greenledger:test:bauxite-2",
        "--unit",
        "kilogram",
        "--own",
        "0.2",
        "--json",
    ])
    .ok()
    .json();
    assert_eq!(ore2["seq"], Value::from(2));
}

#[test]
fn bad_input_is_refused_precisely_and_nothing_invalid_is_stored() {
    let mut s = setup();
    let node = &s.node;
    let before = node.log_size();
    let good = s.supplier.attest("urn:greenledger:test:good", 1_000_000, &[]);
    let env_json = String::from_utf8(good.signed().to_json()).unwrap();

    // Malformed, truncated, empty, wrong type, oversized.
    let (st, b) = node.submit(b"{not json");
    assert_eq!((st, error_code(&b)), (400, "malformed_json"));
    let (st, b) = node.submit(&env_json.as_bytes()[..env_json.len() / 2]);
    assert_eq!((st, error_code(&b)), (400, "malformed_json"));
    let (st, b) = node.submit(b"");
    assert_eq!((st, error_code(&b)), (400, "empty_body"));
    let (st, b) = node.post("/v1/entries", "text/plain", env_json.as_bytes());
    assert_eq!((st, error_code(&b)), (415, "unsupported_media_type"));
    let (st, b) = node.post("/v1/entries", "application/jsonfoo", env_json.as_bytes());
    assert_eq!((st, error_code(&b)), (415, "unsupported_media_type"));
    assert_eq!(node.post("/v1/entries", "application/json; charset=utf-8", b"{").0, 400);
    let (st, b) = node.get(&format!("/v1/entries/{}/consumers?limit=abc", "ab".repeat(32)));
    assert_eq!((st, error_code(&b)), (400, "invalid_query"));
    // A body announced larger than the limit is refused before it is read.
    let (st, b) = node.announce_huge_body(3 << 20);
    assert_eq!((st, error_code(&b)), (413, "payload_too_large"));
    let (st, b) = node.submit(br#"{"payload":{},"signature":"00"}"#);
    assert_eq!((st, error_code(&b)), (400, "malformed_signature"));
    // An array is the array form (DESIGN §6): each item is answered as it would be alone.
    let (st, b) = node.submit(br#"[1,2,3]"#);
    assert_eq!(st, 200, "{b}");
    for item in b.as_array().unwrap() {
        assert_eq!(
            (item["status"].as_u64(), error_code(&item["body"])),
            (Some(400), "malformed_entry")
        );
    }

    // A reformatted payload.
    let spaced = env_json.replacen("{\"body\":", "{ \"body\":", 1);
    let (st, b) = node.submit(spaced.as_bytes());
    assert_eq!((st, error_code(&b)), (400, "not_canonical"));

    // Invalid signature: one character of the payload changed.
    let tampered = env_json.replace("\"1000000\"", "\"1000001\"");
    assert_ne!(tampered, env_json);
    let (st, b) = node.submit(tampered.as_bytes());
    assert_eq!((st, error_code(&b)), (422, "invalid_signature"));

    // Wrong network.
    let other = greenledger_testkit::genesis("other-net", &[s.env.admin.public_key()]);
    let mut foreign = Chain::new(SecretKey::generate(), &other);
    let (st, b) = node.submit(&foreign.attest("urn:greenledger:test:x", 1, &[]).signed().to_json());
    assert_eq!((st, error_code(&b)), (422, "wrong_network"));

    // Unknown signer.
    let genesis = s.env.genesis();
    let mut stranger = Chain::new(SecretKey::generate(), &genesis);
    let (st, b) = node.submit(&stranger.attest("urn:greenledger:test:x", 1, &[]).signed().to_json());
    assert_eq!((st, error_code(&b)), (403, "unknown_signer"));
    assert!(
        b["error"]["message"].as_str().unwrap().contains("never admitted"),
        "{b}"
    );

    // A supplier may not admit.
    let (st, b) = node.submit(
        &s.supplier
            .admit(&SecretKey::generate().public(), "X", Role::Supplier)
            .signed()
            .to_json(),
    );
    assert_eq!((st, error_code(&b)), (403, "not_authorized"));
    s.supplier.seq = 2; // that entry was refused: reuse its position after `good`
    s.supplier.prev = Some(good.id());

    // Roll-up off by one milligram.
    let (st, _) = node.submit(&good.signed().to_json());
    assert_eq!(st, 201);
    let mut bad = Attestation::new("urn:greenledger:test:bad", Unit::Kilogram, Emissions::headline(Mass(5)));
    bad.inputs.push(Input {
        entry: good.id(),
        quantity: Quantity(1_000_000),
        lot: None,
    });
    bad.total = Emissions::headline(Mass(1_000_006));
    let bad = s.supplier.sign(Body::Attestation(Box::new(bad)));
    let (st, b) = node.submit(&bad.signed().to_json());
    assert_eq!((st, error_code(&b)), (422, "rollup_mismatch"));
    s.supplier.seq = 2;
    s.supplier.prev = Some(good.id());

    // Revoked signer: revoked after its seq 1 (the good entry); seq 2 is refused.
    let revoke = s.admin.sign(Body::MemberRevoke(MemberRevoke {
        member: s.supplier.key.public(),
        after_seq: 1,
        reason: None,
    }));
    assert_eq!(node.submit(&revoke.signed().to_json()).0, 201);
    let (st, b) = node.submit(
        &s.supplier
            .attest("urn:greenledger:test:late", 1, &[])
            .signed()
            .to_json(),
    );
    assert_eq!((st, error_code(&b)), (403, "revoked_signer"));

    // Unknown ids and routes; wrong methods; bad paths.
    let (st, b) = node.get(&format!("/v1/entries/{}", "ab".repeat(32)));
    assert_eq!((st, error_code(&b)), (404, "not_found"));
    let (st, b) = node.get("/v1/entries/not-an-id");
    assert_eq!((st, error_code(&b)), (400, "invalid_id"));
    let (st, b) = node.get("/v1/nothing/here");
    assert_eq!((st, error_code(&b)), (404, "not_found"));
    let (st, b) = node.get("/v1/entries");
    assert_eq!((st, error_code(&b)), (405, "method_not_allowed"));
    let (st, b) = node.get("/v1/log?limit=100000");
    assert_eq!((st, error_code(&b)), (400, "invalid_query"));
    let (st, b) = node.get("/v1/log?from=abc");
    assert_eq!((st, error_code(&b)), (400, "invalid_query"));
    let (st, b) = node.get("/v1/signers/xyz");
    assert_eq!((st, error_code(&b)), (400, "invalid_public_key"));
    let (st, b) = node.get("/v1/parts/not-a-urn");
    assert_eq!((st, error_code(&b)), (400, "invalid_part"));
    // The chain-of-custody routes: malformed and unknown lots, keys and queries.
    for bad in [
        "nolot",
        "ab:0",
        &format!("{}:01", "ab".repeat(32)),
        &format!("{}:x", "ab".repeat(32)),
        &format!("{}:99999999999", "ab".repeat(32)),
    ] {
        let (st, b) = node.get(&format!("/v1/lots/{bad}"));
        assert_eq!((st, error_code(&b)), (400, "invalid_lot"), "{bad}: {b}");
    }
    let (st, b) = node.get(&format!("/v1/lots/{}:0", "ab".repeat(32)));
    assert_eq!((st, error_code(&b)), (404, "not_found"));
    let (_, log) = node.get("/v1/log?from=0&limit=1");
    let first = log["records"][0]["id"].as_str().unwrap().to_string();
    let (st, b) = node.get(&format!("/v1/lots/{first}:0"));
    assert_eq!(
        (st, error_code(&b)),
        (404, "not_found"),
        "a membership entry creates no lot"
    );
    assert!(
        b["error"]["message"].as_str().unwrap().contains("creates no lot"),
        "{b}"
    );
    let (st, b) = node.get("/v1/holders/xyz/lots");
    assert_eq!((st, error_code(&b)), (400, "invalid_public_key"));
    let (st, b) = node.get(&format!("/v1/holders/{}/lots?limit=x", s.supplier.key.public()));
    assert_eq!((st, error_code(&b)), (400, "invalid_query"));
    let (st, b) = node.get(&format!("/v1/holders/{}/lots", s.supplier.key.public()));
    assert_eq!(st, 200, "{b}");
    let (st, b) = node.get("/v1/conflicts?limit=-1");
    assert_eq!((st, error_code(&b)), (400, "invalid_query"));
    let (st, b) = node.get("/v1/conflicts");
    assert_eq!((st, b["conflicts"].as_array().map(Vec::len)), (200, Some(0)));

    // Only the good entry and the revocation were stored; the node still serves.
    let (_, log) = node.get(&format!("/v1/log?from={before}&limit=10"));
    assert_eq!(node.log_size(), before + 2, "{log}");
    let (st, h) = node.get("/v1/health");
    assert_eq!((st, h["status"].as_str()), (200, Some("ok")));
    let (st, metrics) = node.get_raw("/metrics");
    assert_eq!(st, 200);
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(metrics.contains("greenledger_log_entries"), "{metrics}");
    assert!(metrics.contains("greenledger_ingest_latency_seconds"), "{metrics}");
    assert!(metrics.contains("result=\"rollup_mismatch\""), "{metrics}");
    assert!(metrics.contains("greenledger_http_requests_total"), "{metrics}");
    // Memory, for operators sizing a machine: the process's, and RocksDB's by use. Entries
    // were written, so the memtables hold something; the process holds at least that.
    let gauge = |name: &str| -> f64 {
        let line = metrics
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {metrics}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let resident = gauge("greenledger_process_resident_memory_bytes ");
    let memtables = gauge("greenledger_storage_memory_bytes{kind=\"memtables\"}");
    assert!(memtables > 0.0, "{metrics}");
    assert!(resident > memtables, "{metrics}");
    gauge("greenledger_storage_memory_bytes{kind=\"block_cache\"}");
    gauge("greenledger_storage_memory_bytes{kind=\"table_readers\"}");
}

#[test]
fn duplicates_are_idempotent_and_pending_entries_wait_for_their_parents() {
    let mut s = setup();
    let ore = s.supplier.attest("urn:greenledger:test:ore", 250_000, &[]);
    let bar = s
        .supplier
        .attest("urn:greenledger:test:bar", 2_000_000, &[(ore.entry(), 3_500_000)]);
    // The child first: it waits (its prev and its input are unknown).
    let (st, b) = s.node.submit(&bar.signed().to_json());
    assert_eq!(st, 202, "{b}");
    assert_eq!(b["status"], "pending");
    assert!(
        b["missing"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == &Value::String(ore.id().to_hex()))
    );
    assert_eq!(s.node.get(&format!("/v1/entries/{}", bar.id())).0, 404);
    // Its parent arrives: both are stored.
    let (st, b) = s.node.submit(&ore.signed().to_json());
    assert_eq!(st, 201, "{b}");
    let (st, e) = s.node.get(&format!("/v1/entries/{}", bar.id()));
    assert_eq!(st, 200, "{e}");
    // The same entry again: same log index, nothing new.
    let size = s.node.log_size();
    let (st, b) = s.node.submit(&bar.signed().to_json());
    assert_eq!(st, 200);
    assert_eq!(b["status"], "duplicate");
    assert_eq!(b["log_index"], e["log_index"]);
    assert_eq!(s.node.log_size(), size);
    // The part resolves to the current attestation.
    let (st, p) = s.node.get("/v1/parts/urn:greenledger:test:bar");
    assert_eq!(st, 200);
    assert_eq!(p["current"][0], Value::String(bar.id().to_hex()));
}

#[test]
fn pending_area_is_bounded() {
    let env = Env::new();
    let cfg = env.path("small.toml");
    std::fs::write(&cfg, "[pending]\nmax_entries = 2\nmax_bytes = 1000000\n").unwrap();
    let node = TestNode::start_with(
        &env.path("node"),
        &env.genesis,
        &["--config", &cfg.display().to_string()],
    );
    let genesis = env.genesis();
    let mut admin = Chain::new(env.admin.secret(), &genesis);
    let key = SecretKey::generate();
    assert_eq!(
        node.submit(&admin.admit(&key.public(), "S", Role::Supplier).signed().to_json())
            .0,
        201
    );
    let mut sup = Chain::new(key, &genesis);
    let first = sup.attest("urn:greenledger:test:a", 1, &[]);
    let waiting: Vec<SignedEntry> = (0..3)
        .map(|i| {
            sup.attest(&format!("urn:greenledger:test:w{i}"), 1, &[])
                .signed()
                .clone()
        })
        .collect();
    assert_eq!(node.submit(&waiting[0].to_json()).0, 202);
    assert_eq!(node.submit(&waiting[1].to_json()).0, 202);
    let (st, b) = node.submit(&waiting[2].to_json());
    assert_eq!((st, error_code(&b)), (503, "pending_full"));
    // The missing parent unblocks the chain; the refused one can then be sent again.
    assert_eq!(node.submit(&first.signed().to_json()).0, 201);
    assert_eq!(node.submit(&waiting[2].to_json()).0, 201);
    assert_eq!(node.log_size(), 5);
}

#[test]
fn a_fork_is_kept_as_proof_and_fails_verification_of_what_depends_on_it() {
    let mut s = setup();
    let ore = s.supplier.attest("urn:greenledger:test:ore", 250_000, &[]);
    assert_eq!(s.node.submit(&ore.signed().to_json()).0, 201);
    // Two different entries at seq 2.
    let mut twin = s.supplier.twin();
    let a = s
        .supplier
        .attest("urn:greenledger:test:bar", 1_000_000, &[(ore.entry(), 1_000_000)]);
    let b = twin.attest("urn:greenledger:test:bar", 900_000, &[(ore.entry(), 1_000_000)]);
    assert_eq!(s.node.submit(&a.signed().to_json()).0, 201);
    let (st, body) = s.node.submit(&b.signed().to_json());
    assert_eq!((st, error_code(&body)), (409, "fork"));
    let (_, signer) = s.node.get(&format!("/v1/signers/{}", s.supplier.key.public()));
    assert_eq!(signer["forked_at_seq"], Value::from(2));
    // Later entries of the forked signer are refused.
    let (st, body) = s.node.submit(
        &s.supplier
            .attest("urn:greenledger:test:later", 1, &[])
            .signed()
            .to_json(),
    );
    assert_eq!((st, error_code(&body)), (409, "signer_forked"));
    // Nothing new may build on the forked chain.
    let genesis = s.env.genesis();
    let mut admin = Chain::new(s.env.admin.secret(), &genesis);
    admin.seq = 2;
    let (_, admin_info) = s.node.get(&format!("/v1/signers/{}", s.env.admin.public));
    admin.prev = Some(admin_info["head"]["id"].as_str().unwrap().parse().unwrap());
    let consumer_key = SecretKey::generate();
    assert_eq!(
        s.node
            .submit(
                &admin
                    .admit(&consumer_key.public(), "Consumer", Role::Supplier)
                    .signed()
                    .to_json()
            )
            .0,
        201
    );
    let mut consumer = Chain::new(consumer_key, &genesis);
    let (st, body) = s.node.submit(
        &consumer
            .attest("urn:greenledger:test:uses-fork", 1, &[(a.entry(), 1_000_000)])
            .signed()
            .to_json(),
    );
    assert_eq!((st, error_code(&body)), (422, "forked_input"), "{body}");
    // Verifying the part fails and names the fork; the earlier entry still verifies.
    let url = s.node.url.clone();
    let genesis = s.env.genesis.display().to_string();
    s.env
        .run(&["verify", &a.id().to_hex(), "--node", &url, "--genesis", &genesis])
        .code(1)
        .stdout_has("fork");
    s.env
        .run(&["verify", &ore.id().to_hex(), "--node", &url, "--genesis", &genesis])
        .ok();
}

#[test]
fn entries_survive_restart_and_a_different_genesis_is_refused() {
    let mut s = setup();
    let ore = s.supplier.attest("urn:greenledger:test:ore", 250_000, &[]);
    assert_eq!(s.node.submit(&ore.signed().to_json()).0, 201);
    assert_eq!(s.node.stop(), 0, "clean shutdown on SIGTERM:\n{}", s.node.log());
    let mut node = TestNode::start(&s.node.data_dir, &s.env.genesis);
    assert_eq!(node.get(&format!("/v1/entries/{}", ore.id())).0, 200);
    assert_eq!(node.log_size(), 2);
    let url = node.url.clone();
    s.env.run(&["log", "verify", "--node", &url]).ok();
    node.stop();
    // Another network's genesis on the same data dir is refused with a clear message.
    let other = s.env.path("other-genesis.json");
    s.env
        .run(&[
            "genesis",
            "--network",
            "other-net",
            "--admin",
            &s.env.admin.public,
            "--out",
            &other.display().to_string(),
        ])
        .ok();
    let (code, _, err) = crate::node_util::node_cmd(&[
        "run",
        "--data-dir",
        &node.data_dir.display().to_string(),
        "--genesis",
        &other.display().to_string(),
        "--http",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("belongs to network"), "{err}");
}

#[test]
fn node_init_prints_the_peer_id_and_refuses_to_replace_it() {
    let env = Env::new();
    let dir = env.path("n").display().to_string();
    let (code, out, _) = crate::node_util::node_cmd(&["init", "--data-dir", &dir]);
    assert_eq!(code, 0);
    let peer = out.lines().last().unwrap().trim().to_string();
    assert!(peer.starts_with("12D3KooW"), "{peer}");
    let (code, _, err) = crate::node_util::node_cmd(&["init", "--data-dir", &dir]);
    assert_eq!(code, 2);
    assert!(err.contains(&peer), "{err}");
}

/// kill -9 at random moments while four clients stream submissions concurrently (so that
/// group commit batches them); every acknowledged entry must be there after restart, and the
/// log must verify. Cycles: GREENLEDGER_CRASH_CYCLES (default 3).
#[test]
fn acknowledged_entries_survive_kill_9() {
    let cycles: usize = std::env::var("GREENLEDGER_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let mut s = setup();
    let genesis = s.env.genesis();
    // Four suppliers, one submitting thread each.
    let mut chains: Vec<Chain> = Vec::new();
    for i in 0..4 {
        let key = SecretKey::generate();
        assert_eq!(
            s.node
                .submit(
                    &s.admin
                        .admit(&key.public(), &format!("Supplier {i}"), Role::Supplier)
                        .signed()
                        .to_json()
                )
                .0,
            201
        );
        chains.push(Chain::new(key, &genesis));
    }
    let acked: Arc<Mutex<Vec<EntryId>>> = Arc::default();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut total_acked = 0;
    for cycle in 0..cycles {
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for (t, chain) in chains.iter_mut().enumerate() {
            let batch: Vec<SignedEntry> = (0..3000)
                .map(|i| {
                    chain
                        .attest(&format!("urn:greenledger:test:c{cycle}-t{t}-{i}"), i, &[])
                        .signed()
                        .clone()
                })
                .collect();
            let (url, acked, stop) = (s.node.url.clone(), acked.clone(), stop.clone());
            threads.push(std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(5)))
                    .build()
                    .into();
                let mut n = 0;
                for e in &batch {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    match agent
                        .post(&format!("{url}/v1/entries"))
                        .header("Content-Type", "application/json")
                        .send(&e.to_json()[..])
                    {
                        Ok(r) if r.status().as_u16() == 201 => {
                            acked.lock().unwrap().push(e.id());
                            n += 1;
                        }
                        _ => break, // the node died mid-request: not acknowledged
                    }
                }
                n
            }));
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(100 + seed % 500));
        s.node.kill9();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let sent: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        total_acked += sent;
        s.node = TestNode::start(&s.node.data_dir.clone(), &s.env.genesis);
        let list = acked.lock().unwrap().clone();
        for id in &list {
            assert_eq!(
                s.node.get(&format!("/v1/entries/{id}")).0,
                200,
                "acknowledged entry {id} lost in cycle {cycle}"
            );
        }
        // Each supplier continues after the node's head (unacknowledged entries may or may not
        // have been stored).
        for chain in chains.iter_mut() {
            let (_, signer) = s.node.get(&format!("/v1/signers/{}", chain.key.public()));
            let head = &signer["head"];
            chain.seq = head["seq"].as_u64().unwrap_or(0) + 1;
            chain.prev = head["id"].as_str().map(|h| h.parse().unwrap());
        }
        let url = s.node.url.clone();
        s.env.run(&["log", "verify", "--node", &url]).ok();
        eprintln!(
            "crash cycle {cycle}: {sent} acknowledged before kill -9; all {} acknowledged so far present after restart; log verifies",
            list.len()
        );
    }
    assert!(total_acked > 0, "no submission was acknowledged at all");
}

#[test]
fn entries_signed_offline_are_submitted_and_the_cli_works_against_the_node() {
    let env = Env::new();
    let node = TestNode::start(&env.path("node"), &env.genesis);
    let url = node.url.clone();
    let smelter = env.supplier("smelter", "Smelter AG"); // admitted offline
    let ore = env.attest(&smelter, "urn:greenledger:test:ore", "kg", "0.25", &[]);
    let bar = env.attest(&smelter, "urn:greenledger:test:bar", "kg", "2", &[(&ore, "3.5")]);
    // Submit the folder (entries in any order: the node holds children until parents arrive).
    let mut files: Vec<String> = std::fs::read_dir(&env.entries)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    files.sort();
    files.reverse();
    let mut args = vec!["submit".to_string()];
    args.extend(files.iter().cloned());
    args.extend(["--node".into(), url.clone()]);
    env.run(&args).ok();
    // Submitting again is harmless.
    env.run(&args).ok().stderr_has("duplicate");
    // GREENLEDGER_NODE works like --node.
    let show = Run::of(
        env.gl()
            .env("GREENLEDGER_NODE", &url)
            .args(["show", "urn:greenledger:test:bar"]),
        "greenledger show (GREENLEDGER_NODE)".into(),
    );
    show.ok().stdout_has(&bar).stdout_has("2.875");
    let genesis = env.genesis.display().to_string();
    env.run(&["verify", &bar, "--node", &url, "--genesis", &genesis])
        .ok()
        .stdout_has("2.875");
    // A tampered file is refused by the node: exit 1, and nothing else is lost.
    let tampered = env.path("tampered.json");
    let text = std::fs::read_to_string(env.entries.join(format!("{bar}.json"))).unwrap();
    std::fs::write(&tampered, text.replace("\"2000000\"", "\"1000000\"")).unwrap();
    env.run(&["submit", &tampered.display().to_string(), "--node", &url])
        .code(1)
        .stderr_has("invalid_signature");
    // `sign` a prepared payload against the node: seq/prev filled from the node.
    let payload = env.path("payload.json");
    std::fs::write(&payload, r#"{"kind":"attestation","body":{"part":"urn:greenledger:test:erp","declaredUnitOfMeasurement":"kilogram","own":{"pcfExcludingBiogenicUptake":"5000"},"total":{"pcfExcludingBiogenicUptake":"5000"}}}"#).unwrap();
    let signed = env
        .run(&[
            "sign",
            "--key",
            &smelter.path.display().to_string(),
            &payload.display().to_string(),
            "--node",
            &url,
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(signed["seq"], Value::from(3));
    assert_eq!(signed["node"]["status"], "stored");
    // Revocation online: the supplier's entries after seq 3 are refused (exit 1, reason named).
    env.run(&[
        "revoke",
        "--key",
        &env.admin.path.display().to_string(),
        "--member",
        &smelter.public,
        "--after-seq",
        "3",
        "--node",
        &url,
    ])
    .ok();
    env.run(&[
        "attest",
        "--key",
        &smelter.path.display().to_string(),
        "--part",
        "urn:greenledger:test:late",
        "--unit",
        "kg",
        "--own",
        "1",
        "--node",
        &url,
    ])
    .code(1)
    .stderr_has("revoked");
    // Online errors: an unreachable node is an I/O error (exit 2) that says what to check.
    env.run(&["show", &bar, "--node", "http://127.0.0.1:9"])
        .code(2)
        .stderr_has("cannot reach the node");
    env.run(&["show", &"ab".repeat(32), "--node", &url])
        .code(2)
        .stderr_has("not found");
    env.run(&["log", "verify", "--node", &url]).ok();
}

#[test]
fn checkpoints_are_signed_and_kept() {
    let mut s = setup();
    let ore = s.supplier.attest("urn:greenledger:test:ore", 250_000, &[]);
    assert_eq!(s.node.submit(&ore.signed().to_json()).0, 201);
    let (st, head) = s.node.get("/v1/log/head");
    assert_eq!(st, 200);
    assert_eq!(head["size"], Value::from(2));
    // A clean stop signs a last checkpoint of everything stored.
    assert_eq!(s.node.stop(), 0);
    let node = TestNode::start(&s.node.data_dir.clone(), &s.env.genesis);
    let (_, health) = node.get("/v1/health");
    assert_eq!(health["last_checkpoint"]["size"], Value::from(2), "{health}");
}

#[test]
fn only_valid_entries_make_fork_proofs_and_pending_entries_are_visible() {
    let mut s = setup();
    // A refused entry at seq 1 (wrong total), then the corrected one: replaying the refused
    // bytes is refused again for what it is, not taken as a fork.
    let good = s.supplier.attest("urn:greenledger:test:ore", 250_000, &[]);
    s.supplier.seq = 1;
    s.supplier.prev = None;
    let mut bad = Attestation::new(
        "urn:greenledger:test:ore",
        Unit::Kilogram,
        Emissions::headline(Mass(250_000)),
    );
    bad.total = Emissions::headline(Mass(250_001));
    let bad = s.supplier.sign(Body::Attestation(Box::new(bad)));
    assert_eq!(error_code(&s.node.submit(&bad.signed().to_json()).1), "rollup_mismatch");
    assert_eq!(s.node.submit(&good.signed().to_json()).0, 201);
    let (st, b) = s.node.submit(&bad.signed().to_json());
    assert_eq!((st, error_code(&b)), (422, "rollup_mismatch"));
    let (_, signer) = s.node.get(&format!("/v1/signers/{}", s.supplier.key.public()));
    assert_eq!(signer["forked_at_seq"], Value::Null, "{signer}");

    // A pending entry is visible as such.
    s.supplier.seq = 2;
    s.supplier.prev = Some(good.id());
    let unknown = EntryId([0xab; 32]);
    // An input nobody has: its total (1 mg) is claimed, never seen.
    let mut waiting = attestation("urn:greenledger:test:bar", 1, &[]);
    set_inputs(&mut waiting, &[(unknown, 1_000_000, &Emissions::headline(Mass(1)))]);
    let waiting = s.supplier.sign(waiting);
    assert_eq!(s.node.submit(&waiting.signed().to_json()).0, 202);
    let (st, b) = s.node.get(&format!("/v1/entries/{}", waiting.id()));
    assert_eq!((st, error_code(&b)), (404, "pending"));
    assert!(b["error"]["message"].as_str().unwrap().contains(&unknown.to_hex()));
    let (_, list) = s.node.get("/v1/pending");
    assert_eq!(list["pending"][0]["id"], Value::String(waiting.id().to_hex()));

    // A second seq-2 entry while the first is still pending does not become a fork at some
    // later restart: it is stored now, and the pending one can never link.
    s.supplier.seq = 2;
    s.supplier.prev = Some(good.id());
    let other = s.supplier.attest("urn:greenledger:test:bar2", 1, &[]);
    assert_eq!(s.node.submit(&other.signed().to_json()).0, 201);
    assert_eq!(s.node.stop(), 0);
    let node = TestNode::start(&s.node.data_dir.clone(), &s.env.genesis);
    let (_, signer) = node.get(&format!("/v1/signers/{}", s.supplier.key.public()));
    assert_eq!(signer["forked_at_seq"], Value::Null, "{signer}");

    // An entry whose prev is known but is not the signer's entry at seq - 1 never links:
    // refused at once instead of waiting forever.
    let skip = s
        .supplier
        .sign_at(4, Some(good.id()), attestation("urn:greenledger:test:skip", 1, &[]));
    let (st, b) = node.submit(&skip.signed().to_json());
    assert_eq!((st, error_code(&b)), (409, "chain_mismatch"));
}

#[test]
fn stalled_connections_are_closed_and_do_not_delay_shutdown() {
    use std::io::{Read, Write};
    let env = Env::new();
    let cfg = env.path("stall.toml");
    std::fs::write(&cfg, "[http_limits]\nstall_timeout = \"1s\"\n").unwrap();
    let mut node = TestNode::start_with(
        &env.path("node"),
        &env.genesis,
        &["--config", &cfg.display().to_string()],
    );
    let addr = node.url.trim_start_matches("http://").to_string();
    // Partial headers, then nothing: the node closes the connection.
    let mut c = std::net::TcpStream::connect(&addr).unwrap();
    c.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let _ = c.read_to_end(&mut buf);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the stalled connection was not closed"
    );
    // Another stalled connection is open while the node is told to stop: it exits promptly.
    let mut c2 = std::net::TcpStream::connect(&addr).unwrap();
    c2.write_all(b"GET /v1/health HTTP/1.1\r\n").unwrap();
    let started = std::time::Instant::now();
    assert_eq!(node.stop(), 0);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "shutdown waited {:?}",
        started.elapsed()
    );
}

#[test]
fn concurrent_signing_with_one_key_does_not_fork_it() {
    let env = Env::new();
    let node = TestNode::start(&env.path("node"), &env.genesis);
    let url = node.url.clone();
    let s = env.key("s");
    env.run(&[
        "admit",
        "--key",
        &env.admin.path.display().to_string(),
        "--member",
        &s.public,
        "--name",
        "S",
        "--role",
        "supplier",
        "--node",
        &url,
    ])
    .ok();
    let runs: Vec<_> = (0..4)
        .map(|i| {
            let mut cmd = env.gl();
            cmd.args([
                "attest",
                "--key",
                &s.path.display().to_string(),
                "--part",
                &format!("urn:greenledger:test:p{i}"),
                "--unit",
                "kg",
                "--own",
                "1",
                "--node",
                &url,
            ]);
            std::thread::spawn(move || cmd.output().unwrap().status.code())
        })
        .collect();
    for r in runs {
        assert_eq!(r.join().unwrap(), Some(0));
    }
    let (_, signer) = node.get(&format!("/v1/signers/{}", s.public));
    assert_eq!(signer["head"]["seq"], Value::from(4));
    assert_eq!(signer["forked_at_seq"], Value::Null);
}

#[test]
fn entries_built_on_a_refused_entry_are_refused_not_held() {
    let mut s = setup();
    let good = s.supplier.attest("urn:greenledger:test:ore", 250_000, &[]);
    assert_eq!(s.node.submit(&good.signed().to_json()).0, 201);
    let wrong_total = |chain: &mut Chain, own: i64| {
        let mut a = Attestation::new(
            "urn:greenledger:test:bar",
            Unit::Kilogram,
            Emissions::headline(Mass(own)),
        );
        a.total = Emissions::headline(Mass(own + 1));
        chain.sign(Body::Attestation(Box::new(a)))
    };
    // A child that arrives after its parent was refused is refused at once.
    let bad = wrong_total(&mut s.supplier, 7);
    let child = s.supplier.attest("urn:greenledger:test:child", 1, &[]);
    assert_eq!(error_code(&s.node.submit(&bad.signed().to_json()).1), "rollup_mismatch");
    let (st, b) = s.node.submit(&child.signed().to_json());
    assert_eq!((st, error_code(&b)), (422, "depends_on_refused"), "{b}");
    assert!(
        b["error"]["message"].as_str().unwrap().contains(&bad.id().to_hex()),
        "{b}"
    );
    // A child that was waiting for its parent leaves the pending area when the parent is refused.
    s.supplier.seq = 2;
    s.supplier.prev = Some(good.id());
    let bad2 = wrong_total(&mut s.supplier, 9);
    let child2 = s.supplier.attest("urn:greenledger:test:child2", 1, &[]);
    assert_eq!(s.node.submit(&child2.signed().to_json()).0, 202);
    assert_eq!(s.node.get("/v1/pending").1["pending"].as_array().unwrap().len(), 1);
    assert_eq!(
        error_code(&s.node.submit(&bad2.signed().to_json()).1),
        "rollup_mismatch"
    );
    assert_eq!(s.node.get("/v1/pending").1["pending"].as_array().unwrap().len(), 0);
    assert_eq!(s.node.log_size(), 2, "only the admission and the good entry are stored");
}
