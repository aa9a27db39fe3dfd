//! Chain of custody (DESIGN §3b, FORMAT.md §5b): lots, the draws on them, and what they rest on.
//!
//! A **lot** is an amount held by one key, created by an entry and named `(entry id, output
//! index)`, written `ID:INDEX`: a certificate (Wh), a retirement (Wh), a batch or a shipment of a
//! batch (millionths of the batch's declared unit). Only the holder's own entries draw on a lot,
//! and the draws on a lot, applied in the holder's chain order, never add up to more than it.
//!
//! This module resolves a lot from the entries a view holds ([`resolve`]) and decides every draw
//! an entry makes ([`check_draws`], the engine's custody step), and says what a key holds and
//! what is left of it ([`holder_lots`]). The kinds say what they draw and
//! create ([`crate::kinds::EntryKind::draws`], [`crate::kinds::EntryKind::outputs`]).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{
    api::{HeldLot, HolderLots},
    engine::{KindError, LedgerView},
    entry::Entry,
    id::EntryId,
    keys::PublicKey,
    kinds::certificate::CertificateIssue,
    model::Body,
    time,
};

/// A lot's name: the entry that created it and the index of the output.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LotId {
    /// The entry that created it.
    pub entry: EntryId,
    /// Which of its outputs (from 0).
    pub index: u32,
}

impl LotId {
    /// `ID:INDEX` with the id shortened, for messages.
    pub fn fmt_short(&self) -> String {
        format!("{}:{}", self.entry.fmt_short(), self.index)
    }

    /// The 36 bytes of an index key: the entry id, then the index (big endian).
    pub fn key(&self) -> [u8; 36] {
        let mut k = [0u8; 36];
        k[..32].copy_from_slice(&self.entry.0);
        k[32..].copy_from_slice(&self.index.to_be_bytes());
        k
    }

    /// The inverse of [`LotId::key`].
    pub fn from_key(k: &[u8]) -> Option<LotId> {
        Some(LotId {
            entry: EntryId(k.get(..32)?.try_into().ok()?),
            index: u32::from_be_bytes(k.get(32..36)?.try_into().ok()?),
        })
    }
}

impl fmt::Display for LotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.entry, self.index)
    }
}

impl fmt::Debug for LotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LotId({})", self.fmt_short())
    }
}

impl FromStr for LotId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (id, index) = s.split_once(':').ok_or_else(|| {
            format!("{s:?} is not a lot: write ENTRY_ID:INDEX (the entry's 64-hex id, a colon, the output index)")
        })?;
        let entry: EntryId = id.parse().map_err(|e| format!("lot {s:?}: {e}"))?;
        if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) || (index.len() > 1 && index.starts_with('0'))
        {
            return Err(format!(
                "lot {s:?}: the output index must be a decimal number without leading zeros"
            ));
        }
        let index: u32 = index
            .parse()
            .map_err(|_| format!("lot {s:?}: the output index is too large"))?;
        Ok(LotId { entry, index })
    }
}

impl Serialize for LotId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for LotId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What a lot holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LotKind {
    /// Green-electricity certificate, Wh (an issue's lot or a transfer's).
    Certificate,
    /// Retired certificates, Wh, claimable by their retirer.
    Retirement,
    /// A batch or a shipment of one, millionths of the batch's declared unit.
    Batch,
}

impl LotKind {
    /// How people say it.
    pub fn as_str(&self) -> &'static str {
        match self {
            LotKind::Certificate => "certificate",
            LotKind::Retirement => "retirement",
            LotKind::Batch => "batch",
        }
    }

    /// The unit of its amounts, for messages.
    pub fn unit(&self) -> &'static str {
        match self {
            LotKind::Certificate | LotKind::Retirement => "Wh",
            LotKind::Batch => "millionths of the declared unit",
        }
    }
}

/// Where a lot's facts come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The creating entry itself (an issue, a retirement, a batch attestation).
    Itself,
    /// The origin of the lots the creating entry draws on (a transfer, a shipment).
    Drawn,
}

/// One lot an entry creates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// What it holds.
    pub kind: LotKind,
    /// Who holds it.
    pub holder: PublicKey,
    /// How much.
    pub amount: i64,
    /// Where its facts come from.
    pub origin: Origin,
}

/// One draw an entry makes on a lot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Draw {
    /// The lot drawn on.
    pub lot: LotId,
    /// How much (in the lot's unit).
    pub amount: i64,
    /// The kind of lot the entry may draw here.
    pub expects: LotKind,
}

/// A lot, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lot {
    /// Its name.
    pub id: LotId,
    /// What it holds.
    pub kind: LotKind,
    /// Who holds it.
    pub holder: PublicKey,
    /// How much it was created with.
    pub amount: i64,
    /// The entry whose facts it carries: the certificate's issue, the retirement itself, or the
    /// batch attestation.
    pub origin: EntryId,
}

/// Why a lot cannot be resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unresolved {
    /// The view lacks this entry (a dependency to fetch, or missing from a bundle).
    Missing(EntryId),
    /// The entry exists but has no such output.
    NoSuchLot(String),
}

/// Resolves a lot from the entries `view` holds: its creating entry's output, and the origin
/// of its facts (followed back through transfers and shipments).
pub fn resolve<V: LedgerView + ?Sized>(view: &V, id: &LotId) -> Result<Lot, Unresolved> {
    let creator = view.entry(&id.entry).ok_or(Unresolved::Missing(id.entry))?;
    let outputs = creator.payload.body.outputs(&creator);
    let out = outputs.get(id.index as usize).ok_or_else(|| {
        Unresolved::NoSuchLot(format!(
            "lot {} does not exist: entry {} ({}) creates {} lot{}",
            id.fmt_short(),
            id.entry.fmt_short(),
            creator.payload.body.kind(),
            outputs.len(),
            if outputs.len() == 1 { "" } else { "s" }
        ))
    })?;
    // Follow transfers and shipments back to where the facts are (bounded by the chain of
    // custody's length; every step goes to an earlier entry, so it ends).
    let mut origin = creator.id;
    let mut how = out.origin;
    let mut hops = 0usize;
    while how == Origin::Drawn {
        let entry = view.entry(&origin).ok_or(Unresolved::Missing(origin))?;
        let first = entry
            .payload
            .body
            .draws(&entry)
            .first()
            .map(|d| d.lot)
            .ok_or_else(|| Unresolved::NoSuchLot(format!("entry {} draws on no lot", origin.fmt_short())))?;
        let up = view.entry(&first.entry).ok_or(Unresolved::Missing(first.entry))?;
        let o = up.payload.body.outputs(&up);
        let o = o
            .get(first.index as usize)
            .ok_or_else(|| Unresolved::NoSuchLot(format!("lot {} does not exist", first.fmt_short())))?;
        origin = up.id;
        how = o.origin;
        hops += 1;
        if hops > 1_000_000 {
            return Err(Unresolved::NoSuchLot("a chain of custody too long to follow".into()));
        }
    }
    Ok(Lot {
        id: *id,
        kind: out.kind,
        holder: out.holder,
        amount: out.amount,
        origin,
    })
}

/// The custody rules for every draw of `entry` (the engine's custody step): the lot exists and
/// is of the kind the entry may draw; its holder signs the entry; it rests on no forked
/// entry and on no certificate issued twice; and with the draws of the holder's earlier
/// entries it is not overdrawn. Returns the violations and the entries the view lacks.
pub fn check_draws<V: LedgerView + ?Sized>(entry: &Entry, view: &V) -> (Vec<KindError>, Vec<EntryId>) {
    let mut problems = Vec::new();
    let mut missing = Vec::new();
    let signer = entry.payload.signer;
    let draws = entry.payload.body.draws(entry);
    for (i, d) in draws.iter().enumerate() {
        if draws[..i].iter().any(|o| o.lot == d.lot) {
            continue; // a structural rule refuses one lot drawn twice by one entry
        }
        let lot = match resolve(view, &d.lot) {
            Ok(l) => l,
            Err(Unresolved::Missing(id)) => {
                missing.push(id);
                continue;
            }
            Err(Unresolved::NoSuchLot(why)) => {
                problems.push(KindError::NoSuchLot(why));
                continue;
            }
        };
        if lot.kind != d.expects {
            problems.push(KindError::WrongLot {
                lot: d.lot,
                is: lot.kind,
                wanted: d.expects,
            });
            continue;
        }
        if lot.holder != signer {
            problems.push(KindError::NotHolder {
                lot: d.lot,
                holder: lot.holder,
            });
            continue;
        }
        // What the lot rests on: its creator, and for a certificate its issue.
        for e in [d.lot.entry, lot.origin] {
            if let Some(c) = view.entry(&e)
                && let Some(fork_seq) = view.forked_at(&c.payload.signer)
                && c.payload.seq >= fork_seq
            {
                problems.push(KindError::InputForked {
                    input: e,
                    seq: c.payload.seq,
                    fork_seq,
                });
            }
        }
        if lot.kind == LotKind::Certificate
            && let Some(other) = view.conflict_of(&lot.origin)
        {
            problems.push(KindError::DoubleIssuance {
                issue: lot.origin,
                other,
            });
        }
        if matches!(lot.kind, LotKind::Retirement) {
            for issue in retired_certificates(view, &d.lot.entry) {
                if let Some(other) = view.conflict_of(&issue) {
                    problems.push(KindError::DoubleIssuance { issue, other });
                }
            }
        }
        let before = view.drawn_before(&d.lot, entry.payload.seq);
        if i128::from(before) + i128::from(d.amount) > i128::from(lot.amount) {
            problems.push(KindError::Overdrawn {
                lot: d.lot,
                kind: lot.kind,
                amount: lot.amount,
                drawn: before,
                wanted: d.amount,
            });
        }
    }
    (problems, missing)
}

/// The issues of the certificates a retirement (by id) retired, as far as the view holds them.
pub fn retired_certificates<V: LedgerView + ?Sized>(view: &V, retirement: &EntryId) -> Vec<EntryId> {
    let Some(r) = view.entry(retirement) else {
        return Vec::new();
    };
    let mut out: Vec<EntryId> = r
        .payload
        .body
        .draws(&r)
        .iter()
        .filter_map(|d| resolve(view, &d.lot).ok())
        .map(|l| l.origin)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether two certificate issues certify the same electricity: a device id in common and
/// production periods that overlap (whoever issued them, under whatever scheme).
pub fn double_issuance(a: &CertificateIssue, b: &CertificateIssue) -> bool {
    let shared = a.device.iter().any(|d| b.device.contains(d));
    let (Ok(a0), Ok(a1), Ok(b0), Ok(b1)) = (
        time::parse(&a.production_start),
        time::parse(&a.production_end),
        time::parse(&b.production_start),
        time::parse(&b.production_end),
    ) else {
        return false;
    };
    shared && a0 < b1 && b0 < a1
}

/// The certificate issues `view` holds that certify the same electricity as `issue` (entry
/// `id`): a device id in common and overlapping hours, by any issuer. Each issue is valid on
/// its own; the pair is a **conflict**, order-free, and every draw resting on either fails
/// ([`check_draws`]).
pub fn conflicting_issues<V: LedgerView + ?Sized>(issue: &CertificateIssue, id: &EntryId, view: &V) -> Vec<EntryId> {
    let mut others: Vec<EntryId> = Vec::new();
    for d in &issue.device {
        for other in view.issues_of_device(d) {
            if other == *id || others.contains(&other) {
                continue;
            }
            if let Some(o) = view.entry(&other)
                && let crate::model::Body::CertificateIssue(oi) = &o.payload.body
                && double_issuance(issue, oi)
            {
                others.push(other);
            }
        }
    }
    others
}

/// Checks a double-issuance proof on its own: both entries verify, both are certificate issues
/// of one network, they differ, and they certify the same electricity (a device id in common,
/// overlapping hours). Returns both issues, decoded. Whether their issuers held the role is the
/// rule engine's (each issue is an entry like any other).
pub fn check_conflict(a: &crate::entry::SignedEntry, b: &crate::entry::SignedEntry) -> Result<(Entry, Entry), String> {
    let a = a.verify().map_err(|e| format!("first issue: {e}"))?;
    let b = b.verify().map_err(|e| format!("second issue: {e}"))?;
    if a.id() == b.id() {
        return Err("both entries are the same".into());
    }
    if a.payload().network != b.payload().network {
        return Err("the issues belong to different networks".into());
    }
    let (a, b) = (a.into_entry(), b.into_entry());
    match (&a.payload.body, &b.payload.body) {
        (crate::model::Body::CertificateIssue(x), crate::model::Body::CertificateIssue(y)) => {
            if double_issuance(x, y) {
                Ok((a, b))
            } else {
                Err("the issues share no device id with overlapping production hours".into())
            }
        }
        _ => Err("a double-issuance proof is two certificate.issue entries".into()),
    }
}

/// `ceil(a × b / 10^6)` in wide integers, or `None` if it does not fit: a batch draw (a batch
/// of `a` millionths of a unit, using `b` millionths of the input per unit).
pub fn scaled_up(a: i64, b: i64) -> Option<i64> {
    let p = i128::from(a).checked_mul(i128::from(b))?;
    let q = (p + 999_999).div_euclid(1_000_000);
    i64::try_from(q).ok()
}

/// The lots `entry` creates, each with its name (`ID:0`, `ID:1`, … in order).
pub fn lots_of(entry: &Entry) -> Vec<(LotId, Output)> {
    entry
        .payload
        .body
        .outputs(entry)
        .into_iter()
        .enumerate()
        .filter_map(|(i, o)| {
            let index = u32::try_from(i).ok()?;
            Some((LotId { entry: entry.id, index }, o))
        })
        .collect()
}

/// What the holder's entries the view holds drew on `lot` (all of them, in any position of
/// its chain).
pub fn drawn<V: LedgerView + ?Sized>(view: &V, lot: &LotId) -> i64 {
    view.drawn_before(lot, u64::MAX)
}

/// A one-line description of the entry whose facts a lot carries (a lot's `origin`): the
/// certificate for a certificate lot, the retirement, or the batch.
pub fn describe_origin(origin: &Entry) -> String {
    match &origin.payload.body {
        Body::CertificateIssue(c) => format!(
            "certificate {} {}: {}, {}, {} to {}",
            c.scheme, c.serial, c.technology, c.region, c.production_start, c.production_end
        ),
        Body::CertificateRetire(r) => format!(
            "retired for {:?}: {}, {} to {}",
            r.beneficiary, r.region, r.consumption_start, r.consumption_end
        ),
        Body::Attestation(a) => {
            let unit = a.declared_unit_of_measurement.symbol();
            let size = a
                .produced_quantity
                .map(|q| format!(" of {} {unit}", q.decimal_string()))
                .unwrap_or_default();
            format!(
                "batch{size} of {}: {} kg CO2e/{unit}",
                a.part,
                a.total.pcf_excluding_biogenic_uptake.kg_string()
            )
        }
        other => other.summary(),
    }
}

/// The lots among `lots` that `holder` holds in `view`, each with what is left of it (its
/// amount less what the holder's entries drew on it), in the order given. Lots the view cannot
/// resolve, and lots of other holders, are left out; lots drawn down to nothing are kept.
///
/// The caller names the candidate lots (a node from its index of outputs by holder, offline
/// signing from [`lots_of`] over its folder of entries); the view decides the rest.
pub fn holder_lots<V: LedgerView + ?Sized>(
    view: &V,
    holder: &PublicKey,
    lots: impl IntoIterator<Item = LotId>,
) -> HolderLots {
    let mut out: Vec<HeldLot> = Vec::new();
    for id in lots {
        if out.iter().any(|l| l.lot == id) {
            continue;
        }
        let Ok(lot) = resolve(view, &id) else { continue };
        if lot.holder != *holder {
            continue;
        }
        let summary = view
            .entry(&lot.origin)
            .map(|e| describe_origin(&e))
            .unwrap_or_else(|| format!("{} (entry {} not held)", lot.kind.as_str(), lot.origin.fmt_short()));
        out.push(HeldLot {
            lot: id,
            kind: lot.kind,
            amount: lot.amount,
            left: lot.amount.saturating_sub(drawn(view, &id)),
            origin: lot.origin,
            summary,
        });
    }
    HolderLots {
        holder: *holder,
        lots: out,
    }
}
