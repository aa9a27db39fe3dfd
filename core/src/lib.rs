//! # greenledger-core
//!
//! The data model and the ledger rules of greenledger, with no I/O: no files, no network, no
//! database, no async runtime. The CLI, the node and other languages' ports share these rules;
//! `docs/FORMAT.md` specifies the same format for people.
//!
//! # Layout
//!
//! * [`keys`] — ed25519 keys and signatures (strict; batch verification with the same accept set).
//! * [`id`] — entry and network ids (blake3).
//! * [`canonical`] — the canonical JSON form of signed payloads.
//! * [`api`] — the node's HTTP answers as typed values, shared by the node and its clients.
//! * [`amount`] — fixed-point amounts: mg CO2e, millionths of a unit, basis points.
//! * [`model`] — the genesis, payloads, roles, units, emissions.
//! * [`kinds`] — the entry kinds, one module each: body, checks, role, dependencies, rules.
//! * [`custody`] — lots (certificates, retirements, batches), the draws on them, double issuance.
//! * [`custody_facts`] — what a batch's custody rests on, for reports: the certificates behind
//!   its electricity claims (renewable and hourly-matched shares), the shipments behind its inputs.
//! * [`engine`] — the ledger rules, once: one entry decided against a view of ledger state.
//! * [`entry`] — the signed envelope, its exact signed bytes, signing.
//! * [`log`] — the node's hash-chained log records and signed checkpoints.
//! * [`rollup`] — the exact carbon roll-up.
//! * [`membership`] — who may sign what, from the genesis and `member.*` entries.
//! * [`bundle`] — provenance bundles and their assembly.
//! * [`verify`] — bundle verification as numbered steps.
//! * [`time`] — the format's timestamps (RFC 3339, UTC, one narrow form).
//! * [`sync`] — the node-to-node sync protocol's messages (serde types, no network code).
//! * [`error`] — error types, one per concern.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod amount;
pub mod api;
pub mod bundle;
pub mod canonical;
pub mod custody;
pub mod custody_facts;
pub mod engine;
pub mod entry;
pub mod error;
pub mod id;
pub mod keys;
pub mod kinds;
pub mod log;
pub mod membership;
pub mod model;
mod par;
pub mod rollup;
pub mod sync;
pub mod time;
pub mod verify;

pub use amount::{Mass, Quantity, Share};
pub use bundle::{Assembled, Bundle, EntrySet, EntrySource, ForkProof, SetView};
pub use engine::{LedgerView, Verdict, Violation};
pub use entry::{Entry, SignedEntry, VerifiedEntry};
pub use id::{EntryId, NetworkId};
pub use keys::{PublicKey, SecretKey, Signature};
pub use membership::Membership;
pub use model::{Attestation, Body, Emissions, Genesis, Input, Kind, Payload, Role, Unit};
pub use verify::{Report, VerifyOptions, verify_assembled, verify_bundle};
