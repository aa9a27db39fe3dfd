//! `bundle`: export an offline provenance bundle, from a folder of entries or from a node.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use greenledger_core::{Bundle, SetView, bundle::assemble};

use crate::{args::BundleArgs, client::Client, cmd::resolve, files};

pub(crate) fn bundle(a: BundleArgs, node: Option<&str>, json: bool) -> Result<ExitCode> {
    let (target, bytes, b) = match (&a.genesis, &a.entries, node) {
        (Some(g), Some(dir), _) => {
            let genesis = files::load_genesis(g)?;
            let set = files::load_entries(dir, Some(genesis.network_id()))?;
            let target = resolve(&set, Some(&SetView::new(&genesis, &set, [])), &a.what)?;
            let b = assemble(&genesis, target, &set)
                .context("cannot assemble a complete bundle from the entries folder")?;
            (target, b.to_json(), b)
        }
        (None, None, Some(n)) => {
            let client = Client::new(n)?;
            let target = client.resolve(&a.what)?;
            let r = client.get(&format!("/v1/provenance/{target}"))?;
            if r.status != 200 {
                bail!("the node cannot give the bundle of {target}: {}", r.error_message());
            }
            let b = Bundle::from_json(&r.body).context("the node sent an invalid bundle")?;
            (target, r.body, b)
        }
        (Some(_), None, _) | (None, Some(_), _) => bail!("offline, bundle needs both --genesis FILE and --entries DIR"),
        (None, None, None) => bail!("bundle needs --genesis FILE and --entries DIR (offline), or --node URL"),
    };
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
