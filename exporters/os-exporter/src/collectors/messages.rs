//! `os_message_warn`, `os_message_error`, `os_message_log_time`: served from the last pass of the
//! `messages` background job (`crate::messages`); a scrape reads no log.

use common::registry::Background;
use common::{
    Build, CollectError, Collector, CollectorDef, Desc, Job, Latest, MetricSet, ScrapeContext,
};

use crate::OsExporter;
use crate::messages::{self, Classifier, Window};

const WARN: Desc = Desc::gauge(
    "os_message_warn",
    "1",
    "Warning lines (text matching [messages] warn_pattern, not an error) among the last lines of the messages file, a count.",
);
const ERROR: Desc = Desc::gauge(
    "os_message_error",
    "1",
    "Error lines (text matching [messages] error_pattern) among the last lines of the messages file, a count.",
);
const LOG_TIME: Desc = Desc::gauge(
    "os_message_log_time",
    "seconds",
    "Seconds covered by the last lines of the messages file (first to last timestamp; 0 with fewer than two): under 600 with a full window, the host logs too fast.",
);
const LINES: Desc = Desc::gauge(
    "os_message_log_lines",
    "1",
    "Lines in that window ([messages] lines, 1000, when the file has as many): a log time of 0 over a full window is a burst within one second, not silence.",
);
const UNPARSED: Desc = Desc::gauge(
    "os_message_unparsed_lines",
    "1",
    "Lines of the window without a syslog timestamp (left out of the log time), a count.",
);

/// Serves the latest window.
struct MessagesServe(Latest<Option<Window>>);

impl Collector for MessagesServe {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut set = MetricSet::new();
        // Before the first pass, and after a failed one (its job says so), nothing.
        let Some(latest) = self.0.get() else {
            return Ok(set);
        };
        let Some(w) = latest.as_ref() else {
            return Ok(set);
        };
        #[allow(clippy::cast_precision_loss)]
        {
            set.add(&WARN, &[], w.warn as f64);
            set.add(&ERROR, &[], w.error as f64);
            set.add(&LINES, &[], w.lines as f64);
            set.add(&UNPARSED, &[], w.unparsed as f64);
        }
        set.add(&LOG_TIME, &[], w.log_time);
        Ok(set)
    }
}

fn build(e: &OsExporter) -> common::registry::Built<Background> {
    let latest: Latest<Option<Window>> = Latest::new();
    let cfg = e.config.messages.clone();
    // Config::validate compiled the same patterns.
    let classifier = Classifier::new(&cfg).map_err(common::SetupError::Config)?;
    let paths = e.paths.clone();
    let publish = latest.clone();
    Ok(Some(Background {
        job: Job::new("messages", cfg.interval, move || {
            match messages::pass(&paths, &cfg, &classifier) {
                Ok(w) => {
                    publish.publish(Some(w));
                    Ok(())
                }
                Err(e) => {
                    publish.publish(None);
                    Err(e.into())
                }
            }
        }),
        serve: Box::new(MessagesServe(latest)),
    }))
}

/// Registry entry: `os_scrape_collector_success{collector="messages"}` and the `messages` job.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "messages",
    enabled_by_default: true,
    file: file!(),
    metrics: &[WARN, ERROR, LOG_TIME, LINES, UNPARSED],
    build: Build::Background(build),
};
