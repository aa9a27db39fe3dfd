//! The anti-entropy protocol, `/greenledger/sync/1`: CBOR request-response.
//!
//! The messages and their limits are plain serde types in [`greenledger_core::sync`] (so that
//! their decoding is tested and fuzzed without the node); this module re-exports them and adds
//! the libp2p protocol name. See the core module for what each request asks for.

use libp2p::StreamProtocol;

pub use greenledger_core::sync::{
    MAX_CHAIN, MAX_FORKS, MAX_IDS, MAX_PEERS, MAX_REQUEST_BYTES, PROTOCOL_NAME, SyncRequest, SyncResponse,
};

/// The protocol name; a new incompatible version gets a new name.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new(PROTOCOL_NAME);
