//! The ledger's data model: the genesis, entry payloads, roles, declared units and emissions.
//! The entry kinds' bodies live in [`crate::kinds`] (re-exported here).
//!
//! JSON field names follow the PACT v3 `CarbonFootprint` where PACT has the concept
//! (`declaredUnitOfMeasurement`, `pcfExcludingBiogenicUptake`, `referencePeriodStart`, …);
//! the encodings are greenledger's own: integers, never floats (see [`crate::amount`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::kinds::{
    Body, Kind,
    attestation::{Attestation, Dqi, Evidence, Input, check_part},
    member_admit::MemberAdmit,
    member_revoke::MemberRevoke,
};
use crate::{
    amount::Mass,
    canonical,
    error::DecodeError,
    id::{EntryId, NetworkId},
    keys::PublicKey,
    kinds::BodyFields,
};

/// The version of the payload format (and of the domain tags).
pub const FORMAT_VERSION: u64 = 1;
/// Domain tag prefixed to a genesis before hashing.
pub const GENESIS_TAG: &[u8] = b"greenledger/genesis/v1\0";

/// Longest accepted free-text field, in bytes.
pub const MAX_TEXT: usize = 4096;
/// Longest accepted part identifier, in bytes.
pub const MAX_URN: usize = 512;
/// Most inputs one attestation may list.
pub const MAX_INPUTS: usize = 10_000;

/// The founding document of a network. Its hash is the [`NetworkId`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Genesis {
    /// Format version, 1.
    pub version: u64,
    /// The network's human name.
    pub name: String,
    /// When the genesis was made (RFC 3339, UTC); makes two networks of the same name distinct.
    pub created: String,
    /// The founding admin keys.
    pub admins: Vec<PublicKey>,
    /// The founding nodes' libp2p peer ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_peers: Vec<String>,
}

impl Genesis {
    /// A new genesis, checked.
    pub fn new(
        name: &str,
        created: &str,
        admins: Vec<PublicKey>,
        node_peers: Vec<String>,
    ) -> Result<Self, DecodeError> {
        let g = Genesis {
            version: FORMAT_VERSION,
            name: name.to_string(),
            created: created.to_string(),
            admins,
            node_peers,
        };
        g.check()?;
        Ok(g)
    }

    /// Parses a genesis from JSON text (any formatting) and checks it.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        // Duplicate keys are refused: a parser would resolve them silently, one way or another,
        // and the network id would follow whichever it kept.
        let v = canonical::parse_strict(bytes)
            .map_err(|e| DecodeError::Field(format!("genesis is not valid JSON: {e}")))?;
        Self::from_value(v)
    }

    /// Parses a genesis from a JSON value and checks it.
    pub fn from_value(v: Value) -> Result<Self, DecodeError> {
        check_version(&v)?;
        let g: Genesis = serde_json::from_value(v).map_err(|e| DecodeError::Field(format!("genesis: {e}")))?;
        g.check()?;
        Ok(g)
    }

    fn check(&self) -> Result<(), DecodeError> {
        if self.version != FORMAT_VERSION {
            return Err(DecodeError::UnsupportedVersion(self.version));
        }
        check_text("name", &self.name, 200)?;
        if self.name.trim().is_empty() {
            return Err(DecodeError::Invalid {
                field: "name",
                why: "must not be empty".into(),
            });
        }
        check_timestamp("created", &self.created)?;
        if self.admins.is_empty() {
            return Err(DecodeError::Invalid {
                field: "admins",
                why: "a genesis needs at least one admin key".into(),
            });
        }
        if has_duplicates(&self.admins) {
            return Err(DecodeError::Invalid {
                field: "admins",
                why: "an admin key is listed twice".into(),
            });
        }
        for p in &self.node_peers {
            check_peer_id(p).map_err(|why| DecodeError::Invalid {
                field: "nodePeers",
                why,
            })?;
        }
        if has_duplicates(&self.node_peers) {
            return Err(DecodeError::Invalid {
                field: "nodePeers",
                why: "a peer id is listed twice".into(),
            });
        }
        Ok(())
    }

    /// The canonical bytes of this genesis (what its id hashes, after the domain tag).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // A checked Genesis holds only strings, arrays and small integers: always encodable.
        canonical::encode(self).unwrap_or_default()
    }

    /// The network id: `blake3(GENESIS_TAG || canonical_bytes)`.
    pub fn network_id(&self) -> NetworkId {
        let mut h = blake3::Hasher::new();
        h.update(GENESIS_TAG);
        h.update(&self.canonical_bytes());
        NetworkId(*h.finalize().as_bytes())
    }
}

fn has_duplicates<T: Ord + Clone>(items: &[T]) -> bool {
    let mut v = items.to_vec();
    v.sort();
    v.windows(2).any(|w| w[0] == w[1])
}

fn check_version(v: &Value) -> Result<(), DecodeError> {
    match v.get("version").and_then(Value::as_u64) {
        Some(FORMAT_VERSION) => Ok(()),
        Some(other) => Err(DecodeError::UnsupportedVersion(other)),
        None => Err(DecodeError::Field("missing or non-integer field `version`".into())),
    }
}

/// Checks a libp2p peer id's text form loosely (base58btc, 40–60 characters); the node checks
/// it fully.
pub fn check_peer_id(p: &str) -> Result<(), String> {
    const B58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    if !(40..=60).contains(&p.len()) || !p.chars().all(|c| B58.contains(c)) {
        return Err(format!("{p:?} is not a libp2p peer id (base58, like 12D3KooW…)"));
    }
    Ok(())
}

pub(crate) fn check_text(field: &'static str, s: &str, max: usize) -> Result<(), DecodeError> {
    if s.len() > max {
        return Err(DecodeError::Invalid {
            field,
            why: format!("longer than {max} bytes"),
        });
    }
    Ok(())
}

pub(crate) fn check_timestamp(field: &'static str, s: &str) -> Result<(), DecodeError> {
    crate::time::parse(s).map(|_| ()).map_err(|e| DecodeError::Invalid {
        field,
        why: format!("{s:?} is not a UTC time such as 2026-01-31T12:00:00Z ({e})"),
    })
}

/// A member's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// May sign attestations.
    Supplier,
    /// May admit and revoke members.
    Admin,
    /// A node that may join the peer-to-peer network (names a peer id).
    Node,
    /// A certificate body: may issue green-electricity certificates.
    Issuer,
}

impl Role {
    /// The role's name as written in payloads.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Supplier => "supplier",
            Role::Admin => "admin",
            Role::Node => "node",
            Role::Issuer => "issuer",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "supplier" => Ok(Role::Supplier),
            "admin" => Ok(Role::Admin),
            "node" => Ok(Role::Node),
            "issuer" => Ok(Role::Issuer),
            _ => Err(format!("unknown role {s:?} (supplier, admin, node or issuer)")),
        }
    }
}

/// A declared unit: the PACT v3 set plus `piece`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Unit {
    /// kilogram
    #[serde(rename = "kilogram")]
    Kilogram,
    /// liter
    #[serde(rename = "liter")]
    Liter,
    /// cubic meter
    #[serde(rename = "cubic meter")]
    CubicMeter,
    /// kilowatt hour
    #[serde(rename = "kilowatt hour")]
    KilowattHour,
    /// megajoule
    #[serde(rename = "megajoule")]
    Megajoule,
    /// ton kilometer
    #[serde(rename = "ton kilometer")]
    TonKilometer,
    /// square meter
    #[serde(rename = "square meter")]
    SquareMeter,
    /// piece (greenledger's addition to the PACT set)
    #[serde(rename = "piece")]
    Piece,
}

impl Unit {
    /// Every unit, in documentation order.
    pub const ALL: [Unit; 8] = [
        Unit::Kilogram,
        Unit::Liter,
        Unit::CubicMeter,
        Unit::KilowattHour,
        Unit::Megajoule,
        Unit::TonKilometer,
        Unit::SquareMeter,
        Unit::Piece,
    ];

    /// The unit's name as written in payloads (PACT spelling).
    pub fn as_str(&self) -> &'static str {
        match self {
            Unit::Kilogram => "kilogram",
            Unit::Liter => "liter",
            Unit::CubicMeter => "cubic meter",
            Unit::KilowattHour => "kilowatt hour",
            Unit::Megajoule => "megajoule",
            Unit::TonKilometer => "ton kilometer",
            Unit::SquareMeter => "square meter",
            Unit::Piece => "piece",
        }
    }

    /// A short symbol for terminal output.
    pub fn symbol(&self) -> &'static str {
        match self {
            Unit::Kilogram => "kg",
            Unit::Liter => "l",
            Unit::CubicMeter => "m3",
            Unit::KilowattHour => "kWh",
            Unit::Megajoule => "MJ",
            Unit::TonKilometer => "tkm",
            Unit::SquareMeter => "m2",
            Unit::Piece => "piece",
        }
    }
}

impl std::str::FromStr for Unit {
    type Err = String;
    /// Accepts the PACT spelling (`"cubic meter"`), underscores or hyphens for the spaces
    /// (`cubic_meter`, `cubic-meter`) and the symbols (`kg`, `m3`, `kWh`, …).
    fn from_str(s: &str) -> Result<Self, String> {
        let norm = s.trim().to_ascii_lowercase().replace(['_', '-'], " ");
        for u in Unit::ALL {
            if norm == u.as_str() || norm == u.symbol().to_ascii_lowercase() {
                return Ok(u);
            }
        }
        let alias = match norm.as_str() {
            "litre" | "liters" | "litres" => Some(Unit::Liter),
            "kilograms" | "kilo" => Some(Unit::Kilogram),
            "pieces" | "pcs" | "pc" | "unit" | "each" => Some(Unit::Piece),
            "kwh" => Some(Unit::KilowattHour),
            _ => None,
        };
        alias.ok_or_else(|| {
            let all: Vec<&str> = Unit::ALL.iter().map(|u| u.as_str()).collect();
            format!(
                "unknown declared unit {s:?}; use one of: {} (or kg, l, m3, kWh, MJ, tkm, m2)",
                all.join(", ")
            )
        })
    }
}

/// Emissions per declared unit, in milligrams CO2e, split as PACT v3 splits them.
///
/// `pcfExcludingBiogenicUptake` is required; every other component is optional. The roll-up
/// ([`crate::rollup`]) carries a component into a total only if the supplier's own emissions
/// and every input's total declare it.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Emissions {
    /// The headline footprint, excluding biogenic CO2 uptake (≥ 0).
    pub pcf_excluding_biogenic_uptake: Mass,
    /// Including biogenic CO2 uptake (may be negative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcf_including_biogenic_uptake: Option<Mass>,
    /// Fossil GHG emissions (≥ 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fossil_ghg_emissions: Option<Mass>,
    /// Biogenic non-CO2 emissions (≥ 0).
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "biogenicNonCO2Emissions")]
    pub biogenic_non_co2_emissions: Option<Mass>,
    /// Biogenic CO2 uptake (≤ 0).
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "biogenicCO2Uptake")]
    pub biogenic_co2_uptake: Option<Mass>,
    /// Direct land-use-change emissions (≥ 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub land_use_change_ghg_emissions: Option<Mass>,
    /// Aircraft emissions (≥ 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aircraft_ghg_emissions: Option<Mass>,
    /// Packaging emissions (≥ 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packaging_ghg_emissions: Option<Mass>,
}

/// The sign a component must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    /// ≥ 0
    NonNegative,
    /// ≤ 0
    NonPositive,
    /// any
    Any,
}

/// One emission component: its JSON name, its sign rule and accessors.
pub struct Component {
    /// The JSON field name.
    pub name: &'static str,
    /// The sign rule.
    pub sign: Sign,
    /// Reads the component.
    pub get: fn(&Emissions) -> Option<Mass>,
    /// Writes the component.
    pub set: fn(&mut Emissions, Option<Mass>),
}

/// All emission components, in a fixed order. The first is the required headline.
pub const COMPONENTS: [Component; 8] = [
    Component {
        name: "pcfExcludingBiogenicUptake",
        sign: Sign::NonNegative,
        get: |e| Some(e.pcf_excluding_biogenic_uptake),
        set: |e, v| e.pcf_excluding_biogenic_uptake = v.unwrap_or_default(),
    },
    Component {
        name: "pcfIncludingBiogenicUptake",
        sign: Sign::Any,
        get: |e| e.pcf_including_biogenic_uptake,
        set: |e, v| e.pcf_including_biogenic_uptake = v,
    },
    Component {
        name: "fossilGhgEmissions",
        sign: Sign::NonNegative,
        get: |e| e.fossil_ghg_emissions,
        set: |e, v| e.fossil_ghg_emissions = v,
    },
    Component {
        name: "biogenicNonCO2Emissions",
        sign: Sign::NonNegative,
        get: |e| e.biogenic_non_co2_emissions,
        set: |e, v| e.biogenic_non_co2_emissions = v,
    },
    Component {
        name: "biogenicCO2Uptake",
        sign: Sign::NonPositive,
        get: |e| e.biogenic_co2_uptake,
        set: |e, v| e.biogenic_co2_uptake = v,
    },
    Component {
        name: "landUseChangeGhgEmissions",
        sign: Sign::NonNegative,
        get: |e| e.land_use_change_ghg_emissions,
        set: |e, v| e.land_use_change_ghg_emissions = v,
    },
    Component {
        name: "aircraftGhgEmissions",
        sign: Sign::NonNegative,
        get: |e| e.aircraft_ghg_emissions,
        set: |e, v| e.aircraft_ghg_emissions = v,
    },
    Component {
        name: "packagingGhgEmissions",
        sign: Sign::NonNegative,
        get: |e| e.packaging_ghg_emissions,
        set: |e, v| e.packaging_ghg_emissions = v,
    },
];

impl Emissions {
    /// Emissions with only the headline component.
    pub fn headline(excluding_biogenic_uptake: Mass) -> Self {
        Emissions {
            pcf_excluding_biogenic_uptake: excluding_biogenic_uptake,
            ..Default::default()
        }
    }

    /// Checks the sign rules of every declared component.
    pub fn check_signs(&self, field: &'static str) -> Result<(), DecodeError> {
        for c in &COMPONENTS {
            if let Some(v) = (c.get)(self) {
                let ok = match c.sign {
                    Sign::NonNegative => v.0 >= 0,
                    Sign::NonPositive => v.0 <= 0,
                    Sign::Any => true,
                };
                if !ok {
                    let rule = if c.sign == Sign::NonNegative {
                        "must not be negative"
                    } else {
                        "must not be positive"
                    };
                    return Err(DecodeError::Invalid {
                        field,
                        why: format!("{} {rule} (got {} kg)", c.name, v.kg_string()),
                    });
                }
            }
        }
        Ok(())
    }
}

/// The signed content of an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    /// The network (genesis hash).
    pub network: NetworkId,
    /// The signer.
    pub signer: PublicKey,
    /// Position in the signer's chain, from 1.
    pub seq: u64,
    /// The id of the signer's entry at `seq - 1`; absent at `seq` 1.
    pub prev: Option<EntryId>,
    /// The signer's clock (RFC 3339, UTC). Informative only: never used for ordering.
    pub timestamp: String,
    /// The body.
    pub body: Body,
}

/// The wire shape of a payload, before the body is decoded by kind.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPayload {
    version: u64,
    network: NetworkId,
    signer: PublicKey,
    seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prev: Option<EntryId>,
    timestamp: String,
    kind: Kind,
    body: Value,
}

/// The deepest payload [`Payload::decode_direct`] reads (serde_json's own limit is 127).
const DIRECT_DEPTH_MAX: usize = 64;

/// [`RawPayload`] borrowed from a [`Payload`], for encoding it without copies. It must
/// serialize exactly as `RawPayload` does (a test compares the two).
///
/// The fields are declared in the canonical order of their keys, so the canonical encoder
/// writes them straight out (see `canonical::encode`).
#[derive(Serialize)]
struct PayloadFields<'a> {
    body: BodyFields<'a>,
    kind: Kind,
    network: &'a NetworkId,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<&'a EntryId>,
    seq: u64,
    signer: &'a PublicKey,
    timestamp: &'a str,
    version: u64,
}

/// The wire shape of a payload read straight from its bytes, the body left as text until the
/// kind is known.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PayloadText<'a> {
    version: u64,
    network: NetworkId,
    signer: PublicKey,
    seq: u64,
    #[serde(default)]
    prev: Option<EntryId>,
    timestamp: String,
    kind: Kind,
    #[serde(borrow)]
    body: &'a serde_json::value::RawValue,
}

impl Payload {
    /// The canonical bytes of this payload.
    pub fn to_canonical(&self) -> Result<Vec<u8>, DecodeError> {
        self.check_chain_fields()?;
        self.body.check()?;
        let fields = PayloadFields {
            version: FORMAT_VERSION,
            network: &self.network,
            signer: &self.signer,
            seq: self.seq,
            prev: self.prev.as_ref(),
            timestamp: &self.timestamp,
            kind: self.body.kind(),
            body: BodyFields(&self.body),
        };
        Ok(canonical::encode(&fields)?)
    }

    /// The canonical bytes the way they were made before [`Payload::to_canonical`] wrote them
    /// directly: through [`RawPayload`] and a `Value`. Public for differential tests only.
    #[doc(hidden)]
    pub fn to_canonical_through_value(&self) -> Result<Vec<u8>, DecodeError> {
        self.check_chain_fields()?;
        self.body.check()?;
        let raw = RawPayload {
            version: FORMAT_VERSION,
            network: self.network,
            signer: self.signer,
            seq: self.seq,
            prev: self.prev,
            timestamp: self.timestamp.clone(),
            kind: self.body.kind(),
            body: self.body.to_value()?,
        };
        let value = serde_json::to_value(&raw).map_err(|e| DecodeError::Field(e.to_string()))?;
        Ok(canonical::to_canonical(&value)?)
    }

    /// Decodes and checks canonical payload bytes: canonical form, version, known kind, known
    /// fields only, field rules.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        // Nearly every payload a node sees is valid: read it straight into its types and prove
        // it canonical by encoding it again. Anything that fails that is decoded again the long
        // way, through a `Value`, which names what is wrong; both ways accept the same bytes and
        // give the same payload (tests compare them).
        if let Some(payload) = Self::decode_direct(bytes) {
            return Ok(payload);
        }
        Self::decode_through_value(bytes)
    }

    /// Decodes payload bytes that this process has already decoded and checked once (a node's
    /// own store keeps only such bytes): the typed payload, without proving the bytes canonical
    /// and the fields valid again. Anything that does not read falls back to
    /// [`Payload::decode`]. Never use it for bytes from outside.
    pub fn decode_stored(bytes: &[u8]) -> Result<Self, DecodeError> {
        let direct = || -> Option<Self> {
            let text: PayloadText<'_> = serde_json::from_slice(bytes).ok()?;
            Some(Payload {
                network: text.network,
                signer: text.signer,
                seq: text.seq,
                prev: text.prev,
                timestamp: text.timestamp,
                body: Body::from_text(text.kind, text.body.get())?,
            })
        };
        direct().map_or_else(|| Self::decode(bytes), Ok)
    }

    /// The fast way of [`Payload::decode`]: `None` for anything that is not a valid payload in
    /// canonical form. Public for differential tests and fuzzing only.
    #[doc(hidden)]
    pub fn decode_direct(bytes: &[u8]) -> Option<Self> {
        // serde_json refuses JSON nested deeper than 127 levels. The body is parsed on its own
        // here, one level down, so near that limit the two ways could disagree: deep payloads
        // (never made by greenledger) take the reference way.
        if canonical::nests_deeper_than(bytes, DIRECT_DEPTH_MAX) {
            return None;
        }
        let text: PayloadText<'_> = serde_json::from_slice(bytes).ok()?;
        if text.version != FORMAT_VERSION {
            return None;
        }
        let body = Body::from_text(text.kind, text.body.get())?;
        let payload = Payload {
            network: text.network,
            signer: text.signer,
            seq: text.seq,
            prev: text.prev,
            timestamp: text.timestamp,
            body,
        };
        // `to_canonical` checks the chain fields and the body's rules first.
        (payload.to_canonical().ok()? == bytes).then_some(payload)
    }

    /// The careful way of [`Payload::decode`], whose errors say what is wrong. Public for
    /// differential tests and fuzzing only.
    #[doc(hidden)]
    pub fn decode_through_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| crate::error::CanonicalError::NotJson(e.to_string()))?;
        let payload = Self::from_value(value)?;
        // The typed payload must encode back to these very bytes. This covers everything a
        // canonical-JSON check would (key order, whitespace, escapes, duplicate keys) and more:
        // one payload has one encoding (an explicit empty list, for instance, would otherwise be
        // a second encoding of the payload that omits it).
        let again = payload.to_canonical()?;
        if again != bytes {
            let offset = bytes
                .iter()
                .zip(&again)
                .position(|(a, b)| a != b)
                .unwrap_or(bytes.len().min(again.len()));
            return Err(DecodeError::Canonical(crate::error::CanonicalError::NotCanonical {
                offset,
            }));
        }
        Ok(payload)
    }

    /// Builds a payload from a JSON value of any formatting, with the same field rules as
    /// [`Payload::decode`] (used to sign prepared payloads; the signed form is canonical).
    pub fn from_value(value: Value) -> Result<Self, DecodeError> {
        check_version(&value)?;
        if let Some(k) = value.get("kind").and_then(Value::as_str)
            && Kind::from_name(k).is_none()
        {
            return Err(DecodeError::UnknownKind(k.to_string()));
        }
        let raw: RawPayload = serde_json::from_value(value).map_err(|e| DecodeError::Field(format!("payload: {e}")))?;
        let payload = Payload {
            network: raw.network,
            signer: raw.signer,
            seq: raw.seq,
            prev: raw.prev,
            timestamp: raw.timestamp,
            body: Body::from_value(raw.kind, raw.body)?,
        };
        payload.check_chain_fields()?;
        Ok(payload)
    }

    fn check_chain_fields(&self) -> Result<(), DecodeError> {
        if self.seq == 0 || self.seq > canonical::MAX_SAFE_INTEGER {
            return Err(DecodeError::Invalid {
                field: "seq",
                why: "starts at 1".into(),
            });
        }
        match (self.seq, self.prev) {
            (1, Some(_)) => {
                return Err(DecodeError::Invalid {
                    field: "prev",
                    why: "the first entry of a chain (seq 1) has no prev".into(),
                });
            }
            (s, None) if s > 1 => {
                return Err(DecodeError::Invalid {
                    field: "prev",
                    why: format!("seq {s} needs the id of the signer's entry at seq {}", s - 1),
                });
            }
            _ => {}
        }
        check_timestamp("timestamp", &self.timestamp)
    }
}
