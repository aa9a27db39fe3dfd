//! The ledger rules that relate one entry to others, shared by the bundle verifier
//! ([`crate::verify`]) and the node's ingest path, so that there is one implementation.
//!
//! * [`check_rollup`] — the claimed total equals `own + Σ quantity × input.total` exactly.
//! * [`check_supersession`] — `supersedes` names an earlier attestation of the same signer
//!   about the same part.
//! * [`check_input`] — an input is an attestation.
//!
//! Membership is [`crate::Membership::authorize`]; chain and fork rules need the signer's
//! chain and live with whoever holds it (the verifier's bundle, the node's store).

use crate::{
    Entry,
    amount::Quantity,
    error::RollupError,
    model::{Attestation, COMPONENTS, Emissions},
    rollup,
};

/// An entry breaks a rule that involves other entries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
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
    #[error("input {0} is a {1} entry, not an attestation")]
    InputNotAttestation(String, &'static str),
}

/// Checks the claimed total of `a` against its own emissions and its inputs' totals (given in
/// the order of `a.inputs`).
pub fn check_rollup(a: &Attestation, inputs: &[(Quantity, &Emissions)]) -> Result<(), RuleError> {
    let computed = rollup::roll_up(&a.own, inputs)?;
    if computed == a.total {
        return Ok(());
    }
    let mut parts = Vec::new();
    for c in &COMPONENTS {
        let (claimed, want) = ((c.get)(&a.total), (c.get)(&computed));
        if claimed != want {
            let show = |m: Option<crate::Mass>| {
                m.map(|m| format!("{} kg", m.kg_string()))
                    .unwrap_or_else(|| "absent".into())
            };
            parts.push(format!(
                "{} claimed {} but own + inputs give {}",
                c.name,
                show(claimed),
                show(want)
            ));
        }
    }
    Err(RuleError::RollupMismatch(parts.join("; ")))
}

/// Checks that `input` may be used as an input (it must be an attestation).
pub fn check_input(input: &Entry) -> Result<&Attestation, RuleError> {
    input
        .attestation()
        .ok_or_else(|| RuleError::InputNotAttestation(input.id.fmt_short(), input.payload.body.kind().as_str()))
}

/// Checks that `new` (an attestation with `supersedes` = `old.id`) may supersede `old`.
pub fn check_supersession(new: &Entry, old: &Entry) -> Result<(), RuleError> {
    let (Some(a), short) = (new.attestation(), old.id.fmt_short()) else {
        return Ok(());
    };
    let err = |m: String| Err(RuleError::Supersession(m));
    let Some(oa) = old.attestation() else {
        return err(format!("supersedes {short} which is not an attestation"));
    };
    if old.payload.signer != new.payload.signer {
        return err(format!(
            "supersedes {short} which another signer made; only one's own attestations can be superseded"
        ));
    }
    if oa.part != a.part {
        return err(format!("supersedes {short} which is about another part ({})", oa.part));
    }
    if old.payload.seq >= new.payload.seq {
        return err(format!("supersedes {short} which is not earlier in the signer's chain"));
    }
    Ok(())
}
