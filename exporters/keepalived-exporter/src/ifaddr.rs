//! Parses `ip -j addr show`: the addresses, MAC and index of each interface of this network
//! namespace (where VIPs appear when keepalived sets them).

use std::net::IpAddr;

use serde::Deserialize;

use crate::arp::{Mac, parse_mac};

/// One interface.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Interface {
    /// Name (`eth0`).
    pub name: String,
    /// Kernel index.
    pub index: u32,
    /// Link-layer address, when it is an Ethernet-style MAC.
    pub mac: Option<Mac>,
    /// Configured addresses.
    pub addresses: Vec<IpAddr>,
}

#[derive(Deserialize)]
struct RawLink {
    #[serde(default)]
    ifindex: u32,
    #[serde(default)]
    ifname: String,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    addr_info: Vec<RawAddr>,
}

#[derive(Deserialize)]
struct RawAddr {
    #[serde(default)]
    local: Option<String>,
}

/// Parses the JSON iproute2 prints; entries it cannot read are skipped.
pub fn parse(json: &[u8]) -> Result<Vec<Interface>, serde_json::Error> {
    let links: Vec<serde_json::Value> = serde_json::from_slice(json)?;
    Ok(links
        .into_iter()
        .filter_map(|v| serde_json::from_value::<RawLink>(v).ok())
        .filter(|l| !l.ifname.is_empty())
        .map(|l| Interface {
            name: l.ifname,
            index: l.ifindex,
            mac: l.address.as_deref().and_then(parse_mac),
            addresses: l
                .addr_info
                .iter()
                .filter_map(|a| a.local.as_deref()?.parse().ok())
                .collect(),
        })
        .collect())
}

/// Whether `addr` is configured on `interface`.
pub fn has_address(ifaces: &[Interface], interface: &str, addr: IpAddr) -> bool {
    ifaces
        .iter()
        .any(|i| i.name == interface && i.addresses.contains(&addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_ip_json() {
        // `ip -j addr show` in node b's namespace while it held the VIP (iproute2 6.1).
        let text = crate::fixtures::bytes("ip-addr.json");
        let v = parse(&text).unwrap();
        let eth0 = v.iter().find(|i| i.name == "eth0").unwrap();
        assert!(eth0.mac.is_some());
        assert!(has_address(&v, "eth0", "10.77.0.100".parse().unwrap()));
        assert!(!has_address(&v, "lo", "10.77.0.100".parse().unwrap()));
        assert!(
            parse(b"[{\"ifname\":\"x\",\"ifindex\":\"bad\"},{}]")
                .unwrap()
                .is_empty()
        );
        assert!(parse(b"not json").is_err());
    }
}
