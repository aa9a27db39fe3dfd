//! Peer-to-peer replication, end to end: real `greenledger-node` processes on loopback that
//! gossip and pull from each other, and a hostile peer built from the node's own libp2p stack.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::{
    collections::BTreeSet,
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use greenledger_core::{Entry, Genesis, Role, SecretKey, SignedEntry, VerifiedEntry};
use greenledger_testkit::genesis_with_peers;
use serde_json::Value;

use crate::{
    node::Chain,
    node_util::{TestNode, node_cmd},
    util::Env,
};

/// How long convergence may take before a test fails (the nodes sync every 300 ms here).
const CONVERGE: Duration = Duration::from_secs(90);

/// A consortium of node data dirs (each with its peer id named in the genesis), plus the
/// admin's signing chain.
pub(crate) struct Cluster {
    pub(crate) env: Env,
    pub(crate) genesis_path: PathBuf,
    pub(crate) genesis: Genesis,
    pub(crate) admin: Chain,
    nodes: Vec<Option<TestNode>>,
    pub(crate) config: PathBuf,
}

impl Cluster {
    /// `n` node data dirs and `extra` more peer ids named in the genesis (for test peers).
    pub(crate) fn new(n: usize, extra_peers: &[String]) -> Cluster {
        let env = Env::new();
        let mut peer_ids = Vec::new();
        for i in 0..n {
            let dir = env.path(&format!("node{i}"));
            let (code, out, err) = node_cmd(&["init", "--data-dir", &dir.display().to_string()]);
            assert_eq!(code, 0, "init: {err}");
            peer_ids.push(out.lines().last().unwrap().trim().to_string());
        }
        let admin_key = SecretKey::generate();
        let mut named = peer_ids.clone();
        named.extend(extra_peers.iter().cloned());
        let genesis = genesis_with_peers("p2p-test", &[admin_key.public()], &named);
        let genesis_path = env.path("p2p-genesis.json");
        std::fs::write(&genesis_path, genesis.canonical_bytes()).unwrap();
        let config = env.path("fast.toml");
        std::fs::write(
            &config,
            "[p2p]\nsync_interval = \"300ms\"\nredial_interval = \"300ms\"\nheartbeat = \"200ms\"\n",
        )
        .unwrap();
        let admin = Chain::new(admin_key, &genesis);
        Cluster {
            env,
            genesis_path,
            genesis,
            admin,
            nodes: (0..n).map(|_| None).collect(),
            config,
        }
    }

    /// The p2p addresses of the running nodes (from their /v1/health).
    pub(crate) fn addrs(&self, except: usize) -> Vec<String> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != except)
            .filter_map(|(_, n)| n.as_ref())
            .flat_map(p2p_addrs)
            .collect()
    }

    /// Starts node `i`, bootstrapping to every running node plus `bootstrap`.
    pub(crate) fn start(&mut self, i: usize, bootstrap: &[String]) {
        let mut list = self.addrs(i);
        list.extend(bootstrap.iter().cloned());
        self.start_exact(i, &list);
    }

    /// Starts node `i`, bootstrapping to `list` only.
    pub(crate) fn start_exact(&mut self, i: usize, list: &[String]) {
        let list = list.to_vec();
        let mut args: Vec<String> = vec!["--config".into(), self.config.display().to_string()];
        for b in list {
            args.push("--bootstrap".into());
            args.push(b);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let dir = self.env.path(&format!("node{i}"));
        self.nodes[i] = Some(TestNode::start_with(&dir, &self.genesis_path, &args));
    }

    /// Starts every node, each bootstrapping to the ones before it.
    pub(crate) fn start_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.start(i, &[]);
        }
    }

    pub(crate) fn node(&self, i: usize) -> &TestNode {
        self.nodes[i].as_ref().expect("node running")
    }

    pub(crate) fn running(&self) -> Vec<&TestNode> {
        self.nodes.iter().filter_map(|n| n.as_ref()).collect()
    }

    /// Submits to node `i` and expects it stored (201), pending (202) or known (200).
    pub(crate) fn submit(&self, i: usize, se: &SignedEntry) {
        let (st, body) = self.node(i).submit(&se.to_json());
        assert!(matches!(st, 200..=202), "node {i} refused an entry: {st} {body}");
    }

    /// Admits a supplier through node `i`.
    pub(crate) fn supplier(&mut self, i: usize, name: &str) -> Chain {
        self.supplier_and_admission(i, name).0
    }

    /// Admits a supplier through node `i`; also returns the admission.
    pub(crate) fn supplier_and_admission(&mut self, i: usize, name: &str) -> (Chain, SignedEntry) {
        let key = SecretKey::generate();
        let admit = self.admin.admit(&key.public(), name, Role::Supplier);
        let (st, body) = self.node(i).submit(&admit.signed().to_json());
        assert_eq!(st, 201, "{body}");
        (Chain::new(key, &self.genesis), admit.signed().clone())
    }

    /// Waits until every running node holds exactly `want` entries with identical id sets.
    pub(crate) fn converge(&self, want: u64) -> String {
        let deadline = Instant::now() + CONVERGE;
        loop {
            let sizes: Vec<u64> = self.running().iter().map(|n| n.log_size()).collect();
            if sizes.iter().all(|s| *s == want) {
                let digests: BTreeSet<String> = self.running().iter().map(|n| digest(n)).collect();
                if digests.len() == 1 {
                    return digests.into_iter().next().unwrap();
                }
            }
            if Instant::now() > deadline {
                let peers: Vec<Value> = self.running().iter().map(|n| n.get("/v1/peers").1).collect();
                panic!(
                    "nodes did not converge on {want} entries within {CONVERGE:?}: sizes {sizes:?}\npeers: {peers:#?}\nlog of the first node:\n{}",
                    self.running()[0].log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A node's p2p addresses (with /p2p/PEER_ID) from /v1/health.
pub(crate) fn p2p_addrs(n: &TestNode) -> Vec<String> {
    let (_, h) = n.get("/v1/health");
    h["p2p"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// blake3 over the sorted entry ids of a node's log.
pub(crate) fn digest(n: &TestNode) -> String {
    let mut ids = Vec::new();
    let mut from = 0u64;
    loop {
        let (st, page) = n.get(&format!("/v1/log?from={from}&limit=1000"));
        assert_eq!(st, 200, "{page}");
        for r in page["records"].as_array().unwrap() {
            ids.push(r["id"].as_str().unwrap().to_string());
        }
        match page["next"].as_u64() {
            Some(next) => from = next,
            None => break,
        }
    }
    ids.sort();
    blake3::hash(ids.join("\n").as_bytes()).to_hex().to_string()
}

pub(crate) fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + CONVERGE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub(crate) fn metric(n: &TestNode, name: &str) -> f64 {
    let (_, body) = n.get_raw("/metrics");
    String::from_utf8_lossy(&body)
        .lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn an_entry_submitted_to_any_of_five_nodes_reaches_every_node() {
    let mut c = Cluster::new(5, &[]);
    c.start_all();
    let mut suppliers: Vec<Chain> = (0..5).map(|i| c.supplier(0, &format!("Supplier {i}"))).collect();
    c.converge(5); // every node knows the suppliers before they sign through it
    let mut count = 5; // the admissions
    let mut last: Vec<VerifiedEntry> = Vec::new();
    // Every supplier's chain is scattered over all nodes: entry j of supplier i goes to node
    // (i + j) % 5, so nodes see entries before their `prev` and must fetch or wait.
    for j in 0..12 {
        for (i, s) in suppliers.iter_mut().enumerate() {
            let inputs: Vec<(&Entry, i64)> = match last.get(i) {
                Some(e) if j % 3 == 2 => vec![(e.entry(), 500_000)],
                _ => Vec::new(),
            };
            let se = s.attest(&format!("urn:test:p2p:s{i}:part{j}"), 1000 + j as i64, &inputs);
            c.submit((i + j) % 5, se.signed());
            if last.len() <= i {
                last.push(se);
            } else if j % 3 == 0 {
                last[i] = se;
            }
            count += 1;
        }
    }
    let d = c.converge(count);
    assert_eq!(d.len(), 64);
    // Every node is connected to the others (peer exchange turns bootstrap lists into a mesh).
    for n in c.running() {
        let (_, peers) = n.get("/v1/peers");
        assert_eq!(peers["connected"], 4, "{peers:#}");
    }
    // The gossip path was taken (not only anti-entropy).
    let received: f64 = c
        .running()
        .iter()
        .map(|n| metric(n, "greenledger_p2p_gossip_received"))
        .sum();
    assert!(received > 0.0, "no gossip received anywhere");
}

/// Nodes that gossip keeps up to date sync by ids: each asks its peers for their logs' ids
/// and fetches nothing it holds. Entries gossip did not bring (a node stopped while they were
/// made) still arrive in full when it is back.
#[test]
fn nodes_kept_up_to_date_by_gossip_sync_by_ids_and_skip_what_they_hold() {
    let mut c = Cluster::new(3, &[]);
    c.start_all();
    let mut s = c.supplier(0, "Supplier");
    // Attestation `j`, submitted to one of the first `nodes` nodes.
    let mut submit = |c: &Cluster, j: i64, nodes: usize| {
        let se = s.attest(&format!("urn:test:p2p:lean:{j}"), 1000 + j, &[]);
        c.submit(j as usize % nodes, se.signed());
    };
    c.converge(1);
    for j in 0..40 {
        submit(&c, j, 3);
    }
    c.converge(41);
    for i in 0..3 {
        wait_for("ids-only log requests answered", || {
            metric(c.node(i), "greenledger_p2p_sync_served_total{kind=\"log_ids\"}") > 0.0
        });
        wait_for("peers' log records skipped as held", || {
            metric(c.node(i), "greenledger_p2p_log_records_held_total") >= 41.0
        });
    }
    // Entries made while one node is down reach it by sync, not gossip.
    assert_eq!(c.nodes[2].as_mut().unwrap().stop(), 0);
    c.nodes[2] = None;
    for j in 40..60 {
        submit(&c, j, 2);
    }
    let d = c.converge(61);
    c.start(2, &[]);
    assert_eq!(c.converge(61), d);
}

#[test]
fn a_node_stopped_during_500_submissions_catches_up_after_restart() {
    let mut c = Cluster::new(3, &[]);
    c.start_all();
    let mut s = c.supplier(0, "Busy Supplier");
    c.converge(1);
    assert_eq!(c.nodes[2].as_mut().unwrap().stop(), 0);
    c.nodes[2] = None;
    for j in 0..500 {
        let se = s.attest(&format!("urn:test:p2p:batch{j}"), 1000 + j, &[]);
        c.submit(j as usize % 2, se.signed());
    }
    let d = c.converge(501);
    c.start(2, &[]);
    assert_eq!(c.converge(501), d);
    let (_, peers) = c.node(2).get("/v1/peers");
    let caught_up = peers["peers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["sync"]["caught_up"] == true && p["sync"]["entries_pulled"].as_u64().unwrap_or(0) > 0);
    assert!(caught_up, "the restarted node reports no completed pull: {peers:#}");
}

/// A TCP forwarder the test can cut and restore: a link between the two sides of a partition.
struct Link {
    port: u16,
    open: Arc<AtomicBool>,
}

impl Link {
    fn new(target: u16) -> Link {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(false));
        let open2 = open.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(inbound) = conn else { continue };
                if !open2.load(Ordering::SeqCst) {
                    drop(inbound); // the link is down: connections die at once
                    continue;
                }
                let Ok(outbound) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                pipe(inbound.try_clone().unwrap(), outbound.try_clone().unwrap());
                pipe(outbound, inbound);
            }
        });
        Link { port, open }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 << 10];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Both);
    });
}

#[test]
fn a_two_three_partition_with_entries_on_both_sides_converges_after_healing() {
    let mut c = Cluster::new(5, &[]);
    // Side A: nodes 0 and 1. Side B: nodes 2, 3 and 4, whose only way to side A is a link to
    // node 0 that starts cut.
    c.start_exact(0, &[]);
    c.start_exact(1, &p2p_addrs(c.node(0)));
    let node0 = p2p_addrs(c.node(0)).into_iter().next().unwrap();
    let port: u16 = node0
        .split("/tcp/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let link = Link::new(port);
    let via_link = node0.replace(&format!("/tcp/{port}/"), &format!("/tcp/{}/", link.port));
    c.start_exact(2, std::slice::from_ref(&via_link));
    let node2 = p2p_addrs(c.node(2));
    c.start_exact(3, &[node2.clone(), vec![via_link.clone()]].concat());
    c.start_exact(4, &node2);
    // Both suppliers are admitted on both sides (the same signed entries).
    let (ka, kb) = (SecretKey::generate(), SecretKey::generate());
    let admits = [
        c.admin.admit(&ka.public(), "West Supplier", Role::Supplier),
        c.admin.admit(&kb.public(), "East Supplier", Role::Supplier),
    ];
    for a in &admits {
        c.submit(0, a.signed());
        c.submit(2, a.signed());
    }
    let (mut west, mut east) = (Chain::new(ka, &c.genesis), Chain::new(kb, &c.genesis));
    wait_for("the admissions on each side", || {
        (0..5).all(|i| c.node(i).log_size() == 2)
    });
    for j in 0..20 {
        c.submit(
            j % 2,
            west.attest(&format!("urn:test:p2p:west{j}"), 100 + j as i64, &[])
                .signed(),
        );
    }
    for j in 0..30 {
        c.submit(
            2 + j % 3,
            east.attest(&format!("urn:test:p2p:east{j}"), 200 + j as i64, &[])
                .signed(),
        );
    }
    wait_for("each side to settle", || {
        (0..2).all(|i| c.node(i).log_size() == 22) && (2..5).all(|i| c.node(i).log_size() == 32)
    });
    // Partitioned for real: a few sync rounds later the sides still differ.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(c.node(0).log_size(), 22, "side A received entries across a cut link");
    assert_eq!(c.node(3).log_size(), 32, "side B received entries across a cut link");
    link.open.store(true, Ordering::SeqCst);
    c.converge(52);
}

#[test]
fn a_fork_sent_to_two_nodes_ends_as_a_proof_on_every_node_and_fails_verification() {
    let mut c = Cluster::new(3, &[]);
    c.start_all();
    let mut s = c.supplier(0, "Two-Faced Cathodes");
    let first = s.attest("urn:test:p2p:cathode", 5000, &[]);
    c.submit(0, first.signed());
    c.converge(2);
    let (seq, prev) = (s.seq, s.prev);
    let one = s.attest("urn:test:p2p:anode", 6000, &[]);
    s.seq = seq;
    s.prev = prev;
    let other = s.attest("urn:test:p2p:anode", 1, &[]);
    assert_ne!(one.id(), other.id());
    // Both at once, to two different nodes.
    let (a, b) = (one.signed().to_json(), other.signed().to_json());
    let n0 = c.node(0).url.clone();
    let n1 = c.node(1).url.clone();
    let t1 = std::thread::spawn(move || post(&n0, &a));
    let t2 = std::thread::spawn(move || post(&n1, &b));
    let (s1, s2) = (t1.join().unwrap(), t2.join().unwrap());
    assert!(
        [s1, s2].iter().all(|s| *s == 201 || *s == 409),
        "each node stores its copy or already sees the fork: {s1} {s2}"
    );
    let signer = s.public().to_string();
    for (i, n) in c.running().iter().enumerate() {
        wait_for(&format!("node {i} to flag the fork"), || {
            let (_, v) = n.get(&format!("/v1/signers/{signer}"));
            v["forked_at_seq"] == 2 && v["fork_proofs"] == 1
        });
    }
    // A buyer verifying the part against the node nobody submitted the fork to is told.
    let out = c
        .env
        .run(&[
            "verify",
            "urn:test:p2p:anode",
            "--node",
            &c.node(2).url,
            "--genesis",
            &c.genesis_path.display().to_string(),
        ])
        .code(1);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.to_lowercase().contains("fork"),
        "verify does not name the fork:\n{text}"
    );
}

pub(crate) fn post(url: &str, body: &[u8]) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    agent
        .post(&format!("{url}/v1/entries"))
        .header("Content-Type", "application/json")
        .send(body)
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn outsiders_are_refused_and_a_peer_sending_invalid_entries_is_banned() {
    use futures::StreamExt;
    use greenledger_node::p2p::{BehaviourEvent, build_swarm, topic};
    use libp2p::{Multiaddr, gossipsub, swarm::SwarmEvent};

    // Mallory: a peer id the genesis names (so it may connect), driven by this test.
    let mallory_dir = tempfile::tempdir().unwrap();
    let (code, out, err) = node_cmd(&["init", "--data-dir", &mallory_dir.path().display().to_string()]);
    assert_eq!(code, 0, "{err}");
    let mallory_peer = out.lines().last().unwrap().trim().to_string();
    let mut c = Cluster::new(2, std::slice::from_ref(&mallory_peer));
    c.start_all();
    let (mut honest, admission) = c.supplier_and_admission(0, "Honest Supplier");
    c.converge(1);
    let node0 = p2p_addrs(c.node(0)).into_iter().next().unwrap();

    // 1. An outsider: a real node with the genesis, whose peer id nobody admitted. It holds a
    // valid entry the consortium lacks, and dials node 0.
    let outsider = TestNode::start_with(
        &c.env.path("outsider"),
        &c.genesis_path,
        &["--config", &c.config.display().to_string(), "--bootstrap", &node0],
    );
    let smuggled = honest.attest("urn:test:p2p:smuggled", 1, &[]);
    assert_eq!(outsider.submit(&admission.to_json()).0, 201);
    let (st, body) = outsider.submit(&smuggled.signed().to_json());
    assert_eq!(st, 201, "{body}");
    wait_for("node 0 to refuse the outsider", || {
        metric(c.node(0), "greenledger_p2p_connections_refused") >= 1.0
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(outsider.get("/v1/peers").1["connected"], 0);
    for n in c.running() {
        assert_eq!(n.log_size(), 1, "an entry crossed from the outsider");
        let (_, peers) = n.get("/v1/peers");
        assert!(!peers.to_string().contains(&peer_id_of(&outsider)), "{peers:#}");
    }
    drop(outsider);

    // 2. Mallory connects and gossips entries with broken signatures.
    let identity = greenledger_node::identity::Identity::load(mallory_dir.path()).unwrap();
    let network = c.genesis.network_id();
    let mut junk = Chain::new(SecretKey::generate(), &c.genesis);
    let bad: Vec<Vec<u8>> = (0..10)
        .map(|k| badly_signed(&mut junk, &format!("urn:test:p2p:junk{k}")))
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let banned = rt.block_on(async {
        let mut swarm = build_swarm(&identity, &network, &greenledger_node::Config::default()).unwrap();
        let target: Multiaddr = node0.parse().unwrap();
        for named in &c.genesis.node_peers {
            swarm.behaviour_mut().allow.allow_peer(named.parse().unwrap());
        }
        swarm.dial(target.clone()).unwrap();
        let deadline = tokio::time::Instant::now() + CONVERGE;
        // Wait until node 0 has joined the topic, then publish the junk.
        loop {
            let ev = tokio::time::timeout_at(deadline, swarm.select_next_some())
                .await
                .expect("node 0 subscribed");
            if let SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Subscribed { .. })) = ev {
                break;
            }
        }
        for b in &bad {
            let _ = swarm.behaviour_mut().gossipsub.publish(topic(&network), b.clone());
        }
        // Node 0 rejects each, strikes mallory and, after 5 strikes, disconnects it.
        loop {
            match tokio::time::timeout_at(deadline, swarm.select_next_some()).await {
                Ok(SwarmEvent::ConnectionClosed { num_established: 0, .. }) => break,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        // Dialling again is refused while the ban lasts.
        swarm.dial(target).unwrap();
        let again = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            match tokio::time::timeout_at(again, swarm.select_next_some()).await {
                Ok(SwarmEvent::ConnectionClosed { num_established: 0, .. })
                | Ok(SwarmEvent::OutgoingConnectionError { .. }) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    });
    assert!(
        banned,
        "node 0 did not disconnect and refuse the peer that sent invalid entries; its log:\n{}",
        c.node(0).log()
    );
    let m = peer_report(c.node(0), &mallory_peer);
    assert!(m["strikes"].as_u64().unwrap() >= 5, "{m:#}");
    assert!(m["banned_until"].is_string(), "{m:#}");
    assert!(metric(c.node(0), "greenledger_p2p_peers_banned") >= 1.0);
    // The first invalid delivery graylists the sender, which is then banned at once, so how
    // many of the ten reach validation depends on how they were batched: at least one.
    assert!(metric(c.node(0), "greenledger_p2p_gossip_received_total{kind=\"invalid\"}") >= 1.0);
    for n in c.running() {
        assert_eq!(n.log_size(), 1, "an invalid entry was stored");
    }

    // 3. Honest traffic goes on.
    let mut s = c.supplier(1, "Later Supplier");
    c.converge(2);
    c.submit(0, s.attest("urn:test:p2p:after", 10, &[]).signed());
    c.converge(3);
}

/// What node `n`'s `GET /v1/peers` says of `peer`.
pub(crate) fn peer_report(n: &TestNode, peer: &str) -> Value {
    let (_, peers) = n.get("/v1/peers");
    peers["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["peer_id"] == peer)
        .cloned()
        .unwrap_or_else(|| panic!("{peer} is not listed: {peers:#}"))
}

/// The envelope of a new attestation on `chain`, with one digit of its signature changed.
pub(crate) fn badly_signed(chain: &mut Chain, part: &str) -> Vec<u8> {
    let mut json = chain.attest(part, 1, &[]).signed().to_json();
    let at = json.len() - 4;
    json[at] = if json[at] == b'0' { b'1' } else { b'0' };
    json
}

/// A node's peer id, from its /v1/health.
pub(crate) fn peer_id_of(n: &TestNode) -> String {
    n.get("/v1/health").1["peer_id"].as_str().unwrap().to_string()
}

#[test]
fn a_node_admitted_later_joins_and_a_revoked_node_is_cut_off() {
    use greenledger_core::{
        Body,
        model::{MemberAdmit, MemberRevoke},
    };
    let mut c = Cluster::new(2, &[]);
    c.start_all();
    let mut s = c.supplier(0, "Supplier");
    c.submit(0, s.attest("urn:test:p2p:before", 1, &[]).signed());
    let digest_before = c.converge(2);
    // A third node that the genesis does not name.
    let mut args: Vec<String> = vec!["--config".into(), c.config.display().to_string()];
    for a in c.addrs(9) {
        args.extend(["--bootstrap".into(), a]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let newcomer = TestNode::start_with(&c.env.path("newcomer"), &c.genesis_path, &args);
    let peer = peer_id_of(&newcomer);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(newcomer.log_size(), 0, "a node nobody admitted received entries");
    // The admin admits its operator's key with role node and the node's peer id.
    let operator = SecretKey::generate();
    let admit = c.admin.sign(Body::MemberAdmit(MemberAdmit {
        member: operator.public(),
        name: "Newcomer Node Operator".into(),
        role: Role::Node,
        peer_id: Some(peer.clone()),
    }));
    c.submit(0, admit.signed());
    c.converge(3);
    wait_for("the admitted node to catch up", || newcomer.log_size() == 3);
    assert_ne!(digest(&newcomer), digest_before);
    assert_eq!(digest(&newcomer), digest(c.node(0)));
    // Revoked: the consortium disconnects it and refuses it from then on.
    let revoke = c.admin.sign(Body::MemberRevoke(MemberRevoke {
        member: operator.public(),
        after_seq: 0,
        reason: Some("node decommissioned".into()),
    }));
    c.submit(1, revoke.signed());
    c.converge(4);
    wait_for("the revoked node to be disconnected", || {
        c.running().iter().all(|n| n.get("/v1/peers").1["connected"] == 1)
    });
    c.submit(0, s.attest("urn:test:p2p:after", 2, &[]).signed());
    c.converge(5);
    std::thread::sleep(Duration::from_secs(2));
    assert!(newcomer.log_size() <= 4, "a revoked node still receives entries");
    let (_, peers) = c.node(0).get("/v1/peers");
    let listed = peers["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["peer_id"] == peer.as_str());
    assert!(listed.is_none_or(|p| p["connected"] == false), "{peers:#}");
}

#[test]
fn bad_p2p_flags_are_refused_with_a_message() {
    let c = Cluster::new(1, &[]);
    let dir = c.env.path("node0").display().to_string();
    let genesis = c.genesis_path.display().to_string();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "--data-dir",
            &dir,
            "--genesis",
            &genesis,
            "--http",
            "127.0.0.1:0",
        ];
        args.extend(extra);
        node_cmd(&args)
    };
    let (code, _, err) = run(&["--listen", "127.0.0.1:7071"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not a multiaddr"), "{err}");
    let (code, _, err) = run(&["--listen", "/ip4/127.0.0.1/tcp/0", "--bootstrap", "node2:7071"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--bootstrap") && err.contains("is not a multiaddr"),
        "{err}"
    );
    // A port another program holds.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let (code, _, err) = run(&["--listen", &format!("/ip4/127.0.0.1/tcp/{port}")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot listen on"), "{err}");
}

/// What a test peer driven by [`drive`] saw.
#[derive(Debug)]
enum Seen {
    /// Node 0 joined a topic (its name).
    Subscribed(String),
    /// A gossip message: its topic and bytes.
    Message(String, Vec<u8>),
    /// The connection to node 0 closed.
    Closed,
}

/// Drives a test peer on `rt`: dials `addr`, reports what it sees, and publishes what it is
/// handed (a topic and the bytes).
fn drive(
    rt: &tokio::runtime::Runtime,
    mut swarm: libp2p::Swarm<greenledger_node::p2p::Behaviour>,
    addr: libp2p::Multiaddr,
) -> (
    tokio::sync::mpsc::Sender<(libp2p::gossipsub::IdentTopic, Vec<u8>)>,
    std::sync::mpsc::Receiver<Seen>,
) {
    use futures::StreamExt;
    use greenledger_node::p2p::BehaviourEvent;
    use libp2p::{gossipsub, swarm::SwarmEvent};

    let (publish, mut to_publish) = tokio::sync::mpsc::channel(64);
    // Far more than a test peer sees in this test.
    let (saw, seen) = std::sync::mpsc::sync_channel(4096);
    rt.spawn(async move {
        swarm.dial(addr).unwrap();
        loop {
            tokio::select! {
                ev = swarm.select_next_some() => {
                    let s = match ev {
                        SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Subscribed { topic, .. })) => {
                            Seen::Subscribed(topic.to_string())
                        }
                        SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message { message, .. })) => {
                            Seen::Message(message.topic.to_string(), message.data)
                        }
                        SwarmEvent::ConnectionClosed { num_established: 0, .. } => Seen::Closed,
                        _ => continue,
                    };
                    if saw.send(s).is_err() {
                        return;
                    }
                }
                m = to_publish.recv() => match m {
                    Some((topic, bytes)) => {
                        swarm.behaviour_mut().gossipsub.publish(topic, bytes).unwrap();
                    }
                    None => return,
                },
            }
        }
    });
    (publish, seen)
}

/// The next thing `seen` reports that `want` picks, within `CONVERGE`.
fn next_seen<T>(what: &str, seen: &std::sync::mpsc::Receiver<Seen>, mut want: impl FnMut(Seen) -> Option<T>) -> T {
    let deadline = Instant::now() + CONVERGE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let s = seen
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("the test peer did not see {what}: {e}"));
        if let Some(t) = want(s) {
            return t;
        }
    }
}

/// The ids of a gossip message's entries: a batch topic's array, or one envelope.
fn ids_in(data: &[u8]) -> Vec<String> {
    let one = |b: &[u8]| SignedEntry::from_json(b).unwrap().id().to_string();
    if data.first() == Some(&b'[') {
        let raw: Vec<&serde_json::value::RawValue> = serde_json::from_slice(data).unwrap();
        raw.iter().map(|r| one(r.get().as_bytes())).collect()
    } else {
        vec![one(data)]
    }
}

/// The body of an array submission.
fn array_of(entries: &[&SignedEntry]) -> Vec<u8> {
    let parts: Vec<String> = entries
        .iter()
        .map(|e| String::from_utf8(e.to_json()).unwrap())
        .collect();
    format!("[{}]", parts.join(",")).into_bytes()
}

#[test]
fn entries_are_gossiped_in_batches_singly_to_older_peers_and_a_batch_with_a_bad_entry_is_refused_whole() {
    use greenledger_node::p2p::{batch_topic, build_swarm, topic};

    // Two test peers the genesis names: one of this release, one that reads only the
    // single-entry topic (as a node of the previous release does).
    let dirs: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let ids: Vec<String> = dirs
        .iter()
        .map(|d| {
            let (code, out, err) = node_cmd(&["init", "--data-dir", &d.path().display().to_string()]);
            assert_eq!(code, 0, "{err}");
            out.lines().last().unwrap().trim().to_string()
        })
        .collect();
    let mut c = Cluster::new(1, &ids);
    c.start_all();
    let mut s = c.supplier(0, "Batch Supplier");
    // The admission's gossip window passes before the test peers connect (its message goes
    // to nobody), so that the first message they see holds only what is sent below.
    std::thread::sleep(Duration::from_millis(300));
    let network = c.genesis.network_id();
    let (single, batches) = (topic(&network), batch_topic(&network));
    let node0: libp2p::Multiaddr = p2p_addrs(c.node(0))[0].parse().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Each test peer reads one topic only: `reads`.
    let peer = |i: usize, reads: &libp2p::gossipsub::IdentTopic| {
        let identity = greenledger_node::identity::Identity::load(dirs[i].path()).unwrap();
        let _guard = rt.enter();
        let mut swarm = build_swarm(&identity, &network, &greenledger_node::Config::default()).unwrap();
        for named in &c.genesis.node_peers {
            swarm.behaviour_mut().allow.allow_peer(named.parse().unwrap());
        }
        for t in [&single, &batches] {
            if t.hash() != reads.hash() {
                swarm.behaviour_mut().gossipsub.unsubscribe(t);
            }
        }
        drive(&rt, swarm, node0.clone())
    };

    // 1. A peer reading the batch topic: three entries submitted in one request reach it as
    // one message there (and node 0 sends nothing on the single-entry topic: nobody reads
    // only that one yet).
    let (publish, seen) = peer(0, &batches);
    let want = batches.hash().to_string();
    next_seen("node 0 join the batch topic", &seen, |s| {
        matches!(s, Seen::Subscribed(t) if t == want).then_some(())
    });
    let three: Vec<SignedEntry> = (0..3)
        .map(|k| s.attest(&format!("urn:test:p2p:batch{k}"), 1, &[]).signed().clone())
        .collect();
    assert_eq!(post(&c.node(0).url, &array_of(&three.iter().collect::<Vec<_>>())), 200);
    let (t, data) = next_seen("the three entries", &seen, |s| match s {
        Seen::Message(t, d) => Some((t, d)),
        _ => None,
    });
    assert_eq!(t, want, "the entries came on another topic");
    let sent: Vec<String> = three.iter().map(|e| e.id().to_string()).collect();
    assert_eq!(
        ids_in(&data),
        sent,
        "not one message with the three entries, in order; node 0's log:\n{}",
        c.node(0).log()
    );

    // 2. An older peer: entries reach it one per message, on the single-entry topic.
    let (old_publish, old_seen) = peer(1, &single);
    let want_single = single.hash().to_string();
    next_seen("node 0 join the single-entry topic", &old_seen, |s| {
        matches!(s, Seen::Subscribed(t) if t == want_single).then_some(())
    });
    // Node 0 learns the older peer's subscriptions on the same exchange.
    std::thread::sleep(Duration::from_millis(500));
    let two: Vec<SignedEntry> = (0..2)
        .map(|k| s.attest(&format!("urn:test:p2p:single{k}"), 1, &[]).signed().clone())
        .collect();
    assert_eq!(post(&c.node(0).url, &array_of(&two.iter().collect::<Vec<_>>())), 200);
    for e in &two {
        let (t, data) = next_seen("an entry on the single-entry topic", &old_seen, |s| match s {
            Seen::Message(t, d) => Some((t, d)),
            _ => None,
        });
        assert_eq!(t, want_single);
        assert_eq!(ids_in(&data), vec![e.id().to_string()]);
    }
    assert_eq!(c.node(0).log_size(), 6);
    // Each is in node 0's gossip mesh: one of the batch topic, the other of the single-entry
    // topic.
    wait_for("both test peers in node 0's gossip mesh", || {
        ids.iter().all(|id| peer_report(c.node(0), id)["in_mesh"] == true)
    });
    // And what the older peer gossips, one entry per message on its topic, is taken.
    let from_old = s.attest("urn:test:p2p:from-older-peer", 1, &[]).signed().clone();
    old_publish.blocking_send((single.clone(), from_old.to_json())).unwrap();
    wait_for("node 0 to store the older peer's entry", || c.node(0).log_size() == 7);
    let (st, _) = c.node(0).get(&format!("/v1/entries/{}", from_old.id()));
    assert_eq!(st, 200);

    // 3. The peer of this release gossips a batch of two entries node 0 lacks: both stored.
    let good: Vec<SignedEntry> = (0..3)
        .map(|k| s.attest(&format!("urn:test:p2p:from-peer{k}"), 1, &[]).signed().clone())
        .collect();
    publish
        .blocking_send((batches.clone(), array_of(&[&good[0], &good[1]])))
        .unwrap();
    wait_for("node 0 to store the peer's batch", || c.node(0).log_size() == 9);
    assert!(
        metric(c.node(0), "greenledger_p2p_gossip_received_total{kind=\"stored\"}") >= 2.0,
        "{}",
        String::from_utf8_lossy(&c.node(0).get_raw("/metrics").1)
    );

    // 4. Then a batch of a good entry and a badly signed one: refused whole (nothing of it is
    // stored), a strike; a few more bad batches and the sender is banned.
    let mut junk = Chain::new(SecretKey::generate(), &c.genesis);
    let mut k = 0;
    let mut bad = || {
        k += 1;
        String::from_utf8(badly_signed(&mut junk, &format!("urn:test:p2p:junk{k}"))).unwrap()
    };
    let body = format!("[{},{}]", String::from_utf8(good[2].to_json()).unwrap(), bad());
    publish.blocking_send((batches.clone(), body.into_bytes())).unwrap();
    let invalid = "greenledger_p2p_gossip_received_total{kind=\"invalid\"}";
    wait_for("node 0 to refuse the batch", || metric(c.node(0), invalid) >= 1.0);
    let report = |c: &Cluster| peer_report(c.node(0), &ids[0]);
    assert!(report(&c)["strikes"].as_u64().unwrap() >= 1, "{:#}", report(&c));
    assert_eq!(c.node(0).log_size(), 9, "an entry of the refused batch was stored");
    let (st, _) = c.node(0).get(&format!("/v1/entries/{}", good[2].id()));
    assert_eq!(st, 404, "the good entry of the refused batch was stored");
    for _ in 0..5 {
        publish
            .blocking_send((batches.clone(), format!("[{}]", bad()).into_bytes()))
            .unwrap();
    }
    next_seen("node 0 disconnect it", &seen, |s| {
        matches!(s, Seen::Closed).then_some(())
    });
    assert!(report(&c)["banned_until"].is_string(), "{:#}", report(&c));
    drop(publish);
    rt.shutdown_timeout(Duration::from_secs(5));
}
