//! ARP probing of a VIP on a raw packet socket: who else answers for an address we hold?
//!
//! The document's incidents (3.1.5) end with the VIP bound to the wrong MAC after a brief split
//! brain. A master that sends an RFC 5227 ARP probe (sender IP 0.0.0.0, so no neighbour cache is
//! changed anywhere) for each VIP it holds learns which MACs claim it: any reply, or any ARP
//! announcement with the VIP as sender, from a MAC other than its own is a conflict.

use std::io::Read as _;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, SockAddrStorage, Socket, Type};

/// A MAC address.
pub type Mac = [u8; 6];

const ETH_P_ARP: u16 = 0x0806;
const FRAME_LEN: usize = 42;

/// Formats a MAC the usual way.
pub fn mac_string(mac: &Mac) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(s: &str) -> Option<Mac> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut mac {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// The Ethernet frame of an ARP probe for `target` from `src_mac` (broadcast, sender IP 0).
pub fn probe_frame(src_mac: &Mac, target: Ipv4Addr) -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(src_mac);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    f[14..16].copy_from_slice(&1u16.to_be_bytes()); // hardware: Ethernet
    f[16..18].copy_from_slice(&0x0800u16.to_be_bytes()); // protocol: IPv4
    f[18] = 6;
    f[19] = 4;
    f[20..22].copy_from_slice(&1u16.to_be_bytes()); // request
    f[22..28].copy_from_slice(src_mac);
    // Sender IP 0.0.0.0 and target MAC 0 stay zero.
    f[38..42].copy_from_slice(&target.octets());
    f
}

/// An ARP packet seen on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpPacket {
    /// 1 request, 2 reply.
    pub op: u16,
    /// Sender MAC (the ARP field, not the Ethernet source).
    pub sender_mac: Mac,
    /// Sender IP.
    pub sender_ip: Ipv4Addr,
    /// Target IP.
    pub target_ip: Ipv4Addr,
}

/// Parses an Ethernet frame carrying IPv4-over-Ethernet ARP; `None` for anything else.
pub fn parse_frame(f: &[u8]) -> Option<ArpPacket> {
    if f.len() < FRAME_LEN
        || f[12..14] != ETH_P_ARP.to_be_bytes()
        || f[14..20] != [0, 1, 8, 0, 6, 4]
    {
        return None;
    }
    let ip = |o: usize| Ipv4Addr::new(f[o], f[o + 1], f[o + 2], f[o + 3]);
    let mut sender_mac = [0u8; 6];
    sender_mac.copy_from_slice(&f[22..28]);
    Some(ArpPacket {
        op: u16::from_be_bytes([f[20], f[21]]),
        sender_mac,
        sender_ip: ip(28),
        target_ip: ip(38),
    })
}

/// Whether `p` shows a MAC other than `own` claiming `vip`.
pub fn claims(p: &ArpPacket, vip: Ipv4Addr, own: &Mac) -> bool {
    p.sender_ip == vip && p.sender_mac != *own && (p.op == 1 || p.op == 2)
}

/// A `sockaddr_ll` naming `ifindex` and the ARP ethertype, for bind().
#[allow(unsafe_code)]
fn packet_addr(ifindex: u32) -> std::io::Result<SockAddr> {
    let ifindex = i32::try_from(ifindex)
        .map_err(|_| std::io::Error::other("interface index out of range"))?;
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: `view_as` requires a `sockaddr_*` type of this platform; `libc::sockaddr_ll` is one
    // (and is smaller than `sockaddr_storage`, which `view_as` asserts). We fill its fields
    // without reading uninitialised memory (the storage is zeroed).
    let ll = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    ll.sll_family = u16::try_from(libc::AF_PACKET).unwrap_or_default();
    ll.sll_protocol = ETH_P_ARP.to_be();
    ll.sll_ifindex = ifindex;
    let len = u32::try_from(std::mem::size_of::<libc::sockaddr_ll>()).unwrap_or_default();
    // SAFETY: the family is AF_PACKET and the storage holds a fully initialised `sockaddr_ll`
    // of exactly `len` bytes, which is what `SockAddr::new` requires.
    Ok(unsafe { SockAddr::new(storage, len) })
}

/// Sends one probe for `vip` on `ifindex` and collects, until `wait` has passed, the MACs other
/// than `own` that claim it (deduplicated, in order seen).
pub fn probe(ifindex: u32, own: &Mac, vip: Ipv4Addr, wait: Duration) -> std::io::Result<Vec<Mac>> {
    let sock = Socket::new(
        Domain::PACKET,
        Type::RAW,
        Some(Protocol::from(i32::from(ETH_P_ARP.to_be()))),
    )?;
    sock.bind(&packet_addr(ifindex)?)?;
    sock.send(&probe_frame(own, vip))?;
    let deadline = Instant::now() + wait;
    let mut found: Vec<Mac> = Vec::new();
    let mut buf = [0u8; 1600];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        sock.set_read_timeout(Some(left))?;
        match (&sock).read(&mut buf) {
            Ok(n) => {
                if let Some(p) = parse_frame(&buf[..n]).filter(|p| claims(p, vip, own))
                    && !found.contains(&p.sender_mac)
                {
                    found.push(p.sender_mac);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: Mac = [0x52, 0x4b, 0x5a, 0xc5, 0xb4, 0xd7];
    const OTHER: Mac = [0x1a, 0xfa, 0x6f, 0x2c, 0xfb, 0x72];

    #[test]
    fn probe_frame_round_trips_and_is_a_probe() {
        let vip = Ipv4Addr::new(10, 77, 0, 100);
        let f = probe_frame(&OWN, vip);
        let p = parse_frame(&f).unwrap();
        assert_eq!(
            p,
            ArpPacket {
                op: 1,
                sender_mac: OWN,
                sender_ip: Ipv4Addr::UNSPECIFIED,
                target_ip: vip
            }
        );
        // Our own probe never counts as a claim, whoever parses it.
        assert!(!claims(&p, vip, &OWN));
        assert!(!claims(&p, vip, &OTHER));
    }

    #[test]
    fn replies_and_announcements_from_other_macs_are_claims() {
        let vip = Ipv4Addr::new(10, 77, 0, 100);
        let reply = ArpPacket {
            op: 2,
            sender_mac: OTHER,
            sender_ip: vip,
            target_ip: Ipv4Addr::UNSPECIFIED,
        };
        assert!(claims(&reply, vip, &OWN));
        assert!(!claims(&reply, vip, &OTHER));
        let garp = ArpPacket {
            op: 1,
            target_ip: vip,
            ..reply
        };
        assert!(claims(&garp, vip, &OWN));
        let unrelated = ArpPacket {
            sender_ip: Ipv4Addr::new(10, 77, 0, 2),
            ..reply
        };
        assert!(!claims(&unrelated, vip, &OWN));
    }

    #[test]
    fn short_or_foreign_frames_are_ignored() {
        let mut f = probe_frame(&OWN, Ipv4Addr::new(1, 2, 3, 4));
        assert!(parse_frame(&f[..41]).is_none());
        f[12] = 0x08;
        f[13] = 0x00;
        assert!(parse_frame(&f).is_none());
        assert!(parse_frame(&[]).is_none());
    }

    #[test]
    fn macs() {
        assert_eq!(parse_mac("52:4b:5a:c5:b4:d7"), Some(OWN));
        assert_eq!(mac_string(&OWN), "52:4b:5a:c5:b4:d7");
        assert_eq!(parse_mac("52:4b:5a:c5:b4"), None);
        assert_eq!(parse_mac("52:4b:5a:c5:b4:d7:00"), None);
        assert_eq!(parse_mac("zz:4b:5a:c5:b4:d7"), None);
    }
}
