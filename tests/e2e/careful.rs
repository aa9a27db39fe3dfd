//! Mistakes users make, and what greenledger does about them: a key copied without its chain
//! state, ambiguous payloads, a node URL with a path, a correction signed after a revocation,
//! a bundle checked against the wrong network.

use crate::util::{Env, write};

#[test]
fn a_key_copied_without_its_state_is_not_used_to_fork_its_chain() {
    let env = Env::new();
    let s = env.supplier("s", "Smelter AG");
    env.attest(&s, "urn:greenledger:t:a", "kg", "1", &[]);
    let copy = env.path("copy.key");
    std::fs::copy(&s.path, &copy).unwrap();
    let genesis = env.genesis.display().to_string();
    env.run(&[
        "attest",
        "--key",
        &copy.display().to_string(),
        "--part",
        "urn:greenledger:t:b",
        "--unit",
        "kg",
        "--own",
        "1",
        "--genesis",
        &genesis,
        "--out",
        "b.json",
    ])
    .code(2)
    .stderr_has("no chain state for this key")
    .stderr_has("copy.key.state is missing");
    assert!(!env.path("b.json").exists());
    // With the entries folder the chain continues where it is.
    let r = env
        .run_offline(&[
            "attest",
            "--key",
            &copy.display().to_string(),
            "--part",
            "urn:greenledger:t:b",
            "--unit",
            "kg",
            "--own",
            "1",
            "--json",
        ])
        .ok();
    assert_eq!(r.json()["seq"], serde_json::Value::from(2));
}

#[test]
fn ambiguous_payloads_are_refused_before_signing() {
    let env = Env::new();
    let s = env.supplier("s", "Smelter AG");
    let key = s.path.display().to_string();
    write(
        &env.path("dup.json"),
        r#"{"kind":"attestation","body":{"part":"urn:greenledger:t:x","declaredUnitOfMeasurement":"kilogram","own":{"pcfExcludingBiogenicUptake":"1000000"},"own":{"pcfExcludingBiogenicUptake":"5000000"},"total":{"pcfExcludingBiogenicUptake":"5000000"}}}"#,
    );
    env.run_offline(&["sign", "--key", &key, "dup.json"])
        .code(2)
        .stderr_has("key \"own\" appears twice");
    write(
        &env.path("null.json"),
        r#"{"kind":"attestation","body":{"part":"urn:greenledger:t:x","declaredUnitOfMeasurement":"kilogram","comment":null,"own":{"pcfExcludingBiogenicUptake":"1"},"total":{"pcfExcludingBiogenicUptake":"1"}}}"#,
    );
    env.run_offline(&["sign", "--key", &key, "null.json"])
        .code(2)
        .stderr_has("null is not allowed");
    write(
        &env.path("dec.json"),
        r#"{"kind":"attestation","body":{"part":"urn:greenledger:t:x","declaredUnitOfMeasurement":"kilogram","own":{"pcfExcludingBiogenicUptake":"1.5"},"total":{"pcfExcludingBiogenicUptake":"1.5"}}}"#,
    );
    env.run_offline(&["sign", "--key", &key, "dec.json"])
        .code(2)
        .stderr_has("own.pcfExcludingBiogenicUptake")
        .stderr_has("milligrams CO2e");
}

#[test]
fn a_node_url_with_a_path_is_a_usage_error() {
    let env = Env::new();
    env.run(&["show", &"ab".repeat(32), "--node", "http://127.0.0.1:7070/v1"])
        .code(2)
        .stderr_has("without a path");
}

#[test]
fn a_correction_signed_after_revocation_does_not_spoil_the_original() {
    let env = Env::new();
    let s = env.supplier("s", "Smelter AG");
    let e1 = env.attest(&s, "urn:greenledger:t:ingot", "kg", "8", &[]);
    let e2 = env
        .try_attest(&s, "urn:greenledger:t:ingot", "kg", "7", &[], &["--supersedes", &e1])
        .ok()
        .last_line();
    env.run_offline(&[
        "revoke",
        "--key",
        &env.admin.path.display().to_string(),
        "--member",
        &s.public,
        "--after-seq",
        "1",
    ])
    .ok();
    let b1 = env.bundle(&e1, "e1");
    env.verify(&b1, &[])
        .ok()
        .stdout_has("VALID")
        .stdout_has(&format!("ignored attestation entry {}", &e2[..12]));
    let b2 = env.bundle(&e2, "e2");
    env.verify(&b2, &[]).code(1).stdout_has("revoked after its seq 1");
}

#[test]
fn a_bundle_checked_against_another_network_says_so() {
    let env = Env::new();
    let s = env.supplier("s", "Smelter AG");
    let e = env.attest(&s, "urn:greenledger:t:a", "kg", "1", &[]);
    let b = env.bundle(&e, "a");
    env.run(&[
        "genesis",
        "--network",
        "other",
        "--admin",
        &env.admin.public,
        "--out",
        "other.json",
    ])
    .ok();
    env.verify(&b, &["--genesis", "other.json"])
        .code(1)
        .stdout_has("DOES NOT MATCH the pinned network");
}
