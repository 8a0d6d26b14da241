//! One HTTP(S) GET under a deadline, for health-endpoint probes (IC-Server `/ok`, etcd `/health`).
//!
//! Everything the peer can stall (DNS, connect, TLS handshake, response headers, a body that
//! trickles in a byte at a time) runs under one `Instant`, and the body is read up to a bound.
//! A failure carries a [`Reason`] from a fixed set, fit to be a label value: the peer's error text
//! goes only into `detail`, for logs.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{Request, Uri, header};
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;

/// Why a probe failed; bounded, stable, used as a `reason` label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The URL could not be parsed or has an unsupported scheme.
    InvalidUrl,
    /// The host name did not resolve.
    Dns,
    /// The peer actively refused the TCP connection (nothing listening).
    ConnectionRefused,
    /// No route, host or network unreachable, or another connect error.
    ConnectFailed,
    /// The peer reset or closed the connection before a full response.
    ConnectionReset,
    /// The deadline passed (connect, TLS, headers or body).
    Timeout,
    /// The TLS handshake failed (certificate, name, protocol).
    Tls,
    /// The peer's answer is not valid HTTP/1.x.
    HttpProtocol,
    /// The status code is not the expected one (non-2xx by default).
    HttpStatus,
    /// The body does not match the expectation.
    BodyMismatch,
    /// The body is larger than the configured bound.
    BodyTooLarge,
}

impl Reason {
    /// Every reason, for tests and for pre-declaring label values.
    pub const ALL: [Reason; 11] = [
        Reason::InvalidUrl,
        Reason::Dns,
        Reason::ConnectionRefused,
        Reason::ConnectFailed,
        Reason::ConnectionReset,
        Reason::Timeout,
        Reason::Tls,
        Reason::HttpProtocol,
        Reason::HttpStatus,
        Reason::BodyMismatch,
        Reason::BodyTooLarge,
    ];

    /// The label value, e.g. `connection_refused`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::InvalidUrl => "invalid_url",
            Reason::Dns => "dns",
            Reason::ConnectionRefused => "connection_refused",
            Reason::ConnectFailed => "connect_failed",
            Reason::ConnectionReset => "connection_reset",
            Reason::Timeout => "timeout",
            Reason::Tls => "tls",
            Reason::HttpProtocol => "http_protocol",
            Reason::HttpStatus => "http_status",
            Reason::BodyMismatch => "body_mismatch",
            Reason::BodyTooLarge => "body_too_large",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A complete HTTP answer (any status).
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body, at most the configured bound.
    pub body: Bytes,
    /// From the start of the probe until the last body byte.
    pub duration: Duration,
}

/// A probe that did not produce an acceptable answer.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct Failure {
    /// The bounded reason.
    pub reason: Reason,
    /// The status code, when a status line was received.
    pub status: Option<u16>,
    /// From the start of the probe until the failure was known.
    pub duration: Duration,
    /// Human-readable detail for logs (never a label).
    pub detail: String,
}

impl Failure {
    fn new(reason: Reason, start: Instant, detail: impl Into<String>) -> Self {
        Failure {
            reason,
            status: None,
            duration: start.elapsed(),
            detail: detail.into(),
        }
    }
}

/// What body an answer must carry to count as healthy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum BodyExpect {
    /// Any body.
    #[default]
    Any,
    /// The body, with surrounding whitespace trimmed, equals this text.
    Exact(String),
    /// The body contains this text.
    Contains(String),
}

/// What an answer must look like to count as healthy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    /// Accepted status codes; empty means any 2xx.
    pub statuses: Vec<u16>,
    /// The body check.
    pub body: BodyExpect,
}

impl Expect {
    /// Checks `resp`, turning an unexpected status or body into a [`Failure`].
    pub fn check(&self, resp: Response) -> Result<Response, Failure> {
        let status_ok = if self.statuses.is_empty() {
            (200..300).contains(&resp.status)
        } else {
            self.statuses.contains(&resp.status)
        };
        let fail = |reason, detail: String| Failure {
            reason,
            status: Some(resp.status),
            duration: resp.duration,
            detail,
        };
        if !status_ok {
            return Err(fail(
                Reason::HttpStatus,
                format!("unexpected status {}", resp.status),
            ));
        }
        let body_ok = match &self.body {
            BodyExpect::Any => true,
            BodyExpect::Exact(want) => String::from_utf8_lossy(&resp.body).trim() == want.trim(),
            BodyExpect::Contains(want) => {
                let want = want.as_bytes();
                want.is_empty() || resp.body.windows(want.len()).any(|w| w == want)
            }
        };
        if !body_ok {
            let shown: String = String::from_utf8_lossy(&resp.body)
                .chars()
                .take(64)
                .collect();
            return Err(fail(
                Reason::BodyMismatch,
                format!("unexpected body {shown:?}"),
            ));
        }
        Ok(resp)
    }
}

/// TLS settings of the client side, in the shape of Prometheus' `tls_config`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// CA bundle (PEM) to verify the server; default the system bundle.
    pub ca_file: Option<PathBuf>,
    /// Client certificate chain (PEM), for mutual TLS.
    pub cert_file: Option<PathBuf>,
    /// Client private key (PEM), for mutual TLS.
    pub key_file: Option<PathBuf>,
    /// Name to verify in the server certificate (and send as SNI); default the URL host.
    pub server_name: Option<String>,
    /// Skip server certificate verification (testing only).
    pub insecure_skip_verify: bool,
}

/// Settings of an [`HttpProbe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOptions {
    /// TLS settings, used for `https://` URLs.
    pub tls: TlsOptions,
    /// Bodies longer than this fail with [`Reason::BodyTooLarge`].
    pub max_body_bytes: usize,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self {
            tls: TlsOptions::default(),
            max_body_bytes: 64 * 1024,
            user_agent: "ops-exporter-suite-probe".to_owned(),
        }
    }
}

/// Settings that cannot be used (unreadable or invalid certificate files).
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{field} {path}: {message}")]
    File {
        /// The setting, e.g. `ca_file`.
        field: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// rustls rejected the combination (e.g. key does not match certificate).
    #[error("TLS settings: {0}")]
    Config(String),
    /// `cert_file` without `key_file` or the other way round.
    #[error("TLS settings: cert_file and key_file must be given together")]
    HalfClientAuth,
}

/// The system CA bundle on Debian-family systems, used when no `ca_file` is given.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

fn read_certs(
    field: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let err = |message: String| TlsSetupError::File {
        field,
        path: path.to_path_buf(),
        message,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no PEM certificate found".to_owned()));
    }
    Ok(certs)
}

/// Builds the rustls client configuration for `tls`.
pub fn client_config(tls: &TlsOptions) -> Result<ClientConfig, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Config(e.to_string()))?;
    let builder = if tls.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    } else {
        let mut roots = rustls::RootCertStore::empty();
        match &tls.ca_file {
            Some(p) => {
                for c in read_certs("ca_file", p)? {
                    roots.add(c).map_err(|e| TlsSetupError::File {
                        field: "ca_file",
                        path: p.clone(),
                        message: e.to_string(),
                    })?;
                }
            }
            None => {
                // A missing or partly unparsable system bundle leaves fewer roots, not a dead probe.
                if let Ok(certs) = read_certs("ca_file", Path::new(SYSTEM_CA_BUNDLE)) {
                    roots.add_parsable_certificates(certs);
                }
            }
        }
        builder.with_root_certificates(roots)
    };
    match (&tls.cert_file, &tls.key_file) {
        (None, None) => Ok(builder.with_no_client_auth()),
        (Some(cert), Some(key)) => {
            let chain = read_certs("cert_file", cert)?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsSetupError::File {
                field: "key_file",
                path: key.clone(),
                message: e.to_string(),
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| TlsSetupError::Config(e.to_string()))
        }
        _ => Err(TlsSetupError::HalfClientAuth),
    }
}

/// Accepts any server certificate; only for `insecure_skip_verify`.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A reusable GET prober; cheap to share behind an `Arc` across concurrent probes.
#[derive(Clone)]
pub struct HttpProbe {
    tls: Option<tokio_rustls::TlsConnector>,
    tls_server_name: Option<String>,
    max_body_bytes: usize,
    user_agent: String,
}

impl std::fmt::Debug for HttpProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpProbe")
            .field("tls", &self.tls.is_some())
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

/// Aborts the spawned connection driver when the probe ends or is cancelled.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Target {
    https: bool,
    host: String,
    port: u16,
    path_and_query: String,
    authority: String,
}

fn parse_url(url: &str) -> Result<Target, String> {
    let uri: Uri = url.parse().map_err(|e| format!("{url:?}: {e}"))?;
    let https = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        Some(other) => return Err(format!("{url:?}: unsupported scheme {other:?}")),
        None => return Err(format!("{url:?}: missing http:// or https://")),
    };
    let authority = uri
        .authority()
        .ok_or_else(|| format!("{url:?}: missing host"))?;
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    if host.is_empty() {
        return Err(format!("{url:?}: missing host"));
    }
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    Ok(Target {
        https,
        host,
        port,
        path_and_query,
        authority: authority.as_str().to_owned(),
    })
}

fn io_reason(e: &std::io::Error) -> Reason {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => Reason::ConnectionRefused,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            Reason::ConnectionReset
        }
        K::TimedOut => Reason::Timeout,
        _ => Reason::ConnectFailed,
    }
}

/// Classifies a hyper error by walking its source chain for the underlying I/O error.
fn hyper_reason(e: &hyper::Error) -> Reason {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                return Reason::Tls;
            }
            return io_reason(io);
        }
        source = s.source();
    }
    if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
        Reason::ConnectionReset
    } else if e.is_timeout() {
        Reason::Timeout
    } else {
        Reason::HttpProtocol
    }
}

impl HttpProbe {
    /// A prober with `opts`; fails only on unusable TLS files.
    pub fn new(opts: &ProbeOptions) -> Result<Self, TlsSetupError> {
        let cfg = client_config(&opts.tls)?;
        Ok(Self {
            tls: Some(tokio_rustls::TlsConnector::from(Arc::new(cfg))),
            tls_server_name: opts.tls.server_name.clone(),
            max_body_bytes: opts.max_body_bytes,
            user_agent: opts.user_agent.clone(),
        })
    }

    /// A plain-HTTP prober with default limits (https URLs use the system CA bundle).
    pub fn plain() -> Self {
        Self::new(&ProbeOptions::default()).unwrap_or_else(|_| Self {
            tls: None,
            tls_server_name: None,
            max_body_bytes: ProbeOptions::default().max_body_bytes,
            user_agent: ProbeOptions::default().user_agent,
        })
    }

    /// GETs `url` and checks the answer against `expect`, all before `deadline`.
    pub async fn probe(
        &self,
        url: &str,
        deadline: Instant,
        expect: &Expect,
    ) -> Result<Response, Failure> {
        expect.check(self.get(url, deadline).await?)
    }

    /// GETs `url`, returning any complete answer (whatever its status) read before `deadline`.
    pub async fn get(&self, url: &str, deadline: Instant) -> Result<Response, Failure> {
        self.request(url, None, deadline).await
    }

    /// POSTs `body` as `application/json` to `url` (e.g. etcd's v3 JSON gateway), returning any
    /// complete answer read before `deadline`, exactly like [`HttpProbe::get`].
    pub async fn post_json(
        &self,
        url: &str,
        body: Bytes,
        deadline: Instant,
    ) -> Result<Response, Failure> {
        self.request(url, Some(body), deadline).await
    }

    async fn request(
        &self,
        url: &str,
        post: Option<Bytes>,
        deadline: Instant,
    ) -> Result<Response, Failure> {
        let start = Instant::now();
        let target = parse_url(url).map_err(|d| Failure::new(Reason::InvalidUrl, start, d))?;
        let until = tokio::time::Instant::from_std(deadline);
        // Set once the status line is in, so a body that trickles past the deadline still
        // reports the status it came with.
        let status_seen = AtomicU16::new(0);
        match tokio::time::timeout_at(until, self.get_inner(&target, post, start, &status_seen))
            .await
        {
            Ok(r) => r,
            Err(_) => Err(Failure {
                status: Some(status_seen.load(Ordering::Relaxed)).filter(|s| *s != 0),
                ..Failure::new(
                    Reason::Timeout,
                    start,
                    format!("no complete answer from {url} in time"),
                )
            }),
        }
    }

    async fn get_inner(
        &self,
        t: &Target,
        post: Option<Bytes>,
        start: Instant,
        status_seen: &AtomicU16,
    ) -> Result<Response, Failure> {
        let addr = match t.host.parse::<IpAddr>() {
            Ok(ip) => SocketAddr::new(ip, t.port),
            Err(_) => tokio::net::lookup_host((t.host.as_str(), t.port))
                .await
                .map_err(|e| {
                    Failure::new(Reason::Dns, start, format!("resolving {}: {e}", t.host))
                })?
                .next()
                .ok_or_else(|| {
                    Failure::new(Reason::Dns, start, format!("{} has no address", t.host))
                })?,
        };
        let tcp = TcpStream::connect(addr).await.map_err(|e| {
            Failure::new(io_reason(&e), start, format!("connecting to {addr}: {e}"))
        })?;
        // Health probes send one tiny request; waiting for Nagle would only add latency.
        let _ = tcp.set_nodelay(true);
        if t.https {
            let connector = self.tls.as_ref().ok_or_else(|| {
                Failure::new(Reason::Tls, start, "TLS is not configured".to_owned())
            })?;
            let name = self
                .tls_server_name
                .clone()
                .unwrap_or_else(|| t.host.clone());
            let server_name = ServerName::try_from(name.clone()).map_err(|e| {
                Failure::new(Reason::Tls, start, format!("server name {name:?}: {e}"))
            })?;
            let tls = connector.connect(server_name, tcp).await.map_err(|e| {
                let reason = if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
                    Reason::Tls
                } else {
                    match io_reason(&e) {
                        Reason::ConnectFailed => Reason::Tls,
                        r => r,
                    }
                };
                Failure::new(reason, start, format!("TLS handshake with {addr}: {e}"))
            })?;
            self.exchange(TokioIo::new(tls), t, post, start, status_seen)
                .await
        } else {
            self.exchange(TokioIo::new(tcp), t, post, start, status_seen)
                .await
        }
    }

    async fn exchange<I>(
        &self,
        io: I,
        t: &Target,
        post: Option<Bytes>,
        start: Instant,
        status_seen: &AtomicU16,
    ) -> Result<Response, Failure>
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(io)
            .await
            .map_err(|e| Failure::new(hyper_reason(&e), start, format!("HTTP handshake: {e}")))?;
        let _driver = AbortOnDrop(tokio::spawn(async move {
            let _ = conn.await;
        }));
        let builder = match &post {
            None => Request::get(t.path_and_query.as_str()),
            Some(_) => Request::post(t.path_and_query.as_str())
                .header(header::CONTENT_TYPE, "application/json"),
        };
        let req = builder
            .header(header::HOST, t.authority.as_str())
            .header(header::USER_AGENT, self.user_agent.as_str())
            .header(header::CONNECTION, "close")
            .body(Full::new(post.unwrap_or_default()))
            .map_err(|e| {
                Failure::new(Reason::InvalidUrl, start, format!("building request: {e}"))
            })?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| Failure::new(hyper_reason(&e), start, format!("request: {e}")))?;
        let status = resp.status().as_u16();
        status_seen.store(status, Ordering::Relaxed);
        let mut body = resp.into_body();
        let mut buf = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| Failure {
                status: Some(status),
                ..Failure::new(hyper_reason(&e), start, format!("reading body: {e}"))
            })?;
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > self.max_body_bytes {
                    return Err(Failure {
                        status: Some(status),
                        ..Failure::new(
                            Reason::BodyTooLarge,
                            start,
                            format!("body exceeds {} bytes", self.max_body_bytes),
                        )
                    });
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(Response {
            status,
            body: buf.freeze(),
            duration: start.elapsed(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    // Test PKI made once with openssl 3 (EC P-256, valid 100 years):
    //   openssl req -x509 -newkey ec ... -subj "/CN=http_probe test CA" (CA:TRUE)
    //   server: CN=localhost, SAN DNS:localhost,IP:127.0.0.1, serverAuth, signed by the CA
    //   client: CN=probe-client, clientAuth, signed by the CA
    const CA_PEM: &str = include_str!("http_probe_testdata/ca.pem");
    const SERVER_PEM: &str = include_str!("http_probe_testdata/server.pem");
    const SERVER_KEY: &str = include_str!("http_probe_testdata/server.key");
    const CLIENT_PEM: &str = include_str!("http_probe_testdata/client.pem");
    const CLIENT_KEY: &str = include_str!("http_probe_testdata/client.key");

    fn soon(ms: u64) -> Instant {
        Instant::now() + Duration::from_millis(ms)
    }

    /// Serves each accepted connection with `handler` until the test ends.
    async fn serve<F, Fut>(handler: F) -> SocketAddr
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                tokio::spawn(handler(s));
            }
        });
        addr
    }

    async fn read_request(s: &mut TcpStream) -> String {
        let mut buf = vec![0u8; 4096];
        let mut got = Vec::new();
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&got).into_owned()
    }

    async fn answer(mut s: TcpStream, status: &'static str, body: &'static str) {
        read_request(&mut s).await;
        let msg = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = s.write_all(msg.as_bytes()).await;
        let _ = s.shutdown().await;
    }

    #[tokio::test]
    async fn healthy_answer_returns_status_body_and_duration() {
        let addr = serve(|s| answer(s, "200 OK", "ok")).await;
        let r = HttpProbe::plain()
            .probe(
                &format!("http://{addr}/ok"),
                soon(2000),
                &Expect {
                    body: BodyExpect::Exact("ok".into()),
                    ..Expect::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(&r.body[..], b"ok");
        assert!(r.duration < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn request_carries_path_host_and_user_agent() {
        let (tx, rx) = tokio::sync::oneshot::channel::<String>();
        let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
        let addr = serve(move |mut s| {
            let tx = Arc::clone(&tx);
            async move {
                let req = read_request(&mut s).await;
                if let Some(tx) = tx.lock().unwrap().take() {
                    let _ = tx.send(req);
                }
                let _ = s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await;
            }
        })
        .await;
        let r = HttpProbe::plain()
            .get(&format!("http://{addr}/ok?x=1"), soon(2000))
            .await
            .unwrap();
        assert_eq!(r.status, 204);
        let req = rx.await.unwrap();
        assert!(req.starts_with("GET /ok?x=1 HTTP/1.1\r\n"), "{req}");
        assert!(
            req.to_ascii_lowercase().contains(&format!("host: {addr}")),
            "{req}"
        );
        assert!(
            req.to_ascii_lowercase()
                .contains("user-agent: ops-exporter-suite-probe"),
            "{req}"
        );
    }

    #[tokio::test]
    async fn server_error_fails_with_http_status_and_keeps_the_code() {
        let addr = serve(|s| answer(s, "500 Internal Server Error", "boom")).await;
        let f = HttpProbe::plain()
            .probe(&format!("http://{addr}/ok"), soon(2000), &Expect::default())
            .await
            .unwrap_err();
        assert_eq!(f.reason, Reason::HttpStatus);
        assert_eq!(f.status, Some(500));
    }

    #[tokio::test]
    async fn wrong_body_fails_with_body_mismatch() {
        let addr = serve(|s| answer(s, "200 OK", "degraded")).await;
        let expect = Expect {
            body: BodyExpect::Exact("ok".into()),
            ..Expect::default()
        };
        let f = HttpProbe::plain()
            .probe(&format!("http://{addr}/ok"), soon(2000), &expect)
            .await
            .unwrap_err();
        assert_eq!(f.reason, Reason::BodyMismatch);
        assert_eq!(f.status, Some(200));
        let contains = Expect {
            body: BodyExpect::Contains("grad".into()),
            ..Expect::default()
        };
        assert!(
            HttpProbe::plain()
                .probe(&format!("http://{addr}/ok"), soon(2000), &contains)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn closed_port_fails_with_connection_refused() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let f = HttpProbe::plain()
            .get(&format!("http://{addr}/ok"), soon(2000))
            .await
            .unwrap_err();
        assert_eq!(f.reason, Reason::ConnectionRefused, "{f}");
    }

    #[tokio::test]
    async fn silent_server_times_out_at_the_deadline() {
        let addr = serve(|s| async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(s);
        })
        .await;
        let started = Instant::now();
        let f = HttpProbe::plain()
            .get(&format!("http://{addr}/ok"), soon(300))
            .await
            .unwrap_err();
        assert_eq!(f.reason, Reason::Timeout);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "waited {:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn trickling_body_times_out_at_the_deadline() {
        let addr = serve(|mut s| async move {
            read_request(&mut s).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                .await;
            for _ in 0..1000 {
                if s.write_all(b"o").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        let started = Instant::now();
        let f = HttpProbe::plain()
            .get(&format!("http://{addr}/ok"), soon(400))
            .await
            .unwrap_err();
        assert_eq!(f.reason, Reason::Timeout);
        assert_eq!(
            f.status,
            Some(200),
            "the status line arrived before the body stalled"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn trickling_headers_time_out_at_the_deadline() {
        let addr = serve(|mut s| async move {
            read_request(&mut s).await;
            for b in
                b"HTTP/1.1 200 OK\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            {
                if s.write_all(&[*b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        let f = HttpProbe::plain()
            .get(&format!("http://{addr}/ok"), soon(400))
            .await
            .unwrap_err();
        assert_eq!(f.reason, Reason::Timeout);
    }

    #[tokio::test]
    async fn reset_and_early_close_fail_with_connection_reset() {
        let reset = serve(|mut s| async move {
            read_request(&mut s).await;
            // Zero linger turns the close into an RST.
            let _ = s.set_zero_linger();
            drop(s);
        })
        .await;
        let f = HttpProbe::plain()
            .get(&format!("http://{reset}/ok"), soon(2000))
            .await
            .unwrap_err();
        assert_eq!(f.reason, Reason::ConnectionReset, "{f}");

        let closes = serve(|mut s| async move {
            read_request(&mut s).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
                .await;
        })
        .await;
        let f = HttpProbe::plain()
            .get(&format!("http://{closes}/ok"), soon(2000))
            .await
            .unwrap_err();
        assert_eq!(f.reason, Reason::ConnectionReset, "{f}");
        assert_eq!(f.status, Some(200));
    }

    #[tokio::test]
    async fn garbage_answer_fails_with_http_protocol() {
        let addr = serve(|mut s| async move {
            read_request(&mut s).await;
            let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n\r\n").await;
        })
        .await;
        let f = HttpProbe::plain()
            .get(&format!("http://{addr}/ok"), soon(2000))
            .await
            .unwrap_err();
        assert_eq!(f.reason, Reason::HttpProtocol, "{f}");
    }

    #[tokio::test]
    async fn oversized_body_fails_with_body_too_large() {
        let addr = serve(|mut s| async move {
            read_request(&mut s).await;
            let body = vec![b'x'; 10_000];
            let _ = s
                .write_all(
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(),
                )
                .await;
            let _ = s.write_all(&body).await;
        })
        .await;
        let probe = HttpProbe::new(&ProbeOptions {
            max_body_bytes: 1000,
            ..ProbeOptions::default()
        })
        .unwrap();
        let f = probe
            .get(&format!("http://{addr}/ok"), soon(2000))
            .await
            .unwrap_err();
        assert_eq!(f.reason, Reason::BodyTooLarge);
    }

    #[tokio::test]
    async fn bad_urls_fail_with_invalid_url_and_unknown_names_with_dns() {
        for url in [
            "",
            "127.0.0.1:8088/ok",
            "ftp://127.0.0.1/ok",
            "http:///ok",
            "http://a b/",
        ] {
            let f = HttpProbe::plain().get(url, soon(1000)).await.unwrap_err();
            assert_eq!(f.reason, Reason::InvalidUrl, "{url}");
        }
        // `.invalid` is reserved (RFC 6761) and never resolves, so no query leaves the host
        // successfully; the resolver may still fail fast or time out, both are acceptable here.
        let f = HttpProbe::plain()
            .get("http://no-such-host.invalid:8088/ok", soon(1500))
            .await
            .unwrap_err();
        assert!(matches!(f.reason, Reason::Dns | Reason::Timeout), "{f}");
    }

    #[test]
    fn reasons_are_unique_snake_case_labels() {
        let names: std::collections::HashSet<_> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), Reason::ALL.len());
        assert!(
            names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        );
    }

    struct TlsFiles {
        dir: PathBuf,
    }

    impl TlsFiles {
        fn new(tag: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("http_probe_tls_{tag}_{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            for (name, text) in [
                ("ca.pem", CA_PEM),
                ("server.pem", SERVER_PEM),
                ("server.key", SERVER_KEY),
                ("client.pem", CLIENT_PEM),
                ("client.key", CLIENT_KEY),
            ] {
                std::fs::write(dir.join(name), text).unwrap();
            }
            Self { dir }
        }
        fn path(&self, name: &str) -> PathBuf {
            self.dir.join(name)
        }
    }

    impl Drop for TlsFiles {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// An HTTPS server that answers `ok`, requiring a client certificate when `mtls`.
    async fn tls_server(mtls: bool) -> SocketAddr {
        let certs: Vec<_> = CertificateDer::pem_slice_iter(SERVER_PEM.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(SERVER_KEY.as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if mtls {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(CA_PEM.as_bytes()) {
                roots.add(c.unwrap()).unwrap();
            }
            let v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(v)
        } else {
            builder.with_no_client_auth()
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(
            builder.with_single_cert(certs, key).unwrap(),
        ));
        serve(move |s| {
            let acceptor = acceptor.clone();
            async move {
                let Ok(mut s) = acceptor.accept(s).await else {
                    return;
                };
                let mut buf = vec![0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = s.shutdown().await;
            }
        })
        .await
    }

    #[tokio::test]
    async fn https_with_ca_file_verifies_the_server() {
        let files = TlsFiles::new("ca");
        let addr = tls_server(false).await;
        let opts = ProbeOptions {
            tls: TlsOptions {
                ca_file: Some(files.path("ca.pem")),
                ..TlsOptions::default()
            },
            ..ProbeOptions::default()
        };
        let r = HttpProbe::new(&opts)
            .unwrap()
            .get(&format!("https://{addr}/ok"), soon(3000))
            .await
            .unwrap();
        assert_eq!((r.status, &r.body[..]), (200, &b"ok"[..]));

        // The server certificate names 127.0.0.1 and localhost, not this.
        let wrong_name = ProbeOptions {
            tls: TlsOptions {
                server_name: Some("ic-server.example".into()),
                ..opts.tls.clone()
            },
            ..ProbeOptions::default()
        };
        let f = HttpProbe::new(&wrong_name)
            .unwrap()
            .get(&format!("https://{addr}/ok"), soon(3000))
            .await
            .unwrap_err();
        assert_eq!(f.reason, Reason::Tls, "{f}");

        // Without the CA the system bundle does not trust the test CA.
        let f = HttpProbe::plain()
            .get(&format!("https://{addr}/ok"), soon(3000))
            .await
            .unwrap_err();
        assert_eq!(f.reason, Reason::Tls, "{f}");

        let insecure = ProbeOptions {
            tls: TlsOptions {
                insecure_skip_verify: true,
                ..TlsOptions::default()
            },
            ..ProbeOptions::default()
        };
        assert!(
            HttpProbe::new(&insecure)
                .unwrap()
                .get(&format!("https://{addr}/ok"), soon(3000))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn mutual_tls_needs_the_client_certificate() {
        let files = TlsFiles::new("mtls");
        let addr = tls_server(true).await;
        let url = format!("https://localhost:{}/ok", addr.port());
        let with_cert = ProbeOptions {
            tls: TlsOptions {
                ca_file: Some(files.path("ca.pem")),
                cert_file: Some(files.path("client.pem")),
                key_file: Some(files.path("client.key")),
                ..TlsOptions::default()
            },
            ..ProbeOptions::default()
        };
        let r = HttpProbe::new(&with_cert)
            .unwrap()
            .get(&url, soon(3000))
            .await
            .unwrap();
        assert_eq!(r.status, 200);

        let without = ProbeOptions {
            tls: TlsOptions {
                ca_file: Some(files.path("ca.pem")),
                ..TlsOptions::default()
            },
            ..ProbeOptions::default()
        };
        let f = HttpProbe::new(&without)
            .unwrap()
            .get(&url, soon(3000))
            .await
            .unwrap_err();
        assert!(
            matches!(f.reason, Reason::Tls | Reason::ConnectionReset),
            "{f}"
        );
    }

    #[test]
    fn unusable_tls_files_are_setup_errors_naming_the_field() {
        let files = TlsFiles::new("bad");
        let missing = TlsOptions {
            ca_file: Some(files.path("nope.pem")),
            ..TlsOptions::default()
        };
        let e = client_config(&missing).unwrap_err().to_string();
        assert!(e.contains("ca_file") && e.contains("nope.pem"), "{e}");
        let half = TlsOptions {
            cert_file: Some(files.path("client.pem")),
            ..TlsOptions::default()
        };
        assert!(matches!(
            client_config(&half),
            Err(TlsSetupError::HalfClientAuth)
        ));
        let mismatched = TlsOptions {
            cert_file: Some(files.path("client.pem")),
            key_file: Some(files.path("server.key")),
            ..TlsOptions::default()
        };
        assert!(client_config(&mismatched).is_err());
    }
}
