//! `os_eth1_route` (document 001 §2.1, resource-tenant scheme): the resource-tenant interface is
//! up, holds an address, and traffic from that address to each resource-tenant subnet leaves
//! through it, decided over the routing tables and policy rules read by rtnetlink
//! (`crate::reachability::tenant_route`). Runs only when `[ping] resource_tenant_subnets` is set.

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::OsExporter;
use crate::cidr::Cidr;
use crate::reachability::tenant_route;

const ROUTE: Desc = Desc::gauge(
    "os_eth1_route",
    "1",
    "1 when the resource-tenant interface is up, has an address and routes every resource-tenant subnet from that address through itself, else 0.",
);
const CHECK: Desc = Desc::gauge(
    "os_eth1_route_check",
    "1",
    "The parts of os_eth1_route: check=link_up, has_address, or subnet:<cidr> (routed through the interface), 1 when it holds.",
);

/// Checks the resource-tenant interface's routes.
pub(crate) struct Eth1RouteCollector {
    paths: SysPaths,
    device: String,
    subnets: Vec<Cidr>,
}

impl Collector for Eth1RouteCollector {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let state = crate::netstate::read(&self.paths)?;
        let c = tenant_route::check(&state, &self.device, &self.subnets);
        let mut set = MetricSet::new();
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        let d = self.device.as_str();
        set.add(&ROUTE, &[("device", d)], flag(c.ok()));
        set.add(
            &CHECK,
            &[("device", d), ("check", "link_up")],
            flag(c.link_up),
        );
        set.add(
            &CHECK,
            &[("device", d), ("check", "has_address")],
            flag(c.address.is_some()),
        );
        for (subnet, ok) in &c.subnets {
            set.add(
                &CHECK,
                &[("device", d), ("check", &format!("subnet:{subnet}"))],
                flag(*ok),
            );
        }
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="eth1_route"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "eth1_route",
    enabled_by_default: true,
    file: file!(),
    metrics: &[ROUTE, CHECK],
    build: Build::Inline(|e| {
        if e.config.ping.resource_tenant_subnets.is_empty() {
            return Ok(None);
        }
        Ok(Some(Box::new(Eth1RouteCollector {
            paths: e.paths.clone(),
            device: e.config.network.resource_tenant_interface.clone(),
            subnets: e.config.ping.resource_tenant_subnets.clone(),
        })))
    }),
};
