//! The node's configuration: one documented TOML struct. Defaults bind to loopback.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

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
    /// The PACT v3 REST API (HTTPS; off unless `pact.listen` is set).
    pub pact: PactConfig,
}

/// The PACT v3 REST API: footprints for PACT clients, OAuth2 client credentials, events.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PactConfig {
    /// HTTPS address of the PACT API (e.g. `127.0.0.1:7443`, port 0: any free port). Absent:
    /// the API is off. It is never served over plain HTTP.
    pub listen: Option<SocketAddr>,
    /// The base URL clients use (e.g. `https://pact.example.com`): the issuer in the OpenID
    /// discovery document and the `source` of the events this node sends. Absent: `https://`
    /// and the request's `Host` (for replies: this node's bound address).
    pub public_url: Option<String>,
    /// The certificate chain (PEM) and its private key (PEM). Both absent: a certificate
    /// authority and a certificate for `localhost`, `127.0.0.1`, `::1` and `tls_names` are
    /// made once in `DATA_DIR/pact-tls/` (give its `ca.pem` to clients), for testnets.
    pub tls_cert: Option<PathBuf>,
    /// The private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// More DNS names or IP addresses for the generated certificate.
    pub tls_names: Vec<String>,
    /// How long an access token is valid.
    #[serde(with = "humantime_serde")]
    pub token_lifetime: Duration,
    /// Footprints in a ListFootprints page when the client gives no `limit`, and the most
    /// it may ask for.
    pub default_page: usize,
    /// The most footprints in one page.
    pub max_page: usize,
    /// Clients allowed to obtain tokens (`greenledger-node pact-client --id ID` makes one).
    pub clients: Vec<PactClient>,
    /// Where this node may send replies to `RequestCreated` events, and how it authenticates
    /// there. An event whose `source` matches none of them is refused.
    pub recipients: Vec<PactRecipient>,
    /// How long a reply is retried (with exponential backoff) before it is given up.
    #[serde(with = "humantime_serde")]
    pub reply_retry_for: Duration,
}

impl Default for PactConfig {
    fn default() -> Self {
        PactConfig {
            listen: None,
            public_url: None,
            tls_cert: None,
            tls_key: None,
            tls_names: Vec::new(),
            token_lifetime: Duration::from_secs(3600),
            default_page: 100,
            max_page: 1000,
            clients: Vec::new(),
            recipients: Vec::new(),
            reply_retry_for: Duration::from_secs(72 * 3600),
        }
    }
}

/// A client of the PACT API (OAuth2 client credentials).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PactClient {
    /// The client id.
    pub id: String,
    /// `blake3:` and the hex BLAKE3 hash of the client secret (the secret itself is not kept).
    pub secret_hash: String,
}

/// A host this node may send PACT events to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PactRecipient {
    /// The host's base URL (`https://…`); an event `source` starting with it matches. Its
    /// `/.well-known/openid-configuration` (else `/auth/token`) issues this node's token.
    pub url: String,
    /// The token endpoint, when it is not found from `url`.
    #[serde(default)]
    pub token_url: Option<String>,
    /// This node's client id there.
    pub client_id: String,
    /// This node's client secret there.
    pub client_secret: String,
    /// A CA certificate (PEM) to trust for this host, e.g. a testnet node's `ca.pem`.
    /// Absent: the usual web roots.
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
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
    /// Entries accepted over HTTP within this long of the first are gossiped as one message
    /// (fewer, larger messages cost every node less; each entry waits at most this long
    /// before it leaves). Zero: each entry is gossiped as soon as it is accepted.
    #[serde(with = "humantime_serde")]
    pub gossip_window: Duration,
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
            gossip_window: Duration::from_millis(10),
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
    /// The memtables' share of `block_cache_bytes`, all column families together: they are
    /// flushed once they hold this much. Larger is faster to ingest (fewer flushes and
    /// compactions), and leaves less of the budget to cached reads (docs/BENCHMARKS.md).
    pub memtable_bytes: usize,
    /// RocksDB's one memory budget: the block cache (entries, indexes and filters), to which
    /// the memtables are charged as well.
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
    /// keep-alive connections included). Keep it longer than `request_timeout`: while a
    /// handler works (an array of entries waiting for its fsync) its connection reads
    /// nothing, and a shorter stall would close it before the answer or the 408.
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
            pact: PactConfig::default(),
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            checkpoint_every: 1000,
            checkpoint_interval: Duration::from_secs(5),
            max_batch: 512,
            memtable_bytes: 64 << 20,
            // 112 MiB: a node holds a million entries within 200 MB (docs/BENCHMARKS.md,
            // sixth round; 128 MiB peaked at 200–206 MiB).
            block_cache_bytes: 112 << 20,
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
            stall_timeout: Duration::from_secs(35),
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
