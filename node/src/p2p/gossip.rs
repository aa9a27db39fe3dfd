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

/// The verdict on one gossip message, reported back to the loop.
pub(super) struct Validated {
    msg_id: MessageId,
    source: PeerId,
    acceptance: MessageAcceptance,
    /// The metrics label.
    result: &'static str,
    /// Fetch these from the source (a pending entry's parents), or sync its log (unknown
    /// signer).
    follow_up: bool,
}

impl Loop {
    /// Gossips an entry envelope.
    pub(super) fn publish(&mut self, bytes: Vec<u8>) {
        let t = self.topic.clone();
        match self.swarm.behaviour_mut().gossipsub.publish(t, bytes) {
            Ok(_) => {
                self.metrics.p2p.gossip_published.inc();
            }
            Err(e) => tracing::debug!(cause = %e, "entry not gossiped (peers will pull it)"),
        };
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
        let task = async move {
            let _permit = permit;
            let (acceptance, result, follow_up) = validate(&store, &message.data).await;
            Done::Validated(Validated {
                msg_id: message_id,
                source: propagation_source,
                acceptance,
                result,
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
        self.metrics.p2p.gossip(v.result);
        if reject {
            self.strike_rejected(v.source, v.result);
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
    let e = match decided.unwrap_or(Err(IngestError::ShuttingDown)) {
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
