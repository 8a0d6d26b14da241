//! Answering one request: basic auth, then `/`, the telemetry path, `/-/healthy` or `/probe`,
//! with excess scrapes refused at once and each scrape given its deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use tokio::sync::Semaphore;

use super::encoding::{encoded, negotiated_format, wants_gzip};
use super::live::{Live, LiveWeb};
use super::query::parse_query;
use super::{App, DocumentHandler, ProbeError, ProbeHandler, Resp, ServerOptions, auth};
use crate::collector::ScrapeContext;
use crate::metrics::{MetricFamily, MetricSet};
use crate::self_metrics;

/// The longest scrape timeout a scraper may ask for; Prometheus's own timeouts are seconds.
const MAX_SCRAPE_TIMEOUT: Duration = Duration::from_secs(3600);

/// Everything a request is answered from, shared by all connections of one server.
pub(super) struct State {
    pub(super) opts: ServerOptions,
    pub(super) app: Arc<App>,
    /// Permits for concurrent scrapes; `None` is unlimited.
    pub(super) scrapes: Option<Arc<Semaphore>>,
    /// The web settings in force.
    pub(super) web: LiveWeb,
    /// Checks passwords, one at a time.
    pub(super) verifier: auth::Verifier,
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Whether an `If-None-Match` header value names `etag` (a list, or `*`).
fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

/// The answer to a GET of an extra document path: 304 when the client already holds this
/// version (`If-None-Match`), else 200 with the document (gzipped when the client accepts it:
/// the handler's prepared gzip, or compressed here on a blocking thread: a manifest can be
/// megabytes), or 503.
async fn document(
    handler: &dyn DocumentHandler,
    use_gzip: bool,
    if_none_match: Option<&str>,
) -> Resp {
    let doc = match handler.document() {
        Ok(d) => d,
        Err(e) => return text(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
    };
    let etag = doc
        .etag
        .as_deref()
        .and_then(|t| HeaderValue::from_str(t).ok().map(|v| (t, v)));
    if let (Some((tag, value)), Some(inm)) = (&etag, if_none_match)
        && etag_matches(inm, tag)
    {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r.headers_mut().insert(header::ETAG, value.clone());
        return r;
    }
    let (body, gzipped) = match (use_gzip, doc.gzipped) {
        (true, Some(z)) => (z, true),
        (true, None) => {
            let plain = doc.body.clone();
            match tokio::task::spawn_blocking(move || super::encoding::gzip(&plain)).await {
                Ok(Ok(z)) => (Bytes::from(z), true),
                _ => (doc.body, false),
            }
        }
        (false, _) => (doc.body, false),
    };
    let mut r = Response::new(Full::new(body));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(doc.content_type),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzipped {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if let Some((_, value)) = etag {
        h.insert(header::ETAG, value);
    }
    r
}

/// The exporter's own series and those of its collectors, gathered within `ctx.deadline`.
async fn gather(app: &App, live: &Live, ctx: ScrapeContext) -> Vec<MetricFamily> {
    let mut families = app.collectors.gather(ctx).await;
    let mut own = MetricSet::new();
    self_metrics::collect(app.collectors.prefix(), &app.build, &mut own);
    self_metrics::collect_tls(
        app.collectors.prefix(),
        live.web.certificate.as_ref(),
        &mut own,
    );
    families.extend(own.into_families());
    families
}

impl State {
    /// Answers `req` under the web settings `live`.
    pub(super) async fn handle(&self, live: &Live, req: Request<Incoming>) -> Resp {
        match auth::check(
            &live.web.users,
            &live.auth_cache,
            &self.verifier,
            req.headers(),
        )
        .await
        {
            auth::Verdict::Allowed => {}
            auth::Verdict::Denied => {
                let mut r = text(StatusCode::UNAUTHORIZED, "Unauthorized\n");
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
                return r;
            }
            auth::Verdict::Busy => {
                let mut r = text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many password checks in progress, try again later\n",
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return r;
            }
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return text(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed\n");
        }
        let path = req.uri().path();
        if let Some((_, doc)) = self.app.documents.iter().find(|(p, _)| p == path) {
            let inm = req
                .headers()
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok());
            return document(doc.as_ref(), wants_gzip(req.headers()), inm).await;
        }
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

    fn scrape_context(&self, req: &Request<Incoming>) -> ScrapeContext {
        let header = req
            .headers()
            .get("X-Prometheus-Scrape-Timeout-Seconds")
            .and_then(|v| v.to_str().ok());
        let budget = scrape_budget(header, self.opts.default_timeout, self.opts.timeout_offset);
        ScrapeContext::new(Instant::now() + budget)
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
        let format = negotiated_format(req.headers());
        // The certificate new handshakes get, not the one this keep-alive connection began with.
        let families = gather(&self.app, &self.web.in_force(), ctx).await;
        encoded(families, format, wants_gzip(req.headers()))
    }

    async fn probe(
        &self,
        handler: &dyn ProbeHandler,
        req: &Request<Incoming>,
        ctx: ScrapeContext,
    ) -> Resp {
        let params = parse_query(req.uri().query().unwrap_or(""));
        let format = negotiated_format(req.headers());
        let deadline = tokio::time::Instant::from_std(ctx.deadline);
        match tokio::time::timeout_at(deadline, handler.probe(&params, ctx)).await {
            Ok(Ok(set)) => encoded(set.into_families(), format, wants_gzip(req.headers())),
            Ok(Err(ProbeError::BadRequest(msg))) => text(StatusCode::BAD_REQUEST, msg),
            Err(_) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                "probe did not finish within the scrape timeout\n",
            ),
        }
    }
}

/// The collectors' time budget for a scrape: the scraper's `X-Prometheus-Scrape-Timeout-Seconds`
/// (`header`; `default_timeout` when absent, not a number or not positive; clamped to an hour)
/// minus `offset`, and never under 100 ms.
pub fn scrape_budget(
    header: Option<&str>,
    default_timeout: Duration,
    offset: Duration,
) -> Duration {
    let timeout = header
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .map_or(default_timeout, |v| {
            // Any positive number is taken, clamped: `1e19` or `inf` must not overflow.
            Duration::from_secs_f64(v.min(MAX_SCRAPE_TIMEOUT.as_secs_f64()))
        });
    timeout
        .saturating_sub(offset)
        .max(Duration::from_millis(100))
}
