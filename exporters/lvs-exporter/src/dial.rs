//! One TCP dial: connect, optionally send a probe and wait for any answer. Document 001 §3.2:
//! if the business port answers through the VIP, LVS forwards end to end, "even when the password
//! is wrong": a Redis `-NOAUTH` or any other error string is a pass.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Why a dial failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialError {
    /// No connection (refused, unreachable).
    #[error("connecting to {0}: {1}")]
    Connect(SocketAddr, String),
    /// The probe could not be sent or the answer read.
    #[error("probing {0}: {1}")]
    Io(SocketAddr, String),
    /// The peer closed the connection without a byte of answer.
    #[error("{0} closed the connection without answering the probe")]
    NoAnswer(SocketAddr),
    /// Nothing within the time allowed.
    #[error("no answer from {0} within {1:?}")]
    Timeout(SocketAddr, Duration),
}

/// Dials `addr` within `timeout`; with a `probe`, an answer of at least one byte is required.
/// Returns how long it took.
pub async fn dial(
    addr: SocketAddr,
    probe: &[u8],
    timeout: Duration,
) -> Result<Duration, DialError> {
    let start = Instant::now();
    let attempt = async {
        let mut s = TcpStream::connect(addr)
            .await
            .map_err(|e| DialError::Connect(addr, e.to_string()))?;
        if !probe.is_empty() {
            s.write_all(probe)
                .await
                .map_err(|e| DialError::Io(addr, e.to_string()))?;
            let mut buf = [0u8; 512];
            let n = s
                .read(&mut buf)
                .await
                .map_err(|e| DialError::Io(addr, e.to_string()))?;
            if n == 0 {
                return Err(DialError::NoAnswer(addr));
            }
        }
        Ok(start.elapsed())
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| DialError::Timeout(addr, timeout))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn an_error_string_is_a_pass_silence_and_refusal_are_not() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            // First client: a Redis that wants a password; second: closes; third: stays silent.
            let (mut s, _) = l.accept().await.unwrap();
            let mut b = [0u8; 64];
            let _ = s.read(&mut b).await;
            s.write_all(b"-NOAUTH Authentication required.\r\n")
                .await
                .unwrap();
            // It reads the probe first: closing with unread data would reset, not close.
            let (mut s2, _) = l.accept().await.unwrap();
            let _ = s2.read(&mut b).await;
            drop(s2);
            let (_s3, _) = l.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let t = Duration::from_secs(2);
        assert!(dial(addr, b"PING\r\n", t).await.is_ok());
        assert_eq!(
            dial(addr, b"PING\r\n", t).await,
            Err(DialError::NoAnswer(addr))
        );
        let short = Duration::from_millis(300);
        assert_eq!(
            dial(addr, b"PING\r\n", short).await,
            Err(DialError::Timeout(addr, short))
        );
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gone = closed.local_addr().unwrap();
        drop(closed);
        assert!(matches!(
            dial(gone, b"", t).await,
            Err(DialError::Connect(..))
        ));
    }
}
