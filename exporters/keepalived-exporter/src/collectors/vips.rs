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

/// What was found for one VIP of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipFinding {
    /// The VRRP instance.
    pub instance: String,
    /// The VIP.
    pub vip: IpAddr,
    /// Its interface.
    pub interface: String,
    /// That interface's MAC, when it has one.
    pub own_mac: Option<Mac>,
    /// Whether the instance is MASTER.
    pub is_master: bool,
    /// Whether the VIP is on the local interface.
    pub present: bool,
    /// Other MACs claiming the VIP; `None` when it was not probed.
    pub others: Option<Vec<Mac>>,
    /// Why a probe failed.
    pub probe_error: Option<String>,
}

impl VipFinding {
    /// On the local interface although the instance is not MASTER.
    pub fn unexpected(&self) -> bool {
        self.present && !self.is_master
    }

    /// Another MAC claims the VIP this host holds.
    pub fn conflict(&self) -> bool {
        self.others.as_ref().is_some_and(|o| !o.is_empty())
    }
}

/// Checks every VIP of `instances` against the local interfaces, probing held IPv4 VIPs with
/// `prober` when given: those of a MASTER, and also those held unexpectedly when
/// `probe_unexpected` (who else answers for a VIP left behind).
pub fn check(
    instances: &[VrrpInstance],
    ifaces: &[Interface],
    prober: Option<&dyn Prober>,
    probe_unexpected: bool,
) -> Vec<VipFinding> {
    let mut out = Vec::new();
    for inst in instances {
        let is_master = inst.state == Some(VrrpState::Master);
        for vip in &inst.vips {
            let dev = inst.vip_interface(vip);
            let iface = ifaces.iter().find(|i| i.name == dev);
            let mut f = VipFinding {
                instance: inst.name.clone(),
                vip: vip.address,
                interface: dev.to_owned(),
                own_mac: iface.and_then(|i| i.mac),
                is_master,
                present: has_address(ifaces, dev, vip.address),
                others: None,
                probe_error: None,
            };
            if let (Some(prober), true, true, IpAddr::V4(v4), Some(iface)) = (
                prober,
                is_master || probe_unexpected,
                f.present,
                vip.address,
                iface,
            ) {
                match prober.probe(iface, v4) {
                    Ok(macs) => f.others = Some(macs),
                    Err(e) => f.probe_error = Some(e.to_string()),
                }
            }
            out.push(f);
        }
    }
    out
}

/// Adds the VIP families of `findings` (`keepalived_vip_conflict` for a MASTER's VIPs only).
pub fn add_findings(m: &mut MetricSet, findings: &[VipFinding]) {
    for f in findings {
        let addr = f.vip.to_string();
        let labels = [
            ("vrrp_instance", f.instance.as_str()),
            ("vip", addr.as_str()),
            ("interface", f.interface.as_str()),
        ];
        m.add(&PRESENT, &labels, f64::from(u8::from(f.present)));
        m.add(&UNEXPECTED, &labels, f64::from(u8::from(f.unexpected())));
        if let Some(e) = &f.probe_error {
            log::warn!("ARP probe for VIP {addr} on {} failed: {e}", f.interface);
        }
        let (true, Some(others)) = (f.is_master, &f.others) else {
            continue;
        };
        if !others.is_empty() {
            let list: Vec<String> = others.iter().map(mac_string).collect();
            log::warn!(
                "VIP {addr} held by {} on {} is also claimed by {}",
                f.instance,
                f.interface,
                list.join(", ")
            );
        }
        m.add(
            &CONFLICT,
            &[("vip", addr.as_str())],
            f64::from(u8::from(!others.is_empty())),
        );
    }
}

/// Adds the VIP families for `instances` given the local interfaces; probes a MASTER's held
/// IPv4 VIPs with `prober` when given.
pub fn add_metrics(
    m: &mut MetricSet,
    instances: &[VrrpInstance],
    ifaces: &[Interface],
    prober: Option<&dyn Prober>,
) {
    add_findings(m, &check(instances, ifaces, prober, false));
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
    fn a_left_behind_vip_is_probed_for_diagnosis_only() {
        let mut left = inst(VrrpState::Backup);
        left.state = None;
        let found = check(
            std::slice::from_ref(&left),
            &ifaces(true),
            Some(&Fake(vec![[2, 0, 0, 0, 0, 9]])),
            true,
        );
        assert_eq!(found.len(), 1);
        assert!(found[0].unexpected() && found[0].conflict());
        assert_eq!(found[0].own_mac, Some([2, 0, 0, 0, 0, 1]));
        assert_eq!(found[0].others, Some(vec![[2, 0, 0, 0, 0, 9]]));
        let mut m = MetricSet::new();
        add_findings(&mut m, &found);
        assert_eq!(m.value("keepalived_vip_unexpected", &[]), Some(1.0));
        assert!(!m.has("keepalived_vip_conflict"), "only a master's VIPs");
        let not_probed = check(&[left], &ifaces(true), Some(&Fake(vec![[9; 6]])), false);
        assert_eq!(not_probed[0].others, None);
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
