//! The CLI contract (DESIGN §5) in its failure cases, as a new user meets them: files of the
//! wrong kind, folders where files belong, `--json` on usage errors, `submit` batches with bad
//! files or a node that fails midway, a `--node` that is not a greenledger node, online signing
//! with an output that cannot be written, and `greenledger-node` given a file as its data dir.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use crate::{
    node_util::{TestNode, node_cmd},
    util::{Env, Run, read, write},
};

/// Runs `greenledger ARGS…` in the env's folder with `GREENLEDGER_NODE=url`.
fn run_node(env: &Env, url: &str, args: &[&str]) -> Run {
    Run::of(
        env.gl().env("GREENLEDGER_NODE", url).args(args),
        format!("GREENLEDGER_NODE={url} greenledger {}", args.join(" ")),
    )
}

/// An HTTP server on loopback that is not a greenledger node: request `n` (from 0) is answered
/// with `answer(n)` = (status, content type, body). Returns its base URL.
fn fake_server(answer: impl Fn(usize) -> (u16, &'static str, String) + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let count = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let mut len = 0usize;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0u8; len];
                if reader.read_exact(&mut body).is_err() {
                    break;
                }
                let (status, ctype, text) = answer(count.fetch_add(1, Ordering::SeqCst));
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n{text}",
                    text.len()
                );
                if stream.write_all(reply.as_bytes()).is_err() {
                    break;
                }
            }
        }
    });
    url
}

const HTML_404: &str = "<!DOCTYPE HTML>\n<html><head><title>Error response</title></head>\n<body><h1>Error response</h1><p>Error code: 404</p></body></html>\n";

/// An admitted supplier and one attestation: two entry files in `entries/`.
fn two_entries(env: &Env) -> Vec<String> {
    let s = env.supplier("s", "Smelter AG");
    env.attest(&s, "urn:greenledger:t:ore", "kg", "0.25", &[]);
    let mut files: Vec<String> = std::fs::read_dir(&env.entries)
        .expect("entries")
        .map(|e| e.expect("entry").path().display().to_string())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2);
    files
}

#[test]
fn a_folder_given_as_output_is_named_and_force_is_not_suggested() {
    let env = Env::new();
    for args in [
        &["key", "generate", "--out", "entries"][..],
        &["key", "generate", "--out", "entries", "--force"][..],
        &[
            "genesis",
            "--network",
            "n",
            "--admin",
            &env.admin.public,
            "--out",
            "entries",
        ][..],
    ] {
        let r = env
            .run(args)
            .code(2)
            .stderr_has("entries is a folder; give a file path");
        assert!(!r.stderr.contains("--force"), "{}", r.stderr);
    }
    let id = env.attest(&env.supplier("s", "S"), "urn:greenledger:t:a", "kg", "1", &[]);
    env.run_offline(&["bundle", &id, "--out", "entries", "--force"])
        .code(2)
        .stderr_has("is a folder");
    env.run(&["show", "entries"])
        .code(2)
        .stderr_has("entries is a folder; give an entry file");
}

#[test]
fn a_file_of_the_wrong_kind_is_named() {
    let env = Env::new();
    let s = env.supplier("s", "Smelter AG");
    let id = env.attest(&s, "urn:greenledger:t:ore", "kg", "0.25", &[]);
    let entry = env.entries.join(format!("{id}.json"));
    let entry = entry.display().to_string();
    let bundle = env.bundle(&id, "ore.bundle").display().to_string();
    // A genesis where a key belongs: named, and no advice to chmod a genesis file.
    let r = env
        .run(&["key", "show", "--key", "genesis.json"])
        .code(2)
        .stderr_has("genesis.json is a genesis file, not a key file");
    assert!(!r.stderr.contains("chmod"), "{}", r.stderr);
    env.run(&["key", "show", "--key", &bundle])
        .code(2)
        .stderr_has("is a provenance bundle, not a key file");
    // A key where a genesis belongs.
    env.run(&["verify", "--bundle", &bundle, "--genesis", "admin.key"])
        .code(2)
        .stderr_has("admin.key is a key file, not a genesis file");
    // A genesis, a bundle and a key where an entry belongs.
    env.run(&["show", "genesis.json"])
        .code(2)
        .stderr_has("genesis.json is a genesis file, not a signed entry");
    env.run(&["show", &bundle])
        .code(2)
        .stderr_has("is a provenance bundle, not a signed entry");
    // An entry where a bundle belongs.
    env.run(&["verify", "--bundle", &entry])
        .code(2)
        .stderr_has("is a signed entry, not a provenance bundle")
        .stderr_has("greenledger bundle ID --out FILE");
    // A truncated entry and an empty one.
    let text = read(std::path::Path::new(&entry));
    write(&env.path("cut.json"), &text[..text.len() / 2]);
    env.run(&["show", "cut.json"])
        .code(2)
        .stderr_has("the file looks truncated");
    write(&env.path("empty.json"), "");
    env.run(&["show", "empty.json"]).code(2).stderr_has("the file is empty");
}

#[test]
fn usage_errors_with_json_are_one_json_object_on_stdout() {
    let env = Env::new();
    for args in [
        &["key", "show", "--json"][..],
        &["--json", "bogus"][..],
        &[
            "revoke",
            "--key",
            "admin.key",
            "--member",
            "x",
            "--after-seq",
            "abc",
            "--json",
        ][..],
    ] {
        let r = env.run(args).code(2);
        let v = r.json();
        assert_eq!(v["error"]["code"], "usage", "{v}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        assert!(
            r.stderr.contains("error:"),
            "the text still goes to stderr: {}",
            r.stderr
        );
    }
    // Without --json, stdout stays empty; --help still exits 0.
    let r = env.run(&["key", "show"]).code(2);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    env.run(&["key", "show", "--help", "--json"]).ok().stdout_has("--key");
}

#[test]
fn submit_names_every_bad_file_and_sends_nothing() {
    let env = Env::new();
    let files = two_entries(&env);
    let node = TestNode::start(&env.path("node"), &env.genesis);
    let text = read(std::path::Path::new(&files[1]));
    write(&env.path("cut.json"), &text[..text.len() - 20]);
    let args = [
        "submit",
        &files[0],
        "genesis.json",
        "cut.json",
        "missing.json",
        &files[1],
    ];
    let r = run_node(&env, &node.url, &args)
        .code(2)
        .stderr_has("3 of 5 files cannot be submitted, so nothing was sent")
        .stderr_has("genesis.json is a genesis file")
        .stderr_has("cut.json is not a signed entry (the file looks truncated)")
        .stderr_has("missing.json");
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert_eq!(node.log_size(), 0, "nothing of a batch with bad files is sent");
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let v = run_node(&env, &node.url, &json_args).code(2).json();
    assert!(
        v["error"]["message"].as_str().unwrap_or("").contains("missing.json"),
        "{v}"
    );
    // The good files alone go through.
    run_node(&env, &node.url, &["submit", &files[0], &files[1]]).ok();
    assert_eq!(node.log_size(), 2);
}

#[test]
fn submit_reports_what_was_stored_when_the_node_fails_midway() {
    let env = Env::new();
    let files = two_entries(&env);
    // The first entry is stored; then the server fails with an HTML error page.
    let url = fake_server(|n| match n {
        0 => (
            201,
            "application/json",
            format!(r#"{{"id":"{}","log_index":0,"status":"stored"}}"#, "ab".repeat(32)),
        ),
        _ => (503, "text/html", HTML_404.replace("404", "503")),
    });
    let r = run_node(&env, &url, &["submit", "--batch", "1", &files[0], &files[1]])
        .code(2)
        .stderr_has("1 of 2 entries were stored, 0 refused, 1 not stored")
        .stderr_has("is this a greenledger-node");
    assert!(!r.stderr.contains("<html"), "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 1, "the stored entry's id: {}", r.stdout);
    // With --json: one object, every file's outcome, exit 2.
    let url = fake_server(|n| match n {
        0 => (
            201,
            "application/json",
            format!(r#"{{"id":"{}","log_index":0,"status":"stored"}}"#, "ab".repeat(32)),
        ),
        _ => (500, "text/plain", "internal".to_string()),
    });
    let v = run_node(&env, &url, &["submit", "--batch", "1", &files[0], &files[1], "--json"])
        .code(2)
        .json();
    assert_eq!(v["submitted"], 1, "{v}");
    assert_eq!(v["not_sent"], 1, "{v}");
    assert_eq!(v["results"].as_array().map(Vec::len), Some(2), "{v}");
    assert_eq!(v["results"][1]["sent"], false, "{v}");
    assert!(v["error"]["message"].is_string(), "{v}");
    // A node that cannot be reached at all: exit 2, nothing claimed as stored.
    let v = run_node(&env, "http://127.0.0.1:1", &["submit", &files[0], "--json"])
        .code(2)
        .json();
    assert_eq!(v["submitted"], 0, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("cannot reach the node"),
        "{v}"
    );
}

#[test]
fn a_server_that_is_not_a_greenledger_node_is_named_not_dumped() {
    let env = Env::new();
    let url = fake_server(|_| (404, "text/html", HTML_404.to_string()));
    let id = "ab".repeat(32);
    for args in [
        &["show", &id][..],
        &["verify", &id][..],
        &["bundle", &id, "--out", "b.json"][..],
        &["log", "verify"][..],
        &[
            "attest",
            "--key",
            "admin.key",
            "--part",
            "urn:greenledger:t:a",
            "--unit",
            "kg",
            "--own",
            "1",
        ][..],
    ] {
        let r = run_node(&env, &url, args)
            .code(2)
            .stderr_has("not a greenledger API error: is this a greenledger-node");
        assert!(!r.stderr.contains("<html"), "{}", r.stderr);
    }
}

#[test]
fn online_signing_checks_its_output_before_submitting() {
    let env = Env::new();
    let files = two_entries(&env);
    let node = TestNode::start(&env.path("node"), &env.genesis);
    run_node(&env, &node.url, &["submit", &files[0], &files[1]]).ok();
    let attest = |out: &[&str]| {
        let mut args = vec![
            "attest",
            "--key",
            "s.key",
            "--part",
            "urn:greenledger:t:bar",
            "--unit",
            "kg",
            "--own",
            "2",
        ];
        args.extend_from_slice(out);
        run_node(&env, &node.url, &args)
    };
    attest(&["--out", "nowhere/bar.json"])
        .code(2)
        .stderr_has("folder nowhere does not exist");
    attest(&["--out", "entries", "--force"])
        .code(2)
        .stderr_has("is a folder");
    assert_eq!(
        node.log_size(),
        2,
        "nothing is signed or sent when the output cannot be written"
    );
    // The key's chain is intact: the next attestation is its seq 2.
    let v = attest(&["--out", "bar.json", "--json"]).ok().json();
    assert_eq!(v["seq"], 2, "{v}");
    assert_eq!(node.log_size(), 3);
    assert!(env.path("bar.json").is_file());
}

#[test]
fn a_node_data_dir_that_is_a_file_is_named() {
    let env = Env::new();
    let file = env.genesis.display().to_string();
    for args in [
        &["init", "--data-dir", &file][..],
        &["run", "--data-dir", &file, "--genesis", &file, "--http", "127.0.0.1:0"][..],
    ] {
        let (code, out, err) = node_cmd(args);
        assert_eq!(code, 2, "{err}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains("is a file, not a directory"), "{err}");
    }
}

#[test]
fn key_show_does_not_print_a_public_key_edited_into_a_plain_key_file() {
    let env = Env::new();
    let other = env.key("other");
    let text = read(&env.admin.path);
    write(&env.path("mixed.key"), &text.replace(&env.admin.public, &other.public));
    let r = env
        .run(&["key", "show", "--key", "mixed.key"])
        .code(2)
        .stderr_has("cannot use key file mixed.key");
    assert!(!r.stdout.contains(&other.public), "{}", r.stdout);
}
