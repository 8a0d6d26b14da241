//! os-exporter end to end, on this host's real kernel (run as root): the exporter is scraped by a
//! real Prometheus with every rule file loaded (metric reference, recording rules, dashboard);
//! filesystems the test mounts (a read-only tmpfs, a read-only loop ext4, a tmpfs filled past
//! 80 %) flip the gauges and write audit records; loopback sockets with blocked queues are
//! counted; a hung FUSE mount costs the filesystem collector its success, not the scrape.
//! Every mount, process and socket is released by a Drop guard, also when an assertion fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use suite_tests::accounts::scratch_root;
use suite_tests::chrony::{Chronyd, Mode};
use suite_tests::exporter::{Exporter, isolated_args, sample_value};
use suite_tests::process::{Process, run, run_ok};
use suite_tests::prometheus::{Job, Prometheus, Setup};
use suite_tests::{TempDir, dashboards, metric_reference, promtool, wait_until, workspace_root};

/// A mount made by the test, lazily unmounted on drop (a loop device is detached with it).
struct Mount {
    point: PathBuf,
    _dir: TempDir,
}

impl Mount {
    fn new(tag: &str, argv_before_point: &[&str]) -> Mount {
        let dir = TempDir::new(tag);
        // A space in the mount point exercises the `\040` escape of mountinfo end to end.
        let point = dir.path().join("mnt point");
        std::fs::create_dir_all(&point).unwrap();
        let mut argv: Vec<&str> = argv_before_point.to_vec();
        let p = point.to_str().unwrap().to_owned();
        argv.push(&p);
        run(&argv).unwrap_or_else(|e| panic!("mounting (run as root): {e}"));
        Mount { point, _dir: dir }
    }

    /// A tmpfs named `source` mounted with `options`.
    fn tmpfs(tag: &str, source: &str, options: &str) -> Mount {
        Mount::new(tag, &["mount", "-t", "tmpfs", "-o", options, source])
    }

    fn path(&self) -> &str {
        self.point.to_str().unwrap()
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = run(&["umount", "-l", self.path()]);
    }
}

fn start(dir: &TempDir, extra_config: &str) -> Exporter {
    let cfg = dir.path().join("os.toml");
    let audit = dir.path().join("audit/audit.jsonl");
    // No pings: they would leave loopback for this host's real gateway and peers
    // (os_ping_e2e.rs tests them inside namespaces). No NTP questions unless the test names its
    // own loopback server: the host's chrony.conf names servers on the Internet.
    let disabled = if extra_config.contains("[ntp]") {
        "[\"ping\"]"
    } else {
        "[\"ping\", \"ntp\"]"
    };
    // The directory watch looks at a directory of the test (the dashboard's panel needs its
    // series), its baseline kept in the test's directory.
    let watched = dir.path().join("watched");
    std::fs::create_dir_all(&watched).unwrap();
    std::fs::write(watched.join("app.conf"), "x\n").unwrap();
    // The log rows read files of the test (this host runs no syslog daemon): a messages file
    // whose last lines span a minute, and an empty cron log.
    let messages = dir.path().join("messages");
    std::fs::write(
        &messages,
        "Dec  1 10:00:00 h myd: started\nDec  1 10:00:30 h myd: warning: slow\nDec  1 10:01:00 h myd: error: gone\n",
    )
    .unwrap();
    let cron_log = dir.path().join("cron.log");
    std::fs::write(&cron_log, "").unwrap();
    std::fs::write(
        &cfg,
        format!(
            "[collectors]\ndisabled = {disabled}\n\n[audit]\npath = {:?}\n\n[audit_checks]\ninterval = \"1s\"\n\n[sockets]\ninterval = \"1s\"\n\n[directories]\npaths = [{:?}]\nstate_file = {:?}\ninterval = \"1s\"\n\n[messages]\nfiles = [{:?}]\ninterval = \"1s\"\n\n[cron]\nfiles = [{:?}]\ninterval = \"1s\"\n\n{extra_config}",
            audit.to_str().unwrap(),
            watched.to_str().unwrap(),
            dir.path().join("directories.json").to_str().unwrap(),
            messages.to_str().unwrap(),
            cron_log.to_str().unwrap()
        ),
    )
    .unwrap();
    Exporter::start("os-exporter", &["--config.file", cfg.to_str().unwrap()])
}

/// os-exporter reading the shadow file of a scratch root in which `useradd --root` made the
/// account `ops`, expiring three days from today.
struct AccountsExporter(Exporter);

impl AccountsExporter {
    fn start(dir: &TempDir) -> Self {
        let state = dir.path().join("accounts");
        std::fs::create_dir_all(&state).unwrap();
        let root = scratch_root(&state);
        let expires = run_ok(&["date", "-u", "-d", "+3 days", "+%F"]);
        run_ok(&[
            "useradd",
            "--root",
            &root,
            "-M",
            "-N",
            "-g",
            "0",
            "-e",
            expires.trim(),
            "ops",
        ]);
        let mut args = isolated_args("os-exporter", &state);
        args.push(format!("--path.rootfs={root}"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Self(Exporter::start("os-exporter", &args))
    }
}

fn audit_records(dir: &TempDir) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.path().join("audit/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}")))
        .collect()
}

/// Waits for an audit record of `check` whose evidence mentions `needle`.
fn wait_audit(dir: &TempDir, check: &str, needle: &str) -> serde_json::Value {
    wait_until(
        &format!("an audit record {check} mentioning {needle}"),
        Duration::from_secs(15),
        || {
            audit_records(dir)
                .into_iter()
                .find(|r| r["check"] == check && r["evidence"].to_string().contains(needle))
        },
    )
}

fn wait_value(
    exp: &Exporter,
    name: &str,
    labels: &[(&str, &str)],
    ok: impl Fn(f64) -> bool,
) -> String {
    exp.wait_sample(
        &format!("{name}{labels:?} to satisfy the check"),
        Duration::from_secs(15),
        name,
        labels,
        ok,
    )
}

#[test]
fn real_scrape_rules_reference_and_dashboard_against_prometheus() {
    let dir = TempDir::new("os-e2e");
    // A read-only tmpfs (counted via include_fs_types) makes the audit counter appear as well.
    let ro = Mount::tmpfs("os-e2e-ro", "os-e2e", "ro,size=64k");
    // A real NTP server on loopback for the time rows (os_ntp_e2e.rs tests their values).
    let ntp = Chronyd::start(&dir.path().join("chrony"), Mode::Local);
    let exp = start(
        &dir,
        &format!(
            "[filesystem]\ninclude_fs_types = [\"tmpfs\"]\n\n[ntp]\nservers = [\"{}\"]\nlocal_daemon = \"\"\ninterval = \"1s\"\n",
            ntp.addr
        ),
    );
    let scrape = exp.scrape();
    promtool::check_metrics(&scrape).unwrap_or_else(|e| panic!("promtool check metrics: {e}"));
    for c in [
        "cpu",
        "filesystem",
        "readonly",
        "diskstats",
        "netdev",
        "tcp",
        "sockets",
        "processes",
        "memory",
        "vmstat",
    ] {
        assert_eq!(
            sample_value(&scrape, "os_scrape_collector_success", &[("collector", c)]),
            Some(1.0),
            "collector {c}:\n{scrape}"
        );
    }
    assert!(sample_value(&scrape, "os_uptime", &[]).unwrap() > 0.0);
    assert!(sample_value(&scrape, "os_process_number", &[]).unwrap() >= 1.0);

    wait_audit(&dir, "filesystem_readonly", ro.path());
    let scrape = wait_value(
        &exp,
        "os_audit_records_total",
        &[("check", "filesystem_readonly")],
        |v| v >= 1.0,
    );

    // This host's accounts never expire, so the expiry panel's data comes from a second exporter
    // on a scratch root whose account shadow-utils set to expire in three days.
    let accounts = AccountsExporter::start(&dir);
    let job = Job::new("os", &[exp.target()]).label("customer_level", "V5");
    let accounts_job = Job::new("os-accounts", &[accounts.0.target()]);
    let prom = Prometheus::start(&Setup::with_jobs(vec![job, accounts_job]));
    prom.wait_up("os", Duration::from_secs(20));
    prom.wait_up("os-accounts", Duration::from_secs(20));
    let later = exp.scrape();
    metric_reference::check_scrape("os-exporter", "os", &[&scrape, &later])
        .unwrap_or_else(|e| panic!("{e}"));
    metric_reference::check_recorded("os-exporter", &prom, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}"));
    // The customer level travels from the scrape config through the recording rules.
    let usage = prom.query("os_cpu_usage{customer_level=\"V5\"}");
    assert_eq!(usage.len(), 1, "{usage:?}");
    assert!((0.0..=100.0).contains(&usage[0].value), "{usage:?}");
    dashboards::check_live(
        &prom,
        &workspace_root().join("grafana-dashboards/os-exporter.json"),
        &[
            ("job", "os|os-accounts"),
            (
                "instance",
                &format!("{}|{}", exp.target(), accounts.0.target()),
            ),
        ],
        Duration::from_secs(30),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let left = prom.query(
        "(os_account_expire_timestamp_seconds{user=\"ops\",kind=\"account\"} - time()) / 86400",
    );
    assert!(
        left.len() == 1 && (1.0..=3.0).contains(&left[0].value),
        "ops expires within 3 days: {left:?}"
    );
    let ro_series = prom.query(&format!(
        "os_filesystem_mount_readonly{{mountpoint={:?}}}",
        ro.path()
    ));
    assert_eq!(
        ro_series.first().map(|s| s.value),
        Some(1.0),
        "{ro_series:?}"
    );
}

#[test]
fn readonly_tmpfs_sets_flag_and_writes_audit_record_only_when_tmpfs_is_included() {
    let dir = TempDir::new("os-ro");
    let ro = Mount::tmpfs("os-ro-mnt", "os-ro", "ro,size=64k");
    // Default definition (the document's `^/dev`): a tmpfs is not a block device, so not counted.
    let plain = start(&dir, "");
    let s = plain.scrape();
    assert_eq!(
        sample_value(
            &s,
            "os_filesystem_mount_readonly",
            &[("mountpoint", ro.path())]
        ),
        None,
        "{s}"
    );
    drop(plain);

    let exp = start(&dir, "[filesystem]\ninclude_fs_types = [\"tmpfs\"]\n");
    let s = wait_value(
        &exp,
        "os_filesystem_mount_readonly",
        &[("mountpoint", ro.path())],
        |v| v == 1.0,
    );
    assert_eq!(sample_value(&s, "os_filesystem_readonly", &[]), Some(1.0));
    let rec = wait_audit(&dir, "filesystem_readonly", ro.path());
    assert_eq!(rec["threshold"], "any block-device mount with option ro");
    assert!(rec["observed"].as_f64().unwrap() >= 1.0);
    assert!(
        rec["evidence"]["mounts"]
            .to_string()
            .contains("type tmpfs (ro"),
        "{rec}"
    );
    for key in ["time", "check", "threshold", "observed", "evidence"] {
        assert!(!rec[key].is_null(), "{key} missing in {rec}");
    }
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(dir.path().join("audit/audit.jsonl"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn readonly_loop_ext4_is_a_block_device_and_flips_the_default_flag() {
    if Command::new("mkfs.ext4").arg("-V").output().is_err()
        || !Path::new("/dev/loop-control").exists()
    {
        eprintln!("skipped: needs mkfs.ext4 and loop devices");
        return;
    }
    let dir = TempDir::new("os-loop");
    let image = dir.path().join("fs.img");
    std::fs::File::create(&image)
        .unwrap()
        .set_len(8 << 20)
        .unwrap();
    run(&["mkfs.ext4", "-q", "-F", image.to_str().unwrap()]).unwrap();
    let m = Mount::new(
        "os-loop-mnt",
        &["mount", "-o", "loop,ro", image.to_str().unwrap()],
    );
    let exp = start(&dir, "");
    let s = wait_value(
        &exp,
        "os_filesystem_mount_readonly",
        &[("mountpoint", m.path())],
        |v| v == 1.0,
    );
    assert_eq!(sample_value(&s, "os_filesystem_readonly", &[]), Some(1.0));
    let rec = wait_audit(&dir, "filesystem_readonly", m.path());
    assert!(
        rec["evidence"]["mounts"].to_string().contains("/dev/loop"),
        "{rec}"
    );
}

#[test]
fn tmpfs_filled_past_80_percent_raises_disk_usage_and_writes_audit_record() {
    let dir = TempDir::new("os-full");
    let m = Mount::tmpfs("os-full-mnt", "os-full", "size=1m,nr_inodes=64");
    let exp = start(&dir, "[filesystem]\ninclude_fs_types = [\"tmpfs\"]\n");
    let s = exp.scrape();
    assert!(
        sample_value(&s, "os_filesystem_usage", &[("mountpoint", m.path())]).unwrap() < 80.0,
        "{s}"
    );
    let mut f = std::fs::File::create(m.point.join("fill")).unwrap();
    f.write_all(&vec![7u8; 700 * 1024]).unwrap();
    f.sync_all().unwrap();
    // 55 one-page files take the space past 80 % and use most of the 64 inodes too.
    for i in 0..55 {
        std::fs::write(m.point.join(format!("f{i}")), b"x").unwrap();
    }
    let s = wait_value(
        &exp,
        "os_filesystem_usage",
        &[("mountpoint", m.path())],
        |v| v > 80.0,
    );
    assert!(sample_value(&s, "os_disk_usage", &[]).unwrap() > 80.0);
    assert!(
        sample_value(&s, "os_filesystem_inode_usage", &[("mountpoint", m.path())]).unwrap() > 80.0
    );
    assert!(sample_value(&s, "os_disk_inode_usage", &[]).unwrap() > 80.0);
    let rec = wait_audit(&dir, "disk_usage", m.path());
    assert_eq!(rec["threshold"], "80%");
    assert!(rec["observed"].as_f64().unwrap() > 80.0, "{rec}");
    wait_audit(&dir, "disk_inode_usage", m.path());
}

/// Sets an integer socket option, bypassing rmem_max/wmem_max (root) so a queue can pass 1 MB.
#[allow(unsafe_code)]
fn force_buffer(fd: std::os::fd::RawFd, opt: libc::c_int, bytes: libc::c_int) {
    // SAFETY: `fd` is an open socket owned by the caller for the whole call; the option value is
    // a live c_int whose size is passed alongside; setsockopt only reads it.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&raw const bytes).cast::<libc::c_void>(),
            libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).unwrap(),
        )
    };
    assert_eq!(rc, 0, "setsockopt: {}", std::io::Error::last_os_error());
}

/// Writes up to `total` bytes without blocking; returns what the kernel accepted.
fn stuff(stream: &mut TcpStream, total: usize) -> usize {
    stream.set_nonblocking(true).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    let (mut sent, started) = (0, Instant::now());
    while sent < total && started.elapsed() < Duration::from_secs(5) {
        match stream.write(&chunk) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("write: {e}"),
        }
    }
    sent
}

#[test]
fn loopback_sockets_with_blocked_queues_are_counted_and_audited() {
    use std::os::fd::AsRawFd as _;
    let dir = TempDir::new("os-sock");
    // Receive side: the listener's big buffer is inherited by the accepted socket, which is
    // never read, so ~3 MB pile up in its Recv-Q.
    let big = TcpListener::bind("127.0.0.1:0").unwrap();
    let big_port = big.local_addr().unwrap().port();
    // Send side: a normal small receive buffer on the server, a huge send buffer on the client,
    // so the rest waits in the client's Send-Q.
    let small = TcpListener::bind("127.0.0.1:0").unwrap();
    let small_port = small.local_addr().unwrap().port();
    force_buffer(big.as_raw_fd(), libc::SO_RCVBUFFORCE, 16 << 20);

    let mut c1 = TcpStream::connect(("127.0.0.1", big_port)).unwrap();
    let (_s1, _) = big.accept().unwrap();
    let mut c2 = TcpStream::connect(("127.0.0.1", small_port)).unwrap();
    let (_s2, _) = small.accept().unwrap();
    for c in [&c1, &c2] {
        force_buffer(c.as_raw_fd(), libc::SO_SNDBUFFORCE, 16 << 20);
    }
    assert!(stuff(&mut c1, 3 << 20) > 1_500_000);
    assert!(stuff(&mut c2, 3 << 20) > 1_500_000);

    let exp = start(&dir, "");
    let s = wait_value(&exp, "os_tcp_recvq_blocked", &[], |v| v >= 1.0);
    assert!(
        sample_value(&s, "os_tcp_sendq_blocked", &[]).unwrap() >= 1.0,
        "{s}"
    );
    // The audit record lists the sockets with decoded addresses.
    let rec = wait_audit(&dir, "tcp_queue_blocked", &format!("127.0.0.1:{big_port}"));
    assert!(
        rec["evidence"]
            .to_string()
            .contains(&format!("127.0.0.1:{small_port}")),
        "{rec}"
    );
    assert_eq!(rec["threshold"], "1000000 bytes");
    drop((c1, c2));
}

/// A FUSE mount whose server never answers (the shell holding /dev/fuse just sleeps), so every
/// statfs on it blocks; killed and lazily unmounted on drop, which aborts the blocked calls.
struct HungFuse {
    holder: Option<Process>,
    mount: PathBuf,
    _dir: TempDir,
}

impl HungFuse {
    fn start() -> Option<HungFuse> {
        if !Path::new("/dev/fuse").exists() {
            return None;
        }
        let dir = TempDir::new("os-fuse");
        let mount = dir.path().join("hung");
        std::fs::create_dir_all(&mount).unwrap();
        let ready = dir.path().join("ready");
        let script = format!(
            "exec 3<>/dev/fuse && mount -i -t fuse -o fd=3,rootmode=40000,user_id=0,group_id=0 os-e2e-hung '{}' && touch '{}' && exec sleep 120",
            mount.display(),
            ready.display()
        );
        let holder =
            Process::spawn("FUSE holder", Command::new("sh").args(["-c", &script])).unwrap();
        let mut me = HungFuse {
            holder: Some(holder),
            mount,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ready.exists() {
            if Instant::now() > deadline || me.holder.as_mut().is_some_and(Process::has_exited) {
                eprintln!("skipped: could not mount a FUSE filesystem");
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        me.mount = me.mount.canonicalize().unwrap_or(me.mount.clone());
        Some(me)
    }
}

impl Drop for HungFuse {
    fn drop(&mut self) {
        // Killing the holder first aborts the calls blocked on the mount.
        self.holder = None;
        let _ = run(&["umount", "-l", self.mount.to_str().unwrap_or_default()]);
    }
}

#[test]
fn hung_fuse_mount_costs_the_filesystem_collector_not_the_scrape() {
    let Some(fuse) = HungFuse::start() else {
        return;
    };
    let dir = TempDir::new("os-hung");
    let exp = start(
        &dir,
        "[filesystem]\ninclude_fs_types = [\"fuse\"]\nstatfs_timeout = \"500ms\"\n",
    );
    for round in 0..2 {
        let started = Instant::now();
        let r = exp.get("/metrics", &[("X-Prometheus-Scrape-Timeout-Seconds", "3")]);
        assert_eq!(r.status, 200);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "scrape {round} took {:?}",
            started.elapsed()
        );
        let s = r.body;
        assert_eq!(
            sample_value(
                &s,
                "os_scrape_collector_success",
                &[("collector", "filesystem")]
            ),
            Some(0.0),
            "{s}"
        );
        for c in ["readonly", "cpu", "memory", "sockets", "processes"] {
            assert_eq!(
                sample_value(&s, "os_scrape_collector_success", &[("collector", c)]),
                Some(1.0),
                "{c}: {s}"
            );
        }
        // The mount table is read without touching the mount: the hung FUSE is still listed.
        assert_eq!(
            sample_value(
                &s,
                "os_filesystem_mount_readonly",
                &[("mountpoint", fuse.mount.to_str().unwrap())]
            ),
            Some(0.0),
            "{s}"
        );
        assert!(
            !s.contains("\nos_disk_usage "),
            "no maximum that silently skipped a partition"
        );
    }
    // Never a pile of threads: more scrapes and sampler passes on the hung mount start none.
    let pid = exporter_pid(dir.path());
    for _ in 0..10 {
        exp.get("/metrics", &[("X-Prometheus-Scrape-Timeout-Seconds", "2")]);
    }
    std::thread::sleep(Duration::from_millis(1500));
    let statfs_threads = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "statfs")
        })
        .count();
    // One call is parked on the mount (it blocks until the FUSE server goes away), two when the
    // sampler's call went in beside a scrape's before the mount was marked; the rest are idle
    // workers kept for the next calls (at most 4, common::statfs): 12 scrapes left no pile.
    assert!(
        (1..=6).contains(&statfs_threads),
        "{statfs_threads} statfs threads after 12 scrapes on the hung mount"
    );
    drop(exp);
    drop(fuse);
}

/// The pid of the os-exporter started with a config file under `dir`.
fn exporter_pid(dir: &Path) -> u32 {
    let needle = dir.join("os.toml");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                c.split(|b| *b == 0)
                    .any(|a| a == needle.as_os_str().as_encoded_bytes())
            })
        })
        .expect("the exporter process")
}

#[test]
fn the_binary_on_the_ugly_fixture_tree_pins_exact_values() {
    let fx = workspace_root().join("exporters/os-exporter/tests/fixtures/ugly");
    let dir = TempDir::new("os-fixture");
    let cfg = dir.path().join("os.toml");
    // No sampler and no statfs: the fixture's mount points do not exist on this host. The
    // directory watch's baseline stays in the test's directory.
    std::fs::write(
        &cfg,
        format!(
            "[collectors]\ndisabled = [\"filesystem\", \"ping\", \"ntp\"]\n[audit]\nenabled = false\n[directories]\nstate_file = {:?}\n",
            dir.path().join("directories.json").to_str().unwrap()
        ),
    )
    .unwrap();
    let (procfs, sysfs) = (fx.join("proc"), fx.join("sys"));
    let exp = Exporter::start(
        "os-exporter",
        &[
            "--config.file",
            cfg.to_str().unwrap(),
            "--path.procfs",
            procfs.to_str().unwrap(),
            "--path.sysfs",
            sysfs.to_str().unwrap(),
            "--path.rootfs",
            fx.to_str().unwrap(),
        ],
    );
    // The socket table is read by a background job: its first pass has ended once its series is
    // served.
    let s = exp.wait_sample(
        "the sockets job's first pass",
        Duration::from_secs(15),
        "os_tcp_sockets",
        &[],
        |_| true,
    );
    promtool::check_metrics(&s).unwrap_or_else(|e| panic!("promtool check metrics: {e}"));
    let v = |name: &str, labels: &[(&str, &str)]| sample_value(&s, name, labels);
    // CPUs 1 and 2 offline: the numbers stay the kernel's; the 11th column is ignored.
    assert_eq!(
        v("os_cpu_seconds_total", &[("cpu", "3"), ("mode", "steal")]),
        Some(40.0)
    );
    assert_eq!(
        v("os_cpu_seconds_total", &[("cpu", "1"), ("mode", "user")]),
        None
    );
    assert_eq!(v("os_cpu_online", &[]), Some(2.0));
    assert_eq!(v("os_uptime", &[]), Some(120.5));
    assert_eq!(v("os_has_rebooted", &[]), Some(1.0));
    // `\040` decoded; the read-only /dev/sdb1 flips the flag, the read-only tmpfs does not count.
    assert_eq!(
        v(
            "os_filesystem_mount_readonly",
            &[("mountpoint", "/var/log/my logs")]
        ),
        Some(1.0)
    );
    assert_eq!(v("os_filesystem_readonly", &[]), Some(1.0));
    // sdb is in the fixture's tmp/os_disk_io_ignore_devices; sda1 and loop0 match the pattern.
    assert_eq!(v("os_disk_devices", &[]), Some(2.0));
    assert_eq!(
        v("os_disk_reads_completed_total", &[("device", "sdb")]),
        None
    );
    assert_eq!(
        v("os_disk_read_bytes_total", &[("device", "sda")]),
        Some(1_024_000.0)
    );
    // eth1 is up without carrier.
    assert_eq!(v("os_network_interface_abnormal", &[]), Some(1.0));
    assert_eq!(
        v("os_network_receive_errors_total", &[("device", "eth1")]),
        Some(7.0)
    );
    assert_eq!(v("os_tcp_recvq_blocked", &[]), Some(2.0));
    assert_eq!(v("os_tcp_sendq_blocked", &[]), Some(1.0));
    assert_eq!(v("os_process_number", &[]), Some(3.0));
    assert_eq!(v("os_has_uninterruptible_procs", &[]), Some(1.0));
    assert_eq!(v("os_swap_used", &[]), Some(-1.0));
    assert_eq!(v("os_tcp_listen_overflows_total", &[]), Some(5.0));
}

/// A veth whose peer sits, down, in a network namespace made for the test: the host end is up
/// without carrier, and packets sent to it are dropped. Both are deleted on drop.
struct DeadVeth {
    host: String,
    netns: String,
}

impl DeadVeth {
    fn new() -> DeadVeth {
        let id = std::process::id() % 100_000;
        let me = DeadVeth {
            host: format!("osh{id}"),
            netns: format!("os-e2e-{id}"),
        };
        run(&["ip", "netns", "add", &me.netns]).unwrap();
        run(&[
            "ip",
            "link",
            "add",
            &me.host,
            "type",
            "veth",
            "peer",
            "name",
            &format!("osp{id}"),
            "netns",
            &me.netns,
        ])
        .unwrap();
        run(&["ip", "link", "set", &me.host, "up"]).unwrap();
        let net = format!("169.254.{}.1/30", id % 250);
        run(&["ip", "addr", "add", &net, "dev", &me.host]).unwrap();
        me
    }

    /// Pings the (down) peer's address: every packet is dropped on the host end.
    fn send(&self) {
        let id = std::process::id() % 100_000;
        let peer = format!("169.254.{}.2", id % 250);
        let _ = Command::new("ping")
            .args(["-c", "3", "-i", "0.2", "-W", "1", "-I", &self.host, &peer])
            .output();
    }
}

impl Drop for DeadVeth {
    fn drop(&mut self) {
        let _ = run(&["ip", "link", "del", &self.host]);
        let _ = run(&["ip", "netns", "del", &self.netns]);
    }
}

#[test]
fn interface_without_carrier_is_abnormal_and_its_drops_are_audited() {
    let veth = DeadVeth::new();
    let dir = TempDir::new("os-nic");
    let exp = start(&dir, "");
    let s = wait_value(
        &exp,
        "os_network_interface_down",
        &[("device", &veth.host)],
        |v| v == 1.0,
    );
    assert!(
        sample_value(&s, "os_network_interface_abnormal", &[]).unwrap() >= 1.0,
        "{s}"
    );
    // The sampler's first pass is the baseline; drops after it are news.
    wait_value(&exp, "os_audit_last_run_timestamp_seconds", &[], |v| {
        v > 0.0
    });
    veth.send();
    let s = wait_value(
        &exp,
        "os_network_transmit_drop_total",
        &[("device", &veth.host)],
        |v| v >= 1.0,
    );
    assert_eq!(
        sample_value(
            &s,
            "os_network_interface_carrier",
            &[("device", &veth.host)]
        ),
        Some(0.0)
    );
    let rec = wait_audit(&dir, "network_errors", &veth.host);
    let ifs = rec["evidence"]["interfaces"].as_array().unwrap();
    let mine = ifs
        .iter()
        .find(|i| i["device"] == veth.host.as_str())
        .unwrap();
    assert!(mine["tx_dropped_delta"].as_u64().unwrap() >= 1, "{rec}");
    assert!(
        mine["proc_net_dev"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}:", veth.host)),
        "{rec}"
    );
}
