//! `show`: print an entry, decoded.

use std::{path::Path, process::ExitCode};

use anyhow::{Result, bail};
use greenledger_core::EntrySource;

use crate::{args::ShowArgs, client::Client, cmd::resolve, files, output};

pub(crate) fn show(a: ShowArgs, node: Option<&str>, json: bool) -> Result<ExitCode> {
    let path = Path::new(&a.what);
    let se = if path.is_file() {
        files::read_entry(path)?
    } else if path.is_dir() {
        bail!(
            "{} is a folder; give an entry file, or an id or part URN with --entries {} to look it up there",
            path.display(),
            path.display()
        );
    } else if (a.what.ends_with(".json") || a.what.contains('/')) && !a.what.starts_with("urn:") {
        bail!("no such file: {}", a.what);
    } else if let Some(dir) = &a.entries {
        let set = files::load_entries(dir, None)?;
        let id = resolve(&set, &a.what)?;
        match set.get(&id) {
            Some(e) => e.signed,
            None => bail!("entry {id} is not in {}", dir.display()),
        }
    } else if let Some(n) = node {
        let client = Client::new(n)?;
        let id = client.resolve(&a.what)?;
        client.entry(&id)?
    } else {
        bail!(
            "{:?} is not a file; to look up an id or part, pass --entries DIR or --node URL",
            a.what
        );
    };
    let id = se.id();
    let decoded = se.decode();
    let sig_ok = decoded
        .as_ref()
        .ok()
        .map(|e| e.payload.signer.verify(&se.signed_bytes(), se.signature()).is_ok());
    if json {
        let payload: serde_json::Value = serde_json::from_slice(se.payload()).unwrap_or(serde_json::Value::Null);
        let v = serde_json::json!({
            "id": id.to_hex(),
            "valid_encoding": decoded.is_ok(),
            "signature_valid": sig_ok.unwrap_or(false),
            "error": decoded.as_ref().err().map(|e| e.to_string()),
            "payload": payload,
            "signature": se.signature().to_hex(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        match &decoded {
            Ok(e) => print!("{}", output::entry_text(e, sig_ok.unwrap_or(false))),
            Err(err) => {
                println!("id         {id}");
                println!("encoding   INVALID: {err}");
                if let Some(was) = se.canonical_form_id().filter(|w| *w != id) {
                    println!(
                        "note       these bytes are a reformatted copy of entry {was}; use the file as it was signed"
                    );
                }
            }
        }
    }
    Ok(if decoded.is_ok() && sig_ok == Some(true) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
