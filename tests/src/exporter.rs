//! Built exporter binaries started on a free loopback port for a test, exporters reached over
//! HTTP wherever they run, and reading samples out of a scrape.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::http;
use crate::process::Process;

/// An exporter's HTTP endpoint, wherever it runs (started here, or inside a network namespace).
#[derive(Debug, Clone)]
pub struct Endpoint {
    addr: SocketAddr,
    /// Names it in panic messages (the binary name, or the address).
    pub name: String,
    /// Extra headers of every scrape (e.g. the scrape timeout Prometheus announces).
    headers: Vec<(String, String)>,
    /// Read timeout of a scrape.
    timeout: Duration,
}

impl Endpoint {
    /// The exporter at `addr`, scraped with no extra header and a 30 s read timeout.
    pub fn new(addr: SocketAddr, name: &str) -> Endpoint {
        Endpoint {
            addr,
            name: name.to_owned(),
            headers: Vec::new(),
            timeout: Duration::from_secs(30),
        }
    }

    /// Scrapes announce `X-Prometheus-Scrape-Timeout-Seconds: <announced>` and give up after
    /// `read_timeout`.
    pub fn with_scrape_timeout(mut self, announced: &str, read_timeout: Duration) -> Endpoint {
        self.headers.push((
            "X-Prometheus-Scrape-Timeout-Seconds".to_owned(),
            announced.to_owned(),
        ));
        self.timeout = read_timeout;
        self
    }

    /// The listen address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `host:port` for scrape configs.
    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    /// Waits (at most `timeout`) until `/-/healthy` answers 200.
    pub fn wait_healthy(&self, timeout: Duration) {
        let what = format!("{} to answer /-/healthy", self.name);
        http::wait_ok(&what, self.addr, "/-/healthy", timeout, || {});
    }

    /// One scrape of `/metrics` in the classic format; panics unless it answers 200.
    pub fn scrape(&self) -> String {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = http::get_with_timeout(self.addr, "/metrics", &headers, self.timeout)
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
}

/// A running exporter, killed when dropped; its [`Endpoint`] methods scrape it.
#[derive(Debug)]
pub struct Exporter {
    process: Process,
    endpoint: Endpoint,
}

impl Exporter {
    /// Starts the built binary `bin` (see [`crate::bin_path`]) with `args` plus
    /// `--web.listen-address=127.0.0.1:<free port>` and waits (at most 20 s) until `/-/healthy`
    /// answers.
    pub fn start(bin: &str, args: &[&str]) -> Exporter {
        Exporter::start_path(&crate::bin_path(bin), args)
    }

    /// Like [`Exporter::start`] for the binary at `path` (e.g. `env!("CARGO_BIN_EXE_<name>")`
    /// in an exporter's own integration tests).
    pub fn start_path(path: &Path, args: &[&str]) -> Exporter {
        let name = crate::file_name(path);
        let addr: SocketAddr = ([127, 0, 0, 1], crate::free_port()).into();
        let mut process = Process::spawn(
            &name,
            Command::new(path)
                .args(args)
                .arg(format!("--web.listen-address={addr}")),
        )
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        process.wait_http_ok(addr, "/-/healthy", Duration::from_secs(20));
        Exporter {
            process,
            endpoint: Endpoint::new(addr, &name),
        }
    }

    /// Like [`Exporter::start`], run under `wrapper` (e.g. `prlimit --nofile=1024:1024`, or
    /// `setpriv` to drop privileges), its stderr written to `log`.
    pub fn start_under(wrapper: &[&str], bin: &str, args: &[&str], log: &Path) -> Exporter {
        let path = crate::bin_path(bin);
        let addr: SocketAddr = ([127, 0, 0, 1], crate::free_port()).into();
        let stderr = std::fs::File::create(log)
            .unwrap_or_else(|e| panic!("creating {}: {e}", log.display()));
        let (program, pre) = wrapper
            .split_first()
            .unwrap_or_else(|| panic!("Exporter::start_under: empty wrapper"));
        let mut process = Process::spawn(
            bin,
            Command::new(program)
                .args(pre)
                .arg(&path)
                .args(args)
                .arg(format!("--web.listen-address={addr}"))
                .stderr(stderr),
        )
        .unwrap_or_else(|e| panic!("starting {bin} under {wrapper:?}: {e}"))
        .with_log(log.to_path_buf());
        // Any answer will do: with basic auth configured, `/-/healthy` answers 401 too.
        crate::wait_until(
            &format!("{bin} to answer HTTP"),
            Duration::from_secs(20),
            || {
                process.assert_running();
                crate::http::get(addr, "/-/healthy", &[]).ok()
            },
        );
        Exporter {
            process,
            endpoint: Endpoint::new(addr, bin),
        }
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// Sends SIGTERM and waits for the exit code (at most 10 s, then SIGKILL).
    pub fn terminate(self) -> Option<i32> {
        self.process.terminate().and_then(|s| s.code())
    }
}

impl std::ops::Deref for Exporter {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

/// `--config.file` flags that keep `exporter` to the test: its audit journal and state file in
/// `dir` rather than the host's default paths under `/var/lib`, which no test may write (a later
/// `make run` would read them; `make test` checks with `scripts/state-guard.sh`), and no
/// packets to the host's real gateway, peers and NTP servers (os-exporter's `ping` and `ntp`
/// collectors). Empty for exporters that need neither.
pub fn isolated_args(exporter: &str, dir: &Path) -> Vec<String> {
    let config = match exporter {
        "os-exporter" => format!(
            "[collectors]\ndisabled = [\"ping\", \"ntp\"]\n\n[audit]\npath = \"{}\"\n\n[directories]\nstate_file = \"{}\"\n",
            dir.join("audit.jsonl").display(),
            dir.join("directories.json").display()
        ),
        "etcd-probe" => format!("state_file = \"{}\"\n", dir.join("state.json").display()),
        "flink-sync-exporter" => format!(
            "role = \"active\"\njunk_roots = []\n\n[audit]\npath = \"{}\"\n",
            dir.join("audit.jsonl").display()
        ),
        _ => return Vec::new(),
    };
    let path = dir.join(format!("{exporter}.toml"));
    std::fs::write(&path, config).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    vec![format!("--config.file={}", path.display())]
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

/// How many samples of `name` with labels (a series without labels does not count) carry all
/// `labels` and the value `want`.
pub fn count_samples(scrape: &str, name: &str, labels: &[(&str, &str)], want: f64) -> usize {
    scrape
        .lines()
        .filter(|l| {
            let Some((series, v)) = l.rsplit_once(' ') else {
                return false;
            };
            series.starts_with(&format!("{name}{{"))
                && labels
                    .iter()
                    .all(|(k, lv)| series.contains(&format!("{k}=\"{lv}\"")))
                && v.parse::<f64>().ok() == Some(want)
        })
        .count()
}
