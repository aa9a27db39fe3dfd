//! Gossip, the fast path: publishing entries accepted over HTTP, and validating every
//! message through the store before gossipsub forwards it (`Accept`, `Ignore` or `Reject`).

use greenledger_core::{EntryId, SignedEntry, engine::ViolationKind, membership::AuthError};
use libp2p::{
    PeerId,
    gossipsub::{self, MessageAcceptance, MessageId},
};

use tracing::Instrument;

use super::event_loop::{Done, Loop};
use crate::store::{IngestError, Outcome, Store};

/// Most entries in one gossip message.
const MAX_BATCH_ENTRIES: usize = 256;

/// Bytes of a gossip message's limit kept for the array's punctuation and the RPC's framing
/// (topic, field tags and lengths).
const GOSSIP_FRAMING: usize = 4 << 10;

/// Entry envelopes waiting to be gossiped together.
#[derive(Default)]
pub(super) struct Outbox {
    entries: Vec<Vec<u8>>,
    /// Their bytes, a comma each included.
    bytes: usize,
    /// When they are published, at the latest.
    deadline: Option<tokio::time::Instant>,
}

impl Outbox {
    fn push(&mut self, envelope: Vec<u8>, window: std::time::Duration) {
        self.bytes += envelope.len() + 1;
        self.entries.push(envelope);
        self.deadline
            .get_or_insert_with(|| tokio::time::Instant::now() + window);
    }

    fn take(&mut self) -> Vec<Vec<u8>> {
        self.bytes = 0;
        self.deadline = None;
        std::mem::take(&mut self.entries)
    }

    /// Entries are waiting for their deadline.
    pub(super) fn is_waiting(&self) -> bool {
        self.deadline.is_some()
    }

    /// When the waiting entries are due (now, when none wait).
    pub(super) fn deadline(&self) -> tokio::time::Instant {
        self.deadline.unwrap_or_else(tokio::time::Instant::now)
    }
}

/// A batch topic's message: a JSON array of the envelopes, as they are.
fn batch_message(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.iter().map(|e| e.len() + 1).sum::<usize>() + 1);
    out.push(b'[');
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(e);
    }
    out.push(b']');
    out
}

/// The verdict on one gossip message, reported back to the loop.
pub(super) struct Validated {
    msg_id: MessageId,
    source: PeerId,
    acceptance: MessageAcceptance,
    /// The metrics label of each entry (one for a message that is no entry or no array).
    results: Vec<&'static str>,
    /// Fetch these from the source (a pending entry's parents), or sync its log (unknown
    /// signer).
    follow_up: bool,
}

impl Loop {
    /// Gossips an entry envelope: with whatever else is accepted within `p2p.gossip_window`
    /// of the first, as one message.
    pub(super) fn publish(&mut self, envelope: Vec<u8>) {
        // Room for the array's brackets and commas, and for the RPC's own framing.
        let limit = self.cfg.p2p.max_gossip_bytes.saturating_sub(GOSSIP_FRAMING);
        if !self.outbox.entries.is_empty() && self.outbox.bytes + envelope.len() + 1 > limit {
            self.flush_gossip();
        }
        self.outbox.push(envelope, self.cfg.p2p.gossip_window);
        if self.cfg.p2p.gossip_window.is_zero() || self.outbox.entries.len() >= MAX_BATCH_ENTRIES {
            self.flush_gossip();
        }
    }

    /// Publishes what the outbox holds as one message on the batch topic, and each entry on
    /// its own on the single-entry topic when some connected peer reads only that one (a node
    /// of the previous release).
    pub(super) fn flush_gossip(&mut self) {
        let entries = self.outbox.take();
        if entries.is_empty() {
            return;
        }
        let n = entries.len() as u64;
        let gossip = &mut self.swarm.behaviour_mut().gossipsub;
        let (single, batch) = (self.topic.hash(), self.batch_topic.hash());
        let older_peers = gossip
            .all_peers()
            .any(|(_, topics)| topics.contains(&&single) && !topics.contains(&&batch));
        if older_peers {
            for e in &entries {
                if let Err(e) = gossip.publish(self.topic.clone(), e.clone()) {
                    tracing::debug!(cause = %e, "entry not gossiped to older peers (they will pull it)");
                }
            }
        }
        match gossip.publish(self.batch_topic.clone(), batch_message(&entries)) {
            Ok(_) => {
                self.metrics.p2p.gossip_published.inc_by(n);
            }
            Err(e) => tracing::debug!(cause = %e, entries = n, "entries not gossiped (peers will pull them)"),
        }
    }

    /// Validates a message in a task, within `p2p.max_validations_in_flight`; beyond it the
    /// message is ignored and left to anti-entropy.
    pub(super) fn handle_gossip(&mut self, ev: gossipsub::Event) {
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
        let span = tracing::debug_span!("gossip", from = %propagation_source);
        let is_batch = message.topic == self.batch_topic.hash();
        let task = async move {
            let _permit = permit;
            let (acceptance, results, follow_up) = if is_batch {
                validate_batch(&store, &message.data).await
            } else {
                let (acceptance, result, follow_up) = validate(&store, &message.data).await;
                (acceptance, vec![result], follow_up)
            };
            Done::Validated(Validated {
                msg_id: message_id,
                source: propagation_source,
                acceptance,
                results,
                follow_up,
            })
        };
        self.tasks.spawn(task.instrument(span));
    }

    /// Reports a verdict to gossipsub, strikes a sender of invalid data, and follows up on
    /// what the entry waits for.
    pub(super) fn on_validated(&mut self, v: Validated) {
        let reject = matches!(v.acceptance, MessageAcceptance::Reject);
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(&v.msg_id, &v.source, v.acceptance);
        for result in &v.results {
            self.metrics.p2p.gossip(result);
        }
        if reject {
            // Named by what made it invalid (the first entry that did).
            let why = v
                .results
                .iter()
                .find(|r| matches!(**r, "invalid" | "wrong_network"))
                .unwrap_or(&"invalid");
            self.strike_rejected(v.source, why);
        }
        if v.follow_up && self.swarm.is_connected(&v.source) {
            self.request_log(v.source);
            self.fetch_pending(&[v.source]);
        }
    }
}

/// Validates a gossip message through the ledger: (acceptance, result label, follow up).
async fn validate(store: &Store, data: &[u8]) -> (MessageAcceptance, &'static str, bool) {
    let se = match SignedEntry::from_json(data) {
        Ok(se) => se,
        Err(e) => {
            tracing::debug!(cause = %e, "gossip message is no entry");
            return (MessageAcceptance::Reject, "invalid", false);
        }
    };
    let id = se.id();
    let span = tracing::debug_span!("entry", id = %id.fmt_short());
    let verdict = judge(store, &id, se).instrument(span.clone()).await;
    span.in_scope(|| tracing::debug!(result = verdict.1, "gossip validated"));
    verdict
}

/// The verdict on a decoded entry whose id is `id`.
async fn judge(store: &Store, id: &EntryId, se: SignedEntry) -> (MessageAcceptance, &'static str, bool) {
    // Already in the log (a sync pulled it before gossip delivered it): what the writer
    // would answer, without verifying it again.
    if store.has_entry(id) {
        return (MessageAcceptance::Ignore, "duplicate", false);
    }
    // Decoded and verified in a batch with whatever else arrives, off the runtime.
    let verified = match store.verifier().verify(se).await {
        Ok(v) => v,
        Err(e) => {
            tracing::debug!(cause = %e, "signature or encoding refused");
            return (MessageAcceptance::Reject, "invalid", false);
        }
    };
    // Forwarded as soon as the rules have decided, not once the batch is durable: the
    // entry is valid either way, and a node that fails to write it pulls it again.
    let decided = match store.ingest_decided(vec![verified]).await {
        Some((decided, _durable)) => decided.await.ok().and_then(|mut v| v.pop()),
        None => None,
    };
    verdict(decided.unwrap_or(Err(IngestError::ShuttingDown)))
}

/// Validates a batch topic's message (a JSON array of entry envelopes): every entry not yet
/// held is verified (in one batch) and handed to the writer (in one group, in the array's
/// order). The message is rejected if any entry is undecodable, badly signed or of another
/// network (no honest node sends one), forwarded if any entry was new or is evidence, and
/// ignored otherwise. Returns (acceptance, each entry's result label, follow up).
async fn validate_batch(store: &Store, data: &[u8]) -> (MessageAcceptance, Vec<&'static str>, bool) {
    let invalid = |why: &str| {
        tracing::debug!(cause = why, "gossip message is no array of entries");
        (MessageAcceptance::Reject, vec!["invalid"], false)
    };
    let raw: Vec<&serde_json::value::RawValue> = match serde_json::from_slice(data) {
        Ok(raw) => raw,
        Err(e) => return invalid(&e.to_string()),
    };
    if raw.is_empty() || raw.len() > MAX_BATCH_ENTRIES {
        return invalid(&format!("{} entries (1 to {MAX_BATCH_ENTRIES} are allowed)", raw.len()));
    }
    let mut results = vec!["duplicate"; raw.len()];
    let mut positions = Vec::with_capacity(raw.len());
    let mut fresh = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        // Already in the log: not verified again.
        match store.parse_unless_held(r.get().as_bytes()) {
            Ok(None) => {}
            Ok(Some(se)) => {
                positions.push(i);
                fresh.push(se);
            }
            Err(e) => return invalid(&format!("entry {i}: {e}")),
        }
    }
    if fresh.is_empty() {
        return (MessageAcceptance::Ignore, results, false);
    }
    let count = fresh.len();
    let verdicts = store.verifier().verify_many(fresh).await;
    if verdicts.len() != count {
        // The verifier is gone (the node is stopping): nothing was judged.
        return (MessageAcceptance::Ignore, vec!["not_stored"; count], false);
    }
    let mut verified = Vec::with_capacity(count);
    for (v, i) in verdicts.into_iter().zip(&positions) {
        match v {
            Ok(v) => verified.push(v),
            Err(e) => {
                tracing::debug!(entry = i, cause = %e, "signature or encoding refused");
                return (MessageAcceptance::Reject, vec!["invalid"], false);
            }
        }
    }
    let n = verified.len();
    let decided = match store.ingest_decided(verified).await {
        Some((decided, _durable)) => decided.await.ok(),
        None => None,
    }
    .unwrap_or_else(|| vec![Err(IngestError::ShuttingDown); n]);
    let (mut forward, mut reject, mut follow_up) = (false, false, false);
    for (d, &i) in decided.into_iter().zip(&positions) {
        let (acceptance, result, follow) = verdict(d);
        results[i] = result;
        follow_up |= follow;
        match acceptance {
            MessageAcceptance::Accept => forward = true,
            MessageAcceptance::Reject => reject = true,
            MessageAcceptance::Ignore => {}
        }
    }
    let acceptance = if reject {
        MessageAcceptance::Reject
    } else if forward {
        MessageAcceptance::Accept
    } else {
        MessageAcceptance::Ignore
    };
    (acceptance, results, follow_up)
}

/// What the writer's decision on a verified entry makes of the gossip message that carried
/// it: (acceptance, result label, follow up).
fn verdict(decided: Result<Outcome, IngestError>) -> (MessageAcceptance, &'static str, bool) {
    let e = match decided {
        Ok(Outcome::Stored { .. }) => return (MessageAcceptance::Accept, "stored", false),
        Ok(Outcome::Duplicate { .. }) => return (MessageAcceptance::Ignore, "duplicate", false),
        Ok(Outcome::Pending { .. }) => return (MessageAcceptance::Ignore, "pending", true),
        Err(e) => e,
    };
    if let Some(v) = e.violation()
        && v.is_evidence()
    {
        // The second entry of a fork, or the second issue of a double issuance, is evidence:
        // forward it so that every node keeps the proof and flags what rests on it.
        return (MessageAcceptance::Accept, v.code(), false);
    }
    match e.violation().map(|v| &v.kind) {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A batch is the envelopes, as they are, in a JSON array; the outbox counts their bytes
    /// (a comma each) and keeps the first entry's deadline.
    #[test]
    fn a_batch_is_the_envelopes_in_an_array_due_a_window_after_the_first() {
        let envelopes = [br#"{"a":1}"#.to_vec(), br#"{"b":[2,3]}"#.to_vec()];
        let bytes = batch_message(&envelopes);
        assert_eq!(bytes, br#"[{"a":1},{"b":[2,3]}]"#);
        let raw: Vec<&serde_json::value::RawValue> = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(raw[1].get().as_bytes(), &envelopes[1][..]);
        assert_eq!(batch_message(&envelopes[..1]), br#"[{"a":1}]"#);

        let mut outbox = Outbox::default();
        assert!(!outbox.is_waiting());
        let start = tokio::time::Instant::now();
        outbox.push(envelopes[0].clone(), Duration::from_millis(10));
        let due = outbox.deadline();
        assert!(
            due >= start + Duration::from_millis(10) && due <= tokio::time::Instant::now() + Duration::from_millis(10)
        );
        std::thread::sleep(Duration::from_millis(2));
        outbox.push(envelopes[1].clone(), Duration::from_millis(10));
        assert!(outbox.is_waiting());
        assert_eq!(outbox.deadline(), due, "a later entry moved the deadline");
        assert_eq!(outbox.bytes, bytes.len() - 1);
        assert_eq!(outbox.take(), envelopes);
        assert!(!outbox.is_waiting());
        assert_eq!(outbox.bytes, 0);
    }
}
