//! The on-call checks of document 003: "ping the alarmed IP, ping the device's inner and outer
//! addresses". One ping pass (common's ICMP engine, all echoes at once) over the configured inner
//! and outer addresses and every VIP, each reported with its role.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use common::icmp::{self, PassOptions, Target};
use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::LvsExporter;
use crate::config::Config;
use crate::source;

const UP: Desc = Desc::gauge(
    "lvs_ping_up",
    "1",
    "Per target (role inner, outer or vip): 1 when it answered an ICMP echo within ping.timeout, 0 when not.",
);
const RTT: Desc = Desc::gauge(
    "lvs_ping_rtt_seconds",
    "seconds",
    "Round-trip time of the last answered echo to the target, in seconds.",
);

/// The targets with their role, deduplicated (an address configured as inner is not also a vip).
pub fn targets(cfg: &Config, vips: &[IpAddr]) -> Vec<(IpAddr, &'static str)> {
    let mut out: Vec<(IpAddr, &'static str)> = Vec::new();
    let lists: [(&[IpAddr], &'static str); 3] = [
        (&cfg.ping.inner, "inner"),
        (&cfg.ping.outer, "outer"),
        (if cfg.ping.vips { vips } else { &[] }, "vip"),
    ];
    for (list, role) in lists {
        for a in list {
            if !out.iter().any(|(b, _)| b == a) {
                out.push((*a, role));
            }
        }
    }
    out
}

/// One ping pass (all echoes at once) over `addrs`: each one's round-trip time, `None` when it
/// did not answer within `timeout`. `seq_base` keeps a late reply to an earlier pass out.
pub fn ping(
    addrs: &[IpAddr],
    timeout: Duration,
    seq_base: u16,
) -> Result<Vec<Option<Duration>>, CollectError> {
    let t: Vec<Target> = addrs
        .iter()
        .map(|addr| Target {
            addr: *addr,
            source: None,
        })
        .collect();
    let opts = PassOptions {
        timeout,
        id: u16::try_from(std::process::id() & 0xffff).unwrap_or(0),
        seq_base,
        ..PassOptions::default()
    };
    let r = icmp::ping_pass(&t, &opts).map_err(|e| CollectError::Other(format!("ping: {e}")))?;
    Ok(r.echoes.iter().map(|e| e.max()).collect())
}

/// Pings the on-call targets at each scrape.
#[derive(Debug)]
pub struct PingCollector {
    /// Rooted paths.
    pub paths: SysPaths,
    /// The configuration.
    pub cfg: Config,
    /// Moves on each pass, so a late reply to the previous pass is not taken for this one.
    pub seq: AtomicU16,
}

impl Collector for PingCollector {
    fn collect(&self, ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let table = source::read(&self.paths, &self.cfg, ctx.remaining())?;
        let vips = crate::collectors::role::vips(&self.cfg, &self.paths, &table.vips());
        let list = targets(&self.cfg, &vips);
        let mut m = MetricSet::new();
        if list.is_empty() {
            return Ok(m);
        }
        let addrs: Vec<IpAddr> = list.iter().map(|(a, _)| *a).collect();
        let count = u16::try_from(addrs.len()).unwrap_or(u16::MAX);
        let rtts = ping(
            &addrs,
            self.cfg.ping.timeout.min(ctx.remaining()),
            self.seq.fetch_add(count, Ordering::Relaxed),
        )?;
        for ((addr, role), rtt) in list.iter().zip(rtts) {
            let a = addr.to_string();
            let l = [("target", a.as_str()), ("role", *role)];
            m.add(&UP, &l, f64::from(u8::from(rtt.is_some())));
            if let Some(rtt) = rtt {
                m.add(&RTT, &l, rtt.as_secs_f64());
            }
        }
        Ok(m)
    }
}

/// Registry entry: `lvs_scrape_collector_success{collector="ping"}`.
pub(crate) const DEF: CollectorDef<LvsExporter> = CollectorDef {
    name: "ping",
    enabled_by_default: true,
    file: file!(),
    metrics: &[UP, RTT],
    build: Build::Blocking(|e| {
        Ok(Some(Box::new(PingCollector {
            paths: e.paths.clone(),
            cfg: e.cfg.clone(),
            seq: AtomicU16::new(0),
        })))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_keep_their_first_role() {
        let cfg = Config {
            ping: crate::config::PingConfig {
                inner: vec!["192.168.10.11".parse().unwrap()],
                outer: vec!["203.0.113.7".parse().unwrap()],
                ..crate::config::PingConfig::default()
            },
            ..Config::default()
        };
        let vips: Vec<IpAddr> = vec!["10.0.0.3".parse().unwrap(), "203.0.113.7".parse().unwrap()];
        let t = targets(&cfg, &vips);
        assert_eq!(
            t,
            vec![
                ("192.168.10.11".parse().unwrap(), "inner"),
                ("203.0.113.7".parse().unwrap(), "outer"),
                ("10.0.0.3".parse().unwrap(), "vip"),
            ]
        );
        let no_vips = Config {
            ping: crate::config::PingConfig {
                vips: false,
                ..crate::config::PingConfig::default()
            },
            ..Config::default()
        };
        assert!(targets(&no_vips, &vips).is_empty());
    }

    #[test]
    fn loopback_answers_a_real_ping() {
        let cfg = Config {
            ping: crate::config::PingConfig {
                inner: vec!["127.0.0.1".parse().unwrap()],
                vips: false,
                ..crate::config::PingConfig::default()
            },
            ipvs_source: crate::config::IpvsSource::Proc,
            ..Config::default()
        };
        let dir = std::env::temp_dir().join(format!("lvs-ping-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("proc")).unwrap();
        let c = PingCollector {
            paths: SysPaths::fixture(&dir),
            cfg,
            seq: AtomicU16::new(0),
        };
        let m = c
            .collect(&ScrapeContext::with_timeout(
                std::time::Duration::from_secs(5),
            ))
            .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            m.value("lvs_ping_up", &[("target", "127.0.0.1"), ("role", "inner")]),
            Some(1.0)
        );
    }
}
