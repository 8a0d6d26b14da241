//! A fake HTTP peer on loopback: a raw accept loop that hands each connection to a scripted
//! handler, so tests can answer well, badly, slowly or not at all.

use std::future::Future;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// Serves every connection accepted on a fresh `127.0.0.1` port with `handler`, until the
/// runtime ends; returns the address.
///
/// # Panics
/// When no loopback port can be bound.
#[allow(clippy::expect_used)]
pub async fn serve<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding a loopback port");
    let addr = listener.local_addr().expect("address of a bound listener");
    serve_on(listener, handler);
    addr
}

/// Serves every connection accepted on `listener` with `handler`, until the runtime ends.
pub fn serve_on<F, Fut>(listener: TcpListener, handler: F)
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(handler(stream));
        }
    });
}

/// Reads a request head up to its blank line (or the end of the stream) and returns it.
pub async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> String {
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// A complete HTTP/1.1 answer with `Content-Length` and `Connection: close`.
pub fn response(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Reads the request, sends [`response`]`(status, body)` and closes the connection.
pub async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, status: &str, body: &str) {
    read_request(&mut stream).await;
    let _ = stream.write_all(response(status, body).as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Reads the request, announces a `len`-byte 200 answer and sends its body one byte every
/// `every`: a peer that trickles so a deadline must cut it off. Stops when the client leaves.
pub async fn trickle<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    len: usize,
    every: std::time::Duration,
) {
    read_request(&mut stream).await;
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n");
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    for _ in 0..len {
        if stream.write_all(b"o").await.is_err() {
            return;
        }
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answer_sends_the_scripted_status_and_body() {
        let addr = serve(|s| answer(s, "503 Service Unavailable", "busy")).await;
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).await.unwrap();
        assert!(
            raw.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{raw}"
        );
        assert!(raw.contains("Content-Length: 4\r\n"), "{raw}");
        assert!(raw.ends_with("\r\n\r\nbusy"), "{raw}");
    }
}
