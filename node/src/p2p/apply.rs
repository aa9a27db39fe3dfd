//! Anti-entropy, the applying side: checking that an answer matches its request, applying
//! its entries through the store in a task, and moving the peer's cursor once they are
//! durable. An answer cut short (a full pending area, a storage error) is asked for again.

use std::time::SystemTime;

use greenledger_core::{EntryId, VerifiedEntry, entry::verify_many};
use libp2p::{Multiaddr, PeerId};
use tracing::Instrument;

use super::{
    event_loop::{Done, Loop},
    peers::Page,
    protocol::{self, SyncResponse},
    sync::ReqKind,
};
use crate::store::{Outcome, Store};

/// A peer's log records applied, reported back to the loop.
pub(super) struct LogApplied {
    peer: PeerId,
    /// The page's first record.
    from: u64,
    /// The position after the records handled.
    next: u64,
    log_size: u64,
    applied: u64,
    invalid: u32,
    error: Option<String>,
    /// Records in the page.
    len: u64,
    /// Of which this node already held (not verified again).
    known: u64,
    /// The page was of ids only.
    ids_only: bool,
}

/// The fewest records taken in full, while catching up, that say whether the peer's next
/// pages are better asked for as ids first again ([`super::peers::Peer::catching_up`]).
const CAUGHT_UP_FROM: u64 = 16;
/// The fewest records in a page of mostly new entries that says this node is catching up
/// (the tail of a log that gossip is still delivering is far shorter).
const CATCHING_UP_FROM: u64 = 256;

impl Loop {
    /// Checks that a sync response answers what was asked, then applies it in a task.
    pub(super) fn apply(&mut self, peer: PeerId, kind: ReqKind, response: SyncResponse) {
        let store = self.store.clone();
        match (kind, response) {
            (
                ReqKind::Log { from: asked, ids_only },
                SyncResponse::Log {
                    from,
                    next,
                    log_size,
                    entries,
                    ids,
                },
            ) => {
                // Ids where entries were asked for would be asked for again and again.
                if !ids_only && !ids.is_empty() {
                    self.strike(peer, 1, "log response does not match the request");
                    return;
                }
                self.apply_log(peer, asked, from, next, log_size, Records { entries, ids })
            }
            (ReqKind::Chain | ReqKind::Entries, SyncResponse::Entries { entries }) => {
                if entries.len() > protocol::MAX_CHAIN.max(protocol::MAX_IDS) {
                    self.strike(peer, 1, "oversized entries response");
                    return;
                }
                let task = async move {
                    let applied = ingest_envelopes(&store, entries, Turn::default()).await;
                    Done::Applied {
                        peer,
                        invalid: applied.invalid,
                    }
                };
                self.tasks.spawn(task.instrument(sync_span(peer, kind)));
            }
            (ReqKind::Forks, SyncResponse::Forks { proofs, next }) => {
                if proofs.len() > protocol::MAX_FORKS || next.as_ref().is_some_and(|n| n.len() > 256) {
                    self.strike(peer, 1, "oversized fork response");
                    return;
                }
                // More proofs than one page: ask for the next at once (no proof is dropped).
                if let Some(after) = next
                    && !proofs.is_empty()
                {
                    self.request_proofs(peer, Some(after));
                }
                let task = async move {
                    let mut invalid = 0;
                    for (a, b) in proofs {
                        invalid += ingest_envelopes(&store, vec![a, b], Turn::default()).await.invalid;
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
    fn apply_log(&mut self, peer: PeerId, asked: u64, from: u64, next: u64, log_size: u64, records: Records) {
        let max = self.cfg.p2p.max_records_per_response;
        let len = records.entries.len().max(records.ids.len());
        // Records are contiguous: `next` must be exactly past the records sent, as entries or
        // as ids, not both.
        if from != asked
            || len > max
            || next != from + len as u64
            || (!records.entries.is_empty() && !records.ids.is_empty())
        {
            self.strike(peer, 1, "log response does not match the request");
            return;
        }
        let store = self.store.clone();
        if len == 0 {
            let p = self.peer(peer);
            p.peer_log_size = Some(log_size);
            p.last_sync = Some(SystemTime::now());
            p.last_error = None;
            if log_size < p.cursor {
                // The peer's log is shorter than what was applied from it: its data dir
                // was replaced. Start over (duplicates are cheap).
                tracing::warn!(peer = %peer, log_size, cursor = p.cursor, "peer log shrank; restarting its cursor");
                p.cursor = 0;
                p.pages.clear();
                store.set_cursor(&peer.to_string(), 0);
            }
            return;
        }
        let p = self.peer(peer);
        // A page asked for ahead of a page that was then cut short does not follow on from
        // the cursor any more: dropped (the loop asks again from the cursor).
        if from != p.log_ahead() {
            tracing::debug!(peer = %peer, from, cursor = p.cursor, "log page no longer follows on; asking again");
            if self.swarm.is_connected(&peer) {
                self.request_log(peer);
            }
            return;
        }
        // Pages are verified as they come, and handed to the store in log order: each waits
        // for the one before it to be handed over (not to be durable).
        let (handed, next_turn) = tokio::sync::oneshot::channel();
        let turn = Turn {
            after: p.last_handed.replace(next_turn),
            handed: Some(handed),
        };
        p.pages.push_back(Page {
            from,
            next,
            handled: None,
        });
        let ids_only = !records.ids.is_empty();
        let task = async move {
            let applied = if ids_only {
                held_prefix(&store, records.ids, turn).await
            } else {
                ingest_envelopes(&store, records.entries, turn).await
            };
            Done::LogApplied(LogApplied {
                peer,
                from,
                // Up to the first entry that could not be handled yet (retried next time).
                next: from + applied.handled as u64,
                log_size,
                applied: applied.stored,
                invalid: applied.invalid,
                error: applied.error,
                len: len as u64,
                known: applied.known,
                ids_only,
            })
        };
        self.tasks
            .spawn(task.instrument(sync_span(peer, ReqKind::Log { from, ids_only })));
        // Fetch the next page while this one is applied.
        if next < log_size && self.swarm.is_connected(&peer) {
            self.request_log(peer);
        }
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
            from,
            next,
            log_size,
            applied,
            invalid,
            error,
            len,
            known,
            ids_only,
        } = done;
        self.metrics.p2p.pulled.inc_by(applied);
        self.metrics.p2p.held.inc_by(known);
        let p = self.peer(peer);
        // An ids page stops at the first record this node lacks: the entries from there on
        // are asked for in full, now.
        let lacking = ids_only && next < from + len;
        if lacking {
            p.full_next = true;
        } else if !ids_only && !p.catching_up {
            if len >= CATCHING_UP_FROM && known * 2 < len {
                p.catching_up = true;
            }
        } else if !ids_only {
            let (taken, held) = &mut p.sampled;
            *taken += len;
            *held += known;
            if *taken >= CAUGHT_UP_FROM {
                p.catching_up = *held * 2 < *taken;
                p.sampled = (0, 0);
            }
        }
        p.pulled += applied;
        p.peer_log_size = Some(log_size);
        p.last_error = error.clone();
        if error.is_none() {
            p.last_sync = Some(SystemTime::now());
        }
        let moved = p.page_applied(from, next);
        let cursor = p.cursor;
        let ahead = p.log_ahead();
        if moved {
            self.store.set_cursor(&peer.to_string(), cursor);
        }
        let page = self.cfg.p2p.max_records_per_response as u64;
        self.catch_up.advanced(&peer, cursor, log_size, page);
        self.strike(peer, invalid, "invalid entries in its log");
        if (moved || lacking) && ahead < log_size && self.swarm.is_connected(&peer) {
            self.request_log(peer);
        }
    }
}

/// A log page's records: entry envelopes, or (asked with `ids_only`) entry ids.
struct Records {
    entries: Vec<String>,
    ids: Vec<String>,
}

/// The span of applying a peer's answer; the writer opens one `entry` span per entry in it.
fn sync_span(peer: PeerId, kind: ReqKind) -> tracing::Span {
    tracing::debug_span!("sync", peer = %peer, request = ?kind)
}

/// What became of a list of entries from a peer.
struct Applied {
    /// Newly stored.
    stored: u64,
    /// Already held, so not verified again.
    known: u64,
    /// Undecodable, badly signed or of another network: no honest node sends those.
    invalid: u32,
    /// How many leading entries were handled (stored, known, pending or refused for good);
    /// the rest could not be handled yet (a full pending area, a storage error).
    handled: usize,
    /// Why the rest could not be handled.
    error: Option<String>,
}

/// Where a list of entries stands among the lists of one peer's log: handed to the store only
/// after `after` resolves (the page before it was handed over, or gave up), and `handed` is
/// resolved once it is. The default waits for nothing.
#[derive(Default)]
struct Turn {
    after: Option<tokio::sync::oneshot::Receiver<()>>,
    handed: Option<tokio::sync::oneshot::Sender<()>>,
}

/// How many leading ids of an ids page name entries this node holds: the cursor moves over
/// those, and the entries from the first one it lacks are asked for in full. An id that does
/// not parse is invalid (no honest node sends one) and ends the prefix.
async fn held_prefix(store: &Store, ids: Vec<String>, turn: Turn) -> Applied {
    if let Some(after) = turn.after {
        let _ = after.await;
    }
    // Nothing is handed to the writer: the next page may go at once.
    if let Some(handed) = turn.handed {
        let _ = handed.send(());
    }
    let store = store.clone();
    let counted = tokio::task::spawn_blocking(move || {
        let mut held = 0usize;
        for id in &ids {
            match id.parse::<EntryId>() {
                Ok(id) if store.has_entry(&id) => held += 1,
                Ok(_) => return (held, 0),
                Err(_) => return (held, 1),
            }
        }
        (held, 0)
    })
    .await;
    let (held, invalid) = counted.unwrap_or((0, 0));
    Applied {
        stored: 0,
        known: held as u64,
        invalid,
        handled: held,
        error: None,
    }
}

/// Verifies envelopes (signatures in batches) and applies them in order, in their turn.
async fn ingest_envelopes(store: &Store, envelopes: Vec<String>, turn: Turn) -> Applied {
    let n = envelopes.len();
    let known = store.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let mut invalid = 0u32;
        let mut known_here = 0u64;
        let mut positions = Vec::with_capacity(envelopes.len());
        let mut parsed = Vec::with_capacity(envelopes.len());
        for (i, e) in envelopes.iter().enumerate() {
            // Already in the log (gossip brought it first, or another peer's log did): not
            // verified again. A peer's log holds every entry the network has, so without this
            // each entry would be verified once per peer.
            match known.parse_unless_held(e.as_bytes()) {
                Ok(None) => known_here += 1,
                Ok(Some(se)) => {
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
        (verified, kept, invalid, known_here)
    })
    .await;
    let (verified, positions, mut invalid, known) = match checked {
        Ok(x) => x,
        Err(e) => {
            return Applied {
                stored: 0,
                known: 0,
                invalid: 0,
                handled: 0,
                error: Some(format!("verification task failed: {e}")),
            };
        }
    };
    tracing::debug!(entries = n, invalid, "applying entries from a peer");
    if let Some(after) = turn.after {
        // An error only means the page before gave up; the order is kept either way.
        let _ = after.await;
    }
    let count = verified.len();
    let durable = store.ingest_queued(verified).await;
    if let Some(handed) = turn.handed {
        let _ = handed.send(());
    }
    let answers = match durable {
        Some(durable) => durable.await.ok(),
        None => None,
    }
    .unwrap_or_else(|| vec![Err(crate::store::IngestError::ShuttingDown); count]);
    let mut stored = 0;
    let mut handled = n;
    let mut error = None;
    for (r, pos) in answers.into_iter().zip(positions) {
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
        known,
        invalid,
        handled,
        error,
    }
}
