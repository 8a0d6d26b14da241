//! flink-sync-exporter end to end (issue acceptance 1-5, 7): two FlinkServer nodes, each a
//! network namespace with its own tree (its `--path.rootfs`), the active holding the float IP.
//! The trees are synchronised with real `rsync -a --delete`, as the HA sync would; the standby's
//! exporter fetches the active's manifest over the LAN; the real Prometheus scrapes both over
//! management links and evaluates `alerting-rules/flink-sync.yml`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use suite_tests::exporter::Endpoint;
use suite_tests::flink::{Mount, rsync, write};
use suite_tests::netns::{Lan, unique_tag};
use suite_tests::prometheus::{Job, Prometheus, Setup};
use suite_tests::{
    TempDir, bin_path, dashboards, metric_reference, process, wait_until, workspace_root,
};

const SUBNET: &str = "10.203.15";
const MGMT: &str = "10.204.15";
const FLOAT_IP: &str = "10.203.15.100";
const PORT: u16 = 9915;
/// The unprivileged sync user (`omm` on MRS): nobody.
const SYNC_UID: u32 = 65534;

fn start(lan: &mut Lan, i: usize, root: &Path, dir: &Path, peer: &str) -> Endpoint {
    let config = format!(
        "roots = [\"/conf\"]\nfloat_ip = \"{FLOAT_IP}\"\npeer_url = \"http://{peer}:{PORT}\"\n\
         check_interval = \"1s\"\nfetch_timeout = \"2s\"\npeer_timeout = \"300ms\"\n\
         junk_interval = \"1s\"\nha_log_from_start = true\n\n\
         [sync_user]\nuid = {SYNC_UID}\ngid = {SYNC_UID}\n\n[audit]\npath = \"{}\"\n",
        dir.join("audit.jsonl").display()
    );
    let cfg = dir.join("flink-sync.toml");
    std::fs::write(&cfg, config).unwrap();
    let host_addr = lan.expose(i, MGMT);
    let bin = bin_path("flink-sync-exporter");
    lan.hosts[i].spawn(
        &[
            bin.to_str().unwrap(),
            &format!("--config.file={}", cfg.display()),
            &format!("--path.rootfs={}", root.display()),
            &format!("--web.listen-address=:{PORT}"),
        ],
        &dir.join("exporter.log"),
    );
    let addr = format!("{host_addr}:{PORT}").parse().unwrap();
    let e = Endpoint::new(addr, &format!("flink-sync-exporter at {addr}"));
    e.wait_healthy(Duration::from_secs(20));
    e
}

fn ok_is(e: &Endpoint, want: f64, what: &str) -> String {
    wait_until(what, Duration::from_secs(30), || {
        let s = e.scrape();
        (suite_tests::exporter::sample_value(&s, "flink_sync_ok", &[]) == Some(want)).then_some(s)
    })
}

#[test]
fn two_nodes_compare_their_trees_and_the_alarm_fires_and_clears() {
    let tmp = TempDir::new("flink-sync");
    let (ra, rb) = (tmp.path().join("a"), tmp.path().join("b"));
    let (da, db) = (tmp.path().join("run-a"), tmp.path().join("run-b"));
    for d in [&da, &db] {
        std::fs::create_dir_all(d).unwrap();
    }
    write(
        &ra.join("conf/flink-conf.yaml"),
        "jobmanager.rpc.port: 6123\n",
    );
    write(&ra.join("conf/sql/udf.xml"), "<udf/>\n");
    write(&ra.join("conf/ha/hacom_local.xml"), "<ha/>\n");
    std::fs::create_dir_all(rb.join("conf")).unwrap();
    // Cause fixtures on the standby: a real-shaped HA run log with a gzipped rotation, a junk file.
    let log_dir = rb.join("var/log/Bigdata/flink/flinkserver/ha/runlog");
    std::fs::create_dir_all(&log_dir).unwrap();
    let rotated = "[2021-03-22 14:03:35,341][10195489351][0][ ERROR][CreateFileList failed][HA][sync_core.c:__SYNC_Task_SendEnd,1866][ha.bin,26572,41]\n\
                   [2021-03-22 14:03:35,342][10195489352][0][ ERROR][TaskEnd Failed][HA][sync_core.c:__SYNC Err TaskEnd,2728][ha.bin,26572,41]\n";
    let gz = log_dir.join("ha.log.2021-03-22_12-00-07");
    std::fs::write(&gz, rotated).unwrap();
    process::run_ok(&["gzip", gz.to_str().unwrap()]);
    write(
        &log_dir.join("ha.log"),
        "[2021-03-22 14:04:35,339][10195549349][0][  INFO][Start Task All_Sync][HA][sync_core_inf.c:SYNC_StartTask,183][ha.bin,26572,35]\n",
    );

    // A small LocalBackup filesystem, mounted before the exporters start: `ip netns exec` gives
    // each its own copy of the mount table.
    let backup = rb.join("srv/BigData/LocalBackup");
    std::fs::create_dir_all(&backup).unwrap();
    process::run_ok(&[
        "mount",
        "-t",
        "tmpfs",
        "-o",
        "size=1m",
        "tmpfs",
        backup.to_str().unwrap(),
    ]);
    let _mount = Mount(backup.clone());

    let mut lan = Lan::new(&unique_tag("fs"), SUBNET, 2);
    lan.hosts[0].ip(&["addr", "add", &format!("{FLOAT_IP}/24"), "dev", "eth0"]);
    let (ia, ib) = (lan.addr(0), lan.addr(1));

    // 1. Synchronised with rsync: the standby says ok, every difference count is 0.
    rsync(&ra.join("conf"), &rb.join("conf"), &[]);
    let a = start(&mut lan, 0, &ra, &da, &ib);
    let b = start(&mut lan, 1, &rb, &db, &ia);
    let synced = ok_is(&b, 1.0, "the standby to find the trees in sync");
    let v = |s: &str, n: &str, l: &[(&str, &str)]| suite_tests::exporter::sample_value(s, n, l);
    assert_eq!(
        v(&synced, "flink_sync_role", &[("role", "standby")]),
        Some(1.0)
    );
    assert_eq!(
        v(&a.scrape(), "flink_sync_role", &[("role", "active")]),
        Some(1.0)
    );
    for kind in [
        "missing_on_standby",
        "extra_on_standby",
        "content_differs",
        "mode_owner_differs",
    ] {
        assert_eq!(
            v(&synced, "flink_sync_differing_files", &[("kind", kind)]),
            Some(0.0),
            "{kind}"
        );
    }
    assert_eq!(v(&synced, "flink_sync_check_success", &[]), Some(1.0));
    assert!(v(&synced, "flink_sync_last_success_timestamp_seconds", &[]).unwrap() > 1e9);
    assert_eq!(
        v(&a.scrape(), "flink_sync_ok", &[]),
        None,
        "the active compares nothing"
    );

    let prom = Prometheus::start(&Setup::with_jobs(vec![Job::new(
        "flink-sync",
        &[a.target(), b.target()],
    )]));
    prom.wait_up("flink-sync", Duration::from_secs(30));
    let healthy_b = b.scrape();

    // 2. An edit on the active that keeps size and mtime (rsync -a without -c misses it).
    let f = ra.join("conf/flink-conf.yaml");
    let mtime = std::fs::metadata(&f).unwrap().modified().unwrap();
    std::fs::write(&f, "jobmanager.rpc.port: 6124\n").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let differs = ok_is(&b, 0.0, "flink_sync_ok 0 after two checks");
    assert_eq!(
        v(
            &differs,
            "flink_sync_differing_files",
            &[("kind", "content_differs")]
        ),
        Some(1.0)
    );
    let alert = prom.wait_firing("FlinkServerDataSyncException", Duration::from_secs(150));
    assert_eq!(
        alert.labels.get("alarm_id").map(String::as_str),
        Some("45641")
    );
    assert_eq!(
        alert.labels.get("role_name").map(String::as_str),
        Some("FlinkServer")
    );
    let audit = std::fs::read_to_string(db.join("audit.jsonl")).unwrap();
    assert!(
        audit.contains("/conf/flink-conf.yaml") && audit.contains("content_differs"),
        "{audit}"
    );
    process::run_ok(&[
        "rsync",
        "-a",
        "-c",
        "--delete",
        &format!("{}/", ra.join("conf").display()),
        &format!("{}/", rb.join("conf").display()),
    ]);
    ok_is(&b, 1.0, "the alarm to clear by itself after rsync");
    wait_until("the alert to resolve", Duration::from_secs(150), || {
        prom.alerts()
            .iter()
            .all(|a| {
                a.labels.get("alertname").map(String::as_str)
                    != Some("FlinkServerDataSyncException")
                    || a.state != "firing"
            })
            .then_some(())
    });

    // 3. chmod 000 on the standby: root reads it, the sync user cannot.
    let secret = rb.join("conf/sql/udf.xml");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    let locked = ok_is(&b, 0.0, "an unreadable file to fail the check");
    assert_eq!(
        v(
            &locked,
            "flink_sync_unreadable_files",
            &[("side", "standby")]
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            &locked,
            "flink_sync_differing_files",
            &[("kind", "mode_owner_differs")]
        ),
        Some(1.0)
    );
    let log = std::fs::read_to_string(db.join("exporter.log")).unwrap();
    assert!(
        log.contains("/conf/sql/udf.xml") && log.contains("not readable by uid 65534"),
        "{log}"
    );
    prom.wait_firing("FlinkServerDataSyncException", Duration::from_secs(150));
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    ok_is(&b, 1.0, "the check to pass again");

    // 4. The link cut: peer unreachable, the comparison fails (no stale ok).
    lan.cut(0);
    let cut = wait_until(
        "the standby to see the cut",
        Duration::from_secs(30),
        || {
            let s = b.scrape();
            (v(&s, "flink_sync_peer_up", &[("probe", "icmp")]) == Some(0.0)
                && v(&s, "flink_sync_check_success", &[]) == Some(0.0))
            .then_some(s)
        },
    );
    assert_eq!(
        v(
            &cut,
            "flink_sync_differing_files",
            &[("kind", "content_differs")]
        ),
        None
    );
    assert_eq!(
        v(&cut, "flink_sync_peer_up", &[("probe", "exporter_port")]),
        Some(0.0)
    );
    ok_is(&b, 0.0, "two failed checks to set flink_sync_ok 0");
    lan.restore(0);
    ok_is(&b, 1.0, "the comparison to recover with the link");

    // 5. Causes: LocalBackup full, a junk sed file, the HA log's errors (the .gz rotation too).
    let before = wait_until("LocalBackup usage", Duration::from_secs(10), || {
        v(&b.scrape(), "flink_sync_local_backup_usage_ratio", &[])
    });
    assert!(before < 0.1, "an empty 1 MiB tmpfs: {before}");
    std::fs::write(
        backup.join("default-oms_20191211143443"),
        vec![7u8; 1000 * 1024],
    )
    .unwrap();
    let full = wait_until("LocalBackup to fill", Duration::from_secs(10), || {
        let s = b.scrape();
        (v(&s, "flink_sync_local_backup_usage_ratio", &[]).is_some_and(|r| r > 0.9)).then_some(s)
    });
    assert!(v(&full, "flink_sync_local_backup_avail_bytes", &[]).unwrap() < 100.0 * 1024.0);
    let junk = rb.join("opt/huawei/sed123");
    write(&junk, "");
    std::fs::set_permissions(&junk, std::fs::Permissions::from_mode(0o000)).unwrap();
    let junked = wait_until("the junk file", Duration::from_secs(20), || {
        let s = b.scrape();
        (v(&s, "flink_sync_junk_files", &[]) == Some(1.0)).then_some(s)
    });
    for (kind, n) in [
        ("create_file_list_failed", 1.0),
        ("task_end_failed", 1.0),
        ("send_end_failed", 0.0),
    ] {
        assert_eq!(
            v(&junked, "flink_sync_ha_log_errors_total", &[("kind", kind)]),
            Some(n),
            "{kind}"
        );
    }
    std::fs::OpenOptions::new()
        .append(true)
        .open(log_dir.join("ha.log"))
        .and_then(|mut f| {
            std::io::Write::write_all(
                &mut f,
                b"[2021-03-22 14:05:35,342][10195489352][0][ ERROR][[41][SendEnd][Task]Failed][HA][sync_core.c:__SYNC_DbgMsgErr,202][ha.bin,26572,41]\n",
            )
        })
        .unwrap();
    wait_until("the new ERROR line", Duration::from_secs(10), || {
        (v(
            &b.scrape(),
            "flink_sync_ha_log_errors_total",
            &[("kind", "send_end_failed")],
        ) == Some(1.0))
        .then_some(())
    });
    let audit = std::fs::read_to_string(db.join("audit.jsonl")).unwrap();
    assert!(audit.contains("/opt/huawei/sed123"), "{audit}");

    // Gates: every documented family appears, every dashboard query has data.
    let final_a = a.scrape();
    let final_b = b.scrape();
    metric_reference::check_scrape(
        "flink-sync-exporter",
        "flink_sync",
        &[
            &healthy_b, &differs, &locked, &cut, &full, &final_a, &final_b,
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dash = workspace_root().join("grafana-dashboards/flink-sync-exporter.json");
    dashboards::check_live(&prom, &dash, &[], Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}"));
}
