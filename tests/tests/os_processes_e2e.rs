//! os-exporter's configured process groups (document 001 §2.2 `xxx_process_*`) against real
//! processes this test starts: `sleep` members started and killed, a member holding a known
//! number of files under a known soft limit (`prlimit`), one spinning and one idle member, a
//! shell that `exec`s into another program, a pid handed out again to another program, a
//! configured process that never runs; the binary
//! is scraped over HTTP, once as root and once without privileges (its fd counts then fail
//! visibly), and a real Prometheus runs the dashboard's queries. Every process is killed and
//! reaped by a Drop guard, also when an assertion fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::Duration;

use suite_tests::exporter::{Exporter, family_names, sample_value};
use suite_tests::metric_reference::documented_exporter_metrics;
use suite_tests::process::{Process, run_ok};
use suite_tests::prometheus::{Job, Prometheus, Setup};
use suite_tests::{TempDir, dashboards, promtool, wait_until, workspace_root};

/// Files the fd holder opens beyond stdin, stdout and stderr.
const HELD_FDS: u64 = 100;
/// Its soft `Max open files`.
const SOFT_LIMIT: u64 = 200;

fn spawn(name: &str, argv: &[&str]) -> Process {
    Process::spawn(name, Command::new(argv[0]).args(&argv[1..]))
        .unwrap_or_else(|e| panic!("starting {argv:?}: {e}"))
}

/// Waits until `/proc/<pid>/comm` reads `comm` (a wrapper has exec'd into its program).
fn wait_comm(p: &Process, comm: &str) {
    wait_until(
        &format!("pid {} to become {comm}", p.id()),
        Duration::from_secs(10),
        || {
            let c = std::fs::read_to_string(format!("/proc/{}/comm", p.id())).ok()?;
            (c.trim_end() == comm).then_some(())
        },
    );
}

/// The exporter's config: the test's groups, the CPU window at 1 s.
fn config(dir: &TempDir, marker: u32, audit: bool) -> String {
    format!(
        r#"[collectors]
disabled = ["ping", "ntp"]

[audit]
enabled = {audit}
path = "{audit_path}"

[directories]
state_file = "{state}"

[process_cpu]
interval = "1s"

[[process]]
name = "sleepers"
comm = ["sleep"]
cmdline = ['^sleep 100001\.{marker}$']

[[process]]
name = "fdholder"
comm = ["sleep"]
cmdline = ['^sleep 100002\.{marker}$']

[[process]]
name = "cpu"
cmdline = ['cpu-{marker}$']

[[process]]
name = "before-exec"
comm = ["sh"]
cmdline = ['exec sleep 100004\.{marker}']

[[process]]
name = "after-exec"
exe = ["sleep"]
cmdline = ['^sleep 100004\.{marker}$']

[[process]]
name = "reused-old"
comm = ["sleep"]
cmdline = ['^sleep 100005\.{marker}$']

[[process]]
name = "reused-new"
comm = ["sleep"]
cmdline = ['^sleep 100006\.{marker}$']

[[process]]
name = "never-ran"
comm = ["no-such-proc"]
pid_file = ["{absent}"]
"#,
        audit_path = dir.path().join("audit.jsonl").display(),
        state = dir.path().join("directories.json").display(),
        absent = dir.path().join("absent.pid").display(),
    )
}

fn value(scrape: &str, name: &str, process: &str) -> Option<f64> {
    sample_value(scrape, name, &[("process", process)])
}

fn wait_value(exp: &Exporter, name: &str, process: &str, ok: impl Fn(f64) -> bool) -> String {
    exp.wait_sample(
        &format!("{name}{{process={process:?}}} to satisfy the check"),
        Duration::from_secs(20),
        name,
        &[("process", process)],
        ok,
    )
}

fn etimes(pid: u32) -> f64 {
    run_ok(&["ps", "-o", "etimes=", "-p", &pid.to_string()])
        .trim()
        .parse()
        .unwrap()
}

fn open_fds(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count() as u64
}

#[test]
fn process_groups_follow_real_processes_and_feed_the_dashboard() {
    let dir = TempDir::new("os-processes");
    let marker = std::process::id();
    let m = marker.to_string();
    let sleepers: Vec<Process> = (0..3)
        .map(|_| spawn("sleeper", &["sleep", &format!("100001.{m}")]))
        .collect();
    let holder = spawn(
        "fd holder",
        &[
            "prlimit",
            &format!("--nofile={SOFT_LIMIT}:400"),
            "bash",
            "-c",
            &format!(
                "for i in $(seq {HELD_FDS}); do exec {{fd}}</dev/null; done; exec sleep 100002.{m}"
            ),
        ],
    );
    let spinner = spawn(
        "spinner",
        &["sh", "-c", "while :; do :; done", &format!("cpu-{m}")],
    );
    let idle = spawn(
        "idle",
        // Short sleeps, not one long one: killing the shell must not leave an orphan `sleep`
        // holding the test's inherited descriptors for a day.
        &[
            "sh",
            "-c",
            "while :; do sleep 0.5; done",
            &format!("cpu-{m}"),
        ],
    );
    let fifo = dir.path().join("go");
    run_ok(&["mkfifo", fifo.to_str().unwrap()]);
    let execer = spawn(
        "execer",
        &[
            "sh",
            "-c",
            &format!("read x < {}; exec sleep 100004.{m}", fifo.display()),
        ],
    );
    wait_comm(&holder, "sleep");

    let cfg = dir.path().join("os.toml");
    std::fs::write(&cfg, config(&dir, marker, true)).unwrap();
    let exp = Exporter::start("os-exporter", &["--config.file", cfg.to_str().unwrap()]);
    let scrape = exp.scrape();
    promtool::check_metrics(&scrape).unwrap_or_else(|e| panic!("promtool check metrics: {e}"));
    assert_eq!(
        sample_value(
            &scrape,
            "os_scrape_collector_success",
            &[("collector", "process_groups")]
        ),
        Some(1.0),
        "{scrape}"
    );
    // Every family is documented.
    let documented = documented_exporter_metrics("os-exporter", "os", false);
    for f in family_names(&scrape)
        .iter()
        .filter(|f| f.starts_with("os_process_"))
    {
        assert!(documented.contains(f), "{f} is not in docs/metrics.md");
    }

    // Members counted; the never-run process has its series from the first scrape.
    assert_eq!(
        value(&scrape, "os_process_members", "sleepers"),
        Some(3.0),
        "{scrape}"
    );
    assert_eq!(value(&scrape, "os_process_status", "sleepers"), Some(1.0));
    for (name, want) in [
        ("os_process_status", 0.0),
        ("os_process_members", 0.0),
        ("os_process_uptime", 0.0),
        ("os_process_fd_num", 0.0),
        ("os_process_fd_usage", 0.0),
        ("os_process_max_mem", 0.0),
        ("os_process_cpu_seconds_total", 0.0),
    ] {
        assert_eq!(
            value(&scrape, name, "never-ran"),
            Some(want),
            "{name}\n{scrape}"
        );
    }

    // Uptime is `ps -o etimes` of the oldest member.
    std::thread::sleep(Duration::from_millis(1500));
    let before = etimes(sleepers[0].id());
    let up = value(&exp.scrape(), "os_process_uptime", "sleepers").unwrap();
    let after = etimes(sleepers[0].id());
    assert!(
        before - 1.0 <= up && up <= after + 1.0,
        "uptime {up}, ps said {before} then {after}"
    );
    assert!(up >= 1.0, "{up}");

    // The fd holder's open files, and their share of its soft limit.
    let scrape = exp.scrape();
    let fds = open_fds(holder.id());
    assert!(fds > HELD_FDS, "{fds}");
    assert_eq!(
        value(&scrape, "os_process_fd_num", "fdholder"),
        Some(fds as f64)
    );
    let usage = value(&scrape, "os_process_fd_usage", "fdholder").unwrap();
    let want = fds as f64 / SOFT_LIMIT as f64 * 100.0;
    assert!((usage - want).abs() < 1e-6, "usage {usage}, want {want}");
    assert_eq!(
        value(&scrape, "os_process_fd_readable", "fdholder"),
        Some(1.0)
    );
    // Resident memory: a sleep is small, but not nothing.
    let mem = value(&scrape, "os_process_max_mem", "fdholder").unwrap();
    assert!(mem > 0.0 && mem < 5.0, "{mem}");

    // One member spins, one sleeps: the max is the spinner's, the mean half of it.
    let scrape = wait_value(&exp, "os_process_max_cpu", "cpu", |v| v > 10.0);
    let (max, avg) = (
        value(&scrape, "os_process_max_cpu", "cpu").unwrap(),
        value(&scrape, "os_process_avg_cpu", "cpu").unwrap(),
    );
    assert!((avg * 2.0 - max).abs() < 5.0, "max {max}, avg {avg}");
    assert_eq!(value(&scrape, "os_process_members", "cpu"), Some(2.0));
    let cpu_before = value(&scrape, "os_process_cpu_seconds_total", "cpu").unwrap();
    assert!(cpu_before > 0.0, "{cpu_before}");

    // A member that execs into another program leaves its group for the one it now matches.
    assert_eq!(
        value(&scrape, "os_process_members", "before-exec"),
        Some(1.0)
    );
    assert_eq!(
        value(&scrape, "os_process_members", "after-exec"),
        Some(0.0)
    );
    std::fs::write(&fifo, "go\n").unwrap();
    wait_comm(&execer, "sleep");
    let scrape = wait_value(&exp, "os_process_members", "after-exec", |v| v == 1.0);
    assert_eq!(
        value(&scrape, "os_process_members", "before-exec"),
        Some(0.0)
    );
    assert_eq!(
        value(&scrape, "os_process_status", "before-exec"),
        Some(0.0)
    );

    // A pid reused by another program (same kernel name, another start time): matched again.
    // The kernel hands out ns_last_pid + 1 next; other processes of the host may take it first,
    // so a few tries. Both run `sleep`, so only the start time tells them apart.
    let old = spawn("reused old", &["sleep", &format!("100005.{m}")]);
    wait_value(&exp, "os_process_members", "reused-old", |v| v == 1.0);
    let pid = old.id();
    old.terminate();
    std::thread::sleep(Duration::from_millis(50));
    let mut reused = None;
    for _ in 0..50 {
        std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()).unwrap();
        let p = spawn("reused new", &["sleep", &format!("100006.{m}")]);
        if p.id() == pid {
            reused = Some(p);
            break;
        }
    }
    let _reused =
        reused.unwrap_or_else(|| panic!("pid {pid} was not handed out again in 50 tries"));
    let scrape = wait_value(&exp, "os_process_members", "reused-new", |v| v == 1.0);
    assert_eq!(
        value(&scrape, "os_process_members", "reused-old"),
        Some(0.0),
        "{scrape}"
    );

    // Without privileges the fd table of root's processes cannot be read: said, never 0.
    let nobody_dir = TempDir::new("os-processes-nobody");
    run_ok(&["chmod", "755", nobody_dir.path().to_str().unwrap()]);
    let nobody_cfg = nobody_dir.path().join("os.toml");
    std::fs::write(&nobody_cfg, config(&nobody_dir, marker, false)).unwrap();
    run_ok(&["chmod", "644", nobody_cfg.to_str().unwrap()]);
    let log = dir.path().join("nobody.log");
    let unprivileged = Exporter::start_under(
        &[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ],
        "os-exporter",
        &["--config.file", nobody_cfg.to_str().unwrap()],
        &log,
    );
    let s = unprivileged.scrape();
    assert_eq!(
        value(&s, "os_process_fd_readable", "fdholder"),
        Some(0.0),
        "{s}"
    );
    assert_eq!(value(&s, "os_process_fd_num", "fdholder"), None, "{s}");
    assert_eq!(value(&s, "os_process_fd_usage", "fdholder"), None, "{s}");
    assert_eq!(
        value(&s, "os_process_members", "fdholder"),
        Some(1.0),
        "{s}"
    );
    // exe links are unreadable too: argv[0] stands in.
    assert_eq!(
        value(&s, "os_process_members", "after-exec"),
        Some(1.0),
        "{s}"
    );
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("process=fdholder cannot read"),
        "logged once"
    );
    drop(unprivileged);

    // Real Prometheus runs every dashboard query.
    let prom = Prometheus::start(&Setup::with_jobs(vec![Job::new("os", &[exp.target()])]));
    prom.wait_up("os", Duration::from_secs(20));
    dashboards::check_live(
        &prom,
        &workspace_root().join("grafana-dashboards/os-processes.json"),
        &[
            ("job", "os"),
            ("instance", &exp.target()),
            ("process", ".+"),
        ],
        Duration::from_secs(30),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    // Members killed: counted down to 0, the CPU counter keeps what the spinner used.
    let mut sleepers = sleepers.into_iter();
    sleepers.next().unwrap().terminate();
    wait_value(&exp, "os_process_members", "sleepers", |v| v == 2.0);
    drop(sleepers);
    let scrape = wait_value(&exp, "os_process_status", "sleepers", |v| v == 0.0);
    assert_eq!(value(&scrape, "os_process_members", "sleepers"), Some(0.0));
    assert_eq!(value(&scrape, "os_process_uptime", "sleepers"), Some(0.0));
    spinner.terminate();
    let scrape = wait_value(&exp, "os_process_members", "cpu", |v| v == 1.0);
    let cpu_after = value(&scrape, "os_process_cpu_seconds_total", "cpu").unwrap();
    assert!(cpu_after >= cpu_before, "{cpu_after} < {cpu_before}");
    drop((idle, holder, execer));
}
