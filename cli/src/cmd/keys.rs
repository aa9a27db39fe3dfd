//! `key generate`, `key show` and `genesis`.

use std::process::ExitCode;

use anyhow::{Context, Result};
use greenledger_core::{Genesis, PublicKey, SecretKey};

use crate::{
    args::{GenesisArgs, KeyCommand},
    files,
};

pub(crate) fn key(cmd: KeyCommand, json: bool) -> Result<ExitCode> {
    let public = match cmd {
        KeyCommand::Generate { out, force } => {
            let key = SecretKey::generate();
            files::write_atomic(&out, key.to_key_file().as_bytes(), force, 0o600)?;
            // A new key starts a new chain; any old state beside it belonged to the old key.
            files::SignerState::create(&out, &key.public())?;
            if !json {
                eprintln!("wrote a new key to {} (keep it secret; mode 0600)", out.display());
            }
            key.public()
        }
        KeyCommand::Show { key } => files::load_key(&key)?.public(),
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
