//! Document 001 §3.1.2.2: keepalived on tenant-facing services must send its VRRP adverts in the
//! resource-tenant subnet, never the tenant's, where a tenant's own VRRP would collide. Per
//! `vrrp_instance`: the advert source (`unicast_src_ip`, `mcast_src_ip`, else the first address
//! of the instance's interface) and every `unicast_peer` must lie in a configured subnet.

use std::net::IpAddr;

use common::netlink::route::NetState;
use ipnet::IpNet;
use keepalived_exporter::conf_file::{ConfInstance, KeepalivedConf};

/// The verdict for one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Instance name.
    pub instance: String,
    /// The addresses checked (advert source first, when known, then the peers).
    pub checked: Vec<IpAddr>,
    /// Those outside every subnet.
    pub outside: Vec<IpAddr>,
}

fn source(inst: &ConfInstance, net: Option<&NetState>) -> Option<IpAddr> {
    inst.advert_src_ip.or_else(|| {
        let net = net?;
        let link = net.link(inst.interface.as_deref()?)?;
        let v6 = inst.unicast_peers.first().is_some_and(IpAddr::is_ipv6);
        net.addresses_of(link.index).map(|a| a.addr).find(|a| {
            a.is_ipv6() == v6 && !matches!(a, IpAddr::V6(v) if v.segments()[0] & 0xffc0 == 0xfe80)
        })
    })
}

/// Lints every instance of `conf` against `subnets`; `net` gives interface addresses.
pub fn lint(conf: &KeepalivedConf, subnets: &[IpNet], net: Option<&NetState>) -> Vec<Verdict> {
    conf.instances
        .iter()
        .map(|inst| {
            let mut checked: Vec<IpAddr> = source(inst, net).into_iter().collect();
            checked.extend(inst.unicast_peers.iter().copied());
            let outside = checked
                .iter()
                .copied()
                .filter(|a| !subnets.iter().any(|s| s.contains(a)))
                .collect();
            Verdict {
                instance: inst.name.clone(),
                checked,
                outside,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::netlink::route::{Address, Link};

    const CONF: &str = r#"
vrrp_instance GOOD {
    interface eth1
    unicast_src_ip 192.168.10.11
    unicast_peer { 192.168.10.12 }
}
vrrp_instance PEER_OUTSIDE {
    interface eth1
    unicast_src_ip 192.168.10.11
    unicast_peer {
        192.168.10.12
        10.202.50.7
    }
}
vrrp_instance MCAST_ON_TENANT {
    interface eth0
}
"#;

    #[test]
    fn peers_and_sources_outside_the_tenant_subnet_are_flagged() {
        let conf = keepalived_exporter::conf_file::parse(CONF);
        let subnets: Vec<IpNet> = vec!["192.168.10.0/24".parse().unwrap()];
        let net = NetState {
            links: vec![Link {
                index: 2,
                name: "eth0".into(),
                up: true,
                lower_up: true,
                kind: None,
            }],
            addresses: vec![Address {
                index: 2,
                addr: "10.202.50.2".parse().unwrap(),
                prefix_len: 24,
            }],
            ..NetState::default()
        };
        let v = lint(&conf, &subnets, Some(&net));
        assert!(v[0].outside.is_empty());
        assert_eq!(v[0].checked.len(), 2);
        assert_eq!(v[1].outside, vec!["10.202.50.7".parse::<IpAddr>().unwrap()]);
        assert_eq!(v[2].checked, vec!["10.202.50.2".parse::<IpAddr>().unwrap()]);
        assert_eq!(
            v[2].outside.len(),
            1,
            "multicast from the tenant-side interface"
        );
        let unknown = lint(&conf, &subnets, None);
        assert!(unknown[2].checked.is_empty());
    }
}
