//! `keepalived_failover` and `keepalived_check_failed`: keepalived's failover and FAULT log
//! lines in the last 5 minutes (document table 3.1.3), plus raw counters so Prometheus can use
//! any window.
//!
//! The log is read incrementally (new bytes only, following rotation) at each scrape and in
//! the background, so an event's time is when it was read, at most one poll interval late.
//!
//! Every start of keepalived logs an election (`Entering BACKUP STATE`, then `Entering MASTER
//! STATE` on the node that wins): the document's 误报识别 column says restarts trigger
//! `Keepalived_failover`. So an event read within `startup_grace` of keepalived's start (the
//! parent's start time in `/proc`, or the last one seen when it has already gone) is a start-up
//! transition: counted in `keepalived_failover_startup` and under `phase="startup"`, not in
//! `keepalived_failover`, which the alert watches. Each event is classified once, when read, so
//! no counter ever moves an event from one series to another.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use common::log_tail::LogTail;
use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, MutexExt as _, ScrapeContext,
    SysPaths,
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
    "Failover log lines (Received lower/higher prio advert, Entering MASTER/BACKUP STATE, Transition to MASTER STATE) read in the last event window (default 5 minutes), except the start-up election (see keepalived_failover_startup); a count.",
);
const FAILOVER_STARTUP: Desc = Desc::gauge(
    "keepalived_failover_startup",
    "1",
    "Failover log lines read in the last event window (default 5 minutes) within startup_grace of keepalived's start: the election every start logs, not a failover; a count.",
);
const CHECK_FAILED: Desc = Desc::gauge(
    "keepalived_check_failed",
    "1",
    "FAULT log lines (Now in FAULT state, Entering FAULT STATE) read in the last event window (default 5 minutes); a count.",
);
const EVENTS: Desc = Desc::counter(
    "keepalived_log_events_total",
    "1",
    "keepalived log lines by monitored event and phase (startup: within startup_grace of keepalived's start, else running), since the exporter started; a count.",
);
const TRANSITIONS: Desc = Desc::counter(
    "keepalived_log_transitions_total",
    "1",
    "VRRP state changes logged by keepalived, by instance, target state and phase (startup or running), since the exporter started; a count.",
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

/// Where in keepalived's life an event was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Within `startup_grace` of keepalived's start: its start-up election.
    Startup,
    /// Any other time (also when keepalived's start is unknown).
    Running,
}

impl Phase {
    /// The `phase` label value.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Startup => "startup",
            Phase::Running => "running",
        }
    }

    /// Both phases, in label order.
    pub const ALL: [Phase; 2] = [Phase::Running, Phase::Startup];
}

/// When events are read: the monotonic instant (for the window) and the wall-clock time (to
/// compare with keepalived's start time, which `/proc` gives as wall-clock time).
#[derive(Debug, Clone, Copy)]
pub struct ReadTime {
    /// For the event window.
    pub now: Instant,
    /// Seconds since the epoch.
    pub wall: f64,
}

impl ReadTime {
    /// The current time.
    pub fn current() -> Self {
        Self {
            now: Instant::now(),
            wall: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        }
    }
}

/// What the log has said so far.
#[derive(Debug)]
pub struct LogState {
    tail: LogTail,
    window: Duration,
    startup_grace: Duration,
    /// Start time (epoch seconds) of the last keepalived seen running.
    last_start: Option<f64>,
    recent: VecDeque<(Instant, EventKind, Phase)>,
    events: BTreeMap<(&'static str, Phase), u64>,
    transitions: BTreeMap<(String, TargetState, Phase), u64>,
}

impl LogState {
    /// State for `tail`, counting the last `window` for the gauges; events read within
    /// `startup_grace` of keepalived's start are start-up transitions.
    pub fn new(tail: LogTail, window: Duration, startup_grace: Duration) -> Self {
        Self {
            tail,
            window,
            startup_grace,
            last_start: None,
            recent: VecDeque::new(),
            events: BTreeMap::new(),
            transitions: BTreeMap::new(),
        }
    }

    /// The phase of an event read at `wall`, given the running keepalived's start time (or the
    /// last one seen, kept in `last_start`, when it has already exited). A function of the two
    /// fields rather than a method, so it can run while the tail hands out lines.
    fn phase(
        last_start: &mut Option<f64>,
        startup_grace: Duration,
        wall: f64,
        running_since: Option<f64>,
    ) -> Phase {
        if running_since.is_some() {
            *last_start = running_since;
        }
        match *last_start {
            // A start a little in the future is clock granularity (boot time is whole seconds).
            Some(start)
                if !startup_grace.is_zero() && wall - start <= startup_grace.as_secs_f64() =>
            {
                Phase::Startup
            }
            _ => Phase::Running,
        }
    }

    /// Reads new lines and records their events as read at `at`. `keepalived_start` tells when
    /// the running keepalived started (epoch seconds); it is asked at most once, and only when
    /// there is an event to place.
    pub fn poll(
        &mut self,
        at: ReadTime,
        keepalived_start: impl FnOnce() -> Option<f64>,
    ) -> Result<(), CollectError> {
        let now = at.now;
        let mut keepalived_start = Some(keepalived_start);
        let mut phase = None;
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
            let phase = match phase {
                Some(p) => p,
                None => {
                    let start = keepalived_start.take().and_then(|f| f());
                    *phase.insert(Self::phase(
                        &mut self.last_start,
                        self.startup_grace,
                        at.wall,
                        start,
                    ))
                }
            };
            *self.events.entry((ev.kind.label(), phase)).or_default() += 1;
            if let EventKind::Entered(state) = ev.kind {
                let name = ev.instance.unwrap_or_default();
                let known = self.transitions.keys().any(|(n, ..)| *n == name);
                let distinct = self
                    .transitions
                    .keys()
                    .map(|(n, ..)| n)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len();
                let name = if known || distinct < MAX_INSTANCES {
                    name
                } else {
                    "_other".to_owned()
                };
                *self.transitions.entry((name, state, phase)).or_default() += 1;
            }
            if self.recent.len() >= MAX_WINDOW_EVENTS {
                self.recent.pop_front();
            }
            self.recent.push_back((now, ev.kind, phase));
        })?;
        while self
            .recent
            .front()
            .is_some_and(|(t, ..)| now.saturating_duration_since(*t) > self.window)
        {
            self.recent.pop_front();
        }
        Ok(())
    }

    /// The families of the current state.
    pub fn metrics(&self) -> MetricSet {
        let mut m = MetricSet::new();
        let failovers = |phase: Phase| {
            self.recent
                .iter()
                .filter(|(_, k, p)| k.is_failover() && *p == phase)
                .count() as f64
        };
        let faults = self.recent.iter().filter(|(_, k, _)| k.is_fault()).count();
        m.add(&FAILOVER, &[], failovers(Phase::Running));
        m.add(&FAILOVER_STARTUP, &[], failovers(Phase::Startup));
        m.add(&CHECK_FAILED, &[], faults as f64);
        for k in EventKind::ALL {
            for p in Phase::ALL {
                m.add(
                    &EVENTS,
                    &[("event", k.label()), ("phase", p.label())],
                    self.events.get(&(k.label(), p)).copied().unwrap_or(0) as f64,
                );
            }
        }
        for ((name, state, phase), n) in &self.transitions {
            m.add(
                &TRANSITIONS,
                &[
                    ("vrrp_instance", name),
                    ("state", state.label()),
                    ("phase", phase.label()),
                ],
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
    /// Rooted paths, to find keepalived's start time.
    pub paths: SysPaths,
    /// keepalived's pid file, relative to the root.
    pub pid_file: String,
}

impl LogCollector {
    /// Reads new lines now (also called by the background poller).
    pub fn poll(&self) -> Result<(), CollectError> {
        self.state
            .lock_or_recover()
            .poll(ReadTime::current(), || self.keepalived_start())
    }

    fn keepalived_start(&self) -> Option<f64> {
        crate::process::find(&self.paths, &self.pid_file)?.start_time(&self.paths)
    }
}

impl Collector for LogCollector {
    fn collect(&self, _ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut s = self.state.lock_or_recover();
        s.poll(ReadTime::current(), || self.keepalived_start())?;
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
        FAILOVER_STARTUP,
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

    fn at(now: Instant, wall: f64) -> ReadTime {
        ReadTime { now, wall }
    }

    fn no_keepalived() -> Option<f64> {
        None
    }

    /// A log file in a fresh temporary directory, and the state reading it from the beginning.
    fn log_with_grace(tag: &str, grace: Duration) -> (std::path::PathBuf, LogState) {
        let dir = std::env::temp_dir().join(format!("ka-log-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("messages");
        std::fs::write(&path, "").unwrap();
        let s = LogState::new(
            LogTail::new(&path, StartAt::Beginning),
            Duration::from_secs(300),
            grace,
        );
        (path, s)
    }

    fn append(path: &std::path::Path, text: &str) {
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }

    fn failovers(s: &LogState) -> (f64, f64) {
        let m = s.metrics();
        (
            m.value("keepalived_failover", &[]).unwrap(),
            m.value("keepalived_failover_startup", &[]).unwrap(),
        )
    }

    /// What keepalived 2.2.7 logs when it starts and wins the election (captured console log).
    const FRESH_MASTER: &str = "Tue Dec  1 13:43:35 2026: (VI_1) Entering BACKUP STATE (init)\n\
                                Tue Dec  1 13:43:39 2026: (VI_1) Entering MASTER STATE\n";

    #[test]
    fn the_start_up_election_is_not_a_failover() {
        let (path, mut s) = log_with_grace("fresh", Duration::from_secs(30));
        let t0 = Instant::now();
        // keepalived started at 1000; its election is read 1 and 4 s later.
        append(
            &path,
            "Tue Dec  1 13:43:35 2026: (VI_1) Entering BACKUP STATE (init)\n",
        );
        s.poll(at(t0, 1001.0), || Some(1000.0)).unwrap();
        append(
            &path,
            "Tue Dec  1 13:43:39 2026: (VI_1) Entering MASTER STATE\n",
        );
        s.poll(at(t0, 1004.0), || Some(1000.0)).unwrap();
        assert_eq!(
            failovers(&s),
            (0.0, 2.0),
            "a fresh master is not a failover"
        );
        // A minute later a peer with a higher priority takes over: a real failover.
        append(
            &path,
            "Tue Dec  1 13:44:39 2026: (VI_1) Master received advert from 10.0.0.2 with higher priority 150, ours 100\n\
             Tue Dec  1 13:44:39 2026: (VI_1) Entering BACKUP STATE\n",
        );
        s.poll(at(t0 + Duration::from_secs(60), 1064.0), || Some(1000.0))
            .unwrap();
        assert_eq!(failovers(&s), (2.0, 2.0));
        let m = s.metrics();
        let events = |event, phase| {
            m.value(
                "keepalived_log_events_total",
                &[("event", event), ("phase", phase)],
            )
        };
        assert_eq!(events("entering_backup", "startup"), Some(1.0));
        assert_eq!(events("entering_backup", "running"), Some(1.0));
        assert_eq!(events("entering_master", "startup"), Some(1.0));
        assert_eq!(events("higher_prio_advert", "running"), Some(1.0));
        assert_eq!(
            m.value(
                "keepalived_log_transitions_total",
                &[
                    ("vrrp_instance", "VI_1"),
                    ("state", "master"),
                    ("phase", "startup")
                ]
            ),
            Some(1.0)
        );
        // Both leave the window together; the counters keep them.
        s.poll(at(t0 + Duration::from_secs(400), 1400.0), || Some(1000.0))
            .unwrap();
        assert_eq!(failovers(&s), (0.0, 0.0));
        assert_eq!(
            s.metrics().value(
                "keepalived_log_events_total",
                &[("event", "entering_master"), ("phase", "startup")]
            ),
            Some(1.0)
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn an_election_read_after_a_short_lived_keepalived_exited_is_still_its_start_up() {
        let (path, mut s) = log_with_grace("gone", Duration::from_secs(30));
        let t0 = Instant::now();
        append(
            &path,
            "Tue Dec  1 13:43:35 2026: (VI_1) Entering BACKUP STATE (init)\n",
        );
        s.poll(at(t0, 1001.0), || Some(1000.0)).unwrap();
        // It has exited before its next line is read: the last start seen still counts.
        append(
            &path,
            "Tue Dec  1 13:43:39 2026: (VI_1) Entering MASTER STATE\n",
        );
        s.poll(at(t0, 1004.0), no_keepalived).unwrap();
        assert_eq!(failovers(&s), (0.0, 2.0));
        // Long after that start, with no keepalived running, an election is a failover.
        append(&path, FRESH_MASTER);
        s.poll(at(t0 + Duration::from_secs(100), 1100.0), no_keepalived)
            .unwrap();
        assert_eq!(failovers(&s), (2.0, 2.0));
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn without_a_grace_period_or_a_known_start_every_election_is_a_failover() {
        let (path, mut s) = log_with_grace("nograce", Duration::ZERO);
        append(&path, FRESH_MASTER);
        s.poll(at(Instant::now(), 1001.0), || Some(1000.0)).unwrap();
        assert_eq!(failovers(&s), (2.0, 0.0));
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
        let (path, mut s) = log_with_grace("nostart", Duration::from_secs(30));
        append(&path, FRESH_MASTER);
        s.poll(at(Instant::now(), 1001.0), no_keepalived).unwrap();
        assert_eq!(failovers(&s), (2.0, 0.0));
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn keepalived_is_looked_up_only_when_an_event_is_read() {
        let (path, mut s) = log_with_grace("lookup", Duration::from_secs(30));
        append(
            &path,
            "Tue Dec  1 13:43:35 2026: Starting VRRP child process, pid=1640\n",
        );
        s.poll(at(Instant::now(), 1001.0), || {
            panic!("looked up keepalived without an event")
        })
        .unwrap();
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn window_counts_and_raw_counters() {
        let dir = std::env::temp_dir().join(format!("ka-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("messages");
        std::fs::write(&path, "").unwrap();
        let mut s = LogState::new(
            LogTail::new(&path, StartAt::Beginning),
            Duration::from_secs(300),
            Duration::from_secs(30),
        );
        let t0 = Instant::now();
        s.poll(at(t0, 1000.0), no_keepalived).unwrap();
        assert_eq!(s.metrics().value("keepalived_failover", &[]), Some(0.0));

        let text = crate::fixtures::text("keepalived-1.x.messages");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        s.poll(at(t0, 1000.0), no_keepalived).unwrap();
        let m = s.metrics();
        assert_eq!(m.value("keepalived_failover", &[]), Some(8.0));
        assert_eq!(m.value("keepalived_failover_startup", &[]), Some(0.0));
        assert_eq!(m.value("keepalived_check_failed", &[]), Some(1.0));
        assert_eq!(
            m.value(
                "keepalived_log_events_total",
                &[("event", "entering_master"), ("phase", "running")]
            ),
            Some(2.0)
        );
        assert_eq!(
            m.value(
                "keepalived_log_events_total",
                &[("event", "entering_master"), ("phase", "startup")]
            ),
            Some(0.0)
        );
        assert_eq!(
            m.value(
                "keepalived_log_events_total",
                &[("event", "lower_prio_advert"), ("phase", "running")]
            ),
            Some(1.0)
        );
        assert_eq!(
            m.value(
                "keepalived_log_transitions_total",
                &[
                    ("vrrp_instance", "redis"),
                    ("state", "backup"),
                    ("phase", "running")
                ]
            ),
            Some(1.0)
        );
        assert_eq!(
            m.value(
                "keepalived_log_transitions_total",
                &[
                    ("vrrp_instance", "VI_1"),
                    ("state", "fault"),
                    ("phase", "running")
                ]
            ),
            Some(1.0)
        );

        // Five minutes later the gauges are back to 0; the counters keep their values.
        s.poll(at(t0 + Duration::from_secs(301), 1301.0), no_keepalived)
            .unwrap();
        let m = s.metrics();
        assert_eq!(m.value("keepalived_failover", &[]), Some(0.0));
        assert_eq!(m.value("keepalived_check_failed", &[]), Some(0.0));
        assert_eq!(
            m.value(
                "keepalived_log_events_total",
                &[("event", "entering_master"), ("phase", "running")]
            ),
            Some(2.0)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_log_is_an_error_naming_it() {
        let path = std::env::temp_dir().join(format!("ka-no-such-log-{}", std::process::id()));
        let mut s = LogState::new(
            LogTail::new(&path, StartAt::End),
            Duration::from_secs(300),
            Duration::from_secs(30),
        );
        let err = s.poll(ReadTime::current(), no_keepalived).unwrap_err();
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
            Duration::from_secs(30),
        );
        for _ in 0..2 {
            let err = s
                .poll(ReadTime::current(), no_keepalived)
                .unwrap_err()
                .to_string();
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
            Duration::from_secs(30),
        );
        s.poll(ReadTime::current(), no_keepalived).unwrap();
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
                &[("vrrp_instance", "_other"), ("phase", "running")]
            ),
            Some(436.0)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
