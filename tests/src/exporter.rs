//! Starting a built exporter binary on a free loopback port for a test.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::http;

/// A running exporter, killed when dropped.
#[derive(Debug)]
pub struct Exporter {
    child: Child,
    addr: SocketAddr,
    /// The binary name.
    pub name: String,
}

impl Exporter {
    /// Starts `bin` with `args` plus `--web.listen-address=127.0.0.1:<free port>` and waits
    /// (at most 20 s) until `/-/healthy` answers.
    pub fn start(bin: &str, args: &[&str]) -> Exporter {
        let port = crate::free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let child = Command::new(crate::bin_path(bin))
            .args(args)
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {bin}: {e}"));
        let mut me = Exporter {
            child,
            addr,
            name: bin.to_owned(),
        };
        let child = &mut me.child;
        crate::wait_until(
            &format!("{bin} to answer /-/healthy"),
            Duration::from_secs(20),
            || {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("{bin} exited early with {status}");
                }
                http::get(addr, "/-/healthy", &[])
                    .ok()
                    .filter(|r| r.status == 200)
                    .map(|_| ())
            },
        );
        me
    }

    /// The listen address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `host:port` for scrape configs.
    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    /// One scrape of `/metrics` in the classic format; panics unless it answers 200.
    pub fn scrape(&self) -> String {
        let r = http::get(self.addr, "/metrics", &[])
            .unwrap_or_else(|e| panic!("scraping {}: {e}", self.name));
        assert_eq!(
            r.status, 200,
            "scrape of {} answered {}: {}",
            self.name, r.status, r.body
        );
        r.body
    }

    /// The value of `name{labels}` in a fresh scrape.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        sample_value(&self.scrape(), name, labels)
    }

    /// Scrapes until `name{labels}` satisfies `pred` (see [`wait_sample`]).
    pub fn wait_sample(
        &self,
        what: &str,
        timeout: Duration,
        name: &str,
        labels: &[(&str, &str)],
        pred: impl Fn(f64) -> bool,
    ) -> String {
        wait_sample(what, timeout, || self.scrape(), name, labels, pred)
    }

    /// A GET with headers.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> http::Response {
        http::get(self.addr, path, headers)
            .unwrap_or_else(|e| panic!("GET {path} on {}: {e}", self.name))
    }

    /// Sends SIGTERM and waits for the exit status (at most 10 s, then SIGKILL).
    pub fn terminate(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..100 {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Calls `scrape` every 100 ms until `name{labels}` satisfies `pred`, at most `timeout` (then
/// panics naming `what`); returns the scrape in which it did, for further assertions.
pub fn wait_sample(
    what: &str,
    timeout: Duration,
    mut scrape: impl FnMut() -> String,
    name: &str,
    labels: &[(&str, &str)],
    pred: impl Fn(f64) -> bool,
) -> String {
    crate::wait_until(what, timeout, || {
        let s = scrape();
        sample_value(&s, name, labels)
            .filter(|v| pred(*v))
            .map(|_| s)
    })
}

/// Names of the metric families in a classic-format scrape (from `# TYPE` lines).
pub fn family_names(scrape: &str) -> Vec<String> {
    scrape
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// The value of the first sample line whose name and label text match, e.g.
/// `sample_value(s, "os_loadavg", &[("interval", "1m")])`.
pub fn sample_value(scrape: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            if n != name {
                return None;
            }
            let all = labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            if !all {
                return None;
            }
            value.parse().ok()
        })
}
