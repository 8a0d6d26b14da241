//! The HTTP(S) prober against fake peers on loopback: healthy, failing, silent, trickling,
//! resetting and garbage-speaking servers, and TLS with a CA file, a wrong name and mutual TLS.

// Test code: a failed setup step should abort the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::http_probe::{
    BodyExpect, Expect, HttpProbe, ProbeOptions, Reason, TlsOptions, TlsSetupError, client_config,
};
use test_support::fake_http::{answer, read_request, serve, trickle};
use test_support::pki::TestPki;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpListener;

fn soon(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms)
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
    let addr = serve(|s| trickle(s, 1000, Duration::from_millis(50))).await;
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

/// An HTTPS server with the test PKI's server certificate that answers `ok`, requiring a
/// client certificate from the test CA when `mtls`.
async fn tls_server(pki: &TestPki, mtls: bool) -> SocketAddr {
    let server = pki.server();
    let provider = common::tls::provider();
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if mtls {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca_cert()).unwrap();
        let v =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        builder.with_client_cert_verifier(v)
    } else {
        builder.with_no_client_auth()
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(
        builder
            .with_single_cert(vec![server.cert], server.key)
            .unwrap(),
    ));
    serve(move |s| {
        let acceptor = acceptor.clone();
        async move {
            if let Ok(s) = acceptor.accept(s).await {
                answer(s, "200 OK", "ok").await;
            }
        }
    })
    .await
}

#[tokio::test]
async fn https_with_ca_file_verifies_the_server() {
    let pki = TestPki::new("probe-ca");
    let addr = tls_server(&pki, false).await;
    let opts = ProbeOptions {
        tls: TlsOptions {
            ca_file: Some(pki.ca_file()),
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
    let pki = TestPki::new("probe-mtls");
    let addr = tls_server(&pki, true).await;
    let url = format!("https://localhost:{}/ok", addr.port());
    let with_cert = ProbeOptions {
        tls: TlsOptions {
            ca_file: Some(pki.ca_file()),
            cert_file: Some(pki.client_cert_file()),
            key_file: Some(pki.client_key_file()),
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
            ca_file: Some(pki.ca_file()),
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
    let pki = TestPki::new("probe-bad");
    let missing = TlsOptions {
        ca_file: Some(pki.dir().join("nope.pem")),
        ..TlsOptions::default()
    };
    let e = client_config(&missing).unwrap_err().to_string();
    assert!(e.contains("ca_file") && e.contains("nope.pem"), "{e}");
    let half = TlsOptions {
        cert_file: Some(pki.client_cert_file()),
        ..TlsOptions::default()
    };
    assert!(matches!(
        client_config(&half),
        Err(TlsSetupError::HalfClientAuth)
    ));
    let mismatched = TlsOptions {
        cert_file: Some(pki.client_cert_file()),
        key_file: Some(pki.server_key_file()),
        ..TlsOptions::default()
    };
    assert!(client_config(&mismatched).is_err());
}
