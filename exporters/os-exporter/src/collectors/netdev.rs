//! Per-interface counters of `/proc/net/dev`; recording rules derive `os_network_max_rxkB`,
//! `os_network_max_txkB`, `os_network_max_rxpck`, `os_network_max_txpck`,
//! `os_network_error_packets` and `os_network_droped_packets` from them.

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::OsExporter;
use crate::parsers::net_dev;

const RECEIVE_BYTES: Desc = Desc::counter(
    "os_network_receive_bytes_total",
    "bytes",
    "Bytes received, in bytes.",
);
const TRANSMIT_BYTES: Desc = Desc::counter(
    "os_network_transmit_bytes_total",
    "bytes",
    "Bytes transmitted, in bytes.",
);
const RECEIVE_PACKETS: Desc = Desc::counter(
    "os_network_receive_packets_total",
    "1",
    "Packets received, a count.",
);
const TRANSMIT_PACKETS: Desc = Desc::counter(
    "os_network_transmit_packets_total",
    "1",
    "Packets transmitted, a count.",
);
const RECEIVE_ERRORS: Desc = Desc::counter(
    "os_network_receive_errors_total",
    "1",
    "Receive errors, a count.",
);
const TRANSMIT_ERRORS: Desc = Desc::counter(
    "os_network_transmit_errors_total",
    "1",
    "Transmit errors, a count.",
);
const RECEIVE_DROP: Desc = Desc::counter(
    "os_network_receive_drop_total",
    "1",
    "Received packets dropped, a count.",
);
const TRANSMIT_DROP: Desc = Desc::counter(
    "os_network_transmit_drop_total",
    "1",
    "Transmitted packets dropped, a count.",
);

/// A counter family and how to read it from one interface.
type Counter = (Desc, fn(&net_dev::NetDev) -> u64);

/// The per-interface counters, in output order.
const COUNTERS: [Counter; 8] = [
    (RECEIVE_BYTES, |d| d.rx_bytes),
    (TRANSMIT_BYTES, |d| d.tx_bytes),
    (RECEIVE_PACKETS, |d| d.rx_packets),
    (TRANSMIT_PACKETS, |d| d.tx_packets),
    (RECEIVE_ERRORS, |d| d.rx_errs),
    (TRANSMIT_ERRORS, |d| d.tx_errs),
    (RECEIVE_DROP, |d| d.rx_drop),
    (TRANSMIT_DROP, |d| d.tx_drop),
];

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
        for d in net_dev::parse(&bytes) {
            for (desc, f) in &COUNTERS {
                set.add(desc, &[("device", &d.name)], f(&d) as f64);
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
    metrics: &[
        RECEIVE_BYTES,
        TRANSMIT_BYTES,
        RECEIVE_PACKETS,
        TRANSMIT_PACKETS,
        RECEIVE_ERRORS,
        TRANSMIT_ERRORS,
        RECEIVE_DROP,
        TRANSMIT_DROP,
    ],
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
