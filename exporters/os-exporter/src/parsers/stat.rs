//! `/proc/stat`: per-CPU mode counters (keeping the kernel's CPU number, which the `procfs`
//! crate drops: with CPUs offline, `cpu3` may be the third line) and the process counters.

/// The mode columns of a `cpuN` line, in the kernel's order. Columns beyond these (a newer
/// kernel's addition) are ignored rather than rejected.
pub const MODES: [&str; 10] = [
    "user",
    "nice",
    "system",
    "idle",
    "iowait",
    "irq",
    "softirq",
    "steal",
    "guest",
    "guest_nice",
];

/// One `cpuN` line: the CPU number and the ticks (USER_HZ) of each mode present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuTimes {
    /// The CPU number from the line's name (`cpu7` is 7).
    pub(crate) cpu: u32,
    /// Ticks per mode, in [`MODES`] order; shorter on old kernels with fewer columns.
    pub(crate) ticks: Vec<u64>,
}

impl CpuTimes {
    /// Ticks of `mode`, 0 when the kernel does not report it.
    pub(crate) fn mode(&self, mode: &str) -> u64 {
        MODES
            .iter()
            .position(|m| *m == mode)
            .and_then(|i| self.ticks.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// All ticks except guest time, which the kernel already counts in user/nice.
    pub(crate) fn total(&self) -> u64 {
        self.ticks.iter().take(8).sum()
    }
}

/// The parts of `/proc/stat` the exporter uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stat {
    /// The aggregate `cpu` line (all online CPUs), when present.
    pub(crate) total: Option<CpuTimes>,
    /// One entry per online CPU, by real CPU number.
    pub(crate) cpus: Vec<CpuTimes>,
    /// `procs_running`.
    pub(crate) procs_running: Option<u64>,
    /// `procs_blocked`: tasks waiting for I/O.
    pub(crate) procs_blocked: Option<u64>,
}

fn parse_ticks(rest: &str) -> Option<Vec<u64>> {
    let ticks: Vec<u64> = rest
        .split_whitespace()
        .take(MODES.len())
        .map_while(|v| v.parse().ok())
        .collect();
    (ticks.len() >= 4).then_some(ticks)
}

/// Parses `/proc/stat`; unknown or malformed lines are skipped.
pub fn parse(bytes: &[u8]) -> Stat {
    let mut stat = Stat::default();
    for line in common::parse::lines(bytes) {
        let Some((key, rest)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        match key {
            "cpu" => {
                stat.total = parse_ticks(rest).map(|ticks| CpuTimes {
                    cpu: u32::MAX,
                    ticks,
                })
            }
            "procs_running" => stat.procs_running = rest.trim().parse().ok(),
            "procs_blocked" => stat.procs_blocked = rest.trim().parse().ok(),
            _ => {
                if let Some(cpu) = key.strip_prefix("cpu").and_then(|n| n.parse::<u32>().ok())
                    && let Some(ticks) = parse_ticks(rest)
                {
                    stat.cpus.push(CpuTimes { cpu, ticks });
                }
            }
        }
    }
    stat
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_real_cpu_numbers_when_cpus_are_offline() {
        let s = parse(b"cpu  10 0 5 100 1 0 2 3 0 0\ncpu0 5 0 2 50 1 0 1 1 0 0\ncpu3 5 0 3 50 0 0 1 2 0 0\nprocs_running 2\nprocs_blocked 1\n");
        assert_eq!(s.cpus.iter().map(|c| c.cpu).collect::<Vec<_>>(), vec![0, 3]);
        assert_eq!(s.cpus[1].mode("steal"), 2);
        assert_eq!(s.cpus[1].total(), 61);
        assert_eq!(s.procs_running, Some(2));
        assert_eq!(s.procs_blocked, Some(1));
    }

    #[test]
    fn a_new_unknown_column_is_ignored() {
        let s = parse(b"cpu0 1 2 3 4 5 6 7 8 9 10 11\n");
        assert_eq!(s.cpus[0].ticks.len(), 10);
        assert_eq!(s.cpus[0].mode("guest_nice"), 10);
    }

    #[test]
    fn old_kernels_with_fewer_columns_and_garbage_lines() {
        let s = parse(b"cpu0 1 2 3 4\ncpuX 1 2 3 4\ncpu1 1 two\nintr 5\n");
        assert_eq!(s.cpus.len(), 1);
        assert_eq!(s.cpus[0].mode("steal"), 0);
        assert_eq!(s.cpus[0].total(), 10);
    }
}
