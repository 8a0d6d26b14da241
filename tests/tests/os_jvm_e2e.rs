//! os-exporter's `jvm` collector against real JDK 17 JVMs started by the test (document 001
//! §3.4, issue 13 acceptance 2): a program (`tests/java/GcDemo.java`, compiled here with javac)
//! allocates, calls `System.gc()` twice and then waits for stdin to close, so every reader sees
//! the same quiescent JVM. Under G1, Parallel and Serial the exporter's young and full counts
//! equal `jstat -gcutil`'s exactly, its heap agrees with `jcmd GC.heap_info`, its last-GC times
//! and durations with the JVM's own management API; a JVM run with `-XX:-UsePerfData` is
//! reported unreadable (`disabled`), one without a file `not_found`, a file left under a live
//! pid by an earlier JVM `stale`, an exporter running as nobody `permission`, and a JVM killed
//! with -9 leaves its file but is not reported.
//! Real Prometheus then checks the recording rule and every panel of `os-jvm.json`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use suite_tests::exporter::{Exporter, sample_value};
use suite_tests::jvm::{self, Jvm, MxCollector, Report};
use suite_tests::prometheus::{Job, Prometheus, Setup};
use suite_tests::{TempDir, dashboards, metric_reference, wait_until, workspace_root};

const READY: Duration = Duration::from_secs(30);
/// -Xmx of every JVM: 256 MiB.
const XMX: f64 = 268_435_456.0;

fn readable(s: &str, process: &str, reason: &str) -> Option<f64> {
    sample_value(
        s,
        "jvm_perfdata_readable",
        &[("process", process), ("reason", reason)],
    )
}

fn hsperf_file(pid: u32) -> PathBuf {
    Path::new("/tmp/hsperfdata_root").join(pid.to_string())
}

/// The management bean of one of `names` (its names differ per collector).
fn bean<'a>(r: &'a Report, names: &[&str]) -> &'a MxCollector {
    r.collectors
        .iter()
        .find(|c| names.contains(&c.name.as_str()))
        .unwrap_or_else(|| panic!("none of {names:?} in {r:?}"))
}

/// Asserts one JVM's rows against jstat, jcmd and its own report. `s` was scraped before any
/// jcmd attached (attaching starts a thread).
fn check_against_jdk_tools(s: &str, name: &str, policy: &str, j: &Jvm, r: &Report) {
    let l = [("process", name)];
    let v = |m: &str| sample_value(s, m, &l).unwrap_or_else(|| panic!("{m}{{{name}}}:\n{s}"));
    assert_eq!(readable(s, name, "ok"), Some(1.0), "{name}:\n{s}");
    assert_eq!(
        sample_value(s, "jvm_gc_info", &[("process", name), ("policy", policy)]),
        Some(1.0),
        "{name}"
    );
    assert_eq!(v("jvm_gc_full_count_supported"), 1.0);
    // Counts: exactly jstat's YGC and FGC.
    let gcutil = jvm::jstat(j.pid(), "gcutil");
    let (ygc, fgc) = (gcutil["YGC"], gcutil["FGC"]);
    #[allow(clippy::cast_precision_loss)]
    {
        assert_eq!(
            Some(v("jvm_gc_young_collections_total")),
            ygc,
            "{name} young"
        );
        assert_eq!(Some(v("jvm_gc_full_collections_total")), fgc, "{name} full");
    }
    assert!(
        v("jvm_gc_full_collections_total") >= 2.0,
        "{name}: two System.gc()"
    );
    // The JVM's own management beans count the same.
    let young = bean(r, &["G1_Young_Generation", "PS_Scavenge", "Copy"]);
    let old = bean(
        r,
        &["G1_Old_Generation", "PS_MarkSweep", "MarkSweepCompact"],
    );
    #[allow(clippy::cast_precision_loss)]
    {
        assert_eq!(v("jvm_gc_young_collections_total"), young.count as f64);
        assert_eq!(v("jvm_gc_full_collections_total"), old.count as f64);
    }
    assert_eq!(
        v("jvm_thread_count"),
        f64::from(u32::try_from(r.threads).unwrap())
    );
    // Last GC times: the full collection ended within the program's System.gc() window, and at
    // the moment its management bean says (both read the VM's elapsed counter; the bean's origin
    // is RuntimeMXBean.getStartTime()). 100 ms: the hsperfdata origin is createVmBeginTime, taken
    // some tens of ms before the VM's counter starts.
    #[allow(clippy::cast_precision_loss)]
    let ms = |x: i64| x as f64 / 1000.0;
    let last_full = v("jvm_last_major_gc_time");
    let (before, after) = (ms(r.gc_window_ms.0), ms(r.gc_window_ms.1));
    assert!(
        last_full >= before - 0.1 && last_full <= after + 0.1,
        "{name}: last full GC at {last_full}, System.gc() between {before} and {after}"
    );
    for (mx, time, dur) in [
        (
            young,
            "jvm_last_minor_gc_time",
            "jvm_last_minor_gc_duration_seconds",
        ),
        (
            old,
            "jvm_last_major_gc_time",
            "jvm_last_major_gc_duration_seconds",
        ),
    ] {
        let at = ms(r.vm_start_ms + mx.end_ms);
        assert!(
            (v(time) - at).abs() < 0.1,
            "{name} {time}: {} vs management bean {at} ({mx:?})",
            v(time)
        );
        assert!(
            (v(dur) - ms(mx.duration_ms)).abs() <= 0.002,
            "{name} {dur}: {} vs management bean {} ms",
            v(dur),
            mx.duration_ms
        );
    }
    // Heap: the maximum is -Xmx (G1: the old generation's maximum, 8 bytes over). Used against
    // jcmd GC.heap_info within 2 MiB (G1 updates its eden counter at collections: jcmd counts
    // the region or two allocated since), so the rate within 1 point. Committed is both
    // generations' capacity, jstat -gccapacity's NGC + OGC (KiB, rounded); jcmd's `total` counts
    // eden and one survivor space only, so it may be less, never more.
    let max = v("jvm_heap_max_bytes");
    assert!((max - XMX).abs() <= 64.0, "{name} max {max}");
    let (jused, jcommitted) = jvm::jcmd_heap(j.pid());
    let used = v("jvm_heap_used_bytes");
    let committed = v("jvm_heap_committed_bytes");
    assert!(
        (used - jused).abs() <= 2.0 * 1024.0 * 1024.0,
        "{name} used {used} vs jcmd {jused}"
    );
    let gc = jvm::jstat(j.pid(), "gccapacity");
    let kib: f64 = ["NGC", "OGC"]
        .iter()
        .map(|c| gc[*c].unwrap_or_else(|| panic!("jstat -gc {c}: {gc:?}")))
        .sum();
    assert!(
        (committed - kib * 1024.0).abs() <= 4096.0,
        "{name} committed {committed} vs jstat -gccapacity {kib} KiB"
    );
    assert!(
        jcommitted <= committed + 64.0,
        "{name} committed {committed} vs jcmd {jcommitted}"
    );
    let rate = v("jvm_heap_use_rate");
    assert!(
        (rate - jused / XMX * 100.0).abs() <= 1.0,
        "{name} rate {rate} vs jcmd {}",
        jused / XMX * 100.0
    );
    assert!(rate > 0.0);
}

#[test]
fn jvm_rows_match_jstat_and_jcmd_and_dead_or_disabled_jvms_are_never_reported_alive() {
    let started = std::time::Instant::now();
    let dir = TempDir::new("os-jvm");
    let d = dir.path();
    let classes = d.join("classes");
    std::fs::create_dir_all(&classes).unwrap();
    let names = [
        "G1Demo",
        "ParallelDemo",
        "SerialDemo",
        "NoPerfDemo",
        "NoFileDemo",
        "KilledDemo",
    ];
    jvm::compile(&classes, &names);
    let xmx = "-Xmx256m";
    let mut g1 = Jvm::spawn(&classes, "G1Demo", &[xmx, "-XX:+UseG1GC"], &[]);
    // The usual fix for a start blocked on /dev/random (document 001 §3.5, tomcat启动慢).
    let mut par = Jvm::spawn(
        &classes,
        "ParallelDemo",
        &[
            xmx,
            "-XX:+UseParallelGC",
            "-Djava.security.egd=file:/dev/./urandom",
        ],
        &[],
    );
    let mut ser = Jvm::spawn(&classes, "SerialDemo", &[xmx, "-XX:+UseSerialGC"], &[]);
    let mut noperf = Jvm::spawn(&classes, "NoPerfDemo", &[xmx, "-XX:-UsePerfData"], &[]);
    // The switch where the command line does not show it: no file, so not_found.
    let mut nofile = Jvm::spawn(
        &classes,
        "NoFileDemo",
        &[xmx, "-XX:+UseSerialGC"],
        &[("JAVA_TOOL_OPTIONS", "-XX:-UsePerfData")],
    );
    let mut killed = Jvm::spawn(&classes, "KilledDemo", &[xmx, "-XX:+UseSerialGC"], &[]);
    let reports: Vec<Report> = [
        &mut g1,
        &mut par,
        &mut ser,
        &mut noperf,
        &mut nofile,
        &mut killed,
    ]
    .into_iter()
    .map(|j| j.wait_ready(READY))
    .collect();
    eprintln!("six JVMs ready after {:?}", started.elapsed());

    let exp = Exporter::start(
        "os-exporter",
        &suite_tests::exporter::isolated_args("os-exporter", d)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let s = exp.scrape();
    assert!(
        sample_value(&s, "jvm_processes_found", &[]).unwrap() >= 6.0,
        "{s}"
    );
    check_against_jdk_tools(&s, "G1Demo", "g1", &g1, &reports[0]);
    check_against_jdk_tools(&s, "ParallelDemo", "parallel", &par, &reports[1]);
    check_against_jdk_tools(&s, "SerialDemo", "serial", &ser, &reports[2]);
    // Quiescent: a second scrape after jstat and jcmd gives the same counts.
    let again = exp.scrape();
    for n in ["G1Demo", "ParallelDemo", "SerialDemo"] {
        for m in [
            "jvm_gc_young_collections_total",
            "jvm_gc_full_collections_total",
            "jvm_last_major_gc_time",
        ] {
            assert_eq!(
                sample_value(&s, m, &[("process", n)]),
                sample_value(&again, m, &[("process", n)]),
                "{n} {m} changed between scrapes"
            );
        }
    }

    // The seed source: Debian's JDK 17 java.security says securerandom.source=file:/dev/random
    // (read through the JVM's root, from its java.home); -Djava.security.egd overrides it.
    let seed = |n: &str, source: &str| {
        sample_value(
            &s,
            "jvm_securerandom_seed_info",
            &[("process", n), ("source", source)],
        )
    };
    let jdk_security =
        std::fs::read_to_string("/usr/lib/jvm/java-17-openjdk-amd64/conf/security/java.security")
            .unwrap();
    assert!(
        jdk_security
            .lines()
            .any(|l| l.trim() == "securerandom.source=file:/dev/random"),
        "this test expects Debian's JDK 17 default seed source"
    );
    assert_eq!(seed("G1Demo", "dev_random"), Some(1.0), "{s}");
    assert_eq!(seed("ParallelDemo", "dev_urandom"), Some(1.0), "{s}");

    // Unreadable JVMs carry the reason and no counters.
    assert_eq!(readable(&s, "NoPerfDemo", "disabled"), Some(0.0), "{s}");
    assert_eq!(readable(&s, "NoFileDemo", "not_found"), Some(0.0), "{s}");
    for n in ["NoPerfDemo", "NoFileDemo"] {
        assert_eq!(
            sample_value(&s, "jvm_heap_use_rate", &[("process", n)]),
            None
        );
    }
    // A file an earlier JVM left under NoFileDemo's pid (a real capture from 2026-12-02): stale,
    // never its counters.
    let planted = hsperf_file(nofile.pid());
    std::fs::copy(
        workspace_root()
            .join("exporters/os-exporter/tests/fixtures/hsperfdata/jdk17_g1.hsperfdata"),
        &planted,
    )
    .unwrap();
    let s = exp.scrape();
    let _ = std::fs::remove_file(&planted);
    assert_eq!(readable(&s, "NoFileDemo", "stale"), Some(0.0), "{s}");
    assert_eq!(
        sample_value(&s, "jvm_heap_used_bytes", &[("process", "NoFileDemo")]),
        None
    );

    // kill -9: the file stays, the JVM is not reported at all.
    assert_eq!(readable(&s, "KilledDemo", "ok"), Some(1.0), "{s}");
    let killed_file = hsperf_file(killed.pid());
    killed.kill9();
    assert!(
        killed_file.exists(),
        "kill -9 leaves {}",
        killed_file.display()
    );
    let s = exp.scrape();
    assert!(
        !s.lines()
            .any(|l| l.starts_with("jvm_") && l.contains("process=\"KilledDemo\"")),
        "a killed JVM is reported:\n{s}"
    );
    let _ = std::fs::remove_file(&killed_file);

    // The same JVMs seen by an exporter running as nobody: root's JVM files (mode 0600, under
    // /proc/<pid>/root, which needs ptrace access) are `permission`, never counters.
    if suite_tests::process::run_ok(&["id", "-u"]).trim() == "0" {
        use std::os::unix::fs::PermissionsExt as _;
        let nd = d.join("nobody");
        std::fs::create_dir_all(&nd).unwrap();
        std::fs::set_permissions(&nd, std::fs::Permissions::from_mode(0o777)).unwrap();
        let args = suite_tests::exporter::isolated_args("os-exporter", &nd);
        let nobody = Exporter::start_under(
            &[
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--",
            ],
            "os-exporter",
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
            &nd.join("exporter.log"),
        );
        let ns = nobody.scrape();
        assert_eq!(readable(&ns, "G1Demo", "permission"), Some(0.0), "{ns}");
        assert_eq!(
            sample_value(&ns, "jvm_heap_used_bytes", &[("process", "G1Demo")]),
            None
        );
    }

    // Real Prometheus: the reference, the recording rule, every panel of the dashboard.
    let prom = Prometheus::start(&Setup::with_jobs(vec![Job::new("os", &[exp.target()])]));
    prom.wait_up("os", Duration::from_secs(20));
    let later = exp.scrape();
    metric_reference::check_scrape("os-exporter", "os", &[&s, &later])
        .unwrap_or_else(|e| panic!("{e}"));
    let count = wait_until(
        "jvm_major_gc_count of G1Demo",
        Duration::from_secs(30),
        || {
            let v = prom.query("jvm_major_gc_count{process=\"G1Demo\"}");
            (!v.is_empty()).then_some(v)
        },
    );
    assert_eq!(
        count[0].value, 0.0,
        "no full GC since the System.gc() calls"
    );
    dashboards::check_live(
        &prom,
        &workspace_root().join("grafana-dashboards/os-jvm.json"),
        &[
            ("job", "os"),
            ("instance", &exp.target()),
            ("process", ".+"),
        ],
        Duration::from_secs(30),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    drop(prom);
    drop(exp);
    drop((g1, par, ser, noperf, nofile));
    eprintln!("done after {:?}", started.elapsed());
}
