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

/// The common name every generated CA had before each node's CA was named after its node.
const SHARED_CA_NAME: &str = "greenledger testnet PACT CA";

/// The server's TLS configuration, and the file a client should trust when the certificate
/// was generated (`None` for an operator's certificate). `node` (the peer id) names a
/// generated CA and certificate.
pub fn server_config(
    cfg: &PactConfig,
    data_dir: &Path,
    node: &str,
) -> Result<(Arc<rustls::ServerConfig>, Option<PathBuf>)> {
    let (cert_path, key_path, ca) = match (&cfg.tls_cert, &cfg.tls_key) {
        (Some(c), Some(k)) => (c.clone(), k.clone(), None),
        (None, None) => {
            let dir = data_dir.join(GENERATED_DIR);
            let ca = generate_if_missing(&dir, &cfg.tls_names, node)?;
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
///
/// Each node's CA has its own name (`CN=PACT CA <peer id>`, `O=greenledger testnet`), and the
/// CA and server certificates carry subject and authority key identifiers, so that a client
/// trusting several nodes' `ca.pem` at once finds each certificate's issuer whatever their
/// order.
fn generate_if_missing(dir: &Path, names: &[String], node: &str) -> Result<PathBuf> {
    let ca_path = dir.join("ca.pem");
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    if ca_path.exists() && cert_path.exists() && key_path.exists() {
        if CertificateDer::pem_file_iter(&ca_path)
            .into_iter()
            .flatten()
            .flatten()
            .any(|c| c.windows(SHARED_CA_NAME.len()).any(|w| w == SHARED_CA_NAME.as_bytes()))
        {
            tracing::warn!(
                dir = %dir.display(),
                "the generated PACT CA has the name every node's CA had before (\"{SHARED_CA_NAME}\"); a client that trusts several nodes' CAs may pick the wrong one: remove this directory to make a CA named after this node, and give clients the new ca.pem"
            );
        }
        return Ok(ca_path);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = |params: &mut rcgen::CertificateParams, cn: String| {
        params.distinguished_name.push(rcgen::DnType::CommonName, cn);
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "greenledger testnet");
    };
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    // A common name is at most 64 characters; a peer id is 52.
    name(&mut ca_params, format!("PACT CA {node}"));
    ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    // A CA gets a subject key identifier (SHA-256 of its key); self-signed, it names itself
    // as its authority too.
    ca_params.use_authority_key_identifier_extension = true;
    let ca_key = rcgen::KeyPair::generate()?;
    let ca = ca_params.self_signed(&ca_key)?;

    let mut sans = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    sans.extend(names.iter().cloned());
    let mut params = rcgen::CertificateParams::new(sans).context("pact.tls_names: not a DNS name or IP address")?;
    name(&mut params, format!("PACT API {node}"));
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    // Explicitly no CA: rcgen then writes the subject key identifier (and basic constraints).
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
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

#[cfg(test)]
mod tests {
    use rustls::{client::danger::ServerCertVerifier, pki_types::ServerName};

    use super::*;

    fn certs(path: &Path) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_file_iter(path)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// The key id of the subject key identifier extension (2.5.29.14) in `der`, encoded as
    /// `OID, OCTET STRING { OCTET STRING id }`.
    fn subject_key_id(der: &[u8]) -> Vec<u8> {
        let at = der
            .windows(3)
            .position(|w| w == [0x55, 0x1d, 0x0e])
            .expect("a subject key identifier");
        let rest = &der[at + 3..];
        assert_eq!((rest[0], rest[2]), (0x04, 0x04), "SKI encoding");
        rest[4..4 + rest[3] as usize].to_vec()
    }

    #[test]
    fn two_nodes_cas_in_one_bundle_each_verify_their_node_in_either_order() {
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let nodes = [
            "12D3KooWAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "12D3KooWBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        ];
        let cas: Vec<PathBuf> = dirs
            .iter()
            .zip(nodes)
            .map(|(d, n)| generate_if_missing(d.path(), &[], n).unwrap())
            .collect();
        for (ca, node) in cas.iter().zip(nodes) {
            let der = &certs(ca)[0];
            assert!(
                der.windows(node.len()).any(|w| w == node.as_bytes()),
                "the CA is named after its node"
            );
            assert!(
                !der.windows(SHARED_CA_NAME.len())
                    .any(|w| w == SHARED_CA_NAME.as_bytes())
            );
        }
        // Each server certificate names its CA's key (authority key identifier) and its own.
        for (d, ca) in dirs.iter().zip(&cas) {
            let ca_ski = subject_key_id(&certs(ca)[0]);
            let chain = certs(&d.path().join("cert.pem"));
            let ee = &chain[0];
            let aki = ee.windows(3).position(|w| w == [0x55, 0x1d, 0x23]).expect("an AKI");
            assert!(
                ee[aki..].windows(ca_ski.len()).any(|w| w == ca_ski),
                "AKI = the CA's SKI"
            );
            assert_ne!(subject_key_id(ee), ca_ski, "the server has its own SKI");
        }
        // A client trusting both CA files, in either order, verifies both servers.
        for order in [[0, 1], [1, 0]] {
            let mut roots = rustls::RootCertStore::empty();
            for i in order {
                for c in certs(&cas[i]) {
                    roots.add(c).unwrap();
                }
            }
            let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                Arc::new(rustls::crypto::ring::default_provider()),
            )
            .build()
            .unwrap();
            for d in &dirs {
                let chain = certs(&d.path().join("cert.pem"));
                verifier
                    .verify_server_cert(
                        &chain[0],
                        &chain[1..],
                        &ServerName::try_from("localhost").unwrap(),
                        &[],
                        rustls::pki_types::UnixTime::now(),
                    )
                    .unwrap_or_else(|e| panic!("order {order:?}, {}: {e}", d.path().display()));
            }
        }
    }
}
