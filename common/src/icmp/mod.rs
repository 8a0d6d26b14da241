//! ICMP echo, IPv4 and IPv6: one ping to one address ([`ping`], keepalived-exporter's peer
//! check) and a pass over many targets ([`pass::ping_pass`], os-exporter's gateway and peer
//! pings), both on the same engine: paced sends, one socket per family and source address, RTTs
//! from kernel receive timestamps.
//!
//! A socket rather than running `ping`: no fork per probe, the wait is bounded to the
//! millisecond, and minimal images do not even ship `ping`. The unprivileged ICMP datagram socket
//! comes first (allowed when the process's group is inside `net.ipv4.ping_group_range`; the
//! kernel then picks the echo identifier and hands this socket only its own replies); a raw
//! socket (CAP_NET_RAW) otherwise.

pub mod pass;

use std::io;
use std::net::IpAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

pub use pass::{Echoes, PassOptions, PassResult, Target, ping_pass};

/// The echo payload: marks our probes in a packet capture.
const PAYLOAD: &[u8] = b"ops-exporter-suite ping";

/// Which kind of ICMP socket carried an echo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketKind {
    /// `SOCK_DGRAM` with `IPPROTO_ICMP{,V6}`: unprivileged, replies come without the IP header.
    Datagram,
    /// `SOCK_RAW`: needs CAP_NET_RAW; IPv4 replies come with their IP header.
    Raw,
}

/// Why a ping gave no round-trip time.
#[derive(Debug, thiserror::Error)]
pub enum PingError {
    /// The target did not answer in time: the usual "unreachable" outcome, not a local fault.
    #[error("no echo reply from {target} within {waited:?}")]
    NoReply {
        /// The address pinged.
        target: IpAddr,
        /// How long it was waited for.
        waited: Duration,
    },
    /// Neither an unprivileged datagram nor a raw ICMP socket could be opened.
    #[error("no ICMP socket for {target} (datagram: {datagram}; raw: {raw})")]
    Socket {
        /// The address to ping.
        target: IpAddr,
        /// Why the datagram socket was refused (often `net.ipv4.ping_group_range`).
        datagram: io::Error,
        /// Why the raw socket was refused (often a missing CAP_NET_RAW).
        #[source]
        raw: io::Error,
    },
    /// The echo request could not be sent (no route, address not available...).
    #[error("sending an echo request to {target}: {source}")]
    Send {
        /// The address pinged.
        target: IpAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Waiting for the reply failed for another reason than the timeout.
    #[error("reading the echo reply from {target}: {source}")]
    Recv {
        /// The address pinged.
        target: IpAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

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

/// An echo request: ICMP (v4 type 8, with its checksum) or ICMPv6 (type 128; the kernel fills
/// that checksum, and on a datagram socket the identifier too).
pub fn echo_request(v6: bool, id: u16, seq: u16) -> Vec<u8> {
    let mut p = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(PAYLOAD);
    if !v6 {
        let c = checksum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

/// Whether `packet`, as a socket of `kind` returns it, is the echo reply to `id`/`seq`.
pub fn is_reply(kind: SocketKind, v6: bool, packet: &[u8], id: u16, seq: u16) -> bool {
    reply_seq(kind, v6, packet, id) == Some(seq)
}

/// The sequence number of `packet` when it is an echo reply to identifier `id`. A raw IPv4
/// socket returns the IP header too; a datagram socket's identifier is the kernel's, which
/// already matched it to this socket. A reply with another identifier is someone else's.
pub fn reply_seq(kind: SocketKind, v6: bool, packet: &[u8], id: u16) -> Option<u16> {
    let icmp = if v6 || kind == SocketKind::Datagram {
        packet
    } else {
        let ihl = usize::from(packet.first().map_or(0, |b| b & 0x0f)) * 4;
        packet.get(ihl..).unwrap_or(&[])
    };
    (icmp.len() >= 8
        && icmp[0] == if v6 { 129 } else { 0 }
        && (kind == SocketKind::Datagram || u16::from_be_bytes([icmp[4], icmp[5]]) == id))
        .then(|| u16::from_be_bytes([icmp[6], icmp[7]]))
}

/// Opens the ICMP socket for `target`: datagram if allowed, raw otherwise.
pub fn open(target: IpAddr) -> Result<(Socket, SocketKind), PingError> {
    let (domain, proto) = if target.is_ipv6() {
        (Domain::IPV6, Protocol::ICMPV6)
    } else {
        (Domain::IPV4, Protocol::ICMPV4)
    };
    let datagram = match Socket::new(domain, Type::DGRAM, Some(proto)) {
        Ok(s) => return Ok((s, SocketKind::Datagram)),
        Err(e) => e,
    };
    match Socket::new(domain, Type::RAW, Some(proto)) {
        Ok(s) => Ok((s, SocketKind::Raw)),
        Err(raw) => Err(PingError::Socket {
            target,
            datagram,
            raw,
        }),
    }
}

/// Pings `target` once with echo `id`/`seq`; the round-trip time, or why there is none within
/// `timeout`. A pass of one target; a fresh `seq` per call keeps a late reply to an earlier
/// ping from counting.
pub fn ping(target: IpAddr, id: u16, seq: u16, timeout: Duration) -> Result<Duration, PingError> {
    let opts = PassOptions {
        count: 1,
        timeout,
        id,
        seq_base: seq,
        ..PassOptions::default()
    };
    let r = ping_pass(
        &[Target {
            addr: target,
            source: None,
        }],
        &opts,
    )?;
    let echoes = r.echoes.into_iter().next().unwrap_or_default();
    if let Some(rtt) = echoes.max() {
        return Ok(rtt);
    }
    match echoes.send_error {
        Some(e) => Err(PingError::Send {
            target,
            source: io::Error::other(e),
        }),
        None => Err(PingError::NoReply {
            target,
            waited: timeout,
        }),
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
    fn raw_replies_match_on_id_and_seq_past_the_ip_header() {
        let mut reply = vec![0x45u8; 20];
        reply.extend_from_slice(&echo_request(false, 9, 3));
        reply[20] = 0;
        assert!(is_reply(SocketKind::Raw, false, &reply, 9, 3));
        assert!(!is_reply(SocketKind::Raw, false, &reply, 9, 4));
        assert!(!is_reply(SocketKind::Raw, false, &reply, 8, 3));
        assert!(!is_reply(SocketKind::Raw, false, &reply[..24], 9, 3));
        let req = echo_request(false, 9, 3);
        assert!(
            !is_reply(
                SocketKind::Raw,
                false,
                &[&[0x45u8; 20][..], &req].concat(),
                9,
                3
            ),
            "a request is not a reply"
        );
        let mut v6 = echo_request(true, 1, 1);
        v6[0] = 129;
        assert!(is_reply(SocketKind::Raw, true, &v6, 1, 1));
        assert!(!is_reply(SocketKind::Raw, false, &[0xff], 1, 1));
    }

    #[test]
    fn datagram_replies_have_no_ip_header_and_the_kernels_id() {
        let mut reply = echo_request(false, 0x7777, 5);
        reply[0] = 0;
        assert!(is_reply(SocketKind::Datagram, false, &reply, 1, 5));
        assert!(!is_reply(SocketKind::Datagram, false, &reply, 1, 6));
        let mut v6 = echo_request(true, 0x7777, 5);
        v6[0] = 129;
        assert!(is_reply(SocketKind::Datagram, true, &v6, 1, 5));
        assert!(!is_reply(
            SocketKind::Datagram,
            true,
            &echo_request(true, 1, 5),
            1,
            5
        ));
    }

    /// Loopback only; skipped where no ICMP socket is allowed (no CAP_NET_RAW and outside
    /// `ping_group_range`) or the address is absent (IPv6 disabled).
    fn loopback_answers(addr: &str, may_be_absent: bool) {
        let target: IpAddr = addr.parse().unwrap();
        match ping(target, 0x4b41, 1, Duration::from_secs(2)) {
            Ok(rtt) => assert!(rtt < Duration::from_secs(2)),
            Err(e @ PingError::Socket { .. }) => eprintln!("skipped: {e}"),
            Err(e @ PingError::Send { .. }) if may_be_absent => eprintln!("skipped: {e}"),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn ipv4_loopback_answers() {
        loopback_answers("127.0.0.1", false);
    }

    #[test]
    fn ipv6_loopback_answers() {
        loopback_answers("::1", true);
    }

    #[test]
    fn no_time_left_is_no_reply_not_a_local_fault() {
        let target: IpAddr = "127.0.0.1".parse().unwrap();
        match ping(target, 0x4b41, 2, Duration::ZERO) {
            Err(PingError::NoReply { waited, .. }) => assert_eq!(waited, Duration::ZERO),
            Err(e @ PingError::Socket { .. }) => eprintln!("skipped: {e}"),
            other => panic!("{other:?}"),
        }
    }
}
