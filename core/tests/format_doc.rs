//! Checks the worked example of docs/FORMAT.md: every byte, hash and signature printed there
//! is recomputed here, so the document cannot drift from the code.

#![allow(clippy::unwrap_used)]

use greenledger_core::{Genesis, Mass, Role, SecretKey, SignedEntry};
use greenledger_testkit::{Chain, attestation, key};

const DOC: &str = include_str!("../../docs/FORMAT.md");

/// The text of the fenced block that follows `<!-- example:NAME -->`.
fn example(name: &str) -> String {
    let marker = format!("<!-- example:{name} -->");
    let start = DOC
        .find(&marker)
        .unwrap_or_else(|| panic!("docs/FORMAT.md lacks {marker}"));
    let rest = &DOC[start + marker.len()..];
    let open = rest.find("```").expect("fence");
    let body = &rest[open..];
    let body = &body[body.find('\n').expect("newline") + 1..];
    let close = body.find("\n```").expect("closing fence");
    body[..close].to_string()
}

fn keys() -> (SecretKey, SecretKey) {
    (key(0x11), key(0x22))
}

fn genesis() -> Genesis {
    let (admin, _) = keys();
    greenledger_testkit::genesis("example-net", &[admin.public()])
}

/// The admin's seq 1: it admits the supplier.
fn admit() -> SignedEntry {
    let (admin, supplier) = keys();
    let mut admin = Chain::new(admin, &genesis()).with_timestamp("2026-01-02T09:00:00Z");
    let e = admin.admit(&supplier.public(), "Example Smelter", Role::Supplier);
    e.signed().clone()
}

/// The supplier's seq 1 (ore) and seq 2 (a bar made of 3.5 kg of ore per kg).
fn attestations() -> (SignedEntry, SignedEntry) {
    let (_, supplier) = keys();
    let mut supplier = Chain::new(supplier, &genesis()).with_timestamp("2026-01-03T09:00:00Z");
    let ore = supplier.sign(attestation("urn:greenledger:example:ore", 250_000, &[]));
    supplier.timestamp = "2026-01-03T10:00:00Z".into();
    let bar = supplier.sign(attestation(
        "urn:greenledger:example:bar",
        2_000_000,
        &[(ore.entry(), 3_500_000)],
    ));
    (ore.signed().clone(), bar.signed().clone())
}

fn hex_lines(bytes: &[u8]) -> String {
    bytes.chunks(32).map(hex::encode).collect::<Vec<_>>().join("\n")
}

#[test]
fn keys_match_the_document() {
    let (admin, supplier) = keys();
    assert_eq!(example("admin-public"), admin.public().to_hex());
    assert_eq!(example("supplier-public"), supplier.public().to_hex());
}

#[test]
fn genesis_matches_the_document() {
    let g = genesis();
    assert_eq!(
        example("genesis-canonical"),
        String::from_utf8(g.canonical_bytes()).unwrap()
    );
    assert_eq!(example("network-id"), g.network_id().to_hex());
}

#[test]
fn admit_entry_matches_the_document() {
    let e = admit();
    assert_eq!(
        example("admit-payload"),
        String::from_utf8(e.payload().to_vec()).unwrap()
    );
    assert_eq!(example("admit-signed-bytes-hex"), hex_lines(&e.signed_bytes()));
    assert_eq!(example("admit-id"), e.id().to_hex());
    assert_eq!(example("admit-signature"), e.signature().to_hex());
    assert_eq!(example("admit-envelope"), String::from_utf8(e.to_json()).unwrap());
    // And the document's envelope verifies as it stands.
    let parsed = SignedEntry::from_json(example("admit-envelope").as_bytes()).unwrap();
    assert!(parsed.verify().is_ok());
}

#[test]
fn attestations_match_the_document() {
    let (ore, bar) = attestations();
    assert_eq!(example("ore-envelope"), String::from_utf8(ore.to_json()).unwrap());
    assert_eq!(example("ore-id"), ore.id().to_hex());
    assert_eq!(example("bar-envelope"), String::from_utf8(bar.to_json()).unwrap());
    assert_eq!(example("bar-id"), bar.id().to_hex());
    let v = bar.verify().unwrap();
    assert_eq!(
        v.payload()
            .body
            .as_attestation()
            .unwrap()
            .total
            .pcf_excluding_biogenic_uptake,
        Mass(2_875_000)
    );
}

/// Prints every example value (run with `--nocapture` after a deliberate format change).
#[test]
fn print_examples() {
    let (admin, supplier) = keys();
    let g = genesis();
    let e = admit();
    let (ore, bar) = attestations();
    println!(
        "admin-public\n{}\nsupplier-public\n{}",
        admin.public(),
        supplier.public()
    );
    println!(
        "genesis-canonical\n{}\nnetwork-id\n{}",
        String::from_utf8(g.canonical_bytes()).unwrap(),
        g.network_id()
    );
    println!("admit-payload\n{}", String::from_utf8(e.payload().to_vec()).unwrap());
    println!("admit-signed-bytes-hex\n{}", hex_lines(&e.signed_bytes()));
    println!("admit-id\n{}\nadmit-signature\n{}", e.id(), e.signature().to_hex());
    println!("admit-envelope\n{}", String::from_utf8(e.to_json()).unwrap());
    println!(
        "ore-envelope\n{}\nore-id\n{}",
        String::from_utf8(ore.to_json()).unwrap(),
        ore.id()
    );
    println!(
        "bar-envelope\n{}\nbar-id\n{}",
        String::from_utf8(bar.to_json()).unwrap(),
        bar.id()
    );
}

/// §10.1: a certificate issued to the supplier, retired and claimed on a batch; and a second
/// retirement that would overdraw the certificate.
mod custody {
    use greenledger_core::{
        Quantity, Role, SignedEntry,
        amount::Wh,
        bundle::{EntrySet, SetView},
        custody::LotId,
        engine,
        kinds::{
            attestation::Claim,
            certificate::{CertificateIssue, CertificateRetire, WhDraw},
        },
        model::{Attestation, Emissions, Unit},
    };
    use greenledger_testkit::{Chain, key};

    use super::{admit, attestations, example, genesis, keys};

    fn retire(lot: LotId, wh: i64) -> CertificateRetire {
        CertificateRetire {
            from: vec![WhDraw { lot, wh: Wh(wh) }],
            beneficiary: "Example Smelter".into(),
            consumption_start: "2026-01-01T00:00:00Z".into(),
            consumption_end: "2026-02-01T00:00:00Z".into(),
            region: "SE".into(),
        }
    }

    /// The admin's seq 2 (admits the registry), the registry's issue, the supplier's
    /// retirement (seq 3), its batch (seq 4), and an overdrawing retirement at seq 5.
    pub(super) fn entries() -> [SignedEntry; 5] {
        let (admin, supplier) = keys();
        let registry = key(0x33);
        let g = genesis();
        let mut admin = Chain::new(admin, &g).with_timestamp("2026-01-02T09:00:00Z");
        admin.seq = 2;
        admin.prev = Some(admit().id());
        let admit_registry = admin.admit(&registry.public(), "Example Wind Registry", Role::Issuer);
        let mut registry = Chain::new(registry, &g).with_timestamp("2026-01-05T08:00:00Z");
        let issue = registry.sign(CertificateIssue {
            scheme: "EECS-GO".into(),
            serial: "SE-2026-0001".into(),
            device: vec!["eecs:EX-WIND-1".into()],
            technology: "wind".into(),
            region: "SE".into(),
            production_start: "2026-01-04T10:00:00Z".into(),
            production_end: "2026-01-04T11:00:00Z".into(),
            wh: Wh(1_000_000),
            holder: supplier.public(),
        });
        let (_, bar) = attestations();
        let mut s = Chain::new(supplier, &g).with_timestamp("2026-01-06T09:00:00Z");
        s.seq = 3;
        s.prev = Some(bar.id());
        let cert = LotId {
            entry: issue.id(),
            index: 0,
        };
        let ret = s.sign(retire(cert, 600_000));
        let mut batch = Attestation::new(
            "urn:greenledger:example:bar-batch",
            Unit::Kilogram,
            Emissions::headline(greenledger_core::Mass(2_000_000)),
        );
        batch.produced_quantity = Some(Quantity(1_000_000_000));
        batch.electricity_kwh = Some(Quantity(500_000));
        batch.geography_country = Some("SE".into());
        batch.reference_period_start = Some("2026-01-01T00:00:00Z".into());
        batch.reference_period_end = Some("2026-01-31T00:00:00Z".into());
        batch.electricity_claims = vec![Claim {
            lot: LotId {
                entry: ret.id(),
                index: 0,
            },
            wh: Wh(400_000),
        }];
        let batch = s.sign(batch);
        let over = s.sign(retire(cert, 400_001));
        [
            admit_registry.signed().clone(),
            issue.signed().clone(),
            ret.signed().clone(),
            batch.signed().clone(),
            over.signed().clone(),
        ]
    }

    #[test]
    fn custody_example_matches_the_document_and_decides_as_it_says() {
        let [admit_registry, issue, ret, batch, over] = entries();
        for (name, e) in [
            ("registry-admit-envelope", &admit_registry),
            ("issue-envelope", &issue),
            ("retire-envelope", &ret),
            ("batch-envelope", &batch),
            ("overdraw-envelope", &over),
        ] {
            assert_eq!(example(name), String::from_utf8(e.to_json()).unwrap(), "{name}");
        }
        assert_eq!(example("issue-lot"), format!("{}:0", issue.id()));
        assert_eq!(example("retire-lot"), format!("{}:0", ret.id()));
        // Every entry but the last holds; the last overdraws the certificate by 1 Wh.
        let (ore, bar) = attestations();
        let mut set = EntrySet::new();
        for e in [admit(), ore, bar, admit_registry, issue, ret, batch.clone()] {
            set.insert(e.verify().unwrap().into_entry());
        }
        let g = genesis();
        let view = SetView::new(&g, &set, std::iter::empty());
        for e in set.iter() {
            assert!(engine::check(e, &view).is_valid(), "{}", e.id);
        }
        let over = over.verify().unwrap().into_entry();
        let verdict = engine::check(&over, &view);
        let codes: Vec<&str> = verdict.violations.iter().map(|v| v.code()).collect();
        assert_eq!(codes, ["overdrawn"], "{verdict:?}");
        assert!(verdict.violations[0].to_string().contains(&example("overdraw-message")));
    }

    #[test]
    fn print_custody_examples() {
        for e in entries() {
            println!("{}", String::from_utf8(e.to_json()).unwrap());
            println!("{}", e.id());
        }
    }
}
