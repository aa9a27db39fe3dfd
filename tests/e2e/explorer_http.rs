//! The explorer over HTTP, against a node in process: escaping of hostile ledger strings,
//! strict headers, error pages, search, and the JSON API left as it was.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use greenledger_testkit::{Consortium, attestation};

use greenledger_node::{Config, Node, explorer::seg, identity::Identity};

/// Hostile strings: markup, script, attribute breaking, an SVG and a javascript: URL.
const HOSTILE_NAME: &str = "Evil <script>window.__pwned=1</script> \"Org\" & <img src=x onerror=\"window.__pwned=2\">";
const HOSTILE_PART: &str = "urn:greenledger:x:<svg/onload=alert(1)>'\"&amp;";
const HOSTILE_KEY: &str = "<b onmouseover=\"window.__pwned=3\">k</b>";

struct Fixture {
    _dir: tempfile::TempDir,
    node: Option<Node>,
    url: String,
    rt: tokio::runtime::Runtime,
    agent: ureq::Agent,
    /// Ids: the hostile attestation, its consumer, a supplier key.
    hostile: String,
    consumer: String,
    supplier: String,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(n) = self.node.take() {
            let _ = self.rt.block_on(n.shutdown());
        }
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Consortium::new("explorer-test");
    let mut evil = c.supplier(20, HOSTILE_NAME);
    let mut maker = c.supplier(21, "Honest Maker");
    let mut a = attestation(HOSTILE_PART, 1_500_000, &[]);
    let mut ext = serde_json::Map::new();
    ext.insert(HOSTILE_KEY.to_string(), serde_json::Value::from(7));
    a.extensions = Some(ext);
    a.comment = Some("</pre><script>window.__pwned=4</script>".into());
    let hostile = c.sign(&mut evil, a);
    let consumer = c.sign(
        &mut maker,
        attestation(
            "urn:epc:id:sgtin:4012345.011111.1001",
            2_000_000,
            &[(hostile.entry(), 2_500_000)],
        ),
    );
    Identity::init(dir.path()).unwrap();
    let mut cfg = Config::default();
    cfg.http = "127.0.0.1:0".parse().unwrap();
    cfg.listen = "/ip4/127.0.0.1/tcp/0".into();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let node = rt.block_on(Node::start(cfg, dir.path(), &c.genesis)).unwrap();
    let url = format!("http://{}", node.addrs().http.unwrap());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let body: Vec<u8> = {
        let items: Vec<String> = c
            .entries
            .iter()
            .map(|e| String::from_utf8(e.signed().to_json()).unwrap())
            .collect();
        format!("[{}]", items.join(",")).into_bytes()
    };
    let mut r = agent
        .post(&format!("{url}/v1/entries"))
        .header("content-type", "application/json")
        .send(&body[..])
        .unwrap();
    let answer = r.body_mut().read_to_string().unwrap();
    assert_eq!(r.status().as_u16(), 200, "{answer}");
    assert!(!answer.contains("\"error\""), "every entry is taken: {answer}");
    Fixture {
        _dir: dir,
        node: Some(node),
        url,
        rt,
        agent,
        hostile: hostile.id().to_hex(),
        consumer: consumer.id().to_hex(),
        supplier: evil.public().to_hex(),
    }
}

impl Fixture {
    /// GET as a browser: (status, headers as "name: value" lines, body).
    fn page(&self, path: &str) -> (u16, String, String) {
        let mut r = self
            .agent
            .get(&format!("{}{path}", self.url))
            .header("accept", "text/html,application/xhtml+xml")
            .call()
            .unwrap();
        let headers = r
            .headers()
            .iter()
            .map(|(k, v)| format!("{}: {}", k, v.to_str().unwrap_or("")))
            .collect::<Vec<_>>()
            .join("\n");
        (r.status().as_u16(), headers, r.body_mut().read_to_string().unwrap())
    }
}

/// No ledger string reaches the page as markup: every `<` of them is escaped.
fn assert_escaped(body: &str) {
    for raw in [
        "<script>window.__pwned",
        "<img src=x onerror",
        "<svg/onload",
        "<b onmouseover",
        "</pre><script>",
        "onerror=\"window",
    ] {
        assert!(!body.contains(raw), "{raw:?} reached the page unescaped");
    }
    // The only scripts are the node's own asset.
    assert_eq!(body.matches("<script").count(), 1, "one script tag, the asset's");
    assert!(body.contains("<script src=\"/assets/explorer.js\" defer></script>"));
}

#[test]
fn explorer_pages_escape_every_ledger_string_and_keep_strict_headers() {
    let f = fixture();
    // The hostile attestation's page: its part, supplier, extension key and comment escaped.
    let (st, headers, body) = f.page(&format!("/entry/{}", f.hostile));
    assert_eq!(st, 200, "{body}");
    assert_escaped(&body);
    assert!(
        body.contains("Evil &#60;script&#62;") || body.contains("Evil &lt;script&gt;"),
        "the name is shown, escaped"
    );
    assert!(body.contains("VALID"), "{body}");
    let h = headers.to_lowercase();
    assert!(h.contains("content-type: text/html; charset=utf-8"), "{h}");
    assert!(h.contains("content-security-policy: default-src 'none'"), "{h}");
    assert!(
        h.contains("script-src 'self'") && !h.contains("unsafe-inline") && !h.contains("http"),
        "{h}"
    );
    assert!(h.contains("frame-ancestors 'none'"));
    assert!(h.contains("x-content-type-options: nosniff"));
    assert!(h.contains("referrer-policy: no-referrer"));
    // The consumer's page draws the hostile node in its graph and breakdown, escaped.
    let (st, _, body) = f.page(&format!("/entry/{}", f.consumer));
    assert_eq!(st, 200);
    assert_escaped(&body);
    assert!(body.contains("Tier 1"), "the graph lists tier 1");
    // 2 + 2.5 × 1.5 = 5.75 kg, as the roll-up computes it.
    assert!(
        body.contains("<strong id=\"total\">5.75</strong>") || body.contains(">5.750000<"),
        "{body}"
    );
    // The paged list of tier 1 (the graph's "show all", without script), escaped too.
    let (st, _, body) = f.page(&format!("/entry/{}?tier=1", f.consumer));
    assert_eq!(st, 200, "{body}");
    assert_escaped(&body);
    assert!(body.contains("Tier 1 of") && body.contains("page 1 of 1"), "{body}");
    let (st, _, body) = f.page(&format!("/entry/{}?tier=1&page=2", f.consumer));
    assert_eq!(st, 404);
    assert!(body.contains("there is no page 2"), "{body}");
    // The signer page, the part page (by its hostile URN), the network page and search.
    for path in [
        format!("/signer/{}", f.supplier),
        format!("/part/{}", seg(HOSTILE_PART)),
        "/".to_string(),
        format!("/search?q={}", seg("evil")),
    ] {
        let (st, _, body) = f.page(&path);
        assert!(st == 200, "{path}: {st} {body}");
        assert_escaped(&body);
    }
    // A search for a hostile string that matches nothing echoes it escaped, in a 404 page.
    let (st, _, body) = f.page(&format!("/search?q={}", seg("<script>window.__pwned=9</script>")));
    assert_eq!(st, 404);
    assert!(!body.contains("<script>window.__pwned=9"));
    assert!(body.contains("Nothing found"));
}

#[test]
fn unknown_and_malformed_ids_get_html_pages_and_the_api_keeps_json() {
    let f = fixture();
    let missing = "ab".repeat(32);
    let (st, h, body) = f.page(&format!("/entry/{missing}"));
    assert_eq!(st, 404, "{body}");
    assert!(h.to_lowercase().contains("text/html"), "{h}");
    assert!(body.contains(&format!("No entry {missing} is on this node.")), "{body}");
    let (st, _, body) = f.page("/entry/not-an-id");
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("is not an entry id"), "{body}");
    let (st, _, body) = f.page("/signer/zz");
    assert_eq!(st, 400);
    assert!(body.contains("is not a signer"), "{body}");
    let (st, _, body) = f.page("/part/urn:greenledger:nothing-here");
    assert_eq!(st, 404);
    assert!(
        body.contains("No attestation of part urn:greenledger:nothing-here"),
        "{body}"
    );
    let (st, _, body) = f.page("/lot/nope");
    assert_eq!(st, 400);
    assert!(body.contains("is not a lot"), "{body}");
    let (st, _, body) = f.page(&format!("/entry/{}?tier=9", f.consumer));
    assert_eq!(st, 404);
    assert!(body.contains("there is no tier 9"), "{body}");
    let (st, _, body) = f.page("/no/such/page");
    assert_eq!(st, 404);
    assert!(body.contains("This node serves no page at /no/such/page"), "{body}");
    // The API keeps its JSON errors, and a client that does not ask for HTML gets JSON.
    let mut r = f.agent.get(&format!("{}/v1/entries/{missing}", f.url)).call().unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let v: serde_json::Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(v["error"]["code"], "not_found");
    let mut r = f.agent.get(&format!("{}/no/such/route", f.url)).call().unwrap();
    let v: serde_json::Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(v["error"]["code"], "not_found");
    // Read-only: the explorer's routes take no writes.
    let mut r = f.agent.post(&format!("{}/", f.url)).send(&b"x"[..]).unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let _ = r.body_mut().read_to_string();
    // The assets are in the binary.
    let (st, h, body) = f.page("/assets/explorer.css");
    assert_eq!(st, 200);
    assert!(h.contains("text/css") && body.contains("prefers-color-scheme: dark"));
    let (st, _, _) = f.page("/assets/other.js");
    assert_eq!(st, 404);
}

#[test]
fn search_finds_parts_entries_signers_and_organisations() {
    let f = fixture();
    let no_redirect: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let location = |q: &str| {
        let r = no_redirect
            .get(&format!("{}/search?q={}", f.url, seg(q)))
            .call()
            .unwrap();
        (
            r.status().as_u16(),
            r.headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default(),
        )
    };
    assert_eq!(location(&f.hostile), (303, format!("/entry/{}", f.hostile)));
    assert_eq!(location(&f.supplier), (303, format!("/signer/{}", f.supplier)));
    assert_eq!(
        location("honest maker"),
        (303, format!("/signer/{}", greenledger_testkit::key(21).public()))
    );
    assert_eq!(
        location("urn:epc:id:sgtin:4012345.011111.1001"),
        (303, "/part/urn:epc:id:sgtin:4012345.011111.1001".to_string())
    );
    // A part page with one current attestation is that attestation's page.
    let (st, _, body) = f.page("/part/urn:epc:id:sgtin:4012345.011111.1001");
    assert_eq!(st, 200);
    assert!(body.contains("id=\"verdict\""), "{body}");
}
