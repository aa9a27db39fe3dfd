//! OAuth2 client credentials for the PACT API: client secrets (kept as hashes), and access
//! tokens the node can check without keeping them (a MAC under a key in the data dir).
//!
//! A token is `glp1.<client id, base64url>.<expiry, unix seconds>.<MAC, base64url>`, the MAC
//! being BLAKE3 keyed with `DATA_DIR/pact-token.key` over everything before it. A token
//! stops working when it expires, when its client leaves the configuration, or when the key
//! file is replaced.

use std::{
    path::Path,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result, bail};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand_core::{OsRng, RngCore};

use crate::config::PactClient;

const TOKEN_PREFIX: &str = "glp1";
const KEY_FILE: &str = "pact-token.key";

/// A fresh client secret (32 random bytes, base64url) and its `secret_hash` value.
pub fn new_secret() -> (String, String) {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    let secret = URL_SAFE_NO_PAD.encode(b);
    let hash = hash_secret(&secret);
    (secret, hash)
}

/// The `secret_hash` of a secret.
pub fn hash_secret(secret: &str) -> String {
    format!("blake3:{}", blake3::hash(secret.as_bytes()).to_hex())
}

/// Checks the configured clients; returns them ready for lookups.
pub fn check_clients(clients: &[PactClient]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for c in clients {
        if c.id.is_empty() || c.id.contains(':') || c.id.len() > 128 {
            bail!(
                "pact.clients: client id {:?} must be 1 to 128 characters without ':'",
                c.id
            );
        }
        if !seen.insert(c.id.as_str()) {
            bail!("pact.clients: client id {:?} is listed twice", c.id);
        }
        parse_hash(&c.secret_hash).with_context(|| format!("pact.clients: client {:?}", c.id))?;
    }
    Ok(())
}

fn parse_hash(h: &str) -> Result<blake3::Hash> {
    let hex = h
        .strip_prefix("blake3:")
        .context("secret_hash must be \"blake3:\" and 64 hex digits (see `greenledger-node pact-client`)")?;
    blake3::Hash::from_hex(hex).context("secret_hash must be \"blake3:\" and 64 hex digits")
}

/// Why a token is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token this node issued (or its client is gone, or the key changed).
    Invalid,
    /// It was, but its time is up.
    Expired,
}

/// Issues and checks tokens.
#[derive(Clone)]
pub struct Authority {
    key: [u8; 32],
    clients: Vec<(String, blake3::Hash)>,
    lifetime: Duration,
}

impl Authority {
    /// Loads (or makes, mode 0600) the token key in `data_dir`.
    pub fn load(data_dir: &Path, clients: &[PactClient], lifetime: Duration) -> Result<Self> {
        check_clients(clients)?;
        let path = data_dir.join(KEY_FILE);
        let key = match std::fs::read(&path) {
            Ok(b) => b.as_slice().try_into().ok().with_context(|| {
                format!(
                    "{} is damaged (not 32 bytes); delete it to make a new one (tokens issued so far stop working)",
                    path.display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut k = [0u8; 32];
                OsRng.fill_bytes(&mut k);
                super::write_file(&path, &k, true)?;
                k
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let clients = clients
            .iter()
            .map(|c| Ok((c.id.clone(), parse_hash(&c.secret_hash)?)))
            .collect::<Result<_>>()?;
        Ok(Authority {
            key,
            clients,
            lifetime: lifetime.max(Duration::from_secs(1)),
        })
    }

    /// True if `id` and `secret` are a configured client's (compared in constant time).
    pub fn check_client(&self, id: &str, secret: &str) -> bool {
        let given = blake3::hash(secret.as_bytes());
        // Hash comparison is constant time; the loop does not stop at the first id match, so
        // timing does not tell which ids exist either.
        let mut ok = false;
        for (cid, h) in &self.clients {
            ok |= cid == id && *h == given;
        }
        ok
    }

    /// A token for `client`, and its lifetime in seconds.
    pub fn issue(&self, client: &str) -> (String, u64) {
        let exp = now_secs().saturating_add(self.lifetime.as_secs());
        let body = format!("{TOKEN_PREFIX}.{}.{exp}", URL_SAFE_NO_PAD.encode(client));
        let mac = blake3::keyed_hash(&self.key, body.as_bytes());
        (
            format!("{body}.{}", URL_SAFE_NO_PAD.encode(mac.as_bytes())),
            self.lifetime.as_secs(),
        )
    }

    /// The client a token was issued to.
    pub fn verify(&self, token: &str) -> Result<String, TokenError> {
        let (body, mac) = token.rsplit_once('.').ok_or(TokenError::Invalid)?;
        let mac: [u8; 32] = URL_SAFE_NO_PAD
            .decode(mac)
            .ok()
            .and_then(|m| m.try_into().ok())
            .ok_or(TokenError::Invalid)?;
        if blake3::keyed_hash(&self.key, body.as_bytes()) != blake3::Hash::from(mac) {
            return Err(TokenError::Invalid);
        }
        let mut parts = body.split('.');
        let (Some(TOKEN_PREFIX), Some(client), Some(exp), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Invalid);
        };
        let client = URL_SAFE_NO_PAD
            .decode(client)
            .ok()
            .and_then(|c| String::from_utf8(c).ok())
            .ok_or(TokenError::Invalid)?;
        let exp: u64 = exp.parse().map_err(|_| TokenError::Invalid)?;
        if !self.clients.iter().any(|(c, _)| *c == client) {
            return Err(TokenError::Invalid);
        }
        if now_secs() >= exp {
            return Err(TokenError::Expired);
        }
        Ok(client)
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authority(lifetime: Duration) -> (Authority, String, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let (secret, secret_hash) = new_secret();
        let clients = vec![PactClient {
            id: "buyer".into(),
            secret_hash,
        }];
        (Authority::load(dir.path(), &clients, lifetime).unwrap(), secret, dir)
    }

    #[test]
    fn secrets_are_checked() {
        let (a, secret, _d) = authority(Duration::from_secs(60));
        assert!(a.check_client("buyer", &secret));
        assert!(!a.check_client("buyer", "wrong"));
        assert!(!a.check_client("other", &secret));
    }

    #[test]
    fn tokens_round_trip_and_resist_edits() {
        let (a, _, dir) = authority(Duration::from_secs(60));
        let (t, secs) = a.issue("buyer");
        assert_eq!(secs, 60);
        assert_eq!(a.verify(&t), Ok("buyer".to_string()));
        // Any edit of the body (a later expiry, another client) breaks the MAC.
        let (body, mac) = t.rsplit_once('.').unwrap();
        let (head, _) = body.rsplit_once('.').unwrap();
        assert_eq!(a.verify(&format!("{head}.99999999999.{mac}")), Err(TokenError::Invalid));
        assert_eq!(a.verify("very-invalid-access-token"), Err(TokenError::Invalid));
        assert_eq!(a.verify(""), Err(TokenError::Invalid));
        // The same key file (a restart) still accepts it; another node's key does not.
        let again = Authority::load(dir.path(), &a_clients(&a), Duration::from_secs(60)).unwrap();
        assert_eq!(again.verify(&t), Ok("buyer".to_string()));
        let other_dir = tempfile::tempdir().unwrap();
        let other = Authority::load(other_dir.path(), &a_clients(&a), Duration::from_secs(60)).unwrap();
        assert_eq!(other.verify(&t), Err(TokenError::Invalid));
        // A client removed from the configuration loses its tokens.
        let none = Authority::load(dir.path(), &[], Duration::from_secs(60)).unwrap();
        assert_eq!(none.verify(&t), Err(TokenError::Invalid));
    }

    fn a_clients(a: &Authority) -> Vec<PactClient> {
        a.clients
            .iter()
            .map(|(id, h)| PactClient {
                id: id.clone(),
                secret_hash: format!("blake3:{}", h.to_hex()),
            })
            .collect()
    }

    #[test]
    fn expired_tokens_say_so() {
        let (a, _, _d) = authority(Duration::from_secs(1));
        let (t, _) = a.issue("buyer");
        std::thread::sleep(Duration::from_millis(2100));
        assert_eq!(a.verify(&t), Err(TokenError::Expired));
    }

    #[test]
    fn bad_client_lists_are_refused() {
        let (_, h) = new_secret();
        let dup = vec![
            PactClient {
                id: "a".into(),
                secret_hash: h.clone(),
            },
            PactClient {
                id: "a".into(),
                secret_hash: h,
            },
        ];
        assert!(check_clients(&dup).unwrap_err().to_string().contains("twice"));
        let bad = vec![PactClient {
            id: "a".into(),
            secret_hash: "plain".into(),
        }];
        assert!(format!("{:#}", check_clients(&bad).unwrap_err()).contains("blake3:"));
    }
}
