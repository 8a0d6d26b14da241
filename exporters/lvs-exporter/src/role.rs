//! Is this director the active one? Two signals (research note 5.6): a VIP of its services on a
//! local interface other than `lo` (LVS-DR real servers hold the VIP on `lo`, so it proves
//! nothing there), or a VRRP instance keepalived reports MASTER in its dump.

use std::net::IpAddr;

use common::netlink::route::NetState;
use keepalived_exporter::vrrp::{VrrpInstance, VrrpState};

/// What the role was decided from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Role {
    /// Each VIP and whether it is on a local non-loopback interface.
    pub vips: Vec<(IpAddr, bool)>,
    /// Each VRRP instance of the dump and whether it is MASTER.
    pub vrrp: Vec<(String, bool)>,
}

impl Role {
    /// Master: holds a VIP, or a VRRP instance is MASTER.
    pub fn is_master(&self) -> bool {
        self.vips.iter().any(|(_, held)| *held) || self.vrrp.iter().any(|(_, m)| *m)
    }

    /// Whether `vip` is held here.
    pub fn holds(&self, vip: IpAddr) -> bool {
        self.vips.iter().any(|(v, held)| *v == vip && *held)
    }
}

/// Whether `addr` is configured on an interface of `net` other than the loopback.
pub fn held(net: &NetState, addr: IpAddr) -> bool {
    net.addresses
        .iter()
        .any(|a| a.addr == addr && net.link_name(a.index).is_some_and(|n| n != "lo"))
}

/// Decides the role from the VIPs, the interfaces and keepalived's dump (when read).
pub fn decide(vips: &[IpAddr], net: &NetState, dump: &[VrrpInstance]) -> Role {
    let mut vips = vips.to_vec();
    vips.sort();
    vips.dedup();
    Role {
        vips: vips.into_iter().map(|v| (v, held(net, v))).collect(),
        vrrp: dump
            .iter()
            .map(|i| (i.name.clone(), i.state == Some(VrrpState::Master)))
            .collect(),
    }
}

/// Parses a keepalived dump: JSON when it starts with `[`, else the text data dump.
pub fn parse_dump(bytes: &[u8]) -> Result<Vec<VrrpInstance>, String> {
    let text = String::from_utf8_lossy(bytes);
    if text.trim_start().starts_with('[') {
        keepalived_exporter::json_dump::parse(bytes).map_err(|e| e.to_string())
    } else {
        keepalived_exporter::text_dump::parse_data(&text).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::netlink::route::{Address, Link};

    fn net(addrs: &[(u32, &str)]) -> NetState {
        NetState {
            links: vec![
                Link {
                    index: 1,
                    name: "lo".into(),
                    up: true,
                    lower_up: true,
                    kind: None,
                },
                Link {
                    index: 2,
                    name: "eth0".into(),
                    up: true,
                    lower_up: true,
                    kind: None,
                },
            ],
            addresses: addrs
                .iter()
                .map(|(i, a)| Address {
                    index: *i,
                    addr: a.parse().unwrap(),
                    prefix_len: 32,
                })
                .collect(),
            ..NetState::default()
        }
    }

    #[test]
    fn a_vip_on_eth0_makes_master_a_vip_on_lo_does_not() {
        let vip: IpAddr = "10.0.0.3".parse().unwrap();
        let r = decide(&[vip, vip], &net(&[(2, "10.0.0.3")]), &[]);
        assert_eq!(r.vips, vec![(vip, true)]);
        assert!(r.is_master() && r.holds(vip));
        let dr_real_server = decide(&[vip], &net(&[(1, "10.0.0.3")]), &[]);
        assert!(!dr_real_server.is_master());
        assert!(!decide(&[], &net(&[]), &[]).is_master());
    }

    #[test]
    fn the_dump_fixture_decides_without_a_vip() {
        // keepalived 2.2.7's dumps captured by keepalived-exporter's tests (tests/fixtures/README.md).
        for (file, master) in [
            ("master.data", true),
            ("master.json", true),
            ("backup.data", false),
        ] {
            let dump = parse_dump(&crate::fixtures::bytes(file)).unwrap();
            let r = decide(&[], &net(&[]), &dump);
            assert_eq!(r.is_master(), master, "{file}: {r:?}");
            assert_eq!(r.vrrp[0].0, "VI_1");
        }
        assert!(parse_dump(b"[{").is_err());
        assert!(parse_dump(b"partial").is_err());
    }
}
