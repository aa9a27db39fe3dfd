//! The peers: what the loop knows of each ([`Peer`]), who may connect (the allow list, from
//! the genesis, the membership and the bans), whom to dial, and what connection events change.

use std::{
    collections::HashSet,
    num::NonZeroU32,
    time::{Instant, SystemTime},
};

use libp2p::{
    Multiaddr, PeerId, allow_block_list,
    core::ConnectedPoint,
    identify,
    multiaddr::Protocol,
    request_response::OutboundRequestId,
    swarm::{ConnectionError, DialError, ListenError, dial_opts::DialOpts},
};

use super::event_loop::Loop;

/// A page of a peer's log (records `from..next`) being applied.
pub(super) struct Page {
    pub(super) from: u64,
    pub(super) next: u64,
    /// Once applied: the position up to which its records were handled (`next`, unless the
    /// page was cut short).
    pub(super) handled: Option<u64>,
}

/// Pages of one peer's log in the apply pipeline at once: one being written while the next is
/// fetched and verified.
pub(super) const PAGES_IN_FLIGHT: usize = 2;

/// What the loop knows of one peer, connected or not.
#[derive(Default)]
pub(super) struct Peer {
    pub(super) connected_since: Option<SystemTime>,
    pub(super) direction: Option<&'static str>,
    pub(super) addrs: Vec<Multiaddr>,
    pub(super) cursor: u64,
    pub(super) cursor_loaded: bool,
    pub(super) peer_log_size: Option<u64>,
    /// The outstanding log request, if any.
    pub(super) log_request: Option<OutboundRequestId>,
    /// Pages of its log being applied, in log order (the cursor moves over each once it is
    /// durable). While one is written, the next is fetched and verified.
    pub(super) pages: std::collections::VecDeque<Page>,
    /// Resolves once the last page taken from this peer has been handed to the store: the next
    /// page waits for it, so that pages reach the writer in log order.
    pub(super) last_handed: Option<tokio::sync::oneshot::Receiver<()>>,
    /// Take its log in full pages: set by a large page of mostly new entries (this node is
    /// catching up, where asking for ids first would only add a round trip), cleared once the
    /// records taken in full are mostly entries this node already holds. Unset (the start),
    /// the node asks for the ids of the log's records first
    /// ([`greenledger_core::sync::SyncRequest::Log`]'s `ids_only`).
    pub(super) catching_up: bool,
    /// While catching up: records taken in full, and how many of them were already held.
    pub(super) sampled: (u64, u64),
    /// The next log request asks for entries in full: an ids page stopped at a record this
    /// node lacks, and the entries from there on are wanted.
    pub(super) full_next: bool,
    /// Outstanding requests other than the log request.
    pub(super) requests_out: usize,
    pub(super) pulled: u64,
    pub(super) last_sync: Option<SystemTime>,
    pub(super) last_error: Option<String>,
    pub(super) strikes: u32,
    pub(super) banned_until: Option<Instant>,
    pub(super) rounds: u64,
    /// Sync requests this peer may still make now (a token bucket refilled at
    /// `p2p.serve_rate_per_peer` per second).
    pub(super) serve_tokens: f64,
    pub(super) serve_refilled: Option<Instant>,
    /// Its sync requests refused for going over the rate.
    pub(super) throttled: u64,
}

impl Peer {
    /// Where the next page of this peer's log starts: after the pages being applied, or at
    /// the cursor.
    pub(super) fn log_ahead(&self) -> u64 {
        self.pages.back().map_or(self.cursor, |page| page.next)
    }

    /// Records that the page starting at `from` was applied up to `handled`, and moves the
    /// cursor over the applied pages in log order; true if it moved. A page no longer in the
    /// pipeline moves nothing. A page cut short ends the run: the pages after it do not move
    /// the cursor, and what follows the last handled record is asked for again (duplicates
    /// are cheap).
    pub(super) fn page_applied(&mut self, from: u64, handled: u64) -> bool {
        if let Some(page) = self.pages.iter_mut().find(|page| page.from == from) {
            page.handled = Some(handled);
        }
        let mut moved = false;
        while let Some(handled) = self.pages.front().and_then(|page| page.handled) {
            let Some(page) = self.pages.pop_front() else { break };
            if handled > self.cursor {
                self.cursor = handled;
                moved = true;
            }
            if handled < page.next {
                self.pages.clear();
                break;
            }
        }
        moved
    }
}

impl Loop {
    /// The state of a peer (made on first mention).
    pub(super) fn peer(&mut self, p: PeerId) -> &mut Peer {
        self.peers.entry(p).or_default()
    }

    /// The peers connected now.
    pub(super) fn connected(&self) -> Vec<PeerId> {
        self.swarm.connected_peers().copied().collect()
    }

    /// Brings the allow list in line with the genesis and the membership (and bans).
    pub(super) fn refresh_allowed(&mut self) {
        let now = Instant::now();
        let membership = self.store.membership();
        let mut want: HashSet<PeerId> = HashSet::new();
        let named = self
            .store
            .genesis()
            .node_peers
            .iter()
            .map(String::as_str)
            .chain(membership.node_peers().map(|(p, _)| p));
        for p in named {
            match p.parse::<PeerId>() {
                Ok(id) if id != self.local => {
                    want.insert(id);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(peer = p, cause = %e, "an admitted node peer id does not parse; ignored"),
            }
        }
        for (id, peer) in &mut self.peers {
            if let Some(until) = peer.banned_until {
                if until > now {
                    want.remove(id);
                } else {
                    peer.banned_until = None;
                    peer.strikes = 0;
                }
            }
        }
        for p in want.difference(&self.allowed).copied().collect::<Vec<_>>() {
            self.swarm.behaviour_mut().allow.allow_peer(p);
        }
        for p in self.allowed.difference(&want).copied().collect::<Vec<_>>() {
            tracing::info!(peer = %p, "peer no longer allowed (revoked or banned); disconnecting");
            self.swarm.behaviour_mut().allow.disallow_peer(p);
        }
        self.allowed = want;
    }

    /// Dials the bootstrap addresses and the known peers that are not connected.
    pub(super) fn redial(&mut self) {
        let connected: HashSet<PeerId> = self.swarm.connected_peers().copied().collect();
        if connected.len() >= self.cfg.p2p.max_peers as usize {
            return;
        }
        for i in 0..self.bootstrap.len() {
            let (addr, peer) = self.bootstrap[i].clone();
            if peer.is_some_and(|p| connected.contains(&p)) {
                continue;
            }
            let target = match addr.iter().last() {
                Some(Protocol::P2p(p)) => Some(p),
                _ => None,
            };
            if target.is_some_and(|p| {
                connected.contains(&p)
                    || p == self.local
                    || self.peers.get(&p).is_some_and(|x| x.banned_until.is_some())
            }) {
                continue;
            }
            if let Err(e) = self.swarm.dial(addr.clone()) {
                tracing::debug!(addr = %addr, cause = %e, "cannot dial bootstrap peer");
            }
        }
        let known: Vec<(PeerId, Vec<Multiaddr>)> = self
            .peers
            .iter()
            .filter(|(id, p)| {
                !connected.contains(id) && self.allowed.contains(id) && !p.addrs.is_empty() && p.banned_until.is_none()
            })
            .map(|(id, p)| (*id, p.addrs.clone()))
            .collect();
        for (id, addrs) in known {
            let opts = DialOpts::peer_id(id).addresses(addrs).build();
            if let Err(e) = self.swarm.dial(opts) {
                tracing::debug!(peer = %id, cause = %e, "cannot dial known peer");
            }
        }
    }

    /// A connection is up: remember the bootstrap address it answers, and on the first
    /// connection to the peer, start syncing with it.
    pub(super) fn on_connected(&mut self, peer_id: PeerId, endpoint: &ConnectedPoint, num_established: NonZeroU32) {
        if let ConnectedPoint::Dialer { address, .. } = endpoint {
            for (a, p) in &mut self.bootstrap {
                if a == address || address.to_string().starts_with(&a.to_string()) {
                    *p = Some(peer_id);
                }
            }
        }
        if num_established.get() != 1 {
            return;
        }
        tracing::info!(peer = %peer_id, addr = %endpoint.get_remote_address(), "peer connected");
        let peer = self.peer(peer_id);
        peer.connected_since = Some(SystemTime::now());
        peer.direction = Some(if endpoint.is_dialer() { "outbound" } else { "inbound" });
        if endpoint.is_dialer() && !peer.addrs.contains(endpoint.get_remote_address()) {
            peer.addrs.push(endpoint.get_remote_address().clone());
        }
        self.metrics
            .p2p
            .connected
            .set(self.swarm.connected_peers().count() as i64);
        self.request_log(peer_id);
        self.request_forks_and_peers(peer_id);
    }

    /// The last connection to a peer closed.
    pub(super) fn on_disconnected(&mut self, peer_id: PeerId, cause: Option<ConnectionError>) {
        tracing::info!(peer = %peer_id, cause = ?cause, "peer disconnected");
        let peer = self.peer(peer_id);
        peer.connected_since = None;
        peer.direction = None;
        peer.log_request = None;
        self.catch_up.stopped(&peer_id);
        self.metrics
            .p2p
            .connected
            .set(self.swarm.connected_peers().count() as i64);
    }

    /// An incoming connection failed: counted when the allow list or a limit refused it.
    pub(super) fn on_incoming_error(&mut self, error: &ListenError, from: &Multiaddr, peer_id: Option<PeerId>) {
        let reason = match error {
            ListenError::Denied { cause } if cause.downcast_ref::<allow_block_list::NotAllowed>().is_some() => {
                "not_allowed"
            }
            ListenError::Denied { .. } => "limit",
            _ => "error",
        };
        if reason != "error" {
            tracing::warn!(from = %from, peer = ?peer_id, reason, "incoming connection refused");
            self.metrics.p2p.refused(reason);
        } else {
            tracing::debug!(from = %from, cause = %error, "incoming connection failed");
        }
    }

    /// A dial failed: counted when the peer turned out not to be a consortium node.
    pub(super) fn on_dial_error(&mut self, error: &DialError, peer_id: Option<PeerId>) {
        match error {
            DialError::Denied { cause } if cause.downcast_ref::<allow_block_list::NotAllowed>().is_some() => {
                tracing::warn!(peer = ?peer_id, "dialled peer is not a consortium node; disconnected");
                self.metrics.p2p.refused("not_allowed");
            }
            _ => tracing::debug!(peer = ?peer_id, cause = %error, "dial failed"),
        }
    }

    /// A peer told its listen addresses (wildcards are of no use to anyone else).
    pub(super) fn on_identify(&mut self, peer_id: PeerId, info: identify::Info) {
        let addrs: Vec<Multiaddr> = info
            .listen_addrs
            .into_iter()
            .filter(|a| !a.iter().any(|p| matches!(p, Protocol::Ip4(ip) if ip.is_unspecified())))
            .take(8)
            .collect();
        if !addrs.is_empty() {
            self.peer(peer_id).addrs = addrs;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Page, Peer};

    fn with_pages(cursor: u64, pages: &[(u64, u64)]) -> Peer {
        let mut p = Peer {
            cursor,
            ..Peer::default()
        };
        p.pages = pages
            .iter()
            .map(|&(from, next)| Page {
                from,
                next,
                handled: None,
            })
            .collect();
        p
    }

    #[test]
    fn the_cursor_moves_over_applied_pages_in_log_order() {
        let mut p = with_pages(0, &[(0, 10), (10, 20)]);
        // The page ahead finishes first: nothing moves until the one before it is done.
        assert!(!p.page_applied(10, 20));
        assert_eq!(p.cursor, 0);
        assert!(p.page_applied(0, 10));
        assert_eq!(p.cursor, 20);
        assert!(p.pages.is_empty());
    }

    #[test]
    fn a_page_cut_short_stops_the_cursor_and_drops_the_pages_after_it() {
        let mut p = with_pages(0, &[(0, 10), (10, 20)]);
        assert!(p.page_applied(0, 4));
        assert_eq!(p.cursor, 4);
        assert!(p.pages.is_empty(), "what follows record 4 is asked for again");
        // The dropped page's answer arrives later: it moves nothing.
        assert!(!p.page_applied(10, 20));
        assert_eq!(p.cursor, 4);
    }

    #[test]
    fn a_page_ahead_of_one_cut_short_does_not_skip_the_gap() {
        let mut p = with_pages(0, &[(0, 10), (10, 20)]);
        assert!(!p.page_applied(10, 20));
        assert!(p.page_applied(0, 7));
        assert_eq!(p.cursor, 7);
        assert!(p.pages.is_empty());
    }
}
