//! Interface addresses (document 001 §2.3: a resource-tenant VM whose eth0 came up without its
//! DHCP address): per interface the IPv4 and global IPv6 addresses it holds, and for the
//! interfaces that must have one (configured, default `eth0`, plus those carrying a default
//! route of the main table) whether one that is up has none. Read over rtnetlink.

use std::collections::BTreeSet;

use common::netlink::route::{MAIN_TABLE, NetState};
use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::OsExporter;

const ADDRESSES: Desc = Desc::gauge(
    "os_network_interface_addresses",
    "1",
    "Addresses configured on the interface by family (ipv4, ipv6; IPv6 link-local left out), a count.",
);
const MISSING: Desc = Desc::gauge(
    "os_network_interface_address_missing",
    "1",
    "1 when an interface that must hold an address ([network] address_required, or carrying a default route) is up and has no IPv4 or global IPv6 address, else 0.",
);

/// Reports addresses per interface.
pub(crate) struct AddressesCollector {
    paths: SysPaths,
    required: Vec<String>,
}

/// The interfaces that must hold an address in `state`: the configured ones and those of the
/// main table's default routes.
fn required(state: &NetState, configured: &[String]) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = configured.iter().cloned().collect();
    for r in state
        .routes
        .iter()
        .filter(|r| r.table == MAIN_TABLE && r.is_default())
    {
        for h in &r.nexthops {
            if let Some(name) = h.oif.and_then(|i| state.link_name(i)) {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

impl Collector for AddressesCollector {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let state = crate::netstate::read(&self.paths)?;
        let must = required(&state, &self.required);
        let mut set = MetricSet::new();
        let mut links: Vec<_> = state.links.iter().collect();
        links.sort_by(|a, b| a.name.cmp(&b.name));
        for l in links {
            let (mut v4, mut v6) = (0u32, 0u32);
            for a in state.addresses_of(l.index) {
                match a.addr {
                    std::net::IpAddr::V4(_) => v4 += 1,
                    std::net::IpAddr::V6(x) if x.segments()[0] & 0xffc0 != 0xfe80 => v6 += 1,
                    std::net::IpAddr::V6(_) => {}
                }
            }
            let d = l.name.as_str();
            set.add(
                &ADDRESSES,
                &[("device", d), ("family", "ipv4")],
                f64::from(v4),
            );
            set.add(
                &ADDRESSES,
                &[("device", d), ("family", "ipv6")],
                f64::from(v6),
            );
            if must.contains(d) {
                let missing = l.up && v4 + v6 == 0;
                set.add(&MISSING, &[("device", d)], if missing { 1.0 } else { 0.0 });
            }
        }
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="addresses"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "addresses",
    enabled_by_default: true,
    file: file!(),
    metrics: &[ADDRESSES, MISSING],
    build: Build::Inline(|e| {
        Ok(Some(Box::new(AddressesCollector {
            paths: e.paths.clone(),
            required: e.config.network.address_required.clone(),
        })))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{ctx, fixture};

    #[test]
    fn an_up_eth0_without_address_is_missing_one_a_down_interface_is_not() {
        let c = AddressesCollector {
            paths: fixture("net"),
            required: vec!["eth0".into(), "eth1".into(), "eth9".into()],
        };
        let set = c.collect(&ctx()).unwrap();
        assert_eq!(
            set.value(
                "os_network_interface_address_missing",
                &[("device", "eth0")]
            ),
            Some(1.0)
        );
        assert_eq!(
            set.value(
                "os_network_interface_address_missing",
                &[("device", "eth1")]
            ),
            Some(0.0),
            "eth1 is required and has its address"
        );
        assert_eq!(
            set.value(
                "os_network_interface_addresses",
                &[("device", "eth1"), ("family", "ipv4")]
            ),
            Some(1.0)
        );
        assert_eq!(
            set.value(
                "os_network_interface_address_missing",
                &[("device", "eth9")]
            ),
            None,
            "an interface that does not exist has no series"
        );
    }
}
