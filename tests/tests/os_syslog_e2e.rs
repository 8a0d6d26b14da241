//! os-exporter's messages-file and cron rows against real daemons of Debian's packages: a private
//! `rsyslogd` fed by `logger` writes the traditional (`Mmm dd HH:MM:SS`, RHEL/EulerOS) and the
//! RFC 3339 (Debian) formats; a burst of 1,000 lines fires the log-time alert in a real
//! Prometheus; `cron -f -L 15` (its own mount namespace, so the host's crontabs never run) with a
//! broken crontab and a failing job makes `os_cron_has_failed` 1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use suite_tests::exporter::{Exporter, sample_value};
use suite_tests::prometheus::{Job, Prometheus, Setup};
use suite_tests::{TempDir, daemons, metric_reference, wait_until};

fn exporter(dir: &Path, name: &str, section: &str) -> Exporter {
    let cfg = dir.join(format!("{name}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "[collectors]\ndisabled = [\"ping\", \"ntp\"]\n\n[audit]\npath = {:?}\n\n\
             [directories]\nstate_file = {:?}\n\n{section}",
            dir.join(format!("{name}-audit.jsonl"))
                .display()
                .to_string(),
            dir.join(format!("{name}-directories.json"))
                .display()
                .to_string(),
        ),
    )
    .unwrap();
    Exporter::start("os-exporter", &["--config.file", cfg.to_str().unwrap()])
}

/// `logger` through the private rsyslogd's socket; `lines` on stdin, one message each.
fn logger(sock: &Path, priority: &str, tag: &str, lines: &str) {
    let mut child = Command::new("logger")
        .args(["-u", sock.to_str().unwrap(), "-p", priority, "-t", tag])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "logger");
}

fn line_count(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .count()
}

#[test]
fn warn_error_and_log_time_of_both_formats_and_a_burst_fires_the_alert() {
    let dir = TempDir::new("os-syslog");
    let d = dir.path();
    let (_rsyslogd, sock) = daemons::start_rsyslogd(
        d,
        &format!(
            "*.* action(type=\"omfile\" file=\"{m}\" template=\"RSYSLOG_TraditionalFileFormat\")\n\
             *.* action(type=\"omfile\" file=\"{s}\" template=\"RSYSLOG_FileFormat\")",
            m = d.join("messages").display(),
            s = d.join("syslog").display()
        ),
    );
    logger(&sock, "user.info", "osx", "session opened for the test\n");
    std::thread::sleep(Duration::from_millis(2300));
    logger(
        &sock,
        "daemon.err",
        "osx",
        "disk sdb: I/O error on sector 42\n",
    );
    logger(
        &sock,
        "user.warning",
        "osx",
        "warning: the queue is 90% full\n",
    );
    logger(&sock, "user.info", "osx", "all fine again\n");
    let written = |f: &str| {
        wait_until(
            &format!("{f} holds the last line"),
            Duration::from_secs(10),
            || {
                let t = std::fs::read_to_string(d.join(f)).unwrap_or_default();
                t.contains("all fine again")
                    .then_some(line_count(&d.join(f)))
            },
        )
    };
    let (n_msg, n_sys) = (written("messages"), written("syslog"));

    let section = |f: &str| {
        format!(
            "[messages]\nfiles = [{:?}]\ninterval = \"1s\"\n",
            d.join(f).display().to_string()
        )
    };
    let traditional = exporter(d, "traditional", &section("messages"));
    let rfc3339 = exporter(d, "rfc3339", &section("syslog"));
    for (e, n, fmt) in [
        (&traditional, n_msg, "traditional"),
        (&rfc3339, n_sys, "RFC 3339"),
    ] {
        let s = e.wait_sample(
            &format!("{fmt}: the window"),
            Duration::from_secs(15),
            "os_message_log_lines",
            &[],
            |v| v >= 1.0,
        );
        #[allow(clippy::cast_precision_loss)]
        let n = n as f64;
        assert_eq!(
            sample_value(&s, "os_message_log_lines", &[]),
            Some(n),
            "{fmt}:\n{s}"
        );
        assert_eq!(
            sample_value(&s, "os_message_error", &[]),
            Some(1.0),
            "{fmt}:\n{s}"
        );
        assert_eq!(
            sample_value(&s, "os_message_warn", &[]),
            Some(1.0),
            "{fmt}:\n{s}"
        );
        assert_eq!(
            sample_value(&s, "os_message_unparsed_lines", &[]),
            Some(0.0),
            "{fmt}"
        );
        let t = sample_value(&s, "os_message_log_time", &[]).unwrap();
        // Second-resolution stamps round either way; RFC 3339 carries microseconds.
        let ok = if fmt == "traditional" {
            (2.0..=3.0).contains(&t)
        } else {
            (2.2..3.5).contains(&t)
        };
        assert!(ok, "{fmt}: log time {t}");
        metric_reference::check_scrape("os-exporter", "os", &[&s])
            .unwrap_or_else(|e| panic!("{e}"));
    }

    // A burst of 1,000 lines in a few seconds: the last 1,000 cover seconds, not 10 minutes.
    let burst: String = (0..1000).map(|i| format!("burst line {i}\n")).collect();
    logger(&sock, "user.info", "burst", &burst);
    let s = rfc3339.wait_sample(
        "the burst in the window",
        Duration::from_secs(20),
        "os_message_log_lines",
        &[],
        |v| v >= 1000.0,
    );
    assert!(
        sample_value(&s, "os_message_log_time", &[]).unwrap() < 600.0,
        "{s}"
    );
    let prom = Prometheus::start(&Setup::with_jobs(vec![Job::new("os", &[rfc3339.target()])]));
    let alert = prom.wait_firing("OsMessageLoggingTooFast", Duration::from_secs(120));
    assert_eq!(
        alert.labels.get("instance"),
        Some(&rfc3339.target()),
        "{alert:?}"
    );
}

#[test]
fn a_broken_crontab_and_a_failing_job_make_os_cron_has_failed_1() {
    let dir = TempDir::new("os-cron");
    let d = dir.path();
    // rsyslog appends to the file the exporter already watches from its end.
    let log = d.join("cron.log");
    std::fs::write(&log, "").unwrap();
    let (_rsyslogd, sock) = daemons::start_rsyslogd(
        d,
        &format!(
            "cron.*;authpriv.* action(type=\"omfile\" file=\"{}\" template=\"RSYSLOG_TraditionalFileFormat\")",
            log.display()
        ),
    );
    let e = exporter(
        d,
        "cron",
        &format!(
            "[cron]\nfiles = [{:?}]\ninterval = \"1s\"\n",
            log.display().to_string()
        ),
    );
    let s = e.wait_sample(
        "a first cron pass",
        Duration::from_secs(15),
        "os_cron_has_failed",
        &[],
        |_| true,
    );
    assert_eq!(
        sample_value(&s, "os_cron_has_failed", &[]),
        Some(0.0),
        "{s}"
    );
    let cron_dir = d.join("cron");
    std::fs::create_dir_all(&cron_dir).unwrap();
    let mut cron = daemons::start_cron(
        &cron_dir,
        &[
            // A minute of 61: cron ignores the whole file, saying why.
            ("broken", "61 * * * * root echo never\n"),
            ("failing", "* * * * * root /bin/false\n"),
        ],
        Some(&sock),
    );
    let s = e.wait_sample(
        "the syntax error",
        Duration::from_secs(20),
        "os_cron_failures_total",
        &[("reason", "syntax")],
        |v| v >= 1.0,
    );
    cron.assert_running();
    assert_eq!(
        sample_value(&s, "os_cron_has_failed", &[]),
        Some(1.0),
        "{s}"
    );
    assert!(sample_value(&s, "os_cron_last_failure_timestamp_seconds", &[]).unwrap() > 0.0);
    // /bin/false runs at the next minute; cron -L 4 logs its exit status.
    let s = e.wait_sample(
        "the failing job's exit status",
        Duration::from_secs(75),
        "os_cron_failures_total",
        &[("reason", "exit_status")],
        |v| v >= 1.0,
    );
    metric_reference::check_scrape("os-exporter", "os", &[&s]).unwrap_or_else(|e| panic!("{e}"));
    let audit = std::fs::read_to_string(d.join("cron-audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"cron_failed\"") && audit.contains("bad minute"),
        "{audit}"
    );
    assert!(audit.contains("failed with exit status 1"), "{audit}");
}
