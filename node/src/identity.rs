//! The node's identity: an ed25519 key (its libp2p identity) kept in the data dir. It signs
//! the log's checkpoints.

use std::{fs, io::Write, path::Path};

use anyhow::{Context, Result, bail};
use greenledger_core::{PublicKey, Signature};
use libp2p::identity::{Keypair, PeerId};

/// The key file's name inside the data dir.
pub const KEY_FILE: &str = "node.key";

/// The node's key pair.
#[derive(Clone)]
pub struct Identity {
    keypair: Keypair,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identity({})", self.peer_id())
    }
}

/// A data dir that exists as a file is named as such (not "file exists" or "not a directory").
fn not_a_file(data_dir: &Path) -> Result<()> {
    if data_dir.exists() && !data_dir.is_dir() {
        bail!(
            "--data-dir {} is a file, not a directory; give a directory (a new one is created by `greenledger-node init`)",
            data_dir.display()
        );
    }
    Ok(())
}

impl Identity {
    /// Creates a new identity in `data_dir` (refuses to replace one).
    pub fn init(data_dir: &Path) -> Result<Self> {
        not_a_file(data_dir)?;
        fs::create_dir_all(data_dir).with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
        let path = data_dir.join(KEY_FILE);
        if path.exists() {
            bail!(
                "{} already exists: this data dir already has a node identity (peer id {})",
                path.display(),
                Self::load(data_dir)?.peer_id()
            );
        }
        // 32 random bytes from the OS, through greenledger-core's key generation.
        let mut seed = greenledger_core::SecretKey::generate().to_seed();
        let keypair = Keypair::ed25519_from_bytes(&mut seed).context("cannot make the node key")?;
        let bytes = keypair.to_protobuf_encoding().context("cannot encode the node key")?;
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        Ok(Identity { keypair })
    }

    /// Loads the identity of `data_dir`.
    pub fn load(data_dir: &Path) -> Result<Self> {
        not_a_file(data_dir)?;
        let path = data_dir.join(KEY_FILE);
        let bytes = fs::read(&path).with_context(|| {
            format!(
                "cannot read {} (run `greenledger-node init --data-dir {}` first)",
                path.display(),
                data_dir.display()
            )
        })?;
        let keypair =
            Keypair::from_protobuf_encoding(&bytes).with_context(|| format!("{} is not a node key", path.display()))?;
        if keypair.clone().try_into_ed25519().is_err() {
            bail!("{} is not an ed25519 node key", path.display());
        }
        Ok(Identity { keypair })
    }

    /// The libp2p peer id.
    pub fn peer_id(&self) -> PeerId {
        self.keypair.public().to_peer_id()
    }

    /// The libp2p key pair.
    pub fn keypair(&self) -> &Keypair {
        &self.keypair
    }

    /// The ed25519 public key, as greenledger writes keys.
    pub fn public_key(&self) -> PublicKey {
        let bytes = self
            .keypair
            .public()
            .try_into_ed25519()
            .map(|k| k.to_bytes())
            .unwrap_or([0; 32]);
        PublicKey::from_bytes(&bytes).unwrap_or_else(|_| unreachable!("an ed25519 libp2p key is a valid point"))
    }

    /// Signs a message (ed25519).
    pub fn sign(&self, msg: &[u8]) -> Signature {
        let sig = self.keypair.sign(msg).unwrap_or_default();
        let mut bytes = [0u8; 64];
        if sig.len() == 64 {
            bytes.copy_from_slice(&sig);
        }
        Signature(bytes)
    }
}
