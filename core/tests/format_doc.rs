//! Checks the worked example of docs/FORMAT.md: every byte, hash and signature printed there
//! is recomputed here, so the document cannot drift from the code.

#![allow(clippy::unwrap_used)]

use greenledger_core::{
    Attestation, Body, Emissions, Genesis, Input, Mass, Payload, Quantity, Role, SecretKey, SignedEntry, Unit, entry,
    model::MemberAdmit,
};

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
    (SecretKey::from_seed(&[0x11; 32]), SecretKey::from_seed(&[0x22; 32]))
}

fn genesis() -> Genesis {
    let (admin, _) = keys();
    Genesis::new("example-net", "2026-01-01T00:00:00Z", vec![admin.public()], vec![]).unwrap()
}

fn admit() -> SignedEntry {
    let (admin, supplier) = keys();
    let p = Payload {
        network: genesis().network_id(),
        signer: admin.public(),
        seq: 1,
        prev: None,
        timestamp: "2026-01-02T09:00:00Z".into(),
        body: Body::MemberAdmit(MemberAdmit {
            member: supplier.public(),
            name: "Example Smelter".into(),
            role: Role::Supplier,
            peer_id: None,
        }),
    };
    entry::sign(&admin, &p).unwrap().signed().clone()
}

fn attestations() -> (SignedEntry, SignedEntry) {
    let (_, supplier) = keys();
    let net = genesis().network_id();
    let ore = Payload {
        network: net,
        signer: supplier.public(),
        seq: 1,
        prev: None,
        timestamp: "2026-01-03T09:00:00Z".into(),
        body: Body::Attestation(Box::new(Attestation::new(
            "urn:greenledger:example:ore",
            Unit::Kilogram,
            Emissions::headline(Mass(250_000)),
        ))),
    };
    let ore = entry::sign(&supplier, &ore).unwrap();
    let mut bar = Attestation::new(
        "urn:greenledger:example:bar",
        Unit::Kilogram,
        Emissions::headline(Mass(2_000_000)),
    );
    bar.inputs.push(Input {
        entry: ore.id(),
        quantity: Quantity(3_500_000),
    });
    bar.total = greenledger_core::rollup::roll_up(
        &bar.own,
        &[(Quantity(3_500_000), &ore.payload().body.as_attestation().unwrap().total)],
    )
    .unwrap();
    let bar = Payload {
        network: net,
        signer: supplier.public(),
        seq: 2,
        prev: Some(ore.id()),
        timestamp: "2026-01-03T10:00:00Z".into(),
        body: Body::Attestation(Box::new(bar)),
    };
    let bar = entry::sign(&supplier, &bar).unwrap();
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
