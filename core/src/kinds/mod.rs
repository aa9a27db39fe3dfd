//! Entry kinds: one module per kind, registered once in the `kinds!` list below.
//!
//! Each kind owns, in its module:
//!
//! * its **body type** and its decoding (serde; unknown fields refused),
//! * its **structural checks** ([`EntryKind::check`]: what the body alone must satisfy),
//! * the **roles** one of which its signer needs ([`EntryKind::ROLES`]),
//! * the **entries it depends on** ([`EntryKind::dependencies`]),
//! * its **ledger rules** against the other entries ([`EntryKind::rules`], run by
//!   [`crate::engine`] as one of the engine's numbered steps),
//! * the **index rows** a node keeps for it ([`EntryKind::index_rows`]),
//! * a one-line **summary** for people.
//!
//! Adding a kind is adding a module that implements [`EntryKind`] and one line to the `kinds!`
//! list: the [`Kind`] and [`Body`] enums and every dispatch over them are generated from that
//! list, and the compiler points to any `match` elsewhere that must learn the new kind.
//!
//! # Layout
//!
//! * [`member_admit`] — `member.admit`: an admin admits a key with a role.
//! * [`member_revoke`] — `member.revoke`: an admin revokes a key after one of its seqs.
//! * [`attestation`] — `attestation`: a supplier's carbon footprint of a part or batch.
//! * [`certificate`] — `certificate.issue`, `certificate.transfer`, `certificate.retire`:
//!   green-electricity certificates, issued by an issuer, held, traded and retired.
//! * [`batch_ship`] — `batch.ship`: portions of a batch shipped to buyers.

pub mod attestation;
pub mod batch_ship;
pub mod certificate;
pub mod member_admit;
pub mod member_revoke;

use std::{borrow::Borrow, fmt};

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::{
    amount::Quantity,
    custody::{Draw, Output},
    engine::{KindError, LedgerView},
    entry::Entry,
    error::DecodeError,
    id::EntryId,
    model::Role,
};

/// What every entry kind provides. See the [module documentation](self).
pub trait EntryKind: Serialize + DeserializeOwned + Clone + fmt::Debug + PartialEq + Eq {
    /// The kind's tag.
    const KIND: Kind;
    /// The roles a signer may hold to sign entries of this kind (any one of them).
    const ROLES: &'static [Role];
    /// True for the kinds membership is computed from (`member.*`).
    const MEMBERSHIP: bool = false;

    /// Structural rules that need no other entry (ranges, lengths, identifier forms).
    fn check(&self) -> Result<(), DecodeError>;

    /// The entries this one needs, in a fixed order (the engine resolves them in this order and
    /// hands them to [`EntryKind::rules`] the same way).
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }

    /// The kind's ledger rules, given its dependencies as the view resolved them (`None`: not in
    /// the view). Every problem found is returned; rules that need a missing dependency are
    /// skipped (the engine reports what is missing).
    fn rules<V: LedgerView + ?Sized>(&self, entry: &Entry, deps: &[Resolved<'_>], view: &V) -> Vec<KindError> {
        let _ = (entry, deps, view);
        Vec::new()
    }

    /// The lots this entry draws on, with the amounts (see [`crate::custody`]).
    fn draws(&self, entry: &Entry) -> Vec<Draw> {
        let _ = entry;
        Vec::new()
    }

    /// The lots this entry creates, `ID:0`, `ID:1`, … in order.
    fn outputs(&self, entry: &Entry) -> Vec<Output> {
        let _ = entry;
        Vec::new()
    }

    /// The index rows a node keeps for an accepted entry of this kind.
    fn index_rows(&self, rows: &mut Vec<IndexRow>) {
        let _ = rows;
    }

    /// A one-line summary for terminal output.
    fn summary(&self) -> String;
}

/// How an entry depends on another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DepRole {
    /// The signer's previous entry (`prev`).
    Prev,
    /// An input of an attestation.
    Input,
    /// The entry an attestation corrects (`supersedes`).
    Supersedes,
    /// An entry whose lot this one draws on (or what that lot rests on).
    Lot,
}

impl DepRole {
    /// How people say it: "an input", "the superseded entry", "the previous entry".
    pub fn describe(&self) -> &'static str {
        match self {
            DepRole::Prev => "the previous entry of the signer's chain",
            DepRole::Input => "an input",
            DepRole::Supersedes => "the superseded entry",
            DepRole::Lot => "the entry of a lot drawn on",
        }
    }
}

/// One entry that another needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Dependency {
    /// The entry needed.
    pub id: EntryId,
    /// How it is needed.
    pub role: DepRole,
}

/// A dependency as a view resolved it.
#[derive(Debug)]
pub struct Resolved<'a> {
    /// What was asked for.
    pub dep: Dependency,
    /// The entry, if the view holds it.
    pub entry: Option<std::borrow::Cow<'a, Entry>>,
}

/// A row a node indexes an accepted entry under, beyond the log and the signer's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexRow {
    /// A membership entry (the node rebuilds membership from these).
    Member,
    /// An attestation of this part.
    Part(String),
    /// This entry consumes `input`, `quantity` per declared unit ("where used").
    Consumes {
        /// The input.
        input: EntryId,
        /// The quantity, in the input's declared unit.
        quantity: Quantity,
    },
    /// This entry corrects `old`.
    Supersedes(EntryId),
    /// This entry is a product footprint (served by the PACT API, under its footprint id).
    Footprint,
    /// This certificate issue names this device id.
    Device(String),
}

/// Generates [`Kind`], [`Body`] and their dispatch from the list of kinds.
macro_rules! kinds {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal => $ty:ty, stored as $store:ty; )+) => {
        /// The kind of an entry.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Kind {
            $( $(#[$doc])* #[serde(rename = $name)] $variant, )+
        }

        impl Kind {
            /// Every kind, in registry order.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),+];

            /// The kind's name as written in payloads.
            pub fn as_str(&self) -> &'static str {
                match self { $(Kind::$variant => $name,)+ }
            }

            /// The roles one of which a signer needs for entries of this kind.
            pub fn roles(&self) -> &'static [Role] {
                match self { $(Kind::$variant => <$ty as EntryKind>::ROLES,)+ }
            }

            /// True for the kinds membership is computed from (`member.*`).
            pub fn is_membership(&self) -> bool {
                match self { $(Kind::$variant => <$ty as EntryKind>::MEMBERSHIP,)+ }
            }

            /// The kind named `s` in payloads.
            pub fn from_name(s: &str) -> Option<Kind> {
                match s { $($name => Some(Kind::$variant),)+ _ => None }
            }
        }

        /// A decoded entry body: one variant per kind.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Body {
            $( $(#[$doc])* $variant($store), )+
        }

        $(
            impl From<$ty> for Body {
                fn from(b: $ty) -> Body {
                    Body::$variant(<$store>::from(b))
                }
            }
        )+

        impl Body {
            /// The body's kind.
            pub fn kind(&self) -> Kind {
                match self { $(Body::$variant(_) => Kind::$variant,)+ }
            }

            /// Structural rules of the body alone.
            pub fn check(&self) -> Result<(), DecodeError> {
                match self { $(Body::$variant(b) => EntryKind::check(Borrow::<$ty>::borrow(b)),)+ }
            }

            /// The entries this body needs (see [`EntryKind::dependencies`]).
            pub fn dependencies(&self) -> Vec<Dependency> {
                match self { $(Body::$variant(b) => EntryKind::dependencies(Borrow::<$ty>::borrow(b)),)+ }
            }

            /// Runs the kind's ledger rules (see [`EntryKind::rules`]).
            pub(crate) fn rules<V: LedgerView + ?Sized>(
                &self,
                entry: &Entry,
                deps: &[Resolved<'_>],
                view: &V,
            ) -> Vec<KindError> {
                match self { $(Body::$variant(b) => EntryKind::rules(Borrow::<$ty>::borrow(b), entry, deps, view),)+ }
            }

            /// The lots this entry draws on (see [`EntryKind::draws`]).
            pub fn draws(&self, entry: &Entry) -> Vec<Draw> {
                match self { $(Body::$variant(b) => EntryKind::draws(Borrow::<$ty>::borrow(b), entry),)+ }
            }

            /// The lots this entry creates (see [`EntryKind::outputs`]).
            pub fn outputs(&self, entry: &Entry) -> Vec<Output> {
                match self { $(Body::$variant(b) => EntryKind::outputs(Borrow::<$ty>::borrow(b), entry),)+ }
            }

            /// The index rows a node keeps for this body.
            pub fn index_rows(&self) -> Vec<IndexRow> {
                let mut rows = Vec::new();
                match self { $(Body::$variant(b) => EntryKind::index_rows(Borrow::<$ty>::borrow(b), &mut rows),)+ }
                rows
            }

            /// A one-line summary for terminal output.
            pub fn summary(&self) -> String {
                match self { $(Body::$variant(b) => EntryKind::summary(Borrow::<$ty>::borrow(b)),)+ }
            }

            /// The body as a JSON value (the reference encoding path).
            pub(crate) fn to_value(&self) -> Result<Value, DecodeError> {
                let r = match self { $(Body::$variant(b) => serde_json::to_value(Borrow::<$ty>::borrow(b)),)+ };
                r.map_err(|e| DecodeError::Field(e.to_string()))
            }

            /// Decodes a body of `kind` from a JSON value, naming the path of a bad field, and
            /// checks it.
            pub(crate) fn from_value(kind: Kind, v: Value) -> Result<Self, DecodeError> {
                let body = match kind { $(Kind::$variant => Body::from(typed::<$ty>(kind, v)?),)+ };
                body.check()?;
                Ok(body)
            }

            /// Decodes a body of `kind` straight from its text (no checks, no error detail: the
            /// fast path of [`crate::model::Payload::decode`]).
            pub(crate) fn from_text(kind: Kind, text: &str) -> Option<Self> {
                Some(match kind { $(Kind::$variant => Body::from(serde_json::from_str::<$ty>(text).ok()?),)+ })
            }
        }

        impl Serialize for BodyFields<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self.0 { $(Body::$variant(b) => Borrow::<$ty>::borrow(b).serialize(s),)+ }
            }
        }
    };
}

kinds! {
    /// An admin admits a member.
    MemberAdmit = "member.admit" => member_admit::MemberAdmit, stored as member_admit::MemberAdmit;
    /// An admin revokes a member after one of its sequence numbers.
    MemberRevoke = "member.revoke" => member_revoke::MemberRevoke, stored as member_revoke::MemberRevoke;
    /// A supplier's carbon-footprint attestation.
    Attestation = "attestation" => attestation::Attestation, stored as Box<attestation::Attestation>;
    /// An issuer issues a green-electricity certificate.
    CertificateIssue = "certificate.issue" => certificate::CertificateIssue, stored as Box<certificate::CertificateIssue>;
    /// A holder transfers certificate lots.
    CertificateTransfer = "certificate.transfer" => certificate::CertificateTransfer, stored as certificate::CertificateTransfer;
    /// A holder retires certificate lots for a beneficiary.
    CertificateRetire = "certificate.retire" => certificate::CertificateRetire, stored as certificate::CertificateRetire;
    /// A holder ships portions of a batch.
    BatchShip = "batch.ship" => batch_ship::BatchShip, stored as batch_ship::BatchShip;
}

/// A body as the fields of its kind's struct (no tag: the kind is a field of the payload).
pub(crate) struct BodyFields<'a>(pub(crate) &'a Body);

/// Errors name the field's path, e.g. `attestation body: own.pcfExcludingBiogenicUptake: …`.
fn typed<T: DeserializeOwned>(kind: Kind, v: Value) -> Result<T, DecodeError> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." {
            String::new()
        } else {
            format!("{path}: ")
        };
        DecodeError::Field(format!("{kind} body: {at}{}", e.inner()))
    })
}

/// The known kinds, for messages: `member.admit, member.revoke, attestation`.
pub fn known_kinds() -> String {
    Kind::ALL.iter().map(Kind::as_str).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Body {
    /// The attestation, if this is one.
    pub fn as_attestation(&self) -> Option<&attestation::Attestation> {
        match self {
            Body::Attestation(a) => Some(a),
            _ => None,
        }
    }
}
