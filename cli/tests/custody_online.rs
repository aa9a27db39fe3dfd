//! The custody commands online (`--node URL`) against a stand-in for a node: a thread that
//! answers the few routes they use with the API's own types (`api::LotInfo`,
//! `api::HolderLots`, `api::EntryInfo`, `api::Submitted`). What is checked is the CLI's side of
//! the contract — which routes it reads, how it reads them, what it sends, what it says — not
//! the node's rules.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
    process::Command,
    sync::{Arc, Mutex},
};

use greenledger_cli::keyfile;
use greenledger_core::{
    EntryId, Genesis, PublicKey, SignedEntry, VerifiedEntry,
    amount::Wh,
    api::{EntryInfo, HeldLot, HolderLots, LotInfo, Standing, SubmitStatus, Submitted},
    custody::{LotId, LotKind},
    kinds::certificate::CertificateIssue,
};
use greenledger_testkit::{Chain, genesis, key};
use serde_json::{Value, value::RawValue};

/// What the stand-in serves, and what it was sent.
#[derive(Default)]
struct Node {
    genesis: Option<Genesis>,
    entries: HashMap<EntryId, SignedEntry>,
    lots: HashMap<LotId, LotInfo>,
    holders: HashMap<PublicKey, HolderLots>,
    /// Answer `GET /v1/lots/{lot}` (a node of an earlier release does not).
    lots_route: bool,
    posted: Vec<Value>,
}

fn error(code: &str, message: &str) -> String {
    serde_json::json!({"error": {"code": code, "message": message}}).to_string()
}

fn answer(node: &Mutex<Node>, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let mut n = node.lock().unwrap();
    let no_route = (404, error("not_found", "no such route; see the HTTP API in the README"));
    match (method, path.split('/').skip(1).collect::<Vec<_>>().as_slice()) {
        ("GET", ["v1", "genesis"]) => (200, serde_json::to_string(n.genesis.as_ref().unwrap()).unwrap()),
        ("GET", ["v1", "signers", _]) => (404, error("not_found", "no such signer")),
        ("GET", ["v1", "entries", id]) => match n.entries.get(&id.parse().unwrap()) {
            Some(se) => {
                let e = se.decode().unwrap();
                let info = EntryInfo {
                    id: e.id,
                    log_index: 0,
                    kind: e.payload.body.kind().to_string(),
                    signer: e.payload.signer,
                    seq: e.payload.seq,
                    summary: e.payload.body.summary(),
                    standing: Standing {
                        valid: true,
                        problems: Vec::new(),
                        superseded_by: Vec::new(),
                    },
                    entry: RawValue::from_string(String::from_utf8(se.to_json()).unwrap()).unwrap(),
                };
                (200, serde_json::to_string(&info).unwrap())
            }
            None => (404, error("not_found", "no such entry")),
        },
        ("GET", ["v1", "lots", lot]) if n.lots_route => match n.lots.get(&lot.parse().unwrap()) {
            Some(info) => (200, serde_json::to_string(info).unwrap()),
            None => (404, error("not_found", "no such lot")),
        },
        ("GET", ["v1", "holders", pk, "lots"]) => {
            let pk: PublicKey = pk.parse().unwrap();
            let held = n.holders.get(&pk).cloned().unwrap_or(HolderLots {
                holder: pk,
                lots: Vec::new(),
            });
            (200, serde_json::to_string(&held).unwrap())
        }
        ("POST", ["v1", "entries"]) => {
            let se = SignedEntry::from_json(body).unwrap();
            n.posted.push(serde_json::from_slice(body).unwrap());
            let id = se.id();
            n.entries.insert(id, se);
            let s = Submitted {
                id,
                log_index: Some(7),
                status: SubmitStatus::Stored,
                missing: None,
            };
            (201, serde_json::to_string(&s).unwrap())
        }
        _ => no_route,
    }
}

/// Serves `node` on a loopback port until the test ends; returns its URL.
fn serve(node: Arc<Mutex<Node>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            reader.read_line(&mut head).unwrap();
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0u8; len];
            reader.read_exact(&mut body).unwrap();
            let mut parts = head.split_whitespace();
            let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let (status, text) = answer(&node, method, path, &body);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    url
}

fn certificate(holder: &PublicKey) -> CertificateIssue {
    CertificateIssue {
        scheme: "EU-GO".into(),
        serial: "GO-1".into(),
        device: vec!["eecs:wind-1".into()],
        technology: "wind".into(),
        region: "DE".into(),
        production_start: "2026-03-01T10:00:00Z".into(),
        production_end: "2026-03-01T11:00:00Z".into(),
        wh: Wh(1_000_000),
        holder: *holder,
    }
}

struct Setup {
    dir: tempfile::TempDir,
    url: String,
    node: Arc<Mutex<Node>>,
    issue: VerifiedEntry,
    cells: PublicKey,
    pack: PublicKey,
}

/// A network whose issuer (key 2) issued 1 MWh to the cell maker (key 3); the cell maker's key
/// file in a temporary folder.
fn setup(lots_route: bool) -> Setup {
    let g = genesis("online", &[key(1).public()]);
    let (cells, pack) = (key(3).public(), key(4).public());
    let issue = Chain::new(key(2), &g).sign(certificate(&cells));
    let mut node = Node {
        genesis: Some(g),
        lots_route,
        ..Node::default()
    };
    node.entries.insert(issue.id(), issue.signed().clone());
    let lot = LotId {
        entry: issue.id(),
        index: 0,
    };
    node.lots.insert(
        lot,
        LotInfo {
            lot,
            kind: LotKind::Certificate,
            unit: "Wh".into(),
            holder: cells,
            amount: 1_000_000,
            drawn: 600_000,
            left: 400_000,
            origin: issue.id(),
            certificates: Vec::new(),
            draws: Vec::new(),
            conflicts: Vec::new(),
        },
    );
    node.holders.insert(
        cells,
        HolderLots {
            holder: cells,
            lots: vec![HeldLot {
                lot,
                kind: LotKind::Certificate,
                amount: 1_000_000,
                left: 400_000,
                origin: issue.id(),
                summary: "certificate EU-GO GO-1".into(),
            }],
        },
    );
    let node = Arc::new(Mutex::new(node));
    let url = serve(node.clone());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cells.key"), keyfile::to_text(&key(3))).unwrap();
    Setup {
        dir,
        url,
        node,
        issue,
        cells,
        pack,
    }
}

fn run(s: &Setup, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_greenledger"))
        .args(args)
        .args(["--node", &s.url])
        .current_dir(s.dir.path())
        .env_remove("GREENLEDGER_NODE")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn transfer_online_reads_the_lot_and_submits() {
    let s = setup(true);
    let from = format!("{}:0=400000", s.issue.id());
    let to = format!("{}=400000", s.pack);
    let (code, out, err) = run(
        &s,
        &["cert", "transfer", "--key", "cells.key", "--from", &from, "--to", &to],
    );
    assert_eq!(code, 0, "{out}{err}");
    let posted = s.node.lock().unwrap().posted.clone();
    assert_eq!(posted.len(), 1);
    let id = out.lines().last().unwrap();
    let se = SignedEntry::from_json(posted[0].to_string().as_bytes()).unwrap();
    assert_eq!(se.id().to_hex(), id, "the id printed last is the entry submitted");
    let payload: Value = serde_json::from_slice(se.payload()).unwrap();
    assert_eq!(payload["kind"], "certificate.transfer");
    assert_eq!(payload["body"]["from"][0]["lot"], format!("{}:0", s.issue.id()));
    assert_eq!(payload["body"]["to"][0]["holder"], s.pack.to_hex());

    // What the node says is left (400 kWh of 1 MWh) bounds the next draw: exit 1.
    let from = format!("{}:0=400001", s.issue.id());
    let to = format!("{}=400001", s.pack);
    let (code, out, err) = run(
        &s,
        &["cert", "transfer", "--key", "cells.key", "--from", &from, "--to", &to],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("overdraws lot") && err.contains("400000 Wh left"), "{err}");
    assert_eq!(s.node.lock().unwrap().posted.len(), 1, "nothing more was sent");
}

#[test]
fn without_the_lots_route_the_lot_is_resolved_from_the_entries() {
    let s = setup(false);
    // Another key's lot, found through GET /v1/entries and custody::resolve.
    let from = format!("{}:0=5", s.issue.id());
    let to = format!("{}=5", s.cells);
    let pack_key = s.dir.path().join("pack.key");
    std::fs::write(&pack_key, keyfile::to_text(&key(4))).unwrap();
    let (code, out, err) = run(
        &s,
        &["cert", "transfer", "--key", "pack.key", "--from", &from, "--to", &to],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("only a lot's holder"), "{err}");
    // An entry the node does not hold: exit 2.
    let from = format!("{}:0=5", "cd".repeat(32));
    let (code, out, err) = run(
        &s,
        &["cert", "transfer", "--key", "cells.key", "--from", &from, "--to", &to],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("the node holds no entry"), "{err}");
    // Its own lot: signed and submitted (the node decides what is left).
    let from = format!("{}:0=5", s.issue.id());
    let (code, out, err) = run(
        &s,
        &["cert", "transfer", "--key", "cells.key", "--from", &from, "--to", &to],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(s.node.lock().unwrap().posted.len(), 1);
}

#[test]
fn lots_online_reads_holder_lots() {
    let s = setup(true);
    let cells = s.cells.to_hex();
    let (code, out, err) = run(&s, &["lots", "--holder", &cells, "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let held: HolderLots = serde_json::from_str(&out).unwrap();
    assert_eq!(held.lots.len(), 1);
    assert_eq!(held.lots[0].left, 400_000);
    let (code, out, err) = run(&s, &["lots", "--holder", &cells]);
    assert_eq!(code, 0, "{out}{err}");
    let row = out.lines().nth(1).unwrap();
    assert!(
        row.starts_with(&format!("{}:0", s.issue.id())) && row.contains("400000"),
        "{out}"
    );
    let (code, out, _) = run(&s, &["lots", "--holder", &s.pack.to_hex()]);
    assert_eq!(code, 0);
    assert!(out.contains("holds no lots"), "{out}");
}
