//! Chain of custody against real node processes: certificates issued, retired and claimed;
//! a batch shipped to two buyers; overdraws and foreign draws refused with their own codes;
//! a double issuance by two issuers at two nodes flagged on both, with the claim resting on
//! it failing verification; and one lot drawn by two entries of its holder sent to two nodes.

#![allow(clippy::unwrap_used)]

use greenledger_core::{
    Entry, EntryId, Input, PublicKey, Quantity, Role, SecretKey, VerifiedEntry,
    amount::Wh,
    bundle::Bundle,
    custody::LotId,
    kinds::{
        attestation::Claim,
        batch_ship::{BatchShip, QuantityDraw, QuantityTo},
        certificate::{CertificateIssue, CertificateRetire, CertificateTransfer, WhDraw, WhTo},
    },
    model::{Attestation, Emissions, Unit},
    verify::{VerifyOptions, verify_bundle},
};
use greenledger_testkit::Chain;

use crate::{
    node_util::TestNode,
    p2p::{Cluster, post, wait_for},
    util::Env,
};

fn lot(e: &VerifiedEntry, index: u32) -> LotId {
    LotId { entry: e.id(), index }
}

fn issue(holder: &PublicKey, serial: &str, device: &str, hour: u32, wh: i64) -> CertificateIssue {
    CertificateIssue {
        scheme: "EECS-GO".into(),
        serial: serial.into(),
        device: vec![device.into()],
        technology: "wind".into(),
        region: "NO".into(),
        production_start: format!("2026-03-01T{hour:02}:00:00Z"),
        production_end: format!("2026-03-01T{:02}:00:00Z", hour + 1),
        wh: Wh(wh),
        holder: *holder,
    }
}

fn retire(from: LotId, wh: i64, beneficiary: &str) -> CertificateRetire {
    CertificateRetire {
        from: vec![WhDraw { lot: from, wh: Wh(wh) }],
        beneficiary: beneficiary.into(),
        consumption_start: "2026-03-01T00:00:00Z".into(),
        consumption_end: "2026-04-01T00:00:00Z".into(),
        region: "NO".into(),
    }
}

/// A batch of 1,000 cells at 0.5 kWh each (500,000 Wh), claiming `claims`.
fn cells(part: &str, claims: &[(LotId, i64)]) -> Attestation {
    let mut a = Attestation::new(
        part,
        Unit::Piece,
        Emissions::headline(greenledger_core::Mass(2_000_000)),
    );
    a.produced_quantity = Some(Quantity(1_000_000_000));
    a.electricity_kwh = Some(Quantity(500_000));
    a.geography_country = Some("NO".into());
    a.reference_period_start = Some("2026-03-01T00:00:00Z".into());
    a.reference_period_end = Some("2026-03-31T00:00:00Z".into());
    a.electricity_claims = claims
        .iter()
        .map(|(lot, wh)| Claim { lot: *lot, wh: Wh(*wh) })
        .collect();
    a
}

fn stored(n: &TestNode, e: &VerifiedEntry) {
    let (st, body) = n.submit(&e.signed().to_json());
    assert_eq!(st, 201, "{}: {body}", e.entry().payload.body.kind());
}

/// Submits an entry the node must refuse with `code`; the log does not grow.
fn refused(n: &TestNode, e: &VerifiedEntry, code: &str, words: &[&str]) {
    let before = n.log_size();
    let (st, body) = n.submit(&e.signed().to_json());
    if !(400..500).contains(&st) {
        let (_, log) = n.get("/v1/log?from=0&limit=100&entries=true");
        panic!("expected a refusal ({code}), got {st}: {body}\n{log:#}");
    }
    assert_eq!(body["error"]["code"], code, "{body}");
    let msg = body["error"]["message"].as_str().unwrap_or_default().to_string();
    for w in words {
        assert!(msg.contains(w), "the message {msg:?} does not say {w:?}");
    }
    assert_eq!(n.log_size(), before, "a refused entry changed the log");
}

fn bundle_of(n: &TestNode, id: EntryId) -> Bundle {
    let (st, raw) = n.get_raw(&format!("/v1/provenance/{id}"));
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&raw));
    Bundle::from_json(&raw).unwrap()
}

fn member(
    admin: &mut Chain,
    n: &TestNode,
    genesis: &greenledger_core::Genesis,
    name: &str,
    role: Role,
) -> (Chain, PublicKey) {
    let key = SecretKey::generate();
    stored(n, &admin.admit(&key.public(), name, role));
    let public = key.public();
    (Chain::new(key, genesis), public)
}

#[test]
fn certificates_and_batches_flow_through_a_node_and_verify_offline() {
    let env = Env::new();
    let node = TestNode::start(&env.path("node"), &env.genesis);
    let genesis = env.genesis();
    let mut admin = Chain::new(env.admin.secret(), &genesis);
    let (mut registry, _) = member(&mut admin, &node, &genesis, "Wind Registry", Role::Issuer);
    let (mut cellco, cell_key) = member(&mut admin, &node, &genesis, "CellCo", Role::Supplier);
    let (mut smelter, _) = member(&mut admin, &node, &genesis, "Smelter", Role::Supplier);
    let (mut b1, b1_key) = member(&mut admin, &node, &genesis, "Buyer One", Role::Supplier);
    let (_, b2_key) = member(&mut admin, &node, &genesis, "Buyer Two", Role::Supplier);

    // A supplier cannot issue certificates.
    let fake = smelter.sign(issue(&cell_key, "F-1", "eecs:NO-FAKE", 9, 1_000));
    refused(&node, &fake, "not_authorized", &["issuer"]);
    smelter.seq -= 1;
    smelter.prev = None;

    // 1 MWh of wind, retired 600 kWh for CellCo, 400 kWh of it claimed on a batch of cells.
    let cert = registry.sign(issue(&cell_key, "GO-1", "eecs:NO-WIND-1", 10, 1_000_000));
    stored(&node, &cert);
    let ret = cellco.sign(retire(lot(&cert, 0), 600_000, "CellCo"));
    stored(&node, &ret);
    let batch = cellco.sign(cells("urn:test:custody:cell", &[(lot(&ret, 0), 400_000)]));
    stored(&node, &batch);

    let (st, l) = node.get(&format!("/v1/lots/{}", lot(&cert, 0)));
    assert_eq!(st, 200, "{l}");
    assert_eq!(
        (l["amount"].as_i64(), l["drawn"].as_i64(), l["left"].as_i64()),
        (Some(1_000_000), Some(600_000), Some(400_000))
    );
    assert_eq!(l["draws"][0]["kind"], "certificate.retire");
    assert_eq!(l["certificates"][0]["serial"], "GO-1");
    let (_, r) = node.get(&format!("/v1/lots/{}", lot(&ret, 0)));
    assert_eq!(r["kind"], "retirement");
    assert_eq!(r["left"], 200_000);
    let (st, held) = node.get(&format!("/v1/holders/{}/lots", cell_key));
    assert_eq!(st, 200);
    let lefts: Vec<(String, i64)> = held["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["lot"].as_str().unwrap().to_string(), x["left"].as_i64().unwrap()))
        .collect();
    for want in [
        (lot(&cert, 0).to_string(), 400_000),
        (lot(&ret, 0).to_string(), 200_000),
        (lot(&batch, 0).to_string(), 1_000_000_000),
    ] {
        assert!(lefts.contains(&want), "{want:?} not among {lefts:?}");
    }

    // Overdrawing the certificate, drawing on someone else's lot, an unbalanced transfer, a
    // claim beyond the retirement and a claim from another market: each refused.
    refused(
        &node,
        &cellco.sign(retire(lot(&cert, 0), 400_001, "CellCo")),
        "overdrawn",
        &["600000 already drawn"],
    );
    cellco.seq -= 1;
    cellco.prev = Some(batch.id());
    let theft = smelter.sign(CertificateTransfer {
        from: vec![WhDraw {
            lot: lot(&cert, 0),
            wh: Wh(1),
        }],
        to: vec![WhTo {
            holder: b1_key,
            wh: Wh(1),
        }],
    });
    refused(&node, &theft, "not_holder", &["only its holder draws"]);
    smelter.seq -= 1;
    smelter.prev = None;
    // A transfer that does not balance cannot even be signed through the library: sign the
    // bytes by hand, as a careless client would.
    let balanced = cellco.payload_at(
        cellco.seq,
        cellco.prev,
        CertificateTransfer {
            from: vec![WhDraw {
                lot: lot(&cert, 0),
                wh: Wh(10),
            }],
            to: vec![WhTo {
                holder: b1_key,
                wh: Wh(10),
            }],
        },
    );
    let bytes = String::from_utf8(balanced.to_canonical().unwrap())
        .unwrap()
        .replace(r#""wh":"10"}]},"kind""#, r#""wh":"11"}]},"kind""#);
    let unbalanced = greenledger_testkit::sign_bytes(&cellco.key, bytes.as_bytes());
    let (st, body) = node.submit(&unbalanced.to_json());
    assert_eq!(st, 400, "an unbalanced transfer is malformed: {body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("balances"),
        "{body}"
    );
    refused(
        &node,
        &cellco.sign(cells("urn:test:custody:cell2", &[(lot(&ret, 0), 200_001)])),
        "overdrawn",
        &[],
    );
    cellco.seq -= 1;
    cellco.prev = Some(batch.id());
    let mut se = cells("urn:test:custody:cell3", &[(lot(&ret, 0), 1_000)]);
    se.geography_country = Some("SE".into());
    refused(&node, &cellco.sign(se), "region_mismatch", &["NO"]);
    cellco.seq -= 1;
    cellco.prev = Some(batch.id());

    // A 10 t ingot batch shipped to two buyers; Buyer One makes 1,500 frames of 2 kg each
    // from its 4 t, and cannot make another 1,500 from what is left.
    let mut ingot = Attestation::new(
        "urn:test:custody:ingot",
        Unit::Kilogram,
        Emissions::headline(greenledger_core::Mass(4_000_000)),
    );
    ingot.produced_quantity = Some(Quantity(10_000_000_000));
    let ingot = smelter.sign(ingot);
    stored(&node, &ingot);
    let ship = smelter.sign(BatchShip {
        from: vec![QuantityDraw {
            lot: lot(&ingot, 0),
            quantity: Quantity(10_000_000_000),
        }],
        to: vec![
            QuantityTo {
                holder: b1_key,
                quantity: Quantity(4_000_000_000),
            },
            QuantityTo {
                holder: b2_key,
                quantity: Quantity(6_000_000_000),
            },
        ],
    });
    stored(&node, &ship);
    let frames = |part: &str, ingot_entry: &Entry| {
        let mut a = Attestation::new(part, Unit::Piece, Emissions::headline(greenledger_core::Mass(100_000)));
        a.produced_quantity = Some(Quantity(1_500_000_000));
        a.inputs.push(Input {
            entry: ingot_entry.id,
            quantity: Quantity(2_000_000),
            lot: Some(lot(&ship, 0)),
        });
        greenledger_testkit::set_inputs(
            &mut a,
            &[(ingot_entry.id, 2_000_000, &ingot_entry.attestation().unwrap().total)],
        );
        a.inputs[0].lot = Some(lot(&ship, 0));
        a
    };
    let frame = b1.sign(frames("urn:test:custody:frame", ingot.entry()));
    stored(&node, &frame);
    refused(
        &node,
        &b1.sign(frames("urn:test:custody:frame2", ingot.entry())),
        "overdrawn",
        &[],
    );
    // Buyer Two's lot is not Buyer One's to draw.
    let (_, s1) = node.get(&format!("/v1/lots/{}", lot(&ship, 1)));
    assert_eq!(s1["holder"], b2_key.to_string());
    assert_eq!(s1["left"], 6_000_000_000i64);

    // Both products verify offline from their bundles, which carry the chain of custody.
    let opts = VerifyOptions::default();
    for target in [batch.id(), frame.id()] {
        let b = bundle_of(&node, target);
        let ids: Vec<EntryId> = b
            .entries
            .iter()
            .filter_map(|e| e.as_ref().ok())
            .map(|e| e.id())
            .collect();
        let needed: &[EntryId] = if target == batch.id() {
            &[cert.id(), ret.id()]
        } else {
            &[ingot.id(), ship.id()]
        };
        for n in needed {
            assert!(ids.contains(n), "the bundle of {target} lacks {n}");
        }
        let report = verify_bundle(&b, &opts);
        assert!(report.valid, "{target}: {:#?}", report.reasons);
    }

    // The metrics count the refused overdraws.
    let (_, metrics) = node.get_raw("/metrics");
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(metrics.contains("greenledger_overdraws_refused 3"), "{metrics}");
}

/// Double issuance by two issuers arriving at two nodes: both nodes store both issues and keep
/// the conflict, the claim resting on the first certificate, accepted before the second
/// existed, fails to verify naming both, and new draws on either are refused.
#[test]
fn a_double_issuance_at_two_nodes_is_flagged_everywhere_and_fails_the_claim() {
    let mut c = Cluster::new(2, &[]);
    c.start_all();
    let genesis = c.genesis.clone();
    let admit = |c: &mut Cluster, name: &str, role: Role| {
        let key = SecretKey::generate();
        let e = c.admin.admit(&key.public(), name, role);
        c.submit(0, e.signed());
        let public = key.public();
        (Chain::new(key, &genesis), public)
    };
    let (mut north, _) = admit(&mut c, "North Registry", Role::Issuer);
    let (mut south, _) = admit(&mut c, "South Registry", Role::Issuer);
    let (mut cellco, cell_key) = admit(&mut c, "CellCo", Role::Supplier);
    c.converge(3);

    let x = north.sign(issue(&cell_key, "N-1", "eecs:NO-WIND-7", 10, 1_000_000));
    c.submit(0, x.signed());
    let ret = cellco.sign(retire(lot(&x, 0), 500_000, "CellCo"));
    c.submit(0, ret.signed());
    let batch = cellco.sign(cells("urn:test:custody:dbl", &[(lot(&ret, 0), 500_000)]));
    c.submit(0, batch.signed());
    c.converge(6);

    // The same device's hours, certified again by another issuer, at the other node.
    let mut again = issue(&cell_key, "S-9", "eecs:NO-WIND-7", 10, 1_000_000);
    again.production_end = "2026-03-01T12:00:00Z".into();
    let y = south.sign(again);
    // Each issue is valid on its own: the second is stored too, and the pair is kept as a
    // conflict on every node.
    let (st, body) = c.node(1).submit(&y.signed().to_json());
    assert_eq!(st, 201, "{body}");
    for (i, n) in c.running().iter().enumerate() {
        wait_for(&format!("node {i} to keep the double-issuance proof"), || {
            let (_, v) = n.get("/v1/conflicts");
            v["conflicts"].as_array().is_some_and(|a| a.len() == 1)
        });
        let (_, v) = n.get("/v1/conflicts");
        let pair = [
            v["conflicts"][0]["a"].as_str().unwrap(),
            v["conflicts"][0]["b"].as_str().unwrap(),
        ];
        assert!(pair.contains(&x.id().to_hex().as_str()) && pair.contains(&y.id().to_hex().as_str()));
    }
    // The claimant's verification, against the node that never saw the second issue
    // submitted, fails naming both certificates.
    let out = c
        .env
        .run(&[
            "verify",
            &batch.id().to_hex(),
            "--node",
            &c.node(0).url,
            "--genesis",
            &c.genesis_path.display().to_string(),
        ])
        .code(1);
    let text = format!("{}{}", out.stdout, out.stderr);
    for id in [x.id(), y.id()] {
        assert!(
            text.contains(&id.fmt_short()),
            "verify does not name {}:\n{text}",
            id.fmt_short()
        );
    }
    // New draws on either certificate are refused.
    let more = cellco.sign(retire(lot(&x, 0), 1, "CellCo"));
    let (st, body) = c.node(0).submit(&more.signed().to_json());
    assert_eq!((st, &body["error"]["code"]), (409, &"double_issuance".into()), "{body}");
    cellco.seq -= 1;
    cellco.prev = Some(batch.id());
    let on_y = cellco.sign(retire(lot(&y, 0), 1, "CellCo"));
    let (st, body) = c.node(1).submit(&on_y.signed().to_json());
    assert_eq!((st, &body["error"]["code"]), (409, &"double_issuance".into()), "{body}");
    let (_, metrics) = c.node(1).get_raw("/metrics");
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(metrics.contains("greenledger_double_issuances 2"), "{metrics}");
}

/// One lot drawn in full by two entries of its holder (seq n and n + 1), sent to two nodes at
/// the same moment: every node accepts the earlier in chain order and refuses the later.
#[test]
fn the_same_lot_drawn_at_two_nodes_settles_in_chain_order() {
    let mut c = Cluster::new(2, &[]);
    c.start_all();
    let genesis = c.genesis.clone();
    let reg_key = SecretKey::generate();
    let holder_key = SecretKey::generate();
    let other = SecretKey::generate();
    for (k, name, role) in [
        (&reg_key, "Registry", Role::Issuer),
        (&holder_key, "Holder", Role::Supplier),
        (&other, "Other", Role::Supplier),
    ] {
        let e = c.admin.admit(&k.public(), name, role);
        c.submit(0, e.signed());
    }
    let mut registry = Chain::new(reg_key, &genesis);
    let cert = registry.sign(issue(&holder_key.public(), "L-1", "eecs:NO-HYDRO-3", 5, 1_000));
    c.submit(0, cert.signed());
    c.converge(4);
    let mut holder = Chain::new(holder_key, &genesis);
    let give = |holder: &mut Chain| {
        holder.sign(CertificateTransfer {
            from: vec![WhDraw {
                lot: lot(&cert, 0),
                wh: Wh(1_000),
            }],
            to: vec![WhTo {
                holder: other.public(),
                wh: Wh(1_000),
            }],
        })
    };
    let first = give(&mut holder);
    let second = give(&mut holder);
    let (n0, n1) = (c.node(0).url.clone(), c.node(1).url.clone());
    let (a, b) = (first.signed().to_json(), second.signed().to_json());
    let t0 = std::thread::spawn(move || post(&n0, &a));
    let t1 = std::thread::spawn(move || post(&n1, &b));
    let (s0, s1) = (t0.join().unwrap(), t1.join().unwrap());
    assert_eq!(s0, 201, "the earlier draw is stored");
    assert!(
        s1 == 202 || s1 == 409 || s1 == 422,
        "the later draw waits or is refused: {s1}"
    );
    c.converge(5);
    for n in c.running() {
        let (st, _) = n.get(&format!("/v1/entries/{}", first.id()));
        assert_eq!(st, 200);
        let (st, _) = n.get(&format!("/v1/entries/{}", second.id()));
        assert_eq!(st, 404, "the overdrawing entry is in no log");
        let (_, l) = n.get(&format!("/v1/lots/{}", lot(&cert, 0)));
        assert_eq!(l["left"], 0);
    }
}
