//! TCP counters of `/proc/net/netstat` and `/proc/net/snmp`; recording rules derive
//! `os_network_tcp_fast_retran`, `os_network_tcp_timeout_retran`, `os_network_tcp_overflowed`
//! and `os_network_syn_drop` from them.

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::OsExporter;
use crate::parsers::netstat;

const FAST_RETRANSMITS: Desc = Desc::counter(
    "os_tcp_fast_retransmits_total",
    "1",
    "TCP fast retransmits (TcpExt TCPFastRetrans), a count.",
);
const TIMEOUTS: Desc = Desc::counter(
    "os_tcp_timeouts_total",
    "1",
    "TCP retransmission timeouts (TcpExt TCPTimeouts), a count.",
);
const LISTEN_OVERFLOWS: Desc = Desc::counter(
    "os_tcp_listen_overflows_total",
    "1",
    "Accept queue overflows of listening sockets (TcpExt ListenOverflows), a count.",
);
const LISTEN_DROPS: Desc = Desc::counter(
    "os_tcp_listen_drops_total",
    "1",
    "SYNs to listening sockets dropped (TcpExt ListenDrops), a count.",
);
const RETRANSMITTED_SEGMENTS: Desc = Desc::counter(
    "os_tcp_retransmitted_segments_total",
    "1",
    "TCP segments retransmitted (Tcp RetransSegs), a count.",
);

/// Reads `/proc/net/netstat` and `/proc/net/snmp`.
pub(crate) struct TcpCollector {
    paths: SysPaths,
}

impl TcpCollector {
    /// A collector reading under `paths`.
    pub(crate) fn new(paths: SysPaths) -> Self {
        Self { paths }
    }
}

impl Collector for TcpCollector {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let ext = self.paths.read_proc("net/netstat")?;
        let snmp = self.paths.read_proc("net/snmp")?;
        let c = netstat::parse(&ext, &snmp);
        let mut set = MetricSet::new();
        let rows = [
            (FAST_RETRANSMITS, c.fast_retrans),
            (TIMEOUTS, c.timeouts),
            (LISTEN_OVERFLOWS, c.listen_overflows),
            (LISTEN_DROPS, c.listen_drops),
            (RETRANSMITTED_SEGMENTS, c.retrans_segs),
        ];
        for (desc, v) in rows {
            if let Some(v) = v {
                set.add(&desc, &[], v);
            }
        }
        if set.families().is_empty() {
            return Err(CollectError::parse(
                self.paths.proc("net/netstat"),
                "no TcpExt/Tcp counters",
            ));
        }
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="tcp"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "tcp",
    enabled_by_default: true,
    file: file!(),
    metrics: &[
        FAST_RETRANSMITS,
        TIMEOUTS,
        LISTEN_OVERFLOWS,
        LISTEN_DROPS,
        RETRANSMITTED_SEGMENTS,
    ],
    build: Build::Inline(|e| Ok(Some(Box::new(TcpCollector::new(e.paths.clone()))))),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{ctx, fixture};

    #[test]
    fn exports_the_tcp_counters() {
        let set = TcpCollector::new(fixture("ugly")).collect(&ctx()).unwrap();
        assert_eq!(set.value("os_tcp_fast_retransmits_total", &[]), Some(12.0));
        assert_eq!(set.value("os_tcp_timeouts_total", &[]), Some(34.0));
        assert_eq!(set.value("os_tcp_listen_overflows_total", &[]), Some(5.0));
        assert_eq!(set.value("os_tcp_listen_drops_total", &[]), Some(6.0));
        assert_eq!(
            set.value("os_tcp_retransmitted_segments_total", &[]),
            Some(99.0)
        );
    }
}
