//! Netlink `sock_diag` (INET_DIAG) dump messages for TCP: the binary equivalent of
//! `/proc/net/tcp` that `ss` uses. The kernel skips the states we do not ask for (listeners and
//! TIME_WAIT), so a host with 100,000 sockets costs a fraction of the text table.

use super::net_tcp::QueueCounts;

/// `SOCK_DIAG_BY_FAMILY`, the request and answer message type.
pub(crate) const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `TCPDIAG_GETSOCK`, the original request type: the kernel answers it with IPv4 and IPv6
/// sockets in one walk of the established hash (the per-family request walks it once per family,
/// and that walk over every bucket is most of the cost on a quiet host).
pub(crate) const TCPDIAG_GETSOCK: u16 = 18;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const IPPROTO_TCP: u8 = 6;
const HEADER: usize = 16;
/// `struct inet_diag_msg` without attributes.
const DIAG_MSG: usize = 72;

/// TCP states asked for: every state but LISTEN (10, whose queue is the accept backlog) and
/// TIME_WAIT (6, no queues left).
pub(crate) const STATES: u32 = 0xFFF & !(1 << 10) & !(1 << 6);

/// One socket of the dump whose queues the caller may want to see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DiagSocket {
    /// `AF_INET` (2) or `AF_INET6` (10).
    pub(crate) family: u8,
    /// TCP state code.
    pub(crate) state: u8,
    /// Local address and port.
    pub(crate) local: std::net::SocketAddr,
    /// Remote address and port.
    pub(crate) remote: std::net::SocketAddr,
    /// Bytes received but not read (Recv-Q).
    pub(crate) rx_queue: u64,
    /// Bytes not yet acknowledged (Send-Q).
    pub(crate) tx_queue: u64,
}

/// Why a dump could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum DiagError {
    /// The kernel answered with an error code (negative errno).
    #[error("netlink error {0}")]
    Kernel(i32),
    /// A message was cut short or had an impossible length.
    #[error("malformed netlink message at byte {0}")]
    Malformed(usize),
}

/// The dump request for one address family (`AF_INET` 2 or `AF_INET6` 10).
pub(crate) fn request(family: u8, seq: u32) -> [u8; HEADER + 56] {
    let mut r = [0u8; HEADER + 56];
    r[0..4].copy_from_slice(&72u32.to_ne_bytes());
    r[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    r[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    r[8..12].copy_from_slice(&seq.to_ne_bytes());
    // inet_diag_req_v2: family, protocol, ext (no extensions), pad, states, then a zero sockid.
    r[HEADER] = family;
    r[HEADER + 1] = IPPROTO_TCP;
    r[HEADER + 4..HEADER + 8].copy_from_slice(&STATES.to_ne_bytes());
    r
}

/// The compat (`inet_diag_req`) dump request covering both address families.
pub(crate) fn request_both_families(seq: u32) -> [u8; HEADER + 60] {
    let mut r = [0u8; HEADER + 60];
    r[0..4].copy_from_slice(&76u32.to_ne_bytes());
    r[4..6].copy_from_slice(&TCPDIAG_GETSOCK.to_ne_bytes());
    r[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    r[8..12].copy_from_slice(&seq.to_ne_bytes());
    // inet_diag_req: family, src_len, dst_len, ext, 48-byte sockid, states, dbs.
    r[HEADER] = 2;
    r[HEADER + 52..HEADER + 56].copy_from_slice(&STATES.to_ne_bytes());
    r
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn addr(family: u8, ip: &[u8], port_be: &[u8]) -> std::net::SocketAddr {
    let port = u16::from_be_bytes([port_be[0], port_be[1]]);
    if family == 10 {
        let mut a = [0u8; 16];
        a.copy_from_slice(&ip[..16]);
        (std::net::Ipv6Addr::from(a), port).into()
    } else {
        (std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]), port).into()
    }
}

fn socket_of(m: &[u8]) -> DiagSocket {
    let family = m[0];
    DiagSocket {
        family,
        state: m[1],
        local: addr(family, &m[8..24], &m[4..6]),
        remote: addr(family, &m[24..40], &m[6..8]),
        rx_queue: u64::from(u32_at(m, 56).unwrap_or(0)),
        tx_queue: u64::from(u32_at(m, 60).unwrap_or(0)),
    }
}

/// Walks the messages of one `recv`, adding to `counts`; `Ok(true)` once `NLMSG_DONE` is seen.
/// Only blocked sockets are decoded (and handed to `on_blocked`), the rest cost a few loads.
pub(crate) fn parse(
    buf: &[u8],
    threshold: u64,
    counts: &mut QueueCounts,
    on_blocked: &mut impl FnMut(&DiagSocket),
) -> Result<bool, DiagError> {
    let mut at = 0;
    while at + HEADER <= buf.len() {
        let len = u32_at(buf, at).ok_or(DiagError::Malformed(at))? as usize;
        let kind = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
        if len < HEADER || at + len > buf.len() {
            return Err(DiagError::Malformed(at));
        }
        match kind {
            NLMSG_DONE => return Ok(true),
            NLMSG_ERROR => {
                let code = u32_at(buf, at + HEADER).map_or(0, |v| v as i32);
                if code != 0 {
                    return Err(DiagError::Kernel(code));
                }
            }
            SOCK_DIAG_BY_FAMILY | TCPDIAG_GETSOCK => {
                let m = &buf[at + HEADER..at + len];
                if m.len() < DIAG_MSG {
                    return Err(DiagError::Malformed(at));
                }
                counts.sockets += 1;
                let rx = u64::from(u32_at(m, 56).unwrap_or(0));
                let tx = u64::from(u32_at(m, 60).unwrap_or(0));
                let (r, t) = (rx > threshold, tx > threshold);
                counts.recvq_blocked += u64::from(r);
                counts.sendq_blocked += u64::from(t);
                if r || t {
                    on_blocked(&socket_of(m));
                }
            }
            _ => {}
        }
        // Messages are 4-byte aligned.
        at += (len + 3) & !3;
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(family: u8, state: u8, rq: u32, wq: u32) -> Vec<u8> {
        let mut m = vec![0u8; HEADER + DIAG_MSG];
        m[0..4].copy_from_slice(&88u32.to_ne_bytes());
        m[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        let b = &mut m[HEADER..];
        b[0] = family;
        b[1] = state;
        b[4..6].copy_from_slice(&3306u16.to_be_bytes());
        b[6..8].copy_from_slice(&50000u16.to_be_bytes());
        b[8..12].copy_from_slice(&[127, 0, 0, 1]);
        b[24..28].copy_from_slice(&[127, 0, 0, 2]);
        b[56..60].copy_from_slice(&rq.to_ne_bytes());
        b[60..64].copy_from_slice(&wq.to_ne_bytes());
        m
    }

    fn done() -> Vec<u8> {
        let mut m = vec![0u8; HEADER + 4];
        m[0..4].copy_from_slice(&20u32.to_ne_bytes());
        m[4..6].copy_from_slice(&NLMSG_DONE.to_ne_bytes());
        m
    }

    #[test]
    fn counts_blocked_queues_and_decodes_only_those() {
        let mut buf = msg(2, 1, 1_000_001, 0);
        buf.extend(msg(2, 1, 10, 2_000_000));
        buf.extend(msg(2, 1, 1_000_000, 1_000_000));
        buf.extend(done());
        let mut c = QueueCounts::default();
        let mut seen = Vec::new();
        assert_eq!(
            parse(&buf, 1_000_000, &mut c, &mut |s| seen.push(s.clone())),
            Ok(true)
        );
        assert_eq!(
            c,
            QueueCounts {
                sockets: 3,
                recvq_blocked: 1,
                sendq_blocked: 1
            }
        );
        assert_eq!(seen[0].local.to_string(), "127.0.0.1:3306");
        assert_eq!(seen[0].remote.to_string(), "127.0.0.2:50000");
        assert_eq!(seen[1].tx_queue, 2_000_000);
    }

    #[test]
    fn kernel_errors_and_truncation_are_reported() {
        let mut e = vec![0u8; HEADER + 4];
        e[0..4].copy_from_slice(&20u32.to_ne_bytes());
        e[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        e[16..20].copy_from_slice(&(-22i32).to_ne_bytes());
        let mut c = QueueCounts::default();
        assert_eq!(
            parse(&e, 1, &mut c, &mut |_| {}),
            Err(DiagError::Kernel(-22))
        );
        let m = msg(2, 1, 0, 0);
        assert_eq!(
            parse(&m[..40], 1, &mut c, &mut |_| {}),
            Err(DiagError::Malformed(0)),
            "datagrams never split a message"
        );
        let mut bad = m.clone();
        bad[0..4].copy_from_slice(&500u32.to_ne_bytes());
        assert_eq!(
            parse(&bad, 1, &mut c, &mut |_| {}),
            Err(DiagError::Malformed(0))
        );
    }

    #[test]
    fn compat_request_has_the_v1_layout() {
        let r = request_both_families(3);
        assert_eq!(u32::from_ne_bytes(r[0..4].try_into().unwrap()), 76);
        assert_eq!(u16::from_ne_bytes([r[4], r[5]]), TCPDIAG_GETSOCK);
        assert_eq!(u32::from_ne_bytes(r[68..72].try_into().unwrap()), STATES);
        let mut m = msg(10, 1, 2_000_000, 0);
        m[4..6].copy_from_slice(&TCPDIAG_GETSOCK.to_ne_bytes());
        let mut c = QueueCounts::default();
        parse(&m, 1_000_000, &mut c, &mut |_| {}).unwrap();
        assert_eq!(c.recvq_blocked, 1);
    }

    #[test]
    fn request_asks_for_a_tcp_dump_without_listeners_or_time_wait() {
        let r = request(10, 7);
        assert_eq!(u32::from_ne_bytes(r[0..4].try_into().unwrap()), 72);
        assert_eq!(u16::from_ne_bytes([r[4], r[5]]), SOCK_DIAG_BY_FAMILY);
        assert_eq!((r[16], r[17]), (10, 6));
        let states = u32::from_ne_bytes(r[20..24].try_into().unwrap());
        assert_eq!(states & (1 << 10), 0);
        assert_eq!(states & (1 << 6), 0);
        assert_ne!(states & (1 << 1), 0, "ESTABLISHED is asked for");
    }
}
