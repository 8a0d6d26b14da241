//! `os_tcp_recvq_blocked` / `os_tcp_sendq_blocked` (the document's `os_tcp_RecvQ_blocked` /
//! `os_tcp_SendQ_blocked`, lower-cased): TCP sockets whose receive / send queue is over the
//! threshold (1,000,000 bytes). By default from netlink `sock_diag` (what `ss` uses, with
//! listeners and TIME_WAIT filtered in the kernel); from a streamed `/proc/net/tcp{,6}` without
//! per-line allocation when `--path.procfs` points elsewhere (fixtures) or netlink is refused.
//!
//! The table is read by the background job `sockets` every `[sockets] interval`, not at the
//! scrape: the kernel answers a dump by walking every bucket of its TCP hash, about 3 ms on a
//! host with 24 GiB (262,144 buckets) even with no socket open, more than all the rest of a
//! scrape's kernel reads; Prometheus replicas scraping the same host share one walk.

use std::fs::File;

use common::registry::Background;
use common::{
    Build, CollectError, Collector, CollectorDef, Desc, Job, Latest, MetricSet, ScrapeContext,
    SysPaths,
};

use crate::OsExporter;
use crate::config::{SocketSource, SocketsConfig};
use crate::parsers::net_tcp::{self, QueueCounts};

/// A socket over the threshold, as the audit journal lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BlockedSocket {
    /// Where it was seen: `netlink` or the table file.
    pub(crate) source: &'static str,
    /// TCP state code.
    pub(crate) state: u64,
    /// Local `addr:port`.
    pub(crate) local: String,
    /// Remote `addr:port`.
    pub(crate) remote: String,
    /// Recv-Q bytes.
    pub(crate) recv_q: u64,
    /// Send-Q bytes.
    pub(crate) send_q: u64,
}

/// Scans the socket table of `config.source`; `on_blocked` sees each blocked socket.
pub(crate) fn scan(
    paths: &SysPaths,
    config: &SocketsConfig,
    mut on_blocked: impl FnMut(BlockedSocket),
) -> Result<QueueCounts, CollectError> {
    let threshold = config.queue_threshold_bytes;
    let netlink = match config.source {
        SocketSource::Netlink => true,
        SocketSource::Procfs => false,
        SocketSource::Auto => paths.procfs == std::path::Path::new("/proc"),
    };
    if netlink {
        let r = crate::netlink::dump_tcp(threshold, |s| {
            on_blocked(BlockedSocket {
                source: "netlink",
                state: u64::from(s.state),
                local: s.local.to_string(),
                remote: s.remote.to_string(),
                recv_q: u64::from(s.recv_queue),
                send_q: u64::from(s.send_queue),
            });
        });
        match r {
            Ok(c) => return Ok(c),
            Err(e) if config.source == SocketSource::Netlink => {
                return Err(CollectError::Other(format!("netlink sock_diag: {e}")));
            }
            Err(e) => log::debug!("netlink sock_diag failed ({e}); reading /proc/net/tcp instead"),
        }
    }
    scan_files(paths, threshold, |table, s| {
        let line = String::from_utf8_lossy(s.line);
        let mut f = line.split_whitespace().skip(1);
        let mut decode = || f.next().and_then(net_tcp::decode_addr).unwrap_or_default();
        let (local, remote) = (decode(), decode());
        on_blocked(BlockedSocket {
            source: table,
            state: s.state,
            local,
            remote,
            recv_q: s.rx_queue,
            send_q: s.tx_queue,
        });
    })
}

/// Streams both tables; a missing `tcp6` (IPv6 disabled) is not an error.
fn scan_files(
    paths: &SysPaths,
    threshold: u64,
    mut on_blocked: impl FnMut(&'static str, &net_tcp::SocketQueues<'_>),
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

const RECVQ_BLOCKED: Desc = Desc::gauge(
    "os_tcp_recvq_blocked",
    "1",
    "TCP sockets (not listening) whose receive queue (Recv-Q) is over the threshold (default 1000000 bytes), a count.",
);
const SENDQ_BLOCKED: Desc = Desc::gauge(
    "os_tcp_sendq_blocked",
    "1",
    "TCP sockets (not listening) whose send queue (Send-Q) is over the threshold (default 1000000 bytes), a count.",
);
const SOCKETS: Desc = Desc::gauge(
    "os_tcp_sockets",
    "1",
    "TCP sockets examined (netlink: all but listening and TIME_WAIT; files: every line), a count.",
);

/// Serves the counts of the job's last pass; nothing before the first.
struct SocketsServe(Latest<QueueCounts>);

impl Collector for SocketsServe {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut set = MetricSet::new();
        if let Some(c) = self.0.get() {
            add_counts(&mut set, &c);
        }
        Ok(set)
    }
}

#[allow(clippy::cast_precision_loss)]
fn add_counts(set: &mut MetricSet, c: &QueueCounts) {
    set.add(&RECVQ_BLOCKED, &[], c.recvq_blocked as f64);
    set.add(&SENDQ_BLOCKED, &[], c.sendq_blocked as f64);
    set.add(&SOCKETS, &[], c.sockets as f64);
}

fn build(e: &OsExporter) -> common::registry::Built<Background> {
    let latest = Latest::new();
    let publish = latest.clone();
    let (paths, config) = (e.paths.clone(), e.config.sockets.clone());
    Ok(Some(Background {
        job: Job::new("sockets", config.interval, move || {
            // A failed pass publishes nothing: the series go rather than stay stale, and
            // os_sockets_last_run_success says why.
            publish.publish(scan(&paths, &config, |_| {})?);
            Ok(())
        }),
        serve: Box::new(SocketsServe(latest)),
    }))
}

/// Registry entry: `os_scrape_collector_success{collector="sockets"}` serves the job `sockets`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "sockets",
    enabled_by_default: true,
    file: file!(),
    metrics: &[RECVQ_BLOCKED, SENDQ_BLOCKED, SOCKETS],
    build: Build::Background(build),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{ctx, fixture};

    /// The series one pass over `tree` gives.
    fn collect(tree: &str) -> MetricSet {
        let latest = Latest::new();
        latest.publish(scan(&fixture(tree), &SocketsConfig::default(), |_| {}).unwrap());
        SocketsServe(latest).collect(&ctx()).unwrap()
    }

    #[test]
    fn nothing_is_served_before_the_first_pass() {
        let set = SocketsServe(Latest::new()).collect(&ctx()).unwrap();
        assert!(!set.has("os_tcp_sockets"));
    }

    #[test]
    fn counts_blocked_queues_in_both_tables() {
        let set = collect("ugly");
        assert_eq!(set.value("os_tcp_recvq_blocked", &[]), Some(2.0));
        assert_eq!(set.value("os_tcp_sendq_blocked", &[]), Some(1.0));
        assert_eq!(set.value("os_tcp_sockets", &[]), Some(5.0));
    }

    #[test]
    fn without_tcp6_the_ipv4_table_still_counts() {
        let set = collect("swap");
        assert_eq!(set.value("os_tcp_recvq_blocked", &[]), Some(0.0));
        assert_eq!(set.value("os_tcp_sockets", &[]), Some(1.0));
    }

    #[test]
    fn fixture_sockets_are_decoded_for_the_audit() {
        let mut seen = Vec::new();
        scan(&fixture("ugly"), &SocketsConfig::default(), |s| {
            seen.push(s)
        })
        .unwrap();
        assert_eq!(seen[0].local, "127.0.0.1:3306");
        assert_eq!(seen[0].recv_q, 1_000_001);
        assert_eq!(seen[2].local, "[::1]:8080");
    }

    #[test]
    fn netlink_sees_queued_bytes_on_ipv4_and_ipv6_loopback() {
        let queued = test_support::loopback::queued_connections(64);
        let ports = &queued.addrs;
        let config = SocketsConfig {
            source: SocketSource::Netlink,
            queue_threshold_bytes: 32,
            ..SocketsConfig::default()
        };
        let seen = crate::collectors::test_support::wait_for(|| {
            let mut seen = Vec::new();
            scan(&SysPaths::default(), &config, |s| seen.push(s.local)).ok()?;
            ports.iter().all(|p| seen.contains(p)).then_some(seen)
        });
        assert!(
            seen.is_some(),
            "unread bytes on {ports:?} not seen by the netlink dump"
        );
    }
}
