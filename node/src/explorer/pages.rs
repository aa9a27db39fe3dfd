//! The pages' templates and the values they show (every string escaped by askama).

use askama::Template;

pub(crate) use super::graph::{Bar, GBox, GEdge, TierRow};

/// A link.
#[derive(Clone, Debug)]
pub(crate) struct Link {
    pub(crate) href: String,
    pub(crate) text: String,
}

#[derive(Template)]
#[template(path = "explorer/error.html")]
pub(crate) struct ErrorPage {
    pub(crate) title: String,
    pub(crate) q: String,
    pub(crate) status: u16,
    pub(crate) heading: String,
    pub(crate) message: String,
}

pub(crate) struct LogRow {
    pub(crate) index: u64,
    pub(crate) href: String,
    pub(crate) id: String,
    pub(crate) kind: String,
    pub(crate) signer: String,
    pub(crate) signer_href: String,
    pub(crate) summary: String,
}

pub(crate) struct PeerRow {
    pub(crate) peer_id: String,
    pub(crate) connected: bool,
    pub(crate) addresses: String,
    pub(crate) cursor: u64,
    pub(crate) peer_log_size: String,
    pub(crate) caught_up: bool,
    pub(crate) last_sync: String,
    pub(crate) last_error: String,
}

#[derive(Template)]
#[template(path = "explorer/network.html")]
pub(crate) struct NetworkPage {
    pub(crate) title: String,
    pub(crate) q: String,
    pub(crate) name: String,
    pub(crate) network_id: String,
    pub(crate) created: String,
    pub(crate) admins: Vec<Link>,
    pub(crate) node_peers: Vec<String>,
    pub(crate) peer_id: String,
    pub(crate) node_key: String,
    pub(crate) http: String,
    pub(crate) p2p: Vec<String>,
    pub(crate) log_size: u64,
    pub(crate) pending: u64,
    pub(crate) forked_signers: u64,
    pub(crate) head: String,
    pub(crate) head_signature: String,
    pub(crate) head_time: String,
    pub(crate) peers: Vec<PeerRow>,
    pub(crate) recent: Vec<LogRow>,
    pub(crate) older: Option<String>,
    pub(crate) newer: Option<String>,
}

pub(crate) struct SearchHit {
    pub(crate) kind: String,
    pub(crate) href: String,
    pub(crate) text: String,
}

#[derive(Template)]
#[template(path = "explorer/search.html")]
pub(crate) struct SearchPage {
    pub(crate) title: String,
    pub(crate) q: String,
    pub(crate) results: Vec<SearchHit>,
    pub(crate) empty: bool,
}

pub(crate) struct PartRow {
    pub(crate) href: String,
    pub(crate) id: String,
    pub(crate) supplier: String,
    pub(crate) signer_href: String,
    pub(crate) total: String,
    pub(crate) unit: String,
    pub(crate) current: bool,
    pub(crate) valid: bool,
}

#[derive(Template)]
#[template(path = "explorer/part.html")]
pub(crate) struct PartPage {
    pub(crate) title: String,
    pub(crate) q: String,
    pub(crate) part: String,
    pub(crate) current: usize,
    pub(crate) rows: Vec<PartRow>,
}

/// What every entry page shows first.
pub(crate) struct EntryHead {
    pub(crate) id: String,
    pub(crate) short: String,
    pub(crate) kind: String,
    pub(crate) signer: String,
    pub(crate) signer_key: String,
    pub(crate) signer_href: String,
    pub(crate) seq: u64,
    pub(crate) prev: Option<Link>,
    pub(crate) log_index: u64,
    pub(crate) timestamp: String,
    pub(crate) summary: String,
    pub(crate) valid_today: bool,
    pub(crate) problems: Vec<String>,
    pub(crate) superseded_by: Vec<Link>,
    pub(crate) body_json: String,
}

pub(crate) struct ReasonRow {
    pub(crate) step: u8,
    pub(crate) check: String,
    pub(crate) message: String,
    pub(crate) href: Option<String>,
}

pub(crate) struct StepRow {
    pub(crate) step: u8,
    pub(crate) check: String,
    pub(crate) ok: bool,
    pub(crate) problems: usize,
}

pub(crate) struct Verdict {
    pub(crate) valid: bool,
    pub(crate) headline: String,
    pub(crate) reasons: Vec<ReasonRow>,
    pub(crate) warnings: Vec<String>,
    pub(crate) steps: Vec<StepRow>,
    pub(crate) entries: usize,
    pub(crate) ms: String,
}

pub(crate) struct Checkpoint {
    pub(crate) size: u64,
    pub(crate) head: String,
    pub(crate) node_key: String,
    pub(crate) signature: String,
    pub(crate) timestamp: String,
}

pub(crate) struct CertRow {
    pub(crate) href: String,
    pub(crate) text: String,
    pub(crate) conflict: bool,
}

pub(crate) struct ElectricityRow {
    pub(crate) attestation: Link,
    pub(crate) lot_href: String,
    pub(crate) lot: String,
    pub(crate) wh: i64,
    pub(crate) renewable: String,
    pub(crate) hourly: String,
    pub(crate) beneficiary: String,
    pub(crate) unresolved: String,
    pub(crate) certificates: Vec<CertRow>,
}

pub(crate) struct ShipmentRow {
    pub(crate) attestation: Link,
    pub(crate) input: Link,
    pub(crate) lot_href: String,
    pub(crate) lot: String,
    pub(crate) drawn: String,
    pub(crate) holder: String,
    pub(crate) shipments: Vec<Link>,
    pub(crate) unresolved: String,
}

#[derive(Template)]
#[template(path = "explorer/attestation.html")]
pub(crate) struct AttestationPage {
    pub(crate) title: String,
    pub(crate) q: String,
    pub(crate) part: String,
    pub(crate) part_href: String,
    pub(crate) unit: String,
    pub(crate) total: String,
    pub(crate) own: String,
    pub(crate) quantity: Option<String>,
    pub(crate) period: String,
    pub(crate) country: String,
    pub(crate) head: EntryHead,
    pub(crate) verdict: Verdict,
    pub(crate) checkpoint: Checkpoint,
    pub(crate) graph_w: u32,
    pub(crate) graph_h: u32,
    pub(crate) boxes: Vec<GBox>,
    pub(crate) edges: Vec<GEdge>,
    pub(crate) tier_rows: Vec<TierRow>,
    pub(crate) row_labels: Vec<(u32, String)>,
    pub(crate) box_w: u32,
    pub(crate) box_h: u32,
    pub(crate) direct: Vec<Bar>,
    pub(crate) direct_h: u32,
    pub(crate) by_tier: Vec<Bar>,
    pub(crate) tier_h: u32,
    pub(crate) by_supplier: Vec<Bar>,
    pub(crate) supplier_h: u32,
    pub(crate) electricity: Vec<ElectricityRow>,
    pub(crate) shipments: Vec<ShipmentRow>,
    pub(crate) supersedes: Option<Link>,
    pub(crate) others: Vec<Link>,
    pub(crate) bundle_href: String,
    pub(crate) bundle_file: String,
    pub(crate) verify_cmd: String,
    pub(crate) verify_online: String,
}

pub(crate) struct TierEntry {
    pub(crate) href: String,
    pub(crate) id: String,
    pub(crate) part: String,
    pub(crate) supplier: String,
    pub(crate) signer_href: String,
    pub(crate) total: String,
    pub(crate) unit: String,
    pub(crate) share: String,
    pub(crate) kg: String,
    pub(crate) status: &'static str,
    pub(crate) mark: String,
}

#[derive(Template)]
#[template(path = "explorer/tier.html")]
pub(crate) struct TierPage {
    pub(crate) title: String,
    pub(crate) q: String,
    pub(crate) part: String,
    pub(crate) target_href: String,
    pub(crate) target: String,
    pub(crate) tier: usize,
    pub(crate) tiers: usize,
    pub(crate) supplier: Option<String>,
    pub(crate) count: usize,
    pub(crate) page: usize,
    pub(crate) pages: usize,
    pub(crate) prev: Option<String>,
    pub(crate) next: Option<String>,
    pub(crate) rows: Vec<TierEntry>,
}

#[derive(Template)]
#[template(path = "explorer/entry.html")]
pub(crate) struct OtherEntryPage {
    pub(crate) title: String,
    pub(crate) q: String,
    pub(crate) head: EntryHead,
    pub(crate) facts: Vec<(String, String)>,
    pub(crate) links: Vec<Link>,
}

pub(crate) struct TimelineRow {
    pub(crate) when: String,
    pub(crate) what: String,
    pub(crate) href: String,
    /// `ok` or `failed`.
    pub(crate) class: &'static str,
}

pub(crate) struct ChainRow {
    pub(crate) seq: u64,
    pub(crate) href: String,
    pub(crate) id: String,
    pub(crate) kind: String,
    pub(crate) summary: String,
    pub(crate) timestamp: String,
    pub(crate) after_fork: bool,
}

pub(crate) struct ForkRow {
    pub(crate) seq: u64,
    pub(crate) a: Link,
    pub(crate) b: Link,
}

#[derive(Template)]
#[template(path = "explorer/signer.html")]
pub(crate) struct SignerPage {
    pub(crate) title: String,
    pub(crate) q: String,
    pub(crate) name: String,
    pub(crate) key: String,
    pub(crate) roles: String,
    pub(crate) admin: bool,
    pub(crate) revoked_after: Option<u64>,
    pub(crate) forked_at: Option<u64>,
    pub(crate) head_seq: u64,
    pub(crate) admissions: Vec<TimelineRow>,
    pub(crate) rows: Vec<ChainRow>,
    pub(crate) forks: Vec<ForkRow>,
    pub(crate) older: Option<String>,
    pub(crate) newer: Option<String>,
}

#[derive(Template)]
#[template(path = "explorer/lot.html")]
pub(crate) struct LotPage {
    pub(crate) title: String,
    pub(crate) q: String,
    pub(crate) lot: String,
    pub(crate) kind: String,
    pub(crate) unit: String,
    pub(crate) holder: String,
    pub(crate) holder_href: String,
    pub(crate) amount: i64,
    pub(crate) drawn: i64,
    pub(crate) left: i64,
    pub(crate) drawn_share: String,
    pub(crate) drawn_w: u32,
    pub(crate) conflict: bool,
    pub(crate) certificates: Vec<Link>,
    pub(crate) timeline: Vec<TimelineRow>,
}
