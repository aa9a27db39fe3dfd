//! ed25519 keys and signatures as checked newtypes.
//!
//! * [`PublicKey`] is validated when it is built: it must be the canonical encoding of a curve
//!   point that is not of small order (FORMAT.md §1). Keys are held to this once, where they
//!   enter (a genesis, an admission, any payload that names a key); signatures are not.
//! * [`SecretKey`] zeroizes on drop and redacts its `Debug` output. Keys are made and entries
//!   signed with ed25519-dalek.
//! * Signatures are valid under **ZIP 215** ([`PublicKey::verify`]), checked with the
//!   consensus-grade ed25519-zebra: `S` canonical, `A` and `R` decode (unreduced encodings
//!   allowed), and the cofactored equation `[8][S]B = [8]R + [8][k]A` holds. Single and batch
//!   verification accept exactly the same signatures, so every path batches
//!   ([`verify_all`]).

use std::{
    collections::HashMap,
    fmt,
    sync::{LazyLock, RwLock},
};

use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signer, SigningKey};
use ed25519_zebra::{VerificationKey, VerificationKeyBytes, batch};
use serde::{Deserialize, Serialize};

use crate::error::{KeyError, SignatureError};

/// Length of a public key in bytes.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of a signature in bytes.
pub const SIGNATURE_LEN: usize = 64;

/// An ed25519 public key: the canonical encoding of a point that is not of small order.
///
/// Text form: 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey([u8; PUBLIC_KEY_LEN]);

/// Keys already accepted by [`PublicKey::from_bytes`], decompressed for verification.
/// Checking a key (decompression, re-encoding, the order) costs about as much as verifying a
/// signature, and a ledger meets the same signers again and again. Bounded: it starts over
/// when full. It only ever holds keys that passed every check, so a hit is always sound.
static CHECKED_KEYS: LazyLock<RwLock<HashMap<[u8; PUBLIC_KEY_LEN], VerificationKey>>> = LazyLock::new(Default::default);
const CHECKED_KEYS_MAX: usize = 1 << 16;

fn checked_key(bytes: &[u8; PUBLIC_KEY_LEN]) -> Option<VerificationKey> {
    CHECKED_KEYS.read().ok()?.get(bytes).copied()
}

fn remember_key(bytes: &[u8; PUBLIC_KEY_LEN], vk: VerificationKey) {
    if let Ok(mut m) = CHECKED_KEYS.write() {
        if m.len() >= CHECKED_KEYS_MAX {
            m.clear();
        }
        m.insert(*bytes, vk);
    }
}

/// The lowercase hex of 32 bytes, on the stack: keys and ids are written into every canonical
/// payload, and building a `String` through `hex::encode`'s character iterator cost more than
/// the rest of writing them.
pub(crate) fn hex32(bytes: &[u8; 32]) -> Hex32 {
    let mut out = [0u8; 64];
    // The output is exactly twice the input's length, so this cannot fail.
    let _ = hex::encode_to_slice(bytes, &mut out);
    Hex32(out)
}

/// 64 lowercase hex characters (see [`hex32`]).
pub(crate) struct Hex32([u8; 64]);

impl std::ops::Deref for Hex32 {
    type Target = str;
    fn deref(&self) -> &str {
        // Hex digits are ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl PublicKey {
    /// Builds a key from its 32 bytes: the canonical encoding of a point that is not of small
    /// order. (Points with a torsion component are keys: ZIP 215 verification treats them as
    /// it treats any other, in batches and singly alike.)
    pub fn from_bytes(bytes: &[u8; PUBLIC_KEY_LEN]) -> Result<Self, KeyError> {
        if checked_key(bytes).is_some() {
            return Ok(PublicKey(*bytes));
        }
        let point = CompressedEdwardsY(*bytes).decompress().ok_or(KeyError::InvalidPoint)?;
        if point.compress().to_bytes() != *bytes {
            return Err(KeyError::NonCanonical);
        }
        if point.is_small_order() {
            return Err(KeyError::WeakKey);
        }
        let vk = VerificationKey::try_from(*bytes).map_err(|_| KeyError::InvalidPoint)?;
        remember_key(bytes, vk);
        Ok(PublicKey(*bytes))
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.0
    }

    /// Lowercase hex (64 characters).
    pub fn to_hex(&self) -> String {
        String::from(&*hex32(&self.0))
    }

    /// The first 8 hex characters, for logs and terminal output.
    pub fn fmt_short(&self) -> String {
        hex::encode(&self.0[..4])
    }

    fn verification_key(&self) -> Option<VerificationKey> {
        checked_key(&self.0).or_else(|| VerificationKey::try_from(self.0).ok())
    }

    /// Verifies `sig` over `msg` under ZIP 215: `S < ℓ`, `R` decodes (an unreduced encoding
    /// too), and `[8][S]B = [8]R + [8][k]A` with `k = SHA-512(R ‖ A ‖ msg) mod ℓ` over the
    /// bytes as given.
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> Result<(), SignatureError> {
        let vk = self.verification_key().ok_or(SignatureError::Invalid)?;
        vk.verify(&ed25519_zebra::Signature::from_bytes(&sig.0), msg)
            .map_err(|_| SignatureError::Invalid)
    }
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
        f.write_str(&hex32(&self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.fmt_short())
    }
}

impl Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex32(&self.0))
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

    /// True when the scalar `S` (the last 32 bytes) is canonical, i.e. below the group order ℓ
    /// (ZIP 215 refuses any other).
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

/// The signature rule on its own (FORMAT.md §1): whether `sig` is a ZIP 215 signature of `msg`
/// under the key encoded by `key`, whatever the key (the key rule, which [`PublicKey`] applies,
/// is separate). For tests of the rule and other implementations' vectors.
pub fn signature_holds(key: &[u8; PUBLIC_KEY_LEN], msg: &[u8], sig: &Signature) -> bool {
    VerificationKey::try_from(*key)
        .and_then(|vk| vk.verify(&ed25519_zebra::Signature::from_bytes(&sig.0), msg))
        .is_ok()
}

/// [`signature_holds`] for many at once, as one batch equation.
pub fn signatures_hold(items: &[([u8; PUBLIC_KEY_LEN], &[u8], Signature)]) -> bool {
    let items: Vec<batch::Item> = items
        .iter()
        .map(|(k, m, s)| {
            (
                VerificationKeyBytes::from(*k),
                ed25519_zebra::Signature::from_bytes(&s.0),
                *m,
            )
                .into()
        })
        .collect();
    batch_holds(&items)
}

/// One signature to check: the signer's key, the signed bytes, the signature.
pub type Triple<'a> = (PublicKey, &'a [u8], Signature);

/// Lists shorter than this are verified singly (a batch would cost more than it saves).
const BATCH_FROM: usize = 4;
/// The most signatures in one batch equation (larger lists are split over the cores first).
const BATCH_MAX: usize = 2048;
/// The fewest signatures per core worth a thread of their own: a thread costs tens of
/// microseconds to start, a signature in a batch about twenty-five, and a node verifies one
/// to a few entries at a time most of the time (a gossip message, a submission).
const PER_CORE_FROM: usize = 64;

fn batch_item(&(k, m, s): &Triple<'_>) -> batch::Item {
    let sig = ed25519_zebra::Signature::from_bytes(&s.0);
    (VerificationKeyBytes::from(k.0), sig, m).into()
}

/// Checks the batch equation for `items` (ZIP 215): `Ok` exactly when every signature would
/// pass [`PublicKey::verify`] (up to the 2^-128 chance the random weights allow).
fn batch_holds(items: &[batch::Item]) -> bool {
    let mut v = batch::Verifier::new();
    for it in items {
        v.queue(it.clone());
    }
    v.verify(rand_core::OsRng).is_ok()
}

/// Verifies `(key, message, signature)` triples in one batch: `Ok(())` exactly when every one
/// of them passes [`PublicKey::verify`]. Under ZIP 215 the batch and the single equation accept
/// the same signatures, so this is safe on any input; it does not say which one failed
/// ([`verify_all`] does).
pub fn verify_batch(items: &[Triple<'_>]) -> Result<(), SignatureError> {
    let items: Vec<batch::Item> = items.iter().map(batch_item).collect();
    if batch_holds(&items) {
        Ok(())
    } else {
        Err(SignatureError::Invalid)
    }
}

/// Verifies each triple on its own, returning one result per item.
pub fn verify_each(items: &[Triple<'_>]) -> Vec<Result<(), SignatureError>> {
    items.iter().map(|(k, m, s)| k.verify(m, s)).collect()
}

/// Verifies many triples, on every core, in batches; one result per item, equal to
/// [`verify_each`] in every case.
///
/// A batch that fails is split in two and each half is checked as a batch; a half that holds
/// is done, a half that fails is split again, down to single checks. If both halves of a
/// failing batch fail too, bad signatures are not rare here (a flood), and the rest of that
/// batch is checked singly: a flood costs at most one batch and two half-batches more than
/// single verification of every signature (about 1.7× single), and one bad signature among
/// many costs about three batch checks of its batch.
///
/// The items are grouped by signer before they are split: a batch equation has one term per
/// signer however many of that signer's signatures it holds, so a signer's signatures are
/// kept together in one batch (a list of 1,000 entries from 500 signers, split in two as it
/// came, would give two batches of 500 terms; grouped, each half has about 250 signers).
/// Short lists stay on the calling thread ([`PER_CORE_FROM`]).
pub fn verify_all(items: &[Triple<'_>]) -> Vec<Result<(), SignatureError>> {
    let threads = crate::par::cores();
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_unstable_by_key(|&i| items[i].0);
    let grouped: Vec<Triple<'_>> = order.iter().map(|&i| items[i]).collect();
    let per = grouped
        .len()
        .div_ceil(threads.max(1))
        .max(PER_CORE_FROM)
        .clamp(1, BATCH_MAX);
    let chunks: Vec<&[Triple<'_>]> = grouped.chunks(per).collect();
    let verdicts = crate::par::map_each(&chunks, |chunk| {
        let batch: Vec<batch::Item> = chunk.iter().map(batch_item).collect();
        let mut out = vec![Ok(()); chunk.len()];
        settle(&batch, &mut out, false);
        out
    });
    let mut out = vec![Ok(()); items.len()];
    for (&i, verdict) in order.iter().zip(verdicts.into_iter().flatten()) {
        out[i] = verdict;
    }
    out
}

/// Fills `out` with the verdict of each item; `failed` says the batch is known to fail.
fn settle(items: &[batch::Item], out: &mut [Result<(), SignatureError>], failed: bool) {
    if items.len() < BATCH_FROM {
        for (it, o) in items.iter().zip(out.iter_mut()) {
            *o = it.clone().verify_single().map_err(|_| SignatureError::Invalid);
        }
        return;
    }
    if !failed && batch_holds(items) {
        return; // every item is already Ok
    }
    let mid = items.len() / 2;
    let (a, b) = items.split_at(mid);
    let (oa, ob) = out.split_at_mut(mid);
    match (batch_holds(a), batch_holds(b)) {
        (true, true) => {
            // The whole failed but both halves hold: only a one-in-2^128 weight does that.
            // Decide every item on its own rather than trust either answer.
            for (it, o) in items.iter().zip(out.iter_mut()) {
                *o = it.clone().verify_single().map_err(|_| SignatureError::Invalid);
            }
        }
        (true, false) => settle(b, ob, true),
        (false, true) => settle(a, oa, true),
        (false, false) => {
            for (it, o) in items.iter().zip(out.iter_mut()) {
                *o = it.clone().verify_single().map_err(|_| SignatureError::Invalid);
            }
        }
    }
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
    fn mixed_order_keys_are_keys_and_verify_under_zip_215() {
        use curve25519_dalek::{constants::EIGHT_TORSION, edwards::CompressedEdwardsY};
        let k = SecretKey::from_seed(&[6; 32]).public();
        let point = CompressedEdwardsY(*k.as_bytes()).decompress().unwrap();
        let mixed = (point + EIGHT_TORSION[1]).compress().to_bytes();
        // A key with a torsion component is a key (canonical, not of small order).
        let m = PublicKey::from_bytes(&mixed).unwrap();
        assert_eq!(PublicKey::from_bytes(&mixed).unwrap(), m); // again, from the cache
        // The honest key still verifies its own signatures, and not another key's.
        let msg = b"cached";
        let sig = SecretKey::from_seed(&[6; 32]).sign(msg);
        assert!(k.verify(msg, &sig).is_ok());
        assert!(k.verify(b"other", &sig).is_err());
        assert!(m.verify(msg, &sig).is_err());
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
    fn an_r_replaced_by_the_identity_is_refused_by_both_paths() {
        // The equation no longer holds (R was rB; S unchanged).
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
        assert!(all[4].is_err());
        assert_eq!(all.iter().filter(|r| r.is_ok()).count(), 9);
    }

    /// Grouping by signer reorders the work; each verdict must still land on its own item.
    #[test]
    fn verdicts_keep_their_places_when_signers_repeat() {
        let keys: Vec<_> = (0..3u8).map(|i| SecretKey::from_seed(&[i + 20; 32])).collect();
        let msgs: Vec<Vec<u8>> = (0..600u16).map(|i| i.to_le_bytes().to_vec()).collect();
        let mut items: Vec<_> = msgs
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let k = &keys[(i * 7) % 3];
                (k.public(), m.as_slice(), k.sign(m))
            })
            .collect();
        for bad in [0, 1, 299, 300, 301, 598] {
            items[bad].2.0[40] ^= 1;
        }
        let all = verify_all(&items);
        assert_eq!(all, verify_each(&items));
        let refused: Vec<usize> = (0..all.len()).filter(|&i| all[i].is_err()).collect();
        assert_eq!(refused, [0, 1, 299, 300, 301, 598]);
    }

    #[test]
    fn secret_key_debug_is_redacted() {
        let k = SecretKey::from_seed(&[9; 32]);
        assert!(!format!("{k:?}").contains(&hex::encode([9u8; 32])));
    }
}
