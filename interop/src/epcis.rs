//! GS1 EPCIS 2.0 (JSON / JSON-LD) import and export; `docs/EPCIS.md` gives the mapping.
//!
//! **Import.** A TransformationEvent says which inputs went into which outputs. [`parse`]
//! reads an EPCISDocument (serde, with the path of every error); [`Event::output`] chooses the
//! output that becomes the attestation's part and its produced quantity; [`Event::inputs`]
//! lists the inputs, each an EPC and an amount, which the caller matches to attestations or
//! lots (that is I/O: the CLI does it) and turns into a quantity per declared unit with
//! [`per_unit`]; [`extensions`] records the event in the attestation's `extensions.epcis`.
//!
//! **Export.** [`transformation_event`] writes an attestation as a TransformationEvent (from
//! its recorded event where it has one), [`shipping_events`] a `batch.ship` entry as
//! ObjectEvents with `bizStep` shipping, and [`document`] wraps events in an EPCISDocument.
//!
//! **Identifiers.** GS1 keys are compared by value ([`Epc`]): an SGTIN, LGTIN or GTIN-class
//! EPC URN and a GS1 Digital Link URI of the same GTIN (and serial or lot) are the same EPC,
//! whatever the length of the GS1 Company Prefix the URN was written with.

use std::collections::BTreeMap;

use greenledger_core::{Entry, EntryId, Quantity, Unit, kinds::batch_ship::BatchShip, model::Body};
use serde::Deserialize;
use serde_json::{Map, Number, Value, json};

/// The EPCIS 2.0 JSON-LD context that exports name.
pub const CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// The contexts accepted on import: the 2.0.0 context and its unversioned alias (which the
/// GS1 examples use).
pub const CONTEXTS: [&str; 2] = [CONTEXT, "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"];

/// The namespace of greenledger's own fields in exported events (`greenledger:entry`, …).
pub const NAMESPACE: &str = "https://github.com/greenledger/greenledger/blob/main/docs/EPCIS.md#";

/// The most events a document may hold (an import reads one of them).
pub const MAX_EVENTS: usize = 10_000;

/// A refused document: the field (a path such as `epcisBody.eventList[0].inputQuantityList[1].uom`)
/// and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {why}")]
pub struct Error {
    /// Where in the document.
    pub field: String,
    /// What is wrong, and what to do.
    pub why: String,
}

fn err(field: impl Into<String>, why: impl Into<String>) -> Error {
    Error {
        field: field.into(),
        why: why.into(),
    }
}

// ---- identifiers ------------------------------------------------------------------------

/// A GTIN, as its 14 digits (check digit included).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gtin(String);

impl Gtin {
    /// The 14 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// From the 13 digits before the check digit (indicator, company prefix, item reference).
    fn from_body(body: &str) -> Gtin {
        Gtin(format!("{body}{}", check_digit(body)))
    }

    /// The EPC URN spellings' `CompanyPrefix.IndicatorItemRef` for every company prefix length
    /// GS1 allows (6 to 12 digits): a GTIN does not say where its company prefix ends.
    fn splits(&self) -> Vec<String> {
        let d = &self.0;
        (6..=12)
            .map(|l| format!("{}.{}{}", &d[1..1 + l], &d[..1], &d[1 + l..13]))
            .collect()
    }
}

/// The GS1 check digit of the digits before it.
fn check_digit(body: &str) -> char {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// An EPC or EPC class, compared by value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Epc {
    /// One trade item: a GTIN and a serial number (SGTIN; Digital Link `/01/…/21/…`).
    Item {
        /// The GTIN.
        gtin: Gtin,
        /// The serial number (unescaped).
        serial: String,
    },
    /// A batch or lot of a GTIN (LGTIN; Digital Link `/01/…/10/…`).
    Lot {
        /// The GTIN.
        gtin: Gtin,
        /// The lot number (unescaped).
        lot: String,
    },
    /// Every item of a GTIN (`urn:epc:idpat:sgtin:CP.IR.*`; Digital Link `/01/…`).
    Product {
        /// The GTIN.
        gtin: Gtin,
    },
    /// Any other URN (`urn:epc:id:sscc:…`, `urn:greenledger:…`), compared as written.
    Other(String),
}

/// Characters an EPC URN's serial or lot escapes (TDS §7: `"`, `%`, `&`, `/`, `<`, `>`, `?`).
const ESCAPED: &[u8] = b"\"%&/<>?";

fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("{s:?} has a '%' that is not followed by two hex digits"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{s:?} decodes to bytes that are not UTF-8"))
}

fn urn_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() && ESCAPED.contains(&(c as u8)) {
            out.push_str(&format!("%{:02X}", c as u8));
        } else {
            out.push(c);
        }
    }
    out
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl Epc {
    /// Reads an EPC URN, an EPC class URN, a GTIN pattern URN, a GS1 Digital Link URI, or any
    /// other URN.
    pub fn parse(s: &str) -> Result<Epc, String> {
        for (prefix, kind) in [
            ("urn:epc:id:sgtin:", 0),
            ("urn:epc:class:lgtin:", 1),
            ("urn:epc:idpat:sgtin:", 2),
        ] {
            if let Some(rest) = s.strip_prefix(prefix) {
                return Epc::from_urn(s, rest, kind);
            }
        }
        if s.starts_with("https://") || s.starts_with("http://") {
            return Epc::from_digital_link(s);
        }
        if s.starts_with("urn:") {
            if s.starts_with("urn:epc:idpat:") || s.starts_with("urn:epc:class:") {
                return Err(format!(
                    "{s:?} is an EPC pattern or class greenledger does not read (it reads urn:epc:class:lgtin:…, urn:epc:idpat:sgtin:CP.IR.*, and GS1 Digital Link URIs)"
                ));
            }
            greenledger_core::kinds::attestation::check_part(s).map_err(|e| e.to_string())?;
            return Ok(Epc::Other(s.to_string()));
        }
        Err(format!(
            "{s:?} is not an EPC: write an EPC URN (urn:epc:id:sgtin:…, urn:epc:class:lgtin:…, urn:epc:idpat:sgtin:…*) or a GS1 Digital Link URI (https://id.gs1.org/01/…)"
        ))
    }

    fn from_urn(s: &str, rest: &str, kind: u8) -> Result<Epc, String> {
        let parts: Vec<&str> = rest.splitn(3, '.').collect();
        let [cp, ir, tail] = parts.as_slice() else {
            return Err(format!(
                "{s:?}: expected CompanyPrefix.IndicatorItemRef.{} after the scheme",
                ["Serial", "Lot", "*"][kind as usize]
            ));
        };
        if !digits(cp) || !digits(ir) || cp.len() + ir.len() != 13 || !(6..=12).contains(&cp.len()) {
            return Err(format!(
                "{s:?}: the company prefix (6 to 12 digits) and the indicator and item reference must be 13 digits together"
            ));
        }
        let gtin = Gtin::from_body(&format!("{}{cp}{}", &ir[..1], &ir[1..]));
        match kind {
            2 if *tail == "*" => Ok(Epc::Product { gtin }),
            2 => Err(format!(
                "{s:?}: a GTIN pattern ends in .* (every serial of one GTIN); greenledger reads no other pattern"
            )),
            _ if tail.is_empty() => Err(format!("{s:?}: the {} is empty", ["serial", "lot"][kind as usize])),
            0 => Ok(Epc::Item {
                gtin,
                serial: percent_decode(tail)?,
            }),
            _ => Ok(Epc::Lot {
                gtin,
                lot: percent_decode(tail)?,
            }),
        }
    }

    fn from_digital_link(s: &str) -> Result<Epc, String> {
        let after = s.split_once("://").map_or(s, |(_, r)| r);
        let path = after.split(['?', '#']).next().unwrap_or("");
        let segs: Vec<&str> = path.split('/').skip(1).collect();
        let Some(at) = segs.iter().position(|p| *p == "01") else {
            return Err(format!(
                "{s:?} is a URL but not a GS1 Digital Link of a GTIN (no /01/GTIN in its path); other GS1 keys are not read"
            ));
        };
        let g = segs.get(at + 1).copied().unwrap_or("");
        if !digits(g) || ![8, 12, 13, 14].contains(&g.len()) {
            return Err(format!("{s:?}: the GTIN after /01/ must be 8, 12, 13 or 14 digits"));
        }
        let g14 = format!("{g:0>14}");
        if check_digit(&g14[..13]) != g14.as_bytes()[13] as char {
            return Err(format!(
                "{s:?}: GTIN {g} has a wrong check digit (expected {})",
                check_digit(&g14[..13])
            ));
        }
        let gtin = Gtin(g14);
        let (mut lot, mut serial) = (None, None);
        let mut rest = segs[at + 2..].iter();
        while let Some(ai) = rest.next() {
            if ai.is_empty() {
                continue;
            }
            let value = rest
                .next()
                .ok_or_else(|| format!("{s:?}: key qualifier {ai} has no value"))?;
            let value = percent_decode(value)?;
            if value.is_empty() {
                return Err(format!("{s:?}: key qualifier {ai} is empty"));
            }
            match *ai {
                "10" => lot = Some(value),
                "21" => serial = Some(value),
                other => {
                    return Err(format!(
                        "{s:?}: key qualifier {other} is not read (greenledger reads /10/ lot and /21/ serial after /01/ GTIN)"
                    ));
                }
            }
        }
        Ok(match (serial, lot) {
            (Some(serial), _) => Epc::Item { gtin, serial },
            (None, Some(lot)) => Epc::Lot { gtin, lot },
            (None, None) => Epc::Product { gtin },
        })
    }

    /// The product (GTIN class) an item or lot belongs to.
    pub fn product(&self) -> Option<Epc> {
        match self {
            Epc::Item { gtin, .. } | Epc::Lot { gtin, .. } => Some(Epc::Product { gtin: gtin.clone() }),
            _ => None,
        }
    }

    /// Whether this names one instance (an item) rather than a class.
    pub fn is_item(&self) -> bool {
        matches!(self, Epc::Item { .. })
    }

    /// Whether a part URN names this EPC (any spelling).
    pub fn names(&self, part: &str) -> bool {
        Epc::parse(part).is_ok_and(|e| e == *self)
    }

    /// Every EPC URN spelling of this EPC: one per GS1 Company Prefix length (6–12 digits)
    /// for GS1 keys; the URN itself otherwise. Attestations carry one of them as their part.
    pub fn urns(&self) -> Vec<String> {
        match self {
            Epc::Item { gtin, serial } => gtin
                .splits()
                .into_iter()
                .map(|s| format!("urn:epc:id:sgtin:{s}.{}", urn_escape(serial)))
                .collect(),
            Epc::Lot { gtin, lot } => gtin
                .splits()
                .into_iter()
                .map(|s| format!("urn:epc:class:lgtin:{s}.{}", urn_escape(lot)))
                .collect(),
            Epc::Product { gtin } => gtin
                .splits()
                .into_iter()
                .map(|s| format!("urn:epc:idpat:sgtin:{s}.*"))
                .collect(),
            Epc::Other(s) => vec![s.clone()],
        }
    }
}

impl std::fmt::Display for Epc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Epc::Item { gtin, serial } => write!(f, "GTIN {} serial {serial}", gtin.0),
            Epc::Lot { gtin, lot } => write!(f, "GTIN {} lot {lot}", gtin.0),
            Epc::Product { gtin } => write!(f, "GTIN {}", gtin.0),
            Epc::Other(s) => f.write_str(s),
        }
    }
}

// ---- units ------------------------------------------------------------------------------

/// What a unit measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension {
    /// Mass; base unit the milligram.
    Mass,
    /// Volume; base unit the millilitre.
    Volume,
    /// Energy; base unit the joule.
    Energy,
    /// Area; base unit the square metre.
    Area,
    /// Length; base unit the millimetre. No declared unit is a length.
    Length,
    /// A count of items (pieces).
    Count,
    /// Transport work (ton kilometer); no UN/CEFACT code is read for it.
    TransportWork,
}

impl Dimension {
    fn as_str(self) -> &'static str {
        match self {
            Dimension::Mass => "a mass",
            Dimension::Volume => "a volume",
            Dimension::Energy => "an energy",
            Dimension::Area => "an area",
            Dimension::Length => "a length",
            Dimension::Count => "a count",
            Dimension::TransportWork => "transport work",
        }
    }
}

/// The UN/CEFACT (Recommendation 20) unit codes read: code, name, dimension, base units in one.
pub const UNITS: &[(&str, &str, Dimension, i128)] = &[
    ("KGM", "kilogram", Dimension::Mass, 1_000_000),
    ("GRM", "gram", Dimension::Mass, 1_000),
    ("MGM", "milligram", Dimension::Mass, 1),
    ("TNE", "tonne", Dimension::Mass, 1_000_000_000),
    ("LTR", "litre", Dimension::Volume, 1_000),
    ("MLT", "millilitre", Dimension::Volume, 1),
    ("MTQ", "cubic metre", Dimension::Volume, 1_000_000),
    ("KWH", "kilowatt hour", Dimension::Energy, 3_600_000),
    ("WHR", "watt hour", Dimension::Energy, 3_600),
    ("MWH", "megawatt hour", Dimension::Energy, 3_600_000_000),
    ("KJO", "kilojoule", Dimension::Energy, 1_000),
    ("3B", "megajoule", Dimension::Energy, 1_000_000),
    ("GV", "gigajoule", Dimension::Energy, 1_000_000_000),
    ("MTK", "square metre", Dimension::Area, 1),
    ("MTR", "metre", Dimension::Length, 1_000),
    ("CMT", "centimetre", Dimension::Length, 10),
    ("MMT", "millimetre", Dimension::Length, 1),
    ("KMT", "kilometre", Dimension::Length, 1_000_000),
    ("H87", "piece", Dimension::Count, 1),
    ("C62", "one", Dimension::Count, 1),
    ("EA", "each", Dimension::Count, 1),
];

/// A declared unit's dimension and base units in one.
pub fn unit_measure(u: Unit) -> (Dimension, i128) {
    match u {
        Unit::Kilogram => (Dimension::Mass, 1_000_000),
        Unit::Liter => (Dimension::Volume, 1_000),
        Unit::CubicMeter => (Dimension::Volume, 1_000_000),
        Unit::KilowattHour => (Dimension::Energy, 3_600_000),
        Unit::Megajoule => (Dimension::Energy, 1_000_000),
        Unit::SquareMeter => (Dimension::Area, 1),
        Unit::Piece => (Dimension::Count, 1),
        Unit::TonKilometer => (Dimension::TransportWork, 1),
    }
}

/// The UN/CEFACT code an export writes for a declared unit (`None` for piece: a quantity
/// without `uom` is a count).
pub fn unit_code(u: Unit) -> Result<Option<&'static str>, String> {
    Ok(Some(match u {
        Unit::Kilogram => "KGM",
        Unit::Liter => "LTR",
        Unit::CubicMeter => "MTQ",
        Unit::KilowattHour => "KWH",
        Unit::Megajoule => "3B",
        Unit::SquareMeter => "MTK",
        Unit::Piece => return Ok(None),
        Unit::TonKilometer => {
            return Err("ton kilometer has no UN/CEFACT code greenledger writes; it has no EPCIS form".into());
        }
    }))
}

/// The declared unit an output measured in `code` is attested in, unless `--unit` says.
fn default_unit(code: Option<&str>) -> Option<Unit> {
    Some(match code {
        None | Some("H87" | "C62" | "EA") => Unit::Piece,
        Some("KGM" | "GRM" | "MGM" | "TNE") => Unit::Kilogram,
        Some("LTR" | "MLT") => Unit::Liter,
        Some("MTQ") => Unit::CubicMeter,
        Some("KWH" | "WHR" | "MWH") => Unit::KilowattHour,
        Some("KJO" | "3B" | "GV") => Unit::Megajoule,
        Some("MTK") => Unit::SquareMeter,
        _ => return None,
    })
}

/// An amount in millionths of its dimension's base unit, exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Amount {
    /// What it measures.
    pub dimension: Dimension,
    /// Millionths of the base unit.
    pub micro: i128,
}

impl Amount {
    /// The sum of two amounts of one dimension (the quantities of one output class, or the
    /// inputs matched to one attestation); `field` names the one added, for the error.
    pub fn add(self, other: Amount, field: &str) -> Result<Amount, Error> {
        if self.dimension != other.dimension {
            return Err(err(
                field,
                format!(
                    "adds {} to {}: quantities added together (one output class, or inputs matched to one attestation) must measure the same thing",
                    other.dimension.as_str(),
                    self.dimension.as_str()
                ),
            ));
        }
        Ok(Amount {
            dimension: self.dimension,
            micro: self
                .micro
                .checked_add(other.micro)
                .ok_or_else(|| err(field, "the quantities are too large"))?,
        })
    }
}

/// How much of an input (`amount`, in the input's declared unit `unit`) goes into one declared
/// unit (`of`) of an output of which the event made `per`: `ceil(amount / per)` in millionths
/// of `unit` — rounded **up**, so that a footprint is never understated by rounding. `field`
/// names what `amount` came from, `code` its unit code.
pub fn per_unit(
    amount: Amount,
    unit: Unit,
    per: Amount,
    of: Unit,
    field: &str,
    code: Option<&str>,
) -> Result<Quantity, Error> {
    let (dim, factor) = unit_measure(unit);
    let (_, of_factor) = unit_measure(of);
    if dim != amount.dimension {
        return Err(err(
            field,
            format!(
                "{} is {} and cannot be converted to {} ({}): match the EPC to an attestation declared in a unit of {}",
                code.map_or("a count (no uom)".to_string(), |c| format!("unit {c:?}")),
                amount.dimension.as_str(),
                unit.as_str(),
                dim.as_str(),
                amount.dimension.as_str()
            ),
        ));
    }
    // amount / factor (millionths of the input's unit) ÷ per / of_factor (millionths of the
    // output's unit) × 10^6.
    let num = amount
        .micro
        .checked_mul(of_factor)
        .and_then(|n| n.checked_mul(1_000_000));
    let den = factor.checked_mul(per.micro);
    let q = match (num, den) {
        (Some(n), Some(d)) if d > 0 => n.div_euclid(d) + i128::from(n.rem_euclid(d) != 0),
        _ => return Err(err(field, "the quantity is too large")),
    };
    i64::try_from(q)
        .ok()
        .filter(|q| *q > 0)
        .map(Quantity)
        .ok_or_else(|| err(field, "the quantity per declared unit is out of range"))
}

// ---- the document -----------------------------------------------------------------------

#[derive(Deserialize)]
struct RawDocument {
    #[serde(rename = "@context")]
    context: Value,
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "schemaVersion")]
    schema_version: String,
    #[serde(rename = "creationDate")]
    creation_date: String,
    #[serde(rename = "epcisBody")]
    body: RawBody,
    #[serde(flatten)]
    rest: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBody {
    #[serde(rename = "eventList")]
    event_list: Vec<Value>,
}

#[derive(Deserialize)]
struct RawKind {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTransformation {
    #[serde(rename = "eventID")]
    event_id: Option<String>,
    event_time: String,
    event_time_zone_offset: String,
    #[serde(default, rename = "inputEPCList")]
    input_epc_list: Vec<String>,
    #[serde(default)]
    input_quantity_list: Vec<RawQuantity>,
    #[serde(default, rename = "outputEPCList")]
    output_epc_list: Vec<String>,
    #[serde(default)]
    output_quantity_list: Vec<RawQuantity>,
    #[serde(rename = "transformationID")]
    transformation_id: Option<String>,
    biz_step: Option<String>,
    disposition: Option<String>,
    read_point: Option<RawPlace>,
    biz_location: Option<RawPlace>,
    #[serde(default)]
    biz_transaction_list: Vec<RawBizTransaction>,
    ilmd: Option<Map<String, Value>>,
    #[serde(flatten)]
    rest: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawQuantity {
    epc_class: String,
    quantity: Option<Number>,
    uom: Option<String>,
}

#[derive(Deserialize)]
struct RawPlace {
    id: String,
    #[serde(flatten)]
    _rest: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBizTransaction {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(rename = "bizTransaction")]
    biz_transaction: String,
}

/// Document fields that are read past (headers, ids) and not kept.
const DOCUMENT_FIELDS: &[&str] = &[
    "id",
    "sender",
    "receiver",
    "instanceIdentifier",
    "epcisHeader",
    "format",
];

/// TransformationEvent fields of the standard that are not mapped (the import names them).
const UNMAPPED_EVENT_FIELDS: &[&str] = &[
    "type",
    "recordTime",
    "sensorElementList",
    "sourceList",
    "destinationList",
    "persistentDisposition",
    "errorDeclaration",
    "certificationInfo",
    "@context",
];

/// A parsed EPCISDocument: its TransformationEvents (the only events an attestation is made
/// from) and the other events' positions and types.
#[derive(Clone, Debug)]
pub struct Document {
    /// The TransformationEvents, in document order.
    pub events: Vec<Event>,
    /// Events of other types: their index in `eventList` and their type.
    pub others: Vec<(usize, String)>,
}

/// How much of an EPC an event names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemAmount {
    /// One instance (an entry of an EPC list): a count of one.
    Instance,
    /// A quantity of a class, as written and as an exact amount.
    Quantity {
        /// The quantity as a decimal string (as in the document).
        written: String,
        /// The UN/CEFACT unit code, if given (none: a count).
        uom: Option<String>,
        /// The exact amount.
        amount: Amount,
    },
}

/// One input or output of an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// Its place in the document, e.g. `epcisBody.eventList[0].inputQuantityList[1]`.
    pub path: String,
    /// The EPC or class as written.
    pub written: String,
    /// The EPC, by value.
    pub epc: Epc,
    /// Instance or quantity.
    pub amount: ItemAmount,
}

impl Item {
    /// The item's amount (an instance is one piece).
    pub fn measure(&self) -> Amount {
        match &self.amount {
            ItemAmount::Instance => Amount {
                dimension: Dimension::Count,
                micro: 1_000_000,
            },
            ItemAmount::Quantity { amount, .. } => *amount,
        }
    }

    /// The unit code written (none for instances and counts).
    pub fn uom(&self) -> Option<&str> {
        match &self.amount {
            ItemAmount::Quantity { uom, .. } => uom.as_deref(),
            ItemAmount::Instance => None,
        }
    }

    fn record(&self) -> Value {
        match &self.amount {
            ItemAmount::Instance => json!({"epc": self.written}),
            ItemAmount::Quantity { written, uom, .. } => {
                let mut o = json!({"epcClass": self.written, "quantity": written});
                if let Some(u) = uom {
                    o["uom"] = json!(u);
                }
                o
            }
        }
    }
}

/// One TransformationEvent, checked.
#[derive(Clone, Debug)]
pub struct Event {
    /// Its index in `eventList`.
    pub index: usize,
    /// `eventID`.
    pub event_id: Option<String>,
    /// `eventTime` (RFC 3339, as written).
    pub event_time: String,
    /// `eventTimeZoneOffset`.
    pub event_time_zone_offset: String,
    /// `readPoint.id`.
    pub read_point: Option<String>,
    /// `bizLocation.id`.
    pub biz_location: Option<String>,
    /// `bizStep`.
    pub biz_step: Option<String>,
    /// `disposition`.
    pub disposition: Option<String>,
    /// `transformationID`.
    pub transformation_id: Option<String>,
    /// `bizTransactionList`, as `{type, bizTransaction}` objects.
    pub biz_transactions: Vec<Value>,
    /// `ilmd`, where the attestation's extensions can hold it (integers only).
    pub ilmd: Option<Map<String, Value>>,
    /// The inputs: `inputEPCList`, then `inputQuantityList`.
    pub inputs: Vec<Item>,
    /// The outputs: `outputEPCList`, then `outputQuantityList`.
    pub outputs: Vec<Item>,
    /// Fields present but not kept (standard fields not mapped, extension fields).
    pub not_kept: Vec<String>,
}

fn path_of(prefix: &str, inner: &str) -> String {
    match (prefix.is_empty(), inner.is_empty() || inner == ".") {
        (true, _) => inner.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) if inner.starts_with('[') => format!("{prefix}{inner}"),
        (false, false) => format!("{prefix}.{inner}"),
    }
}

/// Deserializes `T` from a value, naming the path of an error under `prefix`.
fn typed<T: for<'de> Deserialize<'de>>(v: Value, prefix: &str) -> Result<T, Error> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let inner = e.path().to_string();
        err(path_of(prefix, &inner), e.into_inner().to_string())
    })
}

/// Reads an EPCISDocument (JSON or JSON-LD): the 2.0 context, `type` EPCISDocument,
/// `schemaVersion` 2.0, and each TransformationEvent checked. Anything malformed is refused
/// naming its field.
pub fn parse(bytes: &[u8]) -> Result<Document, Error> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        err(
            "(document)",
            format!("not JSON: {e} (an EPCIS 2.0 document in JSON or JSON-LD is expected)"),
        )
    })?;
    if !value.is_object() {
        return Err(err("(document)", "an EPCISDocument is a JSON object"));
    }
    let raw: RawDocument = typed(value, "")?;
    check_context(&raw.context)?;
    if raw.kind != "EPCISDocument" {
        return Err(err(
            "type",
            format!(
                "{:?} is not read: greenledger imports an EPCISDocument (a query document's events can be copied into one)",
                raw.kind
            ),
        ));
    }
    if raw.schema_version != "2.0" {
        return Err(err(
            "schemaVersion",
            format!("{:?} is not read: EPCIS 2.0 documents only", raw.schema_version),
        ));
    }
    check_time(&raw.creation_date, "creationDate")?;
    for k in raw.rest.keys() {
        if !DOCUMENT_FIELDS.contains(&k.as_str()) && !k.contains(':') {
            return Err(err(
                k.clone(),
                "unknown field of an EPCISDocument (extension fields take a namespace prefix, ns:name)",
            ));
        }
    }
    if raw.body.event_list.len() > MAX_EVENTS {
        return Err(err(
            "epcisBody.eventList",
            format!("more than {MAX_EVENTS} events; split the document"),
        ));
    }
    let mut doc = Document {
        events: Vec::new(),
        others: Vec::new(),
    };
    for (i, ev) in raw.body.event_list.into_iter().enumerate() {
        let prefix = format!("epcisBody.eventList[{i}]");
        if !ev.is_object() {
            return Err(err(prefix, "an event is a JSON object"));
        }
        let kind: RawKind = typed(ev.clone(), &prefix)?;
        match kind.kind.as_str() {
            "TransformationEvent" => doc.events.push(event(i, ev, &prefix)?),
            "ObjectEvent" | "AggregationEvent" | "TransactionEvent" | "AssociationEvent" => {
                doc.others.push((i, kind.kind))
            }
            other => {
                return Err(err(
                    format!("{prefix}.type"),
                    format!("{other:?} is not an EPCIS 2.0 event type"),
                ));
            }
        }
    }
    Ok(doc)
}

fn check_context(context: &Value) -> Result<(), Error> {
    let names: Vec<&str> = match context {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => {
            return Err(err(
                "@context",
                "must be the EPCIS 2.0 context URI, or an array holding it",
            ));
        }
    };
    if !names.iter().any(|n| CONTEXTS.contains(n)) {
        return Err(err(
            "@context",
            format!("does not name the EPCIS 2.0 context ({CONTEXT}); this is not an EPCIS 2.0 document"),
        ));
    }
    Ok(())
}

fn check_time(s: &str, field: &str) -> Result<(), Error> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|_| ())
        .map_err(|e| {
            err(
                field,
                format!("{s:?} is not an RFC 3339 date and time with an offset ({e})"),
            )
        })
}

fn check_offset(s: &str, field: &str) -> Result<(), Error> {
    let b = s.as_bytes();
    let ok = b.len() == 6
        && (b[0] == b'+' || b[0] == b'-')
        && b[3] == b':'
        && digits(&s[1..3])
        && digits(&s[4..6])
        && s[1..3].parse::<u8>().is_ok_and(|h| h <= 14)
        && s[4..6].parse::<u8>().is_ok_and(|m| m < 60);
    if ok {
        Ok(())
    } else {
        Err(err(field, format!("{s:?} is not a time zone offset such as +02:00")))
    }
}

/// Whether the attestation's extensions can hold a value: no null, numbers integers within
/// ±(2^53−1) (FORMAT.md §4.6).
fn representable(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Number(n) => n.as_i64().is_some_and(|i| i.unsigned_abs() < (1 << 53)),
        Value::Array(a) => a.iter().all(representable),
        Value::Object(o) => o.values().all(representable),
        _ => true,
    }
}

fn event(index: usize, v: Value, prefix: &str) -> Result<Event, Error> {
    let raw: RawTransformation = typed(v, prefix)?;
    let at = |f: &str| path_of(prefix, f);
    check_time(&raw.event_time, &at("eventTime"))?;
    check_offset(&raw.event_time_zone_offset, &at("eventTimeZoneOffset"))?;
    let mut not_kept = Vec::new();
    for k in raw.rest.keys() {
        if k.contains(':') || UNMAPPED_EVENT_FIELDS.contains(&k.as_str()) {
            if k != "type" {
                not_kept.push(k.clone());
            }
        } else {
            return Err(err(
                at(k),
                "unknown field of a TransformationEvent (extension fields take a namespace prefix, ns:name)",
            ));
        }
    }
    let ilmd = match raw.ilmd {
        Some(m) if representable(&Value::Object(m.clone())) => Some(m),
        Some(_) => {
            not_kept.push("ilmd".into());
            None
        }
        None => None,
    };
    let mut inputs = instances(&raw.input_epc_list, &at("inputEPCList"))?;
    inputs.extend(quantities(raw.input_quantity_list, &at("inputQuantityList"))?);
    let mut outputs = instances(&raw.output_epc_list, &at("outputEPCList"))?;
    outputs.extend(quantities(raw.output_quantity_list, &at("outputQuantityList"))?);
    if outputs.is_empty() {
        return Err(err(
            at("outputEPCList"),
            "the event has no outputs (outputEPCList or outputQuantityList): nothing to attest",
        ));
    }
    if inputs.len() > greenledger_core::model::MAX_INPUTS {
        return Err(err(
            at("inputQuantityList"),
            format!("more than {} inputs", greenledger_core::model::MAX_INPUTS),
        ));
    }
    let nonempty = |s: Option<String>, f: &str| match s {
        Some(s) if s.trim().is_empty() => Err(err(at(f), "is empty")),
        other => Ok(other),
    };
    Ok(Event {
        index,
        event_id: nonempty(raw.event_id, "eventID")?,
        event_time: raw.event_time,
        event_time_zone_offset: raw.event_time_zone_offset,
        read_point: nonempty(raw.read_point.map(|p| p.id), "readPoint.id")?,
        biz_location: nonempty(raw.biz_location.map(|p| p.id), "bizLocation.id")?,
        biz_step: nonempty(raw.biz_step, "bizStep")?,
        disposition: nonempty(raw.disposition, "disposition")?,
        transformation_id: nonempty(raw.transformation_id, "transformationID")?,
        biz_transactions: raw
            .biz_transaction_list
            .into_iter()
            .map(|b| {
                let mut o = json!({"bizTransaction": b.biz_transaction});
                if let Some(k) = b.kind {
                    o["type"] = json!(k);
                }
                o
            })
            .collect(),
        ilmd,
        inputs,
        outputs,
        not_kept,
    })
}

fn instances(list: &[String], field: &str) -> Result<Vec<Item>, Error> {
    let mut out: Vec<Item> = Vec::with_capacity(list.len());
    for (i, s) in list.iter().enumerate() {
        let path = format!("{field}[{i}]");
        let epc = Epc::parse(s).map_err(|why| err(&path, why))?;
        if matches!(epc, Epc::Lot { .. } | Epc::Product { .. }) {
            return Err(err(
                path,
                format!("{s:?} is a class, not an instance; classes go in a quantity list with a quantity"),
            ));
        }
        if let Some(o) = out.iter().find(|o| o.epc == epc) {
            return Err(err(path, format!("the same instance as {}", o.path)));
        }
        out.push(Item {
            path,
            written: s.clone(),
            epc,
            amount: ItemAmount::Instance,
        });
    }
    Ok(out)
}

fn quantities(list: Vec<RawQuantity>, field: &str) -> Result<Vec<Item>, Error> {
    let mut out: Vec<Item> = Vec::with_capacity(list.len());
    for (i, q) in list.into_iter().enumerate() {
        let path = format!("{field}[{i}]");
        let epc = Epc::parse(&q.epc_class).map_err(|why| err(format!("{path}.epcClass"), why))?;
        if epc.is_item() {
            return Err(err(
                format!("{path}.epcClass"),
                format!(
                    "{:?} is an instance, not a class; instances go in an EPC list",
                    q.epc_class
                ),
            ));
        }
        let Some(n) = q.quantity else {
            return Err(err(
                format!("{path}.quantity"),
                "missing: greenledger needs the quantity of every class to compute the inputs per declared unit",
            ));
        };
        let written = match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) if f.is_finite() => format!("{f}"),
            _ => return Err(err(format!("{path}.quantity"), "is not a usable number")),
        };
        let micro = greenledger_core::amount::parse_decimal(&written, 6)
            .map_err(|e| err(format!("{path}.quantity"), e.to_string()))?;
        if micro <= 0 {
            return Err(err(
                format!("{path}.quantity"),
                format!("{written} must be greater than 0"),
            ));
        }
        let (dimension, factor) = match &q.uom {
            None => (Dimension::Count, 1),
            Some(code) => match UNITS.iter().find(|(c, ..)| c == code) {
                Some((_, _, d, f)) => (*d, *f),
                None => {
                    return Err(err(
                        format!("{path}.uom"),
                        format!(
                            "unknown unit {code:?}: greenledger reads the UN/CEFACT codes {} (see docs/EPCIS.md)",
                            UNITS.iter().map(|u| u.0).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            },
        };
        let amount = Amount {
            dimension,
            micro: i128::from(micro) * factor,
        };
        if let Some(o) = out.iter().find(|o| o.epc == epc) {
            return Err(err(
                format!("{path}.epcClass"),
                format!("the same class as {}; give one quantity per class", o.path),
            ));
        }
        out.push(Item {
            path,
            written: q.epc_class,
            epc,
            amount: ItemAmount::Quantity {
                written,
                uom: q.uom,
                amount,
            },
        });
    }
    Ok(out)
}

// ---- choosing the event and the output -----------------------------------------------------

impl Document {
    /// The event to import: the one `--event` names (its `eventID`, or its index in
    /// `eventList`), or the document's only TransformationEvent.
    pub fn select(&self, which: Option<&str>) -> Result<&Event, Error> {
        let list = || {
            self.events
                .iter()
                .map(|e| format!("  {}", e.label()))
                .collect::<Vec<_>>()
                .join("\n")
        };
        match which {
            Some(w) => {
                let by_index = w.parse::<usize>().ok();
                if let Some(i) = by_index
                    && let Some((_, t)) = self.others.iter().find(|(j, _)| *j == i)
                {
                    return Err(err(
                        format!("epcisBody.eventList[{i}].type"),
                        format!("--event {w} is an {t}; only a TransformationEvent becomes an attestation"),
                    ));
                }
                self.events
                    .iter()
                    .find(|e| e.event_id.as_deref() == Some(w) || Some(e.index) == by_index)
                    .ok_or_else(|| {
                        err(
                            "epcisBody.eventList",
                            format!(
                                "no TransformationEvent has eventID {w:?}{}; the document's TransformationEvents are:\n{}",
                                if by_index.is_some() { " or is at that index" } else { "" },
                                list()
                            ),
                        )
                    })
            }
            None => match self.events.as_slice() {
                [one] => Ok(one),
                [] => Err(err(
                    "epcisBody.eventList",
                    format!(
                        "the document holds no TransformationEvent{}; an attestation is made from a TransformationEvent (a shipment is signed with greenledger ship)",
                        if self.others.is_empty() {
                            String::new()
                        } else {
                            format!(
                                " (it holds {})",
                                self.others
                                    .iter()
                                    .map(|(i, t)| format!("{t} [{i}]"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        }
                    ),
                )),
                _ => Err(err(
                    "epcisBody.eventList",
                    format!(
                        "the document holds {} TransformationEvents; choose one with --event ID (its eventID or its index):\n{}",
                        self.events.len(),
                        list()
                    ),
                )),
            },
        }
    }
}

/// The output an attestation is made for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// The part URN.
    pub part: String,
    /// The declared unit.
    pub unit: Unit,
    /// The produced quantity, in declared units (rounded down).
    pub produced: Quantity,
    /// What the inputs are divided by to give the quantity per declared unit: the amount of
    /// the chosen output (for an instance, all instances of its class).
    pub per: Amount,
    /// What the user should know (co-products that get no share of the inputs).
    pub warnings: Vec<String>,
}

/// The outputs of one EPC class.
struct Class<'a> {
    /// The class (an item's product).
    epc: Epc,
    /// A URN spelling of the class, if the document gives one.
    urn: Option<String>,
    items: Vec<&'a Item>,
}

impl Class<'_> {
    fn label(&self) -> String {
        match &self.urn {
            Some(u) => u.clone(),
            None => format!("{} (written {})", self.epc, self.items[0].written),
        }
    }
}

impl Event {
    /// `eventList[i] (eventID …)`, for lists of candidates.
    pub fn label(&self) -> String {
        match &self.event_id {
            Some(id) => format!("eventList[{}] eventID {id}", self.index),
            None => format!("eventList[{}] (no eventID)", self.index),
        }
    }

    fn path(&self, field: &str) -> String {
        format!("epcisBody.eventList[{}].{field}", self.index)
    }

    fn classes(&self) -> Vec<Class<'_>> {
        let mut classes: Vec<Class<'_>> = Vec::new();
        for item in &self.outputs {
            let (epc, urn) = match (&item.amount, &item.epc) {
                (ItemAmount::Instance, Epc::Item { .. }) => {
                    let product = item.epc.product().unwrap_or_else(|| item.epc.clone());
                    // The class in the spelling of the instance's own URN (same company prefix).
                    let urn = item.written.strip_prefix("urn:epc:id:sgtin:").and_then(|rest| {
                        let (cp_ir, _) = rest.rsplit_once('.')?;
                        Some(format!("urn:epc:idpat:sgtin:{cp_ir}.*"))
                    });
                    (product, urn)
                }
                _ => (
                    item.epc.clone(),
                    item.written.starts_with("urn:").then(|| item.written.clone()),
                ),
            };
            match classes.iter_mut().find(|c| c.epc == epc) {
                Some(c) => {
                    c.items.push(item);
                    c.urn = c.urn.take().or(urn);
                }
                None => classes.push(Class {
                    epc,
                    urn,
                    items: vec![item],
                }),
            }
        }
        classes
    }

    /// Chooses the output to attest: `--part` (a class of the outputs, or one of its instances),
    /// or the event's only output class. `unit` (`--unit`) overrides the unit the output's
    /// `uom` implies.
    pub fn output(&self, part: Option<&str>, unit: Option<Unit>) -> Result<Output, Error> {
        let classes = self.classes();
        let candidates = || {
            classes
                .iter()
                .map(|c| {
                    let n = c.items.iter().filter(|i| i.amount == ItemAmount::Instance).count();
                    let what = if n > 0 {
                        format!("{n} instance(s)")
                    } else {
                        c.items
                            .iter()
                            .filter_map(|i| match &i.amount {
                                ItemAmount::Quantity { written, uom, .. } => {
                                    Some(format!("{written} {}", uom.as_deref().unwrap_or("(count)")))
                                }
                                ItemAmount::Instance => None,
                            })
                            .collect::<Vec<_>>()
                            .join(" + ")
                    };
                    format!("  {} — {what}", c.label())
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let field = self.path(if self.outputs.iter().all(|i| i.amount == ItemAmount::Instance) {
            "outputEPCList"
        } else {
            "outputQuantityList"
        });
        let (class, part, instance) = match part {
            Some(p) => {
                let epc = Epc::parse(p).map_err(|why| err("--part", why))?;
                greenledger_core::kinds::attestation::check_part(p).map_err(|e| err("--part", e.to_string()))?;
                if let Some(c) = classes.iter().find(|c| c.epc == epc) {
                    (c, p.to_string(), false)
                } else if let Some(c) = classes
                    .iter()
                    .find(|c| c.items.iter().any(|i| i.epc == epc && i.amount == ItemAmount::Instance))
                {
                    (c, p.to_string(), true)
                } else {
                    return Err(err(
                        field,
                        format!(
                            "--part {p} is none of the event's outputs; the outputs are:\n{}",
                            candidates()
                        ),
                    ));
                }
            }
            None => match classes.as_slice() {
                // One serialised item: the item itself.
                [one] if one.items.len() == 1 && one.items[0].amount == ItemAmount::Instance => {
                    let item = one.items[0];
                    if !item.written.starts_with("urn:") {
                        return Err(needs_urn(field, item, &item.epc));
                    }
                    (one, item.written.clone(), true)
                }
                [one] => match &one.urn {
                    Some(u) => (one, u.clone(), false),
                    None => return Err(needs_urn(field, one.items[0], &one.epc)),
                },
                _ => {
                    return Err(err(
                        field,
                        format!(
                            "the event has {} output classes; choose the one to attest with --part URN (all of the event's inputs are then attributed to it):\n{}",
                            classes.len(),
                            candidates()
                        ),
                    ));
                }
            },
        };
        let mut total: Option<Amount> = None;
        for i in &class.items {
            total = Some(match total {
                None => i.measure(),
                Some(t) => t.add(i.measure(), &i.path)?,
            });
        }
        let Some(total) = total else {
            return Err(err(field, "the output class has no quantity"));
        };
        let first_uom = class.items.iter().find_map(|i| i.uom());
        let unit = match unit {
            Some(u) => u,
            None => default_unit(first_uom).ok_or_else(|| {
                err(
                    field.clone(),
                    format!(
                        "the output is measured in {} ({}), which is no declared unit; give --unit",
                        first_uom.unwrap_or("(count)"),
                        total.dimension.as_str()
                    ),
                )
            })?,
        };
        let (dim, factor) = unit_measure(unit);
        let one = Amount {
            dimension: Dimension::Count,
            micro: 1_000_000,
        };
        let made = if instance { one } else { total };
        if dim != made.dimension {
            return Err(err(
                field,
                format!(
                    "the output {} is {} ({}) and cannot be attested in {}; leave --unit out or give a unit of {}",
                    class.label(),
                    made.dimension.as_str(),
                    first_uom.unwrap_or(if instance { "an instance" } else { "a count" }),
                    unit.as_str(),
                    made.dimension.as_str()
                ),
            ));
        }
        let produced = i64::try_from(made.micro.div_euclid(factor))
            .ok()
            .filter(|q| *q > 0)
            .map(Quantity)
            .ok_or_else(|| {
                err(
                    field.clone(),
                    format!(
                        "the output is less than a millionth of a {} or too large",
                        unit.as_str()
                    ),
                )
            })?;
        let mut warnings = Vec::new();
        let others: Vec<String> = classes
            .iter()
            .filter(|c| !std::ptr::eq(*c, class))
            .map(Class::label)
            .collect();
        if !others.is_empty() {
            warnings.push(format!(
                "the event also produced {}; all of its inputs are attributed to {part} (greenledger does not allocate between co-products)",
                others.join(", ")
            ));
        }
        if instance {
            let n = class.items.len();
            if n > 1 {
                warnings.push(format!(
                    "{part} is one of {n} instances of {}: it is attested with 1/{n} of the event's inputs",
                    class.label()
                ));
            }
        }
        Ok(Output {
            part,
            unit,
            produced,
            per: total,
            warnings,
        })
    }
}

/// The refusal of an output written as a Digital Link, with the URN spellings to choose from.
fn needs_urn(field: String, item: &Item, epc: &Epc) -> Error {
    err(
        field,
        format!(
            "the output {} is a Digital Link, which does not say where the GS1 Company Prefix ends; give --part with its EPC URN, one of:\n  {}",
            item.written,
            epc.urns().join("\n  ")
        ),
    )
}

// ---- the attestation's extensions -------------------------------------------------------

/// An input of the event, matched to what the attestation consumes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matched {
    /// The input item's path (an [`Item::path`]).
    pub path: String,
    /// The attestation it was matched to.
    pub entry: EntryId,
    /// The lot drawn on, if matched to a lot (`ENTRY_ID:INDEX`).
    pub lot: Option<String>,
}

/// The attestation's `extensions.epcis`: the event's identity, time, places and steps, every
/// input and output as written (with the entry each input was matched to), and `ilmd`.
pub fn extensions(event: &Event, output: &Output, matched: &[Matched]) -> Value {
    let mut o = Map::new();
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            o.insert(k.into(), json!(v));
        }
    };
    put("eventID", &event.event_id);
    put("eventTime", &Some(event.event_time.clone()));
    put("eventTimeZoneOffset", &Some(event.event_time_zone_offset.clone()));
    put("readPoint", &event.read_point);
    put("bizLocation", &event.biz_location);
    put("bizStep", &event.biz_step);
    put("disposition", &event.disposition);
    put("transformationID", &event.transformation_id);
    put("part", &Some(output.part.clone()));
    if !event.biz_transactions.is_empty() {
        o.insert("bizTransactionList".into(), json!(event.biz_transactions));
    }
    if let Some(m) = &event.ilmd {
        o.insert("ilmd".into(), Value::Object(m.clone()));
    }
    let inputs: Vec<Value> = event
        .inputs
        .iter()
        .map(|i| {
            let mut r = i.record();
            if let Some(m) = matched.iter().find(|m| m.path == i.path) {
                r["entry"] = json!(m.entry.to_hex());
                if let Some(l) = &m.lot {
                    r["lot"] = json!(l);
                }
            }
            r
        })
        .collect();
    if !inputs.is_empty() {
        o.insert("inputs".into(), Value::Array(inputs));
    }
    o.insert(
        "outputs".into(),
        Value::Array(event.outputs.iter().map(Item::record).collect()),
    );
    Value::Object(o)
}

// ---- export ---------------------------------------------------------------------------------

/// An EPCIS quantity from a greenledger decimal string: an integer where it is one.
fn number(decimal: &str) -> Value {
    if let Ok(i) = decimal.parse::<i64>() {
        return json!(i);
    }
    decimal
        .parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map_or_else(|| json!(decimal), Value::Number)
}

fn quantity_element(epc_class: &str, q: Quantity, unit: Unit) -> Result<Value, Error> {
    let mut o = json!({"epcClass": epc_class, "quantity": number(&q.decimal_string())});
    if let Some(code) = unit_code(unit).map_err(|why| err("declaredUnitOfMeasurement", why))? {
        o["uom"] = json!(code);
    }
    Ok(o)
}

fn record_element(r: &Map<String, Value>) -> Option<(bool, Value)> {
    if let Some(epc) = r.get("epc").and_then(Value::as_str) {
        return Some((true, json!(epc)));
    }
    let class = r.get("epcClass")?.as_str()?;
    let q = r.get("quantity")?.as_str()?;
    let mut o = json!({"epcClass": class, "quantity": number(q)});
    if let Some(u) = r.get("uom").and_then(Value::as_str) {
        o["uom"] = json!(u);
    }
    Some((false, o))
}

/// What an export knows of an input attestation: its part and declared unit.
pub type InputFacts = (String, Unit);

/// The TransformationEvent of an attestation. Where the attestation was imported from EPCIS
/// (`extensions.epcis`), the event is written as recorded — its identity, time, places, steps,
/// and inputs and outputs as they were written — for every input the attestation still
/// consumes; other inputs (and every input of an attestation that has no recorded event) are
/// written from the signed figures: the input's part as `epcClass`, its quantity per declared
/// unit × the produced quantity (or × 1), in the input's unit. `lookup` gives an input's part
/// and unit.
pub fn transformation_event(entry: &Entry, lookup: &dyn Fn(&EntryId) -> Option<InputFacts>) -> Result<Value, Error> {
    let Some(att) = entry.attestation() else {
        return Err(err(
            "kind",
            format!("a {} entry has no TransformationEvent form", entry.payload.body.kind()),
        ));
    };
    let rec = att
        .extensions
        .as_ref()
        .and_then(|x| x.get("epcis"))
        .and_then(Value::as_object)
        .filter(|r| r.get("part").and_then(Value::as_str) == Some(att.part.as_str()));
    let s = |k: &str| rec.and_then(|r| r.get(k)).and_then(Value::as_str).map(str::to_string);
    let mut ev = Map::new();
    ev.insert("type".into(), json!("TransformationEvent"));
    if let Some(id) = s("eventID") {
        ev.insert("eventID".into(), json!(id));
    }
    ev.insert(
        "eventTime".into(),
        json!(s("eventTime").unwrap_or_else(|| entry.payload.timestamp.clone())),
    );
    ev.insert(
        "eventTimeZoneOffset".into(),
        json!(s("eventTimeZoneOffset").unwrap_or_else(|| "+00:00".into())),
    );
    // Inputs: recorded ones whose entry the attestation still consumes, then the rest.
    let produced = att.produced_quantity.unwrap_or(Quantity(1_000_000));
    let (mut in_epcs, mut in_qty) = (Vec::new(), Vec::new());
    let recorded: Vec<&Map<String, Value>> = rec
        .and_then(|r| r.get("inputs"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    for i in &att.inputs {
        let hex = i.entry.to_hex();
        let mine: Vec<&&Map<String, Value>> = recorded
            .iter()
            .filter(|r| r.get("entry").and_then(Value::as_str) == Some(hex.as_str()))
            .collect();
        let elements: Vec<(bool, Value)> = mine.iter().filter_map(|r| record_element(r)).collect();
        if !elements.is_empty() && elements.len() == mine.len() {
            for (is_epc, v) in elements {
                if is_epc { in_epcs.push(v) } else { in_qty.push(v) }
            }
            continue;
        }
        let (part, unit) = lookup(&i.entry).ok_or_else(|| {
            err(
                "inputs",
                format!(
                    "input {} is not at hand, so its part and unit are unknown: give --entries DIR holding it, or --node URL",
                    i.entry
                ),
            )
        })?;
        let total = rollup_quantity(i.quantity, produced).ok_or_else(|| {
            err(
                "inputs",
                format!("the quantity of input {} is too large", i.entry.fmt_short()),
            )
        })?;
        // One serialised item is an EPC-list entry; anything else a quantity of a class.
        if Epc::parse(&part).is_ok_and(|e| e.is_item()) && unit == Unit::Piece && total == Quantity(1_000_000) {
            in_epcs.push(json!(part));
        } else {
            in_qty.push(quantity_element(&part, total, unit)?);
        }
    }
    // Recorded inputs that were matched to nothing stay in the event as written.
    for r in recorded.iter().filter(|r| !r.contains_key("entry")) {
        if let Some((is_epc, v)) = record_element(r) {
            if is_epc { in_epcs.push(v) } else { in_qty.push(v) }
        }
    }
    if !in_epcs.is_empty() {
        ev.insert("inputEPCList".into(), Value::Array(in_epcs));
    }
    if !in_qty.is_empty() {
        ev.insert("inputQuantityList".into(), Value::Array(in_qty));
    }
    let (mut out_epcs, mut out_qty) = (Vec::new(), Vec::new());
    let outputs: Vec<(bool, Value)> = rec
        .and_then(|r| r.get("outputs"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_object)
                .filter_map(record_element)
                .collect()
        })
        .unwrap_or_default();
    if outputs.is_empty() {
        if Epc::parse(&att.part).is_ok_and(|e| e.is_item())
            && att.declared_unit_of_measurement == Unit::Piece
            && produced == Quantity(1_000_000)
        {
            out_epcs.push(json!(att.part));
        } else {
            out_qty.push(quantity_element(&att.part, produced, att.declared_unit_of_measurement)?);
        }
    } else {
        for (is_epc, v) in outputs {
            if is_epc { out_epcs.push(v) } else { out_qty.push(v) }
        }
    }
    if !out_epcs.is_empty() {
        ev.insert("outputEPCList".into(), Value::Array(out_epcs));
    }
    if !out_qty.is_empty() {
        ev.insert("outputQuantityList".into(), Value::Array(out_qty));
    }
    for k in ["transformationID", "bizStep", "disposition"] {
        if let Some(v) = s(k) {
            ev.insert(k.into(), json!(v));
        }
    }
    for k in ["readPoint", "bizLocation"] {
        if let Some(v) = s(k) {
            ev.insert(k.into(), json!({"id": v}));
        }
    }
    for k in ["bizTransactionList", "ilmd"] {
        if let Some(v) = rec.and_then(|r| r.get(k)) {
            ev.insert(k.into(), v.clone());
        }
    }
    ev.insert("greenledger:entry".into(), json!(entry.id.to_hex()));
    ev.insert("greenledger:signer".into(), json!(entry.payload.signer.to_hex()));
    Ok(Value::Object(ev))
}

/// `quantity per unit × produced`, in millionths.
fn rollup_quantity(per_unit: Quantity, produced: Quantity) -> Option<Quantity> {
    let p = i128::from(per_unit.0).checked_mul(i128::from(produced.0))? / 1_000_000;
    i64::try_from(p).ok().map(Quantity)
}

/// The ObjectEvents of a `batch.ship` entry: one per recipient lot, action OBSERVE, `bizStep`
/// shipping, the batch's part as `epcClass` with the quantity shipped in its unit, the shipper
/// and the recipient as `owning_party` source and destination (`urn:greenledger:key:…`), and
/// the new lot in `greenledger:lot`. `batch` is the shipped batch's part and unit.
pub fn shipping_events(entry: &Entry, batch: &InputFacts) -> Result<Vec<Value>, Error> {
    let Body::BatchShip(ship) = &entry.payload.body else {
        return Err(err(
            "kind",
            format!(
                "a {} entry has no ObjectEvent form (batch.ship entries do)",
                entry.payload.body.kind()
            ),
        ));
    };
    let ship: &BatchShip = ship;
    let (part, unit) = batch;
    let from: Vec<String> = ship.from.iter().map(|d| d.lot.to_string()).collect();
    ship.to
        .iter()
        .enumerate()
        .map(|(i, t)| {
            Ok(json!({
                "type": "ObjectEvent",
                "eventTime": entry.payload.timestamp,
                "eventTimeZoneOffset": "+00:00",
                "epcList": [],
                "quantityList": [quantity_element(part, t.quantity, *unit)?],
                "action": "OBSERVE",
                "bizStep": "shipping",
                "disposition": "in_transit",
                "sourceList": [{"type": "owning_party", "source": format!("urn:greenledger:key:{}", entry.payload.signer.to_hex())}],
                "destinationList": [{"type": "owning_party", "destination": format!("urn:greenledger:key:{}", t.holder.to_hex())}],
                "greenledger:entry": entry.id.to_hex(),
                "greenledger:lot": format!("{}:{i}", entry.id.to_hex()),
                "greenledger:from": from,
            }))
        })
        .collect()
}

/// An EPCISDocument holding `events`, created at `creation_date` (RFC 3339).
pub fn document(events: Vec<Value>, creation_date: &str) -> Value {
    json!({
        "@context": [CONTEXT, {"greenledger": NAMESPACE}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": creation_date,
        "epcisBody": {"eventList": events},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urn_and_digital_link_name_the_same_epc() {
        let urn = Epc::parse("urn:epc:class:lgtin:0614141.077777.987").unwrap();
        let dl = Epc::parse("https://id.gs1.org/01/00614141777778/10/987").unwrap();
        assert_eq!(urn, dl);
        let product = Epc::parse("urn:epc:idpat:sgtin:4012345.066666.*").unwrap();
        assert_eq!(product, Epc::parse("https://id.gs1.org/01/04012345666663").unwrap());
        // Another company-prefix split of the same GTIN is the same EPC.
        assert_eq!(product, Epc::parse("urn:epc:idpat:sgtin:401234.0566666.*").unwrap());
        let item = Epc::parse("urn:epc:id:sgtin:4012345.077889.25").unwrap();
        assert_eq!(item.product(), Epc::parse("urn:epc:idpat:sgtin:4012345.077889.*").ok());
        assert!(item.urns().contains(&"urn:epc:id:sgtin:4012345.077889.25".to_string()));
        assert_eq!(item.urns().len(), 7);
        assert!(
            Epc::parse("https://id.gs1.org/01/04012345666664").is_err(),
            "check digit"
        );
        assert!(Epc::parse("urn:epc:idpat:sgtin:4012345.*.*").is_err());
        assert!(Epc::parse("ftp://x").is_err());
        assert_eq!(
            Epc::parse("urn:epc:class:lgtin:4012345.011111.A%2FB").unwrap(),
            Epc::parse("https://example.com/01/04012345111118/10/A%2FB").unwrap()
        );
        assert!(
            Epc::parse("urn:epc:class:lgtin:4012345.011111.A%2FB")
                .unwrap()
                .urns()
                .contains(&"urn:epc:class:lgtin:4012345.011111.A%2FB".to_string())
        );
    }

    /// The shared GS1 examples, where the workspace has them beside it.
    fn examples() -> Vec<Vec<u8>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/external");
        [
            "epcis2-TransformationEvent.json",
            "epcis2-TransformationEvent_with_digitalLink.json",
            "epcis2-TransformationEvent_all_possible_fields.json",
        ]
        .iter()
        .filter_map(|f| std::fs::read(dir.join(f)).ok())
        .collect()
    }

    #[test]
    fn the_examples_parse_and_every_perturbation_is_answered_without_a_panic() {
        let docs = examples();
        if docs.is_empty() {
            println!("skipped: ../shared/data/external is not there");
            return;
        }
        for bytes in &docs {
            let doc = parse(bytes).unwrap();
            let ev = doc.select(None).unwrap();
            assert_eq!(ev.inputs.len(), 5);
            // Truncations, and every byte replaced by a few others, at a stride.
            for cut in (0..bytes.len()).step_by(7) {
                let _ = parse(&bytes[..cut]);
                for b in [b'"', b'0', b'{', b']', b'%', 0xC3] {
                    let mut m = bytes.clone();
                    m[cut] = b;
                    if let Ok(d) = parse(&m)
                        && let Ok(e) = d.select(None)
                        && let Ok(o) = e.output(None, None)
                    {
                        for i in &e.inputs {
                            let _ = per_unit(i.measure(), Unit::Kilogram, o.per, o.unit, &i.path, i.uom());
                        }
                        let _ = extensions(e, &o, &[]);
                    }
                }
            }
        }
    }

    #[test]
    fn huge_amounts_are_refused_not_overflowed() {
        let huge = Amount {
            dimension: Dimension::Energy,
            micro: i128::MAX / 2,
        };
        let one = Amount {
            dimension: Dimension::Energy,
            micro: 1,
        };
        assert!(per_unit(huge, Unit::KilowattHour, one, Unit::Megajoule, "x", None).is_err());
        let big = Amount {
            dimension: Dimension::Energy,
            micro: 100_000_000_000_000_000_000,
        };
        assert_eq!(
            per_unit(big, Unit::KilowattHour, big, Unit::KilowattHour, "x", None),
            Ok(Quantity(1_000_000))
        );
    }

    #[test]
    fn per_unit_converts_and_rounds_up() {
        let kg10 = Amount {
            dimension: Dimension::Mass,
            micro: 10 * 1_000_000 * 1_000_000,
        };
        let four = Amount {
            dimension: Dimension::Count,
            micro: 4_000_000,
        };
        assert_eq!(
            per_unit(kg10, Unit::Kilogram, four, Unit::Piece, "x", None).unwrap(),
            Quantity(2_500_000)
        );
        let three = Amount {
            dimension: Dimension::Count,
            micro: 3_000_000,
        };
        assert_eq!(
            per_unit(kg10, Unit::Kilogram, three, Unit::Piece, "x", None).unwrap(),
            Quantity(3_333_334)
        );
        // 1 kWh is 3.6 MJ.
        let kwh = Amount {
            dimension: Dimension::Energy,
            micro: 3_600_000 * 1_000_000,
        };
        let one = Amount {
            dimension: Dimension::Count,
            micro: 1_000_000,
        };
        assert_eq!(
            per_unit(kwh, Unit::Megajoule, one, Unit::Piece, "x", None).unwrap(),
            Quantity(3_600_000)
        );
        // 10 kg into 2 t of output declared in kilograms: 0.005 kg per kg.
        let two_t = Amount {
            dimension: Dimension::Mass,
            micro: 2 * 1_000_000_000 * 1_000_000,
        };
        assert_eq!(
            per_unit(kg10, Unit::Kilogram, two_t, Unit::Kilogram, "x", None).unwrap(),
            Quantity(5_000)
        );
        let e = per_unit(kg10, Unit::Liter, one, Unit::Piece, "inputQuantityList[0]", Some("KGM")).unwrap_err();
        assert_eq!(e.field, "inputQuantityList[0]");
        assert!(e.why.contains("\"KGM\" is a mass"), "{e}");
    }
}
