//! The rule engine has two callers that must never disagree: the node's writer, deciding each
//! entry as it arrives against RocksDB, and the bundle verifier, deciding an entry against a
//! set of entries. Random sequences of valid and invalid entries (forks, revocations, missing
//! and refused inputs, inputs that are no attestation, corrections of every kind, wrong totals,
//! broken links, unadmitted signers; certificates issued twice, transfers, retirements and
//! claims within and beyond what is left, by holders and by others, batches shipped) are
//! applied to a real store; after each one, the verifier
//! is given what the node holds (its log and its fork proofs) plus the entry, and:
//!
//! * the node stored the entry exactly when the verifier finds nothing wrong with it, and
//! * when the node refused it, the verifier names the same rule.
//!
//! A signer whose entry is not stored signs its next entry where it stood (as the CLI does):
//! a bundle holds parts of chains, so it cannot see a `prev` the node never stored.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use greenledger_core::{
    Bundle, EntryId, EntrySet, VerifiedEntry,
    amount::{Mass, Quantity, Wh},
    custody::LotId,
    entry::Entry,
    kinds::{
        attestation::Claim,
        batch_ship::{BatchShip, QuantityDraw, QuantityTo},
        certificate::{CertificateIssue, CertificateRetire, CertificateTransfer, WhDraw, WhTo},
    },
    model::{Attestation, Emissions, Unit},
    verify::{VerifyOptions, verify_bundle},
};
use greenledger_node::{
    Config,
    identity::Identity,
    store::{Outcome, Store},
};
use greenledger_testkit::{Chain, Consortium, key};
use proptest::prelude::*;

/// One step of a generated history. Indices pick among the suppliers and among the
/// attestations signed so far (wrapping), so every generated step can be applied.
#[derive(Debug, Clone)]
enum Op {
    /// A valid attestation with inputs.
    Attest {
        who: usize,
        inputs: Vec<(usize, i64)>,
        own: i64,
    },
    /// An attestation whose total is not its roll-up.
    WrongTotal { who: usize },
    /// A second, different entry at the signer's last stored seq.
    Fork { who: usize },
    /// The admin revokes a supplier after one of its seqs (`back` below its head).
    Revoke { who: usize, back: u64 },
    /// An input that no one ever signed.
    MissingInput { who: usize },
    /// A correction of an attestation (the signer's own or another's, same part or another).
    Supersede { who: usize, target: usize, same_part: bool },
    /// The next entry names a wrong `prev`.
    WrongPrev { who: usize },
    /// An attestation whose input is an admission.
    InputIsAdmission { who: usize },
    /// A key that was never admitted attests.
    Unadmitted,
    /// The issuer certifies hours `from..from + span` of a device to a supplier (two issues of
    /// one device with overlapping hours are a double issuance).
    Issue {
        device: usize,
        from: u32,
        span: u32,
        holder: usize,
    },
    /// A supplier transfers Wh of a lot (its own or not, within what is left or not).
    Transfer { who: usize, lot: usize, wh: i64, to: usize },
    /// A supplier retires Wh of a lot.
    Retire { who: usize, lot: usize, wh: i64 },
    /// A supplier's batch claims Wh of a lot.
    Claim { who: usize, lot: usize, wh: i64 },
    /// A supplier's batch of `quantity` units, shipped on in part.
    Ship {
        who: usize,
        lot: usize,
        quantity: i64,
        to: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0usize..3;
    prop_oneof![
        6 => (who.clone(), prop::collection::vec((0usize..64, 1i64..5_000_000), 0..3), 0i64..10_000_000)
            .prop_map(|(who, inputs, own)| Op::Attest { who, inputs, own }),
        1 => who.clone().prop_map(|who| Op::WrongTotal { who }),
        1 => who.clone().prop_map(|who| Op::Fork { who }),
        1 => (who.clone(), 0u64..3).prop_map(|(who, back)| Op::Revoke { who, back }),
        1 => who.clone().prop_map(|who| Op::MissingInput { who }),
        2 => (who.clone(), 0usize..64, any::<bool>())
            .prop_map(|(who, target, same_part)| Op::Supersede { who, target, same_part }),
        1 => who.clone().prop_map(|who| Op::WrongPrev { who }),
        1 => who.prop_map(|who| Op::InputIsAdmission { who }),
        1 => Just(Op::Unadmitted),
        2 => (0usize..3, 0u32..6, 1u32..3, 0usize..3)
            .prop_map(|(device, from, span, holder)| Op::Issue { device, from, span, holder }),
        2 => (0usize..3, 0usize..64, 1i64..1_500, 0usize..3).prop_map(|(who, lot, wh, to)| Op::Transfer { who, lot, wh, to }),
        2 => (0usize..3, 0usize..64, 1i64..1_500).prop_map(|(who, lot, wh)| Op::Retire { who, lot, wh }),
        2 => (0usize..3, 0usize..64, 1i64..1_500).prop_map(|(who, lot, wh)| Op::Claim { who, lot, wh }),
        1 => (0usize..3, 0usize..64, 1i64..3, 0usize..3).prop_map(|(who, lot, quantity, to)| Op::Ship { who, lot, quantity, to }),
    ]
}

struct World {
    c: Consortium,
    suppliers: Vec<Chain>,
    stranger: Chain,
    issuer: Chain,
    /// Every lot created by an entry signed so far (stored or not), to draw on.
    lots: Vec<LotId>,
    /// Every attestation signed (stored or not), to draw inputs and targets from.
    attestations: Vec<Entry>,
    admissions: Vec<Entry>,
    store: Store,
    rt: tokio::runtime::Runtime,
}

impl World {
    fn part(&self, who: usize) -> String {
        format!("urn:greenledger:diff:part-{who}-{}", self.suppliers[who].seq)
    }

    fn pick(&self, i: usize) -> Option<&Entry> {
        (!self.attestations.is_empty()).then(|| &self.attestations[i % self.attestations.len()])
    }

    /// The entry an op makes, and the chain that signed it (to roll back if not stored).
    fn make(&mut self, op: &Op) -> (VerifiedEntry, Option<usize>) {
        match op {
            Op::Attest { who, inputs, own } => {
                let mut picked: Vec<(Entry, i64)> = Vec::new();
                for (i, q) in inputs {
                    if let Some(e) = self.pick(*i).cloned()
                        && !picked.iter().any(|(p, _)| p.id == e.id)
                    {
                        picked.push((e, *q));
                    }
                }
                let refs: Vec<(&Entry, i64)> = picked.iter().map(|(e, q)| (e, *q)).collect();
                let part = self.part(*who);
                (self.suppliers[*who].attest(&part, *own, &refs), Some(*who))
            }
            Op::WrongTotal { who } => {
                let mut a = Attestation::new(&self.part(*who), Unit::Kilogram, Emissions::headline(Mass(5)));
                a.total = Emissions::headline(Mass(6));
                (self.suppliers[*who].sign(a), Some(*who))
            }
            Op::Fork { who } => {
                let ch = &self.suppliers[*who];
                let seq = ch.seq.saturating_sub(1).max(1);
                let prev = self.store.chain_at(&ch.public(), seq - 1).unwrap();
                let a = Attestation::new(
                    "urn:greenledger:diff:twin",
                    Unit::Kilogram,
                    Emissions::headline(Mass(1)),
                );
                (ch.sign_at(seq, prev, a), None)
            }
            Op::Revoke { who, back } => {
                let head = self.suppliers[*who].seq.saturating_sub(1);
                let member = self.suppliers[*who].public();
                (
                    self.c.admin.revoke(&member, head.saturating_sub(*back)),
                    Some(usize::MAX),
                )
            }
            Op::MissingInput { who } => {
                let mut a = Attestation::new(&self.part(*who), Unit::Kilogram, Emissions::headline(Mass(5)));
                a.inputs.push(greenledger_core::Input {
                    entry: EntryId([7; 32]),
                    quantity: Quantity(1),
                    lot: None,
                });
                (self.suppliers[*who].sign(a), Some(*who))
            }
            Op::Supersede { who, target, same_part } => {
                let Some(old) = self.pick(*target).cloned() else {
                    return self.make(&Op::WrongTotal { who: *who });
                };
                let part = if *same_part {
                    old.attestation().unwrap().part.clone()
                } else {
                    self.part(*who)
                };
                let mut a = greenledger_testkit::attestation(&part, 3, &[]);
                a.supersedes = Some(old.id);
                (self.suppliers[*who].sign(a), Some(*who))
            }
            Op::WrongPrev { who } => {
                let ch = &self.suppliers[*who];
                if ch.seq == 1 {
                    return self.make(&Op::WrongTotal { who: *who });
                }
                let a = greenledger_testkit::attestation(&self.part(*who), 1, &[]);
                (ch.sign_at(ch.seq, Some(EntryId([9; 32])), a), None)
            }
            Op::InputIsAdmission { who } => {
                let adm = self.admissions[0].clone();
                let mut a = Attestation::new(&self.part(*who), Unit::Kilogram, Emissions::headline(Mass(5)));
                a.inputs.push(greenledger_core::Input {
                    entry: adm.id,
                    quantity: Quantity(1),
                    lot: None,
                });
                (self.suppliers[*who].sign(a), Some(*who))
            }
            Op::Unadmitted => {
                let a = greenledger_testkit::attestation("urn:greenledger:diff:stranger", 1, &[]);
                (self.stranger.sign(a), Some(usize::MAX - 1))
            }
            Op::Issue {
                device,
                from,
                span,
                holder,
            } => {
                let hour = |h: u32| format!("2026-01-04T{:02}:00:00Z", 8 + h);
                let issue = CertificateIssue {
                    scheme: "EECS-GO".into(),
                    serial: format!("S-{}", self.issuer.seq),
                    device: vec![format!("eecs:DEV-{device}")],
                    technology: "wind".into(),
                    region: "SE".into(),
                    production_start: hour(*from),
                    production_end: hour(from + span),
                    wh: Wh(1_000),
                    holder: self.suppliers[*holder].public(),
                };
                (self.issuer.sign(issue), Some(usize::MAX - 2))
            }
            Op::Transfer { who, lot, wh, to } => {
                let Some(lot) = self.pick_lot(*lot) else {
                    return self.make(&Op::WrongTotal { who: *who });
                };
                let t = CertificateTransfer {
                    from: vec![WhDraw { lot, wh: Wh(*wh) }],
                    to: vec![WhTo {
                        holder: self.suppliers[*to].public(),
                        wh: Wh(*wh),
                    }],
                };
                (self.suppliers[*who].sign(t), Some(*who))
            }
            Op::Retire { who, lot, wh } => {
                let Some(lot) = self.pick_lot(*lot) else {
                    return self.make(&Op::WrongTotal { who: *who });
                };
                let r = CertificateRetire {
                    from: vec![WhDraw { lot, wh: Wh(*wh) }],
                    beneficiary: format!("Supplier {who}"),
                    consumption_start: "2026-01-01T00:00:00Z".into(),
                    consumption_end: "2026-02-01T00:00:00Z".into(),
                    region: "SE".into(),
                };
                (self.suppliers[*who].sign(r), Some(*who))
            }
            Op::Claim { who, lot, wh } => {
                let Some(lot) = self.pick_lot(*lot) else {
                    return self.make(&Op::WrongTotal { who: *who });
                };
                // A batch of 2 units at 1 kWh each: 2,000 Wh, of which `wh` claimed.
                let mut a = Attestation::new(&self.part(*who), Unit::Piece, Emissions::headline(Mass(5)));
                a.produced_quantity = Some(Quantity(2_000_000));
                a.electricity_kwh = Some(Quantity(1_000_000));
                a.geography_country = Some("SE".into());
                a.reference_period_start = Some("2026-01-02T00:00:00Z".into());
                a.reference_period_end = Some("2026-01-31T00:00:00Z".into());
                a.electricity_claims = vec![Claim {
                    lot,
                    wh: Wh((*wh).min(2_000)),
                }];
                (self.suppliers[*who].sign(a), Some(*who))
            }
            Op::Ship { who, lot, quantity, to } => {
                // A lot of a batch, or a new batch of 3 units to ship from.
                let lot = match self.pick_lot(*lot) {
                    Some(l) if *lot % 2 == 0 => l,
                    _ => {
                        let mut a = Attestation::new(&self.part(*who), Unit::Kilogram, Emissions::headline(Mass(5)));
                        a.produced_quantity = Some(Quantity(3_000_000));
                        return (self.suppliers[*who].sign(a), Some(*who));
                    }
                };
                let q = Quantity(quantity * 1_000_000);
                let s = BatchShip {
                    from: vec![QuantityDraw { lot, quantity: q }],
                    to: vec![QuantityTo {
                        holder: self.suppliers[*to].public(),
                        quantity: q,
                    }],
                };
                (self.suppliers[*who].sign(s), Some(*who))
            }
        }
    }

    fn pick_lot(&self, i: usize) -> Option<LotId> {
        (!self.lots.is_empty()).then(|| self.lots[i % self.lots.len()])
    }

    /// What the node holds, plus `e`: its log, the entries of its fork proofs, and `e`.
    fn bundle_with(&self, e: &VerifiedEntry) -> Bundle {
        let (size, _) = self.store.head().unwrap();
        let mut set = EntrySet::new();
        for (_, id, _) in self.store.log_range(0, size as usize).unwrap() {
            set.insert(self.store.get_decoded(&id).unwrap());
        }
        for p in self.store.fork_proofs(1024).unwrap() {
            set.insert(p.a.decode().unwrap());
            set.insert(p.b.decode().unwrap());
        }
        for (_, _, p) in self.store.conflicts(1024).unwrap() {
            set.insert(p.a.decode().unwrap());
            set.insert(p.b.decode().unwrap());
        }
        set.insert(e.entry().clone());
        let mut seen = HashSet::new();
        let entries = set
            .iter()
            .filter(|x| seen.insert(x.id))
            .map(|x| Ok(x.signed.clone()))
            .collect();
        Bundle {
            genesis: Ok(self.c.genesis.clone()),
            target: e.id(),
            entries,
            fork_proofs: Vec::new(),
        }
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let identity = Identity::init(dir.path()).unwrap();
    let mut c = Consortium::new("differential");
    let suppliers: Vec<Chain> = (0..3)
        .map(|i| c.supplier(11 + i as u8, &format!("Supplier {i}")))
        .collect();
    let stranger = Chain::new(key(99), &c.genesis);
    let issuer = c.member(40, "Registry", greenledger_core::Role::Issuer);
    let (store, writer) = Store::open(&dir.path().join("db"), &c.genesis, &Config::default(), identity).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for e in &c.entries {
        let out = rt.block_on(store.ingest(e.clone()));
        prop_assert!(matches!(out, Ok(Outcome::Stored { .. })), "setup: {out:?}");
    }
    let admissions = c.entries.iter().map(|e| e.entry().clone()).collect();
    let mut w = World {
        c,
        suppliers,
        stranger,
        issuer,
        lots: Vec::new(),
        attestations: Vec::new(),
        admissions,
        store,
        rt,
    };
    let pinned = VerifyOptions {
        expected_network: Some(w.c.genesis.network_id()),
    };
    for op in &ops {
        let (e, signer) = w.make(op);
        let bundle = w.bundle_with(&e);
        let outcome = w.rt.block_on(w.store.ingest(e.clone()));
        let report = verify_bundle(&bundle, &pinned);
        let about_e: Vec<_> = report.reasons.iter().filter(|r| r.entry == Some(e.id())).collect();
        if matches!(outcome, Ok(Outcome::Duplicate { .. })) {
            continue; // decided when it first arrived
        }
        let stored = matches!(outcome, Ok(Outcome::Stored { .. }));
        prop_assert_eq!(
            stored,
            about_e.is_empty(),
            "{:?}: node {:?}, verifier {:#?}",
            op,
            outcome,
            about_e
        );
        if let Err(err) = &outcome {
            let v = err.violation().expect("a rule refused it");
            prop_assert!(
                about_e.iter().any(|r| r.step == v.rule().step()),
                "{:?}: node refused for {} (step {}), verifier said {:#?}",
                op,
                v,
                v.rule().step(),
                about_e
            );
        }
        if e.entry().attestation().is_some() {
            w.attestations.push(e.entry().clone());
        }
        let outputs = e.entry().payload.body.outputs(e.entry()).len();
        w.lots
            .extend((0..outputs as u32).map(|index| LotId { entry: e.id(), index }));
        // A signer whose entry was not stored signs its next entry where it stood.
        if !stored {
            let roll_back = |ch: &mut Chain| {
                ch.seq -= 1;
                ch.prev = (ch.seq > 1)
                    .then(|| w.store.chain_at(&ch.public(), ch.seq - 1).unwrap())
                    .flatten();
            };
            match signer {
                Some(usize::MAX) => roll_back(&mut w.c.admin),
                Some(i) if i == usize::MAX - 1 => roll_back(&mut w.stranger),
                Some(i) if i == usize::MAX - 2 => roll_back(&mut w.issuer),
                Some(i) => roll_back(&mut w.suppliers[i]),
                None => {}
            }
        }
    }
    drop(w.store);
    writer.join();
    Ok(())
}

proptest! {
    // Each case opens a RocksDB store and syncs every entry: a bounded number of cases, so
    // that the suite stays fast; PROPTEST_CASES raises it.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_node_and_the_bundle_verifier_agree_on_every_entry(ops in prop::collection::vec(op(), 1..40)) {
        run(ops)?;
    }
}

/// A fixed history that takes every kind of step.
#[test]
fn a_history_with_every_kind_of_step_agrees() {
    let ops = vec![
        Op::Attest {
            who: 0,
            inputs: vec![],
            own: 1_000,
        },
        Op::Attest {
            who: 1,
            inputs: vec![(0, 2_000_000)],
            own: 5,
        },
        Op::WrongTotal { who: 2 },
        Op::Supersede {
            who: 0,
            target: 0,
            same_part: true,
        },
        Op::Supersede {
            who: 1,
            target: 0,
            same_part: true,
        },
        Op::MissingInput { who: 2 },
        Op::InputIsAdmission { who: 1 },
        Op::Fork { who: 0 },
        Op::Attest {
            who: 2,
            inputs: vec![(0, 1_000_000)],
            own: 7,
        },
        Op::Attest {
            who: 0,
            inputs: vec![],
            own: 1,
        },
        Op::WrongPrev { who: 1 },
        Op::Revoke { who: 1, back: 1 },
        Op::Attest {
            who: 1,
            inputs: vec![],
            own: 1,
        },
        Op::Unadmitted,
    ];
    run(ops).unwrap();
}

/// A fixed history of the chain of custody: a double issuance, transfers by the holder and by
/// another, overdraws, retirements, claims and shipments.
#[test]
fn a_custody_history_agrees() {
    let ops = vec![
        Op::Issue {
            device: 0,
            from: 0,
            span: 2,
            holder: 0,
        },
        Op::Issue {
            device: 1,
            from: 0,
            span: 1,
            holder: 1,
        },
        Op::Transfer {
            who: 0,
            lot: 0,
            wh: 400,
            to: 1,
        },
        Op::Transfer {
            who: 1,
            lot: 0,
            wh: 10,
            to: 1,
        },
        Op::Retire {
            who: 0,
            lot: 0,
            wh: 700,
        },
        Op::Retire {
            who: 0,
            lot: 0,
            wh: 600,
        },
        Op::Claim {
            who: 0,
            lot: 3,
            wh: 500,
        },
        Op::Claim {
            who: 0,
            lot: 3,
            wh: 200,
        },
        Op::Retire {
            who: 1,
            lot: 1,
            wh: 1_000,
        },
        Op::Issue {
            device: 1,
            from: 0,
            span: 2,
            holder: 2,
        },
        Op::Claim {
            who: 1,
            lot: 5,
            wh: 100,
        },
        Op::Retire {
            who: 1,
            lot: 2,
            wh: 400,
        },
        Op::Ship {
            who: 2,
            lot: 1,
            quantity: 1,
            to: 0,
        },
        Op::Ship {
            who: 2,
            lot: 6,
            quantity: 2,
            to: 0,
        },
        Op::Ship {
            who: 2,
            lot: 6,
            quantity: 2,
            to: 1,
        },
    ];
    run(ops).unwrap();
}
