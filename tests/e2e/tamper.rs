//! A node operator who rewrites or hides part of its log is caught by `greenledger log verify`.
//!
//! A real node holds the log; a small HTTP proxy on loopback stands for a dishonest operator:
//! it passes every request to the node and changes the answers one way or another.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::{
    io::{BufRead, BufReader, Write},
    net::{TcpListener, TcpStream},
    sync::Arc,
    thread,
    time::Duration,
};

use serde_json::Value;

use crate::{
    node::Chain,
    node_util::TestNode,
    util::{Env, Run},
};

type Rewrite = dyn Fn(&str, Value) -> Value + Send + Sync;

/// Serves `GET PATH` by asking `upstream` and passing the JSON answer through `rewrite`.
/// Returns the proxy's URL. The listener thread ends with the test process.
fn lying_proxy(upstream: String, rewrite: Arc<Rewrite>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let (upstream, rewrite, agent) = (upstream.clone(), rewrite.clone(), agent.clone());
            thread::spawn(move || serve(conn, &upstream, &*rewrite, &agent));
        }
    });
    url
}

fn serve(mut conn: TcpStream, upstream: &str, rewrite: &Rewrite, agent: &ureq::Agent) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    // Skip the headers (GET requests have no body).
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
            break;
        }
    }
    let mut r = agent.get(&format!("{upstream}{path}")).call().unwrap();
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_vec().unwrap();
    let body = match serde_json::from_slice::<Value>(&body) {
        Ok(v) if status == 200 => serde_json::to_vec(&rewrite(&path, v)).unwrap(),
        _ => body,
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(&body);
}

fn log_verify(env: &Env, url: &str) -> Run {
    env.run(&["log", "verify", "--node", url])
}

/// Applies `f` to the records of every `/v1/log` page.
fn on_records(f: impl Fn(&mut Vec<Value>) + Send + Sync + 'static) -> Arc<Rewrite> {
    Arc::new(move |path: &str, mut v: Value| {
        if path.starts_with("/v1/log?")
            && let Some(records) = v["records"].as_array_mut()
        {
            f(records);
        }
        v
    })
}

#[test]
fn a_rewritten_or_hidden_log_record_fails_log_verify() {
    let env = Env::new();
    let node = TestNode::start(&env.path("node"), &env.genesis);
    let genesis = env.genesis();
    let mut admin = Chain::new(env.admin.secret(), &genesis);
    let key = greenledger_core::SecretKey::generate();
    let (st, body) = node.submit(
        &admin
            .admit(&key.public(), "Smelter AG", greenledger_core::Role::Supplier)
            .signed()
            .to_json(),
    );
    assert_eq!(st, 201, "{body}");
    let mut s = Chain::new(key, &genesis);
    for k in 0..6 {
        let (st, body) = node.submit(
            &s.attest(&format!("urn:test:tamper:{k}"), 1000 + k, &[])
                .signed()
                .to_json(),
        );
        assert_eq!(st, 201, "{body}");
    }

    // The honest answer verifies, through the proxy too.
    log_verify(&env, &node.url).ok().stdout_has("VALID");
    let honest = lying_proxy(node.url.clone(), Arc::new(|_: &str, v: Value| v));
    log_verify(&env, &honest).ok().stdout_has("VALID");

    // 1. A record's hash rewritten (history edited after the fact).
    let url = lying_proxy(
        node.url.clone(),
        on_records(|r| r[3]["hash"] = Value::String("00".repeat(32))),
    );
    log_verify(&env, &url)
        .code(1)
        .stdout_has("INVALID")
        .stdout_has("record 3: its hash does not chain from record 2");

    // 2. A record hidden.
    let url = lying_proxy(
        node.url.clone(),
        on_records(|r| {
            if r.len() > 4 {
                r.remove(4);
            }
        }),
    );
    log_verify(&env, &url).code(1).stdout_has("record 4 is missing");

    // 3. One entry swapped for another signed entry of the same log (its id no longer
    // matches the record).
    let url = lying_proxy(
        node.url.clone(),
        on_records(|r| {
            if r.len() > 5 {
                let other = r[5]["entry"].clone();
                r[2]["entry"] = other;
            }
        }),
    );
    log_verify(&env, &url).code(1).stdout_has("record 2: names entry");

    // 4. A signed head that claims a shorter log (hiding the newest entries).
    let url = lying_proxy(
        node.url.clone(),
        Arc::new(|path: &str, mut v: Value| {
            if path.starts_with("/v1/log/head") {
                v["size"] = Value::from(v["size"].as_u64().unwrap() - 2);
            }
            v
        }),
    );
    log_verify(&env, &url)
        .code(1)
        .stdout_has("the node's signature on its log head does not verify");

    // The JSON report says the same.
    let v = env.run(&["log", "verify", "--node", &url, "--json"]).code(1).json();
    assert_eq!(v["valid"], false, "{v:#}");
    assert!(!v["reasons"].as_array().unwrap().is_empty(), "{v:#}");
}
