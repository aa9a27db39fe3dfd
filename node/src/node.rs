//! Starting, supervising and stopping a node.
//!
//! A node runs five components: the HTTP API server, the PACT API server (when it is on), the
//! checkpoint ticker, the p2p swarm task and the store writer thread. They are supervised (see
//! [`crate::supervisor`]): if one of them stops while the node runs — an error, a panic, or an
//! end nobody asked for — [`Node::run_until_stopped`] logs which and why, stops the others
//! and returns an error, and the process exits non-zero.
//!
//! Shutdown order: stop accepting HTTP requests and let in-flight ones finish, stop the
//! swarm (gossip and sync), stop the checkpoint ticker, then let the store writer drain its
//! queue, sign a last checkpoint and flush RocksDB.

use std::{future::Future, path::Path, sync::Arc, time::Duration};

use anyhow::{Context, Result};
use greenledger_core::Genesis;
use tokio::{
    net::TcpListener,
    task::{JoinError, JoinHandle},
};
use tokio_util::sync::CancellationToken;

use crate::{
    api::{self, Addrs, AppState},
    config::Config,
    identity::Identity,
    metrics::Metrics,
    p2p::{self, Network},
    store::{Store, WriterThread},
    supervisor::{Component, Exit, FaultInjector, Supervisor},
};

/// How long in-flight requests may take to finish at shutdown.
const GRACE: Duration = Duration::from_secs(10);

/// A running node.
#[must_use = "a node runs until shut down"]
pub struct Node {
    /// Stops the API servers and the checkpoint ticker.
    token: CancellationToken,
    http: JoinHandle<Exit>,
    pact: Option<JoinHandle<Exit>>,
    ticker: JoinHandle<Exit>,
    p2p: Network,
    p2p_token: CancellationToken,
    writer: WriterThread,
    supervisor: Supervisor,
    addrs: Arc<Addrs>,
    store: Store,
}

impl Node {
    /// Opens the store, binds the HTTP listener and starts serving.
    pub async fn start(cfg: Config, data_dir: &Path, genesis: &Genesis) -> Result<Node> {
        crate::memory::trim_periodically();
        let identity = Identity::load(data_dir)?;
        // Everything that can fail on bad flags fails before the store opens.
        let p2p_addrs = p2p::check_config(&cfg)?;
        let listener = TcpListener::bind(cfg.http)
            .await
            .with_context(|| format!("cannot bind the HTTP API to {}", cfg.http))?;
        let http_addr = listener.local_addr()?;
        let pact = crate::pact::prepare(&cfg, data_dir, &identity.peer_id().to_string()).await?;
        let db_dir = data_dir.join("db");
        let (store, mut writer) = Store::open(&db_dir, genesis, &cfg, identity.clone())?;
        let supervisor = Supervisor::new();
        if let Some(ended) = writer.take_ended() {
            supervisor.watch_thread(Component::StoreWriter, ended);
        }
        let metrics = Arc::new(Metrics::new());
        let p2p_token = CancellationToken::new();
        let network = match p2p::spawn(
            &cfg,
            p2p_addrs,
            &identity,
            store.clone(),
            metrics.clone(),
            p2p_token.clone(),
            &supervisor,
        )
        .await
        {
            Ok(n) => n,
            Err(e) => {
                // Close the store before reporting, so that the process never exits while the
                // writer thread still holds RocksDB.
                let _ = close_store(store, writer).await;
                return Err(e);
            }
        };
        let token = CancellationToken::new();
        let started = pact
            .map(|p| {
                crate::pact::start(
                    p,
                    &cfg,
                    data_dir,
                    store.clone(),
                    metrics.clone(),
                    token.clone(),
                    &supervisor,
                )
            })
            .transpose();
        let pact = match started {
            Ok(p) => p,
            Err(e) => {
                p2p_token.cancel();
                let _ = network.join().await;
                let _ = close_store(store, writer).await;
                return Err(e);
            }
        };
        let addrs = Arc::new(Addrs {
            pact: pact.as_ref().map(|p| p.addr),
            http: Some(http_addr),
            p2p: network
                .listen_addrs
                .iter()
                .map(|a| format!("{a}/p2p/{}", identity.peer_id()))
                .collect(),
        });
        let state = AppState {
            store: store.clone(),
            network: Some(network.handle()),
            metrics,
            identity: identity.clone(),
            addrs: addrs.clone(),
            max_body: cfg.http_limits.max_body_bytes,
        };
        let http = serve_http(listener, state, &cfg, token.clone(), &supervisor);
        let ticker = supervisor.spawn(
            Component::Checkpoints,
            checkpoints(store.clone(), cfg.storage.checkpoint_interval, token.clone()),
        );
        if let Some(p) = &pact {
            match &p.ca {
                Some(ca) => {
                    tracing::info!(pact = %format!("https://{}", p.addr), ca = %ca.display(), "PACT API serving (testnet certificate: clients trust the CA file)")
                }
                None => tracing::info!(pact = %format!("https://{}", p.addr), "PACT API serving"),
            }
        }
        tracing::info!(http = %http_addr, p2p = ?addrs.p2p, peer_id = %identity.peer_id(), network = %genesis.network_id(), name = %genesis.name, "greenledger-node serving");
        Ok(Node {
            token,
            http,
            pact: pact.map(|p| p.task),
            ticker,
            p2p: network,
            p2p_token,
            writer,
            supervisor,
            addrs,
            store,
        })
    }

    /// The addresses the node bound.
    pub fn addrs(&self) -> &Addrs {
        &self.addrs
    }

    /// The store handle.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Resolves when a component stops while the node runs, saying which and how. Cancel-safe:
    /// select on it next to a shutdown signal, then call [`Node::shutdown`] either way.
    pub async fn died(&mut self) -> Exit {
        self.supervisor.next_exit().await
    }

    /// Serves until `shutdown` resolves, then stops in order (`Ok`); or until a component
    /// stops on its own: then logs which and why, stops the rest in the same order, and
    /// returns that as the error.
    pub async fn run_until_stopped(mut self, shutdown: impl Future<Output = ()>) -> Result<()> {
        let died = tokio::select! {
            exit = self.died() => Some(exit),
            () = shutdown => None,
        };
        match died {
            None => {
                tracing::info!("shutting down");
                self.stop(None).await
            }
            Some(exit) => {
                tracing::error!(component = %exit.component, cause = %exit.ending, "a component of the node stopped while it was running; shutting down");
                if let Err(e) = self.stop(Some(exit.component)).await {
                    tracing::error!(cause = %format!("{e:#}"), "shutdown after the failure");
                }
                Err(exit.into())
            }
        }
    }

    /// Stops the node in order and waits until the store is flushed.
    pub async fn shutdown(self) -> Result<()> {
        self.stop(None).await
    }

    /// Stops the node in order. `failed` is a component whose end was already reported.
    async fn stop(self, failed: Option<Component>) -> Result<()> {
        let Node {
            token,
            http,
            pact,
            ticker,
            p2p,
            p2p_token,
            writer,
            store,
            ..
        } = self;
        let ended = |r: Result<Exit, JoinError>| match r {
            Ok(exit) if exit.ending.is_failure() && Some(exit.component) != failed => {
                tracing::error!(component = %exit.component, cause = %exit.ending, "a component failed while stopping")
            }
            Ok(_) => {}
            // Cut after the grace period.
            Err(e) if e.is_cancelled() => {}
            Err(e) => tracing::error!(cause = %e, "a component's task was lost"),
        };
        token.cancel();
        // In-flight requests finish; connections that do not are cut after a grace period.
        if let Some(pact) = pact {
            ended(within_grace(pact, Component::Pact).await);
        }
        ended(within_grace(http, Component::Http).await);
        p2p_token.cancel();
        ended(p2p.join().await);
        ended(ticker.await);
        close_store(store, writer).await?;
        tracing::info!("greenledger-node stopped");
        Ok(())
    }

    /// A handle that makes a component of this node panic, to test supervision (see
    /// [`crate::supervisor`]; nothing in `greenledger-node` calls it).
    #[doc(hidden)]
    pub fn fault_injector(&self) -> FaultInjector {
        self.supervisor.fault_injector(self.store.writer_fault())
    }
}

/// Serves the HTTP API on `listener` until `token` is cancelled, in a supervised task.
fn serve_http(
    listener: TcpListener,
    state: AppState,
    cfg: &Config,
    token: CancellationToken,
    supervisor: &Supervisor,
) -> JoinHandle<Exit> {
    let limits = &cfg.http_limits;
    let app = api::router(state, limits.request_timeout);
    let listener = api::listener::BoundedListener::new(listener, limits.max_connections, limits.stall_timeout)
        .with_request_deadline(limits.request_timeout + limits.stall_timeout);
    supervisor.spawn(Component::Http, async move {
        axum::serve(listener, app.into_make_service())
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await
    })
}

/// Asks the writer for a checkpoint every `every` until `token` is cancelled.
async fn checkpoints(store: Store, every: Duration, token: CancellationToken) -> Result<(), std::convert::Infallible> {
    let mut iv = tokio::time::interval(every.max(Duration::from_millis(10)));
    loop {
        tokio::select! {
            biased;
            _ = token.cancelled() => return Ok(()),
            _ = iv.tick() => store.tick().await,
        }
    }
}

/// Waits for an API server to finish its in-flight requests, [`GRACE`] at most; then cuts
/// its connections.
async fn within_grace(mut task: JoinHandle<Exit>, component: Component) -> Result<Exit, JoinError> {
    match tokio::time::timeout(GRACE, &mut task).await {
        Ok(r) => r,
        Err(_) => {
            tracing::warn!(component = %component, "connections still open after 10 s; closing them");
            task.abort();
            task.await
        }
    }
}

/// Drops this handle on the store and waits for the writer to drain and flush (every other
/// handle must be gone: the writer stops when the last one is dropped).
async fn close_store(store: Store, writer: WriterThread) -> Result<()> {
    drop(store);
    tokio::task::spawn_blocking(move || writer.join())
        .await
        .context("store writer")
}
