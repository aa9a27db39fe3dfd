//! What counts against a peer: strikes for invalid data, a ban at `p2p.strikes_before_ban`,
//! and the token bucket that budgets the sync requests each peer may make.

use std::time::Instant;

use libp2p::{PeerId, gossipsub};

use super::{event_loop::Loop, peers::Peer};

/// Requests over the rate after which a peer gets a strike (so a peer that floods sync
/// requests is banned, and one that only bursts is not).
pub(super) const THROTTLED_PER_STRIKE: u64 = 100;

impl Peer {
    /// Takes one sync request from the peer's budget; false when it is spent.
    pub(super) fn take_serve_token(&mut self, rate: u32, now: Instant) -> bool {
        let rate = f64::from(rate.max(1));
        let burst = 2.0 * rate;
        let tokens = match self.serve_refilled {
            None => burst,
            Some(t) => (self.serve_tokens + now.duration_since(t).as_secs_f64() * rate).min(burst),
        };
        self.serve_refilled = Some(now);
        if tokens >= 1.0 {
            self.serve_tokens = tokens - 1.0;
            true
        } else {
            self.serve_tokens = tokens;
            false
        }
    }
}

impl Loop {
    /// Counts `n` strikes against a peer; at the limit it is disconnected and refused for
    /// `p2p.ban_duration`.
    pub(super) fn strike(&mut self, p: PeerId, n: u32, why: &str) {
        if n == 0 {
            return;
        }
        let limit = self.cfg.p2p.strikes_before_ban;
        let ban = self.cfg.p2p.ban_duration;
        let peer = self.peer(p);
        peer.strikes += n;
        let strikes = peer.strikes;
        tracing::warn!(peer = %p, strikes, why, "invalid data from peer");
        if strikes >= limit && peer.banned_until.is_none() {
            peer.banned_until = Some(Instant::now() + ban);
            tracing::warn!(peer = %p, strikes, ban = %humantime::format_duration(ban), "peer banned: disconnected and refused");
            self.metrics.p2p.peers_banned.inc();
            self.swarm.behaviour_mut().allow.disallow_peer(p);
            self.allowed.remove(&p);
        }
    }

    /// Strikes the source of a gossip message reported `Reject`.
    pub(super) fn strike_rejected(&mut self, source: PeerId, why: &str) {
        // Gossipsub graylists a peer whose score falls below the threshold (one invalid
        // delivery is enough) and then ignores what it sends, so its later messages would
        // never count: ban it then and there.
        let graylisted = self
            .swarm
            .behaviour()
            .gossipsub
            .peer_score(&source)
            .is_some_and(|s| s <= gossipsub::PeerScoreThresholds::default().graylist_threshold);
        let n = if graylisted {
            self.cfg.p2p.strikes_before_ban.max(1)
        } else {
            1
        };
        self.strike(source, n, why);
    }
}

/// Whether a sync stream failed because of what the peer sent (bytes that do not decode as a
/// message of the protocol), rather than because the connection went away.
pub(super) fn is_garbage(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    // The codec reports a response that is too big or does not decode as `InvalidData`;
    // transport failures and the handler's own limits come as other kinds.
    matches!(e.kind(), ErrorKind::InvalidData | ErrorKind::Unsupported)
}

#[cfg(test)]
mod tests {
    use std::io::{Error, ErrorKind};

    use super::{Peer, is_garbage};

    #[test]
    fn garbage_is_what_the_peer_sent_not_what_the_transport_did() {
        assert!(is_garbage(&Error::new(ErrorKind::InvalidData, "not a sync response")));
        assert!(!is_garbage(&Error::other(Error::new(
            ErrorKind::ConnectionReset,
            "reset"
        ))));
        assert!(!is_garbage(&Error::other("max sub-streams reached")));
        assert!(!is_garbage(&Error::new(ErrorKind::UnexpectedEof, "eof")));
    }

    #[test]
    fn the_serve_budget_allows_bursts_then_the_rate() {
        let mut p = Peer::default();
        let t0 = std::time::Instant::now();
        let burst = (0..1000).take_while(|_| p.take_serve_token(50, t0)).count();
        assert_eq!(burst, 100);
        assert!(!p.take_serve_token(50, t0));
        let later = t0 + std::time::Duration::from_millis(100);
        let refilled = (0..1000).take_while(|_| p.take_serve_token(50, later)).count();
        assert_eq!(refilled, 5);
    }
}
