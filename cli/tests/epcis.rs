//! `attest --epcis` and `show --format epcis`, offline, through the real `greenledger` binary,
//! on the GS1 EPCIS 2.0 examples in `../shared/data/external/` (OpenEPCIS copies, Apache-2.0;
//! read in place, see that folder's README): the part, produced quantity and inputs of each
//! TransformationEvent, URN and Digital Link spellings matched to the same attestations, the
//! round trip import → export → import, batch lots and shipments, and every refusal (exit 2,
//! naming the field or the EPC and the candidates).

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::{fs, path::PathBuf};

use common::{Run, Workdir};

use serde_json::{Value, json};

/// A shared example document.
fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../shared/data/external/{name}"))
}

/// Whether the shared examples are there (a clone without `../shared` skips these tests, saying
/// so, as the Catena-X end-to-end tests do).
fn have_fixtures() -> bool {
    let there = fixture(BASIC).exists();
    if !there {
        println!("skipped: ../shared/data/external/{BASIC} is not there (a clone without ../shared)");
    }
    there
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fs::read(fixture(name)).unwrap()).unwrap()
}

const BASIC: &str = "epcis2-TransformationEvent.json";
const DIGITAL_LINK: &str = "epcis2-TransformationEvent_with_digitalLink.json";
const ALL_FIELDS: &str = "epcis2-TransformationEvent_all_possible_fields.json";

/// The parts of the examples' inputs, as suppliers attest them, with their units: the first
/// input instance has an attestation of its own; the second only one of its product (GTIN).
const INPUT_PARTS: [(&str, &str, &str); 5] = [
    ("urn:epc:id:sgtin:4012345.011122.25", "piece", "1"),
    ("urn:epc:idpat:sgtin:4000001.065432.*", "piece", "2"),
    ("urn:epc:class:lgtin:4012345.011111.4444", "kg", "0.5"),
    ("urn:epc:class:lgtin:0614141.077777.987", "piece", "0.1"),
    ("urn:epc:idpat:sgtin:4012345.066666.*", "piece", "0.01"),
];

struct Net {
    w: Workdir,
    /// The input attestations' ids, in the order of [`INPUT_PARTS`].
    inputs: Vec<String>,
}

impl std::ops::Deref for Net {
    type Target = Workdir;

    fn deref(&self) -> &Workdir {
        &self.w
    }
}

impl Net {
    /// An admin; suppliers `sup` (who attests the inputs), `other` and `maker` (who imports).
    fn new() -> Net {
        let mut net = Net {
            w: Workdir::new(),
            inputs: Vec::new(),
        };
        fs::create_dir(net.path("entries")).unwrap();
        for k in ["admin", "sup", "other", "maker"] {
            net.ok(&["key", "generate", "--out", &format!("{k}.key")]);
        }
        let admin = net.pk("admin");
        net.ok(&[
            "genesis",
            "--network",
            "epcis-net",
            "--admin",
            &admin,
            "--out",
            "genesis.json",
        ]);
        for (k, name) in [
            ("sup", "Parts Supplier"),
            ("other", "Other Supplier"),
            ("maker", "Maker"),
        ] {
            let member = net.pk(k);
            net.sign(&[
                "admit",
                "--key",
                "admin.key",
                "--member",
                &member,
                "--name",
                name,
                "--role",
                "supplier",
            ]);
        }
        for (part, unit, own) in INPUT_PARTS {
            let id = net.sign(&[
                "attest", "--key", "sup.key", "--part", part, "--unit", unit, "--own", own,
            ]);
            net.inputs.push(id);
        }
        net
    }

    /// `attest --epcis FILE` by the maker, offline, with extra flags.
    fn import(&self, file: &str, extra: &[&str]) -> Run {
        let mut all = vec![
            "attest",
            "--key",
            "maker.key",
            "--epcis",
            file,
            "--own",
            "3",
            "--genesis",
            "genesis.json",
            "--entries",
            "entries",
        ];
        all.extend(extra);
        self.run(&all)
    }

    fn pk(&self, k: &str) -> String {
        self.ok(&["key", "show", "--key", &format!("{k}.key")]).last()
    }

    /// An entry's payload body.
    fn body(&self, id: &str) -> Value {
        let r = self.ok(&["show", id, "--entries", "entries", "--json"]);
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        v["payload"]["body"].clone()
    }

    fn write(&self, name: &str, v: &Value) -> String {
        fs::write(self.path(name), serde_json::to_vec_pretty(v).unwrap()).unwrap();
        name.to_string()
    }
}

/// The body's inputs as (entry, quantity, lot).
fn inputs(body: &Value) -> Vec<(String, String, Option<String>)> {
    body["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["entry"].as_str().unwrap().to_string(),
                i["quantity"].as_str().unwrap().to_string(),
                i["lot"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn the_transformation_event_example_becomes_an_attestation() {
    if !have_fixtures() {
        return;
    }
    let net = Net::new();
    let r = net.import(fixture(BASIC).to_str().unwrap(), &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("not kept") && r.stderr.contains("example:myField"),
        "{}",
        r.stderr
    );
    let b = net.body(&r.last());
    // Four serialised items of one GTIN: the GTIN's class, four pieces.
    assert_eq!(b["part"], "urn:epc:idpat:sgtin:4012345.077889.*");
    assert_eq!(b["declaredUnitOfMeasurement"], "piece");
    assert_eq!(b["producedQuantity"], "4000000");
    // Per piece: a quarter of each input item, 10 kg / 4, 30 / 4 and 220 / 4 pieces.
    let want: Vec<(String, String, Option<String>)> = net
        .inputs
        .iter()
        .zip(["250000", "250000", "2500000", "7500000", "55000000"])
        .map(|(id, q)| (id.clone(), q.to_string(), None))
        .collect();
    assert_eq!(inputs(&b), want);
    // own 3 + 0.25 × 1 + 0.25 × 2 + 2.5 × 0.5 + 7.5 × 0.1 + 55 × 0.01 = 6.3 kg
    assert_eq!(b["total"]["pcfExcludingBiogenicUptake"], "6300000");
    let x = &b["extensions"]["epcis"];
    assert_eq!(
        x["eventID"],
        "ni:///sha-256;e65c3a997e77f34b58306da7a82ab0fc91c7820013287700f0b50345e5795b97?ver=CBV2.0"
    );
    assert_eq!(x["eventTime"], "2013-10-31T14:58:56.591Z");
    assert_eq!(x["eventTimeZoneOffset"], "+02:00");
    assert_eq!(x["readPoint"], "urn:epc:id:sgln:4012345.00001.0");
    assert_eq!(x["bizStep"], "commissioning");
    assert_eq!(x["ilmd"]["example:batch"], "XYZ");
    assert_eq!(x["outputs"].as_array().unwrap().len(), 4);
    assert_eq!(x["inputs"][2]["uom"], "KGM");
    assert_eq!(x["inputs"][2]["entry"], json!(net.inputs[2]));
}

#[test]
fn digital_links_match_the_same_attestations_as_urns() {
    if !have_fixtures() {
        return;
    }
    let net = Net::new();
    let urn = net.import(fixture(BASIC).to_str().unwrap(), &["--out", "urn.json"]);
    assert_eq!(urn.code, 0, "{}", urn.stderr);
    let dl = net.import(fixture(DIGITAL_LINK).to_str().unwrap(), &["--out", "dl.json"]);
    assert_eq!(dl.code, 0, "{}", dl.stderr);
    let a = net.body("urn.json");
    let b = net.body("dl.json");
    assert_eq!(inputs(&a), inputs(&b));
    assert_eq!(a["part"], b["part"]);
    assert_eq!(a["total"], b["total"]);
    assert_eq!(
        b["extensions"]["epcis"]["inputs"][3]["epcClass"], "https://id.gs1.org/01/00614141777778/10/987",
        "the event's spelling is kept"
    );
}

#[test]
fn the_all_fields_example_is_refused_naming_its_outputs_unless_part_chooses() {
    if !have_fixtures() {
        return;
    }
    let net = Net::new();
    let r = net.import(fixture(ALL_FIELDS).to_str().unwrap(), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("epcisBody.eventList[0].outputQuantityList: the event has 4 output classes"),
        "{}",
        r.stderr
    );
    for c in [
        "urn:epc:idpat:sgtin:4012345.077889.* — 4 instance(s)",
        "urn:epc:class:lgtin:4012345.011111.4444 — 10 KGM",
        "urn:epc:class:lgtin:0614141.077777.987 — 30 (count)",
    ] {
        assert!(r.stderr.contains(c), "{c} in {}", r.stderr);
    }
    let r = net.import(
        fixture(ALL_FIELDS).to_str().unwrap(),
        &["--part", "urn:epc:class:lgtin:0614141.077777.987"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("does not allocate between co-products"),
        "{}",
        r.stderr
    );
    let b = net.body(&r.last());
    assert_eq!(b["part"], "urn:epc:class:lgtin:0614141.077777.987");
    assert_eq!(b["producedQuantity"], "30000000");
    // 10 kg of lot 4444 into 30 pieces: 0.333334 kg per piece (rounded up).
    assert_eq!(inputs(&b)[2], (net.inputs[2].clone(), "333334".into(), None));
    let x = &b["extensions"]["epcis"];
    assert_eq!(x["bizLocation"], "urn:epc:id:sgln:0614141.00888.0");
    assert_eq!(x["transformationID"], "urn:epc:id:gdti:0614141.12345.400");
    assert_eq!(x["bizTransactionList"][1]["type"], "pedigree");
    assert_eq!(x["ilmd"]["cbvmda:lotNumber"], "ABC123");
    assert!(
        r.stderr.contains("sensorElementList"),
        "named as not kept: {}",
        r.stderr
    );
}

#[test]
fn part_may_name_one_instance_which_takes_its_share() {
    if !have_fixtures() {
        return;
    }
    let net = Net::new();
    let r = net.import(
        fixture(BASIC).to_str().unwrap(),
        &["--part", "urn:epc:id:sgtin:4012345.077889.26"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("1/4 of the event's inputs"), "{}", r.stderr);
    let b = net.body(&r.last());
    assert_eq!(b["part"], "urn:epc:id:sgtin:4012345.077889.26");
    assert_eq!(b["producedQuantity"], "1000000");
    assert_eq!(inputs(&b)[2].1, "2500000");
    let r = net.import(
        fixture(BASIC).to_str().unwrap(),
        &["--part", "urn:epc:id:sgtin:4012345.077889.29"],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("--part urn:epc:id:sgtin:4012345.077889.29 is none of the event's outputs"),
        "{}",
        r.stderr
    );
}

#[test]
fn import_export_import_keeps_every_mapped_field() {
    if !have_fixtures() {
        return;
    }
    let net = Net::new();
    for src in [BASIC, DIGITAL_LINK] {
        let first = net.import(fixture(src).to_str().unwrap(), &[]);
        assert_eq!(first.code, 0, "{}", first.stderr);
        let id = first.last();
        let exported = net.ok(&["show", &id, "--entries", "entries", "--format", "epcis"]);
        let doc: Value = serde_json::from_str(&exported.stdout).unwrap();
        assert_eq!(doc["type"], "EPCISDocument");
        assert_eq!(doc["schemaVersion"], "2.0");
        assert_eq!(
            doc["@context"][0],
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
        );
        let ev = &doc["epcisBody"]["eventList"][0];
        assert_eq!(ev["type"], "TransformationEvent");
        assert_eq!(ev["greenledger:entry"], json!(id));
        // Every field the import maps is the example's own.
        let orig = &fixture_json(src)["epcisBody"]["eventList"][0];
        for k in [
            "eventID",
            "eventTime",
            "eventTimeZoneOffset",
            "inputEPCList",
            "inputQuantityList",
            "outputEPCList",
            "bizStep",
            "disposition",
            "readPoint",
            "ilmd",
        ] {
            assert_eq!(ev[k], orig[k], "{src}: {k}");
        }
        net.write("exported.json", &doc);
        let second = net.import("exported.json", &[]);
        assert_eq!(second.code, 0, "{}", second.stderr);
        let (a, b) = (net.body(&id), net.body(&second.last()));
        for k in [
            "part",
            "declaredUnitOfMeasurement",
            "producedQuantity",
            "inputs",
            "total",
            "extensions",
        ] {
            assert_eq!(a[k], b[k], "{src}: {k}");
        }
    }
}

#[test]
fn a_plain_attestation_exports_from_its_signed_figures_and_imports_again() {
    if !have_fixtures() {
        return;
    }
    let net = Net::new();
    let id = net.sign(&[
        "attest",
        "--key",
        "sup.key",
        "--part",
        "urn:epc:class:lgtin:4012345.099999.P1",
        "--unit",
        "piece",
        "--own",
        "1",
        "--quantity",
        "4",
        "--input",
        &format!("{}=2.5", net.inputs[2]),
        "--input",
        &format!("{}=0.25", net.inputs[0]),
    ]);
    let out = net.ok(&["show", &id, "--entries", "entries", "--format", "epcis"]);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let ev = &doc["epcisBody"]["eventList"][0];
    assert_eq!(
        ev["inputQuantityList"],
        json!([{"epcClass": "urn:epc:class:lgtin:4012345.011111.4444", "quantity": 10, "uom": "KGM"}])
    );
    assert_eq!(ev["inputEPCList"], json!(["urn:epc:id:sgtin:4012345.011122.25"]));
    assert_eq!(
        ev["outputQuantityList"],
        json!([{"epcClass": "urn:epc:class:lgtin:4012345.099999.P1", "quantity": 4}])
    );
    assert!(ev.get("eventID").is_none());
    // The inputs are needed to write them.
    let r = net.run(&["show", &format!("entries/{id}.json"), "--format", "epcis"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("is not at hand"), "{}", r.stderr);
    // The export signs again as the same part, batch and inputs.
    net.write("plain.json", &doc);
    let again = net.import("plain.json", &["--out", "again.json"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let (a, b) = (net.body(&id), net.body("again.json"));
    for k in ["part", "declaredUnitOfMeasurement", "producedQuantity"] {
        assert_eq!(a[k], b[k], "{k}");
    }
    let mut want = inputs(&a);
    want.sort();
    let mut got = inputs(&b);
    got.sort();
    assert_eq!(got, want);
}

#[test]
fn a_missing_or_ambiguous_match_stops_naming_the_epc_and_the_candidates() {
    if !have_fixtures() {
        return;
    }
    let net = Net::new();
    // A second current attestation of the lot 4444, by another supplier.
    let second = net.sign(&[
        "attest",
        "--key",
        "other.key",
        "--part",
        "urn:epc:class:lgtin:4012345.011111.4444",
        "--unit",
        "kg",
        "--own",
        "0.7",
    ]);
    let r = net.import(fixture(BASIC).to_str().unwrap(), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("epcisBody.eventList[0].inputQuantityList[0]: urn:epc:class:lgtin:4012345.011111.4444"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("matches 2 current attestations in --entries DIR"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&net.inputs[2]) && r.stderr.contains(&second),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("--match urn:epc:class:lgtin:4012345.011111.4444=ID_OR_LOT"),
        "{}",
        r.stderr
    );
    // --match decides, by any spelling of the EPC.
    let m = format!("https://id.gs1.org/01/04012345111118/10/4444={second}");
    let r = net.import(fixture(BASIC).to_str().unwrap(), &["--match", &m]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(inputs(&net.body(&r.last()))[2].0, second);
    // A --match for an EPC the event does not consume.
    let r = net.import(
        fixture(BASIC).to_str().unwrap(),
        &["--match", &format!("urn:epc:class:lgtin:4012345.011111.9999={second}")],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("the event has no input"), "{}", r.stderr);

    // Without an attestation of GTIN 04012345666663, its Digital Link matches nothing.
    let net = Net::new();
    fs::remove_file(net.path(&format!("entries/{}.json", net.inputs[4]))).unwrap();
    let r = net.import(fixture(DIGITAL_LINK).to_str().unwrap(), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "epcisBody.eventList[0].inputQuantityList[2]: https://id.gs1.org/01/04012345666663 (GTIN 04012345666663) matches no current attestation in --entries DIR"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn a_superseded_attestation_is_no_candidate() {
    if !have_fixtures() {
        return;
    }
    let net = Net::new();
    let fix = net.sign(&[
        "attest",
        "--key",
        "sup.key",
        "--part",
        "urn:epc:class:lgtin:4012345.011111.4444",
        "--unit",
        "kg",
        "--own",
        "0.6",
        "--supersedes",
        &net.inputs[2],
    ]);
    let r = net.import(fixture(BASIC).to_str().unwrap(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(inputs(&net.body(&r.last()))[2].0, fix);
}

#[test]
fn a_batch_lot_the_signer_holds_is_drawn_on() {
    if !have_fixtures() {
        return;
    }
    let net = Net::new();
    // The supplier makes 1000 kg of lot 4444 and ships 100 kg to the maker.
    let batch = net.sign(&[
        "attest",
        "--key",
        "sup.key",
        "--part",
        "urn:epc:class:lgtin:4012345.011111.4444",
        "--unit",
        "kg",
        "--own",
        "0.4",
        "--quantity",
        "1000",
        "--supersedes",
        &net.inputs[2],
    ]);
    let maker = net.pk("maker");
    let ship = net.sign(&[
        "ship",
        "--key",
        "sup.key",
        "--from",
        &format!("{batch}:0=100"),
        "--to",
        &format!("{maker}=100"),
    ]);
    let r = net.import(fixture(BASIC).to_str().unwrap(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let b = net.body(&r.last());
    assert_eq!(
        inputs(&b)[2],
        (batch.clone(), "2500000".into(), Some(format!("{ship}:0")))
    );
    assert_eq!(b["extensions"]["epcis"]["inputs"][2]["lot"], json!(format!("{ship}:0")));
    // 4 pieces × 2.5 kg drew 10 kg of the 100.
    let lots = net.ok(&[
        "lots",
        "--key",
        "maker.key",
        "--genesis",
        "genesis.json",
        "--entries",
        "entries",
        "--json",
    ]);
    let held: Value = serde_json::from_str(&lots.stdout).unwrap();
    let lot = held["lots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["lot"] == json!(format!("{ship}:0")))
        .unwrap();
    assert_eq!(lot["left"], 90_000_000);

    // --match may name a lot; a lot of someone else's is refused by the custody rules (exit 1).
    let r = net.import(
        fixture(BASIC).to_str().unwrap(),
        &["--match", &format!("urn:epc:class:lgtin:4012345.011111.4444={batch}:0")],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("the EPCIS input epcisBody.eventList[0].inputQuantityList[0]")
            && r.stderr.contains("only a lot's holder can take an input from it"),
        "{}",
        r.stderr
    );
    let r = net.import(
        fixture(BASIC).to_str().unwrap(),
        &["--match", "urn:epc:class:lgtin:4012345.011111.4444=nothex:0"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--match \"urn:epc:class:lgtin:4012345.011111.4444=nothex:0\""),
        "{}",
        r.stderr
    );

    // The shipment exports as an ObjectEvent with bizStep shipping.
    let out = net.ok(&["show", &ship, "--entries", "entries", "--format", "epcis"]);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let ev = &doc["epcisBody"]["eventList"][0];
    assert_eq!(ev["type"], "ObjectEvent");
    assert_eq!(ev["action"], "OBSERVE");
    assert_eq!(ev["bizStep"], "shipping");
    assert_eq!(
        ev["quantityList"],
        json!([{"epcClass": "urn:epc:class:lgtin:4012345.011111.4444", "quantity": 100, "uom": "KGM"}])
    );
    assert_eq!(
        ev["destinationList"][0]["destination"],
        json!(format!("urn:greenledger:key:{maker}"))
    );
    assert_eq!(ev["greenledger:lot"], json!(format!("{ship}:0")));
    // Without the entries, the shipped batch is unknown.
    let r = net.run(&["show", &format!("entries/{ship}.json"), "--format", "epcis"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("is not at hand"), "{}", r.stderr);
    // Other kinds have no EPCIS form.
    let r = net.run(&["show", &format!("entries/{}.json", net.inputs[0]), "--format", "epcis"]);
    assert_eq!(
        r.code, 0,
        "an attestation without inputs needs no look-up: {}",
        r.stderr
    );
}

#[test]
fn several_events_need_event_naming_the_candidates() {
    if !have_fixtures() {
        return;
    }
    let net = Net::new();
    let mut doc = fixture_json(BASIC);
    let mut second = doc["epcisBody"]["eventList"][0].clone();
    second["eventID"] = json!("urn:uuid:0d1b5c4e-6f55-4b0b-9d2a-3a9d0b3e1f10");
    second["outputEPCList"] = json!(["urn:epc:id:sgtin:4012345.077890.1"]);
    let list = doc["epcisBody"]["eventList"].as_array_mut().unwrap();
    list.insert(0, json!({"type": "ObjectEvent", "eventTime": "2013-10-31T14:58:56.591Z", "eventTimeZoneOffset": "+02:00", "action": "OBSERVE"}));
    list.push(second);
    let f = net.write("two.json", &doc);
    let r = net.import(&f, &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("holds 2 TransformationEvents; choose one with --event ID"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("eventList[2] eventID urn:uuid:0d1b5c4e"),
        "{}",
        r.stderr
    );
    let r = net.import(&f, &["--event", "urn:uuid:0d1b5c4e-6f55-4b0b-9d2a-3a9d0b3e1f10"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(net.body(&r.last())["part"], "urn:epc:id:sgtin:4012345.077890.1");
    let r = net.import(&f, &["--event", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(net.body(&r.last())["part"], "urn:epc:idpat:sgtin:4012345.077889.*");
    let r = net.import(&f, &["--event", "0"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("epcisBody.eventList[0].type: --event 0 is an ObjectEvent"),
        "{}",
        r.stderr
    );
    let r = net.import(&f, &["--event", "nope"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no TransformationEvent has eventID \"nope\""),
        "{}",
        r.stderr
    );
}

#[test]
fn a_digital_link_output_needs_part_with_its_urn() {
    if !have_fixtures() {
        return;
    }
    let net = Net::new();
    let mut doc = fixture_json(DIGITAL_LINK);
    let ev = &mut doc["epcisBody"]["eventList"][0];
    ev.as_object_mut().unwrap().remove("outputEPCList");
    ev["outputQuantityList"] =
        json!([{"epcClass": "https://id.gs1.org/01/04012345111118/10/L7", "quantity": 2, "uom": "TNE"}]);
    let f = net.write("dl-out.json", &doc);
    let r = net.import(&f, &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("does not say where the GS1 Company Prefix ends"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("urn:epc:class:lgtin:4012345.011111.L7"),
        "{}",
        r.stderr
    );
    let r = net.import(&f, &["--part", "urn:epc:class:lgtin:4012345.011111.L7"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let b = net.body(&r.last());
    // 2 t declared in kilograms; 10 kg of lot 4444 per 2000 kg.
    assert_eq!(b["declaredUnitOfMeasurement"], "kilogram");
    assert_eq!(b["producedQuantity"], "2000000000");
    assert_eq!(inputs(&b)[2].1, "5000");
    // --quantity must agree with the event.
    let r = net.import(
        &f,
        &["--part", "urn:epc:class:lgtin:4012345.011111.L7", "--quantity", "3"],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("--quantity 3 conflicts with the EPCIS event, which produced 2000 kilogram"),
        "{}",
        r.stderr
    );
    // --unit that cannot hold the output.
    let r = net.import(
        &f,
        &["--part", "urn:epc:class:lgtin:4012345.011111.L7", "--unit", "liter"],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cannot be attested in liter"), "{}", r.stderr);
}

/// Each malformed document is refused, exit 2, naming the field.
#[test]
fn malformed_documents_are_refused_naming_the_field() {
    if !have_fixtures() {
        return;
    }
    let net = Net::new();
    type Edit = fn(&mut Value);
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "unknown unit",
            |d| d["epcisBody"]["eventList"][0]["inputQuantityList"][0]["uom"] = json!("XYZ"),
            "epcisBody.eventList[0].inputQuantityList[0].uom: unknown unit \"XYZ\"",
        ),
        (
            "a unit of no declared unit's kind",
            |d| d["epcisBody"]["eventList"][0]["inputQuantityList"][0]["uom"] = json!("MTR"),
            "epcisBody.eventList[0].inputQuantityList[0]: unit \"MTR\" is a length and cannot be converted to kilogram",
        ),
        (
            "a count against a kilogram attestation",
            |d| {
                d["epcisBody"]["eventList"][0]["inputQuantityList"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("uom");
            },
            "epcisBody.eventList[0].inputQuantityList[0]: a count (no uom) is a count and cannot be converted to kilogram",
        ),
        (
            "another context",
            |d| d["@context"] = json!(["https://example.com/other-context.jsonld"]),
            "@context: does not name the EPCIS 2.0 context",
        ),
        (
            "another type",
            |d| d["type"] = json!("EPCISQueryDocument"),
            "type: \"EPCISQueryDocument\" is not read",
        ),
        (
            "EPCIS 1.2",
            |d| d["schemaVersion"] = json!("1.2"),
            "schemaVersion: \"1.2\" is not read",
        ),
        (
            "a quantity as a string",
            |d| d["epcisBody"]["eventList"][0]["inputQuantityList"][1]["quantity"] = json!("30"),
            "epcisBody.eventList[0].inputQuantityList[1].quantity: invalid type: string \"30\"",
        ),
        (
            "a zero quantity",
            |d| d["epcisBody"]["eventList"][0]["inputQuantityList"][1]["quantity"] = json!(0),
            "epcisBody.eventList[0].inputQuantityList[1].quantity: 0 must be greater than 0",
        ),
        (
            "too many decimal places",
            |d| d["epcisBody"]["eventList"][0]["inputQuantityList"][0]["quantity"] = json!(0.0000001),
            "epcisBody.eventList[0].inputQuantityList[0].quantity: invalid amount \"0.0000001\"",
        ),
        (
            "a missing quantity",
            |d| {
                d["epcisBody"]["eventList"][0]["inputQuantityList"][1]
                    .as_object_mut()
                    .unwrap()
                    .remove("quantity");
            },
            "epcisBody.eventList[0].inputQuantityList[1].quantity: missing",
        ),
        (
            "a misspelt field",
            |d| d["epcisBody"]["eventList"][0]["inputQuantitylist"] = json!([]),
            "epcisBody.eventList[0].inputQuantitylist: unknown field of a TransformationEvent",
        ),
        (
            "not an EPC",
            |d| d["epcisBody"]["eventList"][0]["inputEPCList"][1] = json!("4000001065432"),
            "epcisBody.eventList[0].inputEPCList[1]: \"4000001065432\" is not an EPC",
        ),
        (
            "a wrong check digit",
            |d| {
                d["epcisBody"]["eventList"][0]["inputQuantityList"][2]["epcClass"] =
                    json!("https://id.gs1.org/01/04012345666664")
            },
            "epcisBody.eventList[0].inputQuantityList[2].epcClass: \"https://id.gs1.org/01/04012345666664\": GTIN 04012345666664 has a wrong check digit",
        ),
        (
            "a class in an EPC list",
            |d| d["epcisBody"]["eventList"][0]["outputEPCList"][0] = json!("urn:epc:class:lgtin:4012345.077889.L1"),
            "epcisBody.eventList[0].outputEPCList[0]: \"urn:epc:class:lgtin:4012345.077889.L1\" is a class, not an instance",
        ),
        (
            "no eventTime",
            |d| {
                d["epcisBody"]["eventList"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("eventTime");
            },
            "epcisBody.eventList[0]: missing field `eventTime`",
        ),
        (
            "a bad eventTime",
            |d| d["epcisBody"]["eventList"][0]["eventTime"] = json!("31/10/2013"),
            "epcisBody.eventList[0].eventTime: \"31/10/2013\" is not an RFC 3339 date and time",
        ),
        (
            "no outputs",
            |d| {
                d["epcisBody"]["eventList"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("outputEPCList");
            },
            "epcisBody.eventList[0].outputEPCList: the event has no outputs",
        ),
        (
            "an unknown event type",
            |d| d["epcisBody"]["eventList"][0]["type"] = json!("MagicEvent"),
            "epcisBody.eventList[0].type: \"MagicEvent\" is not an EPCIS 2.0 event type",
        ),
        (
            "no TransformationEvent",
            |d| d["epcisBody"]["eventList"][0]["type"] = json!("ObjectEvent"),
            "epcisBody.eventList: the document holds no TransformationEvent (it holds ObjectEvent [0])",
        ),
    ];
    for (what, edit, want) in cases {
        let mut doc = fixture_json(BASIC);
        edit(&mut doc);
        let f = net.write("bad.json", &doc);
        let r = net.import(&f, &[]);
        assert_eq!(r.code, 2, "{what}: {}", r.stderr);
        assert!(
            r.stderr.contains(&format!("bad.json: EPCIS: {want}")),
            "{what}: want {want:?} in {}",
            r.stderr
        );
    }
    fs::write(net.path("bad.json"), b"{\"type\": ").unwrap();
    let r = net.import("bad.json", &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("(document): not JSON"), "{}", r.stderr);
    // --event and --match go with --epcis.
    let r = net.run(&[
        "attest",
        "--key",
        "maker.key",
        "--part",
        "urn:x:y",
        "--unit",
        "kg",
        "--own",
        "1",
        "--event",
        "1",
    ]);
    assert_eq!(r.code, 2);
}
