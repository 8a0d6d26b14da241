//! `/proc/diskstats`: per-device I/O counters (sectors are always 512 bytes here).

/// The counters of one block device.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiskStats {
    /// Device name (`sda`, `nvme0n1`, `dm-0`).
    pub(crate) name: String,
    /// Reads completed.
    pub(crate) reads: u64,
    /// Sectors read.
    pub(crate) read_sectors: u64,
    /// Milliseconds spent reading.
    pub(crate) read_ms: u64,
    /// Writes completed.
    pub(crate) writes: u64,
    /// Sectors written.
    pub(crate) write_sectors: u64,
    /// Milliseconds spent writing.
    pub(crate) write_ms: u64,
    /// I/Os currently in progress.
    pub(crate) in_progress: u64,
    /// Milliseconds spent doing I/O.
    pub(crate) io_ms: u64,
}

fn parse_line(line: &str) -> Option<DiskStats> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    Some(DiskStats {
        name: (*f.get(2)?).to_owned(),
        reads: n(3)?,
        read_sectors: n(5)?,
        read_ms: n(6)?,
        writes: n(7)?,
        write_sectors: n(9)?,
        write_ms: n(10)?,
        in_progress: n(11)?,
        io_ms: n(12)?,
    })
}

/// Parses diskstats; short or malformed lines are skipped, extra (discard/flush) columns ignored.
pub fn parse(bytes: &[u8]) -> Vec<DiskStats> {
    common::parse::lines(bytes).filter_map(parse_line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_old_and_new_layouts() {
        let d = parse(
            b" 254       0 vda 100 5 2000 300 50 1 800 120 0 400 420 0 0 0 0 10 3\n   8 0 sda 1 0 8 2 3 0 24 4 1 6 6\nshort 1 2\n",
        );
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].name, "vda");
        assert_eq!(
            (d[0].reads, d[0].read_sectors, d[0].read_ms),
            (100, 2000, 300)
        );
        assert_eq!(
            (d[0].writes, d[0].write_sectors, d[0].write_ms, d[0].io_ms),
            (50, 800, 120, 400)
        );
        assert_eq!(d[1].in_progress, 1);
    }
}
