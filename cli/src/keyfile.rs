//! The secret key file (`greenledger key generate`): one ed25519 key as JSON, plain or
//! encrypted under a passphrase.
//!
//! * [`to_text`] and [`to_encrypted_text`] write a key file; [`open`] and [`open_with`] read
//!   one, checking that its public key matches its secret.
//! * [`is_encrypted`] and [`public_key`] read what needs no passphrase (so `key show` asks for
//!   none).
//!
//! A plain key file holds the seed as hex in `secret`. An encrypted one holds it in
//! `encrypted` instead: the seed sealed with XChaCha20-Poly1305 under a key derived from the
//! passphrase with Argon2id, the public key as associated data (so a file whose public key was
//! swapped does not open). Only the CLI reads and writes key files; `greenledger-core` knows
//! keys, not files.

use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};
use greenledger_core::{PublicKey, SecretKey, error::KeyError, keys::PUBLIC_KEY_LEN};
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// A key file that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyFileError {
    /// The text is not a greenledger key file.
    #[error("not a greenledger key file: {0}")]
    NotAKeyFile(String),
    /// A key file of a newer format.
    #[error("unsupported key file version {0}")]
    UnsupportedVersion(u32),
    /// The key file's public key does not match its secret.
    #[error("key file is corrupt: its public key does not match its secret key")]
    PublicMismatch,
    /// The key file is encrypted and no passphrase was given.
    #[error("the key file is encrypted: a passphrase is needed")]
    PassphraseNeeded,
    /// The passphrase does not open the key file (or the file was altered).
    #[error("wrong passphrase (or the encrypted key file was altered)")]
    WrongPassphrase,
    /// An empty passphrase was given for a new encrypted key file.
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    /// The public key the file names is not a valid key.
    #[error(transparent)]
    PublicKey(#[from] KeyError),
}

/// The on-disk form of a secret key file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: String,
    version: u32,
    algorithm: String,
    public: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    encrypted: Option<Sealed>,
}

/// A seed sealed under a passphrase.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sealed {
    kdf: String,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    salt: String,
    cipher: String,
    nonce: String,
    ciphertext: String,
}

/// The `type` field of a key file.
pub const KEY_FILE_TYPE: &str = "greenledger-secret-key";

/// Argon2id cost for new key files: 19 MiB, 2 passes, 1 lane (OWASP's minimum for Argon2id);
/// about 50 ms per signing command on a current core.
const KDF_MEMORY_KIB: u32 = 19 * 1024;
const KDF_ITERATIONS: u32 = 2;
const KDF_PARALLELISM: u32 = 1;
/// Largest cost accepted when reading, so that a crafted key file cannot make a command
/// allocate gigabytes or run for minutes.
const KDF_MAX_MEMORY_KIB: u32 = 1024 * 1024;
const KDF_MAX_ITERATIONS: u32 = 64;
const KDF_MAX_PARALLELISM: u32 = 16;

fn derive_key(passphrase: &[u8], salt: &[u8], m: u32, t: u32, p: u32) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    let params = argon2::Params::new(m, t, p, Some(32))
        .map_err(|e| KeyFileError::NotAKeyFile(format!("bad passphrase parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase, salt, out.as_mut())
        .map_err(|e| KeyFileError::NotAKeyFile(format!("cannot derive the key from the passphrase: {e}")))?;
    Ok(out)
}

fn hex_field<const N: usize>(field: &str, text: &str) -> Result<[u8; N], KeyFileError> {
    let mut out = [0u8; N];
    if text.len() != 2 * N || hex::decode_to_slice(text, &mut out).is_err() {
        return Err(KeyFileError::NotAKeyFile(format!(
            "{field} is not {} hex characters",
            2 * N
        )));
    }
    Ok(out)
}

fn key_file(key: &SecretKey, secret: Option<String>, encrypted: Option<Sealed>) -> String {
    let file = KeyFile {
        kind: KEY_FILE_TYPE.to_string(),
        version: 1,
        algorithm: "ed25519".to_string(),
        public: key.public().to_hex(),
        secret,
        encrypted,
    };
    let mut s = serde_json::to_string_pretty(&file).unwrap_or_default();
    s.push('\n');
    s
}

/// Serializes `key` as a plain key file (JSON, one key).
pub fn to_text(key: &SecretKey) -> String {
    let seed = Zeroizing::new(key.to_seed());
    let hex = Zeroizing::new(hex::encode(seed.as_ref()));
    key_file(key, Some(hex.to_string()), None)
}

/// Serializes `key` as a key file encrypted under `passphrase` (which must not be empty).
pub fn to_encrypted_text(key: &SecretKey, passphrase: &[u8]) -> Result<String, KeyFileError> {
    if passphrase.is_empty() {
        return Err(KeyFileError::EmptyPassphrase);
    }
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 24];
    rand_core::OsRng.fill_bytes(&mut salt);
    rand_core::OsRng.fill_bytes(&mut nonce);
    let derived = derive_key(passphrase, &salt, KDF_MEMORY_KIB, KDF_ITERATIONS, KDF_PARALLELISM)?;
    let cipher = XChaCha20Poly1305::new(derived.as_ref().into());
    let seed = Zeroizing::new(key.to_seed());
    let public = key.public();
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: seed.as_ref(),
                aad: public.as_bytes(),
            },
        )
        .map_err(|_| KeyFileError::NotAKeyFile("cannot encrypt the key".into()))?;
    let sealed = Sealed {
        kdf: "argon2id".into(),
        memory_kib: KDF_MEMORY_KIB,
        iterations: KDF_ITERATIONS,
        parallelism: KDF_PARALLELISM,
        salt: hex::encode(salt),
        cipher: "xchacha20poly1305".into(),
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(sealed),
    };
    Ok(key_file(key, None, Some(sealed)))
}

/// Whether a key file's text is an encrypted key file (so a passphrase is needed to open it).
/// Text that is not a key file at all gives the error [`open`] would give.
pub fn is_encrypted(text: &str) -> Result<bool, KeyFileError> {
    Ok(parse(text)?.encrypted.is_some())
}

/// The public key a key file names, read without opening its secret (so `key show` needs no
/// passphrase). Opening the file with [`open_with`] checks that the two match.
pub fn public_key(text: &str) -> Result<PublicKey, KeyFileError> {
    let file = parse(text)?;
    Ok(file.public.parse()?)
}

fn parse(text: &str) -> Result<KeyFile, KeyFileError> {
    let file: KeyFile = serde_json::from_str(text).map_err(|e| KeyFileError::NotAKeyFile(e.to_string()))?;
    if file.kind != KEY_FILE_TYPE {
        return Err(KeyFileError::NotAKeyFile(format!(
            "type is {:?}, expected {KEY_FILE_TYPE:?}",
            file.kind
        )));
    }
    if file.version != 1 {
        return Err(KeyFileError::UnsupportedVersion(file.version));
    }
    if file.algorithm != "ed25519" {
        return Err(KeyFileError::NotAKeyFile(format!(
            "unsupported algorithm {:?}",
            file.algorithm
        )));
    }
    match (&file.secret, &file.encrypted) {
        (Some(_), Some(_)) => Err(KeyFileError::NotAKeyFile(
            "it has both a plain \"secret\" and an \"encrypted\" one".into(),
        )),
        (None, None) => Err(KeyFileError::NotAKeyFile("it has no secret key".into())),
        _ => Ok(file),
    }
}

/// Parses a plain key file, checking that the stored public key matches the secret. An
/// encrypted key file gives [`KeyFileError::PassphraseNeeded`].
pub fn open(text: &str) -> Result<SecretKey, KeyFileError> {
    open_with(text, None)
}

/// Parses a key file, plain or (with `passphrase`) encrypted, checking that the stored public
/// key matches the secret. A passphrase given for a plain file is ignored.
pub fn open_with(text: &str, passphrase: Option<&[u8]>) -> Result<SecretKey, KeyFileError> {
    let file = parse(text)?;
    let public: [u8; PUBLIC_KEY_LEN] = hex_field("public", &file.public)?;
    let seed: Zeroizing<[u8; 32]> = match (&file.secret, &file.encrypted) {
        (Some(secret), _) => {
            let mut seed = Zeroizing::new([0u8; 32]);
            if secret.len() != 64 || hex::decode_to_slice(secret, seed.as_mut()).is_err() {
                return Err(KeyFileError::NotAKeyFile("secret is not 64 hex characters".into()));
            }
            seed
        }
        (None, Some(s)) => {
            let passphrase = passphrase.ok_or(KeyFileError::PassphraseNeeded)?;
            if s.kdf != "argon2id" || s.cipher != "xchacha20poly1305" {
                return Err(KeyFileError::NotAKeyFile(format!(
                    "unsupported encryption {} + {}",
                    s.kdf, s.cipher
                )));
            }
            if s.memory_kib > KDF_MAX_MEMORY_KIB
                || s.iterations > KDF_MAX_ITERATIONS
                || s.parallelism > KDF_MAX_PARALLELISM
            {
                return Err(KeyFileError::NotAKeyFile(format!(
                    "passphrase cost too high ({} KiB, {} passes, {} lanes; at most {KDF_MAX_MEMORY_KIB} KiB, \
                     {KDF_MAX_ITERATIONS} passes, {KDF_MAX_PARALLELISM} lanes)",
                    s.memory_kib, s.iterations, s.parallelism
                )));
            }
            let salt: [u8; 16] = hex_field("salt", &s.salt)?;
            let nonce: [u8; 24] = hex_field("nonce", &s.nonce)?;
            let sealed: [u8; 48] = hex_field("ciphertext", &s.ciphertext)?;
            let derived = derive_key(passphrase, &salt, s.memory_kib, s.iterations, s.parallelism)?;
            let cipher = XChaCha20Poly1305::new(derived.as_ref().into());
            let opened = Zeroizing::new(
                cipher
                    .decrypt(
                        XNonce::from_slice(&nonce),
                        Payload {
                            msg: &sealed,
                            aad: &public,
                        },
                    )
                    .map_err(|_| KeyFileError::WrongPassphrase)?,
            );
            let mut seed = Zeroizing::new([0u8; 32]);
            if opened.len() != 32 {
                return Err(KeyFileError::WrongPassphrase);
            }
            seed.copy_from_slice(&opened);
            seed
        }
        (None, None) => unreachable!("parse refuses a file without a secret"),
    };
    let key = SecretKey::from_seed(&seed);
    if key.public().as_bytes() != &public {
        return Err(KeyFileError::PublicMismatch);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_roundtrip_and_errors() {
        let k = SecretKey::from_seed(&[9; 32]);
        let text = to_text(&k);
        assert_eq!(open(&text).unwrap().public(), k.public());
        assert!(matches!(open("{}"), Err(KeyFileError::NotAKeyFile(_))));
        assert!(matches!(open("not json"), Err(KeyFileError::NotAKeyFile(_))));
        let other = SecretKey::from_seed(&[8; 32]).public().to_hex();
        let tampered = text.replace(&k.public().to_hex(), &other);
        assert!(matches!(open(&tampered), Err(KeyFileError::PublicMismatch)));
        assert!(!format!("{k:?}").contains(&hex::encode([9u8; 32])));
    }

    #[test]
    fn encrypted_key_file_roundtrip_and_errors() {
        let k = SecretKey::from_seed(&[7; 32]);
        let text = to_encrypted_text(&k, b"correct horse").unwrap();
        assert!(
            !text.contains(&hex::encode([7u8; 32])),
            "the seed is not stored in clear"
        );
        assert!(is_encrypted(&text).unwrap());
        assert!(!is_encrypted(&to_text(&k)).unwrap());
        let opened = open_with(&text, Some(b"correct horse")).unwrap();
        assert_eq!(opened.public(), k.public());
        assert_eq!(open(&text).unwrap_err(), KeyFileError::PassphraseNeeded);
        assert_eq!(
            open_with(&text, Some(b"wrong")).unwrap_err(),
            KeyFileError::WrongPassphrase
        );
        assert_eq!(to_encrypted_text(&k, b"").unwrap_err(), KeyFileError::EmptyPassphrase);
        // The public key is bound to the ciphertext: swapping it does not open.
        let other = SecretKey::from_seed(&[8; 32]).public().to_hex();
        let swapped = text.replace(&k.public().to_hex(), &other);
        assert_eq!(
            open_with(&swapped, Some(b"correct horse")).unwrap_err(),
            KeyFileError::WrongPassphrase
        );
        // A crafted cost is refused before any work.
        let costly = text.replace("\"memory_kib\": 19456", "\"memory_kib\": 4000000000");
        assert!(matches!(
            open_with(&costly, Some(b"correct horse")),
            Err(KeyFileError::NotAKeyFile(m)) if m.contains("cost")
        ));
        // Two encryptions of one key differ (fresh salt and nonce).
        assert_ne!(text, to_encrypted_text(&k, b"correct horse").unwrap());
    }
}
