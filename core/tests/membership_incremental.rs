//! `Membership::admit_one` (the node's writer adds the common admission without computing
//! the fixpoint again) gives exactly what `Membership::compute` gives over the same set, after
//! every entry of random histories of admissions (of every role, by admins and by others,
//! repeated, with shared peer ids) and revocations.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use greenledger_core::{Entry, Membership, Role, model::MemberAdmit};
use greenledger_testkit::{Chain, PEER, genesis, key};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// Signer (index into the keys), member, role, name, peer id (of a node).
    Admit(usize, usize, Role, u8, Option<u8>),
    /// Signer, member, after seq.
    Revoke(usize, usize, u64),
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![
        6 => Just(Role::Supplier),
        2 => Just(Role::Issuer),
        1 => Just(Role::Node),
        1 => Just(Role::Admin),
    ]
}

fn op(keys: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..keys, 0..keys, role(), 0..4u8, proptest::option::of(0..3u8))
            .prop_map(|(s, m, r, n, p)| Op::Admit(s, m, r, n, p)),
        1 => (0..keys, 0..keys, 0..4u64).prop_map(|(s, m, a)| Op::Revoke(s, m, a)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn admitting_one_at_a_time_equals_the_fixpoint(ops in proptest::collection::vec(op(8), 1..40)) {
        // Key 1 is the genesis admin; keys 1..=8 sign and are admitted.
        let keys: Vec<_> = (1..=8u8).map(|i| key(i).public()).collect();
        let g = genesis("incremental", &[keys[0]]);
        let mut chains: Vec<Chain> = (1..=8u8).map(|i| Chain::new(key(i), &g)).collect();
        let mut set: Vec<Entry> = Vec::new();
        let mut m = Membership::compute(&g, std::iter::empty());
        for op in ops {
            let e = match op {
                Op::Admit(s, who, role, n, p) => chains[s].sign(MemberAdmit {
                    member: keys[who],
                    name: format!("org {n}"),
                    role,
                    // Nodes name a peer id (three to share among them); other roles none.
                    peer_id: (role == Role::Node).then(|| format!("{}{}", &PEER[..PEER.len() - 1], p.unwrap_or(0) + 1)),
                }),
                Op::Revoke(s, who, after) => chains[s].revoke(&keys[who], after),
            };
            set.push(e.entry().clone());
            if !m.admit_one(e.entry()) {
                m = Membership::compute(&g, set.iter());
            }
            prop_assert_eq!(&m, &Membership::compute(&g, set.iter()), "after {} entries", set.len());
        }
    }
}

/// The common case is the one taken: organisations admitted one after another by an admin.
#[test]
fn plain_admissions_take_the_short_path() {
    let admin = key(1);
    let g = genesis("incremental", &[admin.public()]);
    let mut chain = Chain::new(admin, &g);
    let mut m = Membership::compute(&g, std::iter::empty());
    let mut set = Vec::new();
    for i in 0..50u8 {
        let e = chain.admit(&key(10 + i).public(), &format!("supplier {i}"), Role::Supplier);
        assert!(m.admit_one(e.entry()), "admission {i}");
        set.push(e.entry().clone());
    }
    assert_eq!(m, Membership::compute(&g, set.iter()));
    // A second admission of a member, an admin admission and a revocation are left to compute.
    let again = chain.admit(&key(10).public(), "renamed", Role::Issuer);
    assert!(!m.clone().admit_one(again.entry()));
    let admin2 = chain.admit(&key(90).public(), "second admin", Role::Admin);
    assert!(!m.clone().admit_one(admin2.entry()));
    let revoke = chain.revoke(&key(11).public(), 0);
    assert!(!m.clone().admit_one(revoke.entry()));
}
