//! Fixed-point amounts: parsing decimal strings at the edges, integers inside.
//!
//! * [`Mass`] is an amount of CO2-equivalent in **milligrams** (kg × 10^6).
//! * [`Quantity`] is an amount of a declared unit in **millionths** (unit × 10^6).
//! * [`Share`] is a fraction in **basis points** (percent × 100, 0..=10000).
//!
//! All three are `i64` inside and are written in signed payloads as JSON strings of decimal
//! integers (`"2875000"`), because JSON numbers above 2^53 are not exact everywhere.
//! Decimal strings for people (`"2.875"`) are parsed and printed here, without floats.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::AmountError;

/// The number of decimal places of [`Mass`] (kg) and [`Quantity`] (declared unit).
pub const SCALE_DIGITS: u32 = 6;
/// 10^[`SCALE_DIGITS`].
pub const SCALE: i64 = 1_000_000;

/// Parses a decimal string such as `"12.5"`, `"-0.001"` or `"3"` into an integer scaled by
/// 10^`digits`. Refuses more fractional digits than `digits` (no silent rounding), exponents,
/// signs other than a leading `-`, and values that do not fit in an `i64`.
pub fn parse_decimal(s: &str, digits: u32) -> Result<i64, AmountError> {
    let bad = |why: &str| AmountError::Invalid {
        input: s.to_string(),
        why: why.to_string(),
    };
    let t = s.trim();
    if t.is_empty() {
        return Err(bad("empty"));
    }
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return Err(bad("no digits"));
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(
            "only digits and one '.' are allowed (no exponent, no thousands separator)",
        ));
    }
    if body.contains('.') && frac.is_empty() && int.is_empty() {
        return Err(bad("no digits"));
    }
    let frac_trimmed = frac.trim_end_matches('0');
    if frac_trimmed.len() > digits as usize {
        return Err(bad(&format!("more than {digits} decimal places")));
    }
    // 30 integer digits fit in an i128 with room for the scale; anything longer is too large.
    if int.trim_start_matches('0').len() > 30 {
        return Err(AmountError::Overflow(s.to_string()));
    }
    let mut v: i128 = 0;
    for b in int.bytes() {
        v = v * 10 + (b - b'0') as i128;
    }
    if digits > 18 {
        return Err(bad("at most 18 decimal places are supported"));
    }
    let scale = 10i128.pow(digits);
    v = v
        .checked_mul(scale)
        .ok_or_else(|| AmountError::Overflow(s.to_string()))?;
    let mut f: i128 = 0;
    for b in frac_trimmed.bytes() {
        f = f * 10 + (b - b'0') as i128;
    }
    f *= 10i128.pow(digits - frac_trimmed.len() as u32);
    v += f;
    if neg {
        v = -v;
    }
    i64::try_from(v).map_err(|_| AmountError::Overflow(s.to_string()))
}

/// Formats an integer scaled by 10^`digits` as the shortest exact decimal string.
pub fn format_decimal(v: i64, digits: u32) -> String {
    let scale = 10u128.pow(digits);
    let neg = v < 0;
    let a = (v as i128).unsigned_abs();
    let int = a / scale;
    let frac = a % scale;
    let mut s = if neg { format!("-{int}") } else { int.to_string() };
    if frac != 0 {
        let f = format!("{:0width$}", frac, width = digits as usize);
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s
}

/// Parses the integer-string form used inside payloads: `0` or `-?[1-9][0-9]*`.
fn parse_int_string(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && s != "-0";
    if !ok {
        return Err(format!(
            "{s:?} is not a canonical integer string (digits, optional leading '-', no leading zeros)"
        ));
    }
    s.parse::<i64>()
        .map_err(|_| format!("{s:?} does not fit in a signed 64-bit integer"))
}

macro_rules! int_string_type {
    ($(#[$m:meta])* $name:ident, $what:literal) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub i64);

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0.to_string())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("a string holding an integer number of ", $what))
                    }
                    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<$name, E> {
                        parse_int_string(s).map($name).map_err(|e| E::custom(format!("{e}; amounts are integer {} in a string", $what)))
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

int_string_type!(
    /// CO2-equivalent mass in milligrams (signed; removals are negative).
    Mass,
    "milligrams CO2e (\"2875000\" is 2.875 kg)"
);
int_string_type!(
    /// An amount of a declared unit, in millionths of the unit.
    Quantity,
    "millionths of the unit (\"3500000\" is 3.5)"
);

int_string_type!(
    /// Electricity in watt-hours (certificates, retirements, claims).
    Wh,
    "watt-hours (\"1000000\" is 1 MWh)"
);

impl fmt::Debug for Wh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} Wh", self.0)
    }
}
impl fmt::Display for Wh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} Wh", self.0)
    }
}

impl Mass {
    /// Parses kilograms given as a decimal string (`"0.25"` → 250000 mg).
    pub fn from_kg_str(s: &str) -> Result<Self, AmountError> {
        parse_decimal(s, SCALE_DIGITS).map(Mass)
    }
    /// Kilograms as an exact decimal string.
    pub fn kg_string(&self) -> String {
        format_decimal(self.0, SCALE_DIGITS)
    }
}

impl Quantity {
    /// Parses a decimal string of units (`"3.5"` → 3500000).
    pub fn from_decimal_str(s: &str) -> Result<Self, AmountError> {
        parse_decimal(s, SCALE_DIGITS).map(Quantity)
    }
    /// Units as an exact decimal string.
    pub fn decimal_string(&self) -> String {
        format_decimal(self.0, SCALE_DIGITS)
    }
}

impl fmt::Debug for Mass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} kg", self.kg_string())
    }
}
impl fmt::Display for Mass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kg_string())
    }
}
impl fmt::Debug for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.decimal_string())
    }
}
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.decimal_string())
    }
}

/// A share in basis points (1/100 of a percent): 0..=10000. A JSON number in payloads.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Share(pub u16);

impl Share {
    /// Parses a percentage such as `"12.9"` (→ 1290 basis points).
    pub fn from_percent_str(s: &str) -> Result<Self, AmountError> {
        let v = parse_decimal(s, 2)?;
        if !(0..=10_000).contains(&v) {
            return Err(AmountError::Invalid {
                input: s.into(),
                why: "a percentage must be between 0 and 100".into(),
            });
        }
        Ok(Share(v as u16))
    }
    /// The percentage as a decimal string.
    pub fn percent_string(&self) -> String {
        format_decimal(self.0 as i64, 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_decimals() {
        assert_eq!(parse_decimal("0.25", 6).unwrap(), 250_000);
        assert_eq!(parse_decimal("2", 6).unwrap(), 2_000_000);
        assert_eq!(parse_decimal("-1.5", 6).unwrap(), -1_500_000);
        assert_eq!(parse_decimal(".5", 6).unwrap(), 500_000);
        assert_eq!(parse_decimal("1.500000000", 6).unwrap(), 1_500_000);
        assert_eq!(parse_decimal("0.000001", 6).unwrap(), 1);
        assert_eq!(format_decimal(2_875_000, 6), "2.875");
        assert_eq!(format_decimal(-1, 6), "-0.000001");
        assert_eq!(format_decimal(0, 6), "0");
        assert_eq!(format_decimal(i64::MIN, 6), "-9223372036854.775808");
    }

    #[test]
    fn refuses_bad_decimals() {
        for s in [
            "",
            "-",
            ".",
            "1e3",
            "1,5",
            "0x10",
            "1.0000001",
            "abc",
            "1..2",
            " 1 2",
            "--1",
            "NaN",
            "inf",
        ] {
            assert!(parse_decimal(s, 6).is_err(), "{s:?} should be refused");
        }
        assert!(matches!(
            parse_decimal("99999999999999999999", 6),
            Err(AmountError::Overflow(_))
        ));
        assert!(matches!(
            parse_decimal("9223372036855", 6),
            Err(AmountError::Overflow(_))
        ));
    }

    #[test]
    fn int_strings_are_strict() {
        assert_eq!(parse_int_string("0").unwrap(), 0);
        assert_eq!(parse_int_string("-12").unwrap(), -12);
        for s in ["", "-0", "01", "+1", "1.0", " 1", "9223372036854775808"] {
            assert!(parse_int_string(s).is_err(), "{s:?} should be refused");
        }
    }

    #[test]
    fn shares() {
        assert_eq!(Share::from_percent_str("12.9").unwrap(), Share(1290));
        assert!(Share::from_percent_str("100.01").is_err());
        assert!(Share::from_percent_str("-1").is_err());
        assert_eq!(Share(1290).percent_string(), "12.9");
    }
}
