//! `keepalived_check_connectivity`: master and backup each ping the other (document table
//! 3.1.3). Peers come from the config, else from keepalived.conf's `unicast_peer` blocks.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use common::{
    Build, CollectError, Collector, CollectorDef, MetricSet, ScrapeContext, SysPaths, icmp,
};

use crate::KeepalivedExporter;

/// Pings the VRRP peers.
#[derive(Debug)]
pub struct ConnectivityCollector {
    /// Rooted paths.
    pub paths: SysPaths,
    /// keepalived.conf, relative to the root (for `unicast_peer`).
    pub conf: String,
    /// Configured peers; when empty, keepalived.conf's unicast peers.
    pub peers: Vec<IpAddr>,
    /// Wait per ping.
    pub timeout: Duration,
    /// Echo sequence number, so a late reply to an earlier scrape is not taken for this one.
    pub seq: AtomicU16,
}

impl ConnectivityCollector {
    fn peers(&self) -> Result<Vec<IpAddr>, CollectError> {
        if !self.peers.is_empty() {
            return Ok(self.peers.clone());
        }
        let (conf, _) = crate::conf_include::read_conf(&self.paths, &self.conf)?;
        let mut peers: Vec<IpAddr> = conf
            .instances
            .iter()
            .flat_map(|i| i.unicast_peers.iter().copied())
            .collect();
        peers.sort();
        peers.dedup();
        Ok(peers)
    }
}

impl Collector for ConnectivityCollector {
    fn collect(&self, ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let peers = self.peers()?;
        let id = u16::try_from(std::process::id() & 0xffff).unwrap_or(0);
        let mut m = MetricSet::new();
        for peer in peers {
            let left = ctx.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(CollectError::Timeout(self.timeout));
            }
            let seq = self.seq.fetch_add(1, Ordering::Relaxed);
            let p = peer.to_string();
            let rtt = match icmp::ping(peer, id, seq, self.timeout.min(left)) {
                Ok(rtt) => Some(rtt),
                Err(icmp::PingError::NoReply { .. }) => None,
                Err(e) => return Err(CollectError::Other(format!("pinging {p}: {e}"))),
            };
            if rtt.is_none() {
                // The document wants the failed ping's response in the log.
                log::warn!(
                    "VRRP peer {p} did not answer a ping within {:?}",
                    self.timeout.min(left)
                );
            }
            m.add(
                &CONNECTIVITY,
                &[("peer", &p)],
                f64::from(u8::from(rtt.is_some())),
            );
            if let Some(rtt) = rtt {
                m.add(&RTT, &[("peer", &p)], rtt.as_secs_f64());
            }
        }
        Ok(m)
    }
}

const CONNECTIVITY: common::Desc = common::Desc::gauge(
    "keepalived_check_connectivity",
    "1",
    "Whether the VRRP peer answered an ICMP echo (1) or not (0).",
);
const RTT: common::Desc = common::Desc::gauge(
    "keepalived_peer_rtt_seconds",
    "seconds",
    "Round-trip time of the last ping to the VRRP peer, in seconds.",
);

/// Registry entry: `keepalived_scrape_collector_success{collector="connectivity"}`.
pub(crate) const DEF: CollectorDef<KeepalivedExporter> = CollectorDef {
    name: "connectivity",
    enabled_by_default: true,
    file: file!(),
    metrics: &[CONNECTIVITY, RTT],
    build: Build::Blocking(|e| {
        Ok(Some(Box::new(ConnectivityCollector {
            paths: e.paths.clone(),
            conf: e.cfg.keepalived_conf.clone(),
            peers: e.cfg.peers.clone(),
            timeout: e.cfg.ping_timeout,
            seq: AtomicU16::new(0),
        })))
    }),
};
