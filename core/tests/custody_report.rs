//! The chain of custody in a bundle verification report (DESIGN §3b, FORMAT.md §9.1): the
//! electricity of each batch, its renewable and hourly-matched shares, the certificates behind
//! each claim and the shipments behind each batch input; and the custody rules failing a bundle
//! with the entry, the signer and the rule named.
//!
//! One story throughout: an issuer issues two hourly certificates of one wind farm to a smelter;
//! the smelter retires both, claims 800 of the 1,000 kWh for a 10 t batch of aluminium made
//! from 06:00 to 11:00, and ships 2.5 t of it to a foundry (and 7.5 t to a mill); the foundry's
//! castings take their aluminium from that shipment.

#![allow(clippy::unwrap_used)]

use greenledger_core::{
    amount::{Quantity, Share, Wh},
    custody_facts::Electricity,
    id::EntryId,
    model::{Role, Unit},
    verify::{Report, TreeNode},
};
use greenledger_testkit::{
    Chain, Consortium, attestation,
    custody::{certificate, claim, lot, retirement, shipment},
};

const H06: &str = "2026-03-01T06:00:00Z";
const H10: &str = "2026-03-01T10:00:00Z";
const H11: &str = "2026-03-01T11:00:00Z";
const H12: &str = "2026-03-01T12:00:00Z";
const DAY: (&str, &str) = ("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z");
const WIND: &str = "eecs:NO-WIND-0001";

/// Millionths of a unit.
const fn units(n: i64) -> i64 {
    n * 1_000_000
}

struct Story {
    c: Consortium,
    smelter: Chain,
    foundry: Chain,
    mill: Chain,
    cert_a: EntryId,
    cert_b: EntryId,
    retired: EntryId,
    batch: EntryId,
    ship: EntryId,
}

impl Story {
    fn new() -> Story {
        let mut c = Consortium::new("custody");
        let mut issuer = c.member(10, "Statnett GO", Role::Issuer);
        let mut smelter = c.supplier(11, "Smelter");
        let foundry = c.supplier(12, "Foundry");
        let mill = c.supplier(13, "Mill");
        let s = smelter.public();
        let cert_a = c
            .sign(&mut issuer, certificate("NO-GO-1001", WIND, (H10, H11), 600_000, &s))
            .id();
        let cert_b = c
            .sign(&mut issuer, certificate("NO-GO-1002", WIND, (H11, H12), 400_000, &s))
            .id();
        let retired = c
            .sign(
                &mut smelter,
                retirement(
                    &[(lot(cert_a, 0), 600_000), (lot(cert_b, 0), 400_000)],
                    "Smelter",
                    DAY,
                    "NO",
                ),
            )
            .id();
        // 10 t at 0.125 kWh/kg: 1,250 kWh, of which 800 kWh claimed.
        let batch = c
            .sign(&mut smelter, aluminium("urn:greenledger:test:al:1", retired, 800_000))
            .id();
        let ship = c
            .sign(
                &mut smelter,
                shipment(
                    &[(lot(batch, 0), units(10_000))],
                    &[(foundry.public(), units(2_500)), (mill.public(), units(7_500))],
                ),
            )
            .id();
        Story {
            c,
            smelter,
            foundry,
            mill,
            cert_a,
            cert_b,
            retired,
            batch,
            ship,
        }
    }

    /// The foundry's 1,000 castings of 2 kg each, the aluminium taken from `from`; 0.5 kWh
    /// per casting, none claimed.
    fn castings(&mut self, from: EntryId) -> EntryId {
        let batch = self.c.set.entry(&self.batch).unwrap().clone();
        let mut a = attestation("urn:greenledger:test:casting:1", 1_000_000, &[(&batch, units(2))]);
        a.declared_unit_of_measurement = Unit::Piece;
        a.produced_quantity = Some(Quantity(units(1_000)));
        a.electricity_kwh = Some(Quantity(500_000));
        a.inputs[0].lot = Some(lot(from, 0));
        self.c.sign(&mut self.foundry, a).id()
    }
}

/// A 10 t batch of aluminium (kg) made from 06:00 to 11:00 in Norway, 0.125 kWh per kg,
/// claiming `wh` from retirement `retired`.
fn aluminium(part: &str, retired: EntryId, wh: i64) -> greenledger_core::model::Attestation {
    let mut a = attestation(part, 8_000_000, &[]);
    a.produced_quantity = Some(Quantity(units(10_000)));
    a.electricity_kwh = Some(Quantity(125_000));
    a.electricity_claims = vec![claim(lot(retired, 0), wh)];
    a.geography_country = Some("NO".into());
    a.reference_period_start = Some(H06.into());
    a.reference_period_end = Some(H11.into());
    a
}

fn problems(r: &Report) -> String {
    r.reasons.iter().map(|x| format!("\n  {x:?}")).collect()
}

fn child(n: &TreeNode, id: EntryId) -> &TreeNode {
    n.inputs.iter().find(|c| c.id == id).unwrap()
}

#[test]
fn the_report_shows_shares_certificates_and_shipments() {
    let mut s = Story::new();
    let castings = s.castings(s.ship);
    let r = s.c.verify(castings);
    assert!(r.valid, "{}", problems(&r));
    let root = r.tree.as_ref().unwrap();

    // The castings: 1,000 × 0.5 kWh, nothing claimed.
    let e = root.electricity.as_ref().unwrap();
    assert_eq!(e.wh, Some(Wh(500_000)));
    assert_eq!((e.claimed_wh, e.renewable_share), (Wh(0), Some(Share(0))));
    assert_eq!((e.hourly_matched_wh, e.hourly_matched_share), (Wh(0), Some(Share(0))));
    assert!(e.claims.is_empty());

    // Their aluminium: 2 kg × 1,000 drawn on the foundry's 2.5 t of the 10 t batch.
    assert_eq!(root.batch_inputs.len(), 1);
    let bi = &root.batch_inputs[0];
    assert_eq!((bi.entry, bi.lot), (s.batch, lot(s.ship, 0)));
    assert_eq!(bi.drawn, Some(Quantity(units(2_000))));
    assert_eq!(bi.unit, Some(Unit::Kilogram));
    assert_eq!(bi.batch_quantity, Some(Quantity(units(10_000))));
    assert_eq!(bi.lot_quantity, Some(Quantity(units(2_500))));
    assert_eq!(bi.holder, Some(s.foundry.public()));
    assert_eq!(bi.holder_name.as_deref(), Some("Foundry"));
    assert_eq!(bi.unresolved, None);
    assert_eq!(bi.shipments.len(), 1);
    let sh = &bi.shipments[0];
    assert_eq!((sh.entry, sh.shipper), (s.ship, s.smelter.public()));
    assert_eq!(sh.shipper_name.as_deref(), Some("Smelter"));
    assert_eq!(sh.from, vec![lot(s.batch, 0)]);
    assert_eq!(sh.shipped, Quantity(units(10_000)));
    assert_eq!(sh.followed, 0);
    let to: Vec<(_, _, _, _)> = sh
        .to
        .iter()
        .map(|t| (t.lot, t.holder, t.holder_name.as_deref(), t.quantity))
        .collect();
    assert_eq!(
        to,
        vec![
            (
                lot(s.ship, 0),
                s.foundry.public(),
                Some("Foundry"),
                Quantity(units(2_500))
            ),
            (lot(s.ship, 1), s.mill.public(), Some("Mill"), Quantity(units(7_500))),
        ]
    );

    // The batch: 1,250 kWh; 800 kWh claimed (64%), resting 480 kWh on the 10:00 certificate
    // (inside 06:00–11:00: hourly-matched, 38.4%) and 320 kWh on the 11:00 one (outside).
    let al = child(root, s.batch);
    assert!(al.batch_inputs.is_empty());
    let e: &Electricity = al.electricity.as_ref().unwrap();
    assert_eq!(e.wh, Some(Wh(1_250_000)));
    assert_eq!((e.claimed_wh, e.renewable_share), (Wh(800_000), Some(Share(6_400))));
    assert_eq!(
        (e.hourly_matched_wh, e.hourly_matched_share),
        (Wh(480_000), Some(Share(3_840)))
    );
    assert_eq!(e.claims.len(), 1);
    let cl = &e.claims[0];
    assert_eq!(
        (cl.lot, cl.wh, cl.hourly_matched_wh),
        (lot(s.retired, 0), Wh(800_000), Wh(480_000))
    );
    assert_eq!(cl.unresolved, None);
    let rt = cl.retirement.as_ref().unwrap();
    assert_eq!((rt.entry, rt.wh), (s.retired, Wh(1_000_000)));
    assert_eq!(rt.retirer_name.as_deref(), Some("Smelter"));
    assert_eq!((rt.beneficiary.as_str(), rt.region.as_str()), ("Smelter", "NO"));
    let certs: Vec<_> = cl
        .certificates
        .iter()
        .map(|c| {
            (
                c.issue,
                c.serial.as_str(),
                c.production_start.as_str(),
                c.wh,
                c.retired_wh,
                c.claimed_wh,
                c.hourly,
                c.hourly_matched,
            )
        })
        .collect();
    assert_eq!(
        certs,
        vec![
            (
                s.cert_a,
                "NO-GO-1001",
                H10,
                Wh(600_000),
                Wh(600_000),
                Wh(480_000),
                true,
                true
            ),
            (
                s.cert_b,
                "NO-GO-1002",
                H11,
                Wh(400_000),
                Wh(400_000),
                Wh(320_000),
                true,
                false
            ),
        ]
    );
    let a = &cl.certificates[0];
    assert_eq!(a.issuer_name.as_deref(), Some("Statnett GO"));
    assert_eq!(
        (a.scheme.as_str(), a.technology.as_str(), a.region.as_str()),
        ("EECS-GO", "wind", "NO-NO1")
    );
    assert_eq!(a.device, vec![WIND.to_string()]);
    assert_eq!(a.double_issuance, None);

    // `verify --json` carries the same facts.
    let j = serde_json::to_value(&r).unwrap();
    let al = &j["tree"]["inputs"][0];
    assert_eq!(al["electricity"]["wh"], "1250000");
    assert_eq!(al["electricity"]["renewable_share"], 6400);
    assert_eq!(al["electricity"]["hourly_matched_share"], 3840);
    assert_eq!(
        al["electricity"]["claims"][0]["certificates"][1]["claimed_wh"],
        "320000"
    );
    assert_eq!(
        al["electricity"]["claims"][0]["certificates"][1]["hourly_matched"],
        false
    );
    let bi = &j["tree"]["batch_inputs"][0];
    assert_eq!(bi["lot"], format!("{}:0", s.ship));
    assert_eq!(bi["shipments"][0]["shipper_name"], "Smelter");
    assert_eq!(bi["shipments"][0]["to"][1]["quantity"], "7500000000");
}

#[test]
fn a_retirement_of_part_of_a_certificate_apportions_by_the_retired_wh() {
    // Retire 300 of certificate A's 600 kWh and all of B's 400: a claim of 700 kWh rests 300
    // on A and 400 on B; a claim of 350 kWh rests ⌊350 × 300 / 700⌋ = 150 on A, 200 on B.
    let mut c = Consortium::new("custody");
    let mut issuer = c.member(10, "Statnett GO", Role::Issuer);
    let mut smelter = c.supplier(11, "Smelter");
    let me = smelter.public();
    let a = c
        .sign(&mut issuer, certificate("A", WIND, (H10, H11), 600_000, &me))
        .id();
    let b = c
        .sign(&mut issuer, certificate("B", WIND, (H11, H12), 400_000, &me))
        .id();
    let r = c
        .sign(
            &mut smelter,
            retirement(&[(lot(a, 0), 300_000), (lot(b, 0), 400_000)], "Smelter", DAY, "NO"),
        )
        .id();
    let mut al = aluminium("urn:greenledger:test:al:2", r, 350_001);
    al.reference_period_end = Some(H12.into());
    let batch = c.sign(&mut smelter, al).id();
    let rep = c.verify(batch);
    assert!(rep.valid, "{}", problems(&rep));
    let e = rep.tree.unwrap().electricity.unwrap();
    let cl = &e.claims[0];
    // ⌊350001 × 300000 / 700000⌋ = 150000; ⌊350001 × 400000 / 700000⌋ = 200000 (rounded down).
    let shares: Vec<(Wh, Wh)> = cl.certificates.iter().map(|c| (c.retired_wh, c.claimed_wh)).collect();
    assert_eq!(shares, vec![(Wh(300_000), Wh(150_000)), (Wh(400_000), Wh(200_000))]);
    // Both hours lie inside 06:00–12:00.
    assert_eq!(cl.hourly_matched_wh, Wh(350_000));
    assert_eq!(e.claimed_wh, Wh(350_001));
    // 350001 / 1250000 = 28.00008% → 2800 bp; 350000 / 1250000 = 28% exactly.
    assert_eq!(
        (e.renewable_share, e.hourly_matched_share),
        (Some(Share(2_800)), Some(Share(2_800)))
    );
}

#[test]
fn a_trader_in_the_middle_is_a_second_shipment() {
    let mut s = Story::new();
    let mut trader = s.c.supplier(14, "Trader");
    // The foundry holds ship:0, not the smelter: the smelter cannot ship it on.
    let first = s.c.sign(
        &mut s.smelter,
        shipment(&[(lot(s.ship, 0), units(1))], &[(trader.public(), units(1))]),
    );
    let bad = s.c.verify(first.id());
    assert!(!bad.valid);
    assert!(
        bad.reasons
            .iter()
            .any(|r| r.code == Some("not_holder") && r.entry == Some(first.id())),
        "{}",
        problems(&bad)
    );
    // From what is left of the batch's own lot (10 t − 10 t shipped = nothing): overdrawn.
    let over = s.c.sign(
        &mut s.smelter,
        shipment(&[(lot(s.batch, 0), units(1))], &[(trader.public(), units(1))]),
    );
    let bad = s.c.verify(over.id());
    assert!(
        bad.reasons
            .iter()
            .any(|r| r.code == Some("overdrawn") && r.entry == Some(over.id())),
        "{}",
        problems(&bad)
    );
    // The foundry sells 2 t of its lot on to the trader, who ships it to the mill; the mill's
    // bars take it from the trader's shipment.
    let f_ship = s.c.sign(
        &mut s.foundry,
        shipment(&[(lot(s.ship, 0), units(2_000))], &[(trader.public(), units(2_000))]),
    );
    let t_ship = s.c.sign(
        &mut trader,
        shipment(
            &[(lot(f_ship.id(), 0), units(2_000))],
            &[(s.mill.public(), units(2_000))],
        ),
    );
    let batch = s.c.set.entry(&s.batch).unwrap().clone();
    let mut bars = attestation("urn:greenledger:test:bar:1", 500_000, &[(&batch, units(1))]);
    bars.produced_quantity = Some(Quantity(units(2_000)));
    bars.inputs[0].lot = Some(lot(t_ship.id(), 0));
    let bars = s.c.sign(&mut s.mill, bars).id();
    let r = s.c.verify(bars);
    assert!(r.valid, "{}", problems(&r));
    let bi = &r.tree.as_ref().unwrap().batch_inputs[0];
    let hops: Vec<(EntryId, Option<&str>, Quantity, u32)> = bi
        .shipments
        .iter()
        .map(|h| (h.entry, h.shipper_name.as_deref(), h.shipped, h.followed))
        .collect();
    assert_eq!(
        hops,
        vec![
            (s.ship, Some("Smelter"), Quantity(units(10_000)), 0),
            (f_ship.id(), Some("Foundry"), Quantity(units(2_000)), 0),
            (t_ship.id(), Some("Trader"), Quantity(units(2_000)), 0),
        ]
    );
    assert_eq!(bi.holder_name.as_deref(), Some("Mill"));
    assert_eq!(
        (bi.drawn, bi.lot_quantity),
        (Some(Quantity(units(2_000))), Some(Quantity(units(2_000))))
    );
}

#[test]
fn a_double_issuance_fails_what_rests_on_it_naming_both_issues() {
    let mut s = Story::new();
    let castings = s.castings(s.ship);
    assert!(s.c.verify(castings).valid);
    // Another registry issues the 10:00 hour of the same wind farm again, under its own id for
    // the device besides the EECS one.
    let mut irec = s.c.member(20, "I-REC Registry", Role::Issuer);
    let mut again = certificate("IREC-77", WIND, (H10, H11), 600_000, &s.mill.public());
    again.scheme = "I-REC".into();
    again.device = vec!["irec:NOWIND01".into(), WIND.into()];
    let twice = s.c.sign(&mut irec, again).id();

    let r = s.c.verify(castings);
    assert!(!r.valid);
    let custody: Vec<_> = r.reasons.iter().filter(|x| x.code == Some("double_issuance")).collect();
    for x in &custody {
        assert_eq!((x.step, x.check), (9, "custody"));
    }
    // Each issue is valid on its own: what fails is every draw resting on either, naming both.
    let names_both = |entry: EntryId| {
        custody.iter().any(|x| {
            x.entry == Some(entry)
                && x.message.contains(&s.cert_a.fmt_short())
                && x.message.contains(&twice.fmt_short())
        })
    };
    assert!(names_both(s.retired), "{}", problems(&r));
    assert!(
        !custody
            .iter()
            .any(|x| x.entry == Some(s.cert_a) || x.entry == Some(twice)),
        "{}",
        problems(&r)
    );
    // And what rests on the certificate: the retirement and the claiming batch.
    assert!(custody.iter().any(|x| x.entry == Some(s.retired)), "{}", problems(&r));
    assert!(custody.iter().any(|x| x.entry == Some(s.batch)), "{}", problems(&r));
    // The 11:00 certificate is not issued twice; the castings themselves claim nothing.
    assert!(
        !custody
            .iter()
            .any(|x| x.entry == Some(s.cert_b) || x.entry == Some(castings))
    );
    // The tree shows the conflict on the certificate.
    let al = child(r.tree.as_ref().unwrap(), s.batch);
    let certs = &al.electricity.as_ref().unwrap().claims[0].certificates;
    assert_eq!(certs[0].double_issuance, Some(twice));
    assert_eq!(certs[1].double_issuance, None);
}

#[test]
fn a_claim_beyond_the_retirement_fails_naming_the_rule() {
    let mut s = Story::new();
    // 800 of the 1,000 kWh are claimed; a second batch claims 200 (all that is left) ...
    let ok =
        s.c.sign(
            &mut s.smelter,
            aluminium("urn:greenledger:test:al:3", s.retired, 200_000),
        )
        .id();
    let r = s.c.verify(ok);
    assert!(r.valid, "{}", problems(&r));
    // ... so a third that claims 1 Wh more overdraws the retirement.
    let over =
        s.c.sign(&mut s.smelter, aluminium("urn:greenledger:test:al:4", s.retired, 1))
            .id();
    let r = s.c.verify(over);
    assert!(!r.valid);
    assert_eq!(r.reasons.len(), 1, "{}", problems(&r));
    let x = &r.reasons[0];
    assert_eq!((x.step, x.check, x.code), (9, "custody", Some("overdrawn")));
    assert_eq!((x.entry, x.signer), (Some(over), Some(s.smelter.public())));
    assert_eq!(x.signer_name.as_deref(), Some("Smelter"));
    assert!(
        x.message.contains(&format!(
            "overdraws lot {} (a retirement lot of 1000000 Wh): 1000000 already drawn by the holder's earlier entries, 1 more wanted",
            lot(s.retired, 0).fmt_short()
        )),
        "{}",
        x.message
    );
    let step = r.steps.iter().find(|st| st.step == 9).unwrap();
    assert_eq!((step.ok, step.problems), (false, 1));
    // The report still shows the claim's figures.
    let e = r.tree.unwrap().electricity.unwrap();
    assert_eq!((e.claimed_wh, e.renewable_share), (Wh(1), Some(Share(0))));
}
