//! The ledger rules, written once: [`check`] decides one entry against a [`LedgerView`].
//!
//! Whoever holds ledger state provides the view — the bundle verifier over a bundle's entries
//! ([`crate::verify`]), the node's writer over its database and the batch it is building,
//! offline signing over a folder of entry files — and calls the same function, so a buyer's
//! verdict and a node's cannot differ. The entry's signature and structure are already
//! checked ([`crate::entry::SignedEntry::verify`]); these are the rules that relate it to
//! other entries, in this order:
//!
//! 1. **network** — the entry belongs to the view's network.
//! 2. **membership** — its signer holds the role its kind needs ([`crate::kinds::EntryKind::ROLES`])
//!    and was not revoked before its seq ([`crate::Membership::authorize`]).
//! 3. **kind rules** — the entries it depends on ([`crate::kinds::EntryKind::dependencies`]) are
//!    resolved in the view and the kind's own rules run over them
//!    ([`crate::kinds::EntryKind::rules`]: inputs, roll-up, supersession, claims, …), then the
//!    **custody** rules of every lot it draws on ([`crate::custody::check_draws`]: the holder
//!    draws, within what is left, on nothing forked or issued twice). A dependency the view
//!    lacks is reported as missing, not as a violation.
//! 4. **chain position** — no other entry holds its `(signer, seq)`: another entry there makes a
//!    fork (or, while the entry still waits for dependencies, a taken seq).
//! 5. **forked signer** — its signer did not fork at or before its seq.
//! 6. **chain link** — `prev` is the signer's entry at `seq − 1`, where the view holds that
//!    position; a view that holds whole chains reports an unknown `prev` as missing.
//! 7. **refused dependencies** — nothing it waits for was refused for good.
//!
//! Every step runs (a step that needs a missing dependency is skipped), so a verifier can
//! report every problem; the node takes the first violation, which is why the steps are in
//! this order: an entry that breaks any other rule is refused for that rule and never becomes
//! half of a fork proof.
//!
//! [`check_standing`] runs the steps that do not need the entry's dependencies (1, 2, 4, 5, 6):
//! whether an entry's signer could sign it where it stands. It decides whether a correction
//! counts, and what a node serves as valid today.

use std::borrow::Cow;

use serde::Serialize;

use crate::{
    custody::{self, LotId, LotKind},
    entry::Entry,
    error::RollupError,
    id::{EntryId, NetworkId},
    keys::PublicKey,
    kinds::{DepRole, Dependency, Kind, Resolved},
    membership::{AuthError, Membership},
};

/// What the rules need to know about the ledger. Implemented by the bundle verifier (over a
/// bundle's entries), the node's writer (over RocksDB and the batch being built) and offline
/// signing (over a folder of entry files).
pub trait LedgerView {
    /// The network the view belongs to.
    fn network(&self) -> NetworkId;

    /// Membership: who holds which role, and revocation limits.
    fn membership(&self) -> &Membership;

    /// An entry by id, if the view holds it (decoded, its signature checked).
    fn entry(&self, id: &EntryId) -> Option<Cow<'_, Entry>>;

    /// The one entry the view holds at a chain position, if any. A view that holds two entries
    /// at one position reports that fork through [`LedgerView::forked_at`] and may answer `None`.
    fn chain_at(&self, signer: &PublicKey, seq: u64) -> Option<EntryId>;

    /// True if the view holds every signer's whole chain (a node); false if it may hold only
    /// parts of chains (a bundle, a folder of entry files). With whole chains, an unknown
    /// `prev` is a missing dependency; with parts, a link is checked only where both ends are
    /// present.
    fn chains_complete(&self) -> bool;

    /// The lowest seq at which `signer` signed two different entries, if it did.
    fn forked_at(&self, signer: &PublicKey) -> Option<u64>;

    /// True if the view refused `id` for good (a node remembers what it refused, so that what
    /// depends on it is refused too instead of waiting for ever). Default: nothing.
    fn refused(&self, id: &EntryId) -> bool {
        let _ = id;
        false
    }

    /// What the holder's entries before `seq` have drawn on `lot` (only the holder draws; a
    /// chain's entries are ordered by `seq`).
    fn drawn_before(&self, lot: &LotId, seq: u64) -> i64;

    /// A certificate issue that conflicts with `issue` (double issuance), if the view knows one.
    fn conflict_of(&self, issue: &EntryId) -> Option<EntryId>;

    /// The certificate issues the view holds that name `device`.
    fn issues_of_device(&self, device: &str) -> Vec<EntryId>;
}

/// A rule, as reports name it. The numbers are the steps of a bundle verification report
/// ([`crate::verify::STEPS`]); step 2 (signatures) is not a ledger rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The entry belongs to the network.
    Network,
    /// The signer may sign the entry.
    Membership,
    /// `prev` links the signer's chain.
    ChainLink,
    /// Nobody built on an equivocation.
    Fork,
    /// Lots are drawn by their holders, never beyond their amount, and rest on nothing
    /// counted twice.
    Custody,
    /// Inputs and other dependencies are what they must be.
    Inputs,
    /// The claimed total is the exact roll-up.
    Rollup,
    /// A correction corrects what it may.
    Supersession,
}

impl Rule {
    /// The step of a bundle verification report that reports this rule.
    pub fn step(&self) -> u8 {
        match self {
            Rule::Network => 1,
            Rule::Membership => 3,
            Rule::ChainLink => 4,
            Rule::Fork => 5,
            Rule::Inputs => 6,
            Rule::Rollup => 7,
            Rule::Supersession => 8,
            Rule::Custody => 9,
        }
    }

    /// The rule's name in reports ("network", "membership", "chain links", …).
    pub fn name(&self) -> &'static str {
        match self {
            Rule::Network => "network",
            Rule::Membership => "membership",
            Rule::ChainLink => "chain links",
            Rule::Fork => "forks",
            Rule::Inputs => "inputs",
            Rule::Rollup => "roll-up",
            Rule::Supersession => "supersession",
            Rule::Custody => "custody",
        }
    }
}

/// How a caller may treat a violation: whether the signer may not sign, the chain conflicts,
/// or the entry breaks a rule of its content. (The node answers 403, 409 and 422.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// The signer may not sign this entry (not admitted, wrong role, revoked).
    Forbidden,
    /// The entry conflicts with the signer's chain (forks, broken links).
    Conflict,
    /// The entry's content breaks a rule (network, inputs, roll-up, supersession).
    Invalid,
}

/// A rule of an entry kind that an entry breaks (see [`crate::kinds::EntryKind::rules`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KindError {
    /// The claimed total is not the exact roll-up.
    #[error("roll-up mismatch: {0}")]
    RollupMismatch(String),
    /// The roll-up cannot be computed.
    #[error(transparent)]
    Rollup(#[from] RollupError),
    /// `supersedes` is not allowed.
    #[error("{0}")]
    Supersession(String),
    /// An input is not an attestation.
    #[error("input {} is a {kind} entry, not an attestation", .input.fmt_short())]
    InputNotAttestation {
        /// The input.
        input: EntryId,
        /// What it is.
        kind: Kind,
    },
    /// A lot that does not exist.
    #[error("{0}")]
    NoSuchLot(String),
    /// A lot of another kind than the entry may draw.
    #[error("lot {} is a {} lot; this draw needs a {} lot", .lot.fmt_short(), .is.as_str(), .wanted.as_str())]
    WrongLot {
        /// The lot.
        lot: LotId,
        /// What it is.
        is: LotKind,
        /// What the draw needs.
        wanted: LotKind,
    },
    /// Someone else's lot.
    #[error("lot {} is held by {}; only its holder draws on a lot", .lot.fmt_short(), .holder.fmt_short())]
    NotHolder {
        /// The lot.
        lot: LotId,
        /// Its holder.
        holder: PublicKey,
    },
    /// A draw beyond what is left of a lot.
    #[error(
        "overdraws lot {} (a {} lot of {amount} {}): {drawn} already drawn by the holder's earlier entries, {wanted} more wanted",
        .lot.fmt_short(), .kind.as_str(), .kind.unit()
    )]
    Overdrawn {
        /// The lot.
        lot: LotId,
        /// Its kind.
        kind: LotKind,
        /// Its amount.
        amount: i64,
        /// Drawn before this entry.
        drawn: i64,
        /// What this entry draws.
        wanted: i64,
    },
    /// A certificate issued twice (one device, overlapping hours).
    #[error(
        "rests on certificate {}, issued twice: certificate {} certifies the same device and hours",
        .issue.fmt_short(), .other.fmt_short()
    )]
    DoubleIssuance {
        /// The certificate issue.
        issue: EntryId,
        /// The conflicting issue.
        other: EntryId,
    },
    /// Draws of one transfer or shipment on lots of different origins.
    #[error("{0}")]
    MixedOrigins(String),
    /// A certificate or claim of another market region.
    #[error("{0}")]
    RegionMismatch(String),
    /// A certificate of another vintage than the consumption.
    #[error("{0}")]
    VintageMismatch(String),
    /// A claim on a retirement made for another organisation.
    #[error("{0}")]
    BeneficiaryMismatch(String),
    /// A claim outside the retirement's consumption period, or claims beyond the electricity used.
    #[error("{0}")]
    InvalidClaim(String),
    /// A batch input drawn on a lot of another batch, or without a batch size.
    #[error("{0}")]
    InvalidBatchInput(String),
    /// An input is at or after a fork of its signer's chain.
    #[error(
        "input {} is at seq {seq} of a forked chain (fork at seq {fork_seq}); it cannot be trusted",
        .input.fmt_short()
    )]
    InputForked {
        /// The input.
        input: EntryId,
        /// Its seq.
        seq: u64,
        /// Where its signer's chain forked.
        fork_seq: u64,
    },
}

impl KindError {
    /// The rule broken.
    pub fn rule(&self) -> Rule {
        match self {
            KindError::RollupMismatch(_) | KindError::Rollup(_) => Rule::Rollup,
            KindError::Supersession(_) => Rule::Supersession,
            KindError::InputNotAttestation { .. } => Rule::Inputs,
            KindError::InputForked { .. } => Rule::Fork,
            KindError::NoSuchLot(_)
            | KindError::WrongLot { .. }
            | KindError::NotHolder { .. }
            | KindError::Overdrawn { .. }
            | KindError::DoubleIssuance { .. }
            | KindError::MixedOrigins(_)
            | KindError::RegionMismatch(_)
            | KindError::VintageMismatch(_)
            | KindError::BeneficiaryMismatch(_)
            | KindError::InvalidClaim(_)
            | KindError::InvalidBatchInput(_) => Rule::Custody,
        }
    }
}

/// What is wrong, by rule. Each message is a predicate of the entry ("is at seq 3 of a forked
/// chain …"): [`Violation`]'s message puts the entry and its signer in front.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViolationKind {
    /// Another network's entry.
    #[error("belongs to network {got}, not to network {want}")]
    WrongNetwork {
        /// The entry's network.
        got: NetworkId,
        /// The view's.
        want: NetworkId,
    },
    /// The signer may not sign this.
    #[error("{kind} not authorised: {err}")]
    NotAuthorized {
        /// The entry's kind.
        kind: Kind,
        /// Why not.
        err: AuthError,
    },
    /// Another entry already holds this `(signer, seq)`: the signer equivocated.
    #[error(
        "is a fork: the signer already has entry {} at seq {seq}; both entries are kept as a fork proof and the signer is flagged",
        .existing.fmt_short()
    )]
    Fork {
        /// The seq.
        seq: u64,
        /// The entry already there.
        existing: EntryId,
    },
    /// Another entry already holds this `(signer, seq)` and this one cannot be checked yet.
    #[error(
        "takes seq {seq}, where the signer already has entry {}; it waits for other entries, so it cannot be checked and is not kept",
        .existing.fmt_short()
    )]
    SeqTaken {
        /// The seq.
        seq: u64,
        /// The entry already there.
        existing: EntryId,
    },
    /// The signer forked at or before this entry's seq.
    #[error("is at seq {seq} of a forked chain (fork at seq {fork_seq}); it cannot be trusted")]
    SignerForked {
        /// The entry's seq.
        seq: u64,
        /// The lowest seq of the fork.
        fork_seq: u64,
    },
    /// `prev` is not the signer's entry at `seq − 1`.
    #[error(
        "seq {seq} does not link to the signer's entry {} at seq {} (its prev is {})",
        .expected.fmt_short(), .seq - 1, .prev.map(|p| p.fmt_short()).unwrap_or_else(|| "absent".into())
    )]
    ChainMismatch {
        /// The entry's seq.
        seq: u64,
        /// The signer's entry at `seq − 1`.
        expected: EntryId,
        /// The entry's prev.
        prev: Option<EntryId>,
    },
    /// `prev` names a known entry that is not the signer's entry at `seq − 1`.
    #[error(
        "seq {seq} does not link: its prev {} is the entry at seq {prev_seq} of signer {}, not the signer's entry at seq {}",
        .prev.fmt_short(), .prev_signer.fmt_short(), .seq - 1
    )]
    PrevElsewhere {
        /// The entry's seq.
        seq: u64,
        /// The entry's prev.
        prev: EntryId,
        /// The signer of that entry.
        prev_signer: PublicKey,
        /// Its seq.
        prev_seq: u64,
    },
    /// It needs an entry that was refused for good.
    #[error(
        "depends on entry {parent} ({}), which was refused; an entry built on a refused one is refused too",
        .role.describe()
    )]
    DependsOnRefused {
        /// The refused entry it needs.
        parent: EntryId,
        /// How it needs it.
        role: DepRole,
    },
    /// A rule of the entry's kind.
    #[error(transparent)]
    Kind(#[from] KindError),
}

/// One rule one entry breaks: the rule, the entry and its signer, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry {} by {signer_name}: {kind}", .entry.fmt_short())]
pub struct Violation {
    /// The entry.
    pub entry: EntryId,
    /// Its signer.
    pub signer: PublicKey,
    /// The signer as people know it: `"Org" (abcd1234)` or `abcd1234`.
    pub signer_name: String,
    /// Its seq.
    pub seq: u64,
    /// What is wrong.
    pub kind: ViolationKind,
}

impl Violation {
    /// True if the refused entry is evidence every node should see: the second entry of a fork.
    /// A node forwards it and keeps the proof. (A double issuance needs no such evidence: both
    /// issues are valid entries and stay in the log.)
    pub fn is_evidence(&self) -> bool {
        matches!(self.kind, ViolationKind::Fork { .. })
    }

    /// The rule broken.
    pub fn rule(&self) -> Rule {
        match &self.kind {
            ViolationKind::WrongNetwork { .. } => Rule::Network,
            ViolationKind::NotAuthorized { .. } => Rule::Membership,
            ViolationKind::Fork { .. } | ViolationKind::SeqTaken { .. } | ViolationKind::SignerForked { .. } => {
                Rule::Fork
            }
            ViolationKind::ChainMismatch { .. } | ViolationKind::PrevElsewhere { .. } => Rule::ChainLink,
            // Reported under the rule of what is missing: an input, a superseded entry, a link.
            ViolationKind::DependsOnRefused { role, .. } => match role {
                DepRole::Input => Rule::Inputs,
                DepRole::Supersedes => Rule::Supersession,
                DepRole::Prev => Rule::ChainLink,
                DepRole::Lot => Rule::Custody,
            },
            ViolationKind::Kind(k) => k.rule(),
        }
    }

    /// A stable identifier of what is wrong, for programs (`fork`, `rollup_mismatch`, …).
    pub fn code(&self) -> &'static str {
        match &self.kind {
            ViolationKind::WrongNetwork { .. } => "wrong_network",
            ViolationKind::NotAuthorized {
                err: AuthError::NotAdmitted(_),
                ..
            } => "unknown_signer",
            ViolationKind::NotAuthorized {
                err: AuthError::WrongRole { .. },
                ..
            } => "not_authorized",
            ViolationKind::NotAuthorized {
                err: AuthError::Revoked { .. },
                ..
            } => "revoked_signer",
            ViolationKind::Fork { .. } => "fork",
            ViolationKind::SeqTaken { .. } => "seq_taken",
            ViolationKind::SignerForked { .. } => "signer_forked",
            ViolationKind::ChainMismatch { .. } | ViolationKind::PrevElsewhere { .. } => "chain_mismatch",
            ViolationKind::DependsOnRefused { .. } => "depends_on_refused",
            ViolationKind::Kind(KindError::RollupMismatch(_) | KindError::Rollup(_)) => "rollup_mismatch",
            ViolationKind::Kind(KindError::Supersession(_)) => "invalid_supersession",
            ViolationKind::Kind(KindError::InputNotAttestation { .. }) => "invalid_input",
            ViolationKind::Kind(KindError::InputForked { .. }) => "forked_input",
            ViolationKind::Kind(KindError::NoSuchLot(_)) => "no_such_lot",
            ViolationKind::Kind(KindError::WrongLot { .. }) => "wrong_lot",
            ViolationKind::Kind(KindError::NotHolder { .. }) => "not_holder",
            ViolationKind::Kind(KindError::Overdrawn { .. }) => "overdrawn",
            ViolationKind::Kind(KindError::DoubleIssuance { .. }) => "double_issuance",
            ViolationKind::Kind(KindError::MixedOrigins(_)) => "mixed_origins",
            ViolationKind::Kind(KindError::RegionMismatch(_)) => "region_mismatch",
            ViolationKind::Kind(KindError::VintageMismatch(_)) => "vintage_mismatch",
            ViolationKind::Kind(KindError::BeneficiaryMismatch(_)) => "beneficiary_mismatch",
            ViolationKind::Kind(KindError::InvalidClaim(_)) => "invalid_claim",
            ViolationKind::Kind(KindError::InvalidBatchInput(_)) => "invalid_batch_input",
        }
    }

    /// How a caller may treat it.
    pub fn class(&self) -> Class {
        match &self.kind {
            ViolationKind::NotAuthorized { .. } => Class::Forbidden,
            ViolationKind::Fork { .. }
            | ViolationKind::SeqTaken { .. }
            | ViolationKind::SignerForked { .. }
            | ViolationKind::ChainMismatch { .. }
            | ViolationKind::PrevElsewhere { .. } => Class::Conflict,
            // Valid on its own, but what it draws on was drawn already or certified twice.
            ViolationKind::Kind(KindError::Overdrawn { .. } | KindError::DoubleIssuance { .. }) => Class::Conflict,
            ViolationKind::WrongNetwork { .. } | ViolationKind::DependsOnRefused { .. } | ViolationKind::Kind(_) => {
                Class::Invalid
            }
        }
    }

    /// True if the entry can never be accepted, whatever arrives later. A signer not admitted
    /// (yet) or without the role (yet) may be admitted later; everything else is final.
    pub fn is_final(&self) -> bool {
        !matches!(
            self.kind,
            ViolationKind::NotAuthorized {
                err: AuthError::NotAdmitted(_) | AuthError::WrongRole { .. },
                ..
            }
        )
    }
}

/// An entry that one checked entry needs and the view does not hold.
pub type Missing = Dependency;

/// The outcome of [`check`]: every rule broken, and what the view lacks to finish checking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// The rules broken, in the engine's step order.
    pub violations: Vec<Violation>,
    /// Dependencies the view does not hold (rules that need them were not run).
    pub missing: Vec<Missing>,
}

impl Verdict {
    /// True if no rule is broken and nothing is missing.
    pub fn is_valid(&self) -> bool {
        self.violations.is_empty() && self.missing.is_empty()
    }

    /// The first rule broken in step order (what a node refuses the entry for).
    pub fn first(&self) -> Option<&Violation> {
        self.violations.first()
    }

    /// The ids of the missing dependencies, sorted, each once.
    pub fn missing_ids(&self) -> Vec<EntryId> {
        let mut v: Vec<EntryId> = self.missing.iter().map(|m| m.id).collect();
        v.sort();
        v.dedup();
        v
    }
}

struct Steps<'e, 'v, V: ?Sized> {
    entry: &'e Entry,
    view: &'v V,
    verdict: Verdict,
}

impl<V: LedgerView + ?Sized> Steps<'_, '_, V> {
    fn fail(&mut self, kind: ViolationKind) {
        let p = &self.entry.payload;
        self.verdict.violations.push(Violation {
            entry: self.entry.id,
            signer: p.signer,
            signer_name: self.view.membership().describe(&p.signer),
            seq: p.seq,
            kind,
        });
    }

    /// Step 1. Returns false if the entry is another network's (nothing else applies).
    fn network(&mut self) -> bool {
        let (got, want) = (self.entry.payload.network, self.view.network());
        if got != want {
            self.fail(ViolationKind::WrongNetwork { got, want });
            return false;
        }
        true
    }

    /// Step 2.
    fn membership(&mut self) {
        let p = &self.entry.payload;
        let kind = p.body.kind();
        if let Err(err) = self.view.membership().authorize(&p.signer, p.seq, kind.roles()) {
            self.fail(ViolationKind::NotAuthorized { kind, err });
        }
    }

    /// Step 3.
    fn kind_rules(&mut self) {
        let deps = self.entry.payload.body.dependencies();
        let resolved: Vec<Resolved<'_>> = deps
            .iter()
            .map(|d| Resolved {
                dep: *d,
                entry: self.view.entry(&d.id),
            })
            .collect();
        for r in &resolved {
            if r.entry.is_none() {
                self.verdict.missing.push(r.dep);
            }
        }
        let problems = self.entry.payload.body.rules(self.entry, &resolved, self.view);
        for k in problems {
            self.fail(ViolationKind::Kind(k));
        }
    }

    /// Step 3b: the custody rules of every draw (lots, holders, amounts, double issuance).
    fn custody(&mut self) {
        let (problems, missing) = custody::check_draws(self.entry, self.view);
        for id in missing {
            self.verdict.missing.push(Dependency { id, role: DepRole::Lot });
        }
        for k in problems {
            self.fail(ViolationKind::Kind(k));
        }
    }

    /// Step 4.
    fn chain_position(&mut self) {
        let p = &self.entry.payload;
        if let Some(existing) = self.view.chain_at(&p.signer, p.seq)
            && existing != self.entry.id
        {
            let seq = p.seq;
            if self.verdict.missing.is_empty() {
                self.fail(ViolationKind::Fork { seq, existing });
            } else {
                self.fail(ViolationKind::SeqTaken { seq, existing });
            }
        }
    }

    /// Step 5.
    fn forked_signer(&mut self) {
        let p = &self.entry.payload;
        if let Some(fork_seq) = self.view.forked_at(&p.signer)
            && p.seq >= fork_seq
        {
            self.fail(ViolationKind::SignerForked { seq: p.seq, fork_seq });
        }
    }

    /// Step 6.
    fn chain_link(&mut self) {
        let p = &self.entry.payload;
        let (Some(prev), true) = (p.prev, p.seq > 1) else {
            return; // seq 1 has no prev (a structural rule of the payload)
        };
        match self.view.chain_at(&p.signer, p.seq - 1) {
            Some(expected) if expected != prev => {
                self.fail(ViolationKind::ChainMismatch {
                    seq: p.seq,
                    expected,
                    prev: Some(prev),
                });
            }
            Some(_) => {}
            None if self.view.chains_complete() => match self.view.entry(&prev) {
                // A known prev that is not at (signer, seq − 1) never links.
                Some(pe) => {
                    let (prev_signer, prev_seq) = (pe.payload.signer, pe.payload.seq);
                    self.fail(ViolationKind::PrevElsewhere {
                        seq: p.seq,
                        prev,
                        prev_signer,
                        prev_seq,
                    });
                }
                None => self.verdict.missing.push(Dependency {
                    id: prev,
                    role: DepRole::Prev,
                }),
            },
            None => {}
        }
    }

    /// Step 7.
    fn refused_dependencies(&mut self) {
        let refused = self.verdict.missing.iter().find(|m| self.view.refused(&m.id)).copied();
        if let Some(m) = refused {
            self.fail(ViolationKind::DependsOnRefused {
                parent: m.id,
                role: m.role,
            });
        }
    }
}

/// Decides `entry` against `view`: every rule, in the numbered steps of the
/// [module documentation](self).
pub fn check<V: LedgerView + ?Sized>(entry: &Entry, view: &V) -> Verdict {
    let mut s = Steps {
        entry,
        view,
        verdict: Verdict::default(),
    };
    if s.network() {
        s.membership();
        s.kind_rules();
        s.custody();
        s.chain_position();
        s.forked_signer();
        s.chain_link();
        s.refused_dependencies();
    }
    s.verdict
}

/// Decides whether `entry`'s signer could sign it where it stands: the steps of [`check`]
/// that need none of its dependencies (network, membership, chain position, forked signer,
/// chain link). A missing `prev` is reported as missing.
pub fn check_standing<V: LedgerView + ?Sized>(entry: &Entry, view: &V) -> Verdict {
    let mut s = Steps {
        entry,
        view,
        verdict: Verdict::default(),
    };
    if s.network() {
        s.membership();
        s.chain_position();
        s.forked_signer();
        s.chain_link();
    }
    s.verdict
}

/// Whether `correction` corrects `of`: an attestation by the same signer that names `of` in
/// `supersedes` and breaks no rule in the view (its own dependencies may be missing: a bundle
/// carries corrections, not their inputs). What "current" and "superseded" mean everywhere.
pub fn corrects<V: LedgerView + ?Sized>(correction: &Entry, of: &Entry, view: &V) -> bool {
    correction.attestation().and_then(|a| a.supersedes) == Some(of.id)
        && correction.payload.signer == of.payload.signer
        && check(correction, view).violations.is_empty()
}
