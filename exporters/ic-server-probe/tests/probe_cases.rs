//! The exporter binary against real HTTP servers on loopback addresses (127.0.0.0/8) that this
//! test starts: healthy, HTTP 500, wrong body, refused, silent and trickling IC-Servers, and a
//! thousand targets of which some hang, all answered within one scrape.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use suite_tests::exporter::{Exporter, count_samples as count, sample_value as value};
use suite_tests::{TempDir, http};
use test_support::fake_http::{answer, serve_on, trickle};
use tokio::net::TcpListener;

/// How a fake IC-Server behaves.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    Healthy,
    ServerError,
    WrongBody,
    Silent,
    Trickle,
}

async fn handle(s: tokio::net::TcpStream, b: Behaviour) {
    match b {
        Behaviour::Silent => {
            // Accepts and never answers; the socket lives until the runtime is dropped.
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        Behaviour::Healthy => answer(s, "200 OK", "ok").await,
        Behaviour::ServerError => answer(s, "500 Internal Server Error", "ok").await,
        Behaviour::WrongBody => answer(s, "200 OK", "starting").await,
        Behaviour::Trickle => trickle(s, 100, Duration::from_millis(200)).await,
    }
}

/// Binds every address at one common port (the health URL template has a single port).
async fn bind_all(ips: &[Ipv4Addr]) -> (u16, Vec<TcpListener>) {
    for _ in 0..10 {
        let first = TcpListener::bind((ips[0], 0)).await.unwrap();
        let port = first.local_addr().unwrap().port();
        let mut all = vec![first];
        for ip in &ips[1..] {
            match TcpListener::bind((*ip, port)).await {
                Ok(l) => all.push(l),
                Err(_) => break,
            }
        }
        if all.len() == ips.len() {
            return (port, all);
        }
    }
    panic!("no port free on all {} addresses", ips.len());
}

fn serve(listener: TcpListener, b: Behaviour) {
    serve_on(listener, move |s| handle(s, b));
}

/// A loopback /16 unlikely to be used by a concurrent test: 127.<x>.<y>.0 from the pid.
fn base(salt: u8) -> (u8, u8) {
    let pid = std::process::id();
    (
        100 + u8::try_from(pid % 100).unwrap(),
        u8::try_from((pid / 100) % 50).unwrap() * 4 + salt,
    )
}

/// Writes `config` to `<dir>/ic.toml` and starts the exporter binary on it.
fn start(config: &str, dir: &TempDir) -> Exporter {
    let path = dir.path().join("ic.toml");
    std::fs::write(&path, config).unwrap();
    Exporter::start_path(
        Path::new(env!("CARGO_BIN_EXE_ic-server-probe")),
        &[
            &format!("--config.file={}", path.display()),
            "--log.level=warn",
        ],
    )
}

/// Starts the exporter probing `ips` at `http://<IP>:<port>/ok` with `timeout`, expecting `ok`.
fn start_probing(dir: &TempDir, ips: &[Ipv4Addr], port: u16, timeout: &str) -> Exporter {
    let servers: Vec<String> = ips.iter().map(|i| format!("\"{i}\"")).collect();
    start(
        &format!(
            "ocp_address = \"10.0.0.1\"\nic_servers = [{}]\nhealth_url = \"http://<IP>:{port}/ok\"\ntimeout = \"{timeout}\"\nexpected_body = \"ok\"\n",
            servers.join(", ")
        ),
        dir,
    )
}

/// [`get`] off the runtime's worker threads; panics when there is no answer.
async fn get_blocking(addr: SocketAddr, path: &str, scrape_timeout: f64) -> (u16, String) {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || get(addr, &path, scrape_timeout))
        .await
        .unwrap()
        .unwrap()
}

/// A GET announcing `scrape_timeout` seconds like Prometheus; returns status and body.
fn get(addr: SocketAddr, path: &str, scrape_timeout: f64) -> Option<(u16, String)> {
    let announced = scrape_timeout.to_string();
    http::get_with_timeout(
        addr,
        path,
        &[("X-Prometheus-Scrape-Timeout-Seconds", &announced)],
        Duration::from_secs(30),
    )
    .ok()
    .map(|r| (r.status, r.body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_ic_server_gets_its_health_and_reason_within_the_deadline() {
    let (a, b) = base(0);
    let ip = |last| Ipv4Addr::new(127, a, b, last);
    let cases = [
        (1, Some(Behaviour::Healthy)),
        (2, Some(Behaviour::ServerError)),
        (3, Some(Behaviour::WrongBody)),
        (4, None),
        (5, Some(Behaviour::Silent)),
        (6, Some(Behaviour::Trickle)),
    ];
    let ips: Vec<_> = cases.iter().map(|(l, _)| ip(*l)).collect();
    let (port, listeners) = bind_all(&ips).await;
    for ((_, b), l) in cases.iter().zip(listeners) {
        // The refused case binds nothing: its listener closes here.
        if let Some(b) = b {
            serve(l, *b);
        }
    }
    let dir = TempDir::new("cases");
    let exporter = start_probing(&dir, &ips, port, "1500ms");
    let addr = exporter.addr();
    let started = Instant::now();
    let (status, scrape) = get_blocking(addr, "/metrics", 4.0).await;
    let took = started.elapsed();
    assert_eq!(status, 200);
    assert!(
        took < Duration::from_secs(4),
        "scrape took {took:?}, past its 4 s timeout"
    );

    let want = [
        (1, 1.0, None, 200.0),
        (2, 0.0, Some("http_status"), 500.0),
        (3, 0.0, Some("body_mismatch"), 200.0),
        (4, 0.0, Some("connection_refused"), 0.0),
        (5, 0.0, Some("timeout"), 0.0),
        (6, 0.0, Some("timeout"), 200.0),
    ];
    for (last, health, reason, code) in want {
        let addr = ip(last).to_string();
        let l = [
            ("ocp_address", "10.0.0.1"),
            ("ic_server_address", addr.as_str()),
        ];
        assert_eq!(
            value(&scrape, "ic_server_health", &l),
            Some(health),
            "{addr}\n{scrape}"
        );
        assert_eq!(
            value(&scrape, "ic_server_probe_http_status_code", &l),
            Some(code),
            "{addr}"
        );
        match reason {
            Some(r) => {
                assert_eq!(
                    value(&scrape, "ic_server_probe_failure", &[l[1], ("reason", r)]),
                    Some(1.0),
                    "{addr}\n{scrape}"
                );
            }
            None => assert_eq!(
                count(&scrape, "ic_server_probe_failure", &[l[1]], 1.0),
                0,
                "{addr}"
            ),
        }
        let d = value(&scrape, "ic_server_probe_duration_seconds", &l).unwrap();
        assert!((0.0..=1.6).contains(&d), "{addr}: duration {d}");
    }
    // Exactly one reason per failing target keeps the label set bounded.
    assert_eq!(count(&scrape, "ic_server_probe_failure", &[], 1.0), 5);
    assert_eq!(
        value(
            &scrape,
            "ic_server_scrape_collector_success",
            &[("collector", "health")]
        ),
        Some(1.0)
    );
    assert_eq!(value(&scrape, "ic_server_targets", &[]), Some(6.0));

    // The same checks through /probe, Prometheus driving the target list.
    let healthy = format!("/probe?target={}&ocp_address=ocp-2", ip(1));
    let (status, body) = get_blocking(addr, &healthy, 4.0).await;
    assert_eq!(status, 200);
    let l1 = ip(1).to_string();
    assert_eq!(
        value(
            &body,
            "ic_server_health",
            &[("ocp_address", "ocp-2"), ("ic_server_address", &l1)]
        ),
        Some(1.0),
        "{body}"
    );
    let refused = format!("/probe?target=http://{}:{port}/ok", ip(4));
    let (_, body) = get_blocking(addr, &refused, 4.0).await;
    let l4 = ip(4).to_string();
    assert_eq!(
        value(
            &body,
            "ic_server_health",
            &[("ocp_address", "10.0.0.1"), ("ic_server_address", &l4)]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &body,
            "ic_server_probe_failure",
            &[("reason", "connection_refused")]
        ),
        Some(1.0),
        "{body}"
    );
    // `host:port` overrides the template's port, as blackbox users write targets.
    let host_port = format!("/probe?target={}:{port}", ip(1));
    let (_, body) = get_blocking(addr, &host_port, 4.0).await;
    let hp = format!("{}:{port}", ip(1));
    assert_eq!(
        value(&body, "ic_server_health", &[("ic_server_address", &hp)]),
        Some(1.0),
        "{body}"
    );
    let (status, _) = get_blocking(addr, "/probe", 4.0).await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_targets_some_hung_are_probed_in_one_scrape() {
    let (a, b) = base(1);
    let ips: Vec<Ipv4Addr> = (0..1000u16)
        .map(|k| {
            Ipv4Addr::new(
                127,
                a,
                // Four distinct third octets, wrapping inside 0..250 whatever `base` returned.
                u8::try_from((u16::from(b) + (k / 250) * 50) % 250).unwrap(),
                u8::try_from(k % 250).unwrap() + 1,
            )
        })
        .collect();
    let (port, listeners) = bind_all(&ips).await;
    for (k, l) in listeners.into_iter().enumerate() {
        serve(
            l,
            if k % 10 == 0 {
                Behaviour::Silent
            } else {
                Behaviour::Healthy
            },
        );
    }
    let dir = TempDir::new("thousand");
    let exporter = start_probing(&dir, &ips, port, "2s");
    let addr = exporter.addr();
    let started = Instant::now();
    let (status, scrape) = get_blocking(addr, "/metrics", 5.0).await;
    let took = started.elapsed();
    assert_eq!(status, 200);
    assert!(
        took < Duration::from_secs(5),
        "scrape of 1000 targets took {took:?}, past its 5 s timeout"
    );
    assert_eq!(
        count(&scrape, "ic_server_health", &[], 1.0),
        900,
        "healthy targets"
    );
    assert_eq!(
        count(&scrape, "ic_server_health", &[], 0.0),
        100,
        "hung targets"
    );
    assert_eq!(
        count(
            &scrape,
            "ic_server_probe_failure",
            &[("reason", "timeout")],
            1.0
        ),
        100
    );
    let hung = ips[0].to_string();
    assert_eq!(
        value(
            &scrape,
            "ic_server_health",
            &[("ic_server_address", hung.as_str())]
        ),
        Some(0.0)
    );
}

#[test]
fn a_bad_config_is_a_one_line_error_naming_the_field_and_exit_code_2() {
    let dir = TempDir::new("badconfig");
    for (text, needle) in [
        (
            "ic_servers = [\"10.1.0.2\", \"10.1.0.2\"]\n",
            "listed twice",
        ),
        ("health_url = \"http://10.1.0.2:8088/ok\"\n", "<IP>"),
        ("timeout = 5\n", "field `timeout`"),
        ("[tls]\nca_file = \"/nonexistent/ca.pem\"\n", "ca_file"),
        ("[local]\nenable = true\n", "enable"),
    ] {
        let path = dir.path().join("ic.toml");
        std::fs::write(&path, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_ic-server-probe"))
            .arg(format!("--config.file={}", path.display()))
            .arg("--config.check")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(
            err.contains(needle) && err.contains("ic.toml"),
            "{text}: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}
