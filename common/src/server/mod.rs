//! The HTTP(S) server: `/`, the telemetry path, `/-/healthy` and an optional `/probe`.
//!
//! Scrapes beyond `max_requests` get 503 at once rather than queueing; a slow client cannot hold
//! a connection open without sending headers (header read timeout); basic auth and TLS follow the
//! exporter-toolkit web config, re-read when it changes; metrics are gzipped when the scraper
//! accepts it (Prometheus always does), and `:PORT` listens on IPv4 and IPv6 as Go's servers do.
//!
//! One job per file: `listener` binds and does TLS handshakes, `connection` serves one
//! connection, `connections` keeps them under a cap below the open-file limit, `live` keeps the
//! web settings in force, `auth` checks basic auth, `routing` answers a request, `encoding` picks
//! the format and compression, `query` decodes `/probe` parameters.

mod auth;
mod connection;
mod connections;
mod encoding;
mod listener;
mod live;
mod query;
mod routing;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use http_body_util::Full;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::collector::{CollectorSet, ScrapeContext};
use crate::metrics::MetricSet;
use crate::self_metrics::BuildInfo;
use crate::web_config::WebSettings;

pub use auth::basic_credentials;
pub use encoding::{accepts_gzip, gzip};
pub use listener::{ListenAddr, ListenError};
pub use query::{parse_query, percent_decode};
pub use routing::scrape_budget;

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

/// A document served as it is, at a fixed path besides the metrics (flink-sync-exporter's
/// manifest), under the same TLS and basic auth.
#[derive(Debug, Clone)]
pub struct Document {
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes (gzipped on the wire when the client accepts gzip).
    pub body: Bytes,
    /// `body` already gzipped, when the handler keeps it: served as it is instead of being
    /// compressed for each request (a manifest of 100,000 files is about 12 MB of JSON).
    pub gzipped: Option<Bytes>,
    /// A strong validator of `body` (quoted, as sent in `ETag`): a GET whose `If-None-Match`
    /// names it is answered 304 without a body, so a peer polling an unchanged document
    /// transfers and parses nothing.
    pub etag: Option<String>,
}

/// Answers GETs of one extra path with the current document; must not block (serve a document
/// prepared elsewhere, e.g. by a background job). `Err` is answered with 503 and its text.
pub trait DocumentHandler: Send + Sync + 'static {
    /// The document as it is now.
    fn document(&self) -> Result<Document, String>;
}

/// What the server serves.
pub struct App {
    /// The exporter's collectors.
    pub collectors: CollectorSet,
    /// The `/probe` handler, for probe-style exporters.
    pub probe: Option<Arc<dyn ProbeHandler>>,
    /// Build information for `<prefix>_exporter_build_info` and the landing page.
    pub build: BuildInfo,
    /// Extra paths answered with a document (none for most exporters).
    pub documents: Vec<(String, Arc<dyn DocumentHandler>)>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("collectors", &self.collectors)
            .field("probe", &self.probe.is_some())
            .field(
                "documents",
                &self.documents.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            )
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
    /// Open connections kept at most (the longest-idle one is closed for a new one); 0 derives
    /// it from the open-file limit, leaving a reserve for the collectors.
    pub max_connections: usize,
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
            max_connections: 0,
            web: WebSettings::default(),
        }
    }
}

/// What every handler answers with.
type Resp = Response<Full<Bytes>>;

/// The most connections held open whatever the open-file limit: at about 15 KiB each, idle
/// clients cannot take more than about 120 MiB.
const MAX_CONNECTIONS: usize = 8192;

/// A server bound to its listener, ready to run.
pub struct Server {
    listener: TcpListener,
    state: Arc<routing::State>,
    connections: Arc<connections::Connections>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.listener.local_addr().ok())
            .finish()
    }
}

/// A bound listen socket, not serving yet: bound first thing, so a wrong address or a port in
/// use stops the exporter before anything else starts.
#[derive(Debug)]
pub struct Listener(TcpListener);

impl Listener {
    /// Binds `addr` (`:PORT` on every IPv4 and IPv6 address, like Go's `net.Listen`).
    pub async fn bind(addr: &ListenAddr) -> Result<Listener, ListenError> {
        listener::bind(addr).await.map(Listener)
    }
}

impl Server {
    /// Binds `addr` (e.g. `127.0.0.1:9910`, `[::1]:9910`, or `:9910` for every IPv4 and IPv6
    /// address, like Go's `net.Listen`).
    pub async fn bind(addr: &str, opts: ServerOptions, app: Arc<App>) -> std::io::Result<Server> {
        let invalid = |e: ListenError| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
        let parsed = ListenAddr::parse(addr).map_err(invalid)?;
        let listener = Listener::bind(&parsed).await.map_err(invalid)?;
        Ok(Server::new(listener, opts, app))
    }

    /// A server on an already bound listener.
    pub fn new(listener: Listener, opts: ServerOptions, app: Arc<App>) -> Server {
        let listener = listener.0;
        let scrapes = (opts.max_requests > 0).then(|| Arc::new(Semaphore::new(opts.max_requests)));
        let cap = match opts.max_connections {
            0 => connections::cap_for_fd_limit(crate::fd_limit::soft()).min(MAX_CONNECTIONS),
            n => n,
        };
        let connections = connections::Connections::new(cap);
        let state = Arc::new(routing::State {
            web: live::LiveWeb::new(&opts.web),
            opts,
            app,
            scrapes,
            verifier: auth::Verifier::start(),
        });
        Server {
            listener,
            state,
            connections,
        }
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The open connections allowed before the longest-idle one is closed for a new one.
    pub fn max_connections(&self) -> usize {
        self.connections.cap()
    }

    /// Serves until `shutdown` resolves, then waits up to 5 s for open connections.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut accept_errors = AcceptErrors::default();
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                a = self.listener.accept() => a,
                () = &mut shutdown => break,
            };
            let (stream, peer) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    accept_errors.failed(&e);
                    // EMFILE and friends: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            accept_errors.succeeded();
            let registration = self.connections.admit();
            tokio::spawn(connection::serve(
                stream,
                peer,
                Arc::clone(&self.state),
                registration,
                stopped.clone(),
            ));
        }
        drop(self.listener);
        let _ = stop.send(true);
        if tokio::time::timeout(Duration::from_secs(5), self.connections.all_closed())
            .await
            .is_err()
        {
            log::warn!("open connections did not finish within 5s of shutdown");
        }
    }
}

/// How often failing `accept` calls are logged at most: under a descriptor shortage every call
/// fails, and one line per call buried the log (196 lines in 10 s).
const ACCEPT_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Logs failing `accept` calls at most once per interval, with how many were not logged, and
/// once when accepting works again.
#[derive(Debug, Default)]
struct AcceptErrors {
    last_logged: Option<std::time::Instant>,
    unlogged: u64,
    failing: bool,
}

impl AcceptErrors {
    fn failed(&mut self, e: &std::io::Error) {
        self.failing = true;
        let now = std::time::Instant::now();
        if self
            .last_logged
            .is_some_and(|t| now.duration_since(t) < ACCEPT_ERROR_LOG_INTERVAL)
        {
            self.unlogged += 1;
            return;
        }
        if self.unlogged > 0 {
            log::warn!(
                "accept failed: {e} ({} more failures in the last {}s not logged)",
                self.unlogged,
                ACCEPT_ERROR_LOG_INTERVAL.as_secs()
            );
        } else {
            log::warn!("accept failed: {e}");
        }
        self.last_logged = Some(now);
        self.unlogged = 0;
    }

    fn succeeded(&mut self) {
        if self.failing {
            self.failing = false;
            log::info!("accepting connections again");
        }
    }
}
