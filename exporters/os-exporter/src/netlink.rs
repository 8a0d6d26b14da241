//! The socket-queue view of [`common::netlink::sock_diag`]: counts the TCP sockets of this
//! network namespace whose queues are over the threshold.

use common::netlink::sock_diag::{self, TcpSocket, TcpStates};
use common::netlink::{Limits, NetlinkError};

use crate::parsers::net_tcp::QueueCounts;

/// Every state but LISTEN (whose queue is the accept backlog) and TIME_WAIT (no queues left).
fn states() -> TcpStates {
    TcpStates::all().difference(TcpStates::LISTEN | TcpStates::TIME_WAIT)
}

/// Dumps the TCP sockets of both families, counting blocked queues; only the blocked sockets are
/// handed to `on_blocked`.
pub(crate) fn dump_tcp(
    threshold: u64,
    mut on_blocked: impl FnMut(&TcpSocket),
) -> Result<QueueCounts, NetlinkError> {
    let mut counts = QueueCounts::default();
    sock_diag::dump_tcp(Limits::default(), states(), |s| {
        counts.sockets += 1;
        let r = u64::from(s.recv_queue) > threshold;
        let t = u64::from(s.send_queue) > threshold;
        counts.recvq_blocked += u64::from(r);
        counts.sendq_blocked += u64::from(t);
        if r || t {
            on_blocked(s);
        }
    })?;
    Ok(counts)
}

/// The local ports of every listening TCP socket of this network namespace, IPv4 and IPv6 (a
/// LISTEN-only dump: the kernel walks only its listening hash).
pub(crate) fn listening_ports() -> Result<std::collections::BTreeSet<u16>, NetlinkError> {
    let mut ports = std::collections::BTreeSet::new();
    sock_diag::dump_tcp(Limits::default(), TcpStates::LISTEN, |s| {
        ports.insert(s.local.port());
    })?;
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_and_time_wait_are_not_asked_for() {
        let s = states().bits();
        assert_eq!(s & (1 << 10), 0);
        assert_eq!(s & (1 << 6), 0);
        assert_eq!(s & 0xBBE, 0xBBE, "every other TCP state is");
    }
}
