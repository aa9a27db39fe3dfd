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

/// Parses JSON for a prepared (not yet signed) payload: any formatting, but no duplicate keys
/// (which a parser would resolve silently, one way or another) and no `null`s (absent fields
/// are omitted). A UTF-8 byte-order mark is skipped.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, String> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

    struct Strict;
    impl<'de> DeserializeSeed<'de> for Strict {
        type Value = Value;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Strict {
        type Value = Value;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
            Ok(Value::Bool(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
            Err(E::custom(format!(
                "number {v} is not an integer; amounts are integer strings (mg CO2e, millionths of a unit)"
            )))
        }
        fn visit_str<E>(self, v: &str) -> Result<Value, E> {
            Ok(Value::String(v.to_string()))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
            Err(E::custom("null is not allowed; omit absent fields"))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut v = Vec::new();
            while let Some(x) = seq.next_element_seed(Strict)? {
                v.push(x);
            }
            Ok(Value::Array(v))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut m = serde_json::Map::new();
            while let Some(k) = map.next_key::<String>()? {
                if m.contains_key(&k) {
                    return Err(serde::de::Error::custom(format!("key {k:?} appears twice")));
                }
                let v = map.next_value_seed(Strict)?;
                m.insert(k, v);
            }
            Ok(Value::Object(m))
        }
    }
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = Strict.deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(v)
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
    fn strict_parse_refuses_duplicates_and_nulls() {
        assert!(parse_strict(b"{\"a\":1,\"b\":{\"c\":[1,2]}}").is_ok());
        assert!(parse_strict(b"\xef\xbb\xbf{\"a\": 1}").is_ok());
        assert!(
            parse_strict(b"{\"a\":1,\"a\":2}")
                .unwrap_err()
                .contains("appears twice")
        );
        assert!(parse_strict(b"{\"a\":{\"b\":null}}").unwrap_err().contains("null"));
        assert!(parse_strict(b"{\"a\":1.5}").unwrap_err().contains("not an integer"));
        assert!(parse_strict(b"{\"a\":1} x").is_err());
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
