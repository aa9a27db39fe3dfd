//! The carbon roll-up: `total = own + Σ quantity × input.total`, exact and deterministic.
//!
//! Emissions are integer milligrams CO2e per declared unit; quantities are integer millionths
//! of the input's declared unit. For each emission component the verifier computes, in 128-bit
//! integers with overflow checks (an overflow is an error, never a wrap):
//!
//! ```text
//! S     = own × 10^6 + Σ (quantity_i × total_i)          (units: mg × 10^-6, exact)
//! total = S / 10^6 rounded to the nearest integer, ties away from zero
//! ```
//!
//! The one rounding happens once, at the end, so the result does not depend on how the inputs
//! are grouped. The sum is accumulated in the order the inputs are listed, and every partial
//! sum must fit in a signed 128-bit integer (each term does); the result must fit in a signed
//! 64-bit integer. Realistic figures are many orders of magnitude below either bound.
//!
//! A component other than `pcfExcludingBiogenicUptake` appears in the total only if it appears
//! in `own` and in the total of every input; otherwise the total omits it (unknown is not zero).

use crate::{
    amount::{Mass, Quantity, SCALE},
    error::RollupError,
    model::{COMPONENTS, Emissions},
};

/// Divides by 10^6, rounding to nearest with ties away from zero.
pub fn round_scaled(s: i128) -> i128 {
    let scale = SCALE as i128;
    let q = s / scale; // truncates toward zero
    let r = s % scale; // same sign as s
    if 2 * r.abs() >= scale { q + s.signum() } else { q }
}

/// Computes the total of one component exactly.
pub fn roll_up_component(component: &'static str, own: Mass, inputs: &[(Quantity, Mass)]) -> Result<Mass, RollupError> {
    let overflow = || RollupError::Overflow { component };
    let mut s = (own.0 as i128).checked_mul(SCALE as i128).ok_or_else(overflow)?;
    for (q, t) in inputs {
        let term = (q.0 as i128).checked_mul(t.0 as i128).ok_or_else(overflow)?;
        s = s.checked_add(term).ok_or_else(overflow)?;
    }
    i64::try_from(round_scaled(s)).map(Mass).map_err(|_| overflow())
}

/// Computes the total emissions from the supplier's own emissions and, for each input, its
/// quantity and its total.
pub fn roll_up(own: &Emissions, inputs: &[(Quantity, &Emissions)]) -> Result<Emissions, RollupError> {
    let mut total = Emissions::default();
    for c in &COMPONENTS {
        let Some(own_v) = (c.get)(own) else { continue };
        let mut terms = Vec::with_capacity(inputs.len());
        let mut complete = true;
        for (q, t) in inputs {
            match (c.get)(t) {
                Some(v) => terms.push((*q, v)),
                None => {
                    complete = false;
                    break;
                }
            }
        }
        if complete {
            (c.set)(&mut total, Some(roll_up_component(c.name, own_v, &terms)?));
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_example() {
        // 2 + 3.5 × 0.25 = 2.875 kg
        let t = roll_up_component("x", Mass(2_000_000), &[(Quantity(3_500_000), Mass(250_000))]).unwrap();
        assert_eq!(t, Mass(2_875_000));
    }

    #[test]
    fn rounding_is_half_away_from_zero_once() {
        assert_eq!(round_scaled(1_500_000), 2);
        assert_eq!(round_scaled(1_499_999), 1);
        assert_eq!(round_scaled(-1_500_000), -2);
        assert_eq!(round_scaled(-1_499_999), -1);
        assert_eq!(round_scaled(2_500_000), 3);
        assert_eq!(round_scaled(0), 0);
        // Two terms of 0.4 mg each: rounding once gives 1 mg, rounding each would give 0.
        let t = roll_up_component(
            "x",
            Mass(0),
            &[(Quantity(400_000), Mass(1)), (Quantity(400_000), Mass(1))],
        )
        .unwrap();
        assert_eq!(t, Mass(1));
    }

    #[test]
    fn overflow_is_an_error() {
        let err = roll_up_component("x", Mass(i64::MAX), &[(Quantity(i64::MAX), Mass(i64::MAX))]).unwrap_err();
        assert_eq!(err, RollupError::Overflow { component: "x" });
        let err = roll_up_component("x", Mass(0), &[(Quantity(2_000_000), Mass(i64::MAX))]).unwrap_err();
        assert!(matches!(err, RollupError::Overflow { .. }));
    }

    #[test]
    fn optional_components_need_every_input() {
        let own = Emissions {
            fossil_ghg_emissions: Some(Mass(5)),
            ..Emissions::headline(Mass(10))
        };
        let with = Emissions {
            fossil_ghg_emissions: Some(Mass(3)),
            ..Emissions::headline(Mass(4))
        };
        let without = Emissions::headline(Mass(4));
        let t = roll_up(&own, &[(Quantity(SCALE), &with)]).unwrap();
        assert_eq!(t.fossil_ghg_emissions, Some(Mass(8)));
        assert_eq!(t.pcf_excluding_biogenic_uptake, Mass(14));
        let t = roll_up(&own, &[(Quantity(SCALE), &with), (Quantity(SCALE), &without)]).unwrap();
        assert_eq!(t.fossil_ghg_emissions, None);
        assert_eq!(t.pcf_excluding_biogenic_uptake, Mass(18));
    }
}
