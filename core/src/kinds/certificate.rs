//! Green-electricity certificates (book and claim): `certificate.issue`,
//! `certificate.transfer` and `certificate.retire` (DESIGN §3b, FORMAT.md §4.8–§4.10).
//!
//! * An **issue**, signed by an `issuer`, certifies that a device produced so many Wh in a
//!   period, and creates one certificate lot (`ID:0`) held by the first holder. Two issues with
//!   a device id in common and overlapping production periods are a **double issuance**: a
//!   conflict, proven by the two entries, that every draw resting on either fails.
//! * A **transfer**, signed by the holder, draws on certificate lots of one issue and creates a
//!   lot per recipient (`ID:0`, `ID:1`, … in order); what it draws equals what it creates.
//! * A **retirement**, signed by the holder, draws on certificate lots and creates one
//!   retirement lot (`ID:0`) held by the retirer, for a beneficiary, a consumption period and a
//!   market region; every certificate must be of that region and of the consumption period's
//!   calendar year. Attestations of the retirer claim Wh from it.

use serde::{Deserialize, Serialize};

use super::{EntryKind, IndexRow, Kind, Resolved};
use crate::{
    amount::Wh,
    custody::{self, Draw, LotId, LotKind, Origin, Output},
    engine::{KindError, LedgerView},
    entry::Entry,
    error::DecodeError,
    keys::PublicKey,
    model::{Role, check_text, check_timestamp},
    time,
};

/// Most device ids one certificate names (one device, several schemes' ids).
pub const MAX_DEVICE_IDS: usize = 16;
/// Most draws or recipients of one entry.
pub const MAX_LEGS: usize = 1_000;

/// Body of `certificate.issue`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CertificateIssue {
    /// The certificate scheme (`EU-GO`, `I-REC`, `GEC`, `EnergyTag`, …).
    pub scheme: String,
    /// The scheme's own serial number of the certificate.
    pub serial: String,
    /// The generating device's ids, each qualified by its scheme (`eecs:…`, `irec:…`);
    /// compared as given.
    pub device: Vec<String>,
    /// The technology (`wind`, `solar`, `hydro`, …).
    pub technology: String,
    /// The market region: an ISO 3166-1 alpha-2 code, optionally `-` and a grid zone.
    pub region: String,
    /// Start of the production period (a whole hour, UTC).
    pub production_start: String,
    /// End of the production period (a whole hour, UTC; an hour to a year after the start).
    pub production_end: String,
    /// The electricity certified.
    pub wh: Wh,
    /// Who holds it first.
    pub holder: PublicKey,
}

/// One draw on a certificate or batch lot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WhDraw {
    /// The lot drawn on.
    pub lot: LotId,
    /// How much.
    pub wh: Wh,
}

/// One recipient of a transfer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WhTo {
    /// Who holds the new lot.
    pub holder: PublicKey,
    /// How much.
    pub wh: Wh,
}

/// Body of `certificate.transfer`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CertificateTransfer {
    /// The lots drawn on (all of one certificate).
    pub from: Vec<WhDraw>,
    /// The new lots, `ID:0`, `ID:1`, … in this order.
    pub to: Vec<WhTo>,
}

/// Body of `certificate.retire`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CertificateRetire {
    /// The certificate lots retired.
    pub from: Vec<WhDraw>,
    /// The organisation the electricity is retired for (its admitted name).
    pub beneficiary: String,
    /// Start of the consumption period.
    pub consumption_start: String,
    /// End of the consumption period.
    pub consumption_end: String,
    /// The market region of the consumption.
    pub region: String,
}

/// Checks a market region: `CC` or `CC-ZONE` (ISO 3166-1 alpha-2, then a grid zone of ASCII
/// letters, digits and `_`, at most 32).
pub fn check_region(field: &'static str, r: &str) -> Result<(), DecodeError> {
    let (cc, zone) = match r.split_once('-') {
        Some((cc, z)) => (cc, Some(z)),
        None => (r, None),
    };
    let cc_ok = cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_uppercase());
    let zone_ok =
        zone.is_none_or(|z| (1..=32).contains(&z.len()) && z.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    if cc_ok && zone_ok {
        Ok(())
    } else {
        Err(DecodeError::Invalid {
            field,
            why: format!("{r:?} is not a market region: an ISO 3166-1 alpha-2 code (DE), optionally -ZONE (DE-50HZ)"),
        })
    }
}

/// Whether two market regions are the same market: the same country, and the same zone where
/// both name one.
pub fn same_market(a: &str, b: &str) -> bool {
    let split = |r: &str| match r.split_once('-') {
        Some((cc, z)) => (cc.to_string(), Some(z.to_string())),
        None => (r.to_string(), None),
    };
    let ((ca, za), (cb, zb)) = (split(a), split(b));
    ca == cb && (za.is_none() || zb.is_none() || za == zb)
}

fn nonempty(field: &'static str, s: &str, max: usize) -> Result<(), DecodeError> {
    check_text(field, s, max)?;
    if s.trim().is_empty() {
        return Err(DecodeError::Invalid {
            field,
            why: "must not be empty".into(),
        });
    }
    Ok(())
}

/// `start` < `end`, both timestamps; returns them.
fn period(
    fs: &'static str,
    start: &str,
    fe: &'static str,
    end: &str,
) -> Result<(time::Timestamp, time::Timestamp), DecodeError> {
    check_timestamp(fs, start)?;
    check_timestamp(fe, end)?;
    let (a, b) = (time::parse(start), time::parse(end));
    match (a, b) {
        (Ok(a), Ok(b)) if a < b => Ok((a, b)),
        _ => Err(DecodeError::Invalid {
            field: fe,
            why: "the period must end after it starts".into(),
        }),
    }
}

fn check_draws(draws: &[WhDraw]) -> Result<(), DecodeError> {
    if draws.is_empty() || draws.len() > MAX_LEGS {
        return Err(DecodeError::Invalid {
            field: "from",
            why: format!("draw on 1 to {MAX_LEGS} lots"),
        });
    }
    for (i, d) in draws.iter().enumerate() {
        if d.wh.0 <= 0 {
            return Err(DecodeError::Invalid {
                field: "from",
                why: format!("the amount drawn on lot {} must be greater than 0", d.lot.fmt_short()),
            });
        }
        if draws[..i].iter().any(|o| o.lot == d.lot) {
            return Err(DecodeError::Invalid {
                field: "from",
                why: format!(
                    "lot {} is drawn twice; draw it once with the summed amount",
                    d.lot.fmt_short()
                ),
            });
        }
    }
    Ok(())
}

fn sum(mut amounts: impl Iterator<Item = i64>) -> Option<i64> {
    amounts.try_fold(0i64, |a, b| a.checked_add(b))
}

fn is_whole_hour(t: &str) -> bool {
    // YYYY-MM-DDThh:00:00 then Z or +00:00, no fraction.
    t.get(13..19) == Some(":00:00") && matches!(&t[19..], "Z" | "+00:00")
}

impl EntryKind for CertificateIssue {
    const KIND: Kind = Kind::CertificateIssue;
    const ROLES: &'static [Role] = &[Role::Issuer];

    fn check(&self) -> Result<(), DecodeError> {
        nonempty("scheme", &self.scheme, 100)?;
        nonempty("serial", &self.serial, 200)?;
        nonempty("technology", &self.technology, 100)?;
        if self.device.is_empty() || self.device.len() > MAX_DEVICE_IDS {
            return Err(DecodeError::Invalid {
                field: "device",
                why: format!("name the device by 1 to {MAX_DEVICE_IDS} ids"),
            });
        }
        for (i, d) in self.device.iter().enumerate() {
            nonempty("device", d, 200)?;
            if d.chars().any(char::is_control) {
                return Err(DecodeError::Invalid {
                    field: "device",
                    why: format!("device id {d:?} holds a control character"),
                });
            }
            if self.device[..i].contains(d) {
                return Err(DecodeError::Invalid {
                    field: "device",
                    why: format!("device id {d:?} is listed twice"),
                });
            }
        }
        check_region("region", &self.region)?;
        let (a, b) = period(
            "productionStart",
            &self.production_start,
            "productionEnd",
            &self.production_end,
        )?;
        if !is_whole_hour(&self.production_start) || !is_whole_hour(&self.production_end) {
            return Err(DecodeError::Invalid {
                field: "productionStart",
                why: "a production period starts and ends on whole hours (…T13:00:00Z)".into(),
            });
        }
        if b.secs - a.secs > 366 * 86_400 {
            return Err(DecodeError::Invalid {
                field: "productionEnd",
                why: "a production period is an hour up to a year".into(),
            });
        }
        if self.wh.0 <= 0 {
            return Err(DecodeError::Invalid {
                field: "wh",
                why: "must be greater than 0".into(),
            });
        }
        Ok(())
    }

    fn outputs(&self, _entry: &Entry) -> Vec<Output> {
        vec![Output {
            kind: LotKind::Certificate,
            holder: self.holder,
            amount: self.wh.0,
            origin: Origin::Itself,
        }]
    }

    fn index_rows(&self, rows: &mut Vec<IndexRow>) {
        rows.extend(self.device.iter().map(|d| IndexRow::Device(d.clone())));
    }

    fn summary(&self) -> String {
        format!(
            "issue {} {} ({}, {} in {}, {} to {}) to {}",
            self.scheme,
            self.serial,
            self.technology,
            self.wh,
            self.region,
            self.production_start,
            self.production_end,
            self.holder.fmt_short()
        )
    }
}

impl EntryKind for CertificateTransfer {
    const KIND: Kind = Kind::CertificateTransfer;
    const ROLES: &'static [Role] = &[Role::Supplier, Role::Issuer, Role::Admin];

    fn check(&self) -> Result<(), DecodeError> {
        check_draws(&self.from)?;
        if self.to.is_empty() || self.to.len() > MAX_LEGS {
            return Err(DecodeError::Invalid {
                field: "to",
                why: format!("transfer to 1 to {MAX_LEGS} holders"),
            });
        }
        if self.to.iter().any(|t| t.wh.0 <= 0) {
            return Err(DecodeError::Invalid {
                field: "to",
                why: "every amount transferred must be greater than 0".into(),
            });
        }
        let (from, to) = (
            sum(self.from.iter().map(|d| d.wh.0)),
            sum(self.to.iter().map(|t| t.wh.0)),
        );
        if from.is_none() || from != to {
            return Err(DecodeError::Invalid {
                field: "to",
                why: format!(
                    "a transfer balances: it draws {} Wh and gives {} Wh",
                    from.map_or("too many".into(), |v| v.to_string()),
                    to.map_or("too many".into(), |v| v.to_string())
                ),
            });
        }
        Ok(())
    }

    fn rules<V: LedgerView + ?Sized>(&self, _entry: &Entry, _deps: &[Resolved<'_>], view: &V) -> Vec<KindError> {
        one_origin(view, self.from.iter().map(|d| d.lot), "a transfer")
    }

    fn draws(&self, _entry: &Entry) -> Vec<Draw> {
        certificate_draws(&self.from)
    }

    fn outputs(&self, _entry: &Entry) -> Vec<Output> {
        self.to
            .iter()
            .map(|t| Output {
                kind: LotKind::Certificate,
                holder: t.holder,
                amount: t.wh.0,
                origin: Origin::Drawn,
            })
            .collect()
    }

    fn summary(&self) -> String {
        let total: i64 = self.to.iter().map(|t| t.wh.0).sum();
        format!("transfer {total} Wh of certificates to {} holder(s)", self.to.len())
    }
}

/// Lots of one transfer or shipment must share one origin (one certificate, one batch), so
/// the new lots carry its facts.
/// The draws of a transfer's or a retirement's `from` list: each on a certificate lot.
fn certificate_draws(from: &[WhDraw]) -> Vec<Draw> {
    from.iter()
        .map(|d| Draw {
            lot: d.lot,
            amount: d.wh.0,
            expects: LotKind::Certificate,
        })
        .collect()
}

pub(crate) fn one_origin<V: LedgerView + ?Sized>(
    view: &V,
    lots: impl Iterator<Item = LotId>,
    what: &str,
) -> Vec<KindError> {
    let mut first: Option<(LotId, crate::id::EntryId)> = None;
    for lot in lots {
        let Ok(l) = custody::resolve(view, &lot) else {
            continue; // reported by the custody step
        };
        match first {
            None => first = Some((lot, l.origin)),
            Some((f, o)) if o != l.origin => {
                return vec![KindError::MixedOrigins(format!(
                    "{what} draws on lots of different origins ({} rests on {}, {} on {}); draw on one certificate or batch per entry",
                    f.fmt_short(),
                    o.fmt_short(),
                    lot.fmt_short(),
                    l.origin.fmt_short()
                ))];
            }
            Some(_) => {}
        }
    }
    Vec::new()
}

impl EntryKind for CertificateRetire {
    const KIND: Kind = Kind::CertificateRetire;
    const ROLES: &'static [Role] = &[Role::Supplier, Role::Issuer, Role::Admin];

    fn check(&self) -> Result<(), DecodeError> {
        check_draws(&self.from)?;
        nonempty("beneficiary", &self.beneficiary, 200)?;
        period(
            "consumptionStart",
            &self.consumption_start,
            "consumptionEnd",
            &self.consumption_end,
        )?;
        check_region("region", &self.region)?;
        if sum(self.from.iter().map(|d| d.wh.0)).is_none() {
            return Err(DecodeError::Invalid {
                field: "from",
                why: "the amounts drawn add up to more than a 64-bit integer".into(),
            });
        }
        Ok(())
    }

    /// Every certificate retired is of the retirement's market and of its consumption
    /// period's calendar year (its production period starts in that year).
    fn rules<V: LedgerView + ?Sized>(&self, _entry: &Entry, _deps: &[Resolved<'_>], view: &V) -> Vec<KindError> {
        let mut problems = Vec::new();
        let year = |t: &str| t.get(..4).map(str::to_string);
        for d in &self.from {
            let Ok(lot) = custody::resolve(view, &d.lot) else {
                continue;
            };
            let Some(issue) = view.entry(&lot.origin) else { continue };
            let crate::model::Body::CertificateIssue(c) = &issue.payload.body else {
                continue;
            };
            if !same_market(&c.region, &self.region) {
                problems.push(KindError::RegionMismatch(format!(
                    "certificate {} {} ({}) was produced in market {}, not in {}, the market it is retired for",
                    c.scheme,
                    c.serial,
                    d.lot.fmt_short(),
                    c.region,
                    self.region
                )));
            }
            if year(&c.production_start) != year(&self.consumption_start) {
                problems.push(KindError::VintageMismatch(format!(
                    "certificate {} {} ({}) was produced from {}, not in {}, the calendar year of the consumption it is retired for",
                    c.scheme,
                    c.serial,
                    d.lot.fmt_short(),
                    c.production_start,
                    year(&self.consumption_start).unwrap_or_default()
                )));
            }
        }
        problems
    }

    fn draws(&self, _entry: &Entry) -> Vec<Draw> {
        certificate_draws(&self.from)
    }

    fn outputs(&self, entry: &Entry) -> Vec<Output> {
        vec![Output {
            kind: LotKind::Retirement,
            holder: entry.payload.signer,
            amount: sum(self.from.iter().map(|d| d.wh.0)).unwrap_or(0),
            origin: Origin::Itself,
        }]
    }

    fn summary(&self) -> String {
        let total: i64 = self.from.iter().map(|d| d.wh.0).sum();
        format!(
            "retire {total} Wh for {} ({} to {}, {})",
            self.beneficiary, self.consumption_start, self.consumption_end, self.region
        )
    }
}
