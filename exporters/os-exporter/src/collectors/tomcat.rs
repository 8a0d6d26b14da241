//! The Tomcat rows of document 001 §3.5 from the logs: `tomcat_requests_total{class}` (the
//! recording rules derive `tomcat_request_num`, `_2xx_num`, `_4xx_num`, `_5xx_num` and
//! `tomcat_request_success_rate`), `tomcat_request_duration_seconds` and
//! `tomcat_request_max_delay_seconds` (the document's `tomcat_request_max_delay`), and the two
//! fault scenarios: the appkey file ("Property File Not Found") and the SecureRandom / startup
//! times (slow start from low entropy). Served from the last pass of the `tomcat` job.

use std::time::{Duration, Instant};

use common::registry::Background;
use common::{
    Build, CollectError, Collector, CollectorDef, Desc, Job, Latest, MetricSet, ScrapeContext,
};

use crate::OsExporter;
use crate::parsers::access_log::Class;
use crate::tomcat::{BUCKETS, Instance, Snapshot};

const REQUESTS: Desc = Desc::counter(
    "tomcat_requests_total",
    "1",
    "Requests in the access log since the exporter started, by status class (2xx, 3xx, 4xx, 5xx, other: 1xx or no status); a malformed request Tomcat answered with 400 counts as 4xx.",
);
const UNPARSED: Desc = Desc::counter(
    "tomcat_access_log_unparsed_lines_total",
    "1",
    "Access log lines not of the configured pattern's shape (the first is logged), since the exporter started.",
);
const HAS_LATENCY: Desc = Desc::gauge(
    "tomcat_access_log_has_latency",
    "1",
    "1 when the access log pattern has a latency field (%D, %T, %{ms}T, %{us}T); 0: no latency series are exported (add %D to the valve's pattern).",
);
const DURATION: Desc = Desc::histogram(
    "tomcat_request_duration_seconds",
    "seconds",
    "Request processing time from the access log's latency field (%D in microseconds on Tomcat 10+, milliseconds on 9 and earlier), since the exporter started.",
);
const MAX_DELAY: Desc = Desc::gauge(
    "tomcat_request_max_delay_seconds",
    "seconds",
    "The slowest request logged in the last closed window ([[tomcat]] window, 15 s by default); absent when that window logged no request.",
);
const APPKEY_OK: Desc = Desc::gauge(
    "tomcat_appkey_file_ok",
    "1",
    "1 when secretAppkey.properties (secas_keystore_appkey_file of application.properties, else the default keystore directory) is a regular file readable by the configured Tomcat user; 0: Tomcat will log Property File Not Found.",
);
const PROPERTY_NOT_FOUND: Desc = Desc::counter(
    "tomcat_property_file_not_found_total",
    "1",
    "`Property File Not Found` lines in the catalina log since the exporter started.",
);
const SECURE_RANDOM: Desc = Desc::gauge(
    "tomcat_securerandom_creation_seconds",
    "seconds",
    "Seconds of the last `Creation of SecureRandom instance for session ID generation ... took [N] milliseconds` line (Tomcat logs it above 100 ms; long: the JVM is starved of entropy).",
);
const SECURE_RANDOM_LINES: Desc = Desc::counter(
    "tomcat_securerandom_creation_logged_total",
    "1",
    "SecureRandom creation lines logged since the exporter started.",
);
const SECURE_RANDOM_SLOW: Desc = Desc::counter(
    "tomcat_securerandom_slow_total",
    "1",
    "SecureRandom creation lines over 1 second since the exporter started.",
);
const STARTUP: Desc = Desc::gauge(
    "tomcat_startup_seconds",
    "seconds",
    "Seconds of the last `Server startup in [N] milliseconds` line of the catalina log.",
);

/// Serves the latest snapshots.
struct TomcatServe(Latest<Vec<Snapshot>>);

#[allow(clippy::cast_precision_loss)]
fn add_snapshot(set: &mut MetricSet, s: &Snapshot) {
    let t = s.name.as_str();
    if let Some(a) = &s.access {
        for (class, n) in Class::ALL.iter().zip(a.requests) {
            set.add(
                &REQUESTS,
                &[("tomcat", t), ("class", class.label())],
                n as f64,
            );
        }
        set.add(&UNPARSED, &[("tomcat", t)], a.unparsed as f64);
        set.add(
            &HAS_LATENCY,
            &[("tomcat", t)],
            f64::from(u8::from(a.has_latency)),
        );
        if a.has_latency {
            // The encoder adds the +Inf bucket (the count).
            let buckets: Vec<(f64, u64)> = BUCKETS.iter().copied().zip(a.buckets).collect();
            set.of(&DURATION).push_histogram(
                vec![("tomcat".to_owned(), t.to_owned())],
                buckets,
                a.sum,
                a.count,
            );
            if let Some(m) = a.window_max {
                set.add(&MAX_DELAY, &[("tomcat", t)], m);
            }
        }
    }
    if let Some(ok) = s.appkey_ok {
        set.add(&APPKEY_OK, &[("tomcat", t)], f64::from(u8::from(ok)));
    }
    if let Some(c) = &s.catalina {
        set.add(
            &PROPERTY_NOT_FOUND,
            &[("tomcat", t)],
            c.property_file_not_found as f64,
        );
        set.add(
            &SECURE_RANDOM_LINES,
            &[("tomcat", t)],
            c.secure_random_lines as f64,
        );
        set.add(
            &SECURE_RANDOM_SLOW,
            &[("tomcat", t)],
            c.secure_random_slow as f64,
        );
        if let Some(v) = c.secure_random_last {
            set.add(&SECURE_RANDOM, &[("tomcat", t)], v);
        }
        if let Some(v) = c.startup_last {
            set.add(&STARTUP, &[("tomcat", t)], v);
        }
    }
}

impl Collector for TomcatServe {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut set = MetricSet::new();
        if let Some(all) = self.0.get() {
            for s in all.iter() {
                add_snapshot(&mut set, s);
            }
        }
        Ok(set)
    }
}

fn build(e: &OsExporter) -> common::registry::Built<Background> {
    if e.config.tomcat.is_empty() {
        return Ok(None);
    }
    let mut instances = e
        .config
        .tomcat
        .iter()
        .map(|c| Instance::new(&e.paths, c.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(common::SetupError::Config)?;
    let interval = instances
        .iter()
        .map(Instance::window)
        .min()
        .unwrap_or(Duration::from_secs(15));
    let latest: Latest<Vec<Snapshot>> = Latest::new();
    let publish = latest.clone();
    let paths = e.paths.clone();
    Ok(Some(Background {
        job: Job::new("tomcat", interval, move || {
            let now = Instant::now();
            let errors: Vec<String> = instances
                .iter_mut()
                .filter_map(|i| i.pass(&paths, now).err())
                .collect();
            publish.publish(instances.iter().map(|i| i.snapshot().clone()).collect());
            if errors.is_empty() {
                Ok(())
            } else {
                Err(errors.join("; ").into())
            }
        }),
        serve: Box::new(TomcatServe(latest)),
    }))
}

/// Registry entry: `os_scrape_collector_success{collector="tomcat"}` and the `tomcat` job.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "tomcat",
    enabled_by_default: true,
    file: file!(),
    metrics: &[
        REQUESTS,
        UNPARSED,
        HAS_LATENCY,
        DURATION,
        MAX_DELAY,
        APPKEY_OK,
        PROPERTY_NOT_FOUND,
        SECURE_RANDOM,
        SECURE_RANDOM_LINES,
        SECURE_RANDOM_SLOW,
        STARTUP,
    ],
    build: Build::Background(build),
};
