//! # greenledger-testkit
//!
//! Builders shared by greenledger's tests, benchmarks and fuzz targets, so that each of them
//! signs entries the same way: a consortium (genesis and admin), signers' chains that keep
//! their own `seq` and `prev`, attestations whose totals are rolled up exactly, entry sets and
//! bundles.
//!
//! # Layout
//!
//! * [`Chain`] — one key's chain: signs entries at its next position (or at any position, for
//!   forks and broken links).
//! * [`Consortium`] — a genesis with one admin, the entries signed so far as an [`EntrySet`],
//!   suppliers admitted on request, bundles and verification of any entry.
//! * [`attestation`] — an attestation body with its total rolled up from its inputs.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use greenledger_core::{
    Bundle, EntrySet, Genesis, NetworkId, PublicKey, SecretKey, VerifiedEntry,
    amount::{Mass, Quantity},
    bundle,
    entry::{self, Entry},
    id::EntryId,
    model::{Attestation, Body, Emissions, MemberAdmit, MemberRevoke, Payload, Role, Unit},
    rollup,
    verify::{Report, VerifyOptions, verify_bundle},
};

/// The timestamp every entry signed here carries (timestamps are informative only).
pub const TS: &str = "2026-01-02T00:00:00Z";
/// The `created` time of every genesis made here.
pub const CREATED: &str = "2026-01-01T00:00:00Z";
/// A well-formed libp2p peer id (base58).
pub const PEER: &str = "12D3KooWAbCdEfGhJkLmNpQrStUvWxYz123456789abcdefghijk";

/// A deterministic key: the seed is 32 copies of `seed`.
pub fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

/// A genesis named `name` with the given admins.
#[allow(clippy::expect_used)] // a fixed, valid genesis
pub fn genesis(name: &str, admins: &[PublicKey]) -> Genesis {
    Genesis::new(name, CREATED, admins.to_vec(), vec![]).expect("a valid genesis")
}

/// An attestation of `part` (in kilograms) with `own_mg` own emissions and the given inputs
/// (each an attestation entry and the quantity used, in millionths of its unit), its total
/// rolled up exactly.
#[allow(clippy::expect_used)] // test inputs are small
pub fn attestation(part: &str, own_mg: i64, inputs: &[(&Entry, i64)]) -> Attestation {
    let mut a = Attestation::new(part, Unit::Kilogram, Emissions::headline(Mass(own_mg)));
    let totals: Vec<(Quantity, &Emissions)> = inputs
        .iter()
        .map(|(e, q)| {
            (
                Quantity(*q),
                &e.attestation().expect("an input is an attestation").total,
            )
        })
        .collect();
    a.inputs = inputs
        .iter()
        .map(|(e, q)| greenledger_core::Input {
            entry: e.id,
            quantity: Quantity(*q),
        })
        .collect();
    a.total = rollup::roll_up(&a.own, &totals).expect("a roll-up of test figures");
    a
}

/// One key's chain: the key, the network, and the position its next entry takes.
#[derive(Debug)]
pub struct Chain {
    /// The signing key.
    pub key: SecretKey,
    /// The network signed for.
    pub network: NetworkId,
    /// The next entry's seq.
    pub seq: u64,
    /// The next entry's prev.
    pub prev: Option<EntryId>,
}

impl Chain {
    /// A fresh chain of `key` in the network of `genesis`.
    pub fn new(key: SecretKey, genesis: &Genesis) -> Chain {
        Chain {
            key,
            network: genesis.network_id(),
            seq: 1,
            prev: None,
        }
    }

    /// The chain's public key.
    pub fn public(&self) -> PublicKey {
        self.key.public()
    }

    /// Signs `body` at any position, without moving the chain (for forks and broken links).
    #[allow(clippy::expect_used)] // bodies built here are valid
    pub fn sign_at(&self, seq: u64, prev: Option<EntryId>, body: impl Into<Body>) -> VerifiedEntry {
        let p = Payload {
            network: self.network,
            signer: self.key.public(),
            seq,
            prev,
            timestamp: TS.into(),
            body: body.into(),
        };
        entry::sign(&self.key, &p).expect("a valid payload")
    }

    /// Signs `body` at the chain's next position and moves the chain on.
    pub fn sign(&mut self, body: impl Into<Body>) -> VerifiedEntry {
        let e = self.sign_at(self.seq, self.prev, body);
        self.seq += 1;
        self.prev = Some(e.id());
        e
    }

    /// Admits `member` as `role` (a node's peer id is [`PEER`]).
    pub fn admit(&mut self, member: &PublicKey, name: &str, role: Role) -> VerifiedEntry {
        self.sign(MemberAdmit {
            member: *member,
            name: name.into(),
            role,
            peer_id: (role == Role::Node).then(|| PEER.to_string()),
        })
    }

    /// Revokes `member` after its seq `after_seq`.
    pub fn revoke(&mut self, member: &PublicKey, after_seq: u64) -> VerifiedEntry {
        self.sign(MemberRevoke {
            member: *member,
            after_seq,
            reason: None,
        })
    }

    /// Attests `part` with `own_mg` own emissions and the given inputs (see [`attestation`]).
    pub fn attest(&mut self, part: &str, own_mg: i64, inputs: &[(&Entry, i64)]) -> VerifiedEntry {
        self.sign(attestation(part, own_mg, inputs))
    }
}

/// A consortium: a genesis whose one admin is `key(1)`, and every entry signed so far.
#[derive(Debug)]
pub struct Consortium {
    /// The genesis.
    pub genesis: Genesis,
    /// The admin's chain.
    pub admin: Chain,
    /// Every entry recorded, in the order signed.
    pub entries: Vec<VerifiedEntry>,
    /// The same entries, as a set.
    pub set: EntrySet,
}

impl Consortium {
    /// A consortium named `name`.
    pub fn new(name: &str) -> Consortium {
        let genesis = genesis(name, &[key(1).public()]);
        let admin = Chain::new(key(1), &genesis);
        Consortium {
            genesis,
            admin,
            entries: Vec::new(),
            set: EntrySet::new(),
        }
    }

    /// Records an entry (signed by anyone) as part of the consortium's entries.
    pub fn record(&mut self, e: &VerifiedEntry) {
        self.entries.push(e.clone());
        self.set.insert(e.entry().clone());
    }

    /// Admits a new member with key `key(seed)` and `role`, records the admission, and returns
    /// the member's chain.
    pub fn member(&mut self, seed: u8, name: &str, role: Role) -> Chain {
        let k = key(seed);
        let e = self.admin.admit(&k.public(), name, role);
        self.record(&e);
        Chain::new(k, &self.genesis)
    }

    /// [`Consortium::member`] as a supplier.
    pub fn supplier(&mut self, seed: u8, name: &str) -> Chain {
        self.member(seed, name, Role::Supplier)
    }

    /// Signs with `chain` and records the entry.
    pub fn sign(&mut self, chain: &mut Chain, body: impl Into<Body>) -> VerifiedEntry {
        let e = chain.sign(body);
        self.record(&e);
        e
    }

    /// The bundle of `target` from the recorded entries.
    #[allow(clippy::expect_used)]
    pub fn bundle(&self, target: EntryId) -> Bundle {
        bundle::assemble(&self.genesis, target, &self.set).expect("every dependency is recorded")
    }

    /// Verifies the bundle of `target`, pinned to the consortium's network.
    pub fn verify(&self, target: EntryId) -> Report {
        let opts = VerifyOptions {
            expected_network: Some(self.genesis.network_id()),
        };
        verify_bundle(&self.bundle(target), &opts)
    }
}
