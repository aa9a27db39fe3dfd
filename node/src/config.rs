//! The node's configuration: one documented TOML struct. Defaults bind to loopback.

use std::{net::SocketAddr, path::Path, time::Duration};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// The node's configuration (`--config FILE`; command-line flags override it).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// HTTP API address (`--http`). Port 0 picks a free port; the bound address is logged and
    /// reported by `GET /v1/health`.
    pub http: SocketAddr,
    /// libp2p listen multiaddr (`--listen`).
    pub listen: String,
    /// Peers to dial at start (`--bootstrap`, repeatable).
    pub bootstrap: Vec<String>,
    /// Storage settings.
    pub storage: StorageConfig,
    /// Pending-area bounds.
    pub pending: PendingConfig,
    /// HTTP limits.
    pub http_limits: HttpLimits,
    /// Peer-to-peer replication.
    pub p2p: P2pConfig,
}

/// Peer-to-peer replication: gossip (the fast path) and anti-entropy (what loses nothing).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct P2pConfig {
    /// How often each connected peer is asked for the log records this node lacks (and for
    /// its fork proofs and peers). A sync also runs on every new connection.
    #[serde(with = "humantime_serde")]
    pub sync_interval: Duration,
    /// How often disconnected bootstrap and known peers are dialled again.
    #[serde(with = "humantime_serde")]
    pub redial_interval: Duration,
    /// Most log records in one sync response.
    pub max_records_per_response: usize,
    /// Largest sync response (bytes); a response stops early rather than exceed it.
    pub max_response_bytes: usize,
    /// Largest gossip message (bytes); an entry envelope is at most about 1.1 MiB.
    pub max_gossip_bytes: usize,
    /// Most gossip messages being validated at once; more are ignored (anti-entropy
    /// fetches them later).
    pub max_validations_in_flight: usize,
    /// Invalid messages (bad signature, wrong network, broken ledger rule, garbage on the
    /// sync protocol) after which a peer is disconnected and banned.
    pub strikes_before_ban: u32,
    /// How long a banned peer stays refused.
    #[serde(with = "humantime_serde")]
    pub ban_duration: Duration,
    /// Gossipsub heartbeat (mesh maintenance and lazy gossip).
    #[serde(with = "humantime_serde")]
    pub heartbeat: Duration,
    /// Most connected peers.
    pub max_peers: u32,
    /// Sync requests per second that one peer may make (with bursts of twice as many); more
    /// are answered "rate limited", and a peer that keeps it up is struck. An honest node
    /// asks a few per second even while catching up.
    pub serve_rate_per_peer: u32,
    /// Sync requests answered at once across all peers (each reads the store); more are
    /// answered "busy" and asked again later.
    pub max_serving: usize,
}

impl Default for P2pConfig {
    fn default() -> Self {
        P2pConfig {
            sync_interval: Duration::from_secs(2),
            redial_interval: Duration::from_secs(5),
            max_records_per_response: 1000,
            max_response_bytes: 8 << 20,
            max_gossip_bytes: (1 << 20) + (256 << 10),
            max_validations_in_flight: 1024,
            strikes_before_ban: 5,
            ban_duration: Duration::from_secs(600),
            heartbeat: Duration::from_millis(500),
            max_peers: 64,
            serve_rate_per_peer: 50,
            max_serving: 16,
        }
    }
}

/// Storage settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct StorageConfig {
    /// Sign a checkpoint every this many new log records.
    pub checkpoint_every: u64,
    /// ... or this often when the log grew.
    #[serde(with = "humantime_serde")]
    pub checkpoint_interval: Duration,
    /// Most entries written by one group commit (one WAL sync).
    pub max_batch: usize,
    /// Memory for RocksDB's memtables, all column families together. Larger is faster to
    /// ingest (fewer flushes and compactions) and uses more memory (docs/BENCHMARKS.md).
    pub memtable_bytes: usize,
    /// RocksDB's block cache (reads of entries, indexes and filters).
    pub block_cache_bytes: usize,
}

/// Bounds of the pending area (entries waiting for their `prev` or inputs).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PendingConfig {
    /// Most pending entries.
    pub max_entries: usize,
    /// Most bytes of pending entries.
    pub max_bytes: usize,
}

/// HTTP limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct HttpLimits {
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Deadline of one request.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Most open HTTP connections; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// A connection whose read or write makes no progress for this long is closed (idle
    /// keep-alive connections included).
    #[serde(with = "humantime_serde")]
    pub stall_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http: SocketAddr::from(([127, 0, 0, 1], 7070)),
            listen: "/ip4/127.0.0.1/tcp/7071".into(),
            bootstrap: Vec::new(),
            storage: StorageConfig::default(),
            pending: PendingConfig::default(),
            http_limits: HttpLimits::default(),
            p2p: P2pConfig::default(),
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            checkpoint_every: 1000,
            checkpoint_interval: Duration::from_secs(5),
            max_batch: 512,
            memtable_bytes: 96 << 20,
            block_cache_bytes: 64 << 20,
        }
    }
}

impl Default for PendingConfig {
    fn default() -> Self {
        PendingConfig {
            max_entries: 10_000,
            max_bytes: 64 << 20,
        }
    }
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_body_bytes: 2 << 20,
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
            stall_timeout: Duration::from_secs(20),
        }
    }
}

impl Config {
    /// Loads a TOML file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_config_is_the_default() {
        let dev: Config = toml::from_str(include_str!("../config.dev.toml")).unwrap();
        let def = Config::default();
        assert_eq!(toml::to_string(&dev).unwrap(), toml::to_string(&def).unwrap());
        assert!(def.http.ip().is_loopback());
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("htp = \"127.0.0.1:1\"").is_err());
    }
}
