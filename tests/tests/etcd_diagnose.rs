//! `etcd-probe diagnose` against a real 3-member etcd cluster (Debian's etcd-server 3.4) on
//! loopback: the healthy cluster gives no fault; a data directory made 0755, a manual-stop
//! marker, a paused leader (overload lines), a SIGKILLed local member (process down, peers log
//! `connection refused`) and a NOSPACE alarm each give their own verdict, checked field by field
//! in the JSON report. A member endpoint that accepts and never answers is cut at its deadline,
//! and a walk limit shorter than that still ends with a verdict (issue 17 acceptance 1 and 5).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use suite_tests::diagnose::{evidence_of, failing, from_output, step};

use serde_json::Value;
use suite_tests::etcd_cluster::{EtcdCluster, Options};
use suite_tests::{TempDir, bin_path, wait_until};

/// Writes a probe config for `cluster` with local checks on member 1 (`m1`), every member's log
/// classified, and `extra` endpoints after the members'.
fn config(
    cluster: &EtcdCluster,
    dir: &Path,
    name: &str,
    extra: &[String],
    timeout: &str,
) -> PathBuf {
    let mut eps: Vec<String> = cluster.endpoints();
    eps.extend(extra.iter().cloned());
    let eps: Vec<String> = eps.iter().map(|e| format!("\"{e}\"")).collect();
    let mut cfg = format!(
        "endpoints = [{}]\nrequest_timeout = \"{timeout}\"\nstate_file = \"{}\"\n\n[local]\ndata_dir = \"{}\"\n\
         binary = \"/usr/bin/etcd\"\nmarker_dir = \"{}\"\nprocess_cmdline_contains = \"--name {} \"\n",
        eps.join(", "),
        dir.join("state.json").display(),
        cluster.data_dir(0).display(),
        dir.join("gausslog-bin").display(),
        cluster.name(0),
    );
    for i in 0..cluster.len() {
        cfg.push_str(&format!(
            "\n[[logs]]\nname = \"{}\"\npath = \"{}\"\n",
            cluster.name(i),
            cluster.log_path(i).display()
        ));
    }
    std::fs::create_dir_all(dir.join("gausslog-bin")).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, cfg).unwrap();
    path
}

/// Runs `etcd-probe diagnose --output json` with the log window starting at `mark`; returns the
/// exit code, the report and the wall time.
fn diagnose(config: &Path, mark: Instant, extra: &[&str]) -> (i32, Value, Duration) {
    let since = format!("{}s", mark.elapsed().as_secs() + 1);
    let t0 = Instant::now();
    let out = std::process::Command::new(bin_path("etcd-probe"))
        .arg("diagnose")
        .args(["--output", "json", "--since", &since])
        .arg(format!("--config.file={}", config.display()))
        .args(extra)
        .output()
        .unwrap();
    let took = t0.elapsed();
    let (code, report) = from_output(&out);
    (code, report, took)
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Lines of member `i`'s log containing `needle`.
fn log_count(cluster: &EtcdCluster, i: usize, needle: &str) -> usize {
    std::fs::read_to_string(cluster.log_path(i))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

#[test]
#[allow(clippy::too_many_lines)]
fn each_cause_of_document_002_gives_its_verdict_on_a_real_cluster() {
    let dir = TempDir::new("etcd-diagnose");
    let mut cluster = EtcdCluster::start(
        3,
        Options {
            quota_backend_bytes: Some(3_000_000),
            ..Options::default()
        },
    );
    let up = Instant::now();
    let cfg = config(&cluster, dir.path(), "probe", &[], "2s");
    let eps = cluster.endpoints();
    cluster.etcdctl(0, &["put", "/suite/a", "1"]);

    // Healthy: no fault, exit 0; the manual steps carry the document's words. A process's start
    // time is btime (whole seconds) plus its start ticks, so one started within the last second
    // or two may read as started inside a window opened after it: let the members age past that
    // before the healthy window opens, or they count as restarted.
    std::thread::sleep(Duration::from_secs(2).saturating_sub(up.elapsed()));
    let mark = Instant::now();
    let (code, r, _) = diagnose(&cfg, mark, &[]);
    assert_eq!(r["verdict"]["cause"], "no_fault_found", "{r:#}");
    assert_eq!(code, 0);
    assert!(failing(&r).is_empty(), "{r:#}");
    assert_eq!(step(&r, "member_status")["status"], "pass", "{r:#}");
    assert_eq!(step(&r, "etcd_process")["status"], "pass", "{r:#}");
    assert_eq!(step(&r, "vm_rebooted")["status"], "pass");
    assert_eq!(step(&r, "ip_configured")["status"], "pass", "{r:#}");
    let ip = &evidence_of(&r, "ip_configured", "ip addr")[0];
    assert!(
        ip["detail"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1/8 on lo"),
        "{ip}"
    );
    let ping = &evidence_of(&r, "ping_members", "ping")[0];
    assert_eq!(ping["source"], "127.0.0.1");
    assert!(
        ping["detail"].as_str().unwrap().starts_with("reply, rtt "),
        "{ping}"
    );
    let fw = step(&r, "firewall");
    assert_eq!(fw["status"], "manual");
    assert!(
        fw["instruction"]["zh"]
            .as_str()
            .unwrap()
            .contains("iptables -L")
    );
    assert_eq!(step(&r, "etcd_log_network")["source"], "002 §2 step (3)");
    // Document order: VM, network, overload, process, OM, then 001's member and data checks.
    let ids: Vec<&str> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    let pos = |id: &str| ids.iter().position(|x| *x == id).unwrap();
    assert!(pos("vm_rebooted") < pos("ping_members"));
    assert!(pos("ping_members") < pos("etcd_log_overload"));
    assert!(pos("etcd_log_overload") < pos("etcd_process"));
    assert!(pos("data_dir") < pos("om_status_file"));
    assert!(pos("om_status_file") < pos("member_status"));

    // A member endpoint that accepts and never answers (acceptance 5), with a request timeout
    // longer than the step's: cut at the step's 4 s deadline, the walk goes on to its verdict.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_url = format!("http://{}", hung.local_addr().unwrap());
    let hung_cfg = config(
        &cluster,
        dir.path(),
        "hung",
        std::slice::from_ref(&hung_url),
        "30s",
    );
    let (code, r, took) = diagnose(&hung_cfg, mark, &[]);
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(r["verdict"]["cause"], "network_fault", "{r:#}");
    assert_eq!(code, 1);
    assert_eq!(failing(&r), ["member_status"], "{r:#}");
    let cut = evidence_of(&r, "member_status", "member")
        .into_iter()
        .find(|e| e["source"] == hung_url.as_str())
        .unwrap();
    assert_eq!(
        cut["detail"],
        "no answer within its 4.0s deadline: cut (reason timeout)"
    );
    // With a walk limit of 1 s the member scrape is cut at the limit; the walk still ends with
    // a verdict, within its limit, and any step it could not start is reported as timed out.
    let (code, r, took) = diagnose(&hung_cfg, mark, &["--timeout", "1s"]);
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(r["limit_seconds"], 1.0);
    assert!(r["elapsed_seconds"].as_f64().unwrap() < 1.5, "{r:#}");
    assert_eq!(r["verdict"]["cause"], "network_fault", "{r:#}");
    assert_eq!(code, 1);
    let cut = evidence_of(&r, "member_status", "member")
        .into_iter()
        .find(|e| e["source"] == hung_url.as_str())
        .unwrap();
    assert_eq!(
        cut["detail"],
        "no answer within its 1.0s deadline: cut (reason timeout)"
    );
    for id in r["timed_out"].as_array().unwrap() {
        let s = step(&r, id.as_str().unwrap());
        assert_eq!(s["status"], "timed_out");
        assert!(s["summary"].as_str().unwrap().contains("limit"), "{s}");
    }
    drop(hung);

    // Data directory made 0755: permissions, with the mode as evidence.
    set_mode(&cluster.data_dir(0), 0o755);
    let (code, r, _) = diagnose(&cfg, mark, &[]);
    // Read-only: the remedy is printed, the mode is left as it was.
    let left = std::fs::metadata(cluster.data_dir(0))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    set_mode(&cluster.data_dir(0), 0o700);
    assert_eq!(left, 0o755, "diagnose changed the data directory's mode");
    assert_eq!(r["verdict"]["cause"], "data_dir_permissions", "{r:#}");
    assert_eq!(code, 1);
    assert_eq!(failing(&r), ["data_dir"], "{r:#}");
    assert_eq!(r["verdict"]["steps"], serde_json::json!(["data_dir"]));
    let mode = &evidence_of(&r, "data_dir", "mode")[0];
    assert_eq!(mode["detail"], "0755, want 0700");
    assert_eq!(mode["source"], cluster.data_dir(0).display().to_string());
    assert!(
        r["verdict"]["remedy"]["en"]
            .as_str()
            .unwrap()
            .contains("chmod 0700")
    );
    assert_eq!(
        r["verdict"]["remedy"]["zh"],
        "如果目录权限不正确，修改为正确的目录权限。"
    );

    // A manual-stop marker: the cluster was stopped on purpose.
    let marker = dir.path().join("gausslog-bin/etcd_manual_start");
    std::fs::write(&marker, b"").unwrap();
    let (code, r, _) = diagnose(&cfg, mark, &[]);
    assert_eq!(r["verdict"]["cause"], "manual_stop", "{r:#}");
    assert_eq!(code, 1);
    assert_eq!(failing(&r), ["manual_stop_markers"], "{r:#}");
    let markers = evidence_of(&r, "manual_stop_markers", "marker");
    let details: Vec<&str> = markers
        .iter()
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert_eq!(
        details,
        ["cluster_manual_start: absent", "etcd_manual_start: present"]
    );
    assert!(marker.exists(), "diagnose must not remove the marker");
    std::fs::remove_file(&marker).unwrap();

    // A leader paused past the election timeout (500 ms): once resumed its log says it was
    // overloaded (late heartbeats). Retried, as a pause may end just as a new election starts.
    let mut overload = None;
    for _ in 0..5 {
        let leader = wait_until("a leader", Duration::from_secs(10), || cluster.leader());
        let mark = Instant::now();
        cluster.pause(leader);
        std::thread::sleep(Duration::from_millis(700));
        cluster.resume(leader);
        cluster.wait_healthy(Duration::from_secs(30));
        let seen = suite_tests::poll_until(Duration::from_secs(3), || {
            log_count(&cluster, leader, "failed to send out heartbeat on time") > 0
                || log_count(&cluster, leader, "server is likely overloaded") > 0
        });
        if seen {
            let (code, r, _) = diagnose(&cfg, mark, &[]);
            if r["verdict"]["cause"] == "overload" {
                overload = Some((leader, code, r));
                break;
            }
            eprintln!("paused leader m{}: {r:#}", leader + 1);
        }
    }
    let (leader, code, r) = overload.expect("a paused leader never gave the overload verdict");
    assert_eq!(code, 1);
    assert_eq!(step(&r, "etcd_log_overload")["status"], "fail", "{r:#}");
    assert_eq!(step(&r, "etcd_log_overload")["cause"], "overload");
    let lines = evidence_of(&r, "etcd_log_overload", "log line");
    assert!(
        lines.iter().any(
            |e| e["source"] == cluster.log_path(leader).display().to_string()
                && e["time"].as_str().is_some_and(|t| t.starts_with("20"))
                && (e["detail"]
                    .as_str()
                    .unwrap()
                    .contains("failed to send out heartbeat on time")
                    || e["detail"]
                        .as_str()
                        .unwrap()
                        .contains("server is likely overloaded"))
        ),
        "{r:#}"
    );
    let classified = &evidence_of(&r, "etcd_log_overload", "classified lines")[0];
    assert!(
        classified["detail"]
            .as_str()
            .unwrap()
            .contains("heartbeat_late=")
            || classified["detail"]
                .as_str()
                .unwrap()
                .contains("server_overloaded="),
        "{classified}"
    );
    assert_eq!(step(&r, "etcd_process")["status"], "pass", "{r:#}");
    cluster.wait_healthy(Duration::from_secs(30));

    // SIGKILL the local member m1: process down, and its peers' logs say connection refused.
    let mark = Instant::now();
    let refused = |c: &EtcdCluster| {
        log_count(c, 1, "connection refused") + log_count(c, 2, "connection refused")
    };
    let refused_before = refused(&cluster);
    cluster.kill(0);
    wait_until(
        "the peers log connection refused",
        Duration::from_secs(20),
        || (refused(&cluster) > refused_before).then_some(()),
    );
    let (code, r, _) = diagnose(&cfg, mark, &[]);
    assert_eq!(r["verdict"]["cause"], "process_down", "{r:#}");
    assert_eq!(code, 1);
    assert_eq!(r["verdict"]["steps"], serde_json::json!(["etcd_process"]));
    let f = failing(&r);
    for id in ["etcd_process", "etcd_log_network", "member_status"] {
        assert!(f.iter().any(|x| x == id), "{id} not failing: {r:#}");
    }
    for id in ["data_dir", "etcd_binary", "manual_stop_markers"] {
        assert_eq!(step(&r, id)["status"], "pass", "{id}: {r:#}");
    }
    assert_eq!(step(&r, "ip_configured")["status"], "not_applicable");
    assert_eq!(step(&r, "etcd_log_network")["cause"], "peer_process_down");
    let refused_lines = evidence_of(&r, "etcd_log_network", "log line");
    assert!(
        refused_lines.iter().any(
            |e| e["detail"].as_str().unwrap().contains("connection refused")
                && (e["source"] == cluster.log_path(1).display().to_string()
                    || e["source"] == cluster.log_path(2).display().to_string())
                && e["time"].is_string()
        ),
        "{r:#}"
    );
    let m1 = evidence_of(&r, "member_status", "member")
        .into_iter()
        .find(|e| e["source"] == eps[0].as_str())
        .unwrap();
    assert_eq!(m1["detail"], "unreachable (reason connection_refused)");
    assert_eq!(
        step(&r, "etcd_process")["evidence"][0]["what"],
        "etcd_process_status"
    );
    cluster.restart(0);
    cluster.wait_healthy(Duration::from_secs(30));

    // NOSPACE: fill the small quota until etcd raises the alarm.
    let mark = Instant::now();
    let big = "z".repeat(100_000);
    let filled = (0..60).any(|i| {
        cluster
            .try_etcdctl(0, &["put", &format!("/suite/big/{i}"), &big])
            .is_err_and(|e| e.contains("database space exceeded"))
    });
    assert!(filled, "the quota was never reached");
    let r = wait_until("the NOSPACE verdict", Duration::from_secs(20), || {
        let (code, r, _) = diagnose(&cfg, mark, &[]);
        (r["verdict"]["cause"] == "nospace_alarm" && code == 1).then_some(r)
    });
    let alarm = evidence_of(&r, "member_status", "alarm");
    assert_eq!(alarm[0]["detail"], "NOSPACE", "{r:#}");
    assert_eq!(alarm[0]["source"], "etcd_cluster_alarm_active");
    assert_eq!(step(&r, "member_status")["cause"], "nospace_alarm");
    for m in evidence_of(&r, "member_status", "member") {
        assert_eq!(m["detail"], "answers, unhealthy", "{r:#}");
    }
    assert!(
        r["verdict"]["remedy"]["en"]
            .as_str()
            .unwrap()
            .contains("etcdctl alarm disarm")
    );
    // Nothing was persisted: the data-loss state file belongs to the serving probe.
    assert!(
        !dir.path().join("state.json").exists(),
        "diagnose wrote the state file"
    );
}
