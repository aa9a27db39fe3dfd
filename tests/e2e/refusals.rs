//! The ways an entry or a bundle is refused, through the CLI: each test checks the exit code
//! (1: verification failed or entry refused; 2: input error) and that the message names what
//! is wrong — the step, the entry and its signer.
//!
//! Entries the CLI would refuse to sign are made with `greenledger-core` directly (see
//! `util::Env::sign_payload` and `util::Env::sign_raw`), written into the entries folder, and
//! bundled by the CLI like any other.

use greenledger_core::{Attestation, Body, Emissions, Input, Mass, Quantity, SignedEntry, Unit, model::MemberAdmit};
use serde_json::{Value, json};

use crate::util::{Env, Key, insert_entry_line, read, remove_entry_line, short, write};

/// bauxite (0.05) → ingot (8.5 + 4.2 × 0.05 = 8.71), by two suppliers.
struct Chain {
    env: Env,
    mine: Key,
    smelter: Key,
    bauxite: String,
    ingot: String,
}

impl Chain {
    fn new() -> Chain {
        let env = Env::new();
        let mine = env.supplier("mine", "Bauxite Mining Co");
        let smelter = env.supplier("smelter", "Nordic Smelter AB");
        let bauxite = env.attest(&mine, "urn:greenledger:t:bauxite", "kg", "0.05", &[]);
        let ingot = env.attest(&smelter, "urn:greenledger:t:ingot", "kg", "8.5", &[(&bauxite, "4.2")]);
        Chain {
            env,
            mine,
            smelter,
            bauxite,
            ingot,
        }
    }
}

/// `"name" (abcd1234)`, as the verifier names an admitted signer.
fn who(org: &str, key: &Key) -> String {
    format!("{org:?} ({})", key.short())
}

/// The signed entry on one bundle line (which ends in `,` or `],`).
fn entry_on_line(line: &str) -> SignedEntry {
    let json = line.trim_end_matches(',').trim_end_matches(']');
    SignedEntry::from_json(json.as_bytes()).expect("an entry line")
}

#[test]
fn one_changed_digit_upstream_fails_the_signature_of_that_entry() {
    let c = Chain::new();
    let bundle = c.env.bundle(&c.ingot, "ingot");
    let text = read(&bundle);
    c.env.verify(&bundle, &[]).ok();

    // 0.05 kg → 0.06 kg in the bauxite entry's own emissions, nothing else touched.
    let own = "\"own\":{\"pcfExcludingBiogenicUptake\":\"50000\"}";
    let lines: Vec<&str> = text.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.contains("urn:greenledger:t:bauxite"))
        .expect("bauxite line");
    assert!(lines[i].contains(own), "{}", lines[i]);
    let tampered_line = lines[i].replace(own, &own.replace("50000", "60000"));
    let tampered_id = entry_on_line(&tampered_line).id().to_hex();
    let tampered = text.replace(lines[i], &tampered_line);
    assert_eq!(tampered.len(), text.len(), "one digit changed");
    write(&c.env.path("tampered.bundle"), &tampered);

    let run = c
        .env
        .verify(&c.env.path("tampered.bundle"), &[])
        .code(1)
        .stdout_has("2. signatures ...... FAILED (1)")
        .reason(
            "2. signatures",
            &[
                &format!("entry {}", short(&tampered_id)),
                "signature does not verify: the entry was altered after signing",
            ],
        )
        // Its consumer no longer finds the entry it signed for.
        .reason(
            "6. inputs",
            &[
                &format!("entry {} by {}", short(&c.ingot), who("Nordic Smelter AB", &c.smelter)),
                &format!("input {} is missing from the bundle", short(&c.bauxite)),
            ],
        )
        .reason_count(2)
        .stdout_has("INVALID: 2 problems");
    assert!(!run.stdout.lines().any(|l| l.starts_with("VALID")), "{}", run.stdout);

    let v = c.env.verify(&c.env.path("tampered.bundle"), &["--json"]).code(1).json();
    assert_eq!(v["valid"], false);
    let r = &v["reasons"][0];
    assert_eq!(r["check"], "signatures", "{v:#}");
    assert_eq!(r["entry"], tampered_id.as_str(), "{v:#}");
    assert_eq!(r["signer"], c.mine.public.as_str(), "{v:#}");
    assert_eq!(r["signer_name"], "Bauxite Mining Co", "{v:#}");
}

#[test]
fn a_removed_upstream_entry_is_a_missing_input() {
    let c = Chain::new();
    let bundle = c.env.bundle(&c.ingot, "ingot");
    let text = read(&bundle);

    let cut = remove_entry_line(&text, "urn:greenledger:t:bauxite");
    write(&c.env.path("cut.bundle"), &cut);
    c.env
        .verify(&c.env.path("cut.bundle"), &[])
        .code(1)
        .reason(
            "6. inputs",
            &[
                &format!("entry {} by {}", short(&c.ingot), who("Nordic Smelter AB", &c.smelter)),
                &format!("input {} is missing from the bundle", short(&c.bauxite)),
            ],
        )
        .reason_count(1);

    // Without the smelter's admission, the target's signer is no longer a member.
    let cut = remove_entry_line(&text, &format!("\"member\":\"{}\"", c.smelter.public));
    write(&c.env.path("no-admit.bundle"), &cut);
    c.env
        .verify(&c.env.path("no-admit.bundle"), &[])
        .code(1)
        .reason(
            "3. membership",
            &[
                &format!("entry {}", short(&c.ingot)),
                &format!(
                    "attestation not authorised: signer {} was never admitted to this network",
                    c.smelter.short()
                ),
            ],
        )
        .reason_count(1);

    // Whichever entry is taken out, the bundle is invalid (exit 1), never unreadable.
    let entry_lines: Vec<&str> = text.lines().filter(|l| l.starts_with("{\"payload\"")).collect();
    assert_eq!(entry_lines.len(), 4, "2 admissions, 2 attestations:\n{text}");
    for (i, line) in entry_lines.iter().enumerate() {
        let name = format!("without-{i}.bundle");
        let sig = &line[line.rfind("\"signature\"").expect("signature")..];
        write(&c.env.path(&name), &remove_entry_line(&text, sig));
        let run = c.env.verify(&c.env.path(&name), &[]).code(1);
        assert_eq!(run.reasons().len(), 1, "{}", run.stdout);
    }

    // The target itself missing.
    let cut = remove_entry_line(&text, "urn:greenledger:t:ingot");
    write(&c.env.path("no-target.bundle"), &cut);
    c.env.verify(&c.env.path("no-target.bundle"), &[]).code(1).reason(
        "6. inputs",
        &[
            &format!("entry {}", short(&c.ingot)),
            "the target entry is not in the bundle",
        ],
    );
}

/// The smelter's prepared payload: own 8.5 kg, 4.2 kg of bauxite at 0.05, total `total_mg`.
fn ingot_payload(bauxite: &str, total_mg: i64) -> Value {
    json!({
        "kind": "attestation",
        "body": {
            "part": "urn:greenledger:t:ingot-2",
            "declaredUnitOfMeasurement": "kilogram",
            "own": {"pcfExcludingBiogenicUptake": "8500000"},
            "inputs": [{"entry": bauxite, "quantity": "4200000"}],
            "total": {"pcfExcludingBiogenicUptake": total_mg.to_string()},
        }
    })
}

#[test]
fn a_roll_up_off_by_one_milligram_is_refused_by_sign_and_by_verify() {
    let env = Env::new();
    let mine = env.supplier("mine", "Bauxite Mining Co");
    let smelter = env.supplier("smelter", "Nordic Smelter AB");
    let housings = env.supplier("housings", "Housing Works GmbH");
    let bauxite = env.attest(&mine, "urn:greenledger:t:bauxite", "kg", "0.05", &[]);
    let key = smelter.path.display().to_string();

    // `sign` checks the roll-up before it signs: 8.71 kg is right, 8.710001 kg is not.
    write(&env.path("bad.json"), &ingot_payload(&bauxite, 8_710_001).to_string());
    env.run_offline(&["sign", "--key", &key, "bad.json"])
        .code(1)
        .stderr_has("roll-up mismatch: pcfExcludingBiogenicUptake claimed 8.710001 kg but own + inputs give 8.71 kg");
    // Without inputs, total must equal own.
    write(
        &env.path("flat.json"),
        &json!({"kind": "attestation", "body": {
            "part": "urn:greenledger:t:flat", "declaredUnitOfMeasurement": "piece",
            "own": {"pcfExcludingBiogenicUptake": "1000"},
            "total": {"pcfExcludingBiogenicUptake": "1001"}}})
        .to_string(),
    );
    env.run_offline(&["sign", "--key", &key, "flat.json"])
        .code(1)
        .stderr_has("roll-up mismatch: pcfExcludingBiogenicUptake claimed 0.001001 kg but own + inputs give 0.001 kg");

    // Signed anyway, outside the CLI: the verifier names the entry and both figures.
    let mut att = Attestation::new(
        "urn:greenledger:t:ingot-2",
        Unit::Kilogram,
        Emissions::headline(Mass(8_500_000)),
    );
    att.inputs.push(Input {
        entry: bauxite.parse().expect("id"),
        quantity: Quantity(4_200_000),
        lot: None,
    });
    att.total = Emissions::headline(Mass(8_710_001));
    let bad = env
        .sign_payload(&smelter, 1, None, Body::Attestation(Box::new(att)))
        .to_hex();
    let rollup_reason = [
        format!("entry {} by {}", short(&bad), who("Nordic Smelter AB", &smelter)),
        "roll-up mismatch: pcfExcludingBiogenicUptake claimed 8.710001 kg but own + inputs give 8.71 kg".to_string(),
    ];
    let rollup_reason: Vec<&str> = rollup_reason.iter().map(String::as_str).collect();
    let bundle = env.bundle(&bad, "bad");
    env.verify(&bundle, &[])
        .code(1)
        .stdout_has("7. roll-up ......... FAILED (1)")
        .reason("7. roll-up", &rollup_reason)
        .reason_count(1);

    // A consumer that trusted the bad figure is arithmetically right itself; the bundle of
    // the consumer still fails, naming the upstream entry.
    let housing = env.attest(&housings, "urn:greenledger:t:housing", "piece", "1", &[(&bad, "2")]);
    let bundle = env.bundle(&housing, "housing");
    env.verify(&bundle, &[])
        .code(1)
        .reason("7. roll-up", &rollup_reason)
        .reason_count(1);

    // The right total signs (as seq 2: the CLI sees seq 1 in the entries folder) and verifies.
    write(&env.path("good.json"), &ingot_payload(&bauxite, 8_710_000).to_string());
    let v = env
        .run_offline(&["sign", "--key", &key, "good.json", "--json"])
        .ok()
        .json();
    assert_eq!(v["seq"], 2, "{v}");
    let good = v["id"].as_str().expect("id").to_string();
    let bundle = env.bundle(&good, "good");
    env.verify(&bundle, &[])
        .ok()
        .stdout_has("VALID: urn:greenledger:t:ingot-2 — 8.71 kg CO2e per kilogram");
}

#[test]
fn a_signer_never_admitted_is_warned_then_fails_membership() {
    let env = Env::new();
    let rogue = env.key("rogue");
    let id = env
        .try_attest(&rogue, "urn:greenledger:t:rogue", "kg", "1", &[], &[])
        .ok()
        .stderr_has(&format!(
            "warning: no admission of key {} as a supplier was found in --entries DIR",
            rogue.short()
        ))
        .last_line();
    let bundle = env.bundle(&id, "rogue");
    env.verify(&bundle, &[])
        .code(1)
        .stdout_has("3. membership ...... FAILED (1)")
        .reason(
            "3. membership",
            &[
                &format!("entry {} by signer {}", short(&id), rogue.short()),
                &format!(
                    "attestation not authorised: signer {} was never admitted to this network",
                    rogue.short()
                ),
            ],
        )
        .reason_count(1);

    // Admitted as a node, not as a supplier: the wrong role.
    env.run_offline(&[
        "admit",
        "--key",
        &env.admin.path.display().to_string(),
        "--member",
        &rogue.public,
        "--name",
        "Rogue Node",
        "--role",
        "node",
        "--peer-id",
        "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN",
    ])
    .ok();
    env.try_attest(&rogue, "urn:greenledger:t:rogue2", "kg", "1", &[], &[])
        .code(1)
        .stderr_has("is not admitted as supplier (roles: node)");
}

#[test]
fn entries_after_the_signers_revocation_fail() {
    let env = Env::new();
    let grid = env.supplier("grid", "Green Grid Utility");
    let jan = env.attest(&grid, "urn:greenledger:t:grid-jan", "kWh", "0.2", &[]);
    let feb = env.attest(&grid, "urn:greenledger:t:grid-feb", "kWh", "0.3", &[]);

    env.run_offline(&[
        "revoke",
        "--key",
        &env.admin.path.display().to_string(),
        "--member",
        &grid.public,
        "--after-seq",
        "1",
        "--reason",
        "key leaked",
    ])
    .ok()
    .stderr_has(
        "the member has signed up to seq 2; its entries after seq 1 (and whatever consumes them) become invalid",
    );

    // The CLI refuses to sign past the revocation.
    env.try_attest(&grid, "urn:greenledger:t:grid-mar", "kWh", "0.1", &[], &[])
        .code(1)
        .stderr_has(&format!(
            "signer {} was revoked after its seq 1; this entry is at seq 3",
            who("Green Grid Utility", &grid)
        ));

    // seq 2 was signed before the revocation was known, and is invalid now.
    let bundle = env.bundle(&feb, "feb");
    env.verify(&bundle, &[])
        .code(1)
        .reason(
            "3. membership",
            &[
                &format!("entry {} by {}", short(&feb), who("Green Grid Utility", &grid)),
                "was revoked after its seq 1; this entry is at seq 2",
            ],
        )
        .reason_count(1);
    // seq 1 stays valid: revocation is by chain position, never backdated.
    let bundle = env.bundle(&jan, "jan");
    env.verify(&bundle, &[])
        .ok()
        .stdout_has("VALID: urn:greenledger:t:grid-jan");
}

#[test]
fn an_admission_by_a_non_admin_is_refused() {
    let env = Env::new();
    let cells = env.supplier("cells", "CellMaker Ltd");
    let outsider = env.key("outsider");
    let rogue = env.key("rogue");

    // The CLI refuses: a supplier is not an admin, and an outsider is nothing.
    for (signer, why) in [
        (
            &cells,
            format!(
                "signer {} is not admitted as admin (roles: supplier)",
                who("CellMaker Ltd", &cells)
            ),
        ),
        (
            &outsider,
            format!("key {} is not an admin of network \"test-net\"", outsider.short()),
        ),
    ] {
        env.run_offline(&[
            "admit",
            "--key",
            &signer.path.display().to_string(),
            "--member",
            &rogue.public,
            "--name",
            "Rogue Inc",
            "--role",
            "supplier",
        ])
        .code(1)
        .stderr_has(&why);
    }

    // Signed anyway, outside the CLI: the admission grants nothing and is itself refused.
    let admit = env
        .sign_payload(
            &cells,
            1,
            None,
            Body::MemberAdmit(MemberAdmit {
                member: rogue.public_key(),
                name: "Rogue Inc".into(),
                role: greenledger_core::Role::Supplier,
                peer_id: None,
            }),
        )
        .to_hex();
    let id = env
        .try_attest(&rogue, "urn:greenledger:t:rogue", "kg", "1", &[], &[])
        .ok()
        .stderr_has("warning: no admission of key")
        .last_line();
    let bundle = env.bundle(&id, "rogue");
    env.verify(&bundle, &[])
        .code(1)
        .stdout_has("3. membership ...... FAILED (1)")
        // The rogue admission grants nothing: it is ignored, with a warning naming it.
        .stdout_has(&format!(
            "warning: ignored member.admit entry {}: signer {} is not admitted as admin (roles: supplier)",
            short(&admit),
            who("CellMaker Ltd", &cells)
        ))
        .reason(
            "3. membership",
            &[
                &format!("entry {} by signer {}", short(&id), rogue.short()),
                "was never admitted to this network",
            ],
        )
        .reason_count(1);
}

#[test]
fn a_superseded_attestation_points_to_its_correction() {
    let env = Env::new();
    let cells = env.supplier("cells", "CellMaker Ltd");
    let other = env.supplier("other", "Other Cells Ltd");
    let old = env.attest(&cells, "urn:greenledger:t:cell", "piece", "3", &[]);
    let new = env
        .try_attest(
            &cells,
            "urn:greenledger:t:cell",
            "piece",
            "3.5",
            &[],
            &["--supersedes", &old[..12]],
        )
        .ok()
        .last_line();

    let bundle = env.bundle(&old, "old");
    env.verify(&bundle, &[])
        .code(1)
        .stdout_has("8. supersession .... FAILED (1)")
        .reason(
            "8. supersession",
            &[
                &format!("entry {} by {}", short(&old), who("CellMaker Ltd", &cells)),
                &format!(
                    "has been superseded by {} (a correction by the same signer); verify that entry instead",
                    short(&new)
                ),
            ],
        )
        .reason_count(1);

    let bundle = env.bundle(&new, "new");
    env.verify(&bundle, &[])
        .ok()
        .stdout_has("VALID: urn:greenledger:t:cell — 3.5 kg CO2e per piece");
    // The part names its current attestation: the correction.
    env.run_offline(&["bundle", "urn:greenledger:t:cell", "--out", "part.bundle"])
        .ok()
        .stdout_has(&new);

    // Only one's own attestations of the same part can be corrected.
    env.try_attest(
        &other,
        "urn:greenledger:t:cell",
        "piece",
        "2",
        &[],
        &["--supersedes", &new],
    )
    .code(1)
    .stderr_has(&format!(
        "--supersedes: entry {} was signed by another key",
        short(&new)
    ));
    env.try_attest(
        &cells,
        "urn:greenledger:t:other-part",
        "piece",
        "2",
        &[],
        &["--supersedes", &new],
    )
    .code(1)
    .stderr_has("is about part urn:greenledger:t:cell, not urn:greenledger:t:other-part");
}

#[test]
fn a_fork_is_proved_in_the_bundle_and_named() {
    let env = Env::new();
    let cells = env.supplier("cells", "CellMaker Ltd");
    let packs = env.supplier("packs", "PackAssembly SE");
    let cell = env.attest(&cells, "urn:greenledger:t:cell", "piece", "3.125", &[]);
    // The pack is made before anyone knows of a fork…
    let pack = env.attest(&packs, "urn:greenledger:t:pack", "piece", "10", &[(&cell, "96")]);
    // …then the cell maker's key signs another entry at seq 1: an equivocation.
    let twin = env
        .sign_payload(
            &cells,
            1,
            None,
            Body::Attestation(Box::new(Attestation::new(
                "urn:greenledger:t:cell",
                Unit::Piece,
                Emissions::headline(Mass(1_000_000)),
            ))),
        )
        .to_hex();
    assert_ne!(twin, cell);
    // Once the fork is known, nothing new is signed on the forked entry.
    env.run_offline(&[
        "attest",
        "--key",
        &packs.path.display().to_string(),
        "--part",
        "urn:greenledger:t:pack2",
        "--unit",
        "piece",
        "--own",
        "10",
        "--input",
        &format!("{cell}=96"),
    ])
    .code(1)
    .stderr_has(&format!(
        "input {} is at seq 1 of a forked chain (fork at seq 1); it cannot be trusted",
        short(&cell)
    ));

    let v = env
        .run_offline(&["bundle", &pack, "--out", "pack.bundle", "--json"])
        .ok()
        .json();
    assert_eq!(v["fork_proofs"], 1, "the bundle carries the fork proof: {v}");

    let (a, b) = if cell < twin { (&cell, &twin) } else { (&twin, &cell) };
    env.verify(&env.path("pack.bundle"), &[])
        .code(1)
        .stdout_has("5. forks ........... FAILED (3)")
        .reason(
            "5. forks",
            &[&format!(
                "fork: {} signed two different entries at seq 1 ({} and {})",
                who("CellMaker Ltd", &cells),
                short(a),
                short(b)
            )],
        )
        .reason(
            "5. forks",
            &[
                &format!("entry {} by {}", short(&cell), who("CellMaker Ltd", &cells)),
                "is at seq 1 of a forked chain (fork at seq 1); it cannot be trusted",
            ],
        )
        .reason(
            "5. forks",
            &[
                &format!("entry {} by {}", short(&pack), who("PackAssembly SE", &packs)),
                &format!("input {} is at seq 1 of a forked chain (fork at seq 1)", short(&cell)),
            ],
        )
        .reason_count(3);

    // A prepared payload that names a seq already used is refused before it is signed.
    write(
        &env.path("again.json"),
        &json!({"kind": "attestation", "seq": 1, "body": {
            "part": "urn:greenledger:t:pack", "declaredUnitOfMeasurement": "piece",
            "own": {"pcfExcludingBiogenicUptake": "1000"},
            "total": {"pcfExcludingBiogenicUptake": "1000"}}})
        .to_string(),
    );
    env.run_offline(&["sign", "--key", &packs.path.display().to_string(), "again.json"])
        .code(1)
        .stderr_has("the payload is at seq 1, but this key's next position is seq 2")
        .stderr_has("signing it would break or fork the chain");
}

#[test]
fn unknown_kinds_versions_and_fields_are_refused() {
    let env = Env::new();
    let s = env.supplier("s", "Smelter");
    let key = s.path.display().to_string();
    let id = env.attest(&s, "urn:greenledger:t:bar", "kg", "2", &[]);
    let bundle = read(&env.bundle(&id, "bar"));

    // Prepared payloads: refused before signing, as input errors.
    let body = json!({"part": "urn:greenledger:t:x", "declaredUnitOfMeasurement": "kilogram",
        "own": {"pcfExcludingBiogenicUptake": "1000"}, "total": {"pcfExcludingBiogenicUptake": "1000"}});
    let mut with_body_field = body.clone();
    with_body_field["colour"] = json!("green");
    for (payload, why) in [
        (
            json!({"kind": "certificate", "body": {"serial": "1"}}),
            "unknown entry kind \"certificate\" (known: member.admit, member.revoke, attestation, certificate.issue, certificate.transfer, certificate.retire, batch.ship)",
        ),
        (
            json!({"kind": "attestation", "version": 2, "body": body}),
            "unsupported format version 2 (this build reads version 1)",
        ),
        (
            json!({"kind": "attestation", "colour": "green", "body": body}),
            "payload: unknown field `colour`",
        ),
        (
            json!({"kind": "attestation", "body": with_body_field}),
            "attestation body: colour: unknown field `colour`",
        ),
    ] {
        write(&env.path("payload.json"), &payload.to_string());
        env.run_offline(&["sign", "--key", &key, "payload.json"])
            .code(2)
            .stderr_has("payload.json is not a valid payload")
            .stderr_has(why);
    }

    // Correctly signed entries that this build cannot read: `show` flags them, a bundle with
    // one fails step 2, and an entries folder with one cannot be bundled from.
    let valid = env.payload_of(&id);
    let mut variants = Vec::new();
    let mut v = valid.clone();
    v["kind"] = json!("certificate");
    variants.push((v, "unknown entry kind \"certificate\""));
    let mut v = valid.clone();
    v["version"] = json!(2);
    variants.push((v, "unsupported format version 2"));
    let mut v = valid.clone();
    v["colour"] = json!("green");
    variants.push((v, "payload: unknown field `colour`"));
    let mut v = valid.clone();
    v["body"]["colour"] = json!("green");
    variants.push((v, "attestation body: colour: unknown field `colour`"));
    for (i, (payload, why)) in variants.into_iter().enumerate() {
        let se = env.sign_raw(&s, &payload);
        let file = format!("odd-{i}.json");
        write(&env.path(&file), &String::from_utf8(se.to_json()).expect("utf-8"));
        env.run(&["show", &file])
            .code(1)
            .stdout_has(&format!("encoding   INVALID: {why}"));
        let name = format!("odd-{i}.bundle");
        write(&env.path(&name), &insert_entry_line(&bundle, &se));
        env.verify(&env.path(&name), &[])
            .code(1)
            .reason(
                "2. signatures",
                &[&format!("entry {}: does not decode", short(&se.id().to_hex())), why],
            )
            .reason_count(1);
    }
    let se = env.sign_raw(&s, &{
        let mut v = valid.clone();
        v["kind"] = json!("certificate");
        v
    });
    let path = env.write_entry(&se);
    env.run_offline(&["bundle", &id, "--out", "again.bundle"])
        .code(2)
        .stderr_has(&format!(
            "{} in the entries folder is not a valid entry: unknown entry kind",
            path.display()
        ));

    // A payload reformatted after signing is not canonical: refused, not re-serialized.
    let entry = read(&env.entries.join(format!("{id}.json")));
    std::fs::remove_file(&path).expect("rm");
    write(&env.path("spaced.json"), &entry.replacen(",\"", ", \"", 1));
    env.run(&["show", "spaced.json"])
        .code(1)
        .stdout_has("encoding   INVALID: payload: not in canonical form");
}

#[test]
fn entries_of_another_network_are_refused() {
    let env = Env::new();
    let s = env.supplier("s", "Smelter");
    let id = env.attest(&s, "urn:greenledger:t:bar", "kg", "2", &[]);
    let bundle = read(&env.bundle(&id, "bar"));

    let elsewhere = Env::new();
    let t = elsewhere.supplier("t", "Elsewhere Ltd");
    let foreign = elsewhere.attest(&t, "urn:greenledger:t:foreign", "kg", "1", &[]);
    let foreign_entry =
        SignedEntry::from_json(read(&elsewhere.entries.join(format!("{foreign}.json"))).as_bytes()).expect("entry");

    write(&env.path("mixed.bundle"), &insert_entry_line(&bundle, &foreign_entry));
    env.verify(&env.path("mixed.bundle"), &[])
        .code(1)
        .reason(
            "1. network",
            &[
                &format!("entry {}", short(&foreign)),
                &format!(
                    "belongs to network {}, not to network {}",
                    elsewhere.network_id, env.network_id
                ),
            ],
        )
        .reason_count(1);

    let copied = env.write_entry(&foreign_entry);
    env.run_offline(&["bundle", &id, "--out", "again.bundle"])
        .code(2)
        .stderr_has(&format!(
            "{} belongs to network {}, not {}",
            copied.display(),
            short(&elsewhere.network_id),
            short(&env.network_id)
        ));
}
