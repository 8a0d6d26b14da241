//! The collector abstraction and the runner that executes every collector of a scrape
//! concurrently under one deadline.
//!
//! A collector that errors, panics or misses the deadline costs only its own series: the runner
//! reports `<prefix>_scrape_collector_success{collector} 0` and serves the rest. A blocking
//! collector that is still stuck from an earlier scrape is not started again (that would pile up
//! stuck threads); it reports failure until its old run returns.
//!
//! Collectors are added under the name of their registry entry ([`crate::registry`]); the
//! set also holds the exporter's background jobs ([`crate::job`]) and reports their status.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::job::{Job, JobSlot};
use crate::lock::MutexExt as _;
use crate::metrics::{MetricFamily, MetricSet, MetricType};

/// What one scrape gives every collector: the instant by which it must be done, and the
/// scrape's identity, under which collectors share what they read ([`crate::PerScrape`]).
#[derive(Debug, Clone, Copy)]
pub struct ScrapeContext {
    /// Results after this instant are discarded.
    pub deadline: Instant,
    id: u64,
}

/// Source of scrape identities: distinct for every context made in this process.
static NEXT_SCRAPE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl ScrapeContext {
    /// The context of a new scrape that must be done by `deadline`.
    pub fn new(deadline: Instant) -> Self {
        Self {
            deadline,
            id: NEXT_SCRAPE.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// A context whose deadline is `timeout` from now.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self::new(Instant::now() + timeout)
    }

    /// This scrape's identity: the same for every collector of one scrape, different for the
    /// next one (and for concurrent ones).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Time left until the deadline (zero once passed).
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

/// Why a collector produced no data.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// A source file or device could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file that failed.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A source was read but made no sense.
    #[error("parsing {path}: {msg}")]
    Parse {
        /// The file (or source name) that failed.
        path: PathBuf,
        /// What was wrong.
        msg: String,
    },
    /// The collector gave up because its deadline passed.
    #[error("deadline exceeded after {0:?}")]
    Timeout(Duration),
    /// Any other failure, described.
    #[error("{0}")]
    Other(String),
}

impl CollectError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CollectError::Io {
            path: path.into(),
            source,
        }
    }

    /// A parse error on `path`.
    pub fn parse(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        CollectError::Parse {
            path: path.into(),
            msg: msg.into(),
        }
    }
}

/// A collector that works synchronously: file reads and syscalls. Registered as *inline* it runs
/// on the runtime's worker (for in-memory kernel files that never hang), as *blocking* on a
/// blocking thread with a stuck guard (for anything that can hang: statfs, signals, dumps).
pub trait Collector: Send + Sync + 'static {
    /// Produces this collector's families for one scrape.
    fn collect(&self, ctx: &ScrapeContext) -> Result<MetricSet, CollectError>;
}

/// A boxed future returned by [`AsyncCollector::collect`].
pub type CollectFuture<'a> =
    Pin<Box<dyn Future<Output = Result<MetricSet, CollectError>> + Send + 'a>>;

/// A collector that waits on the network; it runs as a task and is cancelled at the deadline.
pub trait AsyncCollector: Send + Sync + 'static {
    /// Produces this collector's families for one scrape.
    fn collect<'a>(&'a self, ctx: &'a ScrapeContext) -> CollectFuture<'a>;
}

#[derive(Default)]
struct Runs {
    in_flight: usize,
    stuck: bool,
}

/// Decrements the in-flight count when a blocking run ends, by return or by panic.
struct RunGuard(Arc<Mutex<Runs>>);

impl Drop for RunGuard {
    fn drop(&mut self) {
        let mut r = self.0.lock_or_recover();
        r.in_flight = r.in_flight.saturating_sub(1);
        if r.in_flight == 0 {
            r.stuck = false;
        }
    }
}

/// A running collector that reports its own result and how long it took.
type Timed = tokio::task::JoinHandle<(Result<MetricSet, CollectError>, Duration)>;

enum Kind {
    Inline(Arc<dyn Collector>),
    Blocking(Arc<dyn Collector>),
    Async(Arc<dyn AsyncCollector>),
}

struct Entry {
    name: &'static str,
    kind: Kind,
    /// Blocking runs in flight, and whether one of them outlived its deadline.
    runs: Arc<Mutex<Runs>>,
    /// The last error logged, so a persistent failure is logged once, not every scrape.
    last_error: Mutex<Option<String>>,
}

/// One collector's outcome in one scrape.
#[derive(Debug)]
pub struct Outcome {
    /// Collector name.
    pub name: &'static str,
    /// Its families, when it succeeded in time.
    pub result: Result<MetricSet, String>,
    /// Wall time until it finished or was given up on.
    pub duration: Duration,
}

/// The collectors of one exporter and the self-metrics that describe their runs.
pub struct CollectorSet {
    prefix: String,
    entries: Vec<Entry>,
    jobs: Vec<JobSlot>,
}

impl std::fmt::Debug for CollectorSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.entries.iter().map(|e| e.name).collect();
        let jobs: Vec<_> = self.jobs.iter().map(|j| j.name).collect();
        f.debug_struct("CollectorSet")
            .field("prefix", &self.prefix)
            .field("collectors", &names)
            .field("jobs", &jobs)
            .finish()
    }
}

impl CollectorSet {
    /// An empty set whose self-metrics use `prefix` (e.g. `os`).
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            entries: Vec::new(),
            jobs: Vec::new(),
        }
    }

    /// Adds a synchronous collector that never blocks for long; it runs on the runtime's worker,
    /// so concurrent scrapes cost no extra threads.
    pub fn add_inline(&mut self, name: &'static str, c: impl Collector) -> &mut Self {
        self.push(name, Kind::Inline(Arc::new(c)))
    }

    /// Adds a collector whose work can block or hang; it runs on a blocking thread.
    pub fn add_blocking(&mut self, name: &'static str, c: impl Collector) -> &mut Self {
        self.push(name, Kind::Blocking(Arc::new(c)))
    }

    /// Adds an async collector.
    pub fn add_async(&mut self, name: &'static str, c: impl AsyncCollector) -> &mut Self {
        self.push(name, Kind::Async(Arc::new(c)))
    }

    pub(crate) fn push_boxed_sync(
        &mut self,
        name: &'static str,
        c: Box<dyn Collector>,
        inline: bool,
    ) -> &mut Self {
        let c: Arc<dyn Collector> = Arc::from(c);
        self.push(
            name,
            if inline {
                Kind::Inline(c)
            } else {
                Kind::Blocking(c)
            },
        )
    }

    pub(crate) fn push_boxed_async(
        &mut self,
        name: &'static str,
        c: Box<dyn AsyncCollector>,
    ) -> &mut Self {
        self.push(name, Kind::Async(Arc::from(c)))
    }

    /// Declares a background job; it runs once [`CollectorSet::start_jobs`] is called, and its
    /// status is reported by every scrape from now on.
    pub fn add_job(&mut self, job: Job) -> &mut Self {
        self.jobs.push(JobSlot::new(job));
        self
    }

    /// Starts every declared job on the current Tokio runtime (the skeleton does this only when
    /// it serves, never under `--config.check`).
    pub fn start_jobs(&self) {
        for j in &self.jobs {
            j.start();
        }
    }

    /// Starts the declared job `name` alone (tests run one job's pass before a scrape); `false`
    /// when there is no such job.
    pub fn start_job(&self, name: &str) -> bool {
        self.jobs
            .iter()
            .find(|j| j.name == name)
            .map(JobSlot::start)
            .is_some()
    }

    /// The status of the declared job `name`.
    pub fn job_status(&self, name: &str) -> Option<Arc<crate::job::JobStatus>> {
        self.jobs
            .iter()
            .find(|j| j.name == name)
            .map(|j| Arc::clone(&j.status))
    }

    /// Names of the declared jobs.
    pub fn job_names(&self) -> Vec<&'static str> {
        self.jobs.iter().map(|j| j.name).collect()
    }

    fn push(&mut self, name: &'static str, kind: Kind) -> &mut Self {
        self.entries.push(Entry {
            name,
            kind,
            runs: Arc::new(Mutex::new(Runs::default())),
            last_error: Mutex::new(None),
        });
        self
    }

    /// The metric prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Names of the collectors, in registration order.
    pub fn names(&self) -> Vec<&'static str> {
        self.entries.iter().map(|e| e.name).collect()
    }

    /// Runs every collector concurrently until `ctx.deadline` and returns their outcomes.
    pub async fn run(&self, ctx: ScrapeContext) -> Vec<Outcome> {
        let deadline = tokio::time::Instant::from_std(ctx.deadline);
        let mut handles = Vec::with_capacity(self.entries.len());
        for entry in &self.entries {
            let start = Instant::now();
            // Each task times itself: outcomes are awaited in order, so timing at the await
            // would charge a fast collector with the wait for a slow one before it.
            let handle: Option<Timed> = match &entry.kind {
                Kind::Inline(c) => {
                    let c = Arc::clone(c);
                    Some(tokio::spawn(async move {
                        let result = c.collect(&ctx);
                        (result, start.elapsed())
                    }))
                }
                Kind::Blocking(c) => {
                    let start_run = {
                        let mut r = entry.runs.lock_or_recover();
                        if r.stuck {
                            false
                        } else {
                            r.in_flight += 1;
                            true
                        }
                    };
                    if start_run {
                        let c = Arc::clone(c);
                        let guard = RunGuard(Arc::clone(&entry.runs));
                        Some(tokio::task::spawn_blocking(move || {
                            let _guard = guard;
                            let result = c.collect(&ctx);
                            (result, start.elapsed())
                        }))
                    } else {
                        None
                    }
                }
                Kind::Async(c) => {
                    let c = Arc::clone(c);
                    Some(tokio::spawn(async move {
                        let result = c.collect(&ctx).await;
                        (result, start.elapsed())
                    }))
                }
            };
            handles.push((entry, start, handle));
        }

        let mut outcomes = Vec::with_capacity(handles.len());
        for (entry, start, handle) in handles {
            let (result, duration) = match handle {
                None => (
                    Err("previous run is still in progress (stuck source)".to_owned()),
                    Duration::ZERO,
                ),
                Some(mut h) => match tokio::time::timeout_at(deadline, &mut h).await {
                    Ok(Ok((Ok(set), took))) => (Ok(set), took),
                    Ok(Ok((Err(e), took))) => (Err(e.to_string()), took),
                    Ok(Err(join)) if join.is_panic() => (
                        Err(format!("panicked: {}", panic_message(join))),
                        start.elapsed(),
                    ),
                    Ok(Err(join)) => (Err(format!("task failed: {join}")), start.elapsed()),
                    Err(_) => {
                        // Async work is cancelled; a blocking thread cannot be, so mark it stuck.
                        h.abort();
                        if matches!(entry.kind, Kind::Blocking(_)) {
                            let mut r = entry.runs.lock_or_recover();
                            if r.in_flight > 0 {
                                r.stuck = true;
                            }
                        }
                        let took = start.elapsed();
                        (Err(format!("deadline exceeded after {took:?}")), took)
                    }
                },
            };
            self.log_transition(entry, &result);
            outcomes.push(Outcome {
                name: entry.name,
                result,
                duration,
            });
        }
        outcomes
    }

    fn log_transition(&self, entry: &Entry, result: &Result<MetricSet, String>) {
        let mut last = entry.last_error.lock_or_recover();
        match result {
            Err(e) if last.as_deref() != Some(e.as_str()) => {
                log::warn!("collector={} failed: {e}", entry.name);
                *last = Some(e.clone());
            }
            Err(e) => log::debug!("collector={} still failing: {e}", entry.name),
            Ok(_) if last.is_some() => {
                log::info!("collector={} recovered", entry.name);
                *last = None;
            }
            Ok(_) => {}
        }
    }

    /// Runs every collector and returns all families plus the per-collector self-metrics.
    pub async fn gather(&self, ctx: ScrapeContext) -> Vec<MetricFamily> {
        // Job status is read before the collectors that serve the jobs' results: a job publishes
        // its result before it records success, so a scrape saying "last run succeeded" always
        // carries that run's result (read after, a run ending mid-scrape gave success without it).
        let mut jobs = MetricSet::new();
        for j in &self.jobs {
            j.status.collect(&self.prefix, j.name, &mut jobs);
        }
        let outcomes = self.run(ctx).await;
        let mut all = MetricSet::new();
        let duration_name = format!("{}_scrape_collector_duration_seconds", self.prefix);
        let success_name = format!("{}_scrape_collector_success", self.prefix);
        let mut durations = MetricFamily::new(
            duration_name,
            "Time a collector took in this scrape, in seconds.",
            MetricType::Gauge,
        );
        let mut successes = MetricFamily::new(
            success_name,
            "Whether a collector succeeded within the scrape deadline (1) or not (0).",
            MetricType::Gauge,
        );
        for o in outcomes {
            durations.push(&[("collector", o.name)], o.duration.as_secs_f64());
            let ok = o.result.is_ok();
            successes.push(&[("collector", o.name)], if ok { 1.0 } else { 0.0 });
            if let Ok(set) = o.result {
                all.extend(set);
            }
        }
        all.extend(jobs);
        let mut families = all.into_families();
        families.push(durations);
        families.push(successes);
        families
    }
}

fn panic_message(join: tokio::task::JoinError) -> String {
    panic_text(join.into_panic().as_ref())
}

/// The message of a panic payload (`panic!` with a literal or a formatted string).
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl Collector for Fixed {
        fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
            let mut s = MetricSet::new();
            s.gauge("t_fixed", "A fixed value.", 7.0);
            Ok(s)
        }
    }

    struct Panics;
    impl Collector for Panics {
        #[allow(clippy::panic)]
        fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
            panic!("boom")
        }
    }

    struct Sleeps(Duration);
    impl Collector for Sleeps {
        fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
            std::thread::sleep(self.0);
            Ok(MetricSet::new())
        }
    }

    struct AsyncHang;
    impl AsyncCollector for AsyncHang {
        fn collect<'a>(&'a self, _: &'a ScrapeContext) -> CollectFuture<'a> {
            Box::pin(async {
                std::future::pending::<()>().await;
                Ok(MetricSet::new())
            })
        }
    }

    fn success(families: &[MetricFamily], collector: &str) -> Option<f64> {
        let fam = families
            .iter()
            .find(|f| f.name == "t_scrape_collector_success")?;
        fam.samples
            .iter()
            .find(|s| s.labels[0].1 == collector)
            .and_then(|s| match s.value {
                crate::metrics::Value::Number(v) => Some(v),
                _ => None,
            })
    }

    struct Quick;
    impl Collector for Quick {
        fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
            Ok(MetricSet::new())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fast_collector_is_not_charged_with_a_slow_ones_time() {
        let mut set = CollectorSet::new("t");
        set.add_blocking("sleeps", Sleeps(Duration::from_millis(400)))
            .add_inline("quick", Quick);
        let outcomes = set
            .run(ScrapeContext::with_timeout(Duration::from_secs(2)))
            .await;
        let quick = outcomes
            .iter()
            .find(|o| o.name == "quick")
            .map(|o| o.duration);
        let slow = outcomes
            .iter()
            .find(|o| o.name == "sleeps")
            .map(|o| o.duration);
        assert!(
            quick.is_some_and(|d| d < Duration::from_millis(200)),
            "{quick:?}"
        );
        assert!(
            slow.is_some_and(|d| d >= Duration::from_millis(400)),
            "{slow:?}"
        );
    }

    /// A job's run that ends while the scrape collects: its result was not there to serve yet.
    struct JobEndsMidScrape(Arc<crate::job::JobStatus>);
    impl Collector for JobEndsMidScrape {
        fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
            self.0.record(true, Duration::from_millis(1));
            Ok(MetricSet::new())
        }
    }

    #[tokio::test]
    async fn a_job_ending_mid_scrape_is_not_reported_as_done_without_its_result() {
        let mut set = CollectorSet::new("t");
        set.add_job(Job::new("pass", Duration::from_secs(3600), || Ok(())));
        let status = set.job_status("pass").unwrap();
        set.add_inline("serve", JobEndsMidScrape(Arc::clone(&status)));
        let first = set
            .gather(ScrapeContext::with_timeout(Duration::from_secs(2)))
            .await;
        assert!(
            !first.iter().any(|f| f.name == "t_pass_last_run_success"),
            "the scrape served no result, so it must not say a run succeeded"
        );
        let second = set
            .gather(ScrapeContext::with_timeout(Duration::from_secs(2)))
            .await;
        assert!(second.iter().any(|f| f.name == "t_pass_last_run_success"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_scrapes_both_run_a_slow_collector() {
        // Two Prometheus replicas scraping at once must both get the data.
        let mut set = CollectorSet::new("t");
        set.add_blocking("sleeps", Sleeps(Duration::from_millis(300)));
        let set = Arc::new(set);
        let (a, b) = tokio::join!(
            set.gather(ScrapeContext::with_timeout(Duration::from_secs(2))),
            set.gather(ScrapeContext::with_timeout(Duration::from_secs(2)))
        );
        assert_eq!(success(&a, "sleeps"), Some(1.0));
        assert_eq!(success(&b, "sleeps"), Some(1.0));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failing_collectors_cost_only_their_own_series() {
        let mut set = CollectorSet::new("t");
        set.add_inline("fixed", Fixed)
            .add_blocking("panics", Panics)
            .add_blocking("sleeps", Sleeps(Duration::from_secs(3)))
            .add_async("async_hang", AsyncHang);
        let started = Instant::now();
        let fams = set
            .gather(ScrapeContext::with_timeout(Duration::from_millis(300)))
            .await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "gather waited for a stuck collector"
        );
        assert!(fams.iter().any(|f| f.name == "t_fixed"));
        assert_eq!(success(&fams, "fixed"), Some(1.0));
        assert_eq!(success(&fams, "panics"), Some(0.0));
        assert_eq!(success(&fams, "sleeps"), Some(0.0));
        assert_eq!(success(&fams, "async_hang"), Some(0.0));

        // The stuck blocking run is not started a second time while it is still in flight.
        let fams = set
            .gather(ScrapeContext::with_timeout(Duration::from_millis(100)))
            .await;
        assert_eq!(success(&fams, "sleeps"), Some(0.0));
        assert_eq!(success(&fams, "fixed"), Some(1.0));
    }

    /// A collector whose state sits behind a mutex and which panics while holding it once.
    struct PanicsUnderLock {
        state: Mutex<u32>,
    }
    impl Collector for PanicsUnderLock {
        fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
            use crate::lock::MutexExt as _;
            let mut n = self.state.lock_or_recover();
            *n += 1;
            #[allow(clippy::panic)]
            if *n == 1 {
                panic!("bug on the first scrape, under the lock");
            }
            let mut s = MetricSet::new();
            s.gauge("t_scrapes", "Scrapes seen.", f64::from(*n));
            Ok(s)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_under_a_collectors_lock_costs_one_scrape_only() {
        let mut set = CollectorSet::new("t");
        set.add_blocking(
            "locked",
            PanicsUnderLock {
                state: Mutex::new(0),
            },
        );
        let first = set
            .gather(ScrapeContext::with_timeout(Duration::from_secs(2)))
            .await;
        assert_eq!(success(&first, "locked"), Some(0.0));
        let second = set
            .gather(ScrapeContext::with_timeout(Duration::from_secs(2)))
            .await;
        assert_eq!(success(&second, "locked"), Some(1.0));
        assert!(second.iter().any(|f| f.name == "t_scrapes"));
    }
}
