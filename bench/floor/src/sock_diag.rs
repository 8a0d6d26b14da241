//! One `NETLINK_SOCK_DIAG` dump of the TCP sockets, IPv4 and IPv6, in the states os-exporter asks
//! for (all but LISTEN and TIME_WAIT): request, then receive until `NLMSG_DONE`, looking at
//! nothing but the message headers.

use std::io::{Read as _, Write as _};

use socket2::{Domain, Protocol, Socket, Type};

const NETLINK_SOCK_DIAG: i32 = 4;
/// `TCPDIAG_GETSOCK`: the compat request, answered with both families in one hash walk.
const TCPDIAG_GETSOCK: u16 = 18;
/// `SOCK_DIAG_BY_FAMILY`: the per-family request, for kernels that refuse the compat one.
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST_DUMP: u16 = 0x1 | 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const HEADER: usize = 16;
const IPPROTO_TCP: u8 = 6;
/// Every TCP state but LISTEN (10) and TIME_WAIT (6).
const STATES: u32 = 0xFFF & !(1 << 10) & !(1 << 6);

/// How a dump ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Done,
    Refused,
}

/// Dumps once; `buf` is the reused receive buffer.
pub(crate) fn dump_tcp(buf: &mut [u8]) -> std::io::Result<()> {
    let sock = Socket::new(
        Domain::from(libc::AF_NETLINK),
        Type::DGRAM,
        Some(Protocol::from(NETLINK_SOCK_DIAG)),
    )?;
    if dump(&sock, &compat_request(), buf)? == End::Done {
        return Ok(());
    }
    for (seq, family) in [(2, 2u8), (3, 10u8)] {
        dump(&sock, &family_request(family, seq), buf)?;
    }
    Ok(())
}

fn dump(mut sock: &Socket, request: &[u8], buf: &mut [u8]) -> std::io::Result<End> {
    sock.write_all(request)?;
    loop {
        let n = sock.read(buf)?;
        if n == 0 {
            return Ok(End::Done);
        }
        if let Some(end) = end_of(&buf[..n]) {
            return Ok(end);
        }
    }
}

/// Walks the message headers of one datagram: `Some` once the dump is over.
fn end_of(mut msgs: &[u8]) -> Option<End> {
    while msgs.len() >= HEADER {
        let len = usize::try_from(u32::from_ne_bytes([msgs[0], msgs[1], msgs[2], msgs[3]]))
            .unwrap_or(usize::MAX);
        match u16::from_ne_bytes([msgs[4], msgs[5]]) {
            NLMSG_DONE => return Some(End::Done),
            NLMSG_ERROR => return Some(End::Refused),
            _ => {}
        }
        // Messages are 4-byte aligned; a length too short or too long ends the datagram.
        let step = (len + 3) & !3;
        if len < HEADER || step > msgs.len() {
            break;
        }
        msgs = &msgs[step..];
    }
    None
}

fn header(r: &mut [u8], kind: u16, seq: u32) {
    let len = u32::try_from(r.len()).unwrap_or(u32::MAX);
    r[0..4].copy_from_slice(&len.to_ne_bytes());
    r[4..6].copy_from_slice(&kind.to_ne_bytes());
    r[6..8].copy_from_slice(&NLM_F_REQUEST_DUMP.to_ne_bytes());
    r[8..12].copy_from_slice(&seq.to_ne_bytes());
}

/// `inet_diag_req`: family, src_len, dst_len, ext, 48-byte sockid, states, dbs.
fn compat_request() -> [u8; HEADER + 60] {
    let mut r = [0u8; HEADER + 60];
    header(&mut r, TCPDIAG_GETSOCK, 1);
    r[HEADER] = 2;
    r[HEADER + 52..HEADER + 56].copy_from_slice(&STATES.to_ne_bytes());
    r
}

/// `inet_diag_req_v2`: family, protocol, ext, pad, states, 48-byte sockid.
fn family_request(family: u8, seq: u32) -> [u8; HEADER + 56] {
    let mut r = [0u8; HEADER + 56];
    header(&mut r, SOCK_DIAG_BY_FAMILY, seq);
    r[HEADER] = family;
    r[HEADER + 1] = IPPROTO_TCP;
    r[HEADER + 4..HEADER + 8].copy_from_slice(&STATES.to_ne_bytes());
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: u16, len: u32) -> Vec<u8> {
        let mut m = vec![0u8; usize::try_from(len).unwrap()];
        m[0..4].copy_from_slice(&len.to_ne_bytes());
        m[4..6].copy_from_slice(&kind.to_ne_bytes());
        m
    }

    #[test]
    fn a_dump_ends_at_done_after_socket_messages() {
        let mut d = msg(TCPDIAG_GETSOCK, 88);
        d.extend(msg(TCPDIAG_GETSOCK, 88));
        assert_eq!(end_of(&d), None);
        d.extend(msg(NLMSG_DONE, 20));
        assert_eq!(end_of(&d), Some(End::Done));
    }

    #[test]
    fn an_error_answer_means_refused() {
        assert_eq!(end_of(&msg(NLMSG_ERROR, 36)), Some(End::Refused));
    }

    #[test]
    fn requests_carry_their_length_and_ask_for_no_listeners() {
        let c = compat_request();
        assert_eq!(u32::from_ne_bytes(c[0..4].try_into().unwrap()), 76);
        let f = family_request(10, 3);
        assert_eq!(u32::from_ne_bytes(f[0..4].try_into().unwrap()), 72);
        let states = u32::from_ne_bytes(f[HEADER + 4..HEADER + 8].try_into().unwrap());
        assert_eq!(states & (1 << 10), 0);
    }

    #[test]
    fn a_real_dump_completes() {
        // Loopback-free: only asks the kernel for its socket table.
        let mut buf = vec![0u8; 32 * 1024];
        dump_tcp(&mut buf).unwrap();
    }
}
