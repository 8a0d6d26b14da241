//! A real Alertmanager (Debian's `prometheus-alertmanager`) on loopback, and a webhook sink that
//! records what it delivers.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::TempDir;
use crate::process::Process;

/// One webhook delivery: the URL path (the receiver) and the JSON body.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Request path, e.g. `/pager`.
    pub path: String,
    /// The Alertmanager webhook payload.
    pub body: serde_json::Value,
}

/// An HTTP server on loopback that answers 200 to every POST and keeps the deliveries.
#[derive(Debug)]
pub struct WebhookSink {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Delivery>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn read_request(s: &mut std::net::TcpStream) -> Option<(String, Vec<u8>)> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    // Bounded: headers plus a declared body, at most 1 MiB, within the read timeout.
    while raw.len() < 1 << 20 {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&raw[..end]).to_string();
        let len: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap_or(0))
            })
            .unwrap_or(0);
        if raw.len() >= end + 4 + len {
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
            return Some((path, raw[end + 4..end + 4 + len].to_vec()));
        }
    }
    None
}

impl WebhookSink {
    /// Starts the sink on a free loopback port.
    pub fn start() -> WebhookSink {
        let listener =
            TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("webhook sink: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("{e}"));
        let got = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, f) = (Arc::clone(&got), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !f.load(Ordering::Relaxed) {
                let Ok((mut s, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                if let Some((path, body)) = read_request(&mut s) {
                    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                    if let Ok(mut v) = g.lock() {
                        v.push(Delivery { path, body });
                    }
                }
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        WebhookSink {
            addr,
            got,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything delivered so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.got.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A running Alertmanager, killed on drop.
#[derive(Debug)]
pub struct Alertmanager {
    _process: Process,
    addr: SocketAddr,
    _dir: TempDir,
}

impl Alertmanager {
    /// Starts Alertmanager with `config` (YAML text), clustering off, on a free loopback port.
    pub fn start(config: &str) -> Alertmanager {
        let dir = TempDir::new("alertmanager");
        let cfg = dir.path().join("alertmanager.yml");
        std::fs::write(&cfg, config).unwrap_or_else(|e| panic!("writing {}: {e}", cfg.display()));
        let addr: SocketAddr = ([127, 0, 0, 1], crate::free_port()).into();
        let mut process = Process::spawn(
            "alertmanager",
            Command::new("prometheus-alertmanager")
                .arg(format!("--config.file={}", cfg.display()))
                .arg(format!(
                    "--storage.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address={addr}"))
                // An empty cluster address turns gossip off: no traffic beyond loopback.
                .arg("--cluster.listen-address=")
                .arg("--log.level=warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .unwrap_or_else(|e| {
            panic!("starting prometheus-alertmanager (installed by `make test`): {e}")
        });
        process.wait_http_ok(addr, "/-/ready", Duration::from_secs(30));
        Alertmanager {
            _process: process,
            addr,
            _dir: dir,
        }
    }

    /// Starts it with the suite's example config, its webhook receivers pointed at `sink`.
    pub fn start_example(sink: &WebhookSink) -> Alertmanager {
        let path = crate::workspace_root().join("alerting-rules/alertmanager/alertmanager.yml");
        let text = crate::read_text(&path);
        Alertmanager::start(&text.replace("http://127.0.0.1:9095", &sink.url()))
    }

    /// The alerts it holds (`GET /api/v2/alerts`: deduplicated, each with its `labels`).
    pub fn alerts(&self) -> Vec<serde_json::Value> {
        let r = crate::http::get(self.addr, "/api/v2/alerts", &[])
            .unwrap_or_else(|e| panic!("GET /api/v2/alerts: {e}"));
        serde_json::from_str::<Vec<serde_json::Value>>(&r.body)
            .unwrap_or_else(|e| panic!("GET /api/v2/alerts: {e}: {}", r.body))
    }

    /// How many firing alerts it has received (`alertmanager_alerts_received_total`, every API
    /// version), duplicates included.
    pub fn firing_received(&self) -> f64 {
        let r = crate::http::get(self.addr, "/metrics", &[])
            .unwrap_or_else(|e| panic!("GET /metrics: {e}"));
        r.body
            .lines()
            .filter(|l| {
                l.starts_with("alertmanager_alerts_received_total{")
                    && l.contains("status=\"firing\"")
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// `host:port` for Prometheus' `alerting` section.
    pub fn target(&self) -> String {
        self.addr.to_string()
    }
}
