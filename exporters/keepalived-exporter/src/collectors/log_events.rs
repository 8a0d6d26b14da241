//! `keepalived_failover` and `keepalived_check_failed`: keepalived's failover and FAULT log
//! lines in the last 5 minutes (document table 3.1.3), plus raw counters so Prometheus can use
//! any window.
//!
//! The log is read incrementally (new bytes only, following rotation) at each scrape and in
//! the background, so an event's time is when it was read, at most one poll interval late.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::log_tail::LogTail;
use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, MutexExt as _, ScrapeContext,
};

use crate::KeepalivedExporter;
use crate::log_classifier::{EventKind, TargetState, classify};

/// Most distinct instance names kept as label values; a log full of invented names cannot grow
/// the series count past this.
const MAX_INSTANCES: usize = 64;

/// Most events remembered inside the window; beyond it the oldest are dropped (the gauges then
/// saturate, which still fires every alert).
const MAX_WINDOW_EVENTS: usize = 100_000;

const FAILOVER: Desc = Desc::gauge(
    "keepalived_failover",
    "1",
    "Failover log lines (Received lower/higher prio advert, Entering MASTER/BACKUP STATE, Transition to MASTER STATE) read in the last event window (default 5 minutes); a count.",
);
const CHECK_FAILED: Desc = Desc::gauge(
    "keepalived_check_failed",
    "1",
    "FAULT log lines (Now in FAULT state, Entering FAULT STATE) read in the last event window (default 5 minutes); a count.",
);
const EVENTS: Desc = Desc::counter(
    "keepalived_log_events_total",
    "1",
    "keepalived log lines by monitored event, since the exporter started; a count.",
);
const TRANSITIONS: Desc = Desc::counter(
    "keepalived_log_transitions_total",
    "1",
    "VRRP state changes logged by keepalived, by instance and target state, since the exporter started; a count.",
);
const READ_BYTES: Desc = Desc::counter(
    "keepalived_log_read_bytes_total",
    "bytes",
    "Bytes of the keepalived log read by the exporter.",
);
const ROTATIONS: Desc = Desc::counter(
    "keepalived_log_rotations_total",
    "1",
    "Rotations of the keepalived log followed by the exporter; a count.",
);

/// What the log has said so far.
#[derive(Debug)]
pub struct LogState {
    tail: LogTail,
    window: Duration,
    recent: VecDeque<(Instant, EventKind)>,
    events: BTreeMap<&'static str, u64>,
    transitions: BTreeMap<(String, TargetState), u64>,
}

impl LogState {
    /// State for `tail`, counting the last `window` for the gauges.
    pub fn new(tail: LogTail, window: Duration) -> Self {
        Self {
            tail,
            window,
            recent: VecDeque::new(),
            events: BTreeMap::new(),
            transitions: BTreeMap::new(),
        }
    }

    /// Reads new lines and records their events as happening `now`.
    pub fn poll(&mut self, now: Instant) -> Result<(), CollectError> {
        // A log that never existed is a misconfiguration (Debian logs to /var/log/syslog, not
        // /var/log/messages); reporting 0 failovers from it would hide every event. A log that
        // vanished after being read is between rotation steps and is not an error.
        if self.tail.bytes_read() == 0 && !self.tail.path().exists() {
            return Err(CollectError::io(
                self.tail.path(),
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "log file does not exist (set log_file)",
                ),
            ));
        }
        // Lines are handed over one at a time (bounded memory whatever the log holds); those
        // read before an error still count.
        self.tail.read_lines(|line| {
            let Some(ev) = classify(line) else { return };
            *self.events.entry(ev.kind.label()).or_default() += 1;
            if let EventKind::Entered(state) = ev.kind {
                let name = ev.instance.unwrap_or_default();
                let known = self.transitions.keys().any(|(n, _)| *n == name);
                let distinct = self
                    .transitions
                    .keys()
                    .map(|(n, _)| n)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len();
                let name = if known || distinct < MAX_INSTANCES {
                    name
                } else {
                    "_other".to_owned()
                };
                *self.transitions.entry((name, state)).or_default() += 1;
            }
            if self.recent.len() >= MAX_WINDOW_EVENTS {
                self.recent.pop_front();
            }
            self.recent.push_back((now, ev.kind));
        })?;
        while self
            .recent
            .front()
            .is_some_and(|(t, _)| now.saturating_duration_since(*t) > self.window)
        {
            self.recent.pop_front();
        }
        Ok(())
    }

    /// The families of the current state.
    pub fn metrics(&self) -> MetricSet {
        let mut m = MetricSet::new();
        let failovers = self.recent.iter().filter(|(_, k)| k.is_failover()).count();
        let faults = self.recent.iter().filter(|(_, k)| k.is_fault()).count();
        m.add(&FAILOVER, &[], failovers as f64);
        m.add(&CHECK_FAILED, &[], faults as f64);
        for k in EventKind::ALL {
            m.add(
                &EVENTS,
                &[("event", k.label())],
                self.events.get(k.label()).copied().unwrap_or(0) as f64,
            );
        }
        for ((name, state), n) in &self.transitions {
            m.add(
                &TRANSITIONS,
                &[("vrrp_instance", name), ("state", state.label())],
                *n as f64,
            );
        }
        m.add(&READ_BYTES, &[], self.tail.bytes_read() as f64);
        m.add(&ROTATIONS, &[], self.tail.rotations() as f64);
        m
    }
}

/// Reads the log at each scrape.
#[derive(Debug, Clone)]
pub struct LogCollector {
    /// Shared with the background poller.
    pub state: Arc<Mutex<LogState>>,
}

impl LogCollector {
    /// Reads new lines now (also called by the background poller).
    pub fn poll(&self) -> Result<(), CollectError> {
        self.state.lock_or_recover().poll(Instant::now())
    }
}

impl Collector for LogCollector {
    fn collect(&self, _ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut s = self.state.lock_or_recover();
        s.poll(Instant::now())?;
        Ok(s.metrics())
    }
}

/// Registry entry: `keepalived_scrape_collector_success{collector="log_events"}`.
pub(crate) const DEF: CollectorDef<KeepalivedExporter> = CollectorDef {
    name: "log_events",
    enabled_by_default: true,
    file: file!(),
    metrics: &[
        FAILOVER,
        CHECK_FAILED,
        EVENTS,
        TRANSITIONS,
        READ_BYTES,
        ROTATIONS,
    ],
    build: Build::Blocking(|e| Ok(Some(Box::new(e.log.clone())))),
};

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use common::log_tail::StartAt;

    use super::*;

    #[test]
    fn window_counts_and_raw_counters() {
        let dir = std::env::temp_dir().join(format!("ka-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("messages");
        std::fs::write(&path, "").unwrap();
        let mut s = LogState::new(
            LogTail::new(&path, StartAt::Beginning),
            Duration::from_secs(300),
        );
        let t0 = Instant::now();
        s.poll(t0).unwrap();
        assert_eq!(s.metrics().value("keepalived_failover", &[]), Some(0.0));

        let text = crate::fixtures::text("keepalived-1.x.messages");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        s.poll(t0).unwrap();
        let m = s.metrics();
        assert_eq!(m.value("keepalived_failover", &[]), Some(8.0));
        assert_eq!(m.value("keepalived_check_failed", &[]), Some(1.0));
        assert_eq!(
            m.value(
                "keepalived_log_events_total",
                &[("event", "entering_master")]
            ),
            Some(2.0)
        );
        assert_eq!(
            m.value(
                "keepalived_log_events_total",
                &[("event", "lower_prio_advert")]
            ),
            Some(1.0)
        );
        assert_eq!(
            m.value(
                "keepalived_log_transitions_total",
                &[("vrrp_instance", "redis"), ("state", "backup")]
            ),
            Some(1.0)
        );
        assert_eq!(
            m.value(
                "keepalived_log_transitions_total",
                &[("vrrp_instance", "VI_1"), ("state", "fault")]
            ),
            Some(1.0)
        );

        // Five minutes later the gauges are back to 0; the counters keep their values.
        s.poll(t0 + Duration::from_secs(301)).unwrap();
        let m = s.metrics();
        assert_eq!(m.value("keepalived_failover", &[]), Some(0.0));
        assert_eq!(m.value("keepalived_check_failed", &[]), Some(0.0));
        assert_eq!(
            m.value(
                "keepalived_log_events_total",
                &[("event", "entering_master")]
            ),
            Some(2.0)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_log_is_an_error_naming_it() {
        let path = std::env::temp_dir().join(format!("ka-no-such-log-{}", std::process::id()));
        let mut s = LogState::new(LogTail::new(&path, StartAt::End), Duration::from_secs(300));
        let err = s.poll(Instant::now()).unwrap_err();
        assert!(err.to_string().contains("ka-no-such-log"), "{err}");
    }

    #[test]
    fn a_log_path_swapped_for_dev_zero_fails_the_read_naming_what_it_is() {
        let dir = std::env::temp_dir().join(format!("ka-log-zero-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("messages");
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        let mut s = LogState::new(
            LogTail::new(&path, StartAt::Beginning),
            Duration::from_secs(300),
        );
        for _ in 0..2 {
            let err = s.poll(Instant::now()).unwrap_err().to_string();
            assert!(
                err.contains("is a character device, not a regular file"),
                "{err}"
            );
        }
        let m = s.metrics();
        assert_eq!(m.value("keepalived_log_read_bytes_total", &[]), Some(0.0));
        assert_eq!(m.value("keepalived_log_rotations_total", &[]), Some(0.0));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn instance_labels_are_bounded() {
        let dir = std::env::temp_dir().join(format!("ka-log-bound-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("messages");
        let text: String = (0..500)
            .map(|i| format!("VRRP_Instance(i{i}) Entering MASTER STATE\n"))
            .collect();
        std::fs::write(&path, text).unwrap();
        let mut s = LogState::new(
            LogTail::new(&path, StartAt::Beginning),
            Duration::from_secs(300),
        );
        s.poll(Instant::now()).unwrap();
        let m = s.metrics();
        let fam = m
            .families()
            .iter()
            .find(|f| f.name == "keepalived_log_transitions_total")
            .unwrap();
        assert_eq!(fam.samples.len(), MAX_INSTANCES + 1);
        assert_eq!(
            m.value(
                "keepalived_log_transitions_total",
                &[("vrrp_instance", "_other")]
            ),
            Some(436.0)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
