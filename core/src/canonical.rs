//! The canonical JSON form that every signed payload and every genesis must have.
//!
//! Canonical JSON here is RFC 8785 (JCS) restricted to what greenledger uses:
//!
//! * UTF-8, no whitespace between tokens;
//! * object members sorted by key, compared as UTF-8 byte strings (greenledger's own keys are
//!   ASCII, where this is JCS's UTF-16 order; keys under `extensions` may be any text, and
//!   are sorted by their UTF-8 bytes too);
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

/// Serializes any serde value to canonical bytes, directly (no intermediate [`Value`]): the
/// same bytes as `to_canonical(&serde_json::to_value(value)?)`, at a fraction of the cost
/// (entries are re-encoded on every decode to prove their bytes canonical).
pub fn encode<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(1024);
    value.serialize(Canon { out: &mut out })?;
    Ok(out)
}

impl serde::ser::Error for CanonicalError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        CanonicalError::Serialize(msg.to_string())
    }
}

/// The canonical serializer: writes scalars and arrays in place; buffers the members of each
/// object and writes them sorted by key.
struct Canon<'a> {
    out: &'a mut Vec<u8>,
}

fn write_int(out: &mut Vec<u8>, negative: bool, magnitude: u128) -> Result<(), CanonicalError> {
    if magnitude > u128::from(MAX_SAFE_INTEGER) {
        let sign = if negative { "-" } else { "" };
        return Err(CanonicalError::NumberOutOfRange(format!("{sign}{magnitude}")));
    }
    if negative && magnitude > 0 {
        out.push(b'-');
    }
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut m = magnitude as u64;
    loop {
        at -= 1;
        buf[at] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[at..]);
    Ok(())
}

impl<'a> serde::Serializer for Canon<'a> {
    type Ok = ();
    type Error = CanonicalError;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Seq<'a>;
    type SerializeMap = Object<'a>;
    type SerializeStruct = Object<'a>;
    type SerializeStructVariant = Object<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), CanonicalError> {
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), CanonicalError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), CanonicalError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), CanonicalError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), CanonicalError> {
        write_int(self.out, v < 0, u128::from(v.unsigned_abs()))
    }
    fn serialize_i128(self, v: i128) -> Result<(), CanonicalError> {
        write_int(self.out, v < 0, v.unsigned_abs())
    }
    fn serialize_u8(self, v: u8) -> Result<(), CanonicalError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), CanonicalError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), CanonicalError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), CanonicalError> {
        write_int(self.out, false, u128::from(v))
    }
    fn serialize_u128(self, v: u128) -> Result<(), CanonicalError> {
        write_int(self.out, false, v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), CanonicalError> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), CanonicalError> {
        // serde_json turns non-finite numbers into null.
        if v.is_finite() {
            Err(CanonicalError::Float(
                serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string()),
            ))
        } else {
            Err(CanonicalError::Null)
        }
    }
    fn serialize_char(self, v: char) -> Result<(), CanonicalError> {
        write_string(v.encode_utf8(&mut [0u8; 4]), self.out);
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), CanonicalError> {
        write_string(v, self.out);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), CanonicalError> {
        use serde::ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<(), CanonicalError> {
        Err(CanonicalError::Null)
    }
    fn serialize_some<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<(), CanonicalError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), CanonicalError> {
        Err(CanonicalError::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), CanonicalError> {
        Err(CanonicalError::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), CanonicalError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: serde::Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), CanonicalError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: serde::Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), CanonicalError> {
        // {"variant":value}: one member, nothing to sort.
        self.out.push(b'{');
        write_string(variant, self.out);
        self.out.push(b':');
        value.serialize(Canon { out: self.out })?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Seq<'a>, CanonicalError> {
        self.out.push(b'[');
        Ok(Seq {
            out: self.out,
            first: true,
            variant: false,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'a>, CanonicalError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Seq<'a>, CanonicalError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Seq<'a>, CanonicalError> {
        self.out.push(b'{');
        write_string(variant, self.out);
        self.out.extend_from_slice(b":[");
        Ok(Seq {
            out: self.out,
            first: true,
            variant: true,
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Object<'a>, CanonicalError> {
        Ok(Object::new(self.out, len.unwrap_or(8), None))
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Object<'a>, CanonicalError> {
        Ok(Object::new(self.out, len, None))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Object<'a>, CanonicalError> {
        Ok(Object::new(self.out, len, Some(variant)))
    }
}

/// An array being written: elements go straight to the output.
struct Seq<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    /// A tuple variant: `{"variant":[…]}` needs one more closing brace.
    variant: bool,
}

impl Seq<'_> {
    fn element<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CanonicalError> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        value.serialize(Canon { out: self.out })
    }

    fn close(self) -> Result<(), CanonicalError> {
        self.out.push(b']');
        if self.variant {
            self.out.push(b'}');
        }
        Ok(())
    }
}

/// The four array-like serde traits all write their elements the same way.
macro_rules! impl_seq {
    ($($trait:ident :: $method:ident),*) => {$(
        impl serde::ser::$trait for Seq<'_> {
            type Ok = ();
            type Error = CanonicalError;
            fn $method<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CanonicalError> {
                self.element(value)
            }
            fn end(self) -> Result<(), CanonicalError> {
                self.close()
            }
        }
    )*};
}

impl_seq!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// An object being written. Members whose keys come in strictly ascending order (as byte
/// strings) — derived structs whose fields are declared in that order, sorted maps — are
/// written straight to the output. At the first key that does not, the members written so far
/// are moved into `values` and the object falls back to buffering: each member's value is
/// encoded into `values`, and the members are written sorted by key at the end. A key given
/// twice is an error (a `Value` would keep only one of them).
struct Object<'a> {
    out: &'a mut Vec<u8>,
    /// Where the object starts in `out`: a fallback writes it again from here.
    start: usize,
    /// Members are still being written to `out` in order.
    direct: bool,
    values: Vec<u8>,
    /// (key, range of its value in `out` while `direct`, in `values` after)
    members: Vec<(std::borrow::Cow<'static, str>, std::ops::Range<usize>)>,
    /// The key given by `serialize_key`, waiting for its value.
    key: Option<String>,
    /// A struct variant: written as `{"variant":{…}}`.
    variant: Option<&'static str>,
}

impl<'a> Object<'a> {
    fn new(out: &'a mut Vec<u8>, len: usize, variant: Option<&'static str>) -> Self {
        let start = out.len();
        if let Some(variant) = variant {
            out.push(b'{');
            write_string(variant, out);
            out.push(b':');
        }
        out.push(b'{');
        Object {
            out,
            start,
            direct: true,
            values: Vec::new(),
            members: Vec::with_capacity(len),
            key: None,
            variant,
        }
    }

    fn member<T: serde::Serialize + ?Sized>(
        &mut self,
        key: std::borrow::Cow<'static, str>,
        value: &T,
    ) -> Result<(), CanonicalError> {
        if self.direct {
            let in_order = self
                .members
                .last()
                .is_none_or(|(last, _)| last.as_bytes() < key.as_bytes());
            if in_order {
                if !self.members.is_empty() {
                    self.out.push(b',');
                }
                write_string(&key, self.out);
                self.out.push(b':');
                let at = self.out.len();
                value.serialize(Canon { out: self.out })?;
                self.members.push((key, at..self.out.len()));
                return Ok(());
            }
            self.fall_back();
        }
        let at = self.values.len();
        value.serialize(Canon { out: &mut self.values })?;
        self.members.push((key, at..self.values.len()));
        Ok(())
    }

    /// Moves the values written to `out` so far into `values` and takes the object out of
    /// `out` again: from here on it is buffered and sorted at the end.
    fn fall_back(&mut self) {
        for (_, range) in &mut self.members {
            let at = self.values.len();
            self.values.extend_from_slice(&self.out[range.clone()]);
            *range = at..self.values.len();
        }
        self.out.truncate(self.start);
        self.direct = false;
    }

    fn close(mut self) -> Result<(), CanonicalError> {
        if self.direct {
            self.out.push(b'}');
            if self.variant.is_some() {
                self.out.push(b'}');
            }
            return Ok(());
        }
        self.members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        if let Some(w) = self.members.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(CanonicalError::Serialize(format!("key {:?} appears twice", w[0].0)));
        }
        if let Some(variant) = self.variant {
            self.out.push(b'{');
            write_string(variant, self.out);
            self.out.push(b':');
        }
        self.out.push(b'{');
        for (i, (key, range)) in self.members.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            write_string(key, self.out);
            self.out.push(b':');
            self.out.extend_from_slice(&self.values[range.clone()]);
        }
        self.out.push(b'}');
        if self.variant.is_some() {
            self.out.push(b'}');
        }
        Ok(())
    }
}

impl serde::ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_key<T: serde::Serialize + ?Sized>(&mut self, key: &T) -> Result<(), CanonicalError> {
        self.key = Some(key.serialize(KeyText)?);
        Ok(())
    }
    fn serialize_value<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CanonicalError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| CanonicalError::Serialize("a map value without its key".into()))?;
        self.member(key.into(), value)
    }
    fn end(self) -> Result<(), CanonicalError> {
        self.close()
    }
}

/// Structs and struct variants both name their fields with static keys.
macro_rules! impl_struct {
    ($($trait:ident),*) => {$(
        impl serde::ser::$trait for Object<'_> {
            type Ok = ();
            type Error = CanonicalError;
            fn serialize_field<T: serde::Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), CanonicalError> {
                self.member(key.into(), value)
            }
            fn end(self) -> Result<(), CanonicalError> {
                self.close()
            }
        }
    )*};
}

impl_struct!(SerializeStruct, SerializeStructVariant);

/// Integer map keys become their decimal text, as in serde_json.
macro_rules! key_integers {
    ($($method:ident : $ty:ty),*) => {$(
        fn $method(self, v: $ty) -> Result<String, CanonicalError> {
            Ok(v.to_string())
        }
    )*};
}

/// A map key as text. Like serde_json, strings and integers make keys; nothing else does.
struct KeyText;

impl KeyText {
    fn refuse<T>(what: &str) -> Result<T, CanonicalError> {
        Err(CanonicalError::Serialize(format!(
            "a map key must be a string, not {what}"
        )))
    }
}

impl serde::Serializer for KeyText {
    type Ok = String;
    type Error = CanonicalError;
    type SerializeSeq = serde::ser::Impossible<String, CanonicalError>;
    type SerializeTuple = serde::ser::Impossible<String, CanonicalError>;
    type SerializeTupleStruct = serde::ser::Impossible<String, CanonicalError>;
    type SerializeTupleVariant = serde::ser::Impossible<String, CanonicalError>;
    type SerializeMap = serde::ser::Impossible<String, CanonicalError>;
    type SerializeStruct = serde::ser::Impossible<String, CanonicalError>;
    type SerializeStructVariant = serde::ser::Impossible<String, CanonicalError>;

    fn serialize_str(self, v: &str) -> Result<String, CanonicalError> {
        Ok(v.to_string())
    }
    fn serialize_char(self, v: char) -> Result<String, CanonicalError> {
        Ok(v.to_string())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<String, CanonicalError> {
        Ok(variant.to_string())
    }
    fn serialize_newtype_struct<T: serde::Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<String, CanonicalError> {
        value.serialize(self)
    }
    key_integers!(
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64
    );
    fn serialize_bool(self, _: bool) -> Result<String, CanonicalError> {
        Self::refuse("a boolean")
    }
    fn serialize_f32(self, _: f32) -> Result<String, CanonicalError> {
        Self::refuse("a number with a fraction")
    }
    fn serialize_f64(self, _: f64) -> Result<String, CanonicalError> {
        Self::refuse("a number with a fraction")
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String, CanonicalError> {
        Self::refuse("bytes")
    }
    fn serialize_none(self) -> Result<String, CanonicalError> {
        Self::refuse("null")
    }
    fn serialize_some<T: serde::Serialize + ?Sized>(self, _: &T) -> Result<String, CanonicalError> {
        Self::refuse("an option")
    }
    fn serialize_unit(self) -> Result<String, CanonicalError> {
        Self::refuse("null")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String, CanonicalError> {
        Self::refuse("null")
    }
    fn serialize_newtype_variant<T: serde::Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, CanonicalError> {
        Self::refuse("an enum")
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, CanonicalError> {
        Self::refuse("an array")
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, CanonicalError> {
        Self::refuse("an array")
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, CanonicalError> {
        Self::refuse("an array")
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, CanonicalError> {
        Self::refuse("an enum")
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, CanonicalError> {
        Self::refuse("an object")
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, CanonicalError> {
        Self::refuse("an object")
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, CanonicalError> {
        Self::refuse("an enum")
    }
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
    let bytes = s.as_bytes();
    // Nearly all text (hex, URNs, numbers as strings) needs no escape at all: one pass over
    // every byte without an early exit, which the compiler vectorizes, then a single copy.
    if !bytes.iter().fold(false, |any, &b| any | needs_escape(b)) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    // Otherwise copy it in runs, byte for byte (UTF-8 is kept as it is).
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !needs_escape(b) {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        start = i + 1;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Whether `b` is written escaped in a JSON string: a control character, `"` or `\\`.
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

#[cfg(test)]
fn write_string_by_chars(s: &str, out: &mut Vec<u8>) {
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

/// Whether the arrays and objects of `json` nest deeper than `max` (see [`nesting_depth`]).
/// JSON cannot nest deeper than it has opening brackets, and counting those is one cheap pass
/// (vectorized, no branches), so the exact scan runs only for bracket-heavy text. The count
/// runs in byte-wide lanes over chunks of 255 bytes, which cannot overflow a `u8`: a dozen
/// times faster than counting in `usize` lanes.
pub fn nests_deeper_than(json: &[u8], max: usize) -> bool {
    let brackets: usize = json
        .chunks(255)
        .map(|c| {
            usize::from(
                c.iter()
                    .fold(0u8, |n, &b| n.wrapping_add(u8::from(b == b'{' || b == b'['))),
            )
        })
        .sum();
    brackets > max && nesting_depth(json) > max
}

/// How deeply the arrays and objects of `json` nest (0 for a scalar), counting brackets outside
/// strings. For JSON that does not parse, a number that means nothing.
pub fn nesting_depth(json: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in json {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
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

    fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-(1i64 << 54)..(1i64 << 54)).prop_map(Value::from),
            (-3i64..3).prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".*".prop_map(Value::from),
            "[a-c\\\\\"\\x00-\\x1f\\x7f é]{0,6}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map("[a-dé\\x01\"]{0,3}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// The direct serializer writes exactly what the `Value` path writes, errors included.
    #[test]
    fn direct_encoding_equals_the_value_path() {
        use proptest::test_runner::{Config, TestRunner};
        let mut runner = TestRunner::new(Config {
            cases: 3000,
            ..Config::default()
        });
        runner
            .run(&any_json(), |v| {
                proptest::prop_assert_eq!(encode(&v), to_canonical(&v));
                Ok(())
            })
            .unwrap();
        runner
            .run(&".*", |text| {
                let (mut fast, mut slow) = (Vec::new(), Vec::new());
                write_string(&text, &mut fast);
                write_string_by_chars(&text, &mut slow);
                proptest::prop_assert_eq!(fast, slow);
                Ok(())
            })
            .unwrap();
    }

    /// Members given in any order — in order, out of order from any position on, nested, with a
    /// key twice — encode as the sorted `Value` does, or fail on the repeated key: the direct
    /// writing of ordered members and the fallback to buffering agree.
    #[test]
    fn members_in_any_order_encode_sorted() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        /// A map serialized with its members in the given order.
        #[derive(Debug, Clone)]
        struct Members(Vec<(String, Inner)>);
        #[derive(Debug, Clone)]
        enum Inner {
            Int(i64),
            Map(Members),
        }
        impl serde::Serialize for Members {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
            }
        }
        impl serde::Serialize for Inner {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    Inner::Int(n) => s.serialize_i64(*n),
                    Inner::Map(m) => m.serialize(s),
                }
            }
        }
        /// The same members as a `Value` (the last of a repeated key wins), and whether a key
        /// repeats anywhere.
        fn reference(m: &Members) -> (Value, bool) {
            let mut map = serde_json::Map::new();
            let mut repeated = false;
            for (k, v) in &m.0 {
                let (v, r) = match v {
                    Inner::Int(n) => (json!(n), false),
                    Inner::Map(inner) => reference(inner),
                };
                repeated |= r || map.insert(k.clone(), v).is_some();
            }
            (Value::Object(map), repeated)
        }
        let leaf = prop_oneof![
            (-1000i64..1000).prop_map(Inner::Int),
            Just(Inner::Map(Members(Vec::new())))
        ];
        let inner = leaf.prop_recursive(3, 24, 6, |inner| {
            proptest::collection::vec(("[a-d]{0,2}", inner), 0..6).prop_map(|v| Inner::Map(Members(v)))
        });
        let members = proptest::collection::vec(("[a-e]{0,2}|é|z{1,3}", inner), 0..8).prop_map(Members);
        let mut runner = TestRunner::new(Config {
            cases: 3000,
            ..Config::default()
        });
        runner
            .run(&members, |m| {
                let (value, repeated) = reference(&m);
                let got = encode(&m);
                if repeated {
                    prop_assert!(matches!(got, Err(CanonicalError::Serialize(_))), "{got:?}");
                } else {
                    prop_assert_eq!(got, to_canonical(&value));
                }
                Ok(())
            })
            .unwrap();
    }

    /// The bracket count only ever skips the exact scan when the answer is already known.
    #[test]
    fn the_depth_precheck_agrees_with_the_exact_depth() {
        use proptest::test_runner::{Config, TestRunner};
        let mut runner = TestRunner::new(Config {
            cases: 2000,
            ..Config::default()
        });
        runner
            .run(&("[\\[\\]{}\"\\\\a,:]{0,40}", 0usize..8), |(text, max)| {
                let json = text.as_bytes();
                proptest::prop_assert_eq!(nests_deeper_than(json, max), nesting_depth(json) > max);
                Ok(())
            })
            .unwrap();
        let deep = format!("{}{}", "[".repeat(70), "]".repeat(70));
        assert!(nests_deeper_than(deep.as_bytes(), 64));
        // Longer than one 255-byte chunk of the count, all brackets.
        let deeper = format!("{}{}", "[".repeat(600), "]".repeat(600));
        assert!(nests_deeper_than(deeper.as_bytes(), 599));
        assert!(!nests_deeper_than(deeper.as_bytes(), 600));
        let in_strings = format!("[\"{}\"]", "[{".repeat(70));
        assert!(!nests_deeper_than(in_strings.as_bytes(), 64));
    }

    #[test]
    fn direct_encoding_of_typed_values() {
        use std::collections::BTreeMap;
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        enum Shape {
            Unit,
            New(u8),
            Tuple(u8, String),
            Named { zeta: i32, alpha: bool },
        }
        #[derive(serde::Serialize)]
        struct T {
            z: Vec<Shape>,
            #[serde(skip_serializing_if = "Option::is_none")]
            absent: Option<u8>,
            present: Option<char>,
            a: BTreeMap<u32, &'static str>,
            #[serde(with = "serde_bytes_as_seq")]
            b: Vec<u8>,
        }
        mod serde_bytes_as_seq {
            pub(super) fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(v)
            }
        }
        let t = T {
            z: vec![
                Shape::Unit,
                Shape::New(1),
                Shape::Tuple(2, "x\n".into()),
                Shape::Named { zeta: -3, alpha: true },
            ],
            absent: None,
            present: Some('\u{1}'),
            a: [(10, "ten"), (9, "nine")].into_iter().collect(),
            b: vec![0, 255],
        };
        let direct = encode(&t).unwrap();
        assert_eq!(direct, to_canonical(&serde_json::to_value(&t).unwrap()).unwrap());
        assert_eq!(
            String::from_utf8(direct).unwrap(),
            r#"{"a":{"10":"ten","9":"nine"},"b":[0,255],"present":"\u0001","z":["unit",{"new":1},{"tuple":[2,"x\n"]},{"named":{"alpha":true,"zeta":-3}}]}"#
        );
        assert_eq!(encode(&Some(1.5)), Err(CanonicalError::Float("1.5".into())));
        assert_eq!(encode(&None::<u8>), Err(CanonicalError::Null));
        assert_eq!(
            encode(&(1u64 << 53)),
            Err(CanonicalError::NumberOutOfRange("9007199254740992".into()))
        );
        assert_eq!(encode(&(-(1i64 << 53) + 1)).unwrap(), b"-9007199254740991");
        let two_keys: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
        assert!(matches!(encode(&two_keys), Err(CanonicalError::Serialize(_))));
    }
}
