//! Route handlers.

use std::time::{Duration, Instant};

use axum::{
    Json,
    body::Body,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use greenledger_core::{
    EntryId, PublicKey, SignedEntry, VerifiedEntry,
    api::{
        CheckpointInfo, Conflicts, Consumers, EntryInfo, Health, HolderLots, ItemBody, ItemResult, LogPage, LogRecord,
        LotInfo, NetworkInfo, PartInfo, PendingEntry, PendingList, SignerInfo, SubmitStatus, Submitted,
    },
    custody::LotId,
};
use serde::Deserialize;
use serde_json::{Value, json, value::RawValue};
use tracing::Instrument;

use super::{ApiError, AppState};
use crate::{
    read::Reader,
    store::{Checkpoint, IngestError, Outcome},
};

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn parse_id(s: &str) -> Result<EntryId, ApiError> {
    s.parse()
        .map_err(|e: greenledger_core::error::IdError| ApiError::bad_request("invalid_id", e.to_string()))
}

/// `POST /v1/entries`: submit one signed entry (its JSON envelope).
pub(crate) async fn submit(State(st): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let (ct, media) = super::content_type(&headers);
    if media != "application/json" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "send the entry as JSON with Content-Type: application/json (got {:?})",
                if ct.is_empty() { "none" } else { ct }
            ),
        ));
    }
    if let Some(enc) = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok())
        && !enc.trim().eq_ignore_ascii_case("identity")
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("Content-Encoding {enc:?} is not accepted; send the entry uncompressed"),
        ));
    }
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {} bytes", st.max_body),
        )
    };
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > st.max_body
    {
        return Err(too_large());
    }
    let bytes = match axum::body::to_bytes(body, st.max_body).await {
        Ok(b) => b,
        Err(e) if format!("{e:?}").contains("LengthLimit") => return Err(too_large()),
        Err(e) => {
            // The cause (a stalled client, a connection closed early) is at the end of the chain.
            let mut cause = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(inner) = source {
                let text = inner.to_string();
                if !cause.contains(&text) {
                    cause = format!("{cause}: {text}");
                }
                source = inner.source();
            }
            return Err(ApiError::bad_request(
                "unreadable_body",
                format!(
                    "cannot read the request body ({cause}); send the whole body without pausing, exactly as long as Content-Length or the chunked encoding says"
                ),
            ));
        }
    };
    // A byte-order mark from some editors: the entry format allows it, so the JSON check must.
    let bytes = match bytes.strip_prefix(b"\xef\xbb\xbf") {
        Some(rest) => bytes.slice(bytes.len() - rest.len()..),
        None => bytes,
    };
    let start = Instant::now();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "empty_body",
            "the body is empty; send a signed entry envelope {\"payload\":…,\"signature\":…}",
        ));
    }
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
        return Err(ApiError::bad_request(
            "malformed_json",
            format!("the body is not valid JSON ({e}); it may be truncated"),
        ));
    }
    // An array of envelopes: each answered as it would be alone, all once durable.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return submit_array(&st, &bytes).await;
    }
    let parsed = SignedEntry::from_json(&bytes);
    // One entry's path (HTTP, the writer, gossip on other nodes) under its id, at debug level.
    let span = match &parsed {
        Ok(se) => tracing::debug_span!("entry", id = %se.id().fmt_short()),
        Err(_) => tracing::Span::none(),
    };
    let result = async {
        let se = parsed?;
        let verified = st.store.verifier().verify(se).await?;
        tracing::debug!("signature verified");
        let id = verified.id();
        let mut outcomes = ingest_and_publish(&st, vec![verified]).await;
        let outcome = outcomes.pop().unwrap_or(Err(IngestError::ShuttingDown))?;
        Ok::<_, ApiError>((id, outcome))
    }
    .instrument(span.clone())
    .await;
    let label = match &result {
        Ok((_, outcome)) => outcome_label(outcome),
        Err(e) => e.code,
    };
    span.in_scope(|| tracing::debug!(result = label, "submitted over HTTP"));
    st.metrics.count_ingest(label);
    let (id, outcome) = result?;
    st.metrics.ingest_latency.observe(start.elapsed().as_secs_f64());
    let (status, answer) = submitted(id, outcome);
    Ok((status, Json(answer)).into_response())
}

/// Most entries in one array submission.
pub(crate) const MAX_ARRAY: usize = 10_000;

/// `POST /v1/entries` with a JSON array of envelopes: one [`ItemResult`] per entry, in order,
/// each what submitting it alone would answer; verified in one batch, applied in the order
/// given in one group commit, answered once durable.
async fn submit_array(st: &AppState, bytes: &[u8]) -> Result<Response, ApiError> {
    let start = Instant::now();
    let items: Vec<&RawValue> = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            format!("an array submission is a JSON array of signed entry envelopes ({e})"),
        )
    })?;
    if items.is_empty() {
        return Err(ApiError::bad_request(
            "empty_body",
            "the array is empty; send one or more signed entry envelopes",
        ));
    }
    if items.len() > MAX_ARRAY {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_entries",
            format!(
                "{} entries in one array; send at most {MAX_ARRAY} per request",
                items.len()
            ),
        ));
    }
    let n = items.len();
    let mut results: Vec<Option<Result<(EntryId, Outcome), ApiError>>> = (0..n).map(|_| None).collect();
    let mut parsed = Vec::with_capacity(n);
    let mut at = Vec::with_capacity(n);
    for (i, raw) in items.iter().enumerate() {
        match SignedEntry::from_json(raw.get().as_bytes()) {
            Ok(se) => {
                parsed.push(se);
                at.push(i);
            }
            Err(e) => results[i] = Some(Err(e.into())),
        }
    }
    let mut verified = Vec::with_capacity(parsed.len());
    let mut kept = Vec::with_capacity(parsed.len());
    for (v, i) in st.store.verifier().verify_many(parsed).await.into_iter().zip(at) {
        match v {
            Ok(v) => {
                verified.push(v);
                kept.push(i);
            }
            Err(e) => results[i] = Some(Err(e.into())),
        }
    }
    let ids: Vec<EntryId> = verified.iter().map(|v| v.id()).collect();
    let outcomes = ingest_and_publish(st, verified).await;
    for ((i, id), r) in kept.into_iter().zip(ids).zip(outcomes) {
        results[i] = Some(r.map(|o| (id, o)).map_err(ApiError::from));
    }
    let answers: Vec<ItemResult> = results
        .into_iter()
        .map(|r| {
            let r = r.unwrap_or_else(|| Err(ApiError::from(IngestError::ShuttingDown)));
            let label = match &r {
                Ok((_, o)) => outcome_label(o),
                Err(e) => e.code,
            };
            st.metrics.count_ingest(label);
            match r {
                Ok((id, o)) => {
                    let (status, body) = submitted(id, o);
                    ItemResult {
                        status: status.as_u16(),
                        body: ItemBody::Submitted(body),
                    }
                }
                Err(e) => ItemResult {
                    status: e.status.as_u16(),
                    body: ItemBody::Error(e.body()),
                },
            }
        })
        .collect();
    st.metrics.ingest_latency.observe(start.elapsed().as_secs_f64());
    Ok((StatusCode::OK, Json(answers)).into_response())
}

/// Hands verified entries to the writer; puts on gossip, as soon as the rules have decided,
/// each new entry and the evidence of a fork or a double issuance (the refused second entry); answers once durable.
async fn ingest_and_publish(st: &AppState, entries: Vec<VerifiedEntry>) -> Vec<Result<Outcome, IngestError>> {
    let n = entries.len();
    let envelopes: Vec<Vec<u8>> = match &st.network {
        Some(_) => entries.iter().map(|v| v.signed().to_json()).collect(),
        None => Vec::new(),
    };
    let Some((decided, durable)) = st.store.ingest_decided(entries).await else {
        return vec![Err(IngestError::ShuttingDown); n];
    };
    if let (Some(net), Ok(decisions)) = (&st.network, decided.await) {
        for (d, env) in decisions.iter().zip(envelopes) {
            let forwarded = match d {
                Ok(Outcome::Stored { .. }) => true,
                Err(e) => e.violation().is_some_and(|v| v.is_evidence()),
                Ok(_) => false,
            };
            if forwarded {
                net.publish(env);
            }
        }
    }
    durable
        .await
        .unwrap_or_else(|_| vec![Err(IngestError::ShuttingDown); n])
}

fn outcome_label(o: &Outcome) -> &'static str {
    match o {
        Outcome::Stored { .. } => "stored",
        Outcome::Duplicate { .. } => "duplicate",
        Outcome::Pending { .. } => "pending",
    }
}

/// The answer to a submission that the ledger took, and its HTTP status.
fn submitted(id: EntryId, outcome: Outcome) -> (StatusCode, Submitted) {
    let (status, log_index, code, missing) = match outcome {
        Outcome::Stored { log_index } => (StatusCode::CREATED, Some(log_index), SubmitStatus::Stored, None),
        Outcome::Duplicate { log_index } => (StatusCode::OK, Some(log_index), SubmitStatus::Duplicate, None),
        Outcome::Pending { missing } => (StatusCode::ACCEPTED, None, SubmitStatus::Pending, Some(missing)),
    };
    (
        status,
        Submitted {
            id,
            log_index,
            status: code,
            missing,
        },
    )
}

/// `GET /v1/entries/{id}`: one entry, its envelope verbatim, a summary and how it stands today.
pub(crate) async fn get_entry(State(st): State<AppState>, Path(id): Path<String>) -> Result<Json<EntryInfo>, ApiError> {
    let id = parse_id(&id)?;
    let Some(info) = Reader::new(&st.store).entry(&id)? else {
        if let Some(missing) = st.store.pending_missing(&id) {
            let list: Vec<String> = missing.iter().map(|m| m.to_hex()).collect();
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "pending",
                format!("entry {id} is waiting in the pending area for: {}", list.join(", ")),
            ));
        }
        return Err(ApiError::not_found(format!("no entry {id} on this node")));
    };
    Ok(Json(info))
}

#[derive(Deserialize)]
pub(crate) struct Paging {
    limit: Option<usize>,
}

/// `GET /v1/pending`: entries waiting for their prev, inputs or superseded entry.
pub(crate) async fn pending(State(st): State<AppState>) -> Json<PendingList> {
    let pending = st
        .store
        .pending_list(1000)
        .into_iter()
        .map(|(id, missing)| PendingEntry { id, missing })
        .collect();
    Json(PendingList { pending })
}

/// `GET /v1/entries/{id}/consumers`: attestations that use this entry as an input.
pub(crate) async fn consumers(
    State(st): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<Paging>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Consumers>, ApiError> {
    let Query(p) = q.map_err(|e| ApiError::bad_request("invalid_query", format!("{e}; use ?limit=N")))?;
    let id = parse_id(&id)?;
    if st.store.entry(&id)?.is_none() {
        return Err(ApiError::not_found(format!("no entry {id} on this node")));
    }
    let limit = p.limit.unwrap_or(1000).min(10_000);
    Ok(Json(Reader::new(&st.store).consumers(&id, limit)?))
}

/// `GET /v1/parts/{urn}`: the attestations for a part, and which are current.
pub(crate) async fn part(State(st): State<AppState>, Path(urn): Path<String>) -> Result<Json<PartInfo>, ApiError> {
    greenledger_core::model::check_part(&urn).map_err(|e| {
        let mut m = e.to_string();
        if m.len() > 300 {
            m = format!(
                "{}… (a part URN is at most {} bytes)",
                m.chars().take(200).collect::<String>(),
                greenledger_core::model::MAX_URN
            );
        }
        ApiError::bad_request("invalid_part", m)
    })?;
    match Reader::new(&st.store).part(&urn, 10_000)? {
        Some(p) => Ok(Json(p)),
        None => Err(ApiError::not_found(format!(
            "no attestation for part {urn} on this node"
        ))),
    }
}

/// `GET /v1/signers/{pubkey}`: membership, chain head and fork status.
pub(crate) async fn signer(State(st): State<AppState>, Path(key): Path<String>) -> Result<Json<SignerInfo>, ApiError> {
    let key: PublicKey = key
        .parse()
        .map_err(|e: greenledger_core::error::KeyError| ApiError::bad_request("invalid_public_key", e.to_string()))?;
    match Reader::new(&st.store).signer(&key)? {
        Some(s) => Ok(Json(s)),
        None => Err(ApiError::not_found(format!(
            "signer {key} is neither admitted nor known on this node"
        ))),
    }
}

/// `GET /v1/lots/{lot}`: a lot (`ENTRY_ID:INDEX`), its holder, what drew on it and what is left.
pub(crate) async fn lot(State(st): State<AppState>, Path(lot): Path<String>) -> Result<Json<LotInfo>, ApiError> {
    let id: LotId = lot
        .parse()
        .map_err(|e: String| ApiError::bad_request("invalid_lot", e))?;
    match Reader::new(&st.store).lot(&id)? {
        Some(l) => Ok(Json(l)),
        None if st.store.entry(&id.entry)?.is_some() => Err(ApiError::not_found(format!(
            "entry {} creates no lot {}: a certificate's, a retirement's and a batch's lot is ID:0; a transfer's or a shipment's are numbered from 0 in the order of its recipients",
            id.entry, id.index
        ))),
        None => Err(ApiError::not_found(format!(
            "no entry {} on this node, so no lot {id}",
            id.entry
        ))),
    }
}

/// `GET /v1/holders/{pubkey}/lots`: the lots created for a key and what is left of each.
pub(crate) async fn holder_lots(
    State(st): State<AppState>,
    Path(key): Path<String>,
    q: Result<Query<Paging>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<HolderLots>, ApiError> {
    let Query(p) = q.map_err(|e| ApiError::bad_request("invalid_query", format!("{e}; use ?limit=N")))?;
    let key: PublicKey = key
        .parse()
        .map_err(|e: greenledger_core::error::KeyError| ApiError::bad_request("invalid_public_key", e.to_string()))?;
    let limit = p.limit.unwrap_or(1000).min(10_000);
    Ok(Json(Reader::new(&st.store).holder_lots(&key, limit)?))
}

/// `GET /v1/conflicts`: the double issuances this node knows (two certificate issues of one
/// device with overlapping hours).
pub(crate) async fn conflicts(
    State(st): State<AppState>,
    q: Result<Query<Paging>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Conflicts>, ApiError> {
    let Query(p) = q.map_err(|e| ApiError::bad_request("invalid_query", format!("{e}; use ?limit=N")))?;
    let limit = p.limit.unwrap_or(1000).min(10_000);
    Ok(Json(Reader::new(&st.store).conflicts(limit)?))
}

/// `GET /v1/provenance/{id}`: the provenance bundle of an entry.
pub(crate) async fn provenance(State(st): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    if st.store.entry(&id)?.is_none() {
        return Err(ApiError::not_found(format!("no entry {id} on this node")));
    }
    let store = st.store.clone();
    let bundle = tokio::task::spawn_blocking(move || store.bundle(&id))
        .await
        .map_err(ApiError::internal)??;
    let bundle = bundle.map_err(|e| {
        ApiError::new(
            StatusCode::CONFLICT,
            "incomplete",
            format!("this node cannot assemble a complete bundle: {e}"),
        )
    })?;
    Ok(json_response(StatusCode::OK, bundle.to_json()))
}

#[derive(Deserialize)]
pub(crate) struct LogQuery {
    from: Option<u64>,
    limit: Option<usize>,
    entries: Option<bool>,
    /// If no record is at or after `from` yet, wait up to this many milliseconds for one.
    wait: Option<u64>,
}

/// The longest a `GET /v1/log?wait=MS` waits.
const MAX_LOG_WAIT: Duration = Duration::from_secs(30);

/// Most log records per page.
pub(crate) const MAX_LOG_PAGE: usize = 1000;

/// `GET /v1/log?from=I&limit=N[&entries=true]`: log records, optionally with their entries.
pub(crate) async fn log(
    State(st): State<AppState>,
    q: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<LogPage>, ApiError> {
    let Query(q) = q.map_err(|e| {
        ApiError::bad_request(
            "invalid_query",
            format!("{e}; use ?from=INDEX&limit=N (N ≤ {MAX_LOG_PAGE})"),
        )
    })?;
    let from = q.from.unwrap_or(0);
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_LOG_PAGE {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_LOG_PAGE}"),
        ));
    }
    // A follower of the log (`wait`) is answered as soon as a record at `from` exists.
    if let Some(ms) = q.wait.filter(|ms| *ms > 0) {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ms).min(MAX_LOG_WAIT);
        let mut appended = st.store.subscribe();
        while st.store.head()?.0 <= from {
            match tokio::time::timeout_at(deadline, appended.recv()).await {
                Err(_) => break,
                Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => break,
                Ok(_) => {}
            }
        }
    }
    let (size, _) = st.store.head()?;
    let records = st.store.log_range(from, limit)?;
    let mut out = Vec::with_capacity(records.len());
    for (idx, id, hash) in &records {
        let entry = if q.entries.unwrap_or(false) {
            let (_, se) = st
                .store
                .entry(id)?
                .ok_or_else(|| ApiError::internal(format!("log record {idx} names missing entry {id}")))?;
            Some(serde_json::from_slice::<Box<RawValue>>(&se.to_json()).map_err(ApiError::internal)?)
        } else {
            None
        };
        out.push(LogRecord {
            index: *idx,
            id: *id,
            hash: hex::encode(hash),
            entry,
        });
    }
    let next = records.last().map(|(i, _, _)| i + 1).filter(|n| *n < size);
    Ok(Json(LogPage {
        size,
        from,
        records: out,
        next,
    }))
}

/// `GET /v1/log/head`: the log's size and head, signed by this node now.
pub(crate) async fn log_head(State(st): State<AppState>) -> Result<Json<Checkpoint>, ApiError> {
    let (size, head) = st.store.head()?;
    Ok(Json(crate::store::sign_checkpoint(
        &st.identity,
        st.store.network(),
        size,
        head,
    )))
}

/// `GET /v1/genesis`: the network's genesis (canonical JSON).
pub(crate) async fn genesis(State(st): State<AppState>) -> Response {
    json_response(StatusCode::OK, st.store.genesis().canonical_bytes())
}

/// `GET /v1/health`: liveness, addresses and counters.
pub(crate) async fn health(State(st): State<AppState>) -> Json<Health> {
    use std::sync::atomic::Ordering::Relaxed;
    let sh = st.store.shared();
    let status = if st.store.writable() {
        "ok"
    } else {
        "degraded: the store refuses writes; see the log and restart"
    };
    Json(Health {
        status: status.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        network: NetworkInfo {
            id: st.store.network(),
            name: st.store.genesis().name.clone(),
        },
        peer_id: st.identity.peer_id().to_string(),
        node_key: st.identity.public_key(),
        http: st.addrs.http.map(|a| a.to_string()),
        p2p: st.addrs.p2p.clone(),
        pact: st.addrs.pact.map(|a| format!("https://{a}")),
        peers: st.metrics.p2p.connected.get(),
        log_size: sh.log_size.load(Relaxed),
        pending: sh.pending_entries.load(Relaxed),
        forked_signers: sh.forks.load(Relaxed),
        last_checkpoint: st.store.latest_checkpoint().ok().flatten().map(|c| CheckpointInfo {
            size: c.size,
            head: c.head,
            timestamp: c.timestamp,
        }),
    })
}

/// `GET /v1/peers`: connected and known consortium peers, with their sync state.
pub(crate) async fn peers(State(st): State<AppState>) -> Json<Value> {
    let peers = match &st.network {
        Some(n) => n.peers().await,
        None => Vec::new(),
    };
    let connected = peers.iter().filter(|p| p.connected).count();
    Json(json!({"peer_id": st.identity.peer_id().to_string(), "connected": connected, "peers": peers}))
}

/// `GET /metrics`: Prometheus text format.
pub(crate) async fn metrics(State(st): State<AppState>) -> Response {
    let text = st.metrics.render(&st.store);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Any other route.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("no such route; see the HTTP API in the README (routes start with /v1/)")
}

/// The PACT routes on the plain HTTP port: never served here (PACT requires HTTPS); say where.
pub(crate) async fn pact_elsewhere(State(st): State<AppState>) -> ApiError {
    let msg = match st.addrs.pact {
        Some(a) => format!("the PACT API is served over HTTPS only, at https://{a}"),
        None => "the PACT API is off on this node; its operator enables it with pact.listen (HTTPS only)".to_string(),
    };
    ApiError::not_found(msg)
}
