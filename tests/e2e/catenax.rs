//! Catena-X PCF interoperability, offline: `attest --catenax FILE` imports a Catena-X 9.x
//! document (the project's fixture always; the public 9.0.0 example from
//! `../shared/data/external` when that folder exists), the bundle verifies, `show --format
//! catenax` exports it again with the same Catena-X fields, a plain attestation exports with
//! named defaults, and every import error exits 2 naming the Catena-X field.

use std::path::{Path, PathBuf};

use greenledger_interop::{catenax, pact};
use serde_json::{Value, json};

use crate::util::{Env, Key, read, write};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop/tests/data/catenax/aluminium-housing-9.0.0.json")
}

fn shared_example() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/external/catenax-pcf-9.0.0-example.json");
    p.exists().then_some(p)
}

fn attest_catenax(env: &Env, key: &Key, file: &str, extra: &[&str]) -> crate::util::Run {
    let mut args = vec![
        "attest".to_string(),
        "--key".into(),
        key.path.display().to_string(),
        "--catenax".into(),
        file.to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    env.run_offline(&args)
}

fn show(env: &Env, id: &str, format: &str) -> crate::util::Run {
    env.run(&[
        "show",
        id,
        "--format",
        format,
        "--entries",
        &env.entries.display().to_string(),
    ])
    .ok()
}

fn group<'a>(doc: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(doc, |v, p| &v[p][0])
}

/// Imports `file`, verifies its bundle, exports it as Catena-X and checks the round trip.
fn import_export(file: &Path) -> (Env, String, Value) {
    let env = Env::new();
    let supplier = env.supplier("supplier", "Example Supplier");
    let id = attest_catenax(&env, &supplier, &file.display().to_string(), &[])
        .ok()
        .last_line();
    assert_eq!(id.len(), 64);
    let bundle = env.bundle(&id, "part");
    env.verify(&bundle, &[]).ok().stdout_has("VALID");
    let out = show(&env, &id, "catenax").json();
    let original: Value = serde_json::from_str(&read(file)).expect("JSON");
    assert_eq!(catenax::comparable(&out), catenax::comparable(&original));
    let idv = group(
        &out,
        "pcfAssessmentAndMethodology.pcfAssessmentInformation.idAndVersion",
    );
    assert_eq!(idv["id"], pact::footprint_id(&id.parse().expect("id")));
    assert_eq!(idv["status"], "Active");
    (env, id, out)
}

#[test]
fn own_fixture_imports_verifies_and_exports() {
    let (env, id, out) = import_export(&fixture());
    // The signed attestation: per ONE kilogram (the file states 10 kg).
    let body = &env.payload_of(&id)["body"];
    assert_eq!(body["part"], "urn:greenledger:example:housing-ah40");
    assert_eq!(body["declaredUnitOfMeasurement"], "kilogram");
    assert_eq!(body["total"]["pcfExcludingBiogenicUptake"], "8250000");
    // Catena-X fields.
    let prod = group(&out, "companyAndProductInformation.productInformation");
    assert_eq!(prod["declaredUnitAmount"], json!(10));
    assert_eq!(prod["productIds"], json!(["urn:greenledger:example:housing-ah40"]));
    let stage = group(&out, "productLifeCycleStagesAndEmissions.productionStage");
    assert_eq!(stage["pcfExcludingBiogenicUptake"], json!(82.5));
    assert_eq!(stage["biogenicCO2Uptake"], json!(-1.5));
    let geo = group(&out, "pcfAssessmentAndMethodology.pcfAssessmentInformation.geography");
    assert_eq!(geo["geographyCountry"], "DE");
    assert_eq!(geo["geographyRegionOrSubregion"], "Western Europe");
    assert_eq!(
        group(
            &out,
            "pcfAssessmentAndMethodology.pcfMethodology.allocationInForeground"
        )["allocationWasteIncineration"],
        "polluter pays principle"
    );
    // The PACT form of the same attestation: one geography field, PACT spellings.
    let fp = show(&env, &id, "pact").json();
    assert_eq!(fp["pcf"]["geographyCountry"], "DE");
    assert_eq!(fp["pcf"]["crossSectoralStandards"], json!(["ISO14067", "GHGP-Product"]));
    assert_eq!(fp["pcf"]["outboundLogisticsGhgEmissions"], "2.4");
    pact::Footprint::from_value(fp).expect("valid PACT v3");

    // The export imports again and gives the same figures.
    let again = env.path("again.json");
    write(&again, &serde_json::to_string_pretty(&out).expect("json"));
    let other = env.supplier("other", "Example Supplier");
    let id2 = attest_catenax(&env, &other, &again.display().to_string(), &[])
        .ok()
        .last_line();
    assert_eq!(env.payload_of(&id2)["body"]["total"], body["total"]);
}

#[test]
fn shared_example_imports_verifies_and_exports() {
    let Some(file) = shared_example() else {
        println!(
            "skipped: ../shared/data/external/catenax-pcf-9.0.0-example.json is not there (a clone without ../shared)"
        );
        return;
    };
    let (env, id, out) = import_export(&file);
    let body = &env.payload_of(&id)["body"];
    assert_eq!(body["part"], "urn:mycompany.com:product-id:401765");
    assert_eq!(body["declaredUnitOfMeasurement"], "liter");
    assert_eq!(body["total"]["pcfExcludingBiogenicUptake"], "2900000");
    assert_eq!(body["total"]["pcfIncludingBiogenicUptake"], "1900000");
    let geo = group(&out, "pcfAssessmentAndMethodology.pcfAssessmentInformation.geography");
    assert_eq!(geo["geographyCountrySubdivision"], "US-NY");
    assert_eq!(geo["geographyCountry"], "DE");
    assert_eq!(
        group(&out, "scopeOfPcfForm")["specVersion"],
        "urn:io.catenax.pcf:datamodel:version:9.0.0"
    );
    assert_eq!(out["attestationOfConformance"][0]["providerName"], "TÜV-X");
    let fp = show(&env, &id, "pact").json();
    assert_eq!(fp["pcf"]["geographyCountrySubdivision"], "US-NY");
    assert_eq!(fp["pcf"]["ipccCharacterizationFactors"], json!(["AR5"]));
    assert_eq!(fp["pcf"]["verification"]["coverage"], "PCF program");
}

#[test]
fn plain_attestation_exports_with_named_defaults() {
    let env = Env::new();
    let smelter = env.supplier("smelter", "Nordic Smelter AB");
    let id = env.attest(&smelter, "urn:greenledger:smelter:ingot", "kg", "8.5", &[]);
    let run = show(&env, &id, "catenax")
        .stderr_has("are defaults")
        .stderr_has("scopeOfPcfForm.partialFullPcf");
    let out = run.json();
    assert_eq!(
        group(&out, "companyAndProductInformation.companyInformation")["companyName"],
        "Nordic Smelter AB"
    );
    assert_eq!(
        group(&out, "productLifeCycleStagesAndEmissions.productionStage")["pcfExcludingBiogenicUptake"],
        json!(8.5)
    );
    // The PACT form names its defaults in the greenledger extension.
    let fp = show(&env, &id, "pact").json();
    let data = &fp["extensions"][0]["data"];
    assert!(
        data["defaulted"]
            .as_array()
            .expect("defaulted")
            .contains(&json!("pcf.fossilCarbonContent"))
    );
    // The Catena-X export reads back.
    let file = env.path("ingot.json");
    write(&file, &serde_json::to_string_pretty(&out).expect("json"));
    let other = env.supplier("other", "Nordic Smelter AB");
    attest_catenax(&env, &other, &file.display().to_string(), &[]).ok();
}

#[test]
fn import_errors_exit_2_naming_the_field() {
    let env = Env::new();
    let key = env.supplier("s", "Example Supplier");
    let base: Value = serde_json::from_str(&read(&fixture())).expect("JSON");
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "productLifeCycleStagesAndEmissions.productionStage.pcfIncludingBiogenicUptake",
            Box::new(|v: &mut Value| {
                v["productLifeCycleStagesAndEmissions"][0]["productionStage"][0]["pcfIncludingBiogenicUptake"] =
                    json!(99)
            }),
        ),
        (
            "carbonContent.fossilCarbonContent",
            Box::new(|v: &mut Value| {
                v["carbonContent"][0]
                    .as_object_mut()
                    .expect("group")
                    .remove("fossilCarbonContent");
            }),
        ),
        (
            "pcfAssessmentAndMethodology.pcfMethodology.gwpCharacterizationFactorDetails.ipccCharacterizationFactors",
            Box::new(|v: &mut Value| {
                v["pcfAssessmentAndMethodology"][0]["pcfMethodology"][0]["gwpCharacterizationFactorDetails"][0]["ipccCharacterizationFactors"] =
                    json!("unspecified")
            }),
        ),
        (
            "companyAndProductInformation.productInformation.declaredUnitOfMeasurement",
            Box::new(|v: &mut Value| {
                v["companyAndProductInformation"][0]["productInformation"][0]["declaredUnitOfMeasurement"] =
                    json!("megabit")
            }),
        ),
    ];
    for (i, (field, f)) in cases.iter().enumerate() {
        let mut doc = base.clone();
        f(&mut doc);
        let file = env.path(&format!("bad{i}.json"));
        write(&file, &doc.to_string());
        attest_catenax(&env, &key, &file.display().to_string(), &[])
            .code(2)
            .stderr_has(field)
            .stderr_has("Catena-X PCF");
    }
    let junk = env.path("junk.json");
    write(&junk, "{ not json");
    attest_catenax(&env, &key, &junk.display().to_string(), &[])
        .code(2)
        .stderr_has("not valid JSON");
    // A PACT file given as Catena-X is named as such.
    let pact_file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop/tests/data/pact/v3-steel.json");
    attest_catenax(&env, &key, &pact_file.display().to_string(), &[])
        .code(2)
        .stderr_has("--pact");
    // --pact and --catenax are exclusive; --unit must agree with the file.
    let f = fixture().display().to_string();
    env.run_offline(&[
        "attest",
        "--key",
        &key.path.display().to_string(),
        "--catenax",
        &f,
        "--pact",
        &f,
    ])
    .code(2)
    .stderr_has("--pact");
    attest_catenax(&env, &key, &f, &["--unit", "piece"])
        .code(2)
        .stderr_has("conflicts with the Catena-X file's pcf.declaredUnitOfMeasurement");
}
