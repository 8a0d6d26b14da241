//! os-exporter's `os_ntp_offset_seconds` and `os_ntp_sync_abnormal` against real chronyd servers
//! on loopback ports: one on the real clock (offset about 0), one run 2.5 s ahead with
//! libfaketime (about 2.5, the sign `ntpdate -q` prints), one with only a dead upstream (it
//! answers "not synchronised": no offset from it, and as the local daemon it is a cause), and a
//! closed port (the document's 999).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use suite_tests::chrony::{Chronyd, Mode, free_udp_port};
use suite_tests::exporter::{Exporter, sample_value};
use suite_tests::{TempDir, metric_reference};

/// os-exporter with the ntp collector alone, asking `servers`, its local daemon `local`.
fn exporter(dir: &Path, name: &str, servers: &[String], local: &str) -> Exporter {
    let cfg = dir.join(format!("{name}.toml"));
    let list: Vec<String> = servers.iter().map(|s| format!("{s:?}")).collect();
    std::fs::write(
        &cfg,
        format!(
            "[collectors]\ndisabled = [\"ping\"]\n\n[audit]\npath = {:?}\n\n\
             [directories]\nstate_file = {:?}\n\n\
             [ntp]\nservers = [{}]\nlocal_daemon = {local:?}\ninterval = \"1s\"\ntimeout = \"1s\"\n",
            dir.join(format!("{name}-audit.jsonl")).display().to_string(),
            dir.join(format!("{name}-directories.json")).display().to_string(),
            list.join(", ")
        ),
    )
    .unwrap();
    Exporter::start("os-exporter", &["--config.file", cfg.to_str().unwrap()])
}

/// The first scrape after a pass whose `os_ntp_server_up` series for `server` exist.
fn after_pass(e: &Exporter, server: &str) -> String {
    suite_tests::wait_until(
        &format!("an ntp pass asking {server}"),
        Duration::from_secs(20),
        || {
            let s = e.scrape();
            s.lines()
                .any(|l| {
                    l.starts_with("os_ntp_server_up{")
                        && l.contains(&format!("server=\"{server}\""))
                })
                .then_some(s)
        },
    )
}

fn v(s: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    sample_value(s, name, labels)
}

fn audit(dir: &Path, name: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join(format!("{name}-audit.jsonl")))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|r: &serde_json::Value| r["check"] == "ntp_sync")
        .collect()
}

#[test]
fn offsets_from_real_chronyd_servers_and_999_when_none_answers() {
    let dir = TempDir::new("os-ntp");
    let on_time = Chronyd::start(&dir.path().join("on-time"), Mode::Local);
    let ahead = Chronyd::start(&dir.path().join("ahead"), Mode::Ahead(2.5));
    let lost = Chronyd::start(&dir.path().join("lost"), Mode::Unsynchronised);
    let closed = format!("127.0.0.1:{}", free_udp_port());

    // On time, and the local daemon (the same server) synchronised.
    let a = on_time.addr.to_string();
    let e = exporter(dir.path(), "on-time", std::slice::from_ref(&a), &a);
    let s = after_pass(&e, &a);
    let offset = v(&s, "os_ntp_offset_seconds", &[]).unwrap();
    assert!(offset.abs() < 0.05, "on-time server: offset {offset}");
    let l = [("server", a.as_str()), ("address", a.as_str())];
    assert_eq!(v(&s, "os_ntp_server_up", &l), Some(1.0));
    assert_eq!(v(&s, "os_ntp_server_stratum", &l), Some(10.0));
    assert!(v(&s, "os_ntp_server_rtt_seconds", &l).unwrap() < 0.5);
    assert_eq!(
        v(
            &s,
            "os_ntp_sync_abnormal_cause",
            &[("cause", "daemon_unsynchronised")]
        ),
        Some(0.0)
    );
    assert_eq!(
        v(
            &s,
            "os_ntp_sync_abnormal_cause",
            &[("cause", "offset_unavailable")]
        ),
        Some(0.0)
    );
    assert_eq!(
        v(&s, "os_scrape_collector_success", &[("collector", "ntp")]),
        Some(1.0)
    );

    // 2.5 s ahead: positive, as ntpdate -q prints it (this host is behind the server).
    let b = ahead.addr.to_string();
    let e2 = exporter(dir.path(), "ahead", std::slice::from_ref(&b), "");
    let s = after_pass(&e2, &b);
    let offset = v(&s, "os_ntp_offset_seconds", &[]).unwrap();
    assert!(
        (2.4..2.6).contains(&offset),
        "server 2.5 s ahead: offset {offset}"
    );

    // A closed port and an unsynchronised server: nothing usable, 999; the unsynchronised one
    // as the local daemon is the daemon cause; the turn to abnormal is audited with both.
    let c = lost.addr.to_string();
    let e3 = exporter(dir.path(), "lost", &[closed.clone(), c.clone()], &c);
    let s = after_pass(&e3, &c);
    assert_eq!(v(&s, "os_ntp_offset_seconds", &[]), Some(999.0));
    assert_eq!(
        v(
            &s,
            "os_ntp_server_up",
            &[("server", closed.as_str()), ("address", closed.as_str())]
        ),
        Some(0.0)
    );
    assert_eq!(
        v(
            &s,
            "os_ntp_server_up",
            &[("server", c.as_str()), ("address", c.as_str())]
        ),
        Some(0.0)
    );
    assert!(
        !s.contains("os_ntp_server_offset_seconds{"),
        "no offset without an answer"
    );
    assert_eq!(v(&s, "os_ntp_sync_abnormal", &[]), Some(1.0));
    for cause in ["daemon_unsynchronised", "offset_unavailable"] {
        assert_eq!(
            v(&s, "os_ntp_sync_abnormal_cause", &[("cause", cause)]),
            Some(1.0),
            "{cause}"
        );
    }
    assert_eq!(
        v(&s, "os_scrape_collector_success", &[("collector", "ntp")]),
        Some(1.0),
        "an unavailable server is the value 999, not a failed collector"
    );
    let records =
        suite_tests::wait_until("the ntp_sync audit record", Duration::from_secs(10), || {
            let r = audit(dir.path(), "lost");
            (!r.is_empty()).then_some(r)
        });
    let servers = records[0]["evidence"]["servers"].as_array().unwrap();
    let state = |addr: &str| {
        servers
            .iter()
            .find(|x| x["address"] == addr)
            .map(|x| x["state"].as_str().unwrap().to_owned())
    };
    assert_eq!(state(&closed).as_deref(), Some("failed"), "{}", records[0]);
    assert_eq!(
        state(&c).as_deref(),
        Some("unsynchronised"),
        "{}",
        records[0]
    );
    // Every family emitted is in the metric reference.
    let scrapes = [e.scrape(), e2.scrape(), s.clone()];
    let refs: Vec<&str> = scrapes.iter().map(String::as_str).collect();
    metric_reference::check_scrape("os-exporter", "os", &refs).unwrap_or_else(|e| panic!("{e}"));
    // Written on the turn, not on every pass.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(audit(dir.path(), "lost").len(), 1);
}
