//! Which footprints a ListFootprints request (or a RequestCreated event) asks for, and the
//! scan of the log that answers it.
//!
//! Footprints are the log's attestations in log order, each exported as PACT v3
//! (`greenledger_interop::pact::export`). A page is a stretch of the log: its `next` link carries
//! the log index to go on from, so a link keeps giving the same footprints (the log only
//! grows), and each request reads a bounded number of log records.

use anyhow::Result;
use greenledger_core::{EntryId, LedgerView};
use greenledger_interop::pact;
use serde_json::Value;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{read::Reader, store::Store};

/// Filter criteria: values of one criterion are alternatives (OR), criteria combine with AND.
/// Strings compare case-insensitively.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// `productId`: one of them is in `productIds`.
    pub product_ids: Vec<String>,
    /// `companyId`: one of them is in `companyIds`.
    pub company_ids: Vec<String>,
    /// `geography`: one of them is the region, country or subdivision.
    pub geography: Vec<String>,
    /// `classification`: one of them is in `productClassifications`.
    pub classifications: Vec<String>,
    /// `validOn`: effective start ≤ t ≤ effective end.
    pub valid_on: Option<OffsetDateTime>,
    /// `validAfter`: effective start > t.
    pub valid_after: Option<OffsetDateTime>,
    /// `validBefore`: effective end < t.
    pub valid_before: Option<OffsetDateTime>,
    /// `status`: `Active` or `Deprecated` (any other value matches nothing).
    pub status: Vec<String>,
}

fn any_in(wanted: &[String], have: Option<&Value>) -> bool {
    let Some(Value::Array(have)) = have else {
        return false;
    };
    have.iter()
        .filter_map(Value::as_str)
        .any(|h| wanted.iter().any(|w| w.eq_ignore_ascii_case(h)))
}

impl Filter {
    /// True if the filter has no criterion.
    pub fn is_empty(&self) -> bool {
        self.product_ids.is_empty()
            && self.company_ids.is_empty()
            && self.geography.is_empty()
            && self.classifications.is_empty()
            && self.valid_on.is_none()
            && self.valid_after.is_none()
            && self.valid_before.is_none()
            && self.status.is_empty()
    }

    /// Whether a PACT v3 footprint meets every criterion.
    pub fn matches(&self, pf: &Value) -> bool {
        let pcf = pf.get("pcf");
        if !self.product_ids.is_empty() && !any_in(&self.product_ids, pf.get("productIds")) {
            return false;
        }
        if !self.company_ids.is_empty() && !any_in(&self.company_ids, pf.get("companyIds")) {
            return false;
        }
        if !self.classifications.is_empty() && !any_in(&self.classifications, pf.get("productClassifications")) {
            return false;
        }
        if !self.geography.is_empty() {
            let fields = [
                "geographyRegionOrSubregion",
                "geographyCountry",
                "geographyCountrySubdivision",
            ];
            let hit = fields.iter().any(|f| {
                pcf.and_then(|p| p.get(*f))
                    .and_then(Value::as_str)
                    .is_some_and(|g| self.geography.iter().any(|w| w.eq_ignore_ascii_case(g)))
            });
            if !hit {
                return false;
            }
        }
        if !self.status.is_empty() {
            let s = pf.get("status").and_then(Value::as_str).unwrap_or("");
            if !self.status.iter().any(|w| w.eq_ignore_ascii_case(s)) {
                return false;
            }
        }
        if self.valid_on.is_some() || self.valid_after.is_some() || self.valid_before.is_some() {
            let Some((start, end)) = effective_validity(pf) else {
                return false;
            };
            if let Some(t) = self.valid_on
                && !(start <= t && t <= end)
            {
                return false;
            }
            if let Some(t) = self.valid_after
                && start <= t
            {
                return false;
            }
            if let Some(t) = self.valid_before
                && end >= t
            {
                return false;
            }
        }
        true
    }
}

/// The validity period PACT assigns a footprint: `validityPeriodStart` (else
/// `referencePeriodEnd`) to `validityPeriodEnd` (else three years after `referencePeriodEnd`).
pub fn effective_validity(pf: &Value) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(String::from);
    let ref_end = s(pf.get("pcf").and_then(|p| p.get("referencePeriodEnd")));
    let start = s(pf.get("validityPeriodStart")).or_else(|| ref_end.clone())?;
    let start = parse_time(&start)?;
    let end = match s(pf.get("validityPeriodEnd")) {
        Some(e) => parse_time(&e)?,
        // Past year 9999: valid for as long as a date-time can say.
        None => plus_years(parse_time(&ref_end?)?, 3).unwrap_or(time::PrimitiveDateTime::MAX.assume_utc()),
    };
    Some((start, end))
}

/// The same instant `years` calendar years later (29 February becomes 1 March).
fn plus_years(t: OffsetDateTime, years: i32) -> Option<OffsetDateTime> {
    let y = t.year().checked_add(years)?;
    t.replace_year(y).ok().or_else(|| {
        // 29 February of a year that has none.
        t.checked_add(time::Duration::days(1))?.replace_year(y).ok()
    })
}

/// An RFC 3339 date-time (`Z` or a `±hh:mm` offset; without either, UTC), any year from 1
/// to 9999 (PACT clients ask about 1900).
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339))
        .ok()
}

/// One page of footprints.
#[derive(Debug)]
pub struct Page {
    /// The footprints.
    pub items: Vec<Value>,
    /// Where the next page starts (a log index), if more may match.
    pub next: Option<u64>,
}

/// A footprint: an attestation that holds today ([`Reader::valid_today`]: not after its
/// signer's revocation, not at or after a fork of its chain), exported with its company name and
/// whether a correction that holds supersedes it. A PACT client cannot check signatures, so
/// the node serves only what a verifier accepts.
fn export(reader: &Reader<'_>, id: &EntryId) -> Result<Option<Value>> {
    let Some((_, e)) = reader.decoded(id)? else {
        return Ok(None);
    };
    if e.attestation().is_none() || !reader.valid_today(&e) {
        return Ok(None);
    }
    let ctx = pact::ExportContext {
        company_name: reader.membership().name(&e.payload.signer).map(String::from),
        superseded: !reader.corrections(&e)?.is_empty(),
    };
    match pact::export(&e.signed, &ctx) {
        Ok(v) => Ok(Some(v)),
        Err(err) => {
            tracing::warn!(entry = %id, cause = %err, "cannot export an attestation as PACT; left out");
            Ok(None)
        }
    }
}

/// The footprint with PACT id `uuid`, if it is an attestation in the log.
pub fn get(store: &Store, uuid: &[u8; 16]) -> Result<Option<Value>> {
    let Some(id) = store.entry_by_footprint(uuid)? else {
        return Ok(None);
    };
    export(&Reader::new(store), &id)
}

/// Up to `limit` matching footprints from log index `from` on, reading at most `budget` log
/// records. `next` is set when a further match was seen, or when the budget ran out first.
/// With `limit` 0 the page is empty and `next` is the first match (if any within the budget).
pub fn scan(store: &Store, filter: &Filter, from: u64, limit: usize, budget: usize) -> Result<Page> {
    let (size, _) = store.head()?;
    let reader = Reader::new(store);
    let mut items = Vec::new();
    let mut idx = from;
    let mut read = 0usize;
    while idx < size && read < budget {
        let chunk = store.log_range(idx, (budget - read).min(256))?;
        if chunk.is_empty() {
            break;
        }
        for (i, id, _) in chunk {
            idx = i + 1;
            read += 1;
            if let Some(pf) = export(&reader, &id)?
                && filter.matches(&pf)
            {
                if items.len() == limit {
                    return Ok(Page { items, next: Some(i) });
                }
                items.push(pf);
            }
            if read >= budget {
                break;
            }
        }
    }
    Ok(Page {
        items,
        next: (idx < size).then_some(idx),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pf() -> Value {
        json!({
            "productIds": ["urn:gtin:4712345060507", "urn:pact:example.com:product-id:A"],
            "companyIds": ["urn:pact:company:customcode:supplier-id:7"],
            "productClassifications": ["urn:cpc:0151"],
            "status": "Active",
            "pcf": {
                "geographyCountry": "DE",
                "referencePeriodStart": "2024-01-01T00:00:00Z",
                "referencePeriodEnd": "2025-01-01T00:00:00Z"
            }
        })
    }

    fn t(s: &str) -> Option<OffsetDateTime> {
        Some(parse_time(s).unwrap())
    }

    #[test]
    fn criteria_or_within_and_across() {
        let f = Filter {
            product_ids: vec!["urn:other".into(), "URN:GTIN:4712345060507".into()],
            geography: vec!["fr".into(), "de".into()],
            ..Filter::default()
        };
        assert!(f.matches(&pf()));
        let f = Filter {
            product_ids: vec!["urn:gtin:4712345060507".into()],
            geography: vec!["FR".into()],
            ..Filter::default()
        };
        assert!(!f.matches(&pf()));
        for (f, want) in [
            (
                Filter {
                    status: vec!["active".into()],
                    ..Filter::default()
                },
                true,
            ),
            (
                Filter {
                    status: vec!["BogusStatus".into()],
                    ..Filter::default()
                },
                false,
            ),
            (
                Filter {
                    classifications: vec!["urn:cpc:0151".into()],
                    ..Filter::default()
                },
                true,
            ),
            (
                Filter {
                    company_ids: vec!["urn:bogus".into()],
                    ..Filter::default()
                },
                false,
            ),
            (Filter::default(), true),
        ] {
            assert_eq!(f.matches(&pf()), want, "{f:?}");
        }
    }

    #[test]
    fn validity_defaults_to_three_years_after_the_reference_period() {
        // Effective: 2025-01-01 to 2028-01-01.
        let on = |s: &str| Filter {
            valid_on: t(s),
            ..Filter::default()
        };
        assert!(on("2025-01-01T00:00:00Z").matches(&pf()));
        assert!(on("2027-12-31T23:59:59Z").matches(&pf()));
        assert!(!on("2028-01-01T00:00:01Z").matches(&pf()));
        assert!(!on("1900-01-01T00:00:00Z").matches(&pf()));
        let after = |s: &str| Filter {
            valid_after: t(s),
            ..Filter::default()
        };
        assert!(after("2024-12-31T00:00:00Z").matches(&pf()));
        assert!(!after("2025-01-01T00:00:00Z").matches(&pf()));
        let before = |s: &str| Filter {
            valid_before: t(s),
            ..Filter::default()
        };
        assert!(before("2028-01-02T00:00:00Z").matches(&pf()));
        assert!(!before("2028-01-01T00:00:00Z").matches(&pf()));
        let mut explicit = pf();
        explicit["validityPeriodStart"] = json!("2030-01-01T00:00:00Z");
        explicit["validityPeriodEnd"] = json!("2031-01-01T00:00:00Z");
        assert!(on("2030-06-01T00:00:00Z").matches(&explicit));
        assert!(!on("2026-01-01T00:00:00Z").matches(&explicit));
    }

    #[test]
    fn times_with_offsets_and_leap_days() {
        assert_eq!(
            parse_time("2025-01-01T02:00:00+02:00"),
            parse_time("2025-01-01T00:00:00Z")
        );
        assert_eq!(
            parse_time("2024-12-31T22:30:00-01:30"),
            parse_time("2025-01-01T00:00:00Z")
        );
        assert!(parse_time("yesterday").is_none());
        assert!(parse_time("2025-13-01T00:00:00Z").is_none());
        assert!(parse_time("1900-01-01T00:00:00Z").is_some());
        assert_eq!(parse_time("2025-01-01T00:00:00"), parse_time("2025-01-01T00:00:00Z"));
        assert_eq!(
            plus_years(parse_time("2024-02-29T00:00:00Z").unwrap(), 3),
            t("2027-03-01T00:00:00Z")
        );
        assert_eq!(
            plus_years(parse_time("2024-03-01T10:00:00Z").unwrap(), 3),
            t("2027-03-01T10:00:00Z")
        );
        assert_eq!(plus_years(parse_time("9999-12-31T23:59:59Z").unwrap(), 3), None);
        // A footprint whose reference period ends in 9999 is valid to the end of time, and
        // filtering it does not fail.
        let mut late = pf();
        late["pcf"]["referencePeriodEnd"] = json!("9999-12-31T00:00:00Z");
        let f = Filter {
            valid_on: t("9999-12-31T12:00:00Z"),
            ..Filter::default()
        };
        assert!(f.matches(&late));
    }
}
