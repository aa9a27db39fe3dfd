//! Starting and stopping a node.
//!
//! Shutdown order: stop accepting HTTP requests and let in-flight ones finish, stop the
//! swarm (gossip and sync), stop the checkpoint ticker, then let the store writer drain its
//! queue, sign a last checkpoint and flush RocksDB.

use std::{path::Path, sync::Arc};

use anyhow::{Context, Result};
use greenledger_core::Genesis;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::{
    api::{self, Addrs, AppState},
    config::Config,
    identity::Identity,
    metrics::Metrics,
    p2p::{self, Network},
    store::{Store, WriterThread},
};

/// A running node.
#[must_use = "a node runs until shut down"]
pub struct Node {
    token: CancellationToken,
    http: JoinHandle<std::io::Result<()>>,
    pact: Option<JoinHandle<std::io::Result<()>>>,
    ticker: JoinHandle<()>,
    p2p: Network,
    p2p_token: CancellationToken,
    writer: WriterThread,
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
        let pact = crate::pact::prepare(&cfg, data_dir).await?;
        let db_dir = data_dir.join("db");
        let (store, writer) = Store::open(&db_dir, genesis, &cfg, identity.clone())?;
        let metrics = Arc::new(Metrics::new());
        let p2p_token = CancellationToken::new();
        let network = match p2p::spawn(
            &cfg,
            p2p_addrs,
            &identity,
            store.clone(),
            metrics.clone(),
            p2p_token.clone(),
        )
        .await
        {
            Ok(n) => n,
            Err(e) => {
                // Close the store before reporting, so that the process never exits while the
                // writer thread still holds RocksDB.
                drop(store);
                let _ = tokio::task::spawn_blocking(move || writer.join()).await;
                return Err(e);
            }
        };
        let token = CancellationToken::new();
        let pact = match pact {
            Some(p) => match crate::pact::start(p, &cfg, data_dir, store.clone(), metrics.clone(), token.clone()) {
                Ok(s) => Some(s),
                Err(e) => {
                    p2p_token.cancel();
                    network.join().await;
                    drop(store);
                    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
                    return Err(e);
                }
            },
            None => None,
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
        let app = api::router(state, cfg.http_limits.request_timeout);
        let shutdown = token.clone();
        let listener = api::listener::BoundedListener::new(
            listener,
            cfg.http_limits.max_connections,
            cfg.http_limits.stall_timeout,
        )
        .with_request_deadline(cfg.http_limits.request_timeout + cfg.http_limits.stall_timeout);
        let http = tokio::spawn(async move {
            axum::serve(listener, app.into_make_service())
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await
        });
        let tick_store = store.clone();
        let tick_token = token.clone();
        let every = cfg
            .storage
            .checkpoint_interval
            .max(std::time::Duration::from_millis(10));
        let ticker = tokio::spawn(async move {
            let mut iv = tokio::time::interval(every);
            loop {
                tokio::select! {
                    biased;
                    _ = tick_token.cancelled() => break,
                    _ = iv.tick() => tick_store.tick().await,
                }
            }
        });
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

    /// Stops the node in order and waits until the store is flushed.
    pub async fn shutdown(self) -> Result<()> {
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
        token.cancel();
        if let Some(mut pact) = pact
            && tokio::time::timeout(std::time::Duration::from_secs(10), &mut pact)
                .await
                .is_err()
        {
            tracing::warn!("PACT API connections still open after 10 s; closing them");
            pact.abort();
        }
        // In-flight requests finish; connections that do not are cut after a grace period.
        let mut http = http;
        match tokio::time::timeout(std::time::Duration::from_secs(10), &mut http).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::error!(cause = %e, "HTTP server error"),
            Ok(Err(e)) => tracing::error!(cause = %e, "HTTP task failed"),
            Err(_) => {
                tracing::warn!("HTTP connections still open after 10 s; closing them");
                http.abort();
            }
        }
        p2p_token.cancel();
        p2p.join().await;
        let _ = ticker.await;
        drop(store);
        tokio::task::spawn_blocking(move || writer.join())
            .await
            .context("store writer")?;
        tracing::info!("greenledger-node stopped");
        Ok(())
    }
}
