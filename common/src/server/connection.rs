//! One accepted connection: the web settings in force when it arrived, TLS if they ask for it,
//! then HTTP/1.1 with a header read timeout and the configured extra response headers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http::{HeaderValue, header};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::Watcher;
use tokio::net::TcpStream;

use super::listener::tls_handshake;
use super::live::Live;
use super::routing::State;

/// Serves `stream` from `peer` until the client is done or shutdown ends the wait.
pub(super) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    state: Arc<State>,
    watcher: Watcher,
) {
    // Per connection, as exporter-toolkit does: a re-read config applies to new
    // connections; one already open keeps the settings it was accepted with.
    let live = state.web.current().await;
    let tls = live.web.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let result = match tls {
        None => serve_http(TokioIo::new(stream), state, live, watcher).await,
        Some(acceptor) => {
            match tls_handshake(stream, &acceptor, state.opts.header_read_timeout).await {
                Some(s) => serve_http(TokioIo::new(s), state, live, watcher).await,
                None => Ok(()),
            }
        }
    };
    if let Err(e) = result {
        log::debug!("connection from {peer}: {e}");
    }
}

async fn serve_http<I>(
    io: TokioIo<I>,
    state: Arc<State>,
    live: Arc<Live>,
    watcher: Watcher,
) -> Result<(), hyper::Error>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let header_timeout = state.opts.header_read_timeout;
    let svc = service_fn(move |req| {
        let state = Arc::clone(&state);
        let live = Arc::clone(&live);
        async move {
            let mut resp = state.handle(&live, req).await;
            for (k, v) in &live.web.headers {
                if let (Ok(k), Ok(v)) = (
                    header::HeaderName::try_from(k.as_str()),
                    HeaderValue::try_from(v.as_str()),
                ) {
                    resp.headers_mut().insert(k, v);
                }
            }
            Ok::<_, Infallible>(resp)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(io, svc);
    watcher.watch(conn).await
}
