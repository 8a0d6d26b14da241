//! The smallest exporter the skeleton makes: one inline collector, one default-off background
//! collector, no code of its own for flags, serving, self-metrics or jobs. `tests/skeleton.rs`
//! checks that everything an exporter of the suite offers comes from `common` alone.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::registry::Background;
use common::{
    Build, CollectError, Collector, CollectorDef, CollectorsConfig, Context, Desc, Exporter,
    ExporterConfig, Job, Latest, MetricSet, ScrapeContext, SetupError, Spec,
};

const HELLO: Desc = Desc::gauge("skeleton_hello", "1", "Always 1: the inline collector ran.");
const TICKS: Desc = Desc::gauge("skeleton_ticks", "1", "Runs of the heartbeat job so far.");

#[derive(Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Config {
    collectors: CollectorsConfig,
}

impl ExporterConfig for Config {
    fn collectors(&self) -> &CollectorsConfig {
        &self.collectors
    }
}

struct Hello;

impl Collector for Hello {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut set = MetricSet::new();
        set.add(&HELLO, &[], 1.0);
        Ok(set)
    }
}

struct Ticks(Latest<u64>);

impl Collector for Ticks {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut set = MetricSet::new();
        #[allow(clippy::cast_precision_loss)]
        set.add(&TICKS, &[], self.0.get().map_or(0.0, |n| *n as f64));
        Ok(set)
    }
}

fn heartbeat(_: &Skeleton) -> common::registry::Built<Background> {
    let latest = Latest::new();
    let publish = latest.clone();
    let runs = Arc::new(AtomicU64::new(0));
    let job = Job::new("heartbeat", Duration::from_millis(200), move || {
        publish.publish(runs.fetch_add(1, Ordering::Relaxed) + 1);
        Ok(())
    });
    Ok(Some(Background {
        job,
        serve: Box::new(Ticks(latest)),
    }))
}

struct Skeleton;

impl Exporter for Skeleton {
    type Config = Config;
    const SPEC: Spec = Spec {
        name: "skeleton-exporter",
        prefix: "skeleton",
        default_listen: "127.0.0.1:9999",
        about: "The exporter skeleton alone",
        build: common::build_info!(),
    };
    const COLLECTORS: &'static [CollectorDef<Self>] = &[
        CollectorDef {
            name: "hello",
            enabled_by_default: true,
            file: file!(),
            metrics: &[HELLO],
            build: Build::Inline(|_| Ok(Some(Box::new(Hello)))),
        },
        CollectorDef {
            name: "heartbeat",
            enabled_by_default: false,
            file: file!(),
            metrics: &[TICKS],
            build: Build::Background(heartbeat),
        },
    ];

    fn new(_: Config, _: &Context) -> Result<Self, SetupError> {
        Ok(Skeleton)
    }
}

fn main() -> ExitCode {
    common::cli::run::<Skeleton>()
}
