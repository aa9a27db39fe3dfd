//! One module per command family; [`dispatch`] routes the parsed command line.

mod bundle;
mod custody;
mod epcis;
mod generated;
mod keys;
pub(crate) mod online;
mod show;
mod sign;
mod verify;

use std::process::ExitCode;

use anyhow::{Result, bail};
use greenledger_core::{EntryId, EntrySet, SetView};

use crate::args::{Cli, Command, LogCommand};

/// Runs a parsed command line.
pub(crate) fn dispatch(cli: Cli) -> Result<ExitCode> {
    let json = cli.json;
    let node = cli.node.as_deref().filter(|n| !n.trim().is_empty());
    match cli.command {
        Command::Key(k) => keys::key(k, json),
        Command::Genesis(a) => keys::genesis(a, json),
        Command::Admit(a) => sign::admit(a, node, json),
        Command::Revoke(a) => sign::revoke(a, node, json),
        Command::Attest(a) => sign::attest(a, node, json),
        Command::Cert(c) => custody::cert(c, node, json),
        Command::Ship(a) => custody::ship(a, node, json),
        Command::Lots(a) => custody::lots(a, node, json),
        Command::Sign(a) => sign::sign_payload(a, node, json),
        Command::Submit(a) => online::submit(a, node, json),
        Command::Show(a) => show::show(a, node, json),
        Command::Bundle(a) => bundle::bundle(a, node, json),
        Command::Verify(a) => verify::verify(a, node, json),
        Command::Log(LogCommand::Verify) => online::log_verify(node, json),
        Command::Completions(a) => generated::completions(a),
        Command::Man(a) => generated::man(a, json),
    }
}

/// Resolves an entry id, a unique id prefix (at least 8 hex characters) or a part URN (its
/// current attestation: no correction of its own signer that holds supersedes it) in an entry
/// set. Which corrections hold takes the network's genesis (`view`); without it, a part
/// resolves only if the folder holds a single attestation of it.
pub(crate) fn resolve(set: &EntrySet, view: Option<&SetView<'_>>, what: &str) -> Result<EntryId> {
    let what = what.trim();
    if what.starts_with("urn:") {
        let current = match view {
            Some(v) => v.current_for_part(what),
            None => match set.by_part(what).as_slice() {
                [one] => vec![*one],
                [] => vec![],
                many => bail!(
                    "the entries folder holds {} attestations of part {what}; which one is current depends on which corrections hold: give --genesis FILE, or name one by id",
                    many.len()
                ),
            },
        };
        return match current.as_slice() {
            [] => bail!("no attestation for part {what} in the entries folder"),
            [one] => Ok(one.id),
            many => {
                let ids: Vec<String> = many
                    .iter()
                    .map(|e| {
                        format!(
                            "{} (signer {}, seq {})",
                            e.id,
                            e.payload.signer.fmt_short(),
                            e.payload.seq
                        )
                    })
                    .collect();
                bail!(
                    "part {what} has {} current attestations (several suppliers or batches not superseding each other, or a fork); name one by id:\n  {}",
                    many.len(),
                    ids.join("\n  ")
                )
            }
        };
    }
    if let Ok(id) = what.parse::<EntryId>() {
        return Ok(id);
    }
    if what.len() >= 8 && what.len() < 64 && what.bytes().all(|b| b.is_ascii_hexdigit()) {
        let found = set.find_prefix(&what.to_ascii_lowercase());
        return match found.as_slice() {
            [] => bail!("no entry id starts with {what} in the entries folder"),
            [one] => Ok(*one),
            _ => bail!("{} entries start with {what}; give more characters", found.len()),
        };
    }
    bail!(
        "{what:?} is neither an entry id (64 lowercase hex characters, or a unique prefix of 8 or more) nor a part URN (urn:…)"
    )
}
