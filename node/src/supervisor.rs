//! Supervision: the node's long-running parts, and the news that one of them stopped.
//!
//! Every task the node keeps running goes through `Supervisor::spawn`, and the store writer
//! thread reports its end through `Supervisor::watch_thread`. When a part ends — returns,
//! fails or panics — an [`Exit`] naming it and saying why is sent to the supervisor. While the
//! node runs, any exit is fatal: [`Node::run_until_stopped`](crate::Node::run_until_stopped)
//! logs it, stops the rest in the usual order and returns it as an error, so that the process
//! exits non-zero instead of serving half alive. During a shutdown, parts end because they
//! were told to, and only the failures among them are logged.
//!
//! # Fault injection (a test hook)
//!
//! [`FaultInjector`] makes one part panic, as a bug would. It exists for the end-to-end tests
//! of supervision and is reachable only from Rust code, through
//! [`Node::fault_injector`](crate::Node::fault_injector): `greenledger-node` reads no setting,
//! variable or signal that calls it. The tests' own build of the binary
//! (`tests/bin/greenledger-node.rs`) does.

use std::{any::Any, fmt, future::Future, panic::AssertUnwindSafe};

use futures::FutureExt;
use tokio::{
    sync::{mpsc, oneshot, watch},
    task::JoinHandle,
};
use tracing::Instrument;

use crate::store::WriterFault;

/// A part of the node that must run as long as the node does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Component {
    /// The HTTP API server (`/v1`, `/metrics`).
    Http,
    /// The PACT API server (HTTPS), when it is on.
    Pact,
    /// The timer that asks the writer for checkpoints.
    Checkpoints,
    /// The libp2p swarm task (gossip, anti-entropy).
    P2p,
    /// The thread that writes the store.
    StoreWriter,
}

impl Component {
    /// Every component.
    pub const ALL: [Component; 5] = [
        Component::Http,
        Component::Pact,
        Component::Checkpoints,
        Component::P2p,
        Component::StoreWriter,
    ];

    /// A short name: `http`, `pact`, `checkpoints`, `p2p`, `store-writer`.
    pub fn name(self) -> &'static str {
        match self {
            Component::Http => "http",
            Component::Pact => "pact",
            Component::Checkpoints => "checkpoints",
            Component::P2p => "p2p",
            Component::StoreWriter => "store-writer",
        }
    }

    /// The span its task runs in.
    fn span(self) -> tracing::Span {
        match self {
            Component::Http => tracing::info_span!("http"),
            Component::Pact => tracing::info_span!("pact"),
            Component::Checkpoints => tracing::info_span!("checkpoints"),
            Component::P2p => tracing::info_span!("p2p"),
            Component::StoreWriter => tracing::info_span!("store_writer"),
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Component::Http => "HTTP API server",
            Component::Pact => "PACT API server",
            Component::Checkpoints => "checkpoint ticker",
            Component::P2p => "p2p swarm task",
            Component::StoreWriter => "store writer thread",
        })
    }
}

impl std::str::FromStr for Component {
    type Err = String;

    /// Parses a [`Component::name`].
    fn from_str(s: &str) -> Result<Self, String> {
        Component::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("no component {s:?} (one of http, pact, checkpoints, p2p, store-writer)"))
    }
}

/// How a component ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// It returned without an error.
    Returned,
    /// It returned an error.
    Failed(String),
    /// It panicked (the panic's message).
    Panicked(String),
}

impl Ending {
    /// Whether it ended in a failure or a panic.
    pub fn is_failure(&self) -> bool {
        !matches!(self, Ending::Returned)
    }
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ending::Returned => f.write_str("ended on its own"),
            Ending::Failed(e) => write!(f, "failed: {e}"),
            Ending::Panicked(m) => write!(f, "panicked: {m}"),
        }
    }
}

/// A component that ended, and how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {component} {ending}")]
pub struct Exit {
    /// Which.
    pub component: Component,
    /// How.
    pub ending: Ending,
}

/// The text of a panic's payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// The node's components, and the news of their ends.
pub(crate) struct Supervisor {
    tx: mpsc::Sender<Exit>,
    rx: mpsc::Receiver<Exit>,
    faults: watch::Sender<Option<Component>>,
}

impl Supervisor {
    pub(crate) fn new() -> Self {
        // One exit per component at most: never full.
        let (tx, rx) = mpsc::channel(2 * Component::ALL.len());
        Supervisor {
            tx,
            rx,
            faults: watch::Sender::new(None),
        }
    }

    /// Spawns a component's task, in the component's span. Its end is reported to
    /// [`next_exit`](Self::next_exit), and is what the returned handle resolves to.
    pub(crate) fn spawn<F, E>(&self, component: Component, fut: F) -> JoinHandle<Exit>
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: fmt::Display,
    {
        let mut faults = self.faults.subscribe();
        let run = async move {
            tokio::select! {
                r = fut => r,
                () = injected(&mut faults, component) => panic!("fault injected into the {component} (test hook)"),
            }
        };
        self.report(component, async move {
            match AssertUnwindSafe(run).catch_unwind().await {
                Ok(Ok(())) => Ending::Returned,
                Ok(Err(e)) => Ending::Failed(format!("{e:#}")),
                Err(p) => Ending::Panicked(panic_message(p.as_ref())),
            }
        })
    }

    /// Watches a thread that sends `Ok` on `ended` when it returns and its panic's message
    /// when it panics (a thread that drops `ended` unsent is taken to have panicked).
    pub(crate) fn watch_thread(
        &self,
        component: Component,
        ended: oneshot::Receiver<Result<(), String>>,
    ) -> JoinHandle<Exit> {
        self.report(component, async move {
            match ended.await {
                Ok(Ok(())) => Ending::Returned,
                Ok(Err(panic)) => Ending::Panicked(panic),
                Err(_) => Ending::Panicked("it ended without saying how".into()),
            }
        })
    }

    /// Runs `ending` in a task and reports the exit it makes.
    fn report(&self, component: Component, ending: impl Future<Output = Ending> + Send + 'static) -> JoinHandle<Exit> {
        let tx = self.tx.clone();
        let task = async move {
            let exit = Exit {
                component,
                ending: ending.await,
            };
            let _ = tx.try_send(exit.clone());
            exit
        };
        tokio::spawn(task.instrument(component.span()))
    }

    /// The next component to end (cancel-safe: an exit not taken stays for the next call).
    pub(crate) async fn next_exit(&mut self) -> Exit {
        match self.rx.recv().await {
            Some(exit) => exit,
            // The supervisor holds a sender itself.
            None => std::future::pending().await,
        }
    }

    /// A handle that makes components fail (see the module's doc).
    pub(crate) fn fault_injector(&self, writer: WriterFault) -> FaultInjector {
        FaultInjector {
            faults: self.faults.clone(),
            writer,
        }
    }
}

/// Resolves once a fault is injected into `component` (never, otherwise).
async fn injected(faults: &mut watch::Receiver<Option<Component>>, component: Component) {
    if faults.wait_for(|f| *f == Some(component)).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Makes a component of a running node panic, to test supervision (see the module's doc).
#[doc(hidden)]
#[derive(Clone)]
pub struct FaultInjector {
    faults: watch::Sender<Option<Component>>,
    writer: WriterFault,
}

impl FaultInjector {
    /// Makes `component` panic now.
    pub fn inject(&self, component: Component) {
        tracing::warn!(component = %component, "injecting a fault (test hook)");
        match component {
            Component::StoreWriter => self.writer.inject(),
            c => {
                self.faults.send_replace(Some(c));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn every_end_of_a_component_is_reported_with_its_name_and_cause() {
        runtime().block_on(async {
            let mut s = Supervisor::new();
            let returned = s.spawn(Component::Checkpoints, async { Ok::<(), String>(()) });
            let exit = s.next_exit().await;
            assert_eq!(exit.component, Component::Checkpoints);
            assert_eq!(exit.ending, Ending::Returned);
            assert_eq!(returned.await.expect("join"), exit);
            assert_eq!(exit.to_string(), "the checkpoint ticker ended on its own");

            s.spawn(Component::Http, async {
                Err::<(), _>(std::io::Error::other("accept failed"))
            });
            let exit = s.next_exit().await;
            assert_eq!(exit.ending, Ending::Failed("accept failed".into()));
            assert_eq!(exit.to_string(), "the HTTP API server failed: accept failed");

            s.spawn(Component::P2p, async {
                if true {
                    panic!("swarm broke");
                }
                Ok::<(), String>(())
            });
            let exit = s.next_exit().await;
            assert_eq!(exit.component, Component::P2p);
            assert_eq!(exit.ending, Ending::Panicked("swarm broke".into()));
            assert_eq!(exit.to_string(), "the p2p swarm task panicked: swarm broke");
        });
    }

    #[test]
    fn a_watched_thread_reports_how_it_ended() {
        runtime().block_on(async {
            let mut s = Supervisor::new();
            for (sent, ending) in [
                (Some(Ok(())), Ending::Returned),
                (Some(Err("oops".to_string())), Ending::Panicked("oops".into())),
                (None, Ending::Panicked("it ended without saying how".into())),
            ] {
                let (tx, rx) = oneshot::channel();
                s.watch_thread(Component::StoreWriter, rx);
                std::thread::spawn(move || {
                    if let Some(r) = sent {
                        let _ = tx.send(r);
                    }
                })
                .join()
                .expect("thread");
                let exit = s.next_exit().await;
                assert_eq!((exit.component, exit.ending), (Component::StoreWriter, ending));
            }
        });
    }

    #[test]
    fn an_injected_fault_panics_only_its_component() {
        runtime().block_on(async {
            let mut s = Supervisor::new();
            let forever = || async { std::future::pending::<Result<(), String>>().await };
            let p2p = s.spawn(Component::P2p, forever());
            let http = s.spawn(Component::Http, forever());
            s.faults.send_replace(Some(Component::Http));
            let exit = s.next_exit().await;
            assert_eq!(exit.component, Component::Http);
            assert!(
                matches!(&exit.ending, Ending::Panicked(m) if m.contains("fault injected into the HTTP API server")),
                "{exit}"
            );
            assert!(http.is_finished() || http.await.is_ok());
            assert!(!p2p.is_finished());
            p2p.abort();
        });
    }

    #[test]
    fn components_parse_from_their_names() {
        for c in Component::ALL {
            assert_eq!(c.name().parse::<Component>(), Ok(c));
        }
        assert!("writer".parse::<Component>().is_err());
    }
}
