//! What every simulator of the sandbox shares: its TLS files (server certificate, the CA
//! clients must chain to, the CRL) and the loop that accepts TLS connections, refuses
//! handshakes the real services refuse, and serves HTTP/1.1 with the client's certificate
//! at hand.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::tls::{self, IdentityFiles, TlsError};

/// Where a test PKI keeps what the simulators use, relative to its directory.
pub mod layout {
    /// Intermediate and root: what client certificates and signatures must chain to.
    pub const CHAIN: &str = "ca/chain.pem";
    pub const CRL: &str = "ca/organisations.crl.pem";
    pub const SERVER: &str = "server/localhost.pem";
    pub const SERVER_KEY: &str = "server/localhost.key.pem";
}

/// The TLS files of a simulator.
#[derive(Debug, Clone)]
pub struct SimulatorTls {
    pub server: IdentityFiles,
    /// Clients must present a certificate chaining to these.
    pub client_roots: PathBuf,
    pub crl: Option<PathBuf>,
}

impl SimulatorTls {
    /// The files of a test PKI laid out like `certs-example/` ([`layout`]).
    pub fn from_pki(pki: &Path) -> SimulatorTls {
        SimulatorTls {
            server: IdentityFiles {
                certificate: pki.join(layout::SERVER),
                key: pki.join(layout::SERVER_KEY),
            },
            client_roots: pki.join(layout::CHAIN),
            crl: Some(pki.join(layout::CRL)),
        }
    }

    pub fn acceptor(&self) -> Result<TlsAcceptor, TlsError> {
        self.acceptor_for(&tls::Policy::standard())
    }

    /// An acceptor that only negotiates what `policy` allows.
    pub fn acceptor_for(&self, policy: &tls::Policy) -> Result<TlsAcceptor, TlsError> {
        let config = tls::server_config_for(
            policy,
            &self.server,
            Some((&self.client_roots, self.crl.as_deref())),
        )?;
        Ok(TlsAcceptor::from(config))
    }
}

/// The client of a connection, as the TLS handshake established it.
#[derive(Debug, Clone, Default)]
pub struct Peer {
    pub address: Option<SocketAddr>,
    /// The client's certificate (DER), first of its chain.
    pub certificate: Option<Vec<u8>>,
}

impl Peer {
    /// The certificate's subject CN.
    pub fn common_name(&self) -> Option<String> {
        self.subject_attribute(|subject| {
            subject
                .iter_common_name()
                .next()
                .and_then(|a| a.as_str().ok().map(str::to_string))
        })
    }

    /// The structure's idNat_Struct, which IGC-Santé organisation certificates carry in OU.
    pub fn id_nat_struct(&self) -> Option<String> {
        self.subject_attribute(crate::certificate::id_nat_struct)
    }

    fn subject_attribute(
        &self,
        read: impl FnOnce(&x509_parser::x509::X509Name<'_>) -> Option<String>,
    ) -> Option<String> {
        let der = self.certificate.as_ref()?;
        let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
        read(certificate.subject())
    }
}

/// A running simulator.
pub struct Running {
    pub addr: SocketAddr,
    pub task: JoinHandle<()>,
}

impl Running {
    /// `https://localhost:<port><path>`: the server certificate names localhost.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }
}

/// Listens on `addr` and serves each request with `handler` until the task is aborted.
pub async fn serve<H, F>(
    addr: SocketAddr,
    acceptor: TlsAcceptor,
    handler: H,
) -> std::io::Result<Running>
where
    H: Fn(Request<Incoming>, Arc<Peer>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, address)) = listener.accept().await else {
                continue;
            };
            // Answers are written in more than one piece; without this, Nagle's algorithm
            // and the client's delayed ACK add tens of milliseconds to each exchange.
            let _ = stream.set_nodelay(true);
            let acceptor = acceptor.clone();
            let handler = handler.clone();
            tokio::spawn(async move {
                // A refused handshake ends the connection, as the real services do.
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let peer = Arc::new(Peer {
                    address: Some(address),
                    certificate: tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .map(|c| c.to_vec()),
                });
                let service = hyper::service::service_fn(move |request| {
                    let handler = handler.clone();
                    let peer = peer.clone();
                    async move { Ok::<_, Infallible>(handler(request, peer).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    Ok(Running { addr, task })
}
