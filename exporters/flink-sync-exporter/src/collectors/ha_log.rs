//! `ha_log`: the HA run log (`/var/log/Bigdata/flink/flinkserver/ha/runlog/ha.log`, procedure
//! step 12) read incrementally at each scrape with its rotations (`ha.log.2021-03-22_12-00-07.gz`
//! included, decompressed within a bound), lines counted by kind ([`crate::ha_log`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use common::log_tail::{FamilyTail, StartAt};
use common::{
    Build, CollectError, Collector, CollectorDef, MetricSet, MutexExt as _, ScrapeContext,
};

use crate::FlinkSyncExporter;
use crate::ha_log::{ErrorKind, Event, classify};

#[derive(Debug)]
struct State {
    tail: FamilyTail,
    errors: BTreeMap<&'static str, u64>,
    denied: u64,
    alarms: u64,
    problems: u64,
}

/// Reads the HA log.
#[derive(Debug)]
pub(crate) struct HaLog {
    state: Mutex<State>,
    path: PathBuf,
}

impl HaLog {
    fn new(path: PathBuf, from_start: bool) -> Self {
        let start = if from_start {
            StartAt::Beginning
        } else {
            StartAt::End
        };
        Self {
            state: Mutex::new(State {
                tail: FamilyTail::new(path.clone(), start),
                errors: ErrorKind::ALL.iter().map(|k| (k.as_str(), 0)).collect(),
                denied: 0,
                alarms: 0,
                problems: 0,
            }),
            path,
        }
    }
}

impl Collector for HaLog {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut st = self.state.lock_or_recover();
        let st = &mut *st;
        let (errors, denied, alarms) = (&mut st.errors, &mut st.denied, &mut st.alarms);
        let read = st.tail.read_lines(|line| match classify(line) {
            Some(Event::Error(k)) => *errors.entry(k.as_str()).or_insert(0) += 1,
            Some(Event::PermissionDenied) => *denied += 1,
            Some(Event::AlarmSent) => *alarms += 1,
            None => {}
        });
        for p in st.tail.take_problems() {
            st.problems += 1;
            log::warn!("HA log {}: {p}", self.path.display());
        }
        match read {
            Ok(()) => {}
            // No HA log on this node (yet): the counters stay, nothing is wrong with the exporter.
            Err(CollectError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut m = MetricSet::new();
        for (k, n) in &st.errors {
            m.add(&ERRORS, &[("kind", k)], *n as f64);
        }
        m.add(&DENIED, &[], st.denied as f64);
        m.add(&ALARMS, &[], st.alarms as f64);
        m.add(&PROBLEMS, &[], st.problems as f64);
        Ok(m)
    }
}

const ERRORS: common::Desc = common::Desc::counter(
    "flink_sync_ha_log_errors_total",
    "1",
    "ERROR lines of the HA run log since start, by kind (a failed All_Sync task writes travel_stack_failed, create_file_list_failed, send_end_failed, task_end_failed).",
);
const DENIED: common::Desc = common::Desc::counter(
    "flink_sync_ha_log_permission_denied_total",
    "1",
    "HA run log lines saying the sync could not lstat a file (Permission denied) since start.",
);
const ALARMS: common::Desc = common::Desc::counter(
    "flink_sync_ha_log_alarms_total",
    "1",
    "HA run log hasendalarm lines (the HA process raised an alarm) since start.",
);
const PROBLEMS: common::Desc = common::Desc::counter(
    "flink_sync_ha_log_read_problems_total",
    "1",
    "Rotated HA logs that could not be read whole (damaged gzip, over the size bound) since start.",
);

/// Registry entry: `flink_sync_scrape_collector_success{collector="ha_log"}`.
pub(crate) const DEF: CollectorDef<FlinkSyncExporter> = CollectorDef {
    name: "ha_log",
    enabled_by_default: true,
    file: file!(),
    metrics: &[ERRORS, DENIED, ALARMS, PROBLEMS],
    build: Build::Blocking(|e| {
        Ok(Some(Box::new(HaLog::new(
            e.paths.root(&e.cfg.ha_log),
            e.cfg.ha_log_from_start,
        ))))
    }),
};
