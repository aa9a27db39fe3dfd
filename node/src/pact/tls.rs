//! HTTPS for the PACT API: the server certificate (given, or made once for a testnet) and a
//! listener that completes TLS handshakes off the accept loop.

use std::{
    io,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use anyhow::{Context, Result, bail};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tokio::sync::mpsc;
use tokio_rustls::{TlsAcceptor, server::TlsStream};

use crate::{api::listener::BoundedListener, api::listener::GuardedStream, config::PactConfig};

/// Where the generated testnet certificate lives in a data dir.
pub const GENERATED_DIR: &str = "pact-tls";

/// The server's TLS configuration, and the file a client should trust when the certificate
/// was generated (`None` for an operator's certificate).
pub fn server_config(cfg: &PactConfig, data_dir: &Path) -> Result<(Arc<rustls::ServerConfig>, Option<PathBuf>)> {
    let (cert_path, key_path, ca) = match (&cfg.tls_cert, &cfg.tls_key) {
        (Some(c), Some(k)) => (c.clone(), k.clone(), None),
        (None, None) => {
            let dir = data_dir.join(GENERATED_DIR);
            let ca = generate_if_missing(&dir, &cfg.tls_names)?;
            (dir.join("cert.pem"), dir.join("key.pem"), Some(ca))
        }
        _ => bail!("set both pact.tls_cert and pact.tls_key, or neither (to use a generated testnet certificate)"),
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .with_context(|| format!("cannot read the PACT certificate {}", cert_path.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", cert_path.display()))?;
    if chain.is_empty() {
        bail!(
            "{} holds no certificate (expected PEM \"CERTIFICATE\" blocks)",
            cert_path.display()
        );
    }
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .with_context(|| format!("cannot read a PEM private key from {}", key_path.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut sc = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .with_context(|| {
            format!(
                "the PACT certificate {} and key {} do not go together",
                cert_path.display(),
                key_path.display()
            )
        })?;
    sc.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(sc), ca))
}

/// Makes `ca.pem`, `cert.pem` and `key.pem` in `dir` unless they exist; returns `ca.pem`.
/// The CA's own key is not kept: nothing else can ever be signed by it.
fn generate_if_missing(dir: &Path, names: &[String]) -> Result<PathBuf> {
    let ca_path = dir.join("ca.pem");
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    if ca_path.exists() && cert_path.exists() && key_path.exists() {
        return Ok(ca_path);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "greenledger testnet PACT CA");
    ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    let ca_key = rcgen::KeyPair::generate()?;
    let ca = ca_params.self_signed(&ca_key)?;

    let mut sans = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    sans.extend(names.iter().cloned());
    let mut params = rcgen::CertificateParams::new(sans).context("pact.tls_names: not a DNS name or IP address")?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "greenledger node PACT API");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = rcgen::KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca, &ca_key)?;

    super::write_file(&key_path, key.serialize_pem().as_bytes(), true)?;
    super::write_file(&cert_path, format!("{}{}", cert.pem(), ca.pem()).as_bytes(), false)?;
    super::write_file(&ca_path, ca.pem().as_bytes(), false)?;
    tracing::info!(ca = %ca_path.display(), "made a testnet certificate for the PACT API; clients trust it with this CA file");
    Ok(ca_path)
}

/// A listener whose connections are TLS streams. Handshakes run in their own tasks, bounded
/// by `handshake_timeout`, so a client that connects and stalls delays nobody else; a client
/// that speaks plain HTTP fails its handshake and is closed.
pub struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<GuardedStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `inner`.
    pub fn new(
        mut inner: BoundedListener,
        config: Arc<rustls::ServerConfig>,
        handshake_timeout: Duration,
    ) -> Result<Self> {
        use axum::serve::Listener;
        let local = inner.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (io, addr) = tokio::select! {
                    c = inner.accept() => c,
                    _ = tx.closed() => break,
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(io)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, addr)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%addr, cause = %e, "PACT API: TLS handshake failed"),
                        Err(_) => tracing::debug!(%addr, "PACT API: TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { rx, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<GuardedStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(c) => c,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}
