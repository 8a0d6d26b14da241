//! The IPVS table as both sources (netlink and `/proc/net/ip_vs`) are parsed into: virtual
//! services, their real servers and, from netlink only, 64-bit counters.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A virtual service's transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// TCP (`IPPROTO_TCP`).
    Tcp,
    /// UDP (`IPPROTO_UDP`).
    Udp,
    /// SCTP (`IPPROTO_SCTP`).
    Sctp,
}

impl Protocol {
    /// The lower-case name used in `service` labels.
    pub fn label(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }

    /// From an IP protocol number.
    pub fn from_number(n: u16) -> Option<Self> {
        match n {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            132 => Some(Protocol::Sctp),
            _ => None,
        }
    }

    /// The IP protocol number.
    pub fn number(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }

    /// From a name in any case (`TCP`, `udp`).
    pub fn from_name(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            "sctp" => Some(Protocol::Sctp),
            _ => None,
        }
    }
}

/// What identifies a virtual service: protocol, address and port, or a firewall mark of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceKey {
    /// `-t/-u/--sctp-service addr:port`.
    Addr {
        /// Its protocol.
        protocol: Protocol,
        /// The virtual IP.
        addr: IpAddr,
        /// The virtual port.
        port: u16,
    },
    /// `-f mark` (with `-6` for an IPv6 one).
    Fwmark {
        /// The mark.
        mark: u32,
        /// Whether it balances IPv6 packets.
        ipv6: bool,
    },
}

impl ServiceKey {
    /// The protocol label: `tcp`, `udp`, `sctp` or `fwmark`.
    pub fn protocol_label(&self) -> &'static str {
        match self {
            ServiceKey::Addr { protocol, .. } => protocol.label(),
            ServiceKey::Fwmark { .. } => "fwmark",
        }
    }

    /// The virtual IP, for address services.
    pub fn vip(&self) -> Option<IpAddr> {
        match self {
            ServiceKey::Addr { addr, .. } => Some(*addr),
            ServiceKey::Fwmark { .. } => None,
        }
    }
}

/// `tcp/10.0.0.1:80`, `udp/[2001:db8::1]:53`, `fwmark/7`, `fwmark6/7`: the `service` label and
/// the configuration's syntax.
impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr {
                protocol,
                addr: IpAddr::V4(a),
                port,
            } => write!(f, "{}/{a}:{port}", protocol.label()),
            ServiceKey::Addr {
                protocol,
                addr: IpAddr::V6(a),
                port,
            } => write!(f, "{}/[{a}]:{port}", protocol.label()),
            ServiceKey::Fwmark { mark, ipv6: false } => write!(f, "fwmark/{mark}"),
            ServiceKey::Fwmark { mark, ipv6: true } => write!(f, "fwmark6/{mark}"),
        }
    }
}

/// Why a service string does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a service (tcp/ADDR:PORT, udp/[V6]:PORT, sctp/..., fwmark/N, fwmark6/N)")]
pub struct ServiceKeyError(pub String);

impl FromStr for ServiceKey {
    type Err = ServiceKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ServiceKeyError(s.to_owned());
        let (kind, rest) = s.split_once('/').ok_or_else(err)?;
        match kind.to_ascii_lowercase().as_str() {
            "fwmark" | "fwmark6" => Ok(ServiceKey::Fwmark {
                mark: rest.parse().map_err(|_| err())?,
                ipv6: kind.eq_ignore_ascii_case("fwmark6"),
            }),
            name => {
                let protocol = Protocol::from_name(name).ok_or_else(err)?;
                let sa: std::net::SocketAddr = rest.parse().map_err(|_| err())?;
                Ok(ServiceKey::Addr {
                    protocol,
                    addr: sa.ip(),
                    port: sa.port(),
                })
            }
        }
    }
}

/// How a real server is reached (`ipvsadm -g/-i/-m`, the kernel's `IP_VS_CONN_F_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forward {
    /// NAT (`Masq`).
    Masq,
    /// The director itself (`Local`).
    Local,
    /// IP-in-IP (`Tunnel`).
    Tunnel,
    /// Direct routing (`Route`, "DR").
    Route,
    /// Bypass (not configurable with ipvsadm).
    Bypass,
}

impl Forward {
    /// The label value: the word `/proc/net/ip_vs` prints, lower case.
    pub fn label(self) -> &'static str {
        match self {
            Forward::Masq => "masq",
            Forward::Local => "local",
            Forward::Tunnel => "tunnel",
            Forward::Route => "route",
            Forward::Bypass => "bypass",
        }
    }

    /// From `IP_VS_CONN_F_FWD_MASK` bits.
    pub fn from_code(code: u32) -> Option<Self> {
        match code & 0x7 {
            0 => Some(Forward::Masq),
            1 => Some(Forward::Local),
            2 => Some(Forward::Tunnel),
            3 => Some(Forward::Route),
            4 => Some(Forward::Bypass),
            _ => None,
        }
    }

    /// From the word `/proc/net/ip_vs` prints.
    pub fn from_word(w: &str) -> Option<Self> {
        match w {
            "Masq" => Some(Forward::Masq),
            "Local" => Some(Forward::Local),
            "Tunnel" => Some(Forward::Tunnel),
            "Route" => Some(Forward::Route),
            "Bypass" => Some(Forward::Bypass),
            _ => None,
        }
    }
}

/// Cumulative counters of a service, a real server or the whole table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Packets in.
    pub in_packets: u64,
    /// Packets out (zero for DR and tunnel: replies bypass the director).
    pub out_packets: u64,
    /// Bytes in.
    pub in_bytes: u64,
    /// Bytes out.
    pub out_bytes: u64,
}

/// One real server of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServer {
    /// Its address.
    pub addr: IpAddr,
    /// Its port (0 for a fwmark service's real server given without one).
    pub port: u16,
    /// Forwarding method (`None`: a code this reader does not know).
    pub forward: Option<Forward>,
    /// Weight; 0 means drained (no new connections).
    pub weight: i64,
    /// Connections in ESTABLISHED state.
    pub active_conns: u64,
    /// Other connections.
    pub inactive_conns: u64,
    /// Counters (netlink only).
    pub stats: Option<Stats>,
}

impl RealServer {
    /// The `real_server` label: `10.0.0.2:80`, `[2001:db8::2]:80`.
    pub fn label(&self) -> String {
        std::net::SocketAddr::new(self.addr, self.port).to_string()
    }
}

/// A persistent service's timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// In seconds (netlink).
    Seconds(u32),
    /// In kernel jiffies (`/proc/net/ip_vs`; `CONFIG_HZ` is not visible from userspace).
    Jiffies(u32),
}

impl Persistence {
    /// The `persistent` label: seconds when known, else `unknown`.
    pub fn label(self) -> String {
        match self {
            Persistence::Seconds(s) => s.to_string(),
            Persistence::Jiffies(_) => "unknown".to_owned(),
        }
    }
}

/// One virtual service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// What identifies it.
    pub key: ServiceKey,
    /// The scheduler (`wlc`, `rr`...).
    pub scheduler: String,
    /// Whether it is persistent, and its timeout in seconds when the source gives seconds
    /// (`/proc/net/ip_vs` prints the kernel's jiffies, whose rate userspace cannot know).
    pub persistence: Option<Persistence>,
    /// Its real servers.
    pub real_servers: Vec<RealServer>,
    /// Counters (netlink only).
    pub stats: Option<Stats>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_strings_round_trip() {
        for s in [
            "tcp/10.0.0.1:80",
            "udp/[2001:db8::1]:53",
            "sctp/10.0.0.3:9",
            "fwmark/7",
            "fwmark6/7",
        ] {
            assert_eq!(s.parse::<ServiceKey>().unwrap().to_string(), s);
        }
        assert_eq!(
            "TCP/10.0.0.1:80".parse::<ServiceKey>().unwrap().to_string(),
            "tcp/10.0.0.1:80"
        );
        for bad in [
            "",
            "tcp",
            "tcp/10.0.0.1",
            "icmp/1.2.3.4:5",
            "fwmark/x",
            "tcp/[::1]",
        ] {
            assert!(bad.parse::<ServiceKey>().is_err(), "{bad}");
        }
    }

    #[test]
    fn forward_codes_and_words() {
        assert_eq!(Forward::from_code(3), Some(Forward::Route));
        assert_eq!(Forward::from_code(0x100 | 2), Some(Forward::Tunnel));
        assert_eq!(Forward::from_code(7), None);
        assert_eq!(Forward::from_word("Masq"), Some(Forward::Masq));
        assert_eq!(Forward::from_word("DR"), None);
    }
}
