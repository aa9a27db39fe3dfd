//! The PACT v3 REST API (WBCSD PACT Technical Specification 3.0), served over HTTPS on its
//! own address (`pact.listen`):
//!
//! * `POST /auth/token` — OAuth2 client credentials (HTTP Basic or form fields) → a bearer
//!   token ([`auth`]); `GET /.well-known/openid-configuration` names it.
//! * `GET /3/footprints` — the log's attestations as PACT footprints, with every filter of the
//!   spec and `Link: <…>; rel="next"` paging ([`query`]).
//! * `GET /3/footprints/{id}` — one footprint by its PACT id.
//! * `POST /3/events` — CloudEvents: requests are answered asynchronously, everything is kept
//!   in `DATA_DIR/pact-events/` ([`events`]).
//!
//! Errors have the spec's shape, `{"code": "BadRequest" | "AccessDenied" | "TokenExpired" |
//! "NotFound" | "InternalError" | "NotImplemented", "message": …}`; the token endpoint answers
//! errors the OAuth2 way (`{"error": "invalid_client", "error_description": …}`).

pub mod auth;
pub mod events;
pub mod query;
pub mod tls;

use std::{net::SocketAddr, path::Path, sync::Arc, time::Duration};

use anyhow::{Context, Result};
use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Path as UrlPath, RawQuery, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};
use tower_http::{limit::RequestBodyLimitLayer, timeout::TimeoutLayer, trace::TraceLayer};

use crate::{config::Config, metrics::Metrics, store::Store};

/// Log records one ListFootprints request reads at most (a page with fewer matches than asked
/// for then ends with a `next` link).
const SCAN_BUDGET: usize = 20_000;

/// Writes a file so that after a crash it is either complete or absent: a uniquely named temp
/// file, fsync, rename, fsync of the directory. `private`: mode 0600 (keys, token keys).
pub(crate) fn write_file(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut f = o
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// An error of the PACT API, in the spec's shape.
#[derive(Debug)]
pub struct PactApiError {
    status: StatusCode,
    code: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

impl PactApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        PactApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// 500 InternalError (the cause is logged, not sent).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", message)
    }

    fn store(e: impl std::fmt::Display) -> Self {
        tracing::error!(cause = %e, "PACT API: store error");
        Self::internal("the node could not read its store; try again, and tell its operator if it persists")
    }
}

impl IntoResponse for PactApiError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"code": self.code, "message": self.message}).to_string(),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

/// What the PACT handlers share.
#[derive(Clone)]
pub struct PactState {
    store: Store,
    authority: Arc<auth::Authority>,
    events: Arc<events::Events>,
    metrics: Arc<Metrics>,
    public_url: Option<String>,
    default_page: usize,
    max_page: usize,
}

/// A running PACT API.
pub struct PactServer {
    /// The bound HTTPS address.
    pub addr: SocketAddr,
    /// The CA file clients should trust, when the certificate was generated.
    pub ca: Option<std::path::PathBuf>,
    /// The serving task (supervised).
    pub task: tokio::task::JoinHandle<crate::supervisor::Exit>,
}

/// What is prepared before the store opens (so that bad settings fail first).
pub struct Prepared {
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    ca: Option<std::path::PathBuf>,
    authority: Arc<auth::Authority>,
}

/// Checks the `[pact]` settings, loads or makes the certificate (named after `node`, the peer
/// id) and binds the address.
pub async fn prepare(cfg: &Config, data_dir: &Path, node: &str) -> Result<Option<Prepared>> {
    let Some(addr) = cfg.pact.listen else {
        return Ok(None);
    };
    if let Some(u) = &cfg.pact.public_url {
        let parsed = url::Url::parse(u).with_context(|| format!("pact.public_url {u:?} is not a URL"))?;
        anyhow::ensure!(
            parsed.scheme() == "https",
            "pact.public_url {u:?} must be an https:// URL (the PACT API is HTTPS only)"
        );
    }
    anyhow::ensure!(
        cfg.pact.default_page >= 1 && cfg.pact.max_page >= cfg.pact.default_page,
        "pact.default_page must be at least 1 and at most pact.max_page"
    );
    events::check_recipients(&cfg.pact.recipients)?;
    let authority = Arc::new(auth::Authority::load(
        data_dir,
        &cfg.pact.clients,
        cfg.pact.token_lifetime,
    )?);
    let (tls, ca) = tls::server_config(&cfg.pact, data_dir, node)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot bind the PACT API to {addr}"))?;
    if addr.ip().is_unspecified() && cfg.pact.public_url.is_none() {
        tracing::warn!(%addr, "pact.listen is a wildcard address and pact.public_url is unset: set it, so that replies name a host their recipient can reach");
    }
    if cfg.pact.clients.is_empty() {
        tracing::warn!(
            "the PACT API has no clients (pact.clients): nobody can obtain a token; see `greenledger-node pact-client`"
        );
    }
    Ok(Some(Prepared {
        listener,
        tls,
        ca,
        authority,
    }))
}

/// Serves the PACT API until `shutdown`, in a supervised task.
pub(crate) fn start(
    p: Prepared,
    cfg: &Config,
    data_dir: &Path,
    store: Store,
    metrics: Arc<Metrics>,
    shutdown: tokio_util::sync::CancellationToken,
    supervisor: &crate::supervisor::Supervisor,
) -> Result<PactServer> {
    let addr = p.listener.local_addr()?;
    let base = cfg.pact.public_url.clone().unwrap_or_else(|| format!("https://{addr}"));
    let events = events::Events::open(
        data_dir,
        store.clone(),
        metrics.clone(),
        cfg.pact.recipients.clone(),
        format!("{}/3/events", base.trim_end_matches('/')),
        cfg.pact.reply_retry_for,
        shutdown.clone(),
    )?;
    events.resume();
    let state = PactState {
        store,
        authority: p.authority,
        events,
        metrics,
        public_url: cfg.pact.public_url.clone(),
        default_page: cfg.pact.default_page,
        max_page: cfg.pact.max_page,
    };
    let app = router(state, cfg.http_limits.request_timeout, cfg.http_limits.max_body_bytes);
    let limits = &cfg.http_limits;
    let bounded = crate::api::listener::BoundedListener::new(p.listener, limits.max_connections, limits.stall_timeout)
        .with_request_deadline(limits.request_timeout + limits.stall_timeout);
    let listener = tls::TlsListener::new(bounded, p.tls, Duration::from_secs(10))?;
    let task = supervisor.spawn(crate::supervisor::Component::Pact, async move {
        axum::serve(listener, app.into_make_service())
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
    });
    Ok(PactServer { addr, ca: p.ca, task })
}

/// The PACT API's routes and layers.
pub fn router(state: PactState, timeout: Duration, max_body: usize) -> Router {
    Router::new()
        .route("/auth/token", post(token))
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/3/footprints", get(list))
        .route("/3/footprints/{id}", get(get_one))
        .route("/3/events", post(event))
        .fallback(|| async {
            PactApiError::new(
                StatusCode::NOT_FOUND,
                "NotFound",
                "no such route; the PACT API has /3/footprints, /3/footprints/{id}, /3/events and /auth/token",
            )
        })
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(middleware::from_fn_with_state(state.clone(), spec_errors))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Counts requests, and gives errors made by axum or tower (wrong method, body too large,
/// timeout) the spec's shape.
async fn spec_errors(State(st): State<PactState>, req: Request, next: Next) -> Response {
    let resp = crate::api::counted(&st.metrics, req, next).await;
    let status = resp.status();
    if crate::api::is_bare_error(&resp) {
        let message = match status {
            StatusCode::METHOD_NOT_ALLOWED => {
                "this method is not allowed on this route (the Allow header lists those that are)".to_string()
            }
            StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large".to_string(),
            StatusCode::REQUEST_TIMEOUT => "the request was not complete in time; send it without pausing".to_string(),
            s => s.canonical_reason().unwrap_or("error").to_string(),
        };
        let code = match status {
            StatusCode::NOT_FOUND => "NotFound",
            StatusCode::FORBIDDEN => "AccessDenied",
            StatusCode::NOT_IMPLEMENTED => "NotImplemented",
            s if s.is_server_error() => "InternalError",
            _ => "BadRequest",
        };
        // The response keeps its status and headers (`Allow`, …); only the body is replaced.
        let (mut parts, _) = resp.into_parts();
        parts
            .headers
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        parts.headers.remove(header::CONTENT_LENGTH);
        let body = json!({"code": code, "message": message}).to_string();
        return Response::from_parts(parts, Body::from(body));
    }
    resp
}

/// The client a request's bearer token belongs to.
fn authorize(st: &PactState, headers: &HeaderMap) -> Result<String, PactApiError> {
    let unauthorized = |code, msg: &str| PactApiError::new(StatusCode::UNAUTHORIZED, code, msg);
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized(
            "BadRequest",
            "no access token: send Authorization: Bearer TOKEN, with a token from POST /auth/token",
        ));
    };
    let v = v.to_str().unwrap_or("");
    let token = match v.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
        _ => {
            return Err(unauthorized(
                "BadRequest",
                "the Authorization header must be \"Bearer TOKEN\"",
            ));
        }
    };
    st.authority.verify(token).map_err(|e| match e {
        auth::TokenError::Expired => unauthorized(
            "TokenExpired",
            "the access token has expired; obtain a new one from POST /auth/token",
        ),
        auth::TokenError::Invalid => {
            unauthorized("BadRequest", "invalid access token; obtain one from POST /auth/token")
        }
    })
}

/// An OAuth2 error response (RFC 6749 §5.2).
fn oauth_error(status: StatusCode, error: &'static str, description: &str) -> Response {
    let mut r = (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        json!({"error": error, "error_description": description}).to_string(),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"greenledger\""),
        );
    }
    r
}

/// `POST /auth/token`: client credentials → access token.
async fn token(State(st): State<PactState>, headers: HeaderMap, body: Bytes) -> Response {
    if crate::api::content_type(&headers).1 != "application/x-www-form-urlencoded" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send the token request as application/x-www-form-urlencoded with grant_type=client_credentials",
        );
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match field("grant_type") {
        Some("client_credentials") => {}
        Some(other) => {
            let msg = format!("grant_type {other:?} is not supported; use client_credentials");
            return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", &msg);
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is missing; send grant_type=client_credentials",
            );
        }
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(s, _)| s.eq_ignore_ascii_case("basic"))
        .map(|(_, b)| b.trim().to_string());
    let creds = match basic {
        Some(b) => {
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(&b)
                .ok()
                .and_then(|d| String::from_utf8(d).ok());
            let Some((id, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
                return oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "the Basic credentials are not base64 of CLIENT_ID:CLIENT_SECRET",
                );
            };
            // RFC 6749 §2.3.1: both are form-urlencoded before base64.
            let dec = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            Some((dec(id), dec(secret)))
        }
        None => match (field("client_id"), field("client_secret")) {
            (Some(i), Some(s)) => Some((i.to_string(), s.to_string())),
            _ => None,
        },
    };
    let Some((id, secret)) = creds else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "no client credentials: send Authorization: Basic base64(CLIENT_ID:CLIENT_SECRET)",
        );
    };
    let count = |result: &str| {
        st.metrics
            .pact_tokens
            .get_or_create(&crate::metrics::ResultLabels { result: result.into() })
            .inc();
    };
    if !st.authority.check_client(&id, &secret) {
        count("refused");
        tracing::info!(client = %id, "PACT API: a token was refused (wrong client id or secret)");
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Authentication failed");
    }
    count("issued");
    let (access_token, expires_in) = st.authority.issue(&id);
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "scope": "footprint:list footprint:read",
        })
        .to_string(),
    )
        .into_response()
}

/// The base URL a client reached this API by: `https://` and the request's `Host` (PACT wants
/// links on the host the client called), else `pact.public_url`.
fn base_url(st: &PactState, headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).filter(|h| {
        url::Url::parse(&format!("https://{h}/")).is_ok_and(|u| u.path() == "/" && u.username().is_empty())
    });
    match (host, &st.public_url) {
        (Some(h), _) => format!("https://{h}"),
        (None, Some(u)) => u.trim_end_matches('/').to_string(),
        (None, None) => "https://localhost".to_string(),
    }
}

/// The issuer: `pact.public_url` when set (an operator's name is better than a client's
/// `Host`), else as [`base_url`].
fn issuer(st: &PactState, headers: &HeaderMap) -> String {
    match &st.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => base_url(st, headers),
    }
}

/// `GET /.well-known/openid-configuration`.
async fn discovery(State(st): State<PactState>, headers: HeaderMap) -> Response {
    let base = issuer(&st, &headers);
    (
        [(header::CONTENT_TYPE, "application/json")],
        json!({
            "issuer": base,
            "token_endpoint": format!("{base}/auth/token"),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": ["token"],
            "scopes_supported": ["footprint:list", "footprint:read"],
        })
        .to_string(),
    )
        .into_response()
}

fn json_ok(v: &Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}

/// The parsed query of ListFootprints.
struct ListQuery {
    filter: query::Filter,
    limit: Option<usize>,
    offset: u64,
    /// The filter parameters as given, for the `next` link.
    kept: Vec<(String, String)>,
}

fn parse_list_query(raw: Option<&str>) -> Result<ListQuery, PactApiError> {
    let mut q = ListQuery {
        filter: query::Filter::default(),
        limit: None,
        offset: 0,
        kept: Vec::new(),
    };
    let time = |k: &str, v: &str| {
        query::parse_time(v).ok_or_else(|| {
            PactApiError::bad_request(format!(
                "{k}={v:?} is not an RFC 3339 date-time, e.g. 2025-01-01T00:00:00Z"
            ))
        })
    };
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let (k, v) = (k.into_owned(), v.into_owned());
        if v.is_empty() {
            // `geography=` is no criterion: PACT clients send empty values for fields the
            // footprint they start from does not have, and expect every footprint back.
            continue;
        }
        let f = &mut q.filter;
        match k.to_ascii_lowercase().as_str() {
            "limit" => {
                // The OpenAPI gives `limit` a minimum of 0: `limit=0` asks only whether any
                // footprint matches (an empty page, with a `next` link if one does).
                let n: usize = v
                    .parse()
                    .map_err(|_| PactApiError::bad_request(format!("limit={v:?}: give a whole number, 0 or more")))?;
                q.limit = Some(n);
                continue;
            }
            "offset" => {
                q.offset = v.parse().map_err(|_| {
                    PactApiError::bad_request(format!(
                        "offset={v:?} is not a position this node gave out; follow the Link header's next URL"
                    ))
                })?;
                continue;
            }
            "productid" => f.product_ids.push(v.clone()),
            "companyid" => f.company_ids.push(v.clone()),
            "geography" => f.geography.push(v.clone()),
            "classification" => f.classifications.push(v.clone()),
            "status" => f.status.push(v.clone()),
            "validon" => f.valid_on = Some(time(&k, &v)?),
            "validafter" => f.valid_after = Some(time(&k, &v)?),
            "validbefore" => f.valid_before = Some(time(&k, &v)?),
            "$filter" => {
                return Err(PactApiError::bad_request(
                    "$filter (OData) was removed in PACT v3; use productId, companyId, geography, classification, validOn, validAfter, validBefore and status",
                ));
            }
            other if other.starts_with("x-") => {}
            _ => {
                return Err(PactApiError::bad_request(format!(
                    "unknown query parameter {k:?}; ListFootprints takes limit, productId, companyId, geography, classification, validOn, validAfter, validBefore and status"
                )));
            }
        }
        q.kept.push((k, v));
    }
    Ok(q)
}

/// `GET /3/footprints`.
async fn list(
    State(st): State<PactState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PactApiError> {
    authorize(&st, &headers)?;
    let q = parse_list_query(raw.as_deref())?;
    let limit = q.limit.unwrap_or(st.default_page).min(st.max_page);
    let store = st.store.clone();
    let filter = q.filter.clone();
    let from = q.offset;
    let page = tokio::task::spawn_blocking(move || query::scan(&store, &filter, from, limit, SCAN_BUDGET))
        .await
        .map_err(PactApiError::store)?
        .map_err(PactApiError::store)?;
    let mut resp = json_ok(&json!({ "data": page.items }));
    if let Some(next) = page.next {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &q.kept {
            ser.append_pair(k, v);
        }
        // After a `limit=0` page the link asks for a page of the default size: a link that
        // led to the same empty page again would never end a client's walk.
        let next_limit = if limit == 0 {
            st.default_page.min(st.max_page)
        } else {
            limit
        };
        ser.append_pair("limit", &next_limit.to_string());
        ser.append_pair("offset", &next.to_string());
        let link = format!(
            "<{}/3/footprints?{}>; rel=\"next\"",
            base_url(&st, &headers),
            ser.finish()
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            resp.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(resp)
}

/// `GET /3/footprints/{id}`.
async fn get_one(
    State(st): State<PactState>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, PactApiError> {
    authorize(&st, &headers)?;
    let Ok(uuid) = uuid::Uuid::try_parse(&id) else {
        return Err(PactApiError::bad_request(format!(
            "{id:?} is not a footprint id (a UUID such as 3a6c14a7-4deb-498a-b5ea-16ce2535b576)"
        )));
    };
    let store = st.store.clone();
    let bytes = *uuid.as_bytes();
    let pf = tokio::task::spawn_blocking(move || query::get(&store, &bytes))
        .await
        .map_err(PactApiError::store)?
        .map_err(PactApiError::store)?;
    match pf {
        Some(pf) => Ok(json_ok(&json!({ "data": pf }))),
        None => Err(PactApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("no footprint {id} on this node"),
        )),
    }
}

/// `POST /3/events`.
async fn event(State(st): State<PactState>, headers: HeaderMap, body: Body) -> Result<Response, PactApiError> {
    let client = authorize(&st, &headers)?;
    let (ct, media) = crate::api::content_type(&headers);
    if media != "application/cloudevents+json" && media != "application/json" {
        return Err(PactApiError::bad_request(format!(
            "send the event as application/cloudevents+json (structured CloudEvents 1.0), not {:?}",
            if ct.is_empty() { "no Content-Type" } else { ct }
        )));
    }
    let bytes = axum::body::to_bytes(body, usize::MAX).await.map_err(|e| {
        let text = format!("{e:?}");
        if text.contains("LengthLimit") {
            PactApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "BadRequest", "the event is too large")
        } else {
            PactApiError::bad_request("the event body could not be read")
        }
    })?;
    let v: Value =
        serde_json::from_slice(&bytes).map_err(|e| PactApiError::bad_request(format!("the event is not JSON: {e}")))?;
    let ev = events::check(v)?;
    let events = st.events.clone();
    tokio::task::spawn_blocking(move || events.accept(ev, &client).map(|_| ()))
        .await
        .map_err(PactApiError::store)??;
    Ok((StatusCode::OK, [(header::CONTENT_LENGTH, "0")]).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_queries() {
        let q = parse_list_query(Some(
            "productId=urn:a&productId=urn:b&GEOGRAPHY=DE&limit=5&status=BogusStatus&x-acme-debug=1",
        ))
        .unwrap();
        assert_eq!(q.filter.product_ids, ["urn:a", "urn:b"]);
        assert_eq!(q.filter.geography, ["DE"]);
        assert_eq!(q.limit, Some(5));
        assert_eq!(q.filter.status, ["BogusStatus"]);
        assert_eq!(parse_list_query(Some("limit=0")).unwrap().limit, Some(0));
        for bad in [
            "limit=-1",
            "limit=ten",
            "validOn=yesterday",
            "$filter=productIds/any(x:x eq 'a')",
            "prodctId=urn:a",
            "offset=-1",
        ] {
            assert!(parse_list_query(Some(bad)).is_err(), "{bad}");
        }
        assert!(parse_list_query(None).unwrap().filter.is_empty());
    }
}
