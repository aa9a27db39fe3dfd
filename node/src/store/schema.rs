//! Column families and key encodings, in one place. Every name carries a version.
//!
//! | column family | key | value |
//! | --- | --- | --- |
//! | `entries_v1` | entry id (32) | log index (u64 BE) ‖ signature (64) ‖ payload bytes |
//! | `log_v1` | log index (u64 BE) | entry id (32) ‖ record hash (32) |
//! | `chains_v1` | signer (32) ‖ seq (u64 BE) | entry id (32) |
//! | `parts_v1` | part (UTF-8) ‖ 0x00 ‖ entry id (32) | empty |
//! | `consumers_v1` | input id (32) ‖ consumer id (32) | quantity (i64 BE) |
//! | `supersedes_v1` | superseded id (32) ‖ new id (32) | empty |
//! | `members_v1` | entry id (32) of a `member.*` entry | empty |
//! | `pending_v1` | entry id (32) | entry envelope (JSON) |
//! | `forks_v1` | signer (32) ‖ seq (u64 BE) | fork proof `{"a":…,"b":…}` |
//! | `checkpoints_v1` | log size (u64 BE) | checkpoint JSON |
//! | `pact_ids_v1` | PACT footprint id (16, see `pact::footprint_uuid`) of an attestation | entry id (32) |
//! | `draws_v1` | lot (entry id 32 ‖ index u32 BE) ‖ seq (u64 BE) ‖ drawing entry id (32) | amount (i64 BE) |
//! | `holders_v1` | holder (32) ‖ lot (36) | amount (i64 BE) |
//! | `devices_v1` | device id (UTF-8) ‖ 0x00 ‖ issue entry id (32) | empty |
//! | `conflicts_v1` | issue id (32) ‖ other issue id (32) | conflict proof `{"a":…,"b":…}` (both issues) |
//! | `meta_v1` | name | value (`genesis`: the genesis JSON; `cursor/<peer id>`: sync cursor, u64 BE) |
//!
//! The log's size and head are derived from the last `log_v1` record, which is written in
//! the same batch as its entry, so they can never disagree.

use greenledger_core::{EntryId, PublicKey};

pub(crate) const ENTRIES: &str = "entries_v1";
pub(crate) const LOG: &str = "log_v1";
pub(crate) const CHAINS: &str = "chains_v1";
pub(crate) const PARTS: &str = "parts_v1";
pub(crate) const CONSUMERS: &str = "consumers_v1";
pub(crate) const SUPERSEDES: &str = "supersedes_v1";
pub(crate) const MEMBERS: &str = "members_v1";
pub(crate) const PENDING: &str = "pending_v1";
pub(crate) const FORKS: &str = "forks_v1";
pub(crate) const CHECKPOINTS: &str = "checkpoints_v1";
pub(crate) const META: &str = "meta_v1";
pub(crate) const PACT_IDS: &str = "pact_ids_v1";
pub(crate) const DRAWS: &str = "draws_v1";
pub(crate) const HOLDERS: &str = "holders_v1";
pub(crate) const DEVICES: &str = "devices_v1";
pub(crate) const CONFLICTS: &str = "conflicts_v1";

pub(crate) const ALL: [&str; 16] = [
    ENTRIES,
    LOG,
    CHAINS,
    PARTS,
    CONSUMERS,
    SUPERSEDES,
    MEMBERS,
    PENDING,
    FORKS,
    CHECKPOINTS,
    META,
    PACT_IDS,
    DRAWS,
    HOLDERS,
    DEVICES,
    CONFLICTS,
];

pub(crate) const META_GENESIS: &[u8] = b"genesis";
/// `cursor/<peer id>` → how many of that peer's log records were applied (u64 BE).
pub(crate) const META_CURSOR_PREFIX: &[u8] = b"cursor/";
/// Present once `pact_ids_v1` indexes every attestation in the log (data dirs made before the
/// index existed are indexed when they are opened).
pub(crate) const META_PACT_IDS_COMPLETE: &[u8] = b"index/pact_ids_v1";

pub(crate) fn chain_key(signer: &PublicKey, seq: u64) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(signer.as_bytes());
    k[32..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// `draws_v1` key: lot ‖ seq ‖ drawing entry.
pub(crate) fn draw_key(lot: &greenledger_core::custody::LotId, seq: u64, entry: &EntryId) -> Vec<u8> {
    let mut k = Vec::with_capacity(76);
    k.extend_from_slice(&lot.key());
    k.extend_from_slice(&seq.to_be_bytes());
    k.extend_from_slice(&entry.0);
    k
}

/// `holders_v1` key: holder ‖ lot.
pub(crate) fn holder_key(holder: &PublicKey, lot: &greenledger_core::custody::LotId) -> Vec<u8> {
    let mut k = Vec::with_capacity(68);
    k.extend_from_slice(holder.as_bytes());
    k.extend_from_slice(&lot.key());
    k
}

pub(crate) fn part_prefix(part: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(part.len() + 1);
    k.extend_from_slice(part.as_bytes());
    k.push(0);
    k
}

pub(crate) fn part_key(part: &str, id: &EntryId) -> Vec<u8> {
    let mut k = part_prefix(part);
    k.extend_from_slice(&id.0);
    k
}

pub(crate) fn pair_key(a: &EntryId, b: &EntryId) -> [u8; 64] {
    let mut k = [0u8; 64];
    k[..32].copy_from_slice(&a.0);
    k[32..].copy_from_slice(&b.0);
    k
}

/// Encodes an `entries_v1` value.
pub(crate) fn entry_value(log_index: u64, signature: &[u8; 64], payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(72 + payload.len());
    v.extend_from_slice(&log_index.to_be_bytes());
    v.extend_from_slice(signature);
    v.extend_from_slice(payload);
    v
}

/// Decodes an `entries_v1` value.
pub(crate) fn split_entry_value(v: &[u8]) -> Option<(u64, [u8; 64], &[u8])> {
    if v.len() < 72 {
        return None;
    }
    let idx = u64::from_be_bytes(v[..8].try_into().ok()?);
    let sig: [u8; 64] = v[8..72].try_into().ok()?;
    Some((idx, sig, &v[72..]))
}

pub(crate) fn id_from(b: &[u8]) -> Option<EntryId> {
    Some(EntryId(b.get(..32)?.try_into().ok()?))
}

pub(crate) fn u64_from(b: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(..8)?.try_into().ok()?))
}
