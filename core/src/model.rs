//! The ledger's data model: genesis, entry payloads and the three entry kinds.
//!
//! JSON field names follow the PACT v3 `CarbonFootprint` where PACT has the concept
//! (`declaredUnitOfMeasurement`, `pcfExcludingBiogenicUptake`, `referencePeriodStart`, …);
//! the encodings are greenledger's own: integers, never floats (see [`crate::amount`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{
    amount::{Mass, Quantity, Share},
    canonical,
    error::DecodeError,
    id::{EntryId, NetworkId},
    keys::PublicKey,
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
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        let v: Value =
            serde_json::from_slice(bytes).map_err(|e| DecodeError::Field(format!("genesis is not valid JSON: {e}")))?;
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
    humantime::parse_rfc3339(s)
        .map(|_| ())
        .map_err(|e| DecodeError::Invalid {
            field,
            why: format!("{s:?} is not an RFC 3339 UTC time such as 2026-01-31T12:00:00Z ({e})"),
        })
}

/// The kind of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// An admin admits a member.
    #[serde(rename = "member.admit")]
    MemberAdmit,
    /// An admin revokes a member after one of its sequence numbers.
    #[serde(rename = "member.revoke")]
    MemberRevoke,
    /// A supplier's carbon-footprint attestation.
    #[serde(rename = "attestation")]
    Attestation,
}

impl Kind {
    /// The kind's name as written in payloads.
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::MemberAdmit => "member.admit",
            Kind::MemberRevoke => "member.revoke",
            Kind::Attestation => "attestation",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
}

impl Role {
    /// The role's name as written in payloads.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Supplier => "supplier",
            Role::Admin => "admin",
            Role::Node => "node",
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
            _ => Err(format!("unknown role {s:?} (supplier, admin or node)")),
        }
    }
}

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

/// One upstream input of an attestation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Input {
    /// The input attestation's entry id.
    pub entry: EntryId,
    /// How much of the input goes into one declared unit of this product, in the **input's**
    /// declared unit (millionths).
    pub quantity: Quantity,
}

/// Data-quality indicators, PACT v3 names, each a rating × 100 (1.00–3.00 → 100–300).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Dqi {
    /// Coverage, in basis points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage_percent: Option<Share>,
    /// Technological data-quality rating × 100.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "technologicalDQR")]
    pub technological_dqr: Option<u16>,
    /// Temporal data-quality rating × 100.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "temporalDQR")]
    pub temporal_dqr: Option<u16>,
    /// Geographical data-quality rating × 100.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "geographicalDQR")]
    pub geographical_dqr: Option<u16>,
    /// Completeness data-quality rating × 100.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "completenessDQR")]
    pub completeness_dqr: Option<u16>,
    /// Reliability data-quality rating × 100.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "reliabilityDQR")]
    pub reliability_dqr: Option<u16>,
}

/// A document that backs the attestation, by blake3 hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Evidence {
    /// blake3 of the document, 64 lowercase hex characters.
    pub hash: String,
    /// A name for people (e.g. the file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Body of `attestation`: the carbon footprint of one part or batch, per declared unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Attestation {
    /// The part or batch: a URN (`urn:epc:id:sgtin:…`, `urn:epc:class:lgtin:…`, `urn:greenledger:…`).
    pub part: String,
    /// The declared unit (PACT v3 `declaredUnitOfMeasurement`). Every figure is per one unit.
    pub declared_unit_of_measurement: Unit,
    /// The batch's produced quantity, in declared units (millionths).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub produced_quantity: Option<Quantity>,
    /// The supplier's own emissions per declared unit.
    pub own: Emissions,
    /// Upstream attestations consumed per declared unit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Input>,
    /// The claimed cradle-to-gate footprint per declared unit: `own + Σ quantity × input.total`.
    pub total: Emissions,
    /// Energy used per declared unit, in kWh (millionths).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_consumption_kwh: Option<Quantity>,
    /// The renewable share of that energy, in basis points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewable_energy_share: Option<Share>,
    /// Start of the reference period (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_period_start: Option<String>,
    /// End of the reference period (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_period_end: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geography_country: Option<String>,
    /// ISO 3166-2 subdivision code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geography_country_subdivision: Option<String>,
    /// UN M49 region or subregion name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geography_region_or_subregion: Option<String>,
    /// Standards followed, e.g. `ISO 14067`, `GHGP-Product`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cross_sectoral_standards: Vec<String>,
    /// Share of primary data, in basis points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_data_share: Option<Share>,
    /// Data-quality indicators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dqi: Option<Dqi>,
    /// Evidence documents, by hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// The signer's own earlier attestation that this one corrects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<EntryId>,
    /// The product's name (PACT `productNameCompany`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name_company: Option<String>,
    /// A description (PACT `productDescription`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_description: Option<String>,
    /// A comment (PACT `comment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Free-form extension data (e.g. fields of an imported PACT footprint). Integers only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Map<String, Value>>,
}

impl Attestation {
    /// An attestation with the required fields; `total` equals `own` until inputs are added
    /// and [`crate::rollup::roll_up`] is applied.
    pub fn new(part: &str, unit: Unit, own: Emissions) -> Self {
        Attestation {
            part: part.to_string(),
            declared_unit_of_measurement: unit,
            produced_quantity: None,
            total: own.clone(),
            own,
            inputs: Vec::new(),
            energy_consumption_kwh: None,
            renewable_energy_share: None,
            reference_period_start: None,
            reference_period_end: None,
            geography_country: None,
            geography_country_subdivision: None,
            geography_region_or_subregion: None,
            cross_sectoral_standards: Vec::new(),
            primary_data_share: None,
            dqi: None,
            evidence: Vec::new(),
            supersedes: None,
            product_name_company: None,
            product_description: None,
            comment: None,
            extensions: None,
        }
    }

    /// Structural rules that need no other entry: identifier form, positive quantities, sign
    /// rules, ranges, no duplicate inputs, text lengths.
    pub fn check(&self) -> Result<(), DecodeError> {
        check_part(&self.part)?;
        if let Some(q) = self.produced_quantity
            && q.0 <= 0
        {
            return Err(DecodeError::Invalid {
                field: "producedQuantity",
                why: "must be greater than 0".into(),
            });
        }
        self.own.check_signs("own")?;
        self.total.check_signs("total")?;
        if self.inputs.len() > MAX_INPUTS {
            return Err(DecodeError::Invalid {
                field: "inputs",
                why: format!("more than {MAX_INPUTS} inputs"),
            });
        }
        let mut seen: Vec<EntryId> = self.inputs.iter().map(|i| i.entry).collect();
        seen.sort();
        if seen.windows(2).any(|w| w[0] == w[1]) {
            return Err(DecodeError::Invalid {
                field: "inputs",
                why: "an input is listed twice; give it once with the summed quantity".into(),
            });
        }
        for i in &self.inputs {
            if i.quantity.0 <= 0 {
                return Err(DecodeError::Invalid {
                    field: "inputs",
                    why: format!("quantity of input {} must be greater than 0", i.entry.fmt_short()),
                });
            }
        }
        if let Some(q) = self.energy_consumption_kwh
            && q.0 < 0
        {
            return Err(DecodeError::Invalid {
                field: "energyConsumptionKwh",
                why: "must not be negative".into(),
            });
        }
        for (field, share) in [
            ("renewableEnergyShare", self.renewable_energy_share),
            ("primaryDataShare", self.primary_data_share),
        ] {
            if let Some(s) = share
                && s.0 > 10_000
            {
                return Err(DecodeError::Invalid {
                    field,
                    why: "a share is at most 10000 basis points (100%)".into(),
                });
            }
        }
        if let Some(d) = &self.dqi {
            if let Some(c) = d.coverage_percent
                && c.0 > 10_000
            {
                return Err(DecodeError::Invalid {
                    field: "dqi",
                    why: "coveragePercent is at most 10000 basis points".into(),
                });
            }
            for r in [
                d.technological_dqr,
                d.temporal_dqr,
                d.geographical_dqr,
                d.completeness_dqr,
                d.reliability_dqr,
            ]
            .into_iter()
            .flatten()
            {
                if !(100..=300).contains(&r) {
                    return Err(DecodeError::Invalid {
                        field: "dqi",
                        why: format!("a data-quality rating × 100 is between 100 and 300, got {r}"),
                    });
                }
            }
        }
        for (field, t) in [
            ("referencePeriodStart", &self.reference_period_start),
            ("referencePeriodEnd", &self.reference_period_end),
        ] {
            if let Some(t) = t {
                check_timestamp(field, t)?;
            }
        }
        if let (Some(a), Some(b)) = (&self.reference_period_start, &self.reference_period_end)
            && let (Ok(a), Ok(b)) = (humantime::parse_rfc3339(a), humantime::parse_rfc3339(b))
            && a >= b
        {
            return Err(DecodeError::Invalid {
                field: "referencePeriodEnd",
                why: "the reference period must end after it starts".into(),
            });
        }
        if let Some(c) = &self.geography_country
            && (c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(DecodeError::Invalid {
                field: "geographyCountry",
                why: format!("{c:?} is not an ISO 3166-1 alpha-2 code such as DE"),
            });
        }
        for e in &self.evidence {
            if e.hash.len() != 64 || !e.hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                return Err(DecodeError::Invalid {
                    field: "evidence",
                    why: format!("{:?} is not a blake3 hash (64 lowercase hex characters)", e.hash),
                });
            }
        }
        let texts = [
            ("geographyCountrySubdivision", &self.geography_country_subdivision),
            ("geographyRegionOrSubregion", &self.geography_region_or_subregion),
            ("productNameCompany", &self.product_name_company),
            ("productDescription", &self.product_description),
            ("comment", &self.comment),
        ];
        for (field, t) in texts {
            if let Some(t) = t {
                check_text(field, t, MAX_TEXT)?;
            }
        }
        for s in &self.cross_sectoral_standards {
            check_text("crossSectoralStandards", s, 200)?;
        }
        Ok(())
    }
}

/// Checks a part identifier: a URN (`urn:` then a namespace and a specific string), no
/// whitespace or control characters, at most [`MAX_URN`] bytes.
pub fn check_part(part: &str) -> Result<(), DecodeError> {
    let invalid = |why: &str| DecodeError::Invalid {
        field: "part",
        why: format!("{part:?} {why}"),
    };
    if part.len() > MAX_URN {
        return Err(invalid(&format!("is longer than {MAX_URN} bytes")));
    }
    // Compared as bytes: the fourth byte of an untrusted string may fall inside a character.
    if part
        .as_bytes()
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"urn:"))
        && !part.starts_with("urn:")
    {
        return Err(invalid(
            "must start with lowercase \"urn:\" (one spelling per part, so that lookups match)",
        ));
    }
    let Some(rest) = part.strip_prefix("urn:") else {
        return Err(invalid(
            "is not a URN (urn:epc:id:sgtin:…, urn:epc:class:lgtin:…, urn:greenledger:…)",
        ));
    };
    let mut it = rest.splitn(2, ':');
    let nid = it.next().unwrap_or("");
    let nss = it.next().unwrap_or("");
    if nid.is_empty() || nss.is_empty() {
        return Err(invalid("needs a namespace and a name after urn: (urn:NAMESPACE:NAME)"));
    }
    if part.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("contains whitespace or control characters"));
    }
    Ok(())
}

/// A decoded entry body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// `member.admit`
    MemberAdmit(MemberAdmit),
    /// `member.revoke`
    MemberRevoke(MemberRevoke),
    /// `attestation`
    Attestation(Box<Attestation>),
}

impl Body {
    /// The body's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Body::MemberAdmit(_) => Kind::MemberAdmit,
            Body::MemberRevoke(_) => Kind::MemberRevoke,
            Body::Attestation(_) => Kind::Attestation,
        }
    }

    /// The attestation, if this is one.
    pub fn as_attestation(&self) -> Option<&Attestation> {
        match self {
            Body::Attestation(a) => Some(a),
            _ => None,
        }
    }

    fn to_value(&self) -> Result<Value, DecodeError> {
        let r = match self {
            Body::MemberAdmit(b) => serde_json::to_value(b),
            Body::MemberRevoke(b) => serde_json::to_value(b),
            Body::Attestation(b) => serde_json::to_value(b),
        };
        r.map_err(|e| DecodeError::Field(e.to_string()))
    }

    pub(crate) fn from_value(kind: Kind, v: Value) -> Result<Self, DecodeError> {
        // Errors name the field's path, e.g. `attestation body: own.pcfExcludingBiogenicUptake: …`.
        fn typed<T: serde::de::DeserializeOwned>(kind: Kind, v: Value) -> Result<T, DecodeError> {
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
        let body = match kind {
            Kind::MemberAdmit => Body::MemberAdmit(typed(kind, v)?),
            Kind::MemberRevoke => Body::MemberRevoke(typed(kind, v)?),
            Kind::Attestation => Body::Attestation(Box::new(typed(kind, v)?)),
        };
        body.check()?;
        Ok(body)
    }

    /// Structural rules of the body alone.
    pub fn check(&self) -> Result<(), DecodeError> {
        match self {
            Body::MemberAdmit(a) => {
                check_text("name", &a.name, 200)?;
                if a.name.trim().is_empty() {
                    return Err(DecodeError::Invalid {
                        field: "name",
                        why: "the organisation's name must not be empty".into(),
                    });
                }
                match (a.role, &a.peer_id) {
                    (Role::Node, None) => Err(DecodeError::Invalid {
                        field: "peerId",
                        why: "a member with role node must name its peer id".into(),
                    }),
                    (Role::Node, Some(p)) => {
                        check_peer_id(p).map_err(|why| DecodeError::Invalid { field: "peerId", why })
                    }
                    (_, Some(_)) => Err(DecodeError::Invalid {
                        field: "peerId",
                        why: "only a member with role node has a peer id".into(),
                    }),
                    (_, None) => Ok(()),
                }
            }
            Body::MemberRevoke(r) => {
                if r.after_seq > canonical::MAX_SAFE_INTEGER {
                    return Err(DecodeError::Invalid {
                        field: "afterSeq",
                        why: "too large".into(),
                    });
                }
                if let Some(t) = &r.reason {
                    check_text("reason", t, MAX_TEXT)?;
                }
                Ok(())
            }
            Body::Attestation(a) => a.check(),
        }
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
#[derive(Serialize)]
struct PayloadFields<'a> {
    version: u64,
    network: &'a NetworkId,
    signer: &'a PublicKey,
    seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<&'a EntryId>,
    timestamp: &'a str,
    kind: Kind,
    body: BodyFields<'a>,
}

/// A body as the fields of its kind's struct (no tag: the kind is a field of the payload).
struct BodyFields<'a>(&'a Body);

impl Serialize for BodyFields<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Body::MemberAdmit(b) => b.serialize(s),
            Body::MemberRevoke(b) => b.serialize(s),
            Body::Attestation(b) => b.serialize(s),
        }
    }
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

    /// The fast way of [`Payload::decode`]: `None` for anything that is not a valid payload in
    /// canonical form. Public for differential tests and fuzzing only.
    #[doc(hidden)]
    pub fn decode_direct(bytes: &[u8]) -> Option<Self> {
        // serde_json refuses JSON nested deeper than 127 levels. The body is parsed on its own
        // here, one level down, so near that limit the two ways could disagree: deep payloads
        // (never made by greenledger) take the reference way.
        if canonical::nesting_depth(bytes) > DIRECT_DEPTH_MAX {
            return None;
        }
        let text: PayloadText<'_> = serde_json::from_slice(bytes).ok()?;
        if text.version != FORMAT_VERSION {
            return None;
        }
        let body = text.body.get();
        let body = match text.kind {
            Kind::MemberAdmit => Body::MemberAdmit(serde_json::from_str(body).ok()?),
            Kind::MemberRevoke => Body::MemberRevoke(serde_json::from_str(body).ok()?),
            Kind::Attestation => Body::Attestation(Box::new(serde_json::from_str(body).ok()?)),
        };
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
            && serde_json::from_value::<Kind>(Value::String(k.to_string())).is_err()
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

impl Body {
    /// A one-line summary for terminal output.
    pub fn summary(&self) -> String {
        match self {
            Body::MemberAdmit(a) => format!("admit {} as {} ({})", a.member.fmt_short(), a.role.as_str(), a.name),
            Body::MemberRevoke(r) => format!("revoke {} after its seq {}", r.member.fmt_short(), r.after_seq),
            Body::Attestation(a) => format!(
                "{} total {} kg CO2e/{}",
                a.part,
                a.total.pcf_excluding_biogenic_uptake.kg_string(),
                a.declared_unit_of_measurement.symbol()
            ),
        }
    }
}
