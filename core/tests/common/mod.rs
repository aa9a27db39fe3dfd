//! Strategies and fixtures shared by the property tests (`props.rs`, `decoders.rs`).

#![allow(dead_code, unreachable_pub)]

use std::sync::LazyLock;

use greenledger_core::{
    Bundle,
    amount::{Mass, Quantity, Share},
    bundle::{self, EntrySet},
    canonical::MAX_SAFE_INTEGER,
    entry::{self, Entry},
    id::EntryId,
    keys::{PublicKey, SecretKey},
    model::{Attestation, Body, Emissions, Evidence, Genesis, Input, MemberAdmit, MemberRevoke, Payload, Role, Unit},
    rollup,
};
use proptest::prelude::*;
use serde_json::{Map, Value};

pub const TS: &str = "2026-01-02T00:00:00Z";
pub const PEER: &str = "12D3KooWAbCdEfGhJkLmNpQrStUvWxYz123456789abcdefghijk";

pub fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

/// The signing key of generated entries.
pub static SIGNER: LazyLock<SecretKey> = LazyLock::new(|| key(1));

pub static GENESIS: LazyLock<Genesis> =
    LazyLock::new(|| Genesis::new("prop net", "2026-01-01T00:00:00Z", vec![key(1).public()], vec![]).unwrap());

/// A character, biased towards those that need escaping in JSON.
pub fn json_char() -> impl Strategy<Value = char> {
    prop_oneof![
        8 => any::<char>(),
        3 => (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap()),
        1 => Just('"'),
        1 => Just('\\'),
        1 => Just('/'),
        1 => Just('\u{7f}'),
        1 => Just('\u{2028}'),
        1 => Just('\u{feff}'),
        1 => Just('é'),
        1 => Just('𝄞'),
    ]
}

/// A short string of arbitrary unicode, control characters included.
pub fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(json_char(), 0..10).prop_map(|v| v.into_iter().collect())
}

/// An integer a canonical payload may hold.
pub fn safe_int() -> impl Strategy<Value = i64> {
    let max = MAX_SAFE_INTEGER as i64;
    prop_oneof![
        4 => -1000i64..1000,
        4 => -max..=max,
        1 => Just(max),
        1 => Just(-max),
        1 => Just(0),
    ]
}

/// Arbitrary JSON that canonical form can hold: strings, safe integers, bools, arrays,
/// objects (no null, no fractions).
pub fn canonical_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        safe_int().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
    .boxed()
}

/// Any JSON at all, including null, fractions and huge numbers.
pub fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e20f64..1e20).prop_map(Value::from),
        text().prop_map(Value::String),
        "[0-9a-f]{64}".prop_map(Value::String),
        "-?[0-9]{1,20}".prop_map(Value::String),
        Just(Value::String(TS.into())),
        Just(Value::String("urn:x:y".into())),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
    .boxed()
}

pub fn entry_id() -> impl Strategy<Value = EntryId> {
    any::<[u8; 32]>().prop_map(EntryId)
}

fn mass(nonneg: bool) -> impl Strategy<Value = Mass> {
    let s = prop_oneof![0i64..10_000_000, 0i64..=i64::MAX, Just(i64::MAX), Just(0)];
    s.prop_map(move |v| Mass(if nonneg { v } else { -v }))
}

/// Emissions whose components have the right signs.
pub fn emissions() -> BoxedStrategy<Emissions> {
    (
        mass(true),
        prop::option::of(prop_oneof![mass(true), mass(false)]),
        prop::option::of(mass(true)),
        prop::option::of(mass(true)),
        prop::option::of(mass(false)),
        prop::option::of(mass(true)),
    )
        .prop_map(|(h, inc, fossil, bio, uptake, pack)| Emissions {
            pcf_excluding_biogenic_uptake: h,
            pcf_including_biogenic_uptake: inc,
            fossil_ghg_emissions: fossil,
            biogenic_non_co2_emissions: bio,
            biogenic_co2_uptake: uptake,
            packaging_ghg_emissions: pack,
            ..Emissions::default()
        })
        .boxed()
}

/// A structurally valid attestation (its total is not rolled up: signing does not check it).
pub fn attestation() -> BoxedStrategy<Attestation> {
    let core = (
        "[a-z]{1,8}:[A-Za-z0-9.:_-]{1,24}",
        0usize..8,
        emissions(),
        emissions(),
        prop::collection::btree_map(any::<[u8; 32]>(), 1i64..=i64::MAX, 0..4),
        prop::option::of(1i64..=i64::MAX),
    );
    let extra = (
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of("[A-Z]{2}"),
        prop::option::of(0u16..=10_000),
        prop::option::of(entry_id()),
        prop::option::of(prop::collection::btree_map(text(), canonical_json(), 0..3)),
        prop::collection::vec(("[0-9a-f]{64}", prop::option::of(text())), 0..2),
        prop::collection::vec(text(), 0..2),
    );
    (core, extra)
        .prop_map(
            |(
                (part, unit, own, total, inputs, produced),
                (comment, product, country, share, supersedes, ext, evidence, standards),
            )| {
                let mut a = Attestation::new(&format!("urn:{part}"), Unit::ALL[unit], own);
                a.total = total;
                a.inputs = inputs
                    .into_iter()
                    .map(|(id, q)| Input {
                        entry: EntryId(id),
                        quantity: Quantity(q),
                    })
                    .collect();
                a.produced_quantity = produced.map(Quantity);
                a.comment = comment;
                a.product_name_company = product;
                a.geography_country = country;
                a.renewable_energy_share = share.map(Share);
                a.supersedes = supersedes;
                a.extensions = ext.map(|m| m.into_iter().collect());
                a.evidence = evidence
                    .into_iter()
                    .map(|(hash, name)| Evidence { hash, name })
                    .collect();
                a.cross_sectoral_standards = standards;
                a
            },
        )
        .boxed()
}

pub fn body() -> BoxedStrategy<Body> {
    prop_oneof![
        4 => attestation().prop_map(|a| Body::Attestation(Box::new(a))),
        1 => (1u8..50, text(), 0usize..3).prop_map(|(seed, name, role)| {
            let role = [Role::Supplier, Role::Admin, Role::Node][role];
            Body::MemberAdmit(MemberAdmit {
                member: key(seed).public(),
                name: format!("Org {name}"),
                role,
                peer_id: (role == Role::Node).then(|| PEER.to_string()),
            })
        }),
        1 => (1u8..50, 0..=MAX_SAFE_INTEGER, prop::option::of(text())).prop_map(
            |(seed, after_seq, reason)| {
                Body::MemberRevoke(MemberRevoke {
                    member: key(seed).public(),
                    after_seq,
                    reason,
                })
            }
        ),
    ]
    .boxed()
}

/// A payload signed by [`SIGNER`] in [`GENESIS`]'s network.
pub fn payload() -> BoxedStrategy<Payload> {
    (body(), 1..=MAX_SAFE_INTEGER, entry_id(), 0usize..3)
        .prop_map(|(body, seq, prev, ts)| Payload {
            network: GENESIS.network_id(),
            signer: SIGNER.public(),
            seq,
            prev: (seq > 1).then_some(prev),
            timestamp: ["2026-01-02T00:00:00Z", "1970-01-01T00:00:00Z", "2099-12-31T23:59:59Z"][ts].to_string(),
            body,
        })
        .boxed()
}

/// A small valid network and the bundle of its top attestation: two suppliers, a raw material
/// and a part made from it.
pub fn sample_bundle() -> Bundle {
    let admin = key(1);
    let mut set = EntrySet::new();
    let mut heads: Vec<(PublicKey, u64, EntryId)> = Vec::new();
    let mut push = |k: &SecretKey, body: Body, set: &mut EntrySet| -> Entry {
        let pos = heads.iter().position(|h| h.0 == k.public());
        let (seq, prev) = match pos {
            Some(i) => (heads[i].1 + 1, Some(heads[i].2)),
            None => (1, None),
        };
        let p = Payload {
            network: GENESIS.network_id(),
            signer: k.public(),
            seq,
            prev,
            timestamp: TS.into(),
            body,
        };
        let e = entry::sign(k, &p).unwrap().into_entry();
        match pos {
            Some(i) => heads[i] = (k.public(), seq, e.id),
            None => heads.push((k.public(), seq, e.id)),
        }
        set.insert(e.clone());
        e
    };
    let (s1, s2) = (key(11), key(12));
    for (s, name) in [(&s1, "Smelter AG"), (&s2, "Press shop")] {
        push(
            &admin,
            Body::MemberAdmit(MemberAdmit {
                member: s.public(),
                name: name.into(),
                role: Role::Supplier,
                peer_id: None,
            }),
            &mut set,
        );
    }
    let raw = Attestation::new(
        "urn:greenledger:alu:ingot",
        Unit::Kilogram,
        Emissions::headline(Mass(8_000_000)),
    );
    let raw = push(&s1, Body::Attestation(Box::new(raw.clone())), &mut set);
    let raw_total = raw.attestation().unwrap().total.clone();
    let mut part = Attestation::new(
        "urn:greenledger:sheet:1",
        Unit::Piece,
        Emissions::headline(Mass(1_500_000)),
    );
    part.inputs = vec![Input {
        entry: raw.id,
        quantity: Quantity(2_500_000),
    }];
    part.comment = Some("rolled \"sheet\"\nline two".into());
    part.total = rollup::roll_up(&part.own, &[(Quantity(2_500_000), &raw_total)]).unwrap();
    let part = push(&s2, Body::Attestation(Box::new(part)), &mut set);
    bundle::assemble(&GENESIS, part.id, &set).unwrap()
}

/// For each byte of a JSON text: is it outside every string (where whitespace is
/// insignificant)?
pub fn outside_strings(json: &[u8]) -> Vec<bool> {
    let mut out = Vec::with_capacity(json.len());
    let (mut in_str, mut escaped) = (false, false);
    for &b in json {
        if in_str {
            out.push(false);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
            }
        } else {
            out.push(b != b'"');
            if b == b'"' {
                in_str = true;
            }
        }
    }
    out
}

/// JSON's whitespace (RFC 8259): space, tab, line feed, carriage return.
pub fn is_json_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}
