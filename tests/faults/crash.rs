//! `kill -9`, again and again: of one node under concurrent ingest, and of one node of three
//! while it pulls what it missed from the others.
//!
//! Cycles: `GREENLEDGER_CRASH_CYCLES` (default 3; the long mode uses 25).

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::{
    collections::BTreeSet,
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use greenledger_core::{Role, SecretKey, SignedEntry};

use crate::{
    common::{
        CONVERGE, Chain, Deadline, FAST_P2P, Rng, agent, crash_cycles, digest, fork_proofs, genesis, heavy, log_ids,
        log_size, try_get, try_submit,
    },
    node_util::{TestNode, node_cmd},
    util::Env,
};

/// Entries submitted to the other nodes while node 2 is down, per catch-up cycle.
const BACKLOG: i64 = 600;

/// Submitting threads in the ingest test.
const CLIENTS: usize = 4;

/// One submitting client: a supplier's chain, and the entry it sent without an answer.
struct Client {
    chain: Chain,
    /// Sent, not acknowledged (the node died): resubmitted before anything new.
    unacked: Option<SignedEntry>,
    /// Everything this client has had acknowledged.
    acked: Vec<String>,
    /// Resubmissions answered "stored" (201) / "duplicate" (200).
    resubmitted_stored: usize,
    resubmitted_duplicate: usize,
    /// Parts are numbered per client.
    next_part: usize,
}

impl Client {
    /// Submits until `stop` or until the node stops answering; returns `self` for the next cycle.
    fn run(mut self, t: usize, url: String, stop: Arc<AtomicBool>) -> Client {
        let agent = agent(Duration::from_secs(10));
        while !stop.load(Ordering::Relaxed) {
            let (entry, resubmission) = match self.unacked.take() {
                Some(e) => (e, true),
                None => {
                    self.next_part += 1;
                    let part = format!("urn:greenledger:faults:t{t}-{}", self.next_part);
                    (
                        self.chain.attest(&part, self.next_part as i64, &[]).signed().clone(),
                        false,
                    )
                }
            };
            let id = entry.id().to_hex();
            match try_submit(&agent, &url, &entry) {
                Some((201, body)) => {
                    assert_eq!(body["id"].as_str(), Some(id.as_str()), "{body}");
                    self.acked.push(id);
                    if resubmission {
                        self.resubmitted_stored += 1;
                    }
                }
                Some((200, body)) if resubmission && body["status"] == "duplicate" => {
                    self.acked.push(id);
                    self.resubmitted_duplicate += 1;
                }
                Some((status, body)) => {
                    panic!("client {t}: entry {id} (resubmission: {resubmission}) answered {status} {body}")
                }
                None => {
                    // No answer: the node died mid-request. Not acknowledged; send it again later.
                    self.unacked = Some(entry);
                    return self;
                }
            }
        }
        self
    }
}

/// Checks a node after a restart: every acknowledged id is there, no signer is forked, and
/// `greenledger log verify` passes. Returns how many acknowledged ids are missing.
fn check_node(env: &Env, url: &str, acked: &[String], signers: &[&Chain]) -> usize {
    let a = agent(Duration::from_secs(30));
    let missing: Vec<&String> = acked
        .iter()
        .filter(|id| try_get(&a, &format!("{url}/v1/entries/{id}")).map(|r| r.0) != Some(200))
        .collect();
    for s in signers {
        assert_eq!(
            fork_proofs(&a, url, &s.public()),
            0,
            "a fork of {} after a crash",
            s.public()
        );
    }
    env.run(&["log", "verify", "--node", url]).ok();
    if !missing.is_empty() {
        eprintln!("acknowledged but missing on {url}: {missing:?}");
    }
    missing.len()
}

/// Several clients submit over HTTP; the node is SIGKILLed at random moments and restarted on
/// the same data dir. Every acknowledged entry must survive, the log must verify after every
/// cycle, and each entry sent without an answer, sent again, must be stored or reported a
/// duplicate (never refused, never a fork). In the end the log holds exactly the acknowledged
/// entries.
#[test]
fn kill_9_during_concurrent_ingest_loses_no_acknowledged_entry() {
    let _heavy = heavy();
    let cycles = crash_cycles();
    let deadline = Deadline::new("the ingest crash test", Duration::from_secs(60 + 40 * cycles as u64));
    let mut rng = Rng::from_clock();
    let env = Env::new();
    let g = env.genesis();
    let mut node = TestNode::start(&env.path("node"), &env.genesis);
    let mut admin = Chain::new(env.admin.secret(), &g);
    let a = agent(Duration::from_secs(30));
    let mut clients: Vec<Client> = (0..CLIENTS)
        .map(|i| {
            let key = SecretKey::generate();
            let admit = admin.admit(&key.public(), &format!("Supplier {i}"), Role::Supplier);
            assert_eq!(try_submit(&a, &node.url, admit.signed()).unwrap().0, 201);
            Client {
                chain: Chain::new(key, &g),
                unacked: None,
                acked: Vec::new(),
                resubmitted_stored: 0,
                resubmitted_duplicate: 0,
                next_part: 0,
            }
        })
        .collect();
    let mut lost = 0;
    for cycle in 0..cycles {
        deadline.check();
        let stop = Arc::new(AtomicBool::new(false));
        let before: usize = clients.iter().map(|c| c.acked.len()).sum();
        let threads: Vec<_> = clients
            .drain(..)
            .enumerate()
            .map(|(t, c)| {
                let (url, stop) = (node.url.clone(), stop.clone());
                thread::spawn(move || c.run(t, url, stop))
            })
            .collect();
        thread::sleep(rng.millis(150, 1200));
        node.kill9();
        stop.store(true, Ordering::Relaxed);
        clients = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let acked: Vec<String> = clients.iter().flat_map(|c| c.acked.iter().cloned()).collect();
        let unacked = clients.iter().filter(|c| c.unacked.is_some()).count();
        node = TestNode::start(&node.data_dir.clone(), &env.genesis);
        let chains: Vec<&Chain> = clients.iter().map(|c| &c.chain).collect();
        let missing = check_node(&env, &node.url, &acked, &chains);
        lost += missing;
        eprintln!(
            "faults: ingest crash cycle {}/{cycles}: {} acknowledged in this cycle, {} in all, {unacked} in flight at the kill, {missing} lost; log verifies",
            cycle + 1,
            acked.len() - before,
            acked.len(),
        );
    }
    // The entries in flight at the last kill, sent again to the running node.
    for (t, c) in clients.iter_mut().enumerate() {
        if let Some(e) = c.unacked.take() {
            let id = e.id().to_hex();
            let (st, body) = try_submit(&a, &node.url, &e).expect("resubmit");
            match (st, body["status"].as_str()) {
                (201, _) => c.resubmitted_stored += 1,
                (200, Some("duplicate")) => c.resubmitted_duplicate += 1,
                _ => panic!("client {t}: resubmitted {id} answered {st} {body}"),
            }
            c.acked.push(id);
        }
    }
    let acked: Vec<String> = clients.iter().flat_map(|c| c.acked.iter().cloned()).collect();
    let chains: Vec<&Chain> = clients.iter().map(|c| &c.chain).collect();
    lost += check_node(&env, &node.url, &acked, &chains);
    // Nothing but the admissions and the acknowledged entries, each once.
    let ids = log_ids(&a, &node.url);
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an entry appears twice in the log");
    let stored: usize = clients.iter().map(|c| c.resubmitted_stored).sum();
    let duplicate: usize = clients.iter().map(|c| c.resubmitted_duplicate).sum();
    eprintln!(
        "faults: SUMMARY kill -9 during ingest: {cycles} cycles, {CLIENTS} clients, {} entries acknowledged, {} resubmitted after a kill ({stored} stored, {duplicate} already there), {lost} lost, log size {}",
        acked.len(),
        stored + duplicate,
        ids.len(),
    );
    assert_eq!(lost, 0, "acknowledged entries were lost");
    assert!(
        acked.len() > cycles,
        "hardly anything was acknowledged: {}",
        acked.len()
    );
    assert_eq!(
        ids.len(),
        CLIENTS + acked.len(),
        "the log holds entries no client had acknowledged"
    );
    let acked_set: BTreeSet<&String> = acked.iter().collect();
    assert!(acked_set.iter().all(|id| unique.contains(id)));
}

/// Three loopback nodes with fast anti-entropy.
struct Trio {
    env: Env,
    genesis_path: std::path::PathBuf,
    genesis: greenledger_core::Genesis,
    config: std::path::PathBuf,
    nodes: Vec<Option<TestNode>>,
}

impl Trio {
    fn new(admin: &SecretKey) -> Trio {
        let env = Env::new();
        let peer_ids: Vec<String> = (0..3)
            .map(|i| {
                let dir = env.path(&format!("node{i}"));
                let (code, out, err) = node_cmd(&["init", "--data-dir", &dir.display().to_string()]);
                assert_eq!(code, 0, "init: {err}");
                out.lines().last().unwrap().trim().to_string()
            })
            .collect();
        let genesis = genesis("faults-trio", admin, peer_ids);
        let genesis_path = env.path("trio-genesis.json");
        std::fs::write(&genesis_path, genesis.canonical_bytes()).unwrap();
        let config = env.path("fast.toml");
        // Small sync pages, so that a catch-up takes many requests and a kill lands inside it.
        std::fs::write(&config, format!("{FAST_P2P}max_records_per_response = 50\n")).unwrap();
        Trio {
            env,
            genesis_path,
            genesis,
            config,
            nodes: vec![None, None, None],
        }
    }

    fn p2p_addrs(&self, i: usize) -> Vec<String> {
        let (_, h) = self.node(i).get("/v1/health");
        h["p2p"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    }

    /// Starts node `i`, bootstrapping to the other running nodes.
    fn start(&mut self, i: usize) {
        let mut args: Vec<String> = vec!["--config".into(), self.config.display().to_string()];
        for j in (0..3).filter(|j| *j != i && self.nodes[*j].is_some()) {
            for addr in self.p2p_addrs(j) {
                args.push("--bootstrap".into());
                args.push(addr);
            }
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let dir = self.env.path(&format!("node{i}"));
        self.nodes[i] = Some(TestNode::start_with(&dir, &self.genesis_path, &args));
    }

    fn node(&self, i: usize) -> &TestNode {
        self.nodes[i].as_ref().expect("node running")
    }

    fn dir(&self, i: usize) -> std::path::PathBuf {
        self.env.path(&format!("node{i}"))
    }
}

/// Waits until every node's log holds exactly `want` entries with one digest; returns it.
fn converge(trio: &Trio, want: usize) -> String {
    let a = agent(Duration::from_secs(30));
    let end = Instant::now() + CONVERGE;
    loop {
        let sizes: Vec<Option<u64>> = (0..3).map(|i| log_size(&a, &trio.node(i).url)).collect();
        if sizes.iter().all(|s| *s == Some(want as u64)) {
            let digests: BTreeSet<String> = (0..3).map(|i| digest(&log_ids(&a, &trio.node(i).url))).collect();
            if digests.len() == 1 {
                return digests.into_iter().next().unwrap();
            }
        }
        assert!(
            Instant::now() < end,
            "the three nodes did not converge on {want} entries within {CONVERGE:?}: sizes {sizes:?}\nlog of node 2:\n{}",
            trio.node(2).log()
        );
        thread::sleep(Duration::from_millis(200));
    }
}

fn dir_is_not_empty(p: &Path) -> bool {
    std::fs::read_dir(p).map(|mut d| d.next().is_some()).unwrap_or(false)
}

/// Three nodes; node 2 is SIGKILLed again and again while it pulls a backlog from the other
/// two, which keep receiving new entries all along. In the end all three hold the same
/// entries — every acknowledged one — and every log verifies.
#[test]
fn kill_9_while_catching_up_then_three_nodes_converge() {
    let _heavy = heavy();
    let cycles = crash_cycles();
    let deadline = Deadline::new("the catch-up crash test", Duration::from_secs(120 + 45 * cycles as u64));
    let mut rng = Rng::from_clock();
    let admin_key = SecretKey::generate();
    let mut trio = Trio::new(&admin_key);
    for i in 0..3 {
        trio.start(i);
    }
    let mut admin = Chain::new(admin_key, &trio.genesis);
    let a = agent(Duration::from_secs(30));
    let keys: Vec<SecretKey> = (0..3).map(|_| SecretKey::generate()).collect();
    for (k, name) in keys
        .iter()
        .zip(["Bulk Supplier", "Steady Supplier 0", "Steady Supplier 1"])
    {
        let admit = admin.admit(&k.public(), name, Role::Supplier);
        assert_eq!(try_submit(&a, &trio.node(0).url, admit.signed()).unwrap().0, 201);
    }
    let admissions = keys.len();
    converge(&trio, admissions);
    let mut keys = keys.into_iter();
    let mut bulk = Chain::new(keys.next().unwrap(), &trio.genesis);
    // A steady stream of new entries into nodes 0 and 1 (one signer each, so that every
    // entry's predecessor is already on the node it is sent to), for the whole test.
    let stop = Arc::new(AtomicBool::new(false));
    let feed_acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let feeders: Vec<_> = keys
        .enumerate()
        .map(|(i, key)| {
            let url = trio.node(i).url.clone();
            let (stop, acked) = (stop.clone(), feed_acked.clone());
            let mut feed = Chain::new(key, &trio.genesis);
            thread::spawn(move || {
                let a = agent(Duration::from_secs(30));
                let mut j = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    j += 1;
                    let se = feed.attest(&format!("urn:greenledger:faults:feed{i}-{j}"), j as i64, &[]);
                    let (st, body) = try_submit(&a, &url, se.signed()).expect("nodes 0 and 1 stay up");
                    assert_eq!(st, 201, "{body}");
                    acked.lock().unwrap().push(se.id().to_hex());
                    thread::sleep(Duration::from_millis(25));
                }
            })
        })
        .collect();
    let mut bulk_acked: Vec<String> = Vec::new();
    let mut mid_pull_kills = 0;
    for cycle in 0..cycles {
        deadline.check();
        // Node 2 goes away; a backlog builds up on the other two.
        trio.nodes[2].as_mut().unwrap().kill9();
        trio.nodes[2] = None;
        for j in 0..BACKLOG {
            let se = bulk.attest(&format!("urn:greenledger:faults:c{cycle}-bulk{j}"), j, &[]);
            let (st, body) = try_submit(&a, &trio.node(cycle % 2).url, se.signed()).unwrap();
            assert_eq!(st, 201, "{body}");
            bulk_acked.push(se.id().to_hex());
        }
        // Node 2 comes back and starts pulling; it is killed again at a random moment.
        assert!(dir_is_not_empty(&trio.dir(2)));
        trio.start(2);
        let at_start = trio.node(2).log_size();
        let target = log_size(&a, &trio.node(cycle % 2).url).unwrap_or(0);
        // Aim at a random point of the pull; poll closely so that the kill lands inside it.
        let aim = at_start + 1 + rng.next() % target.saturating_sub(at_start + 1).max(1);
        let give_up = Instant::now() + Duration::from_secs(20);
        let mut at_kill = at_start;
        while Instant::now() < give_up {
            at_kill = log_size(&a, &trio.node(2).url).unwrap_or(0);
            if at_kill >= aim {
                break;
            }
            thread::sleep(Duration::from_millis(2));
        }
        trio.nodes[2].as_mut().unwrap().kill9();
        if at_kill > at_start && at_kill < target {
            mid_pull_kills += 1;
        }
        eprintln!(
            "faults: catch-up crash cycle {}/{cycles}: node 2 restarted with {at_start} entries, killed at {at_kill} of {target} (aimed at {aim})",
            cycle + 1
        );
        // Right after the kill it restarts and must open (the next cycle kills it again).
        trio.start(2);
        let url = trio.node(2).url.clone();
        trio.env.run(&["log", "verify", "--node", &url]).ok();
    }
    stop.store(true, Ordering::Relaxed);
    for f in feeders {
        f.join().unwrap();
    }
    let mut acked = bulk_acked;
    acked.extend(feed_acked.lock().unwrap().iter().cloned());
    let d = converge(&trio, admissions + acked.len());
    let mut lost = 0;
    for i in 0..3 {
        let ids: BTreeSet<String> = log_ids(&a, &trio.node(i).url).into_iter().collect();
        lost += acked.iter().filter(|id| !ids.contains(*id)).count();
        let url = trio.node(i).url.clone();
        trio.env.run(&["log", "verify", "--node", &url]).ok();
    }
    eprintln!(
        "faults: SUMMARY kill -9 while catching up: {cycles} cycles ({mid_pull_kills} kills landed mid-pull), {} entries acknowledged, {lost} lost, 3 nodes converged on {} entries (digest {})",
        acked.len(),
        admissions + acked.len(),
        &d[..16]
    );
    assert_eq!(lost, 0);
}
