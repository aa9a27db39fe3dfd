//! What a key holds ([`custody::holder_lots`]) over a view of entries: a certificate issued,
//! transferred in part, retired in part; a batch shipped in part. What a draw leaves stays in
//! the drawn lot.

use greenledger_core::{
    PublicKey, Quantity, SetView,
    amount::Wh,
    custody,
    custody::{LotId, LotKind},
    engine,
    id::EntryId,
    kinds::{
        batch_ship::{BatchShip, QuantityDraw, QuantityTo},
        certificate::{CertificateIssue, CertificateRetire, CertificateTransfer, WhDraw, WhTo},
    },
    model::Attestation,
};
use greenledger_testkit::{Consortium, attestation};

const HOUR: (&str, &str) = ("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z");
const YEAR: (&str, &str) = ("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");

fn lot(entry: &EntryId, index: u32) -> LotId {
    LotId { entry: *entry, index }
}

fn certificate(
    serial: &str,
    device: &str,
    region: &str,
    (start, end): (&str, &str),
    wh: i64,
    holder: &PublicKey,
) -> CertificateIssue {
    CertificateIssue {
        scheme: "EU-GO".into(),
        serial: serial.into(),
        device: vec![device.into()],
        technology: "wind".into(),
        region: region.into(),
        production_start: start.into(),
        production_end: end.into(),
        wh: Wh(wh),
        holder: *holder,
    }
}

fn wh_draws(from: &[(LotId, i64)]) -> Vec<WhDraw> {
    from.iter().map(|(lot, wh)| WhDraw { lot: *lot, wh: Wh(*wh) }).collect()
}

fn transfer(from: &[(LotId, i64)], to: &[(PublicKey, i64)]) -> CertificateTransfer {
    CertificateTransfer {
        from: wh_draws(from),
        to: to
            .iter()
            .map(|(holder, wh)| WhTo {
                holder: *holder,
                wh: Wh(*wh),
            })
            .collect(),
    }
}

fn retirement(from: &[(LotId, i64)], beneficiary: &str, region: &str, (start, end): (&str, &str)) -> CertificateRetire {
    CertificateRetire {
        from: wh_draws(from),
        beneficiary: beneficiary.into(),
        consumption_start: start.into(),
        consumption_end: end.into(),
        region: region.into(),
    }
}

fn shipment(from: &[(LotId, i64)], to: &[(PublicKey, i64)]) -> BatchShip {
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

fn batch(part: &str, own_mg: i64, quantity: i64) -> Attestation {
    let mut a = attestation(part, own_mg, &[]);
    a.produced_quantity = Some(Quantity(quantity));
    a
}

fn all_lots(c: &Consortium) -> Vec<LotId> {
    c.entries
        .iter()
        .flat_map(|e| custody::lots_of(e.entry()))
        .map(|(id, _)| id)
        .collect()
}

#[test]
fn holder_lots_subtract_the_holders_draws() {
    let mut c = Consortium::new("custody");
    let mut issuer = c.member(2, "Grid Registry", greenledger_core::Role::Issuer);
    let mut maker = c.supplier(3, "Cell Maker");
    let buyer = c.supplier(4, "Pack Maker");
    let (me, them) = (maker.public(), buyer.public());

    let issue = c.sign(
        &mut issuer,
        certificate("GO-1", "eecs:wind-1", "DE", HOUR, 1_000_000, &me),
    );
    let t = c.sign(
        &mut maker,
        transfer(&[(lot(&issue.id(), 0), 400_000)], &[(them, 300_000), (me, 100_000)]),
    );
    let r = c.sign(
        &mut maker,
        retirement(&[(lot(&issue.id(), 0), 250_000)], "Cell Maker", "DE", YEAR),
    );
    let b = c.sign(&mut maker, batch("urn:greenledger:test:cells", 1_000_000, 10_000_000));
    let s = c.sign(
        &mut maker,
        shipment(&[(lot(&b.id(), 0), 4_000_000)], &[(them, 4_000_000)]),
    );
    let view = SetView::new(&c.genesis, &c.set, []);
    for e in &c.entries {
        assert!(
            engine::check(e.entry(), &view).is_valid(),
            "{:?}",
            engine::check(e.entry(), &view)
        );
    }

    let mine = custody::holder_lots(&view, &me, all_lots(&c));
    let got: Vec<(LotId, LotKind, i64, i64)> = mine.lots.iter().map(|l| (l.lot, l.kind, l.amount, l.left)).collect();
    assert_eq!(
        got,
        vec![
            (lot(&issue.id(), 0), LotKind::Certificate, 1_000_000, 350_000),
            (lot(&t.id(), 1), LotKind::Certificate, 100_000, 100_000),
            (lot(&r.id(), 0), LotKind::Retirement, 250_000, 250_000),
            (lot(&b.id(), 0), LotKind::Batch, 10_000_000, 6_000_000),
        ]
    );
    assert_eq!(
        mine.lots[1].origin,
        issue.id(),
        "a transferred lot carries its certificate"
    );
    assert!(mine.lots[0].summary.contains("GO-1"), "{}", mine.lots[0].summary);
    assert!(
        mine.lots[3].summary.contains("urn:greenledger:test:cells"),
        "{}",
        mine.lots[3].summary
    );

    let theirs = custody::holder_lots(&view, &them, all_lots(&c));
    let got: Vec<(LotId, i64)> = theirs.lots.iter().map(|l| (l.lot, l.left)).collect();
    assert_eq!(got, vec![(lot(&t.id(), 0), 300_000), (lot(&s.id(), 0), 4_000_000)]);
    assert_eq!(theirs.lots[1].origin, b.id(), "a shipment carries its batch");
}
