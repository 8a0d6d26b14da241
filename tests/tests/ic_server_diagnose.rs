//! `ic-server-probe diagnose --target` (issue 17 acceptance 2): an OCP node and an IC-Server
//! host, each a network namespace; the IC-Server is a small HTTP server process (its script named
//! after the configured process, so `ps -ef|grep` finds it) answering `/ok` and writing its own
//! `server.log`. Healthy, then three faults, each with its own verdict: the IC-Server answering
//! 500 with errors in its log, its port filtered in its namespace (a network cut), its process
//! stopped. The JSON report is checked field by field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;
use suite_tests::diagnose::{details, failing, from_output, step};

use serde_json::Value;
use suite_tests::netns::{Lan, unique_tag};
use suite_tests::{TempDir, bin_path, process, wait_until};

const SUBNET: &str = "10.203.17";
const PORT: u16 = 8088;

/// The IC-Server: `GET /ok` answers with the status in `mode` (200 -> `ok`); a 500 also writes
/// an ERROR line to `server.log`, as a failing IC-Server does.
const SERVER: &str = r#"
import sys, time, http.server
addr, port, mode, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def write(level, msg):
    with open(log, "a") as f:
        f.write(time.strftime("%Y-%m-%d %H:%M:%S") + ".000 " + level + " [http-nio-8088-exec-1] c.o.ic.Server - " + msg + "\n")
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = int(open(mode).read().strip() or "200")
        body = b"ok" if code == 200 else b"internal error"
        if code != 200:
            write("ERROR", "health check failed: tunnel to ic-agent 10.9.0.2 lost")
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
write("INFO", "ic-server started")
http.server.HTTPServer((addr, port), H).serve_forever()
"#;

/// Runs diagnose in the OCP namespace; returns (exit code, report).
fn diagnose(lan: &Lan, config: &Path, target: &str, since: Option<&str>) -> (i32, Value) {
    let bin = bin_path("ic-server-probe");
    let cfg = format!("--config.file={}", config.display());
    let mut argv = vec![
        bin.to_str().unwrap(),
        cfg.as_str(),
        "diagnose",
        "--output",
        "json",
        "--target",
        target,
    ];
    if let Some(s) = since {
        argv.extend(["--since", s]);
    }
    let out = lan.hosts[0].run(&argv, Duration::from_secs(40));
    from_output(&out)
}

fn now_rfc3339() -> String {
    process::run_ok(&["date", "-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .trim()
        .to_owned()
}

#[test]
fn a_stopped_process_a_network_cut_and_a_500_with_log_errors_get_three_verdicts() {
    let dir = TempDir::new("icdiag");
    let name = format!("ic-server-{}", std::process::id());
    let script = dir.path().join(format!("{name}.py"));
    std::fs::write(&script, SERVER).unwrap();
    let mode = dir.path().join("mode");
    std::fs::write(&mode, "200").unwrap();
    let log = dir.path().join("server.log");
    let config = dir.path().join("ic.toml");
    std::fs::write(
        &config,
        format!(
            "ocp_address = \"{SUBNET}.1\"\nhealth_url = \"http://<IP>:{PORT}/ok\"\ntimeout = \"1s\"\n\
             expected_body = \"ok\"\n[local]\nenabled = true\nprocess_name = \"{name}\"\nlog_file = \"{}\"\n",
            log.display()
        ),
    )
    .unwrap();

    let mut lan = Lan::new(&unique_tag("icd"), SUBNET, 2);
    let ic = lan.addr(1);
    let pid = lan.hosts[1].spawn(
        &[
            "python3",
            script.to_str().unwrap(),
            &ic,
            &PORT.to_string(),
            mode.to_str().unwrap(),
            log.to_str().unwrap(),
        ],
        &dir.path().join("server.out"),
    );
    wait_until("the IC-Server to answer", Duration::from_secs(20), || {
        let out = lan.hosts[0].run(
            &["curl", "-sf", &format!("http://{ic}:{PORT}/ok")],
            Duration::from_secs(3),
        );
        out.status.success().then_some(())
    });

    // Healthy: every automatic step passes, the two manual ones stay manual.
    let (code, r) = diagnose(&lan, &config, &ic, None);
    assert_eq!(r["verdict"]["cause"], "no_fault_found", "{r:#}");
    assert_eq!(code, 0);
    assert_eq!(r["document"], "000 ic_server_connect_failed");
    let ids: Vec<&str> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "health",
            "login",
            "process",
            "server_log",
            "network",
            "support"
        ]
    );
    for id in ["health", "login", "process", "server_log", "network"] {
        assert_eq!(step(&r, id)["status"], "pass", "{id}: {r:#}");
    }
    assert_eq!(step(&r, "support")["status"], "manual");
    assert_eq!(
        step(&r, "process")["title"]["zh"],
        "检查 ic-server 进程是否正常"
    );
    let ps = details(step(&r, "process"));
    assert!(
        ps.iter()
            .any(|e| e.starts_with(&format!("pid {pid}: "))
                && e.contains(&format!("/{name}.py {ic} "))),
        "{ps:?}"
    );
    assert!(
        details(step(&r, "health"))[0].starts_with(&format!("GET http://{ic}:{PORT}/ok: HTTP 200")),
        "{r:#}"
    );

    // 1. The IC-Server answers 500 and logs an ERROR line: the log's errors are the cause.
    std::fs::write(&mode, "500").unwrap();
    let (code, r) = diagnose(&lan, &config, &ic, None);
    assert_eq!(r["verdict"]["cause"], "ic_server_log_errors", "{r:#}");
    assert_eq!(code, 1);
    assert_eq!(failing(&r), ["health", "server_log"]);
    assert_eq!(r["verdict"]["steps"], serde_json::json!(["server_log"]));
    assert_eq!(
        r["verdict"]["remedy"]["zh"],
        "若有报错日志，请参考报错日志排查。"
    );
    let h = details(step(&r, "health"));
    assert!(
        h[0].contains("http_status (status 500)"),
        "health evidence: {h:?}"
    );
    let lines = step(&r, "server_log")["evidence"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["what"], "log line");
    assert_eq!(lines[0]["source"], log.display().to_string());
    assert!(
        lines[0]["detail"]
            .as_str()
            .unwrap()
            .contains("ERROR [http-nio-8088-exec-1] c.o.ic.Server - health check failed"),
        "{lines:?}"
    );
    assert!(lines[0]["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(step(&r, "network")["status"], "pass");
    std::fs::write(&mode, "200").unwrap();

    // Later runs read the log from now on, so the 500's line is outside their window.
    std::thread::sleep(Duration::from_millis(1100));
    let since = now_rfc3339();
    std::thread::sleep(Duration::from_millis(1100));

    // 2. The port filtered in the IC-Server's namespace: packets to it vanish (no refusal).
    let ns = &lan.hosts[1];
    ns.ip(&[
        "rule",
        "add",
        "pref",
        "10",
        "iif",
        "eth0",
        "ipproto",
        "tcp",
        "dport",
        "8088",
        "blackhole",
    ]);
    ns.ip(&["rule", "add", "pref", "100", "lookup", "local"]);
    ns.ip(&["rule", "del", "pref", "0"]);
    let (code, r) = diagnose(&lan, &config, &ic, Some(&since));
    assert_eq!(r["verdict"]["cause"], "network_problem", "{r:#}");
    assert_eq!(code, 1);
    assert_eq!(failing(&r), ["health", "network"]);
    assert_eq!(step(&r, "process")["status"], "pass");
    assert_eq!(step(&r, "server_log")["status"], "pass");
    assert!(
        step(&r, "network")["summary"]
            .as_str()
            .unwrap()
            .contains("timeout"),
        "{r:#}"
    );
    assert_eq!(
        r["verdict"]["title"]["zh"],
        "网络问题，导致 OCP 无法与个别 IC-Server 建立连接。"
    );
    // The probe was cut at the configured 1 s timeout, not left hanging.
    let took = step(&r, "health")["elapsed_seconds"].as_f64().unwrap();
    assert!((0.9..2.5).contains(&took), "{took}");
    assert!(r["timed_out"].as_array().unwrap().is_empty());
    ns.ip(&["rule", "add", "pref", "0", "lookup", "local"]);
    ns.ip(&["rule", "del", "pref", "10"]);
    ns.ip(&["rule", "del", "pref", "100"]);

    // 3. The process stopped: the port refuses, ps finds nothing, the verdict is the restart.
    process::signal(pid, "-KILL");
    lan.hosts[1].reap();
    let (code, r) = diagnose(&lan, &config, &ic, Some(&since));
    assert_eq!(r["verdict"]["cause"], "ic_server_process_down", "{r:#}");
    assert_eq!(code, 1);
    assert_eq!(failing(&r), ["health", "process"]);
    assert!(
        details(step(&r, "health"))[0].contains("connection_refused"),
        "{r:#}"
    );
    assert_eq!(
        r["verdict"]["remedy"]["en"],
        "Restart it on the IC-Server host: supervisord restart ic-server"
    );
    assert_eq!(step(&r, "network")["status"], "pass");
}
