//! The read model: what the node answers about its ledger, as the typed values of
//! [`greenledger_core::api`], for the `/v1` routes, the PACT API and every other reader.
//!
//! A [`Reader`] is a [`LedgerView`] over the store as it is now (membership and forks
//! included), so how an entry stands today — "valid today" — is the rule engine's verdict
//! ([`engine::check_standing`]), and "current" is what no correction that holds supersedes
//! ([`engine::corrects`]): each defined once, in core.

use std::borrow::Cow;

use anyhow::Result;
use greenledger_core::{
    EntryId, LedgerView, Membership, NetworkId, PublicKey, Quantity,
    api::{ChainHead, Consumer, Consumers, EntryInfo, ErrorDetail, PartAttestation, PartInfo, SignerInfo, Standing},
    engine,
    entry::Entry,
};
use serde_json::value::RawValue;

use crate::store::Store;

/// Reads the ledger as it stands now. Cheap to make; make one per request (it holds a copy of
/// the membership taken when it was made).
pub struct Reader<'a> {
    store: &'a Store,
    membership: Membership,
    any_forks: bool,
}

impl<'a> Reader<'a> {
    /// A reader of `store` as it is now.
    pub fn new(store: &'a Store) -> Self {
        Reader {
            store,
            membership: store.membership(),
            any_forks: store.shared().forks.load(std::sync::atomic::Ordering::Relaxed) > 0,
        }
    }

    /// The store read.
    pub fn store(&self) -> &'a Store {
        self.store
    }

    /// An entry, decoded, with its log index.
    pub fn decoded(&self, id: &EntryId) -> Result<Option<(u64, Entry)>> {
        let Some((idx, se)) = self.store.entry(id)? else {
            return Ok(None);
        };
        Ok(se.decode().ok().map(|e| (idx, e)))
    }

    /// Whether a stored entry holds today: the rules that can change after it was stored
    /// (its signer revoked or forked since) and the corrections of it that hold.
    pub fn standing(&self, e: &Entry) -> Result<Standing> {
        let verdict = engine::check_standing(e, self);
        let problems: Vec<ErrorDetail> = verdict
            .violations
            .iter()
            .map(|v| ErrorDetail {
                code: v.code().to_string(),
                message: v.to_string(),
            })
            .collect();
        Ok(Standing {
            valid: problems.is_empty(),
            problems,
            superseded_by: self.corrections(e)?,
        })
    }

    /// True if no rule is broken today (see [`Reader::standing`]).
    pub fn valid_today(&self, e: &Entry) -> bool {
        engine::check_standing(e, self).violations.is_empty()
    }

    /// The corrections of `e` by its own signer that hold.
    pub fn corrections(&self, e: &Entry) -> Result<Vec<EntryId>> {
        let mut out = Vec::new();
        for id in self.store.superseded_by_ids(&e.id)? {
            if let Some((_, c)) = self.decoded(&id)?
                && engine::corrects(&c, e, self)
            {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// `GET /v1/entries/{id}`.
    pub fn entry(&self, id: &EntryId) -> Result<Option<EntryInfo>> {
        let Some((idx, se)) = self.store.entry(id)? else {
            return Ok(None);
        };
        let e = se.decode()?;
        let raw: Box<RawValue> = serde_json::from_slice(&se.to_json())?;
        Ok(Some(EntryInfo {
            id: *id,
            log_index: idx,
            kind: e.payload.body.kind().as_str().to_string(),
            signer: e.payload.signer,
            seq: e.payload.seq,
            summary: e.payload.body.summary(),
            standing: self.standing(&e)?,
            entry: raw,
        }))
    }

    /// `GET /v1/parts/{urn}`: `None` if the node holds no attestation of the part.
    pub fn part(&self, part: &str, limit: usize) -> Result<Option<PartInfo>> {
        let ids = self.store.part_entries(part, limit)?;
        if ids.is_empty() {
            return Ok(None);
        }
        let mut attestations = Vec::with_capacity(ids.len());
        let mut current = Vec::new();
        for id in ids {
            let Some((idx, e)) = self.decoded(&id)? else { continue };
            let Some(a) = e.attestation() else { continue };
            let superseded_by = self.corrections(&e)?;
            if superseded_by.is_empty() {
                current.push(id);
            }
            attestations.push(PartAttestation {
                id,
                log_index: idx,
                signer: e.payload.signer,
                supplier: self.membership.name(&e.payload.signer).map(str::to_string),
                seq: e.payload.seq,
                unit: a.declared_unit_of_measurement.as_str().to_string(),
                total_kg: a.total.pcf_excluding_biogenic_uptake.kg_string(),
                superseded_by,
                valid: self.valid_today(&e),
            });
        }
        Ok(Some(PartInfo {
            part: part.to_string(),
            current,
            attestations,
        }))
    }

    /// `GET /v1/signers/{pubkey}`: `None` if the key is neither admitted nor known here.
    pub fn signer(&self, key: &PublicKey) -> Result<Option<SignerInfo>> {
        let m = &self.membership;
        let head = self.store.chain_head(key)?;
        let forks = self.store.forks_of(key)?;
        let roles: Vec<String> = m.roles(key).iter().map(|r| r.as_str().to_string()).collect();
        if roles.is_empty() && head.is_none() && forks.is_empty() {
            return Ok(None);
        }
        Ok(Some(SignerInfo {
            signer: *key,
            name: m.name(key).map(str::to_string),
            roles,
            admin: m.is_admin(key),
            revoked_after_seq: m.limit(key),
            head: head.map(|(seq, id)| ChainHead { seq, id }),
            forked_at_seq: forks.iter().map(|(s, _)| *s).min(),
            fork_proofs: forks.len(),
        }))
    }

    /// `GET /v1/entries/{id}/consumers`.
    pub fn consumers(&self, id: &EntryId, limit: usize) -> Result<Consumers> {
        Ok(Consumers {
            id: *id,
            consumers: self
                .store
                .consumers(id, limit)?
                .into_iter()
                .map(|(c, q)| Consumer {
                    id: c,
                    quantity: Quantity(q).decimal_string(),
                })
                .collect(),
        })
    }
}

impl LedgerView for Reader<'_> {
    fn network(&self) -> NetworkId {
        self.store.network()
    }

    fn membership(&self) -> &Membership {
        &self.membership
    }

    fn entry(&self, id: &EntryId) -> Option<Cow<'_, Entry>> {
        if let Some(e) = self.store.get_decoded(id) {
            return Some(Cow::Owned(e));
        }
        // The entries of fork proofs are known too (what rests on one is told it is forked).
        if self.any_forks {
            return self.store.fork_entry(id).ok().flatten().map(Cow::Owned);
        }
        None
    }

    fn chain_at(&self, signer: &PublicKey, seq: u64) -> Option<EntryId> {
        self.store.chain_at(signer, seq).ok().flatten()
    }

    fn chains_complete(&self) -> bool {
        true
    }

    fn forked_at(&self, signer: &PublicKey) -> Option<u64> {
        if !self.any_forks {
            return None;
        }
        let forks = self.store.forks_of(signer).ok()?;
        forks.iter().map(|(seq, _)| *seq).min()
    }
}
