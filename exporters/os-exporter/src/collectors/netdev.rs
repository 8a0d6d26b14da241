//! Per-interface counters of `/proc/net/dev`; recording rules derive `os_network_max_rxkB`,
//! `os_network_max_txkB`, `os_network_max_rxpck`, `os_network_max_txpck`,
//! `os_network_error_packets` and `os_network_droped_packets` from them.

use common::{Build, CollectorDef};

use crate::OsExporter;

use common::{CollectError, Collector, MetricSet, MetricType, ScrapeContext, SysPaths};

use crate::parsers::net_dev;

/// A counter family: name, help and how to read it from one interface.
type Counter = (&'static str, &'static str, fn(&net_dev::NetDev) -> u64);

/// Reads `/proc/net/dev`.
pub(crate) struct NetdevCollector {
    paths: SysPaths,
}

impl NetdevCollector {
    /// A collector reading under `paths`.
    pub(crate) fn new(paths: SysPaths) -> Self {
        Self { paths }
    }
}

impl Collector for NetdevCollector {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let bytes = self.paths.read_proc("net/dev")?;
        let mut set = MetricSet::new();
        let counters: [Counter; 8] = [
            (
                "os_network_receive_bytes_total",
                "Bytes received, in bytes.",
                |d| d.rx_bytes,
            ),
            (
                "os_network_transmit_bytes_total",
                "Bytes transmitted, in bytes.",
                |d| d.tx_bytes,
            ),
            (
                "os_network_receive_packets_total",
                "Packets received, a count.",
                |d| d.rx_packets,
            ),
            (
                "os_network_transmit_packets_total",
                "Packets transmitted, a count.",
                |d| d.tx_packets,
            ),
            (
                "os_network_receive_errors_total",
                "Receive errors, a count.",
                |d| d.rx_errs,
            ),
            (
                "os_network_transmit_errors_total",
                "Transmit errors, a count.",
                |d| d.tx_errs,
            ),
            (
                "os_network_receive_drop_total",
                "Received packets dropped, a count.",
                |d| d.rx_drop,
            ),
            (
                "os_network_transmit_drop_total",
                "Transmitted packets dropped, a count.",
                |d| d.tx_drop,
            ),
        ];
        for d in net_dev::parse(&bytes) {
            for (name, help, f) in &counters {
                set.family(name, help, MetricType::Counter)
                    .push(&[("device", &d.name)], f(&d) as f64);
            }
        }
        if set.families().is_empty() {
            return Err(CollectError::parse(
                self.paths.proc("net/dev"),
                "no interface lines",
            ));
        }
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="netdev"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "netdev",
    enabled_by_default: true,
    file: file!(),
    metrics: &[],
    build: Build::Inline(|e| Ok(Some(Box::new(NetdevCollector::new(e.paths.clone()))))),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{ctx, fixture};

    #[test]
    fn exports_counters_per_interface() {
        let set = NetdevCollector::new(fixture("ugly"))
            .collect(&ctx())
            .unwrap();
        assert_eq!(
            set.value("os_network_receive_bytes_total", &[("device", "eth0")]),
            Some(116_579_390.0)
        );
        assert_eq!(
            set.value("os_network_receive_errors_total", &[("device", "eth1")]),
            Some(7.0)
        );
        assert_eq!(
            set.value("os_network_transmit_drop_total", &[("device", "eth1")]),
            Some(3.0)
        );
    }
}
