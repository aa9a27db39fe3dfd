//! Supervision, in a real process: a component of the node that dies takes the node down with
//! an error naming it and a non-zero exit code, and the store it leaves opens again with every
//! acknowledged entry. The fault is injected through the test build's hook
//! (`tests/bin/greenledger-node.rs`: `GREENLEDGER_E2E_FAULT` names the component, `SIGUSR1`
//! fires it).

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use greenledger_core::{Role, SecretKey};

use crate::{node_util::TestNode, util::Env};

/// Each component, by the name the hook takes and the name the node gives it.
const COMPONENTS: [(&str, &str); 5] = [
    ("store-writer", "store writer thread"),
    ("p2p", "p2p swarm task"),
    ("http", "HTTP API server"),
    ("checkpoints", "checkpoint ticker"),
    ("pact", "PACT API server"),
];

#[test]
fn a_component_that_dies_stops_the_node_with_an_error_naming_it() {
    let env = Env::new();
    let pact_cfg = env.path("pact.toml");
    std::fs::write(&pact_cfg, "[pact]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    let genesis = env.genesis();
    for (i, (hook_name, name)) in COMPONENTS.into_iter().enumerate() {
        let data_dir = env.path(&format!("node-{hook_name}"));
        let extra: &[&str] = if hook_name == "pact" {
            &["--config", pact_cfg.to_str().unwrap()]
        } else {
            &[]
        };
        let mut node =
            TestNode::start_with_env(&data_dir, &env.genesis, extra, &[("GREENLEDGER_E2E_FAULT", hook_name)]);
        // Serving, and an entry acknowledged before the fault.
        let mut admin = greenledger_testkit::Chain::new(env.admin.secret(), &genesis);
        let admit = admin.admit(
            &SecretKey::generate().public(),
            &format!("Supplier {i}"),
            Role::Supplier,
        );
        let (st, body) = node.submit(&admit.signed().to_json());
        assert_eq!(st, 201, "{body}");

        node.signal("USR1");
        let code = node.wait_exit(Duration::from_secs(60));
        let log = node.log();
        assert_eq!(
            code,
            Some(2),
            "the node must exit 2 once its {name} died; its log:\n{log}"
        );
        let said = format!("error: the {name} panicked: fault injected");
        assert!(
            node.log_shows(&said, Duration::from_secs(5)),
            "the node must say which component died ({said:?}); its log:\n{}",
            node.log()
        );
        assert!(
            node.log()
                .contains("a component of the node stopped while it was running"),
            "{}",
            node.log()
        );

        // What was acknowledged is there after a restart, and the node stops cleanly.
        let mut again = TestNode::start_with(&data_dir, &env.genesis, extra);
        assert_eq!(again.get(&format!("/v1/entries/{}", admit.id())).0, 200, "{hook_name}");
        assert_eq!(again.log_size(), 1);
        assert_eq!(again.stop(), 0, "{}", again.log());
    }
}

#[test]
fn an_armed_fault_that_never_fires_changes_nothing_and_sigterm_still_exits_0() {
    let env = Env::new();
    let mut node = TestNode::start_with_env(
        &env.path("node"),
        &env.genesis,
        &[],
        &[("GREENLEDGER_E2E_FAULT", "store-writer")],
    );
    let genesis = env.genesis();
    let mut admin = greenledger_testkit::Chain::new(env.admin.secret(), &genesis);
    let admit = admin.admit(&SecretKey::generate().public(), "Supplier", Role::Supplier);
    assert_eq!(node.submit(&admit.signed().to_json()).0, 201);
    assert_eq!(node.stop(), 0, "clean shutdown on SIGTERM:\n{}", node.log());
    assert!(!node.log().contains("panicked"), "{}", node.log());
}
