//! os-exporter's Tomcat rows end to end (issue 13 acceptance 3): Debian's tomcat10 started by the
//! test with its own CATALINA_BASE on loopback ports (an HTTP connector, and an HTTPS connector
//! whose keystore is missing), a known number of 200, 404, 500 and malformed requests and one
//! slow request; os-exporter reads the access log, the connector ports, catalina.out and the
//! product's appkey file; a real Prometheus scrapes it with every rule file loaded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use suite_tests::exporter::{Exporter, family_names, sample_value};
use suite_tests::prometheus::{Job, Prometheus, Setup};
use suite_tests::tomcat::{SLOW_MS, Tomcat};
use suite_tests::{TempDir, dashboards, free_port, metric_reference, wait_until, workspace_root};

/// Sends a request line Tomcat cannot parse (it answers 400 and logs `"-" 400`).
fn malformed(port: u16) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GARBAGE\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}

#[test]
fn counts_latency_ports_and_the_appkey_file_of_a_real_tomcat() {
    let tmp = TempDir::new("os-tomcat");
    let base = tmp.path().join("base");
    let (http, https) = (free_port(), free_port());
    let mut tomcat = Tomcat::start(&base, http, https);
    eprintln!("tomcat10 answered after {:.1} s", tomcat.start_seconds);
    // The JSPs compile on first use (seconds): done before the exporter starts, so not counted.
    assert_eq!(tomcat.get("/err500.jsp"), 500);
    assert_eq!(tomcat.get("/slow.jsp"), 200);

    // The product's appkey layout: application.properties names a key file that is missing;
    // a second Tomcat entry leaves the property unset and has the file in its default directory.
    let app = tmp.path().join("app");
    std::fs::create_dir_all(app.join("keystore")).unwrap();
    let key = app.join("keys/secretAppkey.properties");
    std::fs::write(
        app.join("application.properties"),
        format!(
            "# product settings\nsecas_keystore_appkey_file = {}\n",
            key.display()
        ),
    )
    .unwrap();
    std::fs::write(app.join("other.properties"), "unrelated=1\n").unwrap();
    std::fs::write(app.join("keystore/secretAppkey.properties"), "k=v\n").unwrap();
    let idle_port = free_port();

    let b = base.display();
    let config = format!(
        r#"[collectors]
disabled = ["ping", "ntp"]

[audit]
path = "{audit}"

[directories]
state_file = "{state}"

[[tomcat]]
name = "app"
server_xml = "{b}/conf/server.xml"
access_log_dir = "{b}/logs"
pattern = '%h %l %u %t "%r" %s %b %D'
catalina_home = "/usr/share/tomcat10"
catalina_log = "{b}/logs/catalina.out"
application_properties = "{props}"
window = "2s"

[[tomcat]]
name = "idle"
ports = [{idle_port}]
application_properties = "{other}"
appkey_default_dir = "{keystore}"
user = "root"
"#,
        audit = tmp.path().join("audit.jsonl").display(),
        state = tmp.path().join("directories.json").display(),
        props = app.join("application.properties").display(),
        other = app.join("other.properties").display(),
        keystore = app.join("keystore").display(),
    );
    let cfg = tmp.path().join("os.toml");
    std::fs::write(&cfg, config).unwrap();
    let exporter = Exporter::start(
        "os-exporter",
        &[&format!("--config.file={}", cfg.display())],
    );
    let first = wait_until(
        "the tomcat job's first pass",
        Duration::from_secs(20),
        || {
            let s = exporter.scrape();
            sample_value(
                &s,
                "tomcat_requests_total",
                &[("tomcat", "app"), ("class", "2xx")],
            )
            .map(|_| s)
        },
    );
    let v = |s: &str, n: &str, l: &[(&str, &str)]| sample_value(s, n, l);
    // Ports: HTTP listens (through a dual-stack socket), HTTPS does not (its keystore is missing).
    let (hs, ss) = (http.to_string(), https.to_string());
    assert_eq!(
        v(
            &first,
            "tomcat_listening_port",
            &[("tomcat", "app"), ("port", &hs)]
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            &first,
            "tomcat_listening_port",
            &[("tomcat", "app"), ("port", &ss)]
        ),
        Some(0.0)
    );
    assert_eq!(
        v(
            &first,
            "tomcat_listening_port",
            &[("tomcat", "idle"), ("port", &idle_port.to_string())]
        ),
        Some(0.0)
    );
    let catalina = std::fs::read_to_string(base.join("logs/catalina.out")).unwrap();
    assert!(
        catalina.contains("Failed to initialize component"),
        "{catalina}"
    );
    // History is not counted; the startup line of catalina.out is read.
    assert_eq!(
        v(
            &first,
            "tomcat_requests_total",
            &[("tomcat", "app"), ("class", "5xx")]
        ),
        Some(0.0)
    );
    assert!(v(&first, "tomcat_startup_seconds", &[("tomcat", "app")]).unwrap() > 0.0);
    assert_eq!(
        v(
            &first,
            "tomcat_access_log_has_latency",
            &[("tomcat", "app")]
        ),
        Some(1.0)
    );
    // The appkey: missing for app, present in the default directory for idle.
    assert_eq!(
        v(&first, "tomcat_appkey_file_ok", &[("tomcat", "app")]),
        Some(0.0)
    );
    assert_eq!(
        v(&first, "tomcat_appkey_file_ok", &[("tomcat", "idle")]),
        Some(1.0)
    );
    assert!(v(&first, "os_entropy_available", &[]).unwrap() > 0.0);
    assert_eq!(v(&first, "os_crng_ready", &[]), Some(1.0));

    let prom = Prometheus::start(&Setup::with_jobs(vec![Job::new(
        "os-exporter",
        &[exporter.target()],
    )]));
    prom.wait_up("os-exporter", Duration::from_secs(30));
    // Prometheus holds the counters at 0 before the first request.
    std::thread::sleep(Duration::from_secs(2));

    // The slow request first: its window's max is then watched.
    let sent = Instant::now();
    assert_eq!(tomcat.get("/slow.jsp"), 200);
    assert!(sent.elapsed() >= Duration::from_millis(SLOW_MS));
    let with_max = wait_until(
        "the slow request's window max",
        Duration::from_secs(10),
        || {
            let s = exporter.scrape();
            v(&s, "tomcat_request_max_delay_seconds", &[("tomcat", "app")])
                .filter(|m| *m >= 1.5)
                .map(|_| s)
        },
    );
    let max = v(
        &with_max,
        "tomcat_request_max_delay_seconds",
        &[("tomcat", "app")],
    )
    .unwrap();
    let log_dir = base.join("logs");
    let access = std::fs::read_dir(&log_dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("localhost_access_log.")
        })
        .unwrap();
    let logged_us: f64 = std::fs::read_to_string(&access)
        .unwrap()
        .lines()
        .rfind(|l| l.contains("GET /slow.jsp"))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (max - logged_us / 1e6).abs() < 1e-9,
        "max {max}, logged {logged_us} µs"
    );
    assert!(max < sent.elapsed().as_secs_f64(), "{max}");

    for _ in 0..7 {
        assert_eq!(tomcat.get("/"), 200);
    }
    for i in 0..5 {
        assert_eq!(tomcat.get(&format!("/missing{i}")), 404);
    }
    for _ in 0..3 {
        assert_eq!(tomcat.get("/err500.jsp"), 500);
    }
    malformed(http);
    let counted = wait_until("17 requests counted", Duration::from_secs(15), || {
        let s = exporter.scrape();
        (v(
            &s,
            "tomcat_request_duration_seconds_count",
            &[("tomcat", "app")],
        ) == Some(17.0))
        .then_some(s)
    });
    for (class, n) in [
        ("2xx", 8.0),
        ("3xx", 0.0),
        ("4xx", 6.0),
        ("5xx", 3.0),
        ("other", 0.0),
    ] {
        assert_eq!(
            v(
                &counted,
                "tomcat_requests_total",
                &[("tomcat", "app"), ("class", class)]
            ),
            Some(n),
            "{class}"
        );
    }
    assert_eq!(
        v(
            &counted,
            "tomcat_access_log_unparsed_lines_total",
            &[("tomcat", "app")]
        ),
        Some(0.0)
    );
    let bucket = |le: &str| {
        v(
            &counted,
            "tomcat_request_duration_seconds_bucket",
            &[("tomcat", "app"), ("le", le)],
        )
    };
    assert_eq!(
        bucket("1"),
        Some(16.0),
        "every request but the slow one under 1 s"
    );
    assert_eq!(bucket("2.5"), Some(17.0));

    // `os-exporter diagnose` walks 001 §3.5.3 on the same host (issue 17): the HTTPS connector
    // is down because of a key error, and the appkey file is missing; the key error is named.
    // It writes nothing: the running exporter's audit journal is left as it was.
    let cfg_arg = format!("--config.file={}", cfg.display());
    let journal = tmp.path().join("audit.jsonl");
    let journal_before = std::fs::read(&journal).unwrap_or_default();
    let d = suite_tests::diagnose::run("os-exporter", &[&cfg_arg, "--since", "10m"]);
    assert_eq!(d.cause(), "appkey_file_missing", "{:#}", d.report);
    let ports = d.steps("tomcat_ports");
    assert_eq!(ports[0]["status"], "fail", "{:#}", d.report);
    assert_eq!(ports[0]["cause"], "connector_not_listening");
    assert!(d.evidence_contains("tomcat_ports", &format!("port {https} no listener")));
    assert!(d.evidence_contains("tomcat_ports", &format!("port {http} LISTEN")));
    assert_eq!(ports[1]["status"], "fail", "idle's port has no listener");
    assert_eq!(d.status("appkey_file"), "fail");
    assert!(
        d.evidence_contains("appkey_file", &key.display().to_string()),
        "{:#}",
        d.step("appkey_file")
    );
    // Tomcat's own startup line, with its time, from the real catalina.out.
    let catalina = d.step("catalina_log");
    assert_eq!(catalina["status"], "pass", "{catalina:#}");
    assert_eq!(d.status("slow_start"), "pass");
    assert!(
        d.evidence_contains("slow_start", "Server startup in"),
        "{:#}",
        d.step("slow_start")
    );
    assert_eq!(
        d.report["verdict"]["title"]["zh"]
            .as_str()
            .map(|z| z.contains("Property File Not Found")),
        Some(true)
    );
    assert_eq!(
        std::fs::read(&journal).unwrap_or_default().len(),
        journal_before.len()
    );

    // The missing appkey file appears: 1 at the next pass.
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    std::fs::write(&key, "appkey=x\n").unwrap();
    let fixed = wait_until(
        "the appkey file to be found",
        Duration::from_secs(10),
        || {
            let s = exporter.scrape();
            (v(&s, "tomcat_appkey_file_ok", &[("tomcat", "app")]) == Some(1.0)).then_some(s)
        },
    );

    // Diagnosed again: with the key file there, the connector that does not listen is the cause.
    let d = suite_tests::diagnose::run("os-exporter", &[&cfg_arg]);
    assert_eq!(d.cause(), "connector_not_listening", "{:#}", d.report);
    assert_eq!(d.status("appkey_file"), "pass");
    assert_eq!(
        d.report["verdict"]["steps"],
        serde_json::json!(["tomcat_ports", "tomcat_ports"])
    );

    // Prometheus: the document's rows from the recording rules.
    let rate = wait_until(
        "tomcat_request_success_rate",
        Duration::from_secs(40),
        || {
            let r = prom.query(r#"tomcat_request_success_rate{tomcat="app"}"#);
            let n = prom.query(r#"tomcat_request_num{tomcat="app"}"#);
            let full = n.first().is_some_and(|s| s.value > 16.0);
            r.first().filter(|_| full).map(|s| s.value)
        },
    );
    assert!((rate - 8.0 / 17.0).abs() < 0.01, "success rate {rate}");
    let pmax = wait_until("tomcat_request_max_delay", Duration::from_secs(30), || {
        prom.query(r#"tomcat_request_max_delay{tomcat="app"}"#)
            .first()
            .map(|s| s.value)
    });
    assert!((pmax - max).abs() < 1e-9, "{pmax} vs {max}");

    // Every Tomcat and entropy family emitted is documented; every one documented for this
    // setup is emitted (the SecureRandom gauge needs a slow start this kernel does not give).
    let documented: BTreeSet<String> = metric_reference::section("os-exporter")
        .into_iter()
        .filter(|r| !r.is_recording_rule())
        .map(|r| r.name)
        .collect();
    let ours = |n: &String| {
        n.starts_with("tomcat_")
            || n.starts_with("os_entropy")
            || n.starts_with("os_crng")
            || n.starts_with("os_tomcat_")
    };
    let emitted: BTreeSet<String> = [&first, &with_max, &counted, &fixed]
        .iter()
        .flat_map(|s| family_names(s))
        .filter(ours)
        .collect();
    let undocumented: Vec<_> = emitted.difference(&documented).collect();
    assert!(undocumented.is_empty(), "{undocumented:?}");
    let missing: Vec<_> = documented
        .iter()
        .filter(|n| ours(n) && n.as_str() != "tomcat_securerandom_creation_seconds")
        .filter(|n| !emitted.contains(*n))
        .collect();
    assert!(missing.is_empty(), "{missing:?}");

    let dash = workspace_root().join("grafana-dashboards/os-tomcat.json");
    dashboards::check_live(&prom, &dash, &[], Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}"));
    drop(tomcat);
}
