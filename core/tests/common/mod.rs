//! Strategies and fixtures shared by the property tests (`props.rs`, `decoders.rs`).

#![allow(dead_code, unreachable_pub)]

use std::sync::LazyLock;

use greenledger_core::{
    Bundle,
    amount::{Mass, Quantity, Share},
    canonical::MAX_SAFE_INTEGER,
    id::EntryId,
    keys::SecretKey,
    model::{Attestation, Body, Emissions, Evidence, Genesis, Input, MemberAdmit, MemberRevoke, Payload, Role, Unit},
};
use greenledger_testkit::{Chain, Consortium, set_inputs};
pub use greenledger_testkit::{PEER, TS, key};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// The signing key of generated entries.
pub static SIGNER: LazyLock<SecretKey> = LazyLock::new(|| key(1));

/// The network of generated entries: [`Consortium::new`]'s genesis named "prop net".
pub static GENESIS: LazyLock<Genesis> = LazyLock::new(|| Consortium::new("prop net").genesis);

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
                        lot: None,
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
        .prop_map(|(body, seq, prev, ts)| {
            Chain::new(key(1), &GENESIS)
                .with_timestamp(["2026-01-02T00:00:00Z", "1970-01-01T00:00:00Z", "2099-12-31T23:59:59Z"][ts])
                .payload_at(seq, (seq > 1).then_some(prev), body)
        })
        .boxed()
}

/// A small valid network and the bundle of its top attestation: two suppliers, a raw material
/// and a part made from it.
pub fn sample_bundle() -> Bundle {
    let mut c = Consortium::new("prop net");
    let mut s1 = c.supplier(11, "Smelter AG");
    let mut s2 = c.supplier(12, "Press shop");
    let raw = c.sign(
        &mut s1,
        greenledger_testkit::attestation("urn:greenledger:alu:ingot", 8_000_000, &[]),
    );
    let raw_total = raw.entry().attestation().unwrap().total.clone();
    let mut part = Attestation::new(
        "urn:greenledger:sheet:1",
        Unit::Piece,
        Emissions::headline(Mass(1_500_000)),
    );
    part.comment = Some("rolled \"sheet\"\nline two".into());
    set_inputs(&mut part, &[(raw.id(), 2_500_000, &raw_total)]);
    let part = c.sign(&mut s2, part);
    c.bundle(part.id())
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
