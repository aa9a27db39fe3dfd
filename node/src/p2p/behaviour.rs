//! The swarm itself: the [`Behaviour`] (allow list, connection limits, gossipsub, the sync
//! protocol, identify, ping), the gossip [`topic`] and message id, and [`build_swarm`].
//!
//! Nothing here runs; the event loop drives what this builds.

use std::time::Duration;

use anyhow::{Context, Result};
use greenledger_core::{NetworkId, SignedEntry};
use libp2p::{
    Swarm, allow_block_list, connection_limits,
    gossipsub::{self, IdentTopic, MessageId},
    identify, noise, ping,
    request_response::{self, ProtocolSupport},
    swarm::NetworkBehaviour,
    tcp, yamux,
};

use super::{codec, protocol};
use crate::{
    config::{Config, P2pConfig},
    identity::Identity,
};

/// The behaviours of a greenledger swarm. The allow list comes first, so that a refused peer
/// never reaches the others.
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Consortium nodes only.
    pub allow: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    /// Bounds on connections.
    pub limits: connection_limits::Behaviour,
    /// Entry gossip.
    pub gossipsub: gossipsub::Behaviour,
    /// Anti-entropy.
    pub sync: request_response::Behaviour<codec::SyncCodec>,
    /// Listen addresses of peers.
    pub identify: identify::Behaviour,
    /// Liveness.
    pub ping: ping::Behaviour,
}

/// The gossip topic of a network whose messages are one entry envelope each. Nodes of the
/// previous release publish on it only; this node reads it, and publishes on it only for
/// peers that read nothing else (see [`batch_topic`]).
pub fn topic(network: &NetworkId) -> IdentTopic {
    IdentTopic::new(format!("/greenledger/{network}/entries/1"))
}

/// The gossip topic of a network whose messages are JSON arrays of entry envelopes: what a
/// node accepted over HTTP within `p2p.gossip_window`, published as one message.
pub fn batch_topic(network: &NetworkId) -> IdentTopic {
    IdentTopic::new(format!("/greenledger/{network}/entries/2"))
}

/// The gossip message id: the entry id, or a hash of the bytes when they are no entry
/// (`batch-…` for an array of entries, `garbage-…` for anything else).
///
/// Gossipsub asks for it on every copy a peer sends, duplicates included, before it drops
/// them; an envelope in the form nodes send is hashed without being parsed.
fn message_id(m: &gossipsub::Message) -> MessageId {
    if m.data.first() == Some(&b'[') {
        return MessageId::from(format!("batch-{}", blake3::hash(&m.data).to_hex()));
    }
    let id = SignedEntry::id_of_envelope(&m.data).or_else(|| SignedEntry::from_json(&m.data).ok().map(|se| se.id()));
    match id {
        Some(id) => MessageId::from(id.to_string()),
        None => MessageId::from(format!("garbage-{}", blake3::hash(&m.data).to_hex())),
    }
}

/// Builds the swarm of a node (also used by tests to build peers of their own).
pub fn build_swarm(identity: &Identity, network: &NetworkId, cfg: &Config) -> Result<Swarm<Behaviour>> {
    let p2p = &cfg.p2p;
    let topic = topic(network);
    let batches = batch_topic(network);
    let gossip_cfg = gossip_config(p2p)?;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(identity.keypair().clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .context("cannot set up the TCP transport")?
        .with_behaviour(|key| behaviour(key, p2p, [&topic, &batches], gossip_cfg))
        .map_err(|e| anyhow::anyhow!("cannot build the p2p behaviour: {e}"))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    for t in [&batches, &topic] {
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(t)
            .map_err(|e| anyhow::anyhow!("cannot subscribe to the gossip topic {t}: {e}"))?;
    }
    Ok(swarm)
}

/// Most entry ids one IHAVE or IWANT names: 200 ids of 64 hex characters (66 bytes each in
/// the protobuf) are 13,200 bytes, under the 16 KiB a peer with default settings reads as one
/// control message.
const IHAVE_IDS_MAX: usize = 200;

/// Largest control part of one gossip RPC this node reads: 5,000 ids (an older node's IHAVE)
/// of 66 bytes each, and room to spare.
const CONTROL_BYTES_MAX: usize = 384 << 10;

/// Gossipsub's settings: manual validation, anonymous messages, ids from the content.
fn gossip_config(p2p: &P2pConfig) -> Result<gossipsub::Config> {
    gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(message_id)
        .max_transmit_size(p2p.max_gossip_bytes)
        .heartbeat_interval(p2p.heartbeat)
        // Small consortia (3–50 nodes): a mesh of 4 (between 2 and 8), and every own entry
        // flooded to all peers for the lowest latency.
        .mesh_n(4)
        .mesh_n_low(2)
        .mesh_n_high(8)
        .mesh_outbound_min(1)
        .gossip_lazy(4)
        // An IHAVE or IWANT names at most this many entries, so that it fits in what a peer
        // reads as one control message (16 KiB by default). With the default of 5,000, a burst
        // of entries made IHAVEs of hundreds of 64-character ids; the peer could not decode
        // them and stopped reading that stream, and everything queued for it was stuck (the
        // "Send Queue full" warnings).
        .max_control_messages_sent(IHAVE_IDS_MAX)
        // What an older node may still send (up to 5,000 ids in one IHAVE) is read, not
        // refused: larger than any IHAVE this node sends, smaller than one gossip message.
        .max_control_message_size(CONTROL_BYTES_MAX)
        .flood_publish(true)
        .duplicate_cache_time(Duration::from_secs(120))
        .build()
        .map_err(|e| anyhow::anyhow!("gossipsub configuration: {e}"))
}

/// The behaviours, given the node's key.
fn behaviour(
    key: &libp2p::identity::Keypair,
    p2p: &P2pConfig,
    topics: [&IdentTopic; 2],
    gossip_cfg: gossipsub::Config,
) -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
    let mut gossipsub = gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, gossip_cfg)
        .map_err(|e| format!("gossipsub: {e}"))?;
    let mut score = gossipsub::PeerScoreParams::default();
    let tp = gossipsub::TopicScoreParams {
        invalid_message_deliveries_weight: -100.0,
        invalid_message_deliveries_decay: 0.9,
        ..Default::default()
    };
    for t in topics {
        score.topics.insert(t.hash(), tp.clone());
    }
    if let Err(e) = gossipsub.with_peer_score(score, gossipsub::PeerScoreThresholds::default()) {
        tracing::warn!(cause = %e, "gossip peer scoring is off");
    }
    let max_response = p2p.max_response_bytes as u64 + (2 << 20);
    let codec = codec::SyncCodec::new(protocol::MAX_REQUEST_BYTES, max_response);
    let sync = request_response::Behaviour::with_codec(
        codec,
        [(protocol::PROTOCOL, ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(Duration::from_secs(30))
            .with_max_concurrent_streams(64),
    );
    let identify = identify::Behaviour::new(identify::Config::new("/greenledger/id/1".into(), key.public()));
    let limits = connection_limits::Behaviour::new(
        connection_limits::ConnectionLimits::default()
            .with_max_established(Some(p2p.max_peers * 2))
            .with_max_established_per_peer(Some(2))
            .with_max_pending_incoming(Some(64)),
    );
    Ok(Behaviour {
        allow: allow_block_list::Behaviour::default(),
        limits,
        gossipsub,
        sync,
        identify,
        ping: ping::Behaviour::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Protobuf bytes of a length-delimited field of `len` bytes: its tag, its length, itself.
    fn field(len: usize) -> usize {
        let mut varint = 1;
        while len >> (7 * varint) > 0 {
            varint += 1;
        }
        1 + varint + len
    }

    /// The largest IHAVE this node sends fits in what a peer with default settings reads as
    /// one control message (16 KiB), with ids as long as entry ids and a topic as long as a
    /// real one; and this node reads the largest an older node sends (5,000 ids).
    #[test]
    fn an_ihave_fits_in_a_default_peers_control_limit() {
        // The longest ids a node announces: a batch's (an entry's are shorter).
        let batch = gossipsub::Message {
            source: None,
            data: b"[]".to_vec(),
            sequence_number: None,
            topic: topic(&greenledger_core::NetworkId([9; 32])).hash(),
        };
        let id_len = message_id(&batch).0.len();
        assert!(id_len > greenledger_core::EntryId([7; 32]).to_string().len());
        let network = greenledger_core::NetworkId([9; 32]);
        let topic_len = batch_topic(&network).hash().as_str().len();
        let ihave = |ids: usize| {
            let inner = field(topic_len) + ids * field(id_len);
            // ControlIHave inside ControlMessage, inside the RPC's control field.
            field(field(inner))
        };
        let cfg = gossip_config(&P2pConfig::default()).unwrap();
        assert_eq!(cfg.max_control_messages_sent(), IHAVE_IDS_MAX);
        assert!(ihave(IHAVE_IDS_MAX) <= 16 * 1024, "{} bytes", ihave(IHAVE_IDS_MAX));
        assert!(ihave(IHAVE_IDS_MAX * 2) > 16 * 1024, "the limit is not needlessly low");
        assert!(cfg.max_control_message_size() >= ihave(5000));
        assert!(cfg.max_control_message_size() < cfg.max_transmit_size());
    }

    /// A message's id: an entry's id for an envelope, a hash of the bytes for a batch (so
    /// that two batches differ when their bytes do), and for garbage.
    #[test]
    fn message_ids_name_entries_batches_and_garbage_apart() {
        let network = greenledger_core::NetworkId([9; 32]);
        let msg = |data: &[u8]| gossipsub::Message {
            source: None,
            data: data.to_vec(),
            sequence_number: None,
            topic: batch_topic(&network).hash(),
        };
        let a = message_id(&msg(b"[{\"a\":1}]")).0;
        assert!(a.starts_with(b"batch-"), "{}", String::from_utf8_lossy(&a));
        assert_eq!(a, message_id(&msg(b"[{\"a\":1}]")).0);
        assert_ne!(a, message_id(&msg(b"[{\"a\":2}]")).0);
        assert!(message_id(&msg(b"{nonsense")).0.starts_with(b"garbage-"));
    }
}
