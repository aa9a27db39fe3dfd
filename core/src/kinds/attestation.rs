//! `attestation`: a supplier's carbon footprint of one part or batch, per declared unit.
//!
//! Its ledger rules (run by [`crate::engine`]):
//!
//! * **inputs** — every input is an attestation, and not one of a forked part of its signer's
//!   chain;
//! * **supersession** — `supersedes` names an earlier attestation of the same signer about the
//!   same part;
//! * **roll-up** — the claimed total equals `own + Σ quantity × input.total` exactly
//!   ([`crate::rollup`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{DepRole, Dependency, EntryKind, IndexRow, Kind, Resolved};
use crate::{
    amount::{Mass, Quantity, Share},
    engine::{KindError, LedgerView},
    entry::Entry,
    error::DecodeError,
    id::EntryId,
    model::{COMPONENTS, Emissions, MAX_INPUTS, MAX_TEXT, MAX_URN, Role, Unit, check_text, check_timestamp},
    rollup,
};

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
            && let (Ok(a), Ok(b)) = (crate::time::parse(a), crate::time::parse(b))
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

impl EntryKind for Attestation {
    const KIND: Kind = Kind::Attestation;
    const ROLE: Role = Role::Supplier;

    fn check(&self) -> Result<(), DecodeError> {
        Attestation::check(self)
    }

    /// The inputs in their order, then the superseded entry.
    fn dependencies(&self) -> Vec<Dependency> {
        let mut deps: Vec<Dependency> = self
            .inputs
            .iter()
            .map(|i| Dependency {
                id: i.entry,
                role: DepRole::Input,
            })
            .collect();
        if let Some(old) = self.supersedes {
            deps.push(Dependency {
                id: old,
                role: DepRole::Supersedes,
            });
        }
        deps
    }

    fn rules<V: LedgerView + ?Sized>(&self, entry: &Entry, deps: &[Resolved<'_>], view: &V) -> Vec<KindError> {
        let mut problems = Vec::new();
        // Inputs: attestations, not of a forked part of a chain. Their totals, for the roll-up,
        // in the order of `inputs` (a missing one leaves a gap and skips the roll-up).
        let mut totals: Vec<(Quantity, &Emissions)> = Vec::with_capacity(self.inputs.len());
        let mut complete = true;
        for (input, resolved) in self.inputs.iter().zip(deps) {
            let Some(ie) = resolved.entry.as_deref() else {
                complete = false;
                continue;
            };
            let Some(ia) = ie.attestation() else {
                problems.push(KindError::InputNotAttestation {
                    input: ie.id,
                    kind: ie.payload.body.kind(),
                });
                complete = false;
                continue;
            };
            if let Some(fork_seq) = view.forked_at(&ie.payload.signer)
                && ie.payload.seq >= fork_seq
            {
                problems.push(KindError::InputForked {
                    input: ie.id,
                    seq: ie.payload.seq,
                    fork_seq,
                });
            }
            totals.push((input.quantity, &ia.total));
        }
        if let Some(old) = deps.get(self.inputs.len()).and_then(|r| r.entry.as_deref())
            && let Err(e) = check_supersession(self, entry, old)
        {
            problems.push(e);
        }
        if complete && let Err(e) = check_rollup(self, &totals) {
            problems.push(e);
        }
        problems
    }

    fn index_rows(&self, rows: &mut Vec<IndexRow>) {
        rows.push(IndexRow::Part(self.part.clone()));
        rows.push(IndexRow::Footprint);
        for i in &self.inputs {
            rows.push(IndexRow::Consumes {
                input: i.entry,
                quantity: i.quantity,
            });
        }
        if let Some(old) = self.supersedes {
            rows.push(IndexRow::Supersedes(old));
        }
    }

    fn summary(&self) -> String {
        format!(
            "{} total {} kg CO2e/{}",
            self.part,
            self.total.pcf_excluding_biogenic_uptake.kg_string(),
            self.declared_unit_of_measurement.symbol()
        )
    }
}

/// Checks the claimed total of `a` against its own emissions and its inputs' totals (given in
/// the order of `a.inputs`).
pub fn check_rollup(a: &Attestation, inputs: &[(Quantity, &Emissions)]) -> Result<(), KindError> {
    let computed = rollup::roll_up(&a.own, inputs)?;
    if computed == a.total {
        return Ok(());
    }
    let mut parts = Vec::new();
    for c in &COMPONENTS {
        let (claimed, want) = ((c.get)(&a.total), (c.get)(&computed));
        if claimed != want {
            let show = |m: Option<Mass>| {
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
    Err(KindError::RollupMismatch(parts.join("; ")))
}

/// Checks that `new` (whose body is `a`, with `supersedes` = `old.id`) may supersede `old`.
fn check_supersession(a: &Attestation, new: &Entry, old: &Entry) -> Result<(), KindError> {
    let short = old.id.fmt_short();
    let err = |m: String| Err(KindError::Supersession(m));
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
