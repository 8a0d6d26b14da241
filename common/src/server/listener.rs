//! Binding the listen address (`:PORT` on IPv4 and IPv6 as Go does, with a deep backlog) and the
//! TLS handshake of an accepted connection.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

/// Binds `addr` (e.g. `127.0.0.1:9910`, `[::1]:9910`, or `:9910` for every IPv4 and IPv6
/// address, like Go's `net.Listen`).
pub(super) async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    match addr.strip_prefix(':') {
        Some(port) => {
            let port: u16 = port.parse().map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("{addr}: invalid port"),
                )
            })?;
            listen_all(port)
        }
        None => {
            let resolved = tokio::net::lookup_host(addr).await?.next().ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("{addr}: no address"),
                )
            })?;
            listen(resolved, false)
        }
    }
}

/// A listener on every address for `:PORT`: `[::]` with IPV6_V6ONLY off takes IPv4 clients too,
/// as Go's `net.Listen("tcp", ":PORT")` does; on a host without IPv6, `0.0.0.0`.
fn listen_all(port: u16) -> std::io::Result<TcpListener> {
    match listen(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)), true) {
        Err(e) if no_ipv6(&e) => {
            log::info!("no IPv6 on this host ({e}); listening on IPv4 only");
            listen(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)), false)
        }
        other => other,
    }
}

/// Errors that mean "this host has no IPv6", not "this port is taken".
fn no_ipv6(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAFNOSUPPORT | libc::EADDRNOTAVAIL | libc::EPROTONOSUPPORT)
    )
}

fn listen(addr: SocketAddr, dual_stack: bool) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if dual_stack {
        socket.set_only_v6(false)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    // tokio's default backlog (1024) overflows when 1,000 probes arrive at once; the kernel
    // caps this at net.core.somaxconn anyway, as Go's listener does.
    socket.listen(4096)?;
    TcpListener::from_std(socket.into())
}

/// Completes a TLS handshake, answering a plain-HTTP request with 400 the way Go's server does.
pub(super) async fn tls_handshake(
    stream: TcpStream,
    acceptor: &tokio_rustls::TlsAcceptor,
    timeout: Duration,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let mut first = [0u8; 1];
    match tokio::time::timeout(timeout, stream.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        _ => return None,
    }
    // 0x16 is the TLS handshake record type; anything else is not TLS.
    if first[0] != 0x16 {
        use tokio::io::AsyncWriteExt as _;
        let mut stream = stream;
        let _ = stream
            .write_all(b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
            .await;
        let _ = stream.shutdown().await;
        return None;
    }
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Ok(Ok(s)) => Some(s),
        Ok(Err(e)) => {
            log::debug!("TLS handshake failed: {e}");
            None
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_missing_ipv6_falls_back_to_ipv4() {
        let e = |n| std::io::Error::from_raw_os_error(n);
        assert!(no_ipv6(&e(libc::EAFNOSUPPORT)));
        assert!(no_ipv6(&e(libc::EADDRNOTAVAIL)));
        assert!(!no_ipv6(&e(libc::EADDRINUSE)));
        assert!(!no_ipv6(&e(libc::EACCES)));
    }
}
