//! This process's CPU time, as the bench reads the exporters': utime + stime of /proc/self/stat.

/// Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

/// Why the CPU time could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CpuError {
    /// /proc/self/stat could not be read.
    #[error("reading /proc/self/stat: {0}")]
    Read(#[from] std::io::Error),
    /// Its fields were not where they should be.
    #[error("unexpected /proc/self/stat: {0:?}")]
    Format(String),
}

/// user + system CPU seconds of this process so far.
pub(crate) fn seconds() -> Result<f64, CpuError> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    ticks(&stat)
        .map(|t| t as f64 / TICKS)
        .ok_or(CpuError::Format(stat))
}

/// utime + stime (fields 14 and 15) of a /proc/<pid>/stat line; the command name may hold spaces
/// and parentheses, so fields are counted after the last ')'.
fn ticks(stat: &str) -> Option<u64> {
    let mut f = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let utime: u64 = f.next()?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utime_and_stime_are_summed_after_an_odd_command_name() {
        let line = "42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 7 5 0 0 20 0 1 0 9 1000 10";
        assert_eq!(ticks(line), Some(12));
    }

    #[test]
    fn this_process_has_a_cpu_time() {
        assert!(seconds().unwrap() >= 0.0);
    }
}
