//! os-exporter's `os_msg_has_kernel_error` against a real kernel error: mounting a zero-filled
//! file as ext4 makes the kernel log `EXT4-fs (loopN): VFS: Can't find ext4 filesystem` at
//! level err (research notes §4.1). The row goes 1, the err counter rises by exactly the kernel
//! error records the test itself read from /dev/kmsg, and a later pass counts nothing twice.
//! Needs root (mount, a loop device, /dev/kmsg under dmesg_restrict); skipped otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use suite_tests::TempDir;
use suite_tests::exporter::{Exporter, isolated_args, sample_value};

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1))
        == Some("0")
}

/// Unmounts and detaches the loop device of `image` on drop, whatever the test did.
struct MountGuard {
    mount_point: PathBuf,
    image: PathBuf,
}

impl Drop for MountGuard {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mount_point).output();
        if let Ok(out) = Command::new("losetup").arg("-j").arg(&self.image).output() {
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                if let Some(dev) = line.split(':').next() {
                    let _ = Command::new("losetup").args(["-d", dev]).output();
                }
            }
        }
    }
}

/// Our own reader of /dev/kmsg, positioned at the end: what the kernel logs from now on.
fn kmsg_from_now() -> File {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/kmsg")
        .unwrap();
    f.seek(SeekFrom::End(0)).unwrap();
    f
}

/// Kernel-facility records at level err or worse read from `f` until none is left.
fn kernel_errors_since(f: &mut File) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let rec = String::from_utf8_lossy(&buf[..n]).into_owned();
                let prefix: u32 = rec
                    .split(',')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(u32::MAX);
                if prefix >> 3 == 0 && prefix & 7 <= 3 {
                    out.push(rec);
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("reading /dev/kmsg: {e}"),
        }
    }
    out
}

/// The sum of `os_kernel_log_records_total` over the levels emerg to err.
fn errors_counted(scrape: &str) -> f64 {
    ["emerg", "alert", "crit", "err"]
        .iter()
        .map(|l| {
            sample_value(scrape, "os_kernel_log_records_total", &[("level", l)]).unwrap_or(0.0)
        })
        .sum()
}

fn start(dir: &Path) -> Exporter {
    let args = isolated_args("os-exporter", dir);
    let path = args[0].trim_start_matches("--config.file=").to_owned();
    let mut text = std::fs::read_to_string(&path).unwrap();
    // A pass a second, and no messages file: only /dev/kmsg is under test.
    text.push_str("\n[kernel_log]\ninterval = \"1s\"\nmessages_file = \"\"\n");
    std::fs::write(&path, text).unwrap();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Exporter::start("os-exporter", &args)
}

#[test]
fn a_real_ext4_mount_error_sets_the_row_and_counts_once() {
    if !is_root() {
        eprintln!("skipped: needs root for mount, a loop device and /dev/kmsg");
        return;
    }
    let dir = TempDir::new("os-kernel");
    let e = start(dir.path());
    // The first pass reads the buffer's existing records as history.
    let s = e.wait_sample(
        "the kernel_log job's first pass",
        Duration::from_secs(20),
        "os_kernel_log_last_run_success",
        &[],
        |v| v == 1.0,
    );
    let before = errors_counted(&s);

    let image = dir.path().join("kerr.img");
    let mount_point = dir.path().join("kerr-mnt");
    std::fs::create_dir(&mount_point).unwrap();
    let st = Command::new("truncate")
        .args(["-s", "4M"])
        .arg(&image)
        .status()
        .unwrap();
    assert!(st.success());
    let _guard = MountGuard {
        mount_point: mount_point.clone(),
        image: image.clone(),
    };
    let mut ours = kmsg_from_now();
    let out = Command::new("mount")
        .args(["-t", "ext4", "-o", "loop,ro"])
        .arg(&image)
        .arg(&mount_point)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "mounting zeros as ext4 must fail: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The kernel error records since our reader's start, read the way the exporter reads them.
    let produced = suite_tests::wait_until(
        "the kernel's EXT4 error record",
        Duration::from_secs(10),
        || {
            let v = kernel_errors_since(&mut ours);
            v.iter()
                .any(|r| r.contains("Can't find ext4 filesystem"))
                .then_some(v)
        },
    );

    let s = suite_tests::wait_until(
        "os_msg_has_kernel_error 1 with the new records counted",
        Duration::from_secs(20),
        || {
            let s = e.scrape();
            (sample_value(&s, "os_msg_has_kernel_error", &[]) == Some(1.0)
                && errors_counted(&s) >= before + produced.len() as f64)
                .then_some(s)
        },
    );
    // Anything else the kernel logged meanwhile was read by our reader too.
    let produced = produced.len() + kernel_errors_since(&mut ours).len();
    assert_eq!(
        errors_counted(&s),
        before + produced as f64,
        "counted exactly the {produced} kernel error record(s) produced"
    );

    // Later passes count nothing twice.
    let last = sample_value(&s, "os_kernel_log_last_run_timestamp_seconds", &[]).unwrap();
    let s = e.wait_sample(
        "two later kernel_log passes",
        Duration::from_secs(20),
        "os_kernel_log_last_run_timestamp_seconds",
        &[],
        |v| v >= last + 2.0,
    );
    let produced = produced + kernel_errors_since(&mut ours).len();
    assert_eq!(
        errors_counted(&s),
        before + produced as f64,
        "no double count"
    );
    assert_eq!(sample_value(&s, "os_msg_has_kernel_error", &[]), Some(1.0));
    assert_eq!(
        sample_value(
            &s,
            "os_scrape_collector_success",
            &[("collector", "kernel_log")]
        ),
        Some(1.0)
    );
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap_or_default();
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"kernel_error\"") && l.contains("Can't find ext4 filesystem")),
        "the audit journal quotes the record:\n{audit}"
    );
}
