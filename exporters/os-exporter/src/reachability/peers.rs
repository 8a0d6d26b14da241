//! Peer discovery: the remote ends of this host's ESTABLISHED TCP connections (both families),
//! deduplicated and split by the resource-tenant subnets, each with the local address its
//! connection uses (pings leave from it, so policy routing by source picks the same route).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use common::icmp::Target;
use common::netlink::Limits;
use common::netlink::route::NetState;
use common::netlink::sock_diag::{self, TcpStates};
use common::{CollectError, SysPaths};

use crate::cidr::unmapped;
use crate::config::PingConfig;
use crate::parsers::net_tcp;

/// The kernel's `TCP_ESTABLISHED`.
const ESTABLISHED: u64 = 1;

/// One ESTABLISHED connection: local and remote address.
pub(crate) type Conn = (SocketAddr, SocketAddr);

/// The ESTABLISHED connections: sock_diag on a live host, `/proc/net/tcp{,6}` of a fixture tree.
pub(crate) fn established(paths: &SysPaths) -> Result<Vec<Conn>, CollectError> {
    let mut out = Vec::new();
    if paths.procfs == Path::new("/proc") {
        sock_diag::dump_tcp(Limits::default(), TcpStates::ESTABLISHED, |s| {
            out.push((s.local, s.remote));
        })
        .map_err(|e| CollectError::Other(format!("sock_diag dump: {e}")))?;
        return Ok(out);
    }
    for table in ["net/tcp", "net/tcp6"] {
        let Ok(bytes) = paths.read_proc(table) else {
            continue;
        };
        for line in bytes.split(|b| *b == b'\n') {
            if let Some(c) = parse_established(line) {
                out.push(c);
            }
        }
    }
    Ok(out)
}

/// An ESTABLISHED line of `/proc/net/tcp{,6}` as (local, remote).
fn parse_established(line: &[u8]) -> Option<Conn> {
    let q = net_tcp::parse_line(line)?;
    if q.state != ESTABLISHED {
        return None;
    }
    let text = std::str::from_utf8(line).ok()?;
    let mut f = text.split_whitespace().skip(1);
    let local = net_tcp::decode_addr(f.next()?)?.parse().ok()?;
    let remote = net_tcp::decode_addr(f.next()?)?.parse().ok()?;
    Some((local, remote))
}

/// Peers split by the resource-tenant subnets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Peers {
    /// Inside the subnets (document: 资源租户侧).
    pub(crate) internal: Vec<Target>,
    /// Outside (document: 租户侧, or VPN addresses from the tenant side).
    pub(crate) external: Vec<Target>,
    /// Unique peers left out over `max_peers`.
    pub(crate) over_limit: usize,
}

/// Deduplicates the remote addresses of `conns` and classifies them. Left out: unspecified and
/// link-local addresses (no scope to ping them with), `exclude_subnets`, and, unless
/// `include_loopback`, loopback and this host's own addresses. The source of each target is its connection's local address
/// (the lowest one when several connections reach the same peer).
pub(crate) fn classify(conns: &[Conn], own: &NetState, cfg: &PingConfig) -> Peers {
    let (subnets, include_loopback, max_peers) = (
        &cfg.resource_tenant_subnets,
        cfg.include_loopback,
        cfg.max_peers,
    );
    let mine = |ip: IpAddr| own.addresses.iter().any(|a| a.addr == ip);
    let mut unique: BTreeMap<IpAddr, Option<IpAddr>> = BTreeMap::new();
    for (local, remote) in conns {
        let peer = unmapped(remote.ip());
        if peer.is_unspecified() || link_local(peer) || peer.is_multicast() {
            continue;
        }
        if !include_loopback && (peer.is_loopback() || mine(peer)) {
            continue;
        }
        if cfg.exclude_subnets.iter().any(|s| s.contains(peer)) {
            continue;
        }
        let local = unmapped(local.ip());
        // A loopback or wildcard local address leaves the choice to the kernel, as a family
        // mismatch must (a v4-mapped peer on a v6 socket is pinged over IPv4).
        let source =
            (!local.is_loopback() && !local.is_unspecified() && local.is_ipv4() == peer.is_ipv4())
                .then_some(local);
        unique
            .entry(peer)
            .and_modify(|s| {
                if source.is_some() && (s.is_none() || source < *s) {
                    *s = source;
                }
            })
            .or_insert(source);
    }
    let mut peers = Peers::default();
    let total = unique.len();
    for (addr, source) in unique.into_iter().take(max_peers) {
        let t = Target { addr, source };
        if subnets.iter().any(|s| s.contains(addr)) {
            peers.internal.push(t);
        } else {
            peers.external.push(t);
        }
    }
    peers.over_limit = total.saturating_sub(max_peers);
    peers
}

fn link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    }
}

/// The gateways of the main table's default routes (both families), deduplicated.
pub(crate) fn gateways(state: &NetState) -> Vec<IpAddr> {
    let mut gws: Vec<IpAddr> = state
        .routes
        .iter()
        .filter(|r| r.table == common::netlink::route::MAIN_TABLE && r.is_default())
        .flat_map(|r| r.nexthops.iter().filter_map(|h| h.gateway))
        .filter(|g| !link_local(*g))
        .collect();
    gws.sort();
    gws.dedup();
    gws
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::netlink::route::{Address, NextHop, Route};

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn cfg(subnets: &[&str], include_loopback: bool, max_peers: usize) -> PingConfig {
        PingConfig {
            resource_tenant_subnets: subnets.iter().map(|s| s.parse().unwrap()).collect(),
            include_loopback,
            max_peers,
            ..PingConfig::default()
        }
    }

    fn own() -> NetState {
        NetState {
            addresses: vec![Address {
                index: 2,
                addr: "10.0.0.10".parse().unwrap(),
                prefix_len: 24,
            }],
            ..NetState::default()
        }
    }

    #[test]
    fn peers_are_unique_split_by_subnet_and_sourced_from_their_connection() {
        let conns = vec![
            (sa("10.0.0.10:22"), sa("10.20.1.5:50000")),
            (sa("10.0.0.10:22"), sa("10.20.1.5:50001")),
            (sa("10.0.0.10:80"), sa("[::ffff:192.0.2.9]:40000")),
            (sa("[fd00::10]:443"), sa("[fd00::99]:40000")),
            (sa("127.0.0.1:9000"), sa("127.0.0.1:41000")),
            (sa("10.0.0.10:22"), sa("10.0.0.10:41001")),
            (sa("[fe80::1]:22"), sa("[fe80::2]:41002")),
        ];
        let mut c = cfg(&["10.20.0.0/16", "fd00::/8"], false, 100);
        let p = classify(&conns, &own(), &c);
        let t = |a: &str, s: Option<&str>| Target {
            addr: a.parse().unwrap(),
            source: s.map(|s| s.parse().unwrap()),
        };
        assert_eq!(
            p.internal,
            vec![
                t("10.20.1.5", Some("10.0.0.10")),
                t("fd00::99", Some("fd00::10"))
            ]
        );
        assert_eq!(p.external, vec![t("192.0.2.9", Some("10.0.0.10"))]);
        assert_eq!(p.over_limit, 0);
        c.exclude_subnets = vec!["192.0.2.0/24".parse().unwrap()];
        assert!(
            classify(&conns, &own(), &c).external.is_empty(),
            "an excluded network"
        );
    }

    #[test]
    fn loopback_peers_count_only_when_asked_and_the_cap_is_counted() {
        let conns: Vec<Conn> = (1..=5)
            .map(|i| (sa("127.0.0.1:9000"), sa(&format!("127.0.1.{i}:40000"))))
            .collect();
        assert_eq!(
            classify(&conns, &own(), &cfg(&[], false, 10)),
            Peers::default()
        );
        let p = classify(&conns, &own(), &cfg(&[], true, 3));
        assert_eq!(p.external.len(), 3);
        assert_eq!(p.over_limit, 2);
        assert!(p.external.iter().all(|t| t.source.is_none()));
    }

    #[test]
    fn no_connections_no_peers() {
        assert_eq!(classify(&[], &own(), &cfg(&[], true, 10)), Peers::default());
    }

    #[test]
    fn established_lines_of_the_proc_tables_are_read_others_are_not() {
        // /proc/net/tcp lines: a listener, an ESTABLISHED connection, a garbage line.
        let listen = b"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0";
        let estab = b"   1: 0A00000A:0016 0501140A:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0";
        assert_eq!(parse_established(listen), None);
        assert_eq!(
            parse_established(estab),
            Some((sa("10.0.0.10:22"), sa("10.20.1.5:50000")))
        );
        assert_eq!(parse_established(b"garbage"), None);
    }

    #[test]
    fn gateways_are_the_main_tables_default_next_hops() {
        let route = |table: u32, dst_len: u8, gw: &str| Route {
            table,
            dst: None,
            dst_len,
            kind: "unicast".into(),
            nexthops: vec![NextHop {
                gateway: Some(gw.parse().unwrap()),
                oif: Some(2),
            }],
            priority: None,
            v6: false,
        };
        let s = NetState {
            routes: vec![
                route(254, 0, "10.0.0.1"),
                route(254, 0, "10.0.0.1"),
                route(100, 0, "10.20.0.1"),
                route(254, 24, "10.0.0.254"),
                route(254, 0, "fe80::1"),
            ],
            ..NetState::default()
        };
        assert_eq!(gateways(&s), vec!["10.0.0.1".parse::<IpAddr>().unwrap()]);
        assert!(gateways(&NetState::default()).is_empty());
    }
}
