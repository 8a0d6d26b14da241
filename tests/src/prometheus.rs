//! A real Prometheus (Debian's package) on loopback, configured by the test.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::process::Process;
use crate::{TempDir, http};

/// One scrape job.
#[derive(Debug, Clone, Default)]
pub struct Job {
    /// `job_name`.
    pub name: String,
    /// `host:port` targets.
    pub targets: Vec<String>,
    /// Target labels (e.g. the customer level the OS rules carry).
    pub labels: BTreeMap<String, String>,
    /// `metrics_path`, default `/metrics`.
    pub metrics_path: Option<String>,
    /// URL parameters, e.g. `target` for `/probe`.
    pub params: BTreeMap<String, Vec<String>>,
    /// Scrape interval override (default 1 s).
    pub scrape_interval: Option<String>,
    /// Scrape timeout override (default 1 s).
    pub scrape_timeout: Option<String>,
}

impl Job {
    /// A job scraping `/metrics` of the given targets.
    pub fn new(name: &str, targets: &[String]) -> Job {
        Job {
            name: name.to_owned(),
            targets: targets.to_vec(),
            ..Job::default()
        }
    }

    /// Its `scrape_configs` entry (1 s interval and timeout unless overridden).
    pub fn scrape_config(&self) -> Value {
        json!({
            "job_name": self.name,
            "scrape_interval": self.scrape_interval.clone().unwrap_or_else(|| "1s".into()),
            "scrape_timeout": self.scrape_timeout.clone().unwrap_or_else(|| "1s".into()),
            "metrics_path": self.metrics_path.clone().unwrap_or_else(|| "/metrics".into()),
            "params": self.params,
            "static_configs": [{"targets": self.targets, "labels": self.labels}],
        })
    }

    /// Adds a target label.
    pub fn label(mut self, k: &str, v: &str) -> Job {
        self.labels.insert(k.to_owned(), v.to_owned());
        self
    }
}

/// What to start Prometheus with.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Scrape jobs.
    pub jobs: Vec<Job>,
    /// Rule files; by default every `alerting-rules/*.yml`.
    pub rule_files: Vec<PathBuf>,
    /// Global evaluation interval (groups with their own `interval` keep it).
    pub evaluation_interval: String,
    /// Alertmanagers (`host:port`) that firing alerts are sent to.
    pub alertmanagers: Vec<String>,
    /// `global.external_labels` (e.g. `replica` of an HA pair).
    pub external_labels: BTreeMap<String, String>,
    /// Labels dropped from alerts before they are sent (`alert_relabel_configs` labeldrop), so
    /// that the replicas of an HA pair send identical alerts.
    pub alert_labeldrop: Vec<String>,
    /// Remote-write URLs every sample is also sent to.
    pub remote_write: Vec<String>,
}

impl Setup {
    /// The given jobs with every rule file of the suite loaded.
    pub fn with_jobs(jobs: Vec<Job>) -> Setup {
        Setup {
            jobs,
            rule_files: crate::rules::rule_files(),
            evaluation_interval: "1s".to_owned(),
            alertmanagers: Vec::new(),
            remote_write: Vec::new(),
            external_labels: BTreeMap::new(),
            alert_labeldrop: Vec::new(),
        }
    }
}

/// One series of an instant query result.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Its labels, including `__name__` when kept.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

/// One alert from `/api/v1/alerts`.
#[derive(Debug, Clone)]
pub struct Alert {
    /// Labels, including `alertname`.
    pub labels: BTreeMap<String, String>,
    /// Rendered annotations.
    pub annotations: BTreeMap<String, String>,
    /// `pending` or `firing`.
    pub state: String,
}

/// A running Prometheus, killed on drop.
#[derive(Debug)]
pub struct Prometheus {
    process: Process,
    addr: SocketAddr,
    dir: TempDir,
}

/// A JSON object of strings (labels, annotations) as a map; other values become empty strings.
pub fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

impl Prometheus {
    /// Writes the config, starts Prometheus on a free loopback port and waits until it is ready.
    pub fn start(setup: &Setup) -> Prometheus {
        let dir = TempDir::new("prometheus");
        let scrape_configs: Vec<Value> = setup.jobs.iter().map(Job::scrape_config).collect();
        let mut config = json!({
            "global": {
                "scrape_interval": "1s",
                "evaluation_interval": setup.evaluation_interval,
                "external_labels": setup.external_labels,
            },
            "rule_files": setup.rule_files,
            "remote_write": setup
                .remote_write
                .iter()
                .map(|url| json!({"url": url, "queue_config": {"batch_send_deadline": "1s"}}))
                .collect::<Vec<_>>(),
            "scrape_configs": scrape_configs,
        });
        if !setup.alertmanagers.is_empty() {
            let drop: Vec<Value> = setup
                .alert_labeldrop
                .iter()
                .map(|l| json!({"action": "labeldrop", "regex": l}))
                .collect();
            config["alerting"] = json!({
                "alert_relabel_configs": drop,
                "alertmanagers": [{"static_configs": [{"targets": setup.alertmanagers}]}],
            });
        }
        // JSON is YAML, so the config needs no YAML writer.
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config.to_string())
            .unwrap_or_else(|e| panic!("writing config: {e}"));
        let port = crate::free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let log_path = dir.path().join("prometheus.log");
        let log = std::fs::File::create(&log_path).unwrap_or_else(|e| panic!("log file: {e}"));
        let process = Process::spawn(
            "prometheus",
            Command::new("prometheus")
                .arg(format!("--config.file={}", config_path.display()))
                .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
                .arg(format!("--web.listen-address={addr}"))
                .arg("--log.level=warn")
                .stdout(Stdio::null())
                .stderr(log),
        )
        .unwrap_or_else(|e| panic!("starting prometheus (is Debian's `prometheus` installed? `make test` installs it): {e}"));
        let mut p = Prometheus {
            process: process.with_log(log_path),
            addr,
            dir,
        };
        p.process
            .wait_http_ok(addr, "/-/ready", Duration::from_secs(30));
        p
    }

    /// The address of its HTTP API.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What Prometheus logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// Its HTTP API.
    pub fn api(&self) -> QueryApi {
        QueryApi(self.addr)
    }

    /// An instant query.
    pub fn query(&self, q: &str) -> Vec<Series> {
        self.api().query(q)
    }

    /// Polls `q` until `pred` holds for its result (at most `timeout`).
    pub fn wait_for(
        &self,
        q: &str,
        timeout: Duration,
        pred: impl Fn(&[Series]) -> bool,
    ) -> Vec<Series> {
        self.api().wait_for(q, timeout, pred)
    }

    /// Waits until `up` is 1 for every target of `job`.
    pub fn wait_up(&self, job: &str, timeout: Duration) {
        self.api().wait_up(job, timeout);
    }

    /// Active (pending or firing) alerts.
    pub fn alerts(&self) -> Vec<Alert> {
        self.api().alerts()
    }

    /// Waits until an alert named `name` is firing and returns it.
    pub fn wait_firing(&self, name: &str, timeout: Duration) -> Alert {
        self.api().wait_firing(name, timeout)
    }

    /// The loaded rule groups, as `/api/v1/rules` reports them.
    pub fn rules(&self) -> Value {
        self.api().get("/api/v1/rules")
    }
}

/// The Prometheus HTTP API (`/api/v1/query`, `/api/v1/alerts`) at an address: Prometheus itself,
/// or what answers the same way (VictoriaMetrics for queries, vmalert for alerts).
#[derive(Debug, Clone, Copy)]
pub struct QueryApi(pub SocketAddr);

impl QueryApi {
    /// `GET path`, its `data` (panics unless the answer is `status: success`).
    pub fn get(&self, path: &str) -> Value {
        let r = http::get(self.0, path, &[]).unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let v: Value =
            serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("GET {path}: {e}: {}", r.body));
        assert_eq!(v["status"], "success", "GET {path}: {}", r.body);
        v["data"].clone()
    }

    /// An instant query.
    pub fn query(&self, q: &str) -> Vec<Series> {
        self.query_path(&format!("/api/v1/query?query={}", http::encode_query(q)))
    }

    /// An instant query at `time` (Unix seconds).
    pub fn query_at(&self, q: &str, time: f64) -> Vec<Series> {
        self.query_path(&format!(
            "/api/v1/query?query={}&time={time:.3}",
            http::encode_query(q)
        ))
    }

    fn query_path(&self, path: &str) -> Vec<Series> {
        let data = self.get(path);
        match data["resultType"].as_str() {
            Some("vector") => data["result"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|s| Series {
                            labels: string_map(&s["metric"]),
                            value: s["value"][1]
                                .as_str()
                                .and_then(|v| v.parse().ok())
                                .unwrap_or(f64::NAN),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            Some("scalar") => vec![Series {
                labels: BTreeMap::new(),
                value: data["result"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN),
            }],
            _ => Vec::new(),
        }
    }

    /// Polls `q` until `pred` holds for its result (at most `timeout`).
    pub fn wait_for(
        &self,
        q: &str,
        timeout: Duration,
        pred: impl Fn(&[Series]) -> bool,
    ) -> Vec<Series> {
        crate::wait_until(&format!("query {q:?}"), timeout, || {
            let r = self.query(q);
            pred(&r).then_some(r)
        })
    }

    /// Waits until `up` is 1 for every target of `job`.
    pub fn wait_up(&self, job: &str, timeout: Duration) {
        self.wait_for(&format!("up{{job=\"{job}\"}}"), timeout, |r| {
            !r.is_empty() && r.iter().all(|s| s.value == 1.0)
        });
    }

    /// Active (pending or firing) alerts.
    pub fn alerts(&self) -> Vec<Alert> {
        let data = self.get("/api/v1/alerts");
        data["alerts"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| Alert {
                        labels: string_map(&x["labels"]),
                        annotations: string_map(&x["annotations"]),
                        state: x["state"].as_str().unwrap_or_default().to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits until an alert named `name` is firing and returns it.
    pub fn wait_firing(&self, name: &str, timeout: Duration) -> Alert {
        crate::wait_until(&format!("alert {name} to fire"), timeout, || {
            self.alerts().into_iter().find(|a| {
                a.state == "firing" && a.labels.get("alertname").map(String::as_str) == Some(name)
            })
        })
    }
}
