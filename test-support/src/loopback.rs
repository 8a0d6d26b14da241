//! Loopback TCP connections with unread bytes queued on the accepting side, so socket-table
//! readers (sock_diag dumps, `/proc/net/tcp`) have a known queue to find.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};

/// The sockets of [`queued_connections`]; they stay open while this is alive.
#[derive(Debug)]
pub struct Queued {
    /// Local addresses (`ip:port`) of the accepting sockets whose receive queues hold the bytes.
    pub addrs: Vec<String>,
    _keep: Vec<(TcpListener, TcpStream, TcpStream)>,
}

/// One connection per available family (IPv4 `127.0.0.1`, IPv6 `::1`) with `bytes` unread on the
/// accepting side. A family the host lacks is skipped.
///
/// # Panics
/// When a loopback connection cannot be made on a family whose listener could bind.
#[allow(clippy::expect_used)]
pub fn queued_connections(bytes: usize) -> Queued {
    let (mut addrs, mut keep) = (Vec::new(), Vec::new());
    for bind in ["127.0.0.1:0", "[::1]:0"] {
        let Ok(l) = TcpListener::bind(bind) else {
            continue;
        };
        let mut c =
            TcpStream::connect(l.local_addr().expect("bound address")).expect("loopback connect");
        let (s, _) = l.accept().expect("loopback accept");
        c.write_all(&vec![7u8; bytes]).expect("loopback write");
        addrs.push(s.local_addr().expect("accepted address").to_string());
        keep.push((l, c, s));
    }
    Queued { addrs, _keep: keep }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_loopback_is_always_there() {
        let q = queued_connections(8);
        assert!(q.addrs.iter().any(|a| a.starts_with("127.0.0.1:")), "{q:?}");
    }
}
