//! A binary "log" (random bytes, megabyte-long lines) costs bounded memory: every reader of
//! `common::log_tail` streams through a fixed buffer and hands out one line at a time, so the
//! process's peak RSS (`VmHWM`) grows by far less than one read pass's byte budget (16 MiB).
//! One test in its own binary: the peak is the process's, and nothing else runs beside it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::{Path, PathBuf};

use common::log_tail::{FamilyTail, LogTail, MAX_LINE, StartAt};

/// Peak resident set size of this process so far, in bytes.
fn vm_hwm() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// Resets the peak to the current RSS (`/proc/self/clear_refs`), where the kernel allows it.
fn reset_hwm() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
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

const GARBAGE_MIB: u64 = 40;
const LONG_LINES: usize = 3;
const LONG_LINE_BYTES: usize = 3 << 20;
const AFTER: usize = 10;

/// 40 MiB of random bytes, then three 3 MiB lines, then ten ordinary lines.
fn binary_log(dir: &Path) -> PathBuf {
    let path = dir.join("messages");
    let mut f = std::fs::File::create(&path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    for seed in 0..GARBAGE_MIB {
        random_bytes(0x9e37_79b9_7f4a_7c15 ^ seed, &mut buf);
        f.write_all(&buf).unwrap();
    }
    f.write_all(b"\n").unwrap();
    let long = vec![b'x'; LONG_LINE_BYTES];
    for _ in 0..LONG_LINES {
        f.write_all(&long).unwrap();
        f.write_all(b"\n").unwrap();
    }
    for i in 0..AFTER {
        writeln!(f, "Keepalived_vrrp[4242]: (VI_1) Entering MASTER STATE {i}").unwrap();
    }
    path
}

#[test]
fn a_binary_log_is_read_in_bounded_memory_and_the_lines_after_it_are_intact() {
    let dir = std::env::temp_dir().join(format!("log-tail-memory-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = binary_log(&dir);
    let size = std::fs::metadata(&path).unwrap().len();

    let mut tail = LogTail::new(&path, StartAt::Beginning);
    let mut longest = 0usize;
    let mut x_lines = 0usize;
    let mut last = Vec::new();
    reset_hwm();
    let before = vm_hwm();
    for _ in 0..50 {
        tail.read_lines(|l| {
            longest = longest.max(l.len());
            if l.len() == MAX_LINE && l.bytes().all(|b| b == b'x') {
                x_lines += 1;
            }
            if l.contains("Entering MASTER STATE") {
                last.push(l.to_owned());
            }
        })
        .unwrap();
        if tail.bytes_read() == size {
            break;
        }
    }
    let grown = vm_hwm().saturating_sub(before);

    // The same garbage as a rotation of a family read from its beginning.
    let live = dir.join("ha.log");
    std::fs::hard_link(&path, dir.join("ha.log.1")).unwrap();
    std::fs::write(&live, "live line\n").unwrap();
    let mut family = FamilyTail::new(&live, StartAt::Beginning);
    let mut family_lines = 0usize;
    let mut family_last = String::new();
    reset_hwm();
    let family_before = vm_hwm();
    family
        .read_lines(|l| {
            family_lines += 1;
            family_last = l.to_owned();
        })
        .unwrap();
    let family_grown = vm_hwm().saturating_sub(family_before);
    std::fs::remove_dir_all(&dir).unwrap();

    assert_eq!(tail.bytes_read(), size);
    // A lossily decoded line may be up to three times its bytes (U+FFFD for each bad byte).
    assert!(
        longest <= 3 * MAX_LINE,
        "a line of {longest} bytes was handed out"
    );
    assert_eq!(x_lines, LONG_LINES, "the long lines are cut at MAX_LINE");
    assert!(tail.lines_cut() >= LONG_LINES as u64);
    assert_eq!(last.len(), AFTER);
    assert!(last[AFTER - 1].ends_with("STATE 9"), "{last:?}");
    assert!(
        grown < 8 << 20,
        "peak RSS grew by {} KiB reading a {} MiB binary log",
        grown >> 10,
        size >> 20
    );
    assert!(family.take_problems().is_empty());
    assert!(family_lines > AFTER);
    assert_eq!(family_last, "live line");
    assert!(
        family_grown < 8 << 20,
        "peak RSS grew by {} KiB reading the rotations",
        family_grown >> 10
    );
    eprintln!(
        "peak RSS grew by {} KiB (LogTail), {} KiB (FamilyTail)",
        grown >> 10,
        family_grown >> 10
    );
}
