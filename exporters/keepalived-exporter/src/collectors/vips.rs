//! VIPs on the wire: is each VIP on the local interface, wrongly present on a node that is not
//! master, and does any other MAC claim a VIP this master holds (the document's question in
//! 3.1.3: "if a VIP is bound to another MAC, can the master find out?").

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use common::{Desc, MetricSet};

use crate::arp::{Mac, mac_string};
use crate::ifaddr::{Interface, has_address};
use crate::vrrp::{VrrpInstance, VrrpState};

/// `keepalived_vip_present`, emitted by the `vrrp` collector.
pub(crate) const PRESENT: Desc = Desc::gauge(
    "keepalived_vip_present",
    "1",
    "Whether the VIP is configured on its local interface (1) or not (0).",
);
/// `keepalived_vip_unexpected`, emitted by the `vrrp` collector.
pub(crate) const UNEXPECTED: Desc = Desc::gauge(
    "keepalived_vip_unexpected",
    "1",
    "1 when the VIP is on the local interface although this instance is not MASTER (split brain or a VIP left behind).",
);
/// `keepalived_vip_conflict`, emitted by the `vrrp` collector.
pub(crate) const CONFLICT: Desc = Desc::gauge(
    "keepalived_vip_conflict",
    "1",
    "1 when another MAC answered an ARP probe for (or announced) a VIP this master holds, else 0.",
);

/// Sends ARP probes; a trait so the logic is tested without raw sockets.
pub trait Prober {
    /// MACs other than `iface`'s own that claim `vip` on `iface`.
    fn probe(&self, iface: &Interface, vip: Ipv4Addr) -> std::io::Result<Vec<Mac>>;
}

/// The real prober: one probe per VIP on a raw packet socket, listening for `wait`.
#[derive(Debug)]
pub struct ArpProber {
    /// How long to listen for replies.
    pub wait: std::time::Duration,
    /// Stop probing after this instant.
    pub deadline: Instant,
}

impl Prober for ArpProber {
    fn probe(&self, iface: &Interface, vip: Ipv4Addr) -> std::io::Result<Vec<Mac>> {
        let own = iface
            .mac
            .ok_or_else(|| std::io::Error::other(format!("{} has no MAC address", iface.name)))?;
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "scrape deadline reached",
            ));
        }
        crate::arp::probe(iface.index, &own, vip, self.wait.min(left))
    }
}

/// Adds the VIP families for `instances` given the local interfaces; probes held IPv4 VIPs with
/// `prober` when given.
pub fn add_metrics(
    m: &mut MetricSet,
    instances: &[VrrpInstance],
    ifaces: &[Interface],
    prober: Option<&dyn Prober>,
) {
    for inst in instances {
        let is_master = inst.state == Some(VrrpState::Master);
        for vip in &inst.vips {
            let dev = inst.vip_interface(vip);
            let addr = vip.address.to_string();
            let labels = [
                ("vrrp_instance", inst.name.as_str()),
                ("vip", addr.as_str()),
                ("interface", dev),
            ];
            let present = has_address(ifaces, dev, vip.address);
            m.add(&PRESENT, &labels, f64::from(u8::from(present)));
            m.add(
                &UNEXPECTED,
                &labels,
                f64::from(u8::from(present && !is_master)),
            );
            let (Some(prober), true, true, IpAddr::V4(v4)) =
                (prober, is_master, present, vip.address)
            else {
                continue;
            };
            let Some(iface) = ifaces.iter().find(|i| i.name == dev) else {
                continue;
            };
            match prober.probe(iface, v4) {
                Ok(macs) => {
                    if !macs.is_empty() {
                        let list: Vec<String> = macs.iter().map(mac_string).collect();
                        log::warn!(
                            "VIP {addr} held by {} on {dev} is also claimed by {}",
                            inst.name,
                            list.join(", ")
                        );
                    }
                    m.add(
                        &CONFLICT,
                        &[("vip", addr.as_str())],
                        f64::from(u8::from(!macs.is_empty())),
                    );
                }
                Err(e) => log::warn!("ARP probe for VIP {addr} on {dev} failed: {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::Vip;

    struct Fake(Vec<Mac>);
    impl Prober for Fake {
        fn probe(&self, _: &Interface, _: Ipv4Addr) -> std::io::Result<Vec<Mac>> {
            Ok(self.0.clone())
        }
    }

    fn inst(state: VrrpState) -> VrrpInstance {
        VrrpInstance {
            name: "VI_1".into(),
            interface: "eth0".into(),
            vrid: 51,
            state: Some(state),
            vips: vec![Vip {
                address: "10.77.0.100".parse().unwrap(),
                interface: None,
            }],
            ..VrrpInstance::default()
        }
    }

    fn ifaces(with_vip: bool) -> Vec<Interface> {
        let mut addresses = vec!["10.77.0.2".parse().unwrap()];
        if with_vip {
            addresses.push("10.77.0.100".parse().unwrap());
        }
        vec![Interface {
            name: "eth0".into(),
            index: 2,
            mac: Some([2, 0, 0, 0, 0, 1]),
            addresses,
        }]
    }

    #[test]
    fn master_holding_the_vip_with_a_conflict() {
        let mut m = MetricSet::new();
        add_metrics(
            &mut m,
            &[inst(VrrpState::Master)],
            &ifaces(true),
            Some(&Fake(vec![[2, 0, 0, 0, 0, 9]])),
        );
        assert_eq!(
            m.value("keepalived_vip_present", &[("vip", "10.77.0.100")]),
            Some(1.0)
        );
        assert_eq!(m.value("keepalived_vip_unexpected", &[]), Some(0.0));
        assert_eq!(
            m.value("keepalived_vip_conflict", &[("vip", "10.77.0.100")]),
            Some(1.0)
        );
        let mut m = MetricSet::new();
        add_metrics(
            &mut m,
            &[inst(VrrpState::Master)],
            &ifaces(true),
            Some(&Fake(vec![])),
        );
        assert_eq!(
            m.value("keepalived_vip_conflict", &[("vip", "10.77.0.100")]),
            Some(0.0)
        );
    }

    #[test]
    fn backup_is_not_probed_and_a_left_behind_vip_is_flagged() {
        let mut m = MetricSet::new();
        add_metrics(
            &mut m,
            &[inst(VrrpState::Backup)],
            &ifaces(false),
            Some(&Fake(vec![[9; 6]])),
        );
        assert_eq!(m.value("keepalived_vip_present", &[]), Some(0.0));
        assert_eq!(m.value("keepalived_vip_unexpected", &[]), Some(0.0));
        assert!(!m.has("keepalived_vip_conflict"));
        let mut m = MetricSet::new();
        add_metrics(
            &mut m,
            &[inst(VrrpState::Fault)],
            &ifaces(true),
            Some(&Fake(vec![[9; 6]])),
        );
        assert_eq!(m.value("keepalived_vip_unexpected", &[]), Some(1.0));
        assert!(!m.has("keepalived_vip_conflict"));
    }

    #[test]
    fn master_without_its_vip_is_not_probed() {
        let mut m = MetricSet::new();
        add_metrics(
            &mut m,
            &[inst(VrrpState::Master)],
            &ifaces(false),
            Some(&Fake(vec![[9; 6]])),
        );
        assert_eq!(m.value("keepalived_vip_present", &[]), Some(0.0));
        assert!(!m.has("keepalived_vip_conflict"));
    }
}
