//! The signature rule (FORMAT.md §1): ZIP 215 for signatures, and the key rule (canonical
//! encoding of a point not of small order) for keys.
//!
//! * The edge cases of "Taming the many EdDSAs" (Chalkias, Garillot, Nikolaenko, 2020), as the
//!   twelve vectors of the ed25519-speccheck suite: every row of FORMAT.md's table, pinned.
//! * A property test: signatures made with curve arithmetic here — honest ones, ones whose `R`
//!   or whose key carries a torsion component, changed ones, ones with `S + ℓ` — mixed at
//!   random: batch and single verification give the same verdict on every mixture, and every
//!   signature that strict verification (the rule before ZIP 215) accepts stays valid.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use curve25519_dalek::{
    constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION},
    edwards::EdwardsPoint,
    scalar::Scalar,
};
use greenledger_core::keys::{self, PublicKey, Signature, signature_holds, signatures_hold};
use proptest::prelude::*;
use sha2::{Digest, Sha512};

fn hex32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn sig(s: &str) -> Signature {
    Signature(hex::decode(s).unwrap().try_into().unwrap())
}

/// (message, key, signature, signature valid under ZIP 215, key admissible)
const CASES: [(&str, &str, &str, bool, bool); 12] = [
    // 0: small-order A and R, S = 0.
    (
        "8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a0000000000000000000000000000000000000000000000000000000000000000",
        true,
        false,
    ),
    // 1: small-order A, mixed-order R.
    (
        "9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
        true,
        false,
    ),
    // 2: mixed-order A, small-order R.
    (
        "aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab",
        "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e",
        true,
        true,
    ),
    // 3: mixed-order A and R; both equations hold.
    (
        "9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
        "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
        "9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009",
        true,
        true,
    ),
    // 4: mixed-order A and R; the cofactored equation holds, the cofactorless one does not.
    (
        "e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
        "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
        "160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed5125ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09",
        true,
        true,
    ),
    // 5: mixed-order A, prime-order R; fails where [8k mod ℓ]A replaces [8]([k]A).
    (
        "e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
        "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
        "21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405",
        true,
        true,
    ),
    // 6: S ≥ ℓ (top three bits clear).
    (
        "85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
        "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
        "e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514",
        false,
        true,
    ),
    // 7: S ≥ 2^253.
    (
        "85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
        "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
        "8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa19427e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22",
        false,
        true,
    ),
    // 8: non-canonical R (x = 0, sign bit set); k hashed over R re-encoded.
    (
        "9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
        "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff03be9678ac102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f",
        false,
        true,
    ),
    // 9: the same non-canonical R; k hashed over R's bytes as given.
    (
        "9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
        "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffca8c5b64cd208982aa38d4936621a4775aa233aa0505711d8fdcfdaa943d4908",
        true,
        true,
    ),
    // 10: non-canonical, small-order A; k hashed over A re-encoded.
    (
        "e96b7021eb39c1a163b6da4e3093dcd3f21387da4cc4572be588fafae23c155b",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
        true,
        false,
    ),
    // 11: the same A; k hashed over A's bytes as given.
    (
        "39a591f5321bbe07fd5a23dc2f39d025d74526615746727ceefd6e82ae65c06f",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
        true,
        false,
    ),
];

/// Every row of FORMAT.md §1's table: the signature's verdict under ZIP 215 (singly and as a
/// batch of one), whether its key is a key, and so whether an entry could carry it.
#[test]
fn the_edge_cases_of_taming_the_many_eddsas() {
    for (i, (msg, pk, s, sig_ok, key_ok)) in CASES.iter().enumerate() {
        let (msg, pk, s) = (hex::decode(msg).unwrap(), hex32(pk), sig(s));
        assert_eq!(signature_holds(&pk, &msg, &s), *sig_ok, "case {i}: single");
        assert_eq!(signatures_hold(&[(pk, &msg, s)]), *sig_ok, "case {i}: batch");
        let key = PublicKey::from_bytes(&pk);
        assert_eq!(key.is_ok(), *key_ok, "case {i}: key {key:?}");
        if let Ok(k) = key {
            assert_eq!(k.verify(&msg, &s).is_ok(), *sig_ok, "case {i}: through the key");
        }
    }
    // All twelve in one batch: it fails (some are invalid), and settling it finds exactly the
    // invalid ones among the admissible keys.
    let items: Vec<([u8; 32], Vec<u8>, Signature)> = CASES
        .iter()
        .map(|(m, k, s, _, _)| (hex32(k), hex::decode(m).unwrap(), sig(s)))
        .collect();
    let refs: Vec<([u8; 32], &[u8], Signature)> = items.iter().map(|(k, m, s)| (*k, m.as_slice(), *s)).collect();
    assert!(!signatures_hold(&refs));
    let admissible: Vec<keys::Triple<'_>> = items
        .iter()
        .filter_map(|(k, m, s)| PublicKey::from_bytes(k).ok().map(|pk| (pk, m.as_slice(), *s)))
        .collect();
    assert_eq!(keys::verify_all(&admissible), keys::verify_each(&admissible));
}

fn hash(r: &[u8; 32], a: &[u8; 32], m: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(m);
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

/// A signature made with curve arithmetic.
#[derive(Debug, Clone, Copy)]
enum Made {
    /// RFC 8032, as ed25519-dalek signs.
    Honest,
    /// `R = rB + T` with `T` of order 2, 4 or 8, `k` over those bytes: ZIP 215 only.
    TorsionR(usize),
    /// The key is `A + T`; signed with `a`: ZIP 215 only.
    TorsionKey(usize),
    /// An honest signature with one bit of `S` or `R` changed.
    Flipped(usize),
    /// An honest signature with `S + ℓ` (the same scalar, not canonical).
    SPlusL,
}

fn made() -> impl Strategy<Value = Made> {
    prop_oneof![
        4 => Just(Made::Honest),
        2 => (1usize..8).prop_map(Made::TorsionR),
        2 => (1usize..8).prop_map(Made::TorsionKey),
        2 => (0usize..512).prop_map(Made::Flipped),
        1 => Just(Made::SPlusL),
    ]
}

/// (key bytes, message, signature) for `how`, signed by key seed `seed`.
fn make(seed: u8, msg: &[u8], how: Made) -> ([u8; 32], Signature) {
    let sk = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    let a = sk.to_scalar();
    let big_a = ED25519_BASEPOINT_POINT * a;
    let r = hash(&[seed; 32], &[0xaa; 32], msg);
    let sign = |big_a: EdwardsPoint, big_r: EdwardsPoint| {
        let (ab, rb) = (big_a.compress().to_bytes(), big_r.compress().to_bytes());
        let s = r + hash(&rb, &ab, msg) * a;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&rb);
        sig[32..].copy_from_slice(s.as_bytes());
        (ab, Signature(sig))
    };
    let rb = ED25519_BASEPOINT_POINT * r;
    match how {
        Made::Honest => sign(big_a, rb),
        Made::TorsionR(t) => sign(big_a, rb + EIGHT_TORSION[t]),
        Made::TorsionKey(t) => sign(big_a + EIGHT_TORSION[t], rb),
        Made::Flipped(bit) => {
            let (k, mut s) = sign(big_a, rb);
            s.0[bit / 8] ^= 1 << (bit % 8);
            (k, s)
        }
        Made::SPlusL => {
            let (k, mut s) = sign(big_a, rb);
            // ℓ = 2^252 + 27742317777372353535851937790883648493, little endian.
            let l = hex32("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
            let mut carry = 0u16;
            for (b, li) in s.0[32..].iter_mut().zip(l) {
                let v = u16::from(*b) + u16::from(li) + carry;
                *b = v as u8;
                carry = v >> 8;
            }
            (k, s)
        }
    }
}

#[test]
fn signatures_made_here_match_ed25519_dalek() {
    let msg = b"greenledger";
    let (k, s) = make(5, msg, Made::Honest);
    let sk = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
    assert_eq!(k, sk.verifying_key().to_bytes());
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&k).unwrap();
    assert!(
        vk.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&s.0))
            .is_ok()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Batch verdict = single verdict on every mixture, and what strict verification accepts
    /// stays valid.
    #[test]
    fn batch_equals_single_on_any_mixture(
        kinds in prop::collection::vec((made(), 1u8..20, prop::collection::vec(any::<u8>(), 0..40)), 1..80)
    ) {
        let made: Vec<([u8; 32], Vec<u8>, Signature, Made)> = kinds
            .iter()
            .map(|(how, seed, msg)| {
                let (k, s) = make(*seed, msg, *how);
                (k, msg.clone(), s, *how)
            })
            .collect();
        for (k, m, s, how) in &made {
            let single = signature_holds(k, m, s);
            prop_assert_eq!(signatures_hold(&[(*k, m, *s)]), single, "{:?}", how);
            let vk = ed25519_dalek::VerifyingKey::from_bytes(k);
            let strict = vk.is_ok_and(|vk| vk.verify_strict(m, &ed25519_dalek::Signature::from_bytes(&s.0)).is_ok());
            if strict {
                prop_assert!(single, "strict accepts what ZIP 215 refuses: {:?}", how);
            }
            match how {
                Made::Honest | Made::TorsionR(_) | Made::TorsionKey(_) => prop_assert!(single, "{:?}", how),
                Made::SPlusL => prop_assert!(!single),
                Made::Flipped(_) => {}
            }
        }
        let triples: Vec<keys::Triple<'_>> = made
            .iter()
            .map(|(k, m, s, _)| (PublicKey::from_bytes(k).unwrap(), m.as_slice(), *s))
            .collect();
        prop_assert_eq!(keys::verify_all(&triples), keys::verify_each(&triples));
        let all_ok = keys::verify_each(&triples).iter().all(Result::is_ok);
        prop_assert_eq!(keys::verify_batch(&triples).is_ok(), all_ok);
    }
}
