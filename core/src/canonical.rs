//! The canonical JSON form that every signed payload and every genesis must have.
//!
//! Canonical JSON here is RFC 8785 (JCS) restricted to what greenledger uses:
//!
//! * UTF-8, no whitespace between tokens;
//! * object members sorted by key, compared as byte strings (all keys are ASCII);
//! * numbers are integers only (no fraction, no exponent, no `-0`), within ±(2^53 − 1);
//! * strings escaped minimally: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other control
//!   characters as `\u00xx` (lowercase hex), everything else literally;
//! * `null` never appears: absent optional fields are omitted.
//!
//! One value has exactly one encoding, so one entry has exactly one id.

use serde_json::Value;

use crate::error::CanonicalError;

/// The largest integer a canonical number may hold (2^53 − 1, exact in every JSON parser).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Encodes `value` canonically.
pub fn to_canonical(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out)?;
    Ok(out)
}

/// Serializes any serde value to canonical bytes.
pub fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    let v = serde_json::to_value(value).map_err(|e| CanonicalError::Serialize(e.to_string()))?;
    to_canonical(&v)
}

fn write_value(value: &Value, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match value {
        Value::Null => return Err(CanonicalError::Null),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                if u > MAX_SAFE_INTEGER {
                    return Err(CanonicalError::NumberOutOfRange(n.to_string()));
                }
                out.extend_from_slice(u.to_string().as_bytes());
            } else if let Some(i) = n.as_i64() {
                if i.unsigned_abs() > MAX_SAFE_INTEGER {
                    return Err(CanonicalError::NumberOutOfRange(n.to_string()));
                }
                out.extend_from_slice(i.to_string().as_bytes());
            } else {
                return Err(CanonicalError::Float(n.to_string()));
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                write_value(&map[k], out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// Parses `bytes` as JSON and checks that they are exactly the canonical encoding of what they
/// hold. Returns the parsed value.
pub fn parse_canonical(bytes: &[u8]) -> Result<Value, CanonicalError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| CanonicalError::NotJson(e.to_string()))?;
    let again = to_canonical(&value)?;
    if again != bytes {
        return Err(CanonicalError::NotCanonical {
            offset: first_difference(bytes, &again),
        });
    }
    Ok(value)
}

fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_strips_space() {
        let v = json!({"b": 1, "a": [true, false, "x"], "c": {"z": -5, "y": "\n\u{1}é"}});
        let bytes = to_canonical(&v).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"a":[true,false,"x"],"b":1,"c":{"y":"\n\u0001é","z":-5}}"#
        );
    }

    #[test]
    fn refuses_floats_nulls_and_huge_numbers() {
        assert!(matches!(to_canonical(&json!(1.5)), Err(CanonicalError::Float(_))));
        assert!(matches!(to_canonical(&json!(null)), Err(CanonicalError::Null)));
        assert!(matches!(
            to_canonical(&json!(1u64 << 60)),
            Err(CanonicalError::NumberOutOfRange(_))
        ));
    }

    #[test]
    fn detects_non_canonical_input() {
        assert!(parse_canonical(br#"{"a":1,"b":2}"#).is_ok());
        assert!(matches!(
            parse_canonical(br#"{"b":2,"a":1}"#),
            Err(CanonicalError::NotCanonical { offset: 2 })
        ));
        assert!(matches!(
            parse_canonical(br#"{"a": 1}"#),
            Err(CanonicalError::NotCanonical { .. })
        ));
        assert!(matches!(
            parse_canonical(br#"{"a":1,"a":1}"#),
            Err(CanonicalError::NotCanonical { .. })
        ));
        assert!(matches!(
            parse_canonical(br#"{"a":"\u0041"}"#),
            Err(CanonicalError::NotCanonical { .. })
        ));
        assert!(matches!(
            parse_canonical(br#"{"a":1.0}"#),
            Err(CanonicalError::Float(_))
        ));
        assert!(matches!(parse_canonical(b"{\"a\":1"), Err(CanonicalError::NotJson(_))));
    }
}
