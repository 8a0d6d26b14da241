//! The server against real sockets: stuck and panicking collectors, the scrape limit,
//! content negotiation, gzip, dual-stack `:PORT`, TLS and basic auth, and web config re-reads.

// Test code: a failed setup step should abort the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::CString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::server::{App, Server, ServerOptions};
use common::web_config::WebSettings;
use common::{CollectError, Collector, CollectorSet, MetricSet, ScrapeContext};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod support;
use support::{BUILD, Healthy, eventually, get, get_raw, split_response, start, start_with_web};

/// Blocks forever in `open(2)` of a FIFO nobody writes to, like a read of a hung mount.
struct FifoReader(PathBuf);
impl Collector for FifoReader {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let bytes = std::fs::read(&self.0).map_err(|e| CollectError::io(&self.0, e))?;
        let mut s = MetricSet::new();
        s.gauge(
            "t_fifo_bytes",
            "Bytes read from the FIFO, in bytes.",
            bytes.len() as f64,
        );
        Ok(s)
    }
}

struct Panicking;
impl Collector for Panicking {
    #[allow(clippy::panic)]
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        panic!("collector bug")
    }
}

/// Head (lower-cased) and the body bytes as sent, for bodies that are not text.
fn split_raw(raw: &[u8]) -> (String, Vec<u8>) {
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no end of headers");
    (
        String::from_utf8_lossy(&raw[..at]).to_lowercase(),
        raw[at + 4..].to_vec(),
    )
}

fn gunzip(body: &[u8]) -> String {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(body), &mut text).unwrap();
    text
}

/// The samples of a scrape that do not change between two scrapes (no process_* or durations).
fn stable_lines(body: &str) -> Vec<String> {
    body.lines()
        .filter(|l| !l.contains("process_") && !l.contains("_duration_seconds"))
        .map(str::to_owned)
        .collect()
}

/// A collector that takes a while, so concurrent scrapes overlap.
struct Slow;
impl Collector for Slow {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        std::thread::sleep(Duration::from_millis(300));
        Ok(MetricSet::new())
    }
}

fn mkfifo(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("fifo-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    let status = std::process::Command::new("mkfifo")
        .arg(&p)
        .status()
        .unwrap();
    assert!(status.success());
    p
}

/// Opening the FIFO for writing releases the stuck reader so the test leaves no thread behind.
fn release(fifo: &PathBuf) {
    let _ = CString::new(fifo.to_string_lossy().as_bytes());
    if let Ok(f) = std::fs::OpenOptions::new().write(true).open(fifo) {
        drop(f);
    }
    let _ = std::fs::remove_file(fifo);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_or_panicking_collector_costs_only_its_own_series() {
    let fifo = mkfifo("stuck");
    let mut set = CollectorSet::new("t");
    set.add_blocking("fifo", FifoReader(fifo.clone()))
        .add_blocking("panicking", Panicking)
        .add_blocking("healthy", Healthy);
    let (addr, stop) = start(set, ServerOptions::default()).await;

    for round in 0..2 {
        let started = Instant::now();
        let (status, _, body) = get(
            addr,
            "/metrics",
            &[("X-Prometheus-Scrape-Timeout-Seconds", "2")],
        )
        .await;
        let took = started.elapsed();
        assert_eq!(status, 200);
        assert!(
            took < Duration::from_millis(2600),
            "round {round}: scrape took {took:?}"
        );
        assert!(
            body.contains("t_scrape_collector_success{collector=\"fifo\"} 0"),
            "{body}"
        );
        assert!(
            body.contains("t_scrape_collector_success{collector=\"panicking\"} 0"),
            "{body}"
        );
        assert!(
            body.contains("t_scrape_collector_success{collector=\"healthy\"} 1"),
            "{body}"
        );
        assert!(body.contains("t_answer{kind=\"fixed\"} 42"), "{body}");
        assert!(body.contains("t_exporter_build_info{"), "{body}");
        assert!(body.contains("process_resident_memory_bytes "), "{body}");
    }
    // The round after the first is answered at once: the stuck run is not waited for again.
    let started = Instant::now();
    let (status, _, body) = get(
        addr,
        "/metrics",
        &[("X-Prometheus-Scrape-Timeout-Seconds", "2")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(body.contains("t_scrape_collector_success{collector=\"fifo\"} 0"));
    release(&fifo);
    let _ = stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_format_by_default_and_openmetrics_when_asked() {
    let (addr, stop) = start_with_web(WebSettings::default()).await;
    let (status, head, body) = get(addr, "/metrics", &[]).await;
    assert_eq!(status, 200);
    assert!(
        head.contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
        "{head}"
    );
    assert!(
        body.contains("# TYPE t_events_total counter\nt_events_total 7\n"),
        "{body}"
    );
    assert!(!body.contains("# EOF"));

    let (status, head, body) = get(
        addr,
        "/metrics",
        &[("Accept", "application/openmetrics-text; version=1.0.0")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        head.contains("content-type: application/openmetrics-text; version=1.0.0; charset=utf-8"),
        "{head}"
    );
    assert!(
        body.contains("# TYPE t_events counter\nt_events_total 7"),
        "{body}"
    );
    assert!(body.ends_with("# EOF\n"), "{body}");

    let (status, _, body) = get(addr, "/", &[]).await;
    assert_eq!(status, 200);
    assert!(body.contains("href=\"metrics\""), "{body}");
    assert_eq!(get(addr, "/-/healthy", &[]).await.0, 200);
    assert_eq!(get(addr, "/nope", &[]).await.0, 404);
    let _ = stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_scrapes_against_a_limit_of_eight_are_all_answered() {
    let mut set = CollectorSet::new("t");
    set.add_blocking("slow", Slow)
        .add_blocking("healthy", Healthy);
    let opts = ServerOptions {
        max_requests: 8,
        ..ServerOptions::default()
    };
    let (addr, stop) = start(set, opts).await;
    let mut tasks = Vec::new();
    for _ in 0..64 {
        tasks.push(tokio::spawn(async move {
            tokio::time::timeout(Duration::from_secs(10), get(addr, "/metrics", &[]))
                .await
                .map(|r| r.0)
        }));
    }
    let mut ok = 0;
    let mut busy = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(200) => ok += 1,
            Ok(503) => busy += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(ok + busy, 64);
    assert!(ok >= 8, "only {ok} scrapes served");
    assert!(busy > 0, "the limit of 8 was never hit");
    // And it keeps serving afterwards.
    let (status, _, body) = get(addr, "/metrics", &[]).await;
    assert_eq!(status, 200);
    assert!(body.contains("t_answer"));
    let _ = stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_sends_no_headers_is_disconnected() {
    let mut set = CollectorSet::new("t");
    set.add_blocking("healthy", Healthy);
    let opts = ServerOptions {
        header_read_timeout: Duration::from_millis(300),
        ..ServerOptions::default()
    };
    let (addr, stop) = start(set, opts).await;
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /metrics HTTP/1.1\r\n").await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the half-sent request was not cut off");
    // Meanwhile and afterwards normal scrapes work.
    assert_eq!(get(addr, "/metrics", &[]).await.0, 200);
    let _ = stop.send(());
}

mod tls {
    use super::*;
    use rustls::pki_types::ServerName;
    use test_support::pki::{Issued, TestPki};
    use tokio_rustls::TlsConnector;

    /// A TLS connection to `localhost` at `addr`, trusting the test CA.
    async fn tls_connect(
        addr: SocketAddr,
        pki: &TestPki,
        client: Option<Issued>,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca_cert()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let cfg = match client {
            Some(c) => builder.with_client_auth_cert(vec![c.cert], c.key).unwrap(),
            None => builder.with_no_client_auth(),
        };
        let stream = TcpStream::connect(addr).await?;
        TlsConnector::from(Arc::new(cfg))
            .connect(ServerName::try_from("localhost").unwrap(), stream)
            .await
    }

    async fn tls_get(
        addr: SocketAddr,
        pki: &TestPki,
        client: Option<Issued>,
        auth: Option<&str>,
    ) -> std::io::Result<u16> {
        Ok(tls_get_body(addr, pki, client, auth).await?.0)
    }

    /// The status and body of `GET /metrics` over TLS.
    async fn tls_get_body(
        addr: SocketAddr,
        pki: &TestPki,
        client: Option<Issued>,
        auth: Option<&str>,
    ) -> std::io::Result<(u16, String)> {
        let mut tls = tls_connect(addr, pki, client).await?;
        let mut req = "GET /metrics HTTP/1.0\r\n".to_owned();
        if let Some(a) = auth {
            req.push_str(&format!("Authorization: Basic {a}\r\n"));
        }
        req.push_str("\r\n");
        tls.write_all(req.as_bytes()).await?;
        let mut raw = Vec::new();
        let _ = tls.read_to_end(&mut raw).await;
        let (status, _, body) = split_response(&raw);
        Ok((status, body))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_serving_certificates_expiry_is_exported() {
        let pki = TestPki::new("expiry");
        let web = web_config(&pki, "");
        let want = common::cert_validity::CertValidity::of_der(&pki.server().cert)
            .unwrap()
            .not_after;
        let (addr, stop) = start_with_web(web).await;
        let (status, body) = tls_get_body(addr, &pki, None, Some(RIGHT)).await.unwrap();
        assert_eq!(status, 200);
        let line = format!("t_exporter_tls_certificate_expiry_timestamp_seconds {want}\n");
        assert!(body.contains(&line), "{line} missing from:\n{body}");
        let _ = stop.send(());
    }

    /// The certificate the server presents in a TLS handshake.
    async fn presented_cert(addr: SocketAddr, pki: &TestPki) -> std::io::Result<Vec<u8>> {
        let tls = tls_connect(addr, pki, None).await?;
        let certs = tls.get_ref().1.peer_certificates().unwrap_or_default();
        Ok(certs.first().map(|c| c.to_vec()).unwrap_or_default())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_replaced_certificate_is_presented_without_restart() {
        let mut pki = TestPki::new("rotate");
        let cert_a = pki.server().cert;
        let web = web_config(&pki, "");
        let (addr, stop) = start_with_web(web).await;
        assert_eq!(presented_cert(addr, &pki).await.unwrap(), cert_a.to_vec());

        // Rewritten in place, as cert-manager or certbot hooks do.
        let cert_b = pki.reissue_server();
        assert_ne!(cert_a, cert_b);
        eventually("certificate B presented", || async {
            presented_cert(addr, &pki)
                .await
                .is_ok_and(|c| c == cert_b.to_vec())
        })
        .await;
        assert_eq!(tls_get(addr, &pki, None, Some(RIGHT)).await.unwrap(), 200);

        // Garbage, or a config naming a missing key: still TLS with cert B and the same users.
        let web_yml = pki.dir().join("web.yml");
        for garbage in [
            "tls_server_config: {cert_file: server.pem, key_file: nope.key}\n",
            "\u{0}\u{1}not yaml: [",
        ] {
            std::fs::write(&web_yml, garbage).unwrap();
            tokio::time::sleep(Duration::from_millis(1200)).await;
            assert_eq!(presented_cert(addr, &pki).await.unwrap(), cert_b.to_vec());
            assert_eq!(tls_get(addr, &pki, None, Some(RIGHT)).await.unwrap(), 200);
            assert_eq!(tls_get(addr, &pki, None, None).await.unwrap(), 401);
        }
        let _ = stop.send(());
    }

    fn web_config(pki: &TestPki, extra: &str) -> WebSettings {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let text = format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n{extra}basic_auth_users:\n  alice: {hash}\n"
        );
        let path = pki.dir().join("web.yml");
        std::fs::write(&path, text).unwrap();
        common::web_config::load(&path).unwrap()
    }

    // base64("alice:s3cret"), base64("alice:wrong")
    const RIGHT: &str = "YWxpY2U6czNjcmV0";
    const WRONG: &str = "YWxpY2U6d3Jvbmc=";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tls_with_basic_auth_accepts_only_the_right_password() {
        let pki = TestPki::new("auth");
        let web = web_config(&pki, "");
        let (addr, stop) = start_with_web(web).await;

        assert_eq!(tls_get(addr, &pki, None, Some(RIGHT)).await.unwrap(), 200);
        assert_eq!(tls_get(addr, &pki, None, Some(WRONG)).await.unwrap(), 401);
        assert_eq!(tls_get(addr, &pki, None, None).await.unwrap(), 401);
        // Plain HTTP to the TLS listener is refused with a clear answer, and serving goes on.
        let (status, _, body) = get(addr, "/metrics", &[]).await;
        assert_eq!(status, 400);
        assert!(body.contains("HTTP request to an HTTPS server"), "{body}");
        assert_eq!(tls_get(addr, &pki, None, Some(RIGHT)).await.unwrap(), 200);
        let _ = stop.send(());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mutual_tls_requires_a_client_certificate_from_the_ca() {
        let pki = TestPki::new("mtls");
        let client = pki.client();
        let web = web_config(
            &pki,
            "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n  min_version: TLS13\n",
        );
        let (addr, stop) = start_with_web(web).await;
        assert_eq!(
            tls_get(addr, &pki, Some(client), Some(RIGHT))
                .await
                .unwrap(),
            200
        );
        let refused = tls_get(addr, &pki, None, Some(RIGHT)).await;
        assert!(
            refused.is_err() || refused.as_ref().is_ok_and(|s| *s == 0),
            "{refused:?}"
        );
        let _ = stop.send(());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_gzipped_only_when_the_scraper_accepts_gzip() {
    let (addr, stop) = start_with_web(WebSettings::default()).await;

    let (status, head, plain) = get(addr, "/metrics", &[]).await;
    assert_eq!(status, 200);
    assert!(!head.contains("content-encoding"), "{head}");
    assert!(head.contains("vary: accept-encoding"), "{head}");
    assert!(plain.contains("t_answer{kind=\"fixed\"} 42"), "{plain}");

    // What Prometheus sends, and spellings a proper parser must also take.
    for accept in [
        "gzip",
        "GZip;q=0.5, identity",
        "deflate, *",
        "br;q=1.0, gzip;q=0.1",
    ] {
        let raw = get_raw(addr, "/metrics", &[("Accept-Encoding", accept)]).await;
        let (head, body) = split_raw(&raw);
        assert!(
            head.starts_with("http/1.") && head.contains(" 200 "),
            "{head}"
        );
        assert!(head.contains("content-encoding: gzip"), "{accept}: {head}");
        assert!(head.contains("vary: accept-encoding"), "{head}");
        assert_eq!(&body[..2], &[0x1f, 0x8b], "{accept}: not a gzip stream");
        let text = gunzip(&body);
        assert_eq!(stable_lines(&text), stable_lines(&plain), "{accept}");
        assert!(text.contains("process_resident_memory_bytes "), "{text}");
    }

    // Refused (q=0 for gzip, even if `*` is welcome) or unsupported codings only: plain.
    for accept in [
        "gzip;q=0",
        "gzip;q=0, *",
        "*;q=0",
        "identity",
        "br, deflate",
        "gzip;q=x",
    ] {
        let (status, head, body) = get(addr, "/metrics", &[("Accept-Encoding", accept)]).await;
        assert_eq!(status, 200);
        assert!(!head.contains("content-encoding"), "{accept}: {head}");
        assert_eq!(stable_lines(&body), stable_lines(&plain), "{accept}");
    }
    let _ = stop.send(());
}

/// Answers every probe with the target it was given.
struct EchoProbe;
impl common::server::ProbeHandler for EchoProbe {
    fn probe<'a>(
        &'a self,
        params: &'a [(String, String)],
        _: ScrapeContext,
    ) -> common::server::ProbeFuture<'a> {
        Box::pin(async move {
            let target = params
                .iter()
                .find(|(k, _)| k == "target")
                .map_or("", |(_, v)| v.as_str());
            let mut s = MetricSet::new();
            s.gauge_with(
                "probe_success",
                "Whether the probe worked, 1 or 0.",
                &[("target", target)],
                1.0,
            );
            Ok(s)
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_answers_are_gzipped_when_accepted() {
    let app = Arc::new(App {
        collectors: CollectorSet::new("t"),
        probe: Some(Arc::new(EchoProbe)),
        build: BUILD,
        documents: Vec::new(),
    });
    let server = Server::bind("127.0.0.1:0", ServerOptions::default(), app)
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async {
        let _ = rx.await;
    }));
    let path = "/probe?target=db1";
    let (status, head, plain) = get(addr, path, &[("Accept-Encoding", "gzip;q=0")]).await;
    assert_eq!(status, 200);
    assert!(!head.contains("content-encoding"), "{head}");
    assert!(plain.contains("probe_success{target=\"db1\"} 1"), "{plain}");
    let (head, body) = split_raw(&get_raw(addr, path, &[("Accept-Encoding", "gzip")]).await);
    assert!(head.contains("content-encoding: gzip"), "{head}");
    let text = gunzip(&body);
    assert_eq!(text, plain);
    let _ = tx.send(());
}

struct Doc(Result<&'static str, &'static str>);

impl common::server::DocumentHandler for Doc {
    fn document(&self) -> Result<common::server::Document, String> {
        self.0
            .map(|b| common::server::Document {
                content_type: "application/json",
                body: bytes::Bytes::from_static(b.as_bytes()),
                gzipped: None,
                etag: Some("\"v1\"".to_owned()),
            })
            .map_err(str::to_owned)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_are_served_at_their_path_gzipped_when_accepted_or_503() {
    let app = Arc::new(App {
        collectors: CollectorSet::new("t"),
        probe: None,
        build: BUILD,
        documents: vec![
            ("/doc".to_owned(), Arc::new(Doc(Ok("{\"a\":1}"))) as _),
            (
                "/not-yet".to_owned(),
                Arc::new(Doc(Err("no manifest yet"))) as _,
            ),
        ],
    });
    let server = Server::bind("127.0.0.1:0", ServerOptions::default(), app)
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async {
        let _ = rx.await;
    }));
    let (status, head, plain) = get(addr, "/doc", &[]).await;
    assert_eq!(status, 200);
    assert!(head.contains("content-type: application/json"), "{head}");
    assert_eq!(plain, "{\"a\":1}");
    assert!(head.contains("etag: \"v1\""), "{head}");
    let (head, body) = split_raw(&get_raw(addr, "/doc", &[("Accept-Encoding", "gzip")]).await);
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert_eq!(gunzip(&body), plain);
    // A client holding this version gets 304 and no body; another version gets the document.
    let (status, head, body) = get(addr, "/doc", &[("If-None-Match", "\"v0\", \"v1\"")]).await;
    assert_eq!(status, 304, "{head}");
    assert!(head.contains("etag: \"v1\""), "{head}");
    assert!(body.is_empty(), "{body}");
    let (status, _, body) = get(addr, "/doc", &[("If-None-Match", "\"v0\"")]).await;
    assert_eq!((status, body.as_str()), (200, "{\"a\":1}"));
    let (status, _, text) = get(addr, "/not-yet", &[]).await;
    assert_eq!(status, 503);
    assert!(text.contains("no manifest yet"), "{text}");
    let (status, _, _) = get(addr, "/docs", &[]).await;
    assert_eq!(status, 404);
    let _ = tx.send(());
}

/// Whether this host has an IPv6 loopback address to connect to.
fn has_ipv6_loopback() -> bool {
    std::fs::read_to_string("/proc/net/if_inet6").is_ok_and(|t| {
        t.lines()
            .any(|l| l.starts_with("00000000000000000000000000000001"))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_without_host_is_served_on_ipv4_and_ipv6() {
    let mut set = CollectorSet::new("t");
    set.add_blocking("healthy", Healthy);
    let app = Arc::new(App {
        collectors: set,
        probe: None,
        build: BUILD,
        documents: Vec::new(),
    });
    let server = Server::bind(":0", ServerOptions::default(), app)
        .await
        .unwrap();
    let port = server.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async {
        let _ = rx.await;
    }));
    let v4 = SocketAddr::from(([127, 0, 0, 1], port));
    let (status, _, body) = get(v4, "/-/healthy", &[]).await;
    assert_eq!((status, body.as_str()), (200, "OK\n"));
    if has_ipv6_loopback() {
        let v6: SocketAddr = format!("[::1]:{port}").parse().unwrap();
        let (status, _, body) = get(v6, "/-/healthy", &[]).await;
        assert_eq!((status, body.as_str()), (200, "OK\n"));
    } else {
        println!("note: no IPv6 loopback on this host (/proc/net/if_inet6); ::1 half skipped");
    }
    let _ = tx.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_basic_auth_users_apply_without_restart_and_garbage_is_ignored() {
    let dir = std::env::temp_dir().join(format!("webreload-auth-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("web.yml");
    let users = |pass: &str| {
        format!(
            "basic_auth_users:\n  alice: {}\n",
            bcrypt::hash(pass, 4).unwrap()
        )
    };
    std::fs::write(&path, users("s3cret")).unwrap();
    let web = common::web_config::load(&path).unwrap();
    let (addr, stop) = start_with_web(web).await;
    // base64("alice:s3cret"), base64("alice:n3w")
    let old = [("Authorization", "Basic YWxpY2U6czNjcmV0")];
    let new = [("Authorization", "Basic YWxpY2U6bjN3")];
    assert_eq!(get(addr, "/metrics", &old).await.0, 200);
    assert_eq!(get(addr, "/metrics", &new).await.0, 401);

    std::fs::write(&path, users("n3w")).unwrap();
    // The old password was verified and cached: the cache must not outlive the config.
    eventually("old password refused", || async {
        get(addr, "/metrics", &old).await.0 == 401
    })
    .await;
    assert_eq!(get(addr, "/metrics", &new).await.0, 200);

    // A broken file neither stops the server nor opens it up: the last good users stay.
    for garbage in [
        "basic_auth_users: [\n",
        "basic_auth_users:\n  alice: plaintext\n",
        "",
    ] {
        std::fs::write(&path, garbage).unwrap();
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(get(addr, "/metrics", &[]).await.0, 401, "{garbage:?}");
        assert_eq!(get(addr, "/metrics", &old).await.0, 401, "{garbage:?}");
        assert_eq!(get(addr, "/metrics", &new).await.0, 200, "{garbage:?}");
    }
    let _ = stop.send(());
    let _ = std::fs::remove_dir_all(&dir);
}
