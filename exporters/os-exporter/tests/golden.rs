//! Golden expositions: os-exporter's collectors run in-process on the fixture trees of
//! `tests/fixtures` and the whole exposition is compared with `tests/golden/<case>.prom`
//! (`UPDATE_GOLDEN=1 cargo test -p os-exporter --test golden` rewrites them after an intended
//! change). Also checks that the registry, the families each collector emits and the
//! `collector` column of `docs/metrics.md` agree.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::golden::{self, Emitted, Volatile};
use common::{Exporter as _, MetricFamily, SysPaths};
use os_exporter::OsExporter;
use suite_tests::TempDir;

/// The families whose values come from `statfs` of a real directory of the fixture tree, so
/// they depend on this machine's disk; their series (labels) are still compared.
const STATFS_OF_THE_FIXTURE_DIRECTORY: &[&str] = &[
    "os_filesystem_size_bytes",
    "os_filesystem_free_bytes",
    "os_filesystem_avail_bytes",
    "os_filesystem_files",
    "os_filesystem_files_free",
    "os_filesystem_usage",
    "os_filesystem_inode_usage",
    "os_disk_usage",
    "os_disk_inode_usage",
    // Real RTTs to loopback and the ping job's clock.
    "os_ping_gateway_seconds",
    "os_ping_internal_seconds",
    "os_ping_external_seconds",
    "os_ping_last_run_timestamp_seconds",
    "os_ping_last_run_duration_seconds",
    // A real chronyd on loopback: its offset and round trip, and this host's kernel clock flag.
    "os_ntp_offset_seconds",
    "os_ntp_server_offset_seconds",
    "os_ntp_server_rtt_seconds",
    "os_ntp_sync_abnormal",
    "os_ntp_sync_abnormal_cause",
    // The directories job's clock.
    "os_directories_last_run_timestamp_seconds",
    "os_directories_last_run_duration_seconds",
    // The kernel_log job's clock.
    "os_kernel_log_last_run_timestamp_seconds",
    "os_kernel_log_last_run_duration_seconds",
    // The sockets job's clock.
    "os_sockets_last_run_timestamp_seconds",
    "os_sockets_last_run_duration_seconds",
];

/// One golden case: a fixture tree and the config sections besides `[collectors]`.
struct Case {
    /// The fixture tree under `tests/fixtures` and the golden file's name.
    tree: &'static str,
    /// Config sections; `{audit}` becomes a journal path in the case's temp dir, `{state}` a
    /// state file in another one (the case's temp dir must stay empty).
    config: &'static str,
    /// Background jobs run once before the scrape (their collectors serve nothing before).
    jobs: &'static [&'static str],
}

/// The socket table is always read from the tree's files (netlink would read this host), and
/// the audit journal, when on, goes to a temp dir (its sampler job is not started).
const CASES: &[Case] = &[
    // 16 GB RAM with 1 GB of 4 GB swap used, conntrack at 25 %, one process and one socket; the
    // audit journal is on. One directories pass records the baseline of the tree's /etc (one
    // entry) and finds no /etc/ssh.
    Case {
        tree: "swap",
        config: r#"
[sockets]
source = "procfs"

[directories]
paths = ["/etc", "/etc/ssh"]
state_file = "{state}"

# Paths under the fixture tree's root (--path.rootfs), never the host's.
[[tomcat]]
name = "app"
server_xml = "/etc/tomcat10/server.xml"
access_log_dir = "/var/log/tomcat10"
pattern = '%h %l %u %t "%r" %s %b %D'
tomcat_version = "10.1.60"
count_existing = true
catalina_log = "/var/log/tomcat10/catalina.out"
application_properties = "/opt/cloud/app/conf/keystore/application.properties"

[audit]
enabled = true
path = "{audit}"
"#,
        jobs: &["directories", "sockets", "tomcat"],
    },
    // The bare capture: no swap, no conntrack module, and only loadavg, meminfo, stat and
    // uptime, so the collectors reading other files fail (success 0) and the audit is off.
    Case {
        tree: "noswap",
        config: r#"
[sockets]
source = "procfs"

[audit]
enabled = false
"#,
        jobs: &["sockets"],
    },
    // Offline CPUs, escaped and read-only mounts (tmpfs counted as partitions), ignored disks,
    // an interface without carrier, blocked socket queues, a D-state process, a fresh boot. One
    // kernel_log pass counting a captured /dev/kmsg buffer and messages file (kernel errors,
    // bad pmd); a disabled live patch. Three configured processes: systemd (4 fds of a soft
    // limit of 1024), the oddly named D-state process (unlimited), one that never runs.
    Case {
        tree: "ugly",
        config: r#"
[filesystem]
include_fs_types = ["tmpfs"]

[diskstats]
ignore_devices = ["sdc"]

[sockets]
source = "procfs"

[kernel_log]
kmsg_path = "{tree}/kmsg"
count_existing = true

[audit]
enabled = false

[[process]]
name = "systemd"
comm = ["systemd"]

[[process]]
name = "odd"
comm = ["my (odd) proc"]

[[process]]
name = "absent"
comm = ["nothing-runs-this"]
"#,
        jobs: &["kernel_log", "sockets", "process_cpu"],
    },
    // Routing state captured in a test namespace: eth0 up without an address, eth1 with its
    // policy route in table 100; two bonds, one with a slave down, one with none up.
    Case {
        tree: "net",
        config: r#"
[ping]
resource_tenant_subnets = ["192.168.0.0/16"]

[audit]
enabled = false
"#,
        jobs: &["sockets"],
    },
    // One messages pass over the tree's var/log/messages and one cron pass over var/log/cron
    // (history only: nothing appended after the pass started).
    // One ping pass over loopback: a gateway, an internal and an external peer from the tree's
    // /proc/net/tcp (the job pings the real loopback, so RTT values are masked). One ntp pass
    // asking a real chronyd on loopback (`{ntp}`) and a closed port (their ports masked).
    Case {
        tree: "ping",
        config: r#"
[sockets]
source = "procfs"

[ping]
resource_tenant_subnets = ["127.0.0.0/30"]
include_loopback = true
timeout = "2s"

[ntp]
servers = ["{ntp}", "127.0.0.1:{closed}"]
local_daemon = ""
timeout = "2s"

[audit]
enabled = false
"#,
        jobs: &["ping", "ntp", "messages", "cron", "sockets"],
    },
];

fn fixture(tree: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(tree)
}

fn case(tree: &str) -> &'static Case {
    CASES
        .iter()
        .find(|c| c.tree == tree)
        .unwrap_or_else(|| panic!("no case {tree}"))
}

/// The case's config, with `collectors` as its `[collectors]` table, `state` for `{state}` and
/// `ports` (NTP server, closed port) for `{ntp}` and `{closed}`.
fn config(
    case: &Case,
    tmp: &TempDir,
    state: &TempDir,
    collectors: &str,
    ports: (u16, u16),
) -> String {
    let audit = tmp.path().join("audit.jsonl");
    let state = state.path().join("directories.json");
    format!(
        "{collectors}\n{}",
        case.config
            .replace("{audit}", &audit.display().to_string())
            .replace("{ntp}", &format!("127.0.0.1:{}", ports.0))
            .replace("{closed}", &ports.1.to_string())
            .replace("{state}", &state.display().to_string())
            .replace("{tree}", &fixture(case.tree).display().to_string())
    )
}

/// Label values of the ntp families naming `port` name `token` instead, so the golden file does
/// not depend on it.
fn mask_port(families: &mut [MetricFamily], port: u16, token: &str) {
    let needle = format!(":{port}");
    for f in families
        .iter_mut()
        .filter(|f| f.name.starts_with("os_ntp_"))
    {
        for s in &mut f.samples {
            for (_, v) in &mut s.labels {
                if v.contains(&needle) {
                    *v = v.replace(&needle, token);
                }
            }
        }
    }
}

/// One scrape of `case` with `collectors` as the `[collectors]` table; a case asking an NTP
/// server gets a real chronyd for the scrape's duration when its ntp collector runs.
async fn scrape(case: &Case, collectors: &str) -> Vec<MetricFamily> {
    let tmp = TempDir::new("os-golden");
    let ntp_runs = case.config.contains("{ntp}") && !collectors.contains("\"ntp\"");
    // Its own directory: the case's must stay empty (a scrape writes no audit record).
    let chrony_dir = TempDir::new("os-golden-chrony");
    let chronyd = ntp_runs.then(|| {
        suite_tests::chrony::Chronyd::start(chrony_dir.path(), suite_tests::chrony::Mode::Local)
    });
    let closed = suite_tests::chrony::free_udp_port();
    // Without the ntp collector the placeholder still needs a valid port.
    let ntp_port = chronyd.as_ref().map_or(closed, |c| c.addr.port());
    let state = TempDir::new("os-golden-state");
    let mut families = golden::scrape_after_jobs::<OsExporter>(
        &config(case, &tmp, &state, collectors, (ntp_port, closed)),
        SysPaths::fixture(fixture(case.tree)),
        case.jobs,
    )
    .await
    .unwrap_or_else(|e| panic!("case {}: {e}", case.tree));
    drop(chronyd);
    if ntp_runs {
        mask_port(&mut families, ntp_port, ":<chronyd-port>");
        mask_port(&mut families, closed, ":<closed-port>");
    }
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "a scrape wrote the audit journal: {left:?}"
    );
    families
}

/// Scrapes `tree` with every collector and compares with its golden file.
async fn check_golden(tree: &str) {
    let families = scrape(case(tree), "").await;
    if let Err(e) = golden::compare_with_file(
        env!("CARGO_MANIFEST_DIR"),
        tree,
        &families,
        &Volatile::families(STATFS_OF_THE_FIXTURE_DIRECTORY),
    ) {
        panic!("{e}");
    }
}

#[tokio::test]
async fn swap() {
    check_golden("swap").await;
}

#[tokio::test]
async fn noswap() {
    check_golden("noswap").await;
}

#[tokio::test]
async fn ugly() {
    check_golden("ugly").await;
}

#[tokio::test]
async fn net() {
    check_golden("net").await;
}

#[tokio::test]
async fn ping() {
    check_golden("ping").await;
}

#[tokio::test]
async fn every_registered_collector_is_reported_by_some_case() {
    let mut scrapes = Vec::new();
    for case in CASES {
        scrapes.push(scrape(case, "").await);
    }
    // Every collector succeeds on at least one fixture tree.
    if let Err(e) = golden::check_coverage::<OsExporter>(&scrapes) {
        panic!("{e}");
    }
}

#[tokio::test]
async fn every_family_a_collector_emits_is_declared_in_its_registry_entry() {
    let mut emitted_somewhere = BTreeSet::new();
    for def in OsExporter::COLLECTORS {
        let collectors = golden::only_collector::<OsExporter>(def.name);
        for case in CASES {
            let families = scrape(case, &collectors).await;
            // A collector the case's config gives nothing to do (eth1_route without
            // resource-tenant subnets) is not built there.
            if golden::collector_successes(&families, OsExporter::SPEC.prefix).is_empty() {
                continue;
            }
            match golden::check_declared::<OsExporter>(def.name, &families, Emitted::Subset) {
                Ok(emitted) => emitted_somewhere.extend(emitted),
                Err(e) => panic!("case {}: {e}", case.tree),
            }
        }
    }
    // And no declaration is stale: each declared family shows on some fixture tree.
    if let Err(e) = golden::check_all_declared_emitted::<OsExporter>(&emitted_somewhere) {
        panic!("{e}");
    }
}

#[test]
fn the_metric_reference_names_each_familys_collector_and_file() {
    if let Err(e) = suite_tests::metric_reference::check_collector_column(
        "os-exporter",
        &golden::declared::<OsExporter>(),
    ) {
        panic!("{e}");
    }
}
