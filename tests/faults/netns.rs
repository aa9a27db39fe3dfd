//! Network faults in real Linux network namespaces.
//!
//! Each node runs in a namespace of its own (`glt-<pid>-<test>-nI`) with one interface,
//! `eth0`, a veth whose other end is a port of a bridge in the test's hub namespace
//! (`glt-<pid>-<test>-hub`). Side A's nodes hang off bridge `bra`, side B's off `brb`, and a
//! veth pair (`tra`–`trb`) joins the two bridges: downing it is a partition, raising it heals
//! it. Addresses are 10.213.S.(10+I)/24, only ever inside these namespaces; the host's
//! interfaces, routes and firewall are never touched.
//!
//! The test reaches each node's HTTP API (on 127.0.0.1:8080 inside the node's namespace)
//! through a forwarder: a listener on the host's loopback hands each connection over a unix
//! socket to a helper process started with `ip netns exec` in the node's namespace (this test
//! binary again, running the ignored `namespace_http_forwarder`), which connects to the node.
//!
//! Loss and delay use `tc netem` when the kernel has it. Where it does not (no `sch_netem`),
//! the lossy phase downs random nodes' links for short bursts instead (burst loss, the way a
//! flaky link drops packets) and shapes every link with `tbf` (queueing delay under load), and
//! the test prints that it did.
//!
//! Without root, `ip` or network namespaces these tests print `SKIPPED` and why.
//! Rounds: `GREENLEDGER_NETFAULT_ROUNDS` (default 2).

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::{
    collections::BTreeSet,
    io::{BufRead, BufReader, Read, Write},
    net::{Shutdown, TcpListener, TcpStream},
    os::unix::net::{UnixListener, UnixStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
        mpsc,
    },
    thread,
    time::{Duration, Instant},
};

use greenledger_core::{Genesis, Role, SecretKey, SignedEntry};
use serde_json::Value;

use crate::{
    common::{
        CONVERGE, Chain, Deadline, FAST_P2P, Rng, agent, digest, env_count, genesis, heavy, log_ids, log_size, try_get,
        try_submit,
    },
    node_util::node_cmd,
};

/// The helper's settings (environment variables): the unix socket to listen on, and the
/// node's HTTP address inside the namespace.
const FWD_SOCK: &str = "GREENLEDGER_FAULTS_FWD_SOCK";
const FWD_TARGET: &str = "GREENLEDGER_FAULTS_FWD_TARGET";
/// The node's HTTP address inside its namespace (each namespace has its own ports).
const NODE_HTTP: &str = "127.0.0.1:8080";
/// The node's p2p port on its namespace address.
const P2P_PORT: u16 = 4001;

fn rounds() -> usize {
    env_count("GREENLEDGER_NETFAULT_ROUNDS", 2).max(1)
}

fn node_binary() -> PathBuf {
    match std::env::var_os("GREENLEDGER_NODE_BIN") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_BIN_EXE_greenledger-node-e2e")),
    }
}

/// Runs a command to completion; Err with its standard error if it fails.
fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn ip(args: &[&str]) -> Result<String, String> {
    run("ip", args)
}

/// `ip netns exec NS tc ARGS…`.
fn tc(ns: &str, args: &[&str]) -> Result<String, String> {
    let mut all = vec!["netns", "exec", ns, "tc"];
    all.extend_from_slice(args);
    ip(&all)
}

/// Why namespace tests cannot run here, if they cannot.
fn unavailable(prefix: &str) -> Option<String> {
    match run("id", &["-u"]) {
        Ok(uid) if uid.trim() == "0" => {}
        Ok(uid) => {
            return Some(format!(
                "not root (uid {}): creating network namespaces needs root",
                uid.trim()
            ));
        }
        Err(e) => return Some(e),
    }
    if let Err(e) = ip(&["-V"]) {
        return Some(format!("no `ip` command (install iproute2): {e}"));
    }
    let probe = format!("{prefix}-probe");
    if let Err(e) = ip(&["netns", "add", &probe]) {
        return Some(format!("network namespaces are not available: {e}"));
    }
    let _ = ip(&["netns", "del", &probe]);
    None
}

/// Copies one direction of a connection, then shuts the other side's writes.
trait Half: Read + Write + Send + 'static {
    fn close(&self);
}

impl Half for TcpStream {
    fn close(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}

impl Half for UnixStream {
    fn close(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}

fn pipe<A: Half, B: Half>(mut from: A, mut to: B) {
    thread::spawn(move || {
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
        from.close();
        to.close();
    });
}

/// Not a test: the forwarder the namespace tests start inside a node's namespace (with
/// `--ignored --exact`). Unix socket in, TCP to the node out. Returns at once when the
/// environment does not configure it.
#[test]
#[ignore = "a helper process of the namespace tests, not a test"]
fn namespace_http_forwarder() {
    let (Some(sock), Some(target)) = (std::env::var_os(FWD_SOCK), std::env::var(FWD_TARGET).ok()) else {
        return;
    };
    let listener = UnixListener::bind(&sock).unwrap();
    for conn in listener.incoming() {
        let Ok(inbound) = conn else { continue };
        let Ok(outbound) = TcpStream::connect(&target) else {
            continue; // the node is not up (yet): the connection just closes
        };
        pipe(inbound.try_clone().unwrap(), outbound.try_clone().unwrap());
        pipe(outbound, inbound);
    }
}

/// A loopback listener on the host that passes connections to a unix socket.
fn host_listener(sock: PathBuf, stop: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for conn in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            let Ok(inbound) = conn else { continue };
            let Ok(outbound) = UnixStream::connect(&sock) else {
                continue;
            };
            pipe(inbound.try_clone().unwrap(), outbound.try_clone().unwrap());
            pipe(outbound, inbound);
        }
    });
    port
}

/// A node process inside a namespace; SIGKILLed when dropped.
struct NsNode {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl NsNode {
    fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for NsNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A testnet in namespaces, with everything it created; all of it is removed when dropped
/// (also when a test panics).
struct Testnet {
    prefix: String,
    /// Every namespace created, the hub first.
    namespaces: Vec<String>,
    helpers: Vec<Child>,
    stop: Arc<AtomicBool>,
    host_ports: Vec<u16>,
    nodes: Vec<Option<NsNode>>,
    subnet: u8,
    peer_ids: Vec<String>,
    dir: tempfile::TempDir,
    genesis_path: PathBuf,
    genesis: Genesis,
    config: PathBuf,
    urls: Vec<String>,
}

impl Testnet {
    /// Namespaces, bridges, veths, forwarders and node data dirs for nodes on `sides`;
    /// no node runs yet. Err if the machine will not let us build it.
    fn build(tag: &str, subnet: u8, sides: &[usize], admin: &SecretKey) -> Result<Testnet, String> {
        let prefix = format!("glt-{}-{tag}", std::process::id());
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut net = Testnet {
            namespaces: Vec::new(),
            helpers: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
            host_ports: Vec::new(),
            nodes: sides.iter().map(|_| None).collect(),
            subnet,
            peer_ids: Vec::new(),
            genesis_path: dir.path().join("genesis.json"),
            genesis: genesis("faults-netns", admin, Vec::new()),
            config: dir.path().join("fast.toml"),
            urls: Vec::new(),
            dir,
            prefix,
        };
        let hub = net.hub();
        ip(&["netns", "add", &hub])?;
        net.namespaces.push(hub.clone());
        for cmd in [
            "link add bra type bridge",
            "link add brb type bridge",
            "link add tra type veth peer name trb",
            "link set tra master bra",
            "link set trb master brb",
            "link set bra up",
            "link set brb up",
            "link set tra up",
            "link set trb up",
        ] {
            let mut args = vec!["-n", hub.as_str()];
            args.extend(cmd.split(' '));
            ip(&args)?;
        }
        for (i, side) in sides.iter().enumerate() {
            let ns = net.ns(i);
            ip(&["netns", "add", &ns])?;
            net.namespaces.push(ns.clone());
            let port = format!("v{i}");
            let bridge = if *side == 0 { "bra" } else { "brb" };
            let addr = format!("{}/24", net.addr(i));
            ip(&[
                "-n", &hub, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ])?;
            ip(&["-n", &hub, "link", "set", &port, "master", bridge])?;
            ip(&["-n", &hub, "link", "set", &port, "up"])?;
            ip(&["-n", &ns, "addr", "add", &addr, "dev", "eth0"])?;
            ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            // The HTTP forwarder into this namespace.
            let sock = net.dir.path().join(format!("http{i}.sock"));
            let helper = Command::new("ip")
                .args(["netns", "exec", &ns])
                .arg(std::env::current_exe().map_err(|e| e.to_string())?)
                .args([
                    "--ignored",
                    "--exact",
                    "netns::namespace_http_forwarder",
                    "--test-threads",
                    "1",
                ])
                .env(FWD_SOCK, &sock)
                .env(FWD_TARGET, NODE_HTTP)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start the forwarder: {e}"))?;
            net.helpers.push(helper);
            let end = Instant::now() + Duration::from_secs(20);
            while !sock.exists() {
                if Instant::now() > end {
                    return Err(format!("the forwarder in {ns} did not start"));
                }
                thread::sleep(Duration::from_millis(20));
            }
            let host_port = host_listener(sock, net.stop.clone());
            net.host_ports.push(host_port);
            net.urls.push(format!("http://127.0.0.1:{host_port}"));
            // The node's data dir and identity.
            let data = net.data_dir(i);
            let (code, out, err) = node_cmd(&["init", "--data-dir", &data.display().to_string()]);
            if code != 0 {
                return Err(format!("greenledger-node init: {err}"));
            }
            net.peer_ids
                .push(out.lines().last().unwrap_or_default().trim().to_string());
        }
        net.genesis = genesis("faults-netns", admin, net.peer_ids.clone());
        std::fs::write(&net.genesis_path, net.genesis.canonical_bytes()).map_err(|e| e.to_string())?;
        std::fs::write(&net.config, FAST_P2P).map_err(|e| e.to_string())?;
        Ok(net)
    }

    fn hub(&self) -> String {
        format!("{}-hub", self.prefix)
    }

    fn ns(&self, i: usize) -> String {
        format!("{}-n{i}", self.prefix)
    }

    fn addr(&self, i: usize) -> String {
        format!("10.213.{}.{}", self.subnet, 10 + i)
    }

    fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("node{i}"))
    }

    fn multiaddr(&self, i: usize) -> String {
        format!("/ip4/{}/tcp/{P2P_PORT}/p2p/{}", self.addr(i), self.peer_ids[i])
    }

    /// Starts node `i` in its namespace, bootstrapping to every other node.
    fn start(&mut self, i: usize) {
        let mut args: Vec<String> = vec![
            "netns".into(),
            "exec".into(),
            self.ns(i),
            node_binary().display().to_string(),
            "run".into(),
            "--data-dir".into(),
            self.data_dir(i).display().to_string(),
            "--genesis".into(),
            self.genesis_path.display().to_string(),
            "--config".into(),
            self.config.display().to_string(),
            "--http".into(),
            NODE_HTTP.into(),
            "--listen".into(),
            format!("/ip4/{}/tcp/{P2P_PORT}", self.addr(i)),
        ];
        for j in (0..self.nodes.len()).filter(|j| *j != i) {
            args.push("--bootstrap".into());
            args.push(self.multiaddr(j));
        }
        let mut child = Command::new("ip")
            .args(&args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ip netns exec greenledger-node");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::sync_channel(1);
        let log2 = log.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.starts_with("greenledger-node: HTTP API on ") {
                    let _ = tx.try_send(());
                }
                if let Ok(mut l) = log2.lock() {
                    l.push_str(&line);
                    l.push('\n');
                }
            }
        });
        let node = NsNode { child, log };
        if rx.recv_timeout(Duration::from_secs(60)).is_err() {
            panic!("node {i} did not start in {}; its log:\n{}", self.ns(i), node.log());
        }
        let a = agent(Duration::from_secs(5));
        let end = Instant::now() + Duration::from_secs(30);
        while try_get(&a, &format!("{}/v1/health", self.urls[i])).map(|r| r.0) != Some(200) {
            assert!(Instant::now() < end, "node {i} does not answer through its forwarder");
            thread::sleep(Duration::from_millis(50));
        }
        self.nodes[i] = Some(node);
    }

    fn start_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.start(i);
        }
    }

    /// Cuts (false) or restores (true) the link between the two bridges.
    fn trunk(&self, up: bool) {
        let state = if up { "up" } else { "down" };
        for dev in ["tra", "trb"] {
            ip(&["-n", &self.hub(), "link", "set", dev, state]).unwrap();
        }
    }

    /// Downs or raises node `i`'s only interface.
    fn node_link(&self, i: usize, up: bool) {
        ip(&["-n", &self.ns(i), "link", "set", "eth0", if up { "up" } else { "down" }]).unwrap();
    }

    fn submit(&self, i: usize, se: &SignedEntry) {
        let a = agent(Duration::from_secs(30));
        let (st, body) = try_submit(&a, &self.urls[i], se).expect("submit through the forwarder");
        assert!(matches!(st, 200..=202), "node {i} refused an entry: {st} {body}");
    }

    fn sizes(&self, which: &[usize]) -> Vec<Option<u64>> {
        let a = agent(Duration::from_secs(10));
        which.iter().map(|i| log_size(&a, &self.urls[*i])).collect()
    }

    /// Waits until every node in `which` holds `want` entries.
    fn settle(&self, what: &str, which: &[usize], want: u64) {
        let end = Instant::now() + CONVERGE;
        loop {
            let sizes = self.sizes(which);
            if sizes.iter().all(|s| *s == Some(want)) {
                return;
            }
            assert!(
                Instant::now() < end,
                "{what}: nodes {which:?} not at {want} within {CONVERGE:?}: {sizes:?}"
            );
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until every node holds exactly `want` entries with the same ids, and every
    /// id in `acked` among them; returns (digest, acknowledged entries missing).
    fn converge(&self, want: u64, acked: &[String]) -> (String, usize) {
        let all: Vec<usize> = (0..self.nodes.len()).collect();
        let end = Instant::now() + CONVERGE;
        let a = agent(Duration::from_secs(30));
        loop {
            let sizes = self.sizes(&all);
            if sizes.iter().all(|s| *s == Some(want)) {
                let sets: Vec<BTreeSet<String>> =
                    self.urls.iter().map(|u| log_ids(&a, u).into_iter().collect()).collect();
                if sets.windows(2).all(|w| w[0] == w[1]) {
                    let ids: Vec<String> = sets[0].iter().cloned().collect();
                    let missing = acked.iter().filter(|id| !sets[0].contains(*id)).count();
                    return (digest(&ids), missing);
                }
            }
            if Instant::now() > end {
                let peers: Vec<Value> = self
                    .urls
                    .iter()
                    .map(|u| {
                        try_get(&a, &format!("{u}/v1/peers"))
                            .map(|r| r.1)
                            .unwrap_or(Value::Null)
                    })
                    .collect();
                panic!(
                    "the nodes did not converge on {want} entries within {CONVERGE:?}: sizes {sizes:?}\npeers: {peers:#?}\nlog of node 0:\n{}",
                    self.nodes[0].as_ref().map(NsNode::log).unwrap_or_default()
                );
            }
            thread::sleep(Duration::from_millis(250));
        }
    }

    /// `greenledger log verify --node URL` on every node.
    fn verify_logs(&self) {
        for (i, url) in self.urls.iter().enumerate() {
            let out = Command::new(env!("CARGO_BIN_EXE_greenledger-e2e"))
                .args(["log", "verify", "--node", url])
                .env_remove("GREENLEDGER_NODE")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "log verify failed on node {i}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

impl Drop for Testnet {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            *n = None; // SIGKILL
        }
        for h in &mut self.helpers {
            let _ = h.kill();
            let _ = h.wait();
        }
        self.stop.store(true, Ordering::SeqCst);
        for port in &self.host_ports {
            let _ = TcpStream::connect(("127.0.0.1", *port)); // wakes the listener, which returns
        }
        // Anything still running in our own namespaces is ours; then the namespaces go, and
        // with them every veth and bridge in them.
        for ns in self.namespaces.iter().rev() {
            if let Ok(pids) = ip(&["netns", "pids", ns]) {
                for pid in pids.split_whitespace() {
                    let _ = run("kill", &["-KILL", pid]);
                }
            }
            if let Err(e) = ip(&["netns", "del", ns]) {
                eprintln!("faults: cleanup: {e}");
            }
        }
    }
}

/// Builds a testnet or explains, loudly, why the test is skipped.
fn testnet_or_skip(test: &str, tag: &str, subnet: u8, sides: &[usize], admin: &SecretKey) -> Option<Testnet> {
    let prefix = format!("glt-{}-{tag}", std::process::id());
    if let Some(why) = unavailable(&prefix) {
        eprintln!("faults: SKIPPED {test}: {why}");
        return None;
    }
    match Testnet::build(tag, subnet, sides, admin) {
        Ok(net) => Some(net),
        Err(why) => {
            eprintln!("faults: SKIPPED {test}: cannot build the namespace testnet: {why}");
            None
        }
    }
}

fn admit_all(net: &Testnet, admin: &mut Chain, names: &[&str]) -> Vec<Chain> {
    names
        .iter()
        .map(|name| {
            let key = SecretKey::generate();
            net.submit(0, admin.admit(&key.public(), name, Role::Supplier).signed());
            Chain::new(key, &net.genesis)
        })
        .collect()
}

/// Five nodes, 2 | 3: the link between the sides is downed, both sides take entries, the
/// link comes back; every node ends with every entry, every round.
#[test]
fn a_two_three_partition_by_downed_links_heals_with_nothing_lost() {
    let _heavy = heavy();
    let rounds = rounds();
    let deadline = Deadline::new("the partition test", Duration::from_secs(120 + 120 * rounds as u64));
    let admin_key = SecretKey::generate();
    let Some(mut net) = testnet_or_skip("partition test", "p", 1, &[0, 0, 1, 1, 1], &admin_key) else {
        return;
    };
    net.start_all();
    let mut admin = Chain::new(admin_key, &net.genesis);
    let mut sides = admit_all(&net, &mut admin, &["West Supplier", "East Supplier"]);
    let (side_a, side_b) = ([0usize, 1], [2usize, 3, 4]);
    let mut acked: Vec<String> = Vec::new();
    let mut size = 2u64;
    net.converge(size, &acked);
    let mut healed = 0;
    for round in 0..rounds {
        deadline.check();
        net.trunk(false);
        let (west, east) = sides.split_at_mut(1);
        for j in 0..20 {
            let se = west[0].attest(&format!("urn:greenledger:faults:r{round}-west{j}"), 100 + j, &[]);
            net.submit(side_a[j as usize % 2], se.signed());
            acked.push(se.id().to_hex());
        }
        for j in 0..30 {
            let se = east[0].attest(&format!("urn:greenledger:faults:r{round}-east{j}"), 200 + j, &[]);
            net.submit(side_b[j as usize % 3], se.signed());
            acked.push(se.id().to_hex());
        }
        net.settle("side A", &side_a, size + 20);
        net.settle("side B", &side_b, size + 30);
        // Partitioned for real: a few sync rounds later the sides still differ.
        thread::sleep(Duration::from_secs(2));
        assert_eq!(
            net.sizes(&side_a),
            vec![Some(size + 20); 2],
            "side A received entries across a cut link"
        );
        assert_eq!(
            net.sizes(&side_b),
            vec![Some(size + 30); 3],
            "side B received entries across a cut link"
        );
        let cut_at = Instant::now();
        net.trunk(true);
        size += 50;
        let (d, missing) = net.converge(size, &acked);
        assert_eq!(missing, 0, "entries lost across a partition");
        healed += 1;
        eprintln!(
            "faults: partition round {}/{rounds}: healed; 5 nodes converged on {size} entries in {:.1?} (digest {})",
            round + 1,
            cut_at.elapsed(),
            &d[..16]
        );
    }
    net.verify_logs();
    eprintln!(
        "faults: SUMMARY partitions (2 | 3, downed veth between bridges, 5 nodes in namespaces): {healed} partitions healed, {} entries acknowledged, 0 lost, every log verifies",
        acked.len()
    );
}

/// How the lossy phase impairs links.
enum Impairment {
    /// `tc netem` on every node's interface.
    Netem(&'static str),
    /// No netem here: random links downed for bursts, and `tbf` shaping on every link.
    Fallback { why: String, flaps: Arc<AtomicUsize> },
}

/// Three nodes on lossy, slow links (netem loss 20 %, delay 100 ms ± 50 ms; or the fallback)
/// while entries are submitted through all of them; they converge with nothing lost.
#[test]
fn lossy_and_slow_links_converge_with_nothing_lost() {
    let _heavy = heavy();
    let rounds = rounds();
    let deadline = Deadline::new("the lossy-link test", Duration::from_secs(120 + 150 * rounds as u64));
    let mut rng = Rng::from_clock();
    let admin_key = SecretKey::generate();
    let Some(mut net) = testnet_or_skip("lossy-link test", "l", 2, &[0, 0, 0], &admin_key) else {
        return;
    };
    net.start_all();
    let mut admin = Chain::new(admin_key, &net.genesis);
    let mut suppliers = admit_all(&net, &mut admin, &["Supplier 0", "Supplier 1", "Supplier 2"]);
    let mut acked: Vec<String> = Vec::new();
    let mut size = 3u64;
    net.converge(size, &acked);
    // netem if the kernel has it.
    const NETEM: &str = "loss 20% delay 100ms 50ms";
    let impairment = match tc(
        &net.ns(0),
        &[
            "qdisc", "add", "dev", "eth0", "root", "netem", "loss", "20%", "delay", "100ms", "50ms",
        ],
    ) {
        Ok(_) => {
            for i in 1..3 {
                tc(
                    &net.ns(i),
                    &[
                        "qdisc", "add", "dev", "eth0", "root", "netem", "loss", "20%", "delay", "100ms", "50ms",
                    ],
                )
                .unwrap();
            }
            Impairment::Netem(NETEM)
        }
        Err(why) => {
            for i in 0..3 {
                tc(
                    &net.ns(i),
                    &[
                        "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", "1mbit", "burst", "16kb", "latency",
                        "300ms",
                    ],
                )
                .unwrap();
            }
            Impairment::Fallback {
                why,
                flaps: Arc::default(),
            }
        }
    };
    match &impairment {
        Impairment::Netem(how) => eprintln!("faults: lossy links: tc netem {how} on every node's link"),
        Impairment::Fallback { why, .. } => eprintln!(
            "faults: lossy links: tc netem is NOT available here ({why}); falling back to links downed for random 0.2-1.5 s bursts plus tbf shaping (1 mbit/s, 300 ms queue)"
        ),
    }
    for round in 0..rounds {
        deadline.check();
        let stop = Arc::new(AtomicBool::new(false));
        let flapper = match &impairment {
            Impairment::Netem(_) => None,
            Impairment::Fallback { flaps, .. } => {
                let namespaces: Vec<String> = (0..3).map(|i| net.ns(i)).collect();
                let (stop, flaps) = (stop.clone(), flaps.clone());
                let mut rng = Rng::from_seed(rng.next());
                Some(thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        let ns = &namespaces[(rng.next() % 3) as usize];
                        ip(&["-n", ns, "link", "set", "eth0", "down"]).unwrap();
                        thread::sleep(rng.millis(200, 1500));
                        ip(&["-n", ns, "link", "set", "eth0", "up"]).unwrap();
                        flaps.fetch_add(1, Ordering::SeqCst);
                        thread::sleep(rng.millis(100, 700));
                    }
                }))
            }
        };
        let started = Instant::now();
        for j in 0..40 {
            for (s, chain) in suppliers.iter_mut().enumerate() {
                let se = chain.attest(&format!("urn:greenledger:faults:r{round}-s{s}-{j}"), j, &[]);
                // Each supplier's chain goes through one node, so that nothing waits for a parent
                // that is still in flight elsewhere; the nodes differ per supplier.
                net.submit((s + round) % 3, se.signed());
                acked.push(se.id().to_hex());
            }
            thread::sleep(Duration::from_millis(50));
        }
        stop.store(true, Ordering::SeqCst);
        if let Some(f) = flapper {
            f.join().unwrap();
        }
        for i in 0..3 {
            net.node_link(i, true);
        }
        size += 120;
        // Converge with the impairment still in place (netem, or tbf shaping).
        let (d, missing) = net.converge(size, &acked);
        assert_eq!(missing, 0, "entries lost on lossy links");
        eprintln!(
            "faults: lossy round {}/{rounds}: 120 entries submitted under impairment, 3 nodes converged on {size} in {:.1?} (digest {})",
            round + 1,
            started.elapsed(),
            &d[..16]
        );
    }
    net.verify_logs();
    let how = match &impairment {
        Impairment::Netem(how) => format!("netem {how}"),
        Impairment::Fallback { flaps, .. } => format!(
            "NO netem here; fallback: {} link-down bursts of 0.2-1.5 s and tbf 1 mbit/s",
            flaps.load(Ordering::SeqCst)
        ),
    };
    eprintln!(
        "faults: SUMMARY lossy/slow links (3 nodes in namespaces, {how}): {rounds} rounds, {} entries acknowledged, 0 lost, every log verifies (rng seed {})",
        acked.len(),
        rng.seed()
    );
}
