//! The explorer in a real browser: a node process with a small battery supply chain (a batch
//! shipped to its buyer, certificates retired and claimed, a forked signer, a superseded
//! attestation, an organisation and a part with hostile names), headless Chromium driven through
//! WebDriver (Debian's `chromium` and `chromium-driver`), and assertions on what a person sees.
//! A PNG screenshot of every page goes to the output folder the test prints.
//!
//! Without the browser or its driver the test prints `SKIPPED: <why>` and returns; `.ci/run`
//! installs both, so CI runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator};
use greenledger_core::Mass;
use greenledger_testkit::Chain;
use serde_json::Value;

use crate::{node_util::TestNode, util::Env};

const CHROMIUM: [&str; 2] = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
const DRIVER: [&str; 2] = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];

const HOSTILE_ORG: &str = "Mallory <img src=x onerror=\"window.__pwned=1\"> <script>window.__pwned=2</script> Ltd";

fn find(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

/// chromedriver on a free loopback port; killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver(path: &Path) -> Driver {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// The screenshots' folder: `GREENLEDGER_SCREENSHOTS`, or one under cargo's target tmp dir.
fn screenshots_dir() -> PathBuf {
    let dir = std::env::var_os("GREENLEDGER_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explorer-screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Browser {
    c: Client,
    base: String,
    shots: PathBuf,
}

impl Browser {
    async fn open(&self, path: &str) {
        self.c.goto(&format!("{}{path}", self.base)).await.unwrap();
    }
    async fn text(&self, css: &str) -> String {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .unwrap()
    }
    async fn all_text(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.c.find_all(Locator::Css(css)).await.unwrap() {
            out.push(e.text().await.unwrap());
        }
        out
    }
    async fn shot(&self, name: &str) {
        // The whole page: the window as tall as the document.
        let h = self
            .c
            .execute("return Math.min(document.documentElement.scrollHeight, 6000);", vec![])
            .await
            .unwrap()
            .as_u64()
            .unwrap_or(1200) as u32;
        let _ = self.c.set_window_size(1280, h.max(800)).await;
        let png = self.c.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
        let _ = self.c.set_window_size(1280, 1000).await;
    }
    /// No injected script ran, no injected element exists.
    async fn nothing_injected(&self) {
        let v = self
            .c
            .execute(
                "return [typeof window.__pwned, document.querySelectorAll('img[src=\"x\"], script:not([src])').length, document.scripts.length];",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            v,
            serde_json::json!(["undefined", 0, 1]),
            "an injected script or element on {}",
            self.c.current_url().await.unwrap()
        );
    }
}

/// Text with runs of white space as one space (the layout may break lines between an icon and
/// its word).
fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn kg(mg: &Value) -> String {
    Mass(mg.as_str().expect("a mass is a string of mg").parse().unwrap()).kg_string()
}

/// Every node of a `verify --json` tree with its depth (tier).
fn tree_nodes<'a>(t: &'a Value, depth: usize, out: &mut Vec<(usize, &'a Value)>) {
    out.push((depth, t));
    for c in t["inputs"].as_array().into_iter().flatten() {
        tree_nodes(c, depth + 1, out);
    }
}

#[test]
fn explorer_in_a_real_browser() {
    let (Some(chromium), Some(driver)) = (find(&CHROMIUM), find(&DRIVER)) else {
        println!(
            "SKIPPED: explorer_in_a_real_browser needs Chromium and its WebDriver ({} / {}): apt-get install chromium chromium-driver",
            CHROMIUM.join(" or "),
            DRIVER.join(" or ")
        );
        return;
    };
    // The supply chain, through a real node process and the CLI.
    let env = Env::new();
    let node = TestNode::start(&env.path("node"), &env.genesis);
    let url = node.url.clone();
    let sup = |name: &str, org: &str| env.supplier_on(&url, name, org);
    let miner = sup("miner", "Bauxite Mining Co");
    let smelter = sup("smelter", "Nordic Aluminium Smelter");
    let caster = sup("caster", "Housing Castings GmbH");
    let utility = sup("utility", "Grid Power Utility");
    let cells = sup("cells", "Cell Manufacturing Ltd");
    let assembler = sup("assembler", "Battery Pack Assembly");
    let forked = sup("forked", "Forked Foundry");
    let hostile = sup("hostile", HOSTILE_ORG);
    let attest = |k: &crate::util::Key, args: &[&str]| -> String {
        let key = k.path.display().to_string();
        let mut all = vec!["attest", "--key", key.as_str()];
        all.extend_from_slice(args);
        env.run_on(&url, &all).ok().last_line()
    };
    let u = "urn:greenledger:demo";
    let bauxite = attest(
        &miner,
        &["--part", &format!("{u}:bauxite"), "--unit", "kilogram", "--own", "0.25"],
    );
    let ingot = attest(
        &smelter,
        &[
            "--part",
            &format!("{u}:aluminium-ingot"),
            "--unit",
            "kilogram",
            "--own",
            "8.1",
            "--input",
            &format!("{bauxite}=4.2"),
            "--quantity",
            "20000",
        ],
    );
    let ship = {
        let key = smelter.path.display().to_string();
        env.run_on(
            &url,
            &[
                "ship",
                "--key",
                &key,
                "--from",
                &format!("{ingot}:0=20000"),
                "--to",
                &format!("{}=20000", caster.public),
            ],
        )
        .ok()
        .last_line()
    };
    let power = attest(
        &utility,
        &[
            "--part",
            &format!("{u}:grid-electricity"),
            "--unit",
            "kilowatt hour",
            "--own",
            "0.38",
        ],
    );
    let housing = attest(
        &caster,
        &[
            "--part",
            &format!("{u}:pack-housing"),
            "--unit",
            "piece",
            "--own",
            "3.4",
            "--quantity",
            "1000",
            "--input",
            &format!("{ship}:0=12.5"),
        ],
    );
    // A first cell attestation, then its correction (the old one is superseded).
    let cell_old = attest(
        &cells,
        &[
            "--part",
            &format!("{u}:cell"),
            "--unit",
            "piece",
            "--own",
            "2.2",
            "--input",
            &format!("{power}=0.8"),
        ],
    );
    let cell = attest(
        &cells,
        &[
            "--part",
            &format!("{u}:cell"),
            "--unit",
            "piece",
            "--own",
            "1.9",
            "--input",
            &format!("{power}=0.8"),
            "--supersedes",
            &cell_old,
        ],
    );
    let pack = attest(
        &assembler,
        &[
            "--part",
            "urn:epc:id:sgtin:4012345.011111.1001",
            "--unit",
            "piece",
            "--own",
            "25",
            "--input",
            &format!("{housing}=1"),
            "--input",
            &format!("{cell}=96"),
            "--input",
            &format!("{power}=40"),
        ],
    );
    // The forked signer: one attestation, then two different entries at its seq 2.
    let genesis = env.genesis();
    let mut chain = Chain::new(forked.secret(), &genesis);
    let ore = chain.attest(&format!("{u}:forked-ore"), 1_000_000, &[]);
    assert_eq!(node.submit(&ore.signed().to_json()).0, 201);
    let mut twin = chain.twin();
    let a = chain.attest(&format!("{u}:forked-bar"), 1_000_000, &[(ore.entry(), 1_000_000)]);
    let b = twin.attest(&format!("{u}:forked-bar"), 900_000, &[(ore.entry(), 1_000_000)]);
    assert_eq!(node.submit(&a.signed().to_json()).0, 201);
    assert_eq!(
        node.submit(&b.signed().to_json()).0,
        409,
        "the second seq-2 entry is a fork"
    );
    // The organisation with a hostile name attests a part (the node-level tests add hostile
    // part URNs, extension keys and comments).
    let hostile_part = attest(
        &hostile,
        &["--part", &format!("{u}:hostile"), "--unit", "kilogram", "--own", "0.5"],
    );
    // What `greenledger verify --json` says of the pack: the explorer must show the same digits.
    let verified = env
        .run(&[
            "verify",
            &pack,
            "--node",
            &url,
            "--genesis",
            &env.genesis.display().to_string(),
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(verified["valid"], Value::Bool(true), "{verified}");
    let mut nodes = Vec::new();
    tree_nodes(&verified["tree"], 0, &mut nodes);
    // Tiers as a person reads the graph: each attestation at its shortest distance from the pack.
    let mut tier_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (d, n) in &nodes {
        let t = tier_of.entry(n["id"].as_str().unwrap()).or_insert(*d);
        *t = (*t).min(*d);
    }
    let tiers = tier_of.values().max().unwrap() + 1;
    assert_eq!(tiers, 4, "pack; housing, cells, power; ingot; bauxite");

    let driver = start_driver(&driver);
    let shots = screenshots_dir();
    println!("explorer screenshots: {}", shots.display());
    let profile = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium.display().to_string(),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .expect("a WebDriver session with headless Chromium");
        let br = Browser {
            c,
            base: url.clone(),
            shots: shots.clone(),
        };

        // The network page.
        br.open("/").await;
        assert_eq!(br.text("h1").await, "test-net");
        assert!(br.text("#log-size").await.ends_with("entries"));
        assert!(br.text("#recent").await.contains("attestation"));
        br.nothing_injected().await;
        br.shot("01-network").await;

        // Search by part URN (a GS1 SGTIN), typed into the search box: the pack's page.
        let q = br.c.find(Locator::Css("#q")).await.unwrap();
        q.send_keys("urn:epc:id:sgtin:4012345.011111.1001").await.unwrap();
        br.c.find(Locator::Css("form.search button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        br.c.wait().for_element(Locator::Css("#verdict")).await.unwrap();
        assert!(br.c.current_url().await.unwrap().path().starts_with("/part/"));
        assert_eq!(br.text("#verdict-word").await, "VALID");
        let total = kg(&verified["tree"]["total"]);
        assert_eq!(br.text("#total").await, total, "the total has verify --json's digits");
        assert!(
            br.text("#verdict-headline")
                .await
                .contains(&format!("{total} kg CO2e per piece"))
        );
        // Every tier of the graph, and every attestation's total in it.
        let rows = br.all_text("#tiers tr.tier-row").await;
        assert_eq!(rows.len(), tiers, "{rows:?}");
        for t in 0..tiers {
            assert!(rows[t].starts_with(&format!("Tier {t}")), "{rows:?}");
        }
        let graph =
            br.c.find(Locator::Css("#graph svg"))
                .await
                .unwrap()
                .html(false)
                .await
                .unwrap();
        for (_, n) in &nodes {
            let t = kg(&n["total"]);
            assert!(graph.contains(&format!("{t} kg CO2e/")), "the graph shows {t}");
        }
        // The breakdown's exact figures: own emissions and each input's contribution.
        let direct = br.text("#direct").await;
        for n in verified["tree"]["inputs"].as_array().unwrap() {
            assert!(direct.contains(&kg(&n["contribution"])), "{direct}");
        }
        assert!(
            br.text("#verify-cmd")
                .await
                .starts_with("greenledger verify --bundle provenance-")
        );
        assert!(
            br.text("#shipments").await.contains(&ship[..8]),
            "the shipment behind the housing's input"
        );
        br.nothing_injected().await;
        br.shot("02-attestation-pack").await;

        // The superseded cell attestation is flagged, and its correction says so.
        br.open(&format!("/entry/{cell_old}")).await;
        assert!(
            br.text("#corrections").await.contains("superseded"),
            "{}",
            br.text("#corrections").await
        );
        br.open(&format!("/entry/{cell}")).await;
        assert!(br.text("#corrections").await.contains("supersedes"));
        br.shot("03-attestation-correction").await;

        // Search by organisation name: the signer's page.
        br.open("/").await;
        let q = br.c.find(Locator::Css("#q")).await.unwrap();
        q.send_keys("nordic aluminium").await.unwrap();
        br.c.find(Locator::Css("form.search button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        br.c.wait().for_element(Locator::Css("#signer-name")).await.unwrap();
        assert_eq!(br.text("#signer-name").await, "Nordic Aluminium Smelter");
        assert_eq!(br.text("#signer-word").await, "in good standing");
        br.shot("04-signer").await;

        // The forked signer: failed, with the icon and the word, and its fork proof.
        br.open(&format!("/signer/{}", forked.public)).await;
        assert_eq!(br.text("#signer-word").await, "FORKED");
        let class =
            br.c.find(Locator::Css("#signer-status"))
                .await
                .unwrap()
                .attr("class")
                .await
                .unwrap()
                .unwrap();
        assert!(class.contains("failed"), "{class}");
        assert!(br.text("#signer-status h2").await.starts_with("✗"));
        assert!(br.text("#forks").await.contains(&a.id().to_hex()));
        br.shot("05-signer-forked").await;
        // What rests on the fork fails, in verify's words.
        br.open(&format!("/entry/{}", a.id())).await;
        assert_eq!(br.text("#verdict-word").await, "INVALID");
        assert!(
            br.text("#reasons").await.contains("fork"),
            "{}",
            br.text("#reasons").await
        );
        br.shot("06-attestation-forked").await;

        // The batch lot's timeline: created by the smelter's attestation, drawn by the shipment.
        br.open(&format!("/lot/{ingot}:0")).await;
        let timeline = br.text("#timeline").await;
        assert!(
            timeline.contains("created by attestation") && timeline.contains("batch.ship"),
            "{timeline}"
        );
        br.shot("07-lot").await;

        // Hostile strings: the organisation's page and its attestation are shown, nothing runs.
        br.open(&format!("/signer/{}", hostile.public)).await;
        assert!(
            br.text("#signer-name").await.contains("<img src=x onerror="),
            "the name is shown as text"
        );
        br.nothing_injected().await;
        br.open(&format!("/entry/{hostile_part}")).await;
        br.nothing_injected().await;
        br.open(&format!(
            "/search?q={}",
            "%3Cscript%3Ewindow.__pwned%3D3%3C%2Fscript%3E"
        ))
        .await;
        br.nothing_injected().await;
        br.shot("08-search-nothing").await;

        // The 404 page says what was not found.
        let missing = "0".repeat(64);
        br.open(&format!("/entry/{missing}")).await;
        assert_eq!(words(&br.text("#error h1").await), "✗ Not found", "icon and word");
        assert!(br.text("#error .message").await.contains(&missing));
        br.shot("09-not-found").await;

        // With JavaScript off the figures are all there (nothing depends on script).
        br.c.close().await.unwrap();
    });
    // The screenshots exist and are PNGs.
    let n = std::fs::read_dir(&shots)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "png"))
        .count();
    assert!(n >= 9, "{n} screenshots in {}", shots.display());
    let _ = (bauxite, housing, power);
}
