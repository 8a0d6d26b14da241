//! The HTTP(S) server: `/`, the telemetry path, `/-/healthy` and an optional `/probe`.
//!
//! Scrapes beyond `max_requests` get 503 at once rather than queueing; a slow client cannot hold
//! a connection open without sending headers (header read timeout); basic auth and TLS follow the
//! exporter-toolkit web config, re-read when it changes; metrics are gzipped when the scraper
//! accepts it (Prometheus always does), and `:PORT` listens on IPv4 and IPv6 as Go's servers do.

use std::collections::HashSet;
use std::convert::Infallible;
use std::future::Future;
use std::io::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::collector::{CollectorSet, ScrapeContext};
use crate::encode::{self, Format};
use crate::metrics::MetricSet;
use crate::self_metrics::{self, BuildInfo};
use crate::web_config::{Reloader, WebSettings};

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
    /// TLS, basic auth and extra headers; re-read when they came from a file that changes.
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

/// Web settings in force, with what was learnt under them.
struct Live {
    web: WebSettings,
    /// `user:password` pairs already verified, so bcrypt (slow by design) runs once per pair.
    /// It belongs to one version of the settings: a removed user or changed hash cannot linger.
    auth_cache: Mutex<HashSet<String>>,
}

impl Live {
    fn new(web: WebSettings) -> Arc<Live> {
        Arc::new(Live {
            web,
            auth_cache: Mutex::new(HashSet::new()),
        })
    }
}

/// How often the web config's files are `stat`ed at most: a burst of 1,000 probes costs one
/// check, and a rotated certificate is in use a second later.
const WEB_CONFIG_CHECK_INTERVAL: Duration = Duration::from_secs(1);

struct State {
    opts: ServerOptions,
    app: Arc<App>,
    scrapes: Option<Arc<Semaphore>>,
    live: RwLock<Arc<Live>>,
    reloader: Option<Arc<Mutex<Reloader>>>,
    next_web_check: Mutex<Instant>,
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
    /// The settings for a new connection, re-read first if a check is due and a file changed.
    async fn live(&self) -> Arc<Live> {
        if let Some(reloader) = &self.reloader
            && self.web_check_due()
        {
            let reloader = Arc::clone(reloader);
            let fresh = tokio::task::spawn_blocking(move || {
                reloader.lock().ok().and_then(|mut r| r.poll())
            })
            .await
            .ok()
            .flatten();
            if let Some(web) = fresh
                && let Ok(mut live) = self.live.write()
            {
                *live = Live::new(web);
            }
        }
        match self.live.read() {
            Ok(l) => Arc::clone(&l),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn web_check_due(&self) -> bool {
        let Ok(mut next) = self.next_web_check.lock() else {
            return false;
        };
        let now = Instant::now();
        if now < *next {
            return false;
        }
        *next = now + WEB_CONFIG_CHECK_INTERVAL;
        true
    }

    async fn authorized(&self, live: &Live, req: &Request<Incoming>) -> bool {
        if live.web.users.is_empty() {
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
        if live
            .auth_cache
            .lock()
            .map(|c| c.contains(&key))
            .unwrap_or(false)
        {
            return true;
        }
        // Unknown users are checked against a dummy hash so timing does not reveal which users exist.
        const DUMMY: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";
        let hash = live.web.users.get(&user).cloned();
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY.to_owned());
        let ok = tokio::task::spawn_blocking(move || bcrypt::verify(pass, &hash).unwrap_or(false))
            .await
            .unwrap_or(false)
            && known;
        if ok && let Ok(mut c) = live.auth_cache.lock() {
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
        encoded(families, format, wants_gzip(req))
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
            Ok(Ok(set)) => encoded(set.into_families(), format, wants_gzip(req)),
            Ok(Err(ProbeError::BadRequest(msg))) => text(StatusCode::BAD_REQUEST, msg),
            Err(_) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                "probe did not finish within the scrape timeout\n",
            ),
        }
    }

    async fn handle(&self, live: &Live, req: Request<Incoming>) -> Resp {
        if !self.authorized(live, &req).await {
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

fn wants_gzip(req: &Request<Incoming>) -> bool {
    let values: Vec<&str> = req
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    accepts_gzip(&values.join(","))
}

/// Whether an `Accept-Encoding` value (RFC 9110 12.5.3) accepts gzip: an explicit `gzip` (or the
/// old `x-gzip`) entry decides, else `*`; `q=0` refuses; codings are case-insensitive. A `q`
/// that does not parse counts as a refusal, since a plain body is never wrong.
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    let mut gzip: Option<f32> = None;
    let mut any: Option<f32> = None;
    for entry in accept_encoding.split(',') {
        let mut parts = entry.split(';');
        let coding = parts.next().unwrap_or_default().trim();
        if coding.is_empty() {
            continue;
        }
        let mut q = 1.0f32;
        for param in parts {
            if let Some((k, v)) = param.split_once('=')
                && k.trim().eq_ignore_ascii_case("q")
            {
                q = v
                    .trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q))
                    .unwrap_or(0.0);
            }
        }
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(gzip.map_or(q, |g| g.max(q)));
        } else if coding == "*" {
            any = Some(any.map_or(q, |a| a.max(q)));
        }
    }
    gzip.or(any).is_some_and(|q| q > 0.0)
}

/// Compresses a scrape body at level 1 (`fast`): scrape CPU is what `make bench` weighs, and
/// bytes on a LAN are cheap. Measured on an 18 KB os-exporter scrape (release build): level 1
/// gives 4.6 KB in 110 us, level 6 (Go's default, which promhttp uses) 3.9 KB in 300 us; on a
/// 58 KB node_exporter scrape 192 us against 962 us, for 11.8 KB against 9.5 KB.
pub fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    enc.write_all(body)?;
    enc.finish()
}

fn encoded(families: Vec<crate::metrics::MetricFamily>, format: Format, use_gzip: bool) -> Resp {
    let body = encode::encode(families, format);
    let (body, gzipped) = if use_gzip {
        match gzip(body.as_ref()) {
            Ok(z) => (z, true),
            Err(e) => {
                // Never a failed scrape for want of compression.
                log::warn!("gzip of the scrape body failed, sending it plain: {e}");
                (body.into(), false)
            }
        }
    } else {
        (body.into(), false)
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzipped {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
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
    /// Binds `addr` (e.g. `127.0.0.1:9910`, `[::1]:9910`, or `:9910` for every IPv4 and IPv6
    /// address, like Go's `net.Listen`).
    pub async fn bind(addr: &str, opts: ServerOptions, app: Arc<App>) -> std::io::Result<Server> {
        let listener = match addr.strip_prefix(':') {
            Some(port) => {
                let port: u16 = port.parse().map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("{addr}: invalid port"),
                    )
                })?;
                listen_all(port)?
            }
            None => {
                let resolved = tokio::net::lookup_host(addr).await?.next().ok_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("{addr}: no address"),
                    )
                })?;
                listen(resolved, false)?
            }
        };
        let scrapes = (opts.max_requests > 0).then(|| Arc::new(Semaphore::new(opts.max_requests)));
        let reloader = Reloader::new(&opts.web).map(|r| Arc::new(Mutex::new(r)));
        let state = Arc::new(State {
            live: RwLock::new(Live::new(opts.web.clone())),
            reloader,
            next_web_check: Mutex::new(Instant::now() + WEB_CONFIG_CHECK_INTERVAL),
            opts,
            app,
            scrapes,
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
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                // Per connection, as exporter-toolkit does: a re-read config applies to new
                // connections; one already open keeps the settings it was accepted with.
                let live = state.live().await;
                let tls = live.web.tls.clone().map(tokio_rustls::TlsAcceptor::from);
                let result = match tls {
                    None => serve_conn(TokioIo::new(stream), state, live, watcher).await,
                    Some(acceptor) => {
                        match tls_handshake(stream, &acceptor, state.opts.header_read_timeout).await
                        {
                            Some(s) => serve_conn(TokioIo::new(s), state, live, watcher).await,
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

/// A listener on every address for `:PORT`: `[::]` with IPV6_V6ONLY off takes IPv4 clients too,
/// as Go's `net.Listen("tcp", ":PORT")` does; on a host without IPv6, `0.0.0.0`.
fn listen_all(port: u16) -> std::io::Result<TcpListener> {
    match listen(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)), true) {
        Err(e) if no_ipv6(&e) => {
            log::info!("no IPv6 on this host ({e}); listening on IPv4 only");
            listen(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)), false)
        }
        other => other,
    }
}

/// Errors that mean "this host has no IPv6", not "this port is taken".
fn no_ipv6(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAFNOSUPPORT | libc::EADDRNOTAVAIL | libc::EPROTONOSUPPORT)
    )
}

fn listen(addr: SocketAddr, dual_stack: bool) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if dual_stack {
        socket.set_only_v6(false)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    // tokio's default backlog (1024) overflows when 1,000 probes arrive at once; the kernel
    // caps this at net.core.somaxconn anyway, as Go's listener does.
    socket.listen(4096)?;
    TcpListener::from_std(socket.into())
}

async fn serve_conn<I>(
    io: TokioIo<I>,
    state: Arc<State>,
    live: Arc<Live>,
    watcher: hyper_util::server::graceful::Watcher,
) -> Result<(), hyper::Error>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let header_timeout = state.opts.header_read_timeout;
    let svc = service_fn(move |req| {
        let state = Arc::clone(&state);
        let live = Arc::clone(&live);
        async move {
            let mut resp = state.handle(&live, req).await;
            for (k, v) in &live.web.headers {
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

    #[test]
    fn accept_encoding_is_parsed_by_token_and_weight() {
        for yes in [
            "gzip",
            "GZIP",
            "x-gzip",
            "deflate, gzip;q=1.0, *;q=0.5",
            "*",
            "identity;q=0.5, *;q=0.1",
            " gzip ; Q=0.001 ",
            "gzip;q=0, gzip;q=1",
        ] {
            assert!(accepts_gzip(yes), "{yes}");
        }
        for no in [
            "",
            "identity",
            "gzip;q=0",
            "gzip;q=0.000",
            "gzip;q=0, *",
            "*;q=0",
            "deflate, br",
            "gzipped",
            "gzip;q=2",
            "gzip;q=",
        ] {
            assert!(!accepts_gzip(no), "{no}");
        }
    }

    #[test]
    fn gzip_round_trips() {
        let body = b"# TYPE a gauge\na 1\n".repeat(1000);
        let z = gzip(&body).unwrap();
        assert!(z.len() < body.len() / 10, "{}", z.len());
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&z[..]), &mut out).unwrap();
        assert_eq!(out, body);
    }

    #[test]
    fn only_missing_ipv6_falls_back_to_ipv4() {
        let e = |n| std::io::Error::from_raw_os_error(n);
        assert!(no_ipv6(&e(libc::EAFNOSUPPORT)));
        assert!(no_ipv6(&e(libc::EADDRNOTAVAIL)));
        assert!(!no_ipv6(&e(libc::EADDRINUSE)));
        assert!(!no_ipv6(&e(libc::EACCES)));
    }
}
