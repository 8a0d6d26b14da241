//! `keepalived-exporter diagnose` (issue 17, acceptance 3) against a real keepalived pair in
//! network namespaces (`suite_tests::keepalived`): a healthy pair gives no fault; a node cut off
//! the bridge names its unreachable peer; a failing
//! track script gives the FAULT verdict with the state and the log lines; SIGKILL of the master
//! (its VIP left configured while the backup takes over) gives "VIP held by two hosts" on both
//! nodes, with both MACs as evidence. The JSON report is checked field by field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use suite_tests::diagnose::{evidence_of, failing, from_output, step};

use serde_json::Value;
use suite_tests::netns::{Lan, unique_tag};
use suite_tests::{TempDir, bin_path, keepalived, process, wait_until};

const VIP: &str = "10.203.9.100";
const SUBNET: &str = "10.203.9";

/// Runs `keepalived-exporter diagnose --output json` in host `i`; the report and exit status.
fn diagnose(lan: &Lan, i: usize, dir: &Path, extra: &[&str]) -> (Value, i32) {
    let bin = bin_path("keepalived-exporter");
    let config = dir.join("exporter.toml");
    let mut argv = vec![
        bin.to_str().unwrap(),
        "diagnose",
        "--output",
        "json",
        "--config.file",
        config.to_str().unwrap(),
    ];
    argv.extend_from_slice(extra);
    let out = lan.hosts[i].run(&argv, Duration::from_secs(40));
    let (code, report) = from_output(&out);
    (report, code)
}

/// The `detail` of every evidence item of `step` whose `what` is `what`.
fn evidence(report: &Value, step_id: &str, what: &str) -> Vec<String> {
    evidence_of(report, step_id, what)
        .iter()
        .map(|e| e["detail"].as_str().unwrap().to_owned())
        .collect()
}

fn log_has(dir: &Path, text: &str) -> bool {
    std::fs::read_to_string(dir.join("keepalived.log"))
        .unwrap_or_default()
        .contains(text)
}

#[test]
fn diagnose_names_the_track_script_fault_and_the_vip_on_two_hosts() {
    let started = Instant::now();
    let tag = unique_tag("kd");
    // Outside /tmp: keepalived's /tmp is replaced.
    let work = TempDir::in_dir(Path::new("/run"), &tag);
    let mut lan = Lan::new(&tag, SUBNET, 2);
    let dirs: Vec<PathBuf> = [150, 100]
        .iter()
        .enumerate()
        .map(|(i, prio)| keepalived::write_node(&lan, i, work.path(), *prio, VIP))
        .collect();
    for (i, dir) in dirs.iter().enumerate() {
        keepalived::start(&mut lan, i, dir);
    }
    let (a, b) = (&dirs[0], &dirs[1]);
    let (mac_a, mac_b) = (keepalived::mac(&lan, 0), keepalived::mac(&lan, 1));
    assert_ne!(mac_a, mac_b);
    let long = Duration::from_secs(20);

    // 1. Healthy: a master with the VIP, b backup. Both walk the whole procedure clean.
    wait_until("a to hold the VIP and b to be backup", long, || {
        (keepalived::vip_configured(&lan, 0, VIP) && log_has(b, "Entering BACKUP STATE"))
            .then_some(())
    });
    for (i, dir) in dirs.iter().enumerate() {
        let (r, code) = diagnose(&lan, i, dir, &[]);
        assert_eq!(r["verdict"]["cause"], "no_fault_found", "node {i}: {r:#}");
        assert_eq!(code, 0, "{r:#}");
        assert_eq!(r["binary"], "keepalived-exporter");
        assert!(failing(&r).is_empty(), "{r:#}");
        let ids: Vec<&str> = r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            [
                "process",
                "vrrp_state",
                "check_failed_log",
                "failover_log",
                "peer_connectivity",
                "vip_mac",
                "garp_master_refresh",
                "upstream_arp"
            ]
        );
        assert_eq!(step(&r, "upstream_arp")["status"], "manual");
        assert_eq!(step(&r, "garp_master_refresh")["status"], "pass");
        let ping = evidence(&r, "peer_connectivity", "ping");
        assert!(
            ping.len() == 1 && ping[0].starts_with(&format!("{}: answered in", lan.addr(1 - i))),
            "{ping:?}"
        );
    }
    let (r, _) = diagnose(&lan, 0, a, &[]);
    assert!(
        evidence(&r, "vrrp_state", "vrrp instance")[0].contains("VI_1 on eth0 (vrid 51): MASTER"),
        "{r:#}"
    );
    assert_eq!(
        evidence(&r, "vip_mac", "this host"),
        [format!(
            "{VIP} on eth0 at {mac_a} (VI_1, MASTER, keepalived running)"
        )]
    );
    assert!(evidence(&r, "vip_mac", "other MAC").is_empty(), "{r:#}");

    // 2. b cut off the bridge: it cannot ping a, takes the VIP itself, and no other MAC
    //    answers it there. The peer is the cause.
    lan.cut(1);
    wait_until("cut-off b to take the VIP", long, || {
        keepalived::vip_configured(&lan, 1, VIP).then_some(())
    });
    let (r, code) = diagnose(&lan, 1, b, &[]);
    assert_eq!(r["verdict"]["cause"], "peer_unreachable", "{r:#}");
    assert_eq!(code, 1);
    assert_eq!(failing(&r), ["peer_connectivity"], "{r:#}");
    assert_eq!(
        evidence(&r, "peer_connectivity", "ping"),
        [format!("{}: no answer", lan.addr(0))]
    );
    lan.restore(1);
    wait_until("b to give the VIP back", long, || {
        (!keepalived::vip_configured(&lan, 1, VIP)).then_some(())
    });

    // 3. A failing track script puts a in FAULT: its dump says so and its log has the lines.
    std::fs::write(a.join("fail"), "").unwrap();
    wait_until("a to log FAULT and b to take the VIP", long, || {
        (log_has(a, "Entering FAULT STATE") && keepalived::vip_configured(&lan, 1, VIP))
            .then_some(())
    });
    let (r, code) = diagnose(&lan, 0, a, &[]);
    assert_eq!(r["verdict"]["cause"], "track_script_fault", "{r:#}");
    assert_eq!(code, 1);
    assert_eq!(failing(&r), ["vrrp_state", "check_failed_log"], "{r:#}");
    assert_eq!(
        r["verdict"]["steps"],
        serde_json::json!(["vrrp_state", "check_failed_log"])
    );
    assert!(
        evidence(&r, "vrrp_state", "vrrp instance")[0].contains("VI_1 on eth0 (vrid 51): FAULT"),
        "{r:#}"
    );
    let lines = &step(&r, "check_failed_log")["evidence"];
    let fault = lines
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["detail"]
                .as_str()
                .unwrap()
                .contains("Entering FAULT STATE")
        })
        .unwrap_or_else(|| panic!("no FAULT line in {lines:#}"));
    assert_eq!(fault["what"], "log line");
    assert!(fault["time"].as_str().unwrap().ends_with('Z'), "{fault:#}");
    assert!(
        fault["source"]
            .as_str()
            .unwrap()
            .ends_with("keepalived.log")
    );
    assert!(
        step(&r, "check_failed_log")["summary"]
            .as_str()
            .unwrap()
            .contains("track script chk"),
        "{r:#}"
    );
    assert_eq!(
        evidence(&r, "vip_mac", "this host"),
        [format!(
            "{VIP} not on eth0 (VI_1, not master, keepalived running)"
        )]
    );
    assert_eq!(step(&r, "vip_mac")["status"], "pass");

    // 4. Recovery, then SIGKILL of the master: its VIP stays on a while b takes over.
    std::fs::remove_file(a.join("fail")).unwrap();
    wait_until("a to take the VIP back", long, || {
        (keepalived::vip_configured(&lan, 0, VIP) && !keepalived::vip_configured(&lan, 1, VIP))
            .then_some(())
    });
    let killed = Instant::now();
    for file in ["vrrp.pid", "ka.pid"] {
        let pid = keepalived::pid(a, file);
        assert!(process::signal(pid, "-KILL"), "kill {file} {pid}");
    }
    lan.hosts[0].reap();
    wait_until("b to take over the VIP", long, || {
        keepalived::vip_configured(&lan, 1, VIP).then_some(())
    });
    assert!(
        keepalived::vip_configured(&lan, 0, VIP),
        "SIGKILL leaves the VIP on a"
    );
    // The log window starts at the kill, so the earlier FAULT lines are outside it.
    let since = format!("{}s", killed.elapsed().as_secs() + 1);
    for (i, dir) in dirs.iter().enumerate() {
        let (r, code) = diagnose(&lan, i, dir, &["--since", &since]);
        assert_eq!(r["verdict"]["cause"], "vip_on_two_hosts", "node {i}: {r:#}");
        assert_eq!(code, 1);
        assert_eq!(r["verdict"]["steps"], serde_json::json!(["vip_mac"]));
        let (own, other, state) = if i == 0 {
            (&mac_a, &mac_b, "not master, keepalived down")
        } else {
            (&mac_b, &mac_a, "MASTER, keepalived running")
        };
        assert_eq!(
            evidence(&r, "vip_mac", "this host"),
            [format!("{VIP} on eth0 at {own} (VI_1, {state})")],
            "{r:#}"
        );
        assert_eq!(
            evidence(&r, "vip_mac", "other MAC"),
            [format!("{other} answers ARP for {VIP}")],
            "{r:#}"
        );
        assert_eq!(step(&r, "check_failed_log")["status"], "pass", "{r:#}");
        if i == 0 {
            assert_eq!(failing(&r), ["process", "vip_mac"], "{r:#}");
            assert_eq!(step(&r, "process")["cause"], "keepalived_down");
            assert_eq!(step(&r, "vrrp_state")["status"], "not_applicable");
        } else {
            assert_eq!(failing(&r), ["vip_mac"], "{r:#}");
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "{:?}",
        started.elapsed()
    );
}
