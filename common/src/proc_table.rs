//! The process table in procfs: the pid list, `/proc/<pid>/stat` and the boot time, for the
//! exporters that look for a daemon (the documents' `ps -ef | grep <name>`) without running `ps`.

use crate::collector::CollectError;
use crate::paths::SysPaths;

/// The fields of `/proc/<pid>/stat` the exporters use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidStat<'a> {
    /// Kernel command name (`comm`); may contain spaces and parentheses.
    pub comm: &'a str,
    /// State letter: `R`, `S`, `D`, `Z` (zombie), `X` (dead)…
    pub state: char,
    /// Parent pid.
    pub ppid: u32,
    /// Start time after boot, in clock ticks (field 22), when present.
    pub start_ticks: Option<u64>,
}

impl PidStat<'_> {
    /// Whether the process still runs: an exited, unreaped zombie or a dead task does not.
    pub fn is_alive(&self) -> bool {
        !matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Parses `/proc/<pid>/stat`; the name is taken up to the *last* `)`, as it may contain one.
pub fn parse_pid_stat(stat: &str) -> Option<PidStat<'_>> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?;
    let mut rest = stat.get(close + 1..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    // After state and ppid, starttime is the 18th remaining field (field 22 overall).
    let start_ticks = rest.nth(17).and_then(|t| t.parse().ok());
    Some(PidStat {
        comm,
        state,
        ppid,
        start_ticks,
    })
}

/// The numeric entries of procfs, i.e. every pid.
pub fn pids(paths: &SysPaths) -> Result<Vec<u32>, CollectError> {
    let dir = paths.proc("");
    let entries = std::fs::read_dir(&dir).map_err(|e| CollectError::io(&dir, e))?;
    Ok(entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect())
}

/// Boot time in seconds since the epoch, from the `btime` line of `/proc/stat`.
pub fn boot_time(proc_stat: &[u8]) -> Option<f64> {
    crate::parse::lines(proc_stat).find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())
}

/// Start time since the epoch, in seconds, of a process with `stat`, given the boot time.
pub fn start_time_seconds(stat: &PidStat<'_>, boot_time: f64) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)]
    let ticks = procfs::ticks_per_second().max(1) as f64;
    #[allow(clippy::cast_precision_loss)]
    stat.start_ticks.map(|t| boot_time + t as f64 / ticks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_spaces_and_parentheses_are_kept_whole() {
        let s = parse_pid_stat("42 (keep alived) S 1 42 42 0").unwrap();
        assert_eq!(
            (s.comm, s.state, s.ppid, s.start_ticks),
            ("keep alived", 'S', 1, None)
        );
        let z = parse_pid_stat("42 (a) b) Z 7 1").unwrap();
        assert_eq!((z.comm, z.state, z.ppid), ("a) b", 'Z', 7));
        assert!(!z.is_alive());
        assert_eq!(parse_pid_stat("garbage"), None);
    }

    #[test]
    fn start_ticks_are_field_22() {
        let stat =
            "1234 (etc d) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 12 0 5000 1000 100";
        assert_eq!(parse_pid_stat(stat).unwrap().start_ticks, Some(5000));
    }

    #[test]
    fn boot_time_is_found_among_other_lines() {
        assert_eq!(
            boot_time(b"cpu 1 2\nbtime 1700000000\nprocesses 5\n"),
            Some(1_700_000_000.0)
        );
        assert_eq!(boot_time(b"cpu 1 2\n"), None);
    }
}
