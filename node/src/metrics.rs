//! Prometheus metrics (text format at `GET /metrics`).

use std::sync::atomic::Ordering;

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

/// Labels of HTTP request counts.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// The matched route (or "unmatched").
    pub route: String,
    /// The method.
    pub method: String,
    /// The status code.
    pub status: u16,
}

/// Labels of ingest outcomes.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// stored, duplicate, pending, or the refusal's error code.
    pub result: String,
}

/// Labels with one value.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// The kind.
    pub kind: String,
}

/// Peer-to-peer metrics.
#[derive(Default)]
pub struct P2pMetrics {
    /// Connected peers.
    pub connected: Gauge,
    /// Entries this node gossiped (accepted over HTTP).
    pub gossip_published: Counter,
    /// Gossip messages received, by validation result.
    pub gossip_received: Family<KindLabels, Counter>,
    /// Entries stored from peers' logs (anti-entropy).
    pub pulled: Counter,
    /// Records of peers' logs this node already held (skipped by id: neither fetched again
    /// after an ids page nor verified again).
    pub held: Counter,
    /// Sync requests served, by kind.
    pub sync_served: Family<KindLabels, Counter>,
    /// Connections refused, by reason (not_allowed, limit).
    pub connections_refused: Family<KindLabels, Counter>,
    /// Peers banned for invalid data.
    pub peers_banned: Counter,
    /// Sync requests refused unanswered, by reason (rate_limited, busy).
    pub sync_refused: Family<KindLabels, Counter>,
}

impl P2pMetrics {
    /// Counts a refused connection.
    pub fn refused(&self, reason: &str) {
        self.connections_refused
            .get_or_create(&KindLabels { kind: reason.into() })
            .inc();
    }

    /// Counts a validated gossip message.
    pub fn gossip(&self, result: &str) {
        self.gossip_received
            .get_or_create(&KindLabels { kind: result.into() })
            .inc();
    }

    /// Counts a sync request refused unanswered.
    pub fn sync_refused(&self, reason: &str) {
        self.sync_refused
            .get_or_create(&KindLabels { kind: reason.into() })
            .inc();
    }

    /// Counts a served sync request.
    pub fn served(&self, kind: &str) {
        self.sync_served.get_or_create(&KindLabels { kind: kind.into() }).inc();
    }

    fn register(&self, r: &mut Registry) {
        let r = r.sub_registry_with_prefix("p2p");
        r.register("peers", "Connected peers", self.connected.clone());
        r.register(
            "gossip_published",
            "Entries gossiped by this node",
            self.gossip_published.clone(),
        );
        r.register(
            "gossip_received",
            "Entries received by gossip, by validation result (a message that is no entry or array of entries counts once, as invalid)",
            self.gossip_received.clone(),
        );
        r.register(
            "entries_pulled",
            "Entries stored from peers' logs (anti-entropy)",
            self.pulled.clone(),
        );
        r.register(
            "log_records_held",
            "Records of peers' logs already held here, skipped by id (anti-entropy)",
            self.held.clone(),
        );
        r.register("sync_served", "Sync requests served, by kind", self.sync_served.clone());
        r.register(
            "connections_refused",
            "Connections refused, by reason",
            self.connections_refused.clone(),
        );
        r.register(
            "sync_refused",
            "Sync requests refused unanswered, by reason (rate_limited, busy)",
            self.sync_refused.clone(),
        );
        r.register(
            "peers_banned",
            "Peers banned for sending invalid data",
            self.peers_banned.clone(),
        );
    }
}

/// The node's metrics.
pub struct Metrics {
    registry: Registry,
    /// Log records.
    pub log_size: Gauge,
    /// Pending entries.
    pub pending: Gauge,
    /// Pending bytes.
    pub pending_bytes: Gauge,
    /// Signers flagged for forks.
    pub forked_signers: Gauge,
    /// Certificate issues flagged for double issuance.
    pub double_issuances: Gauge,
    /// Entries refused for overdrawing a lot since the node started.
    pub overdraws_refused: Gauge,
    /// Submissions by outcome.
    pub ingest: Family<ResultLabels, Counter>,
    /// Time from a submission's arrival to its durable answer.
    pub ingest_latency: Histogram,
    /// HTTP requests by route, method and status.
    pub http: Family<HttpLabels, Counter>,
    /// Peer-to-peer.
    pub p2p: P2pMetrics,
    /// PACT API: events received, by type.
    pub pact_events: Family<KindLabels, Counter>,
    /// PACT API: replies to requests, by outcome.
    pub pact_replies: Family<ResultLabels, Counter>,
    /// PACT API: token requests, by outcome (`issued`, `refused`).
    pub pact_tokens: Family<ResultLabels, Counter>,
    /// RocksDB's memory by use (`memtables`, `block_cache`, `table_readers`), in bytes.
    pub storage_memory: Family<KindLabels, Gauge>,
    /// The process's resident memory, in bytes (exposed on Linux only).
    pub resident: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Counts one submitted entry by its outcome or error code.
    pub fn count_ingest(&self, result: &str) {
        self.ingest
            .get_or_create(&ResultLabels {
                result: result.to_string(),
            })
            .inc();
    }

    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("greenledger");
        let log_size = Gauge::default();
        let pending = Gauge::default();
        let pending_bytes = Gauge::default();
        let forked_signers = Gauge::default();
        let double_issuances = Gauge::default();
        let overdraws_refused = Gauge::default();
        let ingest = Family::<ResultLabels, Counter>::default();
        let ingest_latency = Histogram::new([
            0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
        ]);
        let http = Family::<HttpLabels, Counter>::default();
        registry.register("log_entries", "Records in the hash-chained log", log_size.clone());
        registry.register(
            "pending_entries",
            "Entries waiting for their prev or inputs",
            pending.clone(),
        );
        registry.register(
            "pending_bytes",
            "Bytes of entries waiting for their prev or inputs",
            pending_bytes.clone(),
        );
        registry.register(
            "forked_signers",
            "Signers flagged for a fork (equivocation)",
            forked_signers.clone(),
        );
        registry.register(
            "double_issuances",
            "Certificate issues flagged for double issuance (a device's hours certified twice)",
            double_issuances.clone(),
        );
        registry.register(
            "overdraws_refused",
            "Entries refused for drawing more than is left of a lot, since the node started",
            overdraws_refused.clone(),
        );
        registry.register("ingest", "Submitted entries by outcome", ingest.clone());
        registry.register(
            "ingest_latency_seconds",
            "Time from a submission's arrival to its durable answer",
            ingest_latency.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            http.clone(),
        );
        let p2p = P2pMetrics::default();
        p2p.register(&mut registry);
        let pact_events = Family::<KindLabels, Counter>::default();
        let pact_replies = Family::<ResultLabels, Counter>::default();
        let pact_tokens = Family::<ResultLabels, Counter>::default();
        registry.register("pact_events", "PACT events received, by type", pact_events.clone());
        registry.register(
            "pact_replies",
            "Replies to PACT requests, by outcome (fulfilled, rejected, refused, given_up, not_sent)",
            pact_replies.clone(),
        );
        registry.register(
            "pact_token_requests",
            "PACT token requests, by outcome (issued, refused)",
            pact_tokens.clone(),
        );
        let storage_memory = Family::<KindLabels, Gauge>::default();
        let resident = Gauge::default();
        registry.register(
            "storage_memory_bytes",
            "RocksDB's memory by use: memtables, block_cache, table_readers",
            storage_memory.clone(),
        );
        // Only where it can be read (Linux): a 0 elsewhere would look like a reading.
        if resident_bytes().is_some() {
            registry.register(
                "process_resident_memory_bytes",
                "Resident memory of the node process",
                resident.clone(),
            );
        }
        Metrics {
            storage_memory,
            resident,
            p2p,
            pact_events,
            pact_replies,
            pact_tokens,
            registry,
            log_size,
            pending,
            pending_bytes,
            forked_signers,
            double_issuances,
            overdraws_refused,
            ingest,
            ingest_latency,
            http,
        }
    }

    /// The text exposition, with gauges refreshed from the store.
    pub fn render(&self, store: &crate::store::Store) -> String {
        let shared = store.shared();
        let memory = store.memory();
        for (kind, bytes) in [
            ("memtables", memory.memtables),
            ("block_cache", memory.block_cache),
            ("table_readers", memory.table_readers),
        ] {
            self.storage_memory
                .get_or_create(&KindLabels { kind: kind.into() })
                .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        }
        if let Some(bytes) = resident_bytes() {
            self.resident.set(bytes);
        }
        self.log_size.set(shared.log_size.load(Ordering::Relaxed) as i64);
        self.pending.set(shared.pending_entries.load(Ordering::Relaxed) as i64);
        self.pending_bytes
            .set(shared.pending_bytes.load(Ordering::Relaxed) as i64);
        self.forked_signers.set(shared.forks.load(Ordering::Relaxed) as i64);
        self.double_issuances
            .set(shared.conflicts.load(Ordering::Relaxed) as i64);
        self.overdraws_refused
            .set(shared.overdraws_refused.load(Ordering::Relaxed) as i64);
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// The process's resident memory, from the `VmRSS` line of `/proc/self/status` (in kB).
fn resident_bytes() -> Option<i64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: i64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}
