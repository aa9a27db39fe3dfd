//! Progress on long work is for people at a terminal: a node catching up from a peer with a
//! large log draws a bar on a terminal (a pseudo-terminal made by `script`) and logs plain
//! lines into a pipe; `greenledger log verify` draws its bar on a terminal and writes nothing
//! of it into a pipe.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::{
    io::Read,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::{
    node_util::TestNode,
    p2p::{Cluster, p2p_addrs, wait_for},
};

/// Records in the source node's log, and the page size of the nodes that catch up: many pages.
const ENTRIES: u64 = 3_000;
const PAGE: u64 = 40;

/// Whether `script` (util-linux) is here to make a pseudo-terminal.
fn have_script() -> bool {
    Command::new("script")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `argv` under a pseudo-terminal; what it wrote to the terminal accumulates in the
/// returned buffer. The child is `script` itself; killing it hangs up on the command.
fn on_terminal(argv: &[String], vars: &[(&str, &str)]) -> (Child, Arc<Mutex<Vec<u8>>>) {
    let line: Vec<String> = argv.iter().map(|a| format!("'{}'", a.replace('\'', "'\\''"))).collect();
    let mut child = Command::new("script")
        .args(["-qefc", &format!("timeout 300 {}", line.join(" ")), "/dev/null"])
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .envs(vars.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run script");
    let mut out = child.stdout.take().unwrap();
    let buf = Arc::new(Mutex::new(Vec::new()));
    let buf2 = buf.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = out.read(&mut chunk) {
            if n == 0 {
                break;
            }
            buf2.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    (child, buf)
}

fn text(buf: &Arc<Mutex<Vec<u8>>>) -> String {
    String::from_utf8_lossy(&buf.lock().unwrap()).into_owned()
}

/// Carriage returns and escape codes: what a bar or colour would leave in a pipe.
fn assert_plain(what: &str, s: &str) {
    assert!(
        !s.contains('\r') && !s.contains('\u{1b}'),
        "{what} wrote terminal control codes into a pipe:\n{s:?}"
    );
}

#[test]
fn a_catch_up_shows_a_bar_on_a_terminal_and_plain_log_lines_in_a_pipe() {
    if !have_script() {
        eprintln!("SKIPPED: no `script` (util-linux) to make a pseudo-terminal");
        return;
    }
    let mut c = Cluster::new(3, &[]);
    let small_pages = c.env.path("small-pages.toml");
    std::fs::write(
        &small_pages,
        format!(
            "[p2p]\nsync_interval = \"300ms\"\nredial_interval = \"300ms\"\nheartbeat = \"200ms\"\nmax_records_per_response = {PAGE}\n"
        ),
    )
    .unwrap();
    // Node 0 alone takes a supplier and its attestations, in arrays.
    c.start(0, &[]);
    let mut s = c.supplier(0, "Busy Supplier");
    let mut sent = 1; // the admission
    while sent < ENTRIES {
        let n = 500.min(ENTRIES - sent);
        let mut body = b"[".to_vec();
        for k in 0..n {
            if k > 0 {
                body.push(b',');
            }
            let se = s.attest(&format!("urn:test:progress:{}", sent + k), 1000, &[]);
            body.extend_from_slice(&se.signed().to_json());
        }
        body.push(b']');
        let (st, answer) = c.node(0).post("/v1/entries", "application/json", &body);
        assert_eq!(st, 200, "{answer}");
        sent += n;
    }
    assert_eq!(c.node(0).log_size(), ENTRIES);
    let source = p2p_addrs(c.node(0));

    // In a pipe: log lines saying how far it got, no bar.
    let mut args = vec!["--config".to_string(), small_pages.display().to_string()];
    for a in &source {
        args.extend(["--bootstrap".to_string(), a.clone()]);
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let piped = TestNode::start_with_env(
        &c.env.path("node1"),
        &c.genesis_path,
        &argv,
        &[("RUST_LOG", "info,libp2p=warn")],
    );
    wait_for("the piped node to catch up", || piped.log_size() == ENTRIES);
    assert!(
        piped.log_shows("caught up with peer", Duration::from_secs(30)),
        "{}\npeers: {:#}",
        piped.log(),
        piped.get("/v1/peers").1
    );
    let log = piped.log();
    assert!(log.contains("catching up from peer"), "{log}");
    assert_plain("a node catching up", &log);
    assert!(!log.contains("records ("), "a bar in a pipe:\n{log}");

    // On a terminal: the bar (records pulled of the peer's log size, and the rate).
    let dir = c.env.path("node2"); // made by Cluster::new
    let mut argv: Vec<String> = vec![
        node_binary_path(),
        "run".into(),
        "--data-dir".into(),
        dir.display().to_string(),
        "--genesis".into(),
        c.genesis_path.display().to_string(),
        "--http".into(),
        "127.0.0.1:0".into(),
        "--listen".into(),
        "/ip4/127.0.0.1/tcp/0".into(),
    ];
    argv.extend(args.iter().cloned());
    let (mut child, out) = on_terminal(&argv, &[("RUST_LOG", "info,libp2p=warn")]);
    let url = wait_for_url(&out);
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    wait_for("the node on a terminal to catch up", || {
        agent
            .get(&format!("{url}/v1/log/head"))
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_json::<serde_json::Value>().ok())
            .and_then(|v| v["size"].as_u64())
            == Some(ENTRIES)
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while !text(&out).contains("caught up with peer") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    let shown = text(&out);
    assert!(
        shown.contains("catching up from …"),
        "no bar on the terminal:\n{shown:?}"
    );
    assert!(
        shown.contains("/3,000 records ("),
        "the bar does not count the peer's records:\n{shown:?}"
    );
    assert!(shown.contains("/s)"), "the bar has no rate:\n{shown:?}");
    // Log lines still come out whole, above the bar.
    assert!(
        shown
            .lines()
            .any(|l| l.contains("caught up with peer") && l.contains("pulled")),
        "{shown:?}"
    );

    // `greenledger log verify`: a bar on a terminal, nothing of it in a pipe.
    let node_url = c.node(0).url.clone();
    let cli = cli_binary_path();
    let run = Command::new(&cli)
        .args(["log", "verify", "--node", &node_url])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
    );
    assert!(stdout.starts_with("VALID: "), "the verdict comes first:\n{stdout}");
    assert_plain("log verify (standard output)", &stdout);
    assert_plain("log verify (standard error)", &stderr);
    let (mut child, out) = on_terminal(
        &[
            cli.clone(),
            "log".into(),
            "verify".into(),
            "--node".into(),
            node_url.clone(),
        ],
        &[],
    );
    let _ = child.wait();
    let shown = text(&out);
    assert!(shown.contains("VALID"), "{shown:?}");
    assert!(shown.contains("log verify ["), "no bar on the terminal:\n{shown:?}");
    // `greenledger submit` of many files: the same.
    let mut files = Vec::new();
    for k in 0..40 {
        let se = s.attest(&format!("urn:test:progress:submitted:{k}"), 1000, &[]);
        let path = c.env.path(&format!("submitted-{k}.json"));
        std::fs::write(&path, se.signed().to_json()).unwrap();
        files.push(path.display().to_string());
    }
    let (half, rest) = files.split_at(20);
    let run = Command::new(&cli)
        .args(["submit", "--batch", "5", "--node", &node_url])
        .args(half)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(
        stderr.lines().filter(|l| l.contains(": stored at log index")).count(),
        20,
        "{stderr}"
    );
    assert_plain("submit (standard error)", &stderr);
    let mut argv = vec![
        cli.clone(),
        "submit".into(),
        "--batch".into(),
        "5".into(),
        "--node".into(),
        node_url.clone(),
    ];
    argv.extend(rest.iter().cloned());
    let (mut child, out) = on_terminal(&argv, &[]);
    let _ = child.wait();
    let shown = text(&out);
    assert!(shown.contains("submit ["), "no bar on the terminal:\n{shown:?}");
    assert_eq!(shown.matches(": stored at log index").count(), 20, "{shown:?}");
    // --quiet: no bar even there; NO_COLOR: no colour.
    let (mut child, out) = on_terminal(
        &[
            cli,
            "log".into(),
            "verify".into(),
            "--quiet".into(),
            "--node".into(),
            node_url,
        ],
        &[("NO_COLOR", "1")],
    );
    let _ = child.wait();
    let shown = text(&out);
    assert!(shown.contains("VALID"), "{shown:?}");
    assert!(!shown.contains("log verify ["), "a bar despite --quiet:\n{shown:?}");
    assert!(!shown.contains('\u{1b}'), "colour despite NO_COLOR:\n{shown:?}");
}

fn node_binary_path() -> String {
    std::env::var("GREENLEDGER_NODE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_greenledger-node-e2e").to_string())
}

fn cli_binary_path() -> String {
    std::env::var("GREENLEDGER_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_greenledger-e2e").to_string())
}

/// The HTTP address a node on a terminal reports.
fn wait_for_url(out: &Arc<Mutex<Vec<u8>>>) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let t = text(out);
        if let Some(rest) = t.split("greenledger-node: HTTP API on ").nth(1)
            && let Some(url) = rest.split(['\r', '\n']).next()
            && rest.contains('\n')
        {
            return url.trim().to_string();
        }
        assert!(Instant::now() < deadline, "the node on a terminal did not start:\n{t}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
