//! Signature verification, in batches, off the async runtime.
//!
//! Every entry that reaches the node — an HTTP submission, a gossip message, a sync answer —
//! is decoded and its signature checked here, on a thread of its own, never on the runtime's
//! worker threads. Jobs that arrive while a batch is being verified (and, for a short window,
//! after the first of a batch) are verified together: decoding on every core, then the ZIP 215
//! batch equation on every core (`core::entry::verify_many`). A batch that fails is bisected to
//! name the bad entries, with a bound that keeps a flood of bad signatures near the cost of
//! single verification (`core::keys::verify_all`), so a bad entry delays a good one's verdict by
//! at most one window and one batch.

use std::time::{Duration, Instant};

use greenledger_core::{
    SignedEntry, VerifiedEntry,
    entry::{EntryError, verify_many},
};
use tokio::sync::{mpsc, oneshot};

/// A verification result for one entry.
pub type Verdict = Result<VerifiedEntry, EntryError>;

struct Job {
    entries: Vec<SignedEntry>,
    reply: oneshot::Sender<Vec<Verdict>>,
}

/// A handle on the verification thread. Cheap to clone.
#[derive(Clone)]
pub struct Verifier {
    tx: mpsc::Sender<Job>,
}

/// Most entries in one batch.
const MAX_BATCH: usize = 4096;

/// The verification thread; it ends when every [`Verifier`] handle is dropped.
#[must_use]
pub struct VerifierThread(std::thread::JoinHandle<()>);

impl VerifierThread {
    /// Waits for the thread to end.
    pub fn join(self) {
        if self.0.join().is_err() {
            tracing::error!("the verification thread panicked");
        }
    }
}

impl Verifier {
    /// Starts the verification thread. `window` is how long a batch waits for more entries
    /// after its first one (zero: only what is already queued).
    pub fn start(window: Duration) -> std::io::Result<(Verifier, VerifierThread)> {
        let (tx, rx) = mpsc::channel(1024);
        let handle = std::thread::Builder::new()
            .name("verifier".into())
            .spawn(move || run(rx, window))?;
        Ok((Verifier { tx }, VerifierThread(handle)))
    }

    /// Decodes and verifies one entry.
    pub async fn verify(&self, entry: SignedEntry) -> Verdict {
        let mut v = self.verify_many(vec![entry]).await;
        v.pop()
            .unwrap_or(Err(EntryError::Decode(greenledger_core::error::DecodeError::Field(
                "the node is shutting down".into(),
            ))))
    }

    /// Decodes and verifies entries; one verdict each, in order.
    pub async fn verify_many(&self, entries: Vec<SignedEntry>) -> Vec<Verdict> {
        if entries.is_empty() {
            return Vec::new();
        }
        let n = entries.len();
        let (reply, rx) = oneshot::channel();
        // If the thread is gone (the node is stopping), verify here on a blocking thread.
        let entries = match self.tx.send(Job { entries, reply }).await {
            Ok(()) => match rx.await {
                Ok(v) if v.len() == n => return v,
                _ => return Vec::new(),
            },
            Err(mpsc::error::SendError(job)) => job.entries,
        };
        tokio::task::spawn_blocking(move || verify_many(entries))
            .await
            .unwrap_or_default()
    }
}

fn run(mut rx: mpsc::Receiver<Job>, window: Duration) {
    while let Some(first) = rx.blocking_recv() {
        let deadline = Instant::now() + window;
        let mut size = first.entries.len();
        let mut jobs = vec![first];
        // What is already queued joins the batch; then, within the window, what arrives.
        loop {
            while size < MAX_BATCH {
                match rx.try_recv() {
                    Ok(j) => {
                        size += j.entries.len();
                        jobs.push(j);
                    }
                    Err(_) => break,
                }
            }
            let now = Instant::now();
            if size >= MAX_BATCH || now >= deadline {
                break;
            }
            // One sleep for the rest of the window (a wake-up costs more than the wait saves
            // at the rates where batches are small; at high rates the queue fills the batch).
            std::thread::sleep(deadline - now);
        }
        let mut all = Vec::with_capacity(size);
        let mut lens = Vec::with_capacity(jobs.len());
        let mut replies = Vec::with_capacity(jobs.len());
        for j in jobs {
            lens.push(j.entries.len());
            all.extend(j.entries);
            replies.push(j.reply);
        }
        let mut verdicts = verify_many(all).into_iter();
        for (n, reply) in lens.into_iter().zip(replies) {
            let _ = reply.send(verdicts.by_ref().take(n).collect());
        }
    }
}

#[cfg(test)]
mod tests {
    use greenledger_core::Signature;
    use greenledger_testkit::Consortium;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_jobs_get_their_own_verdicts_in_order() {
        let mut c = Consortium::new("verifier");
        let mut s = c.supplier(11, "S");
        let mut good: Vec<SignedEntry> = Vec::new();
        for i in 0..200 {
            good.push(s.attest(&format!("urn:x:p{i}"), i, &[]).signed().clone());
        }
        let (v, thread) = Verifier::start(Duration::from_millis(2)).unwrap();
        let mut tasks = Vec::new();
        for (j, chunk) in good.chunks(7).enumerate() {
            let mut chunk = chunk.to_vec();
            if j % 3 == 0 {
                let se = &chunk[0];
                let mut sig = *se.signature();
                sig.0[0] ^= 1;
                chunk[0] = SignedEntry::from_parts(se.payload().to_vec(), Signature(sig.0));
            }
            let v = v.clone();
            tasks.push(tokio::spawn(
                async move { (j, chunk.clone(), v.verify_many(chunk).await) },
            ));
        }
        for t in tasks {
            let (j, chunk, verdicts) = t.await.unwrap();
            assert_eq!(verdicts.len(), chunk.len());
            for (k, (se, r)) in chunk.iter().zip(&verdicts).enumerate() {
                assert_eq!(r.is_ok(), !(j % 3 == 0 && k == 0), "job {j} item {k}");
                if let Ok(e) = r {
                    assert_eq!(e.id(), se.id());
                }
            }
        }
        assert!(v.verify(good[0].clone()).await.is_ok());
        drop(v);
        thread.join();
    }
}
