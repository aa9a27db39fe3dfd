//! The anti-entropy protocol's messages, `/greenledger/sync/1`: requests and responses that a
//! node sends its peers as CBOR (the node's libp2p request-response codec). Only the message
//! types and the limits live here, as plain serde types with no network code, so that every
//! decoder of untrusted bytes can be tested and fuzzed without the node.
//!
//! A node pulls what it lacks from each peer:
//!
//! * [`SyncRequest::Log`] — the peer's log records from a cursor on (the per-peer cursor is how
//!   many of that peer's records this node has applied). A peer's log is causally ordered:
//!   every entry comes after the entries it needs, so applying it in order never waits. With
//!   `ids_only` the peer sends the records' entry ids instead of the entries: a node that
//!   gossip keeps up to date moves its cursor over the records it holds and fetches entries
//!   only from the first it lacks (without it, every entry would cross the network and be
//!   parsed once per peer).
//! * [`SyncRequest::Chain`] — a signer's entries from a seq on (to fill a gap before a pending
//!   entry's `prev`).
//! * [`SyncRequest::Entries`] — entries by id (the missing inputs and `prev`s of the pending
//!   area).
//! * [`SyncRequest::Forks`] — fork proofs, which are not in any log (the second entry of a
//!   fork is refused), so that every node flags an equivocating signer.
//! * [`SyncRequest::Peers`] — the peer's own connected consortium peers and their addresses,
//!   so that a small consortium becomes a full mesh from one bootstrap address.
//!
//! Limits (enforced by the node's codec and by the responder):
//!
//! * a request is at most [`MAX_REQUEST_BYTES`]; a response at most the configured
//!   `p2p.max_response_bytes` (8 MiB by default) plus one entry;
//! * at most [`MAX_IDS`] ids per `Entries` request and [`MAX_CHAIN`] entries per `Chain`
//!   response; `Log` responses stop at `p2p.max_records_per_response` records or at the byte
//!   limit, whichever comes first.
//!
//! Entries travel as their JSON envelopes (CBOR text strings): exactly the bytes that are
//! signed, so the receiver checks every one as if it had been submitted over HTTP
//! ([`crate::SignedEntry::from_json`], then [`crate::SignedEntry::verify`]). Ids, keys and
//! network ids travel as hex text and are parsed by the responder like any other input.

use serde::{Deserialize, Serialize};

/// The protocol name; a new incompatible version gets a new name.
pub const PROTOCOL_NAME: &str = "/greenledger/sync/1";

/// Largest request.
pub const MAX_REQUEST_BYTES: u64 = 256 << 10;
/// Most ids in one `Entries` request.
pub const MAX_IDS: usize = 256;
/// Most entries in one `Chain` response.
pub const MAX_CHAIN: usize = 1000;
/// Most proofs in one `Forks` response (a longer list is paged with `after`/`next`).
pub const MAX_FORKS: usize = 256;
/// Most peers in one `Peers` response.
pub const MAX_PEERS: usize = 64;

/// What a node asks a peer for. Every request names the network, and a peer of another
/// network answers [`SyncResponse::Refused`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncRequest {
    /// Log records `from..` (at most `limit`).
    Log {
        /// The network id (hex).
        network: String,
        /// First record index wanted.
        from: u64,
        /// Most records wanted.
        limit: u32,
        /// Only the records' entry ids, not the entries ([`SyncResponse::Log`]'s `ids`): a
        /// node that keeps up through gossip already holds nearly everything in a peer's
        /// log, and fetches in full only from the first record it lacks. A peer that does
        /// not know the field sends the entries, which the asker takes as well.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        ids_only: bool,
    },
    /// A signer's entries at seqs `from_seq..` (at most `limit`).
    Chain {
        /// The network id (hex).
        network: String,
        /// The signer's public key (hex).
        signer: String,
        /// First seq wanted.
        from_seq: u64,
        /// Most entries wanted.
        limit: u32,
    },
    /// Entries by id (hex).
    Entries {
        /// The network id (hex).
        network: String,
        /// Entry ids (hex), at most [`MAX_IDS`].
        ids: Vec<String>,
    },
    /// The proofs the peer holds — fork proofs and double-issuance proofs — a page at a
    /// time (at most [`MAX_FORKS`], and the response byte limit).
    Forks {
        /// The network id (hex).
        network: String,
        /// Continue after this cursor (the `next` of the previous page); absent: from the
        /// start.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
    },
    /// The peer's connected consortium peers.
    Peers {
        /// The network id (hex).
        network: String,
    },
}

impl SyncRequest {
    /// The network the request is for.
    pub fn network(&self) -> &str {
        match self {
            SyncRequest::Log { network, .. }
            | SyncRequest::Chain { network, .. }
            | SyncRequest::Entries { network, .. }
            | SyncRequest::Forks { network, .. }
            | SyncRequest::Peers { network } => network,
        }
    }

    /// A short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            SyncRequest::Log { ids_only: true, .. } => "log_ids",
            SyncRequest::Log { .. } => "log",
            SyncRequest::Chain { .. } => "chain",
            SyncRequest::Entries { .. } => "entries",
            SyncRequest::Forks { .. } => "forks",
            SyncRequest::Peers { .. } => "peers",
        }
    }
}

/// A peer's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncResponse {
    /// Log records `from..next` as entry envelopes, and the peer's log size.
    Log {
        /// Index of the first record sent.
        from: u64,
        /// Index after the last record sent.
        next: u64,
        /// The peer's log size when it answered.
        log_size: u64,
        /// Entry envelopes (JSON), in log order (empty when `ids_only` was asked).
        entries: Vec<String>,
        /// The records' entry ids (hex), in log order, when `ids_only` was asked.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ids: Vec<String>,
    },
    /// Entry envelopes (JSON): a chain range in seq order, or entries by id (unknown ids are
    /// left out).
    Entries {
        /// Entry envelopes (JSON).
        entries: Vec<String>,
    },
    /// Proofs: both entries of each.
    Forks {
        /// `(a, b)`: two entries of one signer at one seq (a fork), or two certificate issues
        /// of one device with overlapping hours (a double issuance).
        proofs: Vec<(String, String)>,
        /// The cursor of the next page, if there is more.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// Connected consortium peers: peer id and listen addresses.
    Peers {
        /// `(peer id, multiaddrs)`.
        peers: Vec<(String, Vec<String>)>,
    },
    /// The request was refused (wrong network, over a limit, storage error).
    Refused {
        /// Why.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The log request as a node before `ids_only` sent it: the same variant without the field.
    #[derive(Debug, Serialize, Deserialize)]
    enum OldRequest {
        Log { network: String, from: u64, limit: u32 },
    }

    /// The log response as a node before `ids` sent it.
    #[derive(Debug, Serialize, Deserialize)]
    enum OldResponse {
        Log {
            from: u64,
            next: u64,
            log_size: u64,
            entries: Vec<String>,
        },
    }

    fn cbor<T: Serialize>(v: &T) -> Vec<u8> {
        cbor4ii::serde::to_vec(Vec::new(), v).expect("encode")
    }

    fn decode<T: serde::de::DeserializeOwned>(b: &[u8]) -> T {
        cbor4ii::serde::from_slice(b).expect("decode")
    }

    /// Nodes with and without `ids_only` understand each other: an older node's request asks
    /// for entries, an older node ignores `ids_only` (and answers with entries, which the asker
    /// takes), and a request without it is encoded as an older node would encode it.
    #[test]
    fn log_requests_and_answers_stay_compatible_with_older_nodes() {
        let old = OldRequest::Log {
            network: "n".into(),
            from: 5,
            limit: 10,
        };
        assert_eq!(
            decode::<SyncRequest>(&cbor(&old)),
            SyncRequest::Log {
                network: "n".into(),
                from: 5,
                limit: 10,
                ids_only: false
            }
        );
        let plain = SyncRequest::Log {
            network: "n".into(),
            from: 5,
            limit: 10,
            ids_only: false,
        };
        assert_eq!(cbor(&plain), cbor(&old));
        let lean = SyncRequest::Log {
            network: "n".into(),
            from: 5,
            limit: 10,
            ids_only: true,
        };
        let OldRequest::Log { from, limit, .. } = decode::<OldRequest>(&cbor(&lean));
        assert_eq!((from, limit), (5, 10));

        let answer = OldResponse::Log {
            from: 5,
            next: 6,
            log_size: 9,
            entries: vec!["{}".into()],
        };
        assert_eq!(
            decode::<SyncResponse>(&cbor(&answer)),
            SyncResponse::Log {
                from: 5,
                next: 6,
                log_size: 9,
                entries: vec!["{}".into()],
                ids: Vec::new()
            }
        );
        let ids = SyncResponse::Log {
            from: 5,
            next: 6,
            log_size: 9,
            entries: Vec::new(),
            ids: vec!["ab".into()],
        };
        assert_eq!(decode::<SyncResponse>(&cbor(&ids)), ids);
    }
}
