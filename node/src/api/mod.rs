//! The HTTP API, built in one place ([`router`]), failing in one shape ([`ApiError`]).
//!
//! Every response that is not a success carries `{"error": {"code", "message"}}`, including
//! those produced by axum itself (unknown route, wrong method, unreadable path): the
//! [`json_errors`] middleware rewrites them. The explorer's pages ([`crate::explorer`]) are HTML,
//! errors included, and are left as they are.

mod error;
pub mod listener;
mod routes;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    body::Body,
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::Response,
    routing::{get, post},
};
pub use error::ApiError;
use tower_http::{timeout::TimeoutLayer, trace::TraceLayer};

use crate::{identity::Identity, metrics::Metrics, p2p::NetworkHandle, store::Store};

/// Everything a handler may need.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// The swarm task (None when replication is off, as in some tests).
    pub network: Option<NetworkHandle>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The node's identity (signs checkpoints).
    pub identity: Identity,
    /// Bound addresses, for `/v1/health`.
    pub addrs: Arc<Addrs>,
    /// Largest accepted body.
    pub max_body: usize,
}

/// The addresses the node bound.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Addrs {
    /// HTTP.
    pub http: Option<SocketAddr>,
    /// libp2p listen addresses.
    pub p2p: Vec<String>,
    /// The PACT API (HTTPS), when it is on.
    pub pact: Option<SocketAddr>,
}

/// Builds the router with every route and layer.
pub fn router(state: AppState, timeout: Duration) -> Router {
    Router::new()
        .route("/v1/entries", post(routes::submit))
        .route("/v1/entries/{id}", get(routes::get_entry))
        .route("/v1/entries/{id}/consumers", get(routes::consumers))
        .route("/v1/parts/{urn}", get(routes::part))
        .route("/v1/signers/{pubkey}", get(routes::signer))
        .route("/v1/provenance/{id}", get(routes::provenance))
        .route("/v1/lots/{lot}", get(routes::lot))
        .route("/v1/holders/{pubkey}/lots", get(routes::holder_lots))
        .route("/v1/conflicts", get(routes::conflicts))
        .route("/v1/pending", get(routes::pending))
        .route("/v1/log", get(routes::log))
        .route("/v1/log/head", get(routes::log_head))
        .route("/v1/genesis", get(routes::genesis))
        .route("/v1/health", get(routes::health))
        .route("/v1/peers", get(routes::peers))
        .route("/metrics", get(routes::metrics))
        .route("/3/{*rest}", axum::routing::any(routes::pact_elsewhere))
        .route("/auth/token", axum::routing::any(routes::pact_elsewhere))
        .route(
            "/.well-known/openid-configuration",
            axum::routing::any(routes::pact_elsewhere),
        )
        .merge(crate::explorer::routes())
        .fallback(fallback)
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(middleware::from_fn_with_state(state.clone(), json_errors))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Any other route: the explorer's HTML 404 page for a browser outside `/v1/`, the API's JSON
/// error otherwise.
async fn fallback(uri: axum::http::Uri, headers: axum::http::HeaderMap) -> Response {
    if crate::explorer::wants_html(uri.path(), &headers) {
        return crate::explorer::unknown_route(uri.path());
    }
    axum::response::IntoResponse::into_response(routes::not_found().await)
}

/// A request's `Content-Type` as sent ("" when absent or not text), and its media type in
/// lower case without parameters (`application/json; charset=utf-8` → `application/json`).
pub(crate) fn content_type(headers: &axum::http::HeaderMap) -> (&str, String) {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    (ct, ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

/// Runs the request and counts it in `greenledger_http_requests` by route, method and status
/// (shared by the `/v1` and PACT routers).
pub(crate) async fn counted(metrics: &Metrics, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    // The metrics label: a client may invent any number of method names, and each would be a
    // new series kept forever.
    let method = match req.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS" | "TRACE" | "CONNECT") => m.to_string(),
        _ => "other".to_string(),
    };
    let resp = next.run(req).await;
    metrics
        .http
        .get_or_create(&crate::metrics::HttpLabels {
            route,
            method,
            status: resp.status().as_u16(),
        })
        .inc();
    resp
}

/// An error response that is not JSON: made by axum or tower (extractors, method routing,
/// body limits, timeouts), so it still needs the API's error shape. The explorer's HTML error
/// pages are not bare: they are marked [`crate::explorer::ExplorerPage`].
pub(crate) fn is_bare_error(resp: &Response) -> bool {
    if resp.extensions().get::<crate::explorer::ExplorerPage>().is_some() {
        return false;
    }
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    (status.is_client_error() || status.is_server_error()) && !is_json
}

/// Counts requests by route and status, and turns any non-JSON error response (from axum's
/// extractors, method routing or the timeout layer) into the API's JSON error shape.
async fn json_errors(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let resp = counted(&st.metrics, req, next).await;
    let status = resp.status();
    if is_bare_error(&resp) {
        let (parts, body) = resp.into_parts();
        let detail = axum::body::to_bytes(body, 4096)
            .await
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let code = match status {
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::REQUEST_TIMEOUT => "timeout",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            s if s.is_server_error() => "internal",
            _ => "bad_request",
        };
        let message = if !detail.trim().is_empty() {
            detail
        } else if status == StatusCode::METHOD_NOT_ALLOWED {
            let method = if method.len() <= 32 {
                method.as_str()
            } else {
                "this method"
            };
            let allow = parts
                .headers
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            if allow.is_empty() {
                format!("{method} is not allowed on this route")
            } else {
                format!("{method} is not allowed on this route; use {allow}")
            }
        } else if status == StatusCode::REQUEST_TIMEOUT {
            "the request was not complete within the node's deadline (http_limits.request_timeout); send the whole request without pausing and retry".to_string()
        } else {
            status.canonical_reason().unwrap_or("error").to_string()
        };
        let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
        let mut resp = Response::from_parts(parts, Body::from(body));
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        resp.headers_mut().remove(header::CONTENT_LENGTH);
        return resp;
    }
    resp
}
