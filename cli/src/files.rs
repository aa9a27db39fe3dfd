//! Files: keys, genesis, entry folders, the signer's state file, atomic writes.

use std::{
    collections::BTreeMap,
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, anyhow, bail};
use greenledger_core::{EntryId, EntrySet, Genesis, NetworkId, PublicKey, SecretKey, SignedEntry};
use serde::{Deserialize, Serialize};

use crate::keyfile::{self, KeyFileError};

/// Reads a whole file, saying which file and what it was for when that fails.
pub(crate) fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| {
        use std::io::ErrorKind;
        // Say what to do about it: the commonest causes are a mistyped path and a file of
        // another user.
        let hint = match (e.kind(), what) {
            (ErrorKind::NotFound, "bundle") => {
                "; check the path, or make a bundle with: greenledger bundle ID --out FILE"
            }
            (ErrorKind::NotFound, "key file") => {
                "; check the path, or make a key with: greenledger key generate --out FILE"
            }
            (ErrorKind::NotFound, "genesis file") => {
                "; check the path (the consortium's genesis file; greenledger genesis makes a new one)"
            }
            (ErrorKind::NotFound, _) => "; check the path",
            (ErrorKind::PermissionDenied, _) => "; check the file's owner and mode",
            (ErrorKind::IsADirectory, _) => "; give a file, not a folder",
            _ => "",
        };
        anyhow!("cannot read {what} {}: {e}{hint}", path.display())
    })
}

/// Says what a JSON file is when it is one of greenledger's own kinds (for errors about a file
/// of the wrong kind, e.g. a genesis given where a key file belongs).
pub(crate) fn file_kind(bytes: &[u8]) -> Option<&'static str> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let o = v.as_object()?;
    if o.get("format").and_then(|f| f.as_str()) == Some("greenledger-bundle") {
        Some("a provenance bundle")
    } else if o.get("type").and_then(|t| t.as_str()) == Some("greenledger-secret-key") {
        Some("a key file")
    } else if o.contains_key("admins") && o.contains_key("name") {
        Some("a genesis file")
    } else if o.contains_key("payload") && o.contains_key("signature") {
        Some("a signed entry")
    } else if o.contains_key("chains") && o.contains_key("version") {
        Some("a signer state file")
    } else if o.contains_key("kind") && o.contains_key("body") {
        Some("an unsigned payload")
    } else {
        None
    }
}

/// An error for a file of greenledger's that is of another kind than `wanted`, if it is one.
pub(crate) fn wrong_kind(path: &Path, bytes: &[u8], wanted: &str) -> Option<anyhow::Error> {
    let kind = file_kind(bytes)?;
    (!wanted.starts_with(kind)).then(|| anyhow!("{} is {kind}, not {wanted}", path.display()))
}

/// Checks that `path` can be written as an output file (before anything is signed or sent):
/// not a folder, its folder exists, and not an existing file unless `force`.
pub(crate) fn check_out(path: &Path, force: bool) -> Result<()> {
    if path.is_dir() {
        bail!("{} is a folder; give a file path to write to", path.display());
    }
    if !force && path.exists() {
        bail!("{} already exists; pass --force to overwrite it", path.display());
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        bail!(
            "cannot write {}: folder {} does not exist",
            path.display(),
            dir.display()
        );
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename, fsync of the folder).
/// Refuses to replace an existing file unless `force`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], force: bool, mode: u32) -> Result<()> {
    check_out(path, force)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} is not a file path", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp{}", name.to_string_lossy(), std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// The environment variable holding the passphrase of encrypted key files.
pub(crate) const PASSPHRASE_ENV: &str = "GREENLEDGER_PASSPHRASE";
/// The environment variable holding the new passphrase for `key encrypt`.
pub(crate) const NEW_PASSPHRASE_ENV: &str = "GREENLEDGER_NEW_PASSPHRASE";

/// A passphrase from the environment variable `var`, if it is set and not empty.
pub(crate) fn passphrase_from_env(var: &str) -> Option<zeroize::Zeroizing<String>> {
    std::env::var(var)
        .ok()
        .filter(|p| !p.is_empty())
        .map(zeroize::Zeroizing::new)
}

/// Asks for a passphrase on the terminal (not echoed).
pub(crate) fn prompt_passphrase(prompt: &str, env: &str) -> Result<zeroize::Zeroizing<String>> {
    rpassword::prompt_password(prompt)
        .map(zeroize::Zeroizing::new)
        .map_err(|e| anyhow!("cannot ask for the passphrase ({e}): run in a terminal, or set {env}"))
}

/// Asks twice for a new passphrase; refuses an empty one or a mismatch.
pub(crate) fn prompt_new_passphrase(env: &str) -> Result<zeroize::Zeroizing<String>> {
    let first = prompt_passphrase("New passphrase: ", env)?;
    if first.is_empty() {
        bail!("the passphrase is empty; nothing was written");
    }
    let second = prompt_passphrase("Repeat the passphrase: ", env)?;
    if *first != *second {
        bail!("the two passphrases differ; nothing was written");
    }
    Ok(first)
}

/// Reads a key file's text (warning when others can read it).
fn read_key_text(path: &Path) -> Result<String> {
    let bytes = read(path, "key file")?;
    if let Some(e) = wrong_kind(path, &bytes, "a key file") {
        return Err(anyhow!(
            "cannot use key file {}: not a greenledger key file: {e}; --key takes a key file made by greenledger key generate",
            path.display()
        ));
    }
    String::from_utf8(bytes).map_err(|_| anyhow!("{} is not a greenledger key file (not text)", path.display()))
}

/// Warns when others can read a key file.
fn warn_if_readable(path: &Path) {
    #[cfg(unix)]
    if let Ok(meta) = fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            eprintln!(
                "warning: key file {} is readable by others (mode {:o}); run: chmod 600 {}",
                path.display(),
                meta.permissions().mode() & 0o777,
                path.display()
            );
        }
    }
}

/// Reads a signed entry file; a file of another kind (a genesis, a bundle, a payload not yet
/// signed) is named as such.
pub(crate) fn read_entry(path: &Path) -> Result<SignedEntry> {
    let bytes = read(path, "entry file")?;
    if let Some(e) = wrong_kind(path, &bytes, "a signed entry") {
        return Err(e.context(format!("{} is not a signed entry", path.display())));
    }
    SignedEntry::from_json(&bytes).with_context(|| {
        let hint = if bytes.is_empty() {
            " (the file is empty)"
        } else if bytes.first() == Some(&b'{') && bytes.trim_ascii_end().last() != Some(&b'}') {
            " (the file looks truncated)"
        } else {
            ""
        };
        format!("{} is not a signed entry{hint}", path.display())
    })
}

/// Loads a secret key file. An encrypted one is opened with the passphrase from
/// `GREENLEDGER_PASSPHRASE`, or else one asked for on the terminal.
pub(crate) fn load_key(path: &Path) -> Result<SecretKey> {
    let text = read_key_text(path)?;
    let encrypted = keyfile::is_encrypted(&text).with_context(|| format!("cannot use key file {}", path.display()))?;
    let passphrase = if encrypted {
        Some(match passphrase_from_env(PASSPHRASE_ENV) {
            Some(p) => p,
            None => prompt_passphrase(&format!("Passphrase for {}: ", path.display()), PASSPHRASE_ENV)
                .with_context(|| format!("key file {} is encrypted", path.display()))?,
        })
    } else {
        None
    };
    let key = keyfile::open_with(&text, passphrase.as_ref().map(|p| p.as_bytes())).map_err(|e| match e {
        KeyFileError::WrongPassphrase => anyhow!(
            "cannot open key file {}: wrong passphrase (or the file was altered); check {PASSPHRASE_ENV} or type it again",
            path.display()
        ),
        e => anyhow::Error::new(e).context(format!("cannot use key file {}", path.display())),
    })?;
    warn_if_readable(path);
    Ok(key)
}

/// The public key a key file names, without opening its secret.
pub(crate) fn key_file_public(path: &Path) -> Result<PublicKey> {
    let text = read_key_text(path)?;
    let ctx = || format!("cannot use key file {}", path.display());
    // A plain key is opened, so that a public key edited in the file is caught; an encrypted
    // one binds its public key to the ciphertext and is checked when it is opened to sign.
    let public = if keyfile::is_encrypted(&text).with_context(ctx)? {
        keyfile::public_key(&text).with_context(ctx)?
    } else {
        keyfile::open_with(&text, None).with_context(ctx)?.public()
    };
    warn_if_readable(path);
    Ok(public)
}

/// Loads a genesis file.
pub(crate) fn load_genesis(path: &Path) -> Result<Genesis> {
    let bytes = read(path, "genesis file")?;
    if let Some(e) = wrong_kind(path, &bytes, "a genesis file") {
        return Err(e.context(format!("{} is not a valid genesis file", path.display())));
    }
    Genesis::from_json(&bytes).with_context(|| format!("{} is not a valid genesis file", path.display()))
}

/// Loads every signed entry (`*.json`) of a folder, checking each signature. Genesis and
/// bundle files in the folder are skipped; any other file that is not a valid entry is an
/// error naming it, so that a damaged file is never silently ignored.
pub(crate) fn load_entries(dir: &Path, network: Option<NetworkId>) -> Result<EntrySet> {
    let rd = fs::read_dir(dir).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::NotFound => "; check the path given to --entries (a folder of signed entry files)",
            std::io::ErrorKind::NotADirectory => "; --entries takes a folder of signed entry files",
            _ => "",
        };
        anyhow!("cannot read entries folder {}: {e}{hint}", dir.display())
    })?;
    let mut paths: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut set = EntrySet::new();
    for p in paths {
        let bytes = read(&p, "entry file")?;
        if looks_like_other_file(&bytes) {
            continue;
        }
        let se = SignedEntry::from_json(&bytes)
            .with_context(|| format!("{} in the entries folder is not a signed entry", p.display()))?;
        let v = se
            .verify()
            .with_context(|| format!("{} in the entries folder is not a valid entry", p.display()))?;
        if let Some(net) = network
            && v.payload().network != net
        {
            bail!(
                "{} belongs to network {}, not {} (keep one network per entries folder)",
                p.display(),
                v.payload().network.fmt_short(),
                net.fmt_short()
            );
        }
        set.insert(v.into_entry());
    }
    Ok(set)
}

fn looks_like_other_file(bytes: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        format: Option<String>,
        admins: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<Probe>(bytes) {
        Ok(p) => p.admins.is_some() || p.format.is_some(),
        Err(_) => false,
    }
}

/// The signer's chain state, kept beside the key as `<key file>.state`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignerState {
    version: u32,
    /// The key this state belongs to (a key file replaced with `--force` starts afresh).
    #[serde(default)]
    public: Option<String>,
    /// False when there was no state file (a new key, or a key copied without its state).
    #[serde(skip)]
    pub(crate) existed: bool,
    /// Per network id: the last seq signed and its entry id.
    chains: BTreeMap<String, ChainHead>,
}

/// The head of one chain.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChainHead {
    /// Last seq signed.
    pub(crate) seq: u64,
    /// Its entry id.
    pub(crate) head: EntryId,
}

/// Takes the key's signing lock (`<key file>.lock`), waiting while another command holds it.
pub(crate) fn lock_key(key: &Path) -> Result<fs::File> {
    let mut p = key.as_os_str().to_owned();
    p.push(".lock");
    let p = PathBuf::from(p);
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .with_context(|| format!("cannot open the key's lock file {}", p.display()))?;
    if f.try_lock().is_err() {
        eprintln!("waiting: another greenledger command is signing with this key");
        f.lock().with_context(|| format!("cannot lock {}", p.display()))?;
    }
    Ok(f)
}

/// The state file's path for a key file.
pub(crate) fn state_path(key: &Path) -> PathBuf {
    let mut s = key.as_os_str().to_owned();
    s.push(".state");
    PathBuf::from(s)
}

impl SignerState {
    /// Loads the state (absent file: empty state).
    pub(crate) fn load(key: &Path, public: &PublicKey) -> Result<Self> {
        let p = state_path(key);
        let fresh = SignerState {
            version: 1,
            public: Some(public.to_hex()),
            existed: false,
            chains: BTreeMap::new(),
        };
        if !p.exists() {
            return Ok(fresh);
        }
        let bytes = read(&p, "signer state file")?;
        let s: SignerState = serde_json::from_slice(&bytes).with_context(|| {
            format!("signer state file {} is damaged; delete it only if every entry this key signed is in --entries DIR (the next seq is then taken from there)", p.display())
        })?;
        let mut s = s;
        s.existed = true;
        if s.public.as_deref().is_some_and(|k| k != public.to_hex()) {
            eprintln!(
                "note: {} belongs to another key (the key file was replaced); starting this key's chain afresh",
                p.display()
            );
            return Ok(fresh);
        }
        Ok(s)
    }

    /// The chain head on a network.
    pub(crate) fn head(&self, net: &NetworkId) -> Option<ChainHead> {
        self.chains.get(&net.to_hex()).copied()
    }

    /// Records a new head and writes the file atomically.
    /// Writes an empty state for a new key (so that a key later copied without it is noticed).
    pub(crate) fn create(key: &Path, public: &PublicKey) -> Result<()> {
        let s = SignerState {
            version: 1,
            public: Some(public.to_hex()),
            existed: false,
            chains: BTreeMap::new(),
        };
        let mut bytes = serde_json::to_vec_pretty(&s)?;
        bytes.push(b'\n');
        write_atomic(&state_path(key), &bytes, true, 0o600)
    }

    pub(crate) fn record(&mut self, key: &Path, net: &NetworkId, head: ChainHead) -> Result<()> {
        self.version = 1;
        self.chains.insert(net.to_hex(), head);
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        write_atomic(&state_path(key), &bytes, true, 0o600)
    }
}
