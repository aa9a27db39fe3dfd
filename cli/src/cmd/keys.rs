//! `key generate`, `key show` and `genesis`.

use std::process::ExitCode;

use anyhow::{Context, Result};
use greenledger_core::{Genesis, PublicKey, SecretKey};

use crate::{
    args::{GenesisArgs, KeyCommand},
    files, keyfile,
};

pub(crate) fn key(cmd: KeyCommand, json: bool) -> Result<ExitCode> {
    let public = match cmd {
        KeyCommand::Generate { out, force, encrypt } => {
            files::check_out(&out, force)?;
            let passphrase = match files::passphrase_from_env(files::PASSPHRASE_ENV) {
                Some(p) => Some(p),
                None if encrypt => Some(files::prompt_new_passphrase(files::PASSPHRASE_ENV)?),
                None => None,
            };
            let key = SecretKey::generate();
            let text = match &passphrase {
                Some(p) => keyfile::to_encrypted_text(&key, p.as_bytes())?,
                None => keyfile::to_text(&key),
            };
            files::write_atomic(&out, text.as_bytes(), force, 0o600)?;
            // A new key starts a new chain; any old state beside it belonged to the old key.
            files::SignerState::create(&out, &key.public())?;
            if !json {
                let how = if passphrase.is_some() {
                    "encrypted under the passphrase"
                } else {
                    "keep it secret"
                };
                eprintln!("wrote a new key to {} ({how}; mode 0600)", out.display());
            }
            key.public()
        }
        KeyCommand::Show { key } => files::key_file_public(&key)?,
        KeyCommand::Encrypt { key: path } => {
            let key = files::load_key(&path)?;
            let passphrase = match files::passphrase_from_env(files::NEW_PASSPHRASE_ENV) {
                Some(p) => p,
                None => files::prompt_new_passphrase(files::NEW_PASSPHRASE_ENV)?,
            };
            let text = keyfile::to_encrypted_text(&key, passphrase.as_bytes())?;
            files::write_atomic(&path, text.as_bytes(), true, 0o600)?;
            if !json {
                eprintln!("encrypted {} under the new passphrase", path.display());
            }
            key.public()
        }
    };
    if json {
        println!("{}", serde_json::json!({ "public_key": public.to_hex() }));
    } else {
        println!("{public}");
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn genesis(a: GenesisArgs, json: bool) -> Result<ExitCode> {
    let admins = a
        .admins
        .iter()
        .map(|s| s.parse::<PublicKey>().with_context(|| format!("--admin {s:?}")))
        .collect::<Result<Vec<_>>>()?;
    let created = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let g = Genesis::new(&a.network, &created, admins, a.node_peers.clone()).context("cannot make the genesis")?;
    let mut text = serde_json::to_vec_pretty(&g)?;
    text.push(b'\n');
    files::write_atomic(&a.out, &text, a.force, 0o644)?;
    let id = g.network_id();
    if json {
        println!(
            "{}",
            serde_json::json!({ "network_id": id.to_hex(), "name": g.name, "file": a.out })
        );
    } else {
        eprintln!("wrote genesis of network {:?} to {}", g.name, a.out.display());
        println!("{id}");
    }
    Ok(ExitCode::SUCCESS)
}
