//! What the fault tests share: testkit's signing chain, the lock that keeps heavy tests apart, log
//! digests and settings from the environment.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::{
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use greenledger_core::{Genesis, PublicKey, SecretKey, SignedEntry};
use serde_json::Value;

/// The p2p settings of every node in these tests: quick anti-entropy and redials.
pub(crate) const FAST_P2P: &str =
    "[p2p]\nsync_interval = \"300ms\"\nredial_interval = \"300ms\"\nheartbeat = \"200ms\"\n";

/// How long nodes may take to converge once the faults are over.
pub(crate) const CONVERGE: Duration = Duration::from_secs(150);

/// Each of these tests runs several node processes on a small machine: one at a time.
pub(crate) fn heavy() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A number from the environment, or `default`.
pub(crate) fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// `GREENLEDGER_CRASH_CYCLES` (default 3).
pub(crate) fn crash_cycles() -> usize {
    env_count("GREENLEDGER_CRASH_CYCLES", 3).max(1)
}

/// A small xorshift generator; the seed is printed so that a failing run can be told apart.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn from_clock() -> Rng {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(1);
        Rng((nanos as u64) | 1)
    }

    pub(crate) fn from_seed(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub(crate) fn seed(&self) -> u64 {
        self.0
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in `lo..hi` (ms).
    pub(crate) fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo).max(1))
    }
}

/// A deadline for a whole test.
pub(crate) struct Deadline {
    what: &'static str,
    end: Instant,
}

impl Deadline {
    pub(crate) fn new(what: &'static str, limit: Duration) -> Deadline {
        Deadline {
            what,
            end: Instant::now() + limit,
        }
    }

    #[track_caller]
    pub(crate) fn check(&self) {
        assert!(Instant::now() < self.end, "{} ran past its time limit", self.what);
    }
}

pub(crate) use greenledger_testkit::Chain;

/// An HTTP client that reports statuses instead of failing on them.
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// GET `url`: (status, JSON body or Null), or None if the node could not be reached.
pub(crate) fn try_get(agent: &ureq::Agent, url: &str) -> Option<(u16, Value)> {
    let mut r = agent.get(url).call().ok()?;
    let status = r.status().as_u16();
    let body = r.body_mut().with_config().limit(1 << 30).read_to_vec().ok()?;
    Some((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

/// POST a signed entry to `base`/v1/entries: (status, JSON body), or None if the request
/// failed (connection refused or cut: not acknowledged).
pub(crate) fn try_submit(agent: &ureq::Agent, base: &str, se: &SignedEntry) -> Option<(u16, Value)> {
    let mut r = agent
        .post(&format!("{base}/v1/entries"))
        .header("Content-Type", "application/json")
        .send(&se.to_json()[..])
        .ok()?;
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_vec().ok()?;
    Some((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

/// Every entry id in a node's log, in log order.
pub(crate) fn log_ids(agent: &ureq::Agent, base: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut from = 0u64;
    loop {
        let (st, page) = try_get(agent, &format!("{base}/v1/log?from={from}&limit=1000")).expect("GET /v1/log");
        assert_eq!(st, 200, "{page}");
        for r in page["records"].as_array().unwrap() {
            ids.push(r["id"].as_str().unwrap().to_string());
        }
        match page["next"].as_u64() {
            Some(next) => from = next,
            None => return ids,
        }
    }
}

/// blake3 over sorted ids.
pub(crate) fn digest(ids: &[String]) -> String {
    let mut sorted = ids.to_vec();
    sorted.sort();
    blake3::hash(sorted.join("\n").as_bytes()).to_hex().to_string()
}

/// The log size from /v1/health, or None if the node could not be reached.
pub(crate) fn log_size(agent: &ureq::Agent, base: &str) -> Option<u64> {
    try_get(agent, &format!("{base}/v1/health"))?.1["log_size"].as_u64()
}

/// The fork proofs a node holds against `signer`.
pub(crate) fn fork_proofs(agent: &ureq::Agent, base: &str, signer: &PublicKey) -> u64 {
    let (st, s) = try_get(agent, &format!("{base}/v1/signers/{signer}")).expect("GET signer");
    assert_eq!(st, 200, "{s}");
    s["fork_proofs"].as_u64().unwrap_or(0)
}

/// A genesis naming `admin` and the node peer ids (the allow-list).
pub(crate) fn genesis(name: &str, admin: &SecretKey, peer_ids: Vec<String>) -> Genesis {
    greenledger_testkit::genesis_with_peers(name, &[admin.public()], &peer_ids)
}
