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
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            checkpoint_every: 1000,
            checkpoint_interval: Duration::from_secs(5),
            max_batch: 512,
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
