//! The node's hash-chained log and its signed checkpoints (pure functions, no storage).
//!
//! ```text
//! record i   = (entry id_i, hash_{i-1})              hash_{-1} = 32 zero bytes
//! hash_i     = blake3(LOG_TAG || i as u64 big-endian || id_i || hash_{i-1})
//! checkpoint = ed25519(node key, CHECKPOINT_TAG || network id || size as u64 BE || head)
//!              where size = number of records and head = hash_{size-1} (zeros when empty)
//! ```
//!
//! Anyone holding the records can recompute every hash; a node that rewrites history cannot
//! produce the same head, and its signed checkpoints pin what it claimed.

use crate::{
    id::{EntryId, NetworkId},
    keys::{PublicKey, Signature},
};

/// Domain tag of log record hashes.
pub const LOG_TAG: &[u8] = b"greenledger/log/v1\0";
/// Domain tag of checkpoints.
pub const CHECKPOINT_TAG: &[u8] = b"greenledger/checkpoint/v1\0";

/// The hash of record `index` holding `id`, chained to the previous record's hash.
pub fn record_hash(index: u64, id: &EntryId, prev: &[u8; 32]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(LOG_TAG);
    h.update(&index.to_be_bytes());
    h.update(&id.0);
    h.update(prev);
    *h.finalize().as_bytes()
}

/// The bytes a node signs for a checkpoint.
pub fn checkpoint_message(network: &NetworkId, size: u64, head: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(CHECKPOINT_TAG.len() + 72);
    m.extend_from_slice(CHECKPOINT_TAG);
    m.extend_from_slice(&network.0);
    m.extend_from_slice(&size.to_be_bytes());
    m.extend_from_slice(head);
    m
}

/// Checks a checkpoint signature.
pub fn verify_checkpoint(node: &PublicKey, network: &NetworkId, size: u64, head: &[u8; 32], sig: &Signature) -> bool {
    node.verify(&checkpoint_message(network, size, head), sig).is_ok()
}

/// Recomputes a chain of records from `start_hash` (the hash of the record before `first`),
/// returning the hash of the last record, or the index of the first record whose stored hash
/// differs from the recomputed one.
pub fn walk(first: u64, start_hash: [u8; 32], records: &[(EntryId, [u8; 32])]) -> Result<[u8; 32], u64> {
    let mut prev = start_hash;
    for (i, (id, stored)) in records.iter().enumerate() {
        let index = first + i as u64;
        let h = record_hash(index, id, &prev);
        if &h != stored {
            return Err(index);
        }
        prev = h;
    }
    Ok(prev)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_detects_any_change() {
        let ids: Vec<EntryId> = (0..5u8).map(|i| EntryId([i; 32])).collect();
        let mut recs = Vec::new();
        let mut prev = [0u8; 32];
        for (i, id) in ids.iter().enumerate() {
            prev = record_hash(i as u64, id, &prev);
            recs.push((*id, prev));
        }
        assert_eq!(walk(0, [0; 32], &recs), Ok(prev));
        let mut bad = recs.clone();
        bad[2].0 = EntryId([9; 32]);
        assert_eq!(walk(0, [0; 32], &bad), Err(2));
        // Continuing a walk from the middle gives the same head.
        assert_eq!(walk(3, recs[2].1, &recs[3..]), Ok(prev));
    }
}
