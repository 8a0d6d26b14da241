//! Bonds (document 003: on an alarm, check bond0/bond1): per bond its mode and active slave,
//! how many slaves it has and how many have MII up, from the bonding driver's sysfs files.

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::OsExporter;

const INFO: Desc = Desc::gauge(
    "os_bond_info",
    "1",
    "Constant 1 per bond, with its mode and active slave (empty when the mode has none).",
);
const SLAVES: Desc = Desc::gauge(
    "os_bond_slaves",
    "1",
    "Slaves enslaved to the bond, a count.",
);
const SLAVES_UP: Desc = Desc::gauge(
    "os_bond_slaves_up",
    "1",
    "Slaves of the bond whose MII status is up, a count.",
);
const UP: Desc = Desc::gauge(
    "os_bond_up",
    "1",
    "1 when the bond's own MII status is up, else 0.",
);

/// Reports every bond of `/sys/class/net/bonding_masters`.
pub(crate) struct BondsCollector {
    paths: SysPaths,
}

impl Collector for BondsCollector {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut set = MetricSet::new();
        for b in crate::bonds::read(&self.paths) {
            let n = b.name.as_str();
            set.add(
                &INFO,
                &[
                    ("bond", n),
                    ("mode", &b.mode),
                    ("active_slave", b.active_slave.as_deref().unwrap_or("")),
                ],
                1.0,
            );
            set.add(&SLAVES, &[("bond", n)], b.slaves.len() as f64);
            let up = b.slaves.iter().filter(|(_, up)| *up).count();
            set.add(&SLAVES_UP, &[("bond", n)], up as f64);
            set.add(&UP, &[("bond", n)], if b.up { 1.0 } else { 0.0 });
        }
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="bonds"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "bonds",
    enabled_by_default: true,
    file: file!(),
    metrics: &[INFO, SLAVES, SLAVES_UP, UP],
    build: Build::Inline(|e| {
        Ok(Some(Box::new(BondsCollector {
            paths: e.paths.clone(),
        })))
    }),
};
