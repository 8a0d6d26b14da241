//! The exporter skeleton on its own: `skeleton-exporter` (tests/src/bin) declares two
//! collectors and nothing else, and gets every flag, endpoint, self-metric and background-job
//! metric from `common`. Also: every real exporter rejects an unknown collector name.

use std::time::Duration;

use suite_tests::exporter::Exporter;
use suite_tests::{TempDir, exporter_list, run_bin};

const BIN: &str = "skeleton-exporter";

fn config(dir: &TempDir, text: &str) -> String {
    let path = dir.path().join("skeleton.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    format!("--config.file={}", path.display())
}

#[test]
fn help_lists_every_flag_of_the_exporter_family() {
    let (code, out, _) = run_bin(BIN, &["--help"]);
    assert_eq!(code, Some(0));
    for flag in [
        "--web.listen-address",
        "--web.telemetry-path",
        "--web.config.file",
        "--web.max-requests",
        "--web.scrape-timeout",
        "--config.file",
        "--config.check",
        "--log.level",
        "--log.format",
        "--path.procfs",
        "--path.sysfs",
        "--path.rootfs",
        "--version",
    ] {
        assert!(out.contains(flag), "{flag} missing from --help:\n{out}");
    }
    let (code, out, _) = run_bin(BIN, &["--version"]);
    assert_eq!(code, Some(0));
    assert!(out.contains(env!("CARGO_PKG_VERSION")), "{out}");
}

#[test]
fn config_check_validates_the_collector_table_and_exits() {
    let dir = TempDir::new("skeleton-check");
    let ok = config(&dir, "[collectors]\nenabled = [\"heartbeat\"]\n");
    let (code, out, err) = run_bin(BIN, &[&ok, "--config.check"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("configuration is valid"), "{out}");

    let bad = config(&dir, "\n[collectors]\ndisabled = [\"hello\", \"nope\"]\n");
    let (code, _, err) = run_bin(BIN, &[&bad, "--config.check"]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
    assert!(
        err.contains("line 3") && err.contains("collectors.disabled") && err.contains("\"nope\""),
        "{err}"
    );
    assert!(err.contains("heartbeat (off by default)"), "{err}");
}

#[test]
fn serving_gives_endpoints_self_metrics_and_job_metrics() {
    let dir = TempDir::new("skeleton-serve");
    let cfg = config(&dir, "[collectors]\nenabled = [\"heartbeat\"]\n");
    let exp = Exporter::start(BIN, &[&cfg, "--web.telemetry-path=/m"]);

    let landing = exp.get("/", &[]);
    assert_eq!(landing.status, 200);
    assert!(
        landing.body.contains("href=\"m\""),
        "landing page links the metrics: {}",
        landing.body
    );
    assert_eq!(exp.get("/-/healthy", &[]).status, 200);

    let ticked = |v: f64| v >= 2.0;
    let scrape_m = || {
        let r = exp.get("/m", &[]);
        assert_eq!(r.status, 200);
        r.body
    };
    let body = suite_tests::exporter::wait_sample(
        "two heartbeat runs",
        Duration::from_secs(10),
        scrape_m,
        "skeleton_ticks",
        &[],
        ticked,
    );
    for (name, labels, want) in [
        ("skeleton_hello", vec![], Some(1.0)),
        (
            "skeleton_scrape_collector_success",
            vec![("collector", "hello")],
            Some(1.0),
        ),
        (
            "skeleton_scrape_collector_success",
            vec![("collector", "heartbeat")],
            Some(1.0),
        ),
        ("skeleton_heartbeat_last_run_success", vec![], Some(1.0)),
    ] {
        assert_eq!(
            suite_tests::exporter::sample_value(&body, name, &labels),
            want,
            "{name} {labels:?}:\n{body}"
        );
    }
    for family in [
        "skeleton_exporter_build_info",
        "skeleton_scrape_collector_duration_seconds",
        "skeleton_heartbeat_last_run_timestamp_seconds",
        "skeleton_heartbeat_last_run_duration_seconds",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
    ] {
        assert!(
            suite_tests::exporter::family_names(&body)
                .iter()
                .any(|f| f == family),
            "{family} missing:\n{body}"
        );
    }
    let om = exp.get(
        "/m",
        &[("Accept", "application/openmetrics-text;version=1.0.0")],
    );
    assert!(
        om.header("content-type")
            .is_some_and(|c| c.contains("openmetrics")),
        "{:?}",
        om.header("content-type")
    );
    assert!(om.body.trim_end().ends_with("# EOF"));
}

#[test]
fn a_default_off_collector_and_its_job_stay_off_unless_enabled() {
    let exp = Exporter::start(BIN, &[]);
    let body = exp.get("/metrics", &[]).body;
    assert!(body.contains("skeleton_hello 1"), "{body}");
    assert!(!body.contains("skeleton_ticks"), "{body}");
    assert!(!body.contains("heartbeat"), "{body}");
}

#[test]
fn every_exporter_rejects_an_unknown_collector_naming_file_and_line() {
    let dir = TempDir::new("unknown-collector");
    for e in exporter_list::built() {
        let path = dir.path().join(format!("{}.toml", e.name));
        std::fs::write(
            &path,
            "# comment\n[collectors]\nenabled = [\n  \"no_such_collector\",\n]\n",
        )
        .unwrap_or_else(|err| panic!("{err}"));
        let arg = format!("--config.file={}", path.display());
        let (code, _, err) = run_bin(&e.name, &[&arg, "--config.check"]);
        assert_eq!(code, Some(2), "{}: {err}", e.name);
        assert!(
            err.contains(&path.display().to_string())
                && err.contains("line 4")
                && err.contains("no_such_collector"),
            "{}: {err}",
            e.name
        );
    }
}
