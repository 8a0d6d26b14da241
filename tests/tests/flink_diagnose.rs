//! `flink-sync-exporter diagnose` (issue 17 acceptance 4, flink half): two FlinkServer nodes,
//! each a network namespace with its own tree (`--path.rootfs`), the active holding the float IP
//! and serving its manifest from a running exporter; `diagnose` runs on the standby. Healthy,
//! then each cause of issue 15's scenarios (content differs, unreadable for the sync user, peer
//! unreachable, LocalBackup full, a junk `sed*` file, ha.log errors in the window, one of them in
//! a gzipped rotation) gives its own verdict. The JSON report is checked field by field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;
use suite_tests::diagnose::{details, failing, from_output, step};

use serde_json::Value;
use suite_tests::exporter::Endpoint;
use suite_tests::flink::{Mount, rsync, write};
use suite_tests::netns::{Lan, unique_tag};
use suite_tests::{TempDir, bin_path, process, wait_until};

const SUBNET: &str = "10.203.16";
const MGMT: &str = "10.204.16";
const FLOAT_IP: &str = "10.203.16.100";
const PORT: u16 = 9915;
/// The unprivileged sync user (`omm` on MRS): nobody.
const SYNC_UID: u32 = 65534;

fn config(dir: &Path, peer: &str) -> PathBuf {
    let cfg = dir.join("flink-sync.toml");
    std::fs::write(
        &cfg,
        format!(
            "roots = [\"/conf\"]\nfloat_ip = \"{FLOAT_IP}\"\npeer_url = \"http://{peer}:{PORT}\"\n\
             check_interval = \"1s\"\nfetch_timeout = \"2s\"\npeer_timeout = \"500ms\"\n\
             junk_interval = \"1s\"\n\n[sync_user]\nuid = {SYNC_UID}\ngid = {SYNC_UID}\n\n\
             [audit]\npath = \"{}\"\n",
            dir.join("audit.jsonl").display()
        ),
    )
    .unwrap();
    cfg
}

/// `date` in local time (ha.log's zone), `offset` like `-10 min`.
fn local_time(offset: &str) -> String {
    process::run_ok(&["date", "-d", offset, "+%Y-%m-%d %H:%M:%S"])
        .trim()
        .to_owned()
}

fn ha_line(time: &str, level: &str, msg: &str) -> String {
    format!(
        "[{time},341][10195489351][0][{level:>6}][{msg}][HA][sync_core.c:__SYNC_Task_SendEnd,1866][ha.bin,26572,41]\n"
    )
}

struct Standby<'a> {
    lan: &'a Lan,
    root: PathBuf,
    cfg: PathBuf,
}

impl Standby<'_> {
    /// Runs diagnose on the standby; returns (exit code, report).
    fn diagnose(&self, extra: &[&str]) -> (i32, Value) {
        let bin = bin_path("flink-sync-exporter");
        let cfg = format!("--config.file={}", self.cfg.display());
        let root = format!("--path.rootfs={}", self.root.display());
        let mut argv = vec![
            bin.to_str().unwrap(),
            cfg.as_str(),
            root.as_str(),
            "diagnose",
            "--output",
            "json",
        ];
        argv.extend_from_slice(extra);
        let out = self.lan.hosts[1].run(&argv, Duration::from_secs(45));
        from_output(&out)
    }

    /// Diagnoses until the verdict is not `no_fault_found` (the active's exporter takes up to a
    /// check interval to serve a changed manifest).
    fn diagnose_fault(&self) -> (i32, Value) {
        let mut last = None;
        for _ in 0..10 {
            let (code, r) = self.diagnose(&[]);
            if r["verdict"]["cause"] != "no_fault_found" {
                return (code, r);
            }
            last = Some(r);
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("no fault found: {:#}", last.unwrap());
    }
}

/// The fault's verdict, exit status 1, and the failing steps.
fn assert_verdict(code: i32, r: &Value, cause: &str, failing_steps: &[&str]) {
    assert_eq!(r["verdict"]["cause"], cause, "{r:#}");
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(failing(r), failing_steps, "{r:#}");
    assert_eq!(r["verdict"]["steps"], serde_json::json!(failing_steps));
    assert!(r["timed_out"].as_array().unwrap().is_empty(), "{r:#}");
}

#[test]
fn each_alm_45641_cause_gets_its_own_verdict_on_the_standby() {
    let tmp = TempDir::new("flink-diag");
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
    std::fs::create_dir_all(rb.join("conf")).unwrap();
    rsync(&ra.join("conf"), &rb.join("conf"), &["-c"]);
    // The HA run log: errors of an old alarm in a gzipped rotation (outside any recent window),
    // an INFO line now.
    let log_dir = rb.join("var/log/Bigdata/flink/flinkserver/ha/runlog");
    std::fs::create_dir_all(&log_dir).unwrap();
    let old = log_dir.join("ha.log.2021-03-22_12-00-07");
    std::fs::write(
        &old,
        ha_line("2021-03-22 14:03:35", "ERROR", "CreateFileList failed"),
    )
    .unwrap();
    process::run_ok(&["gzip", old.to_str().unwrap()]);
    write(
        &log_dir.join("ha.log"),
        &ha_line(&local_time("-1 min"), "INFO", "Start Task All_Sync"),
    );
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
    std::fs::create_dir_all(rb.join("opt/huawei")).unwrap();

    let mut lan = Lan::new(&unique_tag("fd"), SUBNET, 2);
    lan.hosts[0].ip(&["addr", "add", &format!("{FLOAT_IP}/24"), "dev", "eth0"]);
    let (ia, ib) = (lan.addr(0), lan.addr(1));
    // The active's exporter serves its manifest; the standby only runs diagnose.
    let cfg_a = config(&da, &ib);
    let host_a = lan.expose(0, MGMT);
    let bin = bin_path("flink-sync-exporter");
    lan.hosts[0].spawn(
        &[
            bin.to_str().unwrap(),
            &format!("--config.file={}", cfg_a.display()),
            &format!("--path.rootfs={}", ra.display()),
            &format!("--web.listen-address=:{PORT}"),
        ],
        &da.join("exporter.log"),
    );
    let addr = format!("{host_a}:{PORT}").parse().unwrap();
    Endpoint::new(addr, "the active's exporter").wait_healthy(Duration::from_secs(20));
    wait_until("the active's manifest", Duration::from_secs(20), || {
        let s = Endpoint::new(addr, "active").scrape();
        (suite_tests::exporter::sample_value(&s, "flink_sync_manifest_success", &[]) == Some(1.0))
            .then_some(())
    });
    let standby = Standby {
        lan: &lan,
        root: rb.clone(),
        cfg: config(&db, &ia),
    };

    // Healthy: every automatic step passes or does not apply; the document's order.
    let (code, r) = standby.diagnose(&[]);
    assert_eq!(r["verdict"]["cause"], "no_fault_found", "{r:#}");
    assert_eq!(code, 0);
    let ids: Vec<&str> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "record_ips",
            "node_role",
            "ping_peer",
            "network_admin",
            "network_fixed",
            "local_backup_space",
            "clear_backups",
            "backup_copies",
            "backup_wait",
            "find_sed_files",
            "junk_sed_files",
            "sync_files_readable",
            "sync_files_match",
            "ha_log",
            "wait_clear",
            "collect_logs",
        ]
    );
    for id in [
        "node_role",
        "ping_peer",
        "local_backup_space",
        "find_sed_files",
        "junk_sed_files",
        "sync_files_readable",
        "sync_files_match",
        "ha_log",
    ] {
        assert_eq!(step(&r, id)["status"], "pass", "{id}: {r:#}");
    }
    assert_eq!(details(step(&r, "node_role"))[0], "standby");
    let ping = details(step(&r, "ping_peer"));
    assert!(
        ping[0].starts_with(&format!("ping {ia}: reply, rtt ")),
        "{ping:?}"
    );
    assert!(
        details(step(&r, "local_backup_space"))[0].starts_with("Size 1.0M "),
        "{r:#}"
    );
    // The 2021 rotation's error is outside the window; a window around it finds it.
    assert!(
        step(&r, "ha_log")["summary"]
            .as_str()
            .unwrap()
            .starts_with("no error among 1 line(s)"),
        "{r:#}"
    );
    let (code, r) = standby.diagnose(&[
        "--since",
        "2021-03-22 14:00:00",
        "--until",
        "2021-03-22 14:10:00",
    ]);
    assert_verdict(code, &r, "ha_log_errors", &["ha_log"]);
    let line = &step(&r, "ha_log")["evidence"][0];
    assert!(
        line["source"]
            .as_str()
            .unwrap()
            .ends_with("ha.log.2021-03-22_12-00-07.gz"),
        "{line}"
    );
    assert!(
        line["detail"]
            .as_str()
            .unwrap()
            .contains("[CreateFileList failed]")
    );
    // Nothing persisted under diagnose: the audit journal was never written.
    assert!(!db.join("audit.jsonl").exists());

    // 1. An edit on the active that keeps size and mtime: the files differ.
    let f = ra.join("conf/flink-conf.yaml");
    let mtime = std::fs::metadata(&f).unwrap().modified().unwrap();
    std::fs::write(&f, "jobmanager.rpc.port: 6124\n").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let (code, r) = standby.diagnose_fault();
    assert_verdict(code, &r, "files_not_synchronised", &["sync_files_match"]);
    let ev = &step(&r, "sync_files_match")["evidence"];
    assert_eq!(ev[0]["what"], "content_differs");
    assert_eq!(ev[0]["detail"], "/conf/flink-conf.yaml");
    rsync(&ra.join("conf"), &rb.join("conf"), &["-c"]);

    // 2. chmod 000 on the standby: root reads it, the sync user cannot.
    let secret = rb.join("conf/sql/udf.xml");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    let (code, r) = standby.diagnose(&[]);
    assert_verdict(code, &r, "sync_file_permission", &["sync_files_readable"]);
    let ev = details(step(&r, "sync_files_readable"));
    assert!(
        ev.len() == 1 && ev[0].starts_with("/conf/sql/udf.xml: "),
        "{ev:?}"
    );
    assert!(
        step(&r, "sync_files_readable")["summary"]
            .as_str()
            .unwrap()
            .contains("uid 65534"),
        "{r:#}"
    );
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();

    // 3. The link cut: no echo reply, no connection; the comparison could not be made.
    lan.cut(0);
    let (code, r) = standby.diagnose(&[]);
    assert_verdict(code, &r, "link_interrupted", &["ping_peer"]);
    let ping = details(step(&r, "ping_peer"));
    assert!(ping[0].contains("no echo reply from"), "{ping:?}");
    assert_eq!(step(&r, "network_admin")["status"], "manual");
    assert_eq!(step(&r, "sync_files_match")["status"], "error");
    lan.restore(0);

    // 4. LocalBackup full.
    let big = backup.join("default-oms_20191211143443");
    std::fs::write(&big, vec![7u8; 1000 * 1024]).unwrap();
    let (code, r) = standby.diagnose(&[]);
    assert_verdict(code, &r, "local_backup_full", &["local_backup_space"]);
    let df = &step(&r, "local_backup_space")["evidence"][0];
    assert_eq!(df["what"], "df -hl /srv/BigData/LocalBackup");
    assert!(
        df["detail"]
            .as_str()
            .unwrap()
            .starts_with("Size 1.0M Used "),
        "{df}"
    );
    assert_eq!(step(&r, "clear_backups")["status"], "manual");
    std::fs::remove_file(&big).unwrap();

    // 5. A junk sed file (size 0, mode 000) beside a sed file with content.
    let junk = rb.join("opt/huawei/sed123");
    write(&junk, "");
    std::fs::set_permissions(&junk, std::fs::Permissions::from_mode(0o000)).unwrap();
    write(&rb.join("opt/huawei/sedXYZ"), "s/a/b/\n");
    std::fs::set_permissions(
        rb.join("opt/huawei/sedXYZ"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let (code, r) = standby.diagnose(&[]);
    assert_verdict(code, &r, "junk_file", &["junk_sed_files"]);
    assert_eq!(
        details(step(&r, "find_sed_files")),
        [
            "---------- 0 /opt/huawei/sed123",
            "-rw-r--r-- 7 /opt/huawei/sedXYZ"
        ]
    );
    assert_eq!(
        details(step(&r, "junk_sed_files")),
        ["---------- 0 /opt/huawei/sed123"]
    );
    assert!(junk.exists(), "diagnose deletes nothing");
    std::fs::remove_file(&junk).unwrap();

    // 6. ha.log errors 10 minutes ago, in a gzipped rotation: inside the default window.
    let rot = log_dir.join(format!(
        "ha.log.{}",
        local_time("-5 min").replace(' ', "_").replace(':', "-")
    ));
    let t = local_time("-10 min");
    std::fs::write(
        &rot,
        [
            ha_line(&t, "INFO", "Start Task All_Sync"),
            ha_line(&t, "ERROR", "CreateFileList failed"),
            ha_line(&t, "ERROR", "TaskEnd Failed"),
        ]
        .concat(),
    )
    .unwrap();
    process::run_ok(&["gzip", rot.to_str().unwrap()]);
    let (code, r) = standby.diagnose(&["--since", "30m"]);
    assert_verdict(code, &r, "ha_log_errors", &["ha_log"]);
    let lines = step(&r, "ha_log")["evidence"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0]["detail"]
            .as_str()
            .unwrap()
            .contains("[CreateFileList failed]")
    );
    assert!(
        lines[1]["detail"]
            .as_str()
            .unwrap()
            .contains("[TaskEnd Failed]")
    );
    assert!(
        lines[0]["source"].as_str().unwrap().ends_with(".gz"),
        "{lines:?}"
    );
    assert!(lines[0]["time"].as_str().is_some());

    // 7. 20 minutes ago the sync could not lstat a file: a window around that time (the
    // errors above fall outside it) names the permission cause, the document's example.
    let rot = log_dir.join(format!(
        "ha.log.{}",
        local_time("-19 min").replace(' ', "_").replace(':', "-")
    ));
    let t = local_time("-20 min");
    std::fs::write(
        &rot,
        [
            ha_line(
                &t,
                "INFO",
                "open lstat failed:(/opt/Bigdata/FusionInsight_Flink/conf/security/ha.crt ). Permission denied.",
            ),
            ha_line(&t, "ERROR", "Travel stack failed."),
        ]
        .concat(),
    )
    .unwrap();
    let (code, r) = standby.diagnose(&["--since", "25m", "--until", "15m"]);
    assert_verdict(code, &r, "sync_file_permission", &["ha_log"]);
    let lines = details(step(&r, "ha_log"));
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains("Permission denied"), "{lines:?}");
    assert!(
        step(&r, "ha_log")["summary"]
            .as_str()
            .unwrap()
            .starts_with("2 error line(s) in the window (1 permission denied"),
        "{r:#}"
    );
    assert!(!db.join("audit.jsonl").exists());
}
