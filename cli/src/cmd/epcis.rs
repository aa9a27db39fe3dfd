//! `attest --epcis FILE`: an attestation's part, produced quantity and inputs from an EPCIS 2.0
//! TransformationEvent (docs/EPCIS.md). The mapping is `greenledger_interop::epcis`; this
//! module matches the event's inputs to what the signer can consume — the current attestations
//! of each input's part, on the node or in `--entries DIR`, and the batch lots the signer holds
//! — and stops, naming the EPC and the candidates, where a match is missing or ambiguous.

use std::{collections::BTreeMap, path::PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use greenledger_core::{
    EntryId, SetView, Unit,
    custody::{LotId, LotKind},
    engine,
    model::Body,
};
use greenledger_interop::epcis::{self, Amount, Document, Epc, Event, Item, Matched, Output};
use serde_json::Value;

use crate::{
    args::AttestArgs,
    cmd::{
        custody::{Amount as LotAmount, LotBook, held_in, names_lot, parse_lot_spec},
        sign::Signer,
    },
    files,
};

/// A parsed `--epcis` file and its path (for messages).
pub(crate) struct EpcisFile {
    path: PathBuf,
    doc: Document,
}

/// Reads and checks the `--epcis` file, if one is given: a malformed or unknown document is an
/// input error naming the field (exit 2).
pub(crate) fn read(a: &AttestArgs) -> Result<Option<EpcisFile>> {
    let Some(path) = &a.epcis else {
        return Ok(None);
    };
    let bytes = files::read(path, "EPCIS document")?;
    let doc = epcis::parse(&bytes).map_err(|e| anyhow!("{}: EPCIS: {e}", path.display()))?;
    Ok(Some(EpcisFile {
        path: path.clone(),
        doc,
    }))
}

/// What the event gives the attestation.
pub(crate) struct Imported {
    /// The part and unit, the produced quantity, and what the inputs are divided by.
    pub(crate) output: Output,
    /// `--input`-style specs (`ID=QTY`, `LOT=QTY`) for the matched inputs, with where each
    /// came from.
    pub(crate) specs: Vec<(String, String)>,
    /// `extensions.epcis`.
    pub(crate) extensions: Value,
}

/// What an input EPC was matched to.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    /// An attestation (its average footprint).
    Entry(EntryId),
    /// A batch lot the signer holds, of the attestation `origin`.
    Lot(LotId, EntryId),
}

/// A candidate, for matching and for messages.
#[derive(Clone, Debug)]
struct Candidate {
    target: Target,
    unit: Unit,
    /// "3f9a… (part …, signer …)".
    label: String,
}

impl Target {
    fn origin(&self) -> EntryId {
        match self {
            Target::Entry(e) | Target::Lot(_, e) => *e,
        }
    }
}

/// Chooses the event and its output, matches its inputs and computes their quantities per
/// declared unit.
pub(crate) fn import(s: &Signer, f: &EpcisFile, a: &AttestArgs, unit: Option<Unit>) -> Result<Imported> {
    let at = |e: epcis::Error| anyhow!("{}: EPCIS: {e}", f.path.display());
    let event = f.doc.select(a.event.as_deref()).map_err(at)?;
    let output = event.output(a.part.as_deref(), unit).map_err(at)?;
    for w in &output.warnings {
        eprintln!("warning: {}: {w}", f.path.display());
    }
    if !event.not_kept.is_empty() {
        eprintln!(
            "note: {}: not kept in the attestation (docs/EPCIS.md): {}",
            f.path.display(),
            event.not_kept.join(", ")
        );
    }
    let overrides = parse_matches(s, &a.matches, event)?;
    let finder = Finder::new(s)?;
    // Each input to its target, then the inputs of one target summed.
    let mut by_target: Vec<(Candidate, Amount, Vec<&Item>)> = Vec::new();
    let mut matched = Vec::new();
    for item in &event.inputs {
        let cand = match overrides.iter().find(|(i, _)| *i == item.path) {
            Some((_, c)) => c.clone(),
            None => finder
                .resolve(item)
                .map_err(|e| anyhow!("{}: EPCIS: {e:#}", f.path.display()))?,
        };
        matched.push(Matched {
            path: item.path.clone(),
            entry: cand.target.origin(),
            lot: match &cand.target {
                Target::Lot(l, _) => Some(l.to_string()),
                Target::Entry(_) => None,
            },
        });
        match by_target.iter_mut().find(|(c, ..)| c.target == cand.target) {
            Some((_, sum, items)) => {
                *sum = sum.add(item.measure(), &item.path).map_err(at)?;
                items.push(item);
            }
            None => by_target.push((cand, item.measure(), vec![item])),
        }
    }
    let mut specs = Vec::new();
    for (cand, sum, items) in &by_target {
        let first = items[0];
        let q = epcis::per_unit(*sum, cand.unit, output.per, output.unit, &first.path, first.uom()).map_err(|e| {
            anyhow!(
                "{}: EPCIS: {e} (the input {} is matched to {})",
                f.path.display(),
                first.written,
                cand.label
            )
        })?;
        let id = match &cand.target {
            Target::Entry(e) => e.to_hex(),
            Target::Lot(l, _) => l.to_string(),
        };
        let from = items.iter().map(|i| i.path.as_str()).collect::<Vec<_>>().join(", ");
        specs.push((format!("{id}={}", q.decimal_string()), from));
    }
    let extensions = epcis::extensions(event, &output, &matched);
    Ok(Imported {
        output,
        specs,
        extensions,
    })
}

/// `--match EPC=ID_OR_LOT`: the input(s) of the event with that EPC are matched to that entry
/// (an id, a unique prefix with --entries, a part URN's current attestation) or lot.
fn parse_matches(s: &Signer, specs: &[String], event: &Event) -> Result<Vec<(String, Candidate)>> {
    let mut out = Vec::new();
    for spec in specs {
        let (epc, what) = spec
            .rsplit_once('=')
            .ok_or_else(|| anyhow!("--match {spec:?}: expected EPC=ID (or EPC=ENTRY_ID:INDEX for a lot you hold)"))?;
        let parsed = Epc::parse(epc).map_err(|e| anyhow!("--match {spec:?}: {e}"))?;
        let items: Vec<&Item> = event
            .inputs
            .iter()
            .filter(|i| i.written == epc || i.epc == parsed)
            .collect();
        if items.is_empty() {
            bail!(
                "--match {spec:?}: the event has no input {epc}; its inputs are:\n  {}",
                event
                    .inputs
                    .iter()
                    .map(|i| format!("{} ({})", i.written, i.path))
                    .collect::<Vec<_>>()
                    .join("\n  ")
            );
        }
        let what = what.trim();
        let target = if names_lot(&format!("{what}=1")) {
            // The lot's batch, looked up as every draw's lot is (the draw is checked later).
            let ls = parse_lot_spec("--match", &format!("{what}=1"), LotAmount::Quantity)
                .with_context(|| format!("--match {spec:?}"))?;
            let found = LotBook::new(s).find(&ls).with_context(|| format!("--match {spec:?}"))?;
            Target::Lot(found.id, found.lot.origin)
        } else {
            Target::Entry(s.resolve(what).with_context(|| format!("--match {spec:?}"))?)
        };
        let e = s
            .lookup(&target.origin())
            .with_context(|| format!("--match {spec:?}"))?;
        let Some(att) = e.attestation() else {
            bail!(
                "--match {spec:?}: entry {} is a {} entry, not an attestation",
                e.id.fmt_short(),
                e.payload.body.kind()
            );
        };
        let cand = Candidate {
            unit: att.declared_unit_of_measurement,
            label: format!("{} (part {})", what, att.part),
            target,
        };
        for i in items {
            out.push((i.path.clone(), cand.clone()));
        }
    }
    Ok(out)
}

/// Where inputs are matched: the node, or `--entries DIR`.
struct Finder<'a> {
    s: &'a Signer,
    /// Batch lots the signer holds with something left: (lot, what is left, origin, its part,
    /// its unit).
    held: Vec<(LotId, i64, EntryId, String, Unit)>,
    /// Offline: the attestations of the folder by EPC.
    offline: Option<BTreeMap<Epc, Vec<String>>>,
}

impl<'a> Finder<'a> {
    fn new(s: &'a Signer) -> Result<Self> {
        let me = s.key.public();
        let mut held = Vec::new();
        let mut offline = None;
        if let Some(c) = &s.client {
            // A node of an earlier release without the route: no lots to offer.
            if let Ok(lots) = c.holder_lots(&me) {
                for l in lots.lots.into_iter().filter(|l| l.kind == LotKind::Batch && l.left > 0) {
                    let e = s.lookup(&l.origin)?;
                    if let Some(a) = e.attestation() {
                        held.push((l.lot, l.left, l.origin, a.part.clone(), a.declared_unit_of_measurement));
                    }
                }
            }
        } else if let Some(set) = &s.set {
            let view = SetView::new(&s.genesis, set, []);
            for l in held_in(set, &view, &me).lots {
                if l.kind != LotKind::Batch || l.left <= 0 {
                    continue;
                }
                if let Some(a) = set.entry(&l.origin).and_then(|e| e.attestation()) {
                    held.push((l.lot, l.left, l.origin, a.part.clone(), a.declared_unit_of_measurement));
                }
            }
            let mut parts: BTreeMap<Epc, Vec<String>> = BTreeMap::new();
            for e in set.iter() {
                if let Body::Attestation(a) = &e.payload.body
                    && let Ok(epc) = Epc::parse(&a.part)
                {
                    let v = parts.entry(epc).or_default();
                    if !v.contains(&a.part) {
                        v.push(a.part.clone());
                    }
                }
            }
            offline = Some(parts);
        } else {
            bail!("matching the EPCIS inputs needs --entries DIR (a folder of signed entries) or --node URL");
        }
        Ok(Finder { s, held, offline })
    }

    /// The current, valid attestations of an EPC (any spelling of its part).
    fn attestations(&self, epc: &Epc) -> Result<Vec<Candidate>> {
        let mut out = Vec::new();
        if let Some(client) = &self.s.client {
            for urn in epc.urns() {
                let Some(info) = client.part_if_any(&urn)? else {
                    continue;
                };
                for id in &info.current {
                    let Some(pa) = info.attestations.iter().find(|x| x.id == *id && x.valid) else {
                        continue;
                    };
                    let unit: Unit = pa
                        .unit
                        .parse()
                        .map_err(|e: String| anyhow!("the node's attestation {}: {e}", id.fmt_short()))?;
                    out.push(Candidate {
                        target: Target::Entry(*id),
                        unit,
                        label: format!(
                            "{id} (part {urn}, {}, seq {}, {})",
                            pa.supplier.as_deref().unwrap_or("unnamed signer"),
                            pa.seq,
                            pa.unit
                        ),
                    });
                }
            }
            return Ok(out);
        }
        let (Some(parts), Some(set)) = (&self.offline, &self.s.set) else {
            return Ok(out);
        };
        let view = SetView::new(&self.s.genesis, set, []);
        let members = self.s.membership();
        for part in parts.get(epc).into_iter().flatten() {
            for e in view.current_for_part(part) {
                if !engine::check(e, &view).violations.is_empty() {
                    continue;
                }
                let Some(a) = e.attestation() else { continue };
                out.push(Candidate {
                    target: Target::Entry(e.id),
                    unit: a.declared_unit_of_measurement,
                    label: format!(
                        "{} (part {part}, {}, seq {}, {})",
                        e.id,
                        members.describe(&e.payload.signer),
                        e.payload.seq,
                        a.declared_unit_of_measurement.as_str()
                    ),
                });
            }
        }
        Ok(out)
    }

    /// Batch lots the signer holds, of an EPC.
    fn lots(&self, epc: &Epc) -> Vec<Candidate> {
        self.held
            .iter()
            .filter(|(.., part, _)| epc.names(part))
            .map(|(lot, left, origin, part, unit)| Candidate {
                target: Target::Lot(*lot, *origin),
                unit: *unit,
                label: format!(
                    "lot {lot} (of {part}, {} {} left)",
                    greenledger_core::Quantity(*left).decimal_string(),
                    unit.symbol()
                ),
            })
            .collect()
    }

    /// An input's match: a batch lot the signer holds of it, else its current attestation;
    /// the EPC itself first, then (for an item or a lot of a GTIN) its product. Several at the
    /// first level that has any: ambiguous; none at all: missing.
    fn resolve(&self, item: &Item) -> Result<Candidate> {
        let levels: Vec<Epc> = std::iter::once(item.epc.clone()).chain(item.epc.product()).collect();
        let mut found = Vec::new();
        let mut what = "";
        'levels: for (lots, kind) in [(true, "batch lots you hold"), (false, "current attestations")] {
            for epc in &levels {
                found = if lots { self.lots(epc) } else { self.attestations(epc)? };
                if !found.is_empty() {
                    what = kind;
                    break 'levels;
                }
            }
        }
        let place = if self.s.client.is_some() {
            "on the node"
        } else {
            "in --entries DIR"
        };
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => bail!(
                "{}: {} ({}) matches no current attestation {place} and no batch lot you hold{}; attest it first (as part {}), or name the attestation with --match {}=ID",
                item.path,
                item.written,
                item.epc,
                if levels.len() > 1 {
                    format!(" (nor does its product, {})", levels[1])
                } else {
                    String::new()
                },
                if item.written.starts_with("urn:") {
                    item.written.clone()
                } else {
                    item.epc.urns().join(" or ")
                },
                item.written
            ),
            n => bail!(
                "{}: {} ({}) matches {n} {what} {place}; greenledger does not guess: choose one with --match {}=ID_OR_LOT:\n  {}",
                item.path,
                item.written,
                item.epc,
                item.written,
                found.iter().map(|c| c.label.clone()).collect::<Vec<_>>().join("\n  ")
            ),
        }
    }
}
