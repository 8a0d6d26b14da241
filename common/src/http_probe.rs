//! One HTTP(S) GET under a deadline, for health-endpoint probes (IC-Server `/ok`, etcd `/health`).
//!
//! Everything the peer can stall (DNS, connect, TLS handshake, response headers, a body that
//! trickles in a byte at a time) runs under one `Instant`, and the body is read up to a bound.
//! A failure carries a [`Reason`] from a fixed set, fit to be a label value: the peer's error text
//! goes only into `detail`, for logs.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{Request, Uri, header};
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;

pub use crate::tls::{TlsOptions, TlsSetupError, client_config};

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
    /// The `ETag` header, when the answer has one that is text.
    pub etag: Option<String>,
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
        self.request(url, None, &[], deadline).await
    }

    /// [`HttpProbe::get`] with extra request headers (`Authorization`, `Accept-Encoding`).
    pub async fn get_with_headers(
        &self,
        url: &str,
        headers: &[(header::HeaderName, header::HeaderValue)],
        deadline: Instant,
    ) -> Result<Response, Failure> {
        self.request(url, None, headers, deadline).await
    }

    /// POSTs `body` as `application/json` to `url` (e.g. etcd's v3 JSON gateway), returning any
    /// complete answer read before `deadline`, exactly like [`HttpProbe::get`].
    pub async fn post_json(
        &self,
        url: &str,
        body: Bytes,
        deadline: Instant,
    ) -> Result<Response, Failure> {
        self.request(url, Some(body), &[], deadline).await
    }

    async fn request(
        &self,
        url: &str,
        post: Option<Bytes>,
        headers: &[(header::HeaderName, header::HeaderValue)],
        deadline: Instant,
    ) -> Result<Response, Failure> {
        let start = Instant::now();
        let target = parse_url(url).map_err(|d| Failure::new(Reason::InvalidUrl, start, d))?;
        let until = tokio::time::Instant::from_std(deadline);
        // Set once the status line is in, so a body that trickles past the deadline still
        // reports the status it came with.
        let status_seen = AtomicU16::new(0);
        match tokio::time::timeout_at(
            until,
            self.get_inner(&target, post, headers, start, &status_seen),
        )
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
        headers: &[(header::HeaderName, header::HeaderValue)],
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
            self.exchange(TokioIo::new(tls), t, post, headers, start, status_seen)
                .await
        } else {
            self.exchange(TokioIo::new(tcp), t, post, headers, start, status_seen)
                .await
        }
    }

    async fn exchange<I>(
        &self,
        io: I,
        t: &Target,
        post: Option<Bytes>,
        headers: &[(header::HeaderName, header::HeaderValue)],
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
        let builder = headers
            .iter()
            .fold(builder, |b, (k, v)| b.header(k.clone(), v.clone()));
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
        let etag = resp
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
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
            etag,
        })
    }
}
