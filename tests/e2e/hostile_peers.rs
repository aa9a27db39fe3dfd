//! Hostile peers, built from the node's own libp2p stack and admitted to the consortium (so
//! the allow list does not stop them): they ask for huge ranges, flood sync requests, send
//! garbage on the sync protocol, and gossip oversized and junk messages. Each is answered
//! within its bounds, penalised and disconnected; the node's memory stays bounded and honest
//! replication goes on.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use futures::StreamExt;
use greenledger_core::SecretKey;
use greenledger_node::p2p::{
    Behaviour, BehaviourEvent, build_swarm,
    protocol::{MAX_CHAIN, PROTOCOL, SyncRequest, SyncResponse},
    topic,
};
use libp2p::{
    Multiaddr, PeerId, Swarm, gossipsub, noise,
    request_response::{self, ProtocolSupport},
    swarm::SwarmEvent,
    tcp, yamux,
};
use tokio::time::{Instant, timeout_at};

use crate::{
    node::Chain,
    node_util::{TestNode, node_cmd},
    p2p::{Cluster, badly_signed, metric, p2p_addrs, peer_report},
};

/// A peer id made with `greenledger-node init`, and its data dir.
fn identity() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = node_cmd(&["init", "--data-dir", &dir.path().display().to_string()]);
    assert_eq!(code, 0, "{err}");
    let id = out.lines().last().unwrap().trim().to_string();
    (dir, id)
}

/// Resident memory of a node process, in KiB.
fn rss_kib(n: &TestNode) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", n.pid())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Dials `target` and drives the swarm until a connection to it is up.
async fn connect<B: libp2p::swarm::NetworkBehaviour>(swarm: &mut Swarm<B>, target: &Multiaddr) -> PeerId {
    swarm.dial(target.clone()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match timeout_at(deadline, swarm.select_next_some()).await.expect("connected") {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => return peer_id,
            SwarmEvent::OutgoingConnectionError { error, .. } => panic!("dial failed: {error}"),
            _ => {}
        }
    }
}

/// Drives `swarm` until the connection to the node is closed (true) or `within` passes.
async fn until_disconnected<B: libp2p::swarm::NetworkBehaviour>(swarm: &mut Swarm<B>, within: Duration) -> bool
where
    B::ToSwarm: std::fmt::Debug,
{
    let deadline = Instant::now() + within;
    loop {
        match timeout_at(deadline, swarm.select_next_some()).await {
            Ok(SwarmEvent::ConnectionClosed { num_established: 0, .. }) => return true,
            Ok(ev) => {
                if std::env::var_os("GL_TEST_DEBUG").is_some() {
                    eprintln!("hostile peer event: {ev:?}");
                }
            }
            Err(_) => return false,
        }
    }
}

#[test]
fn hostile_peers_are_bounded_penalised_and_disconnected_while_honest_replication_goes_on() {
    let (flood_dir, flood_id) = identity();
    let (garbage_dir, garbage_id) = identity();
    let (gossip_dir, gossip_id) = identity();
    let (junk_dir, junk_id) = identity();
    let mut c = Cluster::new(2, &[flood_id.clone(), garbage_id.clone(), gossip_id, junk_id.clone()]);
    c.start_all();
    // Enough entries that a huge range would be a big answer: 1,200 on node 0.
    let mut s = c.supplier(0, "Busy Supplier");
    let signer = s.public().to_hex();
    let mut sent = 1;
    for k in 0..1200 {
        c.submit(0, s.attest(&format!("urn:test:hostile:{k}"), 1, &[]).signed());
        sent += 1;
    }
    c.converge(sent);
    let node0: Multiaddr = p2p_addrs(c.node(0)).into_iter().next().unwrap().parse().unwrap();
    let network = c.genesis.network_id();
    let net = network.to_string();
    let rss_before = rss_kib(c.node(0));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    // 1. Huge ranges are answered within the stated bounds; then a flood of sync requests is
    // rate limited, struck, and the peer banned.
    let identity = greenledger_node::identity::Identity::load(flood_dir.path()).unwrap();
    let (biggest_log, biggest_chain, answered, limited, banned, flood_secs) = rt.block_on(async {
        let mut swarm: Swarm<Behaviour> =
            build_swarm(&identity, &network, &greenledger_node::Config::default()).unwrap();
        for named in &c.genesis.node_peers {
            swarm.behaviour_mut().allow.allow_peer(named.parse().unwrap());
        }
        let peer = connect(&mut swarm, &node0).await;
        let sync =
            |swarm: &mut Swarm<Behaviour>, req: SyncRequest| swarm.behaviour_mut().sync.send_request(&peer, req.into());
        sync(
            &mut swarm,
            SyncRequest::Log {
                network: net.clone(),
                from: 0,
                limit: u32::MAX,
                ids_only: false,
            },
        );
        sync(
            &mut swarm,
            SyncRequest::Chain {
                network: net.clone(),
                signer: signer.clone(),
                from_seq: 0,
                limit: u32::MAX,
            },
        );
        let (mut biggest_log, mut biggest_chain) = (0, 0);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut got = 0;
        while got < 2 {
            if let SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                message: request_response::Message::Response { response, .. },
                ..
            })) = timeout_at(deadline, swarm.select_next_some()).await.expect("answers")
            {
                got += 1;
                match response {
                    SyncResponse::Log { entries, .. } => biggest_log = entries.len(),
                    SyncResponse::Entries { entries } => biggest_chain = entries.len(),
                    other => panic!("unexpected answer {other:?}"),
                }
            }
        }
        // The flood: 2,000 requests at once, more while the connection lasts.
        for _ in 0..2000 {
            sync(&mut swarm, SyncRequest::Peers { network: net.clone() });
        }
        let (mut answered, mut limited) = (0u32, 0u32);
        let flood_start = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(60);
        let banned = loop {
            match timeout_at(deadline, swarm.select_next_some()).await {
                Ok(SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                    message: request_response::Message::Response { response, .. },
                    ..
                }))) => match response {
                    SyncResponse::Refused { reason } if reason.contains("rate limited") => {
                        limited += 1;
                        sync(&mut swarm, SyncRequest::Peers { network: net.clone() });
                    }
                    _ => answered += 1,
                },
                Ok(SwarmEvent::ConnectionClosed { num_established: 0, .. }) => break true,
                Ok(_) => {}
                Err(_) => break false,
            }
        };
        (
            biggest_log,
            biggest_chain,
            answered,
            limited,
            banned,
            flood_start.elapsed().as_secs_f64(),
        )
    });
    eprintln!(
        "sync flood: huge Log answered with {biggest_log} records, huge Chain with {biggest_chain}; \
         {answered} answered, {limited} rate limited, banned: {banned}"
    );
    assert_eq!(biggest_log, 1000, "a Log answer holds at most max_records_per_response");
    assert_eq!(biggest_chain, MAX_CHAIN, "a Chain answer holds at most MAX_CHAIN");
    assert!(limited >= 100, "the flood was not rate limited: {limited}");
    assert!(
        f64::from(answered) <= 100.0 + 50.0 * flood_secs + 5.0,
        "more requests answered than the rate allows (a burst of 100, then 50/s for {flood_secs:.1} s): {answered}"
    );
    assert!(
        banned,
        "the flooding peer was not disconnected; node 0's log:\n{}",
        c.node(0).log()
    );
    let report = peer_report(c.node(0), &flood_id);
    assert!(report["banned_until"].is_string(), "{report:#}");
    assert!(
        report["sync_requests_throttled"].as_u64().unwrap() >= 500,
        "{report:#}\nnode 0's log:\n{}",
        c.node(0).log()
    );
    assert!(metric(c.node(0), "greenledger_p2p_sync_refused_total{kind=\"rate_limited\"}") >= 500.0);

    // 2. Garbage on the sync protocol: bytes that are not a sync request.
    let keypair = greenledger_node::identity::Identity::load(garbage_dir.path())
        .unwrap()
        .keypair()
        .clone();
    let garbage_banned = rt.block_on(async {
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
            .unwrap()
            .with_behaviour(|_| {
                request_response::cbor::Behaviour::<Vec<u8>, Vec<u8>>::new(
                    [(PROTOCOL, ProtocolSupport::Full)],
                    request_response::Config::default(),
                )
            })
            .unwrap()
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
            .build();
        let peer = connect(&mut swarm, &node0).await;
        for k in 0..20u8 {
            swarm
                .behaviour_mut()
                .send_request(&peer, vec![0xff, k, 0x00, 0x13, 0x37]);
        }
        until_disconnected(&mut swarm, Duration::from_secs(30)).await
    });
    assert!(
        garbage_banned,
        "the peer sending garbage was not disconnected; node 0's log:\n{}",
        c.node(0).log()
    );
    let report = peer_report(c.node(0), &garbage_id);
    assert!(report["strikes"].as_u64().unwrap() >= 5, "{report:#}");
    assert!(report["banned_until"].is_string(), "{report:#}");

    // 3. Gossip: an oversized message (over p2p.max_gossip_bytes) is dropped unread (the
    // node's gossip codec refuses it; libp2p does not report which peer sent it, so it is not
    // a strike). Then a flood of junk from another peer: entries signed by a key nobody
    // admitted, with one byte changed so the signature fails.
    let mut junk = Chain::new(SecretKey::generate(), &c.genesis);
    let gossip = |dir: &std::path::Path, messages: Vec<Vec<u8>>| {
        let identity = greenledger_node::identity::Identity::load(dir).unwrap();
        rt.block_on(async {
            let mut cfg = greenledger_node::Config::default();
            cfg.p2p.max_gossip_bytes = 8 << 20;
            let mut swarm = build_swarm(&identity, &network, &cfg).unwrap();
            for named in &c.genesis.node_peers {
                swarm.behaviour_mut().allow.allow_peer(named.parse().unwrap());
            }
            connect(&mut swarm, &node0).await;
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let ev = timeout_at(deadline, swarm.select_next_some())
                    .await
                    .expect("subscribed");
                if let SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Subscribed { .. })) = ev {
                    break;
                }
            }
            for m in messages {
                let _ = swarm.behaviour_mut().gossipsub.publish(topic(&network), m);
            }
            until_disconnected(&mut swarm, Duration::from_secs(10)).await
        })
    };
    let oversized_disconnected = gossip(gossip_dir.path(), vec![vec![b'{'; 4 << 20]]);
    eprintln!("oversized gossip: sender disconnected: {oversized_disconnected}");
    assert_eq!(c.node(0).get("/v1/health").0, 200);
    let junk_msgs: Vec<Vec<u8>> = (0..500)
        .map(|k| badly_signed(&mut junk, &format!("urn:test:hostile:junk{k}")))
        .collect();
    let junk_banned = gossip(junk_dir.path(), junk_msgs);
    assert!(
        junk_banned,
        "the peer gossiping junk was not disconnected; node 0's log:\n{}",
        c.node(0).log()
    );
    let report = peer_report(c.node(0), &junk_id);
    assert!(report["banned_until"].is_string(), "{report:#}");

    // The node is up, stored nothing from them, and its memory stayed bounded.
    let rss_after = rss_kib(c.node(0));
    eprintln!("node 0 RSS: {rss_before} KiB before the hostile peers, {rss_after} KiB after");
    assert!(
        rss_after < rss_before + 150 * 1024,
        "memory grew by {} KiB",
        rss_after - rss_before
    );
    for n in c.running() {
        assert_eq!(n.log_size(), sent, "something from a hostile peer was stored");
        assert_eq!(n.get("/v1/health").0, 200);
    }

    // Honest replication goes on, both ways.
    c.submit(1, s.attest("urn:test:hostile:after-1", 1, &[]).signed());
    c.submit(0, s.attest("urn:test:hostile:after-0", 1, &[]).signed());
    c.converge(sent + 2);
}
