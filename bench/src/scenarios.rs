//! The scenarios. Each returns rows whose limit is measured in the same run.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use greenledger_core::{
    EntryId, EntrySet, Genesis, PublicKey, Signature, SignedEntry, VerifiedEntry, VerifyOptions, bundle,
    entry::verify_many, keys, verify_bundle,
};
use greenledger_node::{Config, Node, identity::Identity, store::Store};

use crate::{
    Row,
    workload::{self, Consortium},
};

/// Sizes of one run.
struct Sizes {
    suppliers: u64,
    ingest: u64,
    http: u64,
    http_clients: usize,
    propagation_nodes: Vec<usize>,
    /// Offered loads, entries/s, each with `propagation_entries` entries.
    propagation_loads: Vec<f64>,
    /// The load whose p50 and p99 are the rows' figures.
    propagation_stated: f64,
    propagation_entries: u64,
    dag: u64,
}

impl Sizes {
    fn new(quick: bool) -> Sizes {
        if quick {
            Sizes {
                suppliers: 500,
                ingest: 20_000,
                http: 10_000,
                http_clients: 16,
                propagation_nodes: vec![5],
                propagation_loads: vec![250.0, 500.0],
                propagation_stated: 500.0,
                propagation_entries: 500,
                dag: 2_000,
            }
        } else {
            Sizes {
                suppliers: 5_000,
                ingest: 1_000_000,
                http: 200_000,
                http_clients: 32,
                propagation_nodes: vec![5, 10],
                // From light loads to more than ten processes on two cores can carry.
                propagation_loads: vec![100.0, 200.0, 250.0, 500.0, 1000.0, 2000.0],
                propagation_stated: 500.0,
                propagation_entries: 3_000,
                dag: 10_000,
            }
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn say(msg: impl AsRef<str>) {
    eprintln!("  {}", msg.as_ref());
}

/// CPU time used so far by this process, every thread (finished ones included), in seconds;
/// from `/proc/self/stat` (user + system, in clock ticks of 1/100 s), so `None` off Linux.
/// Beside a wall-clock rate, it shows what a stage costs when the machine is shared.
fn process_cpu_seconds() -> Option<f64> {
    stat_cpu_seconds(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// CPU time used so far by this process's threads named `name` (live ones only), in seconds.
fn thread_cpu_seconds(name: &str) -> Option<f64> {
    let mut total = None;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end() != name {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
        *total.get_or_insert(0.0) += stat_cpu_seconds(&stat)?;
    }
    total
}

/// User + system time of a `/proc/…/stat` line, in seconds (clock ticks of 1/100 s).
fn stat_cpu_seconds(stat: &str) -> Option<f64> {
    // The fields after the command name (which may hold spaces and parentheses), from field 3.
    let mut fields = stat[stat.rfind(')')? + 2..].split_whitespace();
    let utime: f64 = fields.nth(11)?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// CPU time used so far by the processes `pids` together, in seconds.
fn nodes_cpu_seconds(pids: &[u32]) -> Option<f64> {
    pids.iter()
        .map(|p| stat_cpu_seconds(&std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?))
        .sum()
}

/// CPU microseconds per item between two [`process_cpu_seconds`] readings.
fn cpu_us_per(before: Option<f64>, after: Option<f64>, items: usize) -> Option<f64> {
    Some((after? - before?) * 1e6 / items.max(1) as f64)
}

/// " (N µs CPU each)", or nothing where CPU time cannot be read.
fn cpu_note(us: Option<f64>) -> String {
    us.map(|u| format!(" ({u:.1} µs of CPU each)")).unwrap_or_default()
}

/// Runs every scenario (or those in `only`).
pub(crate) fn run_all(quick: bool, only: &[String]) -> Result<Vec<Row>> {
    let want = |s: &str| only.is_empty() || only.iter().any(|o| o == s);
    let sizes = Sizes::new(quick);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let tmp = tempfile::Builder::new().prefix("greenledger-bench").tempdir()?;
    let mut rows = Vec::new();

    // Node identities first: the genesis names them (the network is permissioned).
    let source_dir = tmp.path().join("source");
    let fresh_dir = tmp.path().join("fresh");
    let source_peer = Identity::init(&source_dir)?.peer_id().to_string();
    let fresh_peer = Identity::init(&fresh_dir)?.peer_id().to_string();
    let mut c = Consortium::new("bench", vec![source_peer, fresh_peer]);
    let genesis_path = tmp.path().join("genesis.json");
    std::fs::write(&genesis_path, c.genesis.canonical_bytes())?;

    let need_ingest = want("ingest") || want("catch-up");
    let mut ingest_rate = None;
    let mut entry_bytes = 0.0;
    if need_ingest {
        eprintln!(
            "ingest: generating {} attestations from {} suppliers",
            sizes.ingest, sizes.suppliers
        );
        let t = Instant::now();
        let entries = workload::ingest_workload(&mut c, sizes.suppliers, sizes.ingest, 1);
        let envelopes: Vec<Vec<u8>> = entries.iter().map(SignedEntry::to_json).collect();
        entry_bytes = envelopes.iter().map(Vec::len).sum::<usize>() as f64 / envelopes.len() as f64;
        say(format!(
            "{} entries, {:.0} bytes each on average, signed in {:.1} s",
            entries.len(),
            entry_bytes,
            t.elapsed().as_secs_f64()
        ));
        let raw = raw_rates(&entries);
        say(format!(
            "raw ZIP 215 verification (ed25519-zebra), signatures/s: single {:.0} (1 core), {:.0} ({n} cores); \
             batch {:.0} (1 core), {:.0} ({n} cores)",
            raw.single,
            raw.single_all,
            raw.batch_one,
            raw.batch_all,
            n = cores()
        ));
        drop(entries);
        // The verification stage alone (parse, decode, verify on every core), for the analysis.
        let sample: Vec<Vec<u8>> = envelopes.iter().take(20_000).cloned().collect();
        let n_sample = sample.len();
        let cpu = process_cpu_seconds();
        let t = Instant::now();
        let ok = sample
            .chunks(1000)
            .map(|c| verify_parallel(c.to_vec()).len())
            .sum::<usize>();
        let stage = n_sample as f64 / t.elapsed().as_secs_f64();
        let stage_cpu = cpu_us_per(cpu, process_cpu_seconds(), n_sample);
        anyhow::ensure!(ok == n_sample, "the workload must verify");
        say(format!(
            "verification stage alone: {stage:.0} entries/s{}",
            cpu_note(stage_cpu)
        ));
        let n_entries = envelopes.len();
        let cpu = process_cpu_seconds();
        let rate = rt.block_on(ingest_store(&source_dir, &c.genesis, envelopes))?;
        let store_cpu = cpu_us_per(cpu, process_cpu_seconds(), n_entries);
        say(format!("store path: {rate:.0} entries/s{}", cpu_note(store_cpu)));
        ingest_rate = Some(rate);
        rows.push(Row {
            scenario: "ingest".into(),
            figure: rate,
            unit: "entries/s".into(),
            limit: raw.batch_all,
            limit_is: format!("sig/s (raw ZIP 215 batch, {} cores)", cores()),
            ratio: rate / raw.batch_all,
            goal: "≥ 0.70".into(),
            met: Some(rate / raw.batch_all >= 0.70),
            nodes: None,
            detail: format!(
                "{} entries of {entry_bytes:.0} B, verified in parallel and written by group commit{}; raw single verification on {} cores: {:.0} sig/s (ratio {:.2}); parse+decode+verify stage alone: {stage:.0}/s{}; raw batch: {:.1} core-µs per signature",
                sizes.ingest + sizes.suppliers,
                cpu_note(store_cpu),
                cores(),
                raw.single_all,
                rate / raw.single_all,
                cpu_note(stage_cpu),
                cores() as f64 * 1e6 / raw.batch_all,
            ),
        });
        if want("ingest-http") {
            rows.push(rt.block_on(ingest_http(tmp.path(), &sizes, rate))?);
        }
        if want("ingest-custody") {
            rows.push(rt.block_on(ingest_custody(tmp.path(), &sizes, rate))?);
        }
    } else if want("ingest-http") || want("ingest-custody") {
        bail!("ingest-http and ingest-custody compare with the ingest rate; run them with ingest");
    }

    if want("propagation") {
        let rtt = loopback_rtt_ms()?;
        say(format!("loopback round trip: {rtt:.3} ms (p50)"));
        for n in &sizes.propagation_nodes {
            rows.extend(rt.block_on(propagation(
                tmp.path(),
                *n,
                &sizes.propagation_loads,
                sizes.propagation_entries,
                sizes.propagation_stated,
                rtt,
            ))?);
        }
    }

    if want("verification") {
        rows.push(verification(sizes.dag)?);
    }

    if want("explorer") {
        rows.push(rt.block_on(explorer_page(tmp.path(), sizes.dag))?);
    }

    if want("catch-up") {
        let rate = ingest_rate.context("catch-up compares with the ingest rate; run it with ingest")?;
        rows.extend(rt.block_on(catch_up(
            &source_dir,
            &fresh_dir,
            &genesis_path,
            sizes.ingest + sizes.suppliers,
            rate,
            entry_bytes,
        ))?);
    }
    Ok(rows)
}

struct Raw {
    /// ZIP 215 single verification, one core.
    single: f64,
    /// ZIP 215 single verification on every core.
    single_all: f64,
    /// ZIP 215 batch verification (ed25519-zebra, batches of 1,024), one core.
    batch_one: f64,
    /// The same on every core: the highest verification rate of the machine.
    batch_all: f64,
}

/// A signature to verify, as greenledger holds it.
type Triple<'a> = (PublicKey, &'a [u8], Signature);

/// The exact bytes each entry's signature covers.
fn signed_bytes<'e>(entries: impl IntoIterator<Item = &'e SignedEntry>) -> Vec<Vec<u8>> {
    entries.into_iter().map(SignedEntry::signed_bytes).collect()
}

/// (signer, signed bytes, signature) of each entry; `bytes` from [`signed_bytes`].
fn triples<'a, 'e>(entries: impl IntoIterator<Item = &'e SignedEntry>, bytes: &'a [Vec<u8>]) -> Vec<Triple<'a>> {
    entries
        .into_iter()
        .zip(bytes)
        .filter_map(|(e, b)| Some((e.decode().ok()?.payload.signer, b.as_slice(), *e.signature())))
        .collect()
}

/// The batch equation alone (ed25519-zebra, the crate greenledger verifies with), in batches
/// of 1,024.
fn batch_ok(items: &[Triple<'_>]) -> bool {
    items.chunks(1024).all(|b| keys::verify_batch(b).is_ok())
}

/// Runs `f` over one share of `items` per core; true if every share passes.
fn on_all_cores<T: Sync>(items: &[T], f: impl Fn(&[T]) -> bool + Sync) -> bool {
    let per = items.len().div_ceil(cores()).max(1);
    std::thread::scope(|s| {
        let hs: Vec<_> = items.chunks(per).map(|c| s.spawn(|| f(c))).collect();
        hs.into_iter().all(|h| h.join().unwrap_or(false))
    })
}

fn rate_on_all_cores<T: Sync>(items: &[T], f: impl Fn(&[T]) -> bool + Sync) -> f64 {
    let t = Instant::now();
    assert!(on_all_cores(items, f), "the workload's own signatures must verify");
    items.len() as f64 / t.elapsed().as_secs_f64()
}

fn rate<T>(items: &[T], f: impl Fn(&[T]) -> bool) -> f64 {
    let t = Instant::now();
    assert!(f(items), "the workload's own signatures must verify");
    items.len() as f64 / t.elapsed().as_secs_f64()
}

/// Raw ZIP 215 verification of the workload's own signatures.
fn raw_rates(entries: &[SignedEntry]) -> Raw {
    let sample = &entries[..entries.len().min(40_000)];
    let bytes = signed_bytes(sample);
    let items = triples(sample, &bytes);
    let single = |c: &[Triple<'_>]| keys::verify_each(c).iter().all(Result::is_ok);
    Raw {
        single: rate(&items[..items.len().min(10_000)], single),
        single_all: rate_on_all_cores(&items, single),
        batch_one: rate(&items, batch_ok),
        batch_all: rate_on_all_cores(&items, batch_ok),
    }
}

/// Parses envelopes and verifies them on every core, as a node does with a page of a peer's
/// log (`p2p::apply`): parsing in order, then `verify_many` (decoding and signature batches
/// spread over the cores).
fn verify_parallel(chunk: Vec<Vec<u8>>) -> Vec<VerifiedEntry> {
    let parsed: Vec<SignedEntry> = chunk.iter().filter_map(|b| SignedEntry::from_json(b).ok()).collect();
    verify_many(parsed).into_iter().filter_map(Result::ok).collect()
}

/// The store path: envelopes are parsed and verified on all cores while the writer thread
/// applies the ledger rules and group-commits the previous chunk.
async fn ingest_store(dir: &Path, genesis: &Genesis, envelopes: Vec<Vec<u8>>) -> Result<f64> {
    let identity = Identity::load(dir)?;
    let cfg = Config::default();
    let (store, writer) = Store::open(&dir.join("db"), genesis, &cfg, identity)?;
    let total = envelopes.len();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<VerifiedEntry>>(2);
    let start = Instant::now();
    let producer = tokio::task::spawn_blocking(move || {
        let mut it = envelopes.into_iter();
        loop {
            let chunk: Vec<Vec<u8>> = it.by_ref().take(1000).collect();
            if chunk.is_empty() {
                break;
            }
            if tx.blocking_send(verify_parallel(chunk)).is_err() {
                break;
            }
        }
    });
    let mut stored = 0usize;
    while let Some(chunk) = rx.recv().await {
        for r in store.ingest_many(chunk).await {
            match r {
                Ok(greenledger_node::store::Outcome::Stored { .. }) => stored += 1,
                other => bail!("the workload must ingest cleanly, got {other:?}"),
            }
        }
    }
    producer.await?;
    let rate = stored as f64 / start.elapsed().as_secs_f64();
    anyhow::ensure!(stored == total, "stored {stored} of {total}");
    if let Some(us) = cpu_us_per(Some(0.0), thread_cpu_seconds("store-writer"), total) {
        say(format!(
            "store path: the writer thread used {us:.1} µs of CPU per entry"
        ));
    }
    drop(store);
    tokio::task::spawn_blocking(move || writer.join()).await?;
    Ok(rate)
}

/// Ingest of a workload where a fifth of the entries are certificate and shipment entries
/// (and two in fifteen more draw on lots), through the same store path as `ingest`.
async fn ingest_custody(tmp: &Path, sizes: &Sizes, ingest: f64) -> Result<Row> {
    let dir = tmp.join("custody");
    let peer = Identity::init(&dir)?.peer_id().to_string();
    let mut c = Consortium::new("bench-custody", vec![peer]);
    let entries = workload::custody_workload(&mut c, sizes.suppliers, sizes.ingest);
    let n = entries.len();
    let envelopes: Vec<Vec<u8>> = entries.iter().map(SignedEntry::to_json).collect();
    drop(entries);
    let rate = ingest_store(&dir, &c.genesis, envelopes).await?;
    say(format!("custody workload: {rate:.0} entries/s"));
    Ok(Row {
        scenario: "ingest-custody".into(),
        figure: rate,
        unit: "entries/s".into(),
        limit: ingest,
        limit_is: "entries/s (ingest, this run)".into(),
        ratio: rate / ingest,
        goal: "≥ 0.90".into(),
        met: Some(rate / ingest >= 0.90),
        nodes: None,
        detail: format!(
            "{n} entries: in every 15, a certificate issue, a retirement, a batch claiming it, a shipment and a batch drawing on the shipment, then 10 plain attestations"
        ),
    })
}

fn node_config() -> Config {
    let mut cfg = Config::default();
    cfg.http = "127.0.0.1:0".parse().unwrap_or(cfg.http);
    cfg.listen = "/ip4/127.0.0.1/tcp/0".into();
    cfg
}

/// The harness's HTTP client. Its timeouts are per phase rather than one for the whole call:
/// with a timeout on the whole call, ureq resolves each request's host on a thread of its own,
/// and the followers of the propagation scenario make thousands of requests a second. The
/// hosts here are IP literals, which resolve without a lookup.
fn agent() -> ureq::Agent {
    let limit = Some(Duration::from_secs(60));
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_send_request(limit)
        .timeout_send_body(limit)
        .timeout_recv_response(limit)
        .timeout_recv_body(limit)
        .build()
        .into()
}

fn post(agent: &ureq::Agent, url: &str, body: &[u8]) -> Result<u16> {
    Ok(send(agent, url, body)?)
}

/// `POST /v1/entries` with `body`; the status, or what failed on the way.
///
/// The answer is read to its end: an answer dropped unread closes its connection, and the
/// next submission would open a new one.
fn send(agent: &ureq::Agent, url: &str, body: &[u8]) -> Result<u16, ureq::Error> {
    let mut r = agent
        .post(&format!("{url}/v1/entries"))
        .header("Content-Type", "application/json")
        .send(body)?;
    r.body_mut().read_to_vec()?;
    Ok(r.status().as_u16())
}

/// Submits one entry, sending it again (up to three more times) when the connection drops
/// before an answer: a submission is idempotent, so a repeat is answered 200 if the first got
/// through. Returns the status and how many connections dropped on the way.
fn post_retrying(agent: &ureq::Agent, url: &str, body: &[u8]) -> Result<(u16, u32)> {
    retrying("sending an entry", 4, Duration::from_millis(20), || {
        send(agent, url, body)
    })
}

/// Runs `f` up to `tries` times while it fails on the way (a dropped connection, a transport
/// error), pausing `pause` between tries. Returns its answer and how many tries failed.
fn retrying<T>(
    what: &str,
    tries: u32,
    pause: Duration,
    mut f: impl FnMut() -> Result<T, ureq::Error>,
) -> Result<(T, u32)> {
    let started = Instant::now();
    let mut failed = 0;
    loop {
        match f() {
            Ok(v) => return Ok((v, failed)),
            Err(e) if failed + 1 < tries => {
                failed += 1;
                eprintln!(
                    "{what}: {e} after {:.1} s; trying again",
                    started.elapsed().as_secs_f64()
                );
                std::thread::sleep(pause);
            }
            Err(e) => return Err(anyhow::Error::new(e).context(format!("{what}: failed {tries} times"))),
        }
    }
}

/// HTTP with concurrent clients: each client submits its suppliers' entries in order, as JSON
/// arrays of 500 (`POST /v1/entries` with an array), each answered once durable.
async fn ingest_http(tmp: &Path, sizes: &Sizes, ingest: f64) -> Result<Row> {
    let dir = tmp.join("http-node");
    let peer = Identity::init(&dir)?.peer_id().to_string();
    let mut c = Consortium::new("bench-http", vec![peer]);
    let suppliers = 256u64;
    let entries = workload::ingest_workload(&mut c, suppliers, sizes.http, sizes.http_clients as u64);
    let node = Node::start(node_config(), &dir, &c.genesis).await?;
    let url = format!("http://{}", node.addrs().http.context("http address")?);
    let (admits, attests) = entries.split_at(suppliers as usize);
    let a = agent();
    for e in admits {
        let st = post(&a, &url, &e.to_json())?;
        anyhow::ensure!(st == 201, "admission refused: {st}");
    }
    let clients = sizes.http_clients;
    let mut per: Vec<Vec<SignedEntry>> = vec![Vec::new(); clients];
    for (k, e) in attests.iter().enumerate() {
        per[(k as u64 % suppliers) as usize % clients].push(e.clone());
    }
    let start = Instant::now();
    let u = url.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        std::thread::scope(|s| {
            let hs: Vec<_> = per
                .iter()
                .map(|list| {
                    let u = u.clone();
                    s.spawn(move || -> Result<()> { post_all(&agent(), &u, list) })
                })
                .collect();
            for h in hs {
                h.join().map_err(|_| anyhow::anyhow!("client panicked"))??;
            }
            Ok(())
        })
    })
    .await??;
    let want = entries.len() as u64;
    let shared = node.store().shared();
    while shared.log_size.load(std::sync::atomic::Ordering::Relaxed) < want {
        anyhow::ensure!(start.elapsed() < Duration::from_secs(600), "HTTP ingest did not finish");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = sizes.http as f64 / start.elapsed().as_secs_f64();
    say(format!("HTTP, {clients} clients: {rate:.0} entries/s"));
    node.shutdown().await?;
    Ok(Row {
        scenario: "ingest-http".into(),
        figure: rate,
        unit: "entries/s".into(),
        limit: ingest,
        limit_is: "entries/s ingest (store path)".into(),
        ratio: rate / ingest,
        goal: "≥ 0.60".into(),
        met: Some(rate / ingest >= 0.60),
        nodes: None,
        detail: format!(
            "{} entries over HTTP from {clients} concurrent clients, in arrays of 500, each answered once durable",
            sizes.http
        ),
    })
}

/// p50 of 2,000 round trips of 64 bytes over a loopback TCP connection.
fn loopback_rtt_ms() -> Result<f64> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    let addr = l.local_addr()?;
    let echo = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut s, _) = l.accept()?;
        s.set_nodelay(true)?;
        let mut buf = [0u8; 64];
        loop {
            match s.read_exact(&mut buf) {
                Ok(()) => s.write_all(&buf)?,
                Err(_) => return Ok(()),
            }
        }
    });
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    let mut times = Vec::with_capacity(2000);
    let mut buf = [7u8; 64];
    for _ in 0..2000 {
        let t = Instant::now();
        s.write_all(&buf)?;
        s.read_exact(&mut buf)?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    drop(s);
    let _ = echo.join();
    Ok(percentile(&mut times, 0.5))
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i]
}

/// Node processes started for a scenario; killed when dropped (also on an error).
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `GET /v1/health`, asked again (twice at most) if the connection drops.
fn health(a: &ureq::Agent, url: &str) -> Result<serde_json::Value> {
    let (mut r, _) = retrying(&format!("health of {url}"), 3, Duration::from_millis(50), || {
        a.get(&format!("{url}/v1/health")).call()
    })?;
    Ok(serde_json::from_slice(&r.body_mut().read_to_vec()?)?)
}

/// Posts entries as JSON arrays of up to 500; every item must be taken.
fn post_all(a: &ureq::Agent, url: &str, entries: &[SignedEntry]) -> Result<()> {
    for chunk in entries.chunks(500) {
        let mut body = b"[".to_vec();
        for (i, e) in chunk.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(&e.to_json());
        }
        body.push(b']');
        // An array is idempotent like a single entry: sent again when the connection drops.
        let what = format!("submitting an array of {} entries to {url}", chunk.len());
        let (mut r, _) = retrying(&what, 4, Duration::from_millis(50), || {
            a.post(&format!("{url}/v1/entries"))
                .header("Content-Type", "application/json")
                .send(&body)
        })?;
        anyhow::ensure!(r.status() == 200, "array submission refused: {}", r.status());
        let items: Vec<greenledger_core::api::ItemResult> = serde_json::from_slice(&r.body_mut().read_to_vec()?)?;
        if let Some(bad) = items.iter().find(|i| !matches!(i.status, 200..=202)) {
            bail!("an entry was refused: {:?}", bad.body);
        }
    }
    Ok(())
}

/// Follows one node's log from record `from` on (`GET /v1/log?wait=`), noting when each entry
/// is seen, until `stop`.
fn follow(
    url: String,
    mut from: u64,
    seen: Arc<Mutex<HashMap<EntryId, Vec<Instant>>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let a = agent();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let Ok(mut r) = a.get(&format!("{url}/v1/log?from={from}&limit=1000&wait=200")).call() else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        let now = Instant::now();
        let Ok(page) =
            serde_json::from_slice::<greenledger_core::api::LogPage>(&r.body_mut().read_to_vec().unwrap_or_default())
        else {
            continue;
        };
        if let Ok(mut m) = seen.lock() {
            for rec in &page.records {
                m.entry(rec.id).or_default().push(now);
            }
        }
        if let Some(last) = page.records.last() {
            from = last.index + 1;
        }
    }
}

/// `n` real `greenledger-node` processes on loopback in a full mesh. Entries are submitted to
/// node 0 over HTTP (each answered once durable) at each offered load in turn; a follower of
/// every node's log (`GET /v1/log?wait=`) notes when each entry is there. Latency: from the
/// submission to the entry being on every node.
async fn propagation(tmp: &Path, n: usize, loads: &[f64], per_load: u64, stated: f64, rtt: f64) -> Result<Vec<Row>> {
    eprintln!("propagation: {n} node processes, offered loads {loads:?} entries/s, {per_load} entries each");
    let dirs: Vec<PathBuf> = (0..n).map(|i| tmp.join(format!("prop{n}-{i}"))).collect();
    let mut peers = Vec::new();
    for d in &dirs {
        peers.push(Identity::init(d)?.peer_id().to_string());
    }
    let mut c = Consortium::new(&format!("bench-prop-{n}"), peers);
    let genesis_path = tmp.join(format!("prop{n}-genesis.json"));
    std::fs::write(&genesis_path, c.genesis.canonical_bytes())?;
    // Independent entries: one supplier each, one attestation each.
    let total = per_load * loads.len() as u64;
    let mut admits = Vec::new();
    let mut firsts = Vec::new();
    let mut rng = workload::Rng::new(9);
    for k in 0..total {
        let (mut s, admit) = c.admit(500_000 + k);
        let (se, _) = workload::attest(&mut s, &mut rng, &format!("urn:greenledger:bench:prop:{k}"), &[]);
        admits.push(admit);
        firsts.push(se);
    }
    let exe = std::env::current_exe()?;
    let mut procs = Processes(Vec::new());
    let mut urls: Vec<String> = Vec::new();
    let a = agent();
    let mut bootstrap: Option<String> = None;
    for d in &dirs {
        let mut cmd = Command::new(&exe);
        cmd.args(["__node", "run", "--data-dir"])
            .arg(d)
            .arg("--genesis")
            .arg(&genesis_path)
            .args(["--http", "127.0.0.1:0", "--listen", "/ip4/127.0.0.1/tcp/0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(b) = &bootstrap {
            cmd.args(["--bootstrap", b]);
        }
        let mut child = cmd.spawn()?;
        let url = child_url(&mut child)?;
        procs.0.push(child);
        if bootstrap.is_none() {
            let h = tokio::task::block_in_place(|| health(&a, &url))?;
            bootstrap = h["p2p"][0].as_str().map(String::from);
        }
        urls.push(url);
    }
    // Wait for the full mesh, then a few gossip heartbeats.
    let t = Instant::now();
    loop {
        let counts = tokio::task::block_in_place(|| {
            urls.iter()
                .map(|u| health(&a, u).map(|h| h["peers"].as_u64().unwrap_or(0)))
                .collect::<Result<Vec<u64>>>()
        })?;
        if counts.iter().all(|c| *c as usize >= n - 1) || t.elapsed() > Duration::from_secs(30) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    tokio::task::block_in_place(|| post_all(&a, &urls[0], &admits))?;
    let want = admits.len() as u64;
    let t = Instant::now();
    for u in &urls {
        while tokio::task::block_in_place(|| health(&a, u))?["log_size"]
            .as_u64()
            .unwrap_or(0)
            < want
        {
            anyhow::ensure!(t.elapsed() < Duration::from_secs(300), "admissions did not propagate");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Let the admissions' gossip (forwarding, IHAVE/IWANT, duplicates) and flushes settle, so
    // that the first load does not share the nodes with them.
    tokio::time::sleep(Duration::from_secs(SETTLE_SECS)).await;
    let seen: Arc<Mutex<HashMap<EntryId, Vec<Instant>>>> = Arc::new(Mutex::new(HashMap::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // The followers start after the admissions: reading those thousands of records while the
    // first load runs would load the machine that load is measured on.
    let starts = tokio::task::block_in_place(|| {
        urls.iter()
            .map(|u| health(&a, u).map(|h| h["log_size"].as_u64().unwrap_or(0)))
            .collect::<Result<Vec<u64>>>()
    })?;
    let followers: Vec<_> = urls
        .iter()
        .zip(starts)
        .map(|(u, from)| {
            let (u, seen, stop) = (u.clone(), seen.clone(), stop.clone());
            std::thread::spawn(move || follow(u, from, seen, stop))
        })
        .collect();
    let pids: Vec<u32> = procs.0.iter().map(Child::id).collect();
    let mut results = Vec::new();
    for (level, load) in loads.iter().enumerate() {
        let batch = &firsts[level * per_load as usize..(level + 1) * per_load as usize];
        let (cpu, t) = (nodes_cpu_seconds(&pids), Instant::now());
        let o = offer(&urls[0], batch, *load, n, &seen).await?;
        let used = nodes_cpu_seconds(&pids).zip(cpu).map(|(after, before)| after - before);
        let cpu_note = used
            .map(|s| {
                format!(
                    "; the nodes used {:.2} cores, {:.0} µs of CPU per entry and node",
                    s / t.elapsed().as_secs_f64(),
                    s * 1e6 / (per_load as f64 * n as f64)
                )
            })
            .unwrap_or_default();
        say(format!(
            "{n} nodes at {:.0}/s offered: p50 {:.1} ms, p99 {:.1} ms; p99 until in the first log {:.1} ms ({} of {per_load} timed on every node; {} submissions resent after a dropped connection){cpu_note}",
            o.offered, o.p50, o.p99, o.first_p99, o.complete, o.dropped
        ));
        results.push((*load, o));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for f in followers {
        let _ = f.join();
    }
    drop(procs);
    propagation_rows(n, &results, loads, per_load, stated, rtt)
}

/// The three propagation rows of `n` processes from the figures of each load offered.
fn propagation_rows(
    n: usize,
    results: &[(f64, Offered)],
    loads: &[f64],
    per_load: u64,
    stated: f64,
    rtt: f64,
) -> Result<Vec<Row>> {
    let (offered, p50, p99) = results
        .iter()
        .find(|r| r.0 == stated)
        .or_else(|| results.first())
        .map(|(_, o)| (o.offered, o.p50, o.p99))
        .context("no load measured")?;
    let best = results
        .iter()
        .filter(|(_, o)| o.p99 <= 100.0)
        .map(|(_, o)| o.offered)
        .fold(0.0f64, f64::max);
    let all: Vec<String> = results
        .iter()
        .map(|(_, o)| {
            let d = if o.dropped > 0 {
                format!(" ({} dropped connections)", o.dropped)
            } else {
                String::new()
            };
            format!(
                "{:.0}/s: p50 {:.1}, p99 {:.1} ms (in the first log: p99 {:.1} ms){d}",
                o.offered, o.p50, o.p99, o.first_p99
            )
        })
        .collect();
    let detail = format!(
        "{n} greenledger-node processes on loopback, full mesh; {per_load} entries at {offered:.0}/s offered to node 0 over HTTP; all loads: {}",
        all.join("; ")
    );
    Ok(vec![
        Row {
            scenario: "propagation-p50".into(),
            figure: p50,
            unit: "ms".into(),
            limit: rtt,
            limit_is: "ms loopback round trip (p50)".into(),
            ratio: p50 / rtt,
            goal: String::new(),
            met: None,
            nodes: Some(n),
            detail: detail.clone(),
        },
        Row {
            scenario: "propagation-p99".into(),
            figure: p99,
            unit: "ms".into(),
            limit: rtt,
            limit_is: "ms loopback round trip (p50)".into(),
            ratio: p99 / rtt,
            goal: if n >= 10 {
                "p99 ≤ 100 ms".into()
            } else {
                String::new()
            },
            met: (n >= 10).then_some(p99 <= 100.0),
            nodes: Some(n),
            detail: detail.clone(),
        },
        Row {
            scenario: "propagation-max-load".into(),
            figure: best,
            unit: "entries/s".into(),
            limit: loads.iter().copied().fold(0.0, f64::max),
            limit_is: "entries/s, the highest load offered".into(),
            ratio: best / loads.iter().copied().fold(1.0, f64::max),
            goal: String::new(),
            met: None,
            nodes: Some(n),
            detail: format!("the highest offered load at which p99 stayed ≤ 100 ms on {n} node processes"),
        },
    ])
}

/// One offered load's figures.
struct Offered {
    /// Until the entry is on every node, ms.
    p50: f64,
    p99: f64,
    /// Until the entry is in the first node's log (ingest, not propagation), ms.
    first_p99: f64,
    /// The load achieved, entries/s.
    offered: f64,
    /// Entries timed on every node.
    complete: usize,
    /// Submissions sent again after a dropped connection.
    dropped: u64,
}

/// Submits `entries` to `url` at `load` per second from many client threads; waits until every
/// one is on `n` nodes (as `seen` records).
async fn offer(
    url: &str,
    entries: &[SignedEntry],
    load: f64,
    n: usize,
    seen: &Arc<Mutex<HashMap<EntryId, Vec<Instant>>>>,
) -> Result<Offered> {
    let bodies: Vec<(EntryId, Vec<u8>)> = entries.iter().map(|e| (e.id(), e.to_json())).collect();
    let t0 = Instant::now() + Duration::from_millis(50);
    let sent: Arc<Mutex<HashMap<EntryId, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
    let sent2 = sent.clone();
    let u = url.to_string();
    let gap = 1e6 / load;
    let dropped_total = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let dropped_out = dropped_total.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let dropped = dropped_total;
        let threads = 64; // each answer waits for a WAL sync: enough clients to offer the load
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads)
                .map(|t| {
                    let (bodies, sent, u, dropped) = (&bodies, sent2.clone(), u.clone(), &dropped);
                    s.spawn(move || -> Result<()> {
                        let a = agent();
                        for (k, (id, b)) in bodies.iter().enumerate().skip(t).step_by(threads) {
                            let at = t0 + Duration::from_micros((gap * k as f64) as u64);
                            if let Some(wait) = at.checked_duration_since(Instant::now()) {
                                std::thread::sleep(wait);
                            }
                            if let Ok(mut m) = sent.lock() {
                                m.insert(*id, Instant::now());
                            }
                            let (st, d) = post_retrying(&a, &u, b)?;
                            dropped.fetch_add(u64::from(d), std::sync::atomic::Ordering::Relaxed);
                            anyhow::ensure!(st == 201 || (d > 0 && st == 200), "submission refused: {st}");
                        }
                        Ok(())
                    })
                })
                .collect();
            for h in hs {
                h.join().map_err(|_| anyhow::anyhow!("client panicked"))??;
            }
            Ok(())
        })
    })
    .await??;
    let offered = entries.len() as f64 / (Instant::now() - t0).as_secs_f64();
    let t = Instant::now();
    loop {
        let done = seen
            .lock()
            .map(|m| entries.iter().all(|e| m.get(&e.id()).is_some_and(|v| v.len() >= n)))
            .unwrap_or(false);
        if done {
            break;
        }
        anyhow::ensure!(t.elapsed() < Duration::from_secs(300), "entries did not propagate");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sent = sent.lock().map(|m| m.clone()).unwrap_or_default();
    let seen = seen.lock().map(|m| m.clone()).unwrap_or_default();
    let mut lat: Vec<f64> = Vec::new();
    // Until the entry is in any node's log (the submitting node's decision, or a peer's when
    // the forward was quicker): how much of the latency is ingest rather than propagation.
    let mut first: Vec<f64> = Vec::new();
    for (id, at) in &sent {
        if let Some(ts) = seen.get(id)
            && ts.len() >= n
            && let (Some(last), Some(earliest)) = (ts.iter().max(), ts.iter().min())
        {
            lat.push(last.saturating_duration_since(*at).as_secs_f64() * 1000.0);
            first.push(earliest.saturating_duration_since(*at).as_secs_f64() * 1000.0);
        }
    }
    let complete = lat.len();
    let dropped = dropped_out.load(std::sync::atomic::Ordering::Relaxed);
    Ok(Offered {
        p50: percentile(&mut lat, 0.5),
        p99: percentile(&mut lat, 0.99),
        first_p99: percentile(&mut first, 0.99),
        offered,
        complete,
        dropped,
    })
}

/// `greenledger verify --bundle` on a provenance DAG, in process: parse the bundle and run
/// every check, against raw batch verification of the same signatures (one core, as verify).
fn verification(n: u64) -> Result<Row> {
    eprintln!("verification: a provenance DAG of {n} attestations");
    let mut c = Consortium::new("bench-verify", Vec::new());
    let (entries, target) = workload::provenance_dag(&mut c, n);
    let mut set = EntrySet::new();
    for e in &entries {
        set.insert(e.decode().map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    let b = bundle::assemble(&c.genesis, target, &set).map_err(|e| anyhow::anyhow!("assemble: {e:?}"))?;
    let bytes = b.to_json();
    let in_bundle = b.entries.len();
    let opts = VerifyOptions {
        expected_network: Some(c.genesis.network_id()),
    };
    // Best of three, both sides.
    let mut verify_s = f64::MAX;
    let mut parse_s = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let parsed = greenledger_core::Bundle::from_json(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
        parse_s = parse_s.min(t.elapsed().as_secs_f64());
        let report = verify_bundle(&parsed, &opts);
        verify_s = verify_s.min(t.elapsed().as_secs_f64());
        anyhow::ensure!(report.valid, "the DAG must verify: {:?}", report.reasons.first());
    }
    let signed: Vec<&SignedEntry> = b.entries.iter().filter_map(|r| r.as_ref().ok()).collect();
    let sb = signed_bytes(signed.iter().copied());
    let items = triples(signed.iter().copied(), &sb);
    let mut raw_s = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let ok = on_all_cores(&items, batch_ok);
        raw_s = raw_s.min(t.elapsed().as_secs_f64());
        anyhow::ensure!(ok, "signatures must verify");
    }
    let t = Instant::now();
    anyhow::ensure!(keys::verify_each(&items).iter().all(Result::is_ok));
    let single_s = t.elapsed().as_secs_f64();
    say(format!(
        "verify: {:.1} ms; raw batch verification of its {} signatures: {:.1} ms",
        verify_s * 1000.0,
        items.len(),
        raw_s * 1000.0
    ));
    Ok(Row {
        scenario: "verification".into(),
        figure: verify_s * 1000.0,
        unit: "ms".into(),
        limit: raw_s * 1000.0,
        limit_is: format!("ms raw ZIP 215 batch, {} cores", cores()),
        ratio: verify_s / raw_s,
        goal: "≤ 1.3".into(),
        met: Some(verify_s / raw_s <= 1.3),
        nodes: None,
        detail: format!(
            "{n} attestations ({in_bundle} entries with admissions), {} KiB bundle, parsed in {:.0} ms; single verification of its signatures: {:.0} ms on 1 core",
            bytes.len() / 1024,
            parse_s * 1000.0,
            single_s * 1000.0
        ),
    })
}

/// The explorer's page of the target of a provenance DAG (`GET /entry/{id}`: bundle assembly
/// from the store, verification, graph and breakdown, HTML), served by an in-process node,
/// against verifying the same bundle as `greenledger verify --bundle` does (parse and verify).
async fn explorer_page(tmp: &Path, n: u64) -> Result<Row> {
    eprintln!("explorer: the page of a provenance DAG of {n} attestations");
    let dir = tmp.join("explorer-node");
    let peer = Identity::init(&dir)?.peer_id().to_string();
    let mut c = Consortium::new("bench-explorer", vec![peer]);
    let (entries, target) = workload::provenance_dag(&mut c, n);
    let node = Node::start(node_config(), &dir, &c.genesis).await?;
    let url = format!("http://{}", node.addrs().http.context("http address")?);
    let want = entries.len() as u64;
    let u = url.clone();
    tokio::task::spawn_blocking(move || post_all(&agent(), &u, &entries)).await??;
    let shared = node.store().shared();
    let start = Instant::now();
    while shared.log_size.load(std::sync::atomic::Ordering::Relaxed) < want {
        anyhow::ensure!(start.elapsed() < Duration::from_secs(600), "the DAG was not stored");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let u = url.clone();
    let (page_s, verify_s, page_bytes, bundle_bytes) =
        tokio::task::spawn_blocking(move || -> Result<(f64, f64, usize, usize)> {
            let a = agent();
            let mut r = a.get(&format!("{u}/v1/provenance/{target}")).call()?;
            anyhow::ensure!(r.status() == 200, "no bundle: {}", r.status());
            let bundle = r.body_mut().with_config().limit(1 << 30).read_to_vec()?;
            let opts = VerifyOptions {
                expected_network: Some(c.genesis.network_id()),
            };
            // Best of three, both sides.
            let mut verify_s = f64::MAX;
            for _ in 0..3 {
                let t = Instant::now();
                let parsed = greenledger_core::Bundle::from_json(&bundle).map_err(|e| anyhow::anyhow!("{e}"))?;
                let report = verify_bundle(&parsed, &opts);
                verify_s = verify_s.min(t.elapsed().as_secs_f64());
                anyhow::ensure!(report.valid, "the DAG must verify: {:?}", report.reasons.first());
            }
            let mut page_s = f64::MAX;
            let mut page_bytes = 0;
            for _ in 0..3 {
                let t = Instant::now();
                let mut r = a
                    .get(&format!("{u}/entry/{target}"))
                    .header("Accept", "text/html")
                    .call()?;
                let body = r.body_mut().with_config().limit(1 << 30).read_to_vec()?;
                page_s = page_s.min(t.elapsed().as_secs_f64());
                anyhow::ensure!(r.status() == 200, "the page failed: {}", r.status());
                anyhow::ensure!(
                    body.windows(b"id=\"verdict-word\">VALID<".len())
                        .any(|w| w == b"id=\"verdict-word\">VALID<"),
                    "the page must show the verdict VALID"
                );
                page_bytes = body.len();
            }
            Ok((page_s, verify_s, page_bytes, bundle.len()))
        })
        .await??;
    node.shutdown().await?;
    let ratio = page_s / verify_s;
    say(format!(
        "page: {:.0} ms ({} KiB of HTML); verify of its bundle: {:.0} ms; ratio {ratio:.2}",
        page_s * 1000.0,
        page_bytes / 1024,
        verify_s * 1000.0
    ));
    Ok(Row {
        scenario: "explorer".into(),
        figure: page_s * 1000.0,
        unit: "ms".into(),
        limit: verify_s * 1000.0,
        limit_is: "ms to parse and verify its bundle (greenledger verify --bundle)".into(),
        ratio,
        goal: "≤ 1.5".into(),
        met: Some(ratio <= 1.5),
        nodes: None,
        detail: format!(
            "GET /entry/{{target}} of a {n}-attestation DAG: bundle assembled from the store, verified, graph laid out, {} KiB of HTML; the bundle is {} KiB",
            page_bytes / 1024,
            bundle_bytes / 1024
        ),
    })
}

/// A real `greenledger-node` process started fresh, pulling everything from a peer that holds
/// the ingest workload; then its disk use per entry and its memory.
async fn catch_up(
    source_dir: &Path,
    fresh_dir: &Path,
    genesis_path: &Path,
    total: u64,
    ingest_rate: f64,
    entry_bytes: f64,
) -> Result<Vec<Row>> {
    eprintln!("catch-up: a fresh node process pulls {total} entries from a peer");
    let genesis = Genesis::from_json(&std::fs::read(genesis_path)?).map_err(|e| anyhow::anyhow!("{e}"))?;
    let source = Node::start(node_config(), source_dir, &genesis).await?;
    let bootstrap = source.addrs().p2p.first().context("source p2p address")?.clone();
    let exe = std::env::current_exe()?;
    let start = Instant::now();
    let mut child = Command::new(exe)
        .args(["__node", "run", "--data-dir"])
        .arg(fresh_dir)
        .arg("--genesis")
        .arg(genesis_path)
        .args([
            "--http",
            "127.0.0.1:0",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--bootstrap",
            &bootstrap,
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let url = child_url(&mut child)?;
    let pid = child.id();
    let a = agent();
    let mut peak_rss = 0.0f64;
    // RocksDB's share of the node's memory, sampled once a second; the sample taken at the
    // highest resident memory is reported.
    let mut split: Option<(f64, MemorySplit)> = None;
    let mut polls = 0u64;
    let done = loop {
        let size = tokio::task::block_in_place(|| -> Result<u64> {
            let mut r = a.get(&format!("{url}/v1/health")).call()?;
            let v: serde_json::Value = serde_json::from_slice(&r.body_mut().read_to_vec()?)?;
            Ok(v["log_size"].as_u64().unwrap_or(0))
        })?;
        peak_rss = peak_rss.max(rss_mib(pid, "VmRSS"));
        polls += 1;
        if polls.is_multiple_of(20)
            && let Ok(m) = tokio::task::block_in_place(|| memory_split(&a, &url))
            && split.is_none_or(|(rss, _)| m.resident > rss)
        {
            split = Some((m.resident, m));
        }
        if size >= total {
            break start.elapsed();
        }
        anyhow::ensure!(start.elapsed() < Duration::from_secs(3600), "catch-up did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let rate = total as f64 / done.as_secs_f64();
    let hwm = rss_mib(pid, "VmHWM").max(peak_rss);
    say(format!(
        "caught up in {:.1} s: {rate:.0} entries/s; peak RSS {hwm:.0} MiB",
        done.as_secs_f64()
    ));
    // Stop it cleanly (memtables flushed), then measure the disk.
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let _ = tokio::task::block_in_place(|| child.wait());
    source.shutdown().await?;
    let disk = dir_size(&fresh_dir.join("db"))? as f64;
    let per_entry = disk / total as f64;
    say(format!(
        "on disk: {:.1} MiB, {per_entry:.0} bytes per entry (entry: {entry_bytes:.0} bytes)",
        disk / (1 << 20) as f64
    ));
    Ok(vec![
        Row {
            scenario: "catch-up".into(),
            figure: rate,
            unit: "entries/s".into(),
            limit: ingest_rate,
            limit_is: "entries/s ingest (store path)".into(),
            ratio: rate / ingest_rate,
            goal: "≥ 0.50".into(),
            met: Some(rate / ingest_rate >= 0.5),
            nodes: None,
            detail: format!("{total} entries pulled by a fresh node process over /greenledger/sync/1"),
        },
        Row {
            scenario: "storage".into(),
            figure: per_entry,
            unit: "bytes/entry".into(),
            limit: entry_bytes,
            limit_is: "bytes (the entry envelope)".into(),
            ratio: per_entry / entry_bytes,
            goal: "≤ 1.5".into(),
            met: Some(per_entry / entry_bytes <= 1.5),
            nodes: None,
            detail: format!("the caught-up node's RocksDB after a clean stop, all indexes included, {total} entries"),
        },
        Row {
            scenario: "rss".into(),
            figure: hwm,
            unit: "MiB".into(),
            limit: RSS_GOAL_MIB,
            limit_is: "MiB (200 MB, the goal; no physical limit)".into(),
            ratio: hwm / RSS_GOAL_MIB,
            goal: "≤ 200 MB".into(),
            met: Some(hwm <= RSS_GOAL_MIB),
            nodes: None,
            detail: format!(
                "peak resident memory of the node process while catching up {total} entries{}",
                split.map_or_else(String::new, |(_, m)| format!(
                    "; at the highest sample ({:.0} MiB): memtables {:.0} MiB, block cache {:.0} MiB, \
                     table readers {:.0} MiB, everything else {:.0} MiB",
                    m.resident,
                    m.memtables,
                    m.block_cache,
                    m.table_readers,
                    m.resident - m.memtables - m.block_cache - m.table_readers
                ))
            ),
        },
    ])
}

/// Reads the node's HTTP address from its first lines of output.
fn child_url(child: &mut Child) -> Result<String> {
    let stderr = child.stderr.take().context("child stderr")?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(u) = line.strip_prefix("greenledger-node: HTTP API on ") {
                let _ = tx.try_send(u.trim().to_string());
            } else if line.contains("error") || line.contains("WARN") {
                // Warnings too (a full gossip send queue says why a load is not carried), cut
                // short: some carry every message id they are about.
                let cut = line.char_indices().nth(240).map_or(line.len(), |(i, _)| i);
                eprintln!("  node: {}", &line[..cut]);
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .context("the node process did not start within 60 s")
}

/// Seconds the propagation scenario waits after the admissions are everywhere.
const SETTLE_SECS: u64 = 8;

/// The RSS goal, 200 MB, in MiB.
const RSS_GOAL_MIB: f64 = 200.0 * 1_000_000.0 / (1 << 20) as f64;

/// A node's memory by use, in MiB, from its `/metrics`.
#[derive(Clone, Copy)]
struct MemorySplit {
    resident: f64,
    memtables: f64,
    block_cache: f64,
    table_readers: f64,
}

fn memory_split(agent: &ureq::Agent, url: &str) -> Result<MemorySplit> {
    let text = agent
        .get(&format!("{url}/metrics"))
        .call()?
        .body_mut()
        .read_to_string()?;
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0.0, |b| b / (1 << 20) as f64)
    };
    Ok(MemorySplit {
        resident: value("greenledger_process_resident_memory_bytes "),
        memtables: value("greenledger_storage_memory_bytes{kind=\"memtables\"}"),
        block_cache: value("greenledger_storage_memory_bytes{kind=\"block_cache\"}"),
        table_readers: value("greenledger_storage_memory_bytes{kind=\"table_readers\"}"),
    })
}

fn rss_mib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(0.0)
}

fn dir_size(p: &Path) -> Result<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(p).with_context(|| format!("cannot read {}", p.display()))? {
        let e = e?;
        let md = e.metadata()?;
        total += if md.is_dir() { dir_size(&e.path())? } else { md.len() };
    }
    Ok(total)
}
