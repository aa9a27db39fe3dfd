//! Content hashes: entry ids and network ids (blake3, 32 bytes, lowercase hex).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::IdError;

macro_rules! hash_id {
    ($(#[$m:meta])* $name:ident, $what:literal) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// Lowercase hex (64 characters).
            pub fn to_hex(&self) -> String {
                String::from(&*crate::keys::hex32(&self.0))
            }
            /// The first 12 hex characters, for terminal output and logs.
            pub fn fmt_short(&self) -> String {
                hex::encode(&self.0[..6])
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                if s.len() != 64 {
                    return Err(IdError { what: $what, detail: format!("expected 64 hex characters, got {}", s.len()) });
                }
                if s.bytes().any(|b| b.is_ascii_uppercase()) {
                    return Err(IdError { what: $what, detail: "hex must be lowercase".into() });
                }
                let mut b = [0u8; 32];
                hex::decode_to_slice(s, &mut b)
                    .map_err(|_| IdError { what: $what, detail: "not hexadecimal".into() })?;
                Ok($name(b))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&crate::keys::hex32(&self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.fmt_short())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&crate::keys::hex32(&self.0))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

hash_id!(
    /// An entry's id: blake3 of its signed bytes (domain tag included).
    EntryId,
    "entry id"
);
hash_id!(
    /// A network's id: blake3 of its genesis (domain tag included).
    NetworkId,
    "network id"
);
