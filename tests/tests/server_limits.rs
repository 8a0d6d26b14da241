//! A real exporter binary at the edges of its resources: idle connections under a 1,024
//! open-file limit, ten thousand connections that come and go, and a web config that could not
//! be read until its permissions were fixed (run as an unprivileged user, as in production).

// Test code: a failed setup step should abort the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use suite_tests::exporter::Exporter;
use suite_tests::{TempDir, process, wait_until};

/// The smallest exporter of the skeleton: the server is all there is to it, and it writes
/// nothing anywhere.
const SKELETON: &str = "skeleton-exporter";

/// Makes sure this test process may open `want` files: raised to the hard limit, and as root
/// the hard limit too (with prlimit(1) on ourselves).
fn allow_open_files(want: u64) {
    if common::fd_limit::raise_to_hard() >= want {
        return;
    }
    let me = std::process::id().to_string();
    let limit = format!("--nofile={want}:{want}");
    process::run_ok(&["prlimit", "--pid", &me, &limit]);
    assert!(
        common::fd_limit::soft() >= want,
        "this test needs {want} open files"
    );
}

/// A field of `/proc/<pid>/status` in kB (e.g. `VmRSS`).
fn status_kb(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// `n` idle connections to `addr` (connected, nothing sent).
fn idle_connections(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|i| {
            TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("idle connection {i}: {e}"))
        })
        .collect()
}

#[test]
fn idle_connections_beyond_a_1024_fd_limit_do_not_keep_a_scrape_out() {
    allow_open_files(4096);
    let dir = TempDir::new("fdlimit");
    let log = dir.path().join("exporter.log");
    // os-exporter, whose collectors need descriptors of their own, with its audit journal off
    // so nothing is written outside the test's directory (its directory baseline there too),
    // and no packets to the host's gateway, peers or NTP servers.
    let config = dir.path().join("os.toml");
    std::fs::write(
        &config,
        format!(
            "[collectors]\ndisabled = [\"ping\", \"ntp\"]\n\n[audit]\nenabled = false\n[directories]\nstate_file = {:?}\n",
            dir.path().join("directories.json").display().to_string()
        ),
    )
    .unwrap();
    let config_arg = format!("--config.file={}", config.display());
    let os = Exporter::start_under(
        &["prlimit", "--nofile=1024:1024", "--"],
        "os-exporter",
        &[&config_arg],
        &log,
    );
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", os.pid())).unwrap();
    assert!(
        limits
            .lines()
            .any(|l| l.starts_with("Max open files") && l.contains(" 1024 ")),
        "{limits}"
    );
    os.scrape();

    let idle = idle_connections(os.addr(), 1500);
    // Let the exporter accept what it will.
    std::thread::sleep(Duration::from_millis(500));
    for round in 0..3 {
        let t = Instant::now();
        let r = os.get("/metrics", &[]);
        let took = t.elapsed();
        assert_eq!(r.status, 200, "round {round}: {}", r.body);
        assert!(
            took < Duration::from_secs(1),
            "round {round}: a scrape behind 1,500 idle connections took {took:?}"
        );
        assert!(
            r.body
                .contains("os_scrape_collector_success{collector=\"filesystem\"} 1")
        );
    }
    let fds = open_fds(os.pid());
    assert!(fds < 1024, "{fds} descriptors open");
    drop(idle);
    let text = std::fs::read_to_string(&log).unwrap();
    let accept_errors = text.lines().filter(|l| l.contains("accept failed")).count();
    assert!(
        accept_errors <= 2,
        "{accept_errors} accept errors logged:\n{text}"
    );
}

#[test]
fn the_soft_fd_limit_is_raised_to_the_hard_limit() {
    let dir = TempDir::new("fdraise");
    let log = dir.path().join("exporter.log");
    let os = Exporter::start_under(
        &["prlimit", "--nofile=1024:4096", "--"],
        SKELETON,
        &[],
        &log,
    );
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", os.pid())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let numbers: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    assert_eq!(numbers, ["4096", "4096"], "{line}");
}

#[test]
fn memory_of_ten_thousand_closed_connections_is_given_back() {
    allow_open_files(12_000);
    let dir = TempDir::new("connmem");
    let log = dir.path().join("exporter.log");
    let os = Exporter::start_under(&["env"], SKELETON, &[], &log);
    for _ in 0..3 {
        os.scrape();
    }
    let idle_kb = status_kb(os.pid(), "VmRSS");

    let conns = idle_connections(os.addr(), 10_000);
    // Accepted and read from (hyper allocates its read buffer on the first read).
    let pid = os.pid();
    wait_until("the exporter to accept", Duration::from_secs(20), || {
        (open_fds(pid) >= 8_000).then_some(())
    });
    std::thread::sleep(Duration::from_millis(300));
    let busy_kb = status_kb(pid, "VmRSS");
    drop(conns);
    let until = Instant::now() + Duration::from_secs(10);
    let after_kb = loop {
        std::thread::sleep(Duration::from_millis(200));
        let kb = status_kb(pid, "VmRSS");
        if kb <= idle_kb + 8 * 1024 || Instant::now() > until {
            break kb;
        }
    };
    let given_back = after_kb <= idle_kb + 8 * 1024;
    assert!(
        given_back,
        "RSS idle {idle_kb} kB, with 10,000 connections {busy_kb} kB, 10 s after they closed {after_kb} kB"
    );
    os.scrape();
    println!("RSS idle {idle_kb} kB, 10,000 connections {busy_kb} kB, after {after_kb} kB");
}

/// Runs the exporter as `nobody` when we are root, so file permissions bind as in production.
fn unprivileged() -> Vec<&'static str> {
    let uid = process::run_ok(&["id", "-u"]);
    if uid.trim() == "0" {
        vec![
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
        ]
    } else {
        vec!["env"]
    }
}

fn htpasswd(pass: &str) -> String {
    // Cost 4 keeps the test fast; the cost does not matter to what is tested here.
    bcrypt::hash(pass, 4).unwrap()
}

fn write_mode(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_web_config_whose_permissions_were_fixed_is_reloaded() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = TempDir::new("webperm");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let web = dir.path().join("web.yml");
    write_mode(
        &web,
        &format!("basic_auth_users:\n  alice: {}\n", htpasswd("old")),
        0o644,
    );
    let log = dir.path().join("exporter.log");
    let web_arg = format!("--web.config.file={}", web.display());
    let exporter = Exporter::start_under(&unprivileged(), SKELETON, &[&web_arg], &log);
    // base64("alice:old"), base64("alice:new")
    let old = [("Authorization", "Basic YWxpY2U6b2xk")];
    let new = [("Authorization", "Basic YWxpY2U6bmV3")];
    assert_eq!(exporter.get("/metrics", &old).status, 200);

    // The new config arrives unreadable (a deploy tool's umask): the re-read fails.
    let staged = dir.path().join("web.yml.new");
    write_mode(
        &staged,
        &format!("basic_auth_users:\n  alice: {}\n", htpasswd("new")),
        0o000,
    );
    std::fs::rename(&staged, &web).unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    // Any request lets the server notice the change.
    assert_eq!(exporter.get("/-/healthy", &[]).status, 401);
    wait_until("the failed re-read logged", Duration::from_secs(5), || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains("Permission denied").then_some(())
    });
    assert_eq!(
        exporter.get("/metrics", &old).status,
        200,
        "last good config kept"
    );

    // Fixed with chmod alone: nothing `stat` compares (size, mtime, inode) changes.
    std::fs::set_permissions(&web, std::fs::Permissions::from_mode(0o644)).unwrap();
    wait_until("the fixed config in force", Duration::from_secs(5), || {
        let _ = exporter.get("/-/healthy", &[]);
        (exporter.get("/metrics", &new).status == 200).then_some(())
    });
    assert_eq!(exporter.get("/metrics", &old).status, 401);
    let text = std::fs::read_to_string(&log).unwrap();
    let denied = text
        .lines()
        .filter(|l| l.contains("Permission denied"))
        .count();
    assert_eq!(denied, 1, "the failure is logged once:\n{text}");
}
