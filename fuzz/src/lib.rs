//! What each fuzz target does with its input, and the fixtures they share: a small network
//! (genesis, an admin, two suppliers, a material and a part made of it) signed at start-up.
//!
//! Every function panics only when a property fails:
//!
//! * nothing verifies unless it is, byte for byte, an entry of the fixture network (a changed
//!   entry is refused, or decodes and fails its signature);
//! * single and batched verification agree;
//! * what decodes has one encoding (payloads re-encode to their bytes, sync messages to CBOR
//!   that decodes to the same message);
//! * a valid bundle holds only fixture entries under the fixture network;
//! * every error has a message.

use std::{collections::HashSet, fmt::Display, sync::LazyLock};

use greenledger_core::{
    Body, Bundle, Emissions, Entry, EntryId, Genesis, Membership, NetworkId, Payload, PublicKey, Quantity, SetView,
    SignedEntry, VerifiedEntry,
    amount::Mass,
    bundle::{self, EntrySet, ForkProof},
    canonical, engine, entry,
    kinds::attestation,
    model::{Attestation, MemberRevoke, Role, Unit, check_peer_id},
    rollup,
    sync::{SyncRequest, SyncResponse},
    verify::{VerifyOptions, verify_bundle},
};
use greenledger_testkit::{Chain, genesis_with_peers, key, set_inputs};

/// The fixture network.
pub struct Fixture {
    /// Its genesis (one admin).
    pub genesis: Genesis,
    /// Every entry, in an order in which each one's parents come first.
    pub entries: Vec<VerifiedEntry>,
    /// A second entry of the first supplier at seq 1: a fork with `entries[3]`.
    pub fork: VerifiedEntry,
    /// The bundle of the part.
    pub bundle: Bundle,
    /// The envelopes of every entry signed here.
    pub known: HashSet<Vec<u8>>,
    /// Membership from the genesis and the entries.
    pub membership: Membership,
}

/// The chain of custody, so that the decoders of its kinds are reached: a certificate body
/// admitted, a certificate issued to the first supplier, part of it transferred to the second,
/// the rest retired and claimed on a batch, and the batch shipped to the second supplier.
fn custody(genesis: &Genesis, admin: &mut Chain, s1: &mut Chain, s2: &Chain) -> Vec<VerifiedEntry> {
    use greenledger_core::{
        Quantity,
        amount::Wh,
        custody::LotId,
        kinds::{
            attestation::Claim,
            batch_ship::{BatchShip, QuantityDraw, QuantityTo},
            certificate::{CertificateIssue, CertificateRetire, CertificateTransfer, WhDraw, WhTo},
        },
    };
    let admit = admin.admit(&key(13).public(), "Wind registry", Role::Issuer);
    let mut registry = Chain::new(key(13), genesis);
    let issue = registry.sign(CertificateIssue {
        scheme: "EECS-GO".into(),
        serial: "SE-1".into(),
        device: vec!["eecs:SE-WIND-1".into()],
        technology: "wind".into(),
        region: "SE".into(),
        production_start: "2026-01-04T10:00:00Z".into(),
        production_end: "2026-01-04T11:00:00Z".into(),
        wh: Wh(1_000_000),
        holder: s1.public(),
    });
    let cert = LotId { entry: issue.id(), index: 0 };
    let transfer = s1.sign(CertificateTransfer {
        from: vec![WhDraw { lot: cert, wh: Wh(100_000) }],
        to: vec![WhTo { holder: s2.public(), wh: Wh(100_000) }],
    });
    let retire = s1.sign(CertificateRetire {
        from: vec![WhDraw { lot: cert, wh: Wh(900_000) }],
        beneficiary: "Smelter AG".into(),
        consumption_start: "2026-01-01T00:00:00Z".into(),
        consumption_end: "2026-02-01T00:00:00Z".into(),
        region: "SE".into(),
    });
    let mut batch = Attestation::new("urn:greenledger:alu:batch", Unit::Kilogram, Emissions::headline(Mass(4_000_000)));
    batch.produced_quantity = Some(Quantity(2_000_000_000));
    batch.electricity_kwh = Some(Quantity(400_000));
    batch.geography_country = Some("SE".into());
    batch.reference_period_start = Some("2026-01-01T00:00:00Z".into());
    batch.reference_period_end = Some("2026-01-31T00:00:00Z".into());
    batch.electricity_claims = vec![Claim {
        lot: LotId { entry: retire.id(), index: 0 },
        wh: Wh(800_000),
    }];
    let batch = s1.sign(batch);
    let ship = s1.sign(BatchShip {
        from: vec![QuantityDraw {
            lot: LotId { entry: batch.id(), index: 0 },
            quantity: Quantity(500_000_000),
        }],
        to: vec![QuantityTo {
            holder: s2.public(),
            quantity: Quantity(500_000_000),
        }],
    });
    vec![admit, issue, transfer, retire, batch, ship]
}

/// A libp2p peer id (base58).
pub use greenledger_testkit::PEER;

/// The fixture network, built once.
pub static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let genesis = genesis_with_peers("fuzz net", &[key(1).public()], &[PEER.into()]);
    let mut admin = Chain::new(key(1), &genesis);
    let (mut s1, mut s2) = (Chain::new(key(11), &genesis), Chain::new(key(12), &genesis));
    let mut entries = vec![
        admin.admit(&s1.public(), "Smelter AG", Role::Supplier),
        admin.admit(&s2.public(), "Press shop", Role::Supplier),
        admin.admit(&key(3).public(), "node one", Role::Node),
    ];
    let mut raw = Attestation::new(
        "urn:greenledger:alu:ingot",
        Unit::Kilogram,
        Emissions::headline(Mass(8_000_000)),
    );
    raw.own.fossil_ghg_emissions = Some(Mass(7_900_000));
    raw.total = raw.own.clone();
    raw.comment = Some("cast \"ingots\"\nline two".into());
    raw.evidence = vec![greenledger_core::model::Evidence {
        hash: "5e".repeat(32),
        name: Some("audit.pdf".into()),
    }];
    let raw_e = s1.sign(raw.clone());
    let mut fixed = raw;
    fixed.supersedes = Some(raw_e.id());
    fixed.own = Emissions::headline(Mass(7_500_000));
    fixed.total = fixed.own.clone();
    let fixed_e = s1.sign(fixed.clone());
    let mut part = Attestation::new(
        "urn:greenledger:sheet:1",
        Unit::Piece,
        Emissions::headline(Mass(1_500_000)),
    );
    set_inputs(&mut part, &[(fixed_e.id(), 2_500_000, &fixed.total)]);
    let part_e = s2.sign(part);
    let revoke = admin.sign(MemberRevoke {
        member: key(3).public(),
        after_seq: 0,
        reason: Some("retired".into()),
    });
    entries.extend([raw_e, fixed_e, part_e, revoke]);
    entries.extend(custody(&genesis, &mut admin, &mut s1, &s2));
    // A second entry of the first supplier at seq 1.
    let other = Attestation::new("urn:greenledger:other", Unit::Liter, Emissions::headline(Mass(1)));
    let fork = s1.sign_at(1, None, other);
    let mut set = EntrySet::new();
    for e in &entries {
        set.insert(e.entry().clone());
    }
    let target = entries[5].id();
    let bundle = bundle::assemble(&genesis, target, &set).expect("complete fixture");
    let mut known: HashSet<Vec<u8>> = entries.iter().map(|e| e.signed().to_json()).collect();
    known.insert(fork.signed().to_json());
    let membership = Membership::compute(&genesis, entries.iter().map(VerifiedEntry::entry));
    Fixture {
        genesis,
        entries,
        fork,
        bundle,
        known,
        membership,
    }
});

/// Every error must say something.
pub fn has_message(e: impl Display) {
    assert!(!e.to_string().trim().is_empty(), "an error without a message");
}

fn assert_known(v: &VerifiedEntry) {
    assert!(
        FIXTURE.known.contains(&v.signed().to_json()),
        "an entry that was never signed verified: {}",
        String::from_utf8_lossy(&v.signed().to_json())
    );
}

/// A signed entry's checks that need no other entry: id, decode, re-encode, signature (single
/// and batched, which must agree). Returns the entry if it verified.
pub fn check_signed(se: &SignedEntry) -> Option<VerifiedEntry> {
    let _ = se.id();
    let _ = se.canonical_form_id();
    let again = SignedEntry::from_json(&se.to_json()).expect("an envelope re-encodes to a readable envelope");
    assert_eq!(&again, se);
    match se.decode() {
        Ok(e) => {
            let _ = e.payload.body.summary();
            // One payload, one encoding.
            assert_eq!(
                e.payload.to_canonical().expect("a decoded payload encodes"),
                se.payload()
            );
        }
        Err(e) => has_message(e),
    }
    let single = se.verify();
    let batched = entry::verify_many(vec![se.clone()])
        .pop()
        .expect("one result per entry");
    assert_eq!(
        single.is_ok(),
        batched.is_ok(),
        "single and batched verification disagree"
    );
    match single {
        Ok(v) => {
            assert_known(&v);
            Some(v)
        }
        Err(e) => {
            has_message(e);
            None
        }
    }
}

/// Target `entry`: an entry envelope decoded, validated and verified; the same bytes as a bare
/// payload.
pub fn entry(data: &[u8]) {
    let parsed = SignedEntry::from_json(data);
    // The id read off an envelope without parsing it is the parsed envelope's id, whenever
    // both give one (gossip message ids and sync deduplication rely on it).
    if let (Some(quick), Ok(se)) = (SignedEntry::id_of_envelope(data), &parsed) {
        assert_eq!(quick, se.id());
    }
    match parsed {
        Ok(se) => {
            check_signed(&se);
        }
        Err(e) => has_message(e),
    }
    let decoded = Payload::decode(data);
    match &decoded {
        Ok(p) => {
            assert_eq!(p.to_canonical().expect("a decoded payload encodes"), data);
            assert_eq!(p.to_canonical_through_value().expect("and the reference encodes"), data);
        }
        Err(e) => has_message(e),
    }
    // The fast decoder and the reference decoder agree on every input.
    let reference = Payload::decode_through_value(data);
    if let Some(direct) = Payload::decode_direct(data) {
        assert_eq!(Ok(direct), reference);
    }
    assert_eq!(decoded, reference);
    match canonical::parse_strict(data) {
        Ok(v) => match Payload::from_value(v) {
            Ok(p) => {
                let _ = p.to_canonical();
            }
            Err(e) => has_message(e),
        },
        Err(e) => has_message(e),
    }
}

/// Target `bundle`: a bundle file decoded and verified offline, unpinned and pinned.
pub fn bundle(data: &[u8]) {
    let b = match Bundle::from_json(data) {
        Ok(b) => b,
        Err(e) => return has_message(e),
    };
    for p in b.fork_proofs.iter().flatten() {
        if let Err(e) = p.check() {
            has_message(e);
        }
    }
    let net = FIXTURE.genesis.network_id();
    for opts in [
        VerifyOptions::default(),
        VerifyOptions {
            expected_network: Some(net),
        },
    ] {
        let r = verify_bundle(&b, &opts);
        let _ = serde_json::to_string(&r).expect("a report serializes");
        for reason in &r.reasons {
            has_message(serde_json::to_string(reason).expect("a reason serializes"));
        }
        if r.valid {
            assert_eq!(b.genesis.as_ref().map(Genesis::network_id).ok(), Some(net));
            for e in b.entries.iter().flatten() {
                assert!(
                    FIXTURE.known.contains(&e.to_json()),
                    "a valid bundle with an entry never signed"
                );
            }
        }
    }
    let again = Bundle::from_json(&b.to_json()).expect("a bundle re-encodes to a readable bundle");
    assert_eq!(again.target, b.target);
    assert_eq!(
        again.entries.iter().flatten().count(),
        b.entries.iter().flatten().count()
    );
}

/// Target `http_body`: what the node does with a `POST /v1/entries` body before its store
/// (a JSON check, the envelope, re-encoding for gossip, the signature), and then the store's
/// rules that are core functions (network, membership, inputs, supersession, roll-up) applied
/// to the decoded entry against the fixture network. The rules run on entries whose signature
/// did not verify too: an admitted signer can sign any payload that decodes, so the rules must
/// hold for all of them.
pub fn http_body(data: &[u8]) {
    if data.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(data) {
        has_message(e);
        return;
    }
    let se = match SignedEntry::from_json(data) {
        Ok(se) => se,
        Err(e) => return has_message(e),
    };
    let _envelope = se.to_json();
    check_signed(&se);
    let Ok(e) = se.decode() else { return };
    store_rules(&e);
}

fn lookup(id: &EntryId) -> Option<&'static Entry> {
    FIXTURE.entries.iter().map(VerifiedEntry::entry).find(|e| e.id == *id)
}

fn store_rules(e: &Entry) {
    // The ledger's rules, as the node's writer and every verifier apply them.
    let mut set = EntrySet::new();
    for f in &FIXTURE.entries {
        set.insert(f.entry().clone());
    }
    let view = SetView::new(&FIXTURE.genesis, &set, []);
    let verdict = engine::check(e, &view);
    for v in verdict.violations {
        let _ = (v.rule(), v.code(), v.class(), v.is_final());
        has_message(v);
    }
    let _ = FIXTURE.membership.describe(&e.payload.signer);
    let Body::Attestation(a) = &e.payload.body else { return };
    // Unknown inputs: use the fixture's totals in turn, so that the roll-up runs on the input's
    // quantities anyway.
    let atts: Vec<&Attestation> = FIXTURE.entries.iter().filter_map(|e| e.entry().attestation()).collect();
    let totals: Vec<(Quantity, Emissions)> = a
        .inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let t = lookup(&input.entry)
                .and_then(|ie| ie.attestation())
                .unwrap_or(atts[i % atts.len()]);
            (input.quantity, t.total.clone())
        })
        .collect();
    let refs: Vec<(Quantity, &Emissions)> = totals.iter().map(|(q, t)| (*q, t)).collect();
    if let Err(err) = attestation::check_rollup(a, &refs) {
        has_message(err);
    }
    let _ = rollup::roll_up(&a.own, &refs);
    // A fork with a fixture entry at the same (signer, seq).
    for other in FIXTURE
        .entries
        .iter()
        .filter(|o| o.payload().signer == e.payload.signer && o.payload().seq == e.payload.seq)
    {
        if let Err(err) = ForkProof::new(other.signed().clone(), e.signed.clone()).check() {
            has_message(err);
        }
    }
}

fn cbor<T: serde::Serialize>(v: &T) -> Vec<u8> {
    cbor4ii::serde::to_vec(Vec::new(), v).expect("encoding into a Vec does not fail")
}

/// Target `sync_message`: the bytes as a CBOR `SyncRequest` and as a `SyncResponse` (as the
/// node's libp2p codec decodes them), and what the node then does with the contents: parse
/// network ids, keys and ids, check every entry as if it had been submitted, check fork
/// proofs and peer ids.
pub fn sync_message(data: &[u8]) {
    match cbor4ii::serde::from_slice::<SyncRequest>(data) {
        Ok(r) => {
            let again: SyncRequest = cbor4ii::serde::from_slice(&cbor(&r)).expect("a request re-encodes");
            assert_eq!(again, r);
            let _ = r.kind();
            let _ = r.network().parse::<NetworkId>().map_err(has_message);
            match &r {
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
        Err(e) => has_message(e),
    }
    match cbor4ii::serde::from_slice::<SyncResponse>(data) {
        Ok(r) => {
            let again: SyncResponse = cbor4ii::serde::from_slice(&cbor(&r)).expect("a response re-encodes");
            assert_eq!(again, r);
            match &r {
                SyncResponse::Log { entries, ids, .. } => {
                    for e in entries {
                        incoming_entry(e.as_bytes());
                    }
                    for id in ids {
                        if let Err(e) = id.parse::<EntryId>() {
                            has_message(e);
                        }
                    }
                }
                SyncResponse::Entries { entries } => {
                    for e in entries {
                        incoming_entry(e.as_bytes());
                    }
                }
                SyncResponse::Forks { proofs, .. } => {
                    for (a, b) in proofs {
                        if let (Some(a), Some(b)) = (incoming_entry(a.as_bytes()), incoming_entry(b.as_bytes()))
                            && let Err(e) = ForkProof::new(a.clone(), b.clone()).check()
                        {
                            has_message(e);
                            if let Err(e) = greenledger_core::custody::check_conflict(&a, &b) {
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
                SyncResponse::Refused { .. } => {}
            }
        }
        Err(e) => has_message(e),
    }
}

fn incoming_entry(bytes: &[u8]) -> Option<SignedEntry> {
    match SignedEntry::from_json(bytes) {
        Ok(se) => {
            check_signed(&se);
            Some(se)
        }
        Err(e) => {
            has_message(e);
            None
        }
    }
}

/// The seed corpora: `(target, file name, bytes)`, valid encodings of what each target reads.
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let f = &*FIXTURE;
    let mut out = Vec::new();
    for (i, e) in f.entries.iter().enumerate() {
        let kind = e.payload().body.kind().as_str();
        out.push(("entry", format!("{i}-{kind}.json"), e.signed().to_json()));
        out.push(("http_body", format!("{i}-{kind}.json"), e.signed().to_json()));
    }
    out.push(("entry", "payload.json".into(), f.entries[5].signed().payload().to_vec()));
    out.push(("bundle", "bundle.json".into(), f.bundle.to_json()));
    let mut forked = f.bundle.clone();
    forked.fork_proofs.push(Ok(ForkProof::new(
        f.entries[3].signed().clone(),
        f.fork.signed().clone(),
    )));
    out.push(("bundle", "bundle-fork.json".into(), forked.to_json()));
    let net = f.genesis.network_id().to_hex();
    let env = |e: &VerifiedEntry| String::from_utf8_lossy(&e.signed().to_json()).into_owned();
    let requests = [
        SyncRequest::Log {
            network: net.clone(),
            from: 3,
            limit: 500,
            ids_only: false,
        },
        SyncRequest::Chain {
            network: net.clone(),
            signer: key(11).public().to_hex(),
            from_seq: 1,
            limit: 1000,
        },
        SyncRequest::Entries {
            network: net.clone(),
            ids: f.entries.iter().take(2).map(|e| e.id().to_hex()).collect(),
        },
        SyncRequest::Forks {
            network: net.clone(),
            after: None,
        },
        SyncRequest::Forks {
            network: net.clone(),
            after: Some("c:00ff".into()),
        },
        SyncRequest::Peers { network: net.clone() },
        SyncRequest::Log {
            network: net,
            from: 3,
            limit: 500,
            ids_only: true,
        },
    ];
    for (i, r) in requests.iter().enumerate() {
        out.push(("sync_message", format!("req-{i}-{}.cbor", r.kind()), cbor(r)));
    }
    let responses = [
        SyncResponse::Log {
            from: 0,
            next: 2,
            log_size: 7,
            entries: f.entries.iter().take(2).map(env).collect(),
            ids: Vec::new(),
        },
        SyncResponse::Entries {
            entries: f.entries.iter().skip(3).take(3).map(env).collect(),
        },
        SyncResponse::Forks {
            proofs: vec![(env(&f.entries[3]), env(&f.fork))],
            next: Some("f:00ff".into()),
        },
        SyncResponse::Peers {
            peers: vec![(PEER.into(), vec!["/ip4/127.0.0.1/tcp/4001".into()])],
        },
        SyncResponse::Refused {
            reason: "wrong network".into(),
        },
        SyncResponse::Log {
            from: 0,
            next: 2,
            log_size: 7,
            entries: Vec::new(),
            ids: f.entries.iter().take(2).map(|e| e.id().to_hex()).collect(),
        },
    ];
    for (i, r) in responses.iter().enumerate() {
        out.push(("sync_message", format!("resp-{i}.cbor"), cbor(r)));
    }
    out
}
