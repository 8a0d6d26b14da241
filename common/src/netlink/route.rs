//! `NETLINK_ROUTE` dumps: the links, addresses, routes of **every** table and policy rules of
//! this network namespace, as `ip link`, `ip addr`, `ip route show table all` and `ip rule` see
//! them. `/proc/net/route` shows the main table only, so a policy route (`ip rule from <addr>
//! lookup 100`) is invisible there.
//!
//! Requests and answers are `netlink-packet-route` types; this file only turns the answers into
//! the small typed structs below (serialisable: they are audit evidence and test fixtures). A
//! message the crate cannot decode is skipped and counted, never the whole dump.

use std::net::IpAddr;

use netlink_packet_core::{DecodeError, ParseableParametrized as _};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteType, RouteVia,
};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use serde::{Deserialize, Serialize};

use super::{Limits, NetlinkError, Protocol, Socket};

/// The main routing table (`ip route` without `table`).
pub const MAIN_TABLE: u32 = 254;

/// One network interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Kernel index.
    pub index: u32,
    /// Name (`eth1`).
    pub name: String,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// Carrier present (`IFF_LOWER_UP`).
    pub lower_up: bool,
    /// The link kind when it has one (`veth`, `bond`, `bridge`).
    #[serde(default)]
    pub kind: Option<String>,
}

/// One address configured on an interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// The interface's index.
    pub index: u32,
    /// The local address (`IFA_LOCAL`, else `IFA_ADDRESS`).
    pub addr: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
}

/// Where a route sends packets: a gateway and/or an interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextHop {
    /// The gateway, absent for a directly connected route.
    pub gateway: Option<IpAddr>,
    /// The output interface's index.
    pub oif: Option<u32>,
}

/// One route of any table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The table (`RTA_TABLE`, so ids above 255 are right).
    pub table: u32,
    /// Destination network, `None` for a default route.
    pub dst: Option<IpAddr>,
    /// Destination prefix length (0 for a default route).
    pub dst_len: u8,
    /// `unicast`, `local`, `broadcast`, `blackhole`, `unreachable`...
    pub kind: String,
    /// Its next hops (several for a multipath route).
    pub nexthops: Vec<NextHop>,
    /// The route metric.
    #[serde(default)]
    pub priority: Option<u32>,
    /// IPv6 (else IPv4).
    pub v6: bool,
}

impl Route {
    /// A unicast default route (`0.0.0.0/0` or `::/0`).
    pub fn is_default(&self) -> bool {
        self.dst_len == 0 && self.kind == "unicast"
    }
}

/// One policy routing rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// Its preference (evaluation order).
    pub priority: u32,
    /// Source selector, `None` for `from all`.
    pub src: Option<IpAddr>,
    /// Source prefix length.
    pub src_len: u8,
    /// Destination selector, `None` for `to all`.
    pub dst: Option<IpAddr>,
    /// Destination prefix length.
    pub dst_len: u8,
    /// The table it looks up (for `to_table` rules).
    pub table: u32,
    /// `to_table`, `goto`, `nop`, `blackhole`, `unreachable`, `prohibit`.
    pub action: String,
    /// Input interface selector (`iif`).
    #[serde(default)]
    pub iif: Option<String>,
    /// Output interface selector (`oif`).
    #[serde(default)]
    pub oif: Option<String>,
    /// IPv6 (else IPv4).
    pub v6: bool,
}

/// The routing state of one network namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetState {
    /// Interfaces.
    pub links: Vec<Link>,
    /// Addresses.
    pub addresses: Vec<Address>,
    /// Routes of every table.
    pub routes: Vec<Route>,
    /// Policy rules.
    pub rules: Vec<Rule>,
    /// Messages of the dumps that could not be decoded (skipped).
    #[serde(default)]
    pub skipped: u64,
}

impl NetState {
    /// The interface named `name`.
    pub fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    /// The name of interface `index`.
    pub fn link_name(&self, index: u32) -> Option<&str> {
        self.links
            .iter()
            .find(|l| l.index == index)
            .map(|l| l.name.as_str())
    }

    /// The addresses of interface `index`.
    pub fn addresses_of(&self, index: u32) -> impl Iterator<Item = &Address> {
        self.addresses.iter().filter(move |a| a.index == index)
    }
}

/// Dumps links, addresses, routes (all tables, both families) and rules over one socket.
pub fn dump(limits: Limits) -> Result<NetState, NetlinkError> {
    let mut sock = Socket::open(Protocol::Route, limits)?;
    let mut state = NetState::default();
    let requests = [
        RouteNetlinkMessage::GetLink(LinkMessage::default()),
        RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        RouteNetlinkMessage::GetRoute(RouteMessage::default()),
        RouteNetlinkMessage::GetRule(RuleMessage::default()),
    ];
    for request in requests {
        sock.dump(request, |kind, payload| {
            add(&mut state, kind, payload);
            Ok::<(), DecodeError>(())
        })?;
    }
    Ok(state)
}

/// Decodes one answer message into `state`; a message that does not decode is counted in
/// [`NetState::skipped`].
pub fn add(state: &mut NetState, kind: u16, payload: &[u8]) {
    match RouteNetlinkMessage::parse_with_param(payload, kind) {
        Ok(RouteNetlinkMessage::NewLink(m)) => state.links.push(link(&m)),
        Ok(RouteNetlinkMessage::NewAddress(m)) => state.addresses.extend(address(&m)),
        Ok(RouteNetlinkMessage::NewRoute(m)) => state.routes.extend(route(&m)),
        Ok(RouteNetlinkMessage::NewRule(m)) => state.rules.push(rule(&m)),
        Ok(_) => {}
        Err(e) => {
            log::debug!("skipping an rtnetlink message of type {kind}: {e}");
            state.skipped += 1;
        }
    }
}

fn link(m: &LinkMessage) -> Link {
    let mut l = Link {
        index: m.header.index,
        name: String::new(),
        up: m.header.flags.contains(LinkFlags::Up),
        lower_up: m.header.flags.contains(LinkFlags::LowerUp),
        kind: None,
    };
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => l.name.clone_from(n),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let LinkInfo::Kind(k) = i {
                        l.kind = Some(kind_name(k));
                    }
                }
            }
            _ => {}
        }
    }
    l
}

fn kind_name(k: &InfoKind) -> String {
    match k {
        InfoKind::Other(s) => s.clone(),
        // The crate's Display is the kernel's kind string (`bond`, `veth`, `bridge`).
        other => other.to_string(),
    }
}

fn address(m: &AddressMessage) -> Option<Address> {
    let mut local = None;
    let mut addr = None;
    for a in &m.attributes {
        match a {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => addr = Some(*ip),
            _ => {}
        }
    }
    Some(Address {
        index: m.header.index,
        addr: local.or(addr)?,
        prefix_len: m.header.prefix_len,
    })
}

fn ip(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn route(m: &RouteMessage) -> Option<Route> {
    let v6 = match m.header.address_family {
        netlink_packet_route::AddressFamily::Inet => false,
        netlink_packet_route::AddressFamily::Inet6 => true,
        _ => return None,
    };
    let mut r = Route {
        table: u32::from(m.header.table),
        dst: None,
        dst_len: m.header.destination_prefix_length,
        kind: route_kind(m.header.kind),
        nexthops: Vec::new(),
        priority: None,
        v6,
    };
    let mut single = NextHop {
        gateway: None,
        oif: None,
    };
    for a in &m.attributes {
        match a {
            RouteAttribute::Table(t) => r.table = *t,
            RouteAttribute::Destination(d) => r.dst = ip(d),
            RouteAttribute::Gateway(g) => single.gateway = ip(g),
            RouteAttribute::Via(RouteVia::Inet(g)) => single.gateway = Some(IpAddr::V4(*g)),
            RouteAttribute::Via(RouteVia::Inet6(g)) => single.gateway = Some(IpAddr::V6(*g)),
            RouteAttribute::Oif(i) => single.oif = Some(*i),
            RouteAttribute::Priority(p) => r.priority = Some(*p),
            RouteAttribute::MultiPath(hops) => {
                for h in hops {
                    let gateway = h.attributes.iter().find_map(|a| match a {
                        RouteAttribute::Gateway(g) => ip(g),
                        RouteAttribute::Via(RouteVia::Inet(g)) => Some(IpAddr::V4(*g)),
                        RouteAttribute::Via(RouteVia::Inet6(g)) => Some(IpAddr::V6(*g)),
                        _ => None,
                    });
                    r.nexthops.push(NextHop {
                        gateway,
                        oif: Some(h.interface_index),
                    });
                }
            }
            _ => {}
        }
    }
    if single.gateway.is_some() || single.oif.is_some() {
        r.nexthops.insert(0, single);
    }
    Some(r)
}

fn route_kind(k: RouteType) -> String {
    match k {
        RouteType::Unicast => "unicast".to_owned(),
        RouteType::Local => "local".to_owned(),
        RouteType::Broadcast => "broadcast".to_owned(),
        RouteType::Anycast => "anycast".to_owned(),
        RouteType::Multicast => "multicast".to_owned(),
        RouteType::BlackHole => "blackhole".to_owned(),
        RouteType::Unreachable => "unreachable".to_owned(),
        RouteType::Prohibit => "prohibit".to_owned(),
        RouteType::Throw => "throw".to_owned(),
        other => format!("{}", u8::from(other)),
    }
}

fn rule(m: &RuleMessage) -> Rule {
    let mut r = Rule {
        priority: 0,
        src: None,
        src_len: m.header.src_len,
        dst: None,
        dst_len: m.header.dst_len,
        table: u32::from(m.header.table),
        action: match m.header.action {
            RuleAction::ToTable => "to_table".to_owned(),
            RuleAction::Goto => "goto".to_owned(),
            RuleAction::Nop => "nop".to_owned(),
            RuleAction::Blackhole => "blackhole".to_owned(),
            RuleAction::Unreachable => "unreachable".to_owned(),
            RuleAction::Prohibit => "prohibit".to_owned(),
            other => format!("{}", u8::from(other)),
        },
        iif: None,
        oif: None,
        v6: m.header.family == netlink_packet_route::AddressFamily::Inet6,
    };
    for a in &m.attributes {
        match a {
            RuleAttribute::Priority(p) => r.priority = *p,
            RuleAttribute::Source(s) => r.src = Some(*s),
            RuleAttribute::Destination(d) => r.dst = Some(*d),
            RuleAttribute::Table(t) => r.table = *t,
            RuleAttribute::Iifname(n) => r.iif = Some(n.clone()),
            RuleAttribute::Oifname(n) => r.oif = Some(n.clone()),
            _ => {}
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_namespace_has_a_loopback_link_its_address_and_the_default_rules() {
        let s = dump(Limits::default()).unwrap();
        let lo = s.link("lo").expect("lo");
        assert!(lo.up);
        assert!(
            s.addresses_of(lo.index)
                .any(|a| a.addr == IpAddr::from([127, 0, 0, 1]) && a.prefix_len == 8)
        );
        // `ip rule` always has `32766: from all lookup main`.
        assert!(
            s.rules
                .iter()
                .any(|r| r.table == MAIN_TABLE && r.src.is_none() && r.action == "to_table"),
            "{:?}",
            s.rules
        );
        // The local table holds 127.0.0.1 as a local route.
        assert!(
            s.routes
                .iter()
                .any(|r| r.table == 255 && r.kind == "local" && !r.v6),
            "{:?}",
            s.routes
        );
        assert_eq!(s.skipped, 0);
    }

    #[test]
    fn an_undecodable_message_is_counted_not_fatal() {
        let mut s = NetState::default();
        // RTM_NEWROUTE (24) with a payload shorter than its 12-byte header.
        add(&mut s, 24, &[2, 0, 0]);
        assert_eq!(s.skipped, 1);
        assert!(s.routes.is_empty());
    }

    #[test]
    fn a_state_round_trips_through_json() {
        let s = NetState {
            links: vec![Link {
                index: 2,
                name: "eth1".into(),
                up: true,
                lower_up: true,
                kind: Some("veth".into()),
            }],
            routes: vec![Route {
                table: 100,
                dst: None,
                dst_len: 0,
                kind: "unicast".into(),
                nexthops: vec![NextHop {
                    gateway: Some(IpAddr::from([192, 168, 77, 1])),
                    oif: Some(2),
                }],
                priority: None,
                v6: false,
            }],
            ..NetState::default()
        };
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<NetState>(&text).unwrap(), s);
        assert!(s.routes[0].is_default());
    }
}
