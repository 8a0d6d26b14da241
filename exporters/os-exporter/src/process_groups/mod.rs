//! Configured process groups (document 001 §2.2, `xxx_process_*`, the `xxx_` being the
//! configured name): which processes belong to each group, what each member uses, and the
//! group's CPU counter and per-member CPU window.

pub(crate) mod config;
pub(crate) mod matcher;
pub(crate) mod members;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use common::proc_table::Snapshot;
use common::{CollectError, MutexExt as _, PerScrape, ScrapeContext, SysPaths};

use crate::process_table::ProcessTable;
use matcher::Matcher;

/// A member across walks: its pid and start time (a reused pid is another process).
type Key = (u32, Option<u64>);

/// Per group: the CPU counter that survives members leaving.
#[derive(Debug, Default)]
struct CpuCounter {
    /// Clock ticks of the members seen in the last scrape.
    live: HashMap<Key, u64>,
    /// Ticks of members that have left, as last seen.
    retired: u64,
}

impl CpuCounter {
    /// The group's ticks now: the members' own plus those of members gone since; a member that
    /// left keeps its last reading, so the sum never goes backwards as members exit.
    fn update(&mut self, now: HashMap<Key, u64>) -> u64 {
        for (k, t) in &self.live {
            if !now.contains_key(k) {
                self.retired = self.retired.saturating_add(*t);
            }
        }
        self.live = now;
        self.live
            .values()
            .fold(self.retired, |a, t| a.saturating_add(*t))
    }
}

/// Per group: the busiest member's and the members' mean CPU over the job's last window, in
/// percent of one CPU (`top`'s %CPU).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CpuWindow {
    /// The busiest member.
    pub(crate) max: f64,
    /// Mean over the members present at both ends of the window.
    pub(crate) avg: f64,
}

/// The job's previous sample.
#[derive(Debug, Default)]
struct CpuSample {
    at: Option<Instant>,
    ticks: HashMap<Key, u64>,
}

/// One scrape's process table and each group's members in it (indexes into the table).
struct Assignment {
    table: Arc<Snapshot>,
    members: Vec<Vec<usize>>,
}

/// The groups of `[[process]]` and what the collector and the CPU job share.
pub(crate) struct ProcessGroups {
    paths: SysPaths,
    table: Arc<ProcessTable>,
    /// The scrape's assignment, shared by the `process_groups` and `jvm` collectors.
    assigned: PerScrape<Assignment>,
    matcher: Matcher,
    counters: Mutex<Vec<CpuCounter>>,
    sample: Mutex<CpuSample>,
    windows: Mutex<Vec<Option<CpuWindow>>>,
    /// Whether an unreadable fd table was logged, per group: once, not every scrape.
    fd_logged: Vec<AtomicBool>,
}

impl ProcessGroups {
    /// The groups of `cfg`, read from `table`; `None` when none is configured.
    pub(crate) fn new(
        paths: SysPaths,
        table: Arc<ProcessTable>,
        cfg: &[config::ProcessGroupConfig],
    ) -> Result<Option<Self>, String> {
        let groups = matcher::compile(cfg)?;
        if groups.is_empty() {
            return Ok(None);
        }
        let n = groups.len();
        Ok(Some(Self {
            matcher: Matcher::new(paths.clone(), groups),
            paths,
            table,
            assigned: PerScrape::new(),
            counters: Mutex::new((0..n).map(|_| CpuCounter::default()).collect()),
            sample: Mutex::new(CpuSample::default()),
            windows: Mutex::new(vec![None; n]),
            fd_logged: (0..n).map(|_| AtomicBool::new(false)).collect(),
        }))
    }

    /// The configured names, in configuration order.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.matcher.groups().iter().map(|g| g.name.as_str())
    }

    /// The procfs paths read.
    pub(crate) fn paths(&self) -> &SysPaths {
        &self.paths
    }

    /// The scrape's process table and each group's members in it.
    pub(crate) fn members(
        &self,
        ctx: &ScrapeContext,
    ) -> Result<(Arc<Snapshot>, Vec<Vec<usize>>), CollectError> {
        let a = self.assignment(ctx)?;
        Ok((Arc::clone(&a.table), a.members.clone()))
    }

    fn assignment(&self, ctx: &ScrapeContext) -> Result<Arc<Assignment>, CollectError> {
        self.assigned.get_or_try_init(ctx, || {
            let table = self.table.get(Some(ctx))?;
            let members = self.matcher.assign(&table);
            Ok(Assignment { table, members })
        })
    }

    /// The configured name of the group `pid` belongs to in `ctx`'s scrape (how the `jvm`
    /// collector labels the JVM of a configured process).
    pub(crate) fn group_of(&self, ctx: &ScrapeContext, pid: u32) -> Option<String> {
        let a = self.assignment(ctx).ok()?;
        let i = a.members.iter().position(|m| {
            m.iter()
                .any(|&at| a.table.processes.get(at).is_some_and(|p| p.pid == pid))
        })?;
        self.names().nth(i).map(str::to_owned)
    }

    /// Each group's CPU counter in clock ticks after this scrape's reading.
    pub(crate) fn cpu_ticks(&self, table: &Snapshot, members: &[Vec<usize>]) -> Vec<u64> {
        let mut counters = self.counters.lock_or_recover();
        counters
            .iter_mut()
            .zip(members)
            .map(|(c, m)| c.update(ticks_of(table, m)))
            .collect()
    }

    /// The CPU windows of the job's last run (`None` before its second run).
    pub(crate) fn windows(&self) -> Vec<Option<CpuWindow>> {
        self.windows.lock_or_recover().clone()
    }

    /// Logs an unreadable fd table of group `g` the first time only.
    pub(crate) fn log_fd_error_once(&self, g: usize, err: &str) {
        if let Some(flag) = self.fd_logged.get(g)
            && !flag.swap(true, Ordering::Relaxed)
        {
            let name = self.matcher.groups().get(g).map_or("", |x| x.name.as_str());
            log::warn!(
                "process={name} cannot read a member's open files ({err}); os_process_fd_readable is 0 and the fd series are left out (run as root or grant CAP_DAC_READ_SEARCH)"
            );
        }
    }

    /// One run of the CPU job: walks the table, and each member's CPU since the previous run
    /// over the wall time between them gives the groups' windows.
    pub(crate) fn cpu_pass(&self) -> Result<(), CollectError> {
        let table = self.table.get(None)?;
        let members = self.matcher.assign(&table);
        let now = Instant::now();
        let hz = common::sysconf::clock_ticks_per_second();
        let mut sample = self.sample.lock_or_recover();
        let elapsed = sample.at.map(|at| now.duration_since(at).as_secs_f64());
        let mut all = HashMap::new();
        let windows = members
            .iter()
            .map(|m| {
                let ticks = ticks_of(&table, m);
                // A group without members is 0 from the first run; members need two.
                let window = if m.is_empty() {
                    cpu_window(true, &[])
                } else {
                    elapsed.filter(|e| *e > 0.0).and_then(|secs| {
                        let pcts: Vec<f64> = ticks
                            .iter()
                            .filter_map(|(k, t)| {
                                let before = sample.ticks.get(k)?;
                                #[allow(clippy::cast_precision_loss)]
                                let used = t.saturating_sub(*before) as f64 / hz;
                                Some(used / secs * 100.0)
                            })
                            .collect();
                        cpu_window(false, &pcts)
                    })
                };
                all.extend(ticks);
                window
            })
            .collect();
        *sample = CpuSample {
            at: Some(now),
            ticks: all,
        };
        *self.windows.lock_or_recover() = windows;
        Ok(())
    }
}

/// The window of one group from its members' percentages: 0 without members, `None` while
/// none of them was there at the window's start (a new member has no window yet).
fn cpu_window(no_members: bool, pcts: &[f64]) -> Option<CpuWindow> {
    if no_members {
        return Some(CpuWindow { max: 0.0, avg: 0.0 });
    }
    if pcts.is_empty() {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    let avg = pcts.iter().sum::<f64>() / pcts.len() as f64;
    Some(CpuWindow {
        max: pcts.iter().copied().fold(0.0, f64::max),
        avg,
    })
}

fn ticks_of(table: &Snapshot, members: &[usize]) -> HashMap<Key, u64> {
    members
        .iter()
        .filter_map(|i| table.processes.get(*i))
        .map(|p| ((p.pid, p.start_ticks), p.cpu_ticks.unwrap_or(0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_counter_keeps_what_exited_members_used() {
        let mut c = CpuCounter::default();
        let k = |pid| (pid, Some(1));
        assert_eq!(c.update(HashMap::from([(k(1), 100), (k(2), 50)])), 150);
        assert_eq!(c.update(HashMap::from([(k(1), 120), (k(2), 60)])), 180);
        // Member 2 exits: its 60 stay; a new member 3 brings its 5.
        assert_eq!(c.update(HashMap::from([(k(1), 130), (k(3), 5)])), 195);
        // Pid 1 reused (another start time): the old one is retired, the new one counts.
        assert_eq!(c.update(HashMap::from([((1, Some(9)), 2), (k(3), 5)])), 197);
        assert_eq!(c.update(HashMap::new()), 197);
    }

    #[test]
    fn windows_are_zero_without_members_and_absent_for_new_ones() {
        assert_eq!(
            cpu_window(true, &[]),
            Some(CpuWindow { max: 0.0, avg: 0.0 })
        );
        assert_eq!(cpu_window(false, &[]), None);
        assert_eq!(
            cpu_window(false, &[90.0, 10.0]),
            Some(CpuWindow {
                max: 90.0,
                avg: 50.0
            })
        );
    }
}
