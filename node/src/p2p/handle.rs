//! How the rest of the node talks to the swarm task: [`NetworkHandle`], a cheap clone around
//! a bounded channel of [`Command`]s, and what it answers ([`PeerReport`], [`SyncReport`]).

use std::{
    collections::HashSet,
    time::{Instant, SystemTime},
};

use libp2p::PeerId;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use super::event_loop::Loop;

/// What the rest of the node asks of the swarm task.
#[derive(Debug)]
pub(super) enum Command {
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
    /// A handle sending on `tx`.
    pub(super) fn new(tx: mpsc::Sender<Command>) -> Self {
        NetworkHandle { tx }
    }

    /// Gossips an entry envelope (best effort: if the queue is full, anti-entropy carries it).
    pub fn publish(&self, envelope: Vec<u8>) {
        match self.tx.try_send(Command::Publish(envelope)) {
            Ok(()) => tracing::debug!("queued for gossip"),
            Err(_) => tracing::debug!("gossip queue full; the entry will travel by anti-entropy"),
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
    /// In this node's gossip mesh (of either topic).
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

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

impl Loop {
    /// Answers a command.
    pub(super) fn handle_command(&mut self, c: Command) {
        match c {
            Command::Publish(bytes) => self.publish(bytes),
            Command::Peers(reply) => {
                let _ = reply.send(self.report());
            }
        }
    }

    /// The peers worth showing: connected, allowed or banned.
    fn report(&self) -> Vec<PeerReport> {
        // Either topic's mesh: this release's peers are in the batch topic's, older ones in
        // the single-entry topic's only.
        let gossip = &self.swarm.behaviour().gossipsub;
        let mesh: HashSet<PeerId> = gossip
            .mesh_peers(&self.batch_topic.hash())
            .chain(gossip.mesh_peers(&self.topic.hash()))
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
}
