//! The swarm task: [`Loop`] owns the swarm and every piece of per-peer state, and its
//! [`run`](Loop::run) is one `select!` over swarm events, commands from the
//! [`NetworkHandle`](super::NetworkHandle), results of the tasks it spawned, and three timers
//! (the allow list, sync rounds, redials). Each branch delegates to the module that owns the
//! concern; nothing here blocks.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

use futures::StreamExt;
use libp2p::{
    Multiaddr, PeerId, Swarm,
    gossipsub::IdentTopic,
    identify,
    request_response::{OutboundRequestId, ResponseChannel},
    swarm::SwarmEvent,
};
use tokio::{
    sync::{Semaphore, mpsc},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;

use super::{
    apply::LogApplied,
    behaviour::{Behaviour, BehaviourEvent, batch_topic, topic},
    gossip::{Outbox, Validated},
    handle::Command,
    peers::Peer,
    protocol::SyncResponse,
    sync::ReqKind,
};
use crate::{config::Config, identity::Identity, metrics::Metrics, store::Store};

/// What a spawned task reports back to the loop.
pub(super) enum Done {
    /// A gossip message was validated.
    Validated(Validated),
    /// A page of a peer's log was applied.
    LogApplied(LogApplied),
    /// Entries a peer sent (by id, chain range or fork proof) were applied.
    Applied { peer: PeerId, invalid: u32 },
    /// A sync request's answer is ready.
    Respond {
        channel: ResponseChannel<SyncResponse>,
        response: SyncResponse,
    },
}

/// The swarm and everything the swarm task knows.
pub(super) struct Loop {
    pub(super) swarm: Swarm<Behaviour>,
    pub(super) store: Store,
    pub(super) metrics: Arc<Metrics>,
    pub(super) cfg: Config,
    pub(super) local: PeerId,
    /// The topic of one entry per message (read; published on for older peers only).
    pub(super) topic: IdentTopic,
    /// The topic of arrays of entries (what this node publishes).
    pub(super) batch_topic: IdentTopic,
    /// Entries accepted over HTTP, waiting for `p2p.gossip_window` to be published together.
    pub(super) outbox: Outbox,
    pub(super) network: String,
    pub(super) peers: HashMap<PeerId, Peer>,
    /// Bootstrap addresses and the peer last reached through each.
    pub(super) bootstrap: Vec<(Multiaddr, Option<PeerId>)>,
    pub(super) requests: HashMap<OutboundRequestId, (PeerId, ReqKind)>,
    pub(super) tasks: JoinSet<Done>,
    /// Gossip messages being validated.
    pub(super) validations: Arc<Semaphore>,
    /// Sync requests being answered (store reads), across all peers.
    pub(super) serving: Arc<Semaphore>,
    pub(super) allowed: HashSet<PeerId>,
    pub(super) last_fetch: Option<Instant>,
    pub(super) fetch_turn: usize,
    /// How far this node has got catching up with each peer it is behind.
    pub(super) catch_up: crate::progress::CatchUp,
}

impl Loop {
    /// The loop of a listening swarm; allows the consortium's peers and dials the bootstrap
    /// addresses at once.
    pub(super) fn new(
        swarm: Swarm<Behaviour>,
        cfg: &Config,
        identity: &Identity,
        store: Store,
        metrics: Arc<Metrics>,
        bootstrap: Vec<Multiaddr>,
    ) -> Loop {
        let network = store.network();
        let mut lp = Loop {
            swarm,
            store,
            metrics,
            cfg: cfg.clone(),
            local: identity.peer_id(),
            topic: topic(&network),
            batch_topic: batch_topic(&network),
            outbox: Outbox::default(),
            network: network.to_string(),
            peers: HashMap::new(),
            bootstrap: bootstrap.into_iter().map(|a| (a, None)).collect(),
            requests: HashMap::new(),
            tasks: JoinSet::new(),
            validations: Arc::new(Semaphore::new(cfg.p2p.max_validations_in_flight.max(1))),
            serving: Arc::new(Semaphore::new(cfg.p2p.max_serving.max(1))),
            allowed: HashSet::new(),
            last_fetch: None,
            fetch_turn: 0,
            catch_up: Default::default(),
        };
        lp.refresh_allowed();
        lp.redial();
        lp
    }

    /// Runs until `token` is cancelled or every [`NetworkHandle`](super::NetworkHandle) is gone.
    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Command>, token: CancellationToken) {
        let mut sync_tick = tokio::time::interval(self.cfg.p2p.sync_interval.max(Duration::from_millis(50)));
        let mut redial_tick = tokio::time::interval(self.cfg.p2p.redial_interval.max(Duration::from_millis(50)));
        let mut allow_tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                biased;
                _ = token.cancelled() => break,
                ev = self.swarm.select_next_some() => self.handle_event(ev),
                Some(done) = self.tasks.join_next(), if !self.tasks.is_empty() => match done {
                    Ok(d) => self.handle_done(d),
                    Err(e) if e.is_panic() => tracing::error!(cause = %e, "a p2p task panicked"),
                    Err(_) => {}
                },
                cmd = rx.recv() => match cmd {
                    Some(c) => self.handle_command(c),
                    None => break,
                },
                _ = tokio::time::sleep_until(self.outbox.deadline()), if self.outbox.is_waiting() => self.flush_gossip(),
                _ = allow_tick.tick() => self.refresh_allowed(),
                _ = sync_tick.tick() => self.sync_round(),
                _ = redial_tick.tick() => self.redial(),
            }
        }
        self.tasks.abort_all();
        tracing::info!("p2p stopped");
    }

    fn handle_event(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } => self.on_connected(peer_id, &endpoint, num_established),
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                cause,
                ..
            } => self.on_disconnected(peer_id, cause),
            SwarmEvent::IncomingConnectionError {
                error,
                send_back_addr,
                peer_id,
                ..
            } => self.on_incoming_error(&error, &send_back_addr, peer_id),
            SwarmEvent::OutgoingConnectionError { error, peer_id, .. } => self.on_dial_error(&error, peer_id),
            SwarmEvent::NewListenAddr { address, .. } => tracing::info!(addr = %address, "p2p listening"),
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(ev)) => self.handle_gossip(ev),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(ev)) => self.handle_sync(ev),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. })) => {
                self.on_identify(peer_id, info)
            }
            _ => {}
        }
    }

    fn handle_done(&mut self, d: Done) {
        match d {
            Done::Validated(v) => self.on_validated(v),
            Done::LogApplied(l) => self.on_log_applied(l),
            Done::Applied { peer, invalid } => self.strike(peer, invalid, "invalid entries sent"),
            Done::Respond { channel, response } => self.respond(channel, response),
        }
    }
}
