//! Storage: one RocksDB database, written by one thread ([`writer`]), read by anyone.
//!
//! [`Store`] is a cheap handle. Writes go to the writer thread through a bounded channel and
//! are answered through a oneshot once durable; the writer groups concurrent submissions into
//! one `WriteBatch` and one WAL sync (group commit). Reads go straight to RocksDB, which is
//! safe for concurrent readers; every write is one atomic batch, so readers never see half an
//! entry.
//!
//! # Layout
//!
//! * [`schema`] — column families and key encodings.
//! * [`writer`] — the writer thread: the ledger rules at ingest, the pending area, forks,
//!   checkpoints.

pub(crate) mod schema;
pub(crate) mod writer;

use std::{
    path::Path,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    thread::JoinHandle,
};

use anyhow::{Context, Result, bail};
use greenledger_core::{
    EntryId, EntrySource, ForkProof, Genesis, Kind, Membership, NetworkId, PublicKey, Signature, SignedEntry,
    VerifiedEntry,
    bundle::{self, Assembled, Bundle, MissingEntry},
    custody::LotId,
    entry::Entry,
};
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBufferManager,
};
use tokio::sync::{mpsc, oneshot};

pub use writer::{ErrorClass, IngestError, Outcome};

use crate::{
    config::Config,
    identity::Identity,
    verifier::{Verifier, VerifierThread},
};

/// How long a batch of signatures waits for more after its first (see [`crate::verifier`]).
const VERIFY_WINDOW: std::time::Duration = std::time::Duration::from_millis(1);

/// A raw key and value read from RocksDB.
type KeyValue = (Box<[u8]>, Box<[u8]>);

/// Numbers the writer publishes for readers, metrics and health.
#[derive(Debug, Default)]
pub struct Shared {
    /// Records in the log.
    pub log_size: AtomicU64,
    /// Entries in the pending area.
    pub pending_entries: AtomicU64,
    /// Bytes in the pending area.
    pub pending_bytes: AtomicU64,
    /// Fork proofs stored.
    pub forks: AtomicU64,
    /// Certificate issues flagged for double issuance.
    pub conflicts: AtomicU64,
    /// Entries refused for overdrawing a lot, since the node started.
    pub overdraws_refused: AtomicU64,
    /// Current membership, as of the last committed batch (shared: a reader takes the `Arc`).
    pub membership: RwLock<Arc<Membership>>,
    /// Pending entries and what each waits for.
    pub pending: RwLock<std::collections::HashMap<EntryId, Vec<EntryId>>>,
    /// True once the writer refuses writes after an unrecoverable storage failure.
    pub broken: std::sync::atomic::AtomicBool,
    /// Ids of entries appended to the log, sent once durable (see [`Store::subscribe`]).
    pub accepted: Accepted,
}

/// The sending side of [`Store::subscribe`] (bounded: a receiver that falls behind loses the
/// oldest ids and is told how many).
#[derive(Debug)]
pub struct Accepted(pub tokio::sync::broadcast::Sender<EntryId>);

impl Default for Accepted {
    fn default() -> Self {
        Accepted(tokio::sync::broadcast::channel(1 << 14).0)
    }
}

/// What the writer is asked to do. Submissions carry the submitter's span, which the writer
/// enters while it works on them, so that one entry's path reads as one story in the log
/// (`Span::none()` when tracing is off for it: no cost).
/// What the writer answers for each entry of an [`IngestJob`].
pub type Answers = Vec<Result<Outcome, IngestError>>;

/// Entries to apply in this order (a peer's log is causally ordered; an HTTP array in the
/// order given), answered once durable — and, if asked, as soon as the rules have decided,
/// before the batch is durable (what gossip needs to forward an entry at once).
pub(crate) struct IngestJob {
    pub(crate) entries: Vec<VerifiedEntry>,
    pub(crate) decided: Option<oneshot::Sender<Answers>>,
    pub(crate) durable: oneshot::Sender<Answers>,
    pub(crate) span: tracing::Span,
}

pub(crate) enum WriterMsg {
    Ingest(IngestJob),
    Tick,
    /// Panic (a test hook of supervision: see [`crate::supervisor`]).
    Panic,
}

/// RocksDB's memory, in bytes ([`Store::memory`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryUse {
    /// Memtables, active and waiting to be flushed.
    pub memtables: u64,
    /// The block cache (data, index and filter blocks).
    pub block_cache: u64,
    /// Table readers held outside the cache.
    pub table_readers: u64,
}

/// A handle on the store: submit entries (through the writer) and read.
#[derive(Clone)]
pub struct Store {
    db: Arc<DB>,
    tx: mpsc::Sender<WriterMsg>,
    verifier: Verifier,
    shared: Arc<Shared>,
    genesis: Arc<Genesis>,
    network: NetworkId,
}

/// The writer thread; join it after dropping every [`Store`] handle to flush and close.
#[must_use]
pub struct WriterThread {
    handle: Option<JoinHandle<()>>,
    ended: Option<oneshot::Receiver<Result<(), String>>>,
    verifier: Option<VerifierThread>,
}

impl WriterThread {
    /// Waits for the writer to drain, checkpoint and flush (and for the verification thread
    /// to end).
    pub fn join(mut self) {
        if let Some(h) = self.handle.take()
            && h.join().is_err()
        {
            tracing::error!("the store writer thread panicked");
        }
        if let Some(v) = self.verifier.take() {
            v.join();
        }
    }

    /// Resolves to `Ok` when the thread returns and to its panic's message if it panics
    /// (once: `None` after the first call).
    pub(crate) fn take_ended(&mut self) -> Option<oneshot::Receiver<Result<(), String>>> {
        self.ended.take()
    }
}

/// Makes the writer thread panic: the supervision tests' hook (see [`crate::supervisor`]). It
/// holds no handle on the store, so it does not keep the writer running at shutdown.
#[derive(Clone)]
pub(crate) struct WriterFault(mpsc::WeakSender<WriterMsg>);

impl WriterFault {
    /// Makes the writer panic when it reaches this message.
    pub(crate) fn inject(&self) {
        let sent = self.0.upgrade().is_some_and(|tx| tx.try_send(WriterMsg::Panic).is_ok());
        if !sent {
            tracing::warn!("the writer queue is full or closed; no fault injected");
        }
    }
}

/// Runs the writer on its own thread, saying how it ended on `ended`.
fn spawn_writer(ledger: writer::Ledger, rx: mpsc::Receiver<WriterMsg>) -> std::io::Result<WriterThread> {
    let (ended_tx, ended) = oneshot::channel();
    let handle = std::thread::Builder::new().name("store-writer".into()).spawn(move || {
        let _span = tracing::info_span!("store_writer").entered();
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ledger.run(rx)));
        match run {
            Ok(()) => {
                let _ = ended_tx.send(Ok(()));
            }
            Err(panic) => {
                let _ = ended_tx.send(Err(crate::supervisor::panic_message(panic.as_ref())));
                std::panic::resume_unwind(panic)
            }
        }
    })?;
    Ok(WriterThread {
        handle: Some(handle),
        ended: Some(ended),
        verifier: None,
    })
}

/// The share of a memtable's size given to its bloom filter, where it has one (about 650 KiB
/// for a 64 MiB memtable).
const MEMTABLE_BLOOM_RATIO: f64 = 0.01;

fn db_options(storage: &crate::config::StorageConfig, cache: &Cache) -> Options {
    let mut o = Options::default();
    o.create_if_missing(true);
    o.create_missing_column_families(true);
    o.set_max_background_jobs(2);
    o.set_bytes_per_sync(1 << 20);
    // One memory budget: the memtables of every column family are charged to the block cache
    // (RocksDB's write-buffer manager), so memtables, data blocks, indexes and filters share
    // `block_cache_bytes`, and the memtables flush once they hold `memtable_bytes` of it.
    let wbm = WriteBufferManager::new_write_buffer_manager_with_cache(storage.memtable_bytes, false, cache.clone());
    o.set_write_buffer_manager(&wbm);
    o
}

fn cf_options(name: &str, cache: &Cache) -> Options {
    let mut o = Options::default();
    // The writer looks up every new entry's id and its (signer, seq) before staging it, and
    // nearly always finds nothing: a bloom filter over the memtable's keys answers those
    // misses without a search of the memtable (its bits are charged to the memory budget).
    if name == schema::ENTRIES || name == schema::CHAINS {
        o.set_memtable_whole_key_filtering(true);
        o.set_memtable_prefix_bloom_ratio(MEMTABLE_BLOOM_RATIO);
    }
    let mut b = BlockBasedOptions::default();
    b.set_block_cache(cache);
    b.set_bloom_filter(10.0, false);
    // Index and filter blocks live in the cache (within the budget), ahead of data blocks, and
    // those of the newest files stay pinned: nearly every write looks up an entry that does
    // not exist yet, which the filters answer.
    b.set_cache_index_and_filter_blocks(true);
    b.set_cache_index_and_filter_blocks_with_high_priority(true);
    b.set_pin_l0_filter_and_index_blocks_in_cache(true);
    b.set_optimize_filters_for_memory(true);
    o.set_block_based_table_factory(&b);
    // LZ4 on every level, the bottom one included. At a million entries, zstd at the bottom
    // level kept 780 bytes per entry against LZ4's 870, but compressing with it took about an
    // eighth of the node's CPU while it ingested; with LZ4, ingest was 7-23 % faster and
    // catch-up 15-19 % (docs/BENCHMARKS.md, twelfth round).
    o.set_compression_type(rocksdb::DBCompressionType::Lz4);
    o
}

/// Opens the database of a data dir (creating it on first use).
pub(crate) fn open_db(dir: &Path, storage: &crate::config::StorageConfig) -> Result<DB> {
    let cache = Cache::new_lru_cache(storage.block_cache_bytes.max(storage.memtable_bytes));
    let cfs = schema::ALL
        .iter()
        .map(|n| ColumnFamilyDescriptor::new(*n, cf_options(n, &cache)));
    DB::open_cf_descriptors(&db_options(storage, &cache), dir, cfs).with_context(|| {
        format!(
            "cannot open the database in {} (is another node running on this data dir?)",
            dir.display()
        )
    })
}

/// Fills `pact_ids_v1` for a data dir made before it existed (once; a no-op afterwards).
fn index_pact_ids(db: &DB) -> Result<()> {
    let meta = db.cf_handle(schema::META).context("missing meta column family")?;
    if db.get_cf(meta, schema::META_PACT_IDS_COMPLETE)?.is_some() {
        return Ok(());
    }
    let entries = db.cf_handle(schema::ENTRIES).context("missing entries column family")?;
    let ids = db
        .cf_handle(schema::PACT_IDS)
        .context("missing pact ids column family")?;
    let mut wb = rocksdb::WriteBatch::default();
    let mut n = 0u64;
    for kv in db.iterator_cf(entries, IteratorMode::Start) {
        let (k, v) = kv?;
        let (id, Some((_, sig, payload))) = (schema::id_from(&k), schema::split_entry_value(&v)) else {
            continue;
        };
        let Some(id) = id else { continue };
        let se = SignedEntry::from_parts(payload.to_vec(), Signature(sig));
        if se.decode().is_ok_and(|e| e.payload.body.kind() == Kind::Attestation) {
            wb.put_cf(ids, greenledger_interop::pact::footprint_uuid(&id), id.0);
            n += 1;
        }
    }
    wb.put_cf(meta, schema::META_PACT_IDS_COMPLETE, []);
    let mut wo = rocksdb::WriteOptions::default();
    wo.set_sync(true);
    db.write_opt(wb, &wo)?;
    if n > 0 {
        tracing::info!(
            attestations = n,
            "indexed the PACT footprint ids of the stored attestations"
        );
    }
    Ok(())
}

impl Store {
    /// Opens the store in `dir`, checks or records the genesis, and starts the writer thread.
    pub fn open(dir: &Path, genesis: &Genesis, cfg: &Config, identity: Identity) -> Result<(Store, WriterThread)> {
        let db = Arc::new(open_db(dir, &cfg.storage)?);
        let meta = db.cf_handle(schema::META).context("missing meta column family")?;
        match db.get_cf(meta, schema::META_GENESIS)? {
            Some(stored) => {
                let stored = Genesis::from_json(&stored).context("the stored genesis is damaged")?;
                if stored.network_id() != genesis.network_id() {
                    bail!(
                        "this data dir belongs to network {:?} ({}); refusing genesis of network {:?} ({}). Use another --data-dir for another network",
                        stored.name,
                        stored.network_id(),
                        genesis.name,
                        genesis.network_id()
                    );
                }
            }
            None => {
                let mut wo = rocksdb::WriteOptions::default();
                wo.set_sync(true);
                db.put_cf_opt(meta, schema::META_GENESIS, genesis.canonical_bytes(), &wo)?;
            }
        }
        index_pact_ids(&db)?;
        let shared = Arc::new(Shared::default());
        let (tx, rx) = mpsc::channel(4096);
        let ledger = writer::Ledger::load(db.clone(), genesis.clone(), cfg, identity, shared.clone())?;
        let mut writer = spawn_writer(ledger, rx)?;
        let (verifier, verifier_thread) = Verifier::start(VERIFY_WINDOW)?;
        writer.verifier = Some(verifier_thread);
        let store = Store {
            db,
            tx,
            verifier,
            shared,
            network: genesis.network_id(),
            genesis: Arc::new(genesis.clone()),
        };
        Ok((store, writer))
    }

    /// Where entries are decoded and their signatures verified, in batches, off the async
    /// runtime ([`crate::verifier`]).
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Submits a verified entry; answers once it is durable (stored or pending) or refused.
    pub async fn ingest(&self, entry: VerifiedEntry) -> Result<Outcome, IngestError> {
        let mut v = self.ingest_many(vec![entry]).await;
        v.pop().unwrap_or(Err(IngestError::ShuttingDown))
    }

    /// Submits entries to be applied in the given order (a peer's log is causally ordered:
    /// every entry comes after the entries it needs). Answers once all are durable.
    pub async fn ingest_many(&self, entries: Vec<VerifiedEntry>) -> Answers {
        let n = entries.len();
        match self.ingest_queued(entries).await {
            Some(durable) => durable
                .await
                .unwrap_or_else(|_| vec![Err(IngestError::ShuttingDown); n]),
            None => vec![Err(IngestError::ShuttingDown); n],
        }
    }

    /// Hands entries to the writer, after everything handed to it before, and returns as soon
    /// as they are queued: the receiver gives the answers of [`Store::ingest_many`] once they
    /// are durable. `None` if the writer has stopped.
    pub async fn ingest_queued(&self, entries: Vec<VerifiedEntry>) -> Option<oneshot::Receiver<Answers>> {
        self.submit(entries, false).await.map(|(_, durable)| durable)
    }

    /// Submits entries to be applied in the given order, and returns two answers: the rules'
    /// decision, as soon as the writer has applied them (before the batch is durable; for
    /// forwarding at once), and the answer once durable (for acknowledging). `None` if the
    /// writer has stopped.
    pub async fn ingest_decided(
        &self,
        entries: Vec<VerifiedEntry>,
    ) -> Option<(oneshot::Receiver<Answers>, oneshot::Receiver<Answers>)> {
        self.submit(entries, true)
            .await
            .map(|(d, durable)| (d.unwrap_or_else(|| oneshot::channel().1), durable))
    }

    async fn submit(
        &self,
        entries: Vec<VerifiedEntry>,
        early: bool,
    ) -> Option<(Option<oneshot::Receiver<Answers>>, oneshot::Receiver<Answers>)> {
        let (durable, durable_rx) = oneshot::channel();
        let (decided, decided_rx) = if early {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let job = IngestJob {
            entries,
            decided,
            durable,
            span: tracing::Span::current(),
        };
        self.tx.send(WriterMsg::Ingest(job)).await.ok()?;
        Some((decided_rx, durable_rx))
    }

    /// What makes the writer thread panic (the supervision tests' hook).
    pub(crate) fn writer_fault(&self) -> WriterFault {
        WriterFault(self.tx.downgrade())
    }

    /// Asks the writer to consider a checkpoint (periodic timer).
    pub async fn tick(&self) {
        let _ = self.tx.send(WriterMsg::Tick).await;
    }

    /// Ids of entries as they are durably appended to the log (whatever their source).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<EntryId> {
        self.shared.accepted.0.subscribe()
    }

    /// The shared counters and membership.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// True while the writer accepts writes (it has not stopped or given up).
    pub fn writable(&self) -> bool {
        !self.tx.is_closed() && !self.shared.broken.load(Ordering::Relaxed)
    }

    /// What a pending entry waits for, if it is pending.
    pub fn pending_missing(&self, id: &EntryId) -> Option<Vec<EntryId>> {
        self.shared.pending.read().ok().and_then(|p| p.get(id).cloned())
    }

    /// Pending entries (at most `limit`), each with what it waits for.
    pub fn pending_list(&self, limit: usize) -> Vec<(EntryId, Vec<EntryId>)> {
        let mut v: Vec<(EntryId, Vec<EntryId>)> = self
            .shared
            .pending
            .read()
            .map(|p| p.iter().map(|(k, m)| (*k, m.clone())).collect())
            .unwrap_or_default();
        v.sort();
        v.truncate(limit);
        v
    }

    /// What RocksDB holds in memory now, summed over the column families.
    pub fn memory(&self) -> MemoryUse {
        let sum = |property: &str| -> u64 {
            schema::ALL
                .iter()
                .filter_map(|name| self.db.cf_handle(name))
                .filter_map(|cf| self.db.property_int_value_cf(cf, property).ok().flatten())
                .sum()
        };
        MemoryUse {
            memtables: sum("rocksdb.size-all-mem-tables"),
            table_readers: sum("rocksdb.estimate-table-readers-mem"),
            // One cache serves every column family: read it once.
            block_cache: self
                .db
                .property_int_value_cf(self.cf(schema::ENTRIES), "rocksdb.block-cache-usage")
                .ok()
                .flatten()
                .unwrap_or(0),
        }
    }

    /// The current membership (shared, not copied).
    pub fn membership(&self) -> Arc<Membership> {
        self.shared.membership.read().map(|m| m.clone()).unwrap_or_default()
    }

    /// The genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The network id.
    pub fn network(&self) -> NetworkId {
        self.network
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(name)
            .unwrap_or_else(|| unreachable!("column family {name} is created at open"))
    }

    /// An entry and its log index.
    pub fn entry(&self, id: &EntryId) -> Result<Option<(u64, SignedEntry)>> {
        let Some(v) = self.db.get_cf(self.cf(schema::ENTRIES), id.0)? else {
            return Ok(None);
        };
        let (idx, sig, payload) = schema::split_entry_value(&v).context("damaged entry record")?;
        Ok(Some((idx, SignedEntry::from_parts(payload.to_vec(), Signature(sig)))))
    }

    /// True when the entry is in the log: a point read whose bloom filters answer most misses
    /// without touching a data block. A read error counts as absent (the caller then does the
    /// full work, and the writer decides).
    pub fn has_entry(&self, id: &EntryId) -> bool {
        matches!(self.db.get_pinned_cf(self.cf(schema::ENTRIES), id.0), Ok(Some(_)))
    }

    /// An entry envelope from a peer, parsed, or `None` when the log holds it already (the
    /// writer would only answer "duplicate", so it need not be parsed or verified again). The
    /// id is read off the envelope when it is in the form nodes send, so that a held entry is
    /// not even parsed.
    pub fn parse_unless_held(
        &self,
        envelope: &[u8],
    ) -> Result<Option<SignedEntry>, greenledger_core::error::DecodeError> {
        let quick = SignedEntry::id_of_envelope(envelope);
        if quick.is_some_and(|id| self.has_entry(&id)) {
            return Ok(None);
        }
        let se = SignedEntry::from_json(envelope)?;
        Ok((quick.is_some() || !self.has_entry(&se.id())).then_some(se))
    }

    /// The attestation whose PACT footprint id is `uuid` (see `pact::footprint_uuid`).
    pub fn entry_by_footprint(&self, uuid: &[u8; 16]) -> Result<Option<EntryId>> {
        Ok(self
            .db
            .get_cf(self.cf(schema::PACT_IDS), uuid)?
            .and_then(|v| schema::id_from(&v)))
    }

    /// An entry, decoded (`None` if unknown or unreadable).
    pub fn get_decoded(&self, id: &EntryId) -> Option<Entry> {
        // Stored bytes were checked when they came in.
        self.entry(id)
            .ok()
            .flatten()
            .and_then(|(_, se)| se.decode_stored().ok())
    }

    /// The entry at a chain position, if this node holds one.
    pub fn chain_at(&self, signer: &PublicKey, seq: u64) -> Result<Option<EntryId>> {
        Ok(self
            .db
            .get_pinned_cf(self.cf(schema::CHAINS), schema::chain_key(signer, seq))?
            .and_then(|v| schema::id_from(&v)))
    }

    /// The log's size and head hash.
    pub fn head(&self) -> Result<(u64, [u8; 32])> {
        let mut it = self.db.iterator_cf(self.cf(schema::LOG), IteratorMode::End);
        match it.next() {
            Some(kv) => {
                let (k, v) = kv?;
                let idx = schema::u64_from(&k).context("damaged log key")?;
                let h: [u8; 32] = v
                    .get(32..64)
                    .and_then(|s| s.try_into().ok())
                    .context("damaged log record")?;
                Ok((idx + 1, h))
            }
            None => Ok((0, [0; 32])),
        }
    }

    /// Log records `[from, from + limit)`: (index, entry id, record hash).
    pub fn log_range(&self, from: u64, limit: usize) -> Result<Vec<(u64, EntryId, [u8; 32])>> {
        let mut out = Vec::with_capacity(limit.min(1024));
        let start = from.to_be_bytes();
        for kv in self
            .db
            .iterator_cf(self.cf(schema::LOG), IteratorMode::From(&start, Direction::Forward))
            .take(limit)
        {
            let (k, v) = kv?;
            let idx = schema::u64_from(&k).context("damaged log key")?;
            let id = schema::id_from(&v).context("damaged log record")?;
            let h: [u8; 32] = v
                .get(32..64)
                .and_then(|s| s.try_into().ok())
                .context("damaged log record")?;
            out.push((idx, id, h));
        }
        Ok(out)
    }

    /// A signer's chain head (seq, id).
    pub fn chain_head(&self, signer: &PublicKey) -> Result<Option<(u64, EntryId)>> {
        let key = schema::chain_key(signer, u64::MAX);
        let mut it = self
            .db
            .iterator_cf(self.cf(schema::CHAINS), IteratorMode::From(&key, Direction::Reverse));
        if let Some(kv) = it.next() {
            let (k, v) = kv?;
            if k.starts_with(signer.as_bytes()) {
                let seq = schema::u64_from(&k[32..]).context("damaged chain key")?;
                return Ok(Some((seq, schema::id_from(&v).context("damaged chain record")?)));
            }
        }
        Ok(None)
    }

    fn scan_prefix(&self, cf: &str, prefix: &[u8], limit: usize) -> Result<Vec<KeyValue>> {
        let mut out = Vec::new();
        for kv in self
            .db
            .iterator_cf(self.cf(cf), IteratorMode::From(prefix, Direction::Forward))
        {
            let (k, v) = kv?;
            if !k.starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push((k, v));
        }
        Ok(out)
    }

    /// Attestation ids for a part.
    pub fn part_entries(&self, part: &str, limit: usize) -> Result<Vec<EntryId>> {
        let prefix = schema::part_prefix(part);
        Ok(self
            .scan_prefix(schema::PARTS, &prefix, limit)?
            .iter()
            .filter_map(|(k, _)| schema::id_from(&k[prefix.len()..]))
            .collect())
    }

    /// Attestations that use `id` as an input ("where used"), with the quantity used.
    pub fn consumers(&self, id: &EntryId, limit: usize) -> Result<Vec<(EntryId, i64)>> {
        Ok(self
            .scan_prefix(schema::CONSUMERS, &id.0, limit)?
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    schema::id_from(&k[32..])?,
                    i64::from_be_bytes(v.get(..8)?.try_into().ok()?),
                ))
            })
            .collect())
    }

    /// Attestations that supersede `id`.
    pub fn superseded_by_ids(&self, id: &EntryId) -> Result<Vec<EntryId>> {
        Ok(self
            .scan_prefix(schema::SUPERSEDES, &id.0, 1024)?
            .iter()
            .filter_map(|(k, _)| schema::id_from(&k[32..]))
            .collect())
    }

    /// Fork proofs of a signer, by seq.
    pub fn forks_of(&self, signer: &PublicKey) -> Result<Vec<(u64, ForkProof)>> {
        let mut out = Vec::new();
        for (k, v) in self.scan_prefix(schema::FORKS, signer.as_bytes(), 1024)? {
            let seq = schema::u64_from(&k[32..]).context("damaged fork key")?;
            out.push((seq, writer::decode_fork(&v).context("damaged fork proof")?));
        }
        Ok(out)
    }

    /// Every membership entry.
    pub fn membership_entries(&self) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        for kv in self.db.iterator_cf(self.cf(schema::MEMBERS), IteratorMode::Start) {
            let (k, _) = kv?;
            if let Some(e) = schema::id_from(&k).and_then(|id| self.get_decoded(&id)) {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// The provenance bundle of an entry.
    pub fn bundle(&self, id: &EntryId) -> Result<Result<Bundle, MissingEntry>> {
        Ok(bundle::assemble(&self.genesis, *id, self))
    }

    /// The provenance bundle of an entry with its entries still decoded, for verifying it here
    /// ([`greenledger_core::verify_assembled`]) without decoding each entry again.
    pub fn assembled(&self, id: &EntryId) -> Result<Result<Assembled, MissingEntry>> {
        Ok(bundle::assemble_decoded(&self.genesis, *id, self))
    }

    /// The latest stored checkpoint, if any.
    pub fn latest_checkpoint(&self) -> Result<Option<Checkpoint>> {
        let mut it = self.db.iterator_cf(self.cf(schema::CHECKPOINTS), IteratorMode::End);
        match it.next() {
            Some(kv) => Ok(Some(serde_json::from_slice(&kv?.1).context("damaged checkpoint")?)),
            None => Ok(None),
        }
    }

    /// Entry envelopes of log records from `from` on: at most `limit` records and about
    /// `max_bytes` bytes (at least one record). Returns the envelopes and the next index.
    pub fn log_entries(&self, from: u64, limit: usize, max_bytes: usize) -> Result<(Vec<Vec<u8>>, u64)> {
        let mut out = Vec::new();
        let mut bytes = 0;
        let mut next = from;
        for (idx, id, _) in self.log_range(from, limit)? {
            let (_, se) = self.entry(&id)?.context("a log record names a missing entry")?;
            let json = se.to_json();
            if !out.is_empty() && bytes + json.len() > max_bytes {
                break;
            }
            bytes += json.len();
            out.push(json);
            next = idx + 1;
        }
        Ok((out, next))
    }

    /// A signer's entries at seqs `from_seq..` (at most `limit`), in seq order.
    pub fn chain_range(&self, signer: &PublicKey, from_seq: u64, limit: usize) -> Result<Vec<SignedEntry>> {
        let start = schema::chain_key(signer, from_seq);
        let mut out = Vec::new();
        for kv in self
            .db
            .iterator_cf(self.cf(schema::CHAINS), IteratorMode::From(&start, Direction::Forward))
        {
            let (k, v) = kv?;
            if !k.starts_with(signer.as_bytes()) || out.len() >= limit {
                break;
            }
            let id = schema::id_from(&v).context("damaged chain record")?;
            if let Some((_, se)) = self.entry(&id)? {
                out.push(se);
            }
        }
        Ok(out)
    }

    /// The draws on a lot, in the holder's chain order: (seq, drawing entry, amount).
    pub fn draws_on(&self, lot: &LotId) -> Result<Vec<(u64, EntryId, i64)>> {
        let prefix = lot.key();
        let mut out = Vec::new();
        for (k, v) in self.scan_prefix(schema::DRAWS, &prefix, usize::MAX)? {
            let seq = k.get(36..44).and_then(schema::u64_from).context("damaged draw key")?;
            let id = k.get(44..).and_then(schema::id_from).context("damaged draw key")?;
            let amount = v
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .map(i64::from_be_bytes)
                .context("damaged draw record")?;
            out.push((seq, id, amount));
        }
        Ok(out)
    }

    /// The lots created for `holder`, oldest entry first by id order of the index: (lot,
    /// amount created).
    pub fn lots_of(&self, holder: &PublicKey, limit: usize) -> Result<Vec<(LotId, i64)>> {
        let mut out = Vec::new();
        for (k, v) in self.scan_prefix(schema::HOLDERS, holder.as_bytes(), limit)? {
            let lot = k.get(32..).and_then(LotId::from_key).context("damaged holder key")?;
            let amount = v
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .map(i64::from_be_bytes)
                .context("damaged holder record")?;
            out.push((lot, amount));
        }
        Ok(out)
    }

    /// The certificate issues in the log that name `device`.
    pub fn device_issues(&self, device: &str) -> Result<Vec<EntryId>> {
        let prefix = schema::part_prefix(device);
        Ok(self
            .scan_prefix(schema::DEVICES, &prefix, usize::MAX)?
            .iter()
            .filter_map(|(k, _)| schema::id_from(&k[prefix.len()..]))
            .collect())
    }

    /// The issues known to conflict with `issue` (double issuance), with the proof of each.
    pub fn conflicts_of(&self, issue: &EntryId) -> Result<Vec<(EntryId, ForkProof)>> {
        let mut out = Vec::new();
        for (k, v) in self.scan_prefix(schema::CONFLICTS, &issue.0, 1024)? {
            let other = schema::id_from(&k[32..]).context("damaged conflict key")?;
            out.push((other, writer::decode_fork(&v).context("damaged conflict proof")?));
        }
        Ok(out)
    }

    /// Every double issuance (each pair once, by the smaller id), at most `limit`.
    pub fn conflicts(&self, limit: usize) -> Result<Vec<(EntryId, EntryId, ForkProof)>> {
        let mut out = Vec::new();
        for kv in self.db.iterator_cf(self.cf(schema::CONFLICTS), IteratorMode::Start) {
            if out.len() >= limit {
                break;
            }
            let (k, v) = kv?;
            let a = schema::id_from(&k).context("damaged conflict key")?;
            let b = k.get(32..).and_then(schema::id_from).context("damaged conflict key")?;
            if a < b {
                out.push((a, b, writer::decode_fork(&v).context("damaged conflict proof")?));
            }
        }
        Ok(out)
    }

    /// A page of the proofs this node holds — fork proofs, then double-issuance proofs — after
    /// `after` (the cursor a previous page returned): at most `limit` proofs and about
    /// `max_bytes`. Returns the proofs and the next page's cursor, if there is more.
    pub fn proofs_page(
        &self,
        after: Option<&str>,
        limit: usize,
        max_bytes: usize,
    ) -> Result<(Vec<ForkProof>, Option<String>)> {
        // A cursor is `f:HEX` (a key of forks_v1) or `c:HEX` (of conflicts_v1).
        let (start_cf, start_key): (usize, Vec<u8>) = match after {
            None => (0, Vec::new()),
            Some(c) => {
                let (tag, hex_key) = c.split_once(':').context("a proof cursor is f:HEX or c:HEX")?;
                let key = hex::decode(hex_key).context("a proof cursor is f:HEX or c:HEX")?;
                match tag {
                    "f" => (0, key),
                    "c" => (1, key),
                    _ => bail!("a proof cursor is f:HEX or c:HEX"),
                }
            }
        };
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut last: Option<(&str, Vec<u8>)> = None;
        for (i, (cf, tag)) in [(schema::FORKS, "f"), (schema::CONFLICTS, "c")].into_iter().enumerate() {
            if i < start_cf {
                continue;
            }
            let from = if i == start_cf { start_key.clone() } else { Vec::new() };
            for kv in self
                .db
                .iterator_cf(self.cf(cf), IteratorMode::From(&from, Direction::Forward))
            {
                let (k, v) = kv?;
                if i == start_cf && !from.is_empty() && *k <= *from {
                    continue;
                }
                // A conflict is kept under both issues' ids: send it once.
                if cf == schema::CONFLICTS && k.get(..32) >= k.get(32..64) {
                    continue;
                }
                let p = writer::decode_fork(&v).context("damaged proof")?;
                let size = p.a.to_json().len() + p.b.to_json().len();
                if out.len() >= limit || (!out.is_empty() && bytes + size > max_bytes) {
                    let next = last.map(|(t, k)| format!("{t}:{}", hex::encode(k)));
                    return Ok((out, next));
                }
                bytes += size;
                out.push(p);
                last = Some((tag, k.to_vec()));
            }
        }
        Ok((out, None))
    }

    /// An entry of a fork proof (known to this node though not in its log), by id.
    pub fn fork_entry(&self, id: &EntryId) -> Result<Option<Entry>> {
        for p in self.fork_proofs(usize::MAX)? {
            for se in [p.a, p.b] {
                if se.id() == *id {
                    return Ok(se.decode().ok());
                }
            }
        }
        Ok(None)
    }

    /// Every fork proof (at most `limit`).
    pub fn fork_proofs(&self, limit: usize) -> Result<Vec<ForkProof>> {
        let mut out = Vec::new();
        for kv in self
            .db
            .iterator_cf(self.cf(schema::FORKS), IteratorMode::Start)
            .take(limit)
        {
            let (_, v) = kv?;
            out.push(writer::decode_fork(&v).context("damaged fork proof")?);
        }
        Ok(out)
    }

    /// Pending entries (at most `limit`) with their signer, seq and prev, so that a missing
    /// `prev` can be fetched as a chain range.
    pub fn pending_heads(&self, limit: usize) -> Vec<(PublicKey, u64, Option<EntryId>)> {
        self.db
            .iterator_cf(self.cf(schema::PENDING), IteratorMode::Start)
            .take(limit)
            .filter_map(|kv| kv.ok())
            .filter_map(|(_, v)| SignedEntry::from_json(&v).ok()?.decode().ok())
            .map(|e| (e.payload.signer, e.payload.seq, e.payload.prev))
            .collect()
    }

    /// The sync cursor kept for a peer: how many of its log records this node has applied.
    /// Cursors are hints (losing one only means pulling again), so they are written directly.
    pub fn cursor(&self, peer: &str) -> u64 {
        self.db
            .get_cf(self.cf(schema::META), cursor_key(peer))
            .ok()
            .flatten()
            .and_then(|v| schema::u64_from(&v))
            .unwrap_or(0)
    }

    /// Records a peer's sync cursor (after the entries it covers are durable).
    pub fn set_cursor(&self, peer: &str, next: u64) {
        if let Err(e) = self
            .db
            .put_cf(self.cf(schema::META), cursor_key(peer), next.to_be_bytes())
        {
            tracing::warn!(cause = %e, "cannot save a sync cursor");
        }
    }

    /// Flushes memtables to disk (used by tests and at shutdown).
    pub fn flush(&self) -> Result<()> {
        self.db.flush_wal(true)?;
        Ok(())
    }
}

fn cursor_key(peer: &str) -> Vec<u8> {
    let mut k = schema::META_CURSOR_PREFIX.to_vec();
    k.extend_from_slice(peer.as_bytes());
    k
}

/// A signed statement of the log's size and head (a checkpoint).
pub type Checkpoint = greenledger_core::api::SignedHead;

/// Signs the given head with the node's key.
pub fn sign_checkpoint(identity: &Identity, network: NetworkId, size: u64, head: [u8; 32]) -> Checkpoint {
    let sig = identity.sign(&greenledger_core::log::checkpoint_message(&network, size, &head));
    Checkpoint {
        network,
        size,
        head: hex::encode(head),
        node_key: identity.public_key(),
        peer_id: identity.peer_id().to_string(),
        signature: sig.to_hex(),
        timestamp: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
    }
}

impl EntrySource for Store {
    fn get(&self, id: &EntryId) -> Option<Entry> {
        self.get_decoded(id)
    }

    fn membership(&self) -> Vec<Entry> {
        self.membership_entries().unwrap_or_default()
    }

    fn superseded_by(&self, id: &EntryId) -> Vec<Entry> {
        self.superseded_by_ids(id)
            .unwrap_or_default()
            .iter()
            .filter_map(|s| self.get_decoded(s))
            .collect()
    }

    fn fork_proofs(&self, signer: &PublicKey) -> Vec<ForkProof> {
        self.forks_of(signer)
            .unwrap_or_default()
            .into_iter()
            .map(|(_, p)| p)
            .collect()
    }

    fn draws_on(&self, lot: &LotId) -> Vec<Entry> {
        self.draws_on(lot)
            .unwrap_or_default()
            .iter()
            .filter_map(|(_, id, _)| self.get_decoded(id))
            .collect()
    }

    fn conflicting(&self, issue: &EntryId) -> Vec<Entry> {
        self.conflicts_of(issue)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(other, p)| {
                [p.a, p.b]
                    .into_iter()
                    .find(|se| se.id() == other)
                    .and_then(|se| se.decode().ok())
            })
            .collect()
    }
}

impl Shared {
    pub(crate) fn set(&self, counter: &AtomicU64, v: u64) {
        counter.store(v, Ordering::Relaxed);
    }
}

/// Reads the genesis a data dir's database was created with.
pub fn read_genesis(db_dir: &Path) -> Result<Genesis> {
    let db = open_db(db_dir, &crate::config::StorageConfig::default())?;
    let meta = db.cf_handle(schema::META).context("missing meta column family")?;
    let bytes = db
        .get_cf(meta, schema::META_GENESIS)?
        .context("the database holds no genesis; pass --genesis FILE")?;
    Genesis::from_json(&bytes).context("the stored genesis is damaged")
}

#[cfg(test)]
mod tests {
    use greenledger_core::{
        Attestation, Body, Emissions, Mass, Payload, Role, SecretKey, Unit, entry, model::MemberAdmit, rollup,
    };
    use greenledger_interop::pact;

    use super::*;

    fn sign(key: &SecretKey, genesis: &Genesis, seq: u64, prev: Option<EntryId>, body: Body) -> VerifiedEntry {
        let p = Payload {
            network: genesis.network_id(),
            signer: key.public(),
            seq,
            prev,
            timestamp: "2026-01-02T00:00:00Z".into(),
            body,
        };
        entry::sign(key, &p).expect("sign")
    }

    /// The writer thread says how it ended: `Ok` after a drain, the panic's message after a
    /// panic — and the handles notice that it is gone.
    #[test]
    fn the_writer_thread_reports_its_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        let identity = Identity::init(dir.path()).expect("identity");
        let admin = SecretKey::generate();
        let genesis = Genesis::new("t", "2026-01-01T00:00:00Z", vec![admin.public()], vec![]).expect("genesis");
        let cfg = Config::default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let db_dir = dir.path().join("db");

        let (store, mut writer) = Store::open(&db_dir, &genesis, &cfg, identity.clone()).expect("open");
        let ended = writer.take_ended().expect("the first call has it");
        assert!(writer.take_ended().is_none());
        drop(store);
        assert_eq!(rt.block_on(ended).expect("sent"), Ok(()));
        writer.join();

        let (store, mut writer) = Store::open(&db_dir, &genesis, &cfg, identity).expect("reopen");
        let ended = writer.take_ended().expect("the first call has it");
        assert!(store.writable());
        store.writer_fault().inject();
        let why = rt.block_on(ended).expect("sent").expect_err("it panicked");
        assert!(why.contains("fault injected into the store writer thread"), "{why}");
        assert!(!store.writable());
        let admit = sign(
            &admin,
            &genesis,
            1,
            None,
            Body::MemberAdmit(MemberAdmit {
                member: SecretKey::generate().public(),
                name: "Supplier".into(),
                role: Role::Supplier,
                peer_id: None,
            }),
        );
        assert!(matches!(
            rt.block_on(store.ingest(admit)),
            Err(IngestError::ShuttingDown)
        ));
        drop(store);
        writer.join();
    }

    /// A data dir with an admin and one supplier, whose admission is the first entry to store.
    struct Fixture {
        dir: tempfile::TempDir,
        identity: Identity,
        supplier: SecretKey,
        genesis: Genesis,
        cfg: Config,
        rt: tokio::runtime::Runtime,
        admit: VerifiedEntry,
    }

    impl Fixture {
        fn new() -> Fixture {
            let dir = tempfile::tempdir().expect("tempdir");
            let identity = Identity::init(dir.path()).expect("identity");
            let admin = SecretKey::generate();
            let supplier = SecretKey::generate();
            let genesis = Genesis::new("t", "2026-01-01T00:00:00Z", vec![admin.public()], vec![]).expect("genesis");
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let admit = sign(
                &admin,
                &genesis,
                1,
                None,
                Body::MemberAdmit(MemberAdmit {
                    member: supplier.public(),
                    name: "Supplier".into(),
                    role: Role::Supplier,
                    peer_id: None,
                }),
            );
            Fixture {
                dir,
                identity,
                supplier,
                genesis,
                cfg: Config::default(),
                rt,
                admit,
            }
        }

        fn db_dir(&self) -> std::path::PathBuf {
            self.dir.path().join("db")
        }

        fn open(&self) -> (Store, WriterThread) {
            Store::open(&self.db_dir(), &self.genesis, &self.cfg, self.identity.clone()).expect("open")
        }

        /// The supplier's attestation of `part` at `seq`.
        fn attest(&self, part: &str, seq: u64, prev: Option<EntryId>, kg: i64) -> VerifiedEntry {
            let mut a = Attestation::new(part, Unit::Kilogram, Emissions::headline(Mass(kg)));
            a.total = rollup::roll_up(&a.own, &[]).expect("roll-up");
            sign(&self.supplier, &self.genesis, seq, prev, Body::Attestation(Box::new(a)))
        }
    }

    /// `has_entry` answers for the log only: not before an entry is stored, nor for one
    /// waiting in the pending area; yes once it is stored, and after a reopen.
    #[test]
    fn has_entry_is_true_for_logged_entries_only() {
        let f = Fixture::new();
        let first = f.attest("urn:x:part1", 1, None, 1);
        // Its `prev` is not known: it waits in the pending area.
        let waiting = f.attest("urn:x:part3", 3, Some(EntryId([7; 32])), 1);
        let (admit_id, first_id, waiting_id) = (f.admit.id(), first.id(), waiting.id());
        let (store, writer) = f.open();
        assert!(!store.has_entry(&admit_id));
        f.rt.block_on(async {
            store.ingest(f.admit.clone()).await.expect("admit");
            store.ingest(first).await.expect("attestation");
            let pending = store.ingest(waiting).await.expect("pending");
            assert!(matches!(pending, Outcome::Pending { .. }), "{pending:?}");
        });
        assert!(store.has_entry(&admit_id));
        assert!(store.has_entry(&first_id));
        assert!(!store.has_entry(&waiting_id));
        drop(store);
        writer.join();
        let (store, writer) = f.open();
        assert!(store.has_entry(&first_id));
        assert!(!store.has_entry(&EntryId([7; 32])));
        drop(store);
        writer.join();
    }

    /// A data dir made before `pact_ids_v1` existed gets its attestations indexed when opened.
    #[test]
    fn pact_ids_are_indexed_for_older_data_dirs() {
        let f = Fixture::new();
        let att = f.attest("urn:x:part", 1, None, 1_000_000);
        let att_id = att.id();
        let uuid = pact::footprint_uuid(&att_id);
        let (store, writer) = f.open();
        f.rt.block_on(async {
            store.ingest(f.admit.clone()).await.expect("admit");
            store.ingest(att).await.expect("attestation");
        });
        assert_eq!(store.entry_by_footprint(&uuid).expect("read"), Some(att_id));
        drop(store);
        writer.join();
        // As an older version left it: no index rows, no marker.
        {
            let db = open_db(&f.db_dir(), &f.cfg.storage).expect("db");
            let ids = db.cf_handle(schema::PACT_IDS).expect("cf");
            db.delete_cf(ids, uuid).expect("delete");
            let meta = db.cf_handle(schema::META).expect("cf");
            db.delete_cf(meta, schema::META_PACT_IDS_COMPLETE).expect("delete");
        }
        let (store, writer) = f.open();
        assert_eq!(store.entry_by_footprint(&uuid).expect("read"), Some(att_id));
        assert_eq!(store.entry_by_footprint(&[0; 16]).expect("read"), None);
        drop(store);
        writer.join();
    }
}
