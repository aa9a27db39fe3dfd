//! Property tests: tamper evidence (single-byte changes), the exact roll-up against big
//! integers, and round trips of every encoding.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::LazyLock;

use common::{GENESIS, SIGNER, canonical_json, is_json_ws, outside_strings, payload, sample_bundle};
use greenledger_core::{
    Bundle,
    amount::{self, Mass, Quantity, Share},
    bundle::ForkProof,
    canonical::{self, MAX_SAFE_INTEGER},
    entry::{self, SignedEntry},
    error::{AmountError, CanonicalError, RollupError},
    model::{COMPONENTS, Emissions, Payload},
    rollup,
    verify::{VerifyOptions, verify_bundle},
};
use greenledger_testkit::Chain;
use num_bigint::{BigInt, BigUint, Sign};
use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, TestRunner},
};
use serde_json::Value;

fn config(cases: u32) -> Config {
    Config {
        cases,
        ..Config::default()
    }
}

// ---- (a) a single changed byte never yields a different valid entry or bundle --------------

/// The envelope as the writer makes it, or pretty-printed (whitespace outside the payload).
fn envelope(se: &SignedEntry, pretty: bool) -> (Vec<u8>, std::ops::Range<usize>) {
    if pretty {
        let head = b"{\n  \"signature\" : \"".to_vec();
        let mut out = head;
        out.extend_from_slice(se.signature().to_hex().as_bytes());
        out.extend_from_slice(b"\",\r\n\t\"payload\":  ");
        let start = out.len();
        out.extend_from_slice(se.payload());
        let end = out.len();
        out.extend_from_slice(b"\n}\n");
        (out, start..end)
    } else {
        let start = b"{\"payload\":".len();
        (se.to_json(), start..start + se.payload().len())
    }
}

fn mutation() -> impl Strategy<Value = (prop::sample::Index, u8)> {
    (any::<prop::sample::Index>(), any::<u8>())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn one_changed_byte_never_makes_another_valid_entry(
        p in payload(),
        pretty in any::<bool>(),
        (at, byte) in mutation(),
    ) {
        let signed = entry::sign(&SIGNER, &p).unwrap();
        let (json, payload_span) = envelope(signed.signed(), pretty);
        // The unchanged envelope is valid.
        let back = SignedEntry::from_json(&json).unwrap().verify().unwrap();
        prop_assert_eq!(back.id(), signed.id());

        let i = at.index(json.len());
        prop_assume!(json[i] != byte);
        let mut changed = json.clone();
        changed[i] = byte;
        let Ok(se) = SignedEntry::from_json(&changed) else { return Ok(()) };
        let Ok(v) = se.verify() else { return Ok(()) };
        // Still valid: then it is the same entry, and the change was outside the payload.
        prop_assert_eq!(v.id(), signed.id());
        prop_assert_eq!(v.payload(), &p);
        prop_assert!(!payload_span.contains(&i), "a change inside the payload verified");
        prop_assert!(is_json_ws(json[i]) && is_json_ws(byte), "byte {} {:?} -> {:?}", i, json[i] as char, byte as char);
    }
}

/// The "same id" branch above, exhaustively: in a pretty envelope, each whitespace byte outside
/// the payload may become any other JSON whitespace (same entry); any other byte there, or any
/// whitespace inside the payload's strings, is refused or fails verification.
#[test]
fn envelope_whitespace_is_insignificant_and_nothing_else_is() {
    let mut runner = TestRunner::deterministic();
    let p = payload().new_tree(&mut runner).unwrap().current();
    let signed = entry::sign(&SIGNER, &p).unwrap();
    let (json, span) = envelope(signed.signed(), true);
    let outside = outside_strings(&json);
    let mut same = 0;
    for i in 0..json.len() {
        // Inside the payload only whitespace is tried here (other changes are covered above,
        // and each costs a signature check).
        let bytes: &[u8] = if span.contains(&i) { b" \t\n\r" } else { b" \t\n\rx0\"" };
        for &byte in bytes {
            if json[i] == byte {
                continue;
            }
            let mut changed = json.clone();
            changed[i] = byte;
            let verified = SignedEntry::from_json(&changed).ok().and_then(|se| se.verify().ok());
            let insignificant = outside[i] && is_json_ws(json[i]) && is_json_ws(byte);
            assert_eq!(verified.is_some(), insignificant, "byte {i} -> {:?}", byte as char);
            if let Some(v) = verified {
                assert!(!span.contains(&i));
                assert_eq!(v.id(), signed.id());
                same += 1;
            }
        }
    }
    assert!(same >= 20, "{same}");
}

static BUNDLE_JSON: LazyLock<Vec<u8>> = LazyLock::new(|| sample_bundle().to_json());

/// Positions and replacements biased to whitespace, where the interesting cases are.
fn bundle_mutation() -> impl Strategy<Value = (usize, u8)> {
    let len = BUNDLE_JSON.len();
    let ws_positions: Vec<usize> = BUNDLE_JSON
        .iter()
        .enumerate()
        .filter(|(_, b)| is_json_ws(**b))
        .map(|(i, _)| i)
        .collect();
    prop_oneof![
        3 => (0..len, any::<u8>()),
        1 => (prop::sample::select(ws_positions), prop::sample::select(vec![b' ', b'\t', b'\n', b'\r', b'x', b'{', b'0'])),
    ]
}

proptest! {
    #![proptest_config(config(192))]

    #[test]
    fn one_changed_byte_makes_a_bundle_unreadable_or_invalid((i, byte) in bundle_mutation()) {
        let json = &*BUNDLE_JSON;
        prop_assume!(json[i] != byte);
        let outside = outside_strings(json);
        let insignificant = outside[i] && is_json_ws(json[i]) && is_json_ws(byte);
        let mut changed = json.clone();
        changed[i] = byte;
        match Bundle::from_json(&changed) {
            Err(e) => prop_assert!(!insignificant, "whitespace change at {} refused: {}", i, e),
            Ok(b) => {
                let r = verify_bundle(&b, &VerifyOptions::default());
                if insignificant {
                    prop_assert!(r.valid, "whitespace change at {} made it invalid: {:?}", i, r.reasons);
                } else {
                    prop_assert!(
                        !r.valid,
                        "byte {} changed from {:?} to {:?} and the bundle still verifies",
                        i, json[i] as char, byte as char
                    );
                }
            }
        }
    }
}

#[test]
fn sample_bundle_is_valid_and_has_insignificant_newlines() {
    let b = Bundle::from_json(&BUNDLE_JSON).unwrap();
    let r = verify_bundle(&b, &VerifyOptions::default());
    assert!(r.valid, "{:?}", r.reasons);
    let outside = outside_strings(&BUNDLE_JSON);
    let newlines = BUNDLE_JSON
        .iter()
        .zip(&outside)
        .filter(|(b, o)| **b == b'\n' && **o)
        .count();
    // After the header, genesis, target, before each entry, before forkProofs, at the end.
    assert!(newlines >= 8, "{newlines}");
    // Every insignificant newline can become any other JSON whitespace.
    for (i, _) in BUNDLE_JSON
        .iter()
        .enumerate()
        .filter(|(i, b)| **b == b'\n' && outside[*i])
    {
        for ws in [b' ', b'\t', b'\r'] {
            let mut changed = BUNDLE_JSON.clone();
            changed[i] = ws;
            let b = Bundle::from_json(&changed).unwrap();
            assert!(verify_bundle(&b, &VerifyOptions::default()).valid);
        }
    }
}

// ---- (b) the roll-up equals a big-integer computation ----------------------------------------

/// One node of a random DAG: own emissions and inputs (index of an earlier node, quantity).
#[derive(Clone, Debug)]
struct Node {
    own: Emissions,
    inputs: Vec<(usize, i64)>,
}

fn mass_value() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => -2_000_000i64..2_000_000,
        3 => -1_000_000_000_000_000i64..1_000_000_000_000_000,
        2 => any::<i64>(),
        1 => prop::sample::select(vec![i64::MAX, i64::MIN, i64::MAX - 1, i64::MIN + 1, 0]),
    ]
}

fn quantity_value() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => 1i64..10_000_000,
        2 => 1i64..1_000_000_000_000,
        1 => 1i64..=i64::MAX,
        1 => Just(i64::MAX),
    ]
}

fn own_emissions() -> impl Strategy<Value = Emissions> {
    (
        mass_value(),
        prop::option::weighted(0.8, mass_value()),
        prop::option::weighted(0.6, mass_value()),
    )
        .prop_map(|(h, inc, fossil)| Emissions {
            pcf_excluding_biogenic_uptake: Mass(h),
            pcf_including_biogenic_uptake: inc.map(Mass),
            fossil_ghg_emissions: fossil.map(Mass),
            ..Emissions::default()
        })
}

fn dag() -> impl Strategy<Value = Vec<Node>> {
    prop::collection::vec(
        (
            own_emissions(),
            prop::collection::vec((any::<prop::sample::Index>(), quantity_value()), 0..5),
        ),
        1..8,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (own, ins))| Node {
                own,
                inputs: if i == 0 {
                    vec![]
                } else {
                    ins.into_iter().map(|(ix, q)| (ix.index(i), q)).collect()
                },
            })
            .collect()
    })
}

/// `own × 10^6 + Σ q × t` with big integers, failing where the implementation's checked
/// `i128` running sum would overflow, then divided by 10^6 rounding half away from zero, and
/// failing if the result does not fit an `i64`.
fn big_total(own: i64, terms: &[(i64, i64)]) -> Result<i64, ()> {
    let (lo, hi) = (BigInt::from(i128::MIN), BigInt::from(i128::MAX));
    let mut s = BigInt::from(own) * BigInt::from(1_000_000);
    for (q, t) in terms {
        s += BigInt::from(*q) * BigInt::from(*t);
        if s < lo || s > hi {
            return Err(());
        }
    }
    let scale = BigInt::from(1_000_000);
    let mag = BigInt::from_biguint(Sign::Plus, s.magnitude().clone());
    let (q, r) = (&mag / &scale, &mag % &scale);
    let rounded = if r * 2 >= scale { q + 1 } else { q };
    let v = if s.sign() == Sign::Minus { -rounded } else { rounded };
    i64::try_from(v).map_err(|_| ())
}

/// What `roll_up` must return, computed independently.
fn expected_roll_up(own: &Emissions, inputs: &[(Quantity, &Emissions)]) -> Result<Emissions, RollupError> {
    let mut total = Emissions::default();
    for c in &COMPONENTS {
        let Some(o) = (c.get)(own) else { continue };
        let terms: Option<Vec<(i64, i64)>> = inputs.iter().map(|(q, t)| (c.get)(t).map(|m| (q.0, m.0))).collect();
        let Some(terms) = terms else { continue };
        match big_total(o.0, &terms) {
            Ok(v) => (c.set)(&mut total, Some(Mass(v))),
            Err(()) => return Err(RollupError::Overflow { component: c.name }),
        }
    }
    Ok(total)
}

/// Rolls a DAG up node by node (inputs before consumers), checking every node against the
/// big-integer computation. Returns (nodes computed, nodes that overflowed).
fn check_dag(nodes: &[Node]) -> Result<(usize, usize), TestCaseError> {
    let mut totals: Vec<Option<Emissions>> = Vec::with_capacity(nodes.len());
    let (mut ok, mut overflow) = (0, 0);
    for n in nodes {
        let inputs: Option<Vec<(Quantity, &Emissions)>> = n
            .inputs
            .iter()
            .map(|(j, q)| totals[*j].as_ref().map(|t| (Quantity(*q), t)))
            .collect();
        let Some(inputs) = inputs else {
            totals.push(None); // an input overflowed: this node cannot be attested
            continue;
        };
        let got = rollup::roll_up(&n.own, &inputs);
        let want = expected_roll_up(&n.own, &inputs);
        prop_assert_eq!(&got, &want, "node {:?}", n);
        match got {
            Ok(t) => {
                ok += 1;
                totals.push(Some(t));
            }
            Err(_) => {
                overflow += 1;
                totals.push(None);
            }
        }
    }
    Ok((ok, overflow))
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn roll_up_equals_big_integer_arithmetic(nodes in dag()) {
        check_dag(&nodes)?;
    }

    #[test]
    fn roll_up_component_equals_big_integer_arithmetic(
        own in mass_value(),
        terms in prop::collection::vec((quantity_value(), mass_value()), 0..6),
    ) {
        let inputs: Vec<(Quantity, Mass)> = terms.iter().map(|(q, t)| (Quantity(*q), Mass(*t))).collect();
        let got = rollup::roll_up_component("c", Mass(own), &inputs);
        match big_total(own, &terms) {
            Ok(v) => prop_assert_eq!(got, Ok(Mass(v))),
            Err(()) => prop_assert_eq!(got, Err(RollupError::Overflow { component: "c" })),
        }
    }

    #[test]
    fn round_scaled_is_half_away_from_zero(s in any::<i128>()) {
        let got = rollup::round_scaled(s);
        // 2·|got·10^6 − s| ≤ 10^6, and a tie goes away from zero.
        let diff: BigInt = (BigInt::from(got) * 1_000_000 - BigInt::from(s)) * 2;
        let twice = diff.magnitude().clone();
        prop_assert!(twice <= BigUint::from(1_000_000u32));
        if twice == BigUint::from(1_000_000u32) {
            prop_assert_eq!(got.signum(), s.signum());
            prop_assert!(got.unsigned_abs() * 1_000_000 > s.unsigned_abs());
        }
    }
}

/// The DAG strategy produces both overflowing and exact roll-ups (so the property above
/// checks both sides).
#[test]
fn roll_up_strategy_covers_overflow_and_exact_results() {
    let mut runner = TestRunner::deterministic();
    let strategy = dag();
    let (mut ok, mut overflow) = (0, 0);
    for _ in 0..300 {
        let nodes = strategy.new_tree(&mut runner).unwrap().current();
        let (o, f) = check_dag(&nodes).unwrap();
        ok += o;
        overflow += f;
    }
    assert!(ok > 200 && overflow > 50, "ok {ok}, overflow {overflow}");
}

#[test]
fn roll_up_overflow_of_the_running_sum() {
    let m = i64::MAX;
    // Three terms of about 2^126 exceed i128 before the negative ones come.
    let terms = [(m, m), (m, m), (m, m), (m, -m), (m, -m), (m, -m)];
    let inputs: Vec<(Quantity, Mass)> = terms.iter().map(|(q, t)| (Quantity(*q), Mass(*t))).collect();
    assert_eq!(big_total(0, &terms), Err(()));
    assert!(rollup::roll_up_component("c", Mass(0), &inputs).is_err());
    // In another order the running sum stays in range and the exact result is 0. (The
    // result of an attestation depends on the order of its inputs only in this case.)
    let interleaved = [(m, m), (m, -m), (m, m), (m, -m), (m, m), (m, -m)];
    let inputs: Vec<(Quantity, Mass)> = interleaved.iter().map(|(q, t)| (Quantity(*q), Mass(*t))).collect();
    assert_eq!(big_total(0, &interleaved), Ok(0));
    assert_eq!(rollup::roll_up_component("c", Mass(0), &inputs), Ok(Mass(0)));
    // The final i64 range: exactly i64::MAX fits, one more milligram does not.
    let one = [(1_000_000, m)];
    let inputs = [(Quantity(1_000_000), Mass(m))];
    assert_eq!(big_total(0, &one), Ok(m));
    assert_eq!(rollup::roll_up_component("c", Mass(0), &inputs), Ok(Mass(m)));
    assert!(rollup::roll_up_component("c", Mass(1), &inputs).is_err());
    // Rounding up to i64::MAX + 1 overflows; rounding down to i64::MIN does not.
    assert!(rollup::roll_up_component("c", Mass(m), &[(Quantity(500_000), Mass(1))]).is_err());
    assert_eq!(
        rollup::roll_up_component("c", Mass(i64::MIN), &[(Quantity(499_999), Mass(-1))]),
        Ok(Mass(i64::MIN))
    );
}

// ---- (c) round trips -----------------------------------------------------------------------

fn any_i64() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => any::<i64>(),
        2 => -10_000_000i64..10_000_000,
        1 => prop::sample::select(vec![i64::MIN, i64::MAX, i64::MIN + 1, i64::MAX - 1, 0, 1, -1]),
    ]
}

/// A decimal string made of digits, with an optional sign and point.
fn decimal_text() -> impl Strategy<Value = (String, String, String, bool)> {
    (
        prop::sample::select(vec!["", "-", "+"]),
        "[0-9]{0,21}",
        "[0-9]{0,9}",
        any::<bool>(),
    )
        .prop_map(|(sign, int, frac, dot)| (sign.to_string(), int, frac, dot))
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn decimal_format_parse_round_trip(v in any_i64(), digits in 1u32..=6) {
        let s = amount::format_decimal(v, digits);
        prop_assert_eq!(amount::parse_decimal(&s, digits), Ok(v), "{}", s);
        // Shortest form: no trailing zero after a point, no point without a fraction.
        prop_assert!(!s.contains('.') || !s.ends_with('0'));
        prop_assert!(!s.ends_with('.'));
    }

    #[test]
    fn decimal_format_parse_round_trip_zero_digits(v in any_i64()) {
        // i64::MIN with zero digits is a known failure (see parse_decimal_accepts_i64_min_…).
        prop_assume!(v != i64::MIN);
        let s = amount::format_decimal(v, 0);
        prop_assert_eq!(&s, &v.to_string());
        prop_assert_eq!(amount::parse_decimal(&s, 0), Ok(v));
    }

    #[test]
    fn parse_decimal_equals_big_integer_arithmetic(
        (sign, int, frac, dot) in decimal_text(),
        digits in prop::sample::select(vec![2u32, 6]),
    ) {
        let frac = if dot { frac } else { String::new() };
        let s = format!("{sign}{int}{}{frac}", if dot { "." } else { "" });
        let got = amount::parse_decimal(&s, digits);
        let trimmed = frac.trim_end_matches('0');
        if int.is_empty() && frac.is_empty() {
            prop_assert!(matches!(got, Err(AmountError::Invalid { .. })), "{:?}: {:?}", s, got);
        } else if trimmed.len() > digits as usize {
            prop_assert!(matches!(got, Err(AmountError::Invalid { .. })), "{:?}: {:?}", s, got);
        } else {
            let scale = BigInt::from(10u64.pow(digits));
            let int_v: BigInt = if int.is_empty() { BigInt::from(0) } else { int.parse().unwrap() };
            let frac_v: BigInt = if trimmed.is_empty() { BigInt::from(0) } else { trimmed.parse().unwrap() };
            let frac_scaled = frac_v * BigInt::from(10u64.pow(digits - trimmed.len() as u32));
            let mut v = int_v * scale + frac_scaled;
            if sign == "-" {
                v = -v;
            }
            match i64::try_from(v) {
                Ok(v) => {
                    prop_assert_eq!(&got, &Ok(v), "{:?}", s);
                    // And it prints back to the same number.
                    prop_assert_eq!(amount::parse_decimal(&amount::format_decimal(v, digits), digits), Ok(v));
                }
                Err(_) => prop_assert!(matches!(got, Err(AmountError::Overflow(_))), "{:?}: {:?}", s, got),
            }
        }
    }

    #[test]
    fn mass_and_quantity_round_trip(v in any_i64()) {
        let m = Mass(v);
        prop_assert_eq!(Mass::from_kg_str(&m.kg_string()), Ok(m));
        let json = serde_json::to_string(&m).unwrap();
        prop_assert_eq!(&json, &format!("\"{v}\""));
        prop_assert_eq!(serde_json::from_str::<Mass>(&json).unwrap(), m);
        let q = Quantity(v);
        prop_assert_eq!(Quantity::from_decimal_str(&q.decimal_string()), Ok(q));
        prop_assert_eq!(serde_json::from_str::<Quantity>(&serde_json::to_string(&q).unwrap()).unwrap(), q);
    }

    #[test]
    fn share_round_trip(bp in 0u16..=10_000) {
        let s = Share(bp);
        prop_assert_eq!(Share::from_percent_str(&s.percent_string()), Ok(s));
    }
}

/// `parse_decimal` promises to refuse only values "that do not fit in an i64", and
/// `format_decimal(i64::MIN, 0)` is "-9223372036854775808"; that text is refused.
#[test]
fn parse_decimal_accepts_i64_min_with_zero_digits() {
    let s = amount::format_decimal(i64::MIN, 0);
    assert_eq!(s, "-9223372036854775808");
    assert_eq!(amount::parse_decimal(&s, 0), Ok(i64::MIN));
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn canonical_json_round_trip(v in canonical_json()) {
        let bytes = canonical::to_canonical(&v).unwrap();
        prop_assert_eq!(&canonical::parse_canonical(&bytes).unwrap(), &v);
        // A standard parser reads the same value, and encoding is idempotent.
        let std: Value = serde_json::from_slice(&bytes).unwrap();
        prop_assert_eq!(&std, &v);
        prop_assert_eq!(canonical::to_canonical(&std).unwrap(), bytes.clone());
        // No raw control characters; no whitespace outside strings.
        prop_assert!(bytes.iter().all(|b| *b >= 0x20));
        let outside = outside_strings(&bytes);
        prop_assert!(bytes.iter().zip(&outside).all(|(b, o)| !(*o && is_json_ws(*b))));
        // Pretty-printed, it is no longer canonical (unless it has nothing to indent).
        let pretty = serde_json::to_vec_pretty(&v).unwrap();
        if pretty != bytes {
            prop_assert!(
                matches!(canonical::parse_canonical(&pretty), Err(CanonicalError::NotCanonical { .. })),
                "{:?}", String::from_utf8_lossy(&pretty)
            );
        }
    }

    #[test]
    fn canonical_json_refuses_unsafe_integers(extra in 1u64..1_000_000, neg in any::<bool>()) {
        let n = MAX_SAFE_INTEGER + extra;
        let v = if neg { Value::from(-(n as i64)) } else { Value::from(n) };
        prop_assert!(matches!(canonical::to_canonical(&v), Err(CanonicalError::NumberOutOfRange(_))));
        let text = v.to_string();
        prop_assert!(canonical::parse_canonical(text.as_bytes()).is_err());
    }

    #[test]
    fn entry_round_trip(p in payload()) {
        let signed = entry::sign(&SIGNER, &p).unwrap();
        prop_assert_eq!(signed.payload(), &p);
        let json = signed.signed().to_json();
        // The compact envelope is itself canonical JSON.
        prop_assert!(canonical::parse_canonical(&json).is_ok());
        let se = SignedEntry::from_json(&json).unwrap();
        prop_assert_eq!(&se, signed.signed());
        prop_assert_eq!(se.to_json(), json);
        let back = se.verify().unwrap();
        prop_assert_eq!(back.payload(), &p);
        prop_assert_eq!(back.id(), signed.id());
        prop_assert_eq!(Payload::decode(se.payload()).unwrap(), p.clone());
        prop_assert_eq!(p.to_canonical().unwrap(), se.payload().to_vec());
    }
}

// ---- (d) the fast paths equal the reference ones --------------------------------------------

/// Deep JSON inside `extensions`: serde_json refuses nesting beyond 127 levels, and the fast
/// decoder must not move that boundary (it reads the body one level down). Around the limit,
/// both decoders give the same verdict, and deep payloads never take the fast way.
#[test]
fn deep_extensions_get_the_same_verdict_from_both_decoders() {
    use greenledger_core::model::{Emissions, Unit};
    let mut verdicts = Vec::new();
    for depth in [1usize, 60, 63, 64, 100, 123, 124, 125, 126, 127, 200] {
        let mut nested = Value::from(1);
        for _ in 0..depth {
            nested = Value::Array(vec![nested]);
        }
        let mut a = greenledger_core::model::Attestation::new(
            "urn:greenledger:test:deep",
            Unit::Kilogram,
            Emissions::headline(amount::Mass(1_000)),
        );
        a.extensions = Some([("x".to_string(), nested)].into_iter().collect());
        let p = Chain::new(common::key(1), &GENESIS).payload_at(1, None, a);
        // The encoder has no depth limit of its own; the decoders do.
        let Ok(bytes) = p.to_canonical() else { continue };
        let reference = Payload::decode_through_value(&bytes);
        assert_eq!(Payload::decode(&bytes), reference, "depth {depth}");
        if canonical::nesting_depth(&bytes) > 64 {
            assert_eq!(Payload::decode_direct(&bytes), None, "depth {depth}");
        }
        verdicts.push((depth, reference.is_ok()));
    }
    // The boundary is inside the range tried: shallow payloads pass, the deepest do not.
    assert!(verdicts.first().is_some_and(|v| v.1), "{verdicts:?}");
    assert!(verdicts.last().is_some_and(|v| !v.1), "{verdicts:?}");
}

#[test]
fn nesting_depth_counts_brackets_outside_strings() {
    assert_eq!(canonical::nesting_depth(b"1"), 0);
    assert_eq!(canonical::nesting_depth(br#"{"a":[1,{"b":[]}]}"#), 4);
    assert_eq!(canonical::nesting_depth(br#"{"a":"[[[{{{\"[[["}"#), 1);
    assert_eq!(canonical::nesting_depth(br#"["\\",["x"]]"#), 2);
}

proptest! {
    #![proptest_config(config(512))]

    /// Payloads are encoded directly and decoded straight into their types; the reference
    /// ways go through a `serde_json::Value`. They must give the same bytes, the same payload
    /// and, for damaged bytes, the same verdict.
    #[test]
    fn direct_encoding_and_decoding_equal_the_reference(
        p in payload(),
        (at, byte) in mutation(),
        cut in any::<prop::sample::Index>(),
    ) {
        let bytes = p.to_canonical().unwrap();
        prop_assert_eq!(&bytes, &p.to_canonical_through_value().unwrap());
        // A valid payload takes the fast way.
        prop_assert_eq!(Payload::decode_direct(&bytes), Some(p.clone()));
        prop_assert_eq!(Payload::decode_through_value(&bytes), Ok(p.clone()));
        let mut changed = bytes.clone();
        let i = at.index(changed.len());
        changed[i] = byte;
        let truncated = &bytes[..cut.index(bytes.len())];
        let spaced = String::from_utf8(bytes.clone()).unwrap().replacen(',', ", ", 1).into_bytes();
        for damaged in [changed.as_slice(), truncated, spaced.as_slice()] {
            let reference = Payload::decode_through_value(damaged);
            if let Some(direct) = Payload::decode_direct(damaged) {
                prop_assert_eq!(Ok(direct), reference.clone());
            }
            prop_assert_eq!(Payload::decode(damaged), reference);
        }
    }
}

/// A pool of signed entries to build bundles from.
static POOL: LazyLock<Vec<SignedEntry>> = LazyLock::new(|| {
    let mut runner = TestRunner::deterministic();
    let strategy = payload();
    let mut v: Vec<SignedEntry> = (0..10)
        .map(|_| {
            let p = strategy.new_tree(&mut runner).unwrap().current();
            entry::sign(&SIGNER, &p).unwrap().signed().clone()
        })
        .collect();
    v.extend(sample_bundle().entries.into_iter().map(|e| e.unwrap()));
    v
});

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn bundle_round_trip(
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        broken in prop::collection::vec(any::<bool>(), 0..12),
        proofs in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..3),
        target in any::<prop::sample::Index>(),
        genesis_ok in prop::bool::weighted(0.9),
    ) {
        let pool = &*POOL;
        let mut entries: Vec<_> = picks.iter().map(|i| Ok(pool[i.index(pool.len())].clone())).collect();
        // Unparseable entries are dropped by the writer.
        for (i, b) in broken.iter().enumerate() {
            if *b && i <= entries.len() {
                entries.insert(i, SignedEntry::from_json(b"{"));
            }
        }
        let b = Bundle {
            genesis: if genesis_ok { Ok(GENESIS.clone()) } else { greenledger_core::Genesis::from_json(b"{}") },
            target: pool[target.index(pool.len())].id(),
            entries,
            fork_proofs: proofs
                .iter()
                .map(|(a, c)| Ok(ForkProof::new(pool[a.index(pool.len())].clone(), pool[c.index(pool.len())].clone())))
                .collect(),
        };
        let json = b.to_json();
        let back = Bundle::from_json(&json).unwrap();
        prop_assert_eq!(back.target, b.target);
        prop_assert_eq!(back.genesis.is_ok(), b.genesis.is_ok());
        if let (Ok(x), Ok(y)) = (&back.genesis, &b.genesis) {
            prop_assert_eq!(x, y);
        }
        let ok = |v: &[Result<SignedEntry, _>]| v.iter().flatten().cloned().collect::<Vec<_>>();
        prop_assert_eq!(ok(&back.entries), ok(&b.entries));
        prop_assert!(back.entries.iter().all(Result::is_ok));
        let proofs_of = |v: &[Result<ForkProof, _>]| v.iter().flatten().cloned().collect::<Vec<_>>();
        prop_assert_eq!(proofs_of(&back.fork_proofs), proofs_of(&b.fork_proofs));
        // Writing again gives the same bytes.
        prop_assert_eq!(back.to_json(), json);
    }
}

#[test]
fn genesis_round_trip() {
    let g = &*GENESIS;
    let canonical_bytes = g.canonical_bytes();
    // The direct encoder writes what the reference (through a `Value`) writes.
    assert_eq!(
        canonical_bytes,
        canonical::to_canonical(&serde_json::to_value(g).unwrap()).unwrap()
    );
    let back = greenledger_core::Genesis::from_json(&canonical_bytes).unwrap();
    assert_eq!(&back, g);
    assert_eq!(back.network_id(), g.network_id());
    // Any formatting of the same genesis has the same network id.
    let pretty = serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&canonical_bytes).unwrap()).unwrap();
    assert_eq!(
        greenledger_core::Genesis::from_json(&pretty).unwrap().network_id(),
        g.network_id()
    );
}
