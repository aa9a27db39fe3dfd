//! PACT v3 `ProductFootprint` import and export (see `docs/PACT.md`).
//!
//! * [`Footprint::parse`] reads a PACT v3 footprint (or a v2.0–2.3 one, normalised to v3),
//!   checks the spec's consistency rules and [`Footprint::to_attestation`] maps it onto an
//!   [`Attestation`]. PACT figures are per `declaredUnitAmount` × unit; greenledger's are per one
//!   unit, in integer mg. Whatever the attestation's own fields cannot reproduce exactly (the
//!   original decimal text, unknown fields, `companyIds`, `dqi`, …) is kept in the attestation's
//!   `extensions.pact`, so that [`export`] gives the same PACT fields back.
//! * [`export`] turns any attestation entry into a PACT v3 footprint whose `id` is
//!   [`footprint_id`] of the entry id, with a greenledger element in `extensions` that names the
//!   entry, its signer, signature, network and inputs, and for a batch that claims green
//!   electricity its renewable share; [`export_with`] adds the certificates behind the claims
//!   (read from a ledger view by [`greenledger_core::custody_facts::electricity`]).
//!
//! Decimals are handled as exact integers (mantissa and scale); no floats.

use serde_json::{Map, Value, json};

use greenledger_core::{
    amount::{Mass, Quantity, SCALE_DIGITS, Share},
    canonical,
    custody_facts::{CertificateFacts, ClaimFacts, Electricity, share_of},
    entry::SignedEntry,
    id::EntryId,
    model::{Attestation, COMPONENTS, Dqi, Emissions, MAX_TEXT, Unit, check_part},
    rollup,
};

/// The PACT spec version written on export.
pub const SPEC_VERSION: &str = "3.0.0";
/// The version of greenledger's PACT extension.
pub const EXTENSION_VERSION: &str = "1.0.0";
/// The `dataSchema` of greenledger's PACT extension.
pub const EXTENSION_SCHEMA: &str =
    "https://github.com/greenledger/greenledger/blob/main/docs/pact-extension-1.0.0.schema.json";
/// The documentation of greenledger's PACT extension.
pub const EXTENSION_DOCS: &str = "https://github.com/greenledger/greenledger/blob/main/docs/PACT.md";
/// The key of the imported-footprint data in an attestation's `extensions`.
pub const EXT_KEY: &str = "pact";
/// The blake3 key-derivation context of [`footprint_id`].
pub const ID_CONTEXT: &str = "greenledger pact footprint id v1";

/// A footprint that does not pass import: the field (a JSON path such as
/// `pcf.fossilGhgEmissions`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PACT footprint: {field}: {why}")]
pub struct PactError {
    /// The field's path.
    pub field: String,
    /// What is wrong and what to do.
    pub why: String,
}

pub(crate) fn err(field: impl Into<String>, why: impl Into<String>) -> PactError {
    PactError {
        field: field.into(),
        why: why.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Exact decimals

/// An exact decimal: `m × 10^-scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Dec {
    m: i128,
    scale: u32,
}

impl Dec {
    const ZERO: Dec = Dec { m: 0, scale: 0 };

    /// Parses the PACT `Decimal` syntax `^[+-]?\d+(\.\d+)?$`.
    fn parse(field: &str, s: &str) -> Result<Dec, PactError> {
        let bad = || {
            err(
                field,
                format!(
                    "{s:?} is not a PACT decimal (a string such as \"12.5\" or \"-0.25\": digits, an optional sign and '.', no exponent)"
                ),
            )
        };
        let body = s.strip_prefix(['+', '-']).unwrap_or(s);
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if int.is_empty()
            || (body.contains('.') && frac.is_empty())
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let int = int.trim_start_matches('0');
        let frac = frac.trim_end_matches('0');
        if int.len() + frac.len() > 30 || frac.len() > 18 {
            return Err(err(
                field,
                format!("{s:?} has more digits than greenledger supports (30, at most 18 after the point)"),
            ));
        }
        let mut m: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            m = m * 10 + (b - b'0') as i128;
        }
        if s.starts_with('-') {
            m = -m;
        }
        Ok(Dec {
            m,
            scale: frac.len() as u32,
        })
    }

    fn rescale(self, scale: u32) -> Option<i128> {
        self.m.checked_mul(10i128.checked_pow(scale.checked_sub(self.scale)?)?)
    }

    fn add(self, o: Dec) -> Option<Dec> {
        let scale = self.scale.max(o.scale);
        Some(Dec {
            m: self.rescale(scale)?.checked_add(o.rescale(scale)?)?,
            scale,
        })
    }

    fn cmp_zero(self) -> std::cmp::Ordering {
        self.m.cmp(&0)
    }

    fn same_value(self, o: Dec) -> bool {
        let scale = self.scale.max(o.scale);
        self.rescale(scale) == o.rescale(scale)
    }
}

/// Formats `m × 10^-scale` in plain notation, shortest form.
fn format_scaled(m: i128, scale: u32) -> String {
    let neg = m < 0;
    let a = m.unsigned_abs();
    let p = 10u128.pow(scale);
    let (int, frac) = (a / p, a % p);
    let mut s = if neg { format!("-{int}") } else { int.to_string() };
    if frac != 0 {
        let f = format!("{:0width$}", frac, width = scale as usize);
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s
}

fn format_dec(d: Dec) -> String {
    format_scaled(d.m, d.scale)
}

/// `a + b` of two PACT decimal strings, exactly.
pub(crate) fn add_decimals(a: &str, b: &str) -> Result<String, PactError> {
    let sum = Dec::parse("", a)?
        .add(Dec::parse("", b)?)
        .ok_or_else(|| err("", "too large"))?;
    Ok(format_dec(sum))
}

/// `value / amount` in mg (value in kg per `amount` units): the rounded result (nearest, ties
/// away from zero) and whether it is exact.
fn per_unit_mg(field: &str, value: Dec, amount: Dec) -> Result<(Mass, bool), PactError> {
    let too_large = || err(field, "too large for greenledger (integer mg CO2e in 64 bits)");
    let num = value
        .m
        .checked_mul(10i128.pow(SCALE_DIGITS))
        .and_then(|n| n.checked_mul(10i128.checked_pow(amount.scale)?))
        .ok_or_else(too_large)?;
    let den = amount
        .m
        .checked_mul(10i128.checked_pow(value.scale).ok_or_else(too_large)?)
        .ok_or_else(too_large)?;
    let (q, r) = (num / den, num % den);
    let rounded = if 2 * r.unsigned_abs() >= den.unsigned_abs() {
        q + num.signum() * den.signum()
    } else {
        q
    };
    let mg = i64::try_from(rounded).map_err(|_| too_large())?;
    Ok((Mass(mg), r == 0))
}

/// `mg × amount` as a kg decimal string (exact).
fn scaled_kg(mg: Mass, amount: Dec) -> String {
    match (mg.0 as i128).checked_mul(amount.m) {
        Some(m) => format_scaled(m, SCALE_DIGITS + amount.scale),
        None => mg.kg_string(),
    }
}

/// A JSON number of a v2 footprint as a plain decimal string (`1e-7` → `"0.0000001"`).
pub(crate) fn number_to_decimal(n: &serde_json::Number) -> String {
    let s = n.to_string();
    let (mant, exp) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m.to_string(), e.parse::<i32>().unwrap_or(0)),
        None => (s.clone(), 0),
    };
    if exp == 0 {
        return match mant.strip_suffix(".0") {
            Some(m) => m.to_string(),
            None => mant,
        };
    }
    let neg = mant.starts_with('-');
    let mant = mant.trim_start_matches(['-', '+']);
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let digits = format!("{int}{frac}");
    let point = int.len() as i32 + exp;
    let mut out = if point <= 0 {
        format!("0.{}{}", "0".repeat((-point) as usize), digits)
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
    };
    if out.contains('.') {
        out = out.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    let out = out.trim_start_matches('0');
    let out = if out.is_empty() || out.starts_with('.') {
        format!("0{out}")
    } else {
        out.to_string()
    };
    if neg { format!("-{out}") } else { out }
}

// ---------------------------------------------------------------------------------------------
// Field lists

/// Top-level fields that describe one footprint *version* (its identity and lifecycle): kept
/// as `source` on import, written from the greenledger entry on export.
const LIFECYCLE: [&str; 7] = [
    "id",
    "specVersion",
    "created",
    "status",
    "precedingPfIds",
    "version",
    "updated",
];

/// `pcf` fields that hold kg CO2e (or kgC, kg, m²·year) per declared unit.
const PCF_DECIMALS: [(&str, Sign); 28] = [
    ("declaredUnitAmount", Sign::Positive),
    ("productMassPerDeclaredUnit", Sign::NonNegative),
    ("pcfExcludingBiogenicUptake", Sign::Any),
    ("pcfIncludingBiogenicUptake", Sign::Any),
    ("fossilCarbonContent", Sign::NonNegative),
    ("biogenicCarbonContent", Sign::NonNegative),
    ("recycledCarbonContent", Sign::NonNegative),
    ("fossilGhgEmissions", Sign::NonNegative),
    ("landUseChangeGhgEmissions", Sign::NonNegative),
    ("landCarbonLeakage", Sign::NonNegative),
    ("landManagementFossilGhgEmissions", Sign::NonNegative),
    ("landManagementBiogenicCO2Emissions", Sign::NonNegative),
    ("landManagementBiogenicCO2Removals", Sign::NonPositive),
    ("biogenicCO2Uptake", Sign::NonPositive),
    ("biogenicNonCO2Emissions", Sign::NonNegative),
    ("landAreaOccupation", Sign::NonNegative),
    ("aircraftGhgEmissions", Sign::NonNegative),
    ("packagingGhgEmissions", Sign::NonNegative),
    ("packagingBiogenicCarbonContent", Sign::NonNegative),
    ("outboundLogisticsGhgEmissions", Sign::NonNegative),
    ("ccsTechnologicalCO2Capture", Sign::NonPositive),
    ("technologicalCO2Removals", Sign::NonPositive),
    ("ccuCarbonContent", Sign::NonNegative),
    ("exemptedEmissionsPercent", Sign::NonNegative),
    ("primaryDataShare", Sign::Percent),
    ("dqi.technologicalDQR", Sign::Rating),
    ("dqi.geographicalDQR", Sign::Rating),
    ("dqi.temporalDQR", Sign::Rating),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sign {
    Any,
    Positive,
    NonNegative,
    NonPositive,
    Percent,
    Rating,
}

const REQUIRED_TOP: [&str; 10] = [
    "id",
    "specVersion",
    "created",
    "status",
    "companyName",
    "companyIds",
    "productDescription",
    "productIds",
    "productNameCompany",
    "pcf",
];

const REQUIRED_PCF: [&str; 12] = [
    "declaredUnitOfMeasurement",
    "declaredUnitAmount",
    "productMassPerDeclaredUnit",
    "referencePeriodStart",
    "referencePeriodEnd",
    "pcfExcludingBiogenicUptake",
    "pcfIncludingBiogenicUptake",
    "fossilGhgEmissions",
    "fossilCarbonContent",
    "ipccCharacterizationFactors",
    "crossSectoralStandards",
    "exemptedEmissionsPercent",
];

const GEOGRAPHY: [&str; 3] = [
    "geographyRegionOrSubregion",
    "geographyCountry",
    "geographyCountrySubdivision",
];

// ---------------------------------------------------------------------------------------------
// Import

/// A parsed, checked PACT footprint, normalised to v3.
#[derive(Clone, Debug, PartialEq)]
pub struct Footprint {
    /// The footprint as PACT v3 (after v2 normalisation; `null`s removed).
    pub v3: Map<String, Value>,
    /// The spec version the document was written in (`"2.2.0"`, `"3.0.0"`, …).
    pub source_version: String,
    /// v2 fields that v3 has no place for (kept in the attestation's extensions).
    pub v2_only: Map<String, Value>,
}

fn drop_nulls(m: &mut Map<String, Value>) {
    m.retain(|_, v| !v.is_null());
}

impl Footprint {
    /// Parses a PACT v3 (or v2.0–2.3) ProductFootprint from JSON text and checks it.
    pub fn parse(bytes: &[u8]) -> Result<Footprint, PactError> {
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        let v: Value = serde_json::from_slice(bytes).map_err(|e| err("(file)", format!("not valid JSON: {e}")))?;
        Footprint::from_value(v)
    }

    /// As [`Footprint::parse`], from a JSON value.
    pub fn from_value(v: Value) -> Result<Footprint, PactError> {
        let Value::Object(mut top) = v else {
            return Err(err("(file)", "a ProductFootprint is a JSON object"));
        };
        // Accept a single footprint wrapped as the REST API answers (`{"data": {…}}`).
        if top.len() == 1
            && let Some(Value::Object(inner)) = top.get("data")
        {
            top = inner.clone();
        }
        drop_nulls(&mut top);
        if let Some(Value::Object(p)) = top.get_mut("pcf") {
            drop_nulls(p);
        }
        let version = match top.get("specVersion") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(err("specVersion", "must be a string such as \"3.0.0\"")),
            None => return Err(err("specVersion", "required; add \"specVersion\": \"3.0.0\"")),
        };
        let major = version.split('.').next().unwrap_or("");
        let mut v2_only = Map::new();
        match major {
            "3" => rename_aliases(&mut top),
            "2" => normalise_v2(&mut top, &mut v2_only)?,
            _ => {
                return Err(err(
                    "specVersion",
                    format!("{version:?} is not supported: greenledger reads PACT 3.x and 2.0–2.3 footprints"),
                ));
            }
        }
        check(&top)?;
        Ok(Footprint {
            v3: top,
            source_version: version,
            v2_only,
        })
    }

    fn pcf(&self) -> &Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        self.v3
            .get("pcf")
            .and_then(Value::as_object)
            .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    /// The declared unit.
    pub fn unit(&self) -> Result<Unit, PactError> {
        let u = self
            .pcf()
            .get("declaredUnitOfMeasurement")
            .and_then(Value::as_str)
            .unwrap_or("");
        Unit::ALL.into_iter().find(|x| x.as_str() == u).ok_or_else(|| {
            err(
                "pcf.declaredUnitOfMeasurement",
                format!("{u:?} is a PACT unit that greenledger attestations do not support yet (kilogram, liter, cubic meter, kilowatt hour, megajoule, ton kilometer, square meter, piece)"),
            )
        })
    }

    /// What the spec asks for (rule SHALL) but the footprint leaves out: reported, not refused.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        for k in [
            "packagingEmissionsIncluded",
            "ccsTechnologicalCO2CaptureIncluded",
            "primaryDataShare",
        ] {
            if !self.pcf().contains_key(k) {
                w.push(format!("pcf.{k} is missing; PACT v3 says a footprint SHALL report it"));
            }
        }
        w
    }

    /// The first of `productIds`.
    pub fn first_product_id(&self) -> Option<&str> {
        self.v3.get("productIds")?.as_array()?.first()?.as_str()
    }

    fn amount(&self) -> Dec {
        self.pcf()
            .get("declaredUnitAmount")
            .and_then(Value::as_str)
            .and_then(|s| Dec::parse("", s).ok())
            .unwrap_or(Dec { m: 1, scale: 0 })
    }

    /// The footprint's emissions per ONE declared unit, in mg, rounded to the mg where the
    /// division by `declaredUnitAmount` is not exact (the exact original text is kept in the
    /// extensions by [`Footprint::to_attestation`]).
    pub fn emissions(&self) -> Result<Emissions, PactError> {
        let amount = self.amount();
        let mut e = Emissions::default();
        for c in &COMPONENTS {
            if let Some(s) = self.pcf().get(c.name).and_then(Value::as_str) {
                let field = format!("pcf.{}", c.name);
                let (mg, _) = per_unit_mg(&field, Dec::parse(&field, s)?, amount)?;
                (c.set)(&mut e, Some(mg));
            }
        }
        Ok(e)
    }

    /// Builds the attestation: `part` (default: the first product id), the footprint's figures
    /// as the attestation's `total`, `own` = total − Σ quantity × input total (so that the
    /// roll-up gives the footprint's figures back), and `extensions.pact` with everything the
    /// attestation's own fields do not reproduce exactly.
    pub fn to_attestation(
        &self,
        part: Option<&str>,
        inputs: &[(greenledger_core::model::Input, &Emissions)],
    ) -> Result<Attestation, PactError> {
        let part = match part {
            Some(p) => p.to_string(),
            None => self
                .first_product_id()
                .ok_or_else(|| err("productIds", "required: at least one product id (a URN)"))?
                .to_string(),
        };
        check_part(&part).map_err(|e| {
            err(
                "productIds",
                format!("{e}; the part is the first product id unless --part URN names another"),
            )
        })?;
        let unit = self.unit()?;
        let total = self.emissions()?;
        let refs: Vec<(Quantity, &Emissions)> = inputs.iter().map(|(i, t)| (i.quantity, *t)).collect();
        let own = own_from_total(&total, &refs)?;
        let mut att = Attestation::new(&part, unit, own);
        att.inputs = inputs.iter().map(|(i, _)| i.clone()).collect();
        att.total = rollup::roll_up(&att.own, &refs).map_err(|e| err("pcf", e.to_string()))?;
        let pcf = self.pcf();
        let text = |m: &Map<String, Value>, k: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .filter(|s| s.len() <= MAX_TEXT)
                .map(String::from)
        };
        att.product_name_company = text(&self.v3, "productNameCompany");
        att.product_description = text(&self.v3, "productDescription").filter(|s| !s.is_empty());
        att.comment = text(&self.v3, "comment");
        att.reference_period_start = text(pcf, "referencePeriodStart");
        att.reference_period_end = text(pcf, "referencePeriodEnd");
        att.geography_country = text(pcf, "geographyCountry");
        att.geography_country_subdivision = text(pcf, "geographyCountrySubdivision");
        att.geography_region_or_subregion = text(pcf, "geographyRegionOrSubregion");
        if let Some(Value::Array(a)) = pcf.get("crossSectoralStandards")
            && a.iter().all(|s| s.as_str().is_some_and(|s| s.len() <= 200))
        {
            att.cross_sectoral_standards = a.iter().filter_map(|s| s.as_str().map(String::from)).collect();
        }
        att.primary_data_share = pcf
            .get("primaryDataShare")
            .and_then(Value::as_str)
            .and_then(|s| Share::from_percent_str(s).ok());
        // Checked against the attestation rules (a time humantime cannot read, for instance,
        // stays in the extensions only).
        if att.check().is_err() {
            att.reference_period_start = None;
            att.reference_period_end = None;
        }
        self.keep_the_rest(&mut att);
        att.check().map_err(|e| err("(attestation)", format!("{e}")))?;
        Ok(att)
    }

    /// Records in `extensions.pact` what [`export`] cannot derive from the attestation.
    fn keep_the_rest(&self, att: &mut Attestation) {
        let amount_text = self.pcf().get("declaredUnitAmount").and_then(Value::as_str);
        let amount = self.amount();
        let base = mapped_fields(att, amount);
        let mut kept = Map::new();
        let mut absent = Vec::new();
        let mut kept_pcf = Map::new();
        let mut earlier = None;
        for (k, v) in &self.v3 {
            if LIFECYCLE.contains(&k.as_str()) {
                continue;
            }
            if k == "pcf" {
                let empty = Map::new();
                let bp = base.get("pcf").and_then(Value::as_object).unwrap_or(&empty);
                let op = v.as_object().unwrap_or(&empty);
                for (pk, pv) in op {
                    if bp.get(pk) != Some(pv) {
                        kept_pcf.insert(pk.clone(), storable(pv));
                    }
                }
                for pk in bp.keys() {
                    if !op.contains_key(pk) {
                        absent.push(Value::String(format!("pcf.{pk}")));
                    }
                }
                continue;
            }
            if k == "extensions"
                && let Value::Array(list) = v
            {
                // A greenledger element describes the entry the file was exported from, not the
                // one being signed: it goes to `source`, and export adds the new entry's own.
                let (ours, theirs): (Vec<&Value>, Vec<&Value>) = list
                    .iter()
                    .partition(|x| x.get("dataSchema").and_then(Value::as_str) == Some(EXTENSION_SCHEMA));
                if !ours.is_empty() {
                    earlier = Some(Value::Array(ours.into_iter().map(storable).collect()));
                }
                if !theirs.is_empty() {
                    kept.insert(k.clone(), Value::Array(theirs.into_iter().map(storable).collect()));
                }
                continue;
            }
            if base.get(k) != Some(v) {
                kept.insert(k.clone(), storable(v));
            }
        }
        for k in base.keys() {
            if k != "pcf" && !self.v3.contains_key(k) {
                absent.push(Value::String(k.clone()));
            }
        }
        if !kept_pcf.is_empty() {
            kept.insert("pcf".into(), Value::Object(kept_pcf));
        }
        let mut source = Map::new();
        for k in LIFECYCLE {
            if let Some(v) = self.v3.get(k) {
                source.insert(k.into(), storable(v));
            }
        }
        source.insert("specVersion".into(), Value::String(self.source_version.clone()));
        if let Some(e) = earlier {
            source.insert("greenledgerExtensions".into(), e);
        }
        let mut pact = Map::new();
        if let Some(a) = amount_text
            && !amount.same_value(Dec { m: 1, scale: 0 })
        {
            pact.insert("declaredUnitAmount".into(), Value::String(a.to_string()));
        }
        pact.insert("source".into(), Value::Object(source));
        if !kept.is_empty() {
            pact.insert("kept".into(), Value::Object(kept));
        }
        if !absent.is_empty() {
            pact.insert("absent".into(), Value::Array(absent));
        }
        if !self.v2_only.is_empty() {
            let v2: Map<String, Value> = self.v2_only.iter().map(|(k, v)| (k.clone(), storable(v))).collect();
            pact.insert("v2".into(), Value::Object(v2));
        }
        att.extensions
            .get_or_insert_with(Map::new)
            .insert(EXT_KEY.into(), Value::Object(pact));
    }
}

/// `own = total − round(Σ quantity × input total)` per component, so that the roll-up of `own`
/// and the inputs gives `total` back exactly. A component that some input does not declare is
/// left out of `own` (the roll-up cannot carry it); the footprint's figure stays in the
/// extensions.
pub fn own_from_total(total: &Emissions, inputs: &[(Quantity, &Emissions)]) -> Result<Emissions, PactError> {
    let mut own = Emissions::default();
    for c in &COMPONENTS {
        let Some(t) = (c.get)(total) else { continue };
        let mut s: i128 = 0;
        let mut complete = true;
        for (q, e) in inputs {
            match (c.get)(e) {
                Some(v) => s += q.0 as i128 * v.0 as i128,
                None => complete = false,
            }
        }
        if !complete {
            continue;
        }
        let upstream = rollup::round_scaled(s);
        let v = t.0 as i128 - upstream;
        let v = i64::try_from(v).map_err(|_| err(format!("pcf.{}", c.name), "too large"))?;
        if c.sign == greenledger_core::model::Sign::NonPositive && v > 0 {
            return Err(err(
                format!("pcf.{}", c.name),
                format!(
                    "the footprint says {} kg CO2e per declared unit, but the inputs given with --input already account for {} kg, which would leave a positive own uptake; check the input quantities",
                    t.kg_string(),
                    Mass(upstream as i64).kg_string()
                ),
            ));
        }
        let negative_not_allowed = c.sign == greenledger_core::model::Sign::NonNegative;
        if negative_not_allowed && v < 0 {
            return Err(err(
                format!("pcf.{}", c.name),
                format!(
                    "the footprint says {} kg CO2e per declared unit, but the inputs given with --input already account for {} kg; check the input quantities (they are per ONE declared unit of this product, in each input's unit)",
                    t.kg_string(),
                    Mass(upstream as i64).kg_string()
                ),
            ));
        }
        (c.set)(&mut own, Some(Mass(v)));
    }
    Ok(own)
}

/// Values a payload cannot hold (floats, `null`, integers beyond 2^53) are kept as their JSON
/// text: `{"$json": "…"}`.
fn storable(v: &Value) -> Value {
    fn needs_wrap(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::Number(n) => n
                .as_i64()
                .is_none_or(|i| i.unsigned_abs() > canonical::MAX_SAFE_INTEGER),
            Value::Array(a) => a.iter().any(needs_wrap),
            Value::Object(o) => (o.len() == 1 && o.contains_key("$json")) || o.values().any(needs_wrap),
            _ => false,
        }
    }
    fn rec(v: &Value) -> Value {
        match v {
            Value::Object(o) if !(o.len() == 1 && o.contains_key("$json")) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), rec(v))).collect())
            }
            Value::Array(a) if !a.iter().any(|x| matches!(x, Value::Null | Value::Number(_))) => {
                Value::Array(a.iter().map(rec).collect())
            }
            v if needs_wrap(v) => json!({"$json": v.to_string()}),
            v => v.clone(),
        }
    }
    rec(v)
}

fn unstore(v: &Value) -> Value {
    match v {
        Value::Object(o) if o.len() == 1 => match o.get("$json") {
            Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_else(|_| v.clone()),
            _ => Value::Object(o.iter().map(|(k, v)| (k.clone(), unstore(v))).collect()),
        },
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), unstore(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(unstore).collect()),
        v => v.clone(),
    }
}

/// Draft names of v3 fields ([OA-draft]) → final names.
fn rename_aliases(top: &mut Map<String, Value>) {
    if let Some(Value::Object(pcf)) = top.get_mut("pcf") {
        for (old, new) in [
            ("pcfExcludingBiogenicCO2Withdrawal", "pcfExcludingBiogenicUptake"),
            ("pcfIncludingBiogenicCO2Withdrawal", "pcfIncludingBiogenicUptake"),
            ("biogenicCO2Withdrawal", "biogenicCO2Uptake"),
            ("ccuOrigin", "technologicalCO2CaptureOrigin"),
        ] {
            if !pcf.contains_key(new)
                && let Some(v) = pcf.remove(old)
            {
                pcf.insert(new.into(), v);
            }
        }
    }
}

/// Normalises a v2.x footprint to v3 (declared unit amount 1: v2 figures are per ONE unit).
fn normalise_v2(top: &mut Map<String, Value>, v2_only: &mut Map<String, Value>) -> Result<(), PactError> {
    for k in ["statusComment"] {
        if let Some(v) = top.remove(k) {
            v2_only.insert(k.into(), v);
        }
    }
    if let Some(cpc) = top.remove("productCategoryCpc") {
        let code = cpc
            .as_str()
            .ok_or_else(|| err("productCategoryCpc", "must be a string (a UN CPC code)"))?;
        let urn = Value::String(format!("urn:pact:productclassification:un-cpc:{code}"));
        let list = top
            .entry("productClassifications")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(a) = list
            && !a.contains(&urn)
        {
            a.push(urn);
        }
        v2_only.insert("productCategoryCpc".into(), cpc);
    }
    let Some(Value::Object(pcf)) = top.get_mut("pcf") else {
        return Err(err("pcf", "required: the CarbonFootprint object"));
    };
    let mut moved = Map::new();
    let rename = |pcf: &mut Map<String, Value>, old: &str, new: &str| {
        if let Some(v) = pcf.remove(old)
            && !pcf.contains_key(new)
        {
            pcf.insert(new.into(), v);
        }
    };
    rename(pcf, "declaredUnit", "declaredUnitOfMeasurement");
    if let Some(u) = pcf.remove("unitaryProductAmount") {
        moved.insert("unitaryProductAmount".into(), u);
    }
    pcf.insert("declaredUnitAmount".into(), Value::String("1".into()));
    rename(pcf, "pCfExcludingBiogenic", "pcfExcludingBiogenicUptake");
    rename(pcf, "pCfIncludingBiogenic", "pcfIncludingBiogenicUptake");
    rename(pcf, "biogenicCarbonWithdrawal", "biogenicCO2Uptake");
    rename(pcf, "dLucGhgEmissions", "landUseChangeGhgEmissions");
    rename(pcf, "iLucGhgEmissions", "landCarbonLeakage");
    rename(pcf, "otherBiogenicGhgEmissions", "biogenicNonCO2Emissions");
    for k in [
        "landManagementGhgEmissions",
        "biogenicAccountingMethodology",
        "uncertaintyAssessmentDescription",
        "characterizationFactors",
        "crossSectoralStandardsUsed",
        "ipccCharacterizationFactorsSources",
        "assurance",
    ] {
        if let Some(v) = pcf.get(k) {
            moved.insert(k.into(), v.clone());
        }
    }
    pcf.remove("landManagementGhgEmissions");
    pcf.remove("biogenicAccountingMethodology");
    pcf.remove("uncertaintyAssessmentDescription");
    // Characterization factors.
    let ipcc = match (
        pcf.remove("ipccCharacterizationFactorsSources"),
        pcf.remove("characterizationFactors"),
    ) {
        (Some(Value::Array(a)), _) if !a.is_empty() => Some(Value::Array(a)),
        (_, Some(Value::String(s))) => Some(json!([s])),
        _ => None,
    };
    if let Some(i) = ipcc
        && !pcf.contains_key("ipccCharacterizationFactors")
    {
        pcf.insert("ipccCharacterizationFactors".into(), i);
    }
    // Standards.
    if let Some(Value::Array(used)) = pcf.remove("crossSectoralStandardsUsed")
        && !pcf.contains_key("crossSectoralStandards")
    {
        let mapped: Vec<Value> = used
            .iter()
            .filter_map(Value::as_str)
            .map(|s| {
                Value::String(
                    match s {
                        "GHG Protocol Product standard" => "GHGP-Product",
                        "ISO Standard 14067" => "ISO14067",
                        "ISO Standard 14044" => "ISO14040-44",
                        other => other,
                    }
                    .to_string(),
                )
            })
            .collect();
        pcf.insert("crossSectoralStandards".into(), Value::Array(mapped));
    }
    // JSON numbers become decimal strings.
    for k in ["exemptedEmissionsPercent", "primaryDataShare"] {
        if let Some(Value::Number(n)) = pcf.get(k) {
            let s = number_to_decimal(n);
            pcf.insert(k.into(), Value::String(s));
        }
    }
    if let Some(Value::Object(dqi)) = pcf.get_mut("dqi") {
        let mut dropped = Map::new();
        for k in ["coveragePercent", "completenessDQR", "reliabilityDQR"] {
            if let Some(v) = dqi.remove(k) {
                dropped.insert(k.into(), v);
            }
        }
        for k in ["technologicalDQR", "temporalDQR", "geographicalDQR"] {
            if let Some(Value::Number(n)) = dqi.get(k) {
                let s = number_to_decimal(n);
                dqi.insert(k.into(), Value::String(s));
            }
        }
        if !dropped.is_empty() {
            moved.insert("dqi".into(), Value::Object(dropped));
        }
    }
    if let Some(Value::Object(a)) = pcf.remove("assurance") {
        let mut v = Map::new();
        let coverage = match a.get("coverage").and_then(Value::as_str) {
            Some("product level") => Some("product level"),
            Some("PCF system") => Some("PCF calculation model"),
            _ => None,
        };
        if let Some(c) = coverage {
            v.insert("coverage".into(), json!(c));
        }
        for k in ["providerName", "completedAt", "standardName", "comments"] {
            if let Some(x) = a.get(k) {
                v.insert(k.into(), x.clone());
            }
        }
        if !v.is_empty() {
            pcf.insert("verification".into(), Value::Object(v));
        }
    }
    // Including-biogenic figure, required in v3.
    if !pcf.contains_key("pcfIncludingBiogenicUptake") {
        let excl = pcf
            .get("pcfExcludingBiogenicUptake")
            .and_then(Value::as_str)
            .map(String::from);
        let uptake = pcf.get("biogenicCO2Uptake").and_then(Value::as_str).map(String::from);
        let bio_content_zero = pcf
            .get("biogenicCarbonContent")
            .and_then(Value::as_str)
            .and_then(|s| Dec::parse("", s).ok())
            .is_some_and(|d| d.m == 0);
        let incl = match (excl, uptake) {
            (Some(e), Some(u)) => {
                let e = Dec::parse("pcf.pCfExcludingBiogenic", &e)?;
                let u = Dec::parse("pcf.biogenicCarbonWithdrawal", &u)?;
                e.add(u).map(format_dec)
            }
            (Some(e), None) if bio_content_zero => Some(e),
            _ => None,
        };
        match incl {
            Some(i) => {
                pcf.insert("pcfIncludingBiogenicUptake".into(), Value::String(i));
            }
            None => {
                return Err(err(
                    "pcf.pCfIncludingBiogenic",
                    "missing, and it cannot be derived (no biogenicCarbonWithdrawal, biogenicCarbonContent not 0); add pCfIncludingBiogenic",
                ));
            }
        }
    }
    // Product mass, required in v3: known for mass and energy units only.
    if !pcf.contains_key("productMassPerDeclaredUnit") {
        match pcf.get("declaredUnitOfMeasurement").and_then(Value::as_str) {
            Some("kilogram") => {
                pcf.insert("productMassPerDeclaredUnit".into(), json!("1"));
            }
            Some("kilowatt hour" | "megajoule" | "ton kilometer") => {
                pcf.insert("productMassPerDeclaredUnit".into(), json!("0"));
            }
            _ => {
                return Err(err(
                    "pcf.productMassPerDeclaredUnit",
                    "missing, and PACT v3 requires it; a v2 footprint in this unit must state its product mass per declared unit (kg)",
                ));
            }
        }
    }
    if !moved.is_empty() {
        v2_only.insert("pcf".into(), Value::Object(moved));
    }
    top.insert("specVersion".into(), json!(SPEC_VERSION));
    Ok(())
}

fn is_urn(s: &str) -> bool {
    s.as_bytes().get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"urn:")) && s.len() > 4
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

fn time(field: &str, v: &Value) -> Result<std::time::SystemTime, PactError> {
    let s = v
        .as_str()
        .ok_or_else(|| err(field, "must be a date-time string such as \"2025-01-01T00:00:00Z\""))?;
    humantime::parse_rfc3339_weak(s)
        .or_else(|_| humantime::parse_rfc3339(s))
        .map_err(|_| {
            err(
                field,
                format!("{s:?} is not an RFC 3339 UTC date-time such as \"2025-01-01T00:00:00Z\""),
            )
        })
}

fn get_path<'a>(pcf: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    match path.split_once('.') {
        Some((a, b)) => pcf.get(a)?.as_object()?.get(b),
        None => pcf.get(path),
    }
}

/// The consistency rules of the spec, on a v3 footprint.
fn check(top: &Map<String, Value>) -> Result<(), PactError> {
    for k in REQUIRED_TOP {
        if !top.contains_key(k) {
            return Err(err(k, "required by PACT v3 but missing (or null)"));
        }
    }
    let id = top.get("id").and_then(Value::as_str).unwrap_or("");
    if !is_uuid(id) {
        return Err(err("id", format!("{id:?} is not a UUID (8-4-4-4-12 hex digits)")));
    }
    match top.get("status").and_then(Value::as_str) {
        Some("Active" | "Deprecated") => {}
        _ => return Err(err("status", "must be \"Active\" or \"Deprecated\"")),
    }
    time("created", &top["created"])?;
    for k in ["companyName", "productNameCompany"] {
        if top[k].as_str().is_none_or(|s| s.trim().is_empty()) {
            return Err(err(k, "must be a non-empty string"));
        }
    }
    if !top["productDescription"].is_string() {
        return Err(err("productDescription", "must be a string (it may be empty)"));
    }
    for k in ["companyIds", "productIds", "productClassifications"] {
        let Some(v) = top.get(k) else { continue };
        let a = v
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| err(k, "must be a non-empty array of URNs (urn:…)"))?;
        for (i, x) in a.iter().enumerate() {
            if !x.as_str().is_some_and(is_urn) {
                return Err(err(format!("{k}[{i}]"), format!("{x} is not a URN (urn:…)")));
            }
        }
        if a.iter().enumerate().any(|(i, x)| a[..i].contains(x)) {
            return Err(err(k, "lists the same URN twice"));
        }
    }
    if let Some(p) = top.get("precedingPfIds") {
        let ok = p
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x.as_str().is_some_and(is_uuid)));
        if !ok {
            return Err(err(
                "precedingPfIds",
                "must be a non-empty array of UUIDs (omit it if there are none)",
            ));
        }
    }
    if let (Some(s), Some(e)) = (top.get("validityPeriodStart"), top.get("validityPeriodEnd"))
        && time("validityPeriodStart", s)? >= time("validityPeriodEnd", e)?
    {
        return Err(err("validityPeriodEnd", "must be after validityPeriodStart"));
    }
    let pcf = top["pcf"]
        .as_object()
        .ok_or_else(|| err("pcf", "must be an object (the CarbonFootprint)"))?;
    for k in REQUIRED_PCF {
        if !pcf.contains_key(k) {
            return Err(err(format!("pcf.{k}"), "required by PACT v3 but missing (or null)"));
        }
    }
    let mut decs = std::collections::HashMap::new();
    for (k, sign) in PCF_DECIMALS {
        let Some(v) = get_path(pcf, k) else { continue };
        let field = format!("pcf.{k}");
        let s = v.as_str().ok_or_else(|| {
            err(
                &field,
                format!("{v} must be a decimal in a string (PACT v3 writes numbers as strings, e.g. \"0.5\")"),
            )
        })?;
        let d = Dec::parse(&field, s)?;
        use std::cmp::Ordering::*;
        let ok = match sign {
            Sign::Any => true,
            Sign::Positive => d.cmp_zero() == Greater,
            Sign::NonNegative => d.cmp_zero() != Less,
            Sign::NonPositive => d.cmp_zero() != Greater,
            Sign::Percent => {
                d.cmp_zero() != Less
                    && d.add(Dec { m: -100, scale: 0 })
                        .is_some_and(|x| x.cmp_zero() != Greater)
            }
            Sign::Rating => {
                d.add(Dec { m: -1, scale: 0 }).is_some_and(|x| x.cmp_zero() != Less)
                    && d.add(Dec { m: -5, scale: 0 }).is_some_and(|x| x.cmp_zero() != Greater)
            }
        };
        if !ok {
            let rule = match sign {
                Sign::Any => "",
                Sign::Positive => "must be greater than 0",
                Sign::NonNegative => "must not be negative (emissions and contents are ≥ 0)",
                Sign::NonPositive => "must not be positive (uptakes, removals and captures are ≤ 0)",
                Sign::Percent => "must be a percentage between 0 and 100",
                Sign::Rating => "must be a data-quality rating between 1 and 5",
            };
            return Err(err(&field, format!("{rule}; got {s:?}")));
        }
        decs.insert(k, d);
    }
    // greenledger's own rule: the headline figure is not negative.
    if decs
        .get("pcfExcludingBiogenicUptake")
        .is_some_and(|d| d.cmp_zero() == std::cmp::Ordering::Less)
    {
        return Err(err(
            "pcf.pcfExcludingBiogenicUptake",
            "is negative; greenledger attestations need a footprint excluding biogenic uptake ≥ 0",
        ));
    }
    // pcfIncludingBiogenicUptake = pcfExcludingBiogenicUptake + biogenicCO2Uptake (exactly).
    let excl = decs["pcfExcludingBiogenicUptake"];
    let uptake = decs.get("biogenicCO2Uptake").copied().unwrap_or(Dec::ZERO);
    let incl = decs["pcfIncludingBiogenicUptake"];
    let expected = excl
        .add(uptake)
        .ok_or_else(|| err("pcf.pcfIncludingBiogenicUptake", "too large"))?;
    if !expected.same_value(incl) {
        return Err(err(
            "pcf.pcfIncludingBiogenicUptake",
            format!(
                "is {:?}, but pcfExcludingBiogenicUptake + biogenicCO2Uptake = {} + {} = {}; PACT v3 requires them to be equal (an absent biogenicCO2Uptake counts as 0)",
                format_dec(incl),
                format_dec(excl),
                format_dec(uptake),
                format_dec(expected)
            ),
        ));
    }
    let geo: Vec<&str> = GEOGRAPHY.iter().copied().filter(|k| pcf.contains_key(*k)).collect();
    if geo.len() > 1 {
        return Err(err(
            format!("pcf.{}", geo[1]),
            format!(
                "PACT allows at most one geography field, but {} are given; keep the most specific one",
                geo.join(" and ")
            ),
        ));
    }
    if let Some(c) = pcf.get("geographyCountry")
        && !c
            .as_str()
            .is_some_and(|s| s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(err(
            "pcf.geographyCountry",
            format!("{c} is not an ISO 3166-1 alpha-2 code such as \"DE\""),
        ));
    }
    if let Some(c) = pcf.get("geographyCountrySubdivision") {
        let ok = c.as_str().is_some_and(|s| {
            let (a, b) = s.split_once('-').unwrap_or(("", ""));
            a.len() == 2
                && a.bytes().all(|x| x.is_ascii_uppercase())
                && (1..=3).contains(&b.len())
                && b.bytes().all(|x| x.is_ascii_uppercase() || x.is_ascii_digit())
        });
        if !ok {
            return Err(err(
                "pcf.geographyCountrySubdivision",
                format!("{c} is not an ISO 3166-2 code such as \"DE-BY\""),
            ));
        }
    }
    if let Some(r) = pcf.get("geographyRegionOrSubregion")
        && !r.is_string()
    {
        return Err(err(
            "pcf.geographyRegionOrSubregion",
            "must be a string (a UN M49 region name)",
        ));
    }
    let start = time("pcf.referencePeriodStart", &pcf["referencePeriodStart"])?;
    let end = time("pcf.referencePeriodEnd", &pcf["referencePeriodEnd"])?;
    if start >= end {
        return Err(err(
            "pcf.referencePeriodEnd",
            "must be after pcf.referencePeriodStart (the start is inclusive, the end exclusive)",
        ));
    }
    for k in ["ipccCharacterizationFactors", "crossSectoralStandards"] {
        let ok = pcf[k]
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x.as_str().is_some_and(|s| !s.is_empty())));
        if !ok {
            return Err(err(format!("pcf.{k}"), "must be a non-empty array of strings"));
        }
    }
    for (i, x) in pcf["ipccCharacterizationFactors"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let s = x.as_str().unwrap_or("");
        if !(s.len() > 2 && s.starts_with("AR") && s[2..].bytes().all(|b| b.is_ascii_digit())) {
            return Err(err(
                format!("pcf.ipccCharacterizationFactors[{i}]"),
                format!("{s:?} is not an IPCC assessment report such as \"AR6\""),
            ));
        }
    }
    for k in ["packagingEmissionsIncluded", "ccsTechnologicalCO2CaptureIncluded"] {
        if let Some(v) = pcf.get(k)
            && !v.is_boolean()
        {
            return Err(err(format!("pcf.{k}"), "must be true or false"));
        }
    }
    if pcf.get("packagingEmissionsIncluded") == Some(&Value::Bool(false)) && pcf.contains_key("packagingGhgEmissions") {
        return Err(err(
            "pcf.packagingGhgEmissions",
            "must be left out when packagingEmissionsIncluded is false",
        ));
    }
    if pcf.get("ccsTechnologicalCO2CaptureIncluded") == Some(&Value::Bool(false)) {
        for k in [
            "ccsTechnologicalCO2Capture",
            "technologicalCO2Removals",
            "technologicalCO2CaptureOrigin",
        ] {
            if pcf.contains_key(k) {
                return Err(err(
                    format!("pcf.{k}"),
                    "must be left out when ccsTechnologicalCO2CaptureIncluded is false",
                ));
            }
        }
    }
    if let Some(d) = pcf.get("dqi") {
        let o = d.as_object().ok_or_else(|| err("pcf.dqi", "must be an object"))?;
        for k in ["technologicalDQR", "geographicalDQR", "temporalDQR"] {
            if !o.contains_key(k) {
                return Err(err(format!("pcf.dqi.{k}"), "required when dqi is given"));
            }
        }
    }
    if let Some(e) = top.get("extensions") {
        let a = e
            .as_array()
            .ok_or_else(|| err("extensions", "must be an array of DataModelExtension objects"))?;
        for (i, x) in a.iter().enumerate() {
            let ok = x.get("specVersion").is_some_and(Value::is_string) && x.get("data").is_some_and(Value::is_object);
            if !ok {
                return Err(err(
                    format!("extensions[{i}]"),
                    "a DataModelExtension needs specVersion (string), dataSchema (URI) and data (object)",
                ));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Export

/// The PACT footprint id of an entry: the first 16 bytes of
/// `blake3::derive_key("greenledger pact footprint id v1", entry id bytes)`, with the RFC 9562
/// version 8 (custom) and variant bits set, written as a lowercase UUID.
pub fn footprint_id(entry: &EntryId) -> String {
    let h = hex::encode(footprint_uuid(entry));
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The 16 bytes of [`footprint_id`].
pub fn footprint_uuid(entry: &EntryId) -> [u8; 16] {
    // `blake3::derive_key(ID_CONTEXT, id)`, with the context's key derived once per process
    // (a node computes this for every attestation it stores).
    static KEYED: std::sync::LazyLock<blake3::Hasher> =
        std::sync::LazyLock::new(|| blake3::Hasher::new_derive_key(ID_CONTEXT));
    let mut b: [u8; 32] = *KEYED.clone().update(&entry.0).finalize().as_bytes();
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = [0u8; 16];
    out.copy_from_slice(&b[..16]);
    out
}

/// What [`export`] needs besides the entry.
#[derive(Clone, Debug, Default)]
pub struct ExportContext {
    /// The signer's organisation (from its `member.admit`), for `companyName`.
    pub company_name: Option<String>,
    /// Whether a later attestation of the same signer supersedes this one (`status: Deprecated`).
    pub superseded: bool,
}

fn imported(att: &Attestation) -> Option<&Map<String, Value>> {
    att.extensions.as_ref()?.get(EXT_KEY)?.as_object()
}

fn share_percent(s: Share) -> String {
    s.percent_string()
}

/// The PACT fields that follow from the attestation's own fields, figures per `amount` units.
fn mapped_fields(att: &Attestation, amount: Dec) -> Map<String, Value> {
    let mut top = Map::new();
    top.insert("productIds".into(), json!([att.part]));
    if let Some(n) = &att.product_name_company {
        top.insert("productNameCompany".into(), json!(n));
    }
    if let Some(d) = &att.product_description {
        top.insert("productDescription".into(), json!(d));
    }
    if let Some(c) = &att.comment {
        top.insert("comment".into(), json!(c));
    }
    let mut pcf = Map::new();
    pcf.insert(
        "declaredUnitOfMeasurement".into(),
        json!(att.declared_unit_of_measurement.as_str()),
    );
    pcf.insert("declaredUnitAmount".into(), json!(format_dec(amount)));
    for c in &COMPONENTS {
        if let Some(v) = (c.get)(&att.total) {
            pcf.insert(c.name.into(), json!(scaled_kg(v, amount)));
        }
    }
    for (k, v) in [
        ("referencePeriodStart", &att.reference_period_start),
        ("referencePeriodEnd", &att.reference_period_end),
    ] {
        if let Some(v) = v {
            pcf.insert(k.into(), json!(v));
        }
    }
    // PACT allows one geography field: the most specific one the attestation states.
    let geography = [
        ("geographyCountrySubdivision", &att.geography_country_subdivision),
        ("geographyCountry", &att.geography_country),
        ("geographyRegionOrSubregion", &att.geography_region_or_subregion),
    ];
    if let Some((k, Some(v))) = geography.into_iter().find(|(_, v)| v.is_some()) {
        pcf.insert(k.into(), json!(v));
    }
    if !att.cross_sectoral_standards.is_empty() {
        let standards: Vec<String> = att.cross_sectoral_standards.iter().map(|s| pact_standard(s)).collect();
        pcf.insert("crossSectoralStandards".into(), json!(standards));
    }
    if let Some(s) = att.primary_data_share {
        pcf.insert("primaryDataShare".into(), json!(share_percent(s)));
    }
    if let Some(Dqi {
        technological_dqr: Some(t),
        temporal_dqr: Some(te),
        geographical_dqr: Some(g),
        ..
    }) = &att.dqi
    {
        let r = |x: u16| format_scaled(x as i128, 2);
        pcf.insert(
            "dqi".into(),
            json!({"technologicalDQR": r(*t), "temporalDQR": r(*te), "geographicalDQR": r(*g)}),
        );
    }
    top.insert("pcf".into(), Value::Object(pcf));
    top
}

/// A standard's name in PACT's spelling where it is one of PACT's (`ISO 14067` → `ISO14067`,
/// `GHG Protocol Product standard` → `GHGP-Product`); other names as they are.
pub(crate) fn pact_standard(s: &str) -> String {
    let key: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase();
    let known = match key.as_str() {
        "ISO14067" | "ISOSTANDARD14067" => "ISO14067",
        "ISO14083" => "ISO14083",
        "ISO1404044" | "ISO14040" | "ISO14044" | "ISOSTANDARD14044" => "ISO14040-44",
        "GHGPPRODUCT" | "GHGPROTOCOLPRODUCT" | "GHGPROTOCOLPRODUCTSTANDARD" => "GHGP-Product",
        "PEF" => "PEF",
        "PACT10" => "PACT-1.0",
        "PACT20" => "PACT-2.0",
        "PACT30" => "PACT-3.0",
        _ => return s.to_string(),
    };
    known.to_string()
}

fn minus_a_year(t: &str) -> String {
    match humantime::parse_rfc3339_weak(t) {
        Ok(s) => {
            let start = s
                .checked_sub(std::time::Duration::from_secs(365 * 86_400))
                .unwrap_or(std::time::UNIX_EPOCH);
            humantime::format_rfc3339_seconds(start).to_string()
        }
        Err(_) => t.to_string(),
    }
}

/// The attestation entry as a PACT v3 ProductFootprint (see `docs/PACT.md` for every field).
/// A batch that claims green electricity carries its renewable share and its claims in the
/// greenledger extension's `electricity`; [`export_with`] adds the certificates behind them.
pub fn export(se: &SignedEntry, ctx: &ExportContext) -> Result<Value, PactError> {
    export_with(se, ctx, None)
}

/// [`export`], with the electricity facts of the attestation as a ledger view gives them
/// ([`greenledger_core::custody_facts::electricity`]): the extension's `electricity` then
/// names the retirement and the certificates behind each claim and the hourly-matched share.
/// The facts are used only if they are the attestation's (the same claims, in order).
pub fn export_with(se: &SignedEntry, ctx: &ExportContext, facts: Option<&Electricity>) -> Result<Value, PactError> {
    let e = se.decode().map_err(|e| err("(entry)", e.to_string()))?;
    let att = e.attestation().ok_or_else(|| {
        err(
            "(entry)",
            format!("entry {} is a {}, not an attestation", se.id(), e.payload.body.kind()),
        )
    })?;
    let id = se.id();
    let pact = imported(att);
    let amount = pact
        .and_then(|p| p.get("declaredUnitAmount"))
        .and_then(Value::as_str)
        .and_then(|s| Dec::parse("", s).ok())
        .filter(|d| d.cmp_zero() == std::cmp::Ordering::Greater)
        .unwrap_or(Dec { m: 1, scale: 0 });
    let mut top = mapped_fields(att, amount);
    if let Some(p) = pact {
        if let Some(Value::Object(kept)) = p.get("kept") {
            for (k, v) in kept {
                if k == "pcf" {
                    if let (Some(Value::Object(kp)), Some(Value::Object(pcf))) = (Some(v), top.get_mut("pcf")) {
                        for (pk, pv) in kp {
                            pcf.insert(pk.clone(), unstore(pv));
                        }
                    }
                } else {
                    top.insert(k.clone(), unstore(v));
                }
            }
        }
        for a in p.get("absent").and_then(Value::as_array).into_iter().flatten() {
            let Some(a) = a.as_str() else { continue };
            match a.strip_prefix("pcf.") {
                Some(pk) => {
                    if let Some(Value::Object(pcf)) = top.get_mut("pcf") {
                        pcf.remove(pk);
                    }
                }
                None => {
                    top.remove(a);
                }
            }
        }
    }
    // Lifecycle: this entry's.
    top.insert("id".into(), json!(footprint_id(&id)));
    top.insert("specVersion".into(), json!(SPEC_VERSION));
    top.insert("created".into(), json!(e.payload.timestamp));
    top.insert(
        "status".into(),
        json!(if ctx.superseded { "Deprecated" } else { "Active" }),
    );
    if let Some(s) = &att.supersedes {
        top.insert("precedingPfIds".into(), json!([footprint_id(s)]));
    }
    // Required fields the attestation does not state.
    let signer = e.payload.signer;
    let company = ctx
        .company_name
        .clone()
        .unwrap_or_else(|| format!("greenledger signer {}", signer.to_hex()));
    top.entry("companyName").or_insert(json!(company));
    top.entry("companyIds")
        .or_insert(json!([format!("urn:greenledger:signer:{}", signer.to_hex())]));
    top.entry("productDescription").or_insert(json!(""));
    top.entry("productNameCompany").or_insert(json!(att.part));
    let total = &att.total;
    // Fields PACT requires that the footprint does not state: filled with documented defaults
    // (or derived), and named in the extension's `defaulted`.
    let mut defaulted: Vec<String> = Vec::new();
    if let Some(Value::Object(pcf)) = top.get_mut("pcf") {
        let mut fill = |pcf: &mut Map<String, Value>, k: &str, v: Value| {
            if !pcf.contains_key(k) {
                pcf.insert(k.into(), v);
                defaulted.push(format!("pcf.{k}"));
            }
        };
        let unit = att.declared_unit_of_measurement;
        let mass = match unit {
            Unit::Kilogram => format_dec(amount),
            _ => "0".into(),
        };
        fill(pcf, "productMassPerDeclaredUnit", json!(mass));
        let end = att
            .reference_period_end
            .clone()
            .unwrap_or_else(|| e.payload.timestamp.clone());
        let start = att.reference_period_start.clone().unwrap_or_else(|| minus_a_year(&end));
        fill(pcf, "referencePeriodStart", json!(start));
        fill(pcf, "referencePeriodEnd", json!(end));
        let incl = total.pcf_including_biogenic_uptake.unwrap_or(Mass(
            total.pcf_excluding_biogenic_uptake.0 + total.biogenic_co2_uptake.map(|m| m.0).unwrap_or(0),
        ));
        fill(pcf, "pcfIncludingBiogenicUptake", json!(scaled_kg(incl, amount)));
        let fossil = total.fossil_ghg_emissions.unwrap_or(Mass(
            total.pcf_excluding_biogenic_uptake.0
                - total.biogenic_non_co2_emissions.map(|m| m.0).unwrap_or(0)
                - total.land_use_change_ghg_emissions.map(|m| m.0).unwrap_or(0),
        ));
        fill(
            pcf,
            "fossilGhgEmissions",
            json!(scaled_kg(Mass(fossil.0.max(0)), amount)),
        );
        fill(pcf, "fossilCarbonContent", json!("0"));
        fill(pcf, "ipccCharacterizationFactors", json!(["AR6"]));
        fill(pcf, "crossSectoralStandards", json!(["ISO14067"]));
        fill(pcf, "exemptedEmissionsPercent", json!("0"));
        if pact.is_none() {
            // Whether packaging emissions are stated is a fact of the attestation, not a default.
            pcf.entry("packagingEmissionsIncluded")
                .or_insert(json!(total.packaging_ghg_emissions.is_some()));
            fill(pcf, "ccsTechnologicalCO2CaptureIncluded", json!(false));
        }
    }
    // greenledger's extension.
    let inputs: Vec<Value> = att
        .inputs
        .iter()
        .map(|i| {
            let mut v = json!({
                "entry": i.entry.to_hex(),
                "pfId": footprint_id(&i.entry),
                "quantity": i.quantity.decimal_string(),
            });
            if let Some(lot) = i.lot {
                v["lot"] = json!(lot.to_string());
            }
            v
        })
        .collect();
    let mut data = json!({
        "entry": id.to_hex(),
        "network": e.payload.network.to_hex(),
        "signer": signer.to_hex(),
        "seq": e.payload.seq,
        "signature": se.signature().to_hex(),
        "part": att.part,
        "declaredUnitOfMeasurement": att.declared_unit_of_measurement.as_str(),
        "inputs": inputs,
    });
    if let Some(s) = &att.supersedes {
        data["supersedes"] = json!(s.to_hex());
    }
    if let Some(el) = electricity(att, facts) {
        data["electricity"] = el;
    }
    if let Some(src) = pact.and_then(|p| p.get("source")) {
        data["importedFrom"] = unstore(src);
    }
    if !defaulted.is_empty() {
        data["defaulted"] = json!(defaulted);
    }
    let ext = json!({
        "specVersion": EXTENSION_VERSION,
        "dataSchema": EXTENSION_SCHEMA,
        "documentation": EXTENSION_DOCS,
        "data": data,
    });
    match top.get_mut("extensions") {
        Some(Value::Array(a)) => a.push(ext),
        _ => {
            top.insert("extensions".into(), json!([ext]));
        }
    }
    Ok(Value::Object(top))
}

/// The extension's `electricity` for a batch that claims green electricity: its electricity,
/// the Wh claimed and the renewable share; with `facts` (when they are this attestation's), the
/// hourly-matched share and, per claim, the retirement and the certificates behind it.
/// Wh are integer strings, shares percent decimal strings (as PACT writes percentages).
fn electricity(att: &Attestation, facts: Option<&Electricity>) -> Option<Value> {
    if att.electricity_claims.is_empty() {
        return None;
    }
    let facts = facts.filter(|f| {
        f.claims.len() == att.electricity_claims.len()
            && f.claims
                .iter()
                .zip(&att.electricity_claims)
                .all(|(f, c)| f.lot == c.lot && f.wh == c.wh)
    });
    let wh = att.electricity_wh();
    let claimed = att
        .electricity_claims
        .iter()
        .fold(0i64, |s, c| s.saturating_add(c.wh.0));
    let mut out = json!({ "claimedWh": claimed.to_string() });
    if let Some(wh) = wh {
        out["wh"] = json!(wh.to_string());
    }
    if let Some(s) = share_of(claimed, wh.unwrap_or(0)) {
        out["renewableShare"] = json!(share_percent(s));
    }
    match facts {
        Some(f) => {
            out["hourlyMatchedWh"] = json!(f.hourly_matched_wh.0.to_string());
            if let Some(s) = f.hourly_matched_share {
                out["hourlyMatchedShare"] = json!(share_percent(s));
            }
            out["claims"] = Value::Array(f.claims.iter().map(claim_value).collect());
        }
        None => {
            let claims = att
                .electricity_claims
                .iter()
                .map(|c| json!({"lot": c.lot.to_string(), "wh": c.wh.0.to_string()}))
                .collect();
            out["claims"] = Value::Array(claims);
        }
    }
    Some(out)
}

fn claim_value(c: &ClaimFacts) -> Value {
    let mut v = json!({
        "lot": c.lot.to_string(),
        "wh": c.wh.0.to_string(),
        "hourlyMatchedWh": c.hourly_matched_wh.0.to_string(),
        "certificates": c.certificates.iter().map(certificate_value).collect::<Vec<_>>(),
    });
    if let Some(r) = &c.retirement {
        v["retirement"] = json!(r.entry.to_hex());
        v["beneficiary"] = json!(r.beneficiary);
        v["consumptionStart"] = json!(r.consumption_start);
        v["consumptionEnd"] = json!(r.consumption_end);
        v["region"] = json!(r.region);
    }
    v
}

fn certificate_value(c: &CertificateFacts) -> Value {
    let mut v = json!({
        "issue": c.issue.to_hex(),
        "issuer": c.issuer.to_hex(),
        "scheme": c.scheme,
        "serial": c.serial,
        "device": c.device,
        "technology": c.technology,
        "region": c.region,
        "productionStart": c.production_start,
        "productionEnd": c.production_end,
        "wh": c.wh.0.to_string(),
        "retiredWh": c.retired_wh.0.to_string(),
        "claimedWh": c.claimed_wh.0.to_string(),
        "hourly": c.hourly,
        "hourlyMatched": c.hourly_matched,
    });
    if let Some(n) = &c.issuer_name {
        v["issuerName"] = json!(n);
    }
    if let Some(o) = c.double_issuance {
        v["doubleIssuance"] = json!(o.to_hex());
    }
    v
}

/// The PACT fields of an exported footprint that describe the footprint itself (everything but
/// the lifecycle fields and greenledger's extension): what an import-then-export round trip
/// preserves.
pub fn comparable(v: &Value) -> Value {
    let mut m = v.as_object().cloned().unwrap_or_default();
    for k in LIFECYCLE {
        m.remove(k);
    }
    if let Some(Value::Array(a)) = m.get_mut("extensions") {
        a.retain(|x| x.get("dataSchema").and_then(Value::as_str) != Some(EXTENSION_SCHEMA));
        if a.is_empty() {
            m.remove("extensions");
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenledger_core::{id::NetworkId, model::Input};
    use greenledger_testkit::{Chain, key};

    const STEEL: &str = include_str!("../tests/data/pact/v3-steel.json");
    const CEMENT_V2: &str = include_str!("../tests/data/pact/v2-cement.json");
    const CELL: &str = include_str!("../tests/data/pact/v3-minimal-piece.json");

    fn sign(att: Attestation, seq: u64, prev: Option<EntryId>) -> SignedEntry {
        let chain = Chain::in_network(key(0x22), NetworkId([7; 32])).with_timestamp("2026-04-01T10:00:00Z");
        chain.sign_at(seq, prev, att).into_entry().signed
    }

    fn edit(text: &str, f: impl FnOnce(&mut Map<String, Value>)) -> Result<Footprint, PactError> {
        let mut v: Value = serde_json::from_str(text).unwrap();
        f(v.as_object_mut().unwrap());
        Footprint::from_value(v)
    }

    fn edit_pcf(text: &str, f: impl FnOnce(&mut Map<String, Value>)) -> Result<Footprint, PactError> {
        edit(text, |t| f(t.get_mut("pcf").unwrap().as_object_mut().unwrap()))
    }

    fn field_of(r: Result<Footprint, PactError>) -> String {
        r.expect_err("should be refused").field
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(Dec::parse("x", "12.50").unwrap(), Dec { m: 125, scale: 1 });
        assert_eq!(Dec::parse("x", "-0.001").unwrap(), Dec { m: -1, scale: 3 });
        assert_eq!(Dec::parse("x", "+3").unwrap(), Dec { m: 3, scale: 0 });
        for bad in ["", ".5", "5.", "1e3", "1,5", "--1", "0x1", " 1", "NaN"] {
            assert!(Dec::parse("x", bad).is_err(), "{bad:?}");
        }
        let d = |s| Dec::parse("x", s).unwrap();
        assert_eq!(
            per_unit_mg("x", d("1850.5"), d("1000")).unwrap(),
            (Mass(1_850_500), true)
        );
        assert_eq!(per_unit_mg("x", d("1"), d("3")).unwrap(), (Mass(333_333), false));
        assert_eq!(per_unit_mg("x", d("2"), d("3")).unwrap(), (Mass(666_667), false));
        assert_eq!(per_unit_mg("x", d("-2"), d("3")).unwrap(), (Mass(-666_667), false));
        assert_eq!(per_unit_mg("x", d("2"), d("12.5")).unwrap(), (Mass(160_000), true));
        assert_eq!(scaled_kg(Mass(160_000), d("12.5")), "2");
        assert_eq!(scaled_kg(Mass(1_850_500), d("1000")), "1850.5");
        let n = |s: &str| serde_json::from_str::<serde_json::Number>(s).unwrap();
        assert_eq!(number_to_decimal(&n("1.5")), "1.5");
        assert_eq!(number_to_decimal(&n("45")), "45");
        assert_eq!(number_to_decimal(&n("1e-7")), "0.0000001");
        assert_eq!(number_to_decimal(&n("1.25e3")), "1250");
    }

    #[test]
    fn imports_a_v3_footprint() {
        let f = Footprint::parse(STEEL.as_bytes()).unwrap();
        let att = f.to_attestation(None, &[]).unwrap();
        assert_eq!(att.part, "urn:greenledger:nordstahl:coil-s355");
        assert_eq!(att.declared_unit_of_measurement, Unit::Kilogram);
        // 1850.5 kg per 1000 kg = 1.8505 kg per kg.
        assert_eq!(att.total.pcf_excluding_biogenic_uptake, Mass(1_850_500));
        assert_eq!(att.total.biogenic_co2_uptake, Some(Mass(-1_250)));
        assert_eq!(att.own, att.total);
        assert_eq!(att.geography_country.as_deref(), Some("DE"));
        assert_eq!(att.primary_data_share, Some(Share(6250)));
        att.check().unwrap();
        let pact = &att.extensions.as_ref().unwrap()["pact"];
        assert_eq!(pact["declaredUnitAmount"], "1000");
        assert_eq!(pact["source"]["id"], "3b2f6c1e-7a40-4d1b-9e55-0c8a1f2d3e4b");
        assert_eq!(pact["kept"]["companyName"], "Nordstahl Werke GmbH");
        assert_eq!(pact["kept"]["x-erpReference"], "ORD-2026-0019");
        // "3.0" does not come back from mg as "3.0": the text is kept.
        assert_eq!(pact["kept"]["pcf"]["packagingGhgEmissions"], "3.0");
        assert!(pact["kept"]["pcf"].get("pcfExcludingBiogenicUptake").is_none());
        // The extension's float and null are kept as JSON text.
        let ext = &pact["kept"]["extensions"][0]["data"];
        assert_eq!(ext["co2Factor"], json!({"$json": "0.125"}));
        assert_eq!(ext["note"], json!({"$json": "null"}));
        // The whole attestation is a valid payload.
        let se = sign(att, 1, None);
        se.verify().unwrap();
    }

    #[test]
    fn round_trip_gives_the_same_pact_fields() {
        for text in [STEEL, CELL, CEMENT_V2] {
            let f = Footprint::parse(text.as_bytes()).unwrap();
            let att = f.to_attestation(None, &[]).unwrap();
            let se = sign(att, 1, None);
            let out = export(&se, &ExportContext::default()).unwrap();
            assert_eq!(comparable(&out), comparable(&Value::Object(f.v3.clone())), "{text}");
            // The export itself imports again (it is a valid v3 footprint) and gives the same
            // attestation figures.
            let again = Footprint::from_value(out.clone()).unwrap();
            assert_eq!(again.emissions().unwrap(), f.emissions().unwrap());
            // Exported again after a second import: one greenledger element, the new entry's;
            // the earlier one is kept as the source's.
            let att2 = again.to_attestation(None, &[]).unwrap();
            let src = &att2.extensions.as_ref().unwrap()["pact"]["source"];
            assert_eq!(src["greenledgerExtensions"][0]["data"]["entry"], se.id().to_hex());
            let se2 = sign(att2, 2, Some(se.id()));
            let out2 = export(&se2, &ExportContext::default()).unwrap();
            let ours: Vec<&Value> = out2["extensions"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|x| x["dataSchema"] == EXTENSION_SCHEMA)
                .collect();
            assert_eq!(ours.len(), 1);
            assert_eq!(ours[0]["data"]["entry"], se2.id().to_hex());
            assert_eq!(comparable(&out2), comparable(&out));
        }
    }

    #[test]
    fn inexact_division_keeps_the_original() {
        let f = Footprint::parse(CELL.as_bytes()).unwrap();
        let att = f.to_attestation(None, &[]).unwrap();
        // 1 kg per 3 pieces: 0.333333 kg per piece, rounded to the mg.
        assert_eq!(att.total.pcf_excluding_biogenic_uptake, Mass(333_333));
        let kept = &att.extensions.as_ref().unwrap()["pact"]["kept"]["pcf"];
        assert_eq!(kept["pcfExcludingBiogenicUptake"], "1");
        let out = export(&sign(att, 1, None), &ExportContext::default()).unwrap();
        assert_eq!(out["pcf"]["pcfExcludingBiogenicUptake"], "1");
        assert_eq!(out["pcf"]["declaredUnitAmount"], "3");
    }

    #[test]
    fn normalises_v2() {
        let f = Footprint::parse(CEMENT_V2.as_bytes()).unwrap();
        assert_eq!(f.source_version, "2.2.0");
        assert_eq!(f.warnings().len(), 1, "{:?}", f.warnings());
        assert!(f.warnings()[0].contains("pcf.ccsTechnologicalCO2CaptureIncluded"));
        assert!(Footprint::parse(STEEL.as_bytes()).unwrap().warnings().is_empty());
        let pcf = f.v3["pcf"].as_object().unwrap();
        assert_eq!(f.v3["specVersion"], SPEC_VERSION);
        assert_eq!(pcf["declaredUnitOfMeasurement"], "kilogram");
        // v2 figures are per ONE declared unit: the amount is 1, the figures unchanged.
        assert_eq!(pcf["declaredUnitAmount"], "1");
        assert_eq!(pcf["pcfExcludingBiogenicUptake"], "0.83");
        assert_eq!(pcf["biogenicCO2Uptake"], "-0.01");
        assert_eq!(pcf["landUseChangeGhgEmissions"], "0.02");
        assert_eq!(pcf["ipccCharacterizationFactors"], json!(["AR5"]));
        assert_eq!(pcf["crossSectoralStandards"], json!(["GHGP-Product", "ISO14067"]));
        assert_eq!(pcf["exemptedEmissionsPercent"], "1.5");
        assert_eq!(pcf["primaryDataShare"], "45");
        assert_eq!(
            pcf["dqi"],
            json!({"technologicalDQR": "1.5", "temporalDQR": "2", "geographicalDQR": "1"})
        );
        assert_eq!(
            pcf["verification"],
            json!({"coverage": "PCF calculation model", "providerName": "Audit GmbH"})
        );
        assert!(pcf.get("declaredUnit").is_none() && pcf.get("pCfExcludingBiogenic").is_none());
        assert_eq!(
            f.v3["productClassifications"],
            json!(["urn:pact:productclassification:un-cpc:3744"])
        );
        // What v3 has no place for is kept.
        assert_eq!(f.v2_only["pcf"]["unitaryProductAmount"], "25");
        assert_eq!(f.v2_only["pcf"]["landManagementGhgEmissions"], "0.003");
        assert_eq!(f.v2_only["pcf"]["dqi"]["coveragePercent"], 90);
        let att = f.to_attestation(None, &[]).unwrap();
        assert_eq!(att.total.pcf_excluding_biogenic_uptake, Mass(830_000));
        let pact = &att.extensions.as_ref().unwrap()["pact"];
        assert_eq!(pact["source"]["specVersion"], "2.2.0");
        assert_eq!(pact["source"]["version"], 2);
        assert_eq!(pact["v2"]["pcf"]["dqi"]["reliabilityDQR"], json!({"$json": "1.2"}));
        sign(att, 1, None).verify().unwrap();
    }

    #[test]
    fn v2_without_including_figure_is_derived_or_refused() {
        let f = edit_pcf(CEMENT_V2, |p| {
            p.remove("pCfIncludingBiogenic");
        })
        .unwrap();
        assert_eq!(f.v3["pcf"]["pcfIncludingBiogenicUptake"], "0.82");
        let r = edit_pcf(CEMENT_V2, |p| {
            p.remove("pCfIncludingBiogenic");
            p.remove("biogenicCarbonWithdrawal");
        });
        assert_eq!(field_of(r), "pcf.pCfIncludingBiogenic");
        let r = edit_pcf(CEMENT_V2, |p| {
            p.insert("declaredUnit".into(), json!("liter"));
            p.remove("productMassPerDeclaredUnit");
        });
        assert_eq!(field_of(r), "pcf.productMassPerDeclaredUnit");
    }

    #[test]
    fn required_fields() {
        for k in REQUIRED_TOP {
            assert_eq!(
                field_of(edit(STEEL, |t| {
                    t.remove(k);
                })),
                k
            );
            // null is undefined
            assert_eq!(
                field_of(edit(STEEL, |t| {
                    t.insert(k.into(), Value::Null);
                })),
                k
            );
        }
        for k in REQUIRED_PCF {
            assert_eq!(
                field_of(edit_pcf(STEEL, |p| {
                    p.remove(k);
                })),
                format!("pcf.{k}")
            );
        }
    }

    #[test]
    fn inclusive_is_exclusive_plus_uptake() {
        let e = edit_pcf(STEEL, |p| {
            p.insert("pcfIncludingBiogenicUptake".into(), json!("1849.24"));
        })
        .unwrap_err();
        assert_eq!(e.field, "pcf.pcfIncludingBiogenicUptake");
        assert!(e.why.contains("1849.25"), "{}", e.why);
        // Without an uptake, inclusive = exclusive.
        let e = edit_pcf(STEEL, |p| {
            p.remove("biogenicCO2Uptake");
        });
        assert_eq!(field_of(e), "pcf.pcfIncludingBiogenicUptake");
        // Equal values in other notation pass.
        edit_pcf(STEEL, |p| {
            p.insert("pcfIncludingBiogenicUptake".into(), json!("1849.2500"));
        })
        .unwrap();
    }

    #[test]
    fn signs() {
        for (k, v) in [
            ("fossilGhgEmissions", "-1"),
            ("biogenicCO2Uptake", "0.5"),
            ("landUseChangeGhgEmissions", "-0.1"),
            ("fossilCarbonContent", "-2"),
            ("declaredUnitAmount", "0"),
            ("primaryDataShare", "100.5"),
        ] {
            let e = edit_pcf(STEEL, |p| {
                p.insert(k.into(), json!(v));
            });
            assert_eq!(field_of(e), format!("pcf.{k}"), "{k}={v}");
        }
        let e = edit_pcf(STEEL, |p| {
            p.insert(
                "dqi".into(),
                json!({"technologicalDQR": "6", "geographicalDQR": "1", "temporalDQR": "1"}),
            );
        });
        assert_eq!(field_of(e), "pcf.dqi.technologicalDQR");
        // A negative headline figure is valid PACT but not a greenledger attestation.
        let e = edit_pcf(STEEL, |p| {
            p.insert("pcfExcludingBiogenicUptake".into(), json!("-1"));
            p.insert("pcfIncludingBiogenicUptake".into(), json!("-2.25"));
        });
        assert_eq!(field_of(e), "pcf.pcfExcludingBiogenicUptake");
    }

    #[test]
    fn at_most_one_geography() {
        let e = edit_pcf(STEEL, |p| {
            p.insert("geographyRegionOrSubregion".into(), json!("Western Europe"));
        })
        .unwrap_err();
        assert!(e.why.contains("at most one geography"), "{e}");
        let e = edit_pcf(STEEL, |p| {
            p.insert("geographyCountry".into(), json!("Germany"));
        });
        assert_eq!(field_of(e), "pcf.geographyCountry");
        let e = edit_pcf(STEEL, |p| {
            p.remove("geographyCountry");
            p.insert("geographyCountrySubdivision".into(), json!("DE_BY"));
        });
        assert_eq!(field_of(e), "pcf.geographyCountrySubdivision");
    }

    #[test]
    fn reference_period_and_times() {
        let e = edit_pcf(STEEL, |p| {
            p.insert("referencePeriodEnd".into(), json!("2025-01-01T00:00:00Z"));
        });
        assert_eq!(field_of(e), "pcf.referencePeriodEnd");
        let e = edit_pcf(STEEL, |p| {
            p.insert("referencePeriodStart".into(), json!("last year"));
        });
        assert_eq!(field_of(e), "pcf.referencePeriodStart");
        let e = edit(STEEL, |t| {
            t.insert("created".into(), json!("yesterday"));
        });
        assert_eq!(field_of(e), "created");
    }

    #[test]
    fn decimal_syntax_and_types() {
        for v in [json!("1.2e3"), json!("1,5"), json!(12.5), json!("")] {
            let e = edit_pcf(STEEL, |p| {
                p.insert("fossilGhgEmissions".into(), v.clone());
            });
            assert_eq!(field_of(e), "pcf.fossilGhgEmissions", "{v}");
        }
        let e = edit(STEEL, |t| {
            t.insert("id".into(), json!("not-a-uuid"));
        });
        assert_eq!(field_of(e), "id");
        let e = edit(STEEL, |t| {
            t.insert("productIds".into(), json!(["GTIN-123"]));
        });
        assert_eq!(field_of(e), "productIds[0]");
        let e = edit(STEEL, |t| {
            t.insert("specVersion".into(), json!("1.0.0"));
        });
        assert_eq!(field_of(e), "specVersion");
        let e = edit(STEEL, |t| {
            t.insert("status".into(), json!("Retired"));
        });
        assert_eq!(field_of(e), "status");
    }

    #[test]
    fn conditional_fields() {
        let e = edit_pcf(STEEL, |p| {
            p.insert("packagingEmissionsIncluded".into(), json!(false));
        });
        assert_eq!(field_of(e), "pcf.packagingGhgEmissions");
        let e = edit_pcf(STEEL, |p| {
            p.insert("technologicalCO2Removals".into(), json!("-1"));
        });
        assert_eq!(field_of(e), "pcf.technologicalCO2Removals");
    }

    #[test]
    fn unsupported_unit_is_named() {
        let f = edit_pcf(STEEL, |p| {
            p.insert("declaredUnitOfMeasurement".into(), json!("hour"));
            p.insert("productMassPerDeclaredUnit".into(), json!("0"));
        })
        .unwrap();
        assert_eq!(
            f.to_attestation(None, &[]).unwrap_err().field,
            "pcf.declaredUnitOfMeasurement"
        );
    }

    #[test]
    fn draft_aliases_are_accepted() {
        let f = edit_pcf(CELL, |p| {
            let v = p.remove("pcfExcludingBiogenicUptake").unwrap();
            p.insert("pcfExcludingBiogenicCO2Withdrawal".into(), v);
        })
        .unwrap();
        assert_eq!(f.v3["pcf"]["pcfExcludingBiogenicUptake"], "1");
    }

    #[test]
    fn with_inputs_own_is_the_rest_and_the_total_is_the_footprint() {
        let f = Footprint::parse(STEEL.as_bytes()).unwrap();
        let ore = Emissions {
            fossil_ghg_emissions: Some(Mass(50_000)),
            ..Emissions::headline(Mass(50_000))
        };
        let input = Input {
            entry: EntryId([9; 32]),
            quantity: Quantity(1_600_000),
            lot: None,
        };
        let att = f.to_attestation(None, &[(input.clone(), &ore)]).unwrap();
        // 1.8505 − 1.6 × 0.05 = 1.7705
        assert_eq!(att.own.pcf_excluding_biogenic_uptake, Mass(1_770_500));
        assert_eq!(att.own.fossil_ghg_emissions, Some(Mass(1_840_000 - 80_000)));
        assert_eq!(att.total.pcf_excluding_biogenic_uptake, Mass(1_850_500));
        // The input does not declare land-use change: the total cannot carry it, and the
        // footprint's figure is kept for export.
        assert_eq!(att.total.land_use_change_ghg_emissions, None);
        assert_eq!(
            att.extensions.as_ref().unwrap()["pact"]["kept"]["pcf"]["landUseChangeGhgEmissions"],
            "10"
        );
        let se = sign(att, 1, None);
        let out = export(&se, &ExportContext::default()).unwrap();
        assert_eq!(comparable(&out), comparable(&Value::Object(f.v3.clone())));
        let data = &out["extensions"].as_array().unwrap().last().unwrap()["data"];
        assert_eq!(data["inputs"][0]["entry"], EntryId([9; 32]).to_hex());
        assert_eq!(data["inputs"][0]["quantity"], "1.6");
        assert_eq!(data["inputs"][0]["pfId"], footprint_id(&EntryId([9; 32])));
        // Inputs that account for more than the footprint are refused, naming the field.
        let heavy = Input {
            entry: EntryId([9; 32]),
            quantity: Quantity(100_000_000),
            lot: None,
        };
        let e = f.to_attestation(None, &[(heavy, &ore)]).unwrap_err();
        assert_eq!(e.field, "pcf.pcfExcludingBiogenicUptake");
    }

    #[test]
    fn exports_any_attestation() {
        let mut att = Attestation::new(
            "urn:greenledger:example:bar",
            Unit::Piece,
            Emissions::headline(Mass(2_875_000)),
        );
        att.cross_sectoral_standards = vec!["GHG Protocol Product".into(), "in-house rules".into()];
        att.geography_country = Some("DE".into());
        att.geography_country_subdivision = Some("DE-BY".into());
        let first = sign(att.clone(), 1, None);
        att.supersedes = Some(first.id());
        let second = sign(att, 2, Some(first.id()));
        let ctx = ExportContext {
            company_name: Some("Example Smelter".into()),
            superseded: false,
        };
        let out = export(&second, &ctx).unwrap();
        assert_eq!(out["id"], footprint_id(&second.id()));
        assert_eq!(out["precedingPfIds"], json!([footprint_id(&first.id())]));
        assert_eq!(out["status"], "Active");
        assert_eq!(out["specVersion"], SPEC_VERSION);
        assert_eq!(out["created"], "2026-04-01T10:00:00Z");
        assert_eq!(out["companyName"], "Example Smelter");
        assert_eq!(out["productIds"], json!(["urn:greenledger:example:bar"]));
        let pcf = &out["pcf"];
        assert_eq!(pcf["declaredUnitAmount"], "1");
        assert_eq!(pcf["declaredUnitOfMeasurement"], "piece");
        assert_eq!(pcf["pcfExcludingBiogenicUptake"], "2.875");
        assert_eq!(pcf["pcfIncludingBiogenicUptake"], "2.875");
        assert_eq!(pcf["crossSectoralStandards"], json!(["GHGP-Product", "in-house rules"]));
        assert_eq!(pcf["geographyCountrySubdivision"], "DE-BY");
        assert!(pcf.get("geographyCountry").is_none());
        assert_eq!(pcf["referencePeriodEnd"], "2026-04-01T10:00:00Z");
        assert_eq!(pcf["referencePeriodStart"], "2025-04-01T10:00:00Z");
        let ext = &out["extensions"][0];
        assert_eq!(ext["dataSchema"], EXTENSION_SCHEMA);
        assert_eq!(ext["data"]["entry"], second.id().to_hex());
        assert_eq!(ext["data"]["signature"], second.signature().to_hex());
        assert_eq!(ext["data"]["supersedes"], first.id().to_hex());
        // The export is itself a valid v3 footprint.
        Footprint::from_value(out).unwrap();
        let old = export(
            &first,
            &ExportContext {
                superseded: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(old["status"], "Deprecated");
        assert!(old.get("precedingPfIds").is_none());
        Footprint::from_value(old).unwrap();
    }

    #[test]
    fn defaulted_fields_are_named() {
        let mut att = Attestation::new(
            "urn:greenledger:example:bar",
            Unit::Kilogram,
            Emissions::headline(Mass(1_500_000)),
        );
        att.cross_sectoral_standards = vec!["ISO 14067".into()];
        att.reference_period_start = Some("2025-01-01T00:00:00Z".into());
        att.reference_period_end = Some("2026-01-01T00:00:00Z".into());
        let out = export(&sign(att, 1, None), &ExportContext::default()).unwrap();
        assert_eq!(
            out["extensions"][0]["data"]["defaulted"],
            json!([
                "pcf.productMassPerDeclaredUnit",
                "pcf.pcfIncludingBiogenicUptake",
                "pcf.fossilGhgEmissions",
                "pcf.fossilCarbonContent",
                "pcf.ipccCharacterizationFactors",
                "pcf.exemptedEmissionsPercent",
                "pcf.ccsTechnologicalCO2CaptureIncluded",
            ])
        );
        // Without a stated period or standard, those are defaults too.
        let plain = Attestation::new("urn:greenledger:example:bar", Unit::Piece, Emissions::headline(Mass(1)));
        let out = export(&sign(plain, 1, None), &ExportContext::default()).unwrap();
        let d = out["extensions"][0]["data"]["defaulted"].as_array().unwrap().clone();
        for k in [
            "pcf.referencePeriodStart",
            "pcf.referencePeriodEnd",
            "pcf.crossSectoralStandards",
        ] {
            assert!(d.contains(&json!(k)), "{k} in {d:?}");
        }
        // An imported footprint states every required field: nothing is defaulted.
        let f = Footprint::parse(STEEL.as_bytes()).unwrap();
        let out = export(
            &sign(f.to_attestation(None, &[]).unwrap(), 1, None),
            &ExportContext::default(),
        )
        .unwrap();
        let ours = out["extensions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["dataSchema"] == EXTENSION_SCHEMA)
            .unwrap();
        assert!(ours["data"].get("defaulted").is_none());
    }

    #[test]
    fn footprint_ids_are_uuids() {
        let id = footprint_id(&EntryId([1; 32]));
        assert!(is_uuid(&id), "{id}");
        assert_eq!(&id[14..15], "8");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(id, footprint_id(&EntryId([1; 32])));
        assert_ne!(id, footprint_id(&EntryId([2; 32])));
    }

    /// The documented derivation, computed the plain way, for a few ids.
    #[test]
    fn footprint_uuids_are_the_documented_key_derivation() {
        for n in [0u8, 1, 7, 255] {
            let id = EntryId([n; 32]);
            let mut want: [u8; 32] = blake3::derive_key("greenledger pact footprint id v1", &id.0);
            want[6] = (want[6] & 0x0f) | 0x80;
            want[8] = (want[8] & 0x3f) | 0x80;
            assert_eq!(footprint_uuid(&id), want[..16], "id {n}");
        }
    }

    /// A smelter's 10 t batch (1,250 kWh) claiming 800 of the 1,000 kWh it retired from two
    /// hourly certificates, one inside its 06:00–11:00 period; exported with and without the
    /// facts a ledger view gives, then imported again.
    #[test]
    fn a_batch_with_claims_carries_its_renewable_share_and_certificates() {
        use greenledger_core::{Role, SetView, custody_facts};
        use greenledger_testkit::{
            Consortium, attestation,
            custody::{certificate, claim, lot, retirement},
        };
        let mut c = Consortium::new("custody");
        let mut issuer = c.member(10, "Statnett GO", Role::Issuer);
        let mut smelter = c.supplier(11, "Smelter");
        let me = smelter.public();
        let (h10, h11, h12) = ("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z", "2026-03-01T12:00:00Z");
        let a = c.sign(
            &mut issuer,
            certificate("NO-GO-1001", "eecs:W1", (h10, h11), 600_000, &me),
        );
        let b = c.sign(
            &mut issuer,
            certificate("NO-GO-1002", "eecs:W1", (h11, h12), 400_000, &me),
        );
        let day = ("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z");
        let from = [(lot(a.id(), 0), 600_000), (lot(b.id(), 0), 400_000)];
        let r = c.sign(&mut smelter, retirement(&from, "Smelter", day, "NO"));
        let mut al = attestation("urn:greenledger:test:al:1", 8_000_000, &[]);
        al.produced_quantity = Some(Quantity(10_000_000_000));
        al.electricity_kwh = Some(Quantity(125_000));
        al.electricity_claims = vec![claim(lot(r.id(), 0), 800_000)];
        al.geography_country = Some("NO".into());
        al.reference_period_start = Some("2026-03-01T06:00:00Z".into());
        al.reference_period_end = Some(h11.into());
        let batch = c.sign(&mut smelter, al);
        let att = batch.entry().attestation().unwrap();
        let ext = |v: &Value| {
            v["extensions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["dataSchema"] == EXTENSION_SCHEMA)
                .unwrap()["data"]
                .clone()
        };

        // From the entry alone: the share and the claims.
        let plain = export(&batch.entry().signed, &ExportContext::default()).unwrap();
        let el = &ext(&plain)["electricity"];
        assert_eq!(el["wh"], "1250000");
        assert_eq!(el["claimedWh"], "800000");
        assert_eq!(el["renewableShare"], "64");
        assert!(el.get("hourlyMatchedShare").is_none());
        assert_eq!(el["claims"], json!([{"lot": format!("{}:0", r.id()), "wh": "800000"}]));

        // With the ledger's facts: the certificates and the hourly-matched share.
        let view = SetView::new(&c.genesis, &c.set, []);
        let facts = custody_facts::electricity(&view, att).unwrap();
        let out = export_with(&batch.entry().signed, &ExportContext::default(), Some(&facts)).unwrap();
        let el = &ext(&out)["electricity"];
        assert_eq!(el["renewableShare"], "64");
        assert_eq!(el["hourlyMatchedWh"], "480000");
        assert_eq!(el["hourlyMatchedShare"], "38.4");
        let cl = &el["claims"][0];
        assert_eq!(cl["retirement"], r.id().to_hex());
        assert_eq!(cl["beneficiary"], "Smelter");
        assert_eq!(cl["hourlyMatchedWh"], "480000");
        let certs = cl["certificates"].as_array().unwrap();
        assert_eq!(certs.len(), 2);
        assert_eq!(certs[0]["issue"], a.id().to_hex());
        assert_eq!(certs[0]["issuerName"], "Statnett GO");
        assert_eq!(
            (
                &certs[0]["scheme"],
                &certs[0]["serial"],
                &certs[0]["technology"],
                &certs[0]["region"]
            ),
            (
                &json!("EECS-GO"),
                &json!("NO-GO-1001"),
                &json!("wind"),
                &json!("NO-NO1")
            )
        );
        assert_eq!(certs[0]["device"], json!(["eecs:W1"]));
        assert_eq!(
            (&certs[0]["productionStart"], &certs[0]["productionEnd"]),
            (&json!(h10), &json!(h11))
        );
        assert_eq!(
            (&certs[0]["claimedWh"], &certs[0]["hourlyMatched"]),
            (&json!("480000"), &json!(true))
        );
        assert_eq!(
            (&certs[1]["claimedWh"], &certs[1]["hourlyMatched"]),
            (&json!("320000"), &json!(false))
        );
        assert_eq!(
            (&certs[1]["retiredWh"], &certs[1]["wh"]),
            (&json!("400000"), &json!("400000"))
        );
        // Facts of other claims are not this attestation's: left out.
        let mut other = facts.clone();
        other.claims[0].wh.0 += 1;
        let out2 = export_with(&batch.entry().signed, &ExportContext::default(), Some(&other)).unwrap();
        assert_eq!(ext(&out2)["electricity"], ext(&plain)["electricity"]);

        // The export is a valid v3 footprint, and imports again: the extension goes to
        // `source` (it describes the exported entry), the PACT fields round-trip.
        let f = Footprint::from_value(out.clone()).unwrap();
        let back = f.to_attestation(None, &[]).unwrap();
        let src = &back.extensions.as_ref().unwrap()["pact"]["source"]["greenledgerExtensions"][0]["data"];
        assert_eq!(
            src["electricity"]["claims"][0]["certificates"][1]["serial"],
            "NO-GO-1002"
        );
        assert_eq!(src["electricity"]["hourlyMatchedShare"], "38.4");
        let again = export(&sign(back, 1, None), &ExportContext::default()).unwrap();
        assert_eq!(comparable(&again), comparable(&out));
        assert!(ext(&again).get("electricity").is_none());
    }
}
