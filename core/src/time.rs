//! The format's timestamps (FORMAT.md §2.6): RFC 3339 in UTC, in one narrow form that every
//! language can check the same way.
//!
//! ```text
//! YYYY "-" MM "-" DD "T" hh ":" mm ":" ss [ "." 1*DIGIT ] ( "Z" / "+00:00" )
//! ```
//!
//! * the year is 1970 to 9999; the day exists in its month (leap years by the Gregorian rule);
//!   the hour is 00–23, the minute 00–59, the second 00–60 (a leap second, allowed on any
//!   minute);
//! * the fraction, if present, has at least one digit and any number of them; only the first
//!   nine count when times are compared;
//! * `T` and `Z` are uppercase; no other offset than `Z` or `+00:00`; nothing after it.
//!
//! For comparing times a leap second counts as second 59 of its minute.

use std::fmt;

/// A point in time as the format compares them: seconds since 1970-01-01T00:00:00Z and
/// nanoseconds (a leap second is second 59).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    pub secs: i64,
    /// Nanoseconds (the first nine digits of the fraction).
    pub nanos: u32,
}

/// Why a text is not a timestamp of the format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampError(&'static str);

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for TimestampError {}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn is_leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(y: u32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses a timestamp of the format (see the [module documentation](self)).
pub fn parse(s: &str) -> Result<Timestamp, TimestampError> {
    let b = s.as_bytes();
    let bad = |why| Err(TimestampError(why));
    if b.len() < 20 {
        return bad("too short");
    }
    let shape_ok = b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' && b[16] == b':';
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second), true) = (
        digits(&b[0..4]),
        digits(&b[5..7]),
        digits(&b[8..10]),
        digits(&b[11..13]),
        digits(&b[14..16]),
        digits(&b[17..19]),
        shape_ok,
    ) else {
        return bad("not of the form YYYY-MM-DDThh:mm:ss");
    };
    let mut rest = &b[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return bad("a fraction of a second needs at least one digit");
        }
        let mut scale = 100_000_000u32;
        for c in &frac[..n.min(9)] {
            nanos += u32::from(c - b'0') * scale;
            scale /= 10;
        }
        rest = &frac[n..];
    }
    if rest != b"Z" && rest != b"+00:00" {
        return bad("must end in Z (or +00:00): times are UTC");
    }
    if !(1970..=9999).contains(&year) {
        return bad("the year must be 1970 to 9999");
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return bad("no such date");
    }
    if hour > 23 || minute > 59 || second > 60 {
        return bad("no such time of day");
    }
    let secs = days_from_civil(year, month, day) * 86_400
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        + i64::from(second.min(59));
    Ok(Timestamp { secs, nanos })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_and_leap_days() {
        assert_eq!(parse("1970-01-01T00:00:00Z").unwrap().secs, 0);
        assert_eq!(parse("2000-03-01T00:00:00Z").unwrap().secs, 951_868_800);
        assert_eq!(parse("2024-02-29T12:00:00Z").unwrap().secs, 1_709_208_000);
        assert_eq!(parse("9999-12-31T23:59:59Z").unwrap().secs, 253_402_300_799);
        assert!(parse("2023-02-29T00:00:00Z").is_err());
        assert!(parse("2100-02-29T00:00:00Z").is_err());
        assert!(parse("2000-02-29T00:00:00Z").is_ok());
    }
}
