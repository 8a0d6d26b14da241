//! `os_cron_has_failed`: served from the `cron` background job (`crate::cron_watch`); whether a
//! failure was seen within `[cron] window` is decided at scrape time, so the row clears on time.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::registry::Background;
use common::{
    Build, CollectError, Collector, CollectorDef, Desc, Job, Latest, MetricSet, ScrapeContext,
};

use crate::OsExporter;
use crate::cron_watch::{CronWatch, Report};
use crate::parsers::cron_log::Reason;

const HAS_FAILED: Desc = Desc::gauge(
    "os_cron_has_failed",
    "1",
    "1 when cron logged a failure line (bad crontab, PAM or account refusal, orphan or insecure crontab, a job's non-zero exit, exec or mail failure) within [cron] window, else 0.",
);
const FAILURES: Desc = Desc::counter(
    "os_cron_failures_total",
    "1",
    "cron failure lines read from the cron log since the exporter started, by reason (syntax, pam, orphan, permission, exit_status, exec, mail, other).",
);
const LAST: Desc = Desc::gauge(
    "os_cron_last_failure_timestamp_seconds",
    "seconds",
    "When a failure line was last read from the cron log, in seconds since the epoch; 0 before the first.",
);

/// Serves the latest report against the window.
struct CronServe {
    latest: Latest<Report>,
    window: Duration,
}

impl Collector for CronServe {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut set = MetricSet::new();
        let Some(r) = self.latest.get() else {
            return Ok(set);
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let recent = r
            .last_failure
            .is_some_and(|t| now - t < self.window.as_secs_f64());
        set.add(&HAS_FAILED, &[], if recent { 1.0 } else { 0.0 });
        for reason in Reason::ALL {
            #[allow(clippy::cast_precision_loss)]
            let n = r.failures.get(&reason).copied().unwrap_or(0) as f64;
            set.add(&FAILURES, &[("reason", reason.as_str())], n);
        }
        set.add(&LAST, &[], r.last_failure.unwrap_or(0.0));
        Ok(set)
    }
}

fn build(e: &OsExporter) -> common::registry::Built<Background> {
    let latest = Latest::new();
    let mut watch = CronWatch::new(
        e.paths.clone(),
        e.config.cron.clone(),
        Arc::clone(&e.journal),
        latest.clone(),
    );
    Ok(Some(Background {
        job: Job::new(
            "cron",
            e.config.cron.interval,
            move || Ok(watch.run_once()?),
        ),
        serve: Box::new(CronServe {
            latest,
            window: e.config.cron.window,
        }),
    }))
}

/// Registry entry: `os_scrape_collector_success{collector="cron"}` and the `cron` job.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "cron",
    enabled_by_default: true,
    file: file!(),
    metrics: &[HAS_FAILED, FAILURES, LAST],
    build: Build::Background(build),
};
