//! Anti-entropy, the asking side: per-peer log cursors, the requests of each round (log,
//! fork proofs, peers, and what the pending area waits for), checking that an answer matches
//! its request, and applying the entries through the store.
//!
//! The cursor of a peer moves only once the entries it covers are durable; an answer cut
//! short (a full pending area, a storage error) is asked for again.

use std::time::{Duration, Instant, SystemTime};

use greenledger_core::{EntryId, PublicKey, SignedEntry, VerifiedEntry, entry::verify_many};
use libp2p::{
    Multiaddr, PeerId,
    request_response::{self, OutboundRequestId},
};

use tracing::Instrument;

use super::{
    codec,
    event_loop::{Done, Loop},
    protocol::{self, SyncRequest, SyncResponse},
    scoring::is_garbage,
};
use crate::store::{Outcome, Store};

/// What an outstanding request asked for, to check that the answer matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReqKind {
    Log { from: u64 },
    Chain,
    Entries,
    Forks,
    Peers,
}

/// Most outstanding requests to one peer besides its log request.
const MAX_REQUESTS_PER_PEER: usize = 8;

/// A peer's log records applied, reported back to the loop.
pub(super) struct LogApplied {
    peer: PeerId,
    /// The cursor after the records handled.
    next: u64,
    log_size: u64,
    applied: u64,
    invalid: u32,
    error: Option<String>,
}

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
    pub(super) fn request_log(&mut self, p: PeerId) {
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
    pub(super) fn request_forks_and_peers(&mut self, p: PeerId) {
        let network = self.network.clone();
        self.send(
            p,
            SyncRequest::Forks {
                network: network.clone(),
            },
        );
        self.send(p, SyncRequest::Peers { network });
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
            ) => self.apply_log(peer, asked, from, next, log_size, entries),
            (ReqKind::Chain | ReqKind::Entries, SyncResponse::Entries { entries }) => {
                if entries.len() > protocol::MAX_CHAIN.max(protocol::MAX_IDS) {
                    self.strike(peer, 1, "oversized entries response");
                    return;
                }
                let task = async move {
                    let applied = ingest_envelopes(&store, entries).await;
                    Done::Applied {
                        peer,
                        invalid: applied.invalid,
                    }
                };
                self.tasks.spawn(task.instrument(sync_span(peer, kind)));
            }
            (ReqKind::Forks, SyncResponse::Forks { proofs }) => {
                if proofs.len() > protocol::MAX_FORKS {
                    self.strike(peer, 1, "oversized fork response");
                    return;
                }
                let task = async move {
                    let mut invalid = 0;
                    for (a, b) in proofs {
                        invalid += ingest_envelopes(&store, vec![a, b]).await.invalid;
                    }
                    Done::Applied { peer, invalid }
                };
                self.tasks.spawn(task.instrument(sync_span(peer, kind)));
            }
            (ReqKind::Peers, SyncResponse::Peers { peers }) => self.learn_peers(peers),
            (kind, SyncResponse::Refused { reason }) => {
                tracing::warn!(peer = %peer, reason, "peer refused a sync request");
                if let ReqKind::Log { .. } = kind {
                    self.peer(peer).last_error = Some(reason);
                }
            }
            (kind, _) => self.strike(peer, 1, &format!("its answer does not match the {kind:?} request")),
        }
    }

    /// Applies a page of a peer's log (records `from..next` of `log_size`) in a task.
    fn apply_log(&mut self, peer: PeerId, asked: u64, from: u64, next: u64, log_size: u64, entries: Vec<String>) {
        let max = self.cfg.p2p.max_records_per_response;
        // Records are contiguous: `next` must be exactly past the records sent.
        if from != asked || entries.len() > max || next != from + entries.len() as u64 {
            self.strike(peer, 1, "log response does not match the request");
            return;
        }
        let store = self.store.clone();
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
        let task = async move {
            let applied = ingest_envelopes(&store, entries).await;
            Done::LogApplied(LogApplied {
                peer,
                // Up to the first entry that could not be handled yet (retried next time).
                next: from + applied.handled as u64,
                log_size,
                applied: applied.stored,
                invalid: applied.invalid,
                error: applied.error,
            })
        };
        self.tasks
            .spawn(task.instrument(sync_span(peer, ReqKind::Log { from })));
    }

    /// Remembers the consortium peers a peer told of (to dial them).
    fn learn_peers(&mut self, peers: Vec<(String, Vec<String>)>) {
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

    /// Moves the peer's cursor past what was durably handled, and asks for more.
    pub(super) fn on_log_applied(&mut self, done: LogApplied) {
        let LogApplied {
            peer,
            next,
            log_size,
            applied,
            invalid,
            error,
        } = done;
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
}

/// The span of applying a peer's answer; the writer opens one `entry` span per entry in it.
fn sync_span(peer: PeerId, kind: ReqKind) -> tracing::Span {
    tracing::debug_span!("sync", peer = %peer, request = ?kind)
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
    tracing::debug!(entries = n, invalid, "applying entries from a peer");
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
