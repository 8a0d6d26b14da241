//! Golden expositions of ic-server-probe, built in-process: the `health` collector against
//! fake IC-Servers on fixed loopback addresses (one per failure reason the probe can meet on
//! loopback), and the local checks on the fixture host tree (`tests/fixtures/host`: a fake
//! IC-Server JVM and its start script) with the fixture `server.log` appended after start.
//! `UPDATE_GOLDEN=1 cargo test -p ic-server-probe --test golden` rewrites `tests/golden/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::golden::{self, Emitted, Volatile};
use common::metrics::Value;
use common::{Context, Exporter as _, MetricFamily, ScrapeContext, SysPaths};
use ic_server_probe::IcServerProbe;
use suite_tests::TempDir;
use test_support::fake_http::{answer, read_request, serve_on};
use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

/// The probe's duration is real time on a real socket.
const VOLATILE: &[&str] = &["ic_server_probe_duration_seconds"];

fn fixture(rel: &str) -> PathBuf {
    Path::new(MANIFEST).join("tests/fixtures").join(rel)
}

fn compare(case: &str, families: &[MetricFamily]) {
    golden::compare_with_file(MANIFEST, case, families, &Volatile::families(VOLATILE))
        .unwrap_or_else(|e| panic!("{e}"));
}

/// How one fake IC-Server answers `GET /ok`.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    Healthy,
    ServerError,
    WrongBody,
    /// Nothing listens: the connection is refused.
    Refused,
    /// Accepts and never answers.
    Silent,
    /// A body past `max_body_bytes`.
    HugeBody,
    /// Not HTTP at all.
    Garbage,
    /// Reads the request and closes without a word.
    HangUp,
}

/// The fake IC-Servers, at `127.77.0.<n>` so the `ic_server_address` labels are fixed.
const SERVERS: &[(u8, Behaviour)] = &[
    (1, Behaviour::Healthy),
    (2, Behaviour::ServerError),
    (3, Behaviour::WrongBody),
    (4, Behaviour::Refused),
    (5, Behaviour::Silent),
    (6, Behaviour::HugeBody),
    (7, Behaviour::Garbage),
    (8, Behaviour::HangUp),
];

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 77, 0, last)
}

async fn behave(mut s: TcpStream, b: Behaviour) {
    match b {
        Behaviour::Healthy => answer(s, "200 OK", "ok").await,
        Behaviour::ServerError => answer(s, "500 Internal Server Error", "ok").await,
        Behaviour::WrongBody => answer(s, "200 OK", "starting").await,
        Behaviour::HugeBody => answer(s, "200 OK", &"o".repeat(200)).await,
        Behaviour::Refused => {}
        Behaviour::Silent => {
            read_request(&mut s).await;
            // Holds the socket open past every probe timeout of this file.
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        Behaviour::Garbage => {
            read_request(&mut s).await;
            let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n").await;
            let _ = s.shutdown().await;
        }
        Behaviour::HangUp => {
            read_request(&mut s).await;
        }
    }
}

/// Binds every server's address at one common port (the health URL template has one port);
/// the refused one is bound and dropped, so nothing listens there.
async fn start_servers() -> u16 {
    for _ in 0..10 {
        let first = TcpListener::bind((ip(SERVERS[0].0), 0)).await.unwrap();
        let port = first.local_addr().unwrap().port();
        let mut all = vec![first];
        for (last, _) in &SERVERS[1..] {
            match TcpListener::bind((ip(*last), port)).await {
                Ok(l) => all.push(l),
                Err(_) => break,
            }
        }
        if all.len() < SERVERS.len() {
            continue;
        }
        for ((_, b), l) in SERVERS.iter().zip(all) {
            if !matches!(b, Behaviour::Refused) {
                let b = *b;
                serve_on(l, move |s| behave(s, b));
            }
        }
        return port;
    }
    panic!("no port free on all of 127.77.0.1-8");
}

/// Every fake IC-Server probed from the fixture host (its hostname is the `ocp_address`), a
/// healthy answer being `ok` in at most 64 bytes.
fn health_config(port: u16, only: Option<&str>) -> String {
    let servers: Vec<String> = SERVERS
        .iter()
        .map(|(l, _)| format!("\"{}\"", ip(*l)))
        .collect();
    format!(
        "ic_servers = [{}]\nhealth_url = \"http://<IP>:{port}/ok\"\ntimeout = \"2s\"\n\
         expected_body = \"ok\"\nmax_body_bytes = 64\n{}",
        servers.join(", "),
        only_collector(only)
    )
}

/// The local checks on the fixture host, the log at `log_file` (under the rootfs).
fn local_config(process_name: &str, log_file: &str, only: Option<&str>) -> String {
    format!(
        "[local]\nenabled = true\nprocess_name = \"{process_name}\"\nlog_file = \"{log_file}\"\n{}",
        only_collector(only)
    )
}

/// `[collectors]` leaving only the collector `only`; empty for all.
fn only_collector(only: Option<&str>) -> String {
    only.map(golden::only_collector::<IcServerProbe>)
        .unwrap_or_default()
}

/// The fixture host's /proc with `rootfs` as its root filesystem.
fn host_paths(rootfs: &Path) -> SysPaths {
    SysPaths {
        rootfs: rootfs.to_path_buf(),
        ..SysPaths::fixture(fixture("host"))
    }
}

const LOG: &str = "/home/admin/logs/ic-server/server.log";

/// Case `local`: the exporter starts on a `server.log` that already holds the fixture's lines
/// (not counted: it follows from the end), scrapes, then the fixture's lines are appended once
/// more and the second scrape counts them. Returns both scrapes.
async fn local_scrapes(only: Option<&str>) -> (Vec<MetricFamily>, Vec<MetricFamily>) {
    let dir = TempDir::new("ic-golden-local");
    let log = dir.path().join(LOG.trim_start_matches('/'));
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    let lines = std::fs::read(fixture("server.log")).unwrap();
    // The fixture's last line has no newline: end it, so appended lines start on their own.
    let mut before = lines.clone();
    before.push(b'\n');
    std::fs::write(&log, &before).unwrap();

    let config = local_config("ic-server", LOG, only);
    let cfg = common::config::parse_toml(Path::new("golden.toml"), &config).unwrap();
    let ctx = Context {
        config_path: Some(PathBuf::from("golden.toml")),
        paths: host_paths(dir.path()),
        check_only: false,
        diagnose: false,
    };
    let assembled = common::cli::assemble::<IcServerProbe>(cfg, &ctx, Some(&config)).unwrap();
    let scrape = || {
        assembled
            .collectors
            .gather(ScrapeContext::with_timeout(Duration::from_secs(20)))
    };
    let first = scrape().await;
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(&mut f, &lines).unwrap();
    drop(f);
    let second = scrape().await;
    (first, second)
}

/// Case `no_ic_server_here`: the local checks on the fixture host for a process that does not
/// run, with a log file that does not exist.
async fn absent_scrape(only: Option<&str>) -> Vec<MetricFamily> {
    let config = local_config("ic-agent", "/home/admin/logs/ic-agent/server.log", only);
    golden::scrape::<IcServerProbe>(&config, SysPaths::fixture(fixture("host")))
        .await
        .unwrap()
}

async fn health_scrape(only: Option<&str>) -> Vec<MetricFamily> {
    let port = start_servers().await;
    golden::scrape::<IcServerProbe>(
        &health_config(port, only),
        SysPaths::fixture(fixture("host")),
    )
    .await
    .unwrap()
}

fn number(families: &[MetricFamily], family: &str, label: (&str, &str)) -> Option<f64> {
    golden::value(families, family, label)
}

/// The value of the sample without labels of `family`.
fn unlabelled(families: &[MetricFamily], family: &str) -> Option<f64> {
    families
        .iter()
        .find(|f| f.name == family)?
        .samples
        .iter()
        .find(|s| s.labels.is_empty())
        .and_then(|s| match s.value {
            Value::Number(n) => Some(n),
            Value::Histogram { .. } => None,
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health() {
    let families = health_scrape(None).await;
    // The cases the golden file must show, stated once more by hand.
    let want = [
        (1, 1.0, 200.0, None),
        (2, 0.0, 500.0, Some("http_status")),
        (3, 0.0, 200.0, Some("body_mismatch")),
        (4, 0.0, 0.0, Some("connection_refused")),
        (5, 0.0, 0.0, Some("timeout")),
        (6, 0.0, 200.0, Some("body_too_large")),
        (7, 0.0, 0.0, Some("http_protocol")),
        (8, 0.0, 0.0, Some("connection_reset")),
    ];
    for (last, health, code, reason) in want {
        let a = ip(last).to_string();
        let l = ("ic_server_address", a.as_str());
        assert_eq!(
            number(&families, "ic_server_health", l),
            Some(health),
            "{a}"
        );
        assert_eq!(
            number(&families, "ic_server_probe_http_status_code", l),
            Some(code),
            "{a}"
        );
        let failure = families
            .iter()
            .find(|f| f.name == "ic_server_probe_failure")
            .and_then(|f| {
                f.samples
                    .iter()
                    .find(|s| s.labels.iter().any(|(k, v)| k == l.0 && v == l.1))
            })
            .and_then(|s| s.labels.iter().find(|(k, _)| k == "reason"))
            .map(|(_, r)| r.as_str());
        assert_eq!(failure, reason, "{a}");
    }
    compare("health", &families);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local() {
    let (first, second) = local_scrapes(None).await;
    // Lines already in the log at start are not counted.
    assert_eq!(unlabelled(&first, "ic_server_log_lines_total"), Some(0.0));
    // The fixture holds 9 complete lines (the last has no newline), 3 with an error keyword.
    assert_eq!(unlabelled(&second, "ic_server_log_lines_total"), Some(9.0));
    assert_eq!(
        unlabelled(&second, "ic_server_log_error_lines_total"),
        Some(3.0)
    );
    let running = ("process", "ic-server");
    assert_eq!(
        number(&second, "ic_server_process_running", running),
        Some(1.0)
    );
    // The JVM and its start script; not the probe itself.
    assert_eq!(number(&second, "ic_server_processes", running), Some(2.0));
    compare("local", &second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_ic_server_here() {
    compare("no_ic_server_here", &absent_scrape(None).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_registered_collector_is_reported_by_some_case() {
    let cases = [
        health_scrape(None).await,
        local_scrapes(None).await.1,
        absent_scrape(None).await,
    ];
    golden::check_coverage::<IcServerProbe>(&cases).unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_family_a_collector_emits_is_declared_in_its_registry_entry() {
    for def in IcServerProbe::COLLECTORS {
        let families = match def.name {
            "health" => health_scrape(Some(def.name)).await,
            _ => local_scrapes(Some(def.name)).await.1,
        };
        golden::check_ran_cleanly::<IcServerProbe>(def.name, &families)
            .unwrap_or_else(|e| panic!("{e}"));
        // Each declared family shows up in the fixture case chosen for this collector.
        let emitted =
            golden::check_declared::<IcServerProbe>(def.name, &families, Emitted::Exactly)
                .unwrap_or_else(|e| panic!("{e}"));
        assert!(!emitted.is_empty(), "{} emitted nothing", def.name);
    }
}

#[test]
fn the_metric_reference_names_each_familys_collector_and_file() {
    suite_tests::metric_reference::check_collector_column(
        "ic-server-probe",
        &golden::declared::<IcServerProbe>(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
}
