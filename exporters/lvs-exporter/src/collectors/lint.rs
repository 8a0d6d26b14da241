//! The keepalived LB-pair lint (document 001 §3.1.2.2, `subnet_lint`), per VRRP instance, when
//! `tenant_subnets` is configured.

use common::netlink::{Limits, route};
use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::LvsExporter;
use crate::config::Config;
use crate::source;
use crate::subnet_lint;

const SUBNET_OK: Desc = Desc::gauge(
    "lvs_keepalived_vrrp_subnet_ok",
    "1",
    "Per vrrp_instance of keepalived.conf: 1 when its advert source and unicast peers all lie in the configured resource-tenant subnets (document 3.1.2.2), 0 when one does not.",
);
const OUTSIDE: Desc = Desc::gauge(
    "lvs_keepalived_vrrp_addresses_outside_subnet",
    "1",
    "Per vrrp_instance: how many of its advert source and unicast peers lie outside the resource-tenant subnets.",
);

/// Lints keepalived.conf at each scrape.
#[derive(Debug)]
pub struct LintCollector {
    /// Rooted paths.
    pub paths: SysPaths,
    /// The configuration.
    pub cfg: Config,
}

impl Collector for LintCollector {
    fn collect(&self, ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let conf = source::keepalived_conf(&self.paths, &self.cfg)?.ok_or_else(|| {
            CollectError::Other(format!("{} is not there", self.cfg.keepalived_conf))
        })?;
        let net = route::dump(Limits {
            recv_timeout: ctx.remaining().max(std::time::Duration::from_millis(1)),
            ..Limits::default()
        })
        .map_err(|e| log::debug!("interface addresses: {e}"))
        .ok();
        let mut m = MetricSet::new();
        for v in subnet_lint::lint(&conf, &self.cfg.subnets(), net.as_ref()) {
            if !v.outside.is_empty() {
                log::debug!(
                    "{}: VRRP addresses outside the tenant subnets: {:?}",
                    v.instance,
                    v.outside
                );
            }
            let l = [("vrrp_instance", v.instance.as_str())];
            m.add(&SUBNET_OK, &l, f64::from(u8::from(v.outside.is_empty())));
            m.add(&OUTSIDE, &l, v.outside.len() as f64);
        }
        Ok(m)
    }
}

/// Registry entry: `lvs_scrape_collector_success{collector="lint"}`; runs only with
/// `tenant_subnets` set.
pub(crate) const DEF: CollectorDef<LvsExporter> = CollectorDef {
    name: "lint",
    enabled_by_default: true,
    file: file!(),
    metrics: &[SUBNET_OK, OUTSIDE],
    build: Build::Blocking(|e| {
        if e.cfg.tenant_subnets.is_empty() || e.cfg.keepalived_conf.is_empty() {
            return Ok(None);
        }
        Ok(Some(Box::new(LintCollector {
            paths: e.paths.clone(),
            cfg: e.cfg.clone(),
        })))
    }),
};
