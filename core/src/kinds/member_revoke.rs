//! `member.revoke`: an admin revokes a key after one of its chain positions.

use serde::{Deserialize, Serialize};

use super::{EntryKind, IndexRow, Kind};
use crate::{
    canonical,
    error::DecodeError,
    keys::PublicKey,
    model::{MAX_TEXT, Role, check_text},
};

/// Body of `member.revoke`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MemberRevoke {
    /// The revoked key.
    pub member: PublicKey,
    /// The member's entries with `seq <= afterSeq` stay valid; later ones are not.
    pub after_seq: u64,
    /// Why (free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl EntryKind for MemberRevoke {
    const KIND: Kind = Kind::MemberRevoke;
    const ROLES: &'static [Role] = &[Role::Admin];
    const MEMBERSHIP: bool = true;

    fn check(&self) -> Result<(), DecodeError> {
        if self.after_seq > canonical::MAX_SAFE_INTEGER {
            return Err(DecodeError::Invalid {
                field: "afterSeq",
                why: "too large".into(),
            });
        }
        if let Some(t) = &self.reason {
            check_text("reason", t, MAX_TEXT)?;
        }
        Ok(())
    }

    fn index_rows(&self, rows: &mut Vec<IndexRow>) {
        rows.push(IndexRow::Member);
    }

    fn summary(&self) -> String {
        format!("revoke {} after its seq {}", self.member.fmt_short(), self.after_seq)
    }
}
