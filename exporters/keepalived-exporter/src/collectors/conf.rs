//! Lints keepalived.conf: the gratuitous-ARP settings the document's incidents turn on
//! (3.1.2.1: `garp_master_refresh 60`; 3.1.5: GARP repeat and delay after a failover).

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::KeepalivedExporter;
use crate::{conf_file, conf_include};

const INSTANCES: Desc = Desc::gauge(
    "keepalived_config_instances",
    "1",
    "Number of vrrp_instance blocks in keepalived.conf and the files it includes.",
);
const INCLUDES: Desc = Desc::gauge(
    "keepalived_config_includes",
    "1",
    "Number of include directives in keepalived.conf and the files it includes.",
);
const INCLUDE_FILES: Desc = Desc::gauge(
    "keepalived_config_include_files",
    "1",
    "Number of files read through include directives.",
);
const INCLUDE_ERRORS: Desc = Desc::gauge(
    "keepalived_config_include_errors",
    "1",
    "Number of include directives that named no readable file or went past the depth (8), file (256) or size (4 MiB) bound.",
);
const GARP_REFRESH: Desc = Desc::gauge(
    "keepalived_config_garp_master_refresh_seconds",
    "seconds",
    "Effective garp_master_refresh of the instance in seconds; 0 = no periodic gratuitous ARP (the document recommends 60).",
);
const GARP_REFRESH_REPEAT: Desc = Desc::gauge(
    "keepalived_config_garp_master_refresh_repeat",
    "1",
    "Effective garp_master_refresh_repeat: gratuitous ARPs sent per refresh.",
);
const GARP_REPEAT: Desc = Desc::gauge(
    "keepalived_config_garp_master_repeat",
    "1",
    "Effective garp_master_repeat: gratuitous ARPs sent per burst on becoming master.",
);
const GARP_DELAY: Desc = Desc::gauge(
    "keepalived_config_garp_master_delay_seconds",
    "seconds",
    "Effective garp_master_delay in seconds: delay before the second gratuitous ARP burst after becoming master.",
);

/// Reads and lints keepalived.conf at each scrape (a few KiB).
#[derive(Debug)]
pub struct ConfCollector {
    /// Rooted paths.
    pub paths: SysPaths,
    /// keepalived.conf, relative to the root.
    pub conf: String,
}

impl Collector for ConfCollector {
    fn collect(&self, _ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let (conf, includes) = conf_include::read_conf(&self.paths, &self.conf)?;
        let mut m = MetricSet::new();
        m.add(&INSTANCES, &[], conf.instances.len() as f64);
        m.add(&INCLUDES, &[], includes.directives as f64);
        m.add(&INCLUDE_FILES, &[], includes.files as f64);
        m.add(&INCLUDE_ERRORS, &[], includes.errors as f64);
        for i in &conf.instances {
            let l = [("vrrp_instance", i.name.as_str())];
            let g = i.garp;
            let d = conf_file::DEFAULT_GARP;
            m.add(
                &GARP_REFRESH,
                &l,
                g.refresh_seconds.or(d.refresh_seconds).unwrap_or(0.0),
            );
            m.add(
                &GARP_REFRESH_REPEAT,
                &l,
                g.refresh_repeat.or(d.refresh_repeat).unwrap_or(1.0),
            );
            m.add(&GARP_REPEAT, &l, g.repeat.or(d.repeat).unwrap_or(5.0));
            m.add(
                &GARP_DELAY,
                &l,
                g.delay_seconds.or(d.delay_seconds).unwrap_or(5.0),
            );
        }
        Ok(m)
    }
}

/// Registry entry: `keepalived_scrape_collector_success{collector="conf"}`.
pub(crate) const DEF: CollectorDef<KeepalivedExporter> = CollectorDef {
    name: "conf",
    enabled_by_default: true,
    file: file!(),
    metrics: &[
        INSTANCES,
        INCLUDES,
        INCLUDE_FILES,
        INCLUDE_ERRORS,
        GARP_REFRESH,
        GARP_REFRESH_REPEAT,
        GARP_REPEAT,
        GARP_DELAY,
    ],
    build: Build::Blocking(|e| {
        Ok(Some(Box::new(ConfCollector {
            paths: e.paths.clone(),
            conf: e.cfg.keepalived_conf.clone(),
        })))
    }),
};
