//! Signed entries: the envelope, the exact signed bytes, ids and signing.
//!
//! ```text
//! signed bytes = ENTRY_TAG || payload        (payload: canonical JSON, see canonical.rs)
//! id           = blake3(signed bytes)
//! signature    = ed25519(signer, signed bytes)
//! envelope     = {"payload":<payload, byte for byte>,"signature":"<128 hex>"}
//! ```
//!
//! Both the signature and the id cover exactly the same bytes, and those bytes are kept as
//! they arrived: nothing is re-serialized before it is verified. The domain tag makes a
//! greenledger signature useless in any other context (and vice versa), and carries the
//! format version.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{
    error::{DecodeError, SignatureError},
    id::EntryId,
    keys::{SecretKey, Signature},
    model::{Body, Payload},
};

/// Domain-separation tag prefixed to every payload before signing and hashing.
pub const ENTRY_TAG: &[u8] = b"greenledger/entry/v1\0";

/// Largest accepted payload, in bytes.
pub const MAX_PAYLOAD: usize = 1 << 20;

/// An entry as it travels: the payload bytes and the signature, nothing decoded or checked.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedEntry {
    payload: Vec<u8>,
    signature: Signature,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(borrow)]
    payload: &'a RawValue,
    signature: &'a str,
}

impl SignedEntry {
    /// Builds from parts (no checks).
    pub fn from_parts(payload: Vec<u8>, signature: Signature) -> Self {
        SignedEntry { payload, signature }
    }

    /// Parses the JSON envelope, keeping the payload's bytes exactly as they appear in `json`.
    pub fn from_json(json: &[u8]) -> Result<Self, DecodeError> {
        let json = json.strip_prefix(b"\xef\xbb\xbf").unwrap_or(json); // a byte-order mark from some editors
        let env: Envelope<'_> = serde_json::from_slice(json).map_err(|e| DecodeError::Envelope(e.to_string()))?;
        let payload = env.payload.get().as_bytes();
        if payload.len() > MAX_PAYLOAD {
            return Err(DecodeError::Envelope(format!(
                "payload larger than {MAX_PAYLOAD} bytes"
            )));
        }
        if !payload.starts_with(b"{") {
            return Err(DecodeError::Envelope("payload must be a JSON object".into()));
        }
        let signature = Signature::from_hex(env.signature)?;
        Ok(SignedEntry {
            payload: payload.to_vec(),
            signature,
        })
    }

    /// The envelope as JSON: `{"payload":…,"signature":"…"}` (itself canonical when the payload is).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.payload.len() + 160);
        out.extend_from_slice(b"{\"payload\":");
        out.extend_from_slice(&self.payload);
        out.extend_from_slice(b",\"signature\":\"");
        out.extend_from_slice(self.signature.to_hex().as_bytes());
        out.extend_from_slice(b"\"}");
        out
    }

    /// The payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The exact bytes that are signed and hashed: [`ENTRY_TAG`] followed by the payload.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(ENTRY_TAG.len() + self.payload.len());
        v.extend_from_slice(ENTRY_TAG);
        v.extend_from_slice(&self.payload);
        v
    }

    /// The entry id: blake3 of the signed bytes.
    pub fn id(&self) -> EntryId {
        let mut h = blake3::Hasher::new();
        h.update(ENTRY_TAG);
        h.update(&self.payload);
        EntryId(*h.finalize().as_bytes())
    }

    /// The id of the entry in `json` when `json` is an envelope exactly as [`SignedEntry::to_json`]
    /// writes it, found without parsing it: the payload is what lies between the fixed opening
    /// and the fixed-length signature member. `None` for any other form (parse those with
    /// [`SignedEntry::from_json`]). Whether the payload is JSON at all is not checked, so this
    /// is an id to look up or to deduplicate by, never a verdict.
    pub fn id_of_envelope(json: &[u8]) -> Option<EntryId> {
        const OPEN: &[u8] = b"{\"payload\":";
        const SIG_OPEN: &[u8] = b",\"signature\":\"";
        const CLOSE: &[u8] = b"\"}";
        let tail = SIG_OPEN.len() + 2 * crate::keys::SIGNATURE_LEN + CLOSE.len();
        let body = json.strip_prefix(OPEN)?;
        let split = body.len().checked_sub(tail)?;
        let (payload, sig) = body.split_at(split);
        let hex = sig.strip_prefix(SIG_OPEN)?.strip_suffix(CLOSE)?;
        let lower_hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
        if !payload.starts_with(b"{") || payload.len() > MAX_PAYLOAD || !hex.iter().all(lower_hex) {
            return None;
        }
        let mut h = blake3::Hasher::new();
        h.update(ENTRY_TAG);
        h.update(payload);
        Some(EntryId(*h.finalize().as_bytes()))
    }

    /// The id this entry would have if its payload were in canonical form: for a payload that
    /// was reformatted (pretty-printed, keys reordered), the id of the entry it was copied from.
    /// `None` if the payload is not JSON or cannot be canonical at all.
    pub fn canonical_form_id(&self) -> Option<EntryId> {
        let v: serde_json::Value = serde_json::from_slice(&self.payload).ok()?;
        let bytes = crate::canonical::to_canonical(&v).ok()?;
        let mut h = blake3::Hasher::new();
        h.update(ENTRY_TAG);
        h.update(&bytes);
        Some(EntryId(*h.finalize().as_bytes()))
    }

    /// Decodes the payload (canonical form, version, kind, fields) without checking the
    /// signature. Use [`SignedEntry::verify`] to get a [`VerifiedEntry`].
    pub fn decode(&self) -> Result<Entry, DecodeError> {
        let payload = Payload::decode(&self.payload)?;
        Ok(Entry {
            id: self.id(),
            payload,
            signed: self.clone(),
        })
    }

    /// Decodes bytes this process already verified once (a node's own store), without
    /// checking them again: see [`Payload::decode_stored`]. Never for bytes from outside.
    pub fn decode_stored(&self) -> Result<Entry, DecodeError> {
        let payload = Payload::decode_stored(&self.payload)?;
        Ok(Entry {
            id: self.id(),
            payload,
            signed: self.clone(),
        })
    }

    /// Decodes and checks the signature (strict ed25519).
    pub fn verify(&self) -> Result<VerifiedEntry, EntryError> {
        let entry = self.decode()?;
        entry.payload.signer.verify(&self.signed_bytes(), &self.signature)?;
        Ok(VerifiedEntry(entry))
    }
}

/// Decodes and verifies many entries, checking their signatures in batches. The result has
/// one item per entry, equal to what [`SignedEntry::verify`] gives for it.
pub fn verify_many(entries: Vec<SignedEntry>) -> Vec<Result<VerifiedEntry, EntryError>> {
    let decoded: Vec<Result<Entry, DecodeError>> = crate::par::map(&entries, SignedEntry::decode);
    let bytes: Vec<Vec<u8>> = decoded
        .iter()
        .filter_map(|d| d.as_ref().ok())
        .map(|e| e.signed.signed_bytes())
        .collect();
    let items: Vec<(crate::PublicKey, &[u8], crate::Signature)> = decoded
        .iter()
        .filter_map(|d| d.as_ref().ok())
        .zip(&bytes)
        .map(|(e, b)| (e.payload.signer, b.as_slice(), *e.signed.signature()))
        .collect();
    let mut sigs = crate::keys::verify_all(&items).into_iter();
    decoded
        .into_iter()
        .map(|d| {
            let e = d?;
            match sigs.next() {
                Some(Ok(())) => Ok(VerifiedEntry(e)),
                Some(Err(err)) => Err(EntryError::Signature(err)),
                None => unreachable!("one signature result per decoded entry"),
            }
        })
        .collect()
}

/// Why an entry could not be verified on its own.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum EntryError {
    /// The bytes do not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The signature is wrong.
    #[error(transparent)]
    Signature(#[from] SignatureError),
}

/// A decoded entry whose signature has **not** been checked (yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The id.
    pub id: EntryId,
    /// The decoded payload.
    pub payload: Payload,
    /// The original bytes.
    pub signed: SignedEntry,
}

/// An entry whose payload decoded and whose signature verified (strictly). It says nothing
/// yet about membership, chains or roll-ups: those need other entries (see [`crate::verify`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEntry(Entry);

impl VerifiedEntry {
    /// The entry.
    pub fn entry(&self) -> &Entry {
        &self.0
    }
    /// The id.
    pub fn id(&self) -> EntryId {
        self.0.id
    }
    /// The payload.
    pub fn payload(&self) -> &Payload {
        &self.0.payload
    }
    /// The original bytes.
    pub fn signed(&self) -> &SignedEntry {
        &self.0.signed
    }
    /// Converts into the entry.
    pub fn into_entry(self) -> Entry {
        self.0
    }
}

/// Encodes and signs a payload.
pub fn sign(key: &SecretKey, payload: &Payload) -> Result<VerifiedEntry, DecodeError> {
    if payload.signer != key.public() {
        return Err(DecodeError::Invalid {
            field: "signer",
            why: "the payload names another signer than the key".into(),
        });
    }
    let bytes = payload.to_canonical()?;
    let mut signed = Vec::with_capacity(ENTRY_TAG.len() + bytes.len());
    signed.extend_from_slice(ENTRY_TAG);
    signed.extend_from_slice(&bytes);
    let signature = key.sign(&signed);
    let se = SignedEntry {
        payload: bytes,
        signature,
    };
    Ok(VerifiedEntry(Entry {
        id: se.id(),
        payload: payload.clone(),
        signed: se,
    }))
}

impl Entry {
    /// The attestation body, if this entry is an attestation.
    pub fn attestation(&self) -> Option<&crate::model::Attestation> {
        match &self.payload.body {
            Body::Attestation(a) => Some(a),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        amount::Mass,
        model::{Attestation, Emissions, Genesis, Unit},
    };

    fn sample() -> (SecretKey, VerifiedEntry) {
        let k = SecretKey::from_seed(&[5; 32]);
        let g = Genesis::new("t", "2026-01-01T00:00:00Z", vec![k.public()], vec![]).unwrap();
        let p = Payload {
            network: g.network_id(),
            signer: k.public(),
            seq: 1,
            prev: None,
            timestamp: "2026-01-02T00:00:00Z".into(),
            body: Body::Attestation(Box::new(Attestation::new(
                "urn:greenledger:x:y",
                Unit::Kilogram,
                Emissions::headline(Mass(1)),
            ))),
        };
        let e = sign(&k, &p).unwrap();
        (k, e)
    }

    #[test]
    fn envelope_roundtrip_keeps_bytes() {
        let (_, e) = sample();
        let json = e.signed().to_json();
        let back = SignedEntry::from_json(&json).unwrap();
        assert_eq!(&back, e.signed());
        assert_eq!(back.id(), e.id());
        assert_eq!(back.verify().unwrap().payload(), e.payload());
    }

    /// The id read off an envelope without parsing it is the id `from_json` gives, for the
    /// form `to_json` writes; any other form is left to the parser.
    #[test]
    fn id_of_envelope_matches_the_parsed_id_and_only_for_the_written_form() {
        let (_, e) = sample();
        let json = e.signed().to_json();
        assert_eq!(SignedEntry::id_of_envelope(&json), Some(e.id()));
        let text = String::from_utf8(json.clone()).unwrap();
        let others = [
            text.replacen("{\"payload\":", "{ \"payload\":", 1),
            text.replacen(",\"signature\":", ", \"signature\":", 1),
            format!("{text}\n"),
            format!("\u{feff}{text}"),
            text.to_uppercase(),
            text[..text.len() - 3].to_string() + "\"}",
            String::new(),
            "{\"payload\":".to_string(),
        ];
        for other in others {
            assert_eq!(SignedEntry::id_of_envelope(other.as_bytes()), None, "{other:?}");
        }
        let sig_first = format!(
            "{{\"signature\":\"{}\",\"payload\":{}}}",
            e.signed().signature().to_hex(),
            String::from_utf8(e.signed().payload().to_vec()).unwrap()
        );
        assert_eq!(SignedEntry::id_of_envelope(sig_first.as_bytes()), None);
        assert_eq!(SignedEntry::from_json(sig_first.as_bytes()).unwrap().id(), e.id());
    }

    #[test]
    fn verify_many_equals_verify_on_each() {
        let (_, good) = sample();
        let mut bad_sig = good.signed().clone();
        bad_sig.signature.0[0] ^= 1;
        let undecodable = SignedEntry::from_parts(b"{}".to_vec(), *good.signed().signature());
        let mut all = vec![good.signed().clone(); 300];
        all[7] = bad_sig;
        all[299] = undecodable;
        let many = verify_many(all.clone());
        assert_eq!(many.len(), all.len());
        for (m, one) in many.iter().zip(&all) {
            assert_eq!(m, &one.verify());
        }
        assert!(many[7].is_err() && many[299].is_err() && many[8].is_ok());
    }

    #[test]
    fn reformatted_payload_is_refused_with_a_clear_error() {
        let (_, e) = sample();
        let json = String::from_utf8(e.signed().to_json()).unwrap().replace(",\"", ", \"");
        let se = SignedEntry::from_json(json.as_bytes()).unwrap();
        let err = se.verify().unwrap_err();
        assert!(matches!(err, EntryError::Decode(DecodeError::Canonical(_))), "{err:?}");
        assert!(err.to_string().contains("canonical"));
    }

    #[test]
    fn outer_envelope_may_be_pretty_printed() {
        let (_, e) = sample();
        let v: serde_json::Value = serde_json::from_slice(&e.signed().to_json()).unwrap();
        // Re-embedding the payload byte for byte inside a pretty envelope still works.
        let pretty = format!(
            "{{\n  \"signature\": {},\n  \"payload\": {}\n}}\n",
            v["signature"],
            String::from_utf8(e.signed().payload().to_vec()).unwrap()
        );
        assert_eq!(SignedEntry::from_json(pretty.as_bytes()).unwrap().id(), e.id());
    }

    #[test]
    fn unknown_kind_version_and_fields() {
        let (k, e) = sample();
        let p = String::from_utf8(e.signed().payload().to_vec()).unwrap();
        let resign = |s: String| {
            let mut m = ENTRY_TAG.to_vec();
            m.extend_from_slice(s.as_bytes());
            SignedEntry::from_parts(s.into_bytes(), k.sign(&m))
        };
        let err = resign(p.replace("\"kind\":\"attestation\"", "\"kind\":\"certificate\""))
            .verify()
            .unwrap_err();
        assert!(
            matches!(err, EntryError::Decode(DecodeError::UnknownKind(ref k)) if k == "certificate"),
            "{err:?}"
        );
        let err = resign(p.replace("\"version\":1", "\"version\":2"))
            .verify()
            .unwrap_err();
        assert!(
            matches!(err, EntryError::Decode(DecodeError::UnsupportedVersion(2))),
            "{err:?}"
        );
        let err = resign(p.replacen("{\"body\":", "{\"aaa\":1,\"body\":", 1))
            .verify()
            .unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn an_explicit_empty_list_is_a_second_encoding_and_refused() {
        let (k, e) = sample();
        let p = String::from_utf8(e.signed().payload().to_vec()).unwrap();
        let with_empty = p.replacen("{\"body\":{", "{\"body\":{\"crossSectoralStandards\":[],", 1);
        let mut m = ENTRY_TAG.to_vec();
        m.extend_from_slice(with_empty.as_bytes());
        let se = SignedEntry::from_parts(with_empty.into_bytes(), k.sign(&m));
        assert!(matches!(
            se.verify(),
            Err(EntryError::Decode(DecodeError::Canonical(_)))
        ));
    }

    #[test]
    fn stored_bytes_decode_to_what_a_full_decode_gives() {
        let (_, e) = sample();
        assert_eq!(e.signed().decode_stored().unwrap(), e.signed().decode().unwrap());
        // Bytes that do not read fall back to the full decode, and its error.
        let bad = SignedEntry::from_parts(b"{\"x\":1}".to_vec(), *e.signed().signature());
        assert_eq!(bad.decode_stored(), bad.decode());
        assert!(bad.decode_stored().is_err());
    }

    #[test]
    fn wrong_signature_is_refused() {
        let (_, e) = sample();
        let mut sig = *e.signed().signature();
        sig.0[0] ^= 1;
        let se = SignedEntry::from_parts(e.signed().payload().to_vec(), sig);
        assert!(matches!(
            se.verify(),
            Err(EntryError::Signature(SignatureError::Invalid))
        ));
    }

    #[test]
    fn truncated_envelopes_are_refused() {
        let (_, e) = sample();
        let json = e.signed().to_json();
        for n in [0, 1, 10, json.len() / 2, json.len() - 1] {
            assert!(SignedEntry::from_json(&json[..n]).is_err());
        }
    }
}
