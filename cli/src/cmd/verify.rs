//! `verify`: verify a provenance bundle locally, from a file or fetched from a node. The node
//! is never trusted: its bundle is checked step by step exactly as a file would be.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use greenledger_core::{
    Bundle, NetworkId, VerifyOptions,
    verify::{PHASES, verify_bundle_with_progress},
};

use crate::{args::VerifyArgs, client::Client, files, output, progress};

pub(crate) fn verify(a: VerifyArgs, node: Option<&str>, json: bool) -> Result<ExitCode> {
    let expected_network: Option<NetworkId> = match (&a.genesis, &a.network) {
        (Some(g), _) => Some(files::load_genesis(g)?.network_id()),
        (None, Some(n)) => Some(n.parse().with_context(|| format!("--network {n:?}"))?),
        (None, None) => None,
    };
    let (source, bytes) = match (&a.bundle, &a.what, node) {
        (Some(path), _, _) => (path.display().to_string(), files::read(path, "bundle")?),
        (None, Some(what), Some(n)) => {
            let client = Client::new(n)?;
            let id = client.resolve(what)?;
            let r = client.get(&format!("/v1/provenance/{id}"))?;
            if r.status != 200 {
                bail!("the node cannot give the bundle of {id}: {}", r.error_message());
            }
            (format!("{n} (provenance of {})", id.fmt_short()), r.body)
        }
        (None, Some(w), None) => bail!(
            "verifying {w:?} needs a node to fetch its bundle from: pass --node URL (or set GREENLEDGER_NODE); offline, run: greenledger verify --bundle FILE"
        ),
        (None, None, _) => bail!("nothing to verify: give an entry id or part URN (with --node), or --bundle FILE"),
    };
    // Reading, then each phase of the verifier: a bar on a terminal, for a large bundle.
    let bar = progress::steps(PHASES.len() as u64 + 1, "verify");
    bar.set_message("reading the bundle");
    let bundle = Bundle::from_json(&bytes).map_err(|e| {
        // A genesis, an entry or a key given as the bundle is named as such.
        let kind = a
            .bundle
            .as_deref()
            .and_then(|p| files::wrong_kind(p, &bytes, "a provenance bundle"));
        match kind {
            Some(k) => {
                anyhow::anyhow!("cannot read {source}: {e} ({k}; make a bundle with: greenledger bundle ID --out FILE)")
            }
            None => anyhow::Error::new(e).context(format!("cannot read {source}")),
        }
    })?;
    let entries = bundle.entries.len();
    let report = verify_bundle_with_progress(&bundle, &VerifyOptions { expected_network }, &mut |i| {
        bar.set_position(i as u64 + 1);
        bar.set_message(format!("{} ({entries} entries)", PHASES[i]));
    });
    bar.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        anstream::print!("{}", output::report_text(&report, &source, a.depth));
    }
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
