//! Answering peers' sync requests: within each peer's rate and the node's bound on requests
//! answered at once, read from the store in a blocking task, or refused.

use std::time::Instant;

use anyhow::Result;
use greenledger_core::{EntryId, PublicKey};
use libp2p::{PeerId, request_response::ResponseChannel};

use super::{
    event_loop::{Done, Loop},
    protocol::{self, SyncRequest, SyncResponse},
    scoring::THROTTLED_PER_STRIKE,
};
use crate::store::Store;

impl Loop {
    /// Refuses a sync request unanswered (over the peer's rate, or the node is busy).
    pub(super) fn refuse(&mut self, channel: ResponseChannel<SyncResponse>, kind: &str, reason: String) {
        self.metrics.p2p.sync_refused(kind);
        let _ = self
            .swarm
            .behaviour_mut()
            .sync
            .send_response(channel, SyncResponse::Refused { reason });
    }

    /// Sends an answer prepared by a task.
    pub(super) fn respond(&mut self, channel: ResponseChannel<SyncResponse>, response: SyncResponse) {
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

    /// Answers a sync request in a task (it reads the store), within the peer's rate and the
    /// node's bound on requests answered at once.
    pub(super) fn serve(&mut self, peer: PeerId, req: SyncRequest, channel: ResponseChannel<SyncResponse>) {
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
            let peers = self.peer_exchange(peer);
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

    /// The connected peers other than `asker`, with their addresses (peer exchange).
    fn peer_exchange(&self, asker: PeerId) -> Vec<(String, Vec<String>)> {
        self.swarm
            .connected_peers()
            .filter(|p| **p != asker)
            .filter_map(|p| {
                let info = self.peers.get(p)?;
                (!info.addrs.is_empty()).then(|| (p.to_string(), info.addrs.iter().map(|a| a.to_string()).collect()))
            })
            .take(protocol::MAX_PEERS)
            .collect()
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
        SyncRequest::Log {
            from,
            limit,
            ids_only: true,
            ..
        } => {
            let (size, _) = store.head()?;
            // The log's index alone: no entry is read.
            let records = store.log_range(from, (limit as usize).min(max_records))?;
            Ok(SyncResponse::Log {
                from,
                next: from + records.len() as u64,
                log_size: size,
                entries: Vec::new(),
                ids: records.into_iter().map(|(_, id, _)| id.to_hex()).collect(),
            })
        }
        SyncRequest::Log { from, limit, .. } => {
            let (size, _) = store.head()?;
            let (entries, next) = store.log_entries(from, (limit as usize).min(max_records), max_bytes)?;
            Ok(SyncResponse::Log {
                from,
                next: if entries.is_empty() { from } else { next },
                log_size: size,
                entries: entries.into_iter().map(text).collect(),
                ids: Vec::new(),
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
        SyncRequest::Forks { after, .. } => {
            let (page, next) = store.proofs_page(after.as_deref(), protocol::MAX_FORKS, max_bytes)?;
            let proofs = page
                .into_iter()
                .map(|p| (text(p.a.to_json()), text(p.b.to_json())))
                .collect();
            Ok(SyncResponse::Forks { proofs, next })
        }
        SyncRequest::Peers { .. } => Ok(SyncResponse::Peers { peers: Vec::new() }),
    })();
    result.unwrap_or_else(|e| SyncResponse::Refused {
        reason: format!("{e:#}"),
    })
}
