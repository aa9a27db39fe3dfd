//! EPCIS against a real node: `attest --epcis FILE --node URL` matches the GS1 Digital Link
//! example's inputs to the current attestations on the node — whatever GS1 Company Prefix
//! split their parts were written with — and to a shipment lot the signer holds, stops naming
//! the candidates when two suppliers attest one input, and `show --format epcis --node`
//! exports the attestation and the shipment. The example is read from
//! `../shared/data/external` (OpenEPCIS, Apache-2.0); the test says so and passes when a clone
//! has no `../shared`.

use std::path::PathBuf;

use serde_json::json;

use crate::{node_util::TestNode, util::Env};

fn digital_link_example() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/external/epcis2-TransformationEvent_with_digitalLink.json");
    p.exists().then_some(p)
}

#[test]
fn epcis_inputs_are_matched_against_a_node() {
    let Some(example) = digital_link_example() else {
        println!("skipped: ../shared/data/external/epcis2-TransformationEvent_with_digitalLink.json is not there");
        return;
    };
    let example = example.display().to_string();
    let env = Env::new();
    let node = TestNode::start(&env.path("node"), &env.genesis);
    let url = node.url.clone();
    let sup = env.supplier_on(&url, "sup", "Parts Supplier");
    let maker = env.supplier_on(&url, "maker", "Maker");
    let other = env.supplier_on(&url, "other", "Other Supplier");
    let key = |k: &crate::util::Key| k.path.display().to_string();
    let attest = |k: &crate::util::Key, args: &[&str]| -> String {
        let mut all = vec!["attest", "--key"];
        let path = key(k);
        all.push(&path);
        all.extend(args);
        env.run_on(&url, &all).ok().last_line()
    };
    // The inputs' parts, on the node; the product 4012345.066666 written with a six-digit
    // company prefix (the same GTIN, 04012345666663).
    let item = attest(
        &sup,
        &[
            "--part",
            "urn:epc:id:sgtin:4012345.011122.25",
            "--unit",
            "piece",
            "--own",
            "1",
        ],
    );
    let product = attest(
        &sup,
        &[
            "--part",
            "urn:epc:idpat:sgtin:4000001.065432.*",
            "--unit",
            "piece",
            "--own",
            "2",
        ],
    );
    let lot987 = attest(
        &sup,
        &[
            "--part",
            "urn:epc:class:lgtin:0614141.077777.987",
            "--unit",
            "piece",
            "--own",
            "0.1",
        ],
    );
    let split = attest(
        &sup,
        &[
            "--part",
            "urn:epc:idpat:sgtin:401234.0566666.*",
            "--unit",
            "piece",
            "--own",
            "0.01",
        ],
    );
    // Lot 4444 is a batch of 1000 kg, 100 kg of which is shipped to the maker.
    let batch = attest(
        &sup,
        &[
            "--part",
            "urn:epc:class:lgtin:4012345.011111.4444",
            "--unit",
            "kg",
            "--own",
            "0.5",
            "--quantity",
            "1000",
        ],
    );
    let ship = env
        .run_on(
            &url,
            &[
                "ship",
                "--key",
                &key(&sup),
                "--from",
                &format!("{batch}:0=100"),
                "--to",
                &format!("{}=100", maker.public),
            ],
        )
        .ok()
        .last_line();

    let id = env
        .run_on(
            &url,
            &["attest", "--key", &key(&maker), "--epcis", &example, "--own", "3"],
        )
        .ok()
        .last_line();
    let (st, e) = node.get(&format!("/v1/entries/{id}"));
    assert_eq!(st, 200, "{e}");
    let body = &e["entry"]["payload"]["body"];
    assert_eq!(body["part"], "urn:epc:idpat:sgtin:4012345.077889.*");
    assert_eq!(body["producedQuantity"], "4000000");
    assert_eq!(
        body["inputs"],
        json!([
            {"entry": item, "quantity": "250000"},
            {"entry": product, "quantity": "250000"},
            {"entry": batch, "quantity": "2500000", "lot": format!("{ship}:0")},
            {"entry": lot987, "quantity": "7500000"},
            {"entry": split, "quantity": "55000000"},
        ])
    );
    // own 3 + 0.25 + 0.5 + 2.5 × 0.5 + 7.5 × 0.1 + 55 × 0.01
    assert_eq!(body["total"]["pcfExcludingBiogenicUptake"], "6300000");
    // The maker drew 10 kg of its 100 kg shipment.
    let (_, l) = node.get(&format!("/v1/lots/{ship}:0"));
    assert_eq!(l["left"], 90_000_000, "{l}");
    env.run_on(&url, &["verify", &id, "--genesis", &env.genesis.display().to_string()])
        .ok()
        .stdout_has("VALID");

    // Exports, from the node.
    let doc = env.run_on(&url, &["show", &id, "--format", "epcis"]).ok().json();
    let ev = &doc["epcisBody"]["eventList"][0];
    assert_eq!(ev["type"], "TransformationEvent");
    assert_eq!(
        ev["inputQuantityList"][1]["epcClass"],
        "https://id.gs1.org/01/00614141777778/10/987"
    );
    let doc = env.run_on(&url, &["show", &ship, "--format", "epcis"]).ok().json();
    let ev = &doc["epcisBody"]["eventList"][0];
    assert_eq!(
        (ev["type"].as_str(), ev["bizStep"].as_str()),
        (Some("ObjectEvent"), Some("shipping"))
    );
    assert_eq!(
        ev["quantityList"][0]["epcClass"],
        "urn:epc:class:lgtin:4012345.011111.4444"
    );

    // A second supplier attests lot 987 too: the import stops and names both.
    let second = attest(
        &other,
        &[
            "--part",
            "urn:epc:class:lgtin:0614141.077777.987",
            "--unit",
            "piece",
            "--own",
            "0.2",
        ],
    );
    env.run_on(
        &url,
        &["attest", "--key", &key(&maker), "--epcis", &example, "--own", "3"],
    )
    .code(2)
    .stderr_has("epcisBody.eventList[0].inputQuantityList[1]: https://id.gs1.org/01/00614141777778/10/987")
    .stderr_has("matches 2 current attestations on the node")
    .stderr_has(&lot987)
    .stderr_has(&second);
    let choose = format!("urn:epc:class:lgtin:0614141.077777.987={second}");
    let again = env
        .run_on(
            &url,
            &[
                "attest",
                "--key",
                &key(&maker),
                "--epcis",
                &example,
                "--own",
                "3",
                "--match",
                &choose,
            ],
        )
        .ok()
        .last_line();
    let (_, e) = node.get(&format!("/v1/entries/{again}"));
    assert_eq!(e["entry"]["payload"]["body"]["inputs"][3]["entry"], json!(second));
}
