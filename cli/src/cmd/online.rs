//! Commands that need a node: `submit` and `log verify`.

use std::{path::PathBuf, process::ExitCode};

use anyhow::{Context, Result, anyhow, bail};
use greenledger_core::{
    PublicKey, Signature, SignedEntry,
    api::{ItemBody, ItemResult, LogPage, SignedHead, SubmitStatus, Submitted},
    keys, log,
};

use crate::{
    Refused,
    args::SubmitArgs,
    client::Client,
    files, progress,
    style::{BAD, GOOD, paint},
};

pub(crate) fn need_node(node: Option<&str>, what: &str) -> Result<Client> {
    match node {
        Some(n) => Client::new(n),
        None => bail!("{what} needs a node: pass --node URL or set GREENLEDGER_NODE (e.g. http://127.0.0.1:7070)"),
    }
}

pub(crate) fn submit(a: SubmitArgs, node: Option<&str>, json: bool) -> Result<ExitCode> {
    let client = need_node(node, "submit")?;
    // Read and check every file first: a typo in the last file should not leave half a batch.
    // Every file that is not a signed entry is named, not just the first.
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for path in &a.files {
        match files::read_entry(path) {
            Ok(se) => entries.push((path, se)),
            Err(e) => bad.push(format!("{e:#}")),
        }
    }
    if !bad.is_empty() {
        bail!(
            "{} of {} files cannot be submitted, so nothing was sent to the node (fix them or leave them out):\n  {}",
            bad.len(),
            a.files.len(),
            bad.join("\n  ")
        );
    }
    // Send membership entries first, and each signer's chain in order, so that a folder can be
    // submitted whatever its files are called (the node refuses entries of signers it has not
    // seen admitted, and holds entries whose prev or inputs it lacks until they arrive).
    entries.sort_by_key(|(_, se)| match se.decode() {
        Ok(e) => (
            e.payload.body.kind() == greenledger_core::Kind::Attestation,
            e.payload.seq,
        ),
        Err(_) => (true, u64::MAX),
    });
    let total = entries.len();
    // Each entry counts once it is stored, pending, a duplicate or refused for good.
    let bar = progress::counter(total as u64, "submit", "entries");
    let mut results = Vec::new();
    let mut refused = 0;
    // The node could not be reached or failed to store an entry: what is left is not sent.
    let mut failure: Option<String> = None;
    // A signer admitted by an admin who is admitted later in the same batch is refused as
    // unknown at first: retry such refusals while each pass stores something new.
    let mut queue = entries;
    loop {
        let mut retry = Vec::new();
        let before = queue.len();
        let mut items = queue.into_iter().peekable();
        while items.peek().is_some() {
            // The next chunk: at most --batch entries and about 1 MiB (under a node's body limit).
            let mut chunk = Vec::new();
            let mut bytes = 0;
            while let Some((_, se)) = items.peek() {
                let len = se.payload().len() + 160;
                if !chunk.is_empty() && (chunk.len() >= a.batch.max(1) || bytes + len > CHUNK_BYTES) {
                    break;
                }
                bytes += len;
                chunk.extend(items.next());
            }
            let answers = match send_chunk(&client, &chunk) {
                Ok(answers) => answers,
                Err(f) => {
                    for (path, se) in &chunk {
                        results.push(serde_json::json!({"file": path, "id": se.id(), "error": f, "sent": false}));
                    }
                    failure = Some(f);
                    break;
                }
            };
            for ((path, se), answer) in chunk.into_iter().zip(answers) {
                let id = se.id();
                match answer {
                    Sent::Taken(v) => {
                        if !json {
                            bar.suspend(|| {
                                eprintln!("{}: {}", path.display(), describe_submitted(&v));
                                println!("{id}");
                            });
                        }
                        bar.inc(1);
                        results.push(serde_json::json!({"file": path, "id": id, "result": v}));
                    }
                    Sent::Forbidden(msg) => retry.push((path, se, msg)),
                    Sent::Refused(msg) => {
                        refused += 1;
                        bar.suspend(|| eprintln!("{}: the node refused the entry: {msg}", path.display()));
                        bar.inc(1);
                        results.push(serde_json::json!({"file": path, "id": id, "error": msg}));
                    }
                }
            }
        }
        if failure.is_some() {
            bar.abandon();
            // Whatever was not sent is reported as such, with the refusals waiting for a retry.
            for (path, se, _) in retry {
                results.push(serde_json::json!({"file": path, "id": se.id(), "error": "not sent", "sent": false}));
            }
            for (path, se) in items {
                results.push(serde_json::json!({"file": path, "id": se.id(), "error": "not sent", "sent": false}));
            }
            break;
        }
        if retry.is_empty() || retry.len() == before {
            bar.finish_and_clear();
            for (path, se, msg) in retry {
                refused += 1;
                eprintln!("{}: the node refused the entry: {msg}", path.display());
                results.push(serde_json::json!({"file": path, "id": se.id(), "error": msg}));
            }
            break;
        }
        queue = retry.into_iter().map(|(p, se, _)| (p, se)).collect();
    }
    let not_sent = results.iter().filter(|r| r["sent"] == false).count();
    let stored = total - refused - not_sent;
    if json {
        let mut o = serde_json::json!({"submitted": stored, "refused": refused, "results": results});
        if let Some(f) = &failure {
            o["not_sent"] = serde_json::json!(not_sent);
            o["error"] = serde_json::json!({"code": "error", "message": f});
        }
        println!("{o}");
    }
    if let Some(f) = failure {
        // An I/O failure is worse than a refusal: exit 2, after saying what did get stored.
        if json {
            return Ok(ExitCode::from(2));
        }
        for r in results.iter().filter(|r| r["sent"] == false) {
            eprintln!(
                "{}: not stored (not sent, or the node failed)",
                r["file"].as_str().unwrap_or("?")
            );
        }
        bail!(
            "{f}\n{stored} of {total} entries were stored, {refused} refused, {not_sent} not stored; submit the files not stored again once the node is back"
        );
    }
    if refused > 0 {
        if json {
            return Ok(ExitCode::from(1)); // the summary above says which and why
        }
        return Err(Refused(format!("{refused} of {total} entries were refused")).into());
    }
    Ok(ExitCode::SUCCESS)
}

/// The most bytes of entries sent in one request (a node's default body limit is 2 MiB).
const CHUNK_BYTES: usize = 1 << 20;

/// What the node did with one sent entry.
enum Sent {
    /// Stored, already there, or pending.
    Taken(Submitted),
    /// Refused because the signer may not sign it (yet): retried after the others.
    Forbidden(String),
    /// Refused for another reason.
    Refused(String),
}

/// Sends a chunk of entries as one array (`POST /v1/entries` with a JSON array); a node that
/// does not take arrays (an older release) gets them one by one. `Err` if the node could not be
/// reached or failed (5xx): then what this chunk became is unknown to the caller.
fn send_chunk(client: &Client, chunk: &[(&PathBuf, SignedEntry)]) -> std::result::Result<Vec<Sent>, String> {
    let one = |status: u16, body: &[u8], message: String| -> Sent {
        match status {
            200..=202 => match serde_json::from_slice::<Submitted>(body) {
                Ok(v) => Sent::Taken(v),
                Err(e) => Sent::Refused(format!("unexpected answer from the node: {e}")),
            },
            403 => Sent::Forbidden(message),
            _ => Sent::Refused(message),
        }
    };
    let unreachable = |e: anyhow::Error| format!("{e:#}");
    if chunk.len() > 1 {
        let mut body = b"[".to_vec();
        for (i, (_, se)) in chunk.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(&se.to_json());
        }
        body.push(b']');
        let r = client.post_json("/v1/entries", &body).map_err(unreachable)?;
        if r.status >= 500 {
            return Err(format!("the node failed to store the entries: {}", r.error_message()));
        }
        if let Ok(items) = serde_json::from_slice::<Vec<ItemResult>>(&r.body)
            && r.status == 200
            && items.len() == chunk.len()
        {
            return Ok(items
                .into_iter()
                .map(|it| match it.body {
                    ItemBody::Submitted(v) => Sent::Taken(v),
                    ItemBody::Error(e) => {
                        let msg = format!("{} [{}]", e.error.message, e.error.code);
                        if it.status == 403 {
                            Sent::Forbidden(msg)
                        } else {
                            Sent::Refused(msg)
                        }
                    }
                })
                .collect());
        }
        // Not an answer to an array: send them one by one.
    }
    let mut out = Vec::with_capacity(chunk.len());
    for (path, se) in chunk {
        let r = client.post_json("/v1/entries", &se.to_json()).map_err(unreachable)?;
        if r.status >= 500 {
            return Err(format!(
                "the node failed to store {}: {}",
                path.display(),
                r.error_message()
            ));
        }
        out.push(one(r.status, &r.body, r.error_message()));
    }
    Ok(out)
}

/// What became of a submitted entry, for people: `stored at log index 7`, `pending (waiting
/// for …)`.
pub(crate) fn describe_submitted(s: &Submitted) -> String {
    let at = s.log_index.map(|i| format!(" at log index {i}")).unwrap_or_default();
    match s.status {
        SubmitStatus::Stored => format!("stored{at}"),
        SubmitStatus::Duplicate => format!("duplicate{at}"),
        SubmitStatus::Pending => {
            let missing: Vec<String> = s.missing.iter().flatten().map(|m| m.to_hex()).collect();
            format!("pending (waiting for {})", missing.join(", "))
        }
    }
}

fn hash32(s: &str) -> Result<[u8; 32]> {
    let mut b = [0u8; 32];
    hex::decode_to_slice(s, &mut b).map_err(|_| anyhow!("{s:?} is not a 32-byte hex hash"))?;
    Ok(b)
}

/// Re-walks the node's whole log: record hashes, entry ids, signatures, and the signed head.
pub(crate) fn log_verify(node: Option<&str>, json: bool) -> Result<ExitCode> {
    let client = need_node(node, "log verify")?;
    let genesis = client.genesis()?;
    let network = genesis.network_id();
    let head_reply = client.get("/v1/log/head")?;
    if head_reply.status != 200 {
        bail!("the node refused GET /v1/log/head: {}", head_reply.error_message());
    }
    let head: SignedHead = serde_json::from_slice(&head_reply.body).context("unexpected /v1/log/head answer")?;
    let head_hash = hash32(&head.head)?;
    let sig = Signature::from_hex(&head.signature).map_err(|e| anyhow!("checkpoint signature: {e}"))?;
    let mut problems: Vec<String> = Vec::new();
    if head.network != network {
        problems.push(format!(
            "the signed head names network {}, but the node's genesis is {}",
            head.network, network
        ));
    }
    if !log::verify_checkpoint(&head.node_key, &head.network, head.size, &head_hash, &sig) {
        problems.push("the node's signature on its log head does not verify".into());
    }
    let mut prev = [0u8; 32];
    let mut checked = 0u64;
    let mut signatures_bad = 0u64;
    let bar = progress::counter(head.size, "log verify", "records");
    while checked < head.size && problems.len() < 100 {
        let r = client.get(&format!("/v1/log?from={checked}&limit=1000&entries=true"))?;
        if r.status != 200 {
            bail!("the node refused GET /v1/log: {}", r.error_message());
        }
        let page: LogPage = serde_json::from_slice(&r.body).context("unexpected /v1/log answer")?;
        if page.records.is_empty() {
            problems.push(format!(
                "the log ends at {checked} records, but the signed head says {}",
                head.size
            ));
            break;
        }
        let _ = page.size;
        let mut decoded = Vec::with_capacity(page.records.len());
        for rec in &page.records {
            if rec.index != checked {
                problems.push(format!(
                    "record {checked} is missing (the node sent record {} instead)",
                    rec.index
                ));
                break;
            }
            let stored = hash32(&rec.hash)?;
            let Some(entry) = &rec.entry else {
                problems.push(format!("record {}: the node sent no entry with it", rec.index));
                break;
            };
            let se = match SignedEntry::from_json(entry.get().as_bytes()) {
                Ok(se) => se,
                Err(e) => {
                    problems.push(format!("record {}: the entry is malformed: {e}", rec.index));
                    prev = stored;
                    checked += 1;
                    continue;
                }
            };
            if se.id() != rec.id {
                problems.push(format!(
                    "record {}: names entry {}, but the entry's bytes hash to {}",
                    rec.index,
                    rec.id.fmt_short(),
                    se.id().fmt_short()
                ));
            }
            let h = log::record_hash(rec.index, &rec.id, &prev);
            if h != stored {
                problems.push(format!(
                    "record {}: its hash does not chain from record {} (log rewritten or corrupted)",
                    rec.index,
                    rec.index.wrapping_sub(1)
                ));
            }
            match se.decode() {
                Ok(e) => {
                    if e.payload.network != network {
                        problems.push(format!(
                            "record {}: entry {} belongs to another network",
                            rec.index,
                            rec.id.fmt_short()
                        ));
                    }
                    decoded.push((rec.index, e));
                }
                Err(err) => problems.push(format!(
                    "record {}: entry {} does not decode: {err}",
                    rec.index,
                    rec.id.fmt_short()
                )),
            }
            prev = h;
            checked += 1;
        }
        let bytes: Vec<Vec<u8>> = decoded.iter().map(|(_, e)| e.signed.signed_bytes()).collect();
        let items: Vec<(PublicKey, &[u8], Signature)> = decoded
            .iter()
            .zip(&bytes)
            .map(|((_, e), b)| (e.payload.signer, b.as_slice(), *e.signed.signature()))
            .collect();
        for ((idx, e), ok) in decoded.iter().zip(keys::verify_all(&items)) {
            if ok.is_err() {
                signatures_bad += 1;
                problems.push(format!(
                    "record {idx}: the signature of entry {} does not verify",
                    e.id.fmt_short()
                ));
            }
        }
        bar.set_position(checked);
    }
    bar.finish_and_clear();
    if checked == head.size && prev != head_hash {
        problems.push(format!(
            "after {checked} records the head is {}, but the node signed {}",
            hex::encode(prev),
            head.head
        ));
    }
    let valid = problems.is_empty();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "valid": valid, "records": checked, "size": head.size, "head": head.head,
                "peer_id": head.peer_id, "bad_signatures": signatures_bad, "reasons": problems,
            }))?
        );
    } else {
        // The verdict first, then what was checked.
        if valid {
            anstream::println!(
                "{}: every record hash, entry id and signature checked; the head matches the node's signed checkpoint",
                paint(GOOD, "VALID")
            );
        } else {
            anstream::println!(
                "{}: {} problem{}",
                paint(BAD, "INVALID"),
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            for p in &problems {
                println!("  {p}");
            }
        }
        println!();
        println!("node     {} (node key {})", head.peer_id, head.node_key.fmt_short());
        println!("network  {} ({})", genesis.name, network);
        println!("log      {} records, head {}", head.size, head.head);
    }
    Ok(if valid { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
