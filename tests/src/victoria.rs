//! The scale-out path on Debian's `victoria-metrics` package, on loopback: VictoriaMetrics
//! (single node) as the TSDB, vmagent scraping and remote-writing into it, vmalert evaluating
//! rule files against it and notifying Alertmanager.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::TempDir;
use crate::process::Process;
use crate::prometheus::{Job, QueryApi};

/// One program of the package, on a free loopback port, its output in a log file of its own
/// directory; killed on drop.
#[derive(Debug)]
struct Daemon {
    process: Process,
    addr: SocketAddr,
    log: PathBuf,
    _dir: TempDir,
}

impl Daemon {
    /// Starts `program` with `args` (each may use `{dir}`, its own temporary directory) and
    /// waits until `/health` answers.
    fn start(program: &str, args: &[String]) -> Daemon {
        let dir = TempDir::new(program);
        let addr: SocketAddr = ([127, 0, 0, 1], crate::free_port()).into();
        let log_path = dir.path().join(format!("{program}.log"));
        let log = std::fs::File::create(&log_path).unwrap_or_else(|e| panic!("log file: {e}"));
        let d = dir.path().display().to_string();
        let process = Process::spawn(
            program,
            Command::new(program)
                .args(args.iter().map(|a| a.replace("{dir}", &d)))
                .arg(format!("-httpListenAddr={addr}"))
                .arg("-loggerLevel=WARN")
                .stdout(Stdio::null())
                .stderr(log),
        )
        .unwrap_or_else(|e| {
            panic!("starting {program} (Debian's `victoria-metrics` package, installed by `make test`): {e}")
        });
        let mut daemon = Daemon {
            process: process.with_log(log_path.clone()),
            addr,
            log: log_path,
            _dir: dir,
        };
        daemon
            .process
            .wait_http_ok(addr, "/health", Duration::from_secs(30));
        daemon
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A single-node VictoriaMetrics.
#[derive(Debug)]
pub struct VictoriaMetrics(Daemon);

impl VictoriaMetrics {
    /// Starts it with a temporary data directory. `-search.latencyOffset` (default 30 s: the
    /// newest 30 s are hidden from queries so that late samples cannot change an answer) is 1 s,
    /// so a test does not wait half a minute for each change; production keeps the default and
    /// its alerts come up to 30 s later than Prometheus' (docs/deployment.md).
    pub fn start() -> VictoriaMetrics {
        VictoriaMetrics(Daemon::start(
            "victoria-metrics",
            &[
                "-storageDataPath={dir}/data".to_owned(),
                "-retentionPeriod=1d".to_owned(),
                "-search.latencyOffset=1s".to_owned(),
            ],
        ))
    }

    /// Its Prometheus-compatible query API.
    pub fn api(&self) -> QueryApi {
        QueryApi(self.0.addr)
    }

    /// `http://host:port`, for remote write (`/api/v1/write`) and as a datasource.
    pub fn url(&self) -> String {
        self.0.url()
    }
}

/// vmagent: scrapes like Prometheus, remote-writes everything to VictoriaMetrics.
#[derive(Debug)]
pub struct VmAgent {
    daemon: Daemon,
    /// Its scrape config, kept while it runs (vmagent re-reads it on SIGHUP).
    _config: TempDir,
}

impl VmAgent {
    /// Scrapes `jobs` (the same scrape config a [`crate::prometheus::Prometheus`] gets) into `vm`.
    pub fn start(jobs: &[Job], vm: &VictoriaMetrics) -> VmAgent {
        let config_dir = TempDir::new("vmagent-config");
        let scrape_configs: Vec<Value> = jobs.iter().map(Job::scrape_config).collect();
        let config = json!({
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": scrape_configs,
        });
        let path = config_dir.path().join("scrape.yml");
        std::fs::write(&path, config.to_string()).unwrap_or_else(|e| panic!("{e}"));
        let daemon = Daemon::start(
            "vmagent",
            &[
                format!("-promscrape.config={}", path.display()),
                format!("-remoteWrite.url={}/api/v1/write", vm.url()),
                "-remoteWrite.tmpDataPath={dir}/queue".to_owned(),
                "-remoteWrite.flushInterval=1s".to_owned(),
            ],
        );
        VmAgent {
            daemon,
            _config: config_dir,
        }
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        self.daemon.log()
    }
}

/// vmalert: evaluates rule files against VictoriaMetrics, writes recording rules and alert state
/// back to it, and sends alerts to Alertmanager.
#[derive(Debug)]
pub struct VmAlert(Daemon);

impl VmAlert {
    /// Evaluates `rule_files` against `vm` (groups without their own `interval` every
    /// `evaluation_interval`) and notifies the Alertmanager at `alertmanager` (`host:port`;
    /// vmalert 1.79 does not start without one).
    pub fn start(
        rule_files: &[PathBuf],
        vm: &VictoriaMetrics,
        alertmanager: &str,
        evaluation_interval: &str,
    ) -> VmAlert {
        let mut args: Vec<String> = rule_files
            .iter()
            .map(|f| format!("-rule={}", f.display()))
            .collect();
        args.extend([
            format!("-datasource.url={}", vm.url()),
            format!("-remoteWrite.url={}", vm.url()),
            format!("-remoteRead.url={}", vm.url()),
            format!("-evaluationInterval={evaluation_interval}"),
            "-remoteWrite.flushInterval=1s".to_owned(),
            format!("-notifier.url=http://{alertmanager}"),
        ]);
        VmAlert(Daemon::start("vmalert", &args))
    }

    /// Its alerts API (`/api/v1/alerts`, the shape Prometheus answers with).
    pub fn api(&self) -> QueryApi {
        QueryApi(self.0.addr)
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        self.0.log()
    }
}

/// Checks every file with `vmalert -dryRun` (parses each expression as MetricsQL and each
/// template): `Err` with vmalert's complaint.
pub fn dry_run(rule_files: &[&Path]) -> Result<(), String> {
    let mut cmd = Command::new("vmalert");
    cmd.arg("-dryRun").arg("-loggerLevel=ERROR");
    for f in rule_files {
        cmd.arg(format!("-rule={}", f.display()));
    }
    crate::process::output("vmalert -dryRun", &mut cmd).map(|_| ())
}
