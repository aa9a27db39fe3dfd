//! Peer-to-peer replication: one libp2p swarm (TCP + Noise + Yamux), owned by one task.
//!
//! The rest of the node talks to it through a [`NetworkHandle`] (a bounded command channel).
//! The swarm runs:
//!
//! * an allow list — only peer ids named in the genesis or admitted by `member.admit --role
//!   node` (and not revoked, and not banned) may connect; others are refused right after the
//!   Noise handshake, before any protocol runs;
//! * gossipsub on one topic per network, with manual validation: every message is checked by
//!   the ledger (signature, membership, chain, roll-up) before it is forwarded, and reported
//!   `Accept`, `Reject` (invalid: the sender's score drops and it gets a strike) or `Ignore`
//!   (duplicate, waiting for parents, stale). The message id is the entry id;
//! * the anti-entropy protocol of [`protocol`], run on every new connection and every
//!   `p2p.sync_interval`: per-peer log cursors, fork proofs, chain ranges and entries by id for
//!   the pending area, and peer exchange;
//! * identify (listen addresses, so peers can be dialled again) and ping (liveness).
//!
//! Work that touches the store (validating a gossip message, applying a sync response,
//! answering a sync request) runs in spawned tasks whose results come back to the loop.
//!
//! # Layout
//!
//! * [`protocol`] — the sync protocol's messages and limits.
//! * [`codec`] — its CBOR codec, which hands undecodable requests to the node.
//! * `behaviour` — the [`Behaviour`], the gossip [`topic`] and message id, [`build_swarm`].
//! * `handle` — [`NetworkHandle`] and its commands; [`PeerReport`] and [`SyncReport`].
//! * `event_loop` — the swarm task: one `select!` delegating to the modules below.
//! * `peers` — per-peer state, the allow list, dialling, connection events.
//! * `scoring` — strikes and bans; the per-peer budget of sync requests served.
//! * `gossip` — publishing, and validating gossip messages through the store.
//! * `sync` — anti-entropy's requests and cursors.
//! * `apply` — checking anti-entropy's answers and applying them through the store.
//! * `serve` — answering peers' sync requests.
//!
//! This file starts it all: [`check_config`] and `spawn`, which returns the [`Network`].

mod apply;
mod behaviour;
pub mod codec;
mod event_loop;
mod gossip;
mod handle;
mod peers;
pub mod protocol;
mod scoring;
mod serve;
mod sync;

use std::{sync::Arc, time::Duration};

use anyhow::{Context, Result};
use futures::StreamExt;
use libp2p::{Multiaddr, swarm::SwarmEvent};
use tokio::{
    sync::mpsc,
    task::{JoinError, JoinHandle},
};
use tokio_util::sync::CancellationToken;

use self::event_loop::Loop;
pub use self::{
    behaviour::{Behaviour, BehaviourEvent, batch_topic, build_swarm, topic},
    handle::{NetworkHandle, PeerReport, SyncReport},
};
use crate::{
    config::Config,
    identity::Identity,
    metrics::Metrics,
    store::Store,
    supervisor::{Component, Exit, Supervisor},
};

/// The running swarm task.
pub struct Network {
    handle: NetworkHandle,
    task: JoinHandle<Exit>,
    /// The addresses it listens on.
    pub listen_addrs: Vec<Multiaddr>,
}

impl Network {
    /// The handle.
    pub fn handle(&self) -> NetworkHandle {
        self.handle.clone()
    }

    /// Waits for the task to stop (after the token is cancelled), and says how it ended.
    pub async fn join(self) -> Result<Exit, JoinError> {
        self.task.await
    }
}

/// Parses `--listen` and `--bootstrap` (run before anything is opened).
pub fn check_config(cfg: &Config) -> Result<(Multiaddr, Vec<Multiaddr>)> {
    let listen: Multiaddr = cfg.listen.parse().with_context(|| {
        format!(
            "--listen {:?} is not a multiaddr (like /ip4/127.0.0.1/tcp/7071)",
            cfg.listen
        )
    })?;
    let mut bootstrap = Vec::new();
    for b in &cfg.bootstrap {
        let addr: Multiaddr = b.parse().with_context(|| {
            format!("--bootstrap {b:?} is not a multiaddr (like /ip4/127.0.0.1/tcp/7071/p2p/PEER_ID)")
        })?;
        bootstrap.push(addr);
    }
    Ok((listen, bootstrap))
}

/// Starts listening and dialling (`addrs` from [`check_config`]), and spawns the swarm task
/// (supervised: it runs until `token` is cancelled).
pub(crate) async fn spawn(
    cfg: &Config,
    addrs: (Multiaddr, Vec<Multiaddr>),
    identity: &Identity,
    store: Store,
    metrics: Arc<Metrics>,
    token: CancellationToken,
    supervisor: &Supervisor,
) -> Result<Network> {
    let mut swarm = build_swarm(identity, &store.network(), cfg)?;
    let (listen, bootstrap) = addrs;
    swarm
        .listen_on(listen.clone())
        .with_context(|| format!("cannot listen on {listen}"))?;
    // Wait for the listener to report its address (port 0 picks one).
    let mut listen_addrs = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while listen_addrs.is_empty() {
        match tokio::time::timeout_at(deadline, swarm.select_next_some()).await {
            Ok(SwarmEvent::NewListenAddr { address, .. }) => listen_addrs.push(address),
            Ok(SwarmEvent::ListenerError { error, .. }) | Ok(SwarmEvent::ListenerClosed { reason: Err(error), .. }) => {
                anyhow::bail!(
                    "cannot listen on {listen}: {error} (is another node using this port? choose another with --listen)"
                )
            }
            Ok(_) => {}
            Err(_) => anyhow::bail!("cannot listen on {listen}: no address after 10 s"),
        }
    }
    let (tx, rx) = mpsc::channel(4096);
    let lp = Loop::new(swarm, cfg, identity, store, metrics, bootstrap);
    let task = supervisor.spawn(Component::P2p, async move {
        lp.run(rx, token).await;
        Ok::<(), std::convert::Infallible>(())
    });
    Ok(Network {
        handle: NetworkHandle::new(tx),
        task,
        listen_addrs,
    })
}
