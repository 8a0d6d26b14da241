//! Golden expositions of keepalived-exporter over its captured fixtures (`tests/fixtures/`, see its
//! README): the whole scrape of each case is compared with `tests/golden/<case>.prom`
//! (`UPDATE_GOLDEN=1` rewrites them after an intended change).
//!
//! No keepalived runs in these cases: the pid file and the fixture `/proc` do not exist, so the
//! `vrrp` collector reports the configured instances without signalling anything, and
//! `keepalived_bin` names a path that does not exist, so no keepalived binary is ever executed.
//! The only peer pinged is 127.0.0.1, and ARP probing is off.

// Test set-up helpers outside `#[test]` functions fail the test by panicking.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};

use common::golden::{self, Emitted, Volatile};
use common::{Exporter as _, MetricFamily, SysPaths};
use keepalived_exporter::KeepalivedExporter;
use suite_tests::TempDir;

/// Families whose values differ from run to run: the loopback ping's round-trip time.
const VOLATILE: &[&str] = &["keepalived_peer_rtt_seconds"];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// An `ip` stand-in that prints the captured `ip -j addr show` (`tests/fixtures/ip-addr.json`).
fn fake_ip(dir: &TempDir) -> String {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.path().join("ip");
    let json = fixtures().join("ip-addr.json");
    std::fs::write(&path, format!("#!/bin/sh\nexec cat '{}'\n", json.display())).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

/// The settings every case shares: fixture files under `tests/fixtures/` (the root), no keepalived.
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
    let dir = TempDir::new("keepalived-golden-node_b");
    let ip = fake_ip(&dir);
    Case {
        name: "node_b_holding_the_vip",
        config: config("keepalived-2.2.7-b.console.log", &ip, ""),
        _dir: dir,
    }
}

/// Node a's console log; `ip` cannot be run, so the VIP check fails.
fn node_a_without_ip() -> Case {
    let dir = TempDir::new("keepalived-golden-node_a");
    Case {
        name: "node_a_without_ip",
        config: config("keepalived-2.2.7-a.console.log", "/nonexistent/ip", ""),
        _dir: dir,
    }
}

/// keepalived 1.x syslog lines, with dumps turned off (`dump = "none"`: no `vrrp` collector).
fn keepalived_1x_log_without_dumps() -> Case {
    let dir = TempDir::new("keepalived-golden-1x");
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
    golden::scrape::<KeepalivedExporter>(config, SysPaths::fixture(fixtures()))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn check(case: Case) {
    let families = scrape(&case.config).await;
    if let Err(e) = golden::compare_with_file(
        env!("CARGO_MANIFEST_DIR"),
        case.name,
        &families,
        &Volatile::families(VOLATILE),
    ) {
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

#[tokio::test]
async fn every_registered_collector_is_reported_by_some_case() {
    let mut scrapes = Vec::new();
    for case in cases() {
        scrapes.push(scrape(&case.config).await);
    }
    if let Err(e) = golden::check_coverage::<KeepalivedExporter>(&scrapes) {
        panic!("{e}");
    }
}

#[tokio::test]
async fn every_family_a_collector_emits_is_declared_in_its_registry_entry() {
    let dir = TempDir::new("keepalived-golden-declared");
    let ip = fake_ip(&dir);
    for def in KeepalivedExporter::COLLECTORS {
        let cfg = config(
            "keepalived-2.2.7-b.console.log",
            &ip,
            &golden::only_collector::<KeepalivedExporter>(def.name),
        );
        assert_eq!(
            golden::selected::<KeepalivedExporter>(&cfg).unwrap(),
            [def.name]
        );
        let families = scrape(&cfg).await;
        if let Err(e) = golden::check_ran_cleanly::<KeepalivedExporter>(def.name, &families) {
            panic!("{e}");
        }
        match golden::check_declared::<KeepalivedExporter>(def.name, &families, Emitted::Subset) {
            Ok(emitted) => assert!(
                !emitted.is_empty(),
                "collector {} emitted nothing",
                def.name
            ),
            Err(e) => panic!("{e}"),
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
