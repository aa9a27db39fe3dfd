//! The PACT v3 REST API of a real node, over HTTPS with its generated testnet certificate,
//! walked through the test cases of WBCSD's PACT conformance service (v3: tests 0–40; the
//! numbers below are theirs), plus what a careful operator expects around them: expired
//! tokens, unknown parameters, replies to a host the node has no credentials for, and a reply
//! owed when the node is killed that is still sent after it restarts.
//!
//! Two nodes: `owner` holds the footprints; `buyer` is the requester whose `/3/events`
//! receives the owner's RequestFulfilled and RequestRejected events (as the conformance
//! service's webhook does).

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::{
    node_util::{TestNode, node_cmd},
    util::{Env, write},
};

const CONFORMANCE_ID: &str = "conformance";

/// `greenledger-node pact-client --id ID`: (secret, the config lines).
fn new_client(id: &str) -> (String, String) {
    let (code, out, err) = node_cmd(&["pact-client", "--id", id]);
    assert_eq!(code, 0, "pact-client: {err}");
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("client_secret:"))
        .expect("a client_secret line")
        .trim()
        .to_string();
    let lines = out[out.find("[[pact.clients]]").expect("config lines")..].to_string();
    (secret, lines)
}

fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// An HTTPS client of one node's PACT API, trusting its generated CA.
struct Pact {
    agent: ureq::Agent,
    base: String,
}

struct Reply {
    status: u16,
    link: Option<String>,
    body: Value,
    raw: Vec<u8>,
}

impl Pact {
    fn of(node: &TestNode) -> Pact {
        let (_, health) = node.get("/v1/health");
        let base = health["pact"].as_str().expect("the PACT API is on").to_string();
        let ca = node.data_dir.join("pact-tls/ca.pem");
        Pact {
            agent: agent(Some(&ca)),
            base,
        }
    }

    fn token_with(&self, auth: Option<&str>, content_type: &str, body: &str) -> Reply {
        let mut req = self
            .agent
            .post(&format!("{}/auth/token", self.base))
            .header("content-type", content_type);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        reply(req.send(body.as_bytes()).expect("token request"))
    }

    fn token(&self, id: &str, secret: &str) -> String {
        let r = self.token_with(
            Some(&basic(id, secret)),
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials",
        );
        assert_eq!(r.status, 200, "token: {}", r.body);
        r.body["access_token"].as_str().expect("access_token").to_string()
    }

    fn get(&self, path_or_url: &str, token: &str) -> Reply {
        let url = if path_or_url.starts_with("https://") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", self.base)
        };
        reply(
            self.agent
                .get(&url)
                .header("authorization", &format!("Bearer {token}"))
                .call()
                .expect("GET"),
        )
    }

    fn event(&self, token: &str, event: &Value) -> Reply {
        reply(
            self.agent
                .post(&format!("{}/3/events", self.base))
                .header("authorization", &format!("Bearer {token}"))
                .header("content-type", "application/cloudevents+json; charset=UTF-8")
                .send(event.to_string().as_bytes())
                .expect("POST /3/events"),
        )
    }

    /// Every id of a list (and of the pages its `next` links lead to).
    fn all_ids(&self, first: &str, token: &str) -> Vec<String> {
        let mut ids = Vec::new();
        let mut next = Some(first.to_string());
        let mut pages = 0;
        while let Some(url) = next {
            let r = self.get(&url, token);
            assert_eq!(r.status, 200, "{url}: {}", r.body);
            ids.extend(
                r.body["data"]
                    .as_array()
                    .expect("data")
                    .iter()
                    .map(|f| f["id"].as_str().expect("id").to_string()),
            );
            next = r.link.as_deref().map(next_url);
            pages += 1;
            assert!(pages < 100, "paging does not end");
        }
        ids
    }
}

fn agent(ca: Option<&Path>) -> ureq::Agent {
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(ca) = ca {
        let pem = std::fs::read(ca).expect("read ca.pem");
        let certs: Vec<_> = ureq::tls::parse_pem(&pem)
            .filter_map(|i| match i {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
    }
    ureq::Agent::config_builder()
        .tls_config(tls.build())
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn reply(mut r: ureq::http::Response<ureq::Body>) -> Reply {
    let status = r.status().as_u16();
    let link = r.headers().get("link").and_then(|v| v.to_str().ok()).map(String::from);
    let raw = r
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap_or_default();
    Reply {
        status,
        link,
        body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
        raw,
    }
}

/// The URL of the first link, as the conformance service parses it: `<URL>; rel="next"`.
fn next_url(link: &str) -> String {
    let first = link.split(", ").next().expect("a link");
    assert!(first.ends_with("; rel=\"next\""), "first link is not rel=next: {link}");
    first
        .strip_prefix('<')
        .and_then(|s| s.split_once(">;"))
        .map(|(u, _)| u.to_string())
        .unwrap_or_else(|| panic!("malformed link header {link}"))
}

fn ids_of(r: &Reply) -> Vec<&Value> {
    r.body["data"].as_array().expect("data array").iter().collect()
}

fn cloud_event(ty: &str, id: &str, source: &str, data: Value) -> Value {
    json!({
        "specversion": "1.0",
        "id": id,
        "source": source,
        "time": "2026-01-01T00:00:00Z",
        "type": format!("org.wbcsd.pact.ProductFootprint.{ty}.3"),
        "data": data,
    })
}

/// The events a node received, by type (from `DATA_DIR/pact-events/`).
fn received(node_dir: &Path, kind: &str) -> Vec<Value> {
    let Ok(rd) = std::fs::read_dir(node_dir.join("pact-events")) else {
        return Vec::new();
    };
    rd.flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| serde_json::from_slice::<Value>(&std::fs::read(e.path()).ok()?).ok())
        .filter(|r| r["type"] == kind)
        .map(|r| r["event"].clone())
        .collect()
}

/// Waits (at most `within`) for the reply to request `request_id` to reach `node_dir`.
fn wait_reply(node_dir: &Path, kind: &str, request_id: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        if let Some(e) = received(node_dir, kind)
            .into_iter()
            .find(|e| e["data"]["requestEventId"] == request_id)
        {
            return e;
        }
        assert!(
            Instant::now() < deadline,
            "no {kind} reply to {request_id} within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Setup {
    env: Env,
    owner: TestNode,
    owner_cfg: PathBuf,
    buyer: TestNode,
    buyer_cfg: PathBuf,
    secret: String,
    buyer_secret: String,
    /// The supplier's public key.
    cells: String,
}

/// Starts `buyer` (which admits `owner` as a client) and `owner` (which may reply to buyer);
/// puts three attestations on `owner` (one superseded).
fn setup() -> Setup {
    let env = Env::new();
    let (buyer_secret, buyer_clients) = new_client(CONFORMANCE_ID);
    let (owner_at_buyer_secret, owner_at_buyer) = new_client("owner-node");
    let buyer_cfg = env.path("buyer.toml");
    write(
        &buyer_cfg,
        &format!("[pact]\nlisten = \"127.0.0.1:0\"\ntoken_lifetime = \"2s\"\n\n{buyer_clients}\n{owner_at_buyer}"),
    );
    let buyer = TestNode::start_with(
        &env.path("buyer"),
        &env.genesis,
        &["--config", &buyer_cfg.display().to_string()],
    );
    let buyer_url = Pact::of(&buyer).base;
    let (secret, clients) = new_client(CONFORMANCE_ID);
    let owner_cfg = env.path("owner.toml");
    write(
        &owner_cfg,
        &format!(
            "[pact]\nlisten = \"127.0.0.1:0\"\n\n{clients}\n[[pact.recipients]]\nurl = \"{buyer_url}\"\nclient_id = \"owner-node\"\nclient_secret = \"{owner_at_buyer_secret}\"\nca_cert = \"{}\"\n",
            buyer.data_dir.join("pact-tls/ca.pem").display()
        ),
    );
    let owner = TestNode::start_with(
        &env.path("owner"),
        &env.genesis,
        &["--config", &owner_cfg.display().to_string()],
    );
    let url = owner.url.clone();
    let on = |args: &[&str]| env.run_on(&url, args);
    let cells = env.supplier_on(&url, "cells", "Zellfabrik Ost");
    let key = cells.path.display().to_string();
    let steel = crate::pact::fixture("v3-steel.json").display().to_string();
    let piece = crate::pact::fixture("v3-minimal-piece.json").display().to_string();
    on(&["attest", "--key", &key, "--pact", &steel]).ok();
    let first = on(&["attest", "--key", &key, "--pact", &piece]).ok().last_line();
    on(&["attest", "--key", &key, "--pact", &piece, "--supersedes", &first]).ok();
    Setup {
        env,
        owner,
        owner_cfg,
        buyer,
        buyer_cfg,
        secret,
        buyer_secret,
        cells: cells.public.clone(),
    }
}

#[test]
fn conformance_cases_0_to_40() {
    let s = setup();
    let api = Pact::of(&s.owner);

    // 0: discovery names the token endpoint; a token; at least two footprints; limit=1 pages.
    let disc = reply(
        api.agent
            .get(&format!("{}/.well-known/openid-configuration", api.base))
            .call()
            .expect("discovery"),
    );
    assert_eq!(disc.status, 200);
    assert_eq!(disc.body["token_endpoint"], format!("{}/auth/token", api.base));
    // 1, 18: valid credentials, Basic and in the form.
    let token = api.token(CONFORMANCE_ID, &s.secret);
    let r = api.token_with(
        None,
        "application/x-www-form-urlencoded",
        &format!(
            "grant_type=client_credentials&client_id={CONFORMANCE_ID}&client_secret={}&scope=footprint%3Alist",
            s.secret
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["token_type"], "Bearer");
    assert!(r.body["expires_in"].as_u64().is_some_and(|n| n > 0));
    // 2, 19: bad credentials and bad token requests: OAuth2 errors.
    for (auth, ct, body, status, error) in [
        (
            Some(basic("x1y2z3", "nope")),
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials",
            401,
            "invalid_client",
        ),
        (
            Some(basic(CONFORMANCE_ID, "nope")),
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials",
            401,
            "invalid_client",
        ),
        (
            None,
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials",
            401,
            "invalid_client",
        ),
        (
            Some(basic(CONFORMANCE_ID, &s.secret)),
            "application/x-www-form-urlencoded",
            "grant_type=password",
            400,
            "unsupported_grant_type",
        ),
        (
            Some(basic(CONFORMANCE_ID, &s.secret)),
            "application/x-www-form-urlencoded",
            "",
            400,
            "invalid_request",
        ),
        (
            Some(basic(CONFORMANCE_ID, &s.secret)),
            "application/json",
            "{\"grant_type\":\"client_credentials\"}",
            400,
            "invalid_request",
        ),
        (
            Some("Basic !!!".to_string()),
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials",
            401,
            "invalid_client",
        ),
    ] {
        let r = api.token_with(auth.as_deref(), ct, body);
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (status, Some(error)),
            "{auth:?} {body}: {}",
            r.body
        );
        assert!(r.body["error_description"].as_str().is_some_and(|d| !d.is_empty()));
        assert!(r.body.get("access_token").is_none());
    }

    // Clients that connect and never finish (or never start) a TLS handshake hold up nobody:
    // handshakes run off the accept loop, each bounded in time.
    let addr = api.base.trim_start_matches("https://").to_string();
    let stalled: Vec<std::net::TcpStream> = (0..50)
        .map(|i| {
            let mut c = std::net::TcpStream::connect(&addr).expect("connect");
            if i % 2 == 0 {
                use std::io::Write;
                // The first bytes of a TLS record header, then nothing.
                let _ = c.write_all(&[0x16, 0x03, 0x01]);
            }
            c
        })
        .collect();
    let t0 = Instant::now();
    assert_eq!(api.get("/3/footprints?limit=1", &token).status, 200);
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "a request waited behind stalled handshakes"
    );
    drop(stalled);

    // 4: the full list: three footprints, valid PACT, one Deprecated.
    let all = api.get("/3/footprints", &token);
    assert_eq!(all.status, 200, "{}", all.body);
    let list = ids_of(&all);
    assert_eq!(list.len(), 3);
    for pf in &list {
        greenledger_interop::pact::Footprint::from_value((*pf).clone())
            .unwrap_or_else(|e| panic!("not a valid PACT footprint: {e}: {pf}"));
    }
    let statuses: Vec<&str> = list.iter().map(|p| p["status"].as_str().unwrap_or("")).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == "Deprecated").count(),
        1,
        "{statuses:?}"
    );
    assert!(all.link.is_none(), "one page holds everything: {:?}", all.link);
    // 5: limit=1 pages with a next link; following every link yields each footprint once.
    let one = api.get("/3/footprints?limit=1", &token);
    assert_eq!(ids_of(&one).len(), 1);
    let link = one.link.clone().expect("a Link header for limit=1");
    let next = next_url(&link);
    assert!(next.starts_with(&format!("{}/3/footprints?", api.base)), "{next}");
    let page2 = api.get(&next, &token);
    assert_eq!(page2.status, 200);
    assert_eq!(ids_of(&page2).len(), 1);
    // The same link again gives the same page.
    assert_eq!(api.get(&next, &token).raw, page2.raw);
    let mut paged = api.all_ids("/3/footprints?limit=1", &token);
    let mut full: Vec<String> = list
        .iter()
        .map(|p| p["id"].as_str().unwrap_or("").to_string())
        .collect();
    paged.sort();
    full.sort();
    assert_eq!(paged, full);
    // limit=0 (the OpenAPI's minimum) is an empty page; its next link, when anything matches,
    // leads to a page of the default size from the first match on, and the walk ends.
    let zero = api.get("/3/footprints?limit=0", &token);
    assert_eq!((zero.status, &zero.body), (200, &json!({"data": []})), "limit=0");
    let next = next_url(
        &zero
            .link
            .clone()
            .expect("a Link header for limit=0 when footprints match"),
    );
    assert!(next.contains("limit=100&"), "{next}");
    let rest = api.get(&next, &token);
    assert_eq!(rest.status, 200, "{}", rest.body);
    assert_eq!(
        rest.body["data"], all.body["data"],
        "the next page of limit=0 is the whole list"
    );
    assert!(rest.link.is_none());
    let mut walked = api.all_ids("/3/footprints?limit=0", &token);
    walked.sort();
    assert_eq!(walked, full);
    let none = api.get("/3/footprints?limit=0&geography=XX", &token);
    assert_eq!(
        (none.status, &none.body),
        (200, &json!({"data": []})),
        "limit=0, no match"
    );
    assert!(none.link.is_none(), "nothing matches, so no next link: {:?}", none.link);

    // 3: GetFootprint.
    let first = list[0].clone();
    let id = first["id"].as_str().expect("id");
    let one = api.get(&format!("/3/footprints/{id}"), &token);
    assert_eq!(one.status, 200);
    assert_eq!(one.body["data"]["id"], id);
    assert_eq!(one.body["data"], first);
    // A deprecated one is still served.
    let dep = list.iter().find(|p| p["status"] == "Deprecated").expect("deprecated");
    assert_eq!(
        api.get(&format!("/3/footprints/{}", dep["id"].as_str().unwrap_or("")), &token)
            .status,
        200
    );

    // 6, 7, 16: invalid, missing and malformed tokens: 401 with the spec's error shape.
    let bad_token = "very-invalid-access-token-4f1c";
    for path in ["/3/footprints", &format!("/3/footprints/{id}")] {
        let r = api.get(path, bad_token);
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (401, Some("BadRequest")),
            "{path}: {}",
            r.body
        );
        let r = reply(api.agent.get(&format!("{}{path}", api.base)).call().expect("GET"));
        assert_eq!(r.status, 401);
        assert!(r.body["message"].as_str().is_some_and(|m| m.contains("/auth/token")));
    }
    let published = cloud_event(
        "PublishedEvent",
        "e-15",
        "https://example.org/webhook",
        json!({"pfIds": ["3a6c14a7-4deb-498a-b5ea-16ce2535b576"]}),
    );
    assert_eq!(api.event(bad_token, &published).status, 401);

    // 8: an unknown id is NotFound; a malformed one BadRequest.
    let r = api.get("/3/footprints/00000000-0000-0000-0000-000000000000", &token);
    assert_eq!((r.status, r.body["code"].as_str()), (404, Some("NotFound")));
    let r = api.get("/3/footprints/not-a-uuid", &token);
    assert_eq!((r.status, r.body["code"].as_str()), (400, Some("BadRequest")));

    // 9, 10, 11, 17: plain HTTP on the HTTPS address never answers with data or a token.
    let plain = agent(None);
    let http_base = api.base.replacen("https://", "http://", 1);
    let refused = |r: Result<ureq::http::Response<ureq::Body>, ureq::Error>| match r {
        Err(_) => true,
        Ok(resp) => resp.status().as_u16() != 200,
    };
    assert!(refused(
        plain
            .post(&format!("{http_base}/auth/token"))
            .header("authorization", &basic(CONFORMANCE_ID, &s.secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .send(&b"grant_type=client_credentials"[..])
    ));
    assert!(refused(
        plain
            .get(&format!("{http_base}/3/footprints"))
            .header("authorization", &format!("Bearer {token}"))
            .call()
    ));
    assert!(refused(
        plain
            .get(&format!("{http_base}/3/footprints/{id}"))
            .header("authorization", &format!("Bearer {token}"))
            .call()
    ));
    assert!(refused(
        plain
            .post(&format!("{http_base}/3/events"))
            .header("authorization", &format!("Bearer {token}"))
            .header("content-type", "application/cloudevents+json")
            .send(published.to_string().as_bytes())
    ));
    // The node's plain HTTP API does not serve PACT either, and says where it is.
    let (status, body) = s.owner.get("/3/footprints");
    assert_eq!(status, 404);
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| m.contains(&api.base)),
        "{body}"
    );

    // 15: a Published event is taken (200, empty body) and kept.
    let r = api.event(&token, &published);
    assert_eq!((r.status, r.raw.len()), (200, 0), "{}", r.body);
    assert_eq!(received(&s.owner.data_dir, "published").len(), 1);
    // The same event again (a retry) is taken once.
    assert_eq!(api.event(&token, &published).status, 200);
    assert_eq!(received(&s.owner.data_dir, "published").len(), 1);
    // 40: a malformed Published event is BadRequest.
    let r = api.event(
        &token,
        &cloud_event(
            "PublishedEvent",
            "e-40",
            "https://example.org/webhook",
            json!({"pfIds": ["urn:gtin:4712345060507"]}),
        ),
    );
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("BadRequest")),
        "{}",
        r.body
    );

    // 12, 13: a request for the first footprint's products is answered on the buyer's
    // /3/events with a RequestFulfilled whose footprints have only requested product ids.
    let buyer_base = Pact::of(&s.buyer).base;
    let product_ids = first["productIds"].clone();
    let req_id = "run-1/13";
    let r = api.event(
        &token,
        &cloud_event(
            "RequestCreatedEvent",
            req_id,
            &buyer_base,
            json!({"productId": product_ids, "comment": "please"}),
        ),
    );
    assert_eq!((r.status, r.raw.len()), (200, 0), "{}", r.body);
    let fulfilled = wait_reply(&s.buyer.data_dir, "request_fulfilled", req_id, Duration::from_secs(30));
    assert_eq!(
        fulfilled["type"],
        "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3"
    );
    assert_eq!(fulfilled["specversion"], "1.0");
    assert!(fulfilled["source"].as_str().is_some_and(|s| s.ends_with("/3/events")));
    let pfs = fulfilled["data"]["pfs"].as_array().expect("pfs");
    assert!(!pfs.is_empty());
    let wanted: Vec<&str> = product_ids
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for pf in pfs {
        for p in pf["productIds"].as_array().expect("productIds") {
            assert!(wanted.contains(&p.as_str().unwrap_or("")), "{p} was not requested");
        }
    }
    assert!(pfs.iter().any(|pf| pf["id"] == first["id"]));
    // 14.A, 14.B: a request nothing matches is accepted, then rejected with NotFound.
    let r = api.event(
        &token,
        &cloud_event(
            "RequestCreatedEvent",
            "run-1/14.B",
            &buyer_base,
            json!({"productId": ["urn:pact:null"]}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let rejected = wait_reply(
        &s.buyer.data_dir,
        "request_rejected",
        "run-1/14.B",
        Duration::from_secs(30),
    );
    assert_eq!(rejected["data"]["error"]["code"], "NotFound");
    assert!(
        rejected["data"]["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    // Both replies are counted in the owner's metrics.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, m) = s.owner.get_raw("/metrics");
        let m = String::from_utf8_lossy(&m).into_owned();
        if m.contains("greenledger_pact_replies_total{result=\"fulfilled\"} 1")
            && m.contains("greenledger_pact_replies_total{result=\"rejected\"} 1")
        {
            assert!(
                m.contains("greenledger_pact_events_total{kind=\"request_created\"} 2"),
                "{m}"
            );
            assert!(
                m.contains("greenledger_pact_token_requests_total{result=\"refused\"}"),
                "{m}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "replies not counted: {m}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A request from a host the node has no credentials for is refused at once.
    let r = api.event(
        &token,
        &cloud_event(
            "RequestCreatedEvent",
            "run-1/x",
            "https://stranger.example/webhook",
            json!({}),
        ),
    );
    assert_eq!((r.status, r.body["code"].as_str()), (400, Some("BadRequest")));
    assert!(
        r.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("pact.recipients")),
        "{}",
        r.body
    );
    // Envelope errors name the field.
    let mut no_source = published.clone();
    no_source.as_object_mut().map(|o| o.remove("source"));
    let r = api.event(&token, &no_source);
    assert_eq!(r.status, 400);
    assert!(r.body["message"].as_str().is_some_and(|m| m.contains("source")));

    // 20–28: each filter, derived from the first footprint as the conformance service does.
    let pid = first["productIds"][0].as_str().expect("productId");
    let cid = first["companyIds"][0].as_str().expect("companyId");
    let pcf = &first["pcf"];
    // As the conformance service derives them: a field the footprint lacks is sent empty.
    let geo = [
        "geographyCountry",
        "geographyRegionOrSubregion",
        "geographyCountrySubdivision",
    ]
    .iter()
    .find_map(|k| pcf[*k].as_str())
    .unwrap_or("");
    let status = first["status"].as_str().expect("status");
    let q = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let rfc = &time::format_description::well_known::Rfc3339;
    let at = |v: &Value| time::OffsetDateTime::parse(v.as_str().expect("a date-time"), rfc).expect("RFC 3339");
    let start = at(if first["validityPeriodStart"].is_string() {
        &first["validityPeriodStart"]
    } else {
        &pcf["referencePeriodEnd"]
    });
    let end = if first["validityPeriodEnd"].is_string() {
        at(&first["validityPeriodEnd"])
    } else {
        let e = at(&pcf["referencePeriodEnd"]);
        e.replace_year(e.year() + 3).expect("3 years later")
    };
    let fmt = |t: time::OffsetDateTime| t.format(rfc).expect("format");
    let day = time::Duration::days(1);
    let check = |query: String, ok: &dyn Fn(&Value) -> bool| {
        let r = api.get(&format!("/3/footprints?{query}"), &token);
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        let items = ids_of(&r);
        assert!(!items.is_empty(), "{query} matched nothing");
        for pf in items {
            assert!(ok(pf), "{query} returned {}", pf["id"]);
        }
        r.body["data"].as_array().map_or(0, Vec::len)
    };
    let has = |field: &'static str, v: &str| {
        let v = v.to_string();
        move |pf: &Value| pf[field].as_array().is_some_and(|a| a.iter().any(|x| x == v.as_str()))
    };
    check(format!("productId={}", q(pid)), &has("productIds", pid));
    check(format!("companyId={}", q(cid)), &has("companyIds", cid));
    if geo.is_empty() {
        assert_eq!(
            check("geography=".into(), &|_| true),
            3,
            "an empty value is no criterion"
        );
    } else {
        check(format!("geography={}", q(geo)), &|pf: &Value| {
            [
                "geographyCountry",
                "geographyRegionOrSubregion",
                "geographyCountrySubdivision",
            ]
            .iter()
            .any(|k| pf["pcf"][*k] == geo)
        });
    }
    // The plain fixtures carry no classification: the empty value gives every footprint.
    match first["productClassifications"][0].as_str() {
        Some(c) => {
            check(format!("classification={}", q(c)), &has("productClassifications", c));
        }
        None => assert_eq!(check("classification=".into(), &|_| true), 3),
    }
    check(format!("validOn={}", q(&fmt(start))), &|_| true);
    check(format!("validAfter={}", q(&fmt(start - day))), &|_| true);
    check(format!("validBefore={}", q(&fmt(end + day))), &|_| true);
    let n = check(format!("status={status}"), &|pf: &Value| pf["status"] == status);
    assert_eq!(n, 2, "two active footprints");
    assert_eq!(
        check("status=Deprecated".into(), &|pf: &Value| pf["status"] == "Deprecated"),
        1
    );
    check(format!("status={status}&productId={}", q(pid)), &|pf: &Value| {
        pf["status"] == status && has("productIds", pid)(pf)
    });
    // 29: values of one parameter are alternatives.
    check(
        format!("companyId={}&companyId=k3j4h5g6&companyId=a1b2c3d4", q(cid)),
        &has("companyIds", cid),
    );

    // 30–39: filters that match nothing answer 200 with an empty list, never 400.
    for query in [
        "productId=urn:bogus:product:9f8e7d",
        "companyId=urn:bogus:company:9f8e7d",
        "geography=XX",
        "classification=urn:bogus:classification:9f8e7d",
        "validOn=1900-01-01T00:00:00Z",
        "validAfter=2099-12-31T23:59:59Z",
        "validBefore=1900-01-01T00:00:00Z",
        "status=BogusStatus4f1c",
        "companyId=urn:bogus:company:1&productId=urn:bogus:product:1",
        "companyId=aa11&companyId=bb22&companyId=cc33",
    ] {
        let r = api.get(&format!("/3/footprints?{query}"), &token);
        assert_eq!((r.status, &r.body), (200, &json!({"data": []})), "{query}");
        assert!(r.link.is_none());
    }
    // What a careful client gets wrong is a 400 that says so.
    for (query, needle) in [
        ("validOn=last-year", "RFC 3339"),
        ("limit=-1", "0 or more"),
        ("limit=ten", "0 or more"),
        ("prodId=urn:x", "unknown query parameter"),
        ("$filter=pcf/geographyCountry eq 'DE'", "removed in PACT v3"),
    ] {
        let r = api.get(&format!("/3/footprints?{}", query.replace(' ', "%20")), &token);
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (400, Some("BadRequest")),
            "{query}"
        );
        assert!(
            r.body["message"].as_str().is_some_and(|m| m.contains(needle)),
            "{query}: {}",
            r.body
        );
    }
    // Unknown routes and methods keep the spec's error shape.
    let r = api.get("/3/nothing", &token);
    assert_eq!((r.status, r.body["code"].as_str()), (404, Some("NotFound")));
    let r = reply(
        api.agent
            .delete(&format!("{}/3/footprints", api.base))
            .call()
            .expect("DELETE"),
    );
    assert_eq!((r.status, r.body["code"].as_str()), (405, Some("BadRequest")));

    // A revoked signer's later attestations are no footprints any more (a verifier refuses
    // them): after `revoke --after-seq 2`, the cells supplier's third attestation is gone.
    let third = list
        .iter()
        .find(|p| p["status"] == "Active" && p["id"] != first["id"])
        .expect("the active piece footprint");
    let third_id = third["id"].as_str().expect("id").to_string();
    s.env
        .run_on(
            &s.owner.url,
            &[
                "revoke",
                "--key",
                &s.env.admin.path.display().to_string(),
                "--member",
                &s.cells,
                "--after-seq",
                "2",
            ],
        )
        .ok();
    let after = api.get("/3/footprints", &token);
    assert_eq!(ids_of(&after).len(), 2, "{}", after.body);
    assert!(ids_of(&after).iter().all(|p| p["id"] != third_id.as_str()));
    assert_eq!(api.get(&format!("/3/footprints/{third_id}"), &token).status, 404);

    // The buyer issues tokens for 2 s: an expired token is TokenExpired.
    let buyer_api = Pact::of(&s.buyer);
    let short = buyer_api.token(CONFORMANCE_ID, &s.buyer_secret);
    assert_eq!(buyer_api.get("/3/footprints", &short).status, 200);
    std::thread::sleep(Duration::from_millis(3100));
    let r = buyer_api.get("/3/footprints", &short);
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (401, Some("TokenExpired")),
        "{}",
        r.body
    );
    drop(s.env);
}

#[test]
fn a_reply_owed_when_the_node_is_killed_is_sent_after_restart() {
    let mut s = setup();
    let api = Pact::of(&s.owner);
    let token = api.token(CONFORMANCE_ID, &s.secret);
    let buyer_base = Pact::of(&s.buyer).base;
    let buyer_port = buyer_base.rsplit(':').next().expect("port").to_string();
    // The buyer is down: the owner accepts the request and cannot deliver its reply yet.
    assert_eq!(s.buyer.stop(), 0);
    let r = api.event(
        &token,
        &cloud_event(
            "RequestCreatedEvent",
            "kill-1",
            &buyer_base,
            json!({"status": ["Active"]}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // A clean stop while the reply is owed (and being retried) ends promptly and keeps it owed.
    let t0 = Instant::now();
    assert_eq!(s.owner.stop(), 0, "{}", s.owner.log());
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "stopping took {:?}",
        t0.elapsed()
    );
    s.owner = TestNode::start_with(
        &s.owner.data_dir,
        &s.env.genesis,
        &["--config", &s.owner_cfg.display().to_string()],
    );
    // And a kill -9 loses nothing either.
    s.owner.kill9();
    // Both come back (the buyer on its old address); the owner still owes the reply.
    let cfg = std::fs::read_to_string(&s.buyer_cfg)
        .expect("buyer config")
        .replace("127.0.0.1:0", &format!("127.0.0.1:{buyer_port}"));
    write(&s.buyer_cfg, &cfg);
    let buyer = TestNode::start_with(
        &s.buyer.data_dir,
        &s.env.genesis,
        &["--config", &s.buyer_cfg.display().to_string()],
    );
    let owner = TestNode::start_with(
        &s.owner.data_dir,
        &s.env.genesis,
        &["--config", &s.owner_cfg.display().to_string()],
    );
    let reply = wait_reply(&buyer.data_dir, "request_fulfilled", "kill-1", Duration::from_secs(60));
    let pfs = reply["data"]["pfs"].as_array().expect("pfs");
    assert_eq!(pfs.len(), 2, "the two active footprints");
    assert!(pfs.iter().all(|pf| pf["status"] == "Active"));
    // Sent once: the owner records it (wait for that), and a restart does not send it again.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_dir(owner.data_dir.join("pact-events"))
        .expect("events dir")
        .flatten()
        .any(|e| e.path().extension().is_some_and(|x| x == "replied"))
    {
        assert!(Instant::now() < deadline, "the owner never recorded its reply as sent");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(owner);
    let _owner = TestNode::start_with(
        &s.owner.data_dir,
        &s.env.genesis,
        &["--config", &s.owner_cfg.display().to_string()],
    );
    std::thread::sleep(Duration::from_secs(2));
    let n = received(&buyer.data_dir, "request_fulfilled")
        .iter()
        .filter(|e| e["data"]["requestEventId"] == "kill-1")
        .count();
    assert_eq!(n, 1);
}

#[test]
fn bad_pact_settings_fail_at_start_and_say_what_to_fix() {
    let env = Env::new();
    let data = env.path("node");
    let (code, _, err) = node_cmd(&["init", "--data-dir", &data.display().to_string()]);
    assert_eq!(code, 0, "{err}");
    let (_, clients) = new_client("buyer");
    for (toml, needle) in [
        (
            "[pact]\nlisten = \"127.0.0.1:0\"\ntls_cert = \"cert.pem\"\n".to_string(),
            "set both pact.tls_cert and pact.tls_key",
        ),
        (
            "[pact]\nlisten = \"127.0.0.1:0\"\ntls_cert = \"missing.pem\"\ntls_key = \"missing.key\"\n".to_string(),
            "cannot read the PACT certificate",
        ),
        (
            "[pact]\nlisten = \"127.0.0.1:0\"\n[[pact.clients]]\nid = \"a\"\nsecret_hash = \"hunter2\"\n".to_string(),
            "blake3:",
        ),
        (
            format!("[pact]\nlisten = \"127.0.0.1:0\"\n{clients}\n{clients}"),
            "listed twice",
        ),
        (
            "[pact]\nlisten = \"127.0.0.1:0\"\npublic_url = \"http://pact.example\"\n".to_string(),
            "https://",
        ),
        (
            "[pact]\nlisten = \"127.0.0.1:0\"\n[[pact.recipients]]\nurl = \"http://buyer.example\"\nclient_id = \"a\"\nclient_secret = \"b\"\n".to_string(),
            "must be an https:// URL",
        ),
        (
            "[pact]\nlisten = \"127.0.0.1:0\"\n[[pact.recipients]]\nurl = \"https://buyer.example\"\nclient_id = \"a\"\nclient_secret = \"b\"\nca_cert = \"nowhere.pem\"\n".to_string(),
            "cannot read the CA certificate",
        ),
    ] {
        let cfg = env.path("bad.toml");
        write(&cfg, &toml);
        let (code, _, err) = node_cmd(&[
            "run",
            "--data-dir",
            &data.display().to_string(),
            "--genesis",
            &env.genesis.display().to_string(),
            "--http",
            "127.0.0.1:0",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--config",
            &cfg.display().to_string(),
        ]);
        assert_eq!(code, 2, "{toml}: {err}");
        assert!(err.contains(needle), "{toml}: expected {needle:?} in {err}");
    }
    // Nothing was opened: the data dir holds no database yet.
    assert!(!data.join("db").exists());
    let (code, _, err) = node_cmd(&["pact-client", "--id", "a:b"]);
    assert_eq!(code, 2);
    assert!(err.contains("without ':'"), "{err}");
}

/// Two nodes' generated CAs trusted at once, in one bundle (in either order): a client reaches
/// both nodes. Each CA is named after its node and the certificates carry key identifiers, so
/// no client takes one node's CA for the other's.
#[test]
fn a_client_trusting_two_nodes_cas_in_one_bundle_reaches_both() {
    let env = Env::new();
    let cfg = env.path("pact.toml");
    write(&cfg, "[pact]\nlisten = \"127.0.0.1:0\"\n");
    let nodes: Vec<TestNode> = ["a", "b"]
        .iter()
        .map(|n| TestNode::start_with(&env.path(n), &env.genesis, &["--config", &cfg.display().to_string()]))
        .collect();
    let cas: Vec<String> = nodes
        .iter()
        .map(|n| std::fs::read_to_string(n.data_dir.join("pact-tls/ca.pem")).expect("ca.pem"))
        .collect();
    assert_ne!(cas[0], cas[1]);
    for (i, order) in [[0, 1], [1, 0]].iter().enumerate() {
        let bundle = env.path(&format!("bundle-{i}.pem"));
        write(&bundle, &format!("{}{}", cas[order[0]], cas[order[1]]));
        let agent = agent(Some(&bundle));
        for node in &nodes {
            let base = Pact::of(node).base;
            let r = reply(
                agent
                    .get(&format!("{base}/.well-known/openid-configuration"))
                    .call()
                    .unwrap_or_else(|e| panic!("{base} with the bundle in order {order:?}: {e}")),
            );
            assert_eq!(r.status, 200, "{base}: {}", r.body);
            assert!(r.body["token_endpoint"].is_string(), "{}", r.body);
        }
    }
    drop(nodes);
    drop(env);
}
