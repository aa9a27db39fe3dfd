//! `POST /v1/entries` with a JSON array: each entry is answered exactly as submitting it alone
//! would be (status and body), in order, all once durable; and the CLI's `submit` sends arrays.

#![allow(clippy::unwrap_used)]

use greenledger_core::{
    EntryId, Input, Quantity, Role, SecretKey, Signature, SignedEntry,
    model::{Attestation, Emissions, Unit},
};
use greenledger_testkit::{Chain, attestation};
use serde_json::Value;

use crate::{node_util::TestNode, util::Env};

/// Entries of every outcome: stored, duplicate, pending, refused for each of several rules,
/// undecodable and badly signed.
fn mixed(env: &Env) -> Vec<Vec<u8>> {
    let genesis = env.genesis();
    let mut admin = Chain::new(env.admin.secret(), &genesis);
    let supplier = SecretKey::generate();
    let admit = admin.admit(&supplier.public(), "Array Smelter", Role::Supplier);
    let mut s = Chain::new(supplier, &genesis);
    let ore = s.attest("urn:greenledger:array:ore", 250_000, &[]);
    let bar = s.attest("urn:greenledger:array:bar", 2_000_000, &[(ore.entry(), 3_500_000)]);
    let mut wrong = Attestation::new(
        "urn:greenledger:array:x",
        Unit::Kilogram,
        Emissions::headline(greenledger_core::Mass(5)),
    );
    wrong.total = Emissions::headline(greenledger_core::Mass(6));
    let wrong = s.sign(wrong);
    s.seq -= 1; // the refused entry's seq is free again
    s.prev = Some(bar.id());
    let mut waits = attestation("urn:greenledger:array:waits", 1, &[]);
    waits.inputs.push(Input {
        entry: EntryId([7; 32]),
        quantity: Quantity(1),
        lot: None,
    });
    let waits = s.sign(waits);
    s.seq -= 1;
    s.prev = Some(bar.id());
    let stranger = Chain::new(SecretKey::generate(), &genesis).sign(attestation("urn:greenledger:array:s", 1, &[]));
    let mut bad_sig = s.attest("urn:greenledger:array:bad", 1, &[]).signed().clone();
    let mut sig = *bad_sig.signature();
    sig.0[3] ^= 1;
    bad_sig = SignedEntry::from_parts(bad_sig.payload().to_vec(), Signature(sig.0));
    s.seq -= 1;
    s.prev = Some(bar.id());
    let last = s.attest("urn:greenledger:array:last", 1, &[(bar.entry(), 1_000_000)]);
    vec![
        admit.signed().to_json(),
        ore.signed().to_json(),
        bar.signed().to_json(),
        ore.signed().to_json(), // a duplicate
        wrong.signed().to_json(),
        waits.signed().to_json(),
        stranger.signed().to_json(),
        bad_sig.to_json(),
        br#"{"payload":{"not":"an entry"},"signature":"00"}"#.to_vec(),
        last.signed().to_json(),
    ]
}

#[test]
fn each_entry_of_an_array_is_answered_as_it_would_be_alone() {
    let env = Env::new();
    let one = TestNode::start(&env.path("one"), &env.genesis);
    let many = TestNode::start(&env.path("many"), &env.genesis);
    let entries = mixed(&env);
    let alone: Vec<(u16, Value)> = entries.iter().map(|e| one.submit(e)).collect();
    let mut body = b"[".to_vec();
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            body.extend_from_slice(b",\n");
        }
        body.extend_from_slice(e);
    }
    body.push(b']');
    let (st, answer) = many.submit(&body);
    assert_eq!(st, 200, "{answer}");
    let items = answer.as_array().unwrap();
    assert_eq!(items.len(), entries.len());
    for (i, (item, (status, single))) in items.iter().zip(&alone).enumerate() {
        assert_eq!(
            item["status"].as_u64(),
            Some(u64::from(*status)),
            "item {i}: {item} vs {single}"
        );
        assert_eq!(&item["body"], single, "item {i}");
    }
    // Every kind of answer is there.
    let statuses: Vec<u16> = alone.iter().map(|(s, _)| *s).collect();
    for want in [201, 200, 202, 400, 403, 422] {
        assert!(statuses.contains(&want), "{statuses:?} lacks {want}");
    }
    // Stored means durable and readable.
    assert_eq!(many.log_size(), one.log_size());
}

#[test]
fn a_bad_array_is_refused_as_a_whole() {
    let env = Env::new();
    let node = TestNode::start(&env.path("n"), &env.genesis);
    let (st, b) = node.submit(b"[]");
    assert_eq!((st, b["error"]["code"].as_str()), (400, Some("empty_body")), "{b}");
    let (st, b) = node.submit(b"[1, 2");
    assert_eq!((st, b["error"]["code"].as_str()), (400, Some("malformed_json")), "{b}");
    let many = format!("[{}]", vec!["{}"; 10_001].join(","));
    let (st, b) = node.submit(many.as_bytes());
    assert_eq!(
        (st, b["error"]["code"].as_str()),
        (413, Some("too_many_entries")),
        "{b}"
    );
    // Items that are no envelope are answered one by one.
    let (st, b) = node.submit(b"[1, \"x\", {}]");
    assert_eq!(st, 200, "{b}");
    for item in b.as_array().unwrap() {
        assert_eq!(item["status"], 400, "{item}");
        assert_eq!(item["body"]["error"]["code"], "malformed_entry", "{item}");
    }
    assert_eq!(node.log_size(), 0);
}

#[test]
fn submit_sends_arrays_and_every_file_is_reported() {
    let env = Env::new();
    let node = TestNode::start(&env.path("n"), &env.genesis);
    let entries = mixed(&env);
    let mut files = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let p = env.path(&format!("e{i}.json"));
        std::fs::write(&p, e).unwrap();
        files.push(p.display().to_string());
    }
    // The undecodable file stops submit before anything is sent; leave it out.
    files.remove(8);
    let mut args = vec!["submit".to_string(), "--json".into()];
    args.extend(files.iter().cloned());
    let v = env
        .run_on(&node.url, &args.iter().map(String::as_str).collect::<Vec<_>>())
        .code(1)
        .json();
    // admit, ore, bar, duplicate ore, pending and the last are taken; the wrong total, the
    // stranger and the bad signature are refused.
    assert_eq!(v["submitted"], 6, "{v}");
    assert_eq!(v["refused"], 3, "{v}");
    assert_eq!(node.log_size(), 4);
}
