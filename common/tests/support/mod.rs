//! What the server tests share: a test server on a loopback port, raw HTTP/1.0 requests, and
//! waiting for a condition.

// Each test file uses its own part of this module.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::self_metrics::BuildInfo;
use common::server::{App, Server, ServerOptions};
use common::web_config::WebSettings;
use common::{CollectError, Collector, CollectorSet, MetricSet, ScrapeContext};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub(crate) const BUILD: BuildInfo = BuildInfo {
    name: "test-exporter",
    version: "0.0.0",
    revision: "test",
};

pub(crate) struct Healthy;
impl Collector for Healthy {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut s = MetricSet::new();
        s.gauge_with(
            "t_answer",
            "A fixed answer, unitless.",
            &[("kind", "fixed")],
            42.0,
        );
        s.counter("t_events_total", "Events seen, count.", 7.0);
        Ok(s)
    }
}

pub(crate) async fn start(
    set: CollectorSet,
    opts: ServerOptions,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let app = Arc::new(App {
        collectors: set,
        probe: None,
        build: BUILD,
        documents: Vec::new(),
    });
    let server = Server::bind("127.0.0.1:0", opts, app).await.unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(server.run(async {
        let _ = rx.await;
    }));
    (addr, tx)
}

/// A server with the [`Healthy`] collector and the given web settings.
pub(crate) async fn start_with_web(
    web: WebSettings,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let mut set = CollectorSet::new("t");
    set.add_blocking("healthy", Healthy);
    start(
        set,
        ServerOptions {
            web,
            ..ServerOptions::default()
        },
    )
    .await
}

pub(crate) async fn get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String, String) {
    split_response(&get_raw(addr, path, headers).await)
}

pub(crate) async fn get_raw(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("GET {path} HTTP/1.0\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    raw
}

pub(crate) fn split_response(raw: &[u8]) -> (u16, String, String) {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_lowercase(), body.to_owned())
}

/// Retries `check` for up to 5 s: a changed web config is noticed within a second.
pub(crate) async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what}: not within 5 s");
}
