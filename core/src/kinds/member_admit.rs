//! `member.admit`: an admin admits a key to the network with a role.

use serde::{Deserialize, Serialize};

use super::{EntryKind, IndexRow, Kind};
use crate::{
    error::DecodeError,
    keys::PublicKey,
    model::{Role, check_peer_id, check_text},
};

/// Longest organisation name, in bytes.
pub const MAX_NAME: usize = 200;

/// Body of `member.admit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MemberAdmit {
    /// The admitted key.
    pub member: PublicKey,
    /// The organisation's name.
    pub name: String,
    /// The member's role.
    pub role: Role,
    /// For role `node`: the node's libp2p peer id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_id: Option<String>,
}

impl EntryKind for MemberAdmit {
    const KIND: Kind = Kind::MemberAdmit;
    const ROLES: &'static [Role] = &[Role::Admin];
    const MEMBERSHIP: bool = true;

    fn check(&self) -> Result<(), DecodeError> {
        check_text("name", &self.name, MAX_NAME)?;
        if self.name.trim().is_empty() {
            return Err(DecodeError::Invalid {
                field: "name",
                why: "the organisation's name must not be empty".into(),
            });
        }
        match (self.role, &self.peer_id) {
            (Role::Node, None) => Err(DecodeError::Invalid {
                field: "peerId",
                why: "a member with role node must name its peer id".into(),
            }),
            (Role::Node, Some(p)) => check_peer_id(p).map_err(|why| DecodeError::Invalid { field: "peerId", why }),
            (_, Some(_)) => Err(DecodeError::Invalid {
                field: "peerId",
                why: "only a member with role node has a peer id".into(),
            }),
            (_, None) => Ok(()),
        }
    }

    fn index_rows(&self, rows: &mut Vec<IndexRow>) {
        rows.push(IndexRow::Member);
    }

    fn summary(&self) -> String {
        format!(
            "admit {} as {} ({})",
            self.member.fmt_short(),
            self.role.as_str(),
            self.name
        )
    }
}
