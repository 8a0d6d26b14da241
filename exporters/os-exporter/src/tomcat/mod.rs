//! Tomcat without JMX (document 001 §3.5): request counts by status class and latency from the
//! AccessLogValve's file, the startup lines of `catalina.out`, the product's appkey file. The
//! logs are read by the background job `tomcat`, never at scrape time; the connector ports are
//! checked at the scrape (`collectors::tomcat_ports`).

pub(crate) mod appkey;
pub(crate) mod config;
pub(crate) mod daily_tail;
pub(crate) mod version;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::SysPaths;
use common::log_tail::{LogTail, StartAt, tail_lines};

use crate::parsers::access_log::{Class, Pattern};
use crate::parsers::catalina_log::{self, Event};
use crate::parsers::server_xml;
use config::TomcatConfig;
use daily_tail::DailyTail;

/// Upper bounds of `tomcat_request_duration_seconds`, in seconds.
pub(crate) const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// SecureRandom creation longer than this counts as slow (Tomcat itself warns above 100 ms; a
/// second is what users notice at startup).
pub(crate) const SLOW_SECURE_RANDOM: Duration = Duration::from_secs(1);
/// Lines of `catalina.out` looked at on start for the last startup lines.
const CATALINA_HISTORY_LINES: usize = 20_000;
/// Bytes read back for them.
const CATALINA_HISTORY_BYTES: u64 = 8 << 20;

/// Request counters of one access log.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Access {
    /// Requests per [`Class::ALL`] class.
    pub(crate) requests: [u64; 5],
    /// Lines not of the pattern's shape.
    pub(crate) unparsed: u64,
    /// Whether the pattern has a latency field (else no latency series).
    pub(crate) has_latency: bool,
    /// Cumulative counts per [`BUCKETS`] bound.
    pub(crate) buckets: [u64; BUCKETS.len()],
    /// Seconds, summed.
    pub(crate) sum: f64,
    /// Requests with a latency.
    pub(crate) count: u64,
    /// The slowest request of the last closed window; `None` before one closed, or when it held
    /// no request with a latency.
    pub(crate) window_max: Option<f64>,
}

/// What the catalina log said.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Catalina {
    /// Seconds of the last SecureRandom creation logged.
    pub(crate) secure_random_last: Option<f64>,
    /// SecureRandom creation lines since the exporter started.
    pub(crate) secure_random_lines: u64,
    /// Of those, the ones over [`SLOW_SECURE_RANDOM`].
    pub(crate) secure_random_slow: u64,
    /// Seconds of the last `Server startup in [N] milliseconds`.
    pub(crate) startup_last: Option<f64>,
    /// `Property File Not Found` lines since the exporter started.
    pub(crate) property_file_not_found: u64,
}

/// What one Tomcat looks like after the last pass.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Snapshot {
    /// The `tomcat` label.
    pub(crate) name: String,
    /// Connector ports to check.
    pub(crate) ports: Vec<u16>,
    /// The access log's counters, when one is configured.
    pub(crate) access: Option<Access>,
    /// The catalina log's lines, when one is configured.
    pub(crate) catalina: Option<Catalina>,
    /// Whether the appkey file is there and readable, when configured.
    pub(crate) appkey_ok: Option<bool>,
}

/// One configured Tomcat and its readers.
#[derive(Debug)]
pub(crate) struct Instance {
    cfg: TomcatConfig,
    pattern: Option<Pattern>,
    access_tail: Option<DailyTail>,
    catalina_tail: Option<LogTail>,
    catalina_path: Option<PathBuf>,
    window_started: Instant,
    window_max: Option<f64>,
    unparsed_logged: bool,
    /// Whether a pass has run (with `count_existing`, the first pass closes its own window).
    passed: bool,
    appkey_reason: Option<String>,
    snapshot: Snapshot,
}

/// The connector ports of `cfg`: the configured ones and `server_xml`'s.
pub(crate) fn ports(paths: &SysPaths, cfg: &TomcatConfig) -> Result<Vec<u16>, String> {
    let mut ports = cfg.ports.clone();
    if let Some(xml) = &cfg.server_xml {
        let p = under_root(paths, xml);
        let text = std::fs::read_to_string(&p)
            .map_err(|e| format!("tomcat {:?}: server_xml {}: {e}", cfg.name, p.display()))?;
        for port in server_xml::connector_ports(&text)
            .map_err(|e| format!("tomcat {:?}: {}: {e}", cfg.name, p.display()))?
        {
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
    }
    Ok(ports)
}

fn under_root(paths: &SysPaths, p: &Path) -> PathBuf {
    paths.root(p.display().to_string().trim_start_matches('/'))
}

impl Instance {
    /// The readers of `cfg` (validated); reads `server_xml`.
    pub(crate) fn new(paths: &SysPaths, cfg: TomcatConfig) -> Result<Self, String> {
        let ports = ports(paths, &cfg)?;
        let major = match (cfg.major()?, &cfg.catalina_home) {
            (Some(m), _) => Some(m),
            (None, Some(home)) => Some(
                version::major_of_home(&under_root(paths, home))
                    .map_err(|e| format!("tomcat {:?}: catalina_home: {e}", cfg.name))?,
            ),
            (None, None) => None,
        };
        let pattern = cfg.compiled_pattern(major)?;
        let access_tail = cfg.access_log_dir.as_ref().map(|d| {
            let t = DailyTail::new(
                under_root(paths, d),
                &cfg.prefix,
                &cfg.suffix,
                &cfg.file_date_format,
            );
            if cfg.count_existing {
                t.reading_history()
            } else {
                t
            }
        });
        let catalina_path = cfg.catalina_log.as_ref().map(|p| under_root(paths, p));
        let snapshot = Snapshot {
            name: cfg.name.clone(),
            ports,
            access: pattern.as_ref().map(|p| Access {
                has_latency: p.latency().is_some(),
                ..Access::default()
            }),
            catalina: catalina_path.as_ref().map(|_| Catalina::default()),
            appkey_ok: None,
        };
        Ok(Self {
            cfg,
            pattern,
            access_tail,
            catalina_tail: None,
            catalina_path,
            window_started: Instant::now(),
            window_max: None,
            unparsed_logged: false,
            passed: false,
            appkey_reason: None,
            snapshot,
        })
    }

    /// The configured window.
    pub(crate) fn window(&self) -> Duration {
        self.cfg.window
    }

    /// Reads what the logs gained and re-checks the appkey file.
    pub(crate) fn pass(&mut self, paths: &SysPaths, now: Instant) -> Result<(), String> {
        let mut errors = Vec::new();
        if let Err(e) = self.read_access(now) {
            errors.push(e);
        }
        if let Err(e) = self.read_catalina() {
            errors.push(e);
        }
        self.check_appkey(paths);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("tomcat {:?}: {}", self.cfg.name, errors.join("; ")))
        }
    }

    fn read_access(&mut self, now: Instant) -> Result<(), String> {
        let (Some(tail), Some(pattern), Some(access)) = (
            self.access_tail.as_mut(),
            self.pattern.as_ref(),
            self.snapshot.access.as_mut(),
        ) else {
            return Ok(());
        };
        let mut first_bad: Option<String> = None;
        let window_max = &mut self.window_max;
        let r = tail.read_lines(|line| {
            let Some(e) = pattern.parse(line) else {
                access.unparsed += 1;
                if first_bad.is_none() {
                    first_bad = Some(line.chars().take(200).collect());
                }
                return;
            };
            let class = Class::of(e.status);
            if let Some(i) = Class::ALL.iter().position(|c| *c == class) {
                access.requests[i] += 1;
            }
            if let Some(s) = e.latency_seconds {
                access.count += 1;
                access.sum += s;
                for (b, bound) in access.buckets.iter_mut().zip(BUCKETS) {
                    if s <= bound {
                        *b += 1;
                    }
                }
                *window_max = Some(window_max.map_or(s, |m: f64| m.max(s)));
            }
        });
        if let (Some(bad), false) = (first_bad, self.unparsed_logged) {
            // Once: a wrong pattern would otherwise log every line.
            log::warn!(
                "tomcat {:?}: access log line not of the pattern {:?} (counted in tomcat_access_log_unparsed_lines_total, logged once): {bad}",
                self.cfg.name,
                self.cfg.pattern
            );
            self.unparsed_logged = true;
        }
        // The window closes on the pass at or after its end (a pass may run a little early).
        let history = self.cfg.count_existing && !self.passed;
        self.passed = true;
        if history
            || now.duration_since(self.window_started) + Duration::from_millis(250)
                >= self.cfg.window
        {
            access.window_max = self.window_max.take();
            self.window_started = now;
        }
        r.map_err(|e| e.to_string())
    }

    fn read_catalina(&mut self) -> Result<(), String> {
        let (Some(path), Some(cat)) =
            (self.catalina_path.as_ref(), self.snapshot.catalina.as_mut())
        else {
            return Ok(());
        };
        if self.catalina_tail.is_none() {
            // The last startup happened before we started: its lines set the gauges, not the
            // counters (those count from the exporter's start, like every log counter here).
            match tail_lines(path, CATALINA_HISTORY_LINES, CATALINA_HISTORY_BYTES) {
                Ok(t) => {
                    for l in &t.lines {
                        apply(cat, l, false);
                    }
                }
                Err(e) => log::debug!("tomcat {:?}: {e}", self.cfg.name),
            }
            self.catalina_tail = Some(LogTail::new(path.clone(), StartAt::End));
        }
        let Some(tail) = self.catalina_tail.as_mut() else {
            return Ok(());
        };
        tail.read_lines(|l| apply(cat, l, true))
            .map_err(|e| e.to_string())
    }

    fn check_appkey(&mut self, paths: &SysPaths) {
        let Some(props) = &self.cfg.application_properties else {
            return;
        };
        let root = |p: &Path| under_root(paths, p);
        let c = appkey::check(
            &root,
            props,
            &self.cfg.appkey_default_dir,
            self.cfg.user.as_deref(),
        );
        if c.reason != self.appkey_reason {
            match &c.reason {
                Some(r) => log::warn!("tomcat {:?}: appkey file: {r}", self.cfg.name),
                None => log::info!(
                    "tomcat {:?}: appkey file {} is readable",
                    self.cfg.name,
                    c.path.display()
                ),
            }
            self.appkey_reason = c.reason.clone();
        }
        self.snapshot.appkey_ok = Some(c.ok);
    }

    /// The state after the last pass.
    pub(crate) fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }
}

/// Applies one catalina line; `count` is false for history read at start.
#[allow(clippy::cast_precision_loss)]
fn apply(cat: &mut Catalina, line: &str, count: bool) {
    match catalina_log::classify(line) {
        Some(Event::SecureRandom { millis, .. }) => {
            cat.secure_random_last = Some(millis as f64 / 1000.0);
            if count {
                cat.secure_random_lines += 1;
                if u128::from(millis) > SLOW_SECURE_RANDOM.as_millis() {
                    cat.secure_random_slow += 1;
                }
            }
        }
        Some(Event::Startup { millis }) => cat.startup_last = Some(millis as f64 / 1000.0),
        Some(Event::PropertyFileNotFound) if count => cat.property_file_not_found += 1,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn cfg(dir: &Path, pattern: &str) -> TomcatConfig {
        let text = format!(
            "name = \"t\"\naccess_log_dir = \"{}\"\npattern = '{pattern}'\ntomcat_version = \"10.1.60\"\ncatalina_log = \"{}/catalina.out\"\nwindow = \"1s\"\n",
            dir.display(),
            dir.display()
        );
        common::config::parse_toml(Path::new("x.toml"), &text).unwrap()
    }

    fn append(p: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn counts_classes_latency_and_the_window_max() {
        let d = std::env::temp_dir().join(format!("tomcat-inst-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let log = d.join("localhost_access_log.2026-12-01.txt");
        append(&log, "127.0.0.1 [x] \"GET /old HTTP/1.1\" 500 1 9000000\n");
        append(
            &d.join("catalina.out"),
            "x Server startup in [1875] milliseconds\nProperty File Not Found\n",
        );
        let paths = SysPaths::fixture("/");
        let mut i = Instance::new(&paths, cfg(&d, "%h %t \"%r\" %s %b %D")).unwrap();
        let t0 = Instant::now();
        i.pass(&paths, t0).unwrap();
        let a = i.snapshot().access.clone().unwrap();
        assert_eq!(a.requests, [0; 5], "history is not counted");
        let c = i.snapshot().catalina.clone().unwrap();
        assert_eq!(c.startup_last, Some(1.875));
        assert_eq!(c.property_file_not_found, 0);
        append(
            &log,
            "127.0.0.1 [x] \"GET / HTTP/1.1\" 200 5 1000\n127.0.0.1 [x] \"-\" 400 5 200\n127.0.0.1 [x] \"GET /e HTTP/1.1\" 500 5 1500000\nnot a line\n127.0.0.1 [x] \"GET / HTTP/1.1\" 302 - 30000\n",
        );
        append(
            &d.join("catalina.out"),
            "Creation of SecureRandom instance for session ID generation using [SHA1PRNG] took [5172] milliseconds.\nProperty File Not Found\n",
        );
        i.pass(&paths, t0 + Duration::from_secs(1)).unwrap();
        let a = i.snapshot().access.clone().unwrap();
        assert_eq!(a.requests, [1, 1, 1, 1, 0]);
        assert_eq!(a.unparsed, 1);
        assert_eq!(a.count, 4);
        assert_eq!(a.window_max, Some(1.5));
        assert_eq!(a.buckets[0], 2, "1 ms and 0.2 ms are under 5 ms");
        assert_eq!(a.buckets[BUCKETS.len() - 1], 4);
        let c = i.snapshot().catalina.clone().unwrap();
        assert_eq!(c.secure_random_last, Some(5.172));
        assert_eq!((c.secure_random_lines, c.secure_random_slow), (1, 1));
        assert_eq!(c.property_file_not_found, 1);
        // A window without requests has no max.
        i.pass(&paths, t0 + Duration::from_secs(2)).unwrap();
        assert_eq!(i.snapshot().access.clone().unwrap().window_max, None);
        let _ = std::fs::remove_dir_all(&d);
    }
}
