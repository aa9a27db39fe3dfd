//! `batch.ship`: the holder of a batch lot ships portions of it to buyers (mass balance, ISO
//! 22095; DESIGN §3b, FORMAT.md §4.11).
//!
//! A shipment draws on lots of one batch (the batch attestation's own lot, `ID:0`, or lots of
//! earlier shipments of it) and creates a lot per recipient (`ID:0`, `ID:1`, … in order), each
//! carrying the batch's footprint. What it draws equals what it creates. A buyer's attestation
//! takes an input from a shipment lot it holds, drawing its own batch size × the input's
//! quantity per unit.

use serde::{Deserialize, Serialize};

use super::{
    EntryKind, Kind, Resolved,
    certificate::{MAX_LEGS, one_origin},
};
use crate::{
    amount::Quantity,
    custody::{Draw, LotId, LotKind, Origin, Output},
    engine::{KindError, LedgerView},
    entry::Entry,
    error::DecodeError,
    keys::PublicKey,
    model::Role,
};

/// One draw on a batch or shipment lot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QuantityDraw {
    /// The lot drawn on.
    pub lot: LotId,
    /// How much, in millionths of the batch's declared unit.
    pub quantity: Quantity,
}

/// One recipient of a shipment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QuantityTo {
    /// Who holds the new lot.
    pub holder: PublicKey,
    /// How much, in millionths of the batch's declared unit.
    pub quantity: Quantity,
}

/// Body of `batch.ship`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BatchShip {
    /// The lots drawn on (all of one batch).
    pub from: Vec<QuantityDraw>,
    /// The new lots, `ID:0`, `ID:1`, … in this order.
    pub to: Vec<QuantityTo>,
}

impl EntryKind for BatchShip {
    const KIND: Kind = Kind::BatchShip;
    const ROLES: &'static [Role] = &[Role::Supplier];

    fn check(&self) -> Result<(), DecodeError> {
        if self.from.is_empty() || self.from.len() > MAX_LEGS {
            return Err(DecodeError::Invalid {
                field: "from",
                why: format!("draw on 1 to {MAX_LEGS} lots"),
            });
        }
        if self.to.is_empty() || self.to.len() > MAX_LEGS {
            return Err(DecodeError::Invalid {
                field: "to",
                why: format!("ship to 1 to {MAX_LEGS} holders"),
            });
        }
        for (i, d) in self.from.iter().enumerate() {
            if d.quantity.0 <= 0 {
                return Err(DecodeError::Invalid {
                    field: "from",
                    why: format!("the quantity drawn on lot {} must be greater than 0", d.lot.fmt_short()),
                });
            }
            if self.from[..i].iter().any(|o| o.lot == d.lot) {
                return Err(DecodeError::Invalid {
                    field: "from",
                    why: format!(
                        "lot {} is drawn twice; draw it once with the summed quantity",
                        d.lot.fmt_short()
                    ),
                });
            }
        }
        if self.to.iter().any(|t| t.quantity.0 <= 0) {
            return Err(DecodeError::Invalid {
                field: "to",
                why: "every quantity shipped must be greater than 0".into(),
            });
        }
        let from = self.from.iter().try_fold(0i64, |a, d| a.checked_add(d.quantity.0));
        let to = self.to.iter().try_fold(0i64, |a, t| a.checked_add(t.quantity.0));
        if from.is_none() || from != to {
            return Err(DecodeError::Invalid {
                field: "to",
                why: format!(
                    "a shipment balances: it draws {} and ships {} (millionths of the unit)",
                    from.map_or("too much".into(), |v| v.to_string()),
                    to.map_or("too much".into(), |v| v.to_string())
                ),
            });
        }
        Ok(())
    }

    fn rules<V: LedgerView + ?Sized>(&self, _entry: &Entry, _deps: &[Resolved<'_>], view: &V) -> Vec<KindError> {
        one_origin(view, self.from.iter().map(|d| d.lot), "a shipment")
    }

    fn draws(&self, _entry: &Entry) -> Vec<Draw> {
        self.from
            .iter()
            .map(|d| Draw {
                lot: d.lot,
                amount: d.quantity.0,
                expects: LotKind::Batch,
            })
            .collect()
    }

    fn outputs(&self, _entry: &Entry) -> Vec<Output> {
        self.to
            .iter()
            .map(|t| Output {
                kind: LotKind::Batch,
                holder: t.holder,
                amount: t.quantity.0,
                origin: Origin::Drawn,
            })
            .collect()
    }

    fn summary(&self) -> String {
        let total: i64 = self.to.iter().map(|t| t.quantity.0).sum();
        format!(
            "ship {} units of a batch to {} holder(s)",
            Quantity(total).decimal_string(),
            self.to.len()
        )
    }
}
