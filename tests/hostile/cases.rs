//! The catalogue of hostile requests, as data, and the one driver that runs it.

use std::time::{Duration, Instant};

use greenledger_core::{SecretKey, SignedEntry, canonical};
use greenledger_testkit::{Chain, attestation, genesis, sign_bytes};
use serde_json::{Value, json};

use crate::{
    Fixture,
    raw::{self, EXCHANGE_TIMEOUT, Reply},
};

/// One hostile request and what the node must answer.
pub(crate) struct Case {
    /// What the case is, for the report.
    name: String,
    /// The method, as sent (any bytes the request line may carry).
    method: &'static str,
    /// The request target, as sent (may hold bytes that are not UTF-8).
    path: Vec<u8>,
    /// Extra header lines (the driver adds `Host`, `Connection: close` and, for bodies,
    /// `Content-Length` unless these set a length).
    headers: Vec<(&'static str, Vec<u8>)>,
    /// The body.
    body: Vec<u8>,
    /// The whole request, when the fields above cannot say it (bad request lines, HTTP/1.0,
    /// no `Host`); overrides them.
    raw: Option<Vec<u8>>,
    /// The accepted statuses, inclusive.
    status: (u16, u16),
    /// The error code the JSON body must carry (for a 2xx answer: its `status` field).
    code: Option<&'static str>,
    /// The node may instead close the connection without answering (a body too large to read).
    refusal_ok: bool,
}

const JSON: (&str, &[u8]) = ("Content-Type", b"application/json");

fn case(
    name: &str,
    method: &'static str,
    path: impl Into<Vec<u8>>,
    status: (u16, u16),
    code: Option<&'static str>,
) -> Case {
    Case {
        name: name.to_string(),
        method,
        path: path.into(),
        headers: Vec::new(),
        body: Vec::new(),
        raw: None,
        status,
        code,
        refusal_ok: false,
    }
}

/// `GET path`.
fn get(name: &str, path: impl Into<Vec<u8>>, status: (u16, u16), code: Option<&'static str>) -> Case {
    case(name, "GET", path, status, code)
}

/// `POST /v1/entries` with `Content-Type: application/json`.
fn submit(name: &str, body: impl Into<Vec<u8>>, status: (u16, u16), code: Option<&'static str>) -> Case {
    let mut c = case(name, "POST", "/v1/entries", status, code);
    c.headers.push((JSON.0, JSON.1.to_vec()));
    c.body = body.into();
    c
}

/// A request given byte for byte.
fn raw_case(name: &str, bytes: impl Into<Vec<u8>>, status: (u16, u16), code: Option<&'static str>) -> Case {
    let mut c = case(name, "", "", status, code);
    c.raw = Some(bytes.into());
    c
}

impl Case {
    fn header(mut self, name: &'static str, value: impl Into<Vec<u8>>) -> Case {
        self.headers.push((name, value.into()));
        self
    }

    fn without_headers(mut self) -> Case {
        self.headers.clear();
        self
    }

    fn refusal_ok(mut self) -> Case {
        self.refusal_ok = true;
        self
    }

    fn bytes(&self) -> Vec<u8> {
        if let Some(r) = &self.raw {
            return r.clone();
        }
        let headers: Vec<(&str, &[u8])> = self.headers.iter().map(|(n, v)| (*n, v.as_slice())).collect();
        raw::request(self.method, &self.path, &headers, &self.body)
    }
}

const E400: (u16, u16) = (400, 400);
const E404: (u16, u16) = (404, 404);
const E405: (u16, u16) = (405, 405);
const E413: (u16, u16) = (413, 413);
const E415: (u16, u16) = (415, 415);
const E422: (u16, u16) = (422, 422);
const E4XX: (u16, u16) = (400, 499);
const DUPLICATE: (u16, u16) = (200, 200);

/// An envelope with its payload bytes and signature text given as they stand.
fn envelope(payload: &[u8], signature: &str) -> Vec<u8> {
    let mut v = b"{\"payload\":".to_vec();
    v.extend_from_slice(payload);
    v.extend_from_slice(format!(",\"signature\":\"{signature}\"}}").as_bytes());
    v
}

/// The payload text of a signed entry.
fn payload_text(se: &SignedEntry) -> String {
    String::from_utf8(se.payload().to_vec()).unwrap()
}

/// `text` with `from` replaced once; panics if `from` is not there (the case would test nothing).
#[track_caller]
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in {text}");
    text.replacen(from, to, 1)
}

/// The catalogue. `f` provides valid entries to replay and tamper with, and the supplier's
/// key to sign entries that are well signed but invalid.
pub(crate) fn catalogue(f: &Fixture) -> Vec<Case> {
    let admit = &f.valid[0];
    let ore = &f.valid[1];
    let ore_json = String::from_utf8(ore.to_json()).unwrap();
    let ore_payload = payload_text(ore);
    let ore_sig = ore.signature().to_hex();
    let id = ore.id().to_hex();
    // The supplier's next entry, valid as it stands; variants of it are signed below.
    let next = f.supplier.payload_at(
        f.supplier.seq,
        f.supplier.prev,
        attestation("urn:greenledger:hostile:next", 1_000_000, &[]),
    );
    let next = String::from_utf8(next.to_canonical().unwrap()).unwrap();
    let signed = |payload: &str| sign_bytes(&f.supplier.key, payload.as_bytes()).to_json();
    let next_value: Value = serde_json::from_str(&next).unwrap();
    // The next entry with one edit, in canonical form, well signed.
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut v = next_value.clone();
        edit(&mut v);
        signed(&String::from_utf8(canonical::to_canonical(&v).unwrap()).unwrap())
    };

    // The same attestation for another consortium, signed by the same key.
    let other = genesis("another-net", &[f.env.admin.public_key()]);
    let mut foreign = Chain::new(SecretKey::generate(), &other);
    foreign.seq = f.supplier.seq;
    foreign.prev = f.supplier.prev;
    let foreign_entry = foreign.attest("urn:greenledger:hostile:next", 1_000_000, &[]);

    // One bit of the signature flipped; one digit of the payload changed.
    let mut sig_bytes = from_hex(&ore_sig);
    sig_bytes[10] ^= 0x01;
    let flipped_sig = to_hex(&sig_bytes);
    let mut high_s = from_hex(&ore_sig);
    high_s[63] |= 0xf0; // S far above the group order: never canonical
    let high_s = to_hex(&high_s);
    let flipped_payload = replace_once(&ore_payload, "\"250000\"", "\"250001\"");

    let long_method: &'static str = "M".repeat(10_000).leak();
    let long_urn = format!("urn:greenledger:{}", "x".repeat(10_000));
    let huge = vec![b' '; 3 << 20];
    let mut big_payload = format!("{{\"pad\":\"{}\"}}", "a".repeat((1 << 20) + 10)).into_bytes();
    big_payload = envelope(&big_payload, &ore_sig);
    let deep_in_payload = format!("{{\"a\":{}1{}}}", "[".repeat(120), "]".repeat(120));

    let mut chunked_huge = b"POST /v1/entries HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..48 {
        chunked_huge.extend_from_slice(format!("{:x}\r\n", 64 * 1024).as_bytes());
        chunked_huge.extend_from_slice(&[b' '; 64 * 1024]);
        chunked_huge.extend_from_slice(b"\r\n");
    }
    chunked_huge.extend_from_slice(b"0\r\n\r\n");

    let many_headers: String = (0..200).map(|i| format!("X-Filler-{i}: {i}\r\n")).collect();
    let utf16: Vec<u8> = ore_json.encode_utf16().flat_map(u16::to_le_bytes).collect();

    vec![
        // --- Malformed JSON ---
        submit("truncated object", "{\"payload\":", E400, Some("malformed_json")),
        submit("not JSON at all", "hello, node", E400, Some("malformed_json")),
        submit("a JSON string", "\"entry\"", E400, Some("malformed_entry")),
        submit("JSON null", "null", E400, Some("malformed_entry")),
        submit(
            "NaN literal",
            "{\"payload\":NaN,\"signature\":\"00\"}",
            E400,
            Some("malformed_json"),
        ),
        submit(
            "valid entry then trailing garbage",
            format!("{ore_json}xyz"),
            E400,
            Some("malformed_json"),
        ),
        submit("two JSON objects", "{} {}", E400, Some("malformed_json")),
        submit(
            "a comment before the object",
            format!("/* hi */{ore_json}"),
            E400,
            Some("malformed_json"),
        ),
        submit(
            "single-quoted keys",
            "{'payload':{},'signature':'00'}",
            E400,
            Some("malformed_json"),
        ),
        submit(
            "duplicate envelope key",
            format!("{{\"payload\":{ore_payload},\"payload\":{ore_payload},\"signature\":\"{ore_sig}\"}}"),
            E400,
            Some("malformed_entry"),
        ),
        submit(
            "lone surrogate in a payload string",
            envelope(br#"{"a":"\ud800"}"#, &ore_sig),
            E400,
            Some("malformed_json"),
        ),
        submit(
            "a megabyte of whitespace",
            vec![b' '; 1 << 20],
            E400,
            Some("empty_body"),
        ),
        // --- Deep nesting ---
        submit("100k nested arrays", "[".repeat(100_000), E400, Some("malformed_json")),
        submit(
            "50k nested objects",
            "{\"a\":".repeat(50_000),
            E400,
            Some("malformed_json"),
        ),
        submit(
            "120 nested arrays inside the payload",
            envelope(deep_in_payload.as_bytes(), &ore_sig),
            E400,
            Some("invalid_field"),
        ),
        // --- Huge bodies ---
        submit("3 MiB body with its length", huge, E413, Some("payload_too_large")).refusal_ok(),
        raw_case("3 MiB chunked body", chunked_huge, E413, Some("payload_too_large")).refusal_ok(),
        submit(
            "payload over 1 MiB in a body under the limit",
            big_payload,
            E400,
            Some("malformed_entry"),
        ),
        submit(
            "announced length of 1 TiB, nothing sent",
            "",
            E413,
            Some("payload_too_large"),
        )
        .header("Content-Length", (1u64 << 40).to_string()),
        submit("length beyond 64 bits", "", E400, None).header("Content-Length", "99999999999999999999999"),
        submit(
            "3 MiB announced with Expect: 100-continue",
            "",
            E413,
            Some("payload_too_large"),
        )
        .header("Content-Length", (3u64 << 20).to_string())
        .header("Expect", "100-continue"),
        // --- Content types and encodings ---
        submit(
            "no content type",
            ore_json.clone(),
            E415,
            Some("unsupported_media_type"),
        )
        .without_headers(),
        submit(
            "form content type",
            ore_json.clone(),
            E415,
            Some("unsupported_media_type"),
        )
        .without_headers()
        .header("Content-Type", "application/x-www-form-urlencoded"),
        submit(
            "multipart content type",
            ore_json.clone(),
            E415,
            Some("unsupported_media_type"),
        )
        .without_headers()
        .header("Content-Type", "multipart/form-data; boundary=x"),
        submit(
            "content type list",
            ore_json.clone(),
            E415,
            Some("unsupported_media_type"),
        )
        .without_headers()
        .header("Content-Type", "application/json, text/plain"),
        submit(
            "content type with a non-ASCII byte",
            ore_json.clone(),
            E415,
            Some("unsupported_media_type"),
        )
        .without_headers()
        .header("Content-Type", b"application/j\xffson".to_vec()),
        submit(
            "gzip content encoding",
            ore_json.clone(),
            E415,
            Some("unsupported_media_type"),
        )
        .header("Content-Encoding", "gzip"),
        // --- Invalid UTF-8 in the body ---
        submit(
            "raw invalid UTF-8",
            b"\xff\xfe\xfd".to_vec(),
            E400,
            Some("malformed_json"),
        ),
        submit(
            "invalid UTF-8 inside a payload string",
            envelope(b"{\"a\":\"\xff\"}", &ore_sig),
            E400,
            Some("malformed_entry"),
        ),
        submit("the entry in UTF-16", utf16, E400, Some("malformed_json")),
        // --- Invalid hex and base64 in entry fields (unsigned changes: refused as they decode) ---
        submit(
            "base64 signature",
            envelope(
                ore_payload.as_bytes(),
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==",
            ),
            E400,
            Some("malformed_signature"),
        ),
        submit(
            "short signature",
            envelope(ore_payload.as_bytes(), &ore_sig[2..]),
            E400,
            Some("malformed_signature"),
        ),
        submit(
            "uppercase signature",
            envelope(ore_payload.as_bytes(), &ore_sig.to_uppercase()),
            E400,
            Some("malformed_signature"),
        ),
        submit(
            "non-hex signature",
            envelope(ore_payload.as_bytes(), &format!("zz{}", &ore_sig[2..])),
            E400,
            Some("malformed_signature"),
        ),
        submit(
            "numeric signature",
            format!("{{\"payload\":{ore_payload},\"signature\":12}}"),
            E400,
            Some("malformed_entry"),
        ),
        submit(
            "missing signature",
            format!("{{\"payload\":{ore_payload}}}"),
            E400,
            Some("malformed_entry"),
        ),
        submit(
            "unknown envelope field",
            format!("{{\"payload\":{ore_payload},\"signature\":\"{ore_sig}\",\"extra\":1}}"),
            E400,
            Some("malformed_entry"),
        ),
        submit(
            "payload is an array",
            envelope(b"[1,2]", &ore_sig),
            E400,
            Some("malformed_entry"),
        ),
        submit(
            "network id not hex",
            envelope(
                ore_payload
                    .replace(&f.env.network_id, &format!("zz{}", &f.env.network_id[2..]))
                    .as_bytes(),
                &ore_sig,
            ),
            E400,
            Some("invalid_field"),
        ),
        submit(
            "signer in uppercase hex",
            envelope(
                ore_payload
                    .replace(&f.supplier_public(), &f.supplier_public().to_uppercase())
                    .as_bytes(),
                &ore_sig,
            ),
            E400,
            Some("invalid_field"),
        ),
        submit(
            "network id one byte short",
            envelope(
                ore_payload
                    .replace(&f.env.network_id, &f.env.network_id[2..])
                    .as_bytes(),
                &ore_sig,
            ),
            E400,
            Some("invalid_field"),
        ),
        // --- Tampering: well formed, not signed by the signer ---
        submit(
            "one signature bit flipped",
            envelope(ore_payload.as_bytes(), &flipped_sig),
            E422,
            Some("invalid_signature"),
        ),
        submit(
            "one payload digit changed",
            envelope(flipped_payload.as_bytes(), &ore_sig),
            E422,
            Some("invalid_signature"),
        ),
        submit(
            "another entry's signature",
            envelope(ore_payload.as_bytes(), &admit.signature().to_hex()),
            E422,
            Some("invalid_signature"),
        ),
        submit(
            "all-zero signature",
            envelope(ore_payload.as_bytes(), &"0".repeat(128)),
            E422,
            Some("invalid_signature"),
        ),
        submit(
            "non-canonical S",
            envelope(ore_payload.as_bytes(), &high_s),
            E422,
            Some("invalid_signature"),
        ),
        // --- Well signed, but invalid ---
        submit(
            "another network's entry",
            foreign_entry.signed().to_json(),
            E422,
            Some("wrong_network"),
        ),
        submit(
            "unknown payload field",
            with(&|v| v["colour"] = json!("green")),
            E400,
            Some("invalid_field"),
        ),
        submit(
            "unknown body field",
            with(&|v| v["body"]["colour"] = json!("green")),
            E400,
            Some("invalid_field"),
        ),
        submit(
            "seq 0",
            signed(&replace_once(&next, "\"seq\":3", "\"seq\":0")),
            E400,
            Some("invalid_field"),
        ),
        submit(
            "seq -1",
            signed(&replace_once(&next, "\"seq\":3", "\"seq\":-1")),
            E400,
            Some("invalid_field"),
        ),
        submit(
            "seq 2^53",
            signed(&replace_once(&next, "\"seq\":3", "\"seq\":9007199254740992")),
            E400,
            Some("invalid_field"),
        ),
        submit(
            "seq 2^64",
            signed(&replace_once(&next, "\"seq\":3", "\"seq\":18446744073709551616")),
            E400,
            Some("invalid_field"),
        ),
        submit(
            "seq 3.0",
            signed(&replace_once(&next, "\"seq\":3", "\"seq\":3.0")),
            E400,
            Some("invalid_field"),
        ),
        submit(
            "seq as a string",
            signed(&replace_once(&next, "\"seq\":3", "\"seq\":\"3\"")),
            E400,
            Some("invalid_field"),
        ),
        submit(
            "seq 1e400",
            signed(&replace_once(&next, "\"seq\":3", "\"seq\":1e400")),
            E400,
            Some("malformed_json"),
        ),
        submit(
            "mass beyond 64 bits",
            signed(&next.replace("\"1000000\"", "\"99999999999999999999999\"")),
            E400,
            Some("invalid_field"),
        ),
        submit(
            "roll-up overflow",
            with(&|v| {
                v["body"]["own"]["pcfExcludingBiogenicUptake"] = json!("9223372036854775807");
                v["body"]["total"]["pcfExcludingBiogenicUptake"] = json!("9223372036854775807");
                v["body"]["inputs"] = json!([{"entry": id, "quantity": "9223372036854775807"}]);
            }),
            E422,
            Some("rollup_mismatch"),
        ),
        submit(
            "unknown kind",
            with(&|v| v["kind"] = json!("certificate")),
            E400,
            Some("unknown_kind"),
        ),
        submit(
            "version 2",
            with(&|v| v["version"] = json!(2)),
            E400,
            Some("unsupported_version"),
        ),
        submit(
            "timestamp not RFC 3339",
            with(&|v| v["timestamp"] = json!("yesterday")),
            E400,
            Some("invalid_field"),
        ),
        submit(
            "part URN of 10 kB",
            with(&|v| v["body"]["part"] = json!(long_urn)),
            E400,
            Some("invalid_field"),
        ),
        submit(
            "seq gap after a known prev",
            signed(&replace_once(&next, "\"seq\":3", "\"seq\":7")),
            (409, 409),
            Some("chain_mismatch"),
        ),
        // --- Replays: acknowledged again, never stored twice ---
        submit("replayed attestation", ore_json.clone(), DUPLICATE, Some("duplicate")),
        submit("replayed admission", admit.to_json(), DUPLICATE, Some("duplicate")),
        submit(
            "replay wrapped in whitespace",
            format!("\n  {ore_json}  \n"),
            DUPLICATE,
            Some("duplicate"),
        ),
        submit(
            "replay with a byte-order mark",
            [&b"\xef\xbb\xbf"[..], ore_json.as_bytes()].concat(),
            DUPLICATE,
            Some("duplicate"),
        ),
        // --- Query parameters on /v1/log ---
        get("log from=-1", "/v1/log?from=-1", E400, Some("invalid_query")),
        get(
            "log limit=999999999",
            "/v1/log?limit=999999999",
            E400,
            Some("invalid_query"),
        ),
        get("log from=abc", "/v1/log?from=abc", E400, Some("invalid_query")),
        get("log from= (no value)", "/v1/log?from=", E400, Some("invalid_query")),
        get("log limit=0", "/v1/log?limit=0", E400, Some("invalid_query")),
        get(
            "log from=2^64",
            "/v1/log?from=18446744073709551616",
            E400,
            Some("invalid_query"),
        ),
        get(
            "log entries=maybe",
            "/v1/log?entries=maybe",
            E400,
            Some("invalid_query"),
        ),
        get("log from twice", "/v1/log?from=1&from=2", E400, Some("invalid_query")),
        get("log limit=%FF", "/v1/log?limit=%FF", E400, Some("invalid_query")),
        get(
            "log from=u64::MAX (empty page)",
            "/v1/log?from=18446744073709551615&limit=1000",
            (200, 200),
            None,
        ),
        get(
            "consumers limit=-5",
            format!("/v1/entries/{id}/consumers?limit=-5"),
            E400,
            Some("invalid_query"),
        ),
        // --- Odd ids and path segments ---
        get("id ..", "/v1/entries/..", E400, Some("invalid_id")),
        get("id %2e%2e", "/v1/entries/%2e%2e", E400, Some("invalid_id")),
        get("id %00", "/v1/entries/%00", E400, Some("invalid_id")),
        get(
            "id of 1000 characters",
            format!("/v1/entries/{}", "a".repeat(1000)),
            E400,
            Some("invalid_id"),
        ),
        get(
            "id of 100k characters",
            format!("/v1/entries/{}", "a".repeat(100_000)),
            (414, 414),
            None,
        ),
        get(
            "id of 32 × é",
            format!("/v1/entries/{}", "%C3%A9".repeat(32)),
            E400,
            Some("invalid_id"),
        ),
        get(
            "id of 63 hex",
            format!("/v1/entries/{}", &id[1..]),
            E400,
            Some("invalid_id"),
        ),
        get("id of 65 hex", format!("/v1/entries/{id}0"), E400, Some("invalid_id")),
        get(
            "id in uppercase hex",
            format!("/v1/entries/{}", id.to_uppercase()),
            E400,
            Some("invalid_id"),
        ),
        get("id %FF%FE (not UTF-8)", "/v1/entries/%FF%FE", E400, Some("bad_request")),
        get("raw 0xFF in the path", b"/v1/entries/\xff\xfe".to_vec(), E400, None),
        get("raw 0xFF in the query", b"/v1/log?from=\xff".to_vec(), E400, None),
        get(
            "dot-dot traversal",
            "/v1/entries/../../etc/passwd",
            E404,
            Some("not_found"),
        ),
        get(
            "encoded traversal",
            "/v1/entries/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            E400,
            Some("invalid_id"),
        ),
        get(
            "provenance of 65 hex",
            format!("/v1/provenance/{id}0"),
            E400,
            Some("invalid_id"),
        ),
        get(
            "signer of 63 hex",
            format!("/v1/signers/{}", &id[1..]),
            E400,
            Some("invalid_public_key"),
        ),
        get(
            "signer in uppercase hex",
            format!("/v1/signers/{}", f.supplier_public().to_uppercase()),
            E400,
            Some("invalid_public_key"),
        ),
        get(
            "part URN of 10 kB",
            format!("/v1/parts/{long_urn}"),
            E400,
            Some("invalid_part"),
        ),
        get("part %00", "/v1/parts/urn:x:%00", E400, Some("invalid_part")),
        get(
            "extra segment after consumers",
            format!("/v1/entries/{id}/consumers/extra"),
            E404,
            Some("not_found"),
        ),
        get("doubled slashes", "//v1//health", E404, Some("not_found")),
        // --- Methods ---
        case("PUT entries", "PUT", "/v1/entries", E405, Some("method_not_allowed")),
        case(
            "DELETE an entry",
            "DELETE",
            format!("/v1/entries/{id}"),
            E405,
            Some("method_not_allowed"),
        ),
        case("PATCH log", "PATCH", "/v1/log", E405, Some("method_not_allowed")),
        case("POST health", "POST", "/v1/health", E405, Some("method_not_allowed")),
        case(
            "POST to an entry",
            "POST",
            format!("/v1/entries/{id}"),
            E405,
            Some("method_not_allowed"),
        ),
        case(
            "OPTIONS entries",
            "OPTIONS",
            "/v1/entries",
            E405,
            Some("method_not_allowed"),
        ),
        case("TRACE health", "TRACE", "/v1/health", E405, Some("method_not_allowed")),
        case("made-up method", "BREW", "/v1/health", E405, Some("method_not_allowed")),
        case(
            "method name of 10 kB",
            long_method,
            "/v1/health",
            E405,
            Some("method_not_allowed"),
        ),
        raw_case(
            "CONNECT",
            "CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n",
            E404,
            Some("not_found"),
        ),
        // --- Headers ---
        raw_case(
            "200 header lines",
            format!("GET /v1/health HTTP/1.1\r\nHost: x\r\n{many_headers}Connection: close\r\n\r\n"),
            (431, 431),
            None,
        ),
        get("one 600 kB header", "/v1/health", (431, 431), None)
            .header("X-Big", "b".repeat(600 << 10))
            .refusal_ok(),
        raw_case(
            "header line without a colon",
            "GET /v1/health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
            E400,
            None,
        ),
        raw_case(
            "NUL in a header value",
            "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n",
            E400,
            None,
        ),
        submit("two different lengths", ore_json.clone(), E400, None)
            .header("Content-Length", ore_json.len().to_string())
            .header("Content-Length", "5"),
        submit("length and chunked together", "0\r\n\r\n", E400, Some("empty_body"))
            .header("Content-Length", "5")
            .header("Transfer-Encoding", "chunked"),
        submit("negative length", "", E400, None).header("Content-Length", "-1"),
        submit("length not a number", "", E400, None).header("Content-Length", "ten"),
        submit("unknown transfer coding", "", E4XX, None).header("Transfer-Encoding", "gzip"),
        submit(
            "malformed chunk size",
            "zz\r\nabc\r\n0\r\n\r\n",
            E400,
            Some("unreadable_body"),
        )
        .header("Transfer-Encoding", "chunked")
        .refusal_ok(),
        // --- Protocol versions, Host, request lines ---
        raw_case(
            "HTTP/1.0 with no Host, bad id",
            "GET /v1/entries/zz HTTP/1.0\r\n\r\n",
            E400,
            Some("invalid_id"),
        ),
        raw_case(
            "HTTP/1.1 with no Host, bad query",
            "GET /v1/log?limit=0 HTTP/1.1\r\nConnection: close\r\n\r\n",
            E400,
            Some("invalid_query"),
        ),
        raw_case(
            "HTTP/1.0 POST of garbage",
            "POST /v1/entries HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{{{{{",
            E400,
            Some("malformed_json"),
        ),
        raw_case(
            "absolute URI naming another host",
            "GET http://evil.example/v1/entries/zz HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
            E400,
            Some("invalid_id"),
        ),
        raw_case("request line of garbage", "HELLO\r\n\r\n", E400, None),
        raw_case("HTTP/9.9", "GET /v1/health HTTP/9.9\r\nHost: x\r\n\r\n", E4XX, None),
        raw_case(
            "HTTP/2 preface on HTTP/1",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            E4XX,
            None,
        )
        .refusal_ok(),
        raw_case(
            "asterisk target",
            "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            E404,
            Some("not_found"),
        ),
    ]
}

impl Fixture {
    /// The supplier's public key, hex.
    fn supplier_public(&self) -> String {
        to_hex(self.supplier.public().as_bytes())
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// What went wrong with one case, if anything.
fn check(case: &Case, r: &Reply) -> Result<(), String> {
    if r.timed_out {
        return Err(format!("no answer within {EXCHANGE_TIMEOUT:?} (a hang)"));
    }
    let Some(status) = r.status else {
        if case.refusal_ok && r.closed {
            return Ok(());
        }
        return Err("the connection closed without an answer".into());
    };
    if status >= 500 {
        return Err(format!("server error {status}"));
    }
    if status < case.status.0 || status > case.status.1 {
        return Err(format!(
            "status {status}, expected {}..={}",
            case.status.0, case.status.1
        ));
    }
    if status < 300 {
        if let Some(want) = case.code {
            let got = r.json().map(|v| v["status"].clone()).unwrap_or_default();
            if got != want {
                return Err(format!("answer status {got}, expected {want:?}"));
            }
        }
        return Ok(());
    }
    if status >= 400 && (!r.body.is_empty() || case.code.is_some()) {
        let Some(v) = r.json() else {
            return Err("the error body is not JSON".into());
        };
        let code = v["error"]["code"].as_str().unwrap_or("");
        let message = v["error"]["message"].as_str().unwrap_or("");
        if code.is_empty() || message.trim().is_empty() {
            return Err(format!("not the API's error shape: {v}"));
        }
        if message.len() > 2000 {
            return Err(format!("the message is {} bytes long", message.len()));
        }
        if let Some(want) = case.code
            && code != want
        {
            return Err(format!("error code {code:?}, expected {want:?} ({message})"));
        }
        if !r
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
        {
            return Err(format!(
                "error body without Content-Type: application/json ({:?})",
                r.header("content-type")
            ));
        }
    }
    Ok(())
}

/// Runs the catalogue against one node; asserts every case and the state at the end.
pub(crate) fn run_catalogue() {
    let started = Instant::now();
    let mut f = Fixture::new();
    let cases = catalogue(&f);
    let mut failures = Vec::new();
    for case in &cases {
        let r = raw::exchange(&f.addr, &case.bytes(), EXCHANGE_TIMEOUT);
        let verdict = check(case, &r);
        let (hs, hj, took) = raw::health(&f.addr, Duration::from_secs(5));
        let verdict = verdict.and_then(|()| {
            if hs != Some(200) || hj.as_ref().and_then(|h| h["status"].as_str()) != Some("ok") {
                Err(format!("GET /v1/health afterwards: {hs:?} {hj:?} after {took:?}"))
            } else {
                Ok(())
            }
        });
        match verdict {
            Ok(()) => eprintln!(
                "ok    {:<50} {:?} {}",
                case.name,
                r.status,
                r.json().map(|v| v["error"]["code"].to_string()).unwrap_or_default()
            ),
            Err(why) => {
                eprintln!("FAIL  {:<50} {why}; {}", case.name, r.describe());
                failures.push(format!("{}: {why}; {}", case.name, r.describe()));
            }
        }
    }

    // The node still takes a valid entry after all that.
    let last = f.supplier.attest("urn:greenledger:hostile:after", 5_000, &[]);
    f.submit_valid(&last);

    // The log holds exactly the valid entries, once each, and verifies.
    let size = f.node.log_size();
    let (_, log) = f.node.get("/v1/log?from=0&limit=1000");
    let logged: Vec<String> = log["records"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["id"].as_str().map(String::from)).collect())
        .unwrap_or_default();
    let want: Vec<String> = f.valid.iter().map(|e| e.id().to_hex()).collect();
    let verify = f.env.run(&["log", "verify", "--node", &f.node.url]);
    // Made-up method names do not become metric series (each would be kept forever).
    let (_, metrics) = f.node.get_raw("/metrics");
    let metrics = String::from_utf8_lossy(&metrics).into_owned();
    let invented_series = metrics
        .lines()
        .filter(|l| l.contains("method=\"BREW\"") || l.contains("MMMM"))
        .count();

    let passed = cases.len() - failures.len();
    eprintln!(
        "hostile_http: {} cases tried, {passed} passed; log size {size} (valid entries submitted: {}); {:.1} s",
        cases.len(),
        f.valid.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(cases.len() >= 40, "the catalogue has only {} cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(size, f.valid.len() as u64, "log size vs valid entries; log: {log}");
    assert_eq!(logged, want, "the log holds exactly the valid entries, in order");
    assert_eq!(invented_series, 0, "made-up methods became metric labels");
    assert!(
        metrics.contains("method=\"other\""),
        "no method=\"other\" series in /metrics"
    );
    verify.ok().stdout_has("VALID");
}
