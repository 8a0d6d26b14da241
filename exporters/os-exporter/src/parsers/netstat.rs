//! `/proc/net/netstat` and `/proc/net/snmp`: the TCP counters of the OS table.

use common::parse::header_value_tables;

/// TCP counters since boot.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TcpCounters {
    /// `TcpExt: TCPFastRetrans`: fast retransmits.
    pub(crate) fast_retrans: Option<f64>,
    /// `TcpExt: TCPTimeouts`: retransmission timeouts.
    pub(crate) timeouts: Option<f64>,
    /// `TcpExt: ListenOverflows`: accept queue overflows.
    pub(crate) listen_overflows: Option<f64>,
    /// `TcpExt: ListenDrops`: SYNs to listening sockets dropped.
    pub(crate) listen_drops: Option<f64>,
    /// `Tcp: RetransSegs`: all retransmitted segments.
    pub(crate) retrans_segs: Option<f64>,
}

/// Fills the counters from the contents of `/proc/net/netstat` and `/proc/net/snmp`.
pub fn parse(netstat: &[u8], snmp: &[u8]) -> TcpCounters {
    let mut c = TcpCounters::default();
    for (section, field, v) in header_value_tables(netstat)
        .into_iter()
        .chain(header_value_tables(snmp))
    {
        let slot = match (section, field) {
            ("TcpExt", "TCPFastRetrans") => &mut c.fast_retrans,
            ("TcpExt", "TCPTimeouts") => &mut c.timeouts,
            ("TcpExt", "ListenOverflows") => &mut c.listen_overflows,
            ("TcpExt", "ListenDrops") => &mut c.listen_drops,
            ("Tcp", "RetransSegs") => &mut c.retrans_segs,
            _ => continue,
        };
        *slot = Some(v);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_tcp_counters() {
        let c = parse(
            b"TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPTimeouts TCPFastRetrans\nTcpExt: 0 3 4 5 6\nIpExt: InNoRoutes\nIpExt: 0\n",
            b"Tcp: RtoAlgorithm RetransSegs\nTcp: 1 77\n",
        );
        assert_eq!(c.listen_overflows, Some(3.0));
        assert_eq!(c.listen_drops, Some(4.0));
        assert_eq!(c.timeouts, Some(5.0));
        assert_eq!(c.fast_retrans, Some(6.0));
        assert_eq!(c.retrans_segs, Some(77.0));
        assert_eq!(parse(b"", b"").fast_retrans, None);
    }
}
