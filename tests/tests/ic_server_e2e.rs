//! ic-server-probe end to end: two fake IC-Servers on loopback answer `/ok`, the exporter probes
//! them (scrape mode and `/probe` mode) for a real Prometheus with every rule file loaded; the
//! test stops one IC-Server and sees `IcServerConnectFailed` fire with both languages rendered.
//! The local checks run against a process named `ic-server` and a `server.log` the test writes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use suite_tests::exporter::Exporter;
use suite_tests::prometheus::{Job, Prometheus, Setup};
use suite_tests::{TempDir, dashboards, metric_reference, promtool, workspace_root};

/// A fake IC-Server answering `GET /ok` with `ok`; stopped (port closed) on `stop` or drop.
struct FakeIcServer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeIcServer {
    fn start(listener: TcpListener) -> Self {
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                        let mut buf = [0u8; 2048];
                        let _ = s.read(&mut buf);
                        let _ = s.write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            // The listener drops here: the port now refuses connections, like a dead ic-server.
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for FakeIcServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A process whose name is `ic-server` (a copy of `sleep`), killed on drop.
struct FakeIcServerProcess(Child);

impl FakeIcServerProcess {
    fn start(dir: &std::path::Path) -> Self {
        let bin = dir.join("ic-server");
        std::fs::copy("/bin/sleep", &bin).unwrap();
        Self(
            Command::new(&bin)
                .arg("300")
                .stdin(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }
}

impl Drop for FakeIcServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Two loopback addresses sharing one free port (the URL template has one port).
fn two_listeners() -> (Ipv4Addr, Ipv4Addr, u16, TcpListener, TcpListener) {
    let pid = std::process::id();
    let a = Ipv4Addr::new(
        127,
        60 + u8::try_from(pid % 100).unwrap(),
        u8::try_from((pid / 100) % 250).unwrap(),
        1,
    );
    let b = Ipv4Addr::new(127, a.octets()[1], a.octets()[2], 2);
    for _ in 0..10 {
        let la = TcpListener::bind((a, 0)).unwrap();
        let port = la.local_addr().unwrap().port();
        if let Ok(lb) = TcpListener::bind((b, port)) {
            return (a, b, port, la, lb);
        }
    }
    panic!("no common free port on {a} and {b}");
}

#[test]
fn stopping_an_ic_server_fires_ic_server_connect_failed_in_real_prometheus() {
    let dir = TempDir::new("ic-server-e2e");
    let (a, b, port, la, lb) = two_listeners();
    let _up = FakeIcServer::start(la);
    let mut doomed = FakeIcServer::start(lb);
    let _process = FakeIcServerProcess::start(dir.path());
    let log = dir.path().join("server.log");
    std::fs::write(
        &log,
        "2026-11-21 20:00:00.000 INFO  [main] c.o.ic.Server - started\n",
    )
    .unwrap();

    let config = dir.path().join("ic.toml");
    std::fs::write(
        &config,
        format!(
            "ocp_address = \"10.0.0.1\"\nic_servers = [\"{a}\", \"{b}\"]\nhealth_url = \"http://<IP>:{port}/ok\"\n\
             timeout = \"500ms\"\nexpected_body = \"ok\"\n[local]\nenabled = true\nlog_file = \"{}\"\n",
            log.display()
        ),
    )
    .unwrap();
    let exporter = Exporter::start(
        "ic-server-probe",
        &[&format!("--config.file={}", config.display())],
    );

    let scrape = exporter.scrape();
    let health = |s: &str, ip: Ipv4Addr| {
        suite_tests::exporter::sample_value(
            s,
            "ic_server_health",
            &[("ic_server_address", &ip.to_string())],
        )
    };
    assert_eq!(health(&scrape, a), Some(1.0), "{scrape}");
    assert_eq!(health(&scrape, b), Some(1.0), "{scrape}");
    assert_eq!(
        suite_tests::exporter::sample_value(
            &scrape,
            "ic_server_process_running",
            &[("process", "ic-server")]
        ),
        Some(1.0)
    );

    let mut params = BTreeMap::new();
    params.insert("target".to_owned(), vec![b.to_string()]);
    params.insert("ocp_address".to_owned(), vec!["10.0.0.1".to_owned()]);
    let probe_job = Job {
        metrics_path: Some("/probe".to_owned()),
        params,
        ..Job::new("ic-server-blackbox-style", &[exporter.target()])
    };
    let prom = Prometheus::start(&Setup::with_jobs(vec![
        Job::new("ic-server", &[exporter.target()]),
        probe_job,
    ]));
    prom.wait_up("ic-server", Duration::from_secs(30));
    prom.wait_up("ic-server-blackbox-style", Duration::from_secs(30));
    prom.wait_for(
        "ic_server_health{job=\"ic-server-blackbox-style\"} == 1",
        Duration::from_secs(10),
        |r| r.len() == 1,
    );

    // An error line appended after start is counted.
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    writeln!(
        f,
        "2026-11-21 20:00:05.000 ERROR [tunnel-1] c.o.ic.Server - agent session lost"
    )
    .unwrap();

    doomed.stop();
    let alert = prom.wait_firing("IcServerConnectFailed", Duration::from_secs(150));
    let stopped = b.to_string();
    assert_eq!(
        alert.labels.get("ic_server_address"),
        Some(&stopped),
        "{alert:?}"
    );
    assert_eq!(
        alert.labels.get("ocp_address").map(String::as_str),
        Some("10.0.0.1")
    );
    assert_eq!(
        alert.labels.get("severity").map(String::as_str),
        Some("critical")
    );
    assert_eq!(
        alert.annotations.get("summary_zh").map(String::as_str),
        Some(format!("OCP 节点 10.0.0.1 无法连接 IC-Server {stopped}").as_str())
    );
    assert_eq!(
        alert.annotations.get("description").map(String::as_str),
        Some(format!("OCP node 10.0.0.1 cannot connect to IC-Server {stopped}").as_str())
    );
    let firing: Vec<_> = prom
        .alerts()
        .into_iter()
        .filter(|x| x.labels.get("alertname").map(String::as_str) == Some("IcServerConnectFailed"))
        .collect();
    assert_eq!(
        firing.len(),
        1,
        "only the stopped IC-Server alerts: {firing:?}"
    );

    // Both modes see the stopped one as refused.
    let reasons = prom.query(&format!(
        "ic_server_probe_failure{{ic_server_address=\"{stopped}\"}}"
    ));
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .all(|s| s.labels.get("reason").map(String::as_str) == Some("connection_refused"))
    );
    prom.wait_for(
        "ic_server_log_error_lines_total",
        Duration::from_secs(10),
        |r| r.first().is_some_and(|s| s.value == 1.0),
    );

    let scrape = exporter.scrape();
    if let Err(findings) = promtool::check_metrics(&scrape) {
        panic!("promtool check metrics:\n{findings}");
    }
    if let Err(e) = metric_reference::check_scrape("ic-server-probe", "ic_server", &[&scrape]) {
        panic!("{e}");
    }
    let dash = workspace_root().join("grafana-dashboards/ic-server-probe.json");
    if let Err(e) = dashboards::check_live(&prom, &dash, &[], Duration::from_secs(30)) {
        panic!("{e}");
    }
}
