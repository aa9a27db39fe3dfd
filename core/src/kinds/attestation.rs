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

use super::{DepRole, Dependency, EntryKind, IndexRow, Kind, Resolved, certificate::same_market};
use crate::{
    amount::{Mass, Quantity, Share, Wh},
    custody::{self, Draw, LotId, LotKind, Origin, Output},
    engine::{KindError, LedgerView},
    entry::Entry,
    error::DecodeError,
    id::EntryId,
    model::{COMPONENTS, Emissions, MAX_INPUTS, MAX_TEXT, MAX_URN, Role, Unit, check_text, check_timestamp},
    rollup, time,
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
    /// A shipment (or batch) lot of the input that this batch draws on: the batch size ×
    /// `quantity` (DESIGN §3b). Absent: the input's average footprint, drawing on no lot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<LotId>,
}

/// Green electricity claimed for a batch: a draw on one of the signer's retirement lots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Claim {
    /// The retirement lot drawn on.
    pub lot: LotId,
    /// How much.
    pub wh: Wh,
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
    /// Electricity used per declared unit, in kWh (millionths): what `electricityClaims` cover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub electricity_kwh: Option<Quantity>,
    /// Retired green electricity claimed for this batch (draws on the signer's retirement lots).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub electricity_claims: Vec<Claim>,
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
            electricity_kwh: None,
            electricity_claims: Vec::new(),
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

    /// The electricity (Wh) this batch used: `electricityKwh` × `producedQuantity`, rounded up.
    pub fn electricity_wh(&self) -> Option<i64> {
        let (e, q) = (self.electricity_kwh?, self.produced_quantity?);
        // kWh millionths × units millionths = kWh × 10^12; Wh = that × 10^3 / 10^12.
        let p = i128::from(e.0).checked_mul(i128::from(q.0))?;
        i64::try_from((p + 999_999_999).div_euclid(1_000_000_000)).ok()
    }

    /// The structural rules of claims and batch inputs.
    fn check_custody(&self) -> Result<(), DecodeError> {
        let invalid = |field: &'static str, why: String| Err(DecodeError::Invalid { field, why });
        if let Some(e) = self.electricity_kwh
            && e.0 < 0
        {
            return invalid("electricityKwh", "must not be negative".into());
        }
        if self.electricity_claims.len() > super::certificate::MAX_LEGS {
            return invalid(
                "electricityClaims",
                format!("at most {} claims", super::certificate::MAX_LEGS),
            );
        }
        for (i, c) in self.electricity_claims.iter().enumerate() {
            if c.wh.0 <= 0 {
                return invalid(
                    "electricityClaims",
                    format!("the Wh claimed from lot {} must be greater than 0", c.lot.fmt_short()),
                );
            }
            if self.electricity_claims[..i].iter().any(|o| o.lot == c.lot) {
                return invalid(
                    "electricityClaims",
                    format!(
                        "lot {} is claimed twice; claim it once with the summed Wh",
                        c.lot.fmt_short()
                    ),
                );
            }
        }
        if !self.electricity_claims.is_empty() {
            let needs = [
                ("electricityKwh", self.electricity_kwh.is_none()),
                ("producedQuantity", self.produced_quantity.is_none()),
                ("geographyCountry", self.geography_country.is_none()),
                ("referencePeriodStart", self.reference_period_start.is_none()),
                ("referencePeriodEnd", self.reference_period_end.is_none()),
            ];
            if let Some((field, _)) = needs.iter().find(|(_, missing)| *missing) {
                return invalid(
                    field,
                    "a batch that claims green electricity states its electricity use per unit, its batch size, its country and its reference period".into(),
                );
            }
            let claimed = self
                .electricity_claims
                .iter()
                .try_fold(0i64, |a, c| a.checked_add(c.wh.0));
            let used = self.electricity_wh();
            if claimed.is_none() || used.is_none() || claimed > used {
                return invalid(
                    "electricityClaims",
                    format!(
                        "claims {} Wh, more than the {} Wh the batch used (electricityKwh × producedQuantity)",
                        claimed.map_or("too many".into(), |c| c.to_string()),
                        used.map_or("?".into(), |u| u.to_string())
                    ),
                );
            }
        }
        for i in &self.inputs {
            if let Some(lot) = i.lot {
                let Some(batch) = self.produced_quantity else {
                    return invalid(
                        "inputs",
                        format!(
                            "input {} draws on lot {}: a batch that draws on shipment lots states its producedQuantity",
                            i.entry.fmt_short(),
                            lot.fmt_short()
                        ),
                    );
                };
                if custody::scaled_up(batch.0, i.quantity.0).is_none() {
                    return invalid(
                        "inputs",
                        format!(
                            "the draw of input {} on lot {} is too large",
                            i.entry.fmt_short(),
                            lot.fmt_short()
                        ),
                    );
                }
            }
        }
        Ok(())
    }

    /// The rules of electricity claims: each draws on a retirement made for the signer's
    /// organisation, in the batch's market, for a consumption period that holds the batch's
    /// reference period.
    fn claim_rules<V: LedgerView + ?Sized>(&self, entry: &Entry, view: &V) -> Vec<KindError> {
        let mut problems = Vec::new();
        let me = view.membership().name(&entry.payload.signer).map(str::to_string);
        for c in &self.electricity_claims {
            let Ok(lot) = custody::resolve(view, &c.lot) else {
                continue;
            };
            let Some(r) = view.entry(&lot.origin) else { continue };
            let crate::model::Body::CertificateRetire(r) = &r.payload.body else {
                continue; // the custody step names the wrong lot
            };
            if me.as_deref() != Some(r.beneficiary.as_str()) {
                problems.push(KindError::BeneficiaryMismatch(format!(
                    "claims lot {}, retired for {:?}, not for the signer's organisation {}",
                    c.lot.fmt_short(),
                    r.beneficiary,
                    me.as_deref().map_or("(unknown)".to_string(), |n| format!("{n:?}"))
                )));
            }
            let country = self.geography_country.as_deref().unwrap_or("");
            if !same_market(&r.region, country) {
                problems.push(KindError::RegionMismatch(format!(
                    "claims lot {}, retired for market {}, for a batch made in {country}",
                    c.lot.fmt_short(),
                    r.region
                )));
            }
            let t = |s: &Option<String>| s.as_deref().and_then(|s| time::parse(s).ok());
            let inside = match (
                t(&self.reference_period_start),
                t(&self.reference_period_end),
                time::parse(&r.consumption_start).ok(),
                time::parse(&r.consumption_end).ok(),
            ) {
                (Some(a), Some(b), Some(c0), Some(c1)) => c0 <= a && b <= c1,
                _ => false,
            };
            if !inside {
                problems.push(KindError::InvalidClaim(format!(
                    "claims lot {}, retired for consumption from {} to {}, which does not hold the batch's reference period",
                    c.lot.fmt_short(),
                    r.consumption_start,
                    r.consumption_end
                )));
            }
        }
        problems
    }

    /// Structural rules that need no other entry: identifier form, positive quantities, sign
    /// rules, ranges, no duplicate inputs, text lengths.
    pub fn check(&self) -> Result<(), DecodeError> {
        check_part(&self.part)?;
        self.check_custody()?;
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
    const ROLES: &'static [Role] = &[Role::Supplier];

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
        problems.extend(self.claim_rules(entry, view));
        for input in &self.inputs {
            if let Some(lot) = input.lot
                && let Ok(l) = custody::resolve(view, &lot)
                && l.kind == LotKind::Batch
                && l.origin != input.entry
            {
                problems.push(KindError::InvalidBatchInput(format!(
                    "input {} names lot {}, which is of batch {}, not of that input",
                    input.entry.fmt_short(),
                    lot.fmt_short(),
                    l.origin.fmt_short()
                )));
            }
        }
        problems
    }

    fn draws(&self, _entry: &Entry) -> Vec<Draw> {
        let mut out: Vec<Draw> = self
            .electricity_claims
            .iter()
            .map(|c| Draw {
                lot: c.lot,
                amount: c.wh.0,
                expects: LotKind::Retirement,
            })
            .collect();
        if let Some(batch) = self.produced_quantity {
            out.extend(self.inputs.iter().filter_map(|i| {
                Some(Draw {
                    lot: i.lot?,
                    amount: custody::scaled_up(batch.0, i.quantity.0)?,
                    expects: LotKind::Batch,
                })
            }));
        }
        out
    }

    fn outputs(&self, entry: &Entry) -> Vec<Output> {
        self.produced_quantity
            .map(|q| Output {
                kind: LotKind::Batch,
                holder: entry.payload.signer,
                amount: q.0,
                origin: Origin::Itself,
            })
            .into_iter()
            .collect()
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
