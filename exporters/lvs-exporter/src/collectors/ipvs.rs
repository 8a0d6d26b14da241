//! `lvs_status` (document 001 §3.2: "is `ipvsadm -ln` normal") and the table behind it: every
//! virtual service and real server with weights, connections and 64-bit counters. Labels come
//! from the table itself (at most `max_services` services) and the expected services.

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::LvsExporter;
use crate::config::Config;
use crate::source::{self, TableRead};
use crate::table::{Service, ServiceKey, Stats};

const STATUS: Desc = Desc::gauge(
    "lvs_status",
    "1",
    "1 when IPVS is present and every expected virtual service (else every service of the table, which must not be empty) has a real server of non-zero weight; 0 otherwise, lvs_status_problems says why.",
);
const PROBLEMS: Desc = Desc::gauge(
    "lvs_status_problems",
    "1",
    "Number of problems of each kind behind lvs_status: ipvs_absent, service_missing, no_weighted_real_server, empty_table.",
);
const PRESENT: Desc = Desc::gauge(
    "lvs_ipvs_present",
    "1",
    "Whether the kernel has IPVS (/proc/net/ip_vs or ip_vs in /proc/modules); the exporter never loads it.",
);
const SOURCE: Desc = Desc::info(
    "lvs_ipvs_source_info",
    "Always 1; the source label says where the table was read from: netlink (with counters) or proc (/proc/net/ip_vs, no per-service counters, e.g. without CAP_NET_ADMIN).",
);
const TRUNCATED: Desc = Desc::gauge(
    "lvs_ipvs_services_truncated",
    "1",
    "1 when the table has more services than max_services: the rest are reported without real servers.",
);
const SERVICES: Desc = Desc::gauge(
    "lvs_services",
    "1",
    "Number of virtual services in the IPVS table.",
);
const SERVICE_INFO: Desc = Desc::info(
    "lvs_service_info",
    "Always 1 per virtual service of the table; labels: protocol, scheduler, persistent (the persistence timeout in seconds; unknown when read from /proc, which prints jiffies; empty when not persistent).",
);
const SERVICE_EXPECTED_PRESENT: Desc = Desc::gauge(
    "lvs_service_present",
    "1",
    "Per expected virtual service (configured, else keepalived.conf's virtual_server blocks): 1 when it is in the IPVS table, 0 when it vanished.",
);
const REAL_SERVERS: Desc = Desc::gauge(
    "lvs_service_real_servers",
    "1",
    "Number of real servers of the virtual service.",
);
const REAL_SERVERS_WEIGHTED: Desc = Desc::gauge(
    "lvs_service_real_servers_weighted",
    "1",
    "Number of real servers of the virtual service with a weight above 0 (receiving new connections).",
);
const SVC_CONNS: Desc = Desc::counter(
    "lvs_service_connections_total",
    "1",
    "Connections scheduled by the virtual service (netlink source only).",
);
const SVC_IN_PKTS: Desc = Desc::counter(
    "lvs_service_incoming_packets_total",
    "1",
    "Packets the virtual service received (netlink source only).",
);
const SVC_OUT_PKTS: Desc = Desc::counter(
    "lvs_service_outgoing_packets_total",
    "1",
    "Packets the virtual service sent back (NAT only: DR and tunnel replies bypass the director).",
);
const SVC_IN_BYTES: Desc = Desc::counter(
    "lvs_service_incoming_bytes_total",
    "bytes",
    "Bytes the virtual service received (netlink source only).",
);
const SVC_OUT_BYTES: Desc = Desc::counter(
    "lvs_service_outgoing_bytes_total",
    "bytes",
    "Bytes the virtual service sent back (NAT only).",
);
const RS_WEIGHT: Desc = Desc::gauge(
    "lvs_real_server_weight",
    "1",
    "Weight of the real server; 0 = drained (no new connections). Label forward: masq, route (DR), tunnel, local.",
);
const RS_ACTIVE: Desc = Desc::gauge(
    "lvs_real_server_active_connections",
    "1",
    "Connections of the real server in ESTABLISHED state (ipvsadm ActiveConn).",
);
const RS_INACTIVE: Desc = Desc::gauge(
    "lvs_real_server_inactive_connections",
    "1",
    "Other connections of the real server (ipvsadm InActConn).",
);
const RS_DRAINED: Desc = Desc::gauge(
    "lvs_backend_drained",
    "1",
    "1 when the real server's weight is 0 (drained on purpose: reported apart, never as down), else 0.",
);
const RS_CONNS: Desc = Desc::counter(
    "lvs_real_server_connections_total",
    "1",
    "Connections scheduled to the real server (netlink source only).",
);
const RS_IN_PKTS: Desc = Desc::counter(
    "lvs_real_server_incoming_packets_total",
    "1",
    "Packets forwarded to the real server (netlink source only).",
);
const RS_OUT_PKTS: Desc = Desc::counter(
    "lvs_real_server_outgoing_packets_total",
    "1",
    "Packets from the real server through the director (NAT only).",
);
const RS_IN_BYTES: Desc = Desc::counter(
    "lvs_real_server_incoming_bytes_total",
    "bytes",
    "Bytes forwarded to the real server (netlink source only).",
);
const RS_OUT_BYTES: Desc = Desc::counter(
    "lvs_real_server_outgoing_bytes_total",
    "bytes",
    "Bytes from the real server through the director (NAT only).",
);
const TOTAL_CONNS: Desc = Desc::counter(
    "lvs_ipvs_connections_total",
    "1",
    "Connections scheduled by IPVS in this network namespace (/proc/net/ip_vs_stats).",
);
const TOTAL_IN_PKTS: Desc = Desc::counter(
    "lvs_ipvs_incoming_packets_total",
    "1",
    "Packets IPVS received (/proc/net/ip_vs_stats).",
);
const TOTAL_OUT_PKTS: Desc = Desc::counter(
    "lvs_ipvs_outgoing_packets_total",
    "1",
    "Packets IPVS sent (/proc/net/ip_vs_stats).",
);
const TOTAL_IN_BYTES: Desc = Desc::counter(
    "lvs_ipvs_incoming_bytes_total",
    "bytes",
    "Bytes IPVS received (/proc/net/ip_vs_stats).",
);
const TOTAL_OUT_BYTES: Desc = Desc::counter(
    "lvs_ipvs_outgoing_bytes_total",
    "bytes",
    "Bytes IPVS sent (/proc/net/ip_vs_stats).",
);

/// The kinds of `lvs_status_problems`, all always emitted.
const PROBLEM_KINDS: [&str; 4] = [
    "ipvs_absent",
    "service_missing",
    "no_weighted_real_server",
    "empty_table",
];

fn weighted(s: &Service) -> usize {
    s.real_servers.iter().filter(|r| r.weight > 0).count()
}

/// Counts each problem kind (in `PROBLEM_KINDS` order) for the table and the expected services.
pub fn problems(read: &TableRead, expected: &[ServiceKey]) -> [usize; 4] {
    let mut p = [0; 4];
    if !read.present {
        p[0] = 1;
        return p;
    }
    if expected.is_empty() {
        if read.services.is_empty() {
            p[3] = 1;
        }
        p[2] = read.services.iter().filter(|s| weighted(s) == 0).count();
        return p;
    }
    for key in expected {
        match read.services.iter().find(|s| s.key == *key) {
            None => p[1] += 1,
            Some(s) if weighted(s) == 0 => p[2] += 1,
            Some(_) => {}
        }
    }
    p
}

fn add_stats(m: &mut MetricSet, descs: [&Desc; 5], labels: &[(&str, &str)], s: &Stats) {
    let values = [
        s.conns,
        s.in_packets,
        s.out_packets,
        s.in_bytes,
        s.out_bytes,
    ];
    for (d, v) in descs.into_iter().zip(values) {
        // Counters past 2^53 lose their last digits as f64, as every Prometheus counter does.
        m.add(d, labels, v as f64);
    }
}

/// All families of one read.
pub fn add_metrics(m: &mut MetricSet, read: &TableRead, expected: &[ServiceKey]) {
    let p = problems(read, expected);
    m.add(&STATUS, &[], f64::from(u8::from(p.iter().all(|n| *n == 0))));
    for (kind, n) in PROBLEM_KINDS.iter().zip(p) {
        m.add(&PROBLEMS, &[("problem", kind)], n as f64);
    }
    m.add(&PRESENT, &[], f64::from(u8::from(read.present)));
    for key in expected {
        let present = read.services.iter().any(|s| s.key == *key);
        m.add(
            &SERVICE_EXPECTED_PRESENT,
            &[("service", &key.to_string())],
            f64::from(u8::from(present)),
        );
    }
    let Some(source) = read.source else {
        return;
    };
    m.add(&SOURCE, &[("source", source.label())], 1.0);
    m.add(&TRUNCATED, &[], f64::from(u8::from(read.truncated)));
    m.add(&SERVICES, &[], read.services.len() as f64);
    if let Some(t) = &read.totals {
        add_stats(
            m,
            [
                &TOTAL_CONNS,
                &TOTAL_IN_PKTS,
                &TOTAL_OUT_PKTS,
                &TOTAL_IN_BYTES,
                &TOTAL_OUT_BYTES,
            ],
            &[],
            t,
        );
    }
    for s in &read.services {
        let service = s.key.to_string();
        let persistent = s.persistence.map(|p| p.label()).unwrap_or_default();
        m.add(
            &SERVICE_INFO,
            &[
                ("service", &service),
                ("protocol", s.key.protocol_label()),
                ("scheduler", &s.scheduler),
                ("persistent", &persistent),
            ],
            1.0,
        );
        let sl = [("service", service.as_str())];
        m.add(&REAL_SERVERS, &sl, s.real_servers.len() as f64);
        m.add(&REAL_SERVERS_WEIGHTED, &sl, weighted(s) as f64);
        if let Some(st) = &s.stats {
            add_stats(
                m,
                [
                    &SVC_CONNS,
                    &SVC_IN_PKTS,
                    &SVC_OUT_PKTS,
                    &SVC_IN_BYTES,
                    &SVC_OUT_BYTES,
                ],
                &sl,
                st,
            );
        }
        for r in &s.real_servers {
            let rs = r.label();
            let l = [("service", service.as_str()), ("real_server", rs.as_str())];
            let fwd = r.forward.map_or("unknown", |f| f.label());
            m.add(
                &RS_WEIGHT,
                &[
                    ("service", service.as_str()),
                    ("real_server", rs.as_str()),
                    ("forward", fwd),
                ],
                r.weight as f64,
            );
            m.add(&RS_ACTIVE, &l, r.active_conns as f64);
            m.add(&RS_INACTIVE, &l, r.inactive_conns as f64);
            m.add(&RS_DRAINED, &l, f64::from(u8::from(r.weight <= 0)));
            if let Some(st) = &r.stats {
                add_stats(
                    m,
                    [
                        &RS_CONNS,
                        &RS_IN_PKTS,
                        &RS_OUT_PKTS,
                        &RS_IN_BYTES,
                        &RS_OUT_BYTES,
                    ],
                    &l,
                    st,
                );
            }
        }
    }
}

/// Reads the table and the expected services at each scrape.
#[derive(Debug)]
pub struct IpvsCollector {
    /// Rooted paths.
    pub paths: SysPaths,
    /// The configuration.
    pub cfg: Config,
}

impl Collector for IpvsCollector {
    fn collect(&self, ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let conf = source::keepalived_conf(&self.paths, &self.cfg)?;
        let expected: Vec<ServiceKey> = source::expected(&self.cfg, conf.as_ref())
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let read = source::read(&self.paths, &self.cfg, ctx.remaining())?;
        if let Some(e) = &read.netlink_error {
            log::debug!("IPVS table read from /proc/net/ip_vs: netlink failed: {e}");
        }
        let mut m = MetricSet::new();
        add_metrics(&mut m, &read, &expected);
        Ok(m)
    }
}

/// Registry entry: `lvs_scrape_collector_success{collector="ipvs"}`.
pub(crate) const DEF: CollectorDef<LvsExporter> = CollectorDef {
    name: "ipvs",
    enabled_by_default: true,
    file: file!(),
    metrics: &[
        STATUS,
        PROBLEMS,
        PRESENT,
        SOURCE,
        TRUNCATED,
        SERVICES,
        SERVICE_INFO,
        SERVICE_EXPECTED_PRESENT,
        REAL_SERVERS,
        REAL_SERVERS_WEIGHTED,
        SVC_CONNS,
        SVC_IN_PKTS,
        SVC_OUT_PKTS,
        SVC_IN_BYTES,
        SVC_OUT_BYTES,
        RS_WEIGHT,
        RS_ACTIVE,
        RS_INACTIVE,
        RS_DRAINED,
        RS_CONNS,
        RS_IN_PKTS,
        RS_OUT_PKTS,
        RS_IN_BYTES,
        RS_OUT_BYTES,
        TOTAL_CONNS,
        TOTAL_IN_PKTS,
        TOTAL_OUT_PKTS,
        TOTAL_IN_BYTES,
        TOTAL_OUT_BYTES,
    ],
    build: Build::Blocking(|e| {
        Ok(Some(Box::new(IpvsCollector {
            paths: e.paths.clone(),
            cfg: e.cfg.clone(),
        })))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;
    use crate::table::{Forward, RealServer};

    fn svc(key: &str, weights: &[i64]) -> Service {
        Service {
            key: key.parse().unwrap(),
            scheduler: "wlc".into(),
            persistence: None,
            real_servers: weights
                .iter()
                .enumerate()
                .map(|(i, w)| RealServer {
                    addr: format!("10.1.0.{}", i + 1).parse().unwrap(),
                    port: 80,
                    forward: Some(Forward::Route),
                    weight: *w,
                    active_conns: 2,
                    inactive_conns: 1,
                    stats: Some(Stats {
                        conns: 1 << 40,
                        ..Stats::default()
                    }),
                })
                .collect(),
            stats: None,
        }
    }

    fn read(services: Vec<Service>) -> TableRead {
        TableRead {
            present: true,
            source: Some(Source::Netlink),
            services,
            ..TableRead::default()
        }
    }

    fn keys(v: &[&str]) -> Vec<ServiceKey> {
        v.iter().map(|k| k.parse().unwrap()).collect()
    }

    #[test]
    fn status_is_one_only_when_every_expected_service_has_a_weighted_real_server() {
        let t = read(vec![svc("tcp/10.0.0.1:80", &[1, 0]), svc("fwmark/7", &[0])]);
        assert_eq!(problems(&t, &keys(&["tcp/10.0.0.1:80"])), [0, 0, 0, 0]);
        assert_eq!(
            problems(
                &t,
                &keys(&["tcp/10.0.0.1:80", "fwmark/7", "udp/10.0.0.1:53"])
            ),
            [0, 1, 1, 0]
        );
        assert_eq!(
            problems(&t, &[]),
            [0, 0, 1, 0],
            "no expectation: every service"
        );
        assert_eq!(problems(&read(vec![]), &[]), [0, 0, 0, 1]);
        assert_eq!(problems(&TableRead::default(), &[]), [1, 0, 0, 0]);
    }

    #[test]
    fn families_of_a_table() {
        let mut m = MetricSet::new();
        let t = read(vec![svc("tcp/10.0.0.1:80", &[1, 0])]);
        add_metrics(&mut m, &t, &keys(&["tcp/10.0.0.1:80", "udp/10.0.0.1:53"]));
        assert_eq!(m.value("lvs_status", &[]), Some(0.0));
        assert_eq!(
            m.value("lvs_status_problems", &[("problem", "service_missing")]),
            Some(1.0)
        );
        assert_eq!(
            m.value("lvs_service_present", &[("service", "udp/10.0.0.1:53")]),
            Some(0.0)
        );
        assert_eq!(
            m.value("lvs_service_present", &[("service", "tcp/10.0.0.1:80")]),
            Some(1.0)
        );
        assert_eq!(
            m.value(
                "lvs_service_real_servers_weighted",
                &[("service", "tcp/10.0.0.1:80")]
            ),
            Some(1.0)
        );
        assert_eq!(
            m.value("lvs_backend_drained", &[("real_server", "10.1.0.2:80")]),
            Some(1.0)
        );
        assert_eq!(
            m.value("lvs_backend_drained", &[("real_server", "10.1.0.1:80")]),
            Some(0.0)
        );
        assert_eq!(
            m.value(
                "lvs_real_server_weight",
                &[("real_server", "10.1.0.1:80"), ("forward", "route")]
            ),
            Some(1.0)
        );
        assert_eq!(
            m.value(
                "lvs_real_server_connections_total",
                &[("real_server", "10.1.0.1:80")]
            ),
            Some((1u64 << 40) as f64)
        );
        assert!(
            !m.has("lvs_service_connections_total"),
            "no service stats given"
        );
        assert_eq!(
            m.value("lvs_ipvs_source_info", &[("source", "netlink")]),
            Some(1.0)
        );
    }

    #[test]
    fn absent_ipvs_gives_status_zero_with_the_reason_and_nothing_else() {
        let mut m = MetricSet::new();
        add_metrics(&mut m, &TableRead::default(), &keys(&["tcp/10.0.0.1:80"]));
        assert_eq!(m.value("lvs_status", &[]), Some(0.0));
        assert_eq!(m.value("lvs_ipvs_present", &[]), Some(0.0));
        assert_eq!(
            m.value("lvs_status_problems", &[("problem", "ipvs_absent")]),
            Some(1.0)
        );
        assert_eq!(
            m.value("lvs_service_present", &[("service", "tcp/10.0.0.1:80")]),
            Some(0.0)
        );
        assert!(!m.has("lvs_services"));
    }
}
