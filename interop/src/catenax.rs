//! Catena-X PCF (`io.catenax.pcf`, 9.x) import and export, as a mapping to and from the PACT v3
//! form of [`crate::pact`] (see `docs/PACT.md`, section "Catena-X").
//!
//! * [`to_pact`] turns a Catena-X 9.x document (or, tolerantly, the flat 8.0.0 layout) into a
//!   PACT v3 `ProductFootprint`; [`parse`] then reads it with [`pact::Footprint::from_value`],
//!   so every PACT check, the attestation mapping and the losslessness rules are shared. The
//!   Catena-X fields PACT has no place for stay in one PACT `extensions` element
//!   ([`EXTENSION_SCHEMA`]), with their Catena-X group structure.
//! * [`from_pact`] turns a PACT v3 footprint (such as [`pact::export`] writes) into a Catena-X
//!   9.0.0 document, taking the Catena-X-only fields from that element and filling the fields
//!   Catena-X requires with documented defaults (listed in the result).
//!
//! Catena-X numbers are JSON numbers; PACT's are decimal strings. Import writes them in plain
//! decimal notation (no float arithmetic); export parses them back.

use serde_json::{Map, Number, Value, json};

use crate::pact::{self, PactError, err};

/// The Catena-X spec version written on export.
pub const SPEC_VERSION: &str = "urn:io.catenax.pcf:datamodel:version:9.0.0";
/// The version of greenledger's Catena-X extension element.
pub const EXTENSION_VERSION: &str = "1.0.0";
/// The `dataSchema` of the PACT extension element that holds the Catena-X-only fields.
pub const EXTENSION_SCHEMA: &str =
    "https://github.com/greenledger/greenledger/blob/main/docs/catenax-extension-1.0.0.schema.json";

/// How a leaf is converted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum K {
    /// Copied as it is.
    Same,
    /// A JSON number in Catena-X, a decimal string in PACT.
    Num,
}

// Catena-X group paths (each group is an array holding one object).
const PROD: &str = "companyAndProductInformation.productInformation";
const COMPANY: &str = "companyAndProductInformation.companyInformation";
const QUALITY: &str = "pcfAssessmentAndMethodology.dataSourcesAndQuality";

/// The one-to-one leaves: (Catena-X group, Catena-X name, PACT path, conversion).
const MAP: &[(&str, &str, &str, K)] = &[
    (COMPANY, "companyName", "companyName", K::Same),
    (COMPANY, "companyIds", "companyIds", K::Same),
    (PROD, "productNameCompany", "productNameCompany", K::Same),
    (PROD, "productIds", "productIds", K::Same),
    (PROD, "productDescription", "productDescription", K::Same),
    (PROD, "productClassifications", "productClassifications", K::Same),
    (
        PROD,
        "declaredUnitOfMeasurement",
        "pcf.declaredUnitOfMeasurement",
        K::Same,
    ),
    (PROD, "declaredUnitAmount", "pcf.declaredUnitAmount", K::Num),
    (
        PROD,
        "productMassPerDeclaredUnit",
        "pcf.productMassPerDeclaredUnit",
        K::Num,
    ),
    (
        "pcfAssessmentAndMethodology.pcfAssessmentInformation.technology",
        "ccsTechnologicalCO2CaptureIncluded",
        "pcf.ccsTechnologicalCO2CaptureIncluded",
        K::Same,
    ),
    (
        "pcfAssessmentAndMethodology.pcfAssessmentInformation.technology",
        "boundaryProcessesDescription",
        "pcf.boundaryProcessesDescription",
        K::Same,
    ),
    (
        "pcfAssessmentAndMethodology.pcfAssessmentInformation.boundarySpecifications",
        "exemptedEmissionsPercent",
        "pcf.exemptedEmissionsPercent",
        K::Num,
    ),
    (
        "pcfAssessmentAndMethodology.pcfAssessmentInformation.boundarySpecifications",
        "exemptedEmissionsDescription",
        "pcf.exemptedEmissionsDescription",
        K::Same,
    ),
    (
        "pcfAssessmentAndMethodology.pcfAssessmentInformation.time",
        "referencePeriodStart",
        "pcf.referencePeriodStart",
        K::Same,
    ),
    (
        "pcfAssessmentAndMethodology.pcfAssessmentInformation.time",
        "referencePeriodEnd",
        "pcf.referencePeriodEnd",
        K::Same,
    ),
    (
        "pcfAssessmentAndMethodology.pcfAssessmentInformation.time",
        "validityPeriodStart",
        "validityPeriodStart",
        K::Same,
    ),
    (
        "pcfAssessmentAndMethodology.pcfAssessmentInformation.time",
        "validityPeriodEnd",
        "validityPeriodEnd",
        K::Same,
    ),
    (QUALITY, "primaryDataShare", "pcf.primaryDataShare", K::Num),
    (QUALITY, "technologicalDQR", "pcf.dqi.technologicalDQR", K::Num),
    (QUALITY, "temporalDQR", "pcf.dqi.temporalDQR", K::Num),
    (QUALITY, "geographicalDQR", "pcf.dqi.geographicalDQR", K::Num),
    (
        "pcfAssessmentAndMethodology.pcfMethodology.allocationInForeground",
        "allocationRulesDescription",
        "pcf.allocationRulesDescription",
        K::Same,
    ),
    ("general", "comment", "comment", K::Same),
    (
        "carbonContent",
        "fossilCarbonContent",
        "pcf.fossilCarbonContent",
        K::Num,
    ),
    (
        "carbonContent",
        "biogenicCarbonContent",
        "pcf.biogenicCarbonContent",
        K::Num,
    ),
    (
        "carbonContent",
        "recycledCarbonContent",
        "pcf.recycledCarbonContent",
        K::Num,
    ),
    (
        "carbonContent",
        "packagingBiogenicCarbonContent",
        "pcf.packagingBiogenicCarbonContent",
        K::Num,
    ),
    (
        "productLifeCycleStagesAndEmissions.productionStage",
        "pcfExcludingBiogenicUptake",
        "pcf.pcfExcludingBiogenicUptake",
        K::Num,
    ),
    (
        "productLifeCycleStagesAndEmissions.productionStage",
        "pcfIncludingBiogenicUptake",
        "pcf.pcfIncludingBiogenicUptake",
        K::Num,
    ),
    (
        "productLifeCycleStagesAndEmissions.productionStage",
        "fossilGhgEmissions",
        "pcf.fossilGhgEmissions",
        K::Num,
    ),
    (
        "productLifeCycleStagesAndEmissions.productionStage",
        "biogenicNonCO2Emissions",
        "pcf.biogenicNonCO2Emissions",
        K::Num,
    ),
    (
        "productLifeCycleStagesAndEmissions.productionStage",
        "biogenicCO2Uptake",
        "pcf.biogenicCO2Uptake",
        K::Num,
    ),
    (
        "productLifeCycleStagesAndEmissions.productionStage",
        "landUseChangeGhgEmissions",
        "pcf.landUseChangeGhgEmissions",
        K::Num,
    ),
    (
        "productLifeCycleStagesAndEmissions.productionStage",
        "landManagementBiogenicCO2Emissions",
        "pcf.landManagementBiogenicCO2Emissions",
        K::Num,
    ),
    (
        "productLifeCycleStagesAndEmissions.productionStage",
        "landManagementBiogenicCO2Removals",
        "pcf.landManagementBiogenicCO2Removals",
        K::Num,
    ),
    (
        "productLifeCycleStagesAndEmissions.productionStage",
        "aircraftGhgEmissions",
        "pcf.aircraftGhgEmissions",
        K::Num,
    ),
    (
        "productLifeCycleStagesAndEmissions.packagingStage",
        "packagingEmissionsIncluded",
        "pcf.packagingEmissionsIncluded",
        K::Same,
    ),
];

const ID_GROUP: &str = "pcfAssessmentAndMethodology.pcfAssessmentInformation.idAndVersion";
const TIME_GROUP: &str = "pcfAssessmentAndMethodology.pcfAssessmentInformation.time";
const GEO_GROUP: &str = "pcfAssessmentAndMethodology.pcfAssessmentInformation.geography";
const STANDARDS: &str = "pcfAssessmentAndMethodology.pcfMethodology.standards";
const GWP: &str = "pcfAssessmentAndMethodology.pcfMethodology.gwpCharacterizationFactorDetails";
const PACKAGING: &str = "productLifeCycleStagesAndEmissions.packagingStage";
const DISTRIBUTION: &str = "productLifeCycleStagesAndEmissions.distributionStage";

/// Catena-X fields that PACT requires: checked first, so that the error names the Catena-X field.
const REQUIRED: &[(&str, &str)] = &[
    (COMPANY, "companyName"),
    (COMPANY, "companyIds"),
    (PROD, "productNameCompany"),
    (PROD, "productIds"),
    (PROD, "declaredUnitOfMeasurement"),
    (PROD, "declaredUnitAmount"),
    (PROD, "productMassPerDeclaredUnit"),
    (ID_GROUP, "id"),
    (TIME_GROUP, "created"),
    (TIME_GROUP, "referencePeriodStart"),
    (TIME_GROUP, "referencePeriodEnd"),
    (
        "pcfAssessmentAndMethodology.pcfAssessmentInformation.boundarySpecifications",
        "exemptedEmissionsPercent",
    ),
    (STANDARDS, "crossSectoralStandards"),
    (GWP, "ipccCharacterizationFactors"),
    ("carbonContent", "fossilCarbonContent"),
    (
        "productLifeCycleStagesAndEmissions.productionStage",
        "pcfExcludingBiogenicUptake",
    ),
    (
        "productLifeCycleStagesAndEmissions.productionStage",
        "pcfIncludingBiogenicUptake",
    ),
    (
        "productLifeCycleStagesAndEmissions.productionStage",
        "fossilGhgEmissions",
    ),
];

fn cx_path(group: &str, name: &str) -> String {
    format!("{group}.{name}")
}

// ---------------------------------------------------------------------------------------------
// JSON paths

/// A group's object: `[ {…} ]` (Catena-X) or `{…}` (tolerated).
fn group(v: &Value) -> Option<&Map<String, Value>> {
    match v {
        Value::Array(a) => a.first()?.as_object(),
        Value::Object(o) => Some(o),
        _ => None,
    }
}

fn group_mut(v: &mut Value) -> Option<&mut Map<String, Value>> {
    match v {
        Value::Array(a) => a.first_mut()?.as_object_mut(),
        Value::Object(o) => Some(o),
        _ => None,
    }
}

fn get<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = doc;
    let mut parts = path.split('.').peekable();
    while let Some(p) = parts.next() {
        let v = group(cur)?.get(p)?;
        if parts.peek().is_none() {
            return (!v.is_null()).then_some(v);
        }
        cur = v;
    }
    None
}

/// Removes a leaf, and the groups that are left empty.
fn take(doc: &mut Value, path: &[&str]) -> Option<Value> {
    let obj = group_mut(doc)?;
    if path.len() == 1 {
        return obj.remove(path[0]).filter(|v| !v.is_null());
    }
    let child = obj.get_mut(path[0])?;
    let r = take(child, &path[1..]);
    let empty = match &*child {
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.is_empty() || (a.len() == 1 && a[0].as_object().is_some_and(Map::is_empty)),
        _ => false,
    };
    if empty {
        obj.remove(path[0]);
    }
    r
}

fn take_str(doc: &mut Value, path: &str) -> Option<Value> {
    let parts: Vec<&str> = path.split('.').collect();
    take(doc, &parts)
}

/// Sets a leaf of a Catena-X document (groups created as `[ {} ]`); with `keep`, a value that
/// is already there stays.
fn put(doc: &mut Map<String, Value>, path: &str, v: Value, keep: bool) {
    let parts: Vec<&str> = path.split('.').collect();
    let mut cur = doc;
    for p in &parts[..parts.len() - 1] {
        let slot = cur.entry(p.to_string()).or_insert_with(|| json!([{}]));
        if !matches!(slot, Value::Array(a) if a.first().is_some_and(Value::is_object)) && !slot.is_object() {
            *slot = json!([{}]);
        }
        let Some(next) = group_mut(slot) else { return };
        cur = next;
    }
    let last = parts[parts.len() - 1].to_string();
    if keep && cur.contains_key(&last) {
        return;
    }
    cur.insert(last, v);
}

/// A PACT path (`pcf.dqi.temporalDQR`) in a footprint.
fn pact_get<'a>(fp: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut cur = fp.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

fn pact_put(fp: &mut Map<String, Value>, path: &str, v: Value) {
    let parts: Vec<&str> = path.split('.').collect();
    let mut cur = fp;
    for p in &parts[..parts.len() - 1] {
        let slot = cur.entry(p.to_string()).or_insert_with(|| json!({}));
        let Some(next) = slot.as_object_mut() else { return };
        cur = next;
    }
    cur.insert(parts[parts.len() - 1].to_string(), v);
}

// ---------------------------------------------------------------------------------------------
// Numbers

fn to_decimal(field: &str, v: &Value) -> Result<Value, PactError> {
    match v {
        Value::Number(n) => Ok(Value::String(pact::number_to_decimal(n))),
        // A decimal string is tolerated (PACT's checks read it).
        Value::String(_) => Ok(v.clone()),
        _ => Err(err(field, format!("{v} is not a number"))),
    }
}

fn to_number(v: &Value) -> Value {
    let Some(s) = v.as_str() else { return v.clone() };
    if !s.contains('.')
        && let Ok(i) = s.parse::<i64>()
    {
        return Value::Number(i.into());
    }
    match s.parse::<f64>().ok().and_then(Number::from_f64) {
        Some(n) => Value::Number(n),
        None => v.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Value mappings

/// `ISO 14067` → `ISO14067` etc. (PACT's spelling); others as they are.
fn standard_to_pact(s: &str) -> String {
    pact::pact_standard(s)
}

/// `ISO14067` → `ISO 14067` etc. (the spelling of the Catena-X examples).
fn standard_to_catenax(s: &str) -> String {
    match s {
        "ISO14067" => "ISO 14067".into(),
        "ISO14083" => "ISO 14083".into(),
        "ISO14040-44" => "ISO 14040-44".into(),
        "GHGP-Product" => "GHG Protocol Product standard".into(),
        _ => s.into(),
    }
}

/// `"ecoinvent 3.8"` → `{name: "ecoinvent", version: "3.8"}` (split at the last space).
fn source_to_pact(s: &str) -> Value {
    match s.trim().rsplit_once(' ') {
        Some((n, v)) if !n.trim().is_empty() => json!({"name": n.trim(), "version": v}),
        _ => json!({"name": s.trim(), "version": "unknown"}),
    }
}

fn source_to_catenax(v: &Value) -> Option<String> {
    let name = v.get("name")?.as_str()?;
    match v.get("version").and_then(Value::as_str) {
        Some(ver) if ver != "unknown" && !ver.is_empty() => Some(format!("{name} {ver}")),
        _ => Some(name.to_string()),
    }
}

/// The issuer of a `urn:<issuer>:…` rule name, else `Unknown`.
fn rule_operator(s: &str) -> String {
    s.strip_prefix("urn:")
        .and_then(|r| r.split(':').next())
        .filter(|o| !o.is_empty())
        .unwrap_or("Unknown")
        .to_string()
}

fn rules_to_catenax(v: &Value) -> Vec<Value> {
    v.as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| {
            r.get("ruleNames")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

/// A string list that Catena-X sometimes writes as one string.
fn string_list(field: &str, v: &Value) -> Result<Vec<String>, PactError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, x)| {
                x.as_str()
                    .map(String::from)
                    .ok_or_else(|| err(format!("{field}[{i}]"), "must be a string"))
            })
            .collect(),
        _ => Err(err(field, "must be an array of strings")),
    }
}

fn ar_number(s: &str) -> u32 {
    s.strip_prefix("AR").and_then(|n| n.parse().ok()).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Import

/// The Catena-X layout of a document.
fn detect(doc: &Map<String, Value>) -> Result<&'static str, PactError> {
    if doc.contains_key("scopeOfPcfForm") {
        return Ok("9");
    }
    let spec = match doc.get("specVersion") {
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Array(a)) => a.first().and_then(Value::as_str).unwrap_or(""),
        _ => "",
    };
    let catenax = spec.starts_with("urn:io.catenax.pcf:");
    if catenax
        && doc
            .get("pcf")
            .and_then(Value::as_object)
            .is_some_and(|p| p.contains_key("declaredUnitOfMeasurement"))
    {
        return Ok("8");
    }
    if doc.contains_key("pcf") {
        let why = if catenax {
            format!("{spec:?}: a Catena-X PCF before 8.0.0 is not supported; convert it to 9.x")
        } else {
            "this is a PACT footprint (a top-level pcf object), not a Catena-X PCF 9.x document; use --pact FILE".into()
        };
        return Err(err("pcf", why));
    }
    Err(err(
        "scopeOfPcfForm",
        "required: a Catena-X PCF 9.x document has the groups scopeOfPcfForm, companyAndProductInformation, pcfAssessmentAndMethodology, general, carbonContent and productLifeCycleStagesAndEmissions",
    ))
}

/// The flat 8.0.0 layout moved into the 9.x groups (leaf names are the same).
fn from_flat_8(doc: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    let mut place = |name: &str, v: &Value| {
        let group = match name {
            "specVersion" | "partialFullPcf" => "scopeOfPcfForm",
            "companyName" | "companyIds" => COMPANY,
            "productIds"
            | "productClassifications"
            | "productNameCompany"
            | "productDescription"
            | "declaredUnitOfMeasurement"
            | "declaredUnitAmount"
            | "productMassPerDeclaredUnit" => PROD,
            "id" | "version" | "status" | "precedingPfIds" | "retroOrProspectivePcfType" => ID_GROUP,
            "created" | "validityPeriodStart" | "validityPeriodEnd" | "referencePeriodStart" | "referencePeriodEnd" => {
                TIME_GROUP
            }
            "ccsTechnologicalCO2CaptureIncluded" | "boundaryProcessesDescription" => {
                "pcfAssessmentAndMethodology.pcfAssessmentInformation.technology"
            }
            "exemptedEmissionsPercent" | "exemptedEmissionsDescription" => {
                "pcfAssessmentAndMethodology.pcfAssessmentInformation.boundarySpecifications"
            }
            "geographyRegionOrSubregion" | "geographyCountry" | "geographyCountrySubdivision" => GEO_GROUP,
            "primaryDataShare"
            | "secondaryEmissionFactorSources"
            | "technologicalDQR"
            | "temporalDQR"
            | "geographicalDQR" => QUALITY,
            "crossSectoralStandards" | "productOrSectorSpecificRules" => STANDARDS,
            "ipccCharacterizationFactors" => GWP,
            "massBalancingUsed" | "freeAttributionInMassBalancing" | "massBalancingCertificateScheme" => {
                "pcfAssessmentAndMethodology.pcfMethodology.massBalancingInformation"
            }
            "allocationRulesDescription" | "allocationWasteIncineration" | "allocationRecycledCarbon" => {
                "pcfAssessmentAndMethodology.pcfMethodology.allocationInForeground"
            }
            "programCertificationShare"
            | "productVerificationShare1stParty"
            | "productVerificationShare2ndParty"
            | "productVerificationShare3rdParty" => "pcfAssessmentAndMethodology.verificationAndCertificationShares",
            "comment" | "pcfLegalStatement" => "general",
            "carbonContentTotal"
            | "fossilCarbonContent"
            | "biogenicCarbonContent"
            | "recycledCarbonContent"
            | "packagingBiogenicCarbonContent" => "carbonContent",
            "attestationOfConformance" => "",
            n if n.starts_with("packaging") => PACKAGING,
            n if n.starts_with("distributionStage") => DISTRIBUTION,
            _ => "productLifeCycleStagesAndEmissions.productionStage",
        };
        if group.is_empty() {
            out.insert(name.to_string(), v.clone());
        } else {
            put(&mut out, &cx_path(group, name), v.clone(), true);
        }
    };
    for (k, v) in doc {
        match (k.as_str(), v) {
            ("pcf", Value::Object(p)) => {
                for (pk, pv) in p {
                    match (pk.as_str(), pv) {
                        ("dataQualityRating", Value::Object(q)) => {
                            for (qk, qv) in q {
                                place(qk, qv);
                            }
                        }
                        _ => place(pk, pv),
                    }
                }
            }
            _ => place(k, v),
        }
    }
    Value::Object(out)
}

/// A Catena-X PCF document (9.x; the flat 8.0.0 layout is read too) as a PACT v3
/// ProductFootprint, with the Catena-X-only fields in an `extensions` element
/// ([`EXTENSION_SCHEMA`]). Errors name the Catena-X field.
pub fn to_pact(doc: &Value) -> Result<Value, PactError> {
    let Value::Object(top) = doc else {
        return Err(err("(file)", "a Catena-X PCF document is a JSON object"));
    };
    let layout = detect(top)?;
    let doc = if layout == "8" { from_flat_8(top) } else { doc.clone() };
    let spec = get(&doc, "scopeOfPcfForm.specVersion").cloned();
    let spec_text = match &spec {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a.first().and_then(Value::as_str).unwrap_or("").to_string(),
        _ => String::new(),
    };
    let known = spec_text.is_empty()
        || spec_text.starts_with("urn:io.catenax.pcf:datamodel:version:9.")
        || spec_text.starts_with("urn:io.catenax.pcf:datamodel:version:8.")
        || spec_text.starts_with("urn:io.catenax.pcf:datamodel:version:10.");
    if !known {
        return Err(err(
            "scopeOfPcfForm.specVersion",
            format!("{spec_text:?} is not supported: greenledger reads Catena-X PCF 9.x (and the 8.0.0 layout)"),
        ));
    }
    for (g, n) in REQUIRED {
        if get(&doc, &cx_path(g, n)).is_none() {
            let path = cx_path(g, n);
            return Err(err(path, "required by Catena-X PCF (and by PACT v3); add it"));
        }
    }
    let unit_path = cx_path(PROD, "declaredUnitOfMeasurement");
    let unit = get(&doc, &unit_path).and_then(Value::as_str).unwrap_or("");
    if !greenledger_core::model::Unit::ALL.iter().any(|u| u.as_str() == unit) {
        let why = match unit {
            "megabit" | "second" => format!(
                "{unit:?} has no PACT equivalent (PACT has one unit, \"megabit second\"), and greenledger attestations do not support it"
            ),
            _ => format!(
                "{unit:?} is not a unit greenledger attestations support (kilogram, liter, cubic meter, kilowatt hour, megajoule, ton kilometer, square meter, piece)"
            ),
        };
        return Err(err(unit_path, why));
    }
    let mut rest = doc.clone();
    let mut fp = Map::new();
    fp.insert("specVersion".into(), json!(pact::SPEC_VERSION));
    let mut absent = Vec::new();
    for (g, n, p, k) in MAP {
        let path = cx_path(g, n);
        match take_str(&mut rest, &path) {
            Some(v) => {
                let v = if *k == K::Num { to_decimal(&path, &v)? } else { v };
                pact_put(&mut fp, p, v);
            }
            None if *p == "productDescription" => {
                absent.push(Value::String(path));
                fp.insert("productDescription".into(), json!(""));
            }
            None => {}
        }
    }
    // Lifecycle.
    let id = take_str(&mut rest, &cx_path(ID_GROUP, "id")).unwrap_or(Value::Null);
    let id = id
        .as_str()
        .ok_or_else(|| err(cx_path(ID_GROUP, "id"), "must be a UUID string"))?;
    fp.insert(
        "id".into(),
        json!(id.strip_prefix("urn:uuid:").unwrap_or(id).to_ascii_lowercase()),
    );
    let status = take_str(&mut rest, &cx_path(ID_GROUP, "status")).unwrap_or(json!("Active"));
    fp.insert("status".into(), status);
    if let Some(c) = take_str(&mut rest, &cx_path(TIME_GROUP, "created")) {
        fp.insert("created".into(), c);
    }
    if let Some(p) = take_str(&mut rest, &cx_path(ID_GROUP, "precedingPfIds")) {
        let ids: Vec<Value> = p
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().or_else(|| x.get("id").and_then(Value::as_str)))
            .map(|s| json!(s.strip_prefix("urn:uuid:").unwrap_or(s)))
            .collect();
        if !ids.is_empty() {
            fp.insert("precedingPfIds".into(), Value::Array(ids));
        }
    }
    let _ = take_str(&mut rest, "scopeOfPcfForm.specVersion");
    // Geography: PACT takes one field, the most specific; the others stay Catena-X's.
    for n in [
        "geographyCountrySubdivision",
        "geographyCountry",
        "geographyRegionOrSubregion",
    ] {
        let path = cx_path(GEO_GROUP, n);
        let usable = match get(&rest, &path).and_then(Value::as_str) {
            Some("") | None => false,
            Some("Global" | "Several") => false,
            Some(_) => true,
        };
        if usable {
            if let Some(v) = take_str(&mut rest, &path) {
                pact_put(&mut fp, &format!("pcf.{n}"), v);
            }
            break;
        }
    }
    // Standards and rules: converted; the original stays when the reverse would differ.
    let cs_path = cx_path(STANDARDS, "crossSectoralStandards");
    if let Some(v) = get(&rest, &cs_path).cloned() {
        let list = string_list(&cs_path, &v)?;
        let pact_list: Vec<String> = list.iter().map(|s| standard_to_pact(s)).collect();
        let back: Vec<Value> = pact_list.iter().map(|s| json!(standard_to_catenax(s))).collect();
        if Value::Array(back) == v {
            take_str(&mut rest, &cs_path);
        }
        pact_put(&mut fp, "pcf.crossSectoralStandards", json!(pact_list));
    }
    let rules_path = cx_path(STANDARDS, "productOrSectorSpecificRules");
    if let Some(v) = get(&rest, &rules_path).cloned() {
        let list = string_list(&rules_path, &v)?;
        if !list.is_empty() {
            let mut rules: Vec<Value> = Vec::new();
            for r in &list {
                let op = rule_operator(r);
                match rules.iter_mut().find(|x| x["otherOperatorName"] == json!(op)) {
                    Some(x) => {
                        if let Some(a) = x["ruleNames"].as_array_mut() {
                            a.push(json!(r));
                        }
                    }
                    None => rules.push(json!({"operator": "Other", "otherOperatorName": op, "ruleNames": [r]})),
                }
            }
            let rules = Value::Array(rules);
            if Value::Array(rules_to_catenax(&rules)) == v {
                take_str(&mut rest, &rules_path);
            }
            pact_put(&mut fp, "pcf.productOrSectorSpecificRules", rules);
        }
    }
    let src_path = cx_path(QUALITY, "secondaryEmissionFactorSources");
    if let Some(v) = get(&rest, &src_path).cloned() {
        let list = string_list(&src_path, &v)?;
        if !list.is_empty() {
            let sources: Vec<Value> = list.iter().map(|s| source_to_pact(s)).collect();
            let back: Vec<Value> = sources
                .iter()
                .filter_map(source_to_catenax)
                .map(Value::String)
                .collect();
            if Value::Array(back) == v {
                take_str(&mut rest, &src_path);
            }
            pact_put(&mut fp, "pcf.secondaryEmissionFactorSources", Value::Array(sources));
        }
    }
    let gwp_path = cx_path(GWP, "ipccCharacterizationFactors");
    if let Some(v) = take_str(&mut rest, &gwp_path) {
        let list = string_list(&gwp_path, &v)?;
        for s in &list {
            if !(s.len() > 2 && s.starts_with("AR") && s[2..].bytes().all(|b| b.is_ascii_digit())) {
                return Err(err(
                    gwp_path,
                    format!(
                        "{s:?} has no PACT equivalent: PACT needs the IPCC assessment report of the characterization factors (\"AR4\", \"AR5\", \"AR6\")"
                    ),
                ));
            }
        }
        if !matches!(v, Value::String(_)) {
            // An array (tolerated) is written back as Catena-X's single value: keep the original.
            put_value(&mut rest, &gwp_path, v.clone());
        }
        pact_put(&mut fp, "pcf.ipccCharacterizationFactors", json!(list));
    }
    // The first attestation of conformance as PACT's verification; the Catena-X group stays
    // as it is (it has fields PACT does not).
    if let Some(a) = get(&rest, "attestationOfConformance").and_then(group) {
        let mut v = Map::new();
        let kind = a
            .get("attestationType")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        if kind.contains("program") {
            v.insert("coverage".into(), json!("PCF program"));
        } else if kind.contains("product") {
            v.insert("coverage".into(), json!("product level"));
        }
        for k in ["providerName", "completedAt", "standardName"] {
            if let Some(x) = a.get(k).filter(|x| x.is_string()) {
                v.insert(k.into(), x.clone());
            }
        }
        if !v.is_empty() {
            pact_put(&mut fp, "pcf.verification", Value::Object(v));
        }
    }
    // Packaging and distribution totals, where the stage is included.
    if fp
        .get("pcf")
        .and_then(|p| p.get("packagingEmissionsIncluded"))
        .and_then(Value::as_bool)
        == Some(true)
        && let Some(v) = take_str(&mut rest, &cx_path(PACKAGING, "packagingPcfExcludingBiogenicUptake"))
    {
        let path = cx_path(PACKAGING, "packagingPcfExcludingBiogenicUptake");
        pact_put(&mut fp, "pcf.packagingGhgEmissions", to_decimal(&path, &v)?);
    }
    if get(&rest, &cx_path(DISTRIBUTION, "distributionStageIncluded")).and_then(Value::as_bool) == Some(true)
        && let Some(v) = take_str(
            &mut rest,
            &cx_path(DISTRIBUTION, "distributionStagePcfExcludingBiogenicUptake"),
        )
    {
        let path = cx_path(DISTRIBUTION, "distributionStagePcfExcludingBiogenicUptake");
        pact_put(&mut fp, "pcf.outboundLogisticsGhgEmissions", to_decimal(&path, &v)?);
    }
    let mut data = Map::new();
    data.insert("catenaxSpecVersion".into(), spec.unwrap_or(json!(SPEC_VERSION)));
    if layout == "8" {
        data.insert("layout".into(), json!("8.0.0"));
    }
    data.insert("fields".into(), rest);
    if !absent.is_empty() {
        data.insert("absent".into(), Value::Array(absent));
    }
    fp.insert(
        "extensions".into(),
        json!([{
            "specVersion": EXTENSION_VERSION,
            "dataSchema": EXTENSION_SCHEMA,
            "documentation": pact::EXTENSION_DOCS,
            "data": data,
        }]),
    );
    Ok(Value::Object(fp))
}

fn put_value(doc: &mut Value, path: &str, v: Value) {
    if let Value::Object(o) = doc {
        put(o, path, v, false);
    }
}

/// The Catena-X field of a PACT path, for error messages.
fn catenax_field(pact_field: &str) -> String {
    let base = pact_field.split('[').next().unwrap_or(pact_field);
    let special = match base {
        "id" => Some(cx_path(ID_GROUP, "id")),
        "status" => Some(cx_path(ID_GROUP, "status")),
        "precedingPfIds" => Some(cx_path(ID_GROUP, "precedingPfIds")),
        "created" => Some(cx_path(TIME_GROUP, "created")),
        "pcf.crossSectoralStandards" => Some(cx_path(STANDARDS, "crossSectoralStandards")),
        "pcf.ipccCharacterizationFactors" => Some(cx_path(GWP, "ipccCharacterizationFactors")),
        "pcf.packagingGhgEmissions" => Some(cx_path(PACKAGING, "packagingPcfExcludingBiogenicUptake")),
        "pcf.outboundLogisticsGhgEmissions" => {
            Some(cx_path(DISTRIBUTION, "distributionStagePcfExcludingBiogenicUptake"))
        }
        g if g.starts_with("pcf.geography") => Some(cx_path(GEO_GROUP, &g["pcf.".len()..])),
        _ => None,
    };
    if let Some(s) = special {
        return s;
    }
    match MAP.iter().find(|(_, _, p, _)| *p == base) {
        Some((g, n, _, _)) => cx_path(g, n),
        None => pact_field.to_string(),
    }
}

/// Reads a Catena-X PCF document (JSON text) into a checked PACT footprint. Errors name the
/// Catena-X field (and the PACT field, where the PACT checks found it).
pub fn parse(bytes: &[u8]) -> Result<pact::Footprint, PactError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let v: Value = serde_json::from_slice(bytes).map_err(|e| err("(file)", format!("not valid JSON: {e}")))?;
    from_value(&v)
}

/// As [`parse`], from a JSON value.
pub fn from_value(v: &Value) -> Result<pact::Footprint, PactError> {
    let fp = to_pact(v)?;
    pact::Footprint::from_value(fp).map_err(|e| {
        let cx = catenax_field(&e.field);
        if cx == e.field {
            e
        } else {
            err(cx, format!("{} (PACT {})", e.why, e.field))
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Export

/// A PACT v3 footprint as a Catena-X PCF 9.0.0 document, and the names of the Catena-X fields
/// that it does not state and that were filled with documented defaults.
pub fn from_pact(fp: &Value) -> Result<(Value, Vec<String>), PactError> {
    let top = fp
        .as_object()
        .ok_or_else(|| err("(footprint)", "a ProductFootprint is a JSON object"))?;
    let ext = top
        .get("extensions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|x| x.get("dataSchema").and_then(Value::as_str) == Some(EXTENSION_SCHEMA))
        .and_then(|x| x.get("data"));
    let mut doc = match ext.and_then(|d| d.get("fields")) {
        Some(Value::Object(o)) => o.clone(),
        _ => Map::new(),
    };
    let mut defaulted = Vec::new();
    let spec = match ext.and_then(|d| d.get("catenaxSpecVersion")) {
        Some(v @ Value::String(s))
            if s.starts_with("urn:io.catenax.pcf:datamodel:version:9.")
                && ext.and_then(|d| d.get("layout")).is_none() =>
        {
            v.clone()
        }
        Some(v @ Value::Array(_)) if ext.and_then(|d| d.get("layout")).is_none() => v.clone(),
        _ => json!([SPEC_VERSION]),
    };
    put(&mut doc, "scopeOfPcfForm.specVersion", spec, false);
    for (g, n, p, k) in MAP {
        if let Some(v) = pact_get(top, p) {
            let v = if *k == K::Num { to_number(v) } else { v.clone() };
            put(&mut doc, &cx_path(g, n), v, true);
        }
    }
    for a in ext
        .and_then(|d| d.get("absent"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(a) = a.as_str() {
            let mut d = Value::Object(std::mem::take(&mut doc));
            take_str(&mut d, a);
            if let Value::Object(o) = d {
                doc = o;
            }
        }
    }
    // Lifecycle: the footprint's.
    if let Some(id) = top.get("id") {
        put(&mut doc, &cx_path(ID_GROUP, "id"), id.clone(), false);
    }
    put(
        &mut doc,
        &cx_path(ID_GROUP, "status"),
        top.get("status").cloned().unwrap_or(json!("Active")),
        false,
    );
    if let Some(c) = top.get("created") {
        put(&mut doc, &cx_path(TIME_GROUP, "created"), c.clone(), false);
    }
    if let Some(Value::Array(p)) = top.get("precedingPfIds") {
        let ids: Vec<Value> = p.iter().map(|x| json!({"id": x})).collect();
        put(&mut doc, &cx_path(ID_GROUP, "precedingPfIds"), Value::Array(ids), false);
    }
    // Geography: PACT's one field; Catena-X requires the region.
    for n in GEO_FIELDS {
        if let Some(v) = pact_get(top, &format!("pcf.{n}")) {
            put(&mut doc, &cx_path(GEO_GROUP, n), v.clone(), true);
        }
    }
    // Converted lists (an original Catena-X list kept on import takes precedence).
    if let Some(Value::Array(a)) = pact_get(top, "pcf.crossSectoralStandards") {
        let l: Vec<Value> = a
            .iter()
            .filter_map(Value::as_str)
            .map(|s| json!(standard_to_catenax(s)))
            .collect();
        put(&mut doc, &cx_path(STANDARDS, "crossSectoralStandards"), json!(l), true);
    }
    if let Some(r) = pact_get(top, "pcf.productOrSectorSpecificRules") {
        put(
            &mut doc,
            &cx_path(STANDARDS, "productOrSectorSpecificRules"),
            Value::Array(rules_to_catenax(r)),
            true,
        );
    }
    if let Some(Value::Array(a)) = pact_get(top, "pcf.secondaryEmissionFactorSources") {
        let l: Vec<Value> = a.iter().filter_map(source_to_catenax).map(Value::String).collect();
        put(
            &mut doc,
            &cx_path(QUALITY, "secondaryEmissionFactorSources"),
            json!(l),
            true,
        );
    }
    if let Some(Value::Array(a)) = pact_get(top, "pcf.ipccCharacterizationFactors")
        && let Some(latest) = a.iter().filter_map(Value::as_str).max_by_key(|s| ar_number(s))
    {
        put(
            &mut doc,
            &cx_path(GWP, "ipccCharacterizationFactors"),
            json!(latest),
            true,
        );
    }
    if let Some(v) = pact_get(top, "pcf.packagingGhgEmissions") {
        put(
            &mut doc,
            &cx_path(PACKAGING, "packagingPcfExcludingBiogenicUptake"),
            to_number(v),
            true,
        );
    }
    if let Some(v) = pact_get(top, "pcf.outboundLogisticsGhgEmissions") {
        put(
            &mut doc,
            &cx_path(DISTRIBUTION, "distributionStagePcfExcludingBiogenicUptake"),
            to_number(v),
            true,
        );
        put(
            &mut doc,
            &cx_path(DISTRIBUTION, "distributionStageIncluded"),
            json!(true),
            true,
        );
    }
    // Fields Catena-X requires that the footprint does not state.
    let validity_end = pact_get(top, "pcf.referencePeriodEnd")
        .and_then(Value::as_str)
        .map(plus_three_years);
    let mut defaults: Vec<(String, Value)> = vec![
        ("scopeOfPcfForm.partialFullPcf".into(), json!("Cradle-to-gate")),
        (
            cx_path(ID_GROUP, "retroOrProspectivePcfType"),
            json!("Retrospective PCF"),
        ),
        (cx_path(ID_GROUP, "version"), json!(0)),
        (cx_path(GEO_GROUP, "geographyRegionOrSubregion"), json!("Global")),
        (cx_path(PROD, "productDescription"), json!("")),
        (cx_path(PACKAGING, "packagingEmissionsIncluded"), json!(false)),
        (cx_path(DISTRIBUTION, "distributionStageIncluded"), json!(false)),
        (
            "pcfAssessmentAndMethodology.pcfAssessmentInformation.technology.ccsTechnologicalCO2CaptureIncluded".into(),
            json!(false),
        ),
        (cx_path(STANDARDS, "productOrSectorSpecificRules"), json!([])),
        (cx_path(QUALITY, "secondaryEmissionFactorSources"), json!([])),
        (
            "pcfAssessmentAndMethodology.pcfMethodology.massBalancingInformation.massBalancingUsed".into(),
            json!(false),
        ),
        (
            "pcfAssessmentAndMethodology.pcfMethodology.massBalancingInformation.freeAttributionInMassBalancing".into(),
            json!("not applicable"),
        ),
        (
            "pcfAssessmentAndMethodology.pcfMethodology.massBalancingInformation.massBalancingCertificateScheme".into(),
            json!("n/a"),
        ),
    ];
    if let Some(v) = validity_end {
        defaults.push((cx_path(TIME_GROUP, "validityPeriodEnd"), json!(v)));
    }
    if let (Some(f), b) = (
        pact_get(top, "pcf.fossilCarbonContent").and_then(Value::as_str),
        pact_get(top, "pcf.biogenicCarbonContent").and_then(Value::as_str),
    ) && let Ok(total) = pact::add_decimals(f, b.unwrap_or("0"))
    {
        defaults.push((cx_path("carbonContent", "carbonContentTotal"), to_number(&json!(total))));
    }
    // What the PACT export itself filled in (the greenledger element's `defaulted`).
    for d in top
        .get("extensions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|x| x.get("dataSchema").and_then(Value::as_str) == Some(pact::EXTENSION_SCHEMA))
        .filter_map(|x| x.pointer("/data/defaulted").and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
    {
        let cx = catenax_field(d);
        if !defaulted.contains(&cx) {
            defaulted.push(cx);
        }
    }
    for (path, v) in defaults {
        let have = get(&Value::Object(doc.clone()), &path).is_some();
        if !have {
            put(&mut doc, &path, v, true);
            defaulted.push(path);
        }
    }
    Ok((Value::Object(doc), defaulted))
}

const GEO_FIELDS: [&str; 3] = [
    "geographyRegionOrSubregion",
    "geographyCountry",
    "geographyCountrySubdivision",
];

fn plus_three_years(t: &str) -> String {
    match humantime::parse_rfc3339_weak(t) {
        Ok(s) => {
            let end = s + std::time::Duration::from_secs(3 * 365 * 86_400);
            humantime::format_rfc3339_seconds(end).to_string()
        }
        Err(_) => t.to_string(),
    }
}

/// The Catena-X fields of a document that describe the footprint itself (everything but the
/// lifecycle fields `id`, `status`, `created`, `precedingPfIds` and `version`), with numbers
/// compared by value (`1.0` = `1`): what an import-then-export round trip preserves.
pub fn comparable(doc: &Value) -> Value {
    fn norm(v: &Value) -> Value {
        match v {
            Value::Number(n) => n
                .as_f64()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .unwrap_or_else(|| v.clone()),
            Value::Array(a) => Value::Array(a.iter().map(norm).collect()),
            Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), norm(v))).collect()),
            _ => v.clone(),
        }
    }
    let mut d = doc.clone();
    for k in ["id", "status", "precedingPfIds", "version"] {
        take_str(&mut d, &cx_path(ID_GROUP, k));
    }
    take_str(&mut d, &cx_path(TIME_GROUP, "created"));
    norm(&d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenledger_core::{
        Mass,
        entry::SignedEntry,
        id::NetworkId,
        model::{Attestation, Emissions, Unit},
    };
    use greenledger_testkit::{Chain, key};

    use crate::pact::ExportContext;

    const HOUSING: &str = include_str!("../tests/data/catenax/aluminium-housing-9.0.0.json");

    fn sign(att: Attestation) -> SignedEntry {
        let chain = Chain::in_network(key(0x33), NetworkId([7; 32])).with_timestamp("2026-04-01T10:00:00Z");
        chain.sign_at(1, None, att).into_entry().signed
    }

    fn housing() -> Value {
        serde_json::from_str(HOUSING).unwrap()
    }

    fn edit(f: impl FnOnce(&mut Value)) -> Result<pact::Footprint, PactError> {
        let mut v = housing();
        f(&mut v);
        from_value(&v)
    }

    /// Import, sign, export as PACT, export as Catena-X.
    fn round_trip(doc: &Value) -> (Value, Value, Vec<String>) {
        let f = from_value(doc).unwrap();
        let att = f.to_attestation(None, &[]).unwrap();
        let se = sign(att);
        let fp = pact::export(&se, &ExportContext::default()).unwrap();
        let (cx, defaulted) = from_pact(&fp).unwrap();
        (fp, cx, defaulted)
    }

    #[test]
    fn fixture_maps_onto_pact() {
        let f = parse(HOUSING.as_bytes()).unwrap();
        let v = &f.v3;
        let pcf = &v["pcf"];
        assert_eq!(v["id"], "0b6e8f52-6f2e-4c1a-9a51-3c0d7e2a9f10");
        assert_eq!(v["companyName"], "Alu Gusswerk Example GmbH");
        assert_eq!(v["productIds"], json!(["urn:greenledger:example:housing-ah40"]));
        assert_eq!(pcf["declaredUnitAmount"], "10");
        assert_eq!(pcf["pcfExcludingBiogenicUptake"], "82.5");
        assert_eq!(pcf["pcfIncludingBiogenicUptake"], "81");
        assert_eq!(pcf["biogenicCO2Uptake"], "-1.5");
        assert_eq!(pcf["exemptedEmissionsPercent"], "0.5");
        assert_eq!(pcf["geographyCountry"], "DE");
        assert!(pcf.get("geographyRegionOrSubregion").is_none());
        assert_eq!(pcf["crossSectoralStandards"], json!(["ISO14067", "GHGP-Product"]));
        assert_eq!(pcf["ipccCharacterizationFactors"], json!(["AR6"]));
        assert_eq!(
            pcf["secondaryEmissionFactorSources"],
            json!([{"name": "ecoinvent", "version": "3.10"}])
        );
        assert_eq!(
            pcf["dqi"],
            json!({"technologicalDQR": "1.5", "temporalDQR": "2", "geographicalDQR": "1.25"})
        );
        assert_eq!(pcf["packagingGhgEmissions"], "1.2");
        assert_eq!(pcf["outboundLogisticsGhgEmissions"], "2.4");
        assert_eq!(pcf["primaryDataShare"], "72.5");
        let ext = &v["extensions"][0];
        assert_eq!(ext["dataSchema"], EXTENSION_SCHEMA);
        let fields = &ext["data"]["fields"];
        assert_eq!(fields["scopeOfPcfForm"][0]["partialFullPcf"], "Cradle-to-gate");
        assert_eq!(fields["general"][0]["pcfLegalStatement"], "For testing only.");
        // Mapped leaves are not kept twice.
        assert!(fields["productLifeCycleStagesAndEmissions"][0]["productionStage"].is_null());
        assert!(fields["carbonContent"][0].get("fossilCarbonContent").is_none());
        // The attestation: per ONE kilogram.
        let att = f.to_attestation(None, &[]).unwrap();
        assert_eq!(att.part, "urn:greenledger:example:housing-ah40");
        assert_eq!(att.declared_unit_of_measurement, Unit::Kilogram);
        assert_eq!(att.total.pcf_excluding_biogenic_uptake, Mass(8_250_000));
        assert_eq!(att.total.packaging_ghg_emissions, Some(Mass(120_000)));
        assert_eq!(att.geography_country.as_deref(), Some("DE"));
    }

    #[test]
    fn fixture_round_trips() {
        let doc = housing();
        let (fp, cx, defaulted) = round_trip(&doc);
        assert_eq!(comparable(&cx), comparable(&doc));
        assert!(defaulted.is_empty(), "{defaulted:?}");
        // Lifecycle: the greenledger entry's.
        let idv = &cx["pcfAssessmentAndMethodology"][0]["pcfAssessmentInformation"][0]["idAndVersion"][0];
        assert_eq!(idv["id"], fp["id"]);
        assert_eq!(idv["status"], "Active");
        // Re-importing the export gives the same PACT footprint fields.
        let again = from_value(&cx).unwrap();
        let att = again.to_attestation(None, &[]).unwrap();
        let fp2 = pact::export(&sign(att), &ExportContext::default()).unwrap();
        assert_eq!(pact::comparable(&fp2)["pcf"], pact::comparable(&fp)["pcf"]);
    }

    #[test]
    fn shared_example_round_trips_when_present() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data/external/catenax-pcf-9.0.0-example.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("skipped: {} is not there", path.display());
            return;
        };
        let doc: Value = serde_json::from_str(&text).unwrap();
        let f = from_value(&doc).unwrap();
        assert_eq!(f.v3["pcf"]["geographyCountrySubdivision"], "US-NY");
        assert_eq!(f.v3["pcf"]["packagingGhgEmissions"], "0");
        assert_eq!(
            f.v3["pcf"]["verification"],
            json!({"coverage": "PCF program", "providerName": "TÜV-X", "completedAt": "2022-12-31T23:59:59Z", "standardName": "Catena-X Product Carbon Footprint Rulebook v4"})
        );
        assert!(f.v3["pcf"].get("outboundLogisticsGhgEmissions").is_none());
        assert!(f.v3.get("precedingPfIds").is_none());
        let (_, cx, defaulted) = round_trip(&doc);
        assert_eq!(comparable(&cx), comparable(&doc));
        assert!(defaulted.is_empty(), "{defaulted:?}");
    }

    #[test]
    fn flat_8_layout_is_read() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data/external/catenax-pcf-8.0.0-example.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("skipped: {} is not there", path.display());
            return;
        };
        let doc: Value = serde_json::from_str(&text).unwrap();
        let fp = to_pact(&doc).unwrap();
        assert!(fp["pcf"]["pcfExcludingBiogenicUptake"].is_string());
        assert!(fp["companyName"].is_string());
    }

    #[test]
    fn errors_name_the_catenax_field() {
        let field = |r: Result<pact::Footprint, PactError>| r.expect_err("should be refused").field;
        fn stage(v: &mut Value) -> &mut Map<String, Value> {
            v["productLifeCycleStagesAndEmissions"][0]["productionStage"][0]
                .as_object_mut()
                .unwrap()
        }
        assert_eq!(
            field(edit(|v| {
                stage(v).insert("pcfIncludingBiogenicUptake".into(), json!(80));
            })),
            "productLifeCycleStagesAndEmissions.productionStage.pcfIncludingBiogenicUptake"
        );
        assert_eq!(
            field(edit(|v| {
                stage(v).remove("fossilGhgEmissions");
            })),
            "productLifeCycleStagesAndEmissions.productionStage.fossilGhgEmissions"
        );
        assert_eq!(
            field(edit(|v| {
                stage(v).insert("biogenicCO2Uptake".into(), json!("lots"));
            })),
            "productLifeCycleStagesAndEmissions.productionStage.biogenicCO2Uptake"
        );
        assert_eq!(
            field(edit(|v| {
                v["pcfAssessmentAndMethodology"][0]["pcfMethodology"][0]["gwpCharacterizationFactorDetails"][0]["ipccCharacterizationFactors"] =
                    json!("unspecified");
            })),
            "pcfAssessmentAndMethodology.pcfMethodology.gwpCharacterizationFactorDetails.ipccCharacterizationFactors"
        );
        assert_eq!(
            field(edit(|v| {
                v["companyAndProductInformation"][0]["productInformation"][0]["declaredUnitAmount"] = json!(0);
            })),
            "companyAndProductInformation.productInformation.declaredUnitAmount"
        );
        assert_eq!(
            field(edit(|v| {
                v["pcfAssessmentAndMethodology"][0]["pcfAssessmentInformation"][0]["geography"][0]["geographyCountry"] =
                    json!("Germany");
            })),
            "pcfAssessmentAndMethodology.pcfAssessmentInformation.geography.geographyCountry"
        );
        assert_eq!(
            field(edit(|v| {
                v.as_object_mut().unwrap().remove("scopeOfPcfForm");
            })),
            "scopeOfPcfForm"
        );
        assert_eq!(
            field(edit(|v| {
                v["scopeOfPcfForm"][0]["specVersion"] = json!("urn:io.catenax.pcf:datamodel:version:7.0.0");
            })),
            "scopeOfPcfForm.specVersion"
        );
        assert_eq!(field(parse(b"[1]")), "(file)");
        let pact_doc = include_str!("../tests/data/pact/v3-steel.json");
        let e = parse(pact_doc.as_bytes()).unwrap_err();
        assert_eq!(e.field, "pcf");
        assert!(e.why.contains("--pact"), "{}", e.why);
    }

    #[test]
    fn plain_attestation_exports_with_defaults() {
        let mut att = Attestation::new(
            "urn:greenledger:example:bolt",
            Unit::Piece,
            Emissions::headline(Mass(250_000)),
        );
        att.geography_country = Some("FR".into());
        let se = sign(att);
        let fp = pact::export(&se, &ExportContext::default()).unwrap();
        let (cx, defaulted) = from_pact(&fp).unwrap();
        let stage = &cx["productLifeCycleStagesAndEmissions"][0]["productionStage"][0];
        assert_eq!(stage["pcfExcludingBiogenicUptake"], json!(0.25));
        let geo = &cx["pcfAssessmentAndMethodology"][0]["pcfAssessmentInformation"][0]["geography"][0];
        assert_eq!(geo["geographyCountry"], "FR");
        assert_eq!(geo["geographyRegionOrSubregion"], "Global");
        assert_eq!(cx["scopeOfPcfForm"][0]["specVersion"], json!([SPEC_VERSION]));
        for d in [
            "scopeOfPcfForm.partialFullPcf",
            "pcfAssessmentAndMethodology.pcfAssessmentInformation.geography.geographyRegionOrSubregion",
            "pcfAssessmentAndMethodology.pcfAssessmentInformation.time.validityPeriodEnd",
        ] {
            assert!(defaulted.iter().any(|x| x == d), "{d} in {defaulted:?}");
        }
        // The export reads back.
        let f = from_value(&cx).unwrap();
        assert_eq!(f.v3["pcf"]["pcfExcludingBiogenicUptake"], "0.25");
    }

    #[test]
    fn value_mappings() {
        assert_eq!(
            source_to_pact("ecoinvent 3.8"),
            json!({"name": "ecoinvent", "version": "3.8"})
        );
        assert_eq!(source_to_pact("GaBi"), json!({"name": "GaBi", "version": "unknown"}));
        assert_eq!(
            source_to_catenax(&json!({"name": "GaBi", "version": "unknown"})).unwrap(),
            "GaBi"
        );
        assert_eq!(
            rule_operator("urn:tfs-initiative.com:PCR:The Product Carbon Footprint Guideline"),
            "tfs-initiative.com"
        );
        assert_eq!(rule_operator("Rulebook v3"), "Unknown");
        assert_eq!(to_number(&json!("0.456")), json!(0.456));
        assert_eq!(to_number(&json!("-3")), json!(-3));
        assert_eq!(standard_to_catenax(&standard_to_pact("ISO 14067")), "ISO 14067");
    }
}
