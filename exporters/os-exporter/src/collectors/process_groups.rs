//! `os_process_*{process}`: document 001 §2.2's per-process rows for every `[[process]]` group,
//! present from the first scrape whether or not a member runs (a configured process that is
//! down is status 0, never a missing series). Scrape time reads the shared process table and,
//! per member, its fd directory and limits; the `process_cpu` job measures each member's CPU
//! over its own window (`[process_cpu] interval`), so the max and mean across members are
//! gauges both Prometheus replicas see alike.

use std::sync::Arc;

use common::registry::Background;
use common::{Build, CollectError, Collector, CollectorDef, Desc, Job, MetricSet, ScrapeContext};

use crate::OsExporter;
use crate::parsers::{meminfo, uptime};
use crate::process_groups::ProcessGroups;
use crate::process_groups::members::{self, FdError};

const STATUS: Desc = Desc::gauge(
    "os_process_status",
    "1",
    "1 while at least one member of the configured process runs, else 0 (document 001: xxx_process_status).",
);
const MEMBERS: Desc = Desc::gauge(
    "os_process_members",
    "1",
    "Live processes of the configured process group, a count.",
);
const UPTIME: Desc = Desc::gauge(
    "os_process_uptime",
    "seconds",
    "Elapsed time of the oldest member, as ps -o etimes; 0 without members (document 001: xxx_process_uptime).",
);
const CPU_SECONDS: Desc = Desc::counter(
    "os_process_cpu_seconds_total",
    "seconds",
    "User and system CPU of the group's members, members that exited included, in seconds.",
);
const MAX_CPU: Desc = Desc::gauge(
    "os_process_max_cpu",
    "percent",
    "CPU of the busiest member over the process_cpu window, percent of one CPU (document 001: xxx_process_max_cpu).",
);
const AVG_CPU: Desc = Desc::gauge(
    "os_process_avg_cpu",
    "percent",
    "Mean CPU of the members over the process_cpu window, percent of one CPU (document 001: xxx_process_avg_cpu).",
);
const MAX_MEM: Desc = Desc::gauge(
    "os_process_max_mem",
    "percent",
    "Largest member's resident memory over MemTotal, percent (document 001: xxx_process_max_mem).",
);
const AVG_MEM: Desc = Desc::gauge(
    "os_process_avg_mem",
    "percent",
    "Mean resident memory of the members over MemTotal, percent (document 001: xxx_process_avg_mem).",
);
const FD_READABLE: Desc = Desc::gauge(
    "os_process_fd_readable",
    "1",
    "1 when every member's open files could be read, 0 when one could not (not root): the fd series are left out then.",
);
const FD_NUM: Desc = Desc::gauge(
    "os_process_fd_num",
    "1",
    "Open file descriptors of all members, a count (document 001: xxx_process_fd_num).",
);
const FD_USAGE: Desc = Desc::gauge(
    "os_process_fd_usage",
    "percent",
    "Worst member's open files over its soft Max open files limit, percent (document 001: xxx_process_fd_usage).",
);

/// What one group's members use in one scrape.
#[derive(Debug, Default)]
struct Usage {
    members: usize,
    oldest_start: Option<u64>,
    rss_max: f64,
    rss_sum: f64,
    fd_open: u64,
    fd_usage_max: f64,
    fd_error: Option<String>,
}

/// Serves the groups at scrape time.
pub(crate) struct ProcessGroupsCollector {
    groups: Arc<ProcessGroups>,
}

impl Collector for ProcessGroupsCollector {
    fn collect(&self, ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let g = &self.groups;
        let paths = g.paths();
        let up_bytes = paths.read_proc("uptime")?;
        let up = uptime::parse_uptime(&up_bytes).ok_or_else(|| {
            CollectError::parse(paths.proc("uptime"), "expected seconds since boot")
        })?;
        let mem_bytes = paths.read_proc("meminfo")?;
        let mem_total = meminfo::parse(&mem_bytes)
            .map(|m| m.mem_total)
            .filter(|t| *t > 0.0)
            .ok_or_else(|| CollectError::parse(paths.proc("meminfo"), "no MemTotal"))?;
        let (table, members) = g.members(ctx)?;
        let cpu_ticks = g.cpu_ticks(&table, &members);
        let windows = g.windows();
        let hz = common::sysconf::clock_ticks_per_second();
        let page = common::sysconf::page_size_bytes();
        let mut set = MetricSet::new();
        for (i, name) in g.names().enumerate() {
            let mut u = Usage::default();
            for p in members[i].iter().filter_map(|m| table.processes.get(*m)) {
                let fds = match members::fds(paths, p.pid) {
                    Ok(f) => Some(f),
                    // Exited since the walk: no longer a member.
                    Err(FdError::Gone) => continue,
                    Err(FdError::Unreadable(e)) => {
                        u.fd_error.get_or_insert(e);
                        None
                    }
                };
                u.members += 1;
                if let Some(s) = p.start_ticks {
                    u.oldest_start = Some(u.oldest_start.map_or(s, |o| o.min(s)));
                }
                #[allow(clippy::cast_precision_loss)]
                let rss = p.rss_pages.unwrap_or(0) as f64 * page;
                u.rss_max = u.rss_max.max(rss);
                u.rss_sum += rss;
                if let Some(f) = fds {
                    u.fd_open += f.open;
                    u.fd_usage_max = u.fd_usage_max.max(members::usage_percent(f));
                }
            }
            let l = [("process", name)];
            set.add(&STATUS, &l, if u.members > 0 { 1.0 } else { 0.0 });
            #[allow(clippy::cast_precision_loss)]
            set.add(&MEMBERS, &l, u.members as f64);
            #[allow(clippy::cast_precision_loss)]
            let uptime = u
                .oldest_start
                .map_or(0.0, |s| (up - s as f64 / hz).max(0.0).floor());
            set.add(&UPTIME, &l, uptime);
            #[allow(clippy::cast_precision_loss)]
            set.add(
                &CPU_SECONDS,
                &l,
                cpu_ticks.get(i).copied().unwrap_or(0) as f64 / hz,
            );
            if let Some(Some(w)) = windows.get(i) {
                set.add(&MAX_CPU, &l, w.max);
                set.add(&AVG_CPU, &l, w.avg);
            }
            set.add(&MAX_MEM, &l, u.rss_max / mem_total * 100.0);
            #[allow(clippy::cast_precision_loss)]
            let avg = if u.members > 0 {
                u.rss_sum / u.members as f64 / mem_total * 100.0
            } else {
                0.0
            };
            set.add(&AVG_MEM, &l, avg);
            match &u.fd_error {
                None => {
                    set.add(&FD_READABLE, &l, 1.0);
                    #[allow(clippy::cast_precision_loss)]
                    set.add(&FD_NUM, &l, u.fd_open as f64);
                    set.add(&FD_USAGE, &l, u.fd_usage_max);
                }
                Some(e) => {
                    g.log_fd_error_once(i, e);
                    set.add(&FD_READABLE, &l, 0.0);
                }
            }
        }
        Ok(set)
    }
}

fn build(e: &OsExporter) -> common::registry::Built<Background> {
    let Some(groups) = e.process_groups.clone() else {
        return Ok(None);
    };
    let job_groups = Arc::clone(&groups);
    Ok(Some(Background {
        job: Job::new("process_cpu", e.config.process_cpu.interval, move || {
            Ok(job_groups.cpu_pass()?)
        }),
        serve: Box::new(ProcessGroupsCollector { groups }),
    }))
}

/// Registry entry: `os_scrape_collector_success{collector="process_groups"}` and the
/// `process_cpu` job; not run without a `[[process]]` table.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "process_groups",
    enabled_by_default: true,
    file: file!(),
    metrics: &[
        STATUS,
        MEMBERS,
        UPTIME,
        CPU_SECONDS,
        MAX_CPU,
        AVG_CPU,
        MAX_MEM,
        AVG_MEM,
        FD_READABLE,
        FD_NUM,
        FD_USAGE,
    ],
    build: Build::Background(build),
};
