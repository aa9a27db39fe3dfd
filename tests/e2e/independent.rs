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
    custody::{certificate, claim, lot, retirement, shipment},
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
    smelter: Chain,
    foundry: Chain,
    retired: EntryId,
    batch: EntryId,
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
            smelter,
            foundry,
            retired,
            batch,
            castings,
        }
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
