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
    api::{
        CertificateFacts, ChainHead, ConflictInfo, Conflicts, Consumer, Consumers, EntryInfo, ErrorDetail, HeldLot,
        HolderLots, LotDraw, LotInfo, PartAttestation, PartInfo, SignerInfo, Standing,
    },
    custody::{self, LotId, LotKind},
    engine,
    entry::Entry,
    model::Body,
};
use serde_json::value::RawValue;

use crate::store::Store;

/// Reads the ledger as it stands now. Cheap to make; make one per request (it holds the
/// membership as it was when it was made).
pub struct Reader<'a> {
    store: &'a Store,
    membership: std::sync::Arc<Membership>,
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

impl Reader<'_> {
    /// What a certificate issue certifies, if `id` is one the node knows.
    fn certificate(&self, id: &EntryId) -> Option<CertificateFacts> {
        let e = LedgerView::entry(self, id)?;
        let Body::CertificateIssue(c) = &e.payload.body else {
            return None;
        };
        Some(CertificateFacts {
            issue: *id,
            issuer: e.payload.signer,
            issuer_name: self.membership.name(&e.payload.signer).map(str::to_string),
            scheme: c.scheme.clone(),
            serial: c.serial.clone(),
            device: c.device.clone(),
            technology: c.technology.clone(),
            region: c.region.clone(),
            production_start: c.production_start.clone(),
            production_end: c.production_end.clone(),
            wh: c.wh.0,
        })
    }

    /// The double issuances an issue is part of.
    fn conflicts_of(&self, issue: &EntryId) -> Result<Vec<ConflictInfo>> {
        let mut out = Vec::new();
        for (other, p) in self.store.conflicts_of(issue)? {
            let (a, b) = if *issue < other {
                (*issue, other)
            } else {
                (other, *issue)
            };
            out.push(ConflictInfo {
                a,
                b,
                devices: shared_devices(&p),
            });
        }
        Ok(out)
    }

    /// `GET /v1/lots/{lot}`: `None` if the node does not hold the lot's entry or the entry
    /// creates no such lot.
    pub fn lot(&self, id: &LotId) -> Result<Option<LotInfo>> {
        let Ok(lot) = custody::resolve(self, id) else {
            return Ok(None);
        };
        let mut draws = Vec::new();
        let mut drawn = 0i64;
        for (seq, entry, amount) in self.store.draws_on(id)? {
            let kind = self
                .store
                .get_decoded(&entry)
                .map_or_else(|| "unknown".to_string(), |e| e.payload.body.kind().as_str().to_string());
            drawn = drawn.saturating_add(amount);
            draws.push(LotDraw {
                entry,
                kind,
                seq,
                amount,
            });
        }
        let issues = match lot.kind {
            LotKind::Certificate => vec![lot.origin],
            LotKind::Retirement => custody::retired_certificates(self, &lot.origin),
            LotKind::Batch => Vec::new(),
        };
        let mut conflicts = Vec::new();
        for i in &issues {
            conflicts.extend(self.conflicts_of(i)?);
        }
        let unit = match lot.kind {
            LotKind::Batch => LedgerView::entry(self, &lot.origin)
                .and_then(|e| {
                    e.attestation()
                        .map(|a| a.declared_unit_of_measurement.as_str().to_string())
                })
                .map_or_else(
                    || "millionths of a unit".to_string(),
                    |u| format!("millionths of a {u}"),
                ),
            _ => "Wh".to_string(),
        };
        Ok(Some(LotInfo {
            lot: *id,
            kind: lot.kind,
            unit,
            holder: lot.holder,
            amount: lot.amount,
            drawn,
            left: lot.amount.saturating_sub(drawn),
            origin: lot.origin,
            certificates: issues.iter().filter_map(|i| self.certificate(i)).collect(),
            draws,
            conflicts,
        }))
    }

    /// `GET /v1/holders/{pubkey}/lots`: every lot created for the key, with what is left.
    pub fn holder_lots(&self, holder: &PublicKey, limit: usize) -> Result<HolderLots> {
        let mut lots = Vec::new();
        for (id, amount) in self.store.lots_of(holder, limit)? {
            let Ok(lot) = custody::resolve(self, &id) else { continue };
            let drawn: i64 = self.store.draws_on(&id)?.iter().map(|(_, _, a)| *a).sum();
            let summary = LedgerView::entry(self, &lot.origin)
                .map(|e| e.payload.body.summary())
                .unwrap_or_default();
            lots.push(HeldLot {
                lot: id,
                kind: lot.kind,
                amount,
                left: amount.saturating_sub(drawn),
                origin: lot.origin,
                summary,
            });
        }
        Ok(HolderLots { holder: *holder, lots })
    }

    /// `GET /v1/conflicts`.
    pub fn conflicts(&self, limit: usize) -> Result<Conflicts> {
        Ok(Conflicts {
            conflicts: self
                .store
                .conflicts(limit)?
                .into_iter()
                .map(|(a, b, p)| ConflictInfo {
                    a,
                    b,
                    devices: shared_devices(&p),
                })
                .collect(),
        })
    }
}

/// The device ids two conflicting issues share.
fn shared_devices(p: &greenledger_core::ForkProof) -> Vec<String> {
    let dev = |se: &greenledger_core::SignedEntry| match se.decode_stored().map(|e| e.payload.body) {
        Ok(Body::CertificateIssue(c)) => c.device,
        _ => Vec::new(),
    };
    let b = dev(&p.b);
    dev(&p.a).into_iter().filter(|d| b.contains(d)).collect()
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

    fn drawn_before(&self, lot: &LotId, seq: u64) -> i64 {
        self.store
            .draws_on(lot)
            .unwrap_or_default()
            .iter()
            .filter(|(s, _, _)| *s < seq)
            .map(|(_, _, a)| *a)
            .sum()
    }

    fn conflict_of(&self, issue: &EntryId) -> Option<EntryId> {
        self.store.conflicts_of(issue).ok()?.first().map(|(other, _)| *other)
    }

    fn issues_of_device(&self, device: &str) -> Vec<EntryId> {
        self.store.device_issues(device).unwrap_or_default()
    }
}
