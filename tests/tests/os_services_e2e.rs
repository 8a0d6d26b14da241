//! os-exporter's daemon rows without systemd (this machine: PID 1 is not systemd) against the
//! real daemons of Debian's packages, started by the test: `cron -f`, `rsyslogd -n`, `sshd -D`
//! on a loopback port (never connected to), `chronyd`. Each row is 0 while its daemon runs and
//! 1 at the next scrape after it is killed; the audit journal gets the evidence.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use suite_tests::chrony::{Chronyd, Mode};
use suite_tests::exporter::{Exporter, sample_value};
use suite_tests::process::signal;
use suite_tests::{TempDir, daemons, free_port, metric_reference, wait_until};

/// The daemons this test starts must be the only ones of their names: a host that runs its own
/// would keep the rows at 0 after the test's are killed.
fn assert_not_running_on_host(names: &[&str]) {
    for n in names {
        let out = std::process::Command::new("pgrep")
            .args(["-x", n])
            .output()
            .unwrap();
        assert!(
            out.stdout.is_empty(),
            "a {n} already runs on this host (pids {}): this test kills its own daemons and \
             needs to be the only one (it runs in CI's container, where none runs)",
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
}

fn audit(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|r: &serde_json::Value| r["check"] == "service_abnormal")
        .collect()
}

#[test]
fn each_row_is_0_while_its_daemon_runs_and_1_at_the_next_scrape_after_it_is_killed() {
    assert_not_running_on_host(&["cron", "rsyslogd", "sshd", "chronyd"]);
    let dir = TempDir::new("os-services");
    let d = dir.path();
    for sub in ["cron", "rsyslog", "sshd"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    let mut cron = daemons::start_cron(&d.join("cron"), &[], None);
    let (mut rsyslogd, _sock) = daemons::start_rsyslogd(&d.join("rsyslog"), "*.* /dev/null");
    let mut sshd = daemons::start_sshd(&d.join("sshd"), free_port());
    let chronyd = Chronyd::start(&d.join("chrony"), Mode::Local);
    let cron_pid_file = daemons::cron_pid_file(&d.join("cron"));
    wait_until("cron's pid file", Duration::from_secs(15), || {
        cron.assert_running();
        cron_pid_file.exists().then_some(())
    });

    let cfg = d.join("os.toml");
    std::fs::write(
        &cfg,
        format!(
            "[collectors]\ndisabled = [\"ping\", \"ntp\"]\n\n[audit]\npath = {:?}\n\n\
             [directories]\nstate_file = {:?}\n\n\
             [audit_checks]\ninterval = \"1s\"\n\n[services]\nsource = \"process\"\n\n\
             [services.crond]\npid_files = [{:?}]\n\n[services.syslogd]\npid_files = [{:?}]\n\n\
             [services.sshd]\npid_files = [{:?}]\n\n[services.ntpd]\npid_files = [{:?}]\n",
            d.join("audit.jsonl").display().to_string(),
            d.join("directories.json").display().to_string(),
            cron_pid_file.display().to_string(),
            d.join("rsyslog/rsyslogd.pid").display().to_string(),
            d.join("sshd/sshd.pid").display().to_string(),
            d.join("chrony/chronyd.pid").display().to_string(),
        ),
    )
    .unwrap();
    let e = Exporter::start("os-exporter", &["--config.file", cfg.to_str().unwrap()]);
    let rows = ["crond", "syslogd", "sshd", "ntpd"];
    let s = e.scrape();
    for row in rows {
        assert_eq!(
            sample_value(&s, &format!("os_{row}_abnormal"), &[]),
            Some(0.0),
            "{row} runs:\n{s}"
        );
    }
    assert_eq!(
        sample_value(
            &s,
            "os_service_info",
            &[
                ("service", "sshd"),
                ("source", "process"),
                ("found", &d.join("sshd/sshd.pid").display().to_string()),
                ("active_state", "active"),
                ("sub_state", "running"),
            ]
        ),
        Some(1.0),
        "sshd found through its pid file:\n{s}"
    );
    metric_reference::check_scrape("os-exporter", "os", &[&s]).unwrap_or_else(|e| panic!("{e}"));

    // Kill each daemon; the very next scrape says so.
    let pids = [
        ("crond", cron.id()),
        ("syslogd", rsyslogd.id()),
        ("sshd", sshd.id()),
    ];
    for (row, pid) in pids {
        assert!(signal(pid, "-KILL"), "kill {row}");
        wait_until(
            &format!("{row} ({pid}) to be gone"),
            Duration::from_secs(10),
            || {
                let gone = match row {
                    "crond" => cron.has_exited(),
                    "syslogd" => rsyslogd.has_exited(),
                    _ => sshd.has_exited(),
                };
                gone.then_some(())
            },
        );
        let s = e.scrape();
        assert_eq!(
            sample_value(&s, &format!("os_{row}_abnormal"), &[]),
            Some(1.0),
            "{row} killed:\n{s}"
        );
    }
    let chrony_pid = std::fs::read_to_string(d.join("chrony/chronyd.pid")).unwrap();
    drop(chronyd);
    let s = wait_until("chronyd gone", Duration::from_secs(10), || {
        let s = e.scrape();
        (sample_value(&s, "os_ntpd_abnormal", &[]) == Some(1.0)).then_some(s)
    });
    // cron left its pid file behind: a dead pid file with no process.
    assert_eq!(
        sample_value(
            &s,
            "os_service_info",
            &[
                ("service", "crond"),
                ("source", "process"),
                ("found", &cron_pid_file.display().to_string()),
                ("active_state", "inactive"),
                ("sub_state", "stale-pid-file"),
            ]
        ),
        Some(1.0),
        "{s}"
    );

    // The audit sampler (every second here) wrote what `service <name> status` would have shown.
    let records = wait_until(
        "four service_abnormal records",
        Duration::from_secs(15),
        || {
            let r = audit(d);
            (r.len() >= 4).then_some(r)
        },
    );
    let of = |name: &str| {
        records
            .iter()
            .find(|r| r["evidence"]["service"] == name)
            .unwrap_or_else(|| panic!("no record for {name}: {records:?}"))
    };
    let cron_rec = of("crond");
    assert_eq!(
        cron_rec["evidence"]["sub_state"], "stale-pid-file",
        "{cron_rec}"
    );
    assert_eq!(
        cron_rec["evidence"]["status"]["pid_files"][0]["pid"], pids[0].1,
        "{cron_rec}"
    );
    assert_eq!(
        of("sshd")["evidence"]["status"]["pid_files"][0]["pid"],
        pids[2].1
    );
    assert_eq!(
        of("ntpd")["evidence"]["status"]["pid_files"][0]["pid"],
        chrony_pid.trim().parse::<u32>().unwrap()
    );
    // One record per turn, not one per pass.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(audit(d).len(), 4, "{:?}", audit(d));
}
