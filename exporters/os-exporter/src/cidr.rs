//! An IP network in CIDR notation (`10.20.0.0/16`, `fd00::/8`), for the resource-tenant subnets.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    addr: IpAddr,
    len: u8,
}

impl Cidr {
    /// `addr/len`, `None` when `len` is too long for the family.
    pub(crate) fn new(addr: IpAddr, len: u8) -> Option<Self> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (len <= max).then_some(Self { addr, len })
    }

    /// An IPv4 network.
    pub(crate) fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// The network's first address (the host bits cleared).
    pub(crate) fn network(&self) -> IpAddr {
        let mask = |octets: &mut [u8]| {
            for (i, o) in octets.iter_mut().enumerate() {
                let bits = usize::from(self.len).saturating_sub(i * 8).min(8);
                *o &= if bits == 0 { 0 } else { 0xffu8 << (8 - bits) };
            }
        };
        match self.addr {
            IpAddr::V4(v4) => {
                let mut o = v4.octets();
                mask(&mut o);
                IpAddr::from(o)
            }
            IpAddr::V6(v6) => {
                let mut o = v6.octets();
                mask(&mut o);
                IpAddr::from(o)
            }
        }
    }

    /// Whether `ip` is inside (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = unmapped(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(a)) => prefix_eq(&net.octets(), &a.octets(), self.len),
            (IpAddr::V6(net), IpAddr::V6(a)) => prefix_eq(&net.octets(), &a.octets(), self.len),
            _ => false,
        }
    }
}

/// `::ffff:a.b.c.d` as `a.b.c.d`, anything else unchanged.
pub(crate) fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn prefix_eq(a: &[u8], b: &[u8], len: u8) -> bool {
    let full = usize::from(len / 8);
    if a.get(..full) != b.get(..full) {
        return false;
    }
    let rest = len % 8;
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    matches!((a.get(full), b.get(full)), (Some(x), Some(y)) if x & mask == y & mask)
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, len) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not an address/prefix (e.g. 10.20.0.0/16)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = if len.is_empty() {
            max
        } else {
            len.trim()
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0..={max}"))?
        };
        Ok(Self { addr, len })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl<'de> serde::Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn membership_follows_the_prefix_bits() {
        assert!(c("10.20.0.0/16").contains("10.20.255.1".parse().unwrap()));
        assert!(!c("10.20.0.0/16").contains("10.21.0.1".parse().unwrap()));
        assert!(c("192.168.77.0/25").contains("192.168.77.127".parse().unwrap()));
        assert!(!c("192.168.77.0/25").contains("192.168.77.128".parse().unwrap()));
        assert!(c("0.0.0.0/0").contains("8.8.8.8".parse().unwrap()));
        assert!(c("fd00::/8").contains("fd12::1".parse().unwrap()));
        assert!(!c("fd00::/8").contains("10.0.0.1".parse().unwrap()));
        assert!(c("10.0.0.5").contains("10.0.0.5".parse().unwrap()));
        assert!(
            c("10.20.0.0/16").contains("::ffff:10.20.1.1".parse().unwrap()),
            "a v4-mapped peer of a dual-stack socket is its IPv4 address"
        );
    }

    #[test]
    fn bad_networks_are_rejected_with_the_text() {
        assert!(
            "10.0.0.0/33"
                .parse::<Cidr>()
                .unwrap_err()
                .contains("0..=32")
        );
        assert!("eth1".parse::<Cidr>().unwrap_err().contains("\"eth1\""));
        assert_eq!(c("fd00::/8").to_string(), "fd00::/8");
        assert_eq!(c("10.20.3.4/16").network().to_string(), "10.20.0.0");
        assert_eq!(c("10.20.3.4/0").network().to_string(), "0.0.0.0");
        assert_eq!(c("fd12:3456::1/20").network().to_string(), "fd12:3000::");
    }
}
