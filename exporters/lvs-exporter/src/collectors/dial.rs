//! `lvs_dial_business_port` (document 001 §3.2): from the master, each TCP service's VIP:port is
//! dialled, with the configured probe; and `lvs_backend_status`: each weighted real server's
//! RIP:port is dialled directly. Real servers of weight 0 are drained, not down: they get no
//! `lvs_backend_status` (the `ipvs` collector reports them in `lvs_backend_drained`). All dials
//! run at once, each bounded by `dial_timeout` and the scrape deadline.

use std::net::SocketAddr;
use std::time::Duration;

use common::{
    AsyncCollector, Build, CollectError, CollectFuture, CollectorDef, Desc, MetricSet,
    ScrapeContext, SysPaths,
};
use tokio::task::JoinSet;

use crate::LvsExporter;
use crate::config::{Config, DialWhen};
use crate::dial::dial;
use crate::role::Role;
use crate::source::{self, TableRead};
use crate::table::{Protocol, ServiceKey};

const DIAL: Desc = Desc::gauge(
    "lvs_dial_business_port",
    "1",
    "Per TCP virtual service: 1 when VIP:port accepted a connection (and answered the configured probe with anything, an error string included), 0 when not; dialled from the master only unless dial = \"always\".",
);
const DIAL_SECONDS: Desc = Desc::gauge(
    "lvs_dial_duration_seconds",
    "seconds",
    "How long the last successful dial of the virtual service took (connect plus answer).",
);
const BACKEND: Desc = Desc::gauge(
    "lvs_backend_status",
    "1",
    "Per real server of weight above 0: 1 when RIP:port accepted a TCP connection (UDP/SCTP real servers: weight alone), 0 when not. Drained real servers (weight 0) are not reported here.",
);

/// One dial to make.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Through the VIP.
    Business {
        /// The `service` label.
        service: String,
        /// VIP:port.
        addr: SocketAddr,
        /// The probe.
        probe: Vec<u8>,
    },
    /// Directly to a real server.
    Backend {
        /// The `service` label.
        service: String,
        /// RIP:port, the `real_server` label.
        addr: SocketAddr,
    },
}

/// What to dial, and the real servers reported up without a dial (not TCP).
pub fn plan(
    cfg: &Config,
    table: &TableRead,
    expected: &[(ServiceKey, Vec<u8>)],
    role: &Role,
) -> (Vec<Target>, Vec<(String, String)>) {
    let mut targets = Vec::new();
    let dial_vips = match cfg.dial {
        DialWhen::Always => true,
        DialWhen::Master => role.is_master(),
        DialWhen::Never => false,
    };
    if dial_vips {
        let mut keys: Vec<(ServiceKey, Vec<u8>)> = if expected.is_empty() {
            table.services.iter().map(|s| (s.key, Vec::new())).collect()
        } else {
            expected.to_vec()
        };
        keys.sort_by_key(|(k, _)| *k);
        keys.dedup_by_key(|(k, _)| *k);
        for (key, probe) in keys {
            if let ServiceKey::Addr {
                protocol: Protocol::Tcp,
                addr,
                port,
            } = key
            {
                targets.push(Target::Business {
                    service: key.to_string(),
                    addr: SocketAddr::new(addr, port),
                    probe,
                });
            }
        }
    }
    let mut undialled = Vec::new();
    for s in &table.services {
        let tcp = matches!(
            s.key,
            ServiceKey::Addr {
                protocol: Protocol::Tcp,
                ..
            } | ServiceKey::Fwmark { .. }
        );
        for r in s.real_servers.iter().filter(|r| r.weight > 0) {
            if cfg.backend_dial && tcp && r.port != 0 {
                targets.push(Target::Backend {
                    service: s.key.to_string(),
                    addr: SocketAddr::new(r.addr, r.port),
                });
            } else {
                undialled.push((s.key.to_string(), r.label()));
            }
        }
    }
    (targets, undialled)
}

/// Dials what the table and the role call for, at each scrape.
#[derive(Debug)]
pub struct DialCollector {
    /// Rooted paths.
    pub paths: SysPaths,
    /// The configuration.
    pub cfg: Config,
}

impl AsyncCollector for DialCollector {
    fn collect<'a>(&'a self, ctx: &'a ScrapeContext) -> CollectFuture<'a> {
        Box::pin(async move {
            let (paths, cfg, left) = (self.paths.clone(), self.cfg.clone(), ctx.remaining());
            let (table, role, expected) = tokio::task::spawn_blocking(move || {
                let table = source::read(&paths, &cfg, left)?;
                let role = crate::collectors::role::current(&cfg, &paths, left)?;
                let conf = source::keepalived_conf(&paths, &cfg)?;
                let expected = source::expected(&cfg, conf.as_ref());
                Ok::<_, CollectError>((table, role, expected))
            })
            .await
            .map_err(|e| CollectError::Other(format!("reading the table: {e}")))??;
            let (targets, undialled) = plan(&self.cfg, &table, &expected, &role);
            let timeout = self.cfg.dial_timeout.min(ctx.remaining());
            let mut set = JoinSet::new();
            for t in targets {
                set.spawn(async move {
                    let (addr, probe) = match &t {
                        Target::Business { addr, probe, .. } => (*addr, probe.clone()),
                        Target::Backend { addr, .. } => (*addr, Vec::new()),
                    };
                    let r = dial(addr, &probe, timeout).await;
                    (t, r)
                });
            }
            let mut m = MetricSet::new();
            while let Some(joined) = set.join_next().await {
                let (t, r) =
                    joined.map_err(|e| CollectError::Other(format!("a dial task failed: {e}")))?;
                if let Err(e) = &r {
                    // Every scrape would repeat it; the series and the alert carry the news.
                    log::debug!("dial failed: {e}");
                }
                add_result(&mut m, &t, r.as_ref().ok().copied());
            }
            for (service, rs) in undialled {
                m.add(
                    &BACKEND,
                    &[("service", &service), ("real_server", &rs)],
                    1.0,
                );
            }
            Ok(m)
        })
    }
}

fn add_result(m: &mut MetricSet, t: &Target, took: Option<Duration>) {
    let ok = f64::from(u8::from(took.is_some()));
    match t {
        Target::Business { service, .. } => {
            m.add(&DIAL, &[("service", service)], ok);
            if let Some(d) = took {
                m.add(&DIAL_SECONDS, &[("service", service)], d.as_secs_f64());
            }
        }
        Target::Backend { service, addr } => {
            m.add(
                &BACKEND,
                &[("service", service), ("real_server", &addr.to_string())],
                ok,
            );
        }
    }
}

/// Registry entry: `lvs_scrape_collector_success{collector="dial"}`.
pub(crate) const DEF: CollectorDef<LvsExporter> = CollectorDef {
    name: "dial",
    enabled_by_default: true,
    file: file!(),
    metrics: &[DIAL, DIAL_SECONDS, BACKEND],
    build: Build::Async(|e| {
        Ok(Some(Box::new(DialCollector {
            paths: e.paths.clone(),
            cfg: e.cfg.clone(),
        })))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;
    use crate::table::{Forward, RealServer, Service};

    fn table() -> TableRead {
        let rs = |a: &str, port, weight| RealServer {
            addr: a.parse().unwrap(),
            port,
            forward: Some(Forward::Route),
            weight,
            active_conns: 0,
            inactive_conns: 0,
            stats: None,
        };
        TableRead {
            present: true,
            source: Some(Source::Proc),
            services: vec![
                Service {
                    key: "tcp/10.0.0.1:6379".parse().unwrap(),
                    scheduler: "rr".into(),
                    persistence: None,
                    real_servers: vec![rs("10.1.0.1", 6379, 1), rs("10.1.0.2", 6379, 0)],
                    stats: None,
                },
                Service {
                    key: "udp/10.0.0.1:53".parse().unwrap(),
                    scheduler: "rr".into(),
                    persistence: None,
                    real_servers: vec![rs("10.1.0.3", 53, 2)],
                    stats: None,
                },
            ],
            ..TableRead::default()
        }
    }

    fn master() -> Role {
        Role {
            vips: vec![("10.0.0.1".parse().unwrap(), true)],
            vrrp: vec![],
        }
    }

    #[test]
    fn the_master_dials_tcp_vips_and_weighted_backends() {
        let (t, undialled) = plan(&Config::default(), &table(), &[], &master());
        assert_eq!(
            t,
            vec![
                Target::Business {
                    service: "tcp/10.0.0.1:6379".into(),
                    addr: "10.0.0.1:6379".parse().unwrap(),
                    probe: vec![]
                },
                Target::Backend {
                    service: "tcp/10.0.0.1:6379".into(),
                    addr: "10.1.0.1:6379".parse().unwrap()
                },
            ],
            "the drained 10.1.0.2 is not dialled"
        );
        assert_eq!(
            undialled,
            vec![("udp/10.0.0.1:53".to_owned(), "10.1.0.3:53".to_owned())]
        );
    }

    #[test]
    fn a_backup_dials_only_backends_and_expected_services_carry_probes() {
        let (t, _) = plan(&Config::default(), &table(), &[], &Role::default());
        assert!(t.iter().all(|t| matches!(t, Target::Backend { .. })));
        let expected = vec![("tcp/10.0.0.9:6379".parse().unwrap(), b"PING\r\n".to_vec())];
        let cfg = Config {
            dial: DialWhen::Always,
            backend_dial: false,
            ..Config::default()
        };
        let (t, undialled) = plan(&cfg, &table(), &expected, &Role::default());
        assert_eq!(
            t,
            vec![Target::Business {
                service: "tcp/10.0.0.9:6379".into(),
                addr: "10.0.0.9:6379".parse().unwrap(),
                probe: b"PING\r\n".to_vec()
            }]
        );
        assert_eq!(undialled.len(), 2, "weighted real servers without a dial");
    }

    #[test]
    fn results_become_families() {
        let mut m = MetricSet::new();
        let b = Target::Business {
            service: "tcp/10.0.0.1:80".into(),
            addr: "10.0.0.1:80".parse().unwrap(),
            probe: vec![],
        };
        add_result(&mut m, &b, None);
        assert_eq!(m.value("lvs_dial_business_port", &[]), Some(0.0));
        assert!(!m.has("lvs_dial_duration_seconds"));
        let mut m = MetricSet::new();
        add_result(&mut m, &b, Some(Duration::from_millis(3)));
        assert_eq!(m.value("lvs_dial_business_port", &[]), Some(1.0));
        assert_eq!(m.value("lvs_dial_duration_seconds", &[]), Some(0.003));
    }
}
