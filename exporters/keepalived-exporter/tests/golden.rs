//! Golden expositions of keepalived-exporter over its captured fixtures (`testdata/`, see its
//! README): the whole scrape of each case is compared with `tests/golden/<case>.prom`
//! (`UPDATE_GOLDEN=1` rewrites them after an intended change).
//!
//! No keepalived runs in these cases: the pid file and the fixture `/proc` do not exist, so the
//! `vrrp` collector reports the configured instances without signalling anything, and
//! `keepalived_bin` names a path that does not exist, so no keepalived binary is ever executed.
//! The only peer pinged is 127.0.0.1, and ARP probing is off.

// Test set-up helpers outside `#[test]` functions fail the test by panicking.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::golden::{self, Volatile};
use common::{Exporter as _, MetricFamily, SysPaths};
use keepalived_exporter::KeepalivedExporter;

/// Families whose values differ from run to run: the loopback ping's round-trip time.
const VOLATILE: &[&str] = &["keepalived_peer_rtt_seconds"];

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

fn golden_file(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{case}.prom"))
}

/// A temporary directory of this test process, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    /// Unique per call: tests run in parallel in one process and may build the same case.
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "keepalived-golden-{}-{name}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An `ip` stand-in that prints the captured `ip -j addr show` (`testdata/ip-addr.json`).
fn fake_ip(dir: &TempDir) -> String {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.0.join("ip");
    let json = testdata().join("ip-addr.json");
    std::fs::write(&path, format!("#!/bin/sh\nexec cat '{}'\n", json.display())).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

/// The settings every case shares: fixture files under `testdata/` (the root), no keepalived.
fn config(log_file: &str, ip_bin: &str, extra: &str) -> String {
    format!(
        r#"
log_file = "/{log_file}"
log_start = "beginning"
keepalived_conf = "/keepalived-a.conf"
pid_file = "/keepalived.pid"
keepalived_bin = "/nonexistent/keepalived"
ip_bin = "{ip_bin}"
arp_probe = false
peers = ["127.0.0.1"]
{extra}
"#
    )
}

/// One golden case: its name and configuration.
struct Case {
    name: &'static str,
    config: String,
    /// Keeps the fake `ip` alive while the case runs.
    _dir: TempDir,
}

/// Node b's console log over the whole capture, with the interface addresses of a node holding
/// the VIP while keepalived is down (a VIP left behind).
fn node_b_holding_the_vip() -> Case {
    let dir = TempDir::new("node_b");
    let ip = fake_ip(&dir);
    Case {
        name: "node_b_holding_the_vip",
        config: config("keepalived-2.2.7-b.console.log", &ip, ""),
        _dir: dir,
    }
}

/// Node a's console log; `ip` cannot be run, so the VIP check fails.
fn node_a_without_ip() -> Case {
    let dir = TempDir::new("node_a");
    Case {
        name: "node_a_without_ip",
        config: config("keepalived-2.2.7-a.console.log", "/nonexistent/ip", ""),
        _dir: dir,
    }
}

/// keepalived 1.x syslog lines, with dumps turned off (`dump = "none"`: no `vrrp` collector).
fn keepalived_1x_log_without_dumps() -> Case {
    let dir = TempDir::new("1x");
    Case {
        name: "keepalived_1x_log_without_dumps",
        config: config(
            "keepalived-1.x.messages",
            "/nonexistent/ip",
            "dump = \"none\"",
        ),
        _dir: dir,
    }
}

fn cases() -> Vec<Case> {
    vec![
        node_b_holding_the_vip(),
        node_a_without_ip(),
        keepalived_1x_log_without_dumps(),
    ]
}

async fn scrape(config: &str) -> Vec<MetricFamily> {
    golden::scrape::<KeepalivedExporter>(config, SysPaths::fixture(testdata()))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn check(case: Case) {
    let families = scrape(&case.config).await;
    let rendered = golden::render(&families, &Volatile::families(VOLATILE));
    if let Err(e) = golden::check(&golden_file(case.name), &rendered) {
        panic!("{e}");
    }
}

#[tokio::test]
async fn node_b_holding_the_vip_matches_its_golden_file() {
    check(node_b_holding_the_vip()).await;
}

#[tokio::test]
async fn node_a_without_ip_matches_its_golden_file() {
    check(node_a_without_ip()).await;
}

#[tokio::test]
async fn keepalived_1x_log_without_dumps_matches_its_golden_file() {
    check(keepalived_1x_log_without_dumps()).await;
}

/// `(collector, success)` of every `keepalived_scrape_collector_success` sample.
fn collector_success(families: &[MetricFamily]) -> Vec<(String, f64)> {
    families
        .iter()
        .filter(|f| f.name == "keepalived_scrape_collector_success")
        .flat_map(|f| &f.samples)
        .filter_map(|s| {
            let name = s.labels.iter().find(|(k, _)| k == "collector")?.1.clone();
            match s.value {
                common::metrics::Value::Number(v) => Some((name, v)),
                common::metrics::Value::Histogram { .. } => None,
            }
        })
        .collect()
}

#[tokio::test]
async fn every_registered_collector_is_reported_by_some_case() {
    let registered: BTreeSet<&str> = KeepalivedExporter::COLLECTORS
        .iter()
        .map(|d| d.name)
        .collect();
    let mut reported = BTreeSet::new();
    let mut succeeded = BTreeSet::new();
    for case in cases() {
        for (name, v) in collector_success(&scrape(&case.config).await) {
            if v == 1.0 {
                succeeded.insert(name.clone());
            }
            reported.insert(name);
        }
    }
    let reported: BTreeSet<&str> = reported.iter().map(String::as_str).collect();
    let succeeded: BTreeSet<&str> = succeeded.iter().map(String::as_str).collect();
    assert_eq!(reported, registered);
    assert_eq!(succeeded, registered);
}

/// Families the skeleton adds around the collectors, not declared by any of them.
fn from_common(family: &str) -> bool {
    family.starts_with("keepalived_scrape_collector_")
        || family.contains("_audit_")
        || family.contains("_last_run_")
        || family.ends_with("_build_info")
        || family.starts_with("process_")
}

#[tokio::test]
async fn every_family_a_collector_emits_is_declared_in_its_registry_entry() {
    let dir = TempDir::new("declared");
    let ip = fake_ip(&dir);
    for def in KeepalivedExporter::COLLECTORS {
        let others: Vec<String> = KeepalivedExporter::COLLECTORS
            .iter()
            .filter(|d| d.name != def.name)
            .map(|d| format!("{:?}", d.name))
            .collect();
        let cfg = config(
            "keepalived-2.2.7-b.console.log",
            &ip,
            &format!("[collectors]\ndisabled = [{}]", others.join(", ")),
        );
        assert_eq!(
            golden::selected::<KeepalivedExporter>(&cfg).unwrap(),
            [def.name]
        );
        let families = scrape(&cfg).await;
        assert_eq!(
            collector_success(&families),
            [(def.name.to_owned(), 1.0)],
            "collector {} did not run cleanly",
            def.name
        );
        let declared: Vec<&str> = def.metrics.iter().map(|m| m.name).collect();
        let emitted: Vec<&str> = families
            .iter()
            .map(|f| f.name.as_str())
            .filter(|n| !from_common(n))
            .collect();
        assert!(
            !emitted.is_empty(),
            "collector {} emitted nothing",
            def.name
        );
        for name in emitted {
            assert!(
                declared.contains(&name),
                "collector {} emits {name}, which its DEF.metrics does not declare",
                def.name
            );
        }
    }
}

#[test]
fn the_metric_reference_names_each_familys_collector_and_file() {
    if let Err(e) = suite_tests::metric_reference::check_collector_column(
        "keepalived-exporter",
        &golden::declared::<KeepalivedExporter>(),
    ) {
        panic!("{e}");
    }
}
