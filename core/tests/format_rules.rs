//! The points where docs/FORMAT.md once was silent or said otherwise than the code, each
//! decided and pinned here (FORMAT.md names this file beside each rule): peer ids, signs,
//! length caps, timestamps, the nesting limit, which entries can fail a bundle, `nodePeers: []`,
//! non-canonical point encodings, the bundle's shape, and the genesis file's keys.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use greenledger_core::{
    Bundle, Membership, Payload, PublicKey,
    amount::Quantity,
    bundle::BundleError,
    error::DecodeError,
    model::{Attestation, Evidence, Genesis, MemberAdmit, MemberRevoke, Role, check_peer_id},
    verify::{VerifyOptions, verify_bundle},
};
use greenledger_testkit::{Consortium, TS, attestation, key};
use serde_json::{Value, json};

/// A body of some kind, as JSON (built from its type, but not checked).
struct Body(&'static str, Value);

/// Decodes the canonical payload holding `body`: what a verifier would say of it.
fn decode(body: Body) -> Result<(), DecodeError> {
    let c = Consortium::new("rules");
    let payload = json!({
        "version": 1,
        "network": c.genesis.network_id(),
        "signer": key(11).public(),
        "seq": 1,
        "timestamp": TS,
        "kind": body.0,
        "body": body.1,
    });
    let bytes = greenledger_core::canonical::to_canonical(&payload).unwrap();
    Payload::decode(&bytes).map(|_| ())
}

fn att(f: impl FnOnce(&mut Attestation)) -> Body {
    let mut a = attestation("urn:greenledger:t:x", 1_000, &[]);
    f(&mut a);
    Body("attestation", serde_json::to_value(a).unwrap())
}

#[test]
fn peer_ids_are_40_to_60_base58_characters() {
    assert!(check_peer_id(&"1".repeat(40)).is_ok());
    assert!(check_peer_id(&"z".repeat(60)).is_ok());
    assert!(check_peer_id(&"1".repeat(39)).is_err());
    assert!(check_peer_id(&"1".repeat(61)).is_err());
    for bad in ['0', 'O', 'I', 'l', '+', ' '] {
        let id = format!("{}{bad}", "1".repeat(45));
        assert!(check_peer_id(&id).is_err(), "{id:?}");
    }
    let admin = key(1).public();
    let peer = "1".repeat(45);
    assert!(
        Genesis::new(
            "n",
            "2026-01-01T00:00:00Z",
            vec![admin],
            vec![peer.clone(), peer.clone()]
        )
        .is_err()
    );
}

#[test]
fn a_peer_id_named_by_two_members_stays_admitted_while_one_is_not_revoked() {
    let mut c = Consortium::new("peers");
    let (n1, n2) = (key(21).public(), key(22).public());
    for (k, name) in [(n1, "Node one"), (n2, "Node two")] {
        let e = c.admin.sign(MemberAdmit {
            member: k,
            name: name.into(),
            role: Role::Node,
            peer_id: Some(greenledger_testkit::PEER.into()),
        });
        c.record(&e);
    }
    let m = Membership::compute(&c.genesis, c.set.iter());
    assert_eq!(m.node_peers().count(), 1);
    // Whichever of the two is revoked, the other keeps the peer id admitted.
    for gone in [n1, n2] {
        let mut c2 = Consortium::new("peers");
        for e in &c.entries {
            c2.record(e);
        }
        c2.admin.seq = c.admin.seq;
        c2.admin.prev = c.admin.prev;
        let r = c2.admin.revoke(&gone, 0);
        c2.record(&r);
        let m = Membership::compute(&c2.genesis, c2.set.iter());
        let kept: Vec<&PublicKey> = m.node_peers().map(|(_, k)| k).collect();
        assert_eq!(kept.len(), 1);
        assert_ne!(*kept[0], gone);
    }
}

#[test]
fn signs_of_quantities() {
    assert!(decode(att(|a| a.produced_quantity = Some(Quantity(1)))).is_ok());
    assert!(decode(att(|a| a.produced_quantity = Some(Quantity(0)))).is_err());
    assert!(decode(att(|a| a.produced_quantity = Some(Quantity(-1)))).is_err());
    assert!(decode(att(|a| a.energy_consumption_kwh = Some(Quantity(0)))).is_ok());
    assert!(decode(att(|a| a.energy_consumption_kwh = Some(Quantity(-1)))).is_err());
}

#[test]
fn length_caps_accept_the_cap_and_refuse_one_byte_more() {
    let admit = |name: String| {
        let b = MemberAdmit {
            member: key(30).public(),
            name,
            role: Role::Supplier,
            peer_id: None,
        };
        Body("member.admit", serde_json::to_value(b).unwrap())
    };
    assert!(decode(admit("n".repeat(200))).is_ok());
    assert!(decode(admit("n".repeat(201))).is_err());
    assert!(decode(admit(" \t ".into())).is_err(), "a name of only white space");
    let revoke = |reason: String| {
        let b = MemberRevoke {
            member: key(30).public(),
            after_seq: 1,
            reason: Some(reason),
        };
        Body("member.revoke", serde_json::to_value(b).unwrap())
    };
    assert!(decode(revoke("r".repeat(4096))).is_ok());
    assert!(decode(revoke("r".repeat(4097))).is_err());
    let part = |n: usize| att(move |a| a.part = format!("urn:x:{}", "p".repeat(n - 6)));
    assert!(decode(part(512)).is_ok());
    assert!(decode(part(513)).is_err());
    type Setter = fn(&mut Attestation, String);
    let texts: [(Setter, usize); 6] = [
        (|a, s| a.geography_country_subdivision = Some(s), 4096),
        (|a, s| a.geography_region_or_subregion = Some(s), 4096),
        (|a, s| a.product_name_company = Some(s), 4096),
        (|a, s| a.product_description = Some(s), 4096),
        (|a, s| a.comment = Some(s), 4096),
        (|a, s| a.cross_sectoral_standards = vec![s], 200),
    ];
    for (set, cap) in texts {
        assert!(decode(att(|a| set(a, "t".repeat(cap)))).is_ok(), "cap {cap}");
        assert!(decode(att(|a| set(a, "t".repeat(cap + 1)))).is_err(), "cap {cap} + 1");
    }
    // Evidence names have no cap of their own (the payload's 1 MiB bounds them).
    assert!(
        decode(att(|a| a.evidence = vec![Evidence {
            hash: "ab".repeat(32),
            name: Some("e".repeat(100_000)),
        }]))
        .is_ok()
    );
    // Two uppercase ASCII letters; not checked against the ISO list.
    assert!(decode(att(|a| a.geography_country = Some("XX".into()))).is_ok());
    assert!(decode(att(|a| a.geography_country = Some("de".into()))).is_err());
}

#[test]
fn timestamps_take_one_narrow_form_of_rfc_3339_in_utc() {
    let ok = [
        "2026-01-31T12:00:00Z",
        "2026-01-31T12:00:00+00:00",
        "2026-01-31T12:00:00.1Z",
        "2026-01-31T12:00:00.123456789Z",
        "2026-01-31T12:00:00.1234567890123456789012Z",
        "2026-01-31T12:00:00.5+00:00",
        "2026-01-31T12:34:60Z",
        "9999-12-31T23:59:60Z",
        "1970-01-01T00:00:00Z",
        "2024-02-29T00:00:00Z",
    ];
    let refused = [
        "2026-01-31T12:00:00.Z",
        "2026-01-31T12:00:00-00:00",
        "2026-01-31T12:00:00+01:00",
        "2026-01-31t12:00:00Z",
        "2026-01-31T12:00:00z",
        "2026-01-31 12:00:00Z",
        "0000-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "10000-01-01T00:00:00Z",
        "2026-01-31T12:00:00ZZ",
        "2026-01-31T12:00:00Zabc Z",
        "2026-01-31T12:00:00.1+0000Z",
        "2026-01-31T12:00:00.+abcdZ",
        "2026-01-31T24:00:00Z",
        "2026-01-31T12:00:61Z",
        "2023-02-29T00:00:00Z",
        "2026-01-31T12:00Z",
        "2026-01-31T12:00:00",
    ];
    for t in ok {
        assert!(greenledger_core::time::parse(t).is_ok(), "{t}");
        assert!(
            decode(att(|a| a.reference_period_start = Some(t.into()))).is_ok(),
            "{t}"
        );
    }
    for t in refused {
        assert!(greenledger_core::time::parse(t).is_err(), "{t}");
        assert!(
            decode(att(|a| a.reference_period_start = Some(t.into()))).is_err(),
            "{t}"
        );
    }
    // For ordering, a leap second is second 59, and only nine digits of a fraction count.
    let period = |a: &str, b: &str| {
        decode(att(|x| {
            x.reference_period_start = Some(a.into());
            x.reference_period_end = Some(b.into());
        }))
    };
    assert!(period("2026-01-31T12:00:59Z", "2026-01-31T12:00:60Z").is_err());
    assert!(period("2026-01-31T12:00:00.1234567891Z", "2026-01-31T12:00:00.1234567899Z").is_err());
    assert!(period("2026-01-31T12:00:00.123456789Z", "2026-01-31T12:00:00.12345679Z").is_ok());
}

#[test]
fn payloads_nest_at_most_127_levels() {
    // The payload object is level 1, `body` level 2, `extensions` level 3: a member of it may
    // hold 124 more levels.
    let nested = |n: usize| {
        let mut v = json!(1);
        for _ in 0..n {
            v = json!([v]);
        }
        v
    };
    let with = |n: usize| {
        att(|a| {
            let mut m = serde_json::Map::new();
            m.insert("x".into(), nested(n));
            a.extensions = Some(m);
        })
    };
    assert!(decode(with(124)).is_ok());
    assert!(decode(with(125)).is_err());
}

#[test]
fn only_what_the_target_depends_on_can_fail_a_bundle() {
    let mut c = Consortium::new("step 8");
    let mut s1 = c.supplier(11, "Smelter");
    let mut s2 = c.supplier(12, "Rival");
    let t = c.sign(&mut s1, attestation("urn:greenledger:t:ingot", 8_000, &[]));
    // Another signer "corrects" T: refused by the rules, but T does not depend on it.
    let mut bogus = attestation("urn:greenledger:t:ingot", 1, &[]);
    bogus.supersedes = Some(t.id());
    let b = c.sign(&mut s2, bogus);
    let r = c.verify(t.id());
    assert!(r.valid, "{:#?}", r.reasons);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains(&b.id().fmt_short()) && w.contains("another signer")),
        "{:#?}",
        r.warnings
    );
    // The same bad correction, as an input of what is verified, fails it at step 8.
    let p = c.sign(
        &mut s1,
        attestation("urn:greenledger:t:sheet", 1, &[(b.entry(), 1_000_000)]),
    );
    let r = c.verify(p.id());
    assert!(!r.valid);
    assert!(
        r.reasons.iter().any(|x| x.step == 8 && x.entry == Some(b.id())),
        "{:#?}",
        r.reasons
    );
}

#[test]
fn an_empty_node_peers_list_is_the_genesis_without_it() {
    let admin = key(1).public();
    let without = json!({"version": 1, "name": "n", "created": "2026-01-01T00:00:00Z", "admins": [admin]});
    let mut with = without.clone();
    with["nodePeers"] = json!([]);
    let a = Genesis::from_json(without.to_string().as_bytes()).unwrap();
    let b = Genesis::from_json(with.to_string().as_bytes()).unwrap();
    assert_eq!(a.network_id(), b.network_id());
    assert_eq!(a.canonical_bytes(), b.canonical_bytes());
}

#[test]
fn a_genesis_file_with_a_key_twice_is_refused() {
    let admin = key(1).public();
    let text =
        format!(r#"{{"version":1,"name":"a","name":"b","created":"2026-01-01T00:00:00Z","admins":["{admin}"]}}"#);
    let err = Genesis::from_json(text.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("appears twice"), "{err}");
}

/// The 32-byte encoding of y (little endian) with the sign bit `sign`.
fn encoding(y: &num_bigint::BigUint, sign: bool) -> [u8; 32] {
    let mut b = [0u8; 32];
    let le = y.to_bytes_le();
    b[..le.len()].copy_from_slice(&le);
    if sign {
        b[31] |= 0x80;
    }
    b
}

#[test]
fn non_canonical_point_encodings_are_not_keys() {
    use num_bigint::BigUint;
    let p = (BigUint::from(1u8) << 255u32) - BigUint::from(19u8);
    for k in 0u8..19 {
        for sign in [false, true] {
            let b = encoding(&(&p + BigUint::from(k)), sign);
            assert!(PublicKey::from_bytes(&b).is_err(), "y = p + {k}, sign {sign}");
        }
    }
    // x = 0 with the sign bit set: y = 1 (the identity) and y = p − 1.
    for y in [BigUint::from(1u8), &p - BigUint::from(1u8)] {
        assert!(PublicKey::from_bytes(&encoding(&y, true)).is_err());
    }
}

/// A bundle of `target` from `c`, as JSON, to be edited.
fn bundle_json(c: &Consortium, target: greenledger_core::EntryId) -> Value {
    serde_json::from_slice(&c.bundle(target).to_json()).unwrap()
}

/// What a file that does not read as a bundle is told, whichever member is wrong: the format
/// and the version are named before anything else a newer bundle might carry.
#[test]
fn a_file_that_is_no_bundle_of_this_version_says_why() {
    let mut c = Consortium::new("bundle errors");
    let mut s = c.supplier(12, "Smelter");
    let t = c.sign(&mut s, attestation("urn:greenledger:t:ingot", 8_000, &[]));
    let full = bundle_json(&c, t.id());
    let read = |v: &Value| Bundle::from_json(v.to_string().as_bytes()).map(|_| ());
    let format = |e: Result<(), BundleError>| match e {
        Err(BundleError::Format(m)) => m,
        other => panic!("expected a format error, got {other:?}"),
    };
    assert!(read(&full).is_ok());
    // A newer version: said so, whether or not its members are ones this build knows.
    let mut v = full.clone();
    v["version"] = json!(2);
    assert!(matches!(read(&v), Err(BundleError::UnsupportedVersion(2))));
    v["somethingNew"] = json!([1, 2]);
    assert!(matches!(read(&v), Err(BundleError::UnsupportedVersion(2))));
    // Not a bundle at all: the format is named, even when other members are wrong too.
    for (key, value) in [("format", json!("something-else")), ("format", json!(7))] {
        let mut v = full.clone();
        v[key] = value;
        assert!(format(read(&v)).contains("missing \"format\": \"greenledger-bundle\""));
        v["note"] = json!("x");
        assert!(format(read(&v)).contains("missing \"format\""));
    }
    let mut v = full.clone();
    v.as_object_mut().unwrap().remove("version");
    assert!(format(read(&v)).contains("missing integer \"version\""));
    // This version with a member it does not define: that member is named.
    let mut v = full.clone();
    v["note"] = json!("x");
    assert!(format(read(&v)).contains("note"));
    // Cut short: not JSON, and perhaps truncated.
    let text = full.to_string();
    let cut = Bundle::from_json(&text.as_bytes()[..text.len() / 2]).map(|_| ());
    assert!(format(cut).contains("the file may be truncated"));
}

#[test]
fn the_shape_of_a_bundle() {
    let mut c = Consortium::new("bundles");
    let mut s = c.supplier(11, "Smelter");
    let t = c.sign(&mut s, attestation("urn:greenledger:t:ingot", 8_000, &[]));
    let pinned = VerifyOptions {
        expected_network: Some(c.genesis.network_id()),
    };
    let check = |v: &Value| -> Result<bool, BundleError> {
        Bundle::from_json(v.to_string().as_bytes()).map(|b| verify_bundle(&b, &pinned).valid)
    };
    let full = bundle_json(&c, t.id());
    assert!(check(&full).unwrap());
    // forkProofs may be left out.
    let mut v = full.clone();
    v.as_object_mut().unwrap().remove("forkProofs");
    assert!(check(&v).unwrap());
    // An unknown member, at the top or in a fork proof, makes the file no bundle.
    let mut v = full.clone();
    v["note"] = json!("x");
    assert!(check(&v).is_err());
    let mut v = full.clone();
    let e = v["entries"][0].clone();
    v["forkProofs"] = json!([{"a": e, "b": e, "c": 1}]);
    assert!(check(&v).is_err());
    // An entry listed twice is one entry; a copy with a changed signature fails the bundle,
    // first or second.
    let mut v = full.clone();
    let first = v["entries"][0].clone();
    v["entries"].as_array_mut().unwrap().push(first.clone());
    assert!(check(&v).unwrap());
    let mut tampered = first.clone();
    let sig = tampered["signature"].as_str().unwrap().to_string();
    let flipped = if sig.starts_with('0') { "1" } else { "0" };
    tampered["signature"] = json!(format!("{flipped}{}", &sig[1..]));
    for order in [[first.clone(), tampered.clone()], [tampered.clone(), first.clone()]] {
        let mut v = full.clone();
        let list = v["entries"].as_array_mut().unwrap();
        list.remove(0);
        list.insert(0, order[1].clone());
        list.insert(0, order[0].clone());
        let b = Bundle::from_json(v.to_string().as_bytes()).unwrap();
        let r = verify_bundle(&b, &pinned);
        assert!(!r.valid && r.reasons.iter().any(|x| x.step == 2), "{:#?}", r.reasons);
    }
    // A membership entry may be the target: steps 1–5 apply, with a warning.
    let admit = c.entries[0].id();
    let r = verify_bundle(&c.bundle(admit), &pinned);
    assert!(r.valid, "{:#?}", r.reasons);
    assert!(r.warnings.iter().any(|w| w.contains("not an attestation")));
}
