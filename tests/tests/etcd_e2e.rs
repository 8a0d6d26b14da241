//! etcd-probe end to end against a real 3-member etcd cluster (Debian's etcd-server 3.4) on
//! loopback: healthy; a SIGKILLed member (down, peers log `connection refused`); a SIGSTOPped one
//! (`i/o timeout`); a paused leader (late heartbeats); two members down (no leader, no quorum);
//! a restore from an older snapshot (data loss, remembered across a probe restart); a NOSPACE
//! alarm; a data directory with mode 0755 and a manual-stop marker. One cluster is shared by the
//! scenarios, which run in order and each restore the cluster to health before the next.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use suite_tests::etcd_cluster::{ClientTls, EtcdCluster, Logger, Options};
use suite_tests::exporter::{Exporter, sample_value};
use suite_tests::prometheus::{Job, Prometheus, Setup};
use suite_tests::{TempDir, dashboards, metric_reference, promtool, wait_until, workspace_root};

/// Writes `<name>.toml` for a probe of `cluster` (all members, or only the first with
/// `local_only`), with every member's log classified and local checks on member 1.
fn probe_config(
    cluster: &EtcdCluster,
    dir: &Path,
    data_dir: &Path,
    name: &str,
    local_only: bool,
) -> std::path::PathBuf {
    let all = cluster.endpoints();
    let configured = if local_only { &all[..1] } else { &all[..] };
    let endpoints: Vec<String> = configured.iter().map(|e| format!("\"{e}\"")).collect();
    let mut cfg = format!(
        "endpoints = [{}]\nrequest_timeout = \"2s\"\nstate_file = \"{}\"\n\n[local]\ndata_dir = \"{}\"\nbinary = \"/usr/bin/etcd\"\n\
         marker_dir = \"{}\"\nprocess_cmdline_contains = \"--name {} \"\n",
        endpoints.join(", "),
        dir.join(format!("{name}-state.json")).display(),
        data_dir.display(),
        dir.join("gausslog-bin").display(),
        cluster.name(0),
    );
    for i in 0..cluster.len() {
        cfg.push_str(&format!(
            "\n[[logs]]\nname = \"{}\"\npath = \"{}\"\nfrom_beginning = true\n",
            cluster.name(i),
            cluster.log_path(i).display()
        ));
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, cfg).unwrap();
    std::fs::create_dir_all(dir.join("gausslog-bin")).unwrap();
    path
}

/// Sum of a log-cause counter over the logs of the given members.
fn cause_sum(exporter: &Exporter, logs: &[&str], detail: &str) -> f64 {
    let scrape = exporter.scrape();
    logs.iter()
        .filter_map(|l| {
            sample_value(
                &scrape,
                "etcd_log_cause_total",
                &[("log", l), ("detail", detail)],
            )
        })
        .sum()
}

fn wait_cause(
    exporter: &Exporter,
    logs: &[&str],
    detail: &str,
    above: f64,
    timeout: Duration,
) -> f64 {
    wait_until(
        &format!("log cause {detail} above {above} in {logs:?}"),
        timeout,
        || {
            let v = cause_sum(exporter, logs, detail);
            (v > above).then_some(v)
        },
    )
}

/// Waits (at most 10 s) until `etcd_health{endpoint}` is 0.
fn wait_unhealthy(exporter: &Exporter, what: &str, endpoint: &[(&str, &str)]) {
    exporter.wait_sample(
        what,
        Duration::from_secs(10),
        "etcd_health",
        endpoint,
        |v| v == 0.0,
    );
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn real_etcd_cluster_failures_are_detected_and_classified() {
    let dir = TempDir::new("etcd-e2e");
    let mut cluster = EtcdCluster::start(
        3,
        Options {
            quota_backend_bytes: Some(3_000_000),
            ..Options::default()
        },
    );
    let config = probe_config(&cluster, dir.path(), &cluster.data_dir(0), "probe", false);
    let config_arg = format!("--config.file={}", config.display());
    let exporter = Exporter::start("etcd-probe", &[&config_arg]);
    let eps = cluster.endpoints();
    let ep = |i: usize| [("endpoint", eps[i].as_str())];

    // 1. Healthy: every member healthy, a leader, the documents' metrics re-exported.
    cluster.etcdctl(0, &["put", "/suite/a", "1"]);
    let scrape = exporter.scrape();
    for i in 0..3 {
        assert_eq!(
            sample_value(&scrape, "etcd_health", &ep(i)),
            Some(1.0),
            "{scrape}"
        );
        assert_eq!(
            sample_value(&scrape, "etcd_server_has_leader", &ep(i)),
            Some(1.0),
            "{scrape}"
        );
        assert!(sample_value(&scrape, "etcd_process_resident_memory_bytes", &ep(i)).unwrap() > 1e6);
        assert!(
            sample_value(
                &scrape,
                "etcd_disk_wal_fsync_duration_seconds_count",
                &ep(i)
            )
            .unwrap()
                > 0.0
        );
    }
    assert_eq!(
        sample_value(&scrape, "etcd_cluster_has_leader", &[]),
        Some(1.0)
    );
    assert_eq!(
        sample_value(&scrape, "etcd_cluster_members", &[]),
        Some(3.0)
    );
    assert_eq!(sample_value(&scrape, "etcd_cluster_quorum", &[]), Some(2.0));
    assert_eq!(
        sample_value(&scrape, "etcd_cluster_healthy_members", &[]),
        Some(3.0)
    );
    assert_eq!(sample_value(&scrape, "etcd_process_status", &[]), Some(1.0));
    assert_eq!(
        sample_value(&scrape, "etcd_data_dir_permissions_ok", &[]),
        Some(1.0)
    );
    assert_eq!(
        sample_value(&scrape, "etcd_binary_executable", &[]),
        Some(1.0)
    );
    assert_eq!(
        sample_value(
            &scrape,
            "etcd_manual_stop_marker_present",
            &[("file", "etcd_manual_start")]
        ),
        Some(0.0)
    );
    assert!(sample_value(&scrape, "etcd_cluster_keys", &[]).unwrap() >= 1.0);
    if let Err(findings) = promtool::check_metrics(&scrape) {
        panic!("promtool check metrics:\n{findings}");
    }
    let healthy_scrape = scrape;

    // Real Prometheus with every rule file; the dashboard's panels must all return data.
    let prom = Prometheus::start(&Setup::with_jobs(vec![Job::new(
        "etcd",
        &[exporter.target()],
    )]));
    prom.wait_up("etcd", Duration::from_secs(30));

    // 6. Data dir mode 0755 and a manual-stop marker are each reported.
    set_mode(&cluster.data_dir(0), 0o755);
    std::fs::write(dir.path().join("gausslog-bin/etcd_manual_start"), b"").unwrap();
    let scrape = exporter.scrape();
    assert_eq!(
        sample_value(&scrape, "etcd_data_dir_permissions_ok", &[]),
        Some(0.0),
        "{scrape}"
    );
    assert_eq!(
        sample_value(&scrape, "etcd_data_dir_mode", &[]),
        Some(f64::from(0o755_u32))
    );
    assert_eq!(
        sample_value(
            &scrape,
            "etcd_manual_stop_marker_present",
            &[("file", "etcd_manual_start")]
        ),
        Some(1.0)
    );
    set_mode(&cluster.data_dir(0), 0o700);
    std::fs::remove_file(dir.path().join("gausslog-bin/etcd_manual_start")).unwrap();

    // 2a. SIGKILL m3: down, and its peers' logs say "connection refused" (process down).
    let peers = [cluster.name(0).to_owned(), cluster.name(1).to_owned()];
    let peers: Vec<&str> = peers.iter().map(String::as_str).collect();
    let refused_before = cause_sum(&exporter, &peers, "connection_refused");
    let timeout_before = cause_sum(&exporter, &peers, "io_timeout");
    cluster.kill(2);
    wait_unhealthy(&exporter, "m3 reported down", &ep(2));
    // When m3 was the leader, m1 and m2 are truly unhealthy (no leader) until they have elected
    // one of themselves, about one election timeout later; then exactly two are healthy.
    let scrape = exporter.wait_sample(
        "the two survivors healthy again",
        Duration::from_secs(10),
        "etcd_cluster_healthy_members",
        &[],
        |v| v == 2.0,
    );
    assert_eq!(sample_value(&scrape, "etcd_endpoint_up", &ep(2)), Some(0.0));
    assert_eq!(
        sample_value(
            &scrape,
            "etcd_endpoint_probe_failure",
            &[("endpoint", &eps[2]), ("reason", "connection_refused")]
        ),
        Some(1.0),
        "{scrape}"
    );
    let down_scrape = scrape;
    wait_cause(
        &exporter,
        &peers,
        "connection_refused",
        refused_before,
        Duration::from_secs(20),
    );
    assert_eq!(
        cause_sum(&exporter, &peers, "io_timeout"),
        timeout_before,
        "a dead process is not a network timeout"
    );
    cluster.restart(2);
    cluster.wait_healthy(Duration::from_secs(30));

    // 2b. SIGSTOP m3 longer than etcd's 5 s stream read timeout: "i/o timeout" (host or network).
    let timeout_before = cause_sum(&exporter, &peers, "io_timeout");
    cluster.pause(2);
    wait_unhealthy(&exporter, "paused m3 reported unhealthy", &ep(2));
    let scrape = exporter.scrape();
    assert_eq!(
        sample_value(
            &scrape,
            "etcd_endpoint_probe_failure",
            &[("endpoint", &eps[2]), ("reason", "timeout")]
        ),
        Some(1.0),
        "{scrape}"
    );
    wait_cause(
        &exporter,
        &peers,
        "io_timeout",
        timeout_before,
        Duration::from_secs(20),
    );
    cluster.resume(2);
    cluster.wait_healthy(Duration::from_secs(30));

    // 3. Overload: a leader stalled longer than two heartbeat intervals (200 ms) but shorter than
    // the election timeout stays leader and, once resumed, logs "failed to send out heartbeat on
    // time" and counts a heartbeat send failure. A longer pause may let the followers elect a new
    // leader first, and the old one then steps down without sending late heartbeats; so the pause
    // is short and retried a few times.
    let mut seen = None;
    for _ in 0..5 {
        let leader = wait_until("a leader", Duration::from_secs(10), || cluster.leader());
        let leader_log = cluster.name(leader).to_owned();
        let hb_before = cause_sum(&exporter, &[&leader_log], "heartbeat_late");
        let failures_before = exporter
            .value("etcd_server_heartbeat_send_failures_total", &ep(leader))
            .unwrap();
        cluster.pause(leader);
        std::thread::sleep(Duration::from_millis(350));
        cluster.resume(leader);
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while std::time::Instant::now() < deadline {
            if cause_sum(&exporter, &[&leader_log], "heartbeat_late") > hb_before {
                seen = Some((leader, leader_log.clone(), failures_before));
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        if seen.is_some() {
            break;
        }
        cluster.wait_healthy(Duration::from_secs(30));
    }
    let (leader, leader_log, failures_before) =
        seen.expect("a paused leader never logged a late heartbeat");
    exporter.wait_sample(
        "heartbeat send failures counted by the paused leader",
        Duration::from_secs(10),
        "etcd_server_heartbeat_send_failures_total",
        &ep(leader),
        |v| v > failures_before,
    );
    assert!(cause_sum(&exporter, &[&leader_log], "server_overloaded") > 0.0);
    cluster.wait_healthy(Duration::from_secs(30));

    // 2c. Two members down: no leader, quorum lost.
    cluster.kill(2);
    cluster.kill(1);
    exporter.wait_sample(
        "no leader",
        Duration::from_secs(15),
        "etcd_cluster_has_leader",
        &[],
        |v| v == 0.0,
    );
    let scrape = exporter.wait_sample(
        "m1 re-exports has_leader 0",
        Duration::from_secs(15),
        "etcd_server_has_leader",
        &ep(0),
        |v| v == 0.0,
    );
    let healthy = sample_value(&scrape, "etcd_cluster_healthy_members", &[]).unwrap();
    let quorum = sample_value(&scrape, "etcd_cluster_quorum", &[]).unwrap();
    assert!(
        healthy < quorum,
        "healthy {healthy} quorum {quorum}\n{scrape}"
    );
    assert_eq!(
        sample_value(
            &scrape,
            "etcd_scrape_collector_success",
            &[("collector", "cluster")]
        ),
        Some(1.0)
    );
    cluster.restart(1);
    cluster.restart(2);
    cluster.wait_healthy(Duration::from_secs(30));

    // 5. Restore from an older snapshot = data loss, detected even across a probe restart.
    for i in 0..20 {
        cluster.etcdctl(0, &["put", &format!("/suite/old/{i}"), "x"]);
    }
    let snapshot = dir.path().join("old.db");
    cluster.snapshot_save(0, &snapshot);
    for i in 0..30 {
        cluster.etcdctl(0, &["put", &format!("/suite/new/{i}"), "y"]);
    }
    exporter.wait_sample(
        "revision seen",
        Duration::from_secs(10),
        "etcd_cluster_keys",
        &[],
        |v| v >= 51.0,
    );
    assert_eq!(
        exporter.value(
            "etcd_data_loss_events_total",
            &[("kind", "revision_backwards")]
        ),
        Some(0.0)
    );
    // A second probe with its own state file sees the cluster once, then is stopped; it must
    // still detect the loss when it starts again after the restore (state persisted). The first
    // probe keeps running for Prometheus and detects it as it happens.
    let restarted_config = probe_config(
        &cluster,
        dir.path(),
        &cluster.data_dir(0),
        "restarted",
        true,
    );
    let restarted_arg = format!("--config.file={}", restarted_config.display());
    let restarted = Exporter::start("etcd-probe", &[&restarted_arg]);
    // Configured with its local member only, it still counts the whole cluster's health.
    let scrape = restarted.scrape();
    assert!(sample_value(&scrape, "etcd_cluster_revision", &[]).unwrap() > 50.0);
    assert_eq!(
        sample_value(&scrape, "etcd_cluster_healthy_members", &[]),
        Some(3.0),
        "{scrape}"
    );
    assert_eq!(
        sample_value(&scrape, "etcd_health", &ep(1)),
        None,
        "only member 1 is configured"
    );
    restarted.terminate();
    cluster.restore(&snapshot);
    let restarted = Exporter::start("etcd-probe", &[&restarted_arg]);
    let scrape = restarted.scrape();
    assert_eq!(
        sample_value(
            &scrape,
            "etcd_data_loss_events_total",
            &[("kind", "revision_backwards")]
        ),
        Some(1.0),
        "the restarted probe forgot what it saw:\n{scrape}"
    );
    drop(restarted);
    let scrape = exporter.scrape();
    assert_eq!(
        sample_value(
            &scrape,
            "etcd_data_loss_events_total",
            &[("kind", "revision_backwards")]
        ),
        Some(1.0),
        "{scrape}"
    );
    assert_eq!(
        sample_value(
            &scrape,
            "etcd_data_loss_events_total",
            &[("kind", "keys_dropped")]
        ),
        Some(1.0),
        "{scrape}"
    );
    assert!(
        sample_value(&scrape, "etcd_data_loss_last_event_timestamp_seconds", &[]).unwrap() > 1.7e9
    );
    // Counted once, not at every scrape.
    assert_eq!(
        exporter.value(
            "etcd_data_loss_events_total",
            &[("kind", "revision_backwards")]
        ),
        Some(1.0)
    );

    // 4. NOSPACE: fill the small quota until etcd raises the alarm; /health turns 0.
    let big = "z".repeat(100_000);
    let mut filled = false;
    for i in 0..60 {
        if let Err(e) = cluster.try_etcdctl(0, &["put", &format!("/suite/big/{i}"), &big]) {
            assert!(e.contains("database space exceeded"), "{e}");
            filled = true;
            break;
        }
    }
    assert!(filled, "the quota was never reached");
    for i in 0..3 {
        wait_unhealthy(&exporter, "NOSPACE makes /health 0", &ep(i));
    }
    let scrape = exporter.scrape();
    assert_eq!(
        sample_value(
            &scrape,
            "etcd_cluster_alarm_active",
            &[("alarm", "NOSPACE")]
        ),
        Some(1.0),
        "{scrape}"
    );
    assert_eq!(
        sample_value(&scrape, "etcd_endpoint_up", &ep(0)),
        Some(1.0),
        "reachable but unhealthy"
    );
    wait_cause(
        &exporter,
        &["m1", "m2", "m3"],
        "quota_exceeded",
        0.0,
        Duration::from_secs(10),
    );

    // The real Prometheus fires the alerts, and the description names a cause from the logs.
    let alert = prom.wait_firing("EtcdNoSpaceAlarm", Duration::from_secs(90));
    let description = alert
        .annotations
        .get("description")
        .cloned()
        .unwrap_or_default();
    assert!(
        description.contains("Likely cause from the etcd logs (last 15m): "),
        "{alert:?}"
    );
    let loss = prom.wait_firing("EtcdDataLoss", Duration::from_secs(60));
    assert_eq!(
        loss.labels.get("severity").map(String::as_str),
        Some("critical")
    );

    // The metric reference matches what was emitted; the dashboard's panels return data.
    let final_scrape = exporter.scrape();
    if let Err(e) = metric_reference::check_scrape(
        "etcd-probe",
        "etcd",
        &[&healthy_scrape, &down_scrape, &final_scrape],
    ) {
        panic!("{e}");
    }
    let dash = workspace_root().join("grafana-dashboards/etcd-probe.json");
    if let Err(e) = dashboards::check_live(&prom, &dash, &[], Duration::from_secs(30)) {
        panic!("{e}");
    }
    if let Err(e) = metric_reference::check_recorded("etcd-probe", &prom, Duration::from_secs(30)) {
        panic!("{e}");
    }
}

#[test]
fn zap_json_logs_of_a_killed_member_are_classified_as_connection_refused() {
    let dir = TempDir::new("etcd-e2e-zap");
    let mut cluster = EtcdCluster::start(
        3,
        Options {
            logger: Logger::Zap,
            ..Options::default()
        },
    );
    let config = probe_config(&cluster, dir.path(), &cluster.data_dir(0), "probe", false);
    let exporter = Exporter::start(
        "etcd-probe",
        &[&format!("--config.file={}", config.display())],
    );
    let line = std::fs::read_to_string(cluster.log_path(0)).unwrap();
    assert!(
        line.lines().any(|l| l.starts_with("{\"level\"")),
        "not JSON logs:\n{line}"
    );
    cluster.kill(2);
    wait_cause(
        &exporter,
        &["m1", "m2"],
        "connection_refused",
        0.0,
        Duration::from_secs(20),
    );
    assert_eq!(cause_sum(&exporter, &["m1", "m2"], "io_timeout"), 0.0);
}

#[test]
fn mtls_only_etcd_is_probed_with_the_configured_client_certificate() {
    // The suite's one test PKI: its server certificate is also a client certificate, which
    // etcd 3.4's v3 JSON gateway needs (it dials etcd's own gRPC port with it).
    let pki = test_support::pki::TestPki::new("etcd-mtls");
    let tls = ClientTls {
        ca: pki.ca_file(),
        server_cert: pki.server_cert_file(),
        server_key: pki.server_key_file(),
        client_cert: pki.client_cert_file(),
        client_key: pki.client_key_file(),
    };
    let dir = TempDir::new("etcd-e2e-tls");
    let cluster = EtcdCluster::start(
        1,
        Options {
            client_tls: Some(tls),
            ..Options::default()
        },
    );
    let ep = cluster.client_url(0);
    assert!(ep.starts_with("https://"));
    let write = |name: &str, tls: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            // The state file in the test's own directory: the default is the host's
            // /var/lib/etcd-probe, which a later `make run` would read.
            format!(
                "endpoints = [\"{ep}\"]\nrequest_timeout = \"2s\"\nstate_file = \"{}\"\n\n[tls]\n{tls}\n[local]\nenabled = false\n",
                dir.path().join(format!("{name}.state.json")).display()
            ),
        )
        .unwrap();
        format!("--config.file={}", path.display())
    };
    let with_cert = write(
        "mtls.toml",
        &format!(
            "ca_file = \"{}\"\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
            pki.ca_file().display(),
            pki.client_cert_file().display(),
            pki.client_key_file().display()
        ),
    );
    let without_cert = write(
        "nocert.toml",
        &format!("ca_file = \"{}\"\n", pki.ca_file().display()),
    );

    let good = Exporter::start("etcd-probe", &[&with_cert]);
    let scrape = good.scrape();
    let l = [("endpoint", ep.as_str())];
    assert_eq!(
        sample_value(&scrape, "etcd_health", &l),
        Some(1.0),
        "{scrape}"
    );
    assert_eq!(
        sample_value(&scrape, "etcd_server_has_leader", &l),
        Some(1.0),
        "{scrape}"
    );
    assert_eq!(
        sample_value(&scrape, "etcd_cluster_members", &[]),
        Some(1.0),
        "{scrape}"
    );
    assert_eq!(
        sample_value(&scrape, "etcd_endpoint_gateway_up", &l),
        Some(1.0),
        "{scrape}"
    );

    let refused = Exporter::start("etcd-probe", &[&without_cert]);
    let scrape = refused.scrape();
    assert_eq!(
        sample_value(&scrape, "etcd_health", &l),
        Some(0.0),
        "{scrape}"
    );
    assert!(
        !scrape.contains("etcd_server_has_leader{"),
        "no member metrics without a client certificate"
    );
}
