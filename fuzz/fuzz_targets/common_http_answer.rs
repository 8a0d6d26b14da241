//! What a probed server answers (IC-Server `/ok`, etcd `/health`, `/metrics`, the v3 gateway):
//! `http_probe::HttpProbe::get` reading raw bytes from a loopback server, then `Expect::check`.
//! The answer must come back as a response or a failure with a reason, within the bound.
#![no_main]

use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use common::http_probe::{BodyExpect, Expect, HttpProbe, ProbeOptions, Reason};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

const MAX_BODY: usize = 1024;

struct Harness {
    rt: Runtime,
    listener: TcpListener,
    addr: SocketAddr,
    probe: HttpProbe,
}

static H: LazyLock<Harness> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let listener = rt
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("binding loopback");
    let addr = listener.local_addr().expect("local address");
    let probe = HttpProbe::new(&ProbeOptions {
        max_body_bytes: MAX_BODY,
        ..ProbeOptions::default()
    })
    .expect("probe");
    Harness {
        rt,
        listener,
        addr,
        probe,
    }
});

fuzz_target!(|data: &[u8]| {
    let h = &*H;
    let url = format!("http://{}/ok", h.addr);
    let serve = async {
        let Ok((mut conn, _)) = h.listener.accept().await else {
            return;
        };
        let mut request = [0_u8; 1024];
        let _ = conn.read(&mut request).await;
        let _ = conn.write_all(data).await;
        let _ = conn.shutdown().await;
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let ((), got) =
        h.rt.block_on(async { tokio::join!(serve, h.probe.get(&url, deadline)) });
    match got {
        Ok(resp) => {
            assert!(resp.body.len() <= MAX_BODY);
            for body in [
                BodyExpect::Any,
                BodyExpect::Exact("ok".into()),
                BodyExpect::Contains("true".into()),
                BodyExpect::Contains(String::new()),
            ] {
                let expect = Expect {
                    statuses: vec![],
                    body,
                };
                let _ = expect.check(resp.clone());
            }
        }
        Err(f) => {
            // The server closed right after writing: nothing may wait for the deadline.
            assert_ne!(f.reason, Reason::Timeout, "{f}");
            assert!(!matches!(f.reason, Reason::InvalidUrl | Reason::Dns), "{f}");
        }
    }
});
