//! One ICMP echo to one address with a timeout, IPv4 and IPv6: the round-trip time or a typed
//! failure. Used by keepalived-exporter's peer check and meant for os-exporter's gateway and
//! peer pings.
//!
//! A socket rather than running `ping`: no fork per probe, the wait is bounded to the
//! millisecond, and minimal images do not even ship `ping`. The unprivileged ICMP datagram socket
//! comes first (allowed when the process's group is inside `net.ipv4.ping_group_range`; the
//! kernel then picks the echo identifier and hands this socket only its own replies); a raw
//! socket (CAP_NET_RAW) otherwise.

use std::io::{self, Read as _};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

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

/// Whether `packet`, as a socket of `kind` returns it, is the echo reply to `id`/`seq`. A raw
/// IPv4 socket returns the IP header too; a datagram socket's identifier is the kernel's, which
/// already matched it to this socket.
pub fn is_reply(kind: SocketKind, v6: bool, packet: &[u8], id: u16, seq: u16) -> bool {
    let icmp = if v6 || kind == SocketKind::Datagram {
        packet
    } else {
        let ihl = usize::from(packet.first().map_or(0, |b| b & 0x0f)) * 4;
        packet.get(ihl..).unwrap_or(&[])
    };
    icmp.len() >= 8
        && icmp[0] == if v6 { 129 } else { 0 }
        && (kind == SocketKind::Datagram || u16::from_be_bytes([icmp[4], icmp[5]]) == id)
        && u16::from_be_bytes([icmp[6], icmp[7]]) == seq
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

/// Pings `target` once with echo `id`/`seq` (a fresh `seq` per call keeps a late reply to an
/// earlier ping from counting); the round-trip time, or why there is none within `timeout`.
pub fn ping(target: IpAddr, id: u16, seq: u16, timeout: Duration) -> Result<Duration, PingError> {
    let (sock, kind) = open(target)?;
    let v6 = target.is_ipv6();
    let started = Instant::now();
    let deadline = started + timeout;
    sock.send_to(
        &echo_request(v6, id, seq),
        &SockAddr::from(SocketAddr::new(target, 0)),
    )
    .map_err(|source| PingError::Send { target, source })?;
    let no_reply = || PingError::NoReply {
        target,
        waited: timeout,
    };
    let mut buf = [0u8; 2048];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(no_reply());
        }
        sock.set_read_timeout(Some(left))
            .map_err(|source| PingError::Recv { target, source })?;
        match (&sock).read(&mut buf) {
            Ok(n) if is_reply(kind, v6, buf.get(..n).unwrap_or_default(), id, seq) => {
                return Ok(started.elapsed());
            }
            // Another host's reply, our own request on loopback, an older echo: keep waiting.
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(no_reply());
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(PingError::Recv { target, source }),
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
