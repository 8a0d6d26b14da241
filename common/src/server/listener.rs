//! Binding the listen address (`:PORT` on IPv4 and IPv6 as Go does, with a deep backlog) and the
//! TLS handshake of an accepted connection.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

/// A `--web.listen-address` value, checked for form before anything starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    /// `:PORT`: every IPv4 and IPv6 address, like Go's `net.Listen`.
    AllInterfaces(u16),
    /// `HOST:PORT` or `[IPv6]:PORT`.
    Host(String, u16),
}

impl ListenAddr {
    /// Parses `:PORT`, `HOST:PORT` or `[IPv6]:PORT`; the error says what is wrong.
    pub fn parse(addr: &str) -> Result<ListenAddr, ListenError> {
        let bad = |problem: String| ListenError::Invalid(problem);
        let (host, port) = addr
            .rsplit_once(':')
            .ok_or_else(|| bad("no port: write HOST:PORT, or :PORT for every interface".into()))?;
        if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
            return Err(bad(
                "an IPv6 address goes in brackets, e.g. [::1]:9910".into()
            ));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| bad(format!("{port:?} is not a port (0-65535)")))?;
        if host.is_empty() {
            Ok(ListenAddr::AllInterfaces(port))
        } else {
            Ok(ListenAddr::Host(host.to_owned(), port))
        }
    }

    fn port(&self) -> u16 {
        match self {
            ListenAddr::AllInterfaces(p) | ListenAddr::Host(_, p) => *p,
        }
    }
}

/// Why the listen address cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// Not an address of the accepted forms.
    #[error("{0}")]
    Invalid(String),
    /// The host name does not resolve to an address.
    #[error("cannot resolve {host:?}: {source}")]
    Resolve {
        /// The host part.
        host: String,
        /// What the resolver said.
        #[source]
        source: std::io::Error,
    },
    /// Binding failed; the message names the port where it is the problem.
    #[error("{problem}")]
    Bind {
        /// What went wrong, for the operator.
        problem: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Binds a parsed listen address.
pub(super) async fn bind(addr: &ListenAddr) -> Result<TcpListener, ListenError> {
    let bound = match addr {
        ListenAddr::AllInterfaces(port) => listen_all(*port),
        ListenAddr::Host(host, port) => {
            let host_port = format!("{host}:{port}");
            let resolved = tokio::net::lookup_host(&host_port)
                .await
                .map_err(|source| ListenError::Resolve {
                    host: host.clone(),
                    source,
                })?
                .next()
                .ok_or_else(|| ListenError::Resolve {
                    host: host.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
                })?;
            listen(resolved, false)
        }
    };
    bound.map_err(|source| {
        let port = addr.port();
        let problem = match source.raw_os_error() {
            Some(libc::EADDRINUSE) => format!("port {port} is already in use"),
            Some(libc::EACCES) => format!("port {port} needs privilege (ports below 1024)"),
            Some(libc::EADDRNOTAVAIL) => "the address is not on this host".to_owned(),
            _ => source.to_string(),
        };
        ListenError::Bind { problem, source }
    })
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
    fn listen_addresses_are_checked_for_form() {
        assert_eq!(
            ListenAddr::parse(":9910").unwrap(),
            ListenAddr::AllInterfaces(9910)
        );
        assert_eq!(
            ListenAddr::parse("127.0.0.1:0").unwrap(),
            ListenAddr::Host("127.0.0.1".into(), 0)
        );
        assert_eq!(
            ListenAddr::parse("[::1]:9910").unwrap(),
            ListenAddr::Host("[::1]".into(), 9910)
        );
        for (bad, says) in [
            (":99999", "\"99999\" is not a port"),
            ("localhost", "no port"),
            ("localhost:", "\"\" is not a port"),
            ("::1:9910", "in brackets"),
            (":http", "\"http\" is not a port"),
        ] {
            let e = ListenAddr::parse(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[tokio::test]
    async fn a_port_in_use_is_named() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let e = bind(&ListenAddr::Host("127.0.0.1".into(), port))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), format!("port {port} is already in use"));
    }

    #[test]
    fn only_missing_ipv6_falls_back_to_ipv4() {
        let e = |n| std::io::Error::from_raw_os_error(n);
        assert!(no_ipv6(&e(libc::EAFNOSUPPORT)));
        assert!(no_ipv6(&e(libc::EADDRNOTAVAIL)));
        assert!(!no_ipv6(&e(libc::EADDRINUSE)));
        assert!(!no_ipv6(&e(libc::EACCES)));
    }
}
