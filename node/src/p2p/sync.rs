//! Anti-entropy, the asking side: per-peer log cursors, the requests of each round (log,
//! fork proofs, peers, and what the pending area waits for), and the protocol's events, whose
//! answers go to [`apply`](super::apply).

use std::time::{Duration, Instant};

use greenledger_core::{EntryId, PublicKey};
use libp2p::{
    PeerId,
    request_response::{self, OutboundRequestId},
};

use super::{
    codec,
    event_loop::Loop,
    peers::PAGES_IN_FLIGHT,
    protocol::{self, SyncRequest, SyncResponse},
    scoring::is_garbage,
};

/// What an outstanding request asked for, to check that the answer matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReqKind {
    Log { from: u64, ids_only: bool },
    Chain,
    Entries,
    Forks,
    Peers,
}

/// Most outstanding requests to one peer besides its log request.
const MAX_REQUESTS_PER_PEER: usize = 8;

impl Loop {
    /// One anti-entropy round with every connected peer.
    pub(super) fn sync_round(&mut self) {
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

    /// Sends a request other than the log request, unless too many are outstanding.
    fn send(&mut self, p: PeerId, req: SyncRequest) {
        let kind = match &req {
            SyncRequest::Log { from, ids_only, .. } => ReqKind::Log {
                from: *from,
                ids_only: *ids_only,
            },
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

    /// Asks a peer for its log records after the cursor, or after the pages already being
    /// applied (one request at a time per peer, at most [`PAGES_IN_FLIGHT`] pages applying).
    pub(super) fn request_log(&mut self, p: PeerId) {
        let limit = self.cfg.p2p.max_records_per_response as u32;
        let network = self.network.clone();
        let store = self.store.clone();
        let peer = self.peer(p);
        if peer.log_request.is_some() || peer.pages.len() >= PAGES_IN_FLIGHT {
            return;
        }
        if !peer.cursor_loaded {
            peer.cursor = store.cursor(&p.to_string());
            peer.cursor_loaded = true;
        }
        let from = peer.log_ahead();
        let ids_only = !peer.catching_up && !peer.full_next;
        peer.full_next = false;
        let id = self.swarm.behaviour_mut().sync.send_request(
            &p,
            SyncRequest::Log {
                network,
                from,
                limit,
                ids_only,
            }
            .into(),
        );
        self.requests.insert(id, (p, ReqKind::Log { from, ids_only }));
        self.peer(p).log_request = Some(id);
    }

    /// Asks a peer for its proofs (fork and double-issuance proofs are in no log) and its
    /// peers.
    pub(super) fn request_forks_and_peers(&mut self, p: PeerId) {
        self.request_proofs(p, None);
        let network = self.network.clone();
        self.send(p, SyncRequest::Peers { network });
    }

    /// Asks a peer for a page of its proofs, after a cursor.
    pub(super) fn request_proofs(&mut self, p: PeerId, after: Option<String>) {
        let network = self.network.clone();
        self.send(p, SyncRequest::Forks { network, after });
    }

    /// Asks connected peers for what pending entries wait for.
    pub(super) fn fetch_pending(&mut self, peers: &[PeerId]) {
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
        let (missing, chains) = self.pending_needs();
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

    /// What the pending area waits for: the missing entries, and the chain ranges (signer,
    /// first seq, count) between a signer's head and a pending entry whose `prev` is missing.
    fn pending_needs(&self) -> (Vec<EntryId>, Vec<(PublicKey, u64, u64)>) {
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
        (missing, chains)
    }

    /// The sync protocol's events: requests to serve, answers to apply, failures.
    pub(super) fn handle_sync(&mut self, ev: request_response::Event<codec::WireRequest, SyncResponse>) {
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
                    self.on_response(peer, request_id, response)
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => self.on_request_failed(peer, request_id, error),
            // Undecodable requests arrive as `WireRequest::Undecodable`; what fails here is the
            // transport, or a peer that went away before its answer.
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(peer = %peer, cause = %error, "sync request from peer failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    /// An answer to one of this node's requests.
    fn on_response(&mut self, peer: PeerId, request_id: OutboundRequestId, response: SyncResponse) {
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

    /// One of this node's requests got no answer; bytes that do not decode are a strike.
    fn on_request_failed(
        &mut self,
        peer: PeerId,
        request_id: OutboundRequestId,
        error: request_response::OutboundFailure,
    ) {
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
}
