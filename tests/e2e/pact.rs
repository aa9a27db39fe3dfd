//! PACT v3 interoperability, offline: `attest --pact FILE` imports a v3 or v2 ProductFootprint,
//! the bundle verifies, `show --format pact` exports it again with the same PACT fields and a
//! greenledger extension, supersession becomes `Deprecated`/`precedingPfIds`, and every import
//! error exits 2 naming the field.

use std::path::PathBuf;

use greenledger_interop::pact;
use serde_json::{Value, json};

use crate::util::{Env, Key, read, write};

pub(crate) fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../interop/tests/data/pact")
        .join(name)
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&read(&fixture(name))).expect("fixture is JSON")
}

fn attest_pact(env: &Env, key: &Key, file: &str, extra: &[&str]) -> crate::util::Run {
    let mut args = vec![
        "attest".to_string(),
        "--key".into(),
        key.path.display().to_string(),
        "--pact".into(),
        file.to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    env.run_offline(&args)
}

fn show_pact(env: &Env, id: &str) -> Value {
    env.run(&[
        "show",
        id,
        "--format",
        "pact",
        "--entries",
        &env.entries.display().to_string(),
    ])
    .ok()
    .json()
}

fn greenledger_ext(fp: &Value) -> &Value {
    fp["extensions"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["dataSchema"] == pact::EXTENSION_SCHEMA))
        .expect("a greenledger extension")
}

#[test]
fn v3_import_verify_export_round_trip() {
    let env = Env::new();
    let mine = env.supplier("mine", "Ore Mining Co");
    let steel = env.supplier("steel", "Nordstahl Werke GmbH");
    let ore = env.attest(&mine, "urn:greenledger:mine:ore", "kg", "0.05", &[]);
    let file = fixture("v3-steel.json");
    let id = attest_pact(
        &env,
        &steel,
        &file.display().to_string(),
        &["--input", &format!("{ore}=1.6")],
    )
    .ok()
    .last_line();
    assert_eq!(id.len(), 64);

    // The signed attestation: total = the footprint per ONE kg, own = total − 1.6 × 0.05.
    let body = &env.payload_of(&id)["body"];
    assert_eq!(body["part"], "urn:greenledger:nordstahl:coil-s355");
    assert_eq!(body["total"]["pcfExcludingBiogenicUptake"], "1850500");
    assert_eq!(body["own"]["pcfExcludingBiogenicUptake"], "1770500");

    let bundle = env.bundle(&id, "coil");
    env.verify(&bundle, &[]).ok().stdout_has("VALID");

    let out = show_pact(&env, &id);
    assert_eq!(out["id"], pact::footprint_id(&id.parse().expect("id")));
    assert_eq!(out["specVersion"], pact::SPEC_VERSION);
    assert_eq!(out["status"], "Active");
    assert!(out.get("precedingPfIds").is_none());
    // Same PACT fields as the file (lifecycle fields and the greenledger extension aside).
    let original = pact::Footprint::parse(read(&file).as_bytes()).expect("fixture");
    assert_eq!(
        pact::comparable(&out),
        pact::comparable(&Value::Object(original.v3.clone()))
    );
    assert_eq!(out["pcf"]["declaredUnitAmount"], "1000");
    assert_eq!(out["pcf"]["pcfExcludingBiogenicUptake"], "1850.5");
    assert_eq!(out["companyName"], "Nordstahl Werke GmbH");
    // The file's own extension comes back with its float and null.
    assert_eq!(out["extensions"][0]["data"]["co2Factor"], json!(0.125));
    assert_eq!(out["extensions"][0]["data"]["note"], Value::Null);

    let ext = greenledger_ext(&out);
    assert_eq!(ext["specVersion"], pact::EXTENSION_VERSION);
    let data = &ext["data"];
    assert_eq!(data["entry"], id);
    assert_eq!(data["signer"], steel.public);
    assert_eq!(data["network"], env.network_id);
    assert_eq!(data["signature"].as_str().map(str::len), Some(128));
    assert_eq!(data["inputs"][0]["entry"], ore);
    assert_eq!(data["inputs"][0]["quantity"], "1.6");
    assert_eq!(data["importedFrom"]["id"], "3b2f6c1e-7a40-4d1b-9e55-0c8a1f2d3e4b");

    // The export imports again, and attesting it gives the same figures.
    let again = env.path("again.json");
    write(&again, &serde_json::to_string_pretty(&out).expect("json"));
    let steel2 = env.supplier("steel2", "Nordstahl Werke GmbH");
    let id2 = attest_pact(
        &env,
        &steel2,
        &again.display().to_string(),
        &["--input", &format!("{ore}=1.6")],
    )
    .ok()
    .last_line();
    let body2 = &env.payload_of(&id2)["body"];
    assert_eq!(body2["total"], body["total"]);
}

#[test]
fn v2_import_is_normalised_to_v3() {
    let env = Env::new();
    let kiln = env.supplier("kiln", "Kalkwerk Süd AG");
    let id = attest_pact(&env, &kiln, &fixture("v2-cement.json").display().to_string(), &[])
        .ok()
        .stderr_has("warning:")
        .stderr_has("pcf.ccsTechnologicalCO2CaptureIncluded is missing")
        .last_line();
    let bundle = env.bundle(&id, "cement");
    env.verify(&bundle, &[]).ok();
    let out = show_pact(&env, &id);
    assert_eq!(out["specVersion"], pact::SPEC_VERSION);
    let pcf = &out["pcf"];
    assert_eq!(pcf["declaredUnitOfMeasurement"], "kilogram");
    assert_eq!(pcf["declaredUnitAmount"], "1");
    assert_eq!(pcf["pcfExcludingBiogenicUptake"], "0.83");
    assert_eq!(pcf["pcfIncludingBiogenicUptake"], "0.82");
    assert_eq!(pcf["biogenicCO2Uptake"], "-0.01");
    assert_eq!(pcf["crossSectoralStandards"], json!(["GHGP-Product", "ISO14067"]));
    assert_eq!(pcf["exemptedEmissionsPercent"], "1.5");
    assert!(pcf.get("pCfExcludingBiogenic").is_none() && pcf.get("declaredUnit").is_none());
    assert_eq!(
        out["productClassifications"],
        json!(["urn:pact:productclassification:un-cpc:3744"])
    );
    let data = &greenledger_ext(&out)["data"];
    assert_eq!(data["importedFrom"]["specVersion"], "2.2.0");
    // The v2 fields with no v3 place are in the signed attestation.
    let body = env.payload_of(&id)["body"].clone();
    assert_eq!(body["extensions"]["pact"]["v2"]["pcf"]["unitaryProductAmount"], "25");
    // The export is a valid v3 footprint.
    pact::Footprint::from_value(out).expect("valid v3");
}

#[test]
fn supersession_is_deprecated_and_preceding() {
    let env = Env::new();
    let cells = env.supplier("cells", "Zellfabrik Ost");
    let file = fixture("v3-minimal-piece.json").display().to_string();
    let first = attest_pact(&env, &cells, &file, &[]).ok().last_line();
    let second = attest_pact(&env, &cells, &file, &["--supersedes", &first, "--comment", "corrected"])
        .ok()
        .last_line();
    let old = show_pact(&env, &first);
    assert_eq!(old["status"], "Deprecated");
    let new = show_pact(&env, &second);
    assert_eq!(new["status"], "Active");
    assert_eq!(
        new["precedingPfIds"],
        json!([pact::footprint_id(&first.parse().expect("id"))])
    );
    assert_eq!(new["comment"], "corrected");
    // 1 kg CO2e per 3 pieces is not a whole number of mg per piece: the file's figures come
    // back exactly.
    assert_eq!(new["pcf"]["pcfExcludingBiogenicUptake"], "1");
    assert_eq!(new["pcf"]["declaredUnitAmount"], "3");
    assert_eq!(
        env.payload_of(&second)["body"]["total"]["pcfExcludingBiogenicUptake"],
        "333333"
    );
}

#[test]
fn any_attestation_exports() {
    let env = Env::new();
    let smelter = env.supplier("smelter", "Nordic Smelter AB");
    let id = env.attest(&smelter, "urn:greenledger:smelter:ingot", "kg", "8.5", &[]);
    let out = show_pact(&env, &id);
    assert_eq!(out["companyName"], "Nordic Smelter AB");
    assert_eq!(out["productIds"], json!(["urn:greenledger:smelter:ingot"]));
    assert_eq!(out["pcf"]["pcfExcludingBiogenicUptake"], "8.5");
    assert_eq!(out["pcf"]["declaredUnitAmount"], "1");
    pact::Footprint::from_value(out).expect("valid v3");
    // Offline from the file alone, too.
    let file = env.entries.join(format!("{id}.json"));
    env.run(&["show", &file.display().to_string(), "--format", "pact"])
        .ok()
        .stdout_has("\"specVersion\": \"3.0.0\"");
    // A membership entry has no PACT form: an input error.
    let admit = env.admit(&env.key("other"), "Other", "supplier");
    env.run(&[
        "show",
        &admit,
        "--format",
        "pact",
        "--entries",
        &env.entries.display().to_string(),
    ])
    .code(2)
    .stderr_has("only attestations");
}

#[test]
fn import_errors_exit_2_naming_the_field() {
    let env = Env::new();
    let s = env.supplier("s", "Supplier");
    let base = fixture_json("v3-steel.json");
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "missing",
            Box::new(|v| {
                v["pcf"].as_object_mut().expect("pcf").remove("fossilGhgEmissions");
            }),
            "pcf.fossilGhgEmissions",
        ),
        (
            "inclusive",
            Box::new(|v| v["pcf"]["pcfIncludingBiogenicUptake"] = json!("1850.5")),
            "pcf.pcfIncludingBiogenicUptake",
        ),
        (
            "sign",
            Box::new(|v| v["pcf"]["biogenicCO2Uptake"] = json!("1.25")),
            "pcf.biogenicCO2Uptake",
        ),
        (
            "geography",
            Box::new(|v| v["pcf"]["geographyRegionOrSubregion"] = json!("Europe")),
            "geography",
        ),
        (
            "period",
            Box::new(|v| v["pcf"]["referencePeriodEnd"] = json!("2024-01-01T00:00:00Z")),
            "pcf.referencePeriodEnd",
        ),
        (
            "decimal",
            Box::new(|v| v["pcf"]["fossilGhgEmissions"] = json!("1.84e3")),
            "pcf.fossilGhgEmissions",
        ),
        (
            "number",
            Box::new(|v| v["pcf"]["fossilGhgEmissions"] = json!(1840)),
            "pcf.fossilGhgEmissions",
        ),
        ("company", Box::new(|v| v["companyName"] = Value::Null), "companyName"),
        (
            "unit",
            Box::new(|v| v["pcf"]["declaredUnitOfMeasurement"] = json!("megabit second")),
            "pcf.declaredUnitOfMeasurement",
        ),
    ];
    for (name, edit, field) in cases {
        let mut v = base.clone();
        edit(&mut v);
        let path = env.path(&format!("bad-{name}.json"));
        write(&path, &v.to_string());
        attest_pact(&env, &s, &path.display().to_string(), &[])
            .code(2)
            .stderr_has(field)
            .stderr_has("PACT footprint");
    }
    // Not JSON at all.
    let path = env.path("not-json.json");
    write(&path, "{\"id\": ");
    attest_pact(&env, &s, &path.display().to_string(), &[])
        .code(2)
        .stderr_has("not valid JSON");
    // A flag that disagrees with the file.
    let file = fixture("v3-steel.json").display().to_string();
    attest_pact(&env, &s, &file, &["--unit", "piece"])
        .code(2)
        .stderr_has("--unit piece conflicts with the PACT file's pcf.declaredUnitOfMeasurement");
    attest_pact(&env, &s, &file, &["--own", "1"])
        .code(2)
        .stderr_has("--own 1 conflicts");
    attest_pact(&env, &s, &file, &["--country", "FR"])
        .code(2)
        .stderr_has("pcf.geographyCountry");
    // Agreeing flags are fine; --part chooses the part.
    let id = attest_pact(
        &env,
        &s,
        &file,
        &["--unit", "kg", "--own", "1.8505", "--part", "urn:gtin:4012345000017"],
    )
    .ok()
    .last_line();
    assert_eq!(env.payload_of(&id)["body"]["part"], "urn:gtin:4012345000017");
    // Without --pact, --part, --unit and --own stay required.
    env.run_offline(&["attest", "--key", &s.path.display().to_string(), "--part", "urn:x:y"])
        .code(2)
        .stderr_has("--unit");
}

#[test]
fn online_import_and_export_marks_superseded() {
    use crate::node_util::TestNode;
    let env = Env::new();
    let node = TestNode::start(&env.path("node"), &env.genesis);
    let url = node.url.clone();
    let on = |args: &[&str]| env.run_on(&url, args);
    let cells = env.supplier_on(&url, "cells", "Zellfabrik Ost");
    let key = cells.path.display().to_string();
    let file = fixture("v3-minimal-piece.json").display().to_string();
    let first = on(&["attest", "--key", &key, "--pact", &file]).ok().last_line();
    let out = on(&["show", &first, "--format", "pact"]).ok().json();
    assert_eq!(out["status"], "Active");
    assert_eq!(out["companyName"], "Zellfabrik Ost");
    let second = on(&["attest", "--key", &key, "--pact", &file, "--supersedes", &first])
        .ok()
        .last_line();
    let old = on(&["show", &first, "--format", "pact"]).ok().json();
    assert_eq!(old["status"], "Deprecated");
    let new = on(&["show", "urn:greenledger:zfo:cell-21700", "--format", "pact"])
        .ok()
        .json();
    assert_eq!(new["status"], "Active");
    assert_eq!(greenledger_ext(&new)["data"]["entry"], second);
    assert_eq!(
        new["precedingPfIds"],
        json!([pact::footprint_id(&first.parse().expect("id"))])
    );
    // The node refuses nothing here; an import error online is still exit 2.
    let bad = env.path("bad.json");
    let mut v = fixture_json("v3-minimal-piece.json");
    v["pcf"]["pcfIncludingBiogenicUptake"] = json!("2");
    write(&bad, &v.to_string());
    on(&["attest", "--key", &key, "--pact", &bad.display().to_string()])
        .code(2)
        .stderr_has("pcf.pcfIncludingBiogenicUptake");
}
