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

pub mod codec;
pub mod protocol;

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use anyhow::{Context, Result};
use futures::StreamExt;
use greenledger_core::{
    EntryId, PublicKey, SignedEntry, VerifiedEntry, engine::ViolationKind, entry::verify_many, membership::AuthError,
};
use libp2p::{
    Multiaddr, PeerId, Swarm, allow_block_list, connection_limits,
    core::ConnectedPoint,
    gossipsub::{self, IdentTopic, MessageAcceptance, MessageId},
    identify,
    multiaddr::Protocol,
    noise, ping,
    request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel},
    swarm::{DialError, ListenError, NetworkBehaviour, SwarmEvent, dial_opts::DialOpts},
    tcp, yamux,
};
use serde::Serialize;
use tokio::{
    sync::{Semaphore, mpsc, oneshot},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;

use self::protocol::{SyncRequest, SyncResponse};
use crate::{
    config::Config,
    identity::Identity,
    metrics::Metrics,
    store::{Outcome, Store},
};

/// The behaviours of a greenledger swarm. The allow list comes first, so that a refused peer
/// never reaches the others.
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Consortium nodes only.
    pub allow: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    /// Bounds on connections.
    pub limits: connection_limits::Behaviour,
    /// Entry gossip.
    pub gossipsub: gossipsub::Behaviour,
    /// Anti-entropy.
    pub sync: request_response::Behaviour<codec::SyncCodec>,
    /// Listen addresses of peers.
    pub identify: identify::Behaviour,
    /// Liveness.
    pub ping: ping::Behaviour,
}

/// The gossip topic of a network.
pub fn topic(network: &greenledger_core::NetworkId) -> IdentTopic {
    IdentTopic::new(format!("/greenledger/{network}/entries/1"))
}

/// The gossip message id: the entry id, or a hash of the bytes when they are no entry.
fn message_id(m: &gossipsub::Message) -> MessageId {
    match SignedEntry::from_json(&m.data) {
        Ok(se) => MessageId::from(se.id().to_string()),
        Err(_) => MessageId::from(format!("garbage-{}", blake3::hash(&m.data).to_hex())),
    }
}

/// Builds the swarm of a node (also used by tests to build peers of their own).
pub fn build_swarm(
    identity: &Identity,
    network: &greenledger_core::NetworkId,
    cfg: &Config,
) -> Result<Swarm<Behaviour>> {
    let p2p = &cfg.p2p;
    let topic = topic(network);
    let gossip_cfg = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(message_id)
        .max_transmit_size(p2p.max_gossip_bytes)
        .heartbeat_interval(p2p.heartbeat)
        // Small consortia (3–50 nodes): a mesh of 4 (between 2 and 8), and every own entry
        // flooded to all peers for the lowest latency.
        .mesh_n(4)
        .mesh_n_low(2)
        .mesh_n_high(8)
        .mesh_outbound_min(1)
        .gossip_lazy(4)
        .flood_publish(true)
        .duplicate_cache_time(Duration::from_secs(120))
        .build()
        .map_err(|e| anyhow::anyhow!("gossipsub configuration: {e}"))?;
    let key = identity.keypair().clone();
    let max_response = p2p.max_response_bytes as u64 + (2 << 20);
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .context("cannot set up the TCP transport")?
        .with_behaviour(|key| {
            let mut gossipsub = gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, gossip_cfg)
                .map_err(|e| std::io::Error::other(format!("gossipsub: {e}")))?;
            let mut score = gossipsub::PeerScoreParams::default();
            let tp = gossipsub::TopicScoreParams {
                invalid_message_deliveries_weight: -100.0,
                invalid_message_deliveries_decay: 0.9,
                ..Default::default()
            };
            score.topics.insert(topic.hash(), tp);
            if let Err(e) = gossipsub.with_peer_score(score, gossipsub::PeerScoreThresholds::default()) {
                tracing::warn!(cause = %e, "gossip peer scoring is off");
            }
            let codec = codec::SyncCodec::new(protocol::MAX_REQUEST_BYTES, max_response);
            let sync = request_response::Behaviour::with_codec(
                codec,
                [(protocol::PROTOCOL, ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(Duration::from_secs(30))
                    .with_max_concurrent_streams(64),
            );
            let identify = identify::Behaviour::new(identify::Config::new("/greenledger/id/1".into(), key.public()));
            let limits = connection_limits::Behaviour::new(
                connection_limits::ConnectionLimits::default()
                    .with_max_established(Some(p2p.max_peers * 2))
                    .with_max_established_per_peer(Some(2))
                    .with_max_pending_incoming(Some(64)),
            );
            Ok(Behaviour {
                allow: allow_block_list::Behaviour::default(),
                limits,
                gossipsub,
                sync,
                identify,
                ping: ping::Behaviour::default(),
            })
        })
        .map_err(|e| anyhow::anyhow!("cannot build the p2p behaviour: {e}"))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    swarm
        .behaviour_mut()
        .gossipsub
        .subscribe(&topic)
        .map_err(|e| anyhow::anyhow!("cannot subscribe to the gossip topic: {e}"))?;
    Ok(swarm)
}

/// What the rest of the node asks of the swarm task.
#[derive(Debug)]
enum Command {
    /// Gossip an entry envelope accepted over HTTP.
    Publish(Vec<u8>),
    /// Report the peers.
    Peers(oneshot::Sender<Vec<PeerReport>>),
}

/// A cheap handle on the swarm task.
#[derive(Clone, Debug)]
pub struct NetworkHandle {
    tx: mpsc::Sender<Command>,
}

impl NetworkHandle {
    /// Gossips an entry envelope (best effort: if the queue is full, anti-entropy carries it).
    pub fn publish(&self, envelope: Vec<u8>) {
        if self.tx.try_send(Command::Publish(envelope)).is_err() {
            tracing::debug!("gossip queue full; the entry will travel by anti-entropy");
        }
    }

    /// The connected and known peers.
    pub async fn peers(&self) -> Vec<PeerReport> {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Command::Peers(tx)).await.is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }
}

/// One peer as `GET /v1/peers` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PeerReport {
    /// Its peer id.
    pub peer_id: String,
    /// Connected now.
    pub connected: bool,
    /// "inbound" or "outbound" (of the first connection).
    pub direction: Option<&'static str>,
    /// Since when (RFC 3339).
    pub connected_since: Option<String>,
    /// Addresses it listens on (from identify or peer exchange).
    pub addresses: Vec<String>,
    /// In this node's gossip mesh.
    pub in_mesh: bool,
    /// Its gossipsub score.
    pub gossip_score: Option<f64>,
    /// Log sync with this peer.
    pub sync: SyncReport,
    /// Invalid messages received from it.
    pub strikes: u32,
    /// Its sync requests refused for going over `p2p.serve_rate_per_peer`.
    pub sync_requests_throttled: u64,
    /// Refused until (RFC 3339), when banned.
    pub banned_until: Option<String>,
}

/// The log sync state with one peer.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    /// How many of the peer's log records this node has applied.
    pub cursor: u64,
    /// The peer's log size when it last answered.
    pub peer_log_size: Option<u64>,
    /// Whether the cursor has reached the peer's log size.
    pub caught_up: bool,
    /// Entries pulled from this peer since start.
    pub entries_pulled: u64,
    /// The last completed sync (RFC 3339).
    pub last_sync: Option<String>,
    /// The last sync error, if the last attempt failed.
    pub last_error: Option<String>,
}

#[derive(Default)]
struct Peer {
    connected_since: Option<SystemTime>,
    direction: Option<&'static str>,
    addrs: Vec<Multiaddr>,
    cursor: u64,
    cursor_loaded: bool,
    peer_log_size: Option<u64>,
    /// The outstanding log request, if any.
    log_request: Option<OutboundRequestId>,
    /// A log response is being applied (the cursor moves when it is done).
    applying: bool,
    /// Outstanding requests other than the log request.
    requests_out: usize,
    pulled: u64,
    last_sync: Option<SystemTime>,
    last_error: Option<String>,
    strikes: u32,
    banned_until: Option<Instant>,
    rounds: u64,
    /// Sync requests this peer may still make now (a token bucket refilled at
    /// `p2p.serve_rate_per_peer` per second).
    serve_tokens: f64,
    serve_refilled: Option<Instant>,
    /// Its sync requests refused for going over the rate.
    throttled: u64,
}

impl Peer {
    /// Takes one sync request from the peer's budget; false when it is spent.
    fn take_serve_token(&mut self, rate: u32, now: Instant) -> bool {
        let rate = f64::from(rate.max(1));
        let burst = 2.0 * rate;
        let tokens = match self.serve_refilled {
            None => burst,
            Some(t) => (self.serve_tokens + now.duration_since(t).as_secs_f64() * rate).min(burst),
        };
        self.serve_refilled = Some(now);
        if tokens >= 1.0 {
            self.serve_tokens = tokens - 1.0;
            true
        } else {
            self.serve_tokens = tokens;
            false
        }
    }
}

/// Requests over the rate after which a peer gets a strike (so a peer that floods sync
/// requests is banned, and one that only bursts is not).
const THROTTLED_PER_STRIKE: u64 = 100;

/// What a spawned task reports back to the loop.
enum Done {
    Validated {
        msg_id: MessageId,
        source: PeerId,
        acceptance: MessageAcceptance,
        result: &'static str,
        /// Fetch these from the source (a pending entry's parents), or sync its log (unknown
        /// signer).
        follow_up: bool,
    },
    LogApplied {
        peer: PeerId,
        next: u64,
        log_size: u64,
        applied: u64,
        invalid: u32,
        error: Option<String>,
    },
    Applied {
        peer: PeerId,
        invalid: u32,
    },
    Respond {
        channel: ResponseChannel<SyncResponse>,
        response: SyncResponse,
    },
}

/// The running swarm task.
pub struct Network {
    handle: NetworkHandle,
    task: tokio::task::JoinHandle<()>,
    /// The addresses it listens on.
    pub listen_addrs: Vec<Multiaddr>,
}

impl Network {
    /// The handle.
    pub fn handle(&self) -> NetworkHandle {
        self.handle.clone()
    }

    /// Waits for the task to stop (after the token is cancelled).
    pub async fn join(self) {
        if let Err(e) = self.task.await {
            tracing::error!(cause = %e, "the p2p task failed");
        }
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

/// Starts listening and dialling (`addrs` from [`check_config`]), and spawns the swarm task.
pub async fn spawn(
    cfg: &Config,
    addrs: (Multiaddr, Vec<Multiaddr>),
    identity: &Identity,
    store: Store,
    metrics: Arc<Metrics>,
    token: CancellationToken,
) -> Result<Network> {
    let network = store.network();
    let mut swarm = build_swarm(identity, &network, cfg)?;
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
    let mut lp = Loop {
        swarm,
        store,
        metrics,
        cfg: cfg.clone(),
        local: identity.peer_id(),
        topic: topic(&network),
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
    };
    lp.refresh_allowed();
    lp.redial();
    let task = tokio::spawn(async move { lp.run(rx, token).await });
    Ok(Network {
        handle: NetworkHandle { tx },
        task,
        listen_addrs,
    })
}

/// What an outstanding request asked for, to check that the answer matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReqKind {
    Log { from: u64 },
    Chain,
    Entries,
    Forks,
    Peers,
}

/// Most outstanding requests to one peer besides its log request.
const MAX_REQUESTS_PER_PEER: usize = 8;

struct Loop {
    swarm: Swarm<Behaviour>,
    store: Store,
    metrics: Arc<Metrics>,
    cfg: Config,
    local: PeerId,
    topic: IdentTopic,
    network: String,
    peers: HashMap<PeerId, Peer>,
    /// Bootstrap addresses and the peer last reached through each.
    bootstrap: Vec<(Multiaddr, Option<PeerId>)>,
    requests: HashMap<OutboundRequestId, (PeerId, ReqKind)>,
    tasks: JoinSet<Done>,
    validations: Arc<Semaphore>,
    /// Sync requests being answered (store reads), across all peers.
    serving: Arc<Semaphore>,
    allowed: HashSet<PeerId>,
    last_fetch: Option<Instant>,
    fetch_turn: usize,
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

impl Loop {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>, token: CancellationToken) {
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
                _ = allow_tick.tick() => self.refresh_allowed(),
                _ = sync_tick.tick() => self.sync_round(),
                _ = redial_tick.tick() => self.redial(),
            }
        }
        self.tasks.abort_all();
        tracing::info!("p2p stopped");
    }

    fn peer(&mut self, p: PeerId) -> &mut Peer {
        self.peers.entry(p).or_default()
    }

    fn connected(&self) -> Vec<PeerId> {
        self.swarm.connected_peers().copied().collect()
    }

    /// Brings the allow list in line with the genesis and the membership (and bans).
    fn refresh_allowed(&mut self) {
        let now = Instant::now();
        let membership = self.store.membership();
        let mut want: HashSet<PeerId> = HashSet::new();
        let named = self
            .store
            .genesis()
            .node_peers
            .iter()
            .map(String::as_str)
            .chain(membership.node_peers().map(|(p, _)| p));
        for p in named {
            match p.parse::<PeerId>() {
                Ok(id) if id != self.local => {
                    want.insert(id);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(peer = p, cause = %e, "an admitted node peer id does not parse; ignored"),
            }
        }
        for (id, peer) in &mut self.peers {
            if let Some(until) = peer.banned_until {
                if until > now {
                    want.remove(id);
                } else {
                    peer.banned_until = None;
                    peer.strikes = 0;
                }
            }
        }
        for p in want.difference(&self.allowed).copied().collect::<Vec<_>>() {
            self.swarm.behaviour_mut().allow.allow_peer(p);
        }
        for p in self.allowed.difference(&want).copied().collect::<Vec<_>>() {
            tracing::info!(peer = %p, "peer no longer allowed (revoked or banned); disconnecting");
            self.swarm.behaviour_mut().allow.disallow_peer(p);
        }
        self.allowed = want;
    }

    fn redial(&mut self) {
        let connected: HashSet<PeerId> = self.swarm.connected_peers().copied().collect();
        if connected.len() >= self.cfg.p2p.max_peers as usize {
            return;
        }
        for i in 0..self.bootstrap.len() {
            let (addr, peer) = self.bootstrap[i].clone();
            if peer.is_some_and(|p| connected.contains(&p)) {
                continue;
            }
            let target = match addr.iter().last() {
                Some(Protocol::P2p(p)) => Some(p),
                _ => None,
            };
            if target.is_some_and(|p| {
                connected.contains(&p)
                    || p == self.local
                    || self.peers.get(&p).is_some_and(|x| x.banned_until.is_some())
            }) {
                continue;
            }
            if let Err(e) = self.swarm.dial(addr.clone()) {
                tracing::debug!(addr = %addr, cause = %e, "cannot dial bootstrap peer");
            }
        }
        let known: Vec<(PeerId, Vec<Multiaddr>)> = self
            .peers
            .iter()
            .filter(|(id, p)| {
                !connected.contains(id) && self.allowed.contains(id) && !p.addrs.is_empty() && p.banned_until.is_none()
            })
            .map(|(id, p)| (*id, p.addrs.clone()))
            .collect();
        for (id, addrs) in known {
            let opts = DialOpts::peer_id(id).addresses(addrs).build();
            if let Err(e) = self.swarm.dial(opts) {
                tracing::debug!(peer = %id, cause = %e, "cannot dial known peer");
            }
        }
    }

    fn handle_command(&mut self, c: Command) {
        match c {
            Command::Publish(bytes) => {
                let t = self.topic.clone();
                match self.swarm.behaviour_mut().gossipsub.publish(t, bytes) {
                    Ok(_) => {
                        self.metrics.p2p.gossip_published.inc();
                    }
                    Err(e) => tracing::debug!(cause = %e, "entry not gossiped (peers will pull it)"),
                };
            }
            Command::Peers(reply) => {
                let _ = reply.send(self.report());
            }
        }
    }

    fn report(&self) -> Vec<PeerReport> {
        let mesh: HashSet<PeerId> = self
            .swarm
            .behaviour()
            .gossipsub
            .mesh_peers(&self.topic.hash())
            .copied()
            .collect();
        let now = Instant::now();
        let mut out: Vec<PeerReport> = self
            .peers
            .iter()
            .filter(|(id, p)| p.connected_since.is_some() || self.allowed.contains(id) || p.banned_until.is_some())
            .map(|(id, p)| PeerReport {
                peer_id: id.to_string(),
                connected: self.swarm.is_connected(id),
                direction: p.direction,
                connected_since: p.connected_since.map(rfc3339),
                addresses: p.addrs.iter().map(|a| a.to_string()).collect(),
                in_mesh: mesh.contains(id),
                gossip_score: self.swarm.behaviour().gossipsub.peer_score(id),
                sync: SyncReport {
                    cursor: p.cursor,
                    peer_log_size: p.peer_log_size,
                    caught_up: p.peer_log_size.is_some_and(|s| p.cursor >= s),
                    entries_pulled: p.pulled,
                    last_sync: p.last_sync.map(rfc3339),
                    last_error: p.last_error.clone(),
                },
                strikes: p.strikes,
                sync_requests_throttled: p.throttled,
                banned_until: p
                    .banned_until
                    .filter(|u| *u > now)
                    .map(|u| rfc3339(SystemTime::now() + (u - now))),
            })
            .collect();
        out.sort_by(|a, b| b.connected.cmp(&a.connected).then(a.peer_id.cmp(&b.peer_id)));
        out
    }

    fn strike(&mut self, p: PeerId, n: u32, why: &str) {
        if n == 0 {
            return;
        }
        let limit = self.cfg.p2p.strikes_before_ban;
        let ban = self.cfg.p2p.ban_duration;
        let peer = self.peer(p);
        peer.strikes += n;
        let strikes = peer.strikes;
        tracing::warn!(peer = %p, strikes, why, "invalid data from peer");
        if strikes >= limit && peer.banned_until.is_none() {
            peer.banned_until = Some(Instant::now() + ban);
            tracing::warn!(peer = %p, strikes, ban = %humantime::format_duration(ban), "peer banned: disconnected and refused");
            self.metrics.p2p.peers_banned.inc();
            self.swarm.behaviour_mut().allow.disallow_peer(p);
            self.allowed.remove(&p);
        }
    }

    /// Sends a request other than the log request, unless too many are outstanding.
    fn send(&mut self, p: PeerId, req: SyncRequest) {
        let kind = match &req {
            SyncRequest::Log { from, .. } => ReqKind::Log { from: *from },
            SyncRequest::Chain { .. } => ReqKind::Chain,
            SyncRequest::Entries { .. } => ReqKind::Entries,
            SyncRequest::Forks { .. } => ReqKind::Forks,
            SyncRequest::Peers { .. } => ReqKind::Peers,
        };
        let peer = self.peer(p);
        if peer.requests_out >= MAX_REQUESTS_PER_PEER {
            return;
        }
        peer.requests_out += 1;
        let id = self.swarm.behaviour_mut().sync.send_request(&p, req.into());
        self.requests.insert(id, (p, kind));
    }

    /// Asks a peer for its log records after the cursor (one request at a time per peer).
    fn request_log(&mut self, p: PeerId) {
        let limit = self.cfg.p2p.max_records_per_response as u32;
        let network = self.network.clone();
        let store = self.store.clone();
        let peer = self.peer(p);
        if peer.log_request.is_some() || peer.applying {
            return;
        }
        if !peer.cursor_loaded {
            peer.cursor = store.cursor(&p.to_string());
            peer.cursor_loaded = true;
        }
        let from = peer.cursor;
        let id = self
            .swarm
            .behaviour_mut()
            .sync
            .send_request(&p, SyncRequest::Log { network, from, limit }.into());
        self.requests.insert(id, (p, ReqKind::Log { from }));
        self.peer(p).log_request = Some(id);
    }

    /// Asks a peer for its fork proofs (they are in no log) and its peers.
    fn request_forks_and_peers(&mut self, p: PeerId) {
        let network = self.network.clone();
        self.send(
            p,
            SyncRequest::Forks {
                network: network.clone(),
            },
        );
        self.send(p, SyncRequest::Peers { network });
    }

    /// One anti-entropy round with every connected peer.
    fn sync_round(&mut self) {
        let peers = self.connected();
        for p in &peers {
            self.request_log(*p);
            let round = {
                let peer = self.peer(*p);
                peer.rounds += 1;
                peer.rounds
            };
            if round % 5 == 1 {
                self.request_forks_and_peers(*p);
            }
        }
        self.fetch_pending(&peers);
    }

    /// Asks connected peers for what pending entries wait for.
    fn fetch_pending(&mut self, peers: &[PeerId]) {
        if peers.is_empty()
            || self
                .store
                .shared()
                .pending_entries
                .load(std::sync::atomic::Ordering::Relaxed)
                == 0
        {
            return;
        }
        // At most twice a second, from at most three peers (in turn).
        if self
            .last_fetch
            .is_some_and(|t| t.elapsed() < Duration::from_millis(500))
        {
            return;
        }
        self.last_fetch = Some(Instant::now());
        let start = self.fetch_turn;
        self.fetch_turn = self.fetch_turn.wrapping_add(1);
        let peers: Vec<PeerId> = (0..peers.len().min(3))
            .map(|k| peers[(start + k) % peers.len()])
            .collect();
        let mut missing: Vec<EntryId> = self
            .store
            .pending_list(protocol::MAX_IDS * 4)
            .into_iter()
            .flat_map(|(_, m)| m)
            .collect();
        missing.sort();
        missing.dedup();
        missing.retain(|id| self.store.entry(id).ok().flatten().is_none());
        let mut chains: Vec<(PublicKey, u64, u64)> = Vec::new();
        for (signer, seq, prev) in self.store.pending_heads(protocol::MAX_IDS) {
            if prev.is_some_and(|p| missing.contains(&p)) {
                let have = self
                    .store
                    .chain_head(&signer)
                    .ok()
                    .flatten()
                    .map(|(s, _)| s)
                    .unwrap_or(0);
                if seq > have + 1 {
                    chains.push((signer, have + 1, seq - have - 1));
                }
            }
        }
        let ids: Vec<String> = missing.iter().take(protocol::MAX_IDS).map(|i| i.to_string()).collect();
        for p in &peers {
            if !ids.is_empty() {
                self.send(
                    *p,
                    SyncRequest::Entries {
                        network: self.network.clone(),
                        ids: ids.clone(),
                    },
                );
            }
            for (signer, from_seq, n) in chains.iter().take(4) {
                self.send(
                    *p,
                    SyncRequest::Chain {
                        network: self.network.clone(),
                        signer: signer.to_string(),
                        from_seq: *from_seq,
                        limit: (*n).min(protocol::MAX_CHAIN as u64) as u32,
                    },
                );
            }
        }
    }

    fn handle_event(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                if let ConnectedPoint::Dialer { address, .. } = &endpoint {
                    for (a, p) in &mut self.bootstrap {
                        if a == address || address.to_string().starts_with(&a.to_string()) {
                            *p = Some(peer_id);
                        }
                    }
                }
                if num_established.get() == 1 {
                    tracing::info!(peer = %peer_id, addr = %endpoint.get_remote_address(), "peer connected");
                    let peer = self.peer(peer_id);
                    peer.connected_since = Some(SystemTime::now());
                    peer.direction = Some(if endpoint.is_dialer() { "outbound" } else { "inbound" });
                    if endpoint.is_dialer() && !peer.addrs.contains(endpoint.get_remote_address()) {
                        peer.addrs.push(endpoint.get_remote_address().clone());
                    }
                    self.metrics
                        .p2p
                        .connected
                        .set(self.swarm.connected_peers().count() as i64);
                    self.request_log(peer_id);
                    self.request_forks_and_peers(peer_id);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                cause,
                ..
            } => {
                tracing::info!(peer = %peer_id, cause = ?cause, "peer disconnected");
                let peer = self.peer(peer_id);
                peer.connected_since = None;
                peer.direction = None;
                peer.log_request = None;
                self.metrics
                    .p2p
                    .connected
                    .set(self.swarm.connected_peers().count() as i64);
            }
            SwarmEvent::IncomingConnectionError {
                error,
                send_back_addr,
                peer_id,
                ..
            } => {
                let reason = match &error {
                    ListenError::Denied { cause } if cause.downcast_ref::<allow_block_list::NotAllowed>().is_some() => {
                        "not_allowed"
                    }
                    ListenError::Denied { .. } => "limit",
                    _ => "error",
                };
                if reason != "error" {
                    tracing::warn!(from = %send_back_addr, peer = ?peer_id, reason, "incoming connection refused");
                    self.metrics.p2p.refused(reason);
                } else {
                    tracing::debug!(from = %send_back_addr, cause = %error, "incoming connection failed");
                }
            }
            SwarmEvent::OutgoingConnectionError { error, peer_id, .. } => match &error {
                DialError::Denied { cause } if cause.downcast_ref::<allow_block_list::NotAllowed>().is_some() => {
                    tracing::warn!(peer = ?peer_id, "dialled peer is not a consortium node; disconnected");
                    self.metrics.p2p.refused("not_allowed");
                }
                _ => tracing::debug!(peer = ?peer_id, cause = %error, "dial failed"),
            },
            SwarmEvent::NewListenAddr { address, .. } => tracing::info!(addr = %address, "p2p listening"),
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(ev)) => self.handle_gossip(ev),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(ev)) => self.handle_sync(ev),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. })) => {
                let addrs: Vec<Multiaddr> = info
                    .listen_addrs
                    .into_iter()
                    .filter(|a| !a.iter().any(|p| matches!(p, Protocol::Ip4(ip) if ip.is_unspecified())))
                    .take(8)
                    .collect();
                if !addrs.is_empty() {
                    self.peer(peer_id).addrs = addrs;
                }
            }
            _ => {}
        }
    }

    fn handle_gossip(&mut self, ev: gossipsub::Event) {
        let gossipsub::Event::Message {
            propagation_source,
            message_id,
            message,
        } = ev
        else {
            return;
        };
        let Ok(permit) = self.validations.clone().try_acquire_owned() else {
            self.swarm.behaviour_mut().gossipsub.report_message_validation_result(
                &message_id,
                &propagation_source,
                MessageAcceptance::Ignore,
            );
            self.metrics.p2p.gossip("overloaded");
            return;
        };
        let store = self.store.clone();
        self.tasks.spawn(async move {
            let _permit = permit;
            let (acceptance, result, follow_up) = validate(&store, &message.data).await;
            Done::Validated {
                msg_id: message_id,
                source: propagation_source,
                acceptance,
                result,
                follow_up,
            }
        });
    }

    fn handle_sync(&mut self, ev: request_response::Event<codec::WireRequest, SyncResponse>) {
        match ev {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request { request, channel, .. } => match request {
                    codec::WireRequest::Request(request) => self.serve(peer, request, channel),
                    codec::WireRequest::Undecodable(why) => {
                        self.refuse(channel, "undecodable", why);
                        self.strike(peer, 1, "undecodable sync request");
                    }
                },
                request_response::Message::Response { request_id, response } => {
                    let Some((_, kind)) = self.requests.remove(&request_id) else {
                        return;
                    };
                    let p = self.peer(peer);
                    if let ReqKind::Log { .. } = kind {
                        if p.log_request != Some(request_id) {
                            return; // asked before a reconnect: the answer is stale
                        }
                        p.log_request = None;
                    } else {
                        p.requests_out = p.requests_out.saturating_sub(1);
                    }
                    self.apply(peer, kind, response);
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some((_, kind)) = self.requests.remove(&request_id) {
                    let p = self.peer(peer);
                    if let ReqKind::Log { .. } = kind {
                        if p.log_request == Some(request_id) {
                            p.log_request = None;
                        }
                        p.last_error = Some(error.to_string());
                    } else {
                        p.requests_out = p.requests_out.saturating_sub(1);
                    }
                }
                tracing::debug!(peer = %peer, cause = %error, "sync request failed");
                if let request_response::OutboundFailure::Io(e) = &error
                    && is_garbage(e)
                {
                    self.strike(peer, 1, "undecodable sync response");
                }
            }
            // Undecodable requests arrive as `WireRequest::Undecodable`; what fails here is the
            // transport, or a peer that went away before its answer.
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(peer = %peer, cause = %error, "sync request from peer failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    /// Refuses a sync request unanswered (over the peer's rate, or the node is busy).
    fn refuse(&mut self, channel: ResponseChannel<SyncResponse>, kind: &str, reason: String) {
        self.metrics.p2p.sync_refused(kind);
        let _ = self
            .swarm
            .behaviour_mut()
            .sync
            .send_response(channel, SyncResponse::Refused { reason });
    }

    /// Answers a sync request in a task (it reads the store), within the peer's rate and the
    /// node's bound on requests answered at once.
    fn serve(&mut self, peer: PeerId, req: SyncRequest, channel: ResponseChannel<SyncResponse>) {
        let rate = self.cfg.p2p.serve_rate_per_peer;
        let p = self.peer(peer);
        if !p.take_serve_token(rate, Instant::now()) {
            p.throttled += 1;
            let strike = p.throttled.is_multiple_of(THROTTLED_PER_STRIKE);
            self.refuse(
                channel,
                "rate_limited",
                format!("rate limited: at most {rate} sync requests per second"),
            );
            if strike {
                self.strike(peer, 1, "flooding sync requests");
            }
            return;
        }
        self.metrics.p2p.served(req.kind());
        if req.network() != self.network {
            let response = SyncResponse::Refused {
                reason: format!("this node serves network {}", self.network),
            };
            let _ = self.swarm.behaviour_mut().sync.send_response(channel, response);
            self.strike(peer, 1, "sync request for another network");
            return;
        }
        if let SyncRequest::Peers { .. } = req {
            let peers: Vec<(String, Vec<String>)> = self
                .swarm
                .connected_peers()
                .filter(|p| **p != peer)
                .filter_map(|p| {
                    let info = self.peers.get(p)?;
                    (!info.addrs.is_empty())
                        .then(|| (p.to_string(), info.addrs.iter().map(|a| a.to_string()).collect()))
                })
                .take(protocol::MAX_PEERS)
                .collect();
            let _ = self
                .swarm
                .behaviour_mut()
                .sync
                .send_response(channel, SyncResponse::Peers { peers });
            return;
        }
        let Ok(permit) = self.serving.clone().try_acquire_owned() else {
            self.refuse(channel, "busy", "busy: ask again later".into());
            return;
        };
        let store = self.store.clone();
        let max_records = self.cfg.p2p.max_records_per_response;
        let max_bytes = self.cfg.p2p.max_response_bytes;
        self.tasks.spawn(async move {
            let _permit = permit;
            let response = tokio::task::spawn_blocking(move || answer(&store, req, max_records, max_bytes))
                .await
                .unwrap_or_else(|e| SyncResponse::Refused {
                    reason: format!("internal error: {e}"),
                });
            Done::Respond { channel, response }
        });
    }

    /// Checks that a sync response answers what was asked, then applies it in a task.
    fn apply(&mut self, peer: PeerId, kind: ReqKind, response: SyncResponse) {
        let store = self.store.clone();
        match (kind, response) {
            (
                ReqKind::Log { from: asked },
                SyncResponse::Log {
                    from,
                    next,
                    log_size,
                    entries,
                },
            ) => {
                let max = self.cfg.p2p.max_records_per_response;
                // Records are contiguous: `next` must be exactly past the records sent.
                if from != asked || entries.len() > max || next != from + entries.len() as u64 {
                    self.strike(peer, 1, "log response does not match the request");
                    return;
                }
                if entries.is_empty() {
                    let p = self.peer(peer);
                    p.peer_log_size = Some(log_size);
                    p.last_sync = Some(SystemTime::now());
                    p.last_error = None;
                    if log_size < p.cursor {
                        // The peer's log is shorter than what was applied from it: its data dir
                        // was replaced. Start over (duplicates are cheap).
                        tracing::warn!(peer = %peer, log_size, cursor = p.cursor, "peer log shrank; restarting its cursor");
                        p.cursor = 0;
                        store.set_cursor(&peer.to_string(), 0);
                    }
                    return;
                }
                self.peer(peer).applying = true;
                self.tasks.spawn(async move {
                    let applied = ingest_envelopes(&store, entries).await;
                    Done::LogApplied {
                        peer,
                        // Up to the first entry that could not be handled yet (retried next time).
                        next: from + applied.handled as u64,
                        log_size,
                        applied: applied.stored,
                        invalid: applied.invalid,
                        error: applied.error,
                    }
                });
            }
            (ReqKind::Chain | ReqKind::Entries, SyncResponse::Entries { entries }) => {
                if entries.len() > protocol::MAX_CHAIN.max(protocol::MAX_IDS) {
                    self.strike(peer, 1, "oversized entries response");
                    return;
                }
                self.tasks.spawn(async move {
                    let applied = ingest_envelopes(&store, entries).await;
                    Done::Applied {
                        peer,
                        invalid: applied.invalid,
                    }
                });
            }
            (ReqKind::Forks, SyncResponse::Forks { proofs }) => {
                if proofs.len() > protocol::MAX_FORKS {
                    self.strike(peer, 1, "oversized fork response");
                    return;
                }
                self.tasks.spawn(async move {
                    let mut invalid = 0;
                    for (a, b) in proofs {
                        invalid += ingest_envelopes(&store, vec![a, b]).await.invalid;
                    }
                    Done::Applied { peer, invalid }
                });
            }
            (ReqKind::Peers, SyncResponse::Peers { peers }) => {
                for (id, addrs) in peers.into_iter().take(protocol::MAX_PEERS) {
                    // Only consortium peers are worth remembering (and dialling).
                    let Ok(id) = id.parse::<PeerId>() else { continue };
                    if id == self.local || !self.allowed.contains(&id) {
                        continue;
                    }
                    let addrs: Vec<Multiaddr> = addrs.iter().filter_map(|a| a.parse().ok()).take(8).collect();
                    let known = self.peer(id);
                    if known.addrs.is_empty() {
                        known.addrs = addrs;
                    }
                }
            }
            (kind, SyncResponse::Refused { reason }) => {
                tracing::warn!(peer = %peer, reason, "peer refused a sync request");
                if let ReqKind::Log { .. } = kind {
                    self.peer(peer).last_error = Some(reason);
                }
            }
            (kind, _) => self.strike(peer, 1, &format!("its answer does not match the {kind:?} request")),
        }
    }

    fn handle_done(&mut self, d: Done) {
        match d {
            Done::Validated {
                msg_id,
                source,
                acceptance,
                result,
                follow_up,
            } => {
                let reject = matches!(acceptance, MessageAcceptance::Reject);
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&msg_id, &source, acceptance);
                self.metrics.p2p.gossip(result);
                if reject {
                    // Gossipsub graylists a peer whose score falls below the threshold (one
                    // invalid delivery is enough) and then ignores what it sends, so its later
                    // messages would never count: ban it then and there.
                    let graylisted = self
                        .swarm
                        .behaviour()
                        .gossipsub
                        .peer_score(&source)
                        .is_some_and(|s| s <= gossipsub::PeerScoreThresholds::default().graylist_threshold);
                    let n = if graylisted {
                        self.cfg.p2p.strikes_before_ban.max(1)
                    } else {
                        1
                    };
                    self.strike(source, n, result);
                }
                if follow_up && self.swarm.is_connected(&source) {
                    self.request_log(source);
                    self.fetch_pending(&[source]);
                }
            }
            Done::LogApplied {
                peer,
                next,
                log_size,
                applied,
                invalid,
                error,
            } => {
                self.metrics.p2p.pulled.inc_by(applied);
                let p = self.peer(peer);
                p.applying = false;
                p.pulled += applied;
                p.peer_log_size = Some(log_size);
                p.last_error = error.clone();
                let moved = next > p.cursor;
                p.cursor = p.cursor.max(next);
                if error.is_none() {
                    p.last_sync = Some(SystemTime::now());
                }
                if moved {
                    self.store.set_cursor(&peer.to_string(), next);
                }
                self.strike(peer, invalid, "invalid entries in its log");
                if moved && next < log_size && self.swarm.is_connected(&peer) {
                    self.request_log(peer);
                }
            }
            Done::Applied { peer, invalid } => self.strike(peer, invalid, "invalid entries sent"),
            Done::Respond { channel, response } => {
                if self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, response)
                    .is_err()
                {
                    tracing::debug!("sync response not sent: the peer went away");
                }
            }
        }
    }
}

/// Whether a sync stream failed because of what the peer sent (bytes that do not decode as a
/// message of the protocol), rather than because the connection went away.
fn is_garbage(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    // The codec reports a response that is too big or does not decode as `InvalidData`;
    // transport failures and the handler's own limits come as other kinds.
    matches!(e.kind(), ErrorKind::InvalidData | ErrorKind::Unsupported)
}

/// Validates a gossip message through the ledger: (acceptance, result label, follow up).
async fn validate(store: &Store, data: &[u8]) -> (MessageAcceptance, &'static str, bool) {
    let verified = match SignedEntry::from_json(data)
        .map_err(|e| e.to_string())
        .and_then(|se| se.verify().map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(_) => return (MessageAcceptance::Reject, "invalid", false),
    };
    let e = match store.ingest(verified).await {
        Ok(Outcome::Stored { .. }) => return (MessageAcceptance::Accept, "stored", false),
        Ok(Outcome::Duplicate { .. }) => return (MessageAcceptance::Ignore, "duplicate", false),
        Ok(Outcome::Pending { .. }) => return (MessageAcceptance::Ignore, "pending", true),
        Err(e) => e,
    };
    match e.violation().map(|v| &v.kind) {
        // The second entry of a fork is evidence: forward it so that every node flags the signer.
        Some(ViolationKind::Fork { .. }) => (MessageAcceptance::Accept, "fork", false),
        // No honest node forwards another network's entry.
        Some(ViolationKind::WrongNetwork { .. }) => (MessageAcceptance::Reject, "wrong_network", false),
        // Its admission may still be on its way: pull the sender's log, which has it first.
        Some(ViolationKind::NotAuthorized {
            err: AuthError::NotAdmitted(_),
            ..
        }) => (MessageAcceptance::Ignore, "unknown_signer", true),
        Some(ViolationKind::SeqTaken { .. } | ViolationKind::SignerForked { .. }) => {
            (MessageAcceptance::Ignore, "forked_signer", false)
        }
        // Not forwarded, but no penalty: an honest sender may have accepted it before it
        // learned of a fork or a revocation this node already knows.
        Some(_) => (MessageAcceptance::Ignore, "refused", false),
        // The node could not take it now (a full pending area, storage, shutdown).
        None => (MessageAcceptance::Ignore, "not_stored", false),
    }
}

/// What became of a list of entries from a peer.
struct Applied {
    /// Newly stored.
    stored: u64,
    /// Undecodable, badly signed or of another network: no honest node sends those.
    invalid: u32,
    /// How many leading entries were handled (stored, known, pending or refused for good);
    /// the rest could not be handled yet (a full pending area, a storage error).
    handled: usize,
    /// Why the rest could not be handled.
    error: Option<String>,
}

/// Verifies envelopes (signatures in batches) and applies them in order.
async fn ingest_envelopes(store: &Store, envelopes: Vec<String>) -> Applied {
    let n = envelopes.len();
    let checked = tokio::task::spawn_blocking(move || {
        let mut invalid = 0u32;
        let mut positions = Vec::with_capacity(envelopes.len());
        let mut parsed = Vec::with_capacity(envelopes.len());
        for (i, e) in envelopes.iter().enumerate() {
            match SignedEntry::from_json(e.as_bytes()) {
                Ok(se) => {
                    positions.push(i);
                    parsed.push(se);
                }
                Err(_) => invalid += 1,
            }
        }
        let mut verified: Vec<VerifiedEntry> = Vec::with_capacity(parsed.len());
        let mut kept = Vec::with_capacity(parsed.len());
        for (r, pos) in verify_many(parsed).into_iter().zip(positions) {
            match r {
                Ok(v) => {
                    verified.push(v);
                    kept.push(pos);
                }
                Err(_) => invalid += 1,
            }
        }
        (verified, kept, invalid)
    })
    .await;
    let (verified, positions, mut invalid) = match checked {
        Ok(x) => x,
        Err(e) => {
            return Applied {
                stored: 0,
                invalid: 0,
                handled: 0,
                error: Some(format!("verification task failed: {e}")),
            };
        }
    };
    let mut stored = 0;
    let mut handled = n;
    let mut error = None;
    for (r, pos) in store.ingest_many(verified).await.into_iter().zip(positions) {
        match r {
            Ok(Outcome::Stored { .. }) => stored += 1,
            Ok(_) => {}
            Err(e) if e.code() == "wrong_network" => invalid += 1,
            // Not handled (yet): asked for again.
            Err(e) if e.violation().is_none() => {
                if pos < handled {
                    handled = pos;
                    error = Some(e.to_string());
                }
            }
            // The peer accepted something this node refuses. Not a strike: it happens to honest
            // peers that accepted an entry before they learned of a fork or a revocation.
            Err(e) => tracing::debug!(cause = %e, "entry from a peer refused"),
        }
    }
    Applied {
        stored,
        invalid,
        handled,
        error,
    }
}

/// The leading items whose total size stays within `max_bytes` (at least one).
fn capped(items: impl Iterator<Item = String>, max_bytes: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut bytes = 0;
    for item in items {
        bytes += item.len();
        if !out.is_empty() && bytes > max_bytes {
            break;
        }
        out.push(item);
    }
    out
}

/// Reads what a sync request asks for.
fn answer(store: &Store, req: SyncRequest, max_records: usize, max_bytes: usize) -> SyncResponse {
    let text = |v: Vec<u8>| String::from_utf8(v).unwrap_or_default();
    let result: Result<SyncResponse> = (|| match req {
        SyncRequest::Log { from, limit, .. } => {
            let (size, _) = store.head()?;
            let (entries, next) = store.log_entries(from, (limit as usize).min(max_records), max_bytes)?;
            Ok(SyncResponse::Log {
                from,
                next: if entries.is_empty() { from } else { next },
                log_size: size,
                entries: entries.into_iter().map(text).collect(),
            })
        }
        SyncRequest::Chain {
            signer,
            from_seq,
            limit,
            ..
        } => {
            let signer: PublicKey = signer.parse().map_err(|e| anyhow::anyhow!("signer: {e}"))?;
            let entries = store.chain_range(&signer, from_seq, (limit as usize).min(protocol::MAX_CHAIN))?;
            Ok(SyncResponse::Entries {
                entries: capped(entries.into_iter().map(|e| text(e.to_json())), max_bytes),
            })
        }
        SyncRequest::Entries { ids, .. } => {
            anyhow::ensure!(
                ids.len() <= protocol::MAX_IDS,
                "at most {} ids per request",
                protocol::MAX_IDS
            );
            let mut entries = Vec::new();
            for id in ids {
                let id: EntryId = id.parse().map_err(|e| anyhow::anyhow!("id: {e}"))?;
                if let Some((_, se)) = store.entry(&id)? {
                    entries.push(text(se.to_json()));
                }
            }
            Ok(SyncResponse::Entries {
                entries: capped(entries.into_iter(), max_bytes),
            })
        }
        SyncRequest::Forks { .. } => {
            let mut proofs = Vec::new();
            let mut bytes = 0;
            for f in store.fork_proofs(protocol::MAX_FORKS)? {
                let (a, b) = (text(f.a.to_json()), text(f.b.to_json()));
                bytes += a.len() + b.len();
                if !proofs.is_empty() && bytes > max_bytes {
                    break;
                }
                proofs.push((a, b));
            }
            Ok(SyncResponse::Forks { proofs })
        }
        SyncRequest::Peers { .. } => Ok(SyncResponse::Peers { peers: Vec::new() }),
    })();
    result.unwrap_or_else(|e| SyncResponse::Refused {
        reason: format!("{e:#}"),
    })
}

#[cfg(test)]
mod tests {
    use std::io::{Error, ErrorKind};

    use super::{Peer, is_garbage};

    #[test]
    fn garbage_is_what_the_peer_sent_not_what_the_transport_did() {
        assert!(is_garbage(&Error::new(ErrorKind::InvalidData, "not a sync response")));
        assert!(!is_garbage(&Error::other(Error::new(
            ErrorKind::ConnectionReset,
            "reset"
        ))));
        assert!(!is_garbage(&Error::other("max sub-streams reached")));
        assert!(!is_garbage(&Error::new(ErrorKind::UnexpectedEof, "eof")));
    }

    #[test]
    fn the_serve_budget_allows_bursts_then_the_rate() {
        let mut p = Peer::default();
        let t0 = std::time::Instant::now();
        let burst = (0..1000).take_while(|_| p.take_serve_token(50, t0)).count();
        assert_eq!(burst, 100);
        assert!(!p.take_serve_token(50, t0));
        let later = t0 + std::time::Duration::from_millis(100);
        let refilled = (0..1000).take_while(|_| p.take_serve_token(50, later)).count();
        assert_eq!(refilled, 5);
    }
}
