//! Perturbation of the key-file decoder (`greenledger_cli::keyfile`), as `core/tests/perturb.rs`
//! and `core/tests/decoders.rs` do for core's decoders: random bytes, valid key files (plain and
//! encrypted) with bits flipped and bytes replaced, inserted or deleted, truncated, and spliced
//! with each other and with other greenledger JSON. Properties:
//!
//! * the decoder never panics, and every error has a message;
//! * a truncated key file is refused;
//! * a changed key file opens, if at all, as the key that was written (only changes that keep
//!   the key, such as the letter case of the secret's hex digits or whitespace, may pass);
//! * an encrypted key file with any field edited is refused, or opens as the same key.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::{fmt::Display, sync::LazyLock};

use greenledger_cli::keyfile;
use greenledger_core::SecretKey;
use greenledger_testkit::{genesis, key};
use proptest::{prelude::*, sample::Index, test_runner::Config};
use serde_json::{Value, json};

/// The key written to the sample key files.
static SIGNER: LazyLock<SecretKey> = LazyLock::new(|| key(1));

const PASSPHRASE: &[u8] = b"correct horse";

/// [`SIGNER`]'s key file, encrypted under [`PASSPHRASE`].
static ENCRYPTED_KEY_FILE: LazyLock<String> =
    LazyLock::new(|| keyfile::to_encrypted_text(&SIGNER, PASSPHRASE).unwrap());

struct Sample {
    /// Whether the decoder must accept it as it is.
    key_file: bool,
    name: &'static str,
    bytes: Vec<u8>,
}

/// The two key files, and other JSON of greenledger's to splice them with.
static SAMPLES: LazyLock<Vec<Sample>> = LazyLock::new(|| {
    let genesis = genesis("prop net", &[key(1).public()]);
    vec![
        Sample {
            key_file: true,
            name: "key file",
            bytes: keyfile::to_text(&SIGNER).into_bytes(),
        },
        Sample {
            key_file: true,
            name: "key file (encrypted)",
            bytes: ENCRYPTED_KEY_FILE.as_bytes().to_vec(),
        },
        Sample {
            key_file: false,
            name: "genesis",
            bytes: serde_json::to_vec_pretty(&genesis).unwrap(),
        },
        Sample {
            key_file: false,
            name: "public key",
            bytes: SIGNER.public().to_hex().into_bytes(),
        },
    ]
});

/// Every error must say something.
fn has_message(e: impl Display) {
    let m = e.to_string();
    assert!(!m.trim().is_empty(), "an error without a message");
}

/// Feeds `bytes` to the key-file decoder.
fn feed(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    feed_key_file(&text);
    if let Ok(s) = std::str::from_utf8(bytes) {
        feed_key_file(s);
    }
}

fn feed_key_file(text: &str) {
    // The parts read without a passphrase (opening an encrypted file runs the KDF; see
    // `encrypted_key_file_edits`).
    match keyfile::public_key(text) {
        Ok(k) => {
            let _ = keyfile::is_encrypted(text).unwrap();
            let _ = k.to_hex();
        }
        Err(e) => has_message(e),
    }
    match keyfile::open(text) {
        Ok(k) => assert!(
            [SIGNER.public(), key(2).public()].contains(&k.public()),
            "a key file gave a key that was never written"
        ),
        Err(e) => has_message(e),
    }
}

/// Whether the decoder accepts `bytes` as a key file.
fn accepts(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|t| keyfile::public_key(t).is_ok())
}

/// Checks a changed copy of sample `s`: no panic, and if `s` is a key file, the copy opens
/// only as the key that was written.
fn check_changed(s: &Sample, changed: &[u8]) {
    feed(changed);
    if s.key_file
        && let Ok(k) = keyfile::open(&String::from_utf8_lossy(changed))
    {
        // Only changes that keep the key (hex letter case of the secret, whitespace) pass.
        assert_eq!(k.public(), SIGNER.public());
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic sweeps.

#[test]
fn samples_are_accepted() {
    for s in SAMPLES.iter() {
        assert_eq!(accepts(&s.bytes), s.key_file, "{}", s.name);
        feed(&s.bytes);
    }
    let k = keyfile::open(std::str::from_utf8(&SAMPLES[0].bytes).unwrap()).unwrap();
    assert_eq!(k.public(), SIGNER.public());
}

/// Every prefix of every key file is refused (a prefix that only drops trailing whitespace
/// aside), without a panic.
#[test]
fn every_truncation_is_refused() {
    for s in SAMPLES.iter().filter(|s| s.key_file) {
        let content = s
            .bytes
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        for n in 0..s.bytes.len() {
            let cut = &s.bytes[..n];
            check_changed(s, cut);
            if n < content {
                assert!(!accepts(cut), "{}: a prefix of {n} bytes was accepted", s.name);
                let t = std::str::from_utf8(cut).unwrap();
                assert!(keyfile::open(t).is_err(), "{}: a prefix of {n} bytes opened", s.name);
            }
        }
    }
}

/// Each of the 8 bits of every byte of both key files, in turn: no panic, and never another
/// key.
#[test]
fn every_single_bit_flip_of_the_key_files() {
    let public = SIGNER.public();
    for s in SAMPLES.iter() {
        for i in 0..s.bytes.len() {
            for bit in 0..8 {
                let mut v = s.bytes.clone();
                v[i] ^= 1 << bit;
                check_changed(s, &v);
                if let Ok(t) = std::str::from_utf8(&v)
                    && let Ok(k) = keyfile::open(t)
                {
                    assert_eq!(
                        k.public(),
                        public,
                        "{}: flip of bit {bit} at {i} gave another key",
                        s.name
                    );
                }
            }
        }
    }
}

/// An encrypted key file opened after an edit of each of its fields: refused with a message,
/// or (an edit that changes nothing the key depends on) the same key. The edits only lower the
/// KDF's cost, so that the test stays fast.
#[test]
fn encrypted_key_file_edits() {
    let original: Value = serde_json::from_str(&ENCRYPTED_KEY_FILE).unwrap();
    assert_eq!(
        keyfile::open_with(&ENCRYPTED_KEY_FILE, Some(PASSPHRASE))
            .unwrap()
            .public(),
        SIGNER.public()
    );
    let open = |text: &str, pass: &[u8]| match keyfile::open_with(text, Some(pass)) {
        Ok(k) => assert_eq!(k.public(), SIGNER.public(), "an edited key file opened as another key"),
        Err(e) => has_message(e),
    };
    open(&ENCRYPTED_KEY_FILE, b"correct horsf");
    open(&ENCRYPTED_KEY_FILE, b"");
    let Value::Object(enc) = &original["encrypted"] else {
        panic!("no \"encrypted\" object: {original}")
    };
    for (field, v) in enc {
        let mut edits: Vec<Value> = vec![Value::Null, json!(""), json!(0), json!(1), json!(-1), json!([])];
        match v {
            Value::String(s) => {
                // One hex digit changed, one dropped, one added.
                let mut c: Vec<char> = s.chars().collect();
                if let Some(ch) = c.first_mut() {
                    *ch = if *ch == '0' { '1' } else { '0' };
                }
                edits.push(json!(c.iter().collect::<String>()));
                edits.push(json!(&s[1..]));
                edits.push(json!(format!("{s}0")));
                edits.push(json!(s.to_uppercase()));
            }
            Value::Number(n) => {
                let n = n.as_u64().unwrap();
                edits.push(json!(n / 2));
                edits.push(json!(u64::MAX));
                edits.push(json!(u32::MAX));
            }
            _ => {}
        }
        for e in edits {
            let mut f = original.clone();
            f["encrypted"][field] = e;
            open(&f.to_string(), PASSPHRASE);
        }
    }
    let mut f = original.clone();
    f["public"] = json!(key(2).public().to_hex());
    open(&f.to_string(), PASSPHRASE);
    f["secret"] = json!("00".repeat(32));
    open(&f.to_string(), PASSPHRASE);
}

// ---------------------------------------------------------------------------------------------
// Random perturbation.

fn config(cases: u32) -> Config {
    Config {
        cases,
        ..Config::default()
    }
}

fn sample_index() -> impl Strategy<Value = usize> {
    0..SAMPLES.len()
}

/// One change to a byte string.
#[derive(Clone, Debug)]
enum Change {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, u8),
    Remove(Index),
    /// Copy a range over another place (duplicated structure).
    Dup(Index, Index, usize),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        4 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Change::Flip(i, b)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Change::Set(i, b)),
        1 => (any::<Index>(), prop::sample::select(b"{}[]\",:\\ 0a-".to_vec())).prop_map(|(i, b)| Change::Insert(i, b)),
        1 => any::<Index>().prop_map(Change::Remove),
        1 => (any::<Index>(), any::<Index>(), 1usize..64).prop_map(|(a, b, n)| Change::Dup(a, b, n)),
    ]
}

fn apply(v: &mut Vec<u8>, c: &Change) {
    if v.is_empty() {
        return;
    }
    match c {
        Change::Flip(i, b) => {
            let i = i.index(v.len());
            v[i] ^= 1 << b;
        }
        Change::Set(i, b) => {
            let i = i.index(v.len());
            v[i] = *b;
        }
        Change::Insert(i, b) => {
            let i = i.index(v.len() + 1);
            v.insert(i, *b);
        }
        Change::Remove(i) => {
            let i = i.index(v.len());
            v.remove(i);
        }
        Change::Dup(from, to, n) => {
            let from = from.index(v.len());
            let end = (from + n).min(v.len());
            let chunk = v[from..end].to_vec();
            let to = to.index(v.len() + 1);
            v.splice(to..to, chunk);
        }
    }
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        feed(&bytes);
    }

    /// Bytes from the alphabet of JSON and hex, so that the parser gets past the first byte.
    #[test]
    fn random_json_alphabet(bytes in prop::collection::vec(prop::sample::select(b"{}[]\":,\\ 0123456789abcdefnulrtsy-.eE".to_vec()), 0..200)) {
        feed(&bytes);
    }

    /// A valid encoding with 1–5 changes (bit flips, byte changes, insertions, deletions,
    /// duplicated ranges).
    #[test]
    fn changed_valid_encodings(which in sample_index(), changes in prop::collection::vec(change(), 1..6)) {
        let s = &SAMPLES[which];
        let mut v = s.bytes.clone();
        for c in &changes {
            apply(&mut v, c);
        }
        check_changed(s, &v);
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// A prefix of one valid encoding followed by a suffix of another (or the same).
    #[test]
    fn spliced_valid_encodings(a in sample_index(), b in sample_index(), cut_a in any::<Index>(), cut_b in any::<Index>()) {
        let (x, y) = (&SAMPLES[a].bytes, &SAMPLES[b].bytes);
        let mut v = x[..cut_a.index(x.len() + 1)].to_vec();
        v.extend_from_slice(&y[cut_b.index(y.len() + 1)..]);
        feed(&v);
    }

    /// A range of one valid encoding inserted into another.
    #[test]
    fn valid_encodings_with_a_piece_of_another(
        a in sample_index(),
        b in sample_index(),
        at in any::<Index>(),
        from in any::<Index>(),
        len in 1usize..200,
    ) {
        let (x, y) = (&SAMPLES[a].bytes, &SAMPLES[b].bytes);
        let at = at.index(x.len() + 1);
        let from = from.index(y.len());
        let mut v = x[..at].to_vec();
        v.extend_from_slice(&y[from..(from + len).min(y.len())]);
        v.extend_from_slice(&x[at..]);
        check_changed(&SAMPLES[a], &v);
    }
}
