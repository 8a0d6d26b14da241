//! `/proc/net/tcp` and `tcp6`, streamed: `os_exporter::parsers::net_tcp::{count_blocked,
//! parse_line, decode_addr}`. However the kernel's reads are cut, the counts are the same.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use os_exporter::parsers::net_tcp::{self, QueueCounts};

/// A reader that hands out at most `step` bytes per read, as a pipe or procfs may.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn count(data: &[u8], step: usize) -> (QueueCounts, Vec<String>) {
    let mut counts = QueueCounts::default();
    let mut blocked = Vec::new();
    net_tcp::count_blocked(Trickle { data, step }, 0, &mut counts, |s| {
        blocked.push(format!("{s:?}"));
    })
    .expect("reading memory");
    (counts, blocked)
}

fuzz_target!(|data: &[u8]| {
    let whole = count(data, usize::MAX);
    assert_eq!(count(data, 1), whole);
    assert_eq!(count(data, 7), whole);
    for line in data.split(|b| *b == b'\n') {
        let _ = net_tcp::parse_line(line);
    }
    for field in String::from_utf8_lossy(data).split_whitespace() {
        let _ = net_tcp::decode_addr(field);
    }
});
