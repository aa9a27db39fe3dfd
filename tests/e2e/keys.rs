//! Keys at rest and key rotation: passphrase-encrypted key files, and a supplier moving to a
//! new key (admit the new one, revoke the old after its last seq) offline and on a node.

use std::fs;

use crate::{
    node_util::TestNode,
    util::{Env, Key, Run, short},
};

const PASS: &str = "correct horse battery staple";

/// `greenledger ARGS` with `GREENLEDGER_PASSPHRASE` set to `pass` (or removed). The prompt
/// reads the controlling terminal, which a test may or may not have, so every case that opens
/// an encrypted key sets the variable.
fn run_with(env: &Env, pass: Option<&str>, args: &[&str]) -> Run {
    let mut cmd = env.gl();
    cmd.args(args);
    cmd.env_remove("GREENLEDGER_PASSPHRASE")
        .env_remove("GREENLEDGER_NEW_PASSPHRASE");
    if let Some(p) = pass {
        cmd.env("GREENLEDGER_PASSPHRASE", p);
    }
    Run::of(
        &mut cmd,
        format!("greenledger {} (passphrase {pass:?})", args.join(" ")),
    )
}

#[test]
fn an_encrypted_key_signs_only_with_its_passphrase() {
    let env = Env::new();
    let out = env.path("enc.key");
    let out_s = out.display().to_string();
    let public = run_with(&env, Some(PASS), &["key", "generate", "--out", &out_s])
        .ok()
        .stderr_has("encrypted under the passphrase")
        .last_line();
    assert_eq!(public.len(), 64);
    let text = fs::read_to_string(&out).expect("key file");
    assert!(text.contains("\"encrypted\""), "{text}");
    assert!(!text.contains("\"secret\""), "no clear secret in {text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&out).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    // The public key is readable without the passphrase.
    assert_eq!(
        run_with(&env, None, &["key", "show", "--key", &out_s]).ok().last_line(),
        public
    );

    let key = Key {
        path: out.clone(),
        public: public.clone(),
    };
    env.admit(&key, "Encrypted Supplier", "supplier");
    let attest = |pass: Option<&str>| {
        let mut args = vec![
            "attest",
            "--key",
            &out_s,
            "--part",
            "urn:greenledger:t:enc",
            "--unit",
            "kg",
            "--own",
            "1.5",
        ];
        let off = env.offline();
        args.extend(off.iter().map(String::as_str));
        run_with(&env, pass, &args)
    };
    // Wrong passphrase: exit 2, says so, nothing written.
    let before = fs::read_dir(&env.entries).expect("entries").count();
    attest(Some("not it"))
        .code(2)
        .stderr_has("wrong passphrase")
        .stderr_has("GREENLEDGER_PASSPHRASE");
    assert_eq!(fs::read_dir(&env.entries).expect("entries").count(), before);
    // The right one signs.
    let id = attest(Some(PASS)).ok().last_line();
    assert_eq!(id.len(), 64);
    let bundle = env.bundle(&id, "enc");
    env.verify(&bundle, &[]).ok().stdout_has("VALID");

    // Change the passphrase: the old one no longer opens the file.
    let mut cmd = env.gl();
    cmd.args(["key", "encrypt", "--key", &out_s])
        .env("GREENLEDGER_PASSPHRASE", PASS)
        .env("GREENLEDGER_NEW_PASSPHRASE", "a new passphrase");
    assert_eq!(Run::of(&mut cmd, "key encrypt".into()).ok().last_line(), public);
    attest(Some(PASS)).code(2).stderr_has("wrong passphrase");
    attest(Some("a new passphrase")).ok();
}

#[test]
fn a_plain_key_can_be_encrypted_later_and_damage_is_reported() {
    let env = Env::new();
    let k = env.key("plain");
    let path = k.path.display().to_string();
    assert!(fs::read_to_string(&k.path).expect("key").contains("\"secret\""));
    let mut cmd = env.gl();
    cmd.args(["key", "encrypt", "--key", &path])
        .env_remove("GREENLEDGER_PASSPHRASE")
        .env("GREENLEDGER_NEW_PASSPHRASE", PASS);
    assert_eq!(Run::of(&mut cmd, "key encrypt".into()).ok().last_line(), k.public);
    let text = fs::read_to_string(&k.path).expect("key");
    assert!(text.contains("\"encrypted\"") && !text.contains("\"secret\""));

    // A flipped ciphertext byte is caught (authenticated encryption), as a wrong passphrase.
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let ct = v["encrypted"]["ciphertext"].as_str().expect("ciphertext");
    let flipped = format!("{}{}", if ct.starts_with('0') { "1" } else { "0" }, &ct[1..]);
    fs::write(&k.path, text.replace(ct, &flipped)).expect("write");
    run_with(
        &env,
        Some(PASS),
        &[
            "admit", "--key", &path, "--member", &k.public, "--name", "x", "--role", "supplier",
        ],
    )
    .code(2)
    .stderr_has("wrong passphrase (or the file was altered)");

    // A key file whose cost parameters were inflated is refused before any work.
    let costly = text.replace("\"memory_kib\": 19456", "\"memory_kib\": 4000000000");
    fs::write(&k.path, costly).expect("write");
    run_with(&env, Some(PASS), &["key", "encrypt", "--key", &path])
        .code(2)
        .stderr_has("passphrase cost too high");
}

/// A supplier rotates its key: the admin admits the new key under the same organisation and
/// revokes the old one after the old key's last seq. What the old key signed up to there stays
/// valid (and stays usable as an input); the old key can sign nothing more; the new key signs
/// on, building on the old key's entries.
#[test]
fn supplier_key_rotation_offline() {
    let env = Env::new();
    let old = env.supplier("cells-2025", "Cell Maker");
    let grid = env.supplier("grid", "Grid Utility");
    let power = env.attest(&grid, "urn:greenledger:t:power", "kWh", "0.2", &[]);
    let cell1 = env.attest(&old, "urn:greenledger:t:cell", "pcs", "1", &[(&power, "3")]);
    let _cell2 = env.attest(&old, "urn:greenledger:t:cell-b", "pcs", "1.1", &[(&power, "3")]);

    let new = env.key("cells-2026");
    env.admit(&new, "Cell Maker", "supplier");
    env.run_offline(&[
        "revoke",
        "--key",
        &env.admin.path.display().to_string(),
        "--member",
        &old.public,
        "--after-seq",
        "2",
        "--reason",
        "key rotation",
    ])
    .ok();

    // The old key is done.
    env.try_attest(&old, "urn:greenledger:t:cell", "pcs", "0.9", &[(&power, "3")], &[])
        .code(1)
        .stderr_has("was revoked after its seq 2; this entry is at seq 3");
    // The new key signs, using the old key's attestation as an input.
    let cell3 = env.attest(&new, "urn:greenledger:t:cell-c", "pcs", "0.8", &[(&power, "3")]);
    let packer = env.supplier("packer", "Pack Assembly");
    let pack = env.attest(
        &packer,
        "urn:greenledger:t:pack",
        "pcs",
        "2",
        &[(&cell1, "10"), (&cell3, "10")],
    );
    let bundle = env.bundle(&pack, "pack");
    env.verify(&bundle, &[])
        .ok()
        .stdout_has("VALID")
        .stdout_has(short(&cell1))
        .stdout_has(short(&cell3));
}

/// The same rotation against a node: the node refuses the old key's entry after the revocation
/// (exit 1, the reason printed) and accepts the new key's.
#[test]
fn supplier_key_rotation_on_a_node() {
    let env = Env::new();
    let node = TestNode::start(&env.path("node"), &env.genesis);
    let url = node.url.clone();
    let on = |args: &[&str]| env.run_on(&url, args);
    let admin = env.admin.path.display().to_string();
    let old = env.key("old");
    let new = env.key("new");
    let (old_p, new_p) = (old.path.display().to_string(), new.path.display().to_string());
    on(&[
        "admit",
        "--key",
        &admin,
        "--member",
        &old.public,
        "--name",
        "Smelter AG",
        "--role",
        "supplier",
    ])
    .ok();
    let a1 = on(&[
        "attest",
        "--key",
        &old_p,
        "--part",
        "urn:greenledger:t:ingot",
        "--unit",
        "kg",
        "--own",
        "8.1",
    ])
    .ok()
    .last_line();
    on(&[
        "admit",
        "--key",
        &admin,
        "--member",
        &new.public,
        "--name",
        "Smelter AG",
        "--role",
        "supplier",
    ])
    .ok();
    on(&["revoke", "--key", &admin, "--member", &old.public, "--after-seq", "1"]).ok();

    on(&[
        "attest",
        "--key",
        &old_p,
        "--part",
        "urn:greenledger:t:ingot",
        "--unit",
        "kg",
        "--own",
        "7.9",
    ])
    .code(1)
    .stderr_has("revoked after its seq 1");
    let a2 = on(&[
        "attest",
        "--key",
        &new_p,
        "--part",
        "urn:greenledger:t:ingot-2026",
        "--unit",
        "kg",
        "--own",
        "7.9",
    ])
    .ok()
    .last_line();
    on(&["verify", &a1]).ok().stdout_has("VALID");
    on(&["verify", &a2]).ok().stdout_has("VALID");
    let (status, signer) = node.get(&format!("/v1/signers/{}", old.public));
    assert_eq!(status, 200, "{signer}");
    assert!(
        signer.to_string().contains("revoked") || signer.to_string().contains("after_seq"),
        "{signer}"
    );
    on(&["log", "verify"]).ok();
}
