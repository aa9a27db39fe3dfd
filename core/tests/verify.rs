//! `verify::verify_bundle`, one test per failure branch, through the public API only.
//!
//! Every test builds a small network with [`Net`]: a testkit [`Consortium`] (a genesis, its
//! admin, admitted suppliers and an [`EntrySet`]) in which any key can sign. Entries are signed
//! by testkit [`Chain`]s with the right `seq`/`prev` and with totals rolled up exactly, bundles
//! come from `bundle::assemble`, and a test then breaks exactly one thing and checks the step
//! number and the message of the reason.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use greenledger_core::{
    Bundle,
    amount::{Mass, Quantity},
    bundle::{self, EntrySet, EntrySource, ForkProof},
    entry::{ENTRY_TAG, Entry, SignedEntry},
    id::{EntryId, NetworkId},
    keys::{self, PublicKey, SecretKey, Signature},
    membership::{AuthError, Membership},
    model::{Attestation, Body, Emissions, Genesis, Input, Kind, MemberAdmit, Role, Unit},
    rollup,
    verify::{Report, TreeNode, VerifyOptions, verify_assembled, verify_bundle},
};
use greenledger_testkit::{Chain, Consortium, genesis, key, set_inputs, sign_bytes};
use num_bigint::BigUint;

const ADMIN: u8 = 1;

/// A test network: a consortium (genesis, the admin's chain, entries) and the chain of every
/// other key that has signed in it, so that a test can sign as any key.
struct Net {
    c: Consortium,
    chains: HashMap<PublicKey, Chain>,
}

impl Net {
    /// A network whose only genesis admin is `key(ADMIN)`.
    fn new() -> Self {
        Self::with_admins(&[ADMIN])
    }

    fn with_admins(seeds: &[u8]) -> Self {
        let admins: Vec<PublicKey> = seeds.iter().map(|s| key(*s).public()).collect();
        Self::of(genesis("test network", &admins))
    }

    /// A network of `genesis` (its consortium signs as `key(ADMIN)`).
    fn of(genesis: Genesis) -> Self {
        Net {
            c: Consortium::with_genesis(genesis, key(ADMIN)),
            chains: HashMap::new(),
        }
    }

    fn id(&self) -> NetworkId {
        self.c.genesis.network_id()
    }

    fn admin(&self) -> SecretKey {
        key(ADMIN)
    }

    /// The chain of `k`: the consortium's admin chain, or `k`'s own (new at seq 1).
    fn chain(&mut self, k: &SecretKey) -> &mut Chain {
        if k.public() == self.c.admin.public() {
            return &mut self.c.admin;
        }
        let genesis = &self.c.genesis;
        self.chains
            .entry(k.public())
            .or_insert_with(|| Chain::new(SecretKey::from_seed(&k.to_seed()), genesis))
    }

    /// Signs `body` at an explicit position (and network), adds it to the set. The signer's
    /// chain moves on if the entry is at or beyond its next position.
    fn sign_at(&mut self, k: &SecretKey, network: NetworkId, seq: u64, prev: Option<EntryId>, body: Body) -> Entry {
        let chain = self.chain(k);
        let e = if network == chain.network {
            chain.sign_at(seq, prev, body)
        } else {
            Chain {
                network,
                ..chain.twin()
            }
            .sign_at(seq, prev, body)
        };
        if seq >= chain.seq {
            chain.seq = seq + 1;
            chain.prev = Some(e.id());
        }
        self.c.record(&e);
        e.into_entry()
    }

    /// The next `(seq, prev)` of a signer's chain.
    fn next(&self, k: &PublicKey) -> (u64, Option<EntryId>) {
        let chain = if *k == self.c.admin.public() {
            Some(&self.c.admin)
        } else {
            self.chains.get(k)
        };
        chain.map_or((1, None), |c| (c.seq, c.prev))
    }

    /// Signs `body` as the signer's next entry.
    fn push(&mut self, k: &SecretKey, body: impl Into<Body>) -> Entry {
        let e = self.chain(k).sign(body);
        self.c.record(&e);
        e.into_entry()
    }

    fn admit(&mut self, by: &SecretKey, member: &PublicKey, role: Role, name: &str) -> Entry {
        let e = self.chain(by).admit(member, name, role);
        self.c.record(&e);
        e.into_entry()
    }

    fn revoke(&mut self, by: &SecretKey, member: &PublicKey, after_seq: u64) -> Entry {
        let e = self.chain(by).revoke(member, after_seq);
        self.c.record(&e);
        e.into_entry()
    }

    /// A new key admitted as a supplier by the genesis admin.
    fn supplier(&mut self, seed: u8, name: &str) -> SecretKey {
        let chain = self.c.supplier(seed, name);
        self.chains.insert(chain.public(), chain);
        key(seed)
    }

    /// An attestation with the given inputs and the correctly rolled-up total (an input that
    /// is not an attestation of the set counts as a zero total).
    fn att(&self, part: &str, own: Emissions, inputs: &[(EntryId, i64)]) -> Attestation {
        let totals: Vec<Emissions> = inputs
            .iter()
            .map(|(id, _)| {
                self.c
                    .set
                    .get(id)
                    .and_then(|e| e.attestation().map(|a| a.total.clone()))
                    .unwrap_or_default()
            })
            .collect();
        let inputs: Vec<(EntryId, i64, &Emissions)> =
            inputs.iter().zip(&totals).map(|((id, q), t)| (*id, *q, t)).collect();
        let mut a = Attestation::new(part, Unit::Kilogram, own);
        set_inputs(&mut a, &inputs);
        a
    }

    fn attest(&mut self, by: &SecretKey, part: &str, own_mg: i64, inputs: &[(EntryId, i64)]) -> Entry {
        let a = self.att(part, Emissions::headline(Mass(own_mg)), inputs);
        self.push(by, a)
    }

    fn push_att(&mut self, by: &SecretKey, a: Attestation) -> Entry {
        self.push(by, a)
    }

    fn bundle(&self, target: EntryId) -> Bundle {
        self.c.bundle(target)
    }

    fn verify(&self, target: EntryId) -> Report {
        self.c.verify(target)
    }

    fn verify_bundle(&self, b: &Bundle) -> Report {
        verify_bundle(b, &self.c.pinned())
    }
}

/// A small valid network: supplier `s1` attests a raw material `raw`, supplier `s2` makes
/// `part` from 2.5 kg of it.
struct Fixture {
    net: Net,
    s1: SecretKey,
    s2: SecretKey,
    raw: Entry,
    part: Entry,
}

fn fixture() -> Fixture {
    let mut net = Net::new();
    let s1 = net.supplier(11, "Smelter");
    let s2 = net.supplier(12, "Press shop");
    let raw = net.attest(&s1, "urn:greenledger:alu:ingot", 8_000_000, &[]);
    let part = net.attest(&s2, "urn:greenledger:sheet:1", 1_500_000, &[(raw.id, 2_500_000)]);
    Fixture { net, s1, s2, raw, part }
}

fn failed_steps(r: &Report) -> Vec<u8> {
    let mut v: Vec<u8> = r.reasons.iter().map(|x| x.step).collect();
    v.dedup();
    v
}

#[track_caller]
fn assert_valid(r: &Report) {
    assert!(r.valid, "expected a valid report: {:#?}", r.reasons);
    assert!(r.reasons.is_empty());
    assert!(r.steps.iter().all(|s| s.ok));
}

/// The report is invalid and has a reason at `step` (about `entry`, if given) whose message
/// contains `fragment`.
#[track_caller]
fn assert_reason(r: &Report, step: u8, entry: Option<EntryId>, fragment: &str) {
    assert!(!r.valid, "expected an invalid report");
    assert!(
        r.reasons
            .iter()
            .any(|x| x.step == step && x.message.contains(fragment) && (entry.is_none() || x.entry == entry)),
        "no step-{step} reason (entry {entry:?}) containing {fragment:?}: {:#?}",
        r.reasons
    );
    let outcome = &r.steps[step as usize - 1];
    assert_eq!(outcome.step, step);
    assert!(!outcome.ok && outcome.problems > 0);
}

/// A membership entry that grants nothing is reported: as a reason (step 3) or, when the
/// target does not depend on it, as a warning. Either way it names the entry and says why.
#[track_caller]
fn assert_flagged(r: &Report, entry: EntryId, fragment: &str) {
    let as_reason = r
        .reasons
        .iter()
        .any(|x| x.step == 3 && x.entry == Some(entry) && x.message.contains(fragment));
    let as_warning = r
        .warnings
        .iter()
        .any(|w| w.contains(&entry.fmt_short()) && w.contains(fragment));
    assert!(
        as_reason || as_warning,
        "entry {entry:?} not flagged with {fragment:?}: {:#?} {:#?}",
        r.reasons,
        r.warnings
    );
}

#[track_caller]
fn assert_only_steps(r: &Report, steps: &[u8]) {
    assert_eq!(failed_steps(r), steps, "{:#?}", r.reasons);
}

// ---- positive cases ------------------------------------------------------------------------

#[test]
fn fixture_is_valid_and_pinned() {
    let f = fixture();
    let r = f.net.verify(f.part.id);
    assert_valid(&r);
    assert!(r.network_pinned);
    assert_eq!(r.network_id, Some(f.net.id()));
    assert_eq!(r.network_name.as_deref(), Some("test network"));
    assert_eq!(r.target, f.part.id);
    // Target first, then the input and the two admissions.
    assert_eq!(r.entries, 4);
    let tree = r.tree.unwrap();
    assert_eq!(tree.total, Mass(1_500_000 + 20_000_000));
    assert_eq!(tree.inputs.len(), 1);
    assert_eq!(tree.inputs[0].id, f.raw.id);
    assert_eq!(tree.inputs[0].supplier.as_deref(), Some("Smelter"));
}

#[test]
fn unpinned_bundle_is_valid_with_a_warning() {
    let f = fixture();
    let r = verify_bundle(&f.net.bundle(f.part.id), &VerifyOptions::default());
    assert_valid(&r);
    assert!(!r.network_pinned);
    assert!(r.warnings.iter().any(|w| w.contains("network not pinned")));
}

/// Checks that each node's own share plus its children's shares make its share.
fn check_shares(n: &TreeNode) -> usize {
    if n.repeated || n.inputs.is_empty() {
        return 1;
    }
    let own_share = n.share_percent * n.own.0 as f64 / n.total.0 as f64;
    let sum = own_share + n.inputs.iter().map(|c| c.share_percent).sum::<f64>();
    assert!(
        (sum - n.share_percent).abs() < 1e-6,
        "shares of {} sum to {sum}, not {}",
        n.part,
        n.share_percent
    );
    for c in &n.inputs {
        let q = c.quantity.unwrap().0 as i128;
        let exact = q * c.total.0 as i128;
        assert_eq!(c.contribution, Some(Mass(rollup::round_scaled(exact) as i64)));
    }
    1 + n.inputs.iter().map(check_shares).sum::<usize>()
}

#[test]
fn four_tier_dag_with_a_diamond_is_valid() {
    let mut net = Net::new();
    let smelter = net.supplier(11, "Smelter");
    let sheets = net.supplier(12, "Sheets");
    let profiles = net.supplier(13, "Profiles");
    let frames = net.supplier(14, "Frames");
    let bikes = net.supplier(15, "Bikes");
    // Tier 1.
    let ingot = net.attest(&smelter, "urn:greenledger:alu:ingot", 8_000_000, &[]);
    // Tier 2: both use the ingot (the diamond).
    let sheet = net.attest(
        &sheets,
        "urn:greenledger:alu:sheet",
        1_500_000,
        &[(ingot.id, 1_050_000)],
    );
    let profile = net.attest(
        &profiles,
        "urn:greenledger:alu:profile",
        700_000,
        &[(ingot.id, 2_500_000)],
    );
    // Tier 3.
    let frame = net.attest(
        &frames,
        "urn:greenledger:frame:1",
        3_000_000,
        &[(sheet.id, 4_000_000), (profile.id, 1_333_333)],
    );
    // Tier 4.
    let bike = net.attest(
        &bikes,
        "urn:epc:id:sgtin:4012345.011111.1",
        12_000_000,
        &[(frame.id, 1_000_000)],
    );

    let r = net.verify(bike.id);
    assert_valid(&r);
    // By hand: sheet 1.5 + 1.05 × 8 = 9.9 kg; profile 0.7 + 2.5 × 8 = 20.7 kg;
    // frame 3 + 4 × 9.9 + 1.333333 × 20.7 = 70.1999931 → 70.199993 kg; bike 12 + frame.
    let tree = r.tree.unwrap();
    assert_eq!(tree.total, Mass(82_199_993));
    assert_eq!(tree.share_percent, 100.0);
    let frame_node = &tree.inputs[0];
    assert_eq!(frame_node.total, Mass(70_199_993));
    assert_eq!(frame_node.inputs.len(), 2);
    // The ingot is shown once in full and once as repeated.
    let ingots: Vec<&TreeNode> = frame_node.inputs.iter().flat_map(|n| n.inputs.iter()).collect();
    assert_eq!(ingots.len(), 2);
    assert!(ingots.iter().all(|n| n.id == ingot.id));
    assert_eq!(ingots.iter().filter(|n| n.repeated).count(), 1);
    assert_eq!(check_shares(&tree), 6);
    // Children's shares of the root: own 12 / 82.199993 and the frame the rest.
    let own_share = 100.0 * 12_000_000.0 / 82_199_993.0;
    assert!((tree.inputs[0].share_percent - (100.0 - own_share)).abs() < 1e-4);
}

// ---- step 1: network -----------------------------------------------------------------------

#[test]
fn step1_wrong_pinned_network() {
    let f = fixture();
    let other = genesis("other", &[key(2).public()]);
    let r = verify_bundle(
        &f.net.bundle(f.part.id),
        &VerifyOptions {
            expected_network: Some(other.network_id()),
        },
    );
    assert_reason(&r, 1, None, "not the expected network");
    assert_only_steps(&r, &[1]);
    assert!(!r.network_pinned);
}

#[test]
fn step1_unusable_genesis() {
    let f = fixture();
    let mut b = f.net.bundle(f.part.id);
    b.genesis = Genesis::from_json(b"{\"version\":1}");
    assert!(b.genesis.is_err());
    let r = verify_bundle(&b, &VerifyOptions::default());
    assert_reason(&r, 1, None, "genesis is unusable");
    assert_only_steps(&r, &[1]);
}

#[test]
fn step1_entry_of_another_network() {
    let mut f = fixture();
    let other = genesis("other", &[key(2).public()]);
    // An admitted supplier signs its next entry for another network, and a consumer uses it.
    let (seq, prev) = f.net.next(&f.s1.public());
    let foreign = f.net.sign_at(
        &f.s1,
        other.network_id(),
        seq,
        prev,
        Body::Attestation(Box::new(Attestation::new(
            "urn:greenledger:alu:ingot",
            Unit::Kilogram,
            Emissions::headline(Mass(1)),
        ))),
    );
    let consumer = f
        .net
        .attest(&f.s2, "urn:greenledger:sheet:2", 1, &[(foreign.id, 1_000_000)]);
    let r = f.net.verify(consumer.id);
    assert_reason(&r, 1, Some(foreign.id), "belongs to network");
    assert_reason(&r, 6, Some(consumer.id), "belongs to another network");
    assert_only_steps(&r, &[1, 6]);

    // A foreign membership entry in the bundle is reported even outside the DAG.
    let mut b = f.net.bundle(f.part.id);
    b.entries.retain(|e| e.as_ref().unwrap().id() != foreign.id);
    let mut other_set = Net::of(other);
    let stray = other_set.admit(&key(2), &key(40).public(), Role::Supplier, "Stray");
    b.entries.push(Ok(stray.signed.clone()));
    let r = f.net.verify_bundle(&b);
    assert_reason(&r, 1, Some(stray.id), "belongs to network");
    assert_only_steps(&r, &[1]);
}

// ---- step 2: decoding and signatures -------------------------------------------------------

fn with_flipped_signature(se: &SignedEntry) -> SignedEntry {
    let mut sig = *se.signature();
    sig.0[10] ^= 0x04;
    SignedEntry::from_parts(se.payload().to_vec(), sig)
}

fn replace_entry(b: &mut Bundle, id: EntryId, with: SignedEntry) {
    let slot = b
        .entries
        .iter_mut()
        .find(|e| e.as_ref().is_ok_and(|e| e.id() == id))
        .unwrap();
    *slot = Ok(with);
}

#[test]
fn step2_bad_signature_of_an_input() {
    let f = fixture();
    let mut b = f.net.bundle(f.part.id);
    replace_entry(&mut b, f.raw.id, with_flipped_signature(&f.raw.signed));
    let r = f.net.verify_bundle(&b);
    assert_reason(&r, 2, Some(f.raw.id), "signature does not verify");
    // The consumer depends on it.
    assert_reason(&r, 6, Some(f.part.id), "its signature does not verify");
    assert_only_steps(&r, &[2, 6]);
    // The reason names the signer and its organisation.
    let reason = r.reasons.iter().find(|x| x.step == 2).unwrap();
    assert_eq!(reason.signer, Some(f.s1.public()));
    assert_eq!(reason.signer_name.as_deref(), Some("Smelter"));
}

#[test]
fn step2_bad_signature_of_the_target() {
    let f = fixture();
    let mut b = f.net.bundle(f.part.id);
    replace_entry(&mut b, f.part.id, with_flipped_signature(&f.part.signed));
    let r = f.net.verify_bundle(&b);
    assert_reason(&r, 2, Some(f.part.id), "signature does not verify");
    assert_only_steps(&r, &[2]);
    assert!(r.tree.is_none());
}

#[test]
fn step2_signature_by_another_key() {
    let f = fixture();
    let mut b = f.net.bundle(f.part.id);
    let forged = sign_bytes(&f.s2, f.raw.signed.payload());
    replace_entry(&mut b, f.raw.id, forged);
    let r = f.net.verify_bundle(&b);
    assert_reason(&r, 2, Some(f.raw.id), "signature does not verify");
}

#[test]
fn step2_undecodable_entry() {
    let f = fixture();
    let mut b = f.net.bundle(f.part.id);
    // Correctly signed, but the payload is not canonical (a space after a comma).
    let text = String::from_utf8(f.raw.signed.payload().to_vec()).unwrap();
    let payload = text.replacen(",\"", ", \"", 1).into_bytes();
    let reformatted = sign_bytes(&f.s1, &payload);
    let bad_id = reformatted.id();
    b.entries.push(Ok(reformatted));
    let r = f.net.verify_bundle(&b);
    assert_reason(&r, 2, Some(bad_id), "does not decode");
    assert_reason(&r, 2, Some(bad_id), "canonical");
    assert_only_steps(&r, &[2]);
}

#[test]
fn step2_malformed_envelope() {
    let f = fixture();
    let mut b = f.net.bundle(f.part.id);
    b.entries
        .push(SignedEntry::from_json(b"{\"payload\":{},\"signature\":\"00\"}"));
    assert!(b.entries.last().unwrap().is_err());
    let r = f.net.verify_bundle(&b);
    let n = b.entries.len();
    assert_reason(&r, 2, None, &format!("entry #{n} of the bundle is malformed"));
    assert_only_steps(&r, &[2]);
}

#[test]
fn step2_invalid_and_malformed_fork_proofs() {
    let f = fixture();
    let mut b = f.net.bundle(f.part.id);
    // The same entry twice is no proof of anything.
    b.fork_proofs
        .push(Ok(ForkProof::new(f.raw.signed.clone(), f.raw.signed.clone())));
    let r = f.net.verify_bundle(&b);
    assert_reason(&r, 2, None, "fork proof is not valid: both entries are the same");
    assert_only_steps(&r, &[2]);

    // Two entries of different signers.
    let mut b = f.net.bundle(f.part.id);
    b.fork_proofs
        .push(Ok(ForkProof::new(f.raw.signed.clone(), f.part.signed.clone())));
    let r = f.net.verify_bundle(&b);
    assert_reason(&r, 2, None, "do not share signer, seq and network");

    // A proof whose entry was tampered with.
    let mut b = f.net.bundle(f.part.id);
    b.fork_proofs.push(Ok(ForkProof::new(
        with_flipped_signature(&f.raw.signed),
        f.part.signed.clone(),
    )));
    let r = f.net.verify_bundle(&b);
    assert_reason(&r, 2, None, "fork proof is not valid");

    let mut b = f.net.bundle(f.part.id);
    b.fork_proofs.push(Err(SignedEntry::from_json(b"[]").unwrap_err()));
    let r = f.net.verify_bundle(&b);
    assert_reason(&r, 2, None, "fork proof is malformed");
    assert_only_steps(&r, &[2]);
}

// ---- step 3: membership --------------------------------------------------------------------

#[test]
fn step3_never_admitted_signer() {
    let mut f = fixture();
    let stranger = key(99);
    let e = f
        .net
        .attest(&stranger, "urn:greenledger:x:1", 5, &[(f.raw.id, 1_000_000)]);
    let r = f.net.verify(e.id);
    assert_reason(&r, 3, Some(e.id), "was never admitted to this network");
    assert_only_steps(&r, &[3]);
}

#[test]
fn step3_node_key_may_not_attest() {
    let mut f = fixture();
    let node = key(30);
    let admin = f.net.admin();
    f.net.admit(&admin, &node.public(), Role::Node, "Node operator");
    let e = f.net.attest(&node, "urn:greenledger:x:1", 5, &[]);
    let r = f.net.verify(e.id);
    assert_reason(&r, 3, Some(e.id), "is not admitted as supplier (roles: node)");
    assert_only_steps(&r, &[3]);
}

#[test]
fn step3_admin_key_may_not_attest() {
    let mut f = fixture();
    let admin = f.net.admin();
    let e = f.net.attest(&admin, "urn:greenledger:x:1", 5, &[]);
    let r = f.net.verify(e.id);
    assert_reason(&r, 3, Some(e.id), "is not admitted as supplier (roles: admin)");
    assert_only_steps(&r, &[3]);
}

#[test]
fn step3_supplier_may_not_admit() {
    let mut f = fixture();
    let s1 = key(11);
    let admit = f.net.admit(&s1, &key(31).public(), Role::Supplier, "Friend");
    // The admission itself, verified as a target.
    let r = f.net.verify(admit.id);
    assert_reason(&r, 3, Some(admit.id), "member.admit not authorised");
    assert_reason(&r, 3, Some(admit.id), "is not admitted as admin (roles: supplier)");
    assert_only_steps(&r, &[3]);
    // It is a membership entry, so it is in every bundle, where it is flagged.
    let r = f.net.verify(f.part.id);
    assert_flagged(&r, admit.id, "is not admitted as admin (roles: supplier)");
    // And the "friend" was not admitted.
    let friend = key(31);
    let e = f.net.attest(&friend, "urn:greenledger:x:1", 5, &[]);
    let r = f.net.verify(e.id);
    assert_reason(&r, 3, Some(e.id), "never admitted");
}

#[test]
fn step3_entry_after_revocation() {
    let mut f = fixture();
    let before = f.net.attest(&f.s2, "urn:greenledger:sheet:2", 1_000, &[]); // s2 seq 2
    let after = f.net.attest(&f.s2, "urn:greenledger:sheet:3", 1_000, &[]); // s2 seq 3
    assert_eq!(before.payload.seq, 2);
    assert_eq!(after.payload.seq, 3);
    let admin = f.net.admin();
    // Signed after both attestations: revocation is by chain position, not by clock.
    f.net.revoke(&admin, &f.s2.public(), 2);
    assert_valid(&f.net.verify(f.part.id)); // seq 1
    assert_valid(&f.net.verify(before.id)); // seq 2 = afterSeq
    let r = f.net.verify(after.id);
    assert_reason(
        &r,
        3,
        Some(after.id),
        "was revoked after its seq 2; this entry is at seq 3",
    );
    assert_only_steps(&r, &[3]);
}

#[test]
fn step3_admin_admitted_by_an_admitted_admin() {
    let mut net = Net::new();
    let admin = net.admin();
    let deputy = key(20);
    net.admit(&admin, &deputy.public(), Role::Admin, "Deputy");
    let s = key(21);
    net.admit(&deputy, &s.public(), Role::Supplier, "Supplier of the deputy");
    let e = net.attest(&s, "urn:greenledger:x:1", 5, &[]);
    let r = net.verify(e.id);
    assert_valid(&r);
    assert_eq!(r.tree.unwrap().supplier.as_deref(), Some("Supplier of the deputy"));
    // A third level works too.
    let deputy2 = key(22);
    net.admit(&deputy, &deputy2.public(), Role::Admin, "Deputy 2");
    let s2 = key(23);
    net.admit(&deputy2, &s2.public(), Role::Supplier, "S2");
    let e = net.attest(&s2, "urn:greenledger:x:2", 5, &[]);
    assert_valid(&net.verify(e.id));
}

#[test]
fn step3_admin_admitted_by_a_non_admin() {
    let mut net = Net::new();
    let s = net.supplier(21, "Supplier");
    let fake_admin = key(22);
    let bad_admit = net.admit(&s, &fake_admin.public(), Role::Admin, "Fake admin");
    let s2 = key(23);
    let second = net.admit(&fake_admin, &s2.public(), Role::Supplier, "S2");
    let e = net.attest(&s2, "urn:greenledger:x:1", 5, &[]);
    let r = net.verify(e.id);
    assert_reason(&r, 3, Some(e.id), "never admitted");
    assert_flagged(&r, bad_admit.id, "is not admitted as admin");
    assert_flagged(&r, second.id, "never admitted");
    assert_only_steps(&r, &[3]);
    // Verified as targets, both admissions fail step 3.
    assert_reason(
        &net.verify(bad_admit.id),
        3,
        Some(bad_admit.id),
        "is not admitted as admin",
    );
    assert_reason(&net.verify(second.id), 3, Some(second.id), "never admitted");
}

/// Genesis admins 1 and 2 revoke each other after their first entries; admin 3 stays.
/// Returns the network, the two revocations and the admission entries.
fn mutual_revocation() -> (Net, Entry, Entry) {
    let mut net = Net::with_admins(&[1, 2, 3]);
    let (g1, g2) = (key(1), key(2));
    net.admit(&g1, &key(41).public(), Role::Supplier, "S1"); // g1 seq 1
    net.admit(&g2, &key(42).public(), Role::Supplier, "S2"); // g2 seq 1
    let r1 = net.revoke(&g1, &g2.public(), 1); // g1 seq 2
    let r2 = net.revoke(&g2, &g1.public(), 1); // g2 seq 2
    assert_eq!((r1.payload.seq, r2.payload.seq), (2, 2));
    (net, r1, r2)
}

/// `membership.rs`: "Two admins who revoke each other both end up revoked" and "the result
/// does not depend on the order in which entries are seen". Each round judges every revocation
/// against the limits at its start, so neither revocation can pre-empt the other (a bundle's
/// entry order or an `EntrySet`'s hash order must not decide which admin survives).
#[test]
fn step3_mutual_revocation_revokes_both_admins() {
    let (net, r1, r2) = mutual_revocation();
    let admits: Vec<Entry> = net
        .c
        .set
        .membership()
        .into_iter()
        .filter(|e| e.payload.seq == 1)
        .collect();
    let (g1, g2) = (key(1).public(), key(2).public());
    for order in [[&r1, &r2], [&r2, &r1]] {
        let entries: Vec<&Entry> = admits.iter().chain(order).collect();
        let m = Membership::compute(&net.c.genesis, entries);
        assert_eq!(
            (m.limit(&g1), m.limit(&g2)),
            (Some(1), Some(1)),
            "revocations seen in the order {:?}",
            order.map(|e| e.payload.signer)
        );
    }
}

/// What holds today and after a fix, whatever the order: the revocation seen first takes
/// effect, admissions at seq 1 stay, a revoked admin's later admission is refused in step 3,
/// and the third admin is unaffected. (That *both* are revoked is the test above.)
#[test]
fn step3_mutual_revocation_current_behaviour() {
    let (mut net, r1, r2) = mutual_revocation();
    let admits: Vec<Entry> = net
        .c
        .set
        .membership()
        .into_iter()
        .filter(|e| e.payload.seq == 1)
        .collect();
    let (g1, g2, g3) = (key(1), key(2), key(3));
    for order in [[&r1, &r2], [&r2, &r1]] {
        let entries: Vec<&Entry> = admits.iter().chain(order).collect();
        let m = Membership::compute(&net.c.genesis, entries);
        // The first revocation seen takes effect.
        let revoked = order[0].payload.body.clone();
        let Body::MemberRevoke(rv) = revoked else {
            unreachable!()
        };
        assert_eq!(m.limit(&rv.member), Some(1));
        assert_eq!(m.limit(&g3.public()), None);
        assert!(matches!(
            m.authorize(&rv.member, 3, Kind::MemberAdmit.roles()),
            Err(AuthError::Revoked { limit: 1, seq: 3, .. })
        ));
        assert!(m.authorize(&key(41).public(), 1, Kind::Attestation.roles()).is_ok());
        assert!(m.authorize(&key(42).public(), 1, Kind::Attestation.roles()).is_ok());
    }
    // Through verify_bundle (today the bundle's own entry order decides which admin is
    // revoked): that admin's later admission, and what it admitted, fail step 3.
    let m = Membership::compute(
        &net.c.genesis,
        net.bundle(admits[0].id)
            .entries
            .iter()
            .map(|e| e.as_ref().unwrap().decode().unwrap())
            .collect::<Vec<_>>()
            .iter(),
    );
    let loser = if m.limit(&g1.public()) == Some(1) { &g1 } else { &g2 };
    assert_eq!(m.limit(&loser.public()), Some(1));
    let s3 = key(43);
    let late = net.admit(loser, &s3.public(), Role::Supplier, "S3"); // seq 3
    let e3 = net.attest(&s3, "urn:greenledger:x:3", 5, &[]);
    let r = net.verify(e3.id);
    assert_flagged(&r, late.id, "was revoked after its seq 1; this entry is at seq 3");
    assert_reason(&r, 3, Some(e3.id), "never admitted");
    let r = net.verify(late.id);
    assert_reason(
        &r,
        3,
        Some(late.id),
        "was revoked after its seq 1; this entry is at seq 3",
    );
    // The third admin can still admit.
    let s4 = key(44);
    net.admit(&g3, &s4.public(), Role::Supplier, "S4");
    let m = Membership::compute(&net.c.genesis, net.c.set.iter());
    assert!(m.authorize(&s4.public(), 1, Kind::Attestation.roles()).is_ok());
}

#[test]
fn step3_revoked_admin_cannot_admit() {
    let mut net = Net::new();
    let admin = net.admin();
    let deputy = key(20);
    net.admit(&admin, &deputy.public(), Role::Admin, "Deputy"); // admin seq 1
    let early = key(21);
    net.admit(&deputy, &early.public(), Role::Supplier, "Early"); // deputy seq 1
    net.revoke(&admin, &deputy.public(), 1); // admin seq 2
    let late = key(22);
    let late_admit = net.admit(&deputy, &late.public(), Role::Supplier, "Late"); // deputy seq 2
    let m = Membership::compute(&net.c.genesis, net.c.set.iter());
    assert!(m.is_admin(&deputy.public()));
    assert_eq!(m.limit(&deputy.public()), Some(1));
    assert!(m.authorize(&early.public(), 1, Kind::Attestation.roles()).is_ok());
    assert!(matches!(
        m.authorize(&late.public(), 1, Kind::Attestation.roles()),
        Err(AuthError::NotAdmitted(_))
    ));
    let e = net.attest(&late, "urn:greenledger:x:1", 5, &[]);
    let r = net.verify(e.id);
    assert_flagged(&r, late_admit.id, "was revoked after its seq 1; this entry is at seq 2");
    assert_reason(&r, 3, Some(e.id), "never admitted");
    assert_only_steps(&r, &[3]);
    let r = net.verify(late_admit.id);
    assert_reason(&r, 3, Some(late_admit.id), "member.admit not authorised");
}

/// A revoked admin's entries after its limit are not authorised; but a bundle whose target
/// depends on none of them still verifies: every bundle carries every membership entry, and
/// one rogue admission by a revoked admin must not make every bundle of the network invalid
/// (it is ignored with a warning).
#[test]
fn revoked_admins_later_entries_do_not_poison_unrelated_bundles() {
    let mut net = Net::new();
    let admin = net.admin();
    let deputy = key(20);
    net.admit(&admin, &deputy.public(), Role::Admin, "Deputy"); // admin seq 1
    let s = key(21);
    net.admit(&deputy, &s.public(), Role::Supplier, "Honest supplier"); // deputy seq 1
    let rogue = key(22);
    net.admit(&deputy, &rogue.public(), Role::Supplier, "Rogue"); // deputy seq 2
    net.revoke(&admin, &deputy.public(), 1); // admin seq 2
    let e = net.attest(&s, "urn:greenledger:x:1", 5, &[]);
    let r = net.verify(e.id);
    assert_valid(&r);
}

// ---- step 4: chain links -------------------------------------------------------------------

#[test]
fn step4_chain_link_mismatch() {
    let mut f = fixture();
    // s1's seq 2 names a wrong prev and uses s1's seq 1 as input, so both are in the bundle.
    let a = f.net.att(
        "urn:greenledger:alu:ingot2",
        Emissions::headline(Mass(1)),
        &[(f.raw.id, 1_000_000)],
    );
    let bad = f.net.sign_at(
        &f.s1,
        f.net.id(),
        2,
        Some(EntryId([9; 32])),
        Body::Attestation(Box::new(a)),
    );
    let r = f.net.verify(bad.id);
    assert_reason(&r, 4, Some(bad.id), "seq 2 does not link to the signer's entry");
    assert_reason(&r, 4, Some(bad.id), &f.raw.id.fmt_short());
    assert_only_steps(&r, &[4]);
    // Without the seq-1 entry in the bundle, nothing can be said about the link.
    let a = f
        .net
        .att("urn:greenledger:alu:ingot3", Emissions::headline(Mass(1)), &[]);
    let lone = f.net.sign_at(
        &f.s2,
        f.net.id(),
        7,
        Some(EntryId([9; 32])),
        Body::Attestation(Box::new(a)),
    );
    assert_valid(&f.net.verify(lone.id));
}

// ---- step 5: forks -------------------------------------------------------------------------

/// `s1` signs two different entries at seq 2 (after `raw` at seq 1).
fn forked() -> (Fixture, Entry, Entry) {
    let mut f = fixture();
    let a = f
        .net
        .att("urn:greenledger:alu:ingot:a", Emissions::headline(Mass(7_000_000)), &[]);
    let b = f
        .net
        .att("urn:greenledger:alu:ingot:b", Emissions::headline(Mass(9_000_000)), &[]);
    let x = f
        .net
        .sign_at(&f.s1, f.net.id(), 2, Some(f.raw.id), Body::Attestation(Box::new(a)));
    let y = f
        .net
        .sign_at(&f.s1, f.net.id(), 2, Some(f.raw.id), Body::Attestation(Box::new(b)));
    (f, x, y)
}

#[test]
fn step5_fork_proof_in_the_bundle() {
    let (mut f, x, y) = forked();
    let consumer = f.net.attest(&f.s2, "urn:greenledger:sheet:9", 1, &[(x.id, 1_000_000)]);
    let b = f.net.bundle(consumer.id);
    // Only x is an input; y comes in as half of the fork proof.
    assert!(b.entries.iter().flatten().all(|e| e.id() != y.id));
    assert_eq!(b.fork_proofs.len(), 1);
    let r = f.net.verify_bundle(&b);
    assert_reason(&r, 5, None, "signed two different entries at seq 2");
    // The dependency is named.
    assert_reason(&r, 5, Some(x.id), "is at seq 2 of a forked chain (fork at seq 2)");
    assert_only_steps(&r, &[5]);
    assert!(
        r.reasons
            .iter()
            .any(|x| x.step == 5 && x.signer_name.as_deref() == Some("Smelter"))
    );
}

#[test]
fn step5_two_entries_at_the_same_seq() {
    let (mut f, x, y) = forked();
    let consumer = f.net.attest(
        &f.s2,
        "urn:greenledger:sheet:9",
        1,
        &[(x.id, 1_000_000), (y.id, 1_000_000)],
    );
    let mut b = f.net.bundle(consumer.id);
    b.fork_proofs.clear();
    let r = f.net.verify_bundle(&b);
    assert_reason(&r, 5, None, "signed two different entries at seq 2");
    assert_reason(&r, 5, Some(x.id), "forked chain");
    assert_reason(&r, 5, Some(y.id), "forked chain");
    assert_only_steps(&r, &[5]);
}

#[test]
fn step5_fork_makes_later_entries_fail_too() {
    let (mut f, x, _y) = forked();
    // s1 continues after x at seq 3; an entry after the fork is not trusted either.
    let later = f
        .net
        .att("urn:greenledger:alu:ingot:c", Emissions::headline(Mass(1)), &[]);
    let later = f
        .net
        .sign_at(&f.s1, f.net.id(), 3, Some(x.id), Body::Attestation(Box::new(later)));
    let consumer = f
        .net
        .attest(&f.s2, "urn:greenledger:sheet:9", 1, &[(later.id, 1_000_000)]);
    let r = f.net.verify(consumer.id);
    assert_reason(&r, 5, Some(later.id), "is at seq 3 of a forked chain (fork at seq 2)");
}

#[test]
fn step5_admin_fork_voids_admissions_from_the_fork_on() {
    let mut net = Net::new();
    let admin = net.admin();
    let s1 = key(21);
    let s2 = key(22);
    let s3 = key(23);
    net.admit(&admin, &s1.public(), Role::Supplier, "S1"); // seq 1
    let admit = |member: &SecretKey, name: &str| {
        Body::MemberAdmit(MemberAdmit {
            member: member.public(),
            name: name.into(),
            role: Role::Supplier,
            peer_id: None,
        })
    };
    let (_, prev) = net.next(&admin.public());
    net.sign_at(&admin, net.id(), 2, prev, admit(&s2, "S2"));
    net.sign_at(&admin, net.id(), 2, prev, admit(&s3, "S3"));
    let e = net.attest(&s2, "urn:greenledger:x:2", 5, &[]);
    let r = net.verify(e.id);
    assert_reason(&r, 5, None, "signed two different entries at seq 2");
    assert_reason(&r, 3, Some(e.id), "never admitted");
}

/// The rule is "a fork invalidates that signer's entries from the fork's seq on"; an
/// attestation at an earlier seq does not depend on the fork, so its bundle stays valid (the
/// fork is a warning there).
#[test]
fn fork_does_not_invalidate_earlier_entries() {
    let (f, _x, _y) = forked();
    let r = f.net.verify(f.raw.id);
    assert_valid(&r);
}

// ---- step 6: inputs ------------------------------------------------------------------------

#[test]
fn step6_missing_input() {
    let f = fixture();
    let mut b = f.net.bundle(f.part.id);
    b.entries.retain(|e| e.as_ref().unwrap().id() != f.raw.id);
    let r = f.net.verify_bundle(&b);
    assert_reason(
        &r,
        6,
        Some(f.part.id),
        &format!("input {} is missing from the bundle", f.raw.id.fmt_short()),
    );
    assert_only_steps(&r, &[6]);
    // assemble itself refuses to build an incomplete bundle.
    let mut set = EntrySet::new();
    set.insert(f.part.clone());
    let err = bundle::assemble(&f.net.c.genesis, f.part.id, &set).unwrap_err();
    assert_eq!(err.missing, f.raw.id);
    assert_eq!(err.role, "an input");
}

#[test]
fn step6_input_that_is_a_membership_entry() {
    let mut f = fixture();
    let admission = f
        .net
        .c
        .set
        .membership()
        .into_iter()
        .find(|e| matches!(&e.payload.body, Body::MemberAdmit(a) if a.member == f.s1.public()))
        .unwrap();
    let e = f
        .net
        .attest(&f.s2, "urn:greenledger:sheet:2", 1, &[(admission.id, 1_000_000)]);
    let r = f.net.verify(e.id);
    assert_reason(&r, 6, Some(e.id), "is a member.admit entry, not an attestation");
    assert_only_steps(&r, &[6]);
}

#[test]
fn step6_target_not_in_the_bundle() {
    let f = fixture();
    let mut b = f.net.bundle(f.part.id);
    b.target = EntryId([3; 32]);
    let r = f.net.verify_bundle(&b);
    assert_reason(&r, 6, Some(EntryId([3; 32])), "the target entry is not in the bundle");
    assert_only_steps(&r, &[6]);
    assert!(r.tree.is_none());
}

#[test]
fn membership_target_is_valid_with_a_warning() {
    let f = fixture();
    let admission = f.net.c.set.membership()[0].id;
    let r = f.net.verify(admission);
    assert_valid(&r);
    assert!(r.tree.is_none());
    assert!(r.warnings.iter().any(|w| w.contains("not an attestation")));
}

// ---- step 7: roll-up -----------------------------------------------------------------------

#[test]
fn step7_roll_up_off_by_one_milligram() {
    for delta in [1, -1] {
        let mut f = fixture();
        let mut a = f.net.att(
            "urn:greenledger:sheet:2",
            Emissions::headline(Mass(1_500_000)),
            &[(f.raw.id, 2_500_000)],
        );
        assert_eq!(a.total.pcf_excluding_biogenic_uptake, Mass(21_500_000));
        a.total.pcf_excluding_biogenic_uptake.0 += delta;
        let e = f.net.push_att(&f.s2, a);
        let r = f.net.verify(e.id);
        let claimed = Mass(21_500_000 + delta).kg_string();
        assert_reason(
            &r,
            7,
            Some(e.id),
            &format!("roll-up mismatch: pcfExcludingBiogenicUptake claimed {claimed} kg but own + inputs give 21.5 kg"),
        );
        assert_only_steps(&r, &[7]);
    }
}

#[test]
fn step7_leaf_total_must_equal_own() {
    let mut f = fixture();
    let mut a = Attestation::new("urn:greenledger:x:1", Unit::Kilogram, Emissions::headline(Mass(10)));
    a.total = Emissions::headline(Mass(11));
    let e = f.net.push_att(&f.s1, a);
    let r = f.net.verify(e.id);
    assert_reason(&r, 7, Some(e.id), "roll-up mismatch");
}

#[test]
fn step7_optional_component_that_an_input_lacks() {
    let mut f = fixture();
    let own = Emissions {
        fossil_ghg_emissions: Some(Mass(100)),
        ..Emissions::headline(Mass(100))
    };
    let mut a = f.net.att("urn:greenledger:x:1", own, &[(f.raw.id, 1_000_000)]);
    // raw has no fossil component, so the total must omit it.
    assert_eq!(a.total.fossil_ghg_emissions, None);
    a.total.fossil_ghg_emissions = Some(Mass(8_000_100));
    let e = f.net.push_att(&f.s2, a);
    let r = f.net.verify(e.id);
    assert_reason(
        &r,
        7,
        Some(e.id),
        "fossilGhgEmissions claimed 8.0001 kg but own + inputs give absent",
    );
}

#[test]
fn step7_overflow_is_reported() {
    let mut f = fixture();
    let huge = f.net.attest(&f.s1, "urn:greenledger:x:huge", i64::MAX, &[]);
    let mut a = Attestation::new("urn:greenledger:x:2", Unit::Kilogram, Emissions::headline(Mass(0)));
    a.inputs = vec![Input {
        entry: huge.id,
        quantity: Quantity(2_000_000),
        lot: None,
    }];
    a.total = Emissions::headline(Mass(i64::MAX));
    let e = f.net.push_att(&f.s2, a);
    let r = f.net.verify(e.id);
    assert_reason(
        &r,
        7,
        Some(e.id),
        "arithmetic overflow while rolling up pcfExcludingBiogenicUptake",
    );
    assert_only_steps(&r, &[7]);
}

// ---- step 8: supersession ------------------------------------------------------------------

fn superseding(net: &Net, part: &str, own: i64, old: EntryId) -> Attestation {
    let mut a = net.att(part, Emissions::headline(Mass(own)), &[]);
    a.supersedes = Some(old);
    a
}

#[test]
fn step8_valid_correction_and_superseded_target() {
    let mut f = fixture();
    let fix = superseding(&f.net, "urn:greenledger:alu:ingot", 7_900_000, f.raw.id);
    let fix = f.net.push_att(&f.s1, fix);
    assert_valid(&f.net.verify(fix.id));
    let r = f.net.verify(f.raw.id);
    assert_reason(
        &r,
        8,
        Some(f.raw.id),
        &format!("has been superseded by {}", fix.id.fmt_short()),
    );
    assert_only_steps(&r, &[8]);
}

#[test]
fn step8_supersedes_another_signers_entry() {
    let mut f = fixture();
    let a = superseding(&f.net, "urn:greenledger:alu:ingot", 1, f.raw.id);
    let e = f.net.push_att(&f.s2, a);
    let r = f.net.verify(e.id);
    assert_reason(&r, 8, Some(e.id), "which another signer made");
    assert_only_steps(&r, &[8]);
    // The victim is not reported as superseded.
    let r = f.net.verify(f.raw.id);
    assert!(!r.reasons.iter().any(|x| x.message.contains("has been superseded")));
}

#[test]
fn step8_supersedes_another_part() {
    let mut f = fixture();
    let a = superseding(&f.net, "urn:greenledger:alu:other", 1, f.raw.id);
    let e = f.net.push_att(&f.s1, a);
    let r = f.net.verify(e.id);
    assert_reason(
        &r,
        8,
        Some(e.id),
        "which is about another part (urn:greenledger:alu:ingot)",
    );
    assert_only_steps(&r, &[8]);
    // An invalid correction does not mark the target as superseded.
    let r = f.net.verify(f.raw.id);
    assert!(!r.reasons.iter().any(|x| x.message.contains("has been superseded")));
}

#[test]
fn step8_supersedes_a_later_entry() {
    let mut net = Net::new();
    let s = net.supplier(11, "S");
    // seq 3 first (its prev names a seq-2 entry that is not in the set), then seq 1 "corrects" it.
    let later = net.att("urn:greenledger:x:1", Emissions::headline(Mass(1)), &[]);
    let later = net.sign_at(
        &s,
        net.id(),
        3,
        Some(EntryId([7; 32])),
        Body::Attestation(Box::new(later)),
    );
    let early = superseding(&net, "urn:greenledger:x:1", 2, later.id);
    let early = net.sign_at(&s, net.id(), 1, None, Body::Attestation(Box::new(early)));
    let r = net.verify(early.id);
    assert_reason(&r, 8, Some(early.id), "which is not earlier in the signer's chain");
    assert_only_steps(&r, &[8]);
}

#[test]
fn step8_supersedes_what_is_not_there_or_not_an_attestation() {
    let mut f = fixture();
    let fix = superseding(&f.net, "urn:greenledger:alu:ingot", 7_900_000, f.raw.id);
    let fix = f.net.push_att(&f.s1, fix);
    let mut b = f.net.bundle(fix.id);
    b.entries.retain(|e| e.as_ref().unwrap().id() != f.raw.id);
    let r = f.net.verify_bundle(&b);
    assert_reason(&r, 8, Some(fix.id), "which is not in the bundle");
    assert_only_steps(&r, &[8]);

    let admission = f.net.c.set.membership()[0].id;
    let a = superseding(&f.net, "urn:greenledger:alu:ingot", 1, admission);
    let e = f.net.push_att(&f.s1, a);
    let r = f.net.verify(e.id);
    assert_reason(&r, 8, Some(e.id), "which is not an attestation");
}

// ---- signatures: batch and single verification must agree ----------------------------------

/// SHA-512 (FIPS 180-4), for building signatures by hand.
fn sha512(data: &[u8]) -> [u8; 64] {
    const K: [u64; 80] = [
        0x428a2f98d728ae22,
        0x7137449123ef65cd,
        0xb5c0fbcfec4d3b2f,
        0xe9b5dba58189dbbc,
        0x3956c25bf348b538,
        0x59f111f1b605d019,
        0x923f82a4af194f9b,
        0xab1c5ed5da6d8118,
        0xd807aa98a3030242,
        0x12835b0145706fbe,
        0x243185be4ee4b28c,
        0x550c7dc3d5ffb4e2,
        0x72be5d74f27b896f,
        0x80deb1fe3b1696b1,
        0x9bdc06a725c71235,
        0xc19bf174cf692694,
        0xe49b69c19ef14ad2,
        0xefbe4786384f25e3,
        0x0fc19dc68b8cd5b5,
        0x240ca1cc77ac9c65,
        0x2de92c6f592b0275,
        0x4a7484aa6ea6e483,
        0x5cb0a9dcbd41fbd4,
        0x76f988da831153b5,
        0x983e5152ee66dfab,
        0xa831c66d2db43210,
        0xb00327c898fb213f,
        0xbf597fc7beef0ee4,
        0xc6e00bf33da88fc2,
        0xd5a79147930aa725,
        0x06ca6351e003826f,
        0x142929670a0e6e70,
        0x27b70a8546d22ffc,
        0x2e1b21385c26c926,
        0x4d2c6dfc5ac42aed,
        0x53380d139d95b3df,
        0x650a73548baf63de,
        0x766a0abb3c77b2a8,
        0x81c2c92e47edaee6,
        0x92722c851482353b,
        0xa2bfe8a14cf10364,
        0xa81a664bbc423001,
        0xc24b8b70d0f89791,
        0xc76c51a30654be30,
        0xd192e819d6ef5218,
        0xd69906245565a910,
        0xf40e35855771202a,
        0x106aa07032bbd1b8,
        0x19a4c116b8d2d0c8,
        0x1e376c085141ab53,
        0x2748774cdf8eeb99,
        0x34b0bcb5e19b48a8,
        0x391c0cb3c5c95a63,
        0x4ed8aa4ae3418acb,
        0x5b9cca4f7763e373,
        0x682e6ff3d6b2b8a3,
        0x748f82ee5defb2fc,
        0x78a5636f43172f60,
        0x84c87814a1f0ab72,
        0x8cc702081a6439ec,
        0x90befffa23631e28,
        0xa4506cebde82bde9,
        0xbef9a3f7b2c67915,
        0xc67178f2e372532b,
        0xca273eceea26619c,
        0xd186b8c721c0c207,
        0xeada7dd6cde0eb1e,
        0xf57d4f7fee6ed178,
        0x06f067aa72176fba,
        0x0a637dc5a2c898a6,
        0x113f9804bef90dae,
        0x1b710b35131c471b,
        0x28db77f523047d84,
        0x32caab7b40c72493,
        0x3c9ebe0a15c9bebc,
        0x431d67c49c100d4c,
        0x4cc5d4becb3e42b6,
        0x597f299cfc657e2a,
        0x5fcb6fab3ad6faec,
        0x6c44198c4a475817,
    ];
    let mut h: [u64; 8] = [
        0x6a09e667f3bcc908,
        0xbb67ae8584caa73b,
        0x3c6ef372fe94f82b,
        0xa54ff53a5f1d36f1,
        0x510e527fade682d1,
        0x9b05688c2b3e6c1f,
        0x1f83d9abfb41bd6b,
        0x5be0cd19137e2179,
    ];
    let mut msg = data.to_vec();
    let bits = (data.len() as u128) * 8;
    msg.push(0x80);
    while msg.len() % 128 != 112 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for block in msg.chunks(128) {
        let mut w = [0u64; 80];
        for (i, word) in block.chunks(8).enumerate() {
            w[i] = u64::from_be_bytes(word.try_into().unwrap());
        }
        for i in 16..80 {
            let s0 = w[i - 15].rotate_right(1) ^ w[i - 15].rotate_right(8) ^ (w[i - 15] >> 7);
            let s1 = w[i - 2].rotate_right(19) ^ w[i - 2].rotate_right(61) ^ (w[i - 2] >> 6);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..80 {
            let [a, b, c, d, e, f, g, hh] = v;
            let s1 = e.rotate_right(14) ^ e.rotate_right(18) ^ e.rotate_right(41);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(28) ^ a.rotate_right(34) ^ a.rotate_right(39);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            v = [t1.wrapping_add(t2), a, b, c, d.wrapping_add(t1), e, f, g];
        }
        for (x, y) in h.iter_mut().zip(v) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 64];
    for (i, word) in h.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// The group order ℓ.
fn ell() -> BigUint {
    (BigUint::from(1u8) << 252u32) + "27742317777372353535851937790883648493".parse::<BigUint>().unwrap()
}

/// Adds the point of order 2, (0, −1), to an encoded point: (x, y) → (−x, −y).
fn plus_order_two(enc: [u8; 32]) -> [u8; 32] {
    let p = (BigUint::from(1u8) << 255u32) - BigUint::from(19u8);
    let mut y = enc;
    y[31] &= 0x7f;
    let neg_y = p - BigUint::from_bytes_le(&y);
    let mut out = [0u8; 32];
    let b = neg_y.to_bytes_le();
    out[..b.len()].copy_from_slice(&b);
    out[31] |= (enc[31] & 0x80) ^ 0x80;
    out
}

/// An ed25519 signature by `signer` over `msg` computed by hand with nonce `r` = the scalar of
/// `nonce`. With `torsion`, `R` is `rB + T₂` (a point of mixed order) and `k` is computed over
/// those bytes: the cofactored equation of ZIP 215 holds, the cofactorless one does not, so
/// strict verification (the rule before ZIP 215) refuses it.
fn hand_signature(signer: u8, nonce: u8, msg: &[u8], torsion: bool) -> Signature {
    let sk = ed25519_dalek::SigningKey::from_bytes(&[signer; 32]);
    let a = BigUint::from_bytes_le(&sk.to_scalar().to_bytes());
    let nk = ed25519_dalek::SigningKey::from_bytes(&[nonce; 32]);
    let r = BigUint::from_bytes_le(&nk.to_scalar().to_bytes());
    let mut big_r = nk.verifying_key().to_bytes();
    if torsion {
        big_r = plus_order_two(big_r);
    }
    let mut hin = big_r.to_vec();
    hin.extend_from_slice(&sk.verifying_key().to_bytes());
    hin.extend_from_slice(msg);
    let h = BigUint::from_bytes_le(&sha512(&hin)) % ell();
    let s = (r + h * a) % ell();
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&big_r);
    let sb = s.to_bytes_le();
    sig[32..32 + sb.len()].copy_from_slice(&sb);
    Signature(sig)
}

#[test]
fn hand_made_signatures_match_the_library() {
    assert_eq!(
        hex::encode(sha512(b"abc")),
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
         2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    );
    let pk = key(7).public();
    let plain = hand_signature(7, 9, b"message", false);
    assert!(pk.verify(b"message", &plain).is_ok());
    assert!(keys::verify_batch(&[(pk, b"message".as_slice(), plain)]).is_ok());
    // With a torsion component in R, ZIP 215 accepts it (singly and in batches); the former
    // strict rule refuses it: the accepted set only grew.
    let dalek = ed25519_dalek::VerifyingKey::from_bytes(pk.as_bytes()).unwrap();
    for i in 0..8u8 {
        let msg = [i; 8];
        let sig = hand_signature(7, 9, &msg, true);
        assert!(sig.has_canonical_s());
        assert!(pk.verify(&msg, &sig).is_ok());
        assert!(keys::verify_batch(&[(pk, msg.as_slice(), sig)]).is_ok());
        let d = ed25519_dalek::Signature::from_bytes(&sig.0);
        assert!(dalek.verify_strict(&msg, &d).is_err());
    }
}

/// `keys::verify_all` claims to equal `verify_each` in every case, and the verifier uses it,
/// for signatures whose `R` has a small-order component too (`rB + T₂`): under ZIP 215 both
/// accept them.
#[test]
fn batch_and_single_verification_agree_on_mixed_order_r() {
    let pk = key(7).public();
    for i in 0..16u8 {
        let msg = [i; 8];
        let sig = hand_signature(7, 9, &msg, true);
        let items = [(pk, msg.as_slice(), sig)];
        assert_eq!(
            keys::verify_all(&items),
            keys::verify_each(&items),
            "message {i}: batch and single verification disagree"
        );
        assert!(keys::verify_each(&items)[0].is_ok());
    }
}

/// The same through `verify_bundle`: an entry whose signature's `R` has a torsion component
/// verifies (ZIP 215) and so does its bundle; with one bit of its signature changed, neither.
#[test]
fn bundle_with_a_mixed_order_r_signature_is_valid_under_zip_215() {
    for i in 0..16 {
        // A fresh network each time: two seq-2 entries of one signer would be a fork.
        let mut f = fixture();
        let mut a = f.net.att(
            "urn:greenledger:sheet:2",
            Emissions::headline(Mass(1)),
            &[(f.raw.id, 1_000_000)],
        );
        a.comment = Some(format!("attempt {i}"));
        let p = Chain::new(key(12), &f.net.c.genesis).payload_at(2, Some(f.part.id), a);
        let payload = p.to_canonical().unwrap();
        let mut msg = ENTRY_TAG.to_vec();
        msg.extend_from_slice(&payload);
        let sig = hand_signature(12, 9, &msg, true);
        let se = SignedEntry::from_parts(payload.clone(), sig);
        assert!(se.verify().is_ok(), "ZIP 215 accepts it");
        let e = se.decode().unwrap();
        let mut g = fixture();
        g.net.c.set.insert(e.clone());
        let r = g.net.verify(e.id);
        assert!(r.valid, "attempt {i}: {:#?}", r.reasons);
        let mut bad = sig;
        bad.0[40] ^= 1;
        let se = SignedEntry::from_parts(payload, bad);
        assert!(se.verify().is_err());
        let e = se.decode().unwrap();
        f.net.c.set.insert(e.clone());
        let r = f.net.verify(e.id);
        assert!(!r.valid, "attempt {i}");
        assert_reason(&r, 2, Some(e.id), "signature does not verify");
    }
}

// ---- a node's own bundles, verified as assembled -------------------------------------------

/// `verify_assembled` (a node's page: entries decoded once, by the store) gives the report that
/// `verify_bundle` gives for the same bundle as a file, valid or not.
#[track_caller]
fn assert_same_report(net: &Net, a: &bundle::Assembled) -> Report {
    let opts = net.c.pinned();
    let mine = verify_assembled(a, &opts);
    let file = verify_bundle(&a.clone().into_bundle(), &opts);
    assert_eq!(
        serde_json::to_value(&mine).unwrap(),
        serde_json::to_value(&file).unwrap()
    );
    mine
}

#[test]
fn assembled_bundles_get_the_report_of_their_file() {
    // Valid.
    let f = fixture();
    let a = bundle::assemble_decoded(&f.net.c.genesis, f.part.id, &f.net.c.set).unwrap();
    assert_eq!(a.entries[0].id, f.part.id, "target first");
    assert_valid(&assert_same_report(&f.net, &a));

    // An input whose signature does not verify: the signature is checked, not trusted.
    let mut bad = a.clone();
    let slot = bad.entries.iter_mut().find(|e| e.id == f.raw.id).unwrap();
    *slot = with_flipped_signature(&f.raw.signed).decode().unwrap();
    let r = assert_same_report(&f.net, &bad);
    assert_reason(&r, 2, Some(f.raw.id), "signature does not verify");

    // A fork proof, and a wrong pinned network.
    let (mut f, x, _y) = forked();
    let consumer = f.net.attest(&f.s2, "urn:greenledger:sheet:9", 1, &[(x.id, 1_000_000)]);
    let a = bundle::assemble_decoded(&f.net.c.genesis, consumer.id, &f.net.c.set).unwrap();
    assert_eq!(a.fork_proofs.len(), 1);
    let r = assert_same_report(&f.net, &a);
    assert_reason(&r, 5, Some(x.id), "forked chain");
    let other = VerifyOptions {
        expected_network: Some(NetworkId([7; 32])),
    };
    let r = verify_assembled(&a, &other);
    assert_reason(&r, 1, None, "not the expected network");
}

/// An entry set gives its entries back in the order they were first inserted; a duplicate
/// insert changes neither the order nor the count.
#[test]
fn an_entry_set_iterates_in_insertion_order() {
    let f = fixture();
    let mut all: Vec<Entry> = f.net.c.set.iter().cloned().collect();
    all.sort_by_key(|e| e.id);
    all.reverse();
    let mut set: EntrySet = all.iter().cloned().collect();
    set.insert(all[0].clone());
    let ids: Vec<EntryId> = set.iter().map(|e| e.id).collect();
    let want: Vec<EntryId> = all.iter().map(|e| e.id).collect();
    assert_eq!(ids, want);
    assert_eq!(set.len(), all.len());
    assert!(all.iter().all(|e| set.entry(&e.id).map(|x| x.id) == Some(e.id)));
}
