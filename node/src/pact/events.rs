//! `POST /3/events`: CloudEvents received (kept durably in `DATA_DIR/pact-events/`), and the
//! replies to `RequestCreated` events, sent to the requester's `/3/events` with a token from
//! its own token endpoint, retried with exponential backoff.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, SystemTime},
};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::{PactApiError, query};
use crate::{config::PactRecipient, store::Store};

/// The event types of PACT v3.0.1, and the names earlier versions used for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// A request for footprints (answered asynchronously).
    RequestCreated,
    /// The answer to a request.
    RequestFulfilled,
    /// A request refused.
    RequestRejected,
    /// New or changed footprints are available.
    Published,
}

impl EventType {
    fn parse(t: &str) -> Option<Self> {
        Some(match t {
            "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3"
            | "org.wbcsd.pact.ProductFootprint.RequestCreated.3"
            | "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1" => EventType::RequestCreated,
            "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3"
            | "org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1" => EventType::RequestFulfilled,
            "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3"
            | "org.wbcsd.pathfinder.ProductFootprintRequest.Rejected.v1" => EventType::RequestRejected,
            "org.wbcsd.pact.ProductFootprint.PublishedEvent.3"
            | "org.wbcsd.pathfinder.ProductFootprint.Published.v1" => EventType::Published,
            _ => return None,
        })
    }

    fn label(self) -> &'static str {
        match self {
            EventType::RequestCreated => "request_created",
            EventType::RequestFulfilled => "request_fulfilled",
            EventType::RequestRejected => "request_rejected",
            EventType::Published => "published",
        }
    }
}

const FULFILLED: &str = "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3";
const REJECTED: &str = "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3";
/// The most footprints in one RequestFulfilled event (about 3 KB each: a reply stays under
/// the 2 MiB a node accepts by default).
const MAX_REPLY_FOOTPRINTS: usize = 500;

fn bad(msg: impl Into<String>) -> PactApiError {
    PactApiError::bad_request(msg)
}

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok()
}

fn strings(data: &Value, key: &str) -> Result<Vec<String>, PactApiError> {
    match data.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(String::from)
                    .ok_or_else(|| bad(format!("data.{key} must be an array of strings")))
            })
            .collect(),
        Some(_) => Err(bad(format!("data.{key} must be an array of strings"))),
    }
}

fn time(data: &Value, key: &str) -> Result<Option<time::OffsetDateTime>, PactApiError> {
    match data.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => query::parse_time(s).map(Some).ok_or_else(|| {
            bad(format!(
                "data.{key} must be an RFC 3339 date-time, e.g. 2025-01-01T00:00:00Z"
            ))
        }),
        Some(_) => Err(bad(format!("data.{key} must be an RFC 3339 date-time string"))),
    }
}

/// The criteria of a RequestCreated event (v3.0.1 fields; v2's `data.pf.productIds` too).
fn criteria(data: &Value) -> Result<query::Filter, PactApiError> {
    let mut product_ids = strings(data, "productId")?;
    if let Some(pf) = data.get("pf") {
        product_ids.extend(strings(pf, "productIds")?);
    }
    if let Some(c) = data.get("comment")
        && !c.is_string()
        && !c.is_null()
    {
        return Err(bad("data.comment must be a string"));
    }
    Ok(query::Filter {
        product_ids,
        company_ids: strings(data, "companyId")?,
        geography: strings(data, "geography")?,
        classifications: strings(data, "classification")?,
        valid_on: time(data, "validOn")?,
        valid_after: time(data, "validAfter")?,
        valid_before: time(data, "validBefore")?,
        status: strings(data, "status")?,
    })
}

/// A checked event.
#[derive(Debug)]
pub struct Event {
    /// Its type.
    pub kind: EventType,
    /// Its `id`.
    pub id: String,
    /// Its `source`.
    pub source: String,
    /// The whole event as received.
    pub body: Value,
}

/// Checks the CloudEvents envelope and the data of a PACT event.
pub fn check(body: Value) -> Result<Event, PactApiError> {
    let Value::Object(o) = &body else {
        return Err(bad("the event must be a JSON object (a CloudEvent in structured mode)"));
    };
    let text = |k: &str| -> Result<String, PactApiError> {
        match o.get(k) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            Some(Value::String(_)) => Err(bad(format!("the event's \"{k}\" must not be empty"))),
            Some(_) => Err(bad(format!("the event's \"{k}\" must be a string"))),
            None => Err(bad(format!("the event has no \"{k}\" (CloudEvents 1.0 requires it)"))),
        }
    };
    let specversion = text("specversion")?;
    if specversion != "1.0" {
        return Err(bad(format!(
            "specversion {specversion:?} is not supported; send CloudEvents 1.0 (\"specversion\": \"1.0\")"
        )));
    }
    let id = text("id")?;
    let source = text("source")?;
    let t = text("time")?;
    if query::parse_time(&t).is_none() {
        return Err(bad(format!(
            "the event's time {t:?} is not an RFC 3339 date-time, e.g. 2025-01-01T00:00:00Z"
        )));
    }
    let ty = text("type")?;
    let kind = EventType::parse(&ty).ok_or_else(|| {
        bad(format!(
            "unknown event type {ty:?}; this node takes org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3, RequestFulfilledEvent.3, RequestRejectedEvent.3 and PublishedEvent.3"
        ))
    })?;
    let data = match o.get("data") {
        Some(d @ Value::Object(_)) => d,
        Some(_) => return Err(bad("the event's \"data\" must be an object")),
        None => return Err(bad("the event has no \"data\"")),
    };
    match kind {
        EventType::RequestCreated => {
            criteria(data)?;
        }
        EventType::Published => {
            let ids = data
                .get("pfIds")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("data.pfIds must be an array of footprint ids (UUIDs)"))?;
            if ids.is_empty() {
                return Err(bad("data.pfIds must name at least one footprint"));
            }
            for v in ids {
                match v.as_str() {
                    Some(s) if is_uuid(s) => {}
                    _ => return Err(bad(format!("data.pfIds: {v} is not a UUID"))),
                }
            }
        }
        EventType::RequestFulfilled => {
            request_event_id(data)?;
            let pfs = data
                .get("pfs")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("data.pfs must be an array of ProductFootprints"))?;
            if pfs.is_empty() {
                return Err(bad(
                    "data.pfs must hold at least one footprint (a request nothing matches is rejected instead)",
                ));
            }
            for (i, pf) in pfs.iter().enumerate() {
                footprint_shape(pf).map_err(|e| bad(format!("data.pfs[{i}] is not a PACT ProductFootprint: {e}")))?;
            }
        }
        EventType::RequestRejected => {
            request_event_id(data)?;
            let e = data
                .get("error")
                .ok_or_else(|| bad("data.error ({\"code\", \"message\"}) is missing"))?;
            for k in ["code", "message"] {
                if e.get(k).and_then(Value::as_str).is_none_or(|s| s.is_empty()) {
                    return Err(bad(format!("data.error.{k} must be a non-empty string")));
                }
            }
        }
    }
    Ok(Event { kind, id, source, body })
}

/// The ProductFootprint schema's required properties and their types. (Receiving is not
/// attesting: the stricter import checks of `attest --pact` apply when a footprint is signed.)
fn footprint_shape(pf: &Value) -> Result<(), String> {
    let Value::Object(o) = pf else {
        return Err("not an object".into());
    };
    for k in [
        "id",
        "specVersion",
        "created",
        "status",
        "companyName",
        "productDescription",
        "productNameCompany",
    ] {
        if !o.get(k).is_some_and(Value::is_string) {
            return Err(format!("\"{k}\" must be a string"));
        }
    }
    if !o.get("id").and_then(Value::as_str).is_some_and(is_uuid) {
        return Err("\"id\" must be a UUID".into());
    }
    if !matches!(o.get("status").and_then(Value::as_str), Some("Active" | "Deprecated")) {
        return Err("\"status\" must be Active or Deprecated".into());
    }
    if o.get("created")
        .and_then(Value::as_str)
        .and_then(query::parse_time)
        .is_none()
    {
        return Err("\"created\" must be an RFC 3339 date-time".into());
    }
    for k in ["companyIds", "productIds"] {
        if !o
            .get(k)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string))
        {
            return Err(format!("\"{k}\" must be a non-empty array of URNs"));
        }
    }
    if !o.get("pcf").is_some_and(Value::is_object) {
        return Err("\"pcf\" must be an object".into());
    }
    Ok(())
}

fn request_event_id(data: &Value) -> Result<(), PactApiError> {
    match data.get("requestEventId") {
        Some(Value::String(s)) if !s.is_empty() => Ok(()),
        _ => Err(bad(
            "data.requestEventId must be the id of the RequestCreated event answered",
        )),
    }
}

/// `https://host/path` for a CloudEvents source (`//host/path` is taken as https).
fn source_url(source: &str) -> Option<url::Url> {
    let s = if source.starts_with("//") {
        format!("https:{source}")
    } else {
        source.to_string()
    };
    url::Url::parse(&s)
        .ok()
        .filter(|u| u.scheme() == "https" && u.host().is_some())
}

/// Where the reply to an event from `source` goes: `source` itself if it names a
/// `/3/events` endpoint, otherwise `source` + `/3/events`.
pub fn reply_target(source: &str) -> Option<String> {
    let u = source_url(source)?;
    let s = u.as_str().trim_end_matches('/').to_string();
    if u.path().trim_end_matches('/').ends_with("/3/events") {
        Some(s)
    } else {
        Some(format!("{s}/3/events"))
    }
}

fn prefix_matches(url: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    url.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
}

/// Checks `pact.recipients` at start: https URLs, readable CA files.
pub fn check_recipients(recipients: &[PactRecipient]) -> Result<()> {
    for r in recipients {
        if source_url(&r.url).is_none() {
            bail!("pact.recipients: url {:?} must be an https:// URL", r.url);
        }
        if let Some(t) = &r.token_url
            && source_url(t).is_none()
        {
            bail!("pact.recipients: token_url {t:?} must be an https:// URL");
        }
        if let Some(ca) = &r.ca_cert {
            load_ca(ca)?;
        }
    }
    Ok(())
}

fn load_ca(path: &Path) -> Result<Vec<ureq::tls::Certificate<'static>>> {
    let pem = std::fs::read(path).with_context(|| format!("cannot read the CA certificate {}", path.display()))?;
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|i| match i {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        bail!("{} holds no PEM certificate", path.display());
    }
    Ok(certs)
}

/// The received events and the replies owed.
pub struct Events {
    dir: PathBuf,
    store: Store,
    metrics: Arc<crate::metrics::Metrics>,
    recipients: Vec<PactRecipient>,
    /// The `source` of the events this node sends.
    own_source: String,
    retry_for: Duration,
    /// Held while an event is checked for and written (two copies of one event arriving at
    /// once are kept, and answered, once).
    write: std::sync::Mutex<()>,
    /// Replies being computed at once (each reads the log).
    scans: tokio::sync::Semaphore,
    /// Cancelled when the node stops.
    shutdown: tokio_util::sync::CancellationToken,
}

impl Events {
    /// Opens (creating) the event directory.
    pub fn open(
        data_dir: &Path,
        store: Store,
        metrics: Arc<crate::metrics::Metrics>,
        recipients: Vec<PactRecipient>,
        own_source: String,
        retry_for: Duration,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> Result<Arc<Self>> {
        let dir = data_dir.join("pact-events");
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Arc::new(Events {
            dir,
            store,
            metrics,
            recipients,
            own_source,
            retry_for,
            write: std::sync::Mutex::new(()),
            scans: tokio::sync::Semaphore::new(2),
            shutdown,
        }))
    }

    fn recipient(&self, source: &str) -> Option<&PactRecipient> {
        let u = source_url(source)?;
        self.recipients
            .iter()
            .find(|r| source_url(&r.url).is_some_and(|ru| prefix_matches(u.as_str(), ru.as_str())))
    }

    /// Accepts a checked event: stores it durably (once per source and id) and, for a
    /// request, starts its reply. Returns the file it is kept in.
    pub fn accept(self: &Arc<Self>, ev: Event, client: &str) -> Result<PathBuf, PactApiError> {
        if ev.kind == EventType::RequestCreated {
            if reply_target(&ev.source).is_none() {
                return Err(bad(format!(
                    "the event's source {:?} is not an https URL; replies are sent to SOURCE/3/events over HTTPS",
                    ev.source
                )));
            }
            if self.recipient(&ev.source).is_none() {
                return Err(bad(format!(
                    "this node has no credentials for replies to {:?}; its operator adds a [[pact.recipients]] entry for that host",
                    ev.source
                )));
            }
        }
        let key = blake3::hash(format!("{}\0{}", ev.source, ev.id).as_bytes()).to_hex();
        let path = self.dir.join(format!("{}.json", &key[..32]));
        let _guard = self.write.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if path.exists() {
            // The same event again (a retry): already kept, and its reply already started.
            return Ok(path);
        }
        let record = json!({
            "received": humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            "client": client,
            "type": ev.kind.label(),
            "event": ev.body,
        });
        write_json(&path, &record).map_err(|e| {
            tracing::error!(cause = %format!("{e:#}"), "cannot keep a PACT event");
            PactApiError::internal("the event could not be stored; send it again later")
        })?;
        tracing::info!(kind = ev.kind.label(), id = %ev.id, source = %ev.source, %client, "PACT event received");
        self.metrics
            .pact_events
            .get_or_create(&crate::metrics::KindLabels {
                kind: ev.kind.label().into(),
            })
            .inc();
        if ev.kind == EventType::RequestCreated {
            self.spawn_reply(path.clone(), ev.body, SystemTime::now());
        }
        Ok(path)
    }

    /// Starts the replies still owed (requests received but not answered before a restart).
    pub fn resume(self: &Arc<Self>) {
        let Ok(rd) = std::fs::read_dir(&self.dir) else { return };
        for e in rd.flatten() {
            let path = e.path();
            if path.extension().is_none_or(|x| x != "json") || replied_marker(&path).exists() {
                continue;
            }
            let Some(rec) = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            else {
                continue;
            };
            if rec["type"] != "request_created" {
                continue;
            }
            let received = rec["received"]
                .as_str()
                .and_then(query::parse_time)
                .map(SystemTime::from)
                .unwrap_or_else(SystemTime::now);
            self.spawn_reply(path, rec["event"].clone(), received);
        }
    }

    fn spawn_reply(self: &Arc<Self>, path: PathBuf, event: Value, received: SystemTime) {
        let me = self.clone();
        tokio::spawn(async move {
            // A reply still owed when the node stops stays owed (no marker): it is resumed at
            // the next start. The task must end here, because it holds the store, and the
            // store's writer stops only once every handle is gone.
            let (result, outcome) = tokio::select! {
                r = me.reply(&event, received) => r,
                _ = me.shutdown.cancelled() => return,
            };
            me.metrics
                .pact_replies
                .get_or_create(&crate::metrics::ResultLabels { result: result.into() })
                .inc();
            let marker = json!({
                "at": humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
                "outcome": outcome,
            });
            if let Err(e) = write_json(&replied_marker(&path), &marker) {
                tracing::warn!(cause = %format!("{e:#}"), "cannot record a PACT reply as sent");
            }
        });
    }

    /// Builds and delivers the reply: (outcome for the metrics, what happened for the record).
    async fn reply(&self, event: &Value, received: SystemTime) -> (&'static str, String) {
        let source = event["source"].as_str().unwrap_or_default().to_string();
        let request_id = event["id"].as_str().unwrap_or_default().to_string();
        let (Some(target), Some(recipient)) = (reply_target(&source), self.recipient(&source).cloned()) else {
            return (
                "not_sent",
                format!("not sent: no [[pact.recipients]] entry matches {source}"),
            );
        };
        let filter = match criteria(&event["data"]) {
            Ok(f) => f,
            Err(e) => return ("not_sent", format!("not sent: {}", e.message)),
        };
        let Ok(_permit) = self.scans.acquire().await else {
            return ("not_sent", "not sent: shutting down".to_string());
        };
        let store = self.store.clone();
        let found = tokio::task::spawn_blocking(move || -> Result<Vec<Value>> {
            let mut out = Vec::new();
            let mut from = 0;
            loop {
                let page = query::scan(&store, &filter, from, MAX_REPLY_FOOTPRINTS - out.len(), usize::MAX)?;
                out.extend(page.items);
                match page.next {
                    Some(n) if out.len() < MAX_REPLY_FOOTPRINTS => from = n,
                    Some(_) => {
                        tracing::warn!(
                            max = MAX_REPLY_FOOTPRINTS,
                            "a PACT request matches more footprints than one reply carries; the first ones in log order are sent"
                        );
                        return Ok(out);
                    }
                    None => return Ok(out),
                }
            }
        })
        .await;
        let pfs = match found {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => return ("not_sent", format!("not sent: cannot read the store: {e:#}")),
            Err(e) => return ("not_sent", format!("not sent: {e}")),
        };
        let (ty, data) = if pfs.is_empty() {
            (
                REJECTED,
                json!({"requestEventId": request_id, "error": {"code": "NotFound", "message": "no footprint on this node matches the request"}}),
            )
        } else {
            (FULFILLED, json!({"requestEventId": request_id, "pfs": pfs}))
        };
        let n = pfs.len();
        let reply = json!({
            "specversion": "1.0",
            "id": uuid::Uuid::new_v4().to_string(),
            "source": self.own_source,
            "time": humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            "type": ty,
            "data": data,
        });
        let deadline = received + self.retry_for;
        let mut wait = Duration::from_secs(1);
        loop {
            let r = recipient.clone();
            let t = target.clone();
            let body = reply.clone();
            let sent = tokio::task::spawn_blocking(move || deliver(&r, &t, &body)).await;
            match sent {
                Ok(Ok(())) => {
                    tracing::info!(request = %request_id, to = %target, footprints = n, "PACT reply sent");
                    return (
                        if n == 0 { "rejected" } else { "fulfilled" },
                        format!("sent {ty} with {n} footprints to {target}"),
                    );
                }
                Ok(Err(Delivery::Refused(why))) => {
                    tracing::warn!(request = %request_id, to = %target, cause = %why, "PACT reply refused by its recipient; not retried");
                    return ("refused", format!("refused by {target}: {why}"));
                }
                Ok(Err(Delivery::Failed(why))) => {
                    if SystemTime::now() + wait > deadline {
                        tracing::warn!(request = %request_id, to = %target, cause = %why, "PACT reply given up (pact.reply_retry_for)");
                        return ("given_up", format!("given up: {why}"));
                    }
                    tracing::info!(request = %request_id, to = %target, cause = %why, retry_in = ?wait, "PACT reply not delivered; retrying");
                }
                Err(e) => return ("not_sent", format!("not sent: {e}")),
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(600));
        }
    }
}

fn replied_marker(path: &Path) -> PathBuf {
    path.with_extension("replied")
}

enum Delivery {
    /// The recipient said no (a 4xx other than 401, 408, 429): retrying will not help.
    Refused(String),
    /// Worth retrying.
    Failed(String),
}

/// One attempt: a token from the recipient, then the event to `target`.
fn deliver(r: &PactRecipient, target: &str, event: &Value) -> Result<(), Delivery> {
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(ca) = &r.ca_cert {
        let certs = load_ca(ca).map_err(|e| Delivery::Failed(format!("{e:#}")))?;
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls.build())
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let base = r.url.trim_end_matches('/');
    let token_url = match &r.token_url {
        Some(t) => t.clone(),
        // The discovery document's endpoint, if it is https on the same host: this node's
        // secret for that host goes nowhere else.
        None => agent
            .get(&format!("{base}/.well-known/openid-configuration"))
            .call()
            .ok()
            .filter(|resp| resp.status().is_success())
            .and_then(|mut resp| resp.body_mut().read_json::<Value>().ok())
            .and_then(|v| v["token_endpoint"].as_str().map(String::from))
            .filter(|t| {
                let (Some(t), Some(b)) = (source_url(t), source_url(base)) else {
                    return false;
                };
                t.host() == b.host() && t.port_or_known_default() == b.port_or_known_default()
            })
            .unwrap_or_else(|| format!("{base}/auth/token")),
    };
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", r.client_id, r.client_secret));
    let mut resp = agent
        .post(&token_url)
        .header("authorization", &format!("Basic {basic}"))
        .header("accept", "application/json")
        .send_form([("grant_type", "client_credentials")])
        .map_err(|e| Delivery::Failed(format!("token request to {token_url}: {e}")))?;
    if !resp.status().is_success() {
        return Err(Delivery::Failed(format!(
            "{token_url} refused this node's credentials ({})",
            resp.status()
        )));
    }
    let token = resp
        .body_mut()
        .read_json::<Value>()
        .ok()
        .and_then(|v| v["access_token"].as_str().map(String::from))
        .ok_or_else(|| Delivery::Failed(format!("{token_url} answered without an access_token")))?;
    let body = serde_json::to_vec(event).map_err(|e| Delivery::Failed(e.to_string()))?;
    let resp = agent
        .post(target)
        .header("authorization", &format!("Bearer {token}"))
        .header("content-type", "application/cloudevents+json; charset=UTF-8")
        .send(&body[..])
        .map_err(|e| Delivery::Failed(format!("{target}: {e}")))?;
    let status = resp.status().as_u16();
    match status {
        200..=299 => Ok(()),
        401 | 408 | 429 => Err(Delivery::Failed(format!("{target} answered {status}"))),
        400..=499 => Err(Delivery::Refused(format!("{target} answered {status}"))),
        _ => Err(Delivery::Failed(format!("{target} answered {status}"))),
    }
}

fn write_json(path: &Path, v: &Value) -> Result<()> {
    super::write_file(path, &serde_json::to_vec_pretty(v)?, false)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// JSON with the names and values PACT events use, nested, in any combination.
    fn json() -> impl Strategy<Value = Value> {
        let words = prop::sample::select(vec![
            "1.0",
            "0.3",
            "",
            "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3",
            "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3",
            "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3",
            "org.wbcsd.pact.ProductFootprint.PublishedEvent.3",
            "2025-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "0000-01-01T00:00:00+23:59",
            "3a6c14a7-4deb-498a-b5ea-16ce2535b576",
            "https://a.example/3/events",
            "//a.example",
            "Active",
            "Deprecated",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|n| json!(n)),
            ".{0,12}".prop_map(Value::String),
            words.prop_map(|w| json!(w)),
        ];
        let keys = prop::sample::select(vec![
            "specversion",
            "id",
            "source",
            "time",
            "type",
            "data",
            "pfIds",
            "pfs",
            "requestEventId",
            "error",
            "code",
            "message",
            "productId",
            "companyId",
            "geography",
            "classification",
            "validOn",
            "validAfter",
            "validBefore",
            "status",
            "comment",
            "pf",
            "productIds",
            "companyIds",
            "created",
            "specVersion",
            "companyName",
            "productDescription",
            "productNameCompany",
            "pcf",
            "referencePeriodEnd",
            "validityPeriodStart",
            "validityPeriodEnd",
        ]);
        leaf.prop_recursive(4, 64, 8, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(keys.clone().prop_map(String::from), inner, 0..10)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Whatever a client posts, checking it answers (an event or a 400), never panics.
        #[test]
        fn event_checks_never_panic(v in json()) {
            if let Ok(ev) = check(v.clone()) {
                // A request's criteria can be applied to anything without panicking either.
                if let Ok(f) = criteria(&ev.body["data"]) {
                    let _ = f.matches(&v);
                    let _ = f.matches(&ev.body["data"]);
                }
            } else {
                prop_assert!(check(v).unwrap_err().message.len() < 2000);
            }
        }

        /// Filters on footprints of any shape answer, never panic.
        #[test]
        fn filters_never_panic(pf in json(), on in json(), after in json(), before in json()) {
            let f = query::Filter {
                product_ids: vec!["urn:a".into()],
                valid_on: on.as_str().and_then(query::parse_time),
                valid_after: after.as_str().and_then(query::parse_time),
                valid_before: before.as_str().and_then(query::parse_time),
                ..query::Filter::default()
            };
            let _ = f.matches(&pf);
            let _ = query::effective_validity(&pf);
        }

        /// Any query string is parsed or refused with a 400.
        #[test]
        fn list_queries_never_panic(q in ".{0,80}", k in "[a-zA-Z$]{1,14}", v in ".{0,20}") {
            let _ = super::super::parse_list_query(Some(&q));
            let _ = super::super::parse_list_query(Some(&format!("{k}={v}")));
        }
    }

    #[test]
    fn reply_targets() {
        assert_eq!(
            reply_target("https://buyer.example/webhook").as_deref(),
            Some("https://buyer.example/webhook/3/events")
        );
        assert_eq!(
            reply_target("//buyer.example/3/events").as_deref(),
            Some("https://buyer.example/3/events")
        );
        assert_eq!(reply_target("http://buyer.example/"), None);
        assert_eq!(reply_target("buyer"), None);
        assert!(prefix_matches("https://a.example/x/3/events", "https://a.example/"));
        assert!(!prefix_matches(
            "https://a.example.evil.net/3/events",
            "https://a.example"
        ));
    }

    fn ev(ty: &str, data: Value) -> Value {
        json!({"specversion": "1.0", "id": "e-1", "source": "https://buyer.example/", "time": "2025-01-01T00:00:00Z", "type": ty, "data": data})
    }

    #[test]
    fn events_are_checked() {
        let published = "org.wbcsd.pact.ProductFootprint.PublishedEvent.3";
        assert!(
            check(ev(
                published,
                json!({"pfIds": ["3a6c14a7-4deb-498a-b5ea-16ce2535b576"]})
            ))
            .is_ok()
        );
        let e = check(ev(published, json!({"pfIds": ["urn:gtin:4712345060507"]}))).unwrap_err();
        assert!(e.message.contains("not a UUID"), "{}", e.message);
        let created = "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3";
        assert!(check(ev(created, json!({"productId": ["urn:pact:null"], "comment": "x"}))).is_ok());
        assert!(check(ev(created, json!({"validOn": "yesterday"}))).is_err());
        assert!(check(ev(created, json!({"productId": [1]}))).is_err());
        assert!(check(ev("com.example.Other", json!({}))).is_err());
        let mut no_id = ev(created, json!({}));
        no_id.as_object_mut().unwrap().remove("id");
        assert!(check(no_id).unwrap_err().message.contains("\"id\""));
        let mut v2 = ev(created, json!({}));
        v2["specversion"] = json!("0.3");
        assert!(check(v2).is_err());
        let rejected = "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3";
        assert!(
            check(ev(
                rejected,
                json!({"requestEventId": "r", "error": {"code": "NotFound", "message": "none"}})
            ))
            .is_ok()
        );
        assert!(check(ev(rejected, json!({"requestEventId": "r", "error": {"code": ""}}))).is_err());
        let fulfilled = "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3";
        assert!(check(ev(fulfilled, json!({"requestEventId": "r", "pfs": []}))).is_err());
        assert!(check(ev(fulfilled, json!({"requestEventId": "r", "pfs": [{"id": "x"}]}))).is_err());
        // Any valid date-time is taken in a received footprint (offsets too).
        let pf = json!({"id": "3a6c14a7-4deb-498a-b5ea-16ce2535b576", "specVersion": "3.0.1",
            "created": "2025-01-01T00:00:00+01:00", "status": "Active", "companyName": "A",
            "companyIds": ["urn:a"], "productIds": ["urn:b"], "productDescription": "",
            "productNameCompany": "B", "pcf": {}});
        assert!(check(ev(fulfilled, json!({"requestEventId": "r", "pfs": [pf]}))).is_ok());
    }
}
