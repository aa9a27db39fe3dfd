//! `verify --bundle FILE`: verify a provenance bundle with no node.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use greenledger_core::{Bundle, NetworkId, VerifyOptions, verify_bundle};

use crate::{args::VerifyArgs, files, output};

pub(crate) fn verify(a: VerifyArgs, json: bool) -> Result<ExitCode> {
    let Some(path) = &a.bundle else {
        match &a.what {
            Some(w) => bail!(
                "verifying {w:?} needs a node to fetch its bundle from; offline, export a bundle and run: greenledger verify --bundle FILE"
            ),
            None => bail!("nothing to verify: give --bundle FILE"),
        }
    };
    let expected_network: Option<NetworkId> = match (&a.genesis, &a.network) {
        (Some(g), _) => Some(files::load_genesis(g)?.network_id()),
        (None, Some(n)) => Some(n.parse().with_context(|| format!("--network {n:?}"))?),
        (None, None) => None,
    };
    let bytes = files::read(path, "bundle")?;
    let bundle =
        Bundle::from_json(&bytes).with_context(|| format!("cannot read {}", path.display()))?;
    let report = verify_bundle(&bundle, &VerifyOptions { expected_network });
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!(
            "{}",
            output::report_text(&report, &path.display().to_string(), a.depth)
        );
    }
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
