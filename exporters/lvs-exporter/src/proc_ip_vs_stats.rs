//! Parses `/proc/net/ip_vs_stats` (kernel `ip_vs_stats_show`): the whole table's 64-bit counters,
//! printed in hex after two header lines.
//!
//! ```text
//!    Total Incoming Outgoing         Incoming         Outgoing
//!    Conns  Packets  Packets            Bytes            Bytes
//!        3       14        C              3DB              5A8
//! ```
//!
//! The rate block that follows is not read: rates come from the counters in PromQL.

use crate::table::Stats;

/// Why the file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcStatsError {
    /// Fewer than three lines.
    #[error("the file ends before its counter line")]
    Short,
    /// The third line is not five hex numbers.
    #[error("line 3 is not five hex counters: {0:?}")]
    Counters(String),
}

/// Parses the counters of the whole table.
pub fn parse(text: &str) -> Result<Stats, ProcStatsError> {
    let line = text.lines().nth(2).ok_or(ProcStatsError::Short)?;
    let bad = || ProcStatsError::Counters(line.to_owned());
    let v: Vec<u64> = line
        .split_whitespace()
        .map(|w| u64::from_str_radix(w, 16))
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let [conns, in_packets, out_packets, in_bytes, out_bytes] = v.as_slice() else {
        return Err(bad());
    };
    Ok(Stats {
        conns: *conns,
        in_packets: *in_packets,
        out_packets: *out_packets,
        in_bytes: *in_bytes,
        out_bytes: *out_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_from_the_vm() {
        // tests/fixtures/proc_net_ip_vs_stats: the VM of tests/tests/lvs_vm.rs after its traffic.
        let s = parse(&crate::fixtures::text("proc_net_ip_vs_stats")).unwrap();
        assert!(s.conns >= 1, "{s:?}");
        assert!(s.in_packets >= s.conns);
        assert!(s.in_bytes > 0);
    }

    #[test]
    fn the_procfs_fixture_and_bad_files() {
        let text = "   Total Incoming Outgoing         Incoming         Outgoing
   Conns  Packets  Packets            Bytes            Bytes
 16AA370 E33656E5        0     51D8C8883AB3                0

 Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s
       4    1FB3C        0          1282A8F                0
";
        let s = parse(text).unwrap();
        assert_eq!(s.conns, 23_765_872);
        assert_eq!(s.in_packets, 3_811_989_221);
        assert_eq!(s.in_bytes, 89_991_519_156_915);
        assert_eq!(s.out_bytes, 0);
        assert_eq!(parse("a\nb\n"), Err(ProcStatsError::Short));
        assert!(matches!(
            parse("a\nb\n1 2 3 4\n"),
            Err(ProcStatsError::Counters(_))
        ));
        assert!(matches!(
            parse("a\nb\n1 2 3 4 G\n"),
            Err(ProcStatsError::Counters(_))
        ));
        assert!(matches!(
            parse("a\nb\n1 2 3 4 5 6\n"),
            Err(ProcStatsError::Counters(_))
        ));
        let max = "a\nb\nFFFFFFFFFFFFFFFF 0 0 0 0\n";
        assert_eq!(parse(max).unwrap().conns, u64::MAX);
    }
}
