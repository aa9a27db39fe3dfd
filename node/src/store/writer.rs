//! The writer thread: the only code that writes the database.
//!
//! It receives verified entries (signatures are checked by the caller, in parallel), applies
//! the ledger rules that need the ledger's state — network, forks, membership, chain links,
//! inputs, supersession, roll-up — and writes each accepted entry, its log record and all its
//! index rows into one `WriteBatch`. Concurrent submissions are grouped: one batch and one
//! WAL sync (`sync = true`) answer up to `max_batch` of them (group commit). Nobody is
//! answered before the batch holding their entry is durable.
//!
//! Entries whose `prev`, inputs or superseded entry are unknown go to the pending area
//! (persisted, bounded in count and bytes) and are admitted as soon as what they wait for
//! arrives. A second entry at a (signer, seq) that already holds another entry is kept with
//! it as a fork proof, and the signer's entries from that seq on are refused.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Instant,
};

use anyhow::{Context, Result};
use greenledger_core::{
    EntryId, ForkProof, Genesis, LedgerView, Membership, NetworkId, PublicKey, SignedEntry, Violation,
    custody::{self, LotId},
    engine::{self, KindError, ViolationKind},
    entry::Entry,
    kinds::IndexRow,
    log::record_hash,
};
use rocksdb::{DB, IteratorMode, WriteBatch, WriteOptions};
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use super::{Answers, IngestJob, Shared, WriterMsg, schema};
use crate::{config::Config, identity::Identity};

/// What happened to a submitted entry. Every variant is durable when reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Appended to the log.
    Stored {
        /// Its log index.
        log_index: u64,
    },
    /// Already in the log (submitting again is harmless).
    Duplicate {
        /// Its log index.
        log_index: u64,
    },
    /// Waiting in the pending area for these entries.
    Pending {
        /// What it waits for.
        missing: Vec<EntryId>,
    },
}

/// Why the ledger did not take an entry.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IngestError {
    /// A ledger rule refuses it: the engine's verdict, naming the rule, the entry and the signer.
    #[error("{0}")]
    Refused(Box<Violation>),
    /// The pending area is full.
    #[error(
        "the pending area is full ({entries} entries, {bytes} bytes waiting for their prev or inputs); submit the missing entries first, or retry later"
    )]
    PendingFull {
        /// Entries waiting.
        entries: usize,
        /// Bytes waiting.
        bytes: usize,
    },
    /// The database failed.
    #[error("storage error: {0}")]
    Storage(String),
    /// The node is stopping.
    #[error("the node is shutting down; retry on another node or after restart")]
    ShuttingDown,
}

/// What kind of failure an ingest error is: the one classification that the HTTP API, gossip
/// validation and sync branch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// The signer may not sign the entry (not admitted — perhaps not yet —, wrong role, revoked).
    Forbidden,
    /// The entry conflicts with its signer's chain (a fork, a broken link).
    Conflict,
    /// The entry breaks a rule of its content, or belongs to another network.
    Invalid,
    /// The node cannot take it now (a full pending area, shutting down): retry later.
    Unavailable,
    /// The node's storage failed.
    Internal,
}

impl IngestError {
    /// The class of the failure.
    pub fn class(&self) -> ErrorClass {
        match self {
            IngestError::Refused(v) => match v.class() {
                engine::Class::Forbidden => ErrorClass::Forbidden,
                engine::Class::Conflict => ErrorClass::Conflict,
                engine::Class::Invalid => ErrorClass::Invalid,
            },
            IngestError::PendingFull { .. } | IngestError::ShuttingDown => ErrorClass::Unavailable,
            IngestError::Storage(_) => ErrorClass::Internal,
        }
    }

    /// A stable identifier for programs: the rule's code ([`Violation::code`]), or the node's
    /// own condition.
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::Refused(v) => v.code(),
            IngestError::PendingFull { .. } => "pending_full",
            IngestError::Storage(_) => "storage_error",
            IngestError::ShuttingDown => "shutting_down",
        }
    }

    /// The rule broken, if a rule refused the entry.
    pub fn violation(&self) -> Option<&Violation> {
        match self {
            IngestError::Refused(v) => Some(v),
            _ => None,
        }
    }

    /// Whether the entry can never be admitted, whatever arrives later (see
    /// [`Violation::is_final`]); the node's own conditions (a full pending area, storage,
    /// shutdown) pass.
    fn is_final(&self) -> bool {
        self.violation().is_some_and(Violation::is_final)
    }
}

type Reply = tokio::sync::oneshot::Sender<Answers>;

/// What a group of submissions is owed once its batch is durable: each answer, with the
/// submitter's span.
#[derive(Default)]
struct Staged {
    many: Vec<(Reply, Answers, tracing::Span)>,
    /// The checkpoint timer ticked.
    tick: bool,
}

struct Pending {
    entry: Entry,
    missing: HashSet<EntryId>,
    bytes: usize,
}

pub(crate) struct Ledger {
    db: Arc<DB>,
    genesis: Genesis,
    network: NetworkId,
    cfg: Config,
    identity: Identity,
    shared: Arc<Shared>,
    heads: HashMap<PublicKey, (u64, EntryId)>,
    forked: HashMap<PublicKey, u64>,
    /// The entries of the fork proofs (known entries, though not in the log: what names one
    /// is told it rests on a forked chain). Forks are rare; this stays small.
    fork_entries: HashMap<EntryId, Entry>,
    /// Double issuances: each conflicting certificate issue, with the other.
    conflicts: HashMap<EntryId, EntryId>,
    members: Vec<Entry>,
    membership: Membership,
    /// The membership changed since it was last shared (see [`Ledger::publish`]).
    membership_dirty: bool,
    log_size: u64,
    head_hash: [u8; 32],
    pending: HashMap<EntryId, Pending>,
    waiting: HashMap<EntryId, Vec<EntryId>>,
    pending_bytes: usize,
    last_checkpoint_size: u64,
    last_checkpoint_at: Instant,
    /// Set when a failed write could not be followed by a clean reload: no more writes.
    broken: Option<String>,
    /// Entries refused for good (in memory, bounded): what depends on them is refused at once
    /// instead of waiting in the pending area for ever.
    refused: HashSet<EntryId>,
}

/// Most ids remembered in [`Ledger::refused`]; the set starts over when full.
const MAX_REFUSED: usize = 100_000;

/// The ledger as the rules see it while a batch is built: the database, plus the entries
/// accepted earlier in the same batch.
struct StoreView<'a> {
    ledger: &'a Ledger,
    batch: &'a Batch,
}

impl LedgerView for StoreView<'_> {
    fn network(&self) -> NetworkId {
        self.ledger.network
    }

    fn membership(&self) -> &Membership {
        &self.ledger.membership
    }

    fn entry(&self, id: &EntryId) -> Option<std::borrow::Cow<'_, Entry>> {
        if let Some((_, e)) = self.batch.staged.get(id) {
            return Some(std::borrow::Cow::Borrowed(e));
        }
        if let Some(e) = self.ledger.lookup(id, self.batch) {
            return Some(std::borrow::Cow::Owned(e));
        }
        self.ledger.fork_entries.get(id).map(std::borrow::Cow::Borrowed)
    }

    fn chain_at(&self, signer: &PublicKey, seq: u64) -> Option<EntryId> {
        // Chains are contiguous, and the heads (kept in memory, batch included) answer the
        // common questions — the head itself, and nothing above it — without a read.
        match self.ledger.heads.get(signer) {
            None => None,
            Some((head, _)) if seq > *head => None,
            Some((head, id)) if seq == *head => Some(*id),
            Some(_) => self.ledger.chain_at(signer, seq, self.batch),
        }
    }

    fn chains_complete(&self) -> bool {
        true
    }

    fn forked_at(&self, signer: &PublicKey) -> Option<u64> {
        self.ledger.forked.get(signer).copied()
    }

    fn refused(&self, id: &EntryId) -> bool {
        self.ledger.refused.contains(id)
    }

    fn drawn_before(&self, lot: &LotId, seq: u64) -> i64 {
        let stored = self.ledger.drawn_before(lot, seq);
        let staged: i64 = self
            .batch
            .draws
            .get(lot)
            .into_iter()
            .flatten()
            .filter(|(s, _)| *s < seq)
            .map(|(_, a)| *a)
            .sum();
        stored.saturating_add(staged)
    }

    fn conflict_of(&self, issue: &EntryId) -> Option<EntryId> {
        self.ledger.conflicts.get(issue).copied()
    }

    fn issues_of_device(&self, device: &str) -> Vec<EntryId> {
        let mut out = self.ledger.issues_of_device(device);
        out.extend(self.batch.devices.get(device).into_iter().flatten().copied());
        out
    }
}

/// Entries accepted in the batch being built, visible to later entries of the same batch.
///
/// The rows of `entries_v1`, `chains_v1`, `parts_v1` and `pact_ids_v1`, whose keys are ids,
/// keys and names in no useful order, are written into `wb` only at commit, sorted by key (see
/// [`Ledger::put_sorted`]); every other row goes into `wb` as it is staged.
#[derive(Default)]
struct Batch {
    wb: WriteBatch,
    staged: HashMap<EntryId, (u64, Entry)>,
    chain_staged: HashMap<(PublicKey, u64), EntryId>,
    /// `parts_v1` keys of the staged entries.
    parts: Vec<Vec<u8>>,
    /// `pact_ids_v1` rows of the staged entries: PACT footprint id → entry id.
    pact_ids: Vec<([u8; 16], EntryId)>,
    /// Draws staged in this batch: lot → (drawing entry's seq, amount).
    draws: HashMap<LotId, Vec<(u64, i64)>>,
    /// Certificate issues staged in this batch, by device id.
    devices: HashMap<String, Vec<EntryId>>,
}

pub(crate) fn decode_fork(v: &[u8]) -> Option<ForkProof> {
    #[derive(serde::Deserialize)]
    struct Raw<'a> {
        #[serde(borrow)]
        a: &'a RawValue,
        #[serde(borrow)]
        b: &'a RawValue,
    }
    let r: Raw<'_> = serde_json::from_slice(v).ok()?;
    Some(ForkProof {
        a: SignedEntry::from_json(r.a.get().as_bytes()).ok()?,
        b: SignedEntry::from_json(r.b.get().as_bytes()).ok()?,
    })
}

fn encode_fork(p: &ForkProof) -> Vec<u8> {
    let mut v = b"{\"a\":".to_vec();
    v.extend_from_slice(&p.a.to_json());
    v.extend_from_slice(b",\"b\":");
    v.extend_from_slice(&p.b.to_json());
    v.push(b'}');
    v
}

impl Ledger {
    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(name)
            .unwrap_or_else(|| unreachable!("column family {name} is created at open"))
    }

    /// Rebuilds the in-memory state from the database.
    pub(crate) fn load(
        db: Arc<DB>,
        genesis: Genesis,
        cfg: &Config,
        identity: Identity,
        shared: Arc<Shared>,
    ) -> Result<Self> {
        let network = genesis.network_id();
        let mut l = Ledger {
            db,
            genesis,
            network,
            cfg: cfg.clone(),
            identity,
            shared,
            heads: HashMap::new(),
            forked: HashMap::new(),
            fork_entries: HashMap::new(),
            conflicts: HashMap::new(),
            members: Vec::new(),
            membership: Membership::default(),
            membership_dirty: false,
            log_size: 0,
            head_hash: [0; 32],
            pending: HashMap::new(),
            waiting: HashMap::new(),
            pending_bytes: 0,
            last_checkpoint_size: 0,
            last_checkpoint_at: Instant::now(),
            broken: None,
            refused: HashSet::new(),
        };
        l.reload()?;
        Ok(l)
    }

    fn reload(&mut self) -> Result<()> {
        self.heads.clear();
        for kv in self.db.iterator_cf(self.cf(schema::CHAINS), IteratorMode::Start) {
            let (k, v) = kv?;
            let signer = PublicKey::from_bytes(k.get(..32).context("chain key")?.try_into().context("chain key")?)
                .context("chain key")?;
            let seq = schema::u64_from(k.get(32..).unwrap_or_default()).context("chain key")?;
            let id = schema::id_from(&v).context("chain value")?;
            self.heads.insert(signer, (seq, id));
        }
        self.forked.clear();
        self.fork_entries.clear();
        let mut forks = 0;
        let mut proofs = Vec::new();
        for kv in self.db.iterator_cf(self.cf(schema::FORKS), IteratorMode::Start) {
            let (k, v) = kv?;
            proofs.extend(decode_fork(&v));
            let signer = PublicKey::from_bytes(k.get(..32).context("fork key")?.try_into().context("fork key")?)
                .context("fork key")?;
            let seq = schema::u64_from(k.get(32..).unwrap_or_default()).context("fork key")?;
            let f = self.forked.entry(signer).or_insert(seq);
            *f = (*f).min(seq);
            forks += 1;
        }
        for p in &proofs {
            self.remember_fork_entries(p);
        }
        // Double issuances: each issue with the other (both are entries of the log).
        self.conflicts.clear();
        for kv in self.db.iterator_cf(self.cf(schema::CONFLICTS), IteratorMode::Start) {
            let (k, _) = kv?;
            if let (Some(a), Some(b)) = (schema::id_from(&k), k.get(32..).and_then(schema::id_from)) {
                self.conflicts.entry(a).or_insert(b);
            }
        }
        self.members.clear();
        let ids: Vec<EntryId> = self
            .db
            .iterator_cf(self.cf(schema::MEMBERS), IteratorMode::Start)
            .filter_map(|kv| kv.ok().and_then(|(k, _)| schema::id_from(&k)))
            .collect();
        for id in ids {
            if let Some(e) = self.lookup(&id, &Batch::default()) {
                self.members.push(e);
            }
        }
        self.recompute_membership();
        let mut it = self.db.iterator_cf(self.cf(schema::LOG), IteratorMode::End);
        (self.log_size, self.head_hash) = match it.next() {
            Some(kv) => {
                let (k, v) = kv?;
                (
                    schema::u64_from(&k).context("log key")? + 1,
                    v.get(32..64).context("log record")?.try_into().context("log record")?,
                )
            }
            None => (0, [0; 32]),
        };
        drop(it);
        self.last_checkpoint_size = self.log_size;
        // Pending entries survive restarts; re-admit those whose parents are now known.
        self.pending.clear();
        self.waiting.clear();
        self.pending_bytes = 0;
        let stored: Vec<Vec<u8>> = self
            .db
            .iterator_cf(self.cf(schema::PENDING), IteratorMode::Start)
            .filter_map(|kv| kv.ok().map(|(_, v)| v.to_vec()))
            .collect();
        let mut batch = Batch::default();
        for bytes in stored {
            if let Some(v) = SignedEntry::from_json(&bytes).ok().and_then(|s| s.verify().ok()) {
                let id = v.id();
                batch.wb.delete_cf(self.cf(schema::PENDING), id.0);
                if let Err(e) = self.ingest(v.into_entry(), &mut batch, true) {
                    tracing::warn!(entry = %id.fmt_short(), cause = %e, "pending entry refused at start");
                    self.refuse(id, &mut batch);
                }
            }
        }
        self.commit(batch).map_err(|e| anyhow::anyhow!(e))?;
        self.publish();
        tracing::info!(
            log_size = self.log_size,
            signers = self.heads.len(),
            pending = self.pending.len(),
            forks,
            "store loaded"
        );
        Ok(())
    }

    fn recompute_membership(&mut self) {
        let forked = &self.forked;
        self.membership = Membership::compute(
            &self.genesis,
            self.members
                .iter()
                .filter(|e| forked.get(&e.payload.signer).is_none_or(|s| e.payload.seq < *s)),
        );
        if let Ok(mut m) = self.shared.membership.write() {
            *m = Arc::new(self.membership.clone());
        }
        self.membership_dirty = false;
    }

    /// A membership entry joined the log (the last of `members`): the common admission is added to the membership as
    /// it stands (readers see it from the batch's commit on, see [`Ledger::publish`]); anything
    /// else computes the membership afresh. Computing afresh for every admission made
    /// admitting n organisations cost O(n²).
    fn member_added(&mut self) {
        let Some(entry) = self.members.last() else {
            return;
        };
        let p = &entry.payload;
        let unforked = self.forked.get(&p.signer).is_none_or(|s| p.seq < *s);
        if unforked && self.membership.admit_one(entry) {
            self.membership_dirty = true;
        } else {
            self.recompute_membership();
        }
    }

    fn publish(&mut self) {
        if self.membership_dirty {
            if let Ok(mut m) = self.shared.membership.write() {
                *m = Arc::new(self.membership.clone());
            }
            self.membership_dirty = false;
        }
        if let Ok(mut snap) = self.shared.pending.write() {
            snap.clear();
            snap.extend(
                self.pending
                    .iter()
                    .map(|(id, p)| (*id, p.missing.iter().copied().collect())),
            );
        }
        self.shared.set(&self.shared.log_size, self.log_size);
        self.shared.set(&self.shared.pending_entries, self.pending.len() as u64);
        self.shared.set(&self.shared.pending_bytes, self.pending_bytes as u64);
        self.shared.set(&self.shared.forks, self.forked.len() as u64);
        self.shared.set(&self.shared.conflicts, self.conflicts.len() as u64);
    }

    /// The writer loop: group commit until every sender is gone, then checkpoint and flush.
    pub(crate) fn run(mut self, mut rx: mpsc::Receiver<WriterMsg>) {
        let max_batch = self.cfg.storage.max_batch.max(1);
        while let Some(first) = rx.blocking_recv() {
            let mut msgs = vec![first];
            while msgs.len() < max_batch {
                match rx.try_recv() {
                    Ok(m) => msgs.push(m),
                    Err(_) => break,
                }
            }
            let mut batch = Batch::default();
            let staged = self.stage(msgs, &mut batch);
            let tick = staged.tick;
            if !self.commit_and_answer(batch, staged) {
                continue;
            }
            self.publish();
            self.maybe_checkpoint(tick);
        }
        self.maybe_checkpoint(true);
        if let Err(e) = self.db.flush_wal(true).and_then(|_| self.db.flush()) {
            tracing::error!(cause = %e, "final flush failed");
        }
        tracing::info!(log_size = self.log_size, "store closed");
    }

    /// Applies the rules to every submission of a group, in order, into one batch; each in
    /// its submitter's span.
    fn stage(&mut self, msgs: Vec<WriterMsg>, batch: &mut Batch) -> Staged {
        let mut staged = Staged {
            many: Vec::with_capacity(msgs.len()),
            ..Staged::default()
        };
        for m in msgs {
            match m {
                WriterMsg::Ingest(IngestJob {
                    entries,
                    decided,
                    durable: reply,
                    span,
                }) => {
                    if let Some(why) = &self.broken {
                        let e = IngestError::Storage(format!("{why}; restart the node"));
                        let _ = reply.send(vec![Err(e); entries.len()]);
                        continue;
                    }
                    let rs: Answers = span.in_scope(|| {
                        entries
                            .into_iter()
                            .map(|v| {
                                let entry = tracing::debug_span!("entry", id = %v.id().fmt_short());
                                entry.in_scope(|| self.ingest(v.into_entry(), batch, false))
                            })
                            .collect()
                    });
                    // The rules have decided: whoever forwards entries need not wait for the
                    // batch to be durable.
                    if let Some(d) = decided {
                        let _ = d.send(rs.clone());
                    }
                    staged.many.push((reply, rs, span));
                }
                WriterMsg::Tick => staged.tick = true,
                WriterMsg::Panic => panic!("fault injected into the store writer thread (test hook)"),
            }
        }
        staged
    }

    /// Writes the batch (one WAL sync) and only then answers everyone. False when the write
    /// failed: then everyone is told, and the state is reloaded from the database.
    fn commit_and_answer(&mut self, batch: Batch, staged: Staged) -> bool {
        let Staged { many, .. } = staged;
        if batch.staged.is_empty() && many.is_empty() {
            return true;
        }
        let appended: Vec<EntryId> = if self.shared.accepted.0.receiver_count() > 0 {
            batch.staged.keys().copied().collect()
        } else {
            Vec::new()
        };
        if let Err(e) = self.commit(batch) {
            tracing::error!(cause = %e, "write failed; reloading state from the database");
            for (reply, rs, _) in many {
                let _ = reply.send(vec![Err(IngestError::Storage(e.clone())); rs.len()]);
            }
            if let Err(e) = self.reload() {
                tracing::error!(cause = %e, "cannot reload the store state; refusing all writes until restart");
                self.broken = Some(format!("the store could not recover from a failed write ({e:#})"));
                self.shared.broken.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            return false;
        }
        // Counters first, so that whoever reads them after their answer sees their entry.
        self.publish();
        for (reply, rs, span) in many {
            span.in_scope(|| tracing::debug!(entries = rs.len(), "durable; answered"));
            let _ = reply.send(rs);
        }
        for id in appended {
            let _ = self.shared.accepted.0.send(id);
        }
        true
    }

    fn commit(&mut self, mut batch: Batch) -> Result<(), String> {
        self.put_sorted(&mut batch);
        if batch.wb.is_empty() {
            return Ok(());
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db.write_opt(batch.wb, &wo).map_err(|e| e.to_string())
    }

    /// Puts the rows kept aside by [`Ledger::accept`] into the write batch, in key order per
    /// column family. RocksDB inserts each row into its column family's memtable, a skip list,
    /// and finds the place of a key next to the previous one's from there: in key order, the
    /// inserts of a group walk the list once instead of searching it from the top for each
    /// (docs/BENCHMARKS.md, twelfth round).
    fn put_sorted(&self, batch: &mut Batch) {
        let Batch {
            wb,
            staged,
            chain_staged,
            parts,
            pact_ids,
            ..
        } = batch;
        let mut rows: Vec<(&EntryId, &(u64, Entry))> = staged.iter().collect();
        rows.sort_unstable_by_key(|(id, _)| *id);
        // Each column family's handle is looked up (by name) once per group, not per row.
        let entries = self.cf(schema::ENTRIES);
        for (id, (idx, entry)) in rows {
            let value = schema::entry_value(*idx, &entry.signed.signature().0, entry.signed.payload());
            wb.put_cf(entries, id.0, value);
        }
        let mut chains: Vec<([u8; 40], &EntryId)> = chain_staged
            .iter()
            .map(|((signer, seq), id)| (schema::chain_key(signer, *seq), id))
            .collect();
        chains.sort_unstable();
        let chain_cf = self.cf(schema::CHAINS);
        for (key, id) in chains {
            wb.put_cf(chain_cf, key, id.0);
        }
        parts.sort_unstable();
        let parts_cf = self.cf(schema::PARTS);
        for key in parts.iter() {
            wb.put_cf(parts_cf, key, []);
        }
        pact_ids.sort_unstable();
        let pact_cf = self.cf(schema::PACT_IDS);
        for (key, id) in pact_ids.iter() {
            wb.put_cf(pact_cf, key, id.0);
        }
    }

    fn maybe_checkpoint(&mut self, timer: bool) {
        let grown = self.log_size - self.last_checkpoint_size;
        let due = grown >= self.cfg.storage.checkpoint_every
            || (grown > 0 && (timer || self.last_checkpoint_at.elapsed() >= self.cfg.storage.checkpoint_interval));
        if !due {
            return;
        }
        let cp = crate::store::sign_checkpoint(&self.identity, self.network, self.log_size, self.head_hash);
        let bytes = serde_json::to_vec(&cp).unwrap_or_default();
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        match self
            .db
            .put_cf_opt(self.cf(schema::CHECKPOINTS), self.log_size.to_be_bytes(), bytes, &wo)
        {
            Ok(()) => {
                self.last_checkpoint_size = self.log_size;
                self.last_checkpoint_at = Instant::now();
                tracing::debug!(size = self.log_size, "checkpoint signed");
            }
            Err(e) => tracing::error!(cause = %e, "cannot write checkpoint"),
        }
    }

    fn lookup_index(&self, id: &EntryId, batch: &Batch) -> Option<u64> {
        if let Some((i, _)) = batch.staged.get(id) {
            return Some(*i);
        }
        let v = self.db.get_pinned_cf(self.cf(schema::ENTRIES), id.0).ok().flatten()?;
        schema::u64_from(&v)
    }

    fn lookup(&self, id: &EntryId, batch: &Batch) -> Option<Entry> {
        if let Some((_, e)) = batch.staged.get(id) {
            return Some(e.clone());
        }
        let v = self.db.get_pinned_cf(self.cf(schema::ENTRIES), id.0).ok().flatten()?;
        let (_, sig, payload) = schema::split_entry_value(&v)?;
        // Stored bytes were checked when they came in.
        SignedEntry::from_parts(payload.to_vec(), greenledger_core::Signature(sig))
            .decode_stored()
            .ok()
    }

    fn chain_at(&self, signer: &PublicKey, seq: u64, batch: &Batch) -> Option<EntryId> {
        if let Some(id) = batch.chain_staged.get(&(*signer, seq)) {
            return Some(*id);
        }
        let v = self
            .db
            .get_pinned_cf(self.cf(schema::CHAINS), schema::chain_key(signer, seq))
            .ok()
            .flatten()?;
        schema::id_from(&v)
    }

    /// What the stored entries before `seq` drew on `lot` (only its holder's entries draw on a
    /// lot, so these are the holder's).
    fn drawn_before(&self, lot: &LotId, seq: u64) -> i64 {
        let prefix = lot.key();
        let mut sum = 0i64;
        let it = self.db.iterator_cf(
            self.cf(schema::DRAWS),
            IteratorMode::From(&prefix, rocksdb::Direction::Forward),
        );
        for kv in it {
            let Ok((k, v)) = kv else { break };
            if !k.starts_with(&prefix) {
                break;
            }
            let Some(s) = k.get(36..44).and_then(schema::u64_from) else {
                continue;
            };
            if s >= seq {
                break; // keys are ordered by seq within a lot
            }
            if let Some(a) = v.get(..8).and_then(|b| b.try_into().ok()).map(i64::from_be_bytes) {
                sum = sum.saturating_add(a);
            }
        }
        sum
    }

    /// The stored certificate issues that name `device`.
    fn issues_of_device(&self, device: &str) -> Vec<EntryId> {
        let prefix = schema::part_prefix(device);
        let mut out = Vec::new();
        let it = self.db.iterator_cf(
            self.cf(schema::DEVICES),
            IteratorMode::From(&prefix, rocksdb::Direction::Forward),
        );
        for kv in it {
            let Ok((k, _)) = kv else { break };
            if !k.starts_with(&prefix) {
                break;
            }
            out.extend(schema::id_from(&k[prefix.len()..]));
        }
        out
    }

    /// Applies the ledger rules to one entry and stages it. Pending entries that waited for
    /// it are re-examined in turn.
    fn ingest(&mut self, entry: Entry, batch: &mut Batch, from_pending: bool) -> Result<Outcome, IngestError> {
        let id = entry.id;
        let first = self.ingest_one(entry, batch, from_pending);
        match &first {
            Ok(outcome) => tracing::debug!(?outcome, "staged"),
            Err(e) => tracing::debug!(code = e.code(), cause = %e, "refused"),
        }
        if let Err(e) = &first
            && e.is_final()
        {
            self.refuse(id, batch);
        }
        if matches!(first, Ok(Outcome::Stored { .. })) {
            let mut work = vec![id];
            while let Some(done) = work.pop() {
                for waiter in self.waiting.remove(&done).unwrap_or_default() {
                    let Some(p) = self.pending.get_mut(&waiter) else {
                        continue;
                    };
                    p.missing.remove(&done);
                    if !p.missing.is_empty() {
                        continue;
                    }
                    let Some(p) = self.pending.remove(&waiter) else {
                        continue;
                    };
                    self.pending_bytes -= p.bytes;
                    batch.wb.delete_cf(self.cf(schema::PENDING), waiter.0);
                    let span = tracing::debug_span!("entry", id = %waiter.fmt_short());
                    let _entered = span.enter();
                    tracing::debug!(after = %done.fmt_short(), "leaving the pending area");
                    match self.ingest_one(p.entry, batch, true) {
                        Ok(Outcome::Stored { .. }) => work.push(waiter),
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(entry = %waiter.fmt_short(), cause = %e, "pending entry refused once its parents arrived");
                            self.refuse(waiter, batch);
                        }
                    }
                }
            }
        }
        first
    }

    fn ingest_one(&mut self, entry: Entry, batch: &mut Batch, from_pending: bool) -> Result<Outcome, IngestError> {
        let id = entry.id;
        // Already here (stored, or waiting): submitting again is harmless.
        if let Some(log_index) = self.lookup_index(&id, batch) {
            return Ok(Outcome::Duplicate { log_index });
        }
        if let Some(pe) = self.pending.get(&id) {
            return Ok(Outcome::Pending {
                missing: pe.missing.iter().copied().collect(),
            });
        }
        // The ledger rules, as the bundle verifier applies them: the first one broken refuses it.
        let verdict = engine::check(&entry, &StoreView { ledger: self, batch });
        if let Some(v) = verdict.first() {
            // The second entry at a (signer, seq), valid in every other respect, is the
            // evidence of a fork: kept with the first as a proof, and the signer is flagged.
            if let ViolationKind::Fork { seq, existing } = v.kind
                && let Some(other) = self.lookup(&existing, batch)
            {
                let signer = entry.payload.signer;
                self.record_fork(ForkProof::new(other.signed, entry.signed.clone()), &signer, seq, batch);
            }
            if matches!(v.kind, ViolationKind::Kind(KindError::Overdrawn { .. })) {
                self.shared
                    .overdraws_refused
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            return Err(IngestError::Refused(Box::new(v.clone())));
        }
        if !verdict.missing.is_empty() {
            return self.hold(entry, verdict.missing_ids(), batch, from_pending);
        }
        // A certificate issue of electricity already certified (a device in common,
        // overlapping hours) is valid on its own and stored; the pair is kept as a conflict,
        // and every draw resting on either is refused from now on, whichever came first.
        let conflicts = match &entry.payload.body {
            greenledger_core::Body::CertificateIssue(c) => {
                custody::conflicting_issues(c, &id, &StoreView { ledger: self, batch })
            }
            _ => Vec::new(),
        };
        // The entry's bytes are needed again only for the proof of a conflict (rare).
        let signed = (!conflicts.is_empty()).then(|| entry.signed.clone());
        let log_index = self.accept(entry, batch);
        for (other, signed) in conflicts.into_iter().zip(std::iter::repeat(signed).flatten()) {
            if let Some(o) = self.lookup(&other, batch) {
                self.record_conflict(ForkProof::new(o.signed, signed), id, other, batch);
            }
        }
        Ok(Outcome::Stored { log_index })
    }

    /// Remembers a refused entry and drops what waits for it.
    fn refuse(&mut self, id: EntryId, batch: &mut Batch) {
        self.remember_refused(id);
        self.drop_dependants(id, batch);
    }

    /// Adds to the bounded memory of refused entries.
    fn remember_refused(&mut self, id: EntryId) {
        if self.refused.len() >= MAX_REFUSED {
            self.refused.clear();
        }
        self.refused.insert(id);
    }

    /// Entries waiting (directly or not) for a refused entry can never be admitted: drop them
    /// from the pending area, saying so.
    fn drop_dependants(&mut self, refused: EntryId, batch: &mut Batch) {
        let mut stack = vec![refused];
        while let Some(r) = stack.pop() {
            for w in self.waiting.remove(&r).unwrap_or_default() {
                if let Some(p) = self.pending.remove(&w) {
                    self.pending_bytes -= p.bytes;
                    self.remember_refused(w);
                    batch.wb.delete_cf(self.cf(schema::PENDING), w.0);
                    tracing::warn!(entry = %w.fmt_short(), waited_for = %r.fmt_short(), "pending entry dropped: it waits for an entry that was refused");
                    stack.push(w);
                }
            }
        }
    }

    fn hold(
        &mut self,
        entry: Entry,
        missing: Vec<EntryId>,
        batch: &mut Batch,
        from_pending: bool,
    ) -> Result<Outcome, IngestError> {
        let json = entry.signed.to_json();
        let bytes = json.len();
        let limits = &self.cfg.pending;
        if !from_pending && (self.pending.len() >= limits.max_entries || self.pending_bytes + bytes > limits.max_bytes)
        {
            return Err(IngestError::PendingFull {
                entries: self.pending.len(),
                bytes: self.pending_bytes,
            });
        }
        let id = entry.id;
        batch.wb.put_cf(self.cf(schema::PENDING), id.0, &json);
        for m in &missing {
            self.waiting.entry(*m).or_default().push(id);
        }
        self.pending_bytes += bytes;
        self.pending.insert(
            id,
            Pending {
                entry,
                missing: missing.iter().copied().collect(),
                bytes,
            },
        );
        Ok(Outcome::Pending { missing })
    }

    /// Keeps the proof of a double issuance (both issues, both in the log), in both directions,
    /// and flags both.
    fn record_conflict(&mut self, proof: ForkProof, a: EntryId, b: EntryId, batch: &mut Batch) {
        let bytes = encode_fork(&proof);
        for (x, y) in [(a, b), (b, a)] {
            batch
                .wb
                .put_cf(self.cf(schema::CONFLICTS), schema::pair_key(&x, &y), &bytes);
            self.conflicts.entry(x).or_insert(y);
        }
        tracing::warn!(a = %a.fmt_short(), b = %b.fmt_short(), "double issuance: two certificates of one device and overlapping hours; both flagged");
    }

    fn record_fork(&mut self, proof: ForkProof, signer: &PublicKey, seq: u64, batch: &mut Batch) {
        let key = schema::chain_key(signer, seq);
        let known = self
            .db
            .get_pinned_cf(self.cf(schema::FORKS), key)
            .ok()
            .flatten()
            .is_some();
        if !known {
            batch.wb.put_cf(self.cf(schema::FORKS), key, encode_fork(&proof));
            tracing::warn!(signer = %signer.fmt_short(), seq, "fork detected: two entries at one seq; signer flagged");
            self.remember_fork_entries(&proof);
        }
        let f = self.forked.entry(*signer).or_insert(seq);
        *f = (*f).min(seq);
        if self.members.iter().any(|e| e.payload.signer == *signer) {
            self.recompute_membership();
        }
    }

    fn remember_fork_entries(&mut self, p: &ForkProof) {
        for se in [&p.a, &p.b] {
            if let Ok(e) = se.decode() {
                self.fork_entries.insert(e.id, e);
            }
        }
    }

    /// Stages an accepted entry: entry, log record and every index row in the batch.
    fn accept(&mut self, entry: Entry, batch: &mut Batch) -> u64 {
        let idx = self.log_size;
        let id = entry.id;
        let p = &entry.payload;
        let hash = record_hash(idx, &id, &self.head_hash);
        let wb = &mut batch.wb;
        // The `entries_v1` and `chains_v1` rows are made from `staged` and `chain_staged` at
        // commit, in key order (`put_sorted`).
        let mut rec = [0u8; 64];
        rec[..32].copy_from_slice(&id.0);
        rec[32..].copy_from_slice(&hash);
        wb.put_cf(self.cf(schema::LOG), idx.to_be_bytes(), rec);
        let rows = p.body.index_rows();
        let is_member = rows.contains(&IndexRow::Member);
        for row in rows {
            match row {
                IndexRow::Member => wb.put_cf(self.cf(schema::MEMBERS), id.0, []),
                IndexRow::Part(part) => batch.parts.push(schema::part_key(&part, &id)),
                IndexRow::Consumes { input, quantity } => wb.put_cf(
                    self.cf(schema::CONSUMERS),
                    schema::pair_key(&input, &id),
                    quantity.0.to_be_bytes(),
                ),
                IndexRow::Supersedes(old) => wb.put_cf(self.cf(schema::SUPERSEDES), schema::pair_key(&old, &id), []),
                IndexRow::Footprint => batch
                    .pact_ids
                    .push((greenledger_interop::pact::footprint_uuid(&id), id)),
                IndexRow::Device(device) => {
                    wb.put_cf(self.cf(schema::DEVICES), schema::part_key(&device, &id), []);
                    batch.devices.entry(device).or_default().push(id);
                }
            }
        }
        for d in p.body.draws(&entry) {
            wb.put_cf(
                self.cf(schema::DRAWS),
                schema::draw_key(&d.lot, p.seq, &id),
                d.amount.to_be_bytes(),
            );
            batch.draws.entry(d.lot).or_default().push((p.seq, d.amount));
        }
        for (i, o) in p.body.outputs(&entry).into_iter().enumerate() {
            let lot = LotId {
                entry: id,
                index: i as u32,
            };
            wb.put_cf(
                self.cf(schema::HOLDERS),
                schema::holder_key(&o.holder, &lot),
                o.amount.to_be_bytes(),
            );
        }
        self.log_size += 1;
        self.head_hash = hash;
        self.heads.insert(p.signer, (p.seq, id));
        batch.chain_staged.insert((p.signer, p.seq), id);
        if is_member {
            self.members.push(entry.clone());
        }
        batch.staged.insert(id, (idx, entry));
        if is_member {
            self.member_added();
        }
        idx
    }
}
