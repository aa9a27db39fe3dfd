//! ed25519 keys and signatures as checked newtypes.
//!
//! * [`PublicKey`] is validated when it is built: a point that does not decompress, or a
//!   small-order ("weak") key, is refused, so a stored key is always usable for strict
//!   verification.
//! * [`SecretKey`] zeroizes on drop and redacts its `Debug` output.
//! * Verification is **strict** everywhere ([`PublicKey::verify`]); the batch path
//!   ([`verify_batch`]) first applies the same checks that strict verification applies to the
//!   key and to `S`, so both accept exactly the same signatures.

use std::{
    collections::HashMap,
    fmt,
    sync::{LazyLock, RwLock},
};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::error::{KeyError, SignatureError};

/// Length of a public key in bytes.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of a signature in bytes.
pub const SIGNATURE_LEN: usize = 64;

/// An ed25519 public key, checked to be a valid point of large order.
///
/// Text form: 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey([u8; PUBLIC_KEY_LEN]);

/// Keys already accepted by [`PublicKey::from_bytes`], with their decompressed points.
/// Checking a key (decompression and a torsion check) costs about as much as verifying a
/// signature, and a ledger meets the same signers again and again. Bounded: it starts over
/// when full. It only ever holds keys that passed every check, so a hit is always sound.
static CHECKED_KEYS: LazyLock<RwLock<HashMap<[u8; PUBLIC_KEY_LEN], VerifyingKey>>> = LazyLock::new(Default::default);
const CHECKED_KEYS_MAX: usize = 1 << 16;

fn checked_key(bytes: &[u8; PUBLIC_KEY_LEN]) -> Option<VerifyingKey> {
    CHECKED_KEYS.read().ok()?.get(bytes).copied()
}

fn remember_key(bytes: &[u8; PUBLIC_KEY_LEN], vk: VerifyingKey) {
    if let Ok(mut m) = CHECKED_KEYS.write() {
        if m.len() >= CHECKED_KEYS_MAX {
            m.clear();
        }
        m.insert(*bytes, vk);
    }
}

impl PublicKey {
    /// Builds a key from its 32 bytes, refusing invalid and small-order points.
    pub fn from_bytes(bytes: &[u8; PUBLIC_KEY_LEN]) -> Result<Self, KeyError> {
        if checked_key(bytes).is_some() {
            return Ok(PublicKey(*bytes));
        }
        let vk = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::InvalidPoint)?;
        if vk.is_weak() {
            return Err(KeyError::WeakKey);
        }
        // A key with a torsion component (mixed order) can make cofactored batch verification
        // and cofactorless strict verification disagree. Keys made by key generation are
        // always torsion-free; anything else is refused.
        if !torsion_free(bytes) {
            return Err(KeyError::TorsionKey);
        }
        remember_key(bytes, vk);
        Ok(PublicKey(*bytes))
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.0
    }

    /// Lowercase hex (64 characters).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 8 hex characters, for logs and terminal output.
    pub fn fmt_short(&self) -> String {
        hex::encode(&self.0[..4])
    }

    fn verifying_key(&self) -> VerifyingKey {
        if let Some(vk) = checked_key(&self.0) {
            return vk;
        }
        // Checked in `from_bytes`; decompression cannot fail here, but never panic.
        VerifyingKey::from_bytes(&self.0).unwrap_or_else(|_| unreachable_key())
    }

    /// Strict ed25519 verification of `sig` over `msg` (RFC 8032 with the additional
    /// requirements of `verify_strict`: canonical `S`, canonical `R`, no small-order `R` or key).
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> Result<(), SignatureError> {
        let s = ed25519_dalek::Signature::from_bytes(&sig.0);
        self.verifying_key()
            .verify_strict(msg, &s)
            .map_err(|_| SignatureError::Invalid)
    }
}

#[cold]
fn unreachable_key() -> VerifyingKey {
    // The identity point would be weak and is refused at construction; this function only
    // exists so that no code path panics. It is never reached for a constructed PublicKey.
    VerifyingKey::default()
}

impl std::str::FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let mut bytes = [0u8; PUBLIC_KEY_LEN];
        if s.len() != PUBLIC_KEY_LEN * 2 {
            return Err(KeyError::BadLength(s.len()));
        }
        hex::decode_to_slice(s, &mut bytes).map_err(|_| KeyError::NotHex)?;
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(KeyError::NotLowercase);
        }
        PublicKey::from_bytes(&bytes)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.fmt_short())
    }
}

impl Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An ed25519 signature (64 bytes). Text form: 128 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; SIGNATURE_LEN]);

impl Signature {
    /// Lowercase hex (128 characters).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 128 lowercase hex characters.
    pub fn from_hex(s: &str) -> Result<Self, SignatureError> {
        if s.len() != SIGNATURE_LEN * 2 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(SignatureError::Malformed);
        }
        let mut bytes = [0u8; SIGNATURE_LEN];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| SignatureError::Malformed)?;
        Ok(Signature(bytes))
    }

    /// True when the scalar `S` (the last 32 bytes) is canonical, i.e. below the group order ℓ.
    /// Strict verification refuses non-canonical `S`; the batch path checks it first.
    pub fn has_canonical_s(&self) -> bool {
        let mut s = [0u8; 32];
        s.copy_from_slice(&self.0[32..]);
        // ℓ = 2^252 + 27742317777372353535851937790883648493, little endian.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
        ];
        for i in (0..32).rev() {
            if s[i] < L[i] {
                return true;
            }
            if s[i] > L[i] {
                return false;
            }
        }
        false // equal to ℓ: not canonical
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}…)", &self.to_hex()[..16])
    }
}

/// An ed25519 secret key (the 32-byte seed). Zeroized on drop; `Debug` is redacted.
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Self {
        SecretKey(SigningKey::generate(&mut rand_core::OsRng))
    }

    /// A key from a 32-byte seed (a key file's, or for tests and test vectors).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        SecretKey(SigningKey::from_bytes(seed))
    }

    /// The seed bytes. Handle with care.
    pub fn to_seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs `msg` (deterministic ed25519, RFC 8032).
    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature(self.0.sign(msg).to_bytes())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(<redacted>, public {})", self.public().fmt_short())
    }
}

/// Verifies many `(key, message, signature)` triples at once.
///
/// Returns `Ok(())` only if every signature would pass [`PublicKey::verify`]. Before the batch
/// equation is checked, each signature's `S` must be canonical and each `R` must decompress to
/// a point of large order, exactly as `verify_strict` requires; keys are already checked by
/// [`PublicKey`]. If the batch fails, callers fall back to single verification to find which
/// signature is bad ([`verify_each`]).
pub fn verify_batch(items: &[(PublicKey, &[u8], Signature)]) -> Result<(), SignatureError> {
    if items.is_empty() {
        return Ok(());
    }
    let mut msgs = Vec::with_capacity(items.len());
    let mut sigs = Vec::with_capacity(items.len());
    let mut keys = Vec::with_capacity(items.len());
    for (k, m, s) in items {
        if !s.has_canonical_s() || !r_is_strict(s) {
            return Err(SignatureError::Invalid);
        }
        msgs.push(*m);
        sigs.push(ed25519_dalek::Signature::from_bytes(&s.0));
        keys.push(k.verifying_key());
    }
    ed25519_dalek::verify_batch(&msgs, &sigs, &keys).map_err(|_| SignatureError::Invalid)
}

/// `verify_strict` refuses signatures whose `R` is of small order. The batch equation does not
/// check this, so it is checked here. `R` must also decompress.
///
/// It also requires `R` to be torsion-free: the batch equation is multiplied by the cofactor
/// in effect (random weights), so a torsion component in `R` could pass the batch while the
/// strict, cofactorless equation refuses it. With torsion-free `R` and keys the two agree;
/// a signature whose `R` is not torsion-free is left to single verification (which refuses
/// it whenever the key is torsion-free, as every [`PublicKey`] is).
fn r_is_strict(sig: &Signature) -> bool {
    let mut r = [0u8; 32];
    r.copy_from_slice(&sig.0[..32]);
    match VerifyingKey::from_bytes(&r) {
        Ok(point) => !point.is_weak() && torsion_free(&r),
        Err(_) => false,
    }
}

/// True if the compressed point decompresses and lies in the prime-order subgroup.
fn torsion_free(bytes: &[u8; 32]) -> bool {
    curve25519_dalek::edwards::CompressedEdwardsY(*bytes)
        .decompress()
        .is_some_and(|p| p.is_torsion_free())
}

/// Verifies each triple on its own (strict), returning one result per item.
pub fn verify_each(items: &[(PublicKey, &[u8], Signature)]) -> Vec<Result<(), SignatureError>> {
    items.iter().map(|(k, m, s)| k.verify(m, s)).collect()
}

/// Verifies many triples; one result per item, equal to [`verify_each`] in every case.
///
/// This is strict single verification, on every core for long lists. Batching ([`verify_batch`]) needs a torsion check of
/// every `R` first, so that batch and strict verification can never disagree (nodes must
/// agree on every entry); measured with `greenledger-bench`, that check costs more than the
/// batch saves (docs/BENCHMARKS.md), so the batch is kept for callers who choose it.
pub fn verify_all(items: &[(PublicKey, &[u8], Signature)]) -> Vec<Result<(), SignatureError>> {
    crate::par::map(items, |(k, m, s)| k.verify(m, s))
}

/// Batch-verifies in chunks and, if a chunk fails, pinpoints the failures with single
/// verification. Equals [`verify_each`] in every case.
pub fn verify_all_batched(items: &[(PublicKey, &[u8], Signature)]) -> Vec<Result<(), SignatureError>> {
    // Batches of a bounded size keep the fallback cheap when one signature is bad.
    const CHUNK: usize = 256;
    let mut out = Vec::with_capacity(items.len());
    for chunk in items.chunks(CHUNK) {
        if verify_batch(chunk).is_ok() {
            out.extend(chunk.iter().map(|_| Ok(())));
        } else {
            out.extend(verify_each(chunk));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_roundtrip() {
        let k = SecretKey::from_seed(&[7; 32]);
        let sig = k.sign(b"hello");
        assert!(k.public().verify(b"hello", &sig).is_ok());
        assert!(k.public().verify(b"hellO", &sig).is_err());
    }

    #[test]
    fn public_key_text_forms() {
        let k = SecretKey::from_seed(&[1; 32]).public();
        let hex = k.to_hex();
        assert_eq!(hex.parse::<PublicKey>().unwrap(), k);
        assert!(matches!(
            hex.to_uppercase().parse::<PublicKey>(),
            Err(KeyError::NotLowercase)
        ));
        assert!(matches!(hex[..10].parse::<PublicKey>(), Err(KeyError::BadLength(10))));
        assert!(matches!("zz".repeat(32).parse::<PublicKey>(), Err(KeyError::NotHex)));
    }

    #[test]
    fn small_order_keys_are_refused() {
        // The identity point (encoding 0x01 followed by zeros) has order 1.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(PublicKey::from_bytes(&identity), Err(KeyError::WeakKey)));
        // A point of order 2: y = -1.
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        assert!(matches!(PublicKey::from_bytes(&minus_one), Err(KeyError::WeakKey)));
    }

    #[test]
    fn mixed_order_keys_are_refused() {
        use curve25519_dalek::{constants::EIGHT_TORSION, edwards::CompressedEdwardsY};
        let k = SecretKey::from_seed(&[6; 32]).public();
        let point = CompressedEdwardsY(*k.as_bytes()).decompress().unwrap();
        let mixed = (point + EIGHT_TORSION[1]).compress().to_bytes();
        assert!(matches!(PublicKey::from_bytes(&mixed), Err(KeyError::TorsionKey)));
        // The checked-key cache holds only accepted keys: the valid key is accepted again (now
        // from the cache) and the mixed one is still refused, however often it is asked.
        assert_eq!(PublicKey::from_bytes(k.as_bytes()).unwrap(), k);
        assert_eq!(PublicKey::from_bytes(k.as_bytes()).unwrap(), k);
        for _ in 0..3 {
            assert!(matches!(PublicKey::from_bytes(&mixed), Err(KeyError::TorsionKey)));
        }
        let msg = b"cached";
        let sig = SecretKey::from_seed(&[6; 32]).sign(msg);
        assert!(k.verify(msg, &sig).is_ok());
        assert!(k.verify(b"other", &sig).is_err());
    }

    #[test]
    fn non_canonical_s_is_refused_by_both_paths() {
        let k = SecretKey::from_seed(&[3; 32]);
        let msg = b"edge case".as_slice();
        let good = k.sign(msg);
        // S + ℓ is the same scalar mod ℓ; non-strict verifiers may accept it.
        let mut bad = good;
        let l: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (i, li) in l.iter().enumerate() {
            let v = bad.0[32 + i] as u16 + *li as u16 + carry;
            bad.0[32 + i] = v as u8;
            carry = v >> 8;
        }
        assert!(!bad.has_canonical_s());
        assert!(k.public().verify(msg, &bad).is_err());
        assert!(verify_batch(&[(k.public(), msg, bad)]).is_err());
        assert!(verify_batch(&[(k.public(), msg, good)]).is_ok());
    }

    #[test]
    fn small_order_r_is_refused_by_both_paths() {
        // A signature whose R is the identity point cannot pass verify_strict.
        let k = SecretKey::from_seed(&[4; 32]);
        let mut sig = k.sign(b"m");
        sig.0[..32].copy_from_slice(&{
            let mut id = [0u8; 32];
            id[0] = 1;
            id
        });
        assert!(k.public().verify(b"m", &sig).is_err());
        assert!(verify_batch(&[(k.public(), b"m".as_slice(), sig)]).is_err());
    }

    #[test]
    fn batch_equals_single_on_mixed_input() {
        let keys: Vec<_> = (0..10u8).map(|i| SecretKey::from_seed(&[i; 32])).collect();
        let msgs: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 10]).collect();
        let mut items: Vec<_> = keys
            .iter()
            .zip(&msgs)
            .map(|(k, m)| (k.public(), m.as_slice(), k.sign(m)))
            .collect();
        items[4].2.0[5] ^= 1;
        let all = verify_all(&items);
        let each = verify_each(&items);
        assert_eq!(all, each);
        assert_eq!(verify_all_batched(&items), each);
        assert!(all[4].is_err());
        assert_eq!(all.iter().filter(|r| r.is_ok()).count(), 9);
    }

    #[test]
    fn secret_key_debug_is_redacted() {
        let k = SecretKey::from_seed(&[9; 32]);
        assert!(!format!("{k:?}").contains(&hex::encode([9u8; 32])));
    }
}
