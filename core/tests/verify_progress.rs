//! `verify_bundle_with_progress` tells each phase as it starts, in order, and returns exactly
//! the report of `verify_bundle`, for a valid bundle, for one with a signature that does not
//! verify (checked a second time, with the signature verdicts already found, without telling
//! the phases again) and for one whose genesis is unusable.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use greenledger_core::{
    Bundle, SignedEntry,
    verify::{PHASES, VerifyOptions, verify_bundle, verify_bundle_with_progress},
};
use greenledger_testkit::{Consortium, attestation};

fn phases_and_same_report(bundle: &Bundle, opts: &VerifyOptions) -> Vec<usize> {
    let mut seen = Vec::new();
    let with = verify_bundle_with_progress(bundle, opts, &mut |i| seen.push(i));
    let without = verify_bundle(bundle, opts);
    assert_eq!(
        serde_json::to_value(&with).unwrap(),
        serde_json::to_value(&without).unwrap()
    );
    seen
}

#[test]
fn every_phase_in_order_and_the_same_report() {
    let mut c = Consortium::new("progress");
    let mut s = c.supplier(11, "Smelter");
    let ore = c.sign(&mut s, attestation("urn:greenledger:t:ore", 250_000, &[]));
    let bar = c.sign(
        &mut s,
        attestation("urn:greenledger:t:bar", 2_000_000, &[(ore.entry(), 3_500_000)]),
    );
    let bundle = c.bundle(bar.id());
    let seen = phases_and_same_report(&bundle, &c.pinned());
    assert_eq!(seen, (0..PHASES.len()).collect::<Vec<_>>());

    // A signature that does not verify: each phase is still told once.
    let mut tampered = bundle.clone();
    let slot = tampered
        .entries
        .iter_mut()
        .find(|e| e.as_ref().is_ok_and(|e| e.id() == ore.id()))
        .unwrap();
    let se = slot.as_ref().unwrap();
    let mut sig = *se.signature();
    sig.0[3] ^= 0x10;
    *slot = Ok(SignedEntry::from_parts(se.payload().to_vec(), sig));
    let seen = phases_and_same_report(&tampered, &c.pinned());
    assert_eq!(seen, (0..PHASES.len()).collect::<Vec<_>>());
    let report = verify_bundle(&tampered, &c.pinned());
    assert!(!report.valid);
    assert!(
        report
            .reasons
            .iter()
            .any(|r| r.step == 2 && r.entry == Some(ore.id()) && r.message.contains("signature does not verify")),
        "{:?}",
        report.reasons
    );

    // Without a usable genesis the verifier stops early: the last phase is still told.
    let mut json: serde_json::Value = serde_json::from_slice(&bundle.to_json()).unwrap();
    json["genesis"] = serde_json::json!({"name": "not a genesis"});
    let broken = Bundle::from_json(&serde_json::to_vec(&json).unwrap()).unwrap();
    assert!(broken.genesis.is_err());
    let seen = phases_and_same_report(&broken, &VerifyOptions::default());
    assert_eq!(seen, vec![0, 1, PHASES.len() - 1]);
}
