//! `NETLINK_SOCK_DIAG` (`inet_diag`) TCP dumps: the binary equivalent of `/proc/net/tcp{,6}` that
//! `ss` uses. The kernel skips the states not asked for (listeners, TIME_WAIT), so a host with
//! 100,000 sockets costs a fraction of the text table.
//!
//! Requests and answers are `netlink-packet-sock-diag` types, except the compat request
//! (`TCPDIAG_GETSOCK`, `struct inet_diag_req`) that crate lacks: the kernel answers it with both
//! families in one walk of the established hash, where the per-family request walks it once per
//! family, and on a quiet host that walk over every bucket is most of the cost.

use std::net::SocketAddr;

use netlink_packet_core::{DecodeError, NetlinkSerializable, Parseable};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP, SOCK_DIAG_BY_FAMILY};
use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, InetResponseHeader, SocketId};

pub use netlink_packet_sock_diag::inet::StateFlags as TcpStates;

use super::{Limits, NetlinkError, Protocol, Socket};

/// `TCPDIAG_GETSOCK`, the original request type; its answers carry the same type.
pub const TCPDIAG_GETSOCK: u16 = 18;

/// One TCP socket of a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSocket {
    /// TCP state code (`TCP_ESTABLISHED` 1 ... `TCP_CLOSING` 11).
    pub state: u8,
    /// Local address and port.
    pub local: SocketAddr,
    /// Remote address and port.
    pub remote: SocketAddr,
    /// Bytes received but not read (Recv-Q).
    pub recv_queue: u32,
    /// Bytes not yet acknowledged (Send-Q).
    pub send_queue: u32,
}

/// The compat dump request (`struct inet_diag_req`, 60 bytes) covering both address families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompatTcpRequest {
    /// TCP states asked for.
    pub states: u32,
}

/// `struct inet_diag_req`: family, src_len, dst_len, ext, a 48-byte socket id, states, dbs.
const COMPAT_REQUEST_LEN: usize = 60;
const COMPAT_STATES_AT: usize = 52;

impl NetlinkSerializable for CompatTcpRequest {
    fn message_type(&self) -> u16 {
        TCPDIAG_GETSOCK
    }

    fn buffer_len(&self) -> usize {
        COMPAT_REQUEST_LEN
    }

    fn serialize(&self, buffer: &mut [u8]) {
        let Some(body) = buffer.get_mut(..COMPAT_REQUEST_LEN) else {
            return;
        };
        body.fill(0);
        // The kernel ignores the family of a compat request (it dumps both); AF_INET as `ss` sends.
        body[0] = AF_INET;
        body[COMPAT_STATES_AT..COMPAT_STATES_AT + 4].copy_from_slice(&self.states.to_ne_bytes());
    }
}

/// The per-family dump request (`struct inet_diag_req_v2`) for TCP sockets in `states`.
pub fn request(family: u8, states: TcpStates) -> SockDiagMessage {
    SockDiagMessage::InetRequest(InetRequest {
        family,
        protocol: IPPROTO_TCP,
        extensions: ExtensionFlags::empty(),
        states,
        socket_id: if family == AF_INET6 {
            SocketId::new_v6()
        } else {
            SocketId::new_v4()
        },
    })
}

/// Decodes one answer message: `Some` for an `inet_diag_msg`, `None` for other message types.
pub fn decode(message_type: u16, payload: &[u8]) -> Result<Option<TcpSocket>, DecodeError> {
    if message_type != SOCK_DIAG_BY_FAMILY && message_type != TCPDIAG_GETSOCK {
        return Ok(None);
    }
    let h = InetResponseHeader::parse(payload)?;
    let id = &h.socket_id;
    Ok(Some(TcpSocket {
        state: h.state,
        local: SocketAddr::new(id.source_address, id.source_port),
        remote: SocketAddr::new(id.destination_address, id.destination_port),
        recv_queue: h.recv_queue,
        send_queue: h.send_queue,
    }))
}

/// Decodes the sockets of one datagram answering request `seq`; `Ok(true)` once the dump is done.
pub fn decode_datagram(
    datagram: &[u8],
    seq: u32,
    on_socket: &mut impl FnMut(&TcpSocket),
) -> Result<bool, NetlinkError> {
    let walked = super::walk(datagram, seq, &mut |kind, payload| {
        if let Some(s) = decode(kind, payload)? {
            on_socket(&s);
        }
        Ok(())
    })?;
    Ok(walked.done)
}

/// Dumps the TCP sockets in `states` of both families of this network namespace, handing each to
/// `on_socket`; returns how many it saw. One compat request walking the hash once, or one request
/// per family when that is refused (a kernel without IPv6 then counts IPv4 only).
pub fn dump_tcp(
    limits: Limits,
    states: TcpStates,
    mut on_socket: impl FnMut(&TcpSocket),
) -> Result<u64, NetlinkError> {
    let mut sock = Socket::open(Protocol::SockDiag, limits)?;
    let seen = std::cell::Cell::new(0u64);
    let mut each = |kind: u16, payload: &[u8]| {
        if let Some(s) = decode(kind, payload)? {
            seen.set(seen.get() + 1);
            on_socket(&s);
        }
        Ok(())
    };
    let compat = CompatTcpRequest {
        states: states.bits(),
    };
    match sock.dump(compat, &mut each) {
        Ok(_) => {}
        Err(e) if seen.get() == 0 => {
            log::debug!("compat inet_diag dump refused ({e}); asking per family");
            per_family(&mut sock, &states, &mut each)?;
        }
        Err(e) => return Err(e),
    }
    Ok(seen.get())
}

/// One dump per address family; a refused IPv6 dump (no IPv6 in this kernel) counts nothing.
fn per_family(
    sock: &mut Socket,
    states: &TcpStates,
    each: &mut impl FnMut(u16, &[u8]) -> Result<(), DecodeError>,
) -> Result<(), NetlinkError> {
    for family in [AF_INET, AF_INET6] {
        match sock.dump(request(family, states.clone()), &mut *each) {
            Ok(_) => {}
            Err(_) if family == AF_INET6 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::tests::message;
    use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};

    /// Every state but LISTEN (whose queue is the accept backlog) and TIME_WAIT (no queues left).
    fn open_states() -> TcpStates {
        TcpStates::all().difference(TcpStates::LISTEN | TcpStates::TIME_WAIT)
    }

    fn serialized<R: NetlinkSerializable>(request: R) -> Vec<u8> {
        let mut m = NetlinkMessage::new(
            NetlinkHeader::default(),
            NetlinkPayload::InnerMessage(request),
        );
        m.finalize();
        let mut out = vec![0u8; m.buffer_len()];
        m.serialize(&mut out);
        out
    }

    /// An `inet_diag_msg` (72 bytes) as the kernel sends it, with a trailing attribute.
    fn diag_msg(kind: u16, family: u8, rq: u32, wq: u32) -> Vec<u8> {
        let mut b = vec![0u8; 72];
        b[0] = family;
        b[1] = 1;
        b[4..6].copy_from_slice(&3306u16.to_be_bytes());
        b[6..8].copy_from_slice(&50000u16.to_be_bytes());
        if family == AF_INET6 {
            b[8..24].copy_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
            b[24..40].copy_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
        } else {
            b[8..12].copy_from_slice(&[127, 0, 0, 1]);
            b[24..28].copy_from_slice(&[127, 0, 0, 2]);
        }
        b[56..60].copy_from_slice(&rq.to_ne_bytes());
        b[60..64].copy_from_slice(&wq.to_ne_bytes());
        // INET_DIAG_SHUTDOWN (8), one byte, as recent kernels always add.
        b.extend_from_slice(&[5, 0, 8, 0, 0, 0, 0, 0]);
        message(kind, 1, &b)
    }

    fn decode_all(d: &[u8]) -> (Result<bool, NetlinkError>, Vec<TcpSocket>) {
        let mut seen = Vec::new();
        let r = decode_datagram(d, 1, &mut |s| seen.push(*s));
        (r, seen)
    }

    #[test]
    fn sockets_of_both_request_kinds_and_families_are_decoded() {
        let mut d = diag_msg(SOCK_DIAG_BY_FAMILY, AF_INET, 1_000_001, 0);
        d.extend(diag_msg(TCPDIAG_GETSOCK, AF_INET6, 10, 2_000_000));
        d.extend(message(netlink_packet_core::NLMSG_DONE, 1, &[0; 4]));
        let (r, seen) = decode_all(&d);
        assert!(r.unwrap(), "NLMSG_DONE ends the dump");
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].local.to_string(), "127.0.0.1:3306");
        assert_eq!(seen[0].remote.to_string(), "127.0.0.2:50000");
        assert_eq!((seen[0].state, seen[0].recv_queue), (1, 1_000_001));
        assert_eq!(seen[1].local.to_string(), "[::1]:3306");
        assert_eq!(seen[1].send_queue, 2_000_000);
    }

    #[test]
    fn a_short_inet_diag_msg_is_malformed() {
        let d = message(SOCK_DIAG_BY_FAMILY, 1, &[2u8; 40]);
        assert!(matches!(
            decode_all(&d).0,
            Err(NetlinkError::Malformed { offset: 0, .. })
        ));
        let other = message(42, 1, &[0u8; 4]);
        let (r, seen) = decode_all(&other);
        assert!(!r.unwrap() && seen.is_empty(), "other types are skipped");
    }

    #[test]
    fn compat_request_has_the_v1_layout() {
        let r = serialized(CompatTcpRequest {
            states: open_states().bits(),
        });
        assert_eq!(r.len(), 76);
        assert_eq!(u32::from_ne_bytes(r[0..4].try_into().unwrap()), 76);
        assert_eq!(u16::from_ne_bytes([r[4], r[5]]), TCPDIAG_GETSOCK);
        let states = u32::from_ne_bytes(r[68..72].try_into().unwrap());
        assert_eq!(states, open_states().bits());
    }

    #[test]
    fn request_asks_for_a_tcp_dump_without_listeners_or_time_wait() {
        let r = serialized(request(AF_INET6, open_states()));
        assert_eq!(u32::from_ne_bytes(r[0..4].try_into().unwrap()), 72);
        assert_eq!(u16::from_ne_bytes([r[4], r[5]]), SOCK_DIAG_BY_FAMILY);
        assert_eq!((r[16], r[17]), (AF_INET6, IPPROTO_TCP));
        let states = u32::from_ne_bytes(r[20..24].try_into().unwrap());
        assert_eq!(states & (1 << 10), 0);
        assert_eq!(states & (1 << 6), 0);
        assert_ne!(states & (1 << 1), 0, "ESTABLISHED is asked for");
    }

    /// Loopback connections with 64 unread bytes on the accepting side, per available family.
    fn queued_loopback() -> (Vec<String>, test_support::loopback::Queued) {
        let q = test_support::loopback::queued_connections(64);
        (q.addrs.clone(), q)
    }

    /// Retries briefly: the bytes reach the receive queue asynchronously.
    fn sees_all(ports: &[String], dump: impl Fn(&mut Vec<String>) -> Result<u64, NetlinkError>) {
        for _ in 0..100 {
            let mut seen = Vec::new();
            dump(&mut seen).unwrap();
            if ports.iter().all(|p| seen.contains(p)) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("unread bytes on {ports:?} not seen by the netlink dump");
    }

    #[test]
    fn compat_dump_sees_queued_bytes_on_ipv4_and_ipv6_loopback() {
        let (ports, _keep) = queued_loopback();
        sees_all(&ports, |seen| {
            dump_tcp(Limits::default(), open_states(), |s| {
                if s.recv_queue >= 64 {
                    seen.push(s.local.to_string());
                }
            })
        });
    }

    #[test]
    fn per_family_dumps_see_queued_bytes_on_ipv4_and_ipv6_loopback() {
        let (ports, _keep) = queued_loopback();
        sees_all(&ports, |seen| {
            let mut sock = Socket::open(Protocol::SockDiag, Limits::default())?;
            let mut n = 0;
            per_family(&mut sock, &open_states(), &mut |kind, payload| {
                if let Some(s) = decode(kind, payload)? {
                    n += 1;
                    if s.recv_queue >= 64 {
                        seen.push(s.local.to_string());
                    }
                }
                Ok(())
            })?;
            Ok(n)
        });
    }

    #[test]
    fn a_dump_over_its_message_limit_stops_with_a_typed_error() {
        let (_ports, _keep) = queued_loopback();
        let limits = Limits {
            max_messages: 0,
            ..Limits::default()
        };
        assert!(matches!(
            dump_tcp(limits, open_states(), |_| {}),
            Err(NetlinkError::TooLarge {
                what: "messages",
                limit: 0
            })
        ));
    }
}
