//! HTTPS requests to national services: mutual TLS, a timeout over the whole exchange, a
//! bound on the answer's size, and the connection kept for the next request to the same
//! origin (HTTP/1.1 keep-alive), as a service expects of a client that sends many: a new
//! connection costs a full mutual-TLS handshake, two signatures.
//!
//! Errors say whether trying again can help: network failures and timeouts can; a TLS
//! handshake refused (unknown CA, expired or revoked certificate) cannot, and retrying it
//! would only hammer the service.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::idle::IdlePool;
use crate::sink::DeliveryError;
use crate::transcript::{self, Exchange};

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{0} is not an https:// URL")]
    BadUrl(String),
    #[error("cannot connect to {host}: {reason}")]
    Connect { host: String, reason: String },
    #[error("TLS handshake with {host} failed: {reason}")]
    Tls { host: String, reason: String },
    #[error("no complete answer within {0} ms")]
    Timeout(u128),
    #[error("answer larger than {0} bytes")]
    TooLarge(usize),
    #[error("HTTP exchange failed: {0}")]
    Protocol(String),
}

impl HttpError {
    /// The delivery error this failure stands for.
    pub fn into_delivery_error(self) -> DeliveryError {
        let message = self.to_string();
        match self {
            HttpError::Connect { .. } | HttpError::Timeout(_) | HttpError::Protocol(_) => {
                DeliveryError::retryable(self.code(), message)
            }
            HttpError::BadUrl(_) | HttpError::Tls { .. } | HttpError::TooLarge(_) => {
                DeliveryError::final_error(self.code(), message)
            }
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            HttpError::BadUrl(_) => "configuration",
            HttpError::Connect { .. } => "connect",
            HttpError::Tls { .. } => "tls",
            HttpError::Timeout(_) => "timeout",
            HttpError::TooLarge(_) => "answer-too-large",
            HttpError::Protocol(_) => "http",
        }
    }
}

/// An answer: status, content type, body.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    pub status: StatusCode,
    pub content_type: Option<String>,
    /// Where a redirection points (`Location`), when the answer is one.
    pub location: Option<String>,
    pub body: Bytes,
}

/// Idle connections kept per origin: as many as requests run at once to one service.
const MAX_IDLE_PER_ORIGIN: usize = 16;

/// A connection idle longer is closed rather than reused: services close idle connections
/// after a while, and a request written on a connection the server is closing is lost.
const MAX_IDLE: Duration = Duration::from_secs(30);

/// A client bound to one TLS configuration. Clones share their idle connections.
#[derive(Clone)]
pub struct HttpsClient {
    tls: Arc<ClientConfig>,
    timeout: Duration,
    max_answer_bytes: usize,
    /// Idle connections by origin (`host:port`), shared by the client's clones.
    pool: Arc<IdlePool<String, SendRequest<Full<Bytes>>>>,
}

impl HttpsClient {
    pub fn new(tls: Arc<ClientConfig>, timeout: Duration, max_answer_bytes: usize) -> Self {
        HttpsClient {
            tls,
            timeout,
            max_answer_bytes,
            pool: Arc::new(IdlePool::new(MAX_IDLE, MAX_IDLE_PER_ORIGIN)),
        }
    }

    /// POSTs `body` to `url` with the given headers.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<HttpAnswer, HttpError> {
        self.send(Method::POST, url, headers, body).await
    }

    /// Sends one request; `body` may be empty (a GET).
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<HttpAnswer, HttpError> {
        let timeout = self.timeout;
        if !transcript::active() {
            return tokio::time::timeout(timeout, self.exchange(method, url, headers, body))
                .await
                .map_err(|_| HttpError::Timeout(timeout.as_millis()))?;
        }
        let (body, tampered) = transcript::tampered(body);
        let method_name = method.to_string();
        let answer =
            tokio::time::timeout(timeout, self.exchange(method, url, headers, body.clone()))
                .await
                .map_err(|_| HttpError::Timeout(timeout.as_millis()))
                .and_then(|answer| answer);
        transcript::record(Exchange {
            method: method_name,
            url: url.to_string(),
            request_headers: transcript::headers(headers),
            request_body: body,
            status: answer.as_ref().ok().map(|a| a.status.as_u16()),
            response_content_type: answer.as_ref().ok().and_then(|a| a.content_type.clone()),
            response_body: answer.as_ref().map(|a| a.body.clone()).unwrap_or_default(),
            error: answer.as_ref().err().map(ToString::to_string),
            tampered,
        });
        answer
    }

    async fn exchange(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<HttpAnswer, HttpError> {
        let uri: Uri = url
            .parse()
            .map_err(|_| HttpError::BadUrl(url.to_string()))?;
        if uri.scheme_str() != Some("https") {
            return Err(HttpError::BadUrl(url.to_string()));
        }
        let host = uri
            .host()
            .ok_or_else(|| HttpError::BadUrl(url.to_string()))?
            .to_string();
        let port = uri.port_u16().unwrap_or(443);
        let origin = format!("{host}:{port}");
        let mut request = Request::builder()
            .method(method)
            .uri(uri.clone())
            .header(header::HOST, authority(&uri))
            .header(header::CONTENT_LENGTH, body.len());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| HttpError::Protocol(e.to_string()))?;
        let pooled = self.pool.take(&origin, |sender| !sender.is_closed());
        let (mut sender, response) = self.send_on(pooled, request, &uri, &host, port).await?;
        let status = response.status();
        let keep = !response
            .headers()
            .get(header::CONNECTION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let limit = self.max_answer_bytes;
        if response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|length| length > limit)
        {
            return Err(HttpError::TooLarge(limit));
        }
        let body = Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    HttpError::TooLarge(limit)
                } else {
                    HttpError::Protocol(e.to_string())
                }
            })?
            .to_bytes();
        if keep && sender.ready().await.is_ok() {
            self.pool
                .give_back(origin, sender, |sender| !sender.is_closed());
        }
        Ok(HttpAnswer {
            status,
            content_type,
            location,
            body,
        })
    }

    /// Sends `request` on the kept connection, or on a new one when there is none or the
    /// server closed it meanwhile (the request was then not written: it goes again).
    async fn send_on(
        &self,
        pooled: Option<SendRequest<Full<Bytes>>>,
        request: Request<Full<Bytes>>,
        uri: &Uri,
        host: &str,
        port: u16,
    ) -> Result<
        (
            SendRequest<Full<Bytes>>,
            http::Response<hyper::body::Incoming>,
        ),
        HttpError,
    > {
        let mut request = request;
        if let Some(mut sender) = pooled
            && sender.ready().await.is_ok()
        {
            match sender.try_send_request(request).await {
                Ok(response) => return Ok((sender, response)),
                Err(mut failed) => match failed.take_message() {
                    Some(unsent) => request = unsent,
                    None => return Err(classify_send_error(host, failed.into_error())),
                },
            }
        }
        let mut sender = self.connect(uri, host, port).await?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| classify_send_error(host, e))?;
        Ok((sender, response))
    }

    /// A new connection to `host:port`: TCP, the TLS handshake, HTTP/1.1.
    async fn connect(
        &self,
        uri: &Uri,
        host: &str,
        port: u16,
    ) -> Result<SendRequest<Full<Bytes>>, HttpError> {
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(|e| HttpError::Connect {
                host: host.to_string(),
                reason: e.to_string(),
            })?;
        let _ = tcp.set_nodelay(true);
        let name = ServerName::try_from(host.trim_matches(['[', ']']).to_string())
            .map_err(|_| HttpError::BadUrl(uri.to_string()))?;
        let tls = TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| HttpError::Tls {
                host: host.to_string(),
                reason: tls_reason(&e),
            })?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| HttpError::Protocol(e.to_string()))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }
}

fn authority(uri: &Uri) -> String {
    uri.authority().map(|a| a.to_string()).unwrap_or_default()
}

/// A TLS alert sent by the server after the handshake (TLS 1.3 sends client-certificate
/// refusals then) surfaces while sending: it is a TLS failure, not a network one.
fn classify_send_error(host: &str, error: hyper::Error) -> HttpError {
    let mut source: Option<&dyn std::error::Error> = Some(&error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && inner.downcast_ref::<rustls::Error>().is_some()
        {
            return HttpError::Tls {
                host: host.to_string(),
                reason: inner.to_string(),
            };
        }
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return HttpError::Tls {
                host: host.to_string(),
                reason: tls.to_string(),
            };
        }
        source = cause.source();
    }
    HttpError::Protocol(error.to_string())
}

fn tls_reason(error: &std::io::Error) -> String {
    error
        .get_ref()
        .map(|inner| inner.to_string())
        .unwrap_or_else(|| error.to_string())
}

/// A sink's health check for a remote service: can a TCP connection to `endpoint` be
/// opened within two seconds. Cheap enough for `/readyz`, and what it says (the address
/// is wrong, the service is down) is what an operator acts on.
pub async fn reachable(service: &str, endpoint: &str) -> crate::sink::Health {
    use crate::sink::Health;
    let authority = endpoint
        .parse::<Uri>()
        .ok()
        .and_then(|uri| Some(format!("{}:{}", uri.host()?, uri.port_u16().unwrap_or(443))));
    let Some(authority) = authority else {
        return Health::down(format!("bad endpoint {endpoint}"));
    };
    match tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(&authority)).await {
        Ok(Ok(_)) => Health::up(format!("{service} reachable at {endpoint}")),
        Ok(Err(e)) => Health::down(format!("{endpoint}: {e}")),
        Err(_) => Health::down(format!("{endpoint}: no connection within 2 s")),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Mutex as StdMutex;

    use http::Response;

    use super::*;
    use crate::simulate::{SimulatorTls, layout, serve};
    use crate::tls::{IdentityFiles, Policy, client_config_for};

    fn pki() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../certs-example")
    }

    /// A server that answers each request with the number of its connection's requests,
    /// closing the connection after `close_after` of them, and notes each client port.
    async fn server(close_after: usize) -> (crate::simulate::Running, Arc<StdMutex<Vec<u16>>>) {
        crate::tls::install_default_provider();
        let seen = Arc::new(StdMutex::new(Vec::new()));
        let noted = seen.clone();
        let acceptor = SimulatorTls::from_pki(&pki()).acceptor().expect("TLS");
        let running = serve(
            ([127, 0, 0, 1], 0).into(),
            acceptor,
            move |_request, peer| {
                let noted = noted.clone();
                async move {
                    let port = peer.address.map_or(0, |a| a.port());
                    let count = {
                        let mut seen = noted.lock().unwrap_or_else(|p| p.into_inner());
                        seen.push(port);
                        seen.iter().filter(|p| **p == port).count()
                    };
                    let mut response = Response::builder().status(200);
                    if count >= close_after {
                        response = response.header(header::CONNECTION, "close");
                    }
                    response
                        .body(Full::new(Bytes::from(count.to_string())))
                        .unwrap_or_default()
                }
            },
        )
        .await
        .expect("server");
        (running, seen)
    }

    fn client() -> HttpsClient {
        let identity = IdentityFiles {
            certificate: pki().join(layout::CLIENT),
            key: pki().join(layout::CLIENT_KEY),
        };
        let tls = client_config_for(
            &Policy::standard(),
            &pki().join(layout::CHAIN),
            None,
            Some(&identity),
        )
        .expect("TLS");
        HttpsClient::new(tls, Duration::from_secs(5), 1 << 20)
    }

    #[tokio::test]
    async fn requests_to_one_origin_share_a_connection_until_the_server_closes_it() {
        let (running, seen) = server(3).await;
        let client = client();
        let url = running.url("/ping");
        let mut answers = Vec::new();
        for _ in 0..5 {
            let answer = client.send(Method::GET, &url, &[], Bytes::new()).await;
            answers.push(String::from_utf8_lossy(&answer.expect("answer").body).into_owned());
        }
        // Three requests on the first connection (the third answer closes it), then a new
        // one, reused in turn.
        assert_eq!(answers, ["1", "2", "3", "1", "2"]);
        let ports: BTreeSet<u16> = seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect();
        assert_eq!(ports.len(), 2, "{ports:?}");
        running.task.abort();
    }
}
