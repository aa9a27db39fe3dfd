//! `verify_bundle` "never panics" — also not on a very deep provenance chain.
//!
//! Kept in its own test binary: a stack overflow aborts the whole process, which would hide
//! the results of every other test in the same binary.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use greenledger_core::{
    Bundle, VerifiedEntry,
    verify::{VerifyOptions, verify_bundle},
};
use greenledger_testkit::{Chain, genesis, key};

/// A chain of `depth` attestations, each using the previous one as its input.
fn deep_bundle(depth: usize) -> Bundle {
    let g = genesis("deep", &[key(1).public()]);
    let mut chain = Chain::new(key(1), &g);
    let mut entries = Vec::with_capacity(depth);
    let mut prev: Option<VerifiedEntry> = None;
    for _ in 0..depth {
        let inputs: Vec<_> = prev.iter().map(|p| (p.entry(), 1)).collect();
        let e = chain.attest("urn:greenledger:x:y", 1, &inputs);
        entries.push(Ok(e.signed().clone()));
        prev = Some(e);
    }
    Bundle {
        genesis: Ok(g),
        target: prev.unwrap().id(),
        entries,
        fork_proofs: vec![],
    }
}

#[test]
fn moderately_deep_chain_is_verified() {
    let r = verify_bundle(&deep_bundle(200), &VerifyOptions::default());
    // The signer is only an admin, so every attestation fails step 3, but the tree is built.
    assert!(!r.valid);
    // The tree shows MAX_TREE_DEPTH levels below the root; the last one says it is truncated.
    let mut depth = 0;
    let mut n = r.tree.as_ref();
    let mut last = None;
    while let Some(node) = n {
        depth += 1;
        last = Some(node);
        n = node.inputs.first();
    }
    assert_eq!(depth, greenledger_core::verify::MAX_TREE_DEPTH + 1);
    assert!(last.unwrap().truncated);
}

/// Anyone can make such a bundle (its own genesis, its own key). The verification walks the
/// DAG iteratively and the provenance tree stops at `MAX_TREE_DEPTH`, so a chain thousands deep
/// cannot overflow the stack (it once did: a recursive tree aborted the process at depth 5 000
/// in release builds). Set `GREENLEDGER_DEEP` to try another depth.
#[test]
fn very_deep_chain_does_not_crash_the_verifier() {
    let depth: usize = std::env::var("GREENLEDGER_DEEP")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_001);
    let b = deep_bundle(depth);
    let r = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || verify_bundle(&b, &VerifyOptions::default()).valid)
        .unwrap()
        .join()
        .unwrap();
    assert!(!r);
}
