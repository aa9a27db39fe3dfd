//! `bundle`: assemble an offline provenance bundle from a folder of entries.

use std::process::ExitCode;

use anyhow::{Context, Result};
use greenledger_core::bundle::assemble;

use crate::{args::BundleArgs, cmd::resolve, files};

pub(crate) fn bundle(a: BundleArgs, json: bool) -> Result<ExitCode> {
    let genesis = files::load_genesis(&a.genesis)?;
    let set = files::load_entries(&a.entries, Some(genesis.network_id()))?;
    let target = resolve(&set, &a.what)?;
    let b = assemble(&genesis, target, &set)
        .context("cannot assemble a complete bundle from the entries folder")?;
    let bytes = b.to_json();
    files::write_atomic(&a.out, &bytes, a.force, 0o644)?;
    if json {
        println!(
            "{}",
            serde_json::json!({"id": target.to_hex(), "entries": b.entries.len(), "fork_proofs": b.fork_proofs.len(), "file": a.out, "bytes": bytes.len()})
        );
    } else {
        eprintln!(
            "wrote bundle of {} ({} entries, {} fork proofs, {} bytes) to {}",
            target.fmt_short(),
            b.entries.len(),
            b.fork_proofs.len(),
            bytes.len(),
            a.out.display()
        );
        println!("{target}");
    }
    Ok(ExitCode::SUCCESS)
}
