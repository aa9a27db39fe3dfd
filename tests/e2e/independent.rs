//! The independent bundle verifier (`tests/independent/verify_bundle.py`, written from
//! docs/FORMAT.md alone, in plain Python) against core's `verify_bundle`: custody bundles built
//! with the testkit must get the same verdict from both, and failures the same custody rule
//! codes (step 9).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::BTreeSet, path::PathBuf, process::Command};

use greenledger_core::{
    amount::Quantity,
    bundle::Bundle,
    id::EntryId,
    model::{Role, Unit},
    verify::{Report, verify_bundle},
};
use greenledger_testkit::{
    Chain, Consortium, attestation,
    custody::{certificate, claim, lot, retirement, shipment, transfer},
};

const H06: &str = "2026-03-01T06:00:00Z";
const H10: &str = "2026-03-01T10:00:00Z";
const H11: &str = "2026-03-01T11:00:00Z";
const H12: &str = "2026-03-01T12:00:00Z";
const DAY: (&str, &str) = ("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z");
const WIND: &str = "eecs:NO-WIND-0001";

const fn units(n: i64) -> i64 {
    n * 1_000_000
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("independent/verify_bundle.py")
}

fn python_present() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A 10 t batch of aluminium made 06:00–11:00 in Norway, 0.125 kWh per kg, claiming `wh` of
/// retirement `retired`.
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

/// An issuer certifies two hours of a wind farm to a smelter, which retires both, claims
/// 800 kWh of them for a batch and ships the batch to a foundry (2.5 t) and a mill (7.5 t);
/// the foundry's castings draw on its shipment.
struct Story {
    c: Consortium,
    issuer: Chain,
    smelter: Chain,
    foundry: Chain,
    retired: EntryId,
    batch: EntryId,
    ship: EntryId,
    castings: EntryId,
}

impl Story {
    fn new() -> Story {
        let mut c = Consortium::new("independent");
        let mut issuer = c.member(10, "Statnett GO", Role::Issuer);
        let mut smelter = c.supplier(11, "Smelter");
        let mut foundry = c.supplier(12, "Foundry");
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
        let batch_entry = c.set.entry(&batch).unwrap().clone();
        let mut a = attestation("urn:greenledger:test:casting:1", 1_000_000, &[(&batch_entry, units(2))]);
        a.declared_unit_of_measurement = Unit::Piece;
        a.produced_quantity = Some(Quantity(units(1_000)));
        a.electricity_kwh = Some(Quantity(500_000));
        a.inputs[0].lot = Some(lot(ship, 0));
        let castings = c.sign(&mut foundry, a).id();
        Story {
            c,
            issuer,
            smelter,
            foundry,
            retired,
            batch,
            ship,
            castings,
        }
    }

    /// A fresh certificate of `wh` for the 2026-03-02 hour `hour` of a second farm, to `holder`.
    fn cert(&mut self, hour: u32, wh: i64, holder: &greenledger_core::PublicKey) -> EntryId {
        let start = format!("2026-03-02T{hour:02}:00:00Z");
        let end = format!("2026-03-02T{:02}:00:00Z", hour + 1);
        let body = certificate(
            &format!("NO-GO-2{hour:03}"),
            "eecs:NO-WIND-0002",
            (&start, &end),
            wh,
            holder,
        );
        self.c.sign(&mut self.issuer, body).id()
    }
}

/// Both verifiers' verdicts and step-9 reasons (`ENTRY12 code`).
struct Verdicts {
    core_valid: bool,
    core_codes: BTreeSet<String>,
    py_valid: bool,
    py_codes: BTreeSet<String>,
    py_out: String,
    core_reasons: Vec<String>,
}

fn custody_codes(r: &Report) -> BTreeSet<String> {
    r.reasons
        .iter()
        .filter(|x| x.step == 9)
        .filter_map(|x| {
            let entry = x.entry.map(|e| e.to_hex()[..12].to_owned()).unwrap_or_default();
            x.code.map(|c| format!("{entry} {c}"))
        })
        .collect()
}

/// Writes `json` to a temporary file, runs both verifiers on it.
fn both(c: &Consortium, json: &[u8]) -> Verdicts {
    let (core_valid, core_codes, core_reasons) = match Bundle::from_json(json) {
        Ok(b) => {
            let r = verify_bundle(&b, &c.pinned());
            let reasons = r
                .reasons
                .iter()
                .map(|x| format!("step {} {} {:?}: {}", x.step, x.check, x.code, x.message))
                .collect();
            (r.valid, custody_codes(&r), reasons)
        }
        Err(e) => (false, BTreeSet::new(), vec![format!("not a bundle: {e}")]),
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bundle.json");
    std::fs::write(&file, json).unwrap();
    let out = Command::new("python3")
        .arg(script())
        .arg(&file)
        .arg("--json")
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let code = out.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "the script exits {code:?}: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let py_valid = v["valid"].as_bool().unwrap();
    assert_eq!(py_valid, code == Some(0), "{text}");
    let py_codes = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["step"] == 9)
        .filter_map(|x| {
            let entry = x["entry"].as_str().unwrap_or_default();
            x["code"].as_str().map(|c| format!("{entry} {c}"))
        })
        .collect();
    Verdicts {
        core_valid,
        core_codes,
        py_valid,
        py_codes,
        py_out: text,
        core_reasons,
    }
}

fn agree(name: &str, v: &Verdicts, valid: bool) {
    println!("{name}: core {:#?}\nindependent {}", v.core_reasons, v.py_out);
    assert_eq!(v.core_valid, valid, "{name}: core's verdict");
    assert_eq!(v.py_valid, valid, "{name}: the independent verdict\n{}", v.py_out);
    assert_eq!(v.core_codes, v.py_codes, "{name}: custody codes\n{}", v.py_out);
}

#[test]
fn the_independent_verifier_agrees_with_core_on_custody_bundles() {
    if !python_present() {
        println!("python3 is absent: the independent verifier is not run");
        return;
    }
    // A valid bundle: issue, retirement, a batch claiming it, a shipment a downstream batch
    // draws on.
    let mut s = Story::new();
    let valid = s.c.bundle(s.castings).to_json();
    let v = both(&s.c, &valid);
    agree("valid", &v, true);

    // An overdraw: a second batch claims more than is left of the retirement.
    let over =
        s.c.sign(
            &mut s.smelter,
            aluminium("urn:greenledger:test:al:2", s.retired, 200_001),
        )
        .id();
    let v = both(&s.c, &s.c.bundle(over).to_json());
    agree("overdraw", &v, false);
    assert!(
        v.py_codes.contains(&format!("{} overdrawn", &over.to_hex()[..12])),
        "{}",
        v.py_out
    );

    // A tampered signature: one hex digit of the castings' signature changed.
    let text = String::from_utf8(valid).unwrap();
    let env: serde_json::Value = serde_json::from_slice(&s.c.set.entry(&s.castings).unwrap().signed.to_json()).unwrap();
    let sig = env["signature"].as_str().unwrap().to_owned();
    assert!(text.contains(&sig));
    let flipped = format!("{}{}", &sig[..10], if &sig[10..11] == "0" { "1" } else { "0" }) + &sig[11..];
    let tampered = text.replace(&sig, &flipped);
    let v = both(&s.c, tampered.as_bytes());
    agree("tampered", &v, false);
    assert!(v.py_out.contains("\"signature\""), "{}", v.py_out);

    // A double issuance: another registry certifies the 10:00 hour of the same farm again;
    // the castings (resting on the claim, resting on the retirement) now fail.
    let mut s = Story::new();
    let mut irec = s.c.member(20, "I-REC Registry", Role::Issuer);
    let mut again = certificate("IREC-77", WIND, (H10, H11), 600_000, &s.foundry.public());
    again.scheme = "I-REC".into();
    again.device = vec!["irec:NOWIND01".into(), WIND.into()];
    s.c.sign(&mut irec, again);
    let v = both(&s.c, &s.c.bundle(s.castings).to_json());
    agree("double issuance", &v, false);
    for e in [s.retired, s.batch] {
        let want = format!("{} double_issuance", &e.to_hex()[..12]);
        assert!(v.py_codes.contains(&want), "{}", v.py_out);
    }
}

/// One custody rule broken per case: both verifiers must refuse the target for that rule, with
/// the same step-9 reasons.
#[test]
fn the_independent_verifier_agrees_with_core_rule_by_rule() {
    if !python_present() {
        println!("python3 is absent: the independent verifier is not run");
        return;
    }
    const D2: (&str, &str) = ("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
    type Case = (&'static str, Option<&'static str>, fn(&mut Story) -> EntryId);
    let cases: Vec<Case> = vec![
        // The smelter ships what the foundry holds.
        ("not_holder", Some("not_holder"), |s| {
            let f = s.foundry.public();
            let body = shipment(&[(lot(s.ship, 0), units(1))], &[(f, units(1))]);
            s.c.sign(&mut s.smelter, body).id()
        }),
        // A retirement of a batch lot.
        ("wrong_lot", Some("wrong_lot"), |s| {
            let body = retirement(&[(lot(s.batch, 0), 1)], "Smelter", DAY, "NO");
            s.c.sign(&mut s.smelter, body).id()
        }),
        // A Norwegian certificate retired for consumption in Sweden.
        ("retirement region", Some("region_mismatch"), |s| {
            let h = s.smelter.public();
            let cert = s.cert(1, 1_000, &h);
            let body = retirement(&[(lot(cert, 0), 1_000)], "Smelter", D2, "SE");
            s.c.sign(&mut s.smelter, body).id()
        }),
        // A 2026 certificate retired for 2027.
        ("vintage", Some("vintage_mismatch"), |s| {
            let h = s.smelter.public();
            let cert = s.cert(2, 1_000, &h);
            let next = ("2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z");
            let body = retirement(&[(lot(cert, 0), 1_000)], "Smelter", next, "NO");
            s.c.sign(&mut s.smelter, body).id()
        }),
        // Two certificates transferred together.
        ("mixed origins", Some("mixed_origins"), |s| {
            let h = s.smelter.public();
            let (a, b) = (s.cert(3, 1_000, &h), s.cert(4, 1_000, &h));
            let to = s.foundry.public();
            let body = transfer(&[(lot(a, 0), 1_000), (lot(b, 0), 1_000)], &[(to, 2_000)]);
            s.c.sign(&mut s.smelter, body).id()
        }),
        // A transfer, overdrawn.
        ("transfer overdrawn", Some("overdrawn"), |s| {
            let h = s.smelter.public();
            let a = s.cert(5, 1_000, &h);
            let to = s.foundry.public();
            s.c.sign(&mut s.smelter, transfer(&[(lot(a, 0), 600)], &[(to, 600)]));
            let body = transfer(&[(lot(a, 0), 401)], &[(to, 401)]);
            s.c.sign(&mut s.smelter, body).id()
        }),
        // A certificate transferred, retired by its new holder and claimed: valid.
        ("transferred and claimed", None, |s| {
            let h = s.smelter.public();
            let a = s.cert(6, 10_000, &h);
            let to = s.foundry.public();
            let t =
                s.c.sign(&mut s.smelter, transfer(&[(lot(a, 0), 10_000)], &[(to, 10_000)]));
            let body = retirement(&[(lot(t.id(), 0), 10_000)], "Foundry", D2, "NO");
            let r = s.c.sign(&mut s.foundry, body).id();
            let mut b = aluminium("urn:greenledger:test:al:9", r, 10_000);
            b.reference_period_start = Some("2026-03-02T06:00:00Z".into());
            b.reference_period_end = Some("2026-03-02T11:00:00Z".into());
            s.c.sign(&mut s.foundry, b).id()
        }),
        // The foundry claims a retirement made for someone else.
        ("beneficiary", Some("beneficiary_mismatch"), |s| {
            let h = s.foundry.public();
            let a = s.cert(7, 10_000, &h);
            let r = retirement(&[(lot(a, 0), 10_000)], "Smelter", D2, "NO");
            let r = s.c.sign(&mut s.foundry, r).id();
            let mut b = aluminium("urn:greenledger:test:al:10", r, 10_000);
            b.reference_period_start = Some("2026-03-02T06:00:00Z".into());
            b.reference_period_end = Some("2026-03-02T11:00:00Z".into());
            s.c.sign(&mut s.foundry, b).id()
        }),
        // A batch made in Sweden claims a Norwegian retirement.
        ("claim region", Some("region_mismatch"), |s| {
            let mut b = aluminium("urn:greenledger:test:al:11", s.retired, 100_000);
            b.geography_country = Some("SE".into());
            s.c.sign(&mut s.smelter, b).id()
        }),
        // A batch made on another day than the retirement's consumption.
        ("claim period", Some("invalid_claim"), |s| {
            let mut b = aluminium("urn:greenledger:test:al:12", s.retired, 100_000);
            b.reference_period_start = Some("2026-03-02T06:00:00Z".into());
            b.reference_period_end = Some("2026-03-02T11:00:00Z".into());
            s.c.sign(&mut s.smelter, b).id()
        }),
        // A batch input naming a lot of another batch.
        ("batch input", Some("invalid_batch_input"), |s| {
            let mut own = attestation("urn:greenledger:test:scrap:1", 1_000, &[]);
            own.produced_quantity = Some(Quantity(units(5)));
            let own = s.c.sign(&mut s.foundry, own).id();
            let batch = s.c.set.entry(&s.batch).unwrap().clone();
            let mut a = attestation("urn:greenledger:test:casting:2", 1_000_000, &[(&batch, units(1))]);
            a.produced_quantity = Some(Quantity(units(1)));
            a.inputs[0].lot = Some(lot(own, 0));
            s.c.sign(&mut s.foundry, a).id()
        }),
        // The foundry's castings take more than its 2.5 t.
        ("batch input overdrawn", Some("overdrawn"), |s| {
            let batch = s.c.set.entry(&s.batch).unwrap().clone();
            let mut a = attestation("urn:greenledger:test:casting:3", 1_000_000, &[(&batch, units(1))]);
            a.produced_quantity = Some(Quantity(units(501)));
            a.inputs[0].lot = Some(lot(s.ship, 0));
            s.c.sign(&mut s.foundry, a).id()
        }),
    ];
    for (name, code, build) in cases {
        let mut s = Story::new();
        let target = build(&mut s);
        let v = both(&s.c, &s.c.bundle(target).to_json());
        agree(name, &v, code.is_none());
        if let Some(code) = code {
            let want = format!("{} {code}", &target.to_hex()[..12]);
            assert!(v.py_codes.contains(&want), "{name}: {want}\n{}", v.py_out);
        }
    }
}

/// The script's own tests: BLAKE3 vectors, ZIP 215 decoding, and the worked example of
/// FORMAT.md §10 and §10.1 (valid, and the overdrawing retirement refused for `overdrawn`).
#[test]
fn the_independent_verifier_passes_its_own_tests() {
    if !python_present() {
        println!("python3 is absent: the independent verifier is not run");
        return;
    }
    let tests = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("independent/test_verify_bundle.py");
    let out = Command::new("python3").arg(tests).output().expect("python3 runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
