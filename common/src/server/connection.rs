//! One accepted connection: the web settings in force when it arrived, TLS if they ask for it,
//! then HTTP/1.1 with a header read timeout, a small read buffer and the configured extra
//! response headers. It closes when idle and asked to (the connection cap, or shutdown).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http::{HeaderValue, header};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::connections::Registration;
use super::listener::tls_handshake;
use super::live::Live;
use super::routing::State;

/// The most a connection buffers of a request: scrape requests are a few hundred bytes, and an
/// idle client must not be able to make the server hold hyper's default of 400 KiB.
const MAX_REQUEST_BUFFER: usize = 16 * 1024;

/// Serves `stream` from `peer` until the client is done, or until it is idle and either the
/// server shuts down or the cap wants its place.
pub(super) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    state: Arc<State>,
    registration: Registration,
    shutdown: watch::Receiver<bool>,
) {
    // Per connection, as exporter-toolkit does: a re-read config applies to new
    // connections; one already open keeps the settings it was accepted with.
    let live = state.web.current().await;
    let tls = live.web.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let result = match tls {
        None => serve_http(TokioIo::new(stream), state, live, &registration, shutdown).await,
        Some(acceptor) => {
            match tls_handshake(stream, &acceptor, state.opts.header_read_timeout).await {
                Some(s) => serve_http(TokioIo::new(s), state, live, &registration, shutdown).await,
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
    registration: &Registration,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), hyper::Error>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let header_timeout = state.opts.header_read_timeout;
    let slot = Arc::clone(registration.slot());
    let svc = service_fn(move |req| {
        let state = Arc::clone(&state);
        let live = Arc::clone(&live);
        let busy = slot.request();
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
            drop(busy);
            Ok::<_, Infallible>(resp)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_REQUEST_BUFFER)
        .serve_connection(io, svc);
    tokio::pin!(conn);
    let slot = registration.slot();
    tokio::select! {
        r = conn.as_mut() => return r,
        () = slot.closed() => {}
        _ = shutdown.wait_for(|stop| *stop) => {}
    }
    // Finishes a request in progress, then closes; an idle connection closes at once.
    conn.as_mut().graceful_shutdown();
    conn.await
}
