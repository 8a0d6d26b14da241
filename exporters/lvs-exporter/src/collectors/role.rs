//! `lvs_is_master` (document 001 §3.2: "is this the master node"): a VIP of the director's
//! services held on a local interface, or keepalived's dump saying MASTER. Also
//! `lvs_director_info`, the cluster this director belongs to (document 003: single point or a
//! member of an `ha`/`ssl` cluster), which the rules join on.

use std::net::IpAddr;

use common::netlink::{Limits, route};
use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::LvsExporter;
use crate::config::Config;
use crate::role::{self, Role};
use crate::source;

const IS_MASTER: Desc = Desc::gauge(
    "lvs_is_master",
    "1",
    "1 when this director is the active one: it holds a VIP of its services on a non-loopback interface, or keepalived's dump shows a VRRP instance MASTER.",
);
const VIP_LOCAL: Desc = Desc::gauge(
    "lvs_vip_local",
    "1",
    "Per VIP (service addresses, configured vips, keepalived.conf virtual_ipaddress): 1 when it is on a local interface other than lo.",
);
const VRRP_MASTER: Desc = Desc::gauge(
    "lvs_vrrp_master",
    "1",
    "Per VRRP instance of the keepalived dump (keepalived_dump): 1 when MASTER.",
);
const DIRECTOR_INFO: Desc = Desc::info(
    "lvs_director_info",
    "Always 1; labels cluster (the configured LVS cluster) and mode (single, ha or ssl: whether another director takes over).",
);

/// Every VIP to look for: the table's service addresses, the configured ones, keepalived.conf's.
pub(crate) fn vips(cfg: &Config, paths: &SysPaths, table_vips: &[IpAddr]) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = table_vips.to_vec();
    v.extend(cfg.vips.iter().copied());
    v.extend(cfg.expected().iter().filter_map(|(k, _)| k.vip()));
    if let Ok(Some(conf)) = source::keepalived_conf(paths, cfg) {
        v.extend(
            conf.instances
                .iter()
                .flat_map(|i| i.vips.iter().map(|vip| vip.address)),
        );
        v.extend(source::conf_services(&conf).iter().filter_map(|k| k.vip()));
    }
    v.sort();
    v.dedup();
    v
}

/// Decides the role now; the dump is read only when configured, and never requested.
pub(crate) fn current(
    cfg: &Config,
    paths: &SysPaths,
    timeout: std::time::Duration,
) -> Result<Role, CollectError> {
    let table = source::read(paths, cfg, timeout)?;
    let vips = vips(cfg, paths, &table.vips());
    let net = route::dump(Limits {
        recv_timeout: timeout.max(std::time::Duration::from_millis(1)),
        ..Limits::default()
    })
    .map_err(|e| CollectError::Other(format!("reading the interface addresses: {e}")))?;
    let dump = if cfg.keepalived_dump.is_empty() {
        Vec::new()
    } else {
        match paths.read_root(&cfg.keepalived_dump) {
            Ok(bytes) => role::parse_dump(&bytes)
                .map_err(|e| CollectError::parse(paths.root(&cfg.keepalived_dump), e))?,
            Err(e) => {
                log::debug!("no keepalived dump: {e}");
                Vec::new()
            }
        }
    };
    Ok(role::decide(&vips, &net, &dump))
}

/// Adds the role families.
pub fn add_metrics(m: &mut MetricSet, r: &Role, cfg: &Config) {
    m.add(&IS_MASTER, &[], f64::from(u8::from(r.is_master())));
    for (vip, held) in &r.vips {
        m.add(
            &VIP_LOCAL,
            &[("vip", &vip.to_string())],
            f64::from(u8::from(*held)),
        );
    }
    for (name, master) in &r.vrrp {
        m.add(
            &VRRP_MASTER,
            &[("vrrp_instance", name)],
            f64::from(u8::from(*master)),
        );
    }
    m.add(
        &DIRECTOR_INFO,
        &[
            ("cluster", &cfg.cluster),
            ("mode", cfg.cluster_mode.label()),
        ],
        1.0,
    );
}

/// Decides the role at each scrape.
#[derive(Debug)]
pub struct RoleCollector {
    /// Rooted paths.
    pub paths: SysPaths,
    /// The configuration.
    pub cfg: Config,
}

impl Collector for RoleCollector {
    fn collect(&self, ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let r = current(&self.cfg, &self.paths, ctx.remaining())?;
        let mut m = MetricSet::new();
        add_metrics(&mut m, &r, &self.cfg);
        Ok(m)
    }
}

/// Registry entry: `lvs_scrape_collector_success{collector="role"}`.
pub(crate) const DEF: CollectorDef<LvsExporter> = CollectorDef {
    name: "role",
    enabled_by_default: true,
    file: file!(),
    metrics: &[IS_MASTER, VIP_LOCAL, VRRP_MASTER, DIRECTOR_INFO],
    build: Build::Blocking(|e| {
        Ok(Some(Box::new(RoleCollector {
            paths: e.paths.clone(),
            cfg: e.cfg.clone(),
        })))
    }),
};
