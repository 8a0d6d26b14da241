//! `os_eth1_route`: whether the resource-tenant interface is up, holds an address, and the
//! kernel would send traffic from that address to each resource-tenant subnet out of it. The
//! decision is worked out the way the kernel makes it (`ip route get <subnet> from <addr>`):
//! policy rules in preference order, each `lookup` rule's table searched by longest prefix, a
//! table without a match falling through to the next rule. So a route deleted, or moved to a
//! table no rule selects, reads 0 even though `/proc/net/route` (main table only) never showed it.

use std::net::IpAddr;

use common::netlink::route::{NetState, Route, Rule};
use serde::Serialize;

use crate::cidr::Cidr;

/// The verdict and its parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct RouteCheck {
    /// The interface checked.
    pub(crate) device: String,
    /// It exists, is administratively up and has carrier.
    pub(crate) link_up: bool,
    /// The address pings and policy rules use (the first global address of the subnets' family).
    pub(crate) address: Option<IpAddr>,
    /// Per subnet: whether the route from `address` goes out of the interface.
    pub(crate) subnets: Vec<(String, bool)>,
    /// What is wrong, for the audit record and the log.
    pub(crate) problems: Vec<String>,
}

impl RouteCheck {
    /// All parts hold.
    pub(crate) fn ok(&self) -> bool {
        self.link_up && self.address.is_some() && self.subnets.iter().all(|(_, ok)| *ok)
    }
}

/// Checks `device` against `subnets` in `state`.
pub(crate) fn check(state: &NetState, device: &str, subnets: &[Cidr]) -> RouteCheck {
    let mut c = RouteCheck {
        device: device.to_owned(),
        link_up: false,
        address: None,
        subnets: Vec::new(),
        problems: Vec::new(),
    };
    let Some(link) = state.link(device) else {
        c.problems.push(format!("no interface {device}"));
        c.subnets = subnets.iter().map(|s| (s.to_string(), false)).collect();
        return c;
    };
    c.link_up = link.up && link.lower_up;
    if !c.link_up {
        c.problems.push(format!(
            "{device} is {} (admin {}, carrier {})",
            "not running",
            if link.up { "up" } else { "down" },
            if link.lower_up { "yes" } else { "no" }
        ));
    }
    let global: Vec<IpAddr> = state
        .addresses_of(link.index)
        .map(|a| a.addr)
        .filter(|a| !link_local(*a))
        .collect();
    let want_v4 = subnets.first().is_none_or(|s| s.is_ipv4());
    c.address = global
        .iter()
        .copied()
        .find(|a| a.is_ipv4() == want_v4)
        .or_else(|| global.first().copied());
    if c.address.is_none() {
        c.problems.push(format!("{device} has no address"));
    }
    for s in subnets {
        let ok = match c.address {
            Some(src) if src.is_ipv4() == s.is_ipv4() => match lookup(state, src, s.network()) {
                Some(r) if r.kind != "unicast" => {
                    c.problems.push(format!(
                        "{s} from {src}: {} route in table {}",
                        r.kind, r.table
                    ));
                    false
                }
                Some(r) => {
                    let out = r.nexthops.iter().any(|h| h.oif == Some(link.index));
                    if !out {
                        let via: Vec<String> = r
                            .nexthops
                            .iter()
                            .map(|h| {
                                h.oif
                                    .and_then(|i| state.link_name(i))
                                    .unwrap_or("?")
                                    .to_owned()
                            })
                            .collect();
                        c.problems.push(format!(
                            "{s} from {src} goes out of {} (table {}), not {device}",
                            via.join(","),
                            r.table
                        ));
                    }
                    out
                }
                None => {
                    c.problems.push(format!(
                        "{s} from {src}: no route in any table a rule selects"
                    ));
                    false
                }
            },
            Some(src) => {
                c.problems.push(format!(
                    "{s}: {device} has no address of its family (only {src})"
                ));
                false
            }
            None => false,
        };
        c.subnets.push((s.to_string(), ok));
    }
    c
}

fn link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    }
}

fn covers(net: Option<IpAddr>, len: u8, ip: IpAddr) -> bool {
    match net {
        None => len == 0,
        Some(n) => Cidr::new(n, len).is_some_and(|c| c.contains(ip)),
    }
}

/// The route the kernel picks for `dst` from `src`: rules by preference, the first table with
/// a matching route wins; `None` when no rule's table has one.
pub(crate) fn lookup(state: &NetState, src: IpAddr, dst: IpAddr) -> Option<&Route> {
    let v6 = dst.is_ipv6();
    let mut rules: Vec<&Rule> = state.rules.iter().filter(|r| r.v6 == v6).collect();
    rules.sort_by_key(|r| r.priority);
    for rule in rules {
        // Interface selectors match only traffic of that interface; a locally generated ping
        // has no input interface, and `oif` rules (VRF) are not part of this scheme.
        if rule.iif.is_some() || rule.oif.is_some() {
            continue;
        }
        if !covers(rule.src, rule.src_len, src) || !covers(rule.dst, rule.dst_len, dst) {
            continue;
        }
        match rule.action.as_str() {
            "to_table" => {
                let best = state
                    .routes
                    .iter()
                    .filter(|r| r.table == rule.table && r.v6 == v6)
                    // Local and broadcast entries describe this host's own addresses.
                    .filter(|r| {
                        !matches!(
                            r.kind.as_str(),
                            "local" | "broadcast" | "multicast" | "anycast"
                        )
                    })
                    .filter(|r| covers(r.dst, r.dst_len, dst))
                    .max_by_key(|r| (r.dst_len, std::cmp::Reverse(r.priority.unwrap_or(0))));
                // A `throw` route sends the lookup on to the next rule, as no match does.
                if let Some(r) = best.filter(|r| r.kind != "throw") {
                    return Some(r);
                }
            }
            // goto/nop: not followed; blackhole/unreachable/prohibit rules end the lookup.
            "goto" | "nop" => {}
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::netlink::route::{Address, Link, NextHop};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn rule(priority: u32, src: Option<&str>, table: u32) -> Rule {
        Rule {
            priority,
            src: src.map(ip),
            src_len: if src.is_some() { 32 } else { 0 },
            dst: None,
            dst_len: 0,
            table,
            action: "to_table".into(),
            iif: None,
            oif: None,
            v6: false,
        }
    }

    fn route(table: u32, dst: Option<&str>, len: u8, oif: u32) -> Route {
        Route {
            table,
            dst: dst.map(ip),
            dst_len: len,
            kind: "unicast".into(),
            nexthops: vec![NextHop {
                gateway: None,
                oif: Some(oif),
            }],
            priority: None,
            v6: false,
        }
    }

    /// The research note's test bed: eth0 (2) with the main default, eth1 (3) 192.168.77.10
    /// with `from 192.168.77.10 lookup 100` and the tenant subnet in table 100.
    fn policy_host() -> NetState {
        let link = |index, name: &str| Link {
            index,
            name: name.into(),
            up: true,
            lower_up: true,
            kind: None,
        };
        NetState {
            links: vec![link(1, "lo"), link(2, "eth0"), link(3, "eth1")],
            addresses: vec![
                Address {
                    index: 2,
                    addr: ip("10.0.0.10"),
                    prefix_len: 24,
                },
                Address {
                    index: 3,
                    addr: ip("192.168.77.10"),
                    prefix_len: 24,
                },
                Address {
                    index: 3,
                    addr: ip("fe80::1"),
                    prefix_len: 64,
                },
            ],
            routes: vec![
                route(254, None, 0, 2),
                route(254, Some("10.0.0.0"), 24, 2),
                route(100, Some("192.168.0.0"), 16, 3),
            ],
            rules: vec![
                rule(0, None, 255),
                rule(100, Some("192.168.77.10"), 100),
                rule(32766, None, 254),
                rule(32767, None, 253),
            ],
            skipped: 0,
        }
    }

    fn subnets() -> Vec<Cidr> {
        vec!["192.168.0.0/16".parse().unwrap()]
    }

    #[test]
    fn a_policy_route_through_eth1_is_right() {
        let c = check(&policy_host(), "eth1", &subnets());
        assert!(c.ok(), "{c:?}");
        assert_eq!(c.address, Some(ip("192.168.77.10")));
    }

    #[test]
    fn a_deleted_policy_route_falls_through_to_main_and_eth0_which_is_wrong() {
        let mut s = policy_host();
        s.routes.retain(|r| r.table != 100);
        let c = check(&s, "eth1", &subnets());
        assert!(!c.ok());
        assert!(
            c.problems[0].contains("goes out of eth0 (table 254)"),
            "{c:?}"
        );
    }

    #[test]
    fn a_route_moved_to_a_table_no_rule_selects_is_wrong() {
        let mut s = policy_host();
        for r in &mut s.routes {
            if r.table == 100 {
                r.table = 200;
            }
        }
        assert!(!check(&s, "eth1", &subnets()).ok());
        // And with no main default either, there is no route at all.
        s.routes.retain(|r| r.table != 254);
        let c = check(&s, "eth1", &subnets());
        assert!(c.problems[0].contains("no route"), "{c:?}");
    }

    #[test]
    fn a_down_or_addressless_or_missing_interface_is_wrong() {
        let mut s = policy_host();
        s.links[2].lower_up = false;
        assert!(!check(&s, "eth1", &subnets()).ok());
        let mut s = policy_host();
        s.addresses.retain(|a| a.index != 3 || link_local(a.addr));
        let c = check(&s, "eth1", &subnets());
        assert_eq!((c.address, c.ok()), (None, false));
        let c = check(&policy_host(), "eth9", &subnets());
        assert_eq!(c.subnets, vec![("192.168.0.0/16".to_owned(), false)]);
    }

    #[test]
    fn an_unreachable_route_is_not_a_route_through_eth1() {
        let mut s = policy_host();
        s.routes[2].kind = "unreachable".into();
        let c = check(&s, "eth1", &subnets());
        assert!(!c.ok());
        assert!(c.problems[0].contains("unreachable"), "{c:?}");
    }
}
