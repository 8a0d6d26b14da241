//! A growing log file read incrementally: `log_tail::LogTail::read_lines` over a file written in
//! two parts (cut at the separator byte), read after each. Lines are cut at `MAX_LINE`, and no
//! more lines come out than the bytes hold.
#![no_main]

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::LazyLock;

use common::log_tail::{LogTail, MAX_LINE, StartAt};
use libfuzzer_sys::fuzz_target;
use suite_fuzz::parts;

static FILE: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("suite-fuzz-log-tail-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating the temporary directory");
    dir.join("app.log")
});

fuzz_target!(|data: &[u8]| {
    let p = parts(data, 2);
    std::fs::write(&*FILE, p[0]).expect("writing the log");
    let mut tail = LogTail::new(&*FILE, StartAt::Beginning);
    let mut lines = 0usize;
    // Lossy decoding turns one invalid byte into U+FFFD, three bytes.
    let mut each = |l: &str| {
        assert!(l.len() <= MAX_LINE * 3, "a line of {} bytes", l.len());
        lines += 1;
    };
    tail.read_lines(&mut each).expect("reading the log");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&*FILE)
        .and_then(|mut f| f.write_all(p[1]))
        .expect("appending to the log");
    tail.read_lines(&mut each).expect("reading the log again");
    let newlines = data.iter().filter(|b| **b == b'\n').count();
    assert!(lines <= newlines + 2, "{lines} lines");
});
