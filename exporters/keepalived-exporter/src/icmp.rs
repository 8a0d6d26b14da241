//! One ICMP echo to a VRRP peer on a raw socket (the document's "master and backup ping each
//! other", 3.1.3).
//!
//! A raw socket rather than running `ping`: no fork per scrape, the wait is bounded by the
//! scrape deadline to the millisecond, and the exporter already needs CAP_NET_RAW for its ARP
//! probes (Debian's minimal images do not even ship `ping`).

use std::io::Read as _;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// Internet checksum (RFC 1071).
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(0xffff)
}

/// An echo request: ICMP (v4 type 8) or ICMPv6 (type 128; the kernel fills its checksum).
pub fn echo_request(v6: bool, id: u16, seq: u16) -> Vec<u8> {
    let mut p = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(b"keepalived-exporter");
    if !v6 {
        let c = checksum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

/// Whether `packet` (as a raw socket returns it: with the IPv4 header, without for IPv6) is the
/// echo reply to `id`/`seq`.
pub fn is_reply(v6: bool, packet: &[u8], id: u16, seq: u16) -> bool {
    let icmp = if v6 {
        packet
    } else {
        let ihl = usize::from(packet.first().map_or(0, |b| b & 0x0f)) * 4;
        packet.get(ihl..).unwrap_or(&[])
    };
    icmp.len() >= 8
        && icmp[0] == if v6 { 129 } else { 0 }
        && u16::from_be_bytes([icmp[4], icmp[5]]) == id
        && u16::from_be_bytes([icmp[6], icmp[7]]) == seq
}

/// Pings `peer` once; the round-trip time, or `None` when no reply came within `wait`.
pub fn ping(peer: IpAddr, id: u16, seq: u16, wait: Duration) -> std::io::Result<Option<Duration>> {
    let v6 = peer.is_ipv6();
    let (domain, proto) = if v6 {
        (Domain::IPV6, Protocol::ICMPV6)
    } else {
        (Domain::IPV4, Protocol::ICMPV4)
    };
    let sock = Socket::new(domain, Type::RAW, Some(proto))?;
    let started = Instant::now();
    sock.send_to(
        &echo_request(v6, id, seq),
        &SockAddr::from(SocketAddr::new(peer, 0)),
    )?;
    let deadline = started + wait;
    let mut buf = [0u8; 2048];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        sock.set_read_timeout(Some(left))?;
        match (&sock).read(&mut buf) {
            Ok(n) if is_reply(v6, &buf[..n], id, seq) => return Ok(Some(started.elapsed())),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(None);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_a_request_verifies_to_zero() {
        let p = echo_request(false, 0x1234, 7);
        assert_eq!(checksum(&p), 0);
        assert_eq!(checksum(&[]), 0xffff);
        assert_eq!(checksum(&[0xff]), 0x00ff);
    }

    #[test]
    fn reply_matching() {
        let mut reply = vec![0x45u8; 20];
        reply.extend_from_slice(&echo_request(false, 9, 3));
        reply[20] = 0;
        assert!(is_reply(false, &reply, 9, 3));
        assert!(!is_reply(false, &reply, 9, 4));
        assert!(!is_reply(false, &reply[..24], 9, 3));
        let req = echo_request(false, 9, 3);
        assert!(
            !is_reply(false, &[&[0x45u8; 20][..], &req].concat(), 9, 3),
            "a request is not a reply"
        );
        let mut v6 = echo_request(true, 1, 1);
        v6[0] = 129;
        assert!(is_reply(true, &v6, 1, 1));
        assert!(!is_reply(false, &[0xff], 1, 1));
    }

    #[test]
    fn loopback_answers() {
        // Needs CAP_NET_RAW (tests run as root); loopback traffic only.
        match ping(
            "127.0.0.1".parse().unwrap(),
            0x4b41,
            1,
            Duration::from_secs(2),
        ) {
            Ok(rtt) => assert!(rtt.is_some()),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => eprintln!("skipped: {e}"),
            Err(e) => panic!("{e}"),
        }
    }
}
