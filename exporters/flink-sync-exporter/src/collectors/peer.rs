//! `peer`: whether the other FlinkServer node answers a ping (procedure step 3) and accepts a
//! connection on its exporter port (where the standby fetches the manifest).

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use common::{Build, CollectError, Collector, CollectorDef, MetricSet, ScrapeContext, icmp};

use crate::FlinkSyncExporter;

/// Probes the peer.
#[derive(Debug)]
pub(crate) struct PeerCollector {
    /// The peer's exporter address.
    pub(crate) addr: SocketAddr,
    /// Wait per probe.
    pub(crate) timeout: Duration,
    /// Echo sequence, so a late reply to an earlier scrape is not taken for this one.
    pub(crate) seq: AtomicU16,
}

/// `(address, port)` of a `http(s)://HOST:PORT` URL with a literal IP host.
pub(crate) fn peer_addr(url: &str) -> Option<SocketAddr> {
    let uri: http::Uri = url.parse().ok()?;
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = host.parse().ok()?;
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    Some(SocketAddr::new(ip, port))
}

/// What one probe of the peer found: step 3's ping, and a TCP connection to its exporter.
#[derive(Debug)]
pub(crate) struct PeerProbe {
    /// The echo's round trip, or why there was none.
    pub(crate) ping: Result<Duration, icmp::PingError>,
    /// Whether the exporter port accepted a connection, or why not.
    pub(crate) port: Result<(), String>,
}

/// Pings `addr`'s host and connects to `addr`, each within `timeout` and `budget`.
pub(crate) fn probe(addr: SocketAddr, timeout: Duration, seq: u16, budget: Duration) -> PeerProbe {
    let started = std::time::Instant::now();
    let id = u16::try_from(std::process::id() & 0xffff).unwrap_or(0);
    let ping = icmp::ping(addr.ip(), id, seq, timeout.min(budget));
    let wait = timeout.min(budget.saturating_sub(started.elapsed()));
    let port = if wait.is_zero() {
        Err("no time left to connect".to_owned())
    } else {
        TcpStream::connect_timeout(&addr, wait)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    PeerProbe { ping, port }
}

impl Collector for PeerCollector {
    fn collect(&self, ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut m = MetricSet::new();
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let p = probe(self.addr, self.timeout, seq, ctx.remaining());
        let ping = match &p.ping {
            Ok(_) => true,
            Err(icmp::PingError::NoReply { .. }) => false,
            Err(e) => {
                log::warn!("pinging the peer {}: {e}", self.addr.ip());
                false
            }
        };
        let port = p.port.is_ok();
        m.add(&PEER_UP, &[("probe", "icmp")], f64::from(u8::from(ping)));
        m.add(
            &PEER_UP,
            &[("probe", "exporter_port")],
            f64::from(u8::from(port)),
        );
        Ok(m)
    }
}

const PEER_UP: common::Desc = common::Desc::gauge(
    "flink_sync_peer_up",
    "1",
    "Whether the other FlinkServer node answers, by probe: icmp (step 3's ping) or exporter_port (a TCP connection to its exporter).",
);

/// Registry entry: `flink_sync_scrape_collector_success{collector="peer"}`.
pub(crate) const DEF: CollectorDef<FlinkSyncExporter> = CollectorDef {
    name: "peer",
    enabled_by_default: true,
    file: file!(),
    metrics: &[PEER_UP],
    build: Build::Blocking(|e| {
        let Some(url) = &e.cfg.peer_url else {
            return Ok(None);
        };
        let addr = peer_addr(url).ok_or_else(|| {
            format!("peer_url {url:?}: the peer probe needs a literal IP address and a port")
        })?;
        Ok(Some(Box::new(PeerCollector {
            addr,
            timeout: e.cfg.peer_timeout,
            seq: AtomicU16::new(0),
        })))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_urls_give_the_address_to_probe() {
        assert_eq!(
            peer_addr("http://10.0.0.2:9915"),
            Some("10.0.0.2:9915".parse().unwrap())
        );
        assert_eq!(
            peer_addr("https://[fd00::2]/x"),
            Some("[fd00::2]:443".parse().unwrap())
        );
        assert_eq!(peer_addr("http://flink-b:9915"), None);
    }
}
