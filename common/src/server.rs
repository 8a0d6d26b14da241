//! The HTTP(S) server: `/`, the telemetry path, `/-/healthy` and an optional `/probe`.
//!
//! Scrapes beyond `max_requests` get 503 at once rather than queueing; a slow client cannot hold
//! a connection open without sending headers (header read timeout); basic auth and TLS follow the
//! exporter-toolkit web config.

use std::collections::HashSet;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Semaphore;

use crate::collector::{CollectorSet, ScrapeContext};
use crate::encode::{self, Format};
use crate::metrics::MetricSet;
use crate::self_metrics::{self, BuildInfo};
use crate::web_config::WebSettings;

/// A boxed future returned by [`ProbeHandler::probe`].
pub type ProbeFuture<'a> = Pin<Box<dyn Future<Output = Result<MetricSet, ProbeError>> + Send + 'a>>;

/// Why a `/probe` request was not answered with metrics.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The query string is wrong (missing or invalid target); answered with 400.
    #[error("{0}")]
    BadRequest(String),
}

/// Handles blackbox-style `/probe?target=...` requests.
pub trait ProbeHandler: Send + Sync + 'static {
    /// Probes with the decoded query parameters, within `ctx.deadline`.
    fn probe<'a>(&'a self, params: &'a [(String, String)], ctx: ScrapeContext) -> ProbeFuture<'a>;
}

/// What the server serves.
pub struct App {
    /// The exporter's collectors.
    pub collectors: CollectorSet,
    /// The `/probe` handler, for probe-style exporters.
    pub probe: Option<Arc<dyn ProbeHandler>>,
    /// Build information for `<prefix>_exporter_build_info` and the landing page.
    pub build: BuildInfo,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("collectors", &self.collectors)
            .field("probe", &self.probe.is_some())
            .finish()
    }
}

/// Server settings from the command line and web config.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Where metrics are served, e.g. `/metrics`.
    pub telemetry_path: String,
    /// Concurrent scrapes (metrics and probes) before answering 503; 0 is unlimited.
    pub max_requests: usize,
    /// Scrape timeout when Prometheus sends no `X-Prometheus-Scrape-Timeout-Seconds`.
    pub default_timeout: Duration,
    /// Subtracted from the scrape timeout, leaving time to encode and send.
    pub timeout_offset: Duration,
    /// How long a client may take to send its request headers.
    pub header_read_timeout: Duration,
    /// TLS, basic auth and extra headers.
    pub web: WebSettings,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            telemetry_path: "/metrics".to_owned(),
            max_requests: 40,
            default_timeout: Duration::from_secs(10),
            timeout_offset: Duration::from_millis(250),
            header_read_timeout: Duration::from_secs(10),
            web: WebSettings::default(),
        }
    }
}

struct State {
    opts: ServerOptions,
    app: Arc<App>,
    scrapes: Option<Arc<Semaphore>>,
    /// `user:password` pairs already verified, so bcrypt (slow by design) runs once per pair.
    auth_cache: Mutex<HashSet<String>>,
}

type Resp = Response<Full<Bytes>>;

fn text(status: StatusCode, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Decodes `%XX` and `+` in a query component.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits a query string into decoded `(key, value)` pairs.
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = u32::try_from(ALPHABET.iter().position(|a| *a == c)?).ok()?;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

impl State {
    async fn authorized(&self, req: &Request<Incoming>) -> bool {
        if self.opts.web.users.is_empty() {
            return true;
        }
        let Some((user, pass)) = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| decode_base64(b.trim()))
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|s| s.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned())))
        else {
            return false;
        };
        let key = format!("{user}:{pass}");
        if self
            .auth_cache
            .lock()
            .map(|c| c.contains(&key))
            .unwrap_or(false)
        {
            return true;
        }
        // Unknown users are checked against a dummy hash so timing does not reveal which users exist.
        const DUMMY: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";
        let hash = self.opts.web.users.get(&user).cloned();
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY.to_owned());
        let ok = tokio::task::spawn_blocking(move || bcrypt::verify(pass, &hash).unwrap_or(false))
            .await
            .unwrap_or(false)
            && known;
        if ok && let Ok(mut c) = self.auth_cache.lock() {
            if c.len() > 64 {
                c.clear();
            }
            c.insert(key);
        }
        ok
    }

    fn scrape_context(&self, req: &Request<Incoming>) -> ScrapeContext {
        let timeout = req
            .headers()
            .get("X-Prometheus-Scrape-Timeout-Seconds")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v > 0.0)
            .map_or(self.opts.default_timeout, Duration::from_secs_f64);
        let budget = timeout
            .saturating_sub(self.opts.timeout_offset)
            .max(Duration::from_millis(100));
        ScrapeContext {
            deadline: Instant::now() + budget,
        }
    }

    fn landing(&self) -> Resp {
        let b = &self.app.build;
        let probe = if self.app.probe.is_some() {
            "<li><a href=\"probe?target=\">/probe?target=...</a> (probe one target)</li>"
        } else {
            ""
        };
        let body = format!(
            "<!DOCTYPE html><html><head><title>{name}</title></head><body><h1>{name}</h1>\
             <p>version {version}, revision {revision}</p><ul>\
             <li><a href=\"{path}\">{path}</a> (metrics)</li>{probe}\
             <li><a href=\"-/healthy\">/-/healthy</a></li></ul></body></html>\n",
            name = b.name,
            version = b.version,
            revision = b.revision,
            path = self.opts.telemetry_path.trim_start_matches('/'),
        );
        let mut r = text(StatusCode::OK, body);
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        r
    }

    async fn metrics(&self, req: &Request<Incoming>, ctx: ScrapeContext) -> Resp {
        let format = Format::negotiate(
            req.headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok()),
        );
        let mut families = self.app.collectors.gather(ctx).await;
        let mut own = MetricSet::new();
        self_metrics::collect(self.app.collectors.prefix(), &self.app.build, &mut own);
        families.extend(own.into_families());
        encoded(families, format)
    }

    async fn probe(
        &self,
        handler: &dyn ProbeHandler,
        req: &Request<Incoming>,
        ctx: ScrapeContext,
    ) -> Resp {
        let params = parse_query(req.uri().query().unwrap_or(""));
        let format = Format::negotiate(
            req.headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok()),
        );
        let deadline = tokio::time::Instant::from_std(ctx.deadline);
        match tokio::time::timeout_at(deadline, handler.probe(&params, ctx)).await {
            Ok(Ok(set)) => encoded(set.into_families(), format),
            Ok(Err(ProbeError::BadRequest(msg))) => text(StatusCode::BAD_REQUEST, msg),
            Err(_) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                "probe did not finish within the scrape timeout\n",
            ),
        }
    }

    async fn handle(&self, req: Request<Incoming>) -> Resp {
        if !self.authorized(&req).await {
            let mut r = text(StatusCode::UNAUTHORIZED, "Unauthorized\n");
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
            return r;
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return text(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed\n");
        }
        let path = req.uri().path();
        let is_metrics = path == self.opts.telemetry_path;
        let is_probe = path == "/probe" && self.app.probe.is_some();
        if !is_metrics && !is_probe {
            return match path {
                "/" => self.landing(),
                "/-/healthy" => text(StatusCode::OK, "OK\n"),
                _ => text(StatusCode::NOT_FOUND, "Not found\n"),
            };
        }
        // Excess scrapes are refused at once: queueing them would only make every one late.
        let _permit = match &self.scrapes {
            None => None,
            Some(sem) => match Arc::clone(sem).try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) => {
                    return text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "too many concurrent scrapes, try again later\n",
                    );
                }
            },
        };
        let ctx = self.scrape_context(&req);
        match (&self.app.probe, is_probe) {
            (Some(h), true) => self.probe(h.as_ref(), &req, ctx).await,
            _ => self.metrics(&req, ctx).await,
        }
    }
}

fn encoded(families: Vec<crate::metrics::MetricFamily>, format: Format) -> Resp {
    let body = encode::encode(families, format);
    let mut r = Response::new(Full::new(Bytes::from(body)));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    r
}

/// A server bound to its listener, ready to run.
pub struct Server {
    listener: TcpListener,
    state: Arc<State>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.listener.local_addr().ok())
            .finish()
    }
}

impl Server {
    /// Binds `addr` (e.g. `127.0.0.1:9910` or `:9910`).
    pub async fn bind(addr: &str, opts: ServerOptions, app: Arc<App>) -> std::io::Result<Server> {
        let addr = if addr.starts_with(':') {
            format!("0.0.0.0{addr}")
        } else {
            addr.to_owned()
        };
        let resolved = tokio::net::lookup_host(&addr)
            .await?
            .next()
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("{addr}: no address"),
                )
            })?;
        let socket = if resolved.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(resolved)?;
        // tokio's default backlog (1024) overflows when 1,000 probes arrive at once; the kernel
        // caps this at net.core.somaxconn anyway, as Go's listener does.
        let listener = socket.listen(4096)?;
        let scrapes = (opts.max_requests > 0).then(|| Arc::new(Semaphore::new(opts.max_requests)));
        let state = Arc::new(State {
            opts,
            app,
            scrapes,
            auth_cache: Mutex::new(HashSet::new()),
        });
        Ok(Server { listener, state })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then waits up to 5 s for open connections.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let tls = self
            .state
            .opts
            .web
            .tls
            .clone()
            .map(tokio_rustls::TlsAcceptor::from);
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                a = self.listener.accept() => a,
                () = &mut shutdown => break,
            };
            let (stream, peer) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    log::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let state = Arc::clone(&self.state);
            let tls = tls.clone();
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let result = match tls {
                    None => serve_conn(TokioIo::new(stream), state, watcher).await,
                    Some(acceptor) => {
                        match tls_handshake(stream, &acceptor, state.opts.header_read_timeout).await
                        {
                            Some(s) => serve_conn(TokioIo::new(s), state, watcher).await,
                            None => Ok(()),
                        }
                    }
                };
                if let Err(e) = result {
                    log::debug!("connection from {peer}: {e}");
                }
            });
        }
        drop(self.listener);
        if tokio::time::timeout(Duration::from_secs(5), graceful.shutdown())
            .await
            .is_err()
        {
            log::warn!("open connections did not finish within 5s of shutdown");
        }
    }
}

async fn serve_conn<I>(
    io: TokioIo<I>,
    state: Arc<State>,
    watcher: hyper_util::server::graceful::Watcher,
) -> Result<(), hyper::Error>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let header_timeout = state.opts.header_read_timeout;
    let svc = service_fn(move |req| {
        let state = Arc::clone(&state);
        async move {
            let mut resp = state.handle(req).await;
            for (k, v) in &state.opts.web.headers {
                if let (Ok(k), Ok(v)) = (
                    header::HeaderName::try_from(k.as_str()),
                    HeaderValue::try_from(v.as_str()),
                ) {
                    resp.headers_mut().insert(k, v);
                }
            }
            Ok::<_, Infallible>(resp)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(io, svc);
    watcher.watch(conn).await
}

/// Completes a TLS handshake, answering a plain-HTTP request with 400 the way Go's server does.
async fn tls_handshake(
    stream: TcpStream,
    acceptor: &tokio_rustls::TlsAcceptor,
    timeout: Duration,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let mut first = [0u8; 1];
    match tokio::time::timeout(timeout, stream.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        _ => return None,
    }
    // 0x16 is the TLS handshake record type; anything else is not TLS.
    if first[0] != 0x16 {
        use tokio::io::AsyncWriteExt as _;
        let mut stream = stream;
        let _ = stream
            .write_all(b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
            .await;
        let _ = stream.shutdown().await;
        return None;
    }
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Ok(Ok(s)) => Some(s),
        Ok(Err(e)) => {
            log::debug!("TLS handshake failed: {e}");
            None
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_are_decoded() {
        assert_eq!(
            parse_query("target=http%3A%2F%2F127.0.0.1%3A8088%2Fok&module=a+b"),
            vec![
                ("target".into(), "http://127.0.0.1:8088/ok".into()),
                ("module".into(), "a b".into())
            ]
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn base64_decodes_basic_auth() {
        assert_eq!(decode_base64("YWxpY2U6czNjcmV0").unwrap(), b"alice:s3cret");
        assert_eq!(decode_base64("YQ==").unwrap(), b"a");
        assert!(decode_base64("!!!").is_none());
    }
}
