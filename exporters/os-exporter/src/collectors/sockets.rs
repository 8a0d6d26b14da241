//! `os_tcp_recvq_blocked` / `os_tcp_sendq_blocked` (the document's `os_tcp_RecvQ_blocked` /
//! `os_tcp_SendQ_blocked`, lower-cased): TCP sockets whose receive / send queue is over the
//! threshold (1,000,000 bytes), streamed from `/proc/net/tcp{,6}` without per-line allocation.

use std::fs::File;

use common::{CollectError, Collector, MetricSet, ScrapeContext, SysPaths};

use crate::parsers::net_tcp::{self, QueueCounts};

/// Reads `/proc/net/tcp` and `/proc/net/tcp6`.
pub(crate) struct SocketsCollector {
    paths: SysPaths,
    threshold: u64,
}

impl SocketsCollector {
    /// A collector reading under `paths`, counting queues over `threshold` bytes.
    pub(crate) fn new(paths: SysPaths, threshold: u64) -> Self {
        Self { paths, threshold }
    }
}

/// Streams both tables; a missing `tcp6` (IPv6 disabled) is not an error.
pub(crate) fn scan(
    paths: &SysPaths,
    threshold: u64,
    mut on_blocked: impl FnMut(&str, &net_tcp::SocketQueues<'_>),
) -> Result<QueueCounts, CollectError> {
    let mut counts = QueueCounts::default();
    for (table, required) in [("net/tcp", true), ("net/tcp6", false)] {
        let path = paths.proc(table);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(CollectError::io(path, e)),
        };
        net_tcp::count_blocked(file, threshold, &mut counts, |s| on_blocked(table, s))
            .map_err(|e| CollectError::io(&path, e))?;
    }
    Ok(counts)
}

impl Collector for SocketsCollector {
    fn name(&self) -> &'static str {
        "sockets"
    }

    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let c = scan(&self.paths, self.threshold, |_, _| {})?;
        let mut set = MetricSet::new();
        set.gauge(
            "os_tcp_recvq_blocked",
            "TCP sockets (not listening) whose receive queue (Recv-Q) is over the threshold (default 1000000 bytes), a count.",
            c.recvq_blocked as f64,
        );
        set.gauge(
            "os_tcp_sendq_blocked",
            "TCP sockets (not listening) whose send queue (Send-Q) is over the threshold (default 1000000 bytes), a count.",
            c.sendq_blocked as f64,
        );
        set.gauge(
            "os_tcp_sockets",
            "TCP sockets of /proc/net/tcp and tcp6 (all states), a count.",
            c.sockets as f64,
        );
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{ctx, fixture};

    #[test]
    fn counts_blocked_queues_in_both_tables() {
        let set = SocketsCollector::new(fixture("ugly"), 1_000_000)
            .collect(&ctx())
            .unwrap();
        assert_eq!(set.value("os_tcp_recvq_blocked", &[]), Some(2.0));
        assert_eq!(set.value("os_tcp_sendq_blocked", &[]), Some(1.0));
        assert_eq!(set.value("os_tcp_sockets", &[]), Some(5.0));
    }

    #[test]
    fn without_tcp6_the_ipv4_table_still_counts() {
        let set = SocketsCollector::new(fixture("swap"), 1_000_000)
            .collect(&ctx())
            .unwrap();
        assert_eq!(set.value("os_tcp_recvq_blocked", &[]), Some(0.0));
        assert_eq!(set.value("os_tcp_sockets", &[]), Some(1.0));
    }
}
