//! The exporter binary following a "log" that is binary garbage (random bytes, then
//! megabyte-long lines): its peak RSS stays bounded, and the keepalived lines written after the
//! garbage are still counted. Only the `log_events` collector runs: nothing here looks for, or
//! signals, a keepalived process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use suite_tests::exporter::{sample_value, wait_sample};
use suite_tests::process::Process;
use suite_tests::{TempDir, http};

/// Peak resident set size of process `pid`, in bytes.
fn vm_hwm(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// xorshift64: reproducible random bytes without a dependency.
fn random_bytes(seed: u64, out: &mut [u8]) {
    let mut x = seed | 1;
    for chunk in out.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_le_bytes();
        chunk.copy_from_slice(&b[..chunk.len()]);
    }
}

/// Appends 40 MiB of random bytes, three 3 MiB lines and then five failover lines.
fn append_garbage_then_events(path: &Path) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    for seed in 0..40 {
        random_bytes(0x2545_f491_4f6c_dd1d ^ seed, &mut buf);
        f.write_all(&buf).unwrap();
    }
    f.write_all(b"\n").unwrap();
    let long = vec![b'y'; 3 << 20];
    for _ in 0..3 {
        f.write_all(&long).unwrap();
        f.write_all(b"\n").unwrap();
    }
    for i in 0..5 {
        writeln!(
            f,
            "Nov 30 10:00:0{i} lb-1 Keepalived_vrrp[4242]: VRRP_Instance(VI_1) Entering MASTER STATE"
        )
        .unwrap();
    }
}

fn scrape(addr: SocketAddr) -> String {
    let r = http::get_with_timeout(addr, "/metrics", &[], Duration::from_secs(30)).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

#[test]
fn a_binary_log_keeps_peak_memory_bounded_and_the_events_after_it_are_counted() {
    let dir = TempDir::new("ka-binary-log");
    let log = dir.path().join("messages");
    std::fs::write(&log, "").unwrap();
    let config = dir.path().join("keepalived-exporter.toml");
    std::fs::write(
        &config,
        format!(
            "log_file = \"{}\"\nlog_start = \"beginning\"\nlog_poll_interval = \"100ms\"\n\n\
             [collectors]\ndisabled = [\"process\", \"conf\", \"connectivity\", \"vrrp\"]\n",
            log.display()
        ),
    )
    .unwrap();
    let addr: SocketAddr = ([127, 0, 0, 1], suite_tests::free_port()).into();
    let out = dir.path().join("exporter.log");
    let mut exporter = Process::spawn(
        "keepalived-exporter",
        Command::new(env!("CARGO_BIN_EXE_keepalived-exporter"))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&out).unwrap()),
    )
    .unwrap()
    .with_log(out);
    exporter.wait_http_ok(addr, "/-/healthy", Duration::from_secs(20));
    scrape(addr);
    let before = vm_hwm(exporter.id());

    append_garbage_then_events(&log);
    let size = std::fs::metadata(&log).unwrap().len();
    let s = wait_sample(
        "the failover lines after the garbage to be counted",
        Duration::from_secs(60),
        || scrape(addr),
        "keepalived_log_events_total",
        &[("event", "entering_master")],
        |v| v >= 5.0,
    );
    assert_eq!(
        sample_value(
            &s,
            "keepalived_log_events_total",
            &[("event", "entering_master")]
        ),
        Some(5.0)
    );
    assert_eq!(
        sample_value(&s, "keepalived_log_read_bytes_total", &[]),
        Some(size as f64)
    );
    assert_eq!(
        sample_value(
            &s,
            "keepalived_scrape_collector_success",
            &[("collector", "log_events")]
        ),
        Some(1.0)
    );
    let after = vm_hwm(exporter.id());
    exporter.assert_running();
    let grown = after.saturating_sub(before);
    eprintln!(
        "VmHWM {} KiB before, {} KiB after reading {} MiB of garbage",
        before >> 10,
        after >> 10,
        size >> 20
    );
    assert!(
        grown < 16 << 20,
        "peak RSS grew from {} KiB to {} KiB",
        before >> 10,
        after >> 10
    );
}
