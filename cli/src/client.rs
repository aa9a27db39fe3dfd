//! A small blocking HTTP client for the node's API (`--node URL` / `GREENLEDGER_NODE`).
//!
//! The CLI never takes the node's word for anything it can check: bundles are verified
//! locally, log records are re-hashed, signatures re-verified.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use greenledger_core::{
    EntryId, Genesis, PublicKey, SignedEntry,
    api::{EntryInfo, ErrorBody, HolderLots, LotInfo, PartInfo, SignerInfo, Submitted},
    custody::LotId,
};
use serde_json::Value;

use crate::Refused;

/// A node's API.
pub(crate) struct Client {
    base: String,
    agent: ureq::Agent,
}

/// A response: status and body.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.body).context("the node answered with invalid JSON")
    }

    /// The body as the API's error shape, `{"error": {"code", "message"}}`, if it is one.
    fn api_error(&self) -> Option<ErrorBody> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Whether the body has the API's error shape.
    fn is_api_error(&self) -> bool {
        self.api_error().is_some()
    }

    /// The API error's message, if the body has the error shape.
    pub(crate) fn error_message(&self) -> String {
        match (self.api_error(), self.json()) {
            (Some(e), _) => format!("{} [{}]", e.error.message, e.error.code),
            (None, Ok(_)) => format!("HTTP {}", self.status),
            (None, Err(_)) => format!(
                "HTTP {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ),
        }
    }
}

impl Client {
    pub(crate) fn new(url: &str) -> Result<Self> {
        let base = url.trim_end_matches('/').to_string();
        let Some(rest) = base.strip_prefix("http://").or_else(|| base.strip_prefix("https://")) else {
            bail!("--node {url:?} must be an http:// or https:// URL, e.g. http://127.0.0.1:7070");
        };
        if rest.is_empty() || rest.contains(['/', '?', '#']) {
            bail!(
                "--node {url:?}: give the node's base URL (scheme, host and port, e.g. http://127.0.0.1:7070), without a path such as /v1"
            );
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(300)))
            .build()
            .into();
        Ok(Client { base, agent })
    }

    fn unreachable(&self, e: ureq::Error) -> anyhow::Error {
        anyhow!(
            "cannot reach the node at {}: {e} (is greenledger-node running? check --node or GREENLEDGER_NODE)",
            self.base
        )
    }

    /// A failed request answered by something that is not a greenledger node (a web server, a
    /// proxy's error page) is an error saying so, rather than its HTML.
    fn check_is_node(&self, method: &str, path: &str, r: Reply) -> Result<Reply> {
        if r.status >= 400 && !r.is_api_error() {
            bail!(
                "{} answered {method} {path} with HTTP {} and a body that is not a greenledger API error: is this a greenledger-node (its base URL, e.g. http://127.0.0.1:7070)? check --node or GREENLEDGER_NODE",
                self.base,
                r.status
            );
        }
        Ok(r)
    }

    pub(crate) fn get(&self, path: &str) -> Result<Reply> {
        let url = format!("{}{path}", self.base);
        let mut resp = self.agent.get(&url).call().map_err(|e| self.unreachable(e))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(1 << 31)
            .read_to_vec()
            .with_context(|| format!("cannot read the node's answer to GET {path}"))?;
        self.check_is_node("GET", path, Reply { status, body })
    }

    pub(crate) fn post_json(&self, path: &str, body: &[u8]) -> Result<Reply> {
        let url = format!("{}{path}", self.base);
        let mut resp = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json")
            .send(body)
            .map_err(|e| self.unreachable(e))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(16 << 20)
            .read_to_vec()
            .with_context(|| format!("cannot read the node's answer to POST {path}"))?;
        self.check_is_node("POST", path, Reply { status, body })
    }

    fn get_ok(&self, path: &str) -> Result<Reply> {
        let r = self.get(path)?;
        if r.status == 404 {
            bail!("not found on the node: {}", r.error_message());
        }
        if r.status != 200 {
            bail!("the node refused GET {path}: {}", r.error_message());
        }
        Ok(r)
    }

    pub(crate) fn genesis(&self) -> Result<Genesis> {
        let r = self.get_ok("/v1/genesis")?;
        Genesis::from_json(&r.body).context("the node's genesis is invalid")
    }

    /// The signer's chain head on the node, if it has entries there.
    pub(crate) fn head(&self, signer: &PublicKey) -> Result<Option<(u64, EntryId)>> {
        let r = self.get(&format!("/v1/signers/{signer}"))?;
        if r.status == 404 {
            return Ok(None);
        }
        if r.status != 200 {
            bail!(
                "the node refused to describe signer {}: {}",
                signer.fmt_short(),
                r.error_message()
            );
        }
        let info: SignerInfo = serde_json::from_slice(&r.body).context("unexpected answer from the node")?;
        Ok(info.head.map(|h| (h.seq, h.id)))
    }

    /// An entry, exactly as stored (its envelope verbatim), checked against its id.
    pub(crate) fn entry(&self, id: &EntryId) -> Result<SignedEntry> {
        let r = self.get_ok(&format!("/v1/entries/{id}"))?;
        let parsed: EntryInfo = serde_json::from_slice(&r.body).context("unexpected answer from the node")?;
        let se = SignedEntry::from_json(parsed.entry.get().as_bytes()).context("the node sent a malformed entry")?;
        if se.id() != *id {
            bail!("the node sent an entry whose id is {}, not the requested {id}", se.id());
        }
        Ok(se)
    }

    /// The current (non-superseded) attestation of a part; an error if none or several.
    pub(crate) fn current_for_part(&self, part: &str) -> Result<EntryId> {
        let info = self.part(part)?;
        match info.current.as_slice() {
            [] => bail!("part {part} has no current attestation on the node"),
            [one] => Ok(*one),
            many => {
                let ids: Vec<String> = many.iter().map(EntryId::to_hex).collect();
                bail!(
                    "part {part} has {} current attestations (several suppliers or batches not superseding each other, or a fork); name one by id:\n  {}",
                    many.len(),
                    ids.join("\n  ")
                )
            }
        }
    }

    /// `GET /v1/parts/{urn}`: the part's attestations, which supersede which, and their suppliers.
    pub(crate) fn part(&self, part: &str) -> Result<PartInfo> {
        let r = self.get_ok(&format!("/v1/parts/{}", encode_segment(part)))?;
        serde_json::from_slice(&r.body).context("unexpected answer from the node")
    }

    /// `GET /v1/parts/{urn}`, or `None` if the node holds no attestation of the part.
    pub(crate) fn part_if_any(&self, part: &str) -> Result<Option<PartInfo>> {
        let path = format!("/v1/parts/{}", encode_segment(part));
        let r = self.get(&path)?;
        match r.status {
            404 => Ok(None),
            200 => serde_json::from_slice(&r.body)
                .map(Some)
                .with_context(|| format!("unexpected answer from the node to GET {path}")),
            _ => bail!("the node refused GET {path}: {}", r.error_message()),
        }
    }

    /// Resolves an id or part URN.
    pub(crate) fn resolve(&self, what: &str) -> Result<EntryId> {
        if what.starts_with("urn:") {
            return self.current_for_part(what);
        }
        what.parse::<EntryId>()
            .map_err(|e| anyhow!("{what:?}: {e}; online, give the full 64-character id or a part URN"))
    }

    /// `GET /v1/lots/{lot}`: the lot, its draws and what is left; `None` if the node does not
    /// answer it (no such lot, or a node without the route: the caller resolves the lot from
    /// its entries instead).
    pub(crate) fn lot(&self, lot: &LotId) -> Result<Option<LotInfo>> {
        let r = self.get(&format!("/v1/lots/{lot}"))?;
        if r.status != 200 {
            return Ok(None);
        }
        serde_json::from_slice(&r.body)
            .map(Some)
            .context("unexpected answer from the node to GET /v1/lots")
    }

    /// `GET /v1/holders/{pubkey}/lots`: the lots a key holds and what is left of each.
    pub(crate) fn holder_lots(&self, holder: &PublicKey) -> Result<HolderLots> {
        let path = format!("/v1/holders/{holder}/lots");
        let r = self.get(&path)?;
        if r.status == 404 && r.error_message().contains("no such route") {
            bail!(
                "the node at {} does not serve GET {path} (a node of an earlier release?); list the lots offline with --genesis FILE --entries DIR",
                self.base
            );
        }
        if r.status != 200 {
            bail!("the node refused GET {path}: {}", r.error_message());
        }
        serde_json::from_slice(&r.body).with_context(|| format!("unexpected answer from the node to GET {path}"))
    }

    /// The organisation a key was admitted for, as the node knows it.
    pub(crate) fn member_name(&self, key: &PublicKey) -> Option<String> {
        let r = self.get(&format!("/v1/signers/{key}")).ok()?;
        if r.status != 200 {
            return None;
        }
        serde_json::from_slice::<SignerInfo>(&r.body).ok()?.name
    }

    /// Submits an envelope; a refusal is a [`Refused`] error.
    pub(crate) fn submit(&self, envelope: &[u8]) -> Result<Submitted> {
        let r = self.post_json("/v1/entries", envelope)?;
        match r.status {
            200..=202 => serde_json::from_slice(&r.body).context("unexpected answer from the node"),
            400..=499 => Err(Refused(format!("the node refused the entry: {}", r.error_message())).into()),
            _ => bail!("the node failed to store the entry: {}", r.error_message()),
        }
    }
}

/// Percent-encodes a path segment (URNs carry ':' which is fine, but '/', '?', '#', '%' and
/// spaces are not).
pub(crate) fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b':'
            | b'@'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'=' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
