//! Golden expositions of etcd-probe: every collector runs in-process on a fixture tree and, for
//! the `cluster` collector, against fake members on loopback that answer with the captured etcd
//! 3.4 responses of `tests/fixtures`. `UPDATE_GOLDEN=1` rewrites `tests/golden/*.prom`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::golden::{self, Emitted, Volatile};
use common::{Exporter as _, MetricFamily, SysPaths};
use etcd_probe::EtcdProbe;
use test_support::fake_http::{read_request, response, serve};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn fixture(name: &str) -> String {
    let path = fixtures().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The client URLs the fixtures were captured with (`gateway-member-list.json`).
const M1_URL: &str = "http://127.0.0.1:23010";
const M2_URL: &str = "http://127.0.0.1:23020";
const M3_URL: &str = "http://127.0.0.1:23030";

/// A loopback port nothing listens on (tcpmux, privileged): connecting is refused at once.
const CLOSED: &str = "http://127.0.0.1:1";

/// The `/health` answer of every member while the NOSPACE alarm is raised (see `src/health.rs`).
const HEALTH_FALSE: &str = r#"{"health":"false"}"#;

/// Reads one request whole (head and `Content-Length` body, so closing sends no reset) and
/// returns its request line.
async fn request_line(stream: &mut TcpStream) -> String {
    let head = read_request(stream).await;
    let (head_only, body_start) = head.split_once("\r\n\r\n").unwrap_or((&head, ""));
    let length: usize = head_only
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut rest = vec![0u8; length.saturating_sub(body_start.len())];
    let _ = stream.read_exact(&mut rest).await;
    head.lines().next().unwrap_or_default().to_owned()
}

async fn send(mut stream: TcpStream, status: &str, body: &str) {
    let _ = stream.write_all(response(status, body).as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Member m1 after scenario 4 of the capture (NOSPACE raised), answering every call of the probe
/// from the fixtures; its member list names `m1` at its own address and m2, m3 at `others`.
async fn serve_m1(others: SocketAddr) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let me = listener.local_addr().unwrap();
    let members = fixture("gateway-member-list.json")
        .replace(M1_URL, &format!("http://{me}"))
        .replace(M2_URL, &format!("http://{others}"))
        .replace(M3_URL, &format!("http://{others}"));
    let answers: Arc<Vec<(&str, String)>> = Arc::new(vec![
        ("GET /health ", HEALTH_FALSE.to_owned()),
        ("GET /metrics ", fixture("etcd-3.4.23-metrics.txt")),
        (
            "GET /version ",
            r#"{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}"#.to_owned(),
        ),
        (
            "POST /v3/maintenance/status ",
            fixture("gateway-status-nospace.json"),
        ),
        ("POST /v3/cluster/member/list ", members),
        ("POST /v3/kv/range ", fixture("gateway-range-count.json")),
    ]);
    test_support::fake_http::serve_on(listener, move |mut s| {
        let answers = Arc::clone(&answers);
        async move {
            let line = request_line(&mut s).await;
            match answers.iter().find(|(p, _)| line.starts_with(p)) {
                Some((_, body)) => send(s, "200 OK", body).await,
                None => send(s, "404 Not Found", "404 page not found\n").await,
            }
        }
    });
    me
}

/// Members m2 and m3 (one address for both): only their `/health` is asked; counts the asks.
async fn serve_others(asked: Arc<AtomicUsize>) -> SocketAddr {
    serve(move |mut s| {
        let asked = Arc::clone(&asked);
        async move {
            let line = request_line(&mut s).await;
            if line.starts_with("GET /health ") {
                asked.fetch_add(1, Ordering::SeqCst);
                send(s, "200 OK", HEALTH_FALSE).await;
            } else {
                send(s, "404 Not Found", "404 page not found\n").await;
            }
        }
    })
    .await
}

/// A fresh directory of this test process for one case.
fn temp_root(case: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("etcd-probe-golden-{case}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(root: &Path, rel: &str, content: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, content).unwrap();
}

fn chmod(root: &Path, rel: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(root.join(rel), std::fs::Permissions::from_mode(mode)).unwrap();
}

/// What the local checks need of a host. Built at test time: git keeps neither directory modes
/// nor empty directories.
struct Host {
    /// Mode of `/var/lib/etcd`, or no data directory.
    data_dir_mode: Option<u32>,
    /// Mode of `/usr/bin/etcd`, or no binary.
    binary_mode: Option<u32>,
    /// Manual-stop markers present in `/opt/gauss/bin`.
    markers: &'static [&'static str],
    /// Whether an etcd process (pid 2741, `--name m1`) runs.
    etcd_running: bool,
    /// Fixture logs copied to `/var/log/etcd/<name>.log`, as `(log name, fixture file)`.
    logs: &'static [(&'static str, &'static str)],
}

/// The boot time of the fake host, and its etcd's start 13.37 s later (1337 ticks at 100 Hz).
const PROC_STAT: &str =
    "cpu  4705 356 1712 462835 2137 0 61 0 0 0\nbtime 1700000000\nprocesses 5012\n";
const ETCD_STAT: &str = "2741 (etcd) S 1 2741 2741 0 -1 1077936384 14210 0 32 0 1204 377 0 0 20 0 14 0 1337 11787436032 9873 18446744073709551615 1 1 0 0 0 0 0 0 2143420159 0 0 0 17 1 0 0 9 0 0 0 0 0 0 0 0 0 0\n";

fn build_host(root: &Path, host: &Host) {
    write(root, "proc/stat", PROC_STAT.as_bytes());
    // Another process, so the walk has something not to match.
    write(root, "proc/1/comm", b"systemd\n");
    write(root, "proc/1/cmdline", b"/sbin/init\0");
    if host.etcd_running {
        write(root, "proc/2741/comm", b"etcd\n");
        write(
            root,
            "proc/2741/cmdline",
            b"/usr/bin/etcd\0--name\0m1\0--data-dir\0/var/lib/etcd\0",
        );
        write(root, "proc/2741/stat", ETCD_STAT.as_bytes());
    }
    if let Some(mode) = host.data_dir_mode {
        write(root, "var/lib/etcd/member/snap/db", b"");
        chmod(root, "var/lib/etcd", mode);
    }
    if let Some(mode) = host.binary_mode {
        write(root, "usr/bin/etcd", b"#!/bin/sh\n");
        chmod(root, "usr/bin/etcd", mode);
    }
    std::fs::create_dir_all(root.join("opt/gauss/bin")).unwrap();
    for m in host.markers {
        write(root, &format!("opt/gauss/bin/{m}"), b"");
    }
    for (name, file) in host.logs {
        write(
            root,
            &format!("var/log/etcd/{name}.log"),
            fixture(file).as_bytes(),
        );
    }
}

/// One golden case: a host, the endpoints to probe and what the scrape gave.
struct Case {
    name: &'static str,
    host: Host,
    /// `None`: the fake members of [`serve_m1`]; otherwise these URLs.
    endpoints: Option<&'static [&'static str]>,
}

/// The statfs of the temporary directory holding the data directory is this machine's.
const VOLATILE: &[&str] = &[
    "etcd_data_dir_filesystem_size_bytes",
    "etcd_data_dir_filesystem_avail_bytes",
    "etcd_data_dir_filesystem_used_ratio",
];

/// NOSPACE seen from member m1 (the fixtures' scenario 4) on a sound installation; the 3.4
/// capnslog logs of m1 and m2.
fn nospace_case() -> Case {
    Case {
        name: "nospace_cluster_on_a_sound_host",
        host: Host {
            data_dir_mode: Some(0o700),
            binary_mode: Some(0o755),
            markers: &[],
            etcd_running: true,
            logs: &[
                ("etcd_m1", "etcd-3.4.23-capnslog-m1.log"),
                ("etcd_m2", "etcd-3.4.23-capnslog-m2.log"),
            ],
        },
        endpoints: None,
    }
}

/// Members that refuse connections on a host where etcd was stopped by hand and its
/// installation is damaged; the zap (JSON) logs of m1 and m2.
fn unreachable_case() -> Case {
    Case {
        name: "unreachable_members_on_a_damaged_host",
        host: Host {
            data_dir_mode: Some(0o755),
            binary_mode: Some(0o644),
            markers: &["etcd_manual_start"],
            etcd_running: false,
            logs: &[
                ("etcd_m1", "etcd-3.4.23-zap-m1.log"),
                ("etcd_m2", "etcd-3.4.23-zap-m2.log"),
            ],
        },
        endpoints: Some(&[CLOSED]),
    }
}

/// A host where etcd was never installed: no data directory, no binary, no process, and the one
/// configured log does not exist.
fn nothing_installed_case() -> Case {
    Case {
        name: "nothing_installed",
        host: Host {
            data_dir_mode: None,
            binary_mode: None,
            markers: &[],
            etcd_running: false,
            logs: &[],
        },
        endpoints: Some(&[CLOSED]),
    }
}

fn cases() -> Vec<Case> {
    vec![nospace_case(), unreachable_case(), nothing_installed_case()]
}

/// The configuration of a case, every collector on (`extra` is appended, e.g. `[collectors]`).
fn config(case: &Case, endpoints: &[String], state_file: &Path, extra: &str) -> String {
    let mut logs = String::new();
    for (name, _) in case.host.logs {
        logs.push_str(&format!(
            "[[logs]]\nname = \"{name}\"\npath = \"/var/log/etcd/{name}.log\"\nfrom_beginning = true\n"
        ));
    }
    if case.host.logs.is_empty() {
        logs.push_str(
            "[[logs]]\nname = \"etcd\"\npath = \"/var/log/etcd/etcd.log\"\nfrom_beginning = true\n",
        );
    }
    let endpoints: Vec<String> = endpoints.iter().map(|e| format!("{e:?}")).collect();
    format!(
        "endpoints = [{}]\nrequest_timeout = \"5s\"\nstate_file = {:?}\n\n\
         [local]\ndata_dir = \"/var/lib/etcd\"\nbinary = \"/usr/bin/etcd\"\n\
         marker_dir = \"/opt/gauss/bin\"\nprocess_cmdline_contains = \"--name m1\"\n\n{logs}\n{extra}",
        endpoints.join(", "),
        state_file.display().to_string(),
    )
}

/// What one scrape of a case gave: the families and the rendering with the fake members'
/// loopback ports replaced by the captured URLs.
struct Scraped {
    families: Vec<MetricFamily>,
    rendered: String,
    /// `/health` requests that reached m2 and m3.
    others_asked: usize,
}

async fn scrape(case: &Case, tag: &str, extra: &str) -> Scraped {
    let root = temp_root(&format!("{}{tag}", case.name));
    build_host(&root, &case.host);
    let asked = Arc::new(AtomicUsize::new(0));
    let (endpoints, m1) = match case.endpoints {
        Some(urls) => (urls.iter().map(|u| (*u).to_owned()).collect(), None),
        None => {
            let others = serve_others(Arc::clone(&asked)).await;
            let m1 = serve_m1(others).await;
            (vec![format!("http://{m1}")], Some(m1))
        }
    };
    let state = root.join("state/state.json");
    let cfg = config(case, &endpoints, &state, extra);
    let families = golden::scrape::<EtcdProbe>(&cfg, SysPaths::fixture(&root))
        .await
        .unwrap_or_else(|e| panic!("{}: {e}\n{cfg}", case.name));
    let mut rendered = golden::render(&families, &Volatile::families(VOLATILE));
    if let Some(m1) = m1 {
        rendered = rendered.replace(&format!("http://{m1}"), M1_URL);
    }
    let _ = std::fs::remove_dir_all(&root);
    Scraped {
        families,
        rendered,
        others_asked: asked.load(Ordering::SeqCst),
    }
}

async fn check_golden(case: Case) -> Scraped {
    let scraped = scrape(&case, "", "").await;
    let file = golden::case_file(env!("CARGO_MANIFEST_DIR"), case.name);
    if let Err(e) = golden::check(&file, &scraped.rendered) {
        panic!("{e}");
    }
    scraped
}

fn value(s: &Scraped, family: &str, label: (&str, &str)) -> Option<f64> {
    golden::value(&s.families, family, label)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nospace_cluster_on_a_sound_host() {
    let s = check_golden(nospace_case()).await;
    // m2 and m3 are not configured, so their /health is asked at their listed client URL.
    assert_eq!(s.others_asked, 2);
    assert_eq!(
        value(&s, "etcd_cluster_alarm_active", ("alarm", "NOSPACE")),
        Some(1.0)
    );
    // The captured member's own series, under the URL it was captured at.
    assert!(
        s.rendered.contains(
            "etcd_server_quota_backend_bytes{endpoint=\"http://127.0.0.1:23010\"} 2000000\n"
        ),
        "{}",
        s.rendered
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_members_on_a_damaged_host() {
    let s = check_golden(unreachable_case()).await;
    assert_eq!(
        value(
            &s,
            "etcd_endpoint_probe_failure",
            ("reason", "connection_refused")
        ),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_installed() {
    let s = check_golden(nothing_installed_case()).await;
    // A log that does not exist yet is read as empty, not as a failure of the collector.
    assert_eq!(
        value(
            &s,
            "etcd_scrape_collector_success",
            ("collector", "log_causes")
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "etcd_log_lines_total", ("log", "etcd")),
        Some(0.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_registered_collector_is_reported_by_some_case() {
    let mut scrapes = Vec::new();
    for case in cases() {
        scrapes.push(scrape(&case, "-coverage", "").await.families);
    }
    golden::check_coverage::<EtcdProbe>(&scrapes).unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_family_a_collector_emits_is_declared_in_its_registry_entry() {
    for def in EtcdProbe::COLLECTORS {
        let only = golden::only_collector::<EtcdProbe>(def.name);
        for case in cases() {
            let tag = format!("-only-{}", def.name);
            let s = scrape(&case, &tag, &only).await;
            if let Err(e) =
                golden::check_declared::<EtcdProbe>(def.name, &s.families, Emitted::Subset)
            {
                panic!("{}: {e}", case.name);
            }
        }
    }
}

#[test]
fn the_metric_reference_names_each_familys_collector_and_file() {
    suite_tests::metric_reference::check_collector_column(
        "etcd-probe",
        &golden::declared::<EtcdProbe>(),
    )
    .unwrap();
}
