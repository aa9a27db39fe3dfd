//! Catch-up progress for people. A node that is behind a peer by more than a page of its log
//! says so: on a terminal, a bar per peer on standard error (records pulled of the peer's log
//! size, and the rate), with log lines printed above the bars ([`StderrWriter`]); anywhere
//! else (a pipe, a file, a journal), an `info` line when the catch-up starts, one every
//! [`LOG_EVERY`] while it lasts, and one when it is done. The binary decides which
//! ([`draw_on_terminal`]); a node in a test or a library never draws.

use std::{
    collections::HashMap,
    io::Write,
    sync::OnceLock,
    time::{Duration, Instant},
};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use libp2p::PeerId;

/// The bars, once [`draw_on_terminal`] was called.
static BARS: OnceLock<MultiProgress> = OnceLock::new();

/// How often a catch-up without a bar logs how far it has got.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Draws catch-up bars on standard error from now on. The binary calls it when standard error
/// is a terminal; log lines must then go through [`StderrWriter`].
pub fn draw_on_terminal() {
    let _ = BARS.set(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
}

/// Standard error for the log: while bars are drawn, each line is written with the bars
/// cleared and drawn again below it, so that neither corrupts the other.
#[derive(Debug, Clone, Copy, Default)]
pub struct StderrWriter;

impl Write for StderrWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The log writes one event per call: write it whole, with the bars out of the way.
        let write = || std::io::stderr().lock().write_all(buf);
        match BARS.get() {
            Some(bars) => bars.suspend(write)?,
            None => write()?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// The catch-ups under way, one per peer this node is behind.
#[derive(Default)]
pub(crate) struct CatchUp {
    runs: HashMap<PeerId, Run>,
}

struct Run {
    started: Instant,
    /// The cursor when the catch-up started.
    from: u64,
    last_log: Instant,
    bar: Option<ProgressBar>,
}

impl CatchUp {
    /// A page of `peer`'s log was applied: its records before `cursor` are handled, of
    /// `log_size`. A catch-up starts when more than `page` records are left.
    pub(crate) fn advanced(&mut self, peer: &PeerId, cursor: u64, log_size: u64, page: u64) {
        let left = log_size.saturating_sub(cursor);
        if left == 0 {
            if let Some(run) = self.runs.remove(peer) {
                if let Some(bar) = &run.bar {
                    bar.finish_and_clear();
                }
                let secs = run.started.elapsed().as_secs_f64();
                let pulled = cursor.saturating_sub(run.from);
                tracing::info!(
                    peer = %peer,
                    records = log_size,
                    pulled,
                    secs = format!("{secs:.1}"),
                    per_sec = rate(pulled, secs),
                    "caught up with peer"
                );
            }
            return;
        }
        if !self.runs.contains_key(peer) {
            if left <= page {
                return;
            }
            tracing::info!(peer = %peer, records = cursor, of = log_size, "catching up from peer");
            let bar = BARS.get().map(|bars| {
                let style = ProgressStyle::with_template(
                    "catching up from {prefix} [{bar:30}] {human_pos}/{human_len} records ({msg})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
                let bar = bars.add(
                    ProgressBar::new(log_size)
                        .with_style(style)
                        .with_position(cursor)
                        .with_message("…/s"),
                );
                bar.set_prefix(short(peer));
                bar
            });
            let now = Instant::now();
            self.runs.insert(
                *peer,
                Run {
                    started: now,
                    from: cursor,
                    last_log: now,
                    bar,
                },
            );
        }
        let Some(run) = self.runs.get_mut(peer) else { return };
        let pulled = cursor.saturating_sub(run.from);
        let per_sec = rate(pulled, run.started.elapsed().as_secs_f64());
        match &run.bar {
            Some(bar) => {
                bar.set_length(log_size);
                bar.set_position(cursor);
                bar.set_message(format!("{per_sec}/s"));
            }
            None if run.last_log.elapsed() >= LOG_EVERY => {
                run.last_log = Instant::now();
                tracing::info!(peer = %peer, records = cursor, of = log_size, per_sec, "catching up from peer");
            }
            None => {}
        }
    }

    /// `peer` went away: its catch-up stops (the next connection starts another).
    pub(crate) fn stopped(&mut self, peer: &PeerId) {
        if let Some(run) = self.runs.remove(peer) {
            if let Some(bar) = run.bar {
                bar.finish_and_clear();
            }
            tracing::info!(peer = %peer, "catch-up from peer interrupted: disconnected");
        }
    }
}

/// Records per second, whole.
fn rate(records: u64, secs: f64) -> u64 {
    if secs > 0.0 { (records as f64 / secs) as u64 } else { 0 }
}

/// A peer id, shortened for a bar: its last 8 characters.
fn short(peer: &PeerId) -> String {
    let s = peer.to_string();
    let cut = s.len().saturating_sub(8);
    format!("…{}", &s[cut..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_catch_up_starts_only_more_than_a_page_behind_and_ends_at_the_peers_size() {
        let peer = PeerId::random();
        let mut c = CatchUp::default();
        c.advanced(&peer, 900, 1_000, 1_000);
        assert!(c.runs.is_empty(), "a page behind is no catch-up");
        c.advanced(&peer, 1_000, 50_000, 1_000);
        assert_eq!(c.runs[&peer].from, 1_000);
        // No terminal here: no bar.
        assert!(c.runs[&peer].bar.is_none());
        c.advanced(&peer, 20_000, 50_000, 1_000);
        assert_eq!(c.runs.len(), 1);
        c.advanced(&peer, 50_000, 50_000, 1_000);
        assert!(c.runs.is_empty());
        c.advanced(&peer, 1_000, 50_000, 1_000);
        c.stopped(&peer);
        assert!(c.runs.is_empty());
    }
}
