//! `os_network_interface_abnormal`: interfaces that are administratively up but have no carrier
//! or are operationally down, from `/sys/class/net`.

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::OsExporter;
use crate::parsers::netclass;

const ADMIN_UP: Desc = Desc::gauge(
    "os_network_interface_admin_up",
    "1",
    "1 when the interface is administratively up (IFF_UP), else 0.",
);
const CARRIER: Desc = Desc::gauge(
    "os_network_interface_carrier",
    "1",
    "1 when the interface has carrier, 0 without (or admin down).",
);
const DOWN: Desc = Desc::gauge(
    "os_network_interface_down",
    "1",
    "1 when the interface is administratively up but has no carrier or is operationally down, else 0.",
);
const ABNORMAL: Desc = Desc::gauge(
    "os_network_interface_abnormal",
    "1",
    "Interfaces administratively up but without carrier or operationally down, a count.",
);

/// Reads `/sys/class/net/*/{flags,operstate,carrier}`.
pub(crate) struct InterfacesCollector {
    paths: SysPaths,
}

impl InterfacesCollector {
    /// A collector reading under `paths`.
    pub(crate) fn new(paths: SysPaths) -> Self {
        Self { paths }
    }
}

impl Collector for InterfacesCollector {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let dir = self.paths.sys("class/net");
        let entries = std::fs::read_dir(&dir).map_err(|e| CollectError::io(&dir, e))?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        let mut set = MetricSet::new();
        let mut abnormal = 0.0;
        for name in &names {
            let read = |f: &str| std::fs::read(dir.join(name).join(f)).ok();
            let (flags, oper, carrier) = (read("flags"), read("operstate"), read("carrier"));
            let Some(state) =
                netclass::parse(flags.as_deref(), oper.as_deref(), carrier.as_deref())
            else {
                continue;
            };
            let up = if state.flags & netclass::IFF_UP != 0 {
                1.0
            } else {
                0.0
            };
            set.add(&ADMIN_UP, &[("device", name)], up);
            set.add(
                &CARRIER,
                &[("device", name)],
                if state.carrier == Some(true) {
                    1.0
                } else {
                    0.0
                },
            );
            let bad = if state.abnormal() { 1.0 } else { 0.0 };
            set.add(
                &DOWN,
                &[("device", name), ("operstate", &state.operstate)],
                bad,
            );
            abnormal += bad;
        }
        set.add(&ABNORMAL, &[], abnormal);
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="interfaces"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "interfaces",
    enabled_by_default: true,
    file: file!(),
    metrics: &[ADMIN_UP, CARRIER, DOWN, ABNORMAL],
    build: Build::Inline(|e| Ok(Some(Box::new(InterfacesCollector::new(e.paths.clone()))))),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{ctx, fixture};

    #[test]
    fn an_up_interface_without_carrier_is_abnormal() {
        let set = InterfacesCollector::new(fixture("ugly"))
            .collect(&ctx())
            .unwrap();
        assert_eq!(set.value("os_network_interface_abnormal", &[]), Some(1.0));
        assert_eq!(
            set.value("os_network_interface_down", &[("device", "eth1")]),
            Some(1.0)
        );
        assert_eq!(
            set.value("os_network_interface_down", &[("device", "eth0")]),
            Some(0.0)
        );
        // Admin-down ifb0 and loopback are not abnormal.
        assert_eq!(
            set.value("os_network_interface_down", &[("device", "ifb0")]),
            Some(0.0)
        );
        assert_eq!(
            set.value("os_network_interface_down", &[("device", "lo")]),
            Some(0.0)
        );
    }
}
