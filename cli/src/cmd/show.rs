//! `show`: print an entry, decoded.

use std::{path::Path, process::ExitCode};

use anyhow::{Result, anyhow, bail};
use greenledger_core::{
    Entry, EntryId, EntrySet, EntrySource, Genesis, Kind, SetView, SignedEntry, custody_facts, model::Body,
};
use greenledger_interop::{catenax, epcis, pact};

use crate::{Refused, args::ShowArgs, client::Client, cmd::resolve, files, output};

pub(crate) fn show(a: ShowArgs, node: Option<&str>, json: bool) -> Result<ExitCode> {
    let path = Path::new(&a.what);
    let mut set: Option<EntrySet> = None;
    let mut genesis: Option<Genesis> = None;
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
        genesis = a.genesis.as_deref().map(files::load_genesis).transpose()?;
        let loaded = files::load_entries(dir, genesis.as_ref().map(|g| g.network_id()))?;
        let view = genesis.as_ref().map(|g| SetView::new(g, &loaded, []));
        let id = resolve(&loaded, view.as_ref(), &a.what)?;
        let found = match loaded.get(&id) {
            Some(e) => e.signed,
            None => bail!("entry {id} is not in {}", dir.display()),
        };
        set = Some(loaded);
        found
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
    if a.format == "epcis" {
        return show_epcis(&se, set.as_ref(), a.entries.as_deref(), node);
    }
    if a.format == "pact" || a.format == "catenax" {
        return show_pact(
            &se,
            set.as_ref(),
            genesis.as_ref(),
            a.entries.as_deref(),
            node,
            &a.format,
        );
    }
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
            Ok(e) => anstream::print!("{}", output::entry_text(e, sig_ok.unwrap_or(false))),
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

/// `show --format pact`: the attestation as a PACT v3 ProductFootprint on stdout (`--format
/// catenax`: that footprint as a Catena-X PCF document, with a note on standard error naming the
/// fields Catena-X requires that were filled with defaults). Whether it is superseded, and the
/// supplier's name, come from the node (--node) or from --entries DIR; with --entries DIR and
/// --genesis FILE, the certificates behind a batch's electricity claims come from DIR too.
fn show_pact(
    se: &SignedEntry,
    set: Option<&EntrySet>,
    genesis: Option<&Genesis>,
    dir: Option<&Path>,
    node: Option<&str>,
    format: &str,
) -> Result<ExitCode> {
    let id = se.id();
    let e = se
        .verify()
        .map_err(|err| Refused(format!("entry {id} does not verify ({err}); it is not exported")))?;
    let e = e.entry();
    let Some(att) = e.attestation() else {
        bail!(
            "entry {id} is a {} entry; only attestations have a PACT or Catena-X form",
            e.payload.body.kind()
        );
    };
    let mut ctx = pact::ExportContext::default();
    let mut facts = None;
    if let Some(n) = node {
        let client = Client::new(n)?;
        let info = client.part(&att.part)?;
        if let Some(me) = info.attestations.iter().find(|x| x.id == id) {
            ctx.superseded = !me.superseded_by.is_empty();
            ctx.company_name = me.supplier.clone();
        }
    } else {
        let loaded;
        let set = match (set, dir) {
            (Some(s), _) => Some(s),
            (None, Some(d)) => {
                loaded = files::load_entries(d, None)?;
                Some(&loaded)
            }
            (None, None) => None,
        };
        if let Some(set) = set {
            for x in set.iter() {
                match &x.payload.body {
                    Body::Attestation(b) if b.supersedes == Some(id) && x.payload.signer == e.payload.signer => {
                        ctx.superseded = true;
                    }
                    Body::MemberAdmit(m)
                        if m.member == e.payload.signer && x.payload.body.kind() == Kind::MemberAdmit =>
                    {
                        ctx.company_name = Some(m.name.clone());
                    }
                    _ => {}
                }
            }
            if let Some(g) = genesis {
                facts = custody_facts::electricity(&SetView::new(g, set, []), att);
            }
        }
    }
    let mut out = pact::export_with(se, &ctx, facts.as_ref()).map_err(|err| anyhow!("{err}"))?;
    if format == "catenax" {
        let (doc, defaulted) = catenax::from_pact(&out).map_err(|err| anyhow!("{err}"))?;
        if !defaulted.is_empty() {
            eprintln!(
                "note: the attestation does not state these Catena-X fields; they are defaults (docs/PACT.md, \"Catena-X\"): {}",
                defaulted.join(", ")
            );
        }
        out = doc;
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

/// `show --format epcis`: an attestation as an EPCIS 2.0 document holding its
/// TransformationEvent, a `batch.ship` entry as one holding its shipping ObjectEvents
/// (docs/EPCIS.md). An attestation's inputs and a shipment's batch are looked up on the node
/// (--node) or in --entries DIR.
fn show_epcis(se: &SignedEntry, set: Option<&EntrySet>, dir: Option<&Path>, node: Option<&str>) -> Result<ExitCode> {
    let id = se.id();
    let v = se
        .verify()
        .map_err(|err| Refused(format!("entry {id} does not verify ({err}); it is not exported")))?;
    let e = v.entry();
    let loaded;
    let set = match (set, dir) {
        (Some(s), _) => Some(s),
        (None, Some(d)) if node.is_none() => {
            loaded = files::load_entries(d, None)?;
            Some(&loaded)
        }
        _ => None,
    };
    let client = node.map(Client::new).transpose()?;
    let get = |id: &EntryId| -> Option<Entry> {
        match (&client, set) {
            (Some(c), _) => c.entry(id).ok()?.verify().ok().map(|v| v.into_entry()),
            (None, Some(s)) => s.entry(id).cloned(),
            (None, None) => None,
        }
    };
    let facts = |id: &EntryId| -> Option<epcis::InputFacts> {
        get(id).and_then(|e| {
            e.attestation()
                .map(|a| (a.part.clone(), a.declared_unit_of_measurement))
        })
    };
    let events = match &e.payload.body {
        Body::Attestation(_) => vec![epcis::transformation_event(e, &facts).map_err(|err| anyhow!("{err}"))?],
        Body::BatchShip(b) => {
            let batch = shipped_batch(&get, b.from.first().map(|d| d.lot)).ok_or_else(|| {
                anyhow!(
                    "the batch that entry {} ships is not at hand: give --entries DIR holding it and the shipments before it, or --node URL",
                    id.fmt_short()
                )
            })?;
            epcis::shipping_events(e, &batch).map_err(|err| anyhow!("{err}"))?
        }
        other => bail!(
            "entry {id} is a {} entry; only attestations (TransformationEvent) and batch.ship entries (ObjectEvents) have an EPCIS form",
            other.kind()
        ),
    };
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    println!("{}", serde_json::to_string_pretty(&epcis::document(events, &now))?);
    Ok(ExitCode::SUCCESS)
}

/// The part and unit of the batch a lot carries: back through shipments to the attestation.
fn shipped_batch(
    get: &dyn Fn(&EntryId) -> Option<Entry>,
    mut lot: Option<greenledger_core::custody::LotId>,
) -> Option<epcis::InputFacts> {
    // A chain of shipments is at most as long as the log; stop at a generous bound.
    for _ in 0..100_000 {
        let e = get(&lot?.entry)?;
        match &e.payload.body {
            Body::Attestation(a) => return Some((a.part.clone(), a.declared_unit_of_measurement)),
            Body::BatchShip(b) => lot = b.from.first().map(|d| d.lot),
            _ => return None,
        }
    }
    None
}
