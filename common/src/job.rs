//! Background jobs: work that is too slow or too costly for a scrape (audit sampling, log
//! polling, and next pings, NTP queries, directory manifests) runs on its own interval, and
//! scrapes serve the latest result.
//!
//! Guarantees: a job starts only when the exporter serves (never under `--config.check`); runs
//! of one job never overlap; a run that outlives its timeout is reported as failed at once and
//! the next run waits until it returns (a blocking thread cannot be cancelled, and piling up
//! stuck threads is worse); a panicking run is a failed run, not a dead job. Each job exports
//! `<prefix>_<job>_last_run_timestamp_seconds` (0 before the first run) and, once it has run,
//! `<prefix>_<job>_last_run_duration_seconds` and `<prefix>_<job>_last_run_success`.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::collector::panic_text;
use crate::lock::{MutexExt as _, RwLockExt as _};
use crate::metrics::{MetricSet, MetricType};

/// Why one run of a job failed: any error type (`?` works in a job's closure).
pub type JobError = Box<dyn std::error::Error + Send + Sync>;

/// The work of one run; `Err` says why the run failed.
pub type JobTask = Box<dyn FnMut() -> Result<(), JobError> + Send>;

/// A periodic job, declared by an exporter and started by the skeleton when it serves.
pub struct Job {
    name: &'static str,
    interval: Duration,
    timeout: Duration,
    task: JobTask,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("name", &self.name)
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Job {
    /// A job named `name` (a metric name part: `[a-z_]+`) that runs `task` every `interval`,
    /// each run bounded by the interval itself unless [`Job::timeout`] says otherwise.
    pub fn new(
        name: &'static str,
        interval: Duration,
        task: impl FnMut() -> Result<(), JobError> + Send + 'static,
    ) -> Self {
        Self {
            name,
            interval: interval.max(Duration::from_millis(10)),
            timeout: interval.max(Duration::from_millis(10)),
            task: Box::new(task),
        }
    }

    /// Sets how long one run may take before it counts as failed.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The job's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// What the last finished run of a job did; read by scrapes, written by the job.
#[derive(Debug, Default)]
pub struct JobStatus {
    last_run_bits: AtomicU64,
    last_duration_bits: AtomicU64,
    /// 0 before the first run, 1 success, 2 failure.
    last_outcome: AtomicU8,
}

impl JobStatus {
    /// Seconds since the epoch when the last run ended, 0 before the first.
    pub fn last_run(&self) -> f64 {
        f64::from_bits(self.last_run_bits.load(Ordering::Relaxed))
    }

    /// Whether the last run succeeded; `None` before the first run.
    pub fn last_success(&self) -> Option<bool> {
        match self.last_outcome.load(Ordering::Relaxed) {
            0 => None,
            o => Some(o == 1),
        }
    }

    pub(crate) fn record(&self, ok: bool, took: Duration) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.last_run_bits.store(now.to_bits(), Ordering::Relaxed);
        self.last_duration_bits
            .store(took.as_secs_f64().to_bits(), Ordering::Relaxed);
        self.last_outcome
            .store(if ok { 1 } else { 2 }, Ordering::Relaxed);
    }

    /// Appends this job's families, named `<prefix>_<job>_last_run_*`.
    pub fn collect(&self, prefix: &str, job: &str, out: &mut MetricSet) {
        out.gauge(
            &format!("{prefix}_{job}_last_run_timestamp_seconds"),
            &format!(
                "When the {job} background job last finished a run, in seconds since the epoch (0 before the first run)."
            ),
            self.last_run(),
        );
        if let Some(ok) = self.last_success() {
            out.family(
                &format!("{prefix}_{job}_last_run_duration_seconds"),
                &format!("How long the last run of the {job} background job took, in seconds."),
                MetricType::Gauge,
            )
            .push(
                &[],
                f64::from_bits(self.last_duration_bits.load(Ordering::Relaxed)),
            );
            out.gauge(
                &format!("{prefix}_{job}_last_run_success"),
                &format!(
                    "Whether the last run of the {job} background job succeeded within its timeout (1) or not (0)."
                ),
                if ok { 1.0 } else { 0.0 },
            );
        }
    }
}

/// A declared job and its status; the task waits here until the exporter serves.
pub(crate) struct JobSlot {
    pub(crate) name: &'static str,
    pub(crate) status: Arc<JobStatus>,
    pending: Mutex<Option<Job>>,
}

impl JobSlot {
    pub(crate) fn new(job: Job) -> Self {
        Self {
            name: job.name,
            status: Arc::default(),
            pending: Mutex::new(Some(job)),
        }
    }

    /// Starts the job's loop on the current Tokio runtime; a second call does nothing.
    pub(crate) fn start(&self) {
        let Some(job) = self.pending.lock_or_recover().take() else {
            return;
        };
        let status = Arc::clone(&self.status);
        tokio::spawn(run_forever(job, status));
    }
}

async fn run_forever(job: Job, status: Arc<JobStatus>) {
    let Job {
        name,
        interval,
        timeout,
        mut task,
    } = job;
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The last error logged, so a persistent failure is logged once.
    let mut last_error: Option<String> = None;
    loop {
        tick.tick().await;
        let started = Instant::now();
        let mut handle = tokio::task::spawn_blocking(move || {
            let result = std::panic::catch_unwind(AssertUnwindSafe(&mut task))
                .unwrap_or_else(|p| Err(format!("panicked: {}", panic_text(p.as_ref())).into()))
                .map_err(|e| e.to_string());
            (task, result)
        });
        let (returned, result) = match tokio::time::timeout(timeout, &mut handle).await {
            Ok(joined) => match joined {
                Ok(done) => done,
                Err(e) => {
                    // Only a cancelled runtime gets here: the task cannot be recovered.
                    log::error!("job={name} stopped: {e}");
                    return;
                }
            },
            Err(_) => {
                status.record(false, started.elapsed());
                log::warn!(
                    "job={name} run exceeded its timeout of {timeout:?}; the next run waits for it"
                );
                match handle.await {
                    Ok((t, _)) => (t, Err(format!("run exceeded its timeout of {timeout:?}"))),
                    Err(e) => {
                        log::error!("job={name} stopped: {e}");
                        return;
                    }
                }
            }
        };
        task = returned;
        status.record(result.is_ok(), started.elapsed());
        match result {
            Err(e) if last_error.as_deref() != Some(&e) => {
                log::warn!("job={name} failed: {e}");
                last_error = Some(e);
            }
            Err(_) => {}
            Ok(()) => {
                if last_error.take().is_some() {
                    log::info!("job={name} recovered");
                }
            }
        }
    }
}

/// The latest result a job published, for scrapes to serve (cheap to clone and to read).
#[derive(Debug)]
pub struct Latest<T>(Arc<RwLock<Option<Arc<T>>>>);

impl<T> Clone for Latest<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> Default for Latest<T> {
    fn default() -> Self {
        Self(Arc::new(RwLock::new(None)))
    }
}

impl<T> Latest<T> {
    /// Nothing published yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the published value.
    pub fn publish(&self, value: T) {
        *self.0.write_or_recover() = Some(Arc::new(value));
    }

    /// The last published value, if any.
    pub fn get(&self) -> Option<Arc<T>> {
        self.0.read_or_recover().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn wait_for(mut f: impl FnMut() -> bool) -> bool {
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_does_not_run_before_it_is_started_then_runs_every_interval() {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = Arc::clone(&runs);
        let slot = JobSlot::new(Job::new("t", Duration::from_millis(30), move || {
            r.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        assert_eq!(slot.status.last_run(), 0.0);
        slot.start();
        slot.start();
        let ok = tokio::task::spawn_blocking(move || wait_for(|| runs.load(Ordering::SeqCst) >= 3))
            .await
            .unwrap_or(false);
        assert!(ok, "job did not run three times");
        assert_eq!(slot.status.last_success(), Some(true));
        assert!(slot.status.last_run() > 0.0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_run_is_a_failed_run_and_the_job_goes_on() {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = Arc::clone(&runs);
        let slot = JobSlot::new(Job::new("t", Duration::from_millis(20), move || {
            let n = r.fetch_add(1, Ordering::SeqCst);
            #[allow(clippy::panic)]
            if n == 0 {
                panic!("first run breaks");
            }
            Ok(())
        }));
        slot.start();
        let status = Arc::clone(&slot.status);
        let ok = tokio::task::spawn_blocking(move || {
            wait_for(|| runs.load(Ordering::SeqCst) >= 2 && status.last_success() == Some(true))
        })
        .await
        .unwrap_or(false);
        assert!(ok, "the job died with its first run");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_overrunning_run_fails_at_its_timeout_and_runs_never_overlap() {
        let running = Arc::new(AtomicUsize::new(0));
        let overlapped = Arc::new(AtomicUsize::new(0));
        let (r, o) = (Arc::clone(&running), Arc::clone(&overlapped));
        let slot = JobSlot::new(
            Job::new("t", Duration::from_millis(10), move || {
                if r.fetch_add(1, Ordering::SeqCst) > 0 {
                    o.fetch_add(1, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(150));
                r.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            })
            .timeout(Duration::from_millis(50)),
        );
        slot.start();
        let status = Arc::clone(&slot.status);
        let failed =
            tokio::task::spawn_blocking(move || wait_for(|| status.last_success() == Some(false)))
                .await
                .unwrap_or(false);
        assert!(failed, "an overrun was not reported");
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(overlapped.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn status_families_follow_the_prefix_and_job_name() {
        let s = JobStatus::default();
        let mut set = MetricSet::new();
        s.collect("os", "audit", &mut set);
        assert_eq!(
            set.value("os_audit_last_run_timestamp_seconds", &[]),
            Some(0.0)
        );
        assert!(!set.has("os_audit_last_run_success"), "no run, no outcome");
        s.record(false, Duration::from_millis(5));
        let mut set = MetricSet::new();
        s.collect("os", "audit", &mut set);
        assert_eq!(set.value("os_audit_last_run_success", &[]), Some(0.0));
        assert!(set.value("os_audit_last_run_duration_seconds", &[]) > Some(0.0));
    }

    #[test]
    fn latest_serves_the_last_published_value() {
        let l: Latest<u32> = Latest::new();
        assert!(l.get().is_none());
        let reader = l.clone();
        l.publish(1);
        l.publish(2);
        assert_eq!(reader.get().as_deref(), Some(&2));
    }
}
