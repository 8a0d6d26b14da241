//! The probe binary reads its logs in the background (`log_poll` job), not only when scraped:
//! lines of a log that is copytruncated twice between two scrapes are all counted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use suite_tests::exporter::sample_value;
use suite_tests::process::Process;
use suite_tests::{TempDir, http};

/// The `log_poll_interval` of the config; the test waits many of them between its steps.
const POLL: &str = "log_poll_interval = \"100ms\"\n";
const SETTLE: Duration = Duration::from_millis(1500);

fn scrape(addr: SocketAddr) -> String {
    let r = http::get_with_timeout(addr, "/metrics", &[], Duration::from_secs(30)).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn append_lines(path: &Path, from: usize, n: usize) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    for i in from..from + n {
        writeln!(
            f,
            "2026-11-30 10:{:02}:{:02}.000000 W | rafthttp: health check for peer 5e could not connect: dial tcp 127.0.0.1:1: connect: connection refused",
            i / 60,
            i % 60
        )
        .unwrap();
    }
}

fn truncate(path: &Path) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(0)
        .unwrap();
}

#[test]
fn lines_of_a_log_truncated_twice_between_scrapes_are_all_counted() {
    let dir = TempDir::new("etcd-log-poll");
    let log = dir.path().join("etcd.log");
    std::fs::write(&log, "").unwrap();
    let config = dir.path().join("etcd-probe.toml");
    std::fs::write(
        &config,
        format!(
            "endpoints = [\"http://127.0.0.1:1\"]\nstate_file = \"{}\"\n{POLL}\n\
             [local]\nenabled = false\n\n\
             [[logs]]\nname = \"etcd\"\npath = \"{}\"\nfrom_beginning = true\n",
            dir.path().join("state.json").display(),
            log.display()
        ),
    )
    .unwrap();
    let addr: SocketAddr = ([127, 0, 0, 1], suite_tests::free_port()).into();
    let out = dir.path().join("probe.log");
    let mut probe = Process::spawn(
        "etcd-probe",
        Command::new(env!("CARGO_BIN_EXE_etcd-probe"))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&out).unwrap()),
    )
    .unwrap()
    .with_log(out);
    probe.wait_http_ok(addr, "/-/healthy", Duration::from_secs(20));
    let s = scrape(addr);
    assert_eq!(
        sample_value(&s, "etcd_log_lines_total", &[("log", "etcd")]),
        Some(0.0)
    );

    // No scrape between these steps: only the background job sees the intermediate files.
    append_lines(&log, 0, 50);
    std::thread::sleep(SETTLE);
    truncate(&log);
    append_lines(&log, 100, 30);
    std::thread::sleep(SETTLE);
    truncate(&log);
    append_lines(&log, 200, 150);
    std::thread::sleep(SETTLE);

    let s = scrape(addr);
    probe.assert_running();
    assert_eq!(
        sample_value(&s, "etcd_log_lines_total", &[("log", "etcd")]),
        Some(230.0)
    );
    assert_eq!(
        sample_value(
            &s,
            "etcd_log_cause_total",
            &[("cause", "network"), ("detail", "connection_refused")]
        ),
        Some(230.0)
    );
    assert_eq!(
        sample_value(&s, "etcd_log_poll_last_run_success", &[]),
        Some(1.0)
    );
}
