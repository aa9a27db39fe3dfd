//! Decoder perturbation: random, truncated and bit-flipped input never makes a decoder (or
//! the verifier behind it) panic. Each decoder must return `Ok` or `Err`, nothing else.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::LazyLock;

use common::{GENESIS, SIGNER, any_json, payload, sample_bundle};
use greenledger_core::{
    Bundle, Genesis, Payload, SignedEntry, entry,
    verify::{VerifyOptions, verify_bundle},
};
use greenledger_testkit::sign_bytes;
use proptest::{prelude::*, test_runner::Config};
use serde_json::Value;

/// Feeds `bytes` to every decoder; verifies what decodes.
fn feed(bytes: &[u8]) {
    if let Ok(se) = SignedEntry::from_json(bytes) {
        let _ = se.id();
        let _ = se.verify();
    }
    let _ = Payload::decode(bytes);
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        let _ = Payload::from_value(v);
    }
    if let Ok(b) = Bundle::from_json(bytes) {
        let r = verify_bundle(&b, &VerifyOptions::default());
        let _ = serde_json::to_string(&r).unwrap();
    }
    let _ = Genesis::from_json(bytes);
}

static SAMPLE_BUNDLE: LazyLock<Bundle> = LazyLock::new(sample_bundle);

/// Valid inputs of every kind, to truncate and flip.
static SAMPLES: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let bundle = SAMPLE_BUNDLE.clone();
    let entry = bundle.entries[0].as_ref().unwrap().clone();
    let pretty_genesis =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&GENESIS.canonical_bytes()).unwrap()).unwrap();
    vec![
        bundle.to_json(),
        entry.to_json(),
        entry.payload().to_vec(),
        GENESIS.canonical_bytes(),
        pretty_genesis,
    ]
});

#[test]
fn samples_are_valid() {
    let s = &*SAMPLES;
    let b = Bundle::from_json(&s[0]).unwrap();
    assert!(verify_bundle(&b, &VerifyOptions::default()).valid);
    assert!(SignedEntry::from_json(&s[1]).unwrap().verify().is_ok());
    assert!(Payload::decode(&s[2]).is_ok());
    assert_eq!(&Genesis::from_json(&s[3]).unwrap(), &*GENESIS);
    assert_eq!(&Genesis::from_json(&s[4]).unwrap(), &*GENESIS);
}

/// Every prefix of every sample: no panic, and a prefix that cuts into the JSON (not only
/// trailing whitespace) is refused by the decoder of its kind.
#[test]
fn every_truncation_is_refused_without_panicking() {
    let s = &*SAMPLES;
    for sample in s.iter() {
        for n in 0..sample.len() {
            feed(&sample[..n]);
        }
    }
    let content_len = |v: &[u8]| v.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(0, |i| i + 1);
    for n in 0..content_len(&s[0]) {
        assert!(Bundle::from_json(&s[0][..n]).is_err(), "bundle prefix of {n} bytes");
    }
    for n in 0..s[1].len() {
        assert!(SignedEntry::from_json(&s[1][..n]).is_err(), "entry prefix of {n} bytes");
    }
    for n in 0..s[2].len() {
        assert!(Payload::decode(&s[2][..n]).is_err(), "payload prefix of {n} bytes");
    }
    for n in 0..content_len(&s[3]) {
        assert!(Genesis::from_json(&s[3][..n]).is_err(), "genesis prefix of {n} bytes");
    }
}

/// A bit flip at every position of the entry envelope (one bit per byte, in turn; random
/// bits are covered below): no panic, and never a different valid result. (The key file's
/// sweep is in the CLI's tests, `cli/tests/keyfile.rs`.)
#[test]
fn a_bit_flip_at_every_position_of_an_entry() {
    let s = &*SAMPLES;
    let id = SignedEntry::from_json(&s[1]).unwrap().id();
    for i in 0..s[1].len() {
        let bit = i % 8;
        let mut v = s[1].clone();
        v[i] ^= 1 << bit;
        feed(&v);
        if let Ok(e) = SignedEntry::from_json(&v).map(|se| se.verify()) {
            assert!(e.is_err() || e.unwrap().id() == id, "flip of bit {bit} at {i} verified");
        }
    }
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        feed(&bytes);
    }

    #[test]
    fn random_json_shaped_bytes(v in any_json()) {
        feed(&serde_json::to_vec(&v).unwrap());
        feed(&serde_json::to_vec_pretty(&v).unwrap());
    }

    #[test]
    fn bit_flips_and_byte_changes_of_valid_inputs(
        which in 0usize..5,
        changes in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), any::<bool>()), 1..6),
    ) {
        let mut v = SAMPLES[which].clone();
        for (at, b, flip) in changes {
            let i = at.index(v.len());
            if flip {
                v[i] ^= 1 << (b % 8);
            } else {
                v[i] = b;
            }
        }
        feed(&v);
    }

    #[test]
    fn truncated_and_spliced_valid_inputs(
        a in 0usize..5,
        b in 0usize..5,
        cut_a in any::<prop::sample::Index>(),
        cut_b in any::<prop::sample::Index>(),
    ) {
        let (x, y) = (&SAMPLES[a], &SAMPLES[b]);
        let mut v = x[..cut_a.index(x.len() + 1)].to_vec();
        v.extend_from_slice(&y[cut_b.index(y.len() + 1)..]);
        feed(&v);
    }
}

/// Replaces the value at a random path of a JSON value with `new`.
fn replace_at(v: &mut Value, path: &[prop::sample::Index], new: Value) {
    match (v, path.split_first()) {
        (Value::Object(m), Some((i, rest))) if !m.is_empty() => {
            let k = m.keys().nth(i.index(m.len())).unwrap().clone();
            replace_at(m.get_mut(&k).unwrap(), rest, new);
        }
        (Value::Array(a), Some((i, rest))) if !a.is_empty() => {
            let n = a.len();
            replace_at(&mut a[i.index(n)], rest, new);
        }
        (slot, _) => *slot = new,
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// A payload with one field replaced by arbitrary JSON: decoding refuses it or accepts it,
    /// and if it is accepted, signed and put in a bundle, verification does not panic either.
    #[test]
    fn payloads_with_a_field_replaced(
        p in payload(),
        path in prop::collection::vec(any::<prop::sample::Index>(), 1..5),
        new in any_json(),
    ) {
        let mut v: Value = serde_json::from_slice(&p.to_canonical().unwrap()).unwrap();
        replace_at(&mut v, &path, new);
        let _ = Payload::from_value(v.clone());
        let Ok(bytes) = greenledger_core::canonical::to_canonical(&v) else { return Ok(()) };
        let Ok(decoded) = Payload::decode(&bytes) else { return Ok(()) };
        // Re-encoding what decoded gives the same bytes (one value, one encoding).
        prop_assert_eq!(decoded.to_canonical().unwrap(), bytes.clone());
        // Sign it as its signer would (when that is our key) and verify a bundle of it.
        let se = sign_bytes(&SIGNER, &bytes);
        let mut b = SAMPLE_BUNDLE.clone();
        b.target = se.id();
        b.entries.insert(0, Ok(se));
        let r = verify_bundle(&b, &VerifyOptions::default());
        let _ = serde_json::to_string(&r).unwrap();
    }

}

proptest! {
    #![proptest_config(config(48))]

    /// Signed payloads of every shape, verified inside a bundle: no panic.
    #[test]
    fn bundles_of_arbitrary_entries(ps in prop::collection::vec(payload(), 1..4)) {
        let mut b = SAMPLE_BUNDLE.clone();
        for p in &ps {
            let e = entry::sign(&SIGNER, p).unwrap();
            b.entries.push(Ok(e.signed().clone()));
        }
        b.target = b.entries.last().unwrap().as_ref().unwrap().id();
        let r = verify_bundle(&b, &VerifyOptions::default());
        prop_assert!(!r.valid || r.reasons.is_empty());
        let again = Bundle::from_json(&b.to_json()).unwrap();
        let r2 = verify_bundle(&again, &VerifyOptions::default());
        prop_assert_eq!(r.valid, r2.valid);
    }
}
