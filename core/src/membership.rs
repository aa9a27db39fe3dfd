//! Who may sign what: membership computed from the genesis and `member.*` entries.
//!
//! There is no global order between different signers' chains, so membership is a function
//! of the *set* of membership entries, evaluated as a fixpoint:
//!
//! 1. The genesis admins are admins.
//! 2. An admit with role `admin` makes its member an admin if its signer is an admin and the
//!    admit's `seq` is within the signer's revocation limit. Repeat until nothing changes.
//! 3. A revoke signed by an admin within its own limit lowers the member's limit to
//!    `afterSeq` (limits only ever go down). If any limit went down, go back to 2.
//!
//! Limits only decrease, so this terminates and the result does not depend on the order in
//! which entries are seen. Two admins who revoke each other both end up revoked; the
//! remaining admins must re-admit whoever should stay. A member's entry at `seq` is covered
//! only if `seq <= limit` (no limit: any seq). An admit anywhere in the set counts for all of
//! the member's entries below its limit: chain positions of different signers are not ordered.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::{
    entry::Entry,
    keys::PublicKey,
    model::{Body, Genesis, Role},
};

/// The membership state derived from a genesis and a set of membership entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Membership {
    admins: BTreeSet<PublicKey>,
    roles: HashMap<PublicKey, BTreeSet<Role>>,
    names: HashMap<PublicKey, String>,
    peers: BTreeMap<String, Vec<PublicKey>>,
    limits: HashMap<PublicKey, u64>,
    genesis_admins: BTreeSet<PublicKey>,
}

/// Why a signer may not sign an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Never admitted.
    #[error("signer {0} was never admitted to this network")]
    NotAdmitted(String),
    /// Admitted, but not with the role the entry kind needs.
    #[error("signer {signer} is not admitted as {needed} (roles: {has})")]
    WrongRole {
        /// The signer.
        signer: String,
        /// The role (or roles) needed.
        needed: String,
        /// The roles held.
        has: String,
    },
    /// Revoked before this entry's seq.
    #[error("signer {signer} was revoked after its seq {limit}; this entry is at seq {seq}")]
    Revoked {
        /// The signer.
        signer: String,
        /// The revocation limit.
        limit: u64,
        /// The entry's seq.
        seq: u64,
    },
}

impl Membership {
    /// Computes membership from the genesis and membership entries (other kinds are ignored).
    /// The entries must already have passed signature, network and fork checks.
    pub fn compute<'a>(genesis: &Genesis, entries: impl IntoIterator<Item = &'a Entry>) -> Self {
        let genesis_admins: BTreeSet<PublicKey> = genesis.admins.iter().copied().collect();
        let mut admits = Vec::new();
        let mut revokes = Vec::new();
        for e in entries {
            match &e.payload.body {
                Body::MemberAdmit(a) => admits.push((e.payload.signer, e.payload.seq, e.id, a)),
                Body::MemberRevoke(r) => revokes.push((e.payload.signer, e.payload.seq, r)),
                _ => {}
            }
        }
        // Deterministic order (for names): by (admitting signer, seq, id).
        admits.sort_by_key(|x| (x.0, x.1, x.2));
        let mut limits: HashMap<PublicKey, u64> = HashMap::new();
        let within =
            |limits: &HashMap<PublicKey, u64>, k: &PublicKey, seq: u64| limits.get(k).is_none_or(|l| seq <= *l);
        let mut admins;
        loop {
            admins = genesis_admins.clone();
            loop {
                let mut grew = false;
                for (signer, seq, _, a) in &admits {
                    if a.role == Role::Admin
                        && admins.contains(signer)
                        && within(&limits, signer, *seq)
                        && admins.insert(a.member)
                    {
                        grew = true;
                    }
                }
                if !grew {
                    break;
                }
            }
            // Every revoke is judged against the limits as they were at the start of this
            // round, so the order in which revocations are listed does not matter.
            let snapshot = limits.clone();
            let mut lowered = false;
            for (signer, seq, r) in &revokes {
                if admins.contains(signer) && within(&snapshot, signer, *seq) {
                    let cur = limits.get(&r.member).copied().unwrap_or(u64::MAX);
                    if r.after_seq < cur {
                        limits.insert(r.member, r.after_seq);
                        lowered = true;
                    }
                }
            }
            if !lowered {
                break;
            }
        }
        let mut roles: HashMap<PublicKey, BTreeSet<Role>> = HashMap::new();
        let mut names: HashMap<PublicKey, String> = HashMap::new();
        let mut peers = BTreeMap::new();
        for k in &genesis_admins {
            roles.entry(*k).or_default().insert(Role::Admin);
        }
        for (signer, seq, _, a) in &admits {
            if admins.contains(signer) && within(&limits, signer, *seq) {
                roles.entry(a.member).or_default().insert(a.role);
                names.entry(a.member).or_insert_with(|| a.name.clone());
                if let Some(p) = &a.peer_id {
                    let keys: &mut Vec<PublicKey> = peers.entry(p.clone()).or_default();
                    if !keys.contains(&a.member) {
                        keys.push(a.member);
                    }
                }
            }
        }
        Membership {
            admins,
            roles,
            names,
            peers,
            limits,
            genesis_admins,
        }
    }

    /// Adds one more membership entry without computing the fixpoint again, where that gives
    /// exactly what [`Membership::compute`] over the set with `e` added would give; returns
    /// false (and changes nothing) where it cannot tell, and the caller computes afresh.
    ///
    /// The case it takes is the common one, an organisation admitted to a role other than
    /// admin: such an admit changes no admin and no limit, so the fixpoint is untouched and only
    /// the new member's role, name and peer are added. It declines a member who already holds
    /// a role or a name (the name kept depends on the order of all admits of that member), a
    /// peer id already named, admin admits and revocations.
    pub fn admit_one(&mut self, e: &Entry) -> bool {
        let Body::MemberAdmit(a) = &e.payload.body else {
            return false;
        };
        if a.role == Role::Admin
            || self.roles.contains_key(&a.member)
            || self.names.contains_key(&a.member)
            || self.genesis_admins.contains(&a.member)
            || a.peer_id.as_ref().is_some_and(|p| self.peers.contains_key(p))
        {
            return false;
        }
        let signer = e.payload.signer;
        let counts = self.admins.contains(&signer) && self.limits.get(&signer).is_none_or(|l| e.payload.seq <= *l);
        if counts {
            self.roles.entry(a.member).or_default().insert(a.role);
            self.names.insert(a.member, a.name.clone());
            if let Some(p) = &a.peer_id {
                self.peers.insert(p.clone(), vec![a.member]);
            }
        }
        // An admit whose signer is no admin (or is revoked before it) counts for nothing, now or
        // later: should its signer become an admin, that admission is itself an admin admit,
        // after which the caller computes afresh.
        true
    }

    /// Checks that `signer` holds one of the roles `needed` (an entry kind's
    /// [`crate::Kind::roles`]) and was not revoked before `seq`.
    pub fn authorize(&self, signer: &PublicKey, seq: u64, needed: &[Role]) -> Result<(), AuthError> {
        // The signer's description is for the error only: made when one is returned.
        let who = || self.describe(signer);
        let Some(roles) = self.roles.get(signer) else {
            return Err(AuthError::NotAdmitted(who()));
        };
        let holds = |r: &Role| roles.contains(r) || (*r == Role::Admin && self.admins.contains(signer));
        if !needed.iter().any(holds) {
            let has: Vec<&str> = roles.iter().map(Role::as_str).collect();
            let needed: Vec<&str> = needed.iter().map(Role::as_str).collect();
            return Err(AuthError::WrongRole {
                signer: who(),
                needed: needed.join(" or "),
                has: has.join(", "),
            });
        }
        if let Some(limit) = self.limits.get(signer)
            && seq > *limit
        {
            return Err(AuthError::Revoked {
                signer: who(),
                limit: *limit,
                seq,
            });
        }
        Ok(())
    }

    /// The organisation name of a member, if admitted with one.
    pub fn name(&self, k: &PublicKey) -> Option<&str> {
        if let Some(n) = self.names.get(k) {
            return Some(n);
        }
        self.genesis_admins.contains(k).then_some("genesis admin")
    }

    /// `name (abcd1234)` or `abcd1234` for messages.
    pub fn describe(&self, k: &PublicKey) -> String {
        match self.name(k) {
            Some(n) => format!("{n:?} ({})", k.fmt_short()),
            None => k.fmt_short(),
        }
    }

    /// The revocation limit of a key, if revoked.
    pub fn limit(&self, k: &PublicKey) -> Option<u64> {
        self.limits.get(k).copied()
    }

    /// The roles of a key.
    pub fn roles(&self, k: &PublicKey) -> Vec<Role> {
        self.roles
            .get(k)
            .map(|r| r.iter().copied().collect())
            .unwrap_or_default()
    }

    /// True if the key is an admin (genesis or admitted).
    pub fn is_admin(&self, k: &PublicKey) -> bool {
        self.admins.contains(k)
    }

    /// The admitted node peer ids, each with the first key that names it and is not revoked (a
    /// peer id stays admitted while any unrevoked member names it).
    pub fn node_peers(&self) -> impl Iterator<Item = (&str, &PublicKey)> {
        self.peers.iter().filter_map(|(p, keys)| {
            keys.iter()
                .find(|k| !self.limits.contains_key(k))
                .map(|k| (p.as_str(), k))
        })
    }
}
