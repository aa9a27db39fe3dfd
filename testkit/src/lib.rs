//! # greenledger-testkit
//!
//! Builders shared by greenledger's tests, benchmarks and fuzz targets, so that each of them
//! signs entries the same way: a consortium (genesis and admin), signers' chains that keep
//! their own `seq` and `prev`, attestations whose totals are rolled up exactly, entry sets and
//! bundles.
//!
//! # Layout
//!
//! * [`key`], [`genesis`], [`genesis_with_peers`] — deterministic keys and genesis files.
//! * [`Chain`] — one key's chain: signs entries at its next position (or at any position, for
//!   forks and broken links), or gives the unsigned payload for tests that sign it themselves.
//! * [`Consortium`] — a genesis and its admin, the entries signed so far as an [`EntrySet`],
//!   suppliers admitted on request, bundles and verification of any entry.
//! * [`attestation`], [`set_inputs`] — attestation bodies whose totals are rolled up exactly
//!   from their inputs.
//! * [`sign_bytes`] — a signature over payload bytes as they stand, for entries no signer
//!   would make (non-canonical, unknown kinds, edited fields).
//! * [`custody`] — chain-of-custody bodies: certificate issues, transfers and retirements,
//!   shipments, electricity claims, and the lots they name.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod custody;

use greenledger_core::{
    Bundle, EntrySet, Genesis, NetworkId, PublicKey, SecretKey, SignedEntry, VerifiedEntry,
    amount::{Mass, Quantity},
    bundle,
    entry::{self, ENTRY_TAG, Entry},
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

/// A genesis named `name` with the given admins and no founding nodes.
pub fn genesis(name: &str, admins: &[PublicKey]) -> Genesis {
    genesis_with_peers(name, admins, &[])
}

/// A genesis named `name` with the given admins and founding nodes' peer ids (`nodePeers`).
#[allow(clippy::expect_used)] // a test's genesis must be valid
pub fn genesis_with_peers(name: &str, admins: &[PublicKey], node_peers: &[String]) -> Genesis {
    Genesis::new(name, CREATED, admins.to_vec(), node_peers.to_vec()).expect("a valid genesis")
}

/// An attestation of `part` (in kilograms) with `own_mg` own emissions and the given inputs
/// (each an attestation entry and the quantity used, in millionths of its unit), its total
/// rolled up exactly.
#[allow(clippy::expect_used)]
pub fn attestation(part: &str, own_mg: i64, inputs: &[(&Entry, i64)]) -> Attestation {
    let mut a = Attestation::new(part, Unit::Kilogram, Emissions::headline(Mass(own_mg)));
    let inputs: Vec<(EntryId, i64, &Emissions)> = inputs
        .iter()
        .map(|(e, q)| {
            let total = &e.attestation().expect("an input is an attestation").total;
            (e.id, *q, total)
        })
        .collect();
    set_inputs(&mut a, &inputs);
    a
}

/// Sets the inputs of `a` — each an entry id, the quantity used (in millionths of that entry's
/// unit) and that entry's total — and rolls its total up exactly from its own emissions.
///
/// The ids need not name real entries: a test can claim any total for an input it never
/// signs. Panics if the roll-up overflows (test figures are small).
#[allow(clippy::expect_used)]
pub fn set_inputs(a: &mut Attestation, inputs: &[(EntryId, i64, &Emissions)]) {
    a.inputs = inputs
        .iter()
        .map(|(id, q, _)| greenledger_core::Input {
            entry: *id,
            quantity: Quantity(*q),
            lot: None,
        })
        .collect();
    let totals: Vec<(Quantity, &Emissions)> = inputs.iter().map(|(_, q, t)| (Quantity(*q), *t)).collect();
    a.total = rollup::roll_up(&a.own, &totals).expect("a roll-up of test figures");
}

/// Signs payload bytes as they stand with `key` (the entry tag, then the bytes): nothing is
/// checked, so the bytes may be non-canonical, of an unknown kind, or name another signer.
pub fn sign_bytes(key: &SecretKey, payload: &[u8]) -> SignedEntry {
    let mut msg = Vec::with_capacity(ENTRY_TAG.len() + payload.len());
    msg.extend_from_slice(ENTRY_TAG);
    msg.extend_from_slice(payload);
    SignedEntry::from_parts(payload.to_vec(), key.sign(&msg))
}

/// One key's chain: the key, the network, the position its next entry takes and the
/// timestamp its entries carry.
///
/// The fields are public so that a test can move the chain by hand (to reuse the position of
/// an entry that was refused, or to continue a chain whose head it read from a node).
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
    /// The timestamp of every entry signed from now on ([`TS`] unless changed).
    pub timestamp: String,
}

impl Chain {
    /// A fresh chain of `key` in the network of `genesis`.
    pub fn new(key: SecretKey, genesis: &Genesis) -> Chain {
        Chain::in_network(key, genesis.network_id())
    }

    /// A fresh chain of `key` in `network` (a network that need not have a genesis).
    pub fn in_network(key: SecretKey, network: NetworkId) -> Chain {
        Chain {
            key,
            network,
            seq: 1,
            prev: None,
            timestamp: TS.into(),
        }
    }

    /// The same chain with its entries stamped `timestamp`.
    pub fn with_timestamp(mut self, timestamp: &str) -> Chain {
        self.timestamp = timestamp.into();
        self
    }

    /// A second chain with the same key, network, position and timestamp: what it signs next
    /// forks this chain.
    pub fn twin(&self) -> Chain {
        Chain {
            key: SecretKey::from_seed(&self.key.to_seed()),
            network: self.network,
            seq: self.seq,
            prev: self.prev,
            timestamp: self.timestamp.clone(),
        }
    }

    /// The chain's public key.
    pub fn public(&self) -> PublicKey {
        self.key.public()
    }

    /// The unsigned payload of `body` at any position (for tests that encode or sign it
    /// themselves); the chain does not move.
    pub fn payload_at(&self, seq: u64, prev: Option<EntryId>, body: impl Into<Body>) -> Payload {
        Payload {
            network: self.network,
            signer: self.key.public(),
            seq,
            prev,
            timestamp: self.timestamp.clone(),
            body: body.into(),
        }
    }

    /// Signs `body` at any position, without moving the chain (for forks and broken links).
    #[allow(clippy::expect_used)] // bodies built here are valid
    pub fn sign_at(&self, seq: u64, prev: Option<EntryId>, body: impl Into<Body>) -> VerifiedEntry {
        entry::sign(&self.key, &self.payload_at(seq, prev, body)).expect("a valid payload")
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

/// A consortium: a genesis, its admin's chain, and every entry signed so far.
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
    /// A consortium named `name` whose one admin is `key(1)`.
    pub fn new(name: &str) -> Consortium {
        Consortium::with_genesis(genesis(name, &[key(1).public()]), key(1))
    }

    /// A consortium of any genesis (several admins, founding nodes), signing as `admin`.
    pub fn with_genesis(genesis: Genesis, admin: SecretKey) -> Consortium {
        let admin = Chain::new(admin, &genesis);
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

    /// Verification options pinned to the consortium's network.
    pub fn pinned(&self) -> VerifyOptions {
        VerifyOptions {
            expected_network: Some(self.genesis.network_id()),
        }
    }

    /// Verifies the bundle of `target`, pinned to the consortium's network.
    pub fn verify(&self, target: EntryId) -> Report {
        verify_bundle(&self.bundle(target), &self.pinned())
    }
}
