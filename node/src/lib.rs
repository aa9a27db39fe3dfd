//! # greenledger-node
//!
//! A greenledger node: a durable, hash-chained RocksDB log of signed entries, the ledger
//! rules at ingest (shared with the CLI through `greenledger-core`), peer-to-peer replication
//! (gossip and anti-entropy over libp2p) and the HTTP API.
//!
//! # Layout
//!
//! * [`cli`] — the command line (`main.rs` calls [`cli::main`]).
//! * [`config`] — the TOML configuration (defaults bind to loopback).
//! * [`identity`] — the node's ed25519 key (libp2p identity; signs checkpoints).
//! * [`store`] — RocksDB: one writer thread with group commit, concurrent readers.
//! * [`verifier`] — decoding and signature verification in batches, off the async runtime.
//! * [`read`] — the read model: typed answers, how entries stand today, which are current.
//! * [`api`] — the HTTP API (axum) and its JSON error shape.
//! * [`explorer`] — the explorer: HTML pages at `GET /` (verdict, provenance graph, carbon
//!   breakdown, signers, lots, the network), rendered on the node with core's verifier.
//! * [`p2p`] — the libp2p swarm task: gossip, anti-entropy, the consortium allow list.
//! * [`pact`] — the PACT v3 REST API (HTTPS, OAuth2 client credentials, CloudEvents); the
//!   footprints themselves come from `greenledger-interop`.
//! * [`metrics`] — Prometheus metrics.
//! * [`progress`] — catch-up progress: bars on a terminal, log lines elsewhere.
//! * [`node`] — start, supervision and orderly shutdown.
//! * [`supervisor`] — the components a node runs, and the news that one stopped.

pub mod api;
pub mod cli;
pub mod config;
pub mod explorer;
pub mod identity;
pub mod memory;
pub mod metrics;
pub mod node;
pub mod p2p;
pub mod pact;
pub mod progress;
pub mod read;
pub mod store;
pub mod supervisor;
pub mod verifier;

pub use config::Config;
pub use node::Node;
