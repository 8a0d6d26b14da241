//! Audit check on the resource-tenant route (`os_eth1_route`): when the check turns bad (or is
//! bad at the first pass), one record with what is wrong and the evidence an engineer would
//! collect by hand: the interface's link and addresses, every policy rule and the routes of
//! every table (`ip rule; ip route show table all`).

use common::audit::AuditRecord;
use common::netlink::route::NetState;
use common::{CollectError, SysPaths};
use serde_json::json;

use crate::config::Config;
use crate::reachability::tenant_route;

/// Whether the previous pass found the route right (`None` before the first pass).
#[derive(Default)]
pub(super) struct State {
    was_ok: Option<bool>,
}

/// A record when the route check turns bad; nothing while it stays bad or is right, and
/// nothing when no resource-tenant subnet is configured.
pub(super) fn check(
    paths: &SysPaths,
    config: &Config,
    state: &mut State,
) -> Result<Vec<AuditRecord>, CollectError> {
    let subnets = &config.ping.resource_tenant_subnets;
    if subnets.is_empty() {
        return Ok(Vec::new());
    }
    let net = crate::netstate::read(paths)?;
    Ok(evaluate(&net, config, state))
}

fn evaluate(net: &NetState, config: &Config, state: &mut State) -> Vec<AuditRecord> {
    let device = &config.network.resource_tenant_interface;
    let c = tenant_route::check(net, device, &config.ping.resource_tenant_subnets);
    let ok = c.ok();
    let turned_bad = !ok && state.was_ok != Some(false);
    state.was_ok = Some(ok);
    if !turned_bad {
        return Vec::new();
    }
    let link = net.link(device);
    vec![AuditRecord {
        check: "eth1_route".into(),
        threshold: "resource-tenant subnets routed through the interface".into(),
        observed: 0.0,
        evidence: json!({
            "device": device,
            "check": c,
            "link": link,
            "addresses": link.map(|l| net.addresses_of(l.index).collect::<Vec<_>>()),
            "rules": net.rules,
            "routes": net.routes,
        }),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::fixture;

    fn config() -> Config {
        let mut c = Config::default();
        c.ping.resource_tenant_subnets = vec!["192.168.0.0/16".parse().unwrap()];
        c
    }

    #[test]
    fn one_record_when_the_route_turns_bad_with_the_rules_and_routes_of_every_table() {
        let mut net = crate::netstate::read(&fixture("net")).unwrap();
        let cfg = config();
        let mut st = State::default();
        assert!(
            evaluate(&net, &cfg, &mut st).is_empty(),
            "right at the first pass"
        );
        net.routes.retain(|r| r.table != 100);
        let r = evaluate(&net, &cfg, &mut st);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].check, "eth1_route");
        assert!(r[0].evidence["rules"].as_array().unwrap().len() >= 3);
        assert!(
            r[0].evidence["check"]["problems"][0]
                .as_str()
                .unwrap()
                .contains("192.168.0.0/16")
        );
        assert!(
            evaluate(&net, &cfg, &mut st).is_empty(),
            "once per transition"
        );
    }
}
