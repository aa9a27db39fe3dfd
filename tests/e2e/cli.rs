//! The `greenledger` CLI, offline: a supply chain end to end, network pinning, `show`, the
//! `--json` outputs, key files, and input errors (exit code 2).

use std::os::unix::fs::PermissionsExt;

use crate::util::{Env, read, write};

/// Four tiers, six suppliers, three declared units:
///
/// ```text
/// battery pack (piece)            own 12.75
/// ├─ 1 piece   battery housing    own 1.25
/// │  └─ 2.5 kg aluminium ingot    own 8.5
/// │     └─ 4.2 kg bauxite         own 0.05
/// ├─ 96 piece  cell               own 3.125
/// └─ 40.5 kWh  grid electricity   own 0.2
/// ```
///
/// Totals (kg CO2e per declared unit), all exact in milligrams:
///
/// * ingot   = 8.5 + 4.2 × 0.05 = 8.71
/// * housing = 1.25 + 2.5 × 8.71 = 23.025
/// * pack    = 12.75 + 1 × 23.025 + 96 × 3.125 + 40.5 × 0.2 = 12.75 + 23.025 + 300 + 8.1 = 343.875
#[test]
fn four_tier_supply_chain_offline() {
    let env = Env::new();
    let mine = env.supplier("mine", "Bauxite Mining Co");
    let smelter = env.supplier("smelter", "Nordic Smelter AB");
    let housings = env.supplier("housings", "Housing Works GmbH");
    let cells = env.supplier("cells", "CellMaker Ltd");
    let utility = env.supplier("utility", "Green Grid Utility");
    let packs = env.supplier("packs", "PackAssembly SE");

    let bauxite = env.attest(&mine, "urn:greenledger:mine:bauxite", "kg", "0.05", &[]);
    let ingot = env.attest(
        &smelter,
        "urn:greenledger:smelter:ingot",
        "kilogram",
        "8.5",
        &[(&bauxite, "4.2")],
    );
    let housing = env.attest(
        &housings,
        "urn:epc:class:lgtin:4012345.012345.H-2026",
        "piece",
        "1.25",
        &[(&ingot, "2.5")],
    );
    let cell = env.attest(&cells, "urn:greenledger:cells:nmc811", "piece", "3.125", &[]);
    let power = env.attest(&utility, "urn:greenledger:grid:2026-01", "kilowatt hour", "0.2", &[]);
    let pack = env.attest(
        &packs,
        "urn:greenledger:packs:pack-75kwh",
        "piece",
        "12.75",
        &[(&housing, "1"), (&cell, "96"), (&power, "40.5")],
    );
    let bundle = env.bundle(&pack, "pack");

    // Not pinned: valid, with a warning that says how to pin.
    let run = env
        .verify(&bundle, &[])
        .ok()
        .stdout_has("VALID: urn:greenledger:packs:pack-75kwh — 343.875 kg CO2e per piece, every signature")
        .stdout_has("NOT pinned")
        .stdout_has("warning: network not pinned")
        .stdout_lacks("INVALID");
    // The tree: each branch with its quantity, the input's total and the contribution.
    for line in [
        "urn:greenledger:packs:pack-75kwh [PackAssembly SE] own 12.75 total 343.875 per piece",
        "1 piece × 23.025 = 23.025 urn:epc:class:lgtin:4012345.012345.H-2026 [Housing Works GmbH] own 1.25 total 23.025 per piece",
        "2.5 kg × 8.71 = 21.775 urn:greenledger:smelter:ingot [Nordic Smelter AB] own 8.5 total 8.71 per kg",
        "4.2 kg × 0.05 = 0.21 urn:greenledger:mine:bauxite [Bauxite Mining Co] own 0.05 total 0.05 per kg",
        "96 piece × 3.125 = 300 urn:greenledger:cells:nmc811 [CellMaker Ltd] own 3.125 total 3.125 per piece",
        "40.5 kWh × 0.2 = 8.1 urn:greenledger:grid:2026-01 [Green Grid Utility] own 0.2 total 0.2 per kWh",
    ] {
        assert!(run.stdout.contains(line), "tree line missing: {line}\n{}", run.stdout);
    }
    for step in [
        "network",
        "signatures",
        "membership",
        "chain links",
        "forks",
        "inputs",
        "roll-up",
        "supersession",
    ] {
        let dots = ".".repeat(16 - step.len());
        assert!(
            run.stdout.contains(&format!("{step} {dots} ok")),
            "step {step} not ok\n{}",
            run.stdout
        );
    }

    // Pinned by genesis file and by network id: valid, no warning.
    let genesis = env.genesis.display().to_string();
    env.verify(&bundle, &["--genesis", &genesis])
        .ok()
        .stdout_has(&format!("network  test-net ({}) — pinned", env.network_id))
        .stdout_lacks("warning");
    env.verify(&bundle, &["--network", &env.network_id])
        .ok()
        .stdout_has("— pinned");

    // --json: the same verdict for machines, with the exact figures as integer milligrams.
    let v = env.verify(&bundle, &["--genesis", &genesis, "--json"]).ok().json();
    assert_eq!(v["valid"], true, "{v:#}");
    assert_eq!(v["reasons"].as_array().map(Vec::len), Some(0), "{v:#}");
    assert_eq!(v["network_pinned"], true, "{v:#}");
    assert_eq!(v["network_id"], env.network_id.as_str());
    assert_eq!(v["target"], pack.as_str());
    assert_eq!(v["entries"], 12, "6 admissions and 6 attestations: {v:#}");
    let tree = &v["tree"];
    assert_eq!(tree["total"], "343875000", "{tree:#}");
    assert_eq!(tree["supplier"], "PackAssembly SE");
    let inputs = tree["inputs"].as_array().expect("inputs");
    let summary: Vec<(String, String, String)> = inputs
        .iter()
        .map(|i| {
            (
                i["supplier"].as_str().unwrap_or("").to_string(),
                i["total"].as_str().unwrap_or("").to_string(),
                i["contribution"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want = [
        ("Housing Works GmbH", "23025000", "23025000"),
        ("CellMaker Ltd", "3125000", "300000000"),
        ("Green Grid Utility", "200000", "8100000"),
    ];
    assert_eq!(
        summary,
        want.map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())),
        "{tree:#}"
    );
    let bauxite_node = &inputs[0]["inputs"][0]["inputs"][0];
    assert_eq!(bauxite_node["supplier"], "Bauxite Mining Co", "{tree:#}");
    assert_eq!(bauxite_node["id"], bauxite.as_str());

    // The part URN names the same attestation as its id.
    env.run_offline(&["bundle", "urn:greenledger:packs:pack-75kwh", "--out", "by-part.bundle"])
        .ok()
        .stdout_has(&pack);
}

#[test]
fn pinning_another_network_fails_naming_both_networks() {
    let env = Env::new();
    let s = env.supplier("s", "Smelter");
    let id = env.attest(&s, "urn:greenledger:t:bar", "kg", "2", &[]);
    let bundle = env.bundle(&id, "bar");
    // Same admin, another network name: another network id.
    let other_id = env
        .run(&[
            "genesis",
            "--network",
            "other-net",
            "--admin",
            &env.admin.public,
            "--out",
            "other.json",
        ])
        .ok()
        .last_line();
    assert_ne!(other_id, env.network_id);
    let expect = format!(
        "[1. network] the bundle belongs to network {}, not the expected network {other_id}",
        env.network_id
    );
    env.verify(&bundle, &["--genesis", "other.json"])
        .code(1)
        .stdout_has(&expect)
        .stdout_has("INVALID: 1 problem")
        .reason_count(1);
    env.verify(&bundle, &["--network", &other_id])
        .code(1)
        .stdout_has(&expect);
    let v = env
        .verify(&bundle, &["--genesis", "other.json", "--json"])
        .code(1)
        .json();
    assert_eq!(v["valid"], false, "{v:#}");
    assert_eq!(v["reasons"][0]["check"], "network", "{v:#}");
    // A pin that is not a network id at all is an input error.
    env.verify(&bundle, &["--network", "not-an-id"])
        .code(2)
        .stderr_has("--network \"not-an-id\"");
}

/// The roll-up rounds once, at the end: two inputs of 0.4 mg each make 1 mg, not 0.
#[test]
fn roll_up_rounds_once_half_away_from_zero() {
    let env = Env::new();
    let s = env.supplier("s", "Trace Co");
    let a = env.attest(&s, "urn:greenledger:t:a", "kg", "0.000001", &[]);
    let b = env.attest(&s, "urn:greenledger:t:b", "kg", "0.000001", &[]);
    let c = env.attest(&s, "urn:greenledger:t:c", "kg", "0", &[(&a, "0.4"), (&b, "0.4")]);
    let bundle = env.bundle(&c, "c");
    env.verify(&bundle, &[])
        .ok()
        .stdout_has("VALID: urn:greenledger:t:c — 0.000001 kg CO2e per kilogram");
}

#[test]
fn show_prints_an_entry_decoded() {
    let env = Env::new();
    let s = env.supplier("s", "Smelter");
    let ore = env.attest(&s, "urn:greenledger:t:ore", "kg", "0.25", &[]);
    let bar = env
        .try_attest(
            &s,
            "urn:greenledger:t:bar",
            "kg",
            "2",
            &[(&ore, "3.5")],
            &[
                "--quantity",
                "1000",
                "--country",
                "NO",
                "--standard",
                "ISO 14067",
                "--energy-kwh",
                "14.5",
                "--renewable-share",
                "98.5",
            ],
        )
        .ok()
        .last_line();
    let file = env.entries.join(format!("{bar}.json"));
    let file = file.display().to_string();
    env.run(&["show", &file])
        .ok()
        .stdout_has(&format!("id         {bar}"))
        .stdout_has("kind       attestation")
        .stdout_has(&format!("network    {}", env.network_id))
        .stdout_has(&format!("signer     {}", s.public))
        .stdout_has(&format!("seq        2  (prev {ore})"))
        .stdout_has("signature  valid (ed25519, ZIP 215)")
        .stdout_has("part       urn:greenledger:t:bar")
        .stdout_has("unit       kilogram")
        .stdout_has("quantity   1000 kg")
        .stdout_has("pcfExcludingBiogenicUptake   own              2  total          2.875")
        .stdout_has(&format!("input      {ore}  × 3.5"))
        .stdout_has("energy     14.5 kWh per kg, 98.5% renewable")
        .stdout_has("country    NO")
        .stdout_has("standards  ISO 14067");

    // By unique id prefix or by part, from the entries folder.
    let entries = env.entries.display().to_string();
    env.run(&["show", &bar[..10], "--entries", &entries])
        .ok()
        .stdout_has(&format!("id         {bar}"));
    env.run(&["show", "urn:greenledger:t:ore", "--entries", &entries])
        .ok()
        .stdout_has(&format!("id         {ore}"))
        .stdout_has("seq        1\n");
    // An admission shows who was admitted, as what.
    let admit = env.admit(&env.key("n"), "Newcomer Oy", "supplier");
    env.run(&["show", &admit, "--entries", &entries])
        .ok()
        .stdout_has("kind       member.admit")
        .stdout_has("name       Newcomer Oy")
        .stdout_has("role       supplier");

    // --json: the payload as signed, and the signature checked.
    let v = env.run(&["show", &file, "--json"]).ok().json();
    assert_eq!(v["id"], bar.as_str());
    assert_eq!(v["signature_valid"], true, "{v:#}");
    assert_eq!(v["valid_encoding"], true, "{v:#}");
    assert_eq!(v["payload"]["body"]["part"], "urn:greenledger:t:bar");
    assert_eq!(v["payload"]["body"]["total"]["pcfExcludingBiogenicUptake"], "2875000");

    // A damaged signature: shown, but flagged and exit 1.
    let text = read(&env.entries.join(format!("{bar}.json")));
    let sig_at = text.find("\"signature\":\"").expect("signature") + 13;
    let flipped = if &text[sig_at..sig_at + 1] == "0" { "1" } else { "0" };
    let bad = format!("{}{flipped}{}", &text[..sig_at], &text[sig_at + 1..]);
    write(&env.path("bad.json"), &bad);
    env.run(&["show", "bad.json"])
        .code(1)
        .stdout_has("signature  INVALID")
        .stdout_has("part       urn:greenledger:t:bar");

    // Not an entry; no such id.
    env.run(&["show", "genesis.json"])
        .code(2)
        .stderr_has("genesis.json is not a signed entry");
    env.run(&["show", "abcdef0123", "--entries", &entries])
        .code(2)
        .stderr_has("no entry id starts with abcdef0123");
    env.run(&["show", "abcdef0123"])
        .code(2)
        .stderr_has("pass --entries DIR");
}

#[test]
fn json_outputs_of_key_genesis_and_signing_commands() {
    let env = Env::new();
    // key generate / key show
    let v = env.run(&["key", "generate", "--out", "j.key", "--json"]).ok().json();
    let public = v["public_key"].as_str().expect("public_key").to_string();
    assert_eq!(public.len(), 64, "{v}");
    assert!(public.bytes().all(|b| b.is_ascii_hexdigit()), "{v}");
    let shown = env.run(&["key", "show", "--key", "j.key", "--json"]).ok().json();
    assert_eq!(shown["public_key"], public.as_str());
    env.run(&["key", "show", "--key", "j.key"]).ok().stdout_has(&public);

    // genesis: the id the verifier reports for bundles of that network
    let v = env
        .run(&[
            "genesis",
            "--network",
            "json-net",
            "--admin",
            &public,
            "--out",
            "g2.json",
            "--json",
        ])
        .ok()
        .json();
    let net = v["network_id"].as_str().expect("network_id");
    assert_eq!(net.len(), 64, "{v}");
    assert_ne!(net, env.network_id, "{v}");

    // admit and attest: the new entry's id, which is the file name in --entries DIR
    let s = env.key("s");
    let admin = env.admin.path.display().to_string();
    let v = env
        .run_offline(&[
            "admit", "--key", &admin, "--member", &s.public, "--name", "Json AG", "--role", "supplier", "--json",
        ])
        .ok()
        .json();
    assert_eq!(v["kind"], "member.admit", "{v}");
    let key = s.path.display().to_string();
    let v = env
        .run_offline(&[
            "attest",
            "--key",
            &key,
            "--part",
            "urn:greenledger:t:j",
            "--unit",
            "m3",
            "--own",
            "1.5",
            "--json",
        ])
        .ok()
        .json();
    let id = v["id"].as_str().expect("id");
    assert_eq!(id.len(), 64, "{v}");
    assert_eq!(v["seq"], 1, "{v}");
    assert!(
        env.entries.join(format!("{id}.json")).is_file(),
        "the entry is written as <id>.json: {v}"
    );
    let bundle = env.bundle(id, "j");
    let v = env.verify(&bundle, &["--json"]).ok().json();
    assert_eq!(v["target"], id);
    assert_eq!(v["tree"]["unit"], "cubic meter", "{v:#}");
    // Errors in --json mode are JSON too (and still exit 2).
    let v = env.run(&["verify", "--bundle", "/dev/null", "--json"]).code(2).json();
    assert_eq!(v["error"]["code"], "error", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("the file is empty")),
        "{v}"
    );
}

#[test]
fn key_files_are_private_and_never_overwritten_without_force() {
    let env = Env::new();
    let k = env.key("k");
    let mode = std::fs::metadata(&k.path).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "key file mode {mode:o}");

    env.run(&["key", "generate", "--out", "k.key"])
        .code(2)
        .stderr_has("k.key already exists; pass --force to overwrite it");
    env.run(&["key", "show", "--key", "k.key"]).ok().stdout_has(&k.public);

    let replaced = env
        .run(&["key", "generate", "--out", "k.key", "--force"])
        .ok()
        .last_line();
    assert_ne!(replaced, k.public, "--force makes a new key");
    let mode = std::fs::metadata(&k.path).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "key file mode after --force {mode:o}");
    env.run(&["key", "show", "--key", "k.key"]).ok().stdout_has(&replaced);
}

#[test]
fn a_file_that_is_not_a_key_is_refused() {
    let env = Env::new();
    // The genesis is JSON, but not a key file.
    env.run(&["key", "show", "--key", "genesis.json"])
        .code(2)
        .stderr_has("cannot use key file genesis.json: not a greenledger key file");
    env.run_offline(&[
        "attest",
        "--key",
        "genesis.json",
        "--part",
        "urn:greenledger:t:x",
        "--unit",
        "kg",
        "--own",
        "1",
    ])
    .code(2)
    .stderr_has("not a greenledger key file");
    // Binary garbage, a missing file, and a key whose public half was edited.
    std::fs::write(env.path("bin.key"), [0xff, 0xfe, 0x00, 0x01]).expect("write");
    env.run(&["key", "show", "--key", "bin.key"])
        .code(2)
        .stderr_has("bin.key is not a greenledger key file (not text)");
    env.run(&["key", "show", "--key", "nope.key"])
        .code(2)
        .stderr_has("cannot read key file nope.key");
    let text = read(&env.admin.path);
    let other = env.key("other");
    write(&env.path("mixed.key"), &text.replace(&env.admin.public, &other.public));
    env.run(&["key", "show", "--key", "mixed.key"])
        .code(2)
        .stderr_has("its public key does not match its secret key");
}

#[test]
fn unreadable_bundles_are_input_errors() {
    let env = Env::new();
    let s = env.supplier("s", "Smelter");
    let id = env.attest(&s, "urn:greenledger:t:bar", "kg", "2", &[]);
    let bundle = env.bundle(&id, "bar");
    let text = read(&bundle);

    write(&env.path("half.bundle"), &text[..text.len() / 2]);
    env.verify(&env.path("half.bundle"), &[])
        .code(2)
        .stderr_has("not valid JSON")
        .stderr_has("the file may be truncated");
    // Cut just before the final brace: still truncated.
    write(&env.path("cut.bundle"), text.trim_end().trim_end_matches('}'));
    env.verify(&env.path("cut.bundle"), &[])
        .code(2)
        .stderr_has("the file may be truncated");

    env.verify(std::path::Path::new("/dev/null"), &[])
        .code(2)
        .stderr_has("cannot read /dev/null: not a greenledger bundle: the file is empty");
    env.verify(&env.genesis, &[])
        .code(2)
        .stderr_has("missing \"format\": \"greenledger-bundle\"");
    env.verify(&env.path("missing.bundle"), &[])
        .code(2)
        .stderr_has("cannot read bundle");
    write(
        &env.path("v2.bundle"),
        &text.replacen("\"version\":1,", "\"version\":2,", 1),
    );
    env.verify(&env.path("v2.bundle"), &[])
        .code(2)
        .stderr_has("unsupported bundle version 2");
    env.run(&["verify"])
        .code(2)
        .stderr_has("nothing to verify")
        .stderr_has("--bundle FILE");
}

#[test]
fn usage_and_input_errors_exit_2() {
    let env = Env::new();
    let s = env.supplier("s", "Smelter");
    env.run(&["frobnicate"])
        .code(2)
        .stderr_has("unrecognized subcommand 'frobnicate'")
        .stderr_has("Usage: greenledger");
    env.run(&["attest", "--key", "s.key"]).code(2);
    env.try_attest(&s, "urn:greenledger:t:x", "furlong", "1", &[], &[])
        .code(2)
        .stderr_has("unknown declared unit \"furlong\"");
    env.try_attest(&s, "not-a-urn", "kg", "1", &[], &[])
        .code(2)
        .stderr_has("\"not-a-urn\" is not a URN");
    env.try_attest(&s, "urn:greenledger:t:x", "kg", "-1", &[], &[])
        .code(2)
        .stderr_has("own emissions excluding biogenic uptake cannot be negative");
    env.try_attest(&s, "urn:greenledger:t:x", "kg", "1.0000001", &[], &[])
        .code(2)
        .stderr_has("more than 6 decimal places");
    env.try_attest(&s, "urn:greenledger:t:x", "kg", "1", &[(&"ab".repeat(32), "1")], &[])
        .code(2)
        .stderr_has("is not in the entries folder");
    // Nothing was signed by the failures above: the first real attestation is seq 1.
    let v = env
        .try_attest(&s, "urn:greenledger:t:ok", "kg", "1", &[], &["--json"])
        .ok()
        .json();
    assert_eq!(v["seq"], 1, "{v}");
    // Without --genesis there is no network to sign for.
    env.run(&[
        "attest",
        "--key",
        "s.key",
        "--part",
        "urn:greenledger:t:x",
        "--unit",
        "kg",
        "--own",
        "1",
        "--out",
        "x.json",
    ])
    .code(2)
    .stderr_has("needs --genesis FILE");
}
