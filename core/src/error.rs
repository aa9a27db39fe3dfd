//! Error types, one small enum per concern. Messages are lowercase and say what is wrong.

use thiserror::Error;

/// A public key that cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyError {
    /// Wrong length of the hex form.
    #[error("a public key is 64 hex characters, got {0}")]
    BadLength(usize),
    /// Not hexadecimal.
    #[error("a public key must be hexadecimal")]
    NotHex,
    /// Uppercase hex (refused so that each key has one text form).
    #[error("a public key must be written in lowercase hex")]
    NotLowercase,
    /// The bytes are not a point on the curve.
    #[error("not a valid ed25519 public key (the point does not decompress)")]
    InvalidPoint,
    /// A small-order point, for which signatures prove nothing.
    #[error("weak ed25519 public key (small-order point) refused")]
    WeakKey,
    /// Not the canonical encoding of its point (`y ≥ p`, or `x = 0` with the sign bit set).
    #[error("not a canonical encoding of an ed25519 point (a key has one 32-byte form)")]
    NonCanonical,
}

/// A signature that does not verify or cannot be parsed.
#[derive(Debug, Error, PartialEq, Eq, Clone, Copy)]
pub enum SignatureError {
    /// Not 128 lowercase hex characters.
    #[error("signature is not 128 lowercase hex characters")]
    Malformed,
    /// ZIP 215 verification failed.
    #[error("signature does not verify (the signed bytes were changed, or signed by another key)")]
    Invalid,
}

/// A malformed hash id.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
#[error("invalid {what}: {detail}")]
pub struct IdError {
    /// "entry id" or "network id".
    pub what: &'static str,
    /// What is wrong.
    pub detail: String,
}

/// Bytes that are not canonical JSON (see [`crate::canonical`]).
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum CanonicalError {
    /// Not JSON at all, or truncated.
    #[error("not valid JSON: {0}")]
    NotJson(String),
    /// JSON, but not in canonical form.
    #[error(
        "not in canonical form (first difference at byte {offset}); signed payloads must be kept byte for byte, never reformatted"
    )]
    NotCanonical {
        /// Byte offset of the first difference from the canonical form.
        offset: usize,
    },
    /// A non-integer number.
    #[error("number {0} is not an integer; amounts are written as integer strings")]
    Float(String),
    /// An integer beyond ±(2^53 − 1).
    #[error("number {0} is too large for a JSON number; write it as a string")]
    NumberOutOfRange(String),
    /// A `null`.
    #[error("null is not allowed; omit absent fields")]
    Null,
    /// Serialization failed.
    #[error("cannot serialize: {0}")]
    Serialize(String),
}

/// A decimal or integer amount that cannot be used.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum AmountError {
    /// Not a decimal number in the accepted form.
    #[error("invalid amount {input:?}: {why}")]
    Invalid {
        /// What was given.
        input: String,
        /// What is wrong.
        why: String,
    },
    /// Too large.
    #[error("amount {0:?} is too large")]
    Overflow(String),
}

/// An entry (or genesis) whose bytes cannot be decoded into a valid payload.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum DecodeError {
    /// The envelope (`{"payload": …, "signature": …}`) is malformed.
    #[error("malformed entry envelope: {0}")]
    Envelope(String),
    /// The payload is not canonical JSON.
    #[error("payload: {0}")]
    Canonical(#[from] CanonicalError),
    /// A payload version this build does not know.
    #[error("unsupported format version {0} (this build reads version 1)")]
    UnsupportedVersion(u64),
    /// An entry kind this build does not know.
    #[error("unknown entry kind {0:?} (known: {known})", known = crate::kinds::known_kinds())]
    UnknownKind(String),
    /// A field is missing, unknown or of the wrong type.
    #[error("{0}")]
    Field(String),
    /// A field has an invalid value.
    #[error("invalid {field}: {why}")]
    Invalid {
        /// The field's name.
        field: &'static str,
        /// What is wrong.
        why: String,
    },
    /// The signature is malformed.
    #[error("{0}")]
    Signature(#[from] SignatureError),
}

/// The carbon roll-up cannot be computed.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum RollupError {
    /// A result does not fit (never wraps).
    #[error("arithmetic overflow while rolling up {component}: the values are too large")]
    Overflow {
        /// The emission component.
        component: &'static str,
    },
}
