//! `/proc/net/dev`: per-interface byte, packet, error and drop counters.

/// The counters of one interface.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetDev {
    /// Interface name.
    pub(crate) name: String,
    /// Received bytes.
    pub(crate) rx_bytes: u64,
    /// Received packets.
    pub(crate) rx_packets: u64,
    /// Receive errors.
    pub(crate) rx_errs: u64,
    /// Received packets dropped.
    pub(crate) rx_drop: u64,
    /// Transmitted bytes.
    pub(crate) tx_bytes: u64,
    /// Transmitted packets.
    pub(crate) tx_packets: u64,
    /// Transmit errors.
    pub(crate) tx_errs: u64,
    /// Transmit drops.
    pub(crate) tx_drop: u64,
    /// The original line, the evidence the audit journal keeps.
    pub(crate) line: String,
}

fn parse_line(line: &str) -> Option<NetDev> {
    let (name, rest) = line.split_once(':')?;
    let v: Vec<u64> = rest
        .split_whitespace()
        .map_while(|x| x.parse().ok())
        .collect();
    if v.len() < 12 {
        return None;
    }
    Some(NetDev {
        name: name.trim().to_owned(),
        rx_bytes: v[0],
        rx_packets: v[1],
        rx_errs: v[2],
        rx_drop: v[3],
        tx_bytes: v[8],
        tx_packets: v[9],
        tx_errs: v[10],
        tx_drop: v[11],
        line: line.trim().to_owned(),
    })
}

/// Parses `/proc/net/dev`; the two header lines and malformed lines are skipped.
pub fn parse(bytes: &[u8]) -> Vec<NetDev> {
    common::parse::lines(bytes).filter_map(parse_line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_counters_and_skips_headers() {
        let d = parse(
            b"Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes\n  eth0: 100 2 3 4 0 0 0 0 200 5 6 7 0 0 0 0\nveth-x:1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n",
        );
        assert_eq!(d.len(), 2);
        assert_eq!(
            (
                d[0].name.as_str(),
                d[0].rx_bytes,
                d[0].rx_errs,
                d[0].rx_drop
            ),
            ("eth0", 100, 3, 4)
        );
        assert_eq!(
            (d[0].tx_bytes, d[0].tx_packets, d[0].tx_errs, d[0].tx_drop),
            (200, 5, 6, 7)
        );
        assert_eq!(d[1].name, "veth-x");
    }
}
