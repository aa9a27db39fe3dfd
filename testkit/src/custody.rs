//! Chain-of-custody bodies (DESIGN §3b): certificate issues, transfers and retirements,
//! shipments of batches, electricity claims, and the lots they name.
//!
//! Each builder fills the fields a test rarely cares about with fixed values (scheme `EECS-GO`,
//! technology `wind`, region `NO-NO1`); the bodies' fields are public, so a test changes what it
//! needs before signing.

use greenledger_core::{
    PublicKey,
    amount::{Quantity, Wh},
    custody::LotId,
    id::EntryId,
    kinds::{
        attestation::Claim,
        batch_ship::{BatchShip, QuantityDraw, QuantityTo},
        certificate::{CertificateIssue, CertificateRetire, CertificateTransfer, WhDraw, WhTo},
    },
};

/// Lot `index` of the entry `id` (`ID:INDEX`).
pub fn lot(id: EntryId, index: u32) -> LotId {
    LotId { entry: id, index }
}

/// A certificate of `wh` Wh produced by `device` from `start` to `end` (whole hours, UTC),
/// serial `serial`, first held by `holder`: scheme `EECS-GO`, technology `wind`, region
/// `NO-NO1`.
pub fn certificate(
    serial: &str,
    device: &str,
    (start, end): (&str, &str),
    wh: i64,
    holder: &PublicKey,
) -> CertificateIssue {
    CertificateIssue {
        scheme: "EECS-GO".into(),
        serial: serial.into(),
        device: vec![device.into()],
        technology: "wind".into(),
        region: "NO-NO1".into(),
        production_start: start.into(),
        production_end: end.into(),
        wh: Wh(wh),
        holder: *holder,
    }
}

/// A transfer drawing `from` (lot, Wh) and giving `to` (holder, Wh).
pub fn transfer(from: &[(LotId, i64)], to: &[(PublicKey, i64)]) -> CertificateTransfer {
    CertificateTransfer {
        from: from.iter().map(|(lot, wh)| WhDraw { lot: *lot, wh: Wh(*wh) }).collect(),
        to: to
            .iter()
            .map(|(holder, wh)| WhTo {
                holder: *holder,
                wh: Wh(*wh),
            })
            .collect(),
    }
}

/// A retirement of `from` (lot, Wh) for `beneficiary`, consumed from `start` to `end` in
/// `region`.
pub fn retirement(
    from: &[(LotId, i64)],
    beneficiary: &str,
    (start, end): (&str, &str),
    region: &str,
) -> CertificateRetire {
    CertificateRetire {
        from: from.iter().map(|(lot, wh)| WhDraw { lot: *lot, wh: Wh(*wh) }).collect(),
        beneficiary: beneficiary.into(),
        consumption_start: start.into(),
        consumption_end: end.into(),
        region: region.into(),
    }
}

/// A shipment drawing `from` (lot, millionths of the batch's unit) and shipping `to` (holder,
/// millionths).
pub fn shipment(from: &[(LotId, i64)], to: &[(PublicKey, i64)]) -> BatchShip {
    BatchShip {
        from: from
            .iter()
            .map(|(lot, q)| QuantityDraw {
                lot: *lot,
                quantity: Quantity(*q),
            })
            .collect(),
        to: to
            .iter()
            .map(|(holder, q)| QuantityTo {
                holder: *holder,
                quantity: Quantity(*q),
            })
            .collect(),
    }
}

/// An electricity claim of `wh` Wh on retirement lot `lot`.
pub fn claim(lot: LotId, wh: i64) -> Claim {
    Claim { lot, wh: Wh(wh) }
}
