//! Perturbation of every decoder of core that reads untrusted bytes: the signed entry envelope
//! (with payloads of every kind), the bare payload, the provenance bundle, the genesis file,
//! the text forms of public keys, signatures and ids, and the sync protocol's CBOR messages
//! (decoded with cbor4ii, the library of the node's libp2p codec). The key file is the CLI's
//! and is perturbed the same way in `cli/tests/keyfile.rs`.
//!
//! Inputs: random bytes, valid encodings with bits flipped or bytes replaced, inserted or
//! deleted, truncated valid encodings, and valid encodings spliced together. Properties:
//!
//! * no decoder panics, and every error has a message;
//! * nothing verifies unless it is, byte for byte, an entry that was signed here: a changed
//!   entry is refused, or decodes and then fails its signature — it is never accepted as a
//!   different valid entry (and a changed *copy* of entry E, if it verifies, is E);
//! * a truncated valid encoding is refused by its decoder;
//! * what a decoder accepts has one encoding: payloads re-encode to their bytes, ids and keys
//!   to their text, sync messages to CBOR that decodes to the same message;
//! * a valid bundle, however its file was changed, holds only entries signed here, under the
//!   sample network.
//!
//! `decoders.rs` holds the older, lighter variant of these tests; fuzzing (`fuzz/`, see
//! docs/FUZZING.md) runs the same decoders for minutes instead of seconds.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::{collections::HashSet, fmt::Display, sync::LazyLock};

use common::{GENESIS, PEER, SIGNER, key, sample_bundle};
use greenledger_core::{
    Bundle, Genesis, Payload, PublicKey, SignedEntry,
    amount::{Mass, Quantity, Share},
    bundle::ForkProof,
    canonical,
    entry::VerifiedEntry,
    id::{EntryId, NetworkId},
    keys::Signature,
    model::{Attestation, Dqi, Emissions, Evidence, MemberRevoke, Role, Unit, check_peer_id},
    sync::{SyncRequest, SyncResponse},
    verify::{VerifyOptions, verify_bundle},
};
use greenledger_testkit::{Chain, set_inputs, sign_bytes};
use proptest::{prelude::*, sample::Index, test_runner::Config};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Fixtures: one valid encoding of everything a decoder reads.

/// What a sample is, i.e. which decoder must accept it as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum What {
    Entry,
    Payload,
    Bundle,
    Genesis,
    PublicKeyText,
    SignatureText,
    EntryIdText,
    NetworkIdText,
    SyncRequest,
    SyncResponse,
}

struct Sample {
    what: What,
    name: &'static str,
    bytes: Vec<u8>,
}

/// An attestation with every optional field set, strings that need escaping included.
fn rich_attestation() -> Attestation {
    let own = Emissions {
        pcf_excluding_biogenic_uptake: Mass(8_125_000),
        pcf_including_biogenic_uptake: Some(Mass(-1_000)),
        fossil_ghg_emissions: Some(Mass(7_000_000)),
        biogenic_non_co2_emissions: Some(Mass(12)),
        biogenic_co2_uptake: Some(Mass(-8_126_000)),
        land_use_change_ghg_emissions: Some(Mass(3)),
        aircraft_ghg_emissions: Some(Mass(0)),
        packaging_ghg_emissions: Some(Mass(40_000)),
    };
    let mut a = Attestation::new("urn:epc:class:lgtin:4012345.012345.998877", Unit::Kilogram, own);
    a.produced_quantity = Some(Quantity(25_000_000_000));
    a.energy_consumption_kwh = Some(Quantity(13_500_000));
    a.renewable_energy_share = Some(Share(4_250));
    a.reference_period_start = Some("2025-01-01T00:00:00Z".into());
    a.reference_period_end = Some("2026-01-01T00:00:00Z".into());
    a.geography_country = Some("DE".into());
    a.geography_country_subdivision = Some("DE-BY".into());
    a.geography_region_or_subregion = Some("Western Europe".into());
    a.cross_sectoral_standards = vec!["ISO 14067".into(), "GHGP-Product".into()];
    a.primary_data_share = Some(Share(10_000));
    a.dqi = Some(Dqi {
        coverage_percent: Some(Share(9_000)),
        technological_dqr: Some(150),
        temporal_dqr: Some(100),
        geographical_dqr: Some(300),
        completeness_dqr: Some(200),
        reliability_dqr: Some(120),
    });
    a.evidence = vec![Evidence {
        hash: blake3::hash(b"audit report").to_hex().to_string(),
        name: Some("audit \"2025\".pdf".into()),
    }];
    a.product_name_company = Some("Aluminium ingot Ø 10 cm".into());
    a.product_description = Some("cast\tingots\u{1}, 𝄞".into());
    a.comment = Some("line one\nline two \\ end".into());
    a.extensions = Some(
        json!({"pact": {"id": "f1e2", "specVersion": "3.0.0", "n": -9007199254740991_i64, "ok": true, "list": [1, "x", []]}})
            .as_object()
            .unwrap()
            .clone(),
    );
    a
}

/// Every entry kind, signed: admin (key 1) admits a supplier, an admin and a node and revokes
/// a key; the supplier (key 11) attests a material, corrects it, and attests a part made of it.
static ENTRIES: LazyLock<Vec<VerifiedEntry>> = LazyLock::new(|| {
    let mut admin = Chain::new(key(1), &GENESIS);
    let mut out = vec![
        admin.admit(&key(11).public(), "Smelter AG", Role::Supplier),
        admin.admit(&key(2).public(), "Zweiter Admin — Ünïcødé", Role::Admin),
        admin.admit(&key(3).public(), "node one", Role::Node),
        admin.sign(MemberRevoke {
            member: key(12).public(),
            after_seq: 0,
            reason: Some("left \"the\" consortium\n".into()),
        }),
    ];
    let mut supplier = Chain::new(key(11), &GENESIS);
    let raw = rich_attestation();
    let first = supplier.sign(raw.clone());
    let mut fixed = raw;
    fixed.supersedes = Some(first.id());
    fixed.comment = Some("corrected".into());
    let fixed = supplier.sign(fixed);
    let mut part = Attestation::new(
        "urn:greenledger:part:7",
        Unit::Piece,
        Emissions::headline(Mass(1_500_000)),
    );
    let fixed_total = &fixed.entry().attestation().unwrap().total;
    set_inputs(&mut part, &[(fixed.id(), 2_500_000, fixed_total)]);
    let part = supplier.sign(part);
    out.extend([first, fixed, part]);
    out.extend(custody_entries(&mut admin, &mut supplier));
    out
});

/// One entry of every chain-of-custody kind, and a batch attestation that claims electricity
/// and draws on a shipment lot: every field of the new decoders.
fn custody_entries(admin: &mut Chain, supplier: &mut Chain) -> Vec<VerifiedEntry> {
    use greenledger_core::{
        amount::Wh,
        custody::LotId,
        kinds::{
            attestation::Claim,
            batch_ship::{BatchShip, QuantityDraw, QuantityTo},
            certificate::{CertificateIssue, CertificateRetire, CertificateTransfer, WhDraw, WhTo},
        },
    };
    let admit = admin.admit(&key(13).public(), "Registry — Ünïcødé", Role::Issuer);
    let mut registry = Chain::new(key(13), &GENESIS);
    let issue = registry.sign(CertificateIssue {
        scheme: "EECS-GO".into(),
        serial: "SE-2026-\"0001\"".into(),
        device: vec!["eecs:SE-WIND-1".into(), "irec:X-1".into()],
        technology: "wind".into(),
        region: "SE-SE3".into(),
        production_start: "2026-01-04T10:00:00Z".into(),
        production_end: "2026-01-04T12:00:00Z".into(),
        wh: Wh(2_000_000),
        holder: key(11).public(),
    });
    let cert = LotId {
        entry: issue.id(),
        index: 0,
    };
    let transfer = supplier.sign(CertificateTransfer {
        from: vec![WhDraw {
            lot: cert,
            wh: Wh(500_000),
        }],
        to: vec![
            WhTo {
                holder: key(12).public(),
                wh: Wh(200_000),
            },
            WhTo {
                holder: key(11).public(),
                wh: Wh(300_000),
            },
        ],
    });
    let retire = supplier.sign(CertificateRetire {
        from: vec![WhDraw {
            lot: cert,
            wh: Wh(1_000_000),
        }],
        beneficiary: "Smelter AG".into(),
        consumption_start: "2026-01-01T00:00:00Z".into(),
        consumption_end: "2026-02-01T00:00:00Z".into(),
        region: "SE".into(),
    });
    let mut batch = Attestation::new(
        "urn:greenledger:batch:1",
        Unit::Kilogram,
        Emissions::headline(Mass(900_000)),
    );
    batch.produced_quantity = Some(Quantity(5_000_000_000));
    batch.electricity_kwh = Some(Quantity(150_000));
    batch.geography_country = Some("SE".into());
    batch.reference_period_start = Some("2026-01-01T00:00:00Z".into());
    batch.reference_period_end = Some("2026-01-31T00:00:00Z".into());
    batch.electricity_claims = vec![Claim {
        lot: LotId {
            entry: retire.id(),
            index: 0,
        },
        wh: Wh(700_000),
    }];
    let batch = supplier.sign(batch);
    let ship = supplier.sign(BatchShip {
        from: vec![QuantityDraw {
            lot: LotId {
                entry: batch.id(),
                index: 0,
            },
            quantity: Quantity(5_000_000_000),
        }],
        to: vec![
            QuantityTo {
                holder: key(12).public(),
                quantity: Quantity(1_500_000),
            },
            QuantityTo {
                holder: key(14).public(),
                quantity: Quantity(4_998_500_000),
            },
        ],
    });
    let mut user = Attestation::new("urn:greenledger:frame:1", Unit::Piece, Emissions::headline(Mass(10)));
    user.produced_quantity = Some(Quantity(1_000_000));
    let total = &batch.entry().attestation().unwrap().total;
    set_inputs(&mut user, &[(batch.id(), 1_500_000, total)]);
    user.inputs[0].lot = Some(LotId {
        entry: ship.id(),
        index: 0,
    });
    let user = Chain::new(key(12), &GENESIS).sign(user);
    vec![admit, issue, transfer, retire, batch, ship, user]
}

static BUNDLE: LazyLock<Bundle> = LazyLock::new(sample_bundle);

/// A genesis with two admins and a founding node, and the sample network's genesis.
static GENESIS2: LazyLock<Genesis> = LazyLock::new(|| {
    Genesis::new(
        "Perturbed \"net\" ⚡",
        "2026-02-03T04:05:06Z",
        vec![key(1).public(), key(2).public()],
        vec![PEER.to_string()],
    )
    .unwrap()
});

fn cbor<T: serde::Serialize>(v: &T) -> Vec<u8> {
    cbor4ii::serde::to_vec(Vec::new(), v).unwrap()
}

fn envelope(e: &VerifiedEntry) -> String {
    String::from_utf8(e.signed().to_json()).unwrap()
}

fn sync_requests() -> Vec<SyncRequest> {
    let network = GENESIS.network_id().to_hex();
    vec![
        SyncRequest::Log {
            network: network.clone(),
            from: 17,
            limit: 500,
            ids_only: false,
        },
        SyncRequest::Log {
            network: network.clone(),
            from: 17,
            limit: 500,
            ids_only: true,
        },
        SyncRequest::Chain {
            network: network.clone(),
            signer: key(11).public().to_hex(),
            from_seq: 2,
            limit: 1000,
        },
        SyncRequest::Entries {
            network: network.clone(),
            ids: ENTRIES.iter().take(3).map(|e| e.id().to_hex()).collect(),
        },
        SyncRequest::Forks {
            network: network.clone(),
            after: Some("f:0011".into()),
        },
        SyncRequest::Peers { network },
    ]
}

fn sync_responses() -> Vec<SyncResponse> {
    let e = &*ENTRIES;
    // Two entries of the supplier at seq 1: a fork proof.
    let fork = Chain::new(key(11), &GENESIS).sign(Attestation::new(
        "urn:greenledger:other",
        Unit::Liter,
        Emissions::headline(Mass(1)),
    ));
    vec![
        SyncResponse::Log {
            from: 0,
            next: 3,
            log_size: 9,
            entries: e.iter().take(3).map(envelope).collect(),
            ids: Vec::new(),
        },
        SyncResponse::Log {
            from: 0,
            next: 3,
            log_size: 9,
            entries: Vec::new(),
            ids: e.iter().take(3).map(|x| x.id().to_hex()).collect(),
        },
        SyncResponse::Entries {
            entries: e.iter().skip(4).map(envelope).collect(),
        },
        SyncResponse::Forks {
            proofs: vec![(envelope(&e[4]), envelope(&fork))],
            next: Some("c:00ff".into()),
        },
        SyncResponse::Peers {
            peers: vec![(
                PEER.to_string(),
                vec!["/ip4/127.0.0.1/tcp/4001".into(), "/dns4/node.example/tcp/4001".into()],
            )],
        },
        SyncResponse::Refused {
            reason: "wrong network".into(),
        },
    ]
}

/// Every entry signed here: the only entries anything may ever verify as.
static KNOWN: LazyLock<HashSet<Vec<u8>>> = LazyLock::new(|| {
    let mut s: HashSet<Vec<u8>> = ENTRIES.iter().map(|e| e.signed().to_json()).collect();
    for e in BUNDLE.entries.iter().flatten() {
        s.insert(e.to_json());
    }
    for r in sync_responses() {
        if let SyncResponse::Forks { proofs, .. } = r {
            for (a, b) in proofs {
                s.insert(a.into_bytes());
                s.insert(b.into_bytes());
            }
        }
    }
    s
});

static SAMPLES: LazyLock<Vec<Sample>> = LazyLock::new(|| {
    let mut v = Vec::new();
    let names = [
        "admit supplier",
        "admit admin",
        "admit node",
        "revoke",
        "attestation (every field)",
        "attestation (correction)",
        "attestation (inputs)",
        "admit issuer",
        "certificate.issue",
        "certificate.transfer",
        "certificate.retire",
        "attestation (batch with claims)",
        "batch.ship",
        "attestation (input from a shipment lot)",
    ];
    assert_eq!(ENTRIES.len(), names.len());
    for (e, name) in ENTRIES.iter().zip(names) {
        v.push(Sample {
            what: What::Entry,
            name,
            bytes: e.signed().to_json(),
        });
    }
    v.push(Sample {
        what: What::Payload,
        name: "payload (rich attestation)",
        bytes: ENTRIES[4].signed().payload().to_vec(),
    });
    v.push(Sample {
        what: What::Payload,
        name: "payload (admit node)",
        bytes: ENTRIES[2].signed().payload().to_vec(),
    });
    v.push(Sample {
        what: What::Bundle,
        name: "bundle",
        bytes: BUNDLE.to_json(),
    });
    v.push(Sample {
        what: What::Genesis,
        name: "genesis (canonical)",
        bytes: GENESIS2.canonical_bytes(),
    });
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&GENESIS2.canonical_bytes()).unwrap()).unwrap();
    v.push(Sample {
        what: What::Genesis,
        name: "genesis (pretty)",
        bytes: pretty,
    });
    v.push(Sample {
        what: What::PublicKeyText,
        name: "public key",
        bytes: SIGNER.public().to_hex().into_bytes(),
    });
    v.push(Sample {
        what: What::SignatureText,
        name: "signature",
        bytes: ENTRIES[0].signed().signature().to_hex().into_bytes(),
    });
    v.push(Sample {
        what: What::EntryIdText,
        name: "entry id",
        bytes: ENTRIES[0].id().to_hex().into_bytes(),
    });
    v.push(Sample {
        what: What::NetworkIdText,
        name: "network id",
        bytes: GENESIS.network_id().to_hex().into_bytes(),
    });
    for r in sync_requests() {
        v.push(Sample {
            what: What::SyncRequest,
            name: r.kind(),
            bytes: cbor(&r),
        });
    }
    for r in sync_responses() {
        v.push(Sample {
            what: What::SyncResponse,
            name: "sync response",
            bytes: cbor(&r),
        });
    }
    v
});

// ---------------------------------------------------------------------------------------------
// Feeding bytes to every decoder.

/// Every error must say something.
fn has_message(e: impl Display) {
    let m = e.to_string();
    assert!(!m.trim().is_empty(), "an error without a message");
}

/// An entry envelope, as the node's `POST /v1/entries` handler and its gossip and sync paths
/// take it: JSON check, envelope, id, signature. Returns the entry if it verified, which must
/// then be one signed here.
fn feed_entry(bytes: &[u8]) -> Option<VerifiedEntry> {
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        has_message(e);
    }
    let se = match SignedEntry::from_json(bytes) {
        Ok(se) => se,
        Err(e) => {
            has_message(e);
            return None;
        }
    };
    let _ = se.id();
    let _ = se.canonical_form_id();
    // The envelope re-encodes to an envelope that decodes to the same entry.
    assert_eq!(SignedEntry::from_json(&se.to_json()).unwrap(), se);
    match se.decode() {
        Ok(e) => {
            let _ = e.payload.body.summary();
            let _ = e.attestation();
        }
        Err(e) => has_message(e),
    }
    match se.verify() {
        Ok(v) => {
            assert!(
                KNOWN.contains(&v.signed().to_json()),
                "an entry that was never signed verified: {}",
                String::from_utf8_lossy(&v.signed().to_json())
            );
            Some(v)
        }
        Err(e) => {
            has_message(e);
            None
        }
    }
}

fn feed_payload(bytes: &[u8]) {
    match Payload::decode(bytes) {
        // One payload, one encoding.
        Ok(p) => assert_eq!(
            p.to_canonical().unwrap(),
            bytes,
            "an accepted payload re-encodes differently"
        ),
        Err(e) => has_message(e),
    }
    match canonical::parse_strict(bytes) {
        Ok(v) => match Payload::from_value(v) {
            Ok(p) => {
                let _ = p.to_canonical();
            }
            Err(e) => has_message(e),
        },
        Err(e) => has_message(e),
    }
}

fn feed_bundle(bytes: &[u8]) {
    let b = match Bundle::from_json(bytes) {
        Ok(b) => b,
        Err(e) => return has_message(e),
    };
    for p in b.fork_proofs.iter().flatten() {
        if let Err(e) = p.check() {
            has_message(e);
        }
    }
    let r = verify_bundle(&b, &VerifyOptions::default());
    let _ = serde_json::to_string(&r).unwrap();
    for reason in &r.reasons {
        has_message(serde_json::to_string(reason).unwrap());
    }
    if r.valid {
        // However the file was changed, a valid bundle holds only entries signed here, under
        // the sample network.
        assert_eq!(b.genesis.as_ref().unwrap().network_id(), GENESIS.network_id());
        for e in b.entries.iter().flatten() {
            assert!(
                KNOWN.contains(&e.to_json()),
                "a valid bundle with an entry never signed"
            );
        }
        assert!(
            KNOWN
                .iter()
                .any(|k| SignedEntry::from_json(k).unwrap().id() == b.target)
        );
    }
    // The bundle's own encoding reads back to the same entries.
    let again = Bundle::from_json(&b.to_json()).unwrap();
    assert_eq!(
        again.entries.iter().flatten().count(),
        b.entries.iter().flatten().count()
    );
}

fn feed_genesis(bytes: &[u8]) {
    match Genesis::from_json(bytes) {
        Ok(g) => {
            let again = Genesis::from_json(&g.canonical_bytes()).unwrap();
            assert_eq!(again, g);
            assert_eq!(again.network_id(), g.network_id());
        }
        Err(e) => has_message(e),
    }
}

/// The text forms: what is accepted is the one text of its value.
fn feed_text(s: &str) {
    match s.parse::<PublicKey>() {
        Ok(k) => assert_eq!(k.to_hex(), s.trim()),
        Err(e) => has_message(e),
    }
    match Signature::from_hex(s) {
        Ok(sig) => assert_eq!(sig.to_hex(), s),
        Err(e) => has_message(e),
    }
    match s.parse::<EntryId>() {
        Ok(id) => assert_eq!(id.to_hex(), s),
        Err(e) => has_message(e),
    }
    match s.parse::<NetworkId>() {
        Ok(id) => assert_eq!(id.to_hex(), s),
        Err(e) => has_message(e),
    }
    // The same text inside JSON, as the serde forms read it.
    let quoted = serde_json::to_string(s).unwrap();
    let _ = serde_json::from_str::<PublicKey>(&quoted).map_err(has_message);
    let _ = serde_json::from_str::<EntryId>(&quoted).map_err(has_message);
    if let Err(e) = check_peer_id(s) {
        has_message(e);
    }
}

/// What a node does with a decoded request: parse the network, signer and ids.
fn check_request(r: &SyncRequest) {
    let _ = (r.kind(), r.network().parse::<NetworkId>().map_err(has_message));
    match r {
        SyncRequest::Chain { signer, .. } => {
            let _ = signer.parse::<PublicKey>().map_err(has_message);
        }
        SyncRequest::Entries { ids, .. } => {
            for id in ids {
                let _ = id.parse::<EntryId>().map_err(has_message);
            }
        }
        _ => {}
    }
}

/// What a node does with a decoded response: every entry is checked as if submitted.
fn check_response(r: &SyncResponse) {
    match r {
        SyncResponse::Log { entries, ids, .. } => {
            for e in entries {
                feed_entry(e.as_bytes());
            }
            for id in ids {
                let _ = id.parse::<EntryId>().map_err(has_message);
            }
        }
        SyncResponse::Entries { entries } => {
            for e in entries {
                feed_entry(e.as_bytes());
            }
        }
        SyncResponse::Forks { proofs, .. } => {
            for (a, b) in proofs {
                if let (Some(a), Some(b)) = (feed_entry(a.as_bytes()), feed_entry(b.as_bytes())) {
                    let p = ForkProof::new(a.signed().clone(), b.signed().clone());
                    if let Err(e) = p.check() {
                        has_message(e);
                    }
                }
            }
        }
        SyncResponse::Peers { peers } => {
            for (id, _) in peers {
                let _ = check_peer_id(id).map_err(has_message);
            }
        }
        SyncResponse::Refused { reason } => {
            let _ = reason.len();
        }
    }
}

fn feed_sync(bytes: &[u8]) {
    match cbor4ii::serde::from_slice::<SyncRequest>(bytes) {
        Ok(r) => {
            assert_eq!(cbor4ii::serde::from_slice::<SyncRequest>(&cbor(&r)).unwrap(), r);
            check_request(&r);
        }
        Err(e) => has_message(e),
    }
    match cbor4ii::serde::from_slice::<SyncResponse>(bytes) {
        Ok(r) => {
            assert_eq!(cbor4ii::serde::from_slice::<SyncResponse>(&cbor(&r)).unwrap(), r);
            check_response(&r);
        }
        Err(e) => has_message(e),
    }
}

/// Feeds `bytes` to every decoder.
fn feed(bytes: &[u8]) {
    feed_entry(bytes);
    feed_payload(bytes);
    feed_bundle(bytes);
    feed_genesis(bytes);
    let text = String::from_utf8_lossy(bytes);
    feed_text(&text);
    feed_sync(bytes);
}

/// Whether the decoder of `what` accepts `bytes`.
fn accepts(what: What, bytes: &[u8]) -> bool {
    let text = || std::str::from_utf8(bytes).ok();
    match what {
        What::Entry => SignedEntry::from_json(bytes).is_ok(),
        What::Payload => Payload::decode(bytes).is_ok(),
        What::Bundle => Bundle::from_json(bytes).is_ok(),
        What::Genesis => Genesis::from_json(bytes).is_ok(),
        What::PublicKeyText => text().is_some_and(|t| t.parse::<PublicKey>().is_ok()),
        What::SignatureText => text().is_some_and(|t| Signature::from_hex(t).is_ok()),
        What::EntryIdText => text().is_some_and(|t| t.parse::<EntryId>().is_ok()),
        What::NetworkIdText => text().is_some_and(|t| t.parse::<NetworkId>().is_ok()),
        What::SyncRequest => cbor4ii::serde::from_slice::<SyncRequest>(bytes).is_ok(),
        What::SyncResponse => cbor4ii::serde::from_slice::<SyncResponse>(bytes).is_ok(),
    }
}

/// Checks a changed copy of sample `s`: no panic anywhere, and if `s` is an entry, the copy
/// verifies only as `s` itself.
fn check_changed(s: &Sample, changed: &[u8]) {
    feed(changed);
    if s.what == What::Entry
        && let Some(v) = feed_entry(changed)
    {
        assert_eq!(
            v.signed().to_json(),
            s.bytes,
            "a changed {} verified as another entry",
            s.name
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic sweeps.

#[test]
fn samples_are_accepted_by_their_decoders() {
    for s in SAMPLES.iter() {
        assert!(accepts(s.what, &s.bytes), "{} ({:?}) is not accepted", s.name, s.what);
        feed(&s.bytes);
    }
    for e in ENTRIES.iter() {
        assert!(feed_entry(&e.signed().to_json()).is_some());
    }
    assert!(verify_bundle(&BUNDLE, &VerifyOptions::default()).valid);
    let kinds: HashSet<&str> = ENTRIES.iter().map(|e| e.payload().body.kind().as_str()).collect();
    assert_eq!(
        kinds.len(),
        greenledger_core::Kind::ALL.len(),
        "every entry kind has a sample"
    );
}

/// Every prefix of every sample is refused by the decoder of its kind (a prefix that only
/// drops trailing whitespace aside), without a panic anywhere.
#[test]
fn every_truncation_is_refused() {
    for s in SAMPLES.iter() {
        let content = s
            .bytes
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        for n in 0..s.bytes.len() {
            let cut = &s.bytes[..n];
            if s.what == What::Entry || n % 7 == 0 {
                // Every decoder on some of them (all of them for entries, where it matters most).
                check_changed(s, cut);
            }
            if n < content {
                assert!(!accepts(s.what, cut), "{}: a prefix of {n} bytes was accepted", s.name);
            }
        }
    }
}

/// Each of the 8 bits of every byte of every entry envelope, in turn: the changed entry is
/// refused, or it decodes and fails its signature. Never another valid entry.
#[test]
fn every_single_bit_flip_of_every_entry() {
    let mut decoded_but_refused = 0usize;
    for s in SAMPLES.iter().filter(|s| s.what == What::Entry) {
        for i in 0..s.bytes.len() {
            for bit in 0..8 {
                let mut v = s.bytes.clone();
                v[i] ^= 1 << bit;
                if let Ok(se) = SignedEntry::from_json(&v) {
                    match se.verify() {
                        Ok(ve) => panic!(
                            "{}: flip of bit {bit} at {i} verified as {}",
                            s.name,
                            String::from_utf8_lossy(&ve.signed().to_json())
                        ),
                        Err(e) => {
                            has_message(e);
                            decoded_but_refused += 1;
                        }
                    }
                }
            }
        }
    }
    // Many flips inside strings still decode; the signature is what refuses them.
    assert!(decoded_but_refused > 100, "{decoded_but_refused}");
}

/// Every single-bit flip of the text forms and the CBOR messages.
#[test]
fn every_single_bit_flip_of_the_small_samples() {
    for s in SAMPLES.iter().filter(|s| s.bytes.len() < 2048 && s.what != What::Entry) {
        for i in 0..s.bytes.len() {
            for bit in 0..8 {
                let mut v = s.bytes.clone();
                v[i] ^= 1 << bit;
                check_changed(s, &v);
            }
        }
    }
}

/// Known hostile shapes: deep nesting, huge numbers, long strings, duplicate keys, a BOM,
/// CBOR with huge declared lengths.
#[test]
fn hostile_shapes() {
    let deep = |open: &str, close: &str, n: usize| format!("{}{}", open.repeat(n), close.repeat(n)).into_bytes();
    let mut inputs: Vec<Vec<u8>> = vec![
        deep("[", "]", 100_000),
        deep("{\"a\":", "}", 100_000),
        format!(
            "{{\"payload\":{{\"a\":{}}},\"signature\":\"{}\"}}",
            String::from_utf8(deep("[", "]", 10_000)).unwrap(),
            "0".repeat(128)
        )
        .into_bytes(),
        b"{\"payload\":{},\"signature\":\"\"}".to_vec(),
        b"{\"payload\":{},\"payload\":{},\"signature\":\"\"}".to_vec(),
        b"\xef\xbb\xbf{\"payload\":{\"a\":1},\"signature\":\"00\"}".to_vec(),
        format!("{{\"a\":{}}}", "9".repeat(5000)).into_bytes(),
        format!("{{\"a\":1e{}}}", "9".repeat(500)).into_bytes(),
        format!("\"{}\"", "\\u0000".repeat(20_000)).into_bytes(),
        b"\"\\ud800\"".to_vec(),
        b"{\"version\":1,\"kind\":\"attestation\"}".to_vec(),
        b"{\"format\":\"greenledger-bundle\",\"version\":18446744073709551615}".to_vec(),
        b"{\"format\":\"greenledger-bundle\",\"version\":1,\"genesis\":{},\"target\":\"\",\"entries\":[{},[],1,\"x\"],\"forkProofs\":[{\"a\":{},\"b\":1}]}".to_vec(),
        // CBOR: an array of 2^64-1 items, a text of 2^64-1 bytes, a map, tags, deep nesting.
        vec![0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        vec![0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        vec![0xa1, 0x63, b'L', b'o', b'g', 0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        vec![0xa1, 0x67, b'E', b'n', b't', b'r', b'i', b'e', b's', 0xa1, 0x67, b'e', b'n', b't', b'r', b'i', b'e', b's', 0x9f],
        vec![0x81; 100_000],
        vec![0xc6; 100_000],
        vec![0x9f; 100_000],
    ];
    inputs.push(deep("[", "]", 127));
    for i in &inputs {
        feed(i);
    }
    // A sync message around a deep or huge entry envelope.
    let deep_entry = String::from_utf8(deep("[", "]", 50_000)).unwrap();
    feed_sync(&cbor(&SyncResponse::Entries {
        entries: vec![deep_entry.clone(), "{".repeat(10_000)],
    }));
    feed_sync(&cbor(&SyncResponse::Forks {
        proofs: vec![(deep_entry, String::new())],
        next: Some("{".repeat(10_000)),
    }));
}

// ---------------------------------------------------------------------------------------------
// Inputs found by fuzzing (fuzz/, docs/FUZZING.md).

/// `entry` target: a part whose fourth byte falls inside a character (`ur` + U+FEFF + `n:…`)
/// made the part check slice the string off a character boundary, a panic reachable from any
/// submitted, gossiped or synced entry and from any bundle.
#[test]
fn fuzz_entry_part_with_a_character_across_byte_four() {
    let crash = include_bytes!("data/fuzz/entry-part-char-boundary.json");
    feed(crash);
    let err = SignedEntry::from_json(crash).unwrap().decode().unwrap_err();
    assert!(err.to_string().contains("part"), "{err}");
    // The same part in an entry signed by an admitted supplier: refused, with the reason.
    let base: Value = serde_json::from_slice(ENTRIES[4].signed().payload()).unwrap();
    for part in [
        "ur\u{feff}n:greenledger:x",
        "u\u{e9}rn:x:y",
        "urn\u{e9}:x",
        "\u{e9}\u{e9}",
        "\u{10348}",
        "URN:x:y",
        "uRn:x:y",
        "ur",
        "",
    ] {
        let mut v = base.clone();
        v["body"]["part"] = json!(part);
        let bytes = canonical::to_canonical(&v).unwrap();
        let err = Payload::decode(&bytes).unwrap_err();
        assert!(err.to_string().contains("part"), "{part:?}: {err}");
        let se = sign_bytes(&key(11), &bytes);
        assert!(se.verify().is_err(), "{part:?}");
        feed(&se.to_json());
    }
}

// ---------------------------------------------------------------------------------------------
// Random perturbation.

fn config(cases: u32) -> Config {
    Config {
        cases,
        // The sweeps above are exhaustive where it is affordable; a failure here is shrunk
        // and its seed saved in perturb.proptest-regressions.
        ..Config::default()
    }
}

fn sample_index() -> impl Strategy<Value = usize> {
    0..SAMPLES.len()
}

/// One change to a byte string.
#[derive(Clone, Debug)]
enum Change {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, u8),
    Remove(Index),
    /// Copy a range over another place (duplicated structure).
    Dup(Index, Index, usize),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        4 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Change::Flip(i, b)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Change::Set(i, b)),
        1 => (any::<Index>(), prop::sample::select(b"{}[]\",:\\ 0a-".to_vec())).prop_map(|(i, b)| Change::Insert(i, b)),
        1 => any::<Index>().prop_map(Change::Remove),
        1 => (any::<Index>(), any::<Index>(), 1usize..64).prop_map(|(a, b, n)| Change::Dup(a, b, n)),
    ]
}

fn apply(v: &mut Vec<u8>, c: &Change) {
    if v.is_empty() {
        return;
    }
    match c {
        Change::Flip(i, b) => {
            let i = i.index(v.len());
            v[i] ^= 1 << b;
        }
        Change::Set(i, b) => {
            let i = i.index(v.len());
            v[i] = *b;
        }
        Change::Insert(i, b) => {
            let i = i.index(v.len() + 1);
            v.insert(i, *b);
        }
        Change::Remove(i) => {
            let i = i.index(v.len());
            v.remove(i);
        }
        Change::Dup(from, to, n) => {
            let from = from.index(v.len());
            let end = (from + n).min(v.len());
            let chunk = v[from..end].to_vec();
            let to = to.index(v.len() + 1);
            v.splice(to..to, chunk);
        }
    }
}

/// Arbitrary sync messages: any strings and numbers, entry envelopes among them.
fn any_request() -> impl Strategy<Value = SyncRequest> {
    let s = || prop_oneof![".{0,70}", "[0-9a-f]{64}"];
    prop_oneof![
        (s(), any::<u64>(), any::<u32>(), any::<bool>()).prop_map(|(network, from, limit, ids_only)| {
            SyncRequest::Log {
                network,
                from,
                limit,
                ids_only,
            }
        }),
        (s(), s(), any::<u64>(), any::<u32>()).prop_map(|(network, signer, from_seq, limit)| SyncRequest::Chain {
            network,
            signer,
            from_seq,
            limit
        }),
        (s(), prop::collection::vec(s(), 0..8)).prop_map(|(network, ids)| SyncRequest::Entries { network, ids }),
        (s(), prop::option::of(s())).prop_map(|(network, after)| SyncRequest::Forks { network, after }),
        s().prop_map(|network| SyncRequest::Peers { network }),
    ]
}

fn any_response() -> impl Strategy<Value = SyncResponse> {
    let entry = || prop_oneof![".{0,40}", (0..ENTRIES.len()).prop_map(|i| envelope(&ENTRIES[i])),];
    prop_oneof![
        (
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            prop::collection::vec(entry(), 0..4),
            prop::collection::vec(".{0,70}", 0..4)
        )
            .prop_map(|(from, next, log_size, entries, ids)| SyncResponse::Log {
                from,
                next,
                log_size,
                entries,
                ids
            }),
        prop::collection::vec(entry(), 0..4).prop_map(|entries| SyncResponse::Entries { entries }),
        (
            prop::collection::vec((entry(), entry()), 0..3),
            prop::option::of(".{0,40}")
        )
            .prop_map(|(proofs, next)| SyncResponse::Forks { proofs, next }),
        prop::collection::vec((".{0,60}", prop::collection::vec(".{0,30}", 0..3)), 0..3)
            .prop_map(|peers| SyncResponse::Peers { peers }),
        ".{0,40}".prop_map(|reason| SyncResponse::Refused { reason }),
    ]
}

proptest! {
    #![proptest_config(config(4096))]

    #[test]
    fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        feed(&bytes);
    }

    /// Bytes from the alphabet of JSON and hex, so that the parsers get past the first byte.
    #[test]
    fn random_json_alphabet(bytes in prop::collection::vec(prop::sample::select(b"{}[]\":,\\ 0123456789abcdefnulrtsy-.eE".to_vec()), 0..200)) {
        feed(&bytes);
    }

    /// A valid encoding with 1–5 changes (bit flips, byte changes, insertions, deletions,
    /// duplicated ranges).
    #[test]
    fn changed_valid_encodings(which in sample_index(), changes in prop::collection::vec(change(), 1..6)) {
        let s = &SAMPLES[which];
        let mut v = s.bytes.clone();
        for c in &changes {
            apply(&mut v, c);
        }
        check_changed(s, &v);
    }
}

proptest! {
    #![proptest_config(config(2048))]

    /// A prefix of one valid encoding followed by a suffix of another (or the same).
    #[test]
    fn spliced_valid_encodings(a in sample_index(), b in sample_index(), cut_a in any::<Index>(), cut_b in any::<Index>()) {
        let (x, y) = (&SAMPLES[a].bytes, &SAMPLES[b].bytes);
        let mut v = x[..cut_a.index(x.len() + 1)].to_vec();
        v.extend_from_slice(&y[cut_b.index(y.len() + 1)..]);
        feed(&v);
    }

    /// A range of one valid encoding inserted into another.
    #[test]
    fn valid_encodings_with_a_piece_of_another(
        a in sample_index(),
        b in sample_index(),
        at in any::<Index>(),
        from in any::<Index>(),
        len in 1usize..200,
    ) {
        let (x, y) = (&SAMPLES[a].bytes, &SAMPLES[b].bytes);
        let at = at.index(x.len() + 1);
        let from = from.index(y.len());
        let mut v = x[..at].to_vec();
        v.extend_from_slice(&y[from..(from + len).min(y.len())]);
        v.extend_from_slice(&x[at..]);
        check_changed(&SAMPLES[a], &v);
    }

    /// A truncated valid encoding, at a random point.
    #[test]
    fn truncated_valid_encodings(which in sample_index(), cut in any::<Index>()) {
        let s = &SAMPLES[which];
        let n = cut.index(s.bytes.len());
        check_changed(s, &s.bytes[..n]);
    }

    /// Arbitrary sync messages encode and decode to themselves, and what a node does with
    /// their contents never panics; changed encodings of them neither.
    #[test]
    fn arbitrary_sync_messages(req in any_request(), resp in any_response(), changes in prop::collection::vec(change(), 0..4)) {
        let (rb, sb) = (cbor(&req), cbor(&resp));
        prop_assert_eq!(cbor4ii::serde::from_slice::<SyncRequest>(&rb).unwrap(), req.clone());
        prop_assert_eq!(cbor4ii::serde::from_slice::<SyncResponse>(&sb).unwrap(), resp.clone());
        check_request(&req);
        check_response(&resp);
        for mut v in [rb, sb] {
            for c in &changes {
                apply(&mut v, c);
            }
            feed_sync(&v);
        }
    }

    /// Text forms: random text, and valid hex with one character changed.
    #[test]
    fn text_forms(s in ".{0,140}", hex in "[0-9a-f]{64}", at in 0usize..64, c in any::<char>()) {
        feed_text(&s);
        feed_text(&hex);
        let mut changed: Vec<char> = hex.chars().collect();
        changed[at] = c;
        feed_text(&changed.into_iter().collect::<String>());
        feed_text(&format!(" {hex}\n"));
        feed_text(&format!("{hex}{hex}"));
    }
}
