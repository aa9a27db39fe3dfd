//! The node's HTTP API answers (`/v1/…`), as typed values: the node serializes them, the CLI
//! (and any Rust client) deserializes them. One set of types on both sides of the wire, so a
//! client never reads an answer by indexing untyped JSON.
//!
//! Field names are the API's (snake case); they are part of the HTTP contract in the README.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::{
    id::{EntryId, NetworkId},
    keys::PublicKey,
};

/// The error shape of every failed request: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A stable identifier (`fork`, `rollup_mismatch`, `not_found`, …).
    pub code: String,
    /// What is wrong and what to do, for people.
    pub message: String,
}

/// What became of a submitted entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubmitStatus {
    /// Appended to the log (HTTP 201).
    Stored,
    /// Already in the log (HTTP 200).
    Duplicate,
    /// Held until the entries it needs arrive (HTTP 202).
    Pending,
}

/// `POST /v1/entries` (one entry): the answer once it is durable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    /// The entry's id.
    pub id: EntryId,
    /// Where it is in the log (stored or duplicate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
    /// What became of it.
    pub status: SubmitStatus,
    /// What it waits for (pending).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<Vec<EntryId>>,
}

/// One result of an array submission (`POST /v1/entries` with a JSON array): the HTTP status
/// and the body that submitting the entry alone would have been answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemResult {
    /// The status the single form would answer (201, 200, 202, 4xx, 5xx).
    pub status: u16,
    /// The body the single form would answer.
    pub body: ItemBody,
}

/// The body of an [`ItemResult`]: what the ledger did with the entry, or why not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ItemBody {
    /// Stored, already there, or pending.
    Submitted(Submitted),
    /// Refused (the API's error shape).
    Error(ErrorBody),
}

/// Whether an entry holds today: the ledger's rules over the node's current state (a signer
/// may have been revoked or may have forked since it was stored), and whether its own signer
/// corrected it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    /// True if no rule is broken today.
    pub valid: bool,
    /// Every rule broken today, with its code and message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<ErrorDetail>,
    /// Corrections of this entry by its own signer that hold (an attestation only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub superseded_by: Vec<EntryId>,
}

/// `GET /v1/entries/{id}`: one entry, its envelope verbatim, and how it stands.
#[derive(Debug, Serialize, Deserialize)]
pub struct EntryInfo {
    /// The id.
    pub id: EntryId,
    /// Its log index.
    pub log_index: u64,
    /// Its kind (`attestation`, …).
    pub kind: String,
    /// Its signer.
    pub signer: PublicKey,
    /// Its seq.
    pub seq: u64,
    /// A one-line summary.
    pub summary: String,
    /// How it stands today.
    pub standing: Standing,
    /// The envelope, byte for byte as stored.
    pub entry: Box<RawValue>,
}

/// One attestation of a part, in [`PartInfo`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartAttestation {
    /// The attestation.
    pub id: EntryId,
    /// Its log index.
    pub log_index: u64,
    /// Its signer.
    pub signer: PublicKey,
    /// The signer's organisation.
    pub supplier: Option<String>,
    /// Its seq.
    pub seq: u64,
    /// Its declared unit (PACT spelling).
    pub unit: String,
    /// Its total (headline), kg CO2e per declared unit, as a decimal.
    pub total_kg: String,
    /// Corrections by its own signer that hold.
    pub superseded_by: Vec<EntryId>,
    /// True if no rule is broken today.
    pub valid: bool,
}

/// `GET /v1/parts/{urn}`: a part's attestations and which are current (valid today and not
/// corrected by their own signer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartInfo {
    /// The part.
    pub part: String,
    /// The current attestations.
    pub current: Vec<EntryId>,
    /// Every attestation of the part, in log order.
    pub attestations: Vec<PartAttestation>,
}

/// A chain position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    /// The seq.
    pub seq: u64,
    /// The entry there.
    pub id: EntryId,
}

/// `GET /v1/signers/{pubkey}`: a signer's membership, chain head and fork status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignerInfo {
    /// The key.
    pub signer: PublicKey,
    /// The organisation, if admitted with a name.
    pub name: Option<String>,
    /// The roles held.
    pub roles: Vec<String>,
    /// True if an admin (genesis or admitted).
    pub admin: bool,
    /// The revocation limit, if revoked.
    pub revoked_after_seq: Option<u64>,
    /// The chain head on this node.
    pub head: Option<ChainHead>,
    /// The lowest seq of a fork, if the signer forked.
    pub forked_at_seq: Option<u64>,
    /// How many fork proofs this node holds for the signer.
    pub fork_proofs: usize,
}

/// One consumer of an entry, in [`Consumers`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumer {
    /// The consuming attestation.
    pub id: EntryId,
    /// The quantity it uses per declared unit, in the input's unit, as a decimal.
    pub quantity: String,
}

/// `GET /v1/entries/{id}/consumers`: attestations that use an entry as an input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumers {
    /// The entry.
    pub id: EntryId,
    /// Its consumers.
    pub consumers: Vec<Consumer>,
}

/// One pending entry, in [`PendingList`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEntry {
    /// The entry.
    pub id: EntryId,
    /// What it waits for.
    pub missing: Vec<EntryId>,
}

/// `GET /v1/pending`: entries waiting for their prev, inputs or superseded entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingList {
    /// The entries.
    pub pending: Vec<PendingEntry>,
}

/// One log record, in [`LogPage`].
#[derive(Debug, Serialize, Deserialize)]
pub struct LogRecord {
    /// Its index.
    pub index: u64,
    /// The entry.
    pub id: EntryId,
    /// The record hash (hex).
    pub hash: String,
    /// The entry's envelope, verbatim (with `entries=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<Box<RawValue>>,
}

/// `GET /v1/log?from=I&limit=N`: a page of log records.
#[derive(Debug, Serialize, Deserialize)]
pub struct LogPage {
    /// The log's size now.
    pub size: u64,
    /// Where this page starts.
    pub from: u64,
    /// The records.
    pub records: Vec<LogRecord>,
    /// Where the next page starts, if there is more.
    pub next: Option<u64>,
}

/// The network a node serves, in [`Health`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInfo {
    /// The network id.
    pub id: NetworkId,
    /// Its name.
    pub name: String,
}

/// The latest stored checkpoint, in [`Health`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointInfo {
    /// The log size it covers.
    pub size: u64,
    /// The head hash (hex).
    pub head: String,
    /// When it was signed.
    pub timestamp: String,
}

/// `GET /v1/health`: liveness, addresses and counters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `ok`, or why not.
    pub status: String,
    /// The node's version.
    pub version: String,
    /// The network.
    pub network: NetworkInfo,
    /// The node's libp2p peer id.
    pub peer_id: String,
    /// The node's checkpoint-signing key.
    pub node_key: PublicKey,
    /// The HTTP address bound.
    pub http: Option<String>,
    /// The peer-to-peer addresses bound.
    pub p2p: Vec<String>,
    /// The PACT API's address, if on.
    pub pact: Option<String>,
    /// Connected peers.
    pub peers: i64,
    /// Log records.
    pub log_size: u64,
    /// Pending entries.
    pub pending: u64,
    /// Signers flagged for a fork.
    pub forked_signers: u64,
    /// The latest checkpoint.
    pub last_checkpoint: Option<CheckpointInfo>,
}

/// `GET /v1/log/head`: the log's size and head, signed by the node (a checkpoint).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedHead {
    /// The network.
    pub network: NetworkId,
    /// Number of log records.
    pub size: u64,
    /// Hash of the last record (hex; zeros when empty).
    pub head: String,
    /// The node's ed25519 public key.
    pub node_key: PublicKey,
    /// The node's libp2p peer id.
    pub peer_id: String,
    /// Signature over `greenledger/checkpoint/v1\0 ‖ network ‖ size (u64 BE) ‖ head`
    /// ([`crate::log::checkpoint_message`]).
    pub signature: String,
    /// When it was signed (node clock, informative).
    pub timestamp: String,
}

/// One draw on a lot, as `GET /v1/lots/{lot}` lists them (in the holder's chain order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotDraw {
    /// The drawing entry.
    pub entry: EntryId,
    /// Its kind (`certificate.transfer`, `certificate.retire`, `batch.ship`, `attestation`).
    pub kind: String,
    /// Its seq in the holder's chain.
    pub seq: u64,
    /// How much it drew, in the lot's unit.
    pub amount: i64,
}

/// What a certificate lot certifies (its issue's facts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateFacts {
    /// The issue.
    pub issue: EntryId,
    /// Its issuer.
    pub issuer: PublicKey,
    /// The issuer's organisation, if admitted with a name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_name: Option<String>,
    /// The certificate scheme (`EECS-GO`, `I-REC`, …).
    pub scheme: String,
    /// The certificate's serial under its scheme.
    pub serial: String,
    /// The device's scheme-qualified ids.
    pub device: Vec<String>,
    /// The generation technology.
    pub technology: String,
    /// The market region.
    pub region: String,
    /// Start of the production period.
    pub production_start: String,
    /// End of the production period.
    pub production_end: String,
    /// Wh issued.
    pub wh: i64,
}

/// `GET /v1/lots/{lot}`: a lot, what drew on it and what is left.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotInfo {
    /// The lot, `ENTRY_ID:INDEX`.
    pub lot: crate::custody::LotId,
    /// `certificate`, `retirement` or `batch`.
    pub kind: crate::custody::LotKind,
    /// Its unit (`Wh`, or the batch's declared unit for a batch).
    pub unit: String,
    /// Who holds it.
    pub holder: PublicKey,
    /// What it was created with.
    pub amount: i64,
    /// What its holder's entries drew on it.
    pub drawn: i64,
    /// What is left (`amount − drawn`).
    pub left: i64,
    /// The entry whose facts it carries (a certificate's issue, the retirement, the batch
    /// attestation).
    pub origin: EntryId,
    /// The certificate behind it (certificate and retirement lots, as far as the node holds
    /// them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<CertificateFacts>,
    /// The draws on it, in chain order.
    pub draws: Vec<LotDraw>,
    /// Issues this lot rests on that conflict with another issue (double issuance): every
    /// claim resting on them fails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<ConflictInfo>,
}

/// One lot a key holds, as `GET /v1/holders/{pubkey}/lots` lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldLot {
    /// The lot.
    pub lot: crate::custody::LotId,
    /// `certificate`, `retirement` or `batch`.
    pub kind: crate::custody::LotKind,
    /// What it was created with.
    pub amount: i64,
    /// What is left.
    pub left: i64,
    /// The entry whose facts it carries.
    pub origin: EntryId,
    /// A one-line description of the origin (the certificate or the batch).
    pub summary: String,
}

/// `GET /v1/holders/{pubkey}/lots`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderLots {
    /// The holder.
    pub holder: PublicKey,
    /// Its lots, oldest first.
    pub lots: Vec<HeldLot>,
}

/// A double issuance: two certificate issues of one device with overlapping hours.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictInfo {
    /// One issue (the smaller id).
    pub a: EntryId,
    /// The other.
    pub b: EntryId,
    /// The device ids they share.
    pub devices: Vec<String>,
}

/// `GET /v1/conflicts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflicts {
    /// The conflicts, by the smaller issue's id.
    pub conflicts: Vec<ConflictInfo>,
}
