//! What a batch's chain of custody rests on, for reports (DESIGN §3b, FORMAT.md §9.1): the
//! certificates behind its electricity claims and the shipments behind its batch inputs.
//!
//! These are facts read from a [`LedgerView`], not verdicts: whether the claims and draws hold
//! is the engine's to decide ([`crate::engine::check`], the custody step). A report shows both —
//! the facts under each attestation, the violations naming the entry, signer and rule.
//!
//! # Figures
//!
//! * **Electricity** of a batch: [`Attestation::electricity_wh`], `electricityKwh` ×
//!   `producedQuantity` in Wh, rounded up.
//! * **Renewable share**: the Wh the batch claims (the sum of its `electricityClaims`) over its
//!   electricity, in basis points, rounded down.
//! * **A claim's certificates**: the claim draws on a retirement lot; the retirement drew on
//!   certificate lots, each resolved (through transfers) to the certificate's issue. A claim of
//!   `w` Wh on a retirement of `D` Wh that drew `d` Wh from one certificate rests on
//!   `⌊w × d / D⌋` Wh of that certificate (apportioned by the retired Wh, rounded down, so the
//!   shares never add up to more than the claim).
//! * **Hourly-matched**: a certificate is *hourly* when its production period is exactly one
//!   hour (issues start and end on whole hours), and *matched* when that hour lies inside the
//!   batch's reference period (`referencePeriodStart ≤ productionStart` and `productionEnd ≤
//!   referencePeriodEnd`). A claim's hourly-matched Wh is the sum of its shares of matched
//!   certificates; the batch's is the sum over its claims, and its **hourly-matched share** is
//!   that over its electricity, in basis points, rounded down. greenledger does not know a
//!   batch's consumption hour by hour, so "matched" says the certificate's hour is one in which
//!   the batch was being made, not that the batch used that much electricity in that hour.
//! * **Shipments** behind a batch input (an input that names a lot): the `batch.ship` entries
//!   from the input's batch attestation to the lot, first shipment first, each with its shipper
//!   and recipients; the quantities are in the input batch's declared unit.

use serde::Serialize;

use crate::{
    amount::{Quantity, Share, Wh},
    custody::{self, LotId},
    engine::LedgerView,
    entry::Entry,
    id::EntryId,
    keys::PublicKey,
    model::{Attestation, Body, Unit},
    time,
};

/// The electricity of a batch and the green electricity claimed for it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Electricity {
    /// The batch's electricity: `electricityKwh` × `producedQuantity`, rounded up; absent if
    /// the attestation does not state both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wh: Option<Wh>,
    /// The Wh claimed: the sum of the claims.
    pub claimed_wh: Wh,
    /// `claimed_wh / wh`, in basis points, rounded down; absent without electricity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewable_share: Option<Share>,
    /// The claimed Wh resting on hourly certificates produced inside the batch's reference
    /// period (see the [module documentation](self)).
    pub hourly_matched_wh: Wh,
    /// `hourly_matched_wh / wh`, in basis points, rounded down; absent without electricity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hourly_matched_share: Option<Share>,
    /// Each claim, in the attestation's order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<ClaimFacts>,
}

/// One electricity claim and the certificates behind it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ClaimFacts {
    /// The retirement lot drawn on.
    pub lot: LotId,
    /// The Wh claimed.
    pub wh: Wh,
    /// The retirement, if the view holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retirement: Option<RetirementFacts>,
    /// The Wh of this claim resting on hourly-matched certificates.
    pub hourly_matched_wh: Wh,
    /// The certificates the retirement retired, in the order it drew on them.
    pub certificates: Vec<CertificateFacts>,
    /// Why (some of) the certificates cannot be shown, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unresolved: Option<String>,
}

/// A `certificate.retire` entry, as a claim rests on it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RetirementFacts {
    /// The retirement entry.
    pub entry: EntryId,
    /// Who retired (the holder of the retirement lot).
    pub retirer: PublicKey,
    /// The retirer's organisation, if admitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retirer_name: Option<String>,
    /// The organisation it was retired for.
    pub beneficiary: String,
    /// Start of the consumption period.
    pub consumption_start: String,
    /// End of the consumption period.
    pub consumption_end: String,
    /// The market region of the consumption.
    pub region: String,
    /// The Wh retired (the retirement lot's amount).
    pub wh: Wh,
}

/// A certificate behind a claim.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CertificateFacts {
    /// The `certificate.issue` entry.
    pub issue: EntryId,
    /// Its issuer.
    pub issuer: PublicKey,
    /// The issuer's organisation, if admitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_name: Option<String>,
    /// The scheme (`EECS-GO`, `I-REC`, …).
    pub scheme: String,
    /// The scheme's serial.
    pub serial: String,
    /// The generating device's ids.
    pub device: Vec<String>,
    /// The technology.
    pub technology: String,
    /// The market region of production.
    pub region: String,
    /// Start of the production period.
    pub production_start: String,
    /// End of the production period.
    pub production_end: String,
    /// The Wh the certificate certifies.
    pub wh: Wh,
    /// The Wh the retirement drew from lots of this certificate.
    pub retired_wh: Wh,
    /// This claim's share of it: `⌊claim × retired_wh / retirement⌋`.
    pub claimed_wh: Wh,
    /// The production period is one hour.
    pub hourly: bool,
    /// Hourly, and the hour lies inside the batch's reference period.
    pub hourly_matched: bool,
    /// Another issue of the same device and hours (a double issuance), if the view knows one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub double_issuance: Option<EntryId>,
}

/// An input drawn from a batch or shipment lot, with the shipments behind the lot.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct BatchInput {
    /// The input attestation (the batch).
    pub entry: EntryId,
    /// The lot drawn on.
    pub lot: LotId,
    /// What this batch draws on the lot: its `producedQuantity` × the input's quantity per
    /// unit, rounded up, in the input's declared unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drawn: Option<Quantity>,
    /// The input's declared unit, if the view holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<Unit>,
    /// The input batch's produced quantity, if stated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_quantity: Option<Quantity>,
    /// The lot's quantity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot_quantity: Option<Quantity>,
    /// Who holds the lot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<PublicKey>,
    /// The holder's organisation, if admitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder_name: Option<String>,
    /// The shipments from the batch to the lot, first shipment first (empty when the lot is
    /// the batch attestation's own).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shipments: Vec<Shipment>,
    /// Why the chain of custody cannot be followed to the batch, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unresolved: Option<String>,
}

/// A `batch.ship` entry on the way from a batch to a lot.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Shipment {
    /// The shipment entry.
    pub entry: EntryId,
    /// Its signer, the holder of the lots it drew on.
    pub shipper: PublicKey,
    /// The shipper's organisation, if admitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipper_name: Option<String>,
    /// The lots it drew on.
    pub from: Vec<LotId>,
    /// What it shipped in all.
    pub shipped: Quantity,
    /// Its recipients, `ID:0`, `ID:1`, … in order.
    pub to: Vec<Recipient>,
    /// The output followed towards the lot drawn on.
    pub followed: u32,
}

/// One recipient of a shipment.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Recipient {
    /// The lot it received.
    pub lot: LotId,
    /// Its key.
    pub holder: PublicKey,
    /// Its organisation, if admitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder_name: Option<String>,
    /// How much.
    pub quantity: Quantity,
}

/// `part × 10000 / whole`, rounded down, as a share; `None` if `whole` is not positive.
pub fn share_of(part: i64, whole: i64) -> Option<Share> {
    if whole <= 0 {
        return None;
    }
    let bp = (i128::from(part.max(0)) * 10_000).div_euclid(i128::from(whole));
    Some(Share(bp.clamp(0, 10_000) as u16))
}

fn name<V: LedgerView + ?Sized>(view: &V, k: &PublicKey) -> Option<String> {
    view.membership().name(k).map(str::to_string)
}

/// The electricity of the batch `a` and the certificates behind its claims, or `None` if it
/// states no electricity and claims none.
pub fn electricity<V: LedgerView + ?Sized>(view: &V, a: &Attestation) -> Option<Electricity> {
    if a.electricity_kwh.is_none() && a.electricity_claims.is_empty() {
        return None;
    }
    let wh = a.electricity_wh();
    let period = match (&a.reference_period_start, &a.reference_period_end) {
        (Some(s), Some(e)) => time::parse(s).ok().zip(time::parse(e).ok()),
        _ => None,
    };
    let claims: Vec<ClaimFacts> = a
        .electricity_claims
        .iter()
        .map(|c| claim(view, c.lot, c.wh, period))
        .collect();
    let claimed = claims.iter().fold(0i64, |s, c| s.saturating_add(c.wh.0));
    let matched = claims.iter().fold(0i64, |s, c| s.saturating_add(c.hourly_matched_wh.0));
    let whole = wh.unwrap_or(0);
    Some(Electricity {
        wh: wh.map(Wh),
        claimed_wh: Wh(claimed),
        renewable_share: share_of(claimed, whole),
        hourly_matched_wh: Wh(matched),
        hourly_matched_share: share_of(matched, whole),
        claims,
    })
}

/// One claim of `w` Wh on retirement lot `lot`.
fn claim<V: LedgerView + ?Sized>(
    view: &V,
    lot: LotId,
    w: Wh,
    period: Option<(time::Timestamp, time::Timestamp)>,
) -> ClaimFacts {
    let mut facts = ClaimFacts {
        lot,
        wh: w,
        retirement: None,
        hourly_matched_wh: Wh(0),
        certificates: Vec::new(),
        unresolved: None,
    };
    let retirement = match custody::resolve(view, &lot) {
        Ok(l) => view.entry(&l.origin).map(|e| (l, e)),
        Err(custody::Unresolved::Missing(id)) => {
            facts.unresolved = Some(format!("entry {} is not at hand", id.fmt_short()));
            return facts;
        }
        Err(custody::Unresolved::NoSuchLot(why)) => {
            facts.unresolved = Some(why);
            return facts;
        }
    };
    let Some((l, re)) = retirement else {
        facts.unresolved = Some(format!("lot {} rests on an entry not at hand", lot.fmt_short()));
        return facts;
    };
    let Body::CertificateRetire(r) = &re.payload.body else {
        facts.unresolved = Some(format!(
            "lot {} is a {} lot, not a retirement",
            lot.fmt_short(),
            l.kind.as_str()
        ));
        return facts;
    };
    facts.retirement = Some(RetirementFacts {
        entry: re.id,
        retirer: re.payload.signer,
        retirer_name: name(view, &re.payload.signer),
        beneficiary: r.beneficiary.clone(),
        consumption_start: r.consumption_start.clone(),
        consumption_end: r.consumption_end.clone(),
        region: r.region.clone(),
        wh: Wh(l.amount),
    });
    // The retired Wh per certificate issue, in the order first drawn.
    let mut retired: Vec<(EntryId, i64)> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    for d in &r.from {
        match custody::resolve(view, &d.lot) {
            Ok(cl) => match retired.iter_mut().find(|(id, _)| *id == cl.origin) {
                Some((_, sum)) => *sum = sum.saturating_add(d.wh.0),
                None => retired.push((cl.origin, d.wh.0)),
            },
            Err(_) => missing.push(d.lot.fmt_short()),
        }
    }
    let total = l.amount;
    for (issue, d) in retired {
        let Some(ie) = view.entry(&issue) else {
            missing.push(issue.fmt_short());
            continue;
        };
        let Body::CertificateIssue(c) = &ie.payload.body else {
            missing.push(issue.fmt_short());
            continue;
        };
        let claimed = if total > 0 {
            (i128::from(w.0) * i128::from(d)).div_euclid(i128::from(total)) as i64
        } else {
            0
        };
        let (start, end) = (
            time::parse(&c.production_start).ok(),
            time::parse(&c.production_end).ok(),
        );
        let hourly =
            matches!((start, end), (Some(s), Some(e)) if e.secs - s.secs == 3_600 && s.nanos == 0 && e.nanos == 0);
        let inside = match (period, start, end) {
            (Some((p0, p1)), Some(s), Some(e)) => p0 <= s && e <= p1,
            _ => false,
        };
        let hourly_matched = hourly && inside;
        if hourly_matched {
            facts.hourly_matched_wh.0 = facts.hourly_matched_wh.0.saturating_add(claimed);
        }
        facts.certificates.push(CertificateFacts {
            issue,
            issuer: ie.payload.signer,
            issuer_name: name(view, &ie.payload.signer),
            scheme: c.scheme.clone(),
            serial: c.serial.clone(),
            device: c.device.clone(),
            technology: c.technology.clone(),
            region: c.region.clone(),
            production_start: c.production_start.clone(),
            production_end: c.production_end.clone(),
            wh: c.wh,
            retired_wh: Wh(d),
            claimed_wh: Wh(claimed),
            hourly,
            hourly_matched,
            double_issuance: view.conflict_of(&issue),
        });
    }
    if !missing.is_empty() {
        facts.unresolved = Some(format!(
            "the certificates behind {} are not at hand",
            missing.join(", ")
        ));
    }
    facts
}

/// The inputs of `entry` (an attestation, `a`) drawn from lots, each with the shipments
/// behind its lot.
pub fn batch_inputs<V: LedgerView + ?Sized>(view: &V, a: &Attestation) -> Vec<BatchInput> {
    a.inputs
        .iter()
        .filter_map(|i| {
            let lot = i.lot?;
            let input = view.entry(&i.entry);
            let ia = input.as_deref().and_then(Entry::attestation);
            let mut out = BatchInput {
                entry: i.entry,
                lot,
                drawn: a
                    .produced_quantity
                    .and_then(|q| custody::scaled_up(q.0, i.quantity.0))
                    .map(Quantity),
                unit: ia.map(|x| x.declared_unit_of_measurement),
                batch_quantity: ia.and_then(|x| x.produced_quantity),
                lot_quantity: None,
                holder: None,
                holder_name: None,
                shipments: Vec::new(),
                unresolved: None,
            };
            match custody::resolve(view, &lot) {
                Ok(l) => {
                    out.lot_quantity = Some(Quantity(l.amount));
                    out.holder = Some(l.holder);
                    out.holder_name = name(view, &l.holder);
                }
                Err(custody::Unresolved::Missing(id)) => {
                    out.unresolved = Some(format!("entry {} is not at hand", id.fmt_short()));
                }
                Err(custody::Unresolved::NoSuchLot(why)) => out.unresolved = Some(why),
            }
            if out.unresolved.is_none() {
                match shipments(view, lot) {
                    Ok(s) => out.shipments = s,
                    Err(why) => out.unresolved = Some(why),
                }
            }
            Some(out)
        })
        .collect()
}

/// The shipments from a batch to `lot`, first shipment first.
fn shipments<V: LedgerView + ?Sized>(view: &V, lot: LotId) -> Result<Vec<Shipment>, String> {
    let mut out = Vec::new();
    let mut at = lot;
    // Every step goes to an earlier entry; the bound only stops a view that lies.
    for _ in 0..1_000_000 {
        let e = view
            .entry(&at.entry)
            .ok_or_else(|| format!("entry {} is not at hand", at.entry.fmt_short()))?;
        let Body::BatchShip(s) = &e.payload.body else {
            out.reverse();
            return Ok(out); // the batch attestation itself
        };
        let signer = e.payload.signer;
        out.push(Shipment {
            entry: e.id,
            shipper: signer,
            shipper_name: name(view, &signer),
            from: s.from.iter().map(|d| d.lot).collect(),
            shipped: Quantity(s.to.iter().fold(0i64, |a, t| a.saturating_add(t.quantity.0))),
            to: s
                .to
                .iter()
                .enumerate()
                .map(|(i, t)| Recipient {
                    lot: LotId {
                        entry: e.id,
                        index: i as u32,
                    },
                    holder: t.holder,
                    holder_name: name(view, &t.holder),
                    quantity: t.quantity,
                })
                .collect(),
            followed: at.index,
        });
        at = s
            .from
            .first()
            .map(|d| d.lot)
            .ok_or_else(|| format!("shipment {} draws on no lot", e.id.fmt_short()))?;
    }
    Err("a chain of custody too long to follow".into())
}
