//! `keepalived_process_status`: whether keepalived runs (document table 3.1.3), and since when
//! (a restart is what the document's 误报识别 column blames for false failovers).

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::KeepalivedExporter;

const STATUS: Desc = Desc::gauge(
    "keepalived_process_status",
    "1",
    "Whether the keepalived parent process is running (1) or not (0).",
);
const START_TIME: Desc = Desc::gauge(
    "keepalived_process_start_time_seconds",
    "seconds",
    "Start time of the keepalived parent process, in seconds since the epoch (absent while it does not run).",
);
const CHILDREN: Desc = Desc::gauge(
    "keepalived_process_children",
    "1",
    "Number of running keepalived child processes (VRRP, checkers, BFD) of the parent.",
);

/// Looks for the keepalived parent process and its children.
#[derive(Debug)]
pub struct ProcessCollector {
    /// Rooted paths.
    pub paths: SysPaths,
    /// Pid file, relative to the root.
    pub pid_file: String,
}

impl Collector for ProcessCollector {
    fn collect(&self, _ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let found = crate::process::find(&self.paths, &self.pid_file);
        let mut m = MetricSet::new();
        m.add(&STATUS, &[], if found.is_some() { 1.0 } else { 0.0 });
        m.add(&CHILDREN, &[], found.map_or(0.0, |k| f64::from(k.children)));
        if let Some(start) = found.and_then(|k| k.start_time(&self.paths)) {
            m.add(&START_TIME, &[], start);
        }
        Ok(m)
    }
}

/// Registry entry: `keepalived_scrape_collector_success{collector="process"}`.
pub(crate) const DEF: CollectorDef<KeepalivedExporter> = CollectorDef {
    name: "process",
    enabled_by_default: true,
    file: file!(),
    metrics: &[STATUS, START_TIME, CHILDREN],
    build: Build::Blocking(|e| {
        Ok(Some(Box::new(ProcessCollector {
            paths: e.paths.clone(),
            pid_file: e.cfg.pid_file.clone(),
        })))
    }),
};
