//! The explorer: server-rendered HTML pages over the node's store and core's verifier, served at
//! `GET /` on the HTTP address (DESIGN §6).
//!
//! Pages: the network (`/`), search (`/search?q=`), a part (`/part/{urn}`), an entry
//! (`/entry/{id}`, with its verdict, provenance graph and carbon breakdown when it is an
//! attestation; `?tier=N&page=P` lists one tier of its graph), a signer (`/signer/{key}`), a lot
//! (`/lot/{entry:index}`), and the assets (`/assets/…`, compiled into the binary).
//!
//! Rules the pages keep:
//!
//! * Every figure is rendered on the server; the page's script only filters tables. Charts and
//!   graphs are inline SVG.
//! * Every value from the ledger goes through askama's HTML escaping (templates in
//!   `node/templates/explorer/`), and links are percent-encoded here ([`seg`]).
//! * A strict Content-Security-Policy ([`CSP`]): no inline script or style, no other origin.
//! * Read-only: only `GET` routes; nothing here writes to the store.
//! * The verdict of an attestation is core's bundle verifier ([`verify_assembled`]: the entries
//!   as the store decoded them, every signature and rule checked as `greenledger verify`
//!   does) over the node's own provenance bundle of it (`/v1/provenance/{id}`), pinned to the
//!   node's network: the same code, reasons and words as `greenledger verify`.
//! * Errors are HTML pages (404 for what is not on this node, 400 for a malformed id) that the
//!   API's JSON error middleware leaves alone ([`ExplorerPage`]).

mod graph;
mod pages;

use std::{collections::HashMap, time::Instant};

use askama::Template;
use axum::{
    Router,
    extract::{Path, Query, RawQuery, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use greenledger_core::{
    Body, EntryId, PublicKey, VerifyOptions,
    custody::LotId,
    entry::Entry,
    verify::{Report, TreeNode},
    verify_assembled,
};
use serde::Deserialize;

use self::{
    graph::{Dag, approx_kg, bars, by_tier_and_supplier, clip, draw, percent},
    pages::*,
};
use crate::{api::AppState, read::Reader, store::Store};

/// Marks a response as an explorer page, so that the API's middleware does not turn an HTML
/// error page into the JSON error shape.
#[derive(Clone, Copy, Debug)]
pub struct ExplorerPage;

/// The pages' Content-Security-Policy: the node's own styles, script and images; nothing else.
pub const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const CSS: &str = include_str!("assets/explorer.css");
const JS: &str = include_str!("assets/explorer.js");
const ICON: &str = include_str!("assets/icon.svg");

/// Entries per page in paged lists.
const PAGE: usize = 50;
/// Inputs listed one by one in an attestation's breakdown (the rest are one row).
const MAX_DIRECT: usize = 25;

/// The explorer's routes (merged into [`crate::api::router`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(network))
        .route("/search", get(search))
        .route("/part/{*urn}", get(part))
        .route("/entry/{id}", get(entry))
        .route("/signer/{key}", get(signer))
        .route("/lot/{lot}", get(lot))
        .route("/assets/{file}", get(asset))
        .layer(middleware::from_fn(headers))
}

/// The security headers of every explorer response.
async fn headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    secure(&mut resp);
    resp
}

fn secure(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    resp.extensions_mut().insert(ExplorerPage);
}

/// True for a request that a browser makes for a page (it accepts HTML) outside the API.
pub(crate) fn wants_html(path: &str, headers: &HeaderMap) -> bool {
    !path.starts_with("/v1/")
        && headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
}

/// The HTML 404 page for an unknown route asked for by a browser.
pub(crate) fn unknown_route(path: &str) -> Response {
    let mut r = PageError::not_found(format!(
        "This node serves no page at {}. Search for a part, an entry, a signer or a lot instead.",
        clip(path, 200)
    ))
    .into_response();
    secure(&mut r);
    r
}

/// An error page.
pub(crate) struct PageError {
    status: StatusCode,
    title: String,
    message: String,
}

impl PageError {
    fn not_found(message: impl Into<String>) -> Self {
        PageError {
            status: StatusCode::NOT_FOUND,
            title: "Not found".into(),
            message: message.into(),
        }
    }
    fn bad_request(message: impl Into<String>) -> Self {
        PageError {
            status: StatusCode::BAD_REQUEST,
            title: "Malformed request".into(),
            message: message.into(),
        }
    }
    fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(cause = %e, "explorer page failed");
        PageError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            title: "Internal error".into(),
            message: format!("The node could not render this page: {e}"),
        }
    }
}

impl From<anyhow::Error> for PageError {
    fn from(e: anyhow::Error) -> Self {
        PageError::internal(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            title: format!("{} · greenledger", self.title),
            q: String::new(),
            status: self.status.as_u16(),
            heading: self.title,
            message: self.message,
        };
        let mut r = html(self.status, &page);
        r.extensions_mut().insert(ExplorerPage);
        r
    }
}

type PageResult = Result<Response, PageError>;

fn html(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(body) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(e) => {
            tracing::error!(cause = %e, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

fn ok(t: &impl Template) -> PageResult {
    Ok(html(StatusCode::OK, t))
}

/// Runs page work off the async runtime (store reads, bundle verification).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PageError> + Send + 'static,
) -> Result<T, PageError> {
    tokio::task::spawn_blocking(f).await.map_err(PageError::internal)?
}

/// Percent-encodes a path segment (keeps letters, digits and `-._~:@`).
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The address of a part's page.
pub(crate) fn part_href(urn: &str) -> String {
    format!("/part/{}", seg(urn))
}

/// A path parameter, or why it could not be read (not UTF-8, …).
type PathArg = Result<Path<String>, axum::extract::rejection::PathRejection>;

fn path_arg(p: PathArg) -> Result<String, PageError> {
    p.map(|Path(s)| s)
        .map_err(|e| PageError::bad_request(format!("The address cannot be read: {e}.")))
}

fn parse_id(s: &str) -> Result<EntryId, PageError> {
    s.parse().map_err(|e: greenledger_core::error::IdError| {
        PageError::bad_request(format!(
            "{:?} is not an entry id: {e}. An entry id is 64 hexadecimal characters.",
            clip(s, 100)
        ))
    })
}

fn parse_key(s: &str) -> Result<PublicKey, PageError> {
    s.parse().map_err(|e: greenledger_core::error::KeyError| {
        PageError::bad_request(format!(
            "{:?} is not a signer's public key: {e}. A public key is 64 hexadecimal characters.",
            clip(s, 100)
        ))
    })
}

fn name_of(r: &Reader<'_>, k: &PublicKey) -> String {
    greenledger_core::LedgerView::membership(r)
        .name(k)
        .map_or_else(|| format!("signer {}", k.fmt_short()), str::to_string)
}

fn entry_link(r: &Reader<'_>, id: &EntryId) -> Link {
    let text = match r.store().get_decoded(id) {
        Some(e) => format!("{} — {}", id.fmt_short(), clip(&e.payload.body.summary(), 90)),
        None => id.fmt_short(),
    };
    Link {
        href: format!("/entry/{id}"),
        text,
    }
}

// ---------------------------------------------------------------------------------------------
// The network

#[derive(Deserialize)]
struct NetworkQuery {
    before: Option<u64>,
}

async fn network(
    State(st): State<AppState>,
    q: Result<Query<NetworkQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let Query(q) = q.map_err(|e| PageError::bad_request(format!("{e}; use ?before=LOG_INDEX")))?;
    let peers = match &st.network {
        Some(n) => n.peers().await,
        None => Vec::new(),
    };
    let http = st.addrs.http.map(|a| a.to_string()).unwrap_or_default();
    let p2p = st.addrs.p2p.clone();
    let identity = st.identity.clone();
    let store = st.store.clone();
    let page = blocking(move || {
        use std::sync::atomic::Ordering::Relaxed;
        let (size, head) = store.head()?;
        let cp = crate::store::sign_checkpoint(&identity, store.network(), size, head);
        let r = Reader::new(&store);
        let g = store.genesis();
        let end = q.before.unwrap_or(size).min(size);
        let from = end.saturating_sub(PAGE as u64);
        let mut recent = Vec::new();
        for (idx, id, _) in store.log_range(from, (end - from) as usize)?.into_iter().rev() {
            let e = r.decoded(&id)?;
            recent.push(LogRow {
                index: idx,
                href: format!("/entry/{id}"),
                id: id.fmt_short(),
                kind: e
                    .as_ref()
                    .map_or("?".into(), |(_, e)| e.payload.body.kind().as_str().to_string()),
                signer: e
                    .as_ref()
                    .map_or(String::new(), |(_, e)| name_of(&r, &e.payload.signer)),
                signer_href: e
                    .as_ref()
                    .map_or(String::new(), |(_, e)| format!("/signer/{}", e.payload.signer)),
                summary: e
                    .as_ref()
                    .map_or(String::new(), |(_, e)| clip(&e.payload.body.summary(), 120)),
            });
        }
        let sh = store.shared();
        Ok(NetworkPage {
            title: format!("{} · greenledger explorer", g.name),
            q: String::new(),
            name: g.name.clone(),
            network_id: store.network().to_hex(),
            created: g.created.clone(),
            admins: g
                .admins
                .iter()
                .map(|k| Link {
                    href: format!("/signer/{k}"),
                    text: k.to_hex(),
                })
                .collect(),
            node_peers: g.node_peers.clone(),
            peer_id: identity.peer_id().to_string(),
            node_key: identity.public_key().to_hex(),
            http,
            p2p,
            log_size: size,
            pending: sh.pending_entries.load(Relaxed),
            forked_signers: sh.forks.load(Relaxed),
            head: cp.head,
            head_signature: cp.signature,
            head_time: cp.timestamp,
            peers: peers
                .into_iter()
                .map(|p| PeerRow {
                    peer_id: p.peer_id,
                    connected: p.connected,
                    addresses: p.addresses.join(" "),
                    cursor: p.sync.cursor,
                    peer_log_size: p
                        .sync
                        .peer_log_size
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "–".into()),
                    caught_up: p.sync.caught_up,
                    last_sync: p.sync.last_sync.unwrap_or_default(),
                    last_error: p.sync.last_error.unwrap_or_default(),
                })
                .collect(),
            recent,
            older: (from > 0).then(|| format!("/?before={from}")),
            newer: (end < size).then(|| format!("/?before={}", (end + PAGE as u64).min(size))),
        })
    })
    .await?;
    ok(&page)
}

// ---------------------------------------------------------------------------------------------
// Search

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

/// Most log records scanned for a certificate serial (newest first).
const SERIAL_SCAN: u64 = 200_000;

async fn search(
    State(st): State<AppState>,
    q: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let Query(q) = q.map_err(|e| PageError::bad_request(format!("{e}; use ?q=TEXT")))?;
    let text = q.q.unwrap_or_default().trim().to_string();
    if text.is_empty() {
        return ok(&SearchPage {
            title: "Search · greenledger explorer".into(),
            q: String::new(),
            results: Vec::new(),
            empty: false,
        });
    }
    if text.len() > 1024 {
        return Err(PageError::bad_request("The search text is longer than 1024 bytes."));
    }
    let store = st.store.clone();
    let t = text.clone();
    let results = blocking(move || search_all(&store, &t)).await?;
    if results.len() == 1 {
        return Ok(Redirect::to(&results[0].href).into_response());
    }
    let empty = results.is_empty();
    let page = SearchPage {
        title: format!("{} · search · greenledger explorer", clip(&text, 60)),
        q: text,
        results,
        empty,
    };
    Ok(html(if empty { StatusCode::NOT_FOUND } else { StatusCode::OK }, &page))
}

fn search_all(store: &Store, text: &str) -> Result<Vec<SearchHit>, PageError> {
    let r = Reader::new(store);
    let mut hits = Vec::new();
    // A part URN (GS1 forms included): its page, if the node holds an attestation of it.
    if text.starts_with("urn:") && !store.part_entries(text, 1)?.is_empty() {
        hits.push(SearchHit {
            kind: "part".into(),
            href: part_href(text),
            text: text.to_string(),
        });
    }
    // An entry id or a signer's key (both 64 hex digits).
    if let Ok(id) = text.parse::<EntryId>()
        && store.entry(&id)?.is_some()
    {
        hits.push(SearchHit {
            kind: "entry".into(),
            href: format!("/entry/{id}"),
            text: entry_link(&r, &id).text,
        });
    }
    if let Ok(k) = text.parse::<PublicKey>()
        && r.signer(&k)?.is_some()
    {
        hits.push(SearchHit {
            kind: "signer".into(),
            href: format!("/signer/{k}"),
            text: format!("{} ({})", name_of(&r, &k), k.fmt_short()),
        });
    }
    // A lot: ENTRY_ID:INDEX.
    if let Ok(lot) = text.parse::<LotId>()
        && r.lot(&lot)?.is_some()
    {
        hits.push(SearchHit {
            kind: "lot".into(),
            href: format!("/lot/{lot}"),
            text: lot.to_string(),
        });
    }
    if !hits.is_empty() {
        return Ok(hits);
    }
    // An organisation name (case-insensitive, part of it).
    let needle = text.to_lowercase();
    let mut seen = std::collections::HashSet::new();
    for e in store.membership_entries()? {
        if let Body::MemberAdmit(a) = &e.payload.body
            && a.name.to_lowercase().contains(&needle)
            && seen.insert(a.member)
        {
            hits.push(SearchHit {
                kind: format!("signer ({})", a.role.as_str()),
                href: format!("/signer/{}", a.member),
                text: format!("{} ({})", a.name, a.member.fmt_short()),
            });
        }
    }
    // A certificate serial or device, and a part by its start (newest log records first).
    let (size, _) = store.head()?;
    let mut at = size;
    let floor = size.saturating_sub(SERIAL_SCAN);
    while at > floor && hits.len() < 100 {
        let from = at.saturating_sub(1000).max(floor);
        for (_, id, _) in store.log_range(from, (at - from) as usize)?.into_iter().rev() {
            let Some(e) = store.get_decoded(&id) else { continue };
            match &e.payload.body {
                Body::CertificateIssue(c)
                    if c.serial.eq_ignore_ascii_case(text) || c.device.iter().any(|d| d.eq_ignore_ascii_case(text)) =>
                {
                    hits.push(SearchHit {
                        kind: "certificate".into(),
                        href: format!("/lot/{id}:0"),
                        text: format!("{} {} ({} Wh, {})", c.scheme, c.serial, c.wh.0, c.region),
                    });
                }
                Body::Attestation(a) if text.starts_with("urn:") && a.part.starts_with(text) => {
                    let href = part_href(&a.part);
                    if !hits.iter().any(|h| h.href == href) {
                        hits.push(SearchHit {
                            kind: "part".into(),
                            href,
                            text: a.part.clone(),
                        });
                    }
                }
                _ => {}
            }
        }
        at = from;
    }
    Ok(hits)
}

// ---------------------------------------------------------------------------------------------
// A part

async fn part(State(st): State<AppState>, urn: PathArg) -> PageResult {
    let urn = path_arg(urn)?;
    greenledger_core::model::check_part(&urn).map_err(|e| {
        PageError::bad_request(format!(
            "{:?} is not a part identifier: {}",
            clip(&urn, 200),
            clip(&e.to_string(), 300)
        ))
    })?;
    let store = st.store.clone();
    let u = urn.clone();
    let info = blocking(move || Ok(Reader::new(&store).part(&u, 10_000)?)).await?;
    let Some(info) = info else {
        return Err(PageError::not_found(format!(
            "No attestation of part {urn} is on this node."
        )));
    };
    if let [one] = info.current.as_slice() {
        return entry_page(st, *one, TierQuery::default()).await;
    }
    let page = PartPage {
        title: format!("{} · greenledger explorer", clip(&urn, 80)),
        q: urn.clone(),
        part: urn,
        current: info.current.len(),
        rows: info
            .attestations
            .into_iter()
            .map(|a| PartRow {
                href: format!("/entry/{}", a.id),
                id: a.id.fmt_short(),
                supplier: a.supplier.unwrap_or_else(|| format!("signer {}", a.signer.fmt_short())),
                signer_href: format!("/signer/{}", a.signer),
                total: a.total_kg,
                unit: a.unit,
                current: a.superseded_by.is_empty(),
                valid: a.valid,
            })
            .collect(),
    };
    ok(&page)
}

// ---------------------------------------------------------------------------------------------
// An entry

#[derive(Deserialize, Default)]
struct TierQuery {
    tier: Option<usize>,
    page: Option<usize>,
    supplier: Option<String>,
}

async fn entry(
    State(st): State<AppState>,
    id: PathArg,
    RawQuery(raw): RawQuery,
    q: Result<Query<TierQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let Query(q) = q.map_err(|e| {
        PageError::bad_request(format!(
            "{e} in {:?}; use ?tier=N&page=P",
            clip(raw.as_deref().unwrap_or(""), 100)
        ))
    })?;
    let id = parse_id(&path_arg(id)?)?;
    entry_page(st, id, q).await
}

async fn entry_page(st: AppState, id: EntryId, q: TierQuery) -> PageResult {
    let store = st.store.clone();
    let identity = st.identity.clone();
    let node = st.addrs.http.map(|a| format!("http://{a}")).unwrap_or_default();
    let page = blocking(move || build_entry(&store, &identity, id, &q, &node)).await?;
    match page {
        EntryView::Attestation(p) => ok(&*p),
        EntryView::Tier(p) => ok(&*p),
        EntryView::Other(p) => ok(&*p),
    }
}

enum EntryView {
    Attestation(Box<AttestationPage>),
    Tier(Box<TierPage>),
    Other(Box<OtherEntryPage>),
}

fn build_entry(
    store: &Store,
    identity: &crate::identity::Identity,
    id: EntryId,
    q: &TierQuery,
    node: &str,
) -> Result<EntryView, PageError> {
    let r = Reader::new(store);
    let Some((log_index, e)) = r.decoded(&id)? else {
        if let Some(missing) = store.pending_missing(&id) {
            let list: Vec<String> = missing.iter().map(EntryId::to_hex).collect();
            return Err(PageError::not_found(format!(
                "Entry {id} is waiting in this node's pending area for: {}.",
                list.join(", ")
            )));
        }
        return Err(PageError::not_found(format!("No entry {id} is on this node.")));
    };
    let standing = r.standing(&e)?;
    let body_json = serde_json::to_string_pretty(
        &serde_json::from_slice::<serde_json::Value>(
            &store.entry(&id)?.map(|(_, se)| se.to_json()).unwrap_or_default(),
        )
        .unwrap_or_default(),
    )
    .unwrap_or_default();
    let head = EntryHead {
        id: id.to_hex(),
        short: id.fmt_short(),
        kind: e.payload.body.kind().as_str().to_string(),
        signer: name_of(&r, &e.payload.signer),
        signer_key: e.payload.signer.to_hex(),
        signer_href: format!("/signer/{}", e.payload.signer),
        seq: e.payload.seq,
        prev: e.payload.prev.map(|p| entry_link(&r, &p)),
        log_index,
        timestamp: e.payload.timestamp.clone(),
        summary: e.payload.body.summary(),
        valid_today: standing.valid,
        problems: standing.problems.iter().map(|p| p.message.clone()).collect(),
        superseded_by: standing.superseded_by.iter().map(|s| entry_link(&r, s)).collect(),
        body_json,
    };
    let Some(a) = e.attestation() else {
        return Ok(EntryView::Other(Box::new(other_entry(&r, &e, head)?)));
    };
    // The verdict: core's verifier over the node's provenance bundle, pinned to its network.
    let (size, head_hash) = store.head()?;
    let checkpoint = crate::store::sign_checkpoint(identity, store.network(), size, head_hash);
    let started = Instant::now();
    let (report, verdict, corrections) = match store.assembled(&id)? {
        Ok(b) => {
            let opts = VerifyOptions {
                expected_network: Some(store.network()),
            };
            let report = verify_assembled(&b, &opts);
            let verdict = verdict_of(&report, started.elapsed().as_secs_f64() * 1000.0);
            (report, verdict, b.entries)
        }
        Err(m) => {
            let verdict = Verdict {
                valid: false,
                headline: format!(
                    "This node cannot assemble a complete bundle: {} {} needed by {} is missing.",
                    m.role, m.missing, m.needed_by
                ),
                reasons: Vec::new(),
                warnings: Vec::new(),
                steps: Vec::new(),
                entries: 0,
                ms: format!("{:.0}", started.elapsed().as_secs_f64() * 1000.0),
            };
            (empty_report(id), verdict, Vec::new())
        }
    };
    let mut dag = Dag::from_report(&report, &HashMap::new());
    flag(&mut dag, &corrections, store, &r);
    let base = format!("/entry/{id}");
    if let Some(t) = q.tier {
        return Ok(EntryView::Tier(Box::new(tier_page(&dag, &head, a, t, q)?)));
    }
    let drawing = draw(&dag, &base);
    let whole = a.total.pcf_excluding_biogenic_uptake.0 as f64;
    // The breakdown: own + each direct input's contribution, exact (as the roll-up rounds).
    let tree = report.tree.as_ref();
    let mut items = vec![(
        format!("own emissions — {}", head.signer),
        String::new(),
        a.own.pcf_excluding_biogenic_uptake.0 as f64,
        a.own.pcf_excluding_biogenic_uptake.kg_string(),
    )];
    let mut sum: i128 = a.own.pcf_excluding_biogenic_uptake.0 as i128;
    if let Some(t) = tree {
        // The largest contributions one by one; the rest summed exactly in one row.
        let mut inputs: Vec<&TreeNode> = t.inputs.iter().collect();
        inputs.sort_by_key(|c| std::cmp::Reverse(c.contribution.unwrap_or_default().0.unsigned_abs()));
        let (shown, rest) = inputs.split_at(inputs.len().min(MAX_DIRECT));
        for c in shown {
            let contrib = c.contribution.unwrap_or_default();
            sum += contrib.0 as i128;
            items.push((
                format!(
                    "{} × {} — {}",
                    c.quantity.map(|q| q.decimal_string()).unwrap_or_default(),
                    c.part,
                    c.supplier
                        .clone()
                        .unwrap_or_else(|| format!("signer {}", c.signer.fmt_short()))
                ),
                format!("/entry/{}", c.id),
                contrib.0 as f64,
                contrib.kg_string(),
            ));
        }
        if !rest.is_empty() {
            let more: i128 = rest.iter().map(|c| c.contribution.unwrap_or_default().0 as i128).sum();
            sum += more;
            let more = greenledger_core::Mass(more.clamp(i64::MIN as i128, i64::MAX as i128) as i64);
            items.push((
                format!("{} more inputs (listed in tier 1)", rest.len()),
                format!("/entry/{id}?tier=1"),
                more.0 as f64,
                more.kg_string(),
            ));
        }
    }
    let rounding = a.total.pcf_excluding_biogenic_uptake.0 as i128 - sum;
    if rounding != 0 && tree.is_some() {
        items.push((
            "rounding of the roll-up (one rounding of the sum)".into(),
            String::new(),
            rounding as f64,
            greenledger_core::Mass(rounding as i64).kg_string(),
        ));
    }
    let direct = bars(items, whole);
    let (by_tier, by_supplier) = by_tier_and_supplier(&dag);
    let custody = tree.map(|t| custody_of(&r, t)).unwrap_or_default();
    let supersedes = a.supersedes.map(|s| entry_link(&r, &s));
    let others = store
        .part_entries(&a.part, 100)?
        .into_iter()
        .filter(|o| *o != id)
        .map(|o| entry_link(&r, &o))
        .collect();
    let short = id.fmt_short();
    let network = store.network().to_hex();
    let unit = a.declared_unit_of_measurement.as_str().to_string();
    Ok(EntryView::Attestation(Box::new(AttestationPage {
        title: format!("{} · {} · greenledger explorer", clip(&a.part, 60), short),
        q: String::new(),
        part: a.part.clone(),
        part_href: part_href(&a.part),
        unit: unit.clone(),
        total: a.total.pcf_excluding_biogenic_uptake.kg_string(),
        own: a.own.pcf_excluding_biogenic_uptake.kg_string(),
        quantity: a.produced_quantity.map(|q| q.decimal_string()),
        period: match (&a.reference_period_start, &a.reference_period_end) {
            (Some(s), Some(e)) => format!("{s} – {e}"),
            _ => String::new(),
        },
        country: a.geography_country.clone().unwrap_or_default(),
        head,
        verdict,
        checkpoint: Checkpoint {
            size: checkpoint.size,
            head: checkpoint.head,
            node_key: checkpoint.node_key.to_hex(),
            signature: checkpoint.signature,
            timestamp: checkpoint.timestamp,
        },
        graph_w: drawing.width,
        graph_h: drawing.height,
        boxes: drawing.boxes,
        edges: drawing.edges,
        tier_rows: drawing.rows,
        row_labels: drawing.row_labels,
        box_w: graph::BOX_W,
        box_h: graph::BOX_H,
        direct_h: direct.len() as u32 * 26,
        direct,
        tier_h: by_tier.len() as u32 * 26,
        by_tier,
        supplier_h: by_supplier.len() as u32 * 26,
        by_supplier,
        electricity: custody.0,
        shipments: custody.1,
        supersedes,
        others,
        bundle_href: format!("/v1/provenance/{id}"),
        bundle_file: format!("provenance-{short}.json"),
        verify_cmd: format!("greenledger verify --bundle provenance-{short}.json --network {network}"),
        verify_online: format!("greenledger verify {id} --node {node} --network {network}"),
    })))
}

/// Marks graph nodes flagged, not failed: upstream attestations that a correction among the
/// bundle's entries supersedes (the bundle carries the corrections of the target and of its
/// inputs), and entries of signers that forked.
fn flag(dag: &mut Dag, bundle_entries: &[Entry], store: &Store, r: &Reader<'_>) {
    for c in bundle_entries {
        if dag.nodes.contains_key(&c.id) {
            continue;
        }
        let Some(of) = c.attestation().and_then(|a| a.supersedes) else {
            continue;
        };
        if let Some(n) = dag.nodes.get_mut(&of)
            && let Some(orig) = store.get_decoded(&of)
            && greenledger_core::engine::corrects(c, &orig, r)
        {
            n.flagged = Some("superseded");
        }
    }
    if store.shared().forks.load(std::sync::atomic::Ordering::Relaxed) > 0 {
        for n in dag.nodes.values_mut() {
            if let Ok(k) = n.signer.parse::<PublicKey>()
                && greenledger_core::LedgerView::forked_at(r, &k).is_some()
            {
                n.flagged = Some("signer forked");
            }
        }
    }
}

fn empty_report(target: EntryId) -> Report {
    Report {
        valid: false,
        reasons: Vec::new(),
        warnings: Vec::new(),
        network_name: None,
        network_id: None,
        network_pinned: false,
        expected_network: None,
        target,
        steps: Vec::new(),
        entries: 0,
        tree: None,
    }
}

/// The verdict as `greenledger verify` words it.
fn verdict_of(r: &Report, ms: f64) -> Verdict {
    let headline = if r.valid {
        match &r.tree {
            Some(t) => format!(
                "VALID: {} — {} kg CO2e per {}, every signature, membership, link, roll-up and custody rule checked",
                t.part,
                t.total.kg_string(),
                t.unit.as_str()
            ),
            None => "VALID".into(),
        }
    } else {
        format!(
            "INVALID: {} problem{}",
            r.reasons.len(),
            if r.reasons.len() == 1 { "" } else { "s" }
        )
    };
    Verdict {
        valid: r.valid,
        headline,
        reasons: r
            .reasons
            .iter()
            .map(|x| ReasonRow {
                step: x.step,
                check: x.check.to_string(),
                message: x.message.clone(),
                href: x.entry.map(|e| format!("/entry/{e}")),
            })
            .collect(),
        warnings: r.warnings.clone(),
        steps: r
            .steps
            .iter()
            .map(|s| StepRow {
                step: s.step,
                check: s.check.to_string(),
                ok: s.ok,
                problems: s.problems,
            })
            .collect(),
        entries: r.entries,
        ms: format!("{ms:.0}"),
    }
}

/// Electricity claims (with their certificates) and the shipments behind batch inputs, of the
/// target and every upstream attestation that has any.
fn custody_of(r: &Reader<'_>, t: &TreeNode) -> (Vec<ElectricityRow>, Vec<ShipmentRow>) {
    let mut elec = Vec::new();
    let mut ships = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![t];
    while let Some(n) = stack.pop() {
        stack.extend(n.inputs.iter().rev());
        if n.repeated || !seen.insert(n.id) || elec.len() + ships.len() > 500 {
            continue;
        }
        if let Some(e) = &n.electricity {
            for c in &e.claims {
                let certs = c
                    .certificates
                    .iter()
                    .map(|cf| CertRow {
                        href: format!("/lot/{}:0", cf.issue),
                        text: format!(
                            "{} {} — {} {} in {}, {} – {}, {} Wh{}{}",
                            cf.scheme,
                            cf.serial,
                            cf.technology,
                            cf.device.join(", "),
                            cf.region,
                            cf.production_start,
                            cf.production_end,
                            cf.wh.0,
                            if cf.hourly_matched { ", hourly matched" } else { "" },
                            cf.double_issuance
                                .map(|d| format!(" — ISSUED TWICE (conflicts with {})", d.fmt_short()))
                                .unwrap_or_default()
                        ),
                        conflict: cf.double_issuance.is_some(),
                    })
                    .collect();
                elec.push(ElectricityRow {
                    attestation: entry_link(r, &n.id),
                    lot_href: format!("/lot/{}", c.lot),
                    lot: c.lot.to_string(),
                    wh: c.wh.0,
                    renewable: e
                        .renewable_share
                        .map(|s| format!("{}%", s.percent_string()))
                        .unwrap_or_else(|| "–".into()),
                    hourly: e
                        .hourly_matched_share
                        .map(|s| format!("{}%", s.percent_string()))
                        .unwrap_or_else(|| "–".into()),
                    beneficiary: c.retirement.as_ref().map(|x| x.beneficiary.clone()).unwrap_or_default(),
                    unresolved: c.unresolved.clone().unwrap_or_default(),
                    certificates: certs,
                });
            }
        }
        for b in &n.batch_inputs {
            ships.push(ShipmentRow {
                attestation: entry_link(r, &n.id),
                input: entry_link(r, &b.entry),
                lot_href: format!("/lot/{}", b.lot),
                lot: b.lot.to_string(),
                drawn: b.drawn.map(|q| q.decimal_string()).unwrap_or_else(|| "–".into()),
                holder: b.holder_name.clone().unwrap_or_default(),
                shipments: b
                    .shipments
                    .iter()
                    .map(|s| Link {
                        href: format!("/entry/{}", s.entry),
                        text: format!(
                            "{} shipped {} by {}",
                            s.entry.fmt_short(),
                            s.shipped.decimal_string(),
                            s.shipper_name.clone().unwrap_or_else(|| s.shipper.fmt_short())
                        ),
                    })
                    .collect(),
                unresolved: b.unresolved.clone().unwrap_or_default(),
            });
        }
    }
    (elec, ships)
}

fn tier_page(
    dag: &Dag,
    head: &EntryHead,
    a: &greenledger_core::Attestation,
    tier: usize,
    q: &TierQuery,
) -> Result<TierPage, PageError> {
    let Some(ids) = dag.tiers.get(tier) else {
        return Err(PageError::not_found(format!(
            "The provenance graph of entry {} has {} tiers (0 to {}); there is no tier {tier}.",
            head.id,
            dag.tiers.len(),
            dag.tiers.len().saturating_sub(1)
        )));
    };
    let supplier = q.supplier.as_deref().filter(|s| !s.is_empty());
    let chosen: Vec<&graph::Node> = ids
        .iter()
        .map(|i| &dag.nodes[i])
        .filter(|n| supplier.is_none_or(|s| n.signer == s))
        .collect();
    let pages = chosen.len().div_ceil(PAGE).max(1);
    let page = q.page.unwrap_or(1).max(1);
    if page > pages {
        return Err(PageError::not_found(format!(
            "Tier {tier} has {} page{} of {PAGE}; there is no page {page}.",
            pages,
            if pages == 1 { "" } else { "s" }
        )));
    }
    let whole = dag.root_total();
    let sfx = supplier.map(|s| format!("&supplier={}", seg(s))).unwrap_or_default();
    let base = format!("/entry/{}?tier={tier}{sfx}", head.id);
    Ok(TierPage {
        title: format!("tier {tier} of {} · greenledger explorer", clip(&a.part, 60)),
        q: String::new(),
        part: a.part.clone(),
        target_href: format!("/entry/{}", head.id),
        target: head.short.clone(),
        tier,
        tiers: dag.tiers.len(),
        supplier: supplier.map(|s| chosen.first().map_or_else(|| s.to_string(), |n| n.supplier.clone())),
        count: chosen.len(),
        page,
        pages,
        prev: (page > 1).then(|| format!("{base}&page={}", page - 1)),
        next: (page < pages).then(|| format!("{base}&page={}", page + 1)),
        rows: chosen
            .iter()
            .skip((page - 1) * PAGE)
            .take(PAGE)
            .map(|n| TierEntry {
                href: format!("/entry/{}", n.id),
                id: n.id.fmt_short(),
                part: n.part.clone(),
                supplier: n.supplier.clone(),
                signer_href: format!("/signer/{}", n.signer),
                total: n.total.kg_string(),
                unit: n.unit.to_string(),
                share: percent(n.own_in_target_mg, whole),
                kg: approx_kg(n.own_in_target_mg),
                status: if n.failed {
                    "failed"
                } else if n.flagged.is_some() {
                    "flagged"
                } else {
                    "ok"
                },
                mark: if n.failed {
                    "✗ failed".into()
                } else if let Some(f) = n.flagged {
                    format!("⚠ {f}")
                } else {
                    "✓ holds".into()
                },
            })
            .collect(),
    })
}

fn other_entry(r: &Reader<'_>, e: &Entry, head: EntryHead) -> Result<OtherEntryPage, PageError> {
    let mut facts: Vec<(String, String)> = Vec::new();
    let mut links: Vec<Link> = Vec::new();
    match &e.payload.body {
        Body::MemberAdmit(a) => {
            facts.push(("member".into(), a.member.to_hex()));
            facts.push(("organisation".into(), a.name.clone()));
            facts.push(("role".into(), a.role.as_str().into()));
            if let Some(p) = &a.peer_id {
                facts.push(("peer id".into(), p.clone()));
            }
            links.push(Link {
                href: format!("/signer/{}", a.member),
                text: format!("the member {}", a.name),
            });
        }
        Body::MemberRevoke(v) => {
            facts.push(("member".into(), v.member.to_hex()));
            facts.push(("revoked after its seq".into(), v.after_seq.to_string()));
            if let Some(why) = &v.reason {
                facts.push(("reason".into(), why.clone()));
            }
            links.push(Link {
                href: format!("/signer/{}", v.member),
                text: format!("the member {}", name_of(r, &v.member)),
            });
        }
        Body::CertificateIssue(c) => {
            facts.push(("scheme".into(), c.scheme.clone()));
            facts.push(("serial".into(), c.serial.clone()));
            facts.push(("device".into(), c.device.join(", ")));
            facts.push(("technology".into(), c.technology.clone()));
            facts.push(("region".into(), c.region.clone()));
            facts.push((
                "production".into(),
                format!("{} – {}", c.production_start, c.production_end),
            ));
            facts.push(("energy".into(), format!("{} Wh", c.wh.0)));
            links.push(Link {
                href: format!("/lot/{}:0", e.id),
                text: "its lot: issuance, transfers, retirement and claims".into(),
            });
        }
        _ => {}
    }
    // The lots this entry creates or draws on.
    for d in e.payload.body.draws(e) {
        links.push(Link {
            href: format!("/lot/{}", d.lot),
            text: format!("draws {} on lot {}", d.amount, d.lot),
        });
    }
    for (lot, _) in greenledger_core::custody::lots_of(e) {
        let href = format!("/lot/{lot}");
        if !links.iter().any(|x| x.href == href) {
            links.push(Link {
                href,
                text: format!("creates lot {lot}"),
            });
        }
    }
    Ok(OtherEntryPage {
        title: format!("{} {} · greenledger explorer", head.kind, head.short),
        q: String::new(),
        head,
        facts,
        links,
    })
}

// ---------------------------------------------------------------------------------------------
// A signer

#[derive(Deserialize)]
struct SignerQuery {
    from: Option<u64>,
}

async fn signer(
    State(st): State<AppState>,
    key: PathArg,
    q: Result<Query<SignerQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let Query(q) = q.map_err(|e| PageError::bad_request(format!("{e}; use ?from=SEQ")))?;
    let key = parse_key(&path_arg(key)?)?;
    let store = st.store.clone();
    let page = blocking(move || {
        let r = Reader::new(&store);
        let Some(info) = r.signer(&key)? else {
            return Err(PageError::not_found(format!(
                "Signer {key} is neither admitted nor known on this node."
            )));
        };
        let mut admissions = Vec::new();
        for e in store.membership_entries()? {
            match &e.payload.body {
                Body::MemberAdmit(a) if a.member == key => admissions.push(TimelineRow {
                    when: e.payload.timestamp.clone(),
                    what: format!(
                        "admitted as {} of {:?} by {}",
                        a.role.as_str(),
                        a.name,
                        name_of(&r, &e.payload.signer)
                    ),
                    href: format!("/entry/{}", e.id),
                    class: "ok",
                }),
                Body::MemberRevoke(v) if v.member == key => admissions.push(TimelineRow {
                    when: e.payload.timestamp.clone(),
                    what: format!(
                        "revoked after its seq {} by {}{}",
                        v.after_seq,
                        name_of(&r, &e.payload.signer),
                        v.reason.as_ref().map(|w| format!(": {w}")).unwrap_or_default()
                    ),
                    href: format!("/entry/{}", e.id),
                    class: "failed",
                }),
                _ => {}
            }
        }
        let from = q.from.unwrap_or(1).max(1);
        let chain = store.chain_range(&key, from, PAGE)?;
        let last = chain
            .last()
            .and_then(|se| se.decode_stored().ok())
            .map(|e| e.payload.seq);
        let rows = chain
            .iter()
            .filter_map(|se| se.decode_stored().ok())
            .map(|e| ChainRow {
                seq: e.payload.seq,
                href: format!("/entry/{}", e.id),
                id: e.id.fmt_short(),
                kind: e.payload.body.kind().as_str().to_string(),
                summary: clip(&e.payload.body.summary(), 120),
                timestamp: e.payload.timestamp.clone(),
                after_fork: info.forked_at_seq.is_some_and(|f| e.payload.seq >= f),
            })
            .collect();
        let forks = store
            .forks_of(&key)?
            .into_iter()
            .map(|(seq, p)| ForkRow {
                seq,
                a: Link {
                    href: format!("/entry/{}", p.a.id()),
                    text: p.a.id().to_hex(),
                },
                b: Link {
                    href: format!("/entry/{}", p.b.id()),
                    text: p.b.id().to_hex(),
                },
            })
            .collect();
        let head_seq = info.head.as_ref().map_or(0, |h| h.seq);
        let name = info
            .name
            .clone()
            .unwrap_or_else(|| format!("signer {}", key.fmt_short()));
        Ok(SignerPage {
            title: format!("{} · greenledger explorer", clip(&name, 60)),
            q: String::new(),
            name,
            key: key.to_hex(),
            roles: info.roles.join(", "),
            admin: info.admin,
            revoked_after: info.revoked_after_seq,
            forked_at: info.forked_at_seq,
            head_seq,
            admissions,
            rows,
            forks,
            older: (from > 1).then(|| format!("/signer/{key}?from={}", from.saturating_sub(PAGE as u64).max(1))),
            newer: last
                .filter(|l| *l < head_seq)
                .map(|l| format!("/signer/{key}?from={}", l + 1)),
        })
    })
    .await?;
    ok(&page)
}

// ---------------------------------------------------------------------------------------------
// A lot

async fn lot(State(st): State<AppState>, lot: PathArg) -> PageResult {
    let lot = path_arg(lot)?;
    let id: LotId = lot.parse().map_err(|e: String| {
        PageError::bad_request(format!(
            "{:?} is not a lot: {e}. A lot is ENTRY_ID:INDEX, e.g. a certificate's is its issue's id followed by :0.",
            clip(&lot, 100)
        ))
    })?;
    let store = st.store.clone();
    let page = blocking(move || {
        let r = Reader::new(&store);
        let Some(info) = r.lot(&id)? else {
            return Err(PageError::not_found(if store.entry(&id.entry)?.is_some() {
                format!("Entry {} creates no lot {}.", id.entry, id.index)
            } else {
                format!("No entry {} is on this node, so no lot {id}.", id.entry)
            }));
        };
        let mut timeline = Vec::new();
        if let Some(o) = store.get_decoded(&info.origin) {
            timeline.push(TimelineRow {
                when: o.payload.timestamp.clone(),
                what: format!(
                    "created by {} ({}) of {}: {}",
                    o.payload.body.kind().as_str(),
                    o.id.fmt_short(),
                    name_of(&r, &o.payload.signer),
                    clip(&o.payload.body.summary(), 140)
                ),
                href: format!("/entry/{}", o.id),
                class: "ok",
            });
        }
        for d in &info.draws {
            let e = store.get_decoded(&d.entry);
            let what = match e.as_ref().map(|e| &e.payload.body) {
                Some(Body::Attestation(a)) => format!(
                    "{} {} claimed by attestation {} of {} ({})",
                    d.amount,
                    info.unit,
                    d.entry.fmt_short(),
                    a.part,
                    e.as_ref().map(|e| name_of(&r, &e.payload.signer)).unwrap_or_default()
                ),
                Some(b) => format!(
                    "{} {} drawn by {} {} (seq {}): {}",
                    d.amount,
                    info.unit,
                    d.kind,
                    d.entry.fmt_short(),
                    d.seq,
                    clip(&b.summary(), 140)
                ),
                None => format!("{} {} drawn by {} {}", d.amount, info.unit, d.kind, d.entry.fmt_short()),
            };
            timeline.push(TimelineRow {
                when: e.map(|e| e.payload.timestamp).unwrap_or_default(),
                what,
                href: format!("/entry/{}", d.entry),
                class: "ok",
            });
        }
        for c in &info.conflicts {
            timeline.push(TimelineRow {
                when: String::new(),
                what: format!(
                    "✗ double issuance: {} and {} certify the same hours of {}",
                    c.a.fmt_short(),
                    c.b.fmt_short(),
                    c.devices.join(", ")
                ),
                href: format!("/entry/{}", if c.a == info.origin { c.b } else { c.a }),
                class: "failed",
            });
        }
        let certificates = info
            .certificates
            .iter()
            .map(|c| Link {
                href: format!("/lot/{}:0", c.issue),
                text: format!(
                    "{} {} — {} {} in {}, {} – {}, {} Wh, issued by {}",
                    c.scheme,
                    c.serial,
                    c.technology,
                    c.device.join(", "),
                    c.region,
                    c.production_start,
                    c.production_end,
                    c.wh,
                    c.issuer_name.clone().unwrap_or_else(|| c.issuer.fmt_short())
                ),
            })
            .collect();
        let share = |v: i64| percent(v as f64, info.amount as f64);
        Ok(LotPage {
            title: format!("lot {} · greenledger explorer", clip(&id.to_string(), 30)),
            q: String::new(),
            lot: id.to_string(),
            kind: info.kind.as_str().to_string(),
            unit: info.unit.clone(),
            holder: name_of(&r, &info.holder),
            holder_href: format!("/signer/{}", info.holder),
            amount: info.amount,
            drawn: info.drawn,
            left: info.left,
            drawn_share: share(info.drawn),
            drawn_w: if info.amount > 0 {
                ((info.drawn.max(0) as f64 / info.amount as f64) * 100.0)
                    .round()
                    .min(100.0) as u32
            } else {
                0
            },
            conflict: !info.conflicts.is_empty(),
            certificates,
            timeline,
        })
    })
    .await?;
    ok(&page)
}

// ---------------------------------------------------------------------------------------------
// Assets

async fn asset(Path(file): Path<String>) -> Response {
    let (body, ct) = match file.as_str() {
        "explorer.css" => (CSS, "text/css; charset=utf-8"),
        "explorer.js" => (JS, "text/javascript; charset=utf-8"),
        "icon.svg" => (ICON, "image/svg+xml"),
        _ => {
            return PageError::not_found(format!("No asset {:?} is built into this node.", clip(&file, 100)))
                .into_response();
        }
    };
    (
        [
            (header::CONTENT_TYPE, ct),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
