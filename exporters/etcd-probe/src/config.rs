//! The TOML configuration; every field has a default so the probe runs with no file at all.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// Top-level configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Which collectors run (`[collectors] enabled / disabled`).
    pub collectors: common::CollectorsConfig,
    /// Client URLs of the members to probe (each gets an `endpoint` label).
    pub endpoints: Vec<String>,
    /// Client TLS towards etcd (CA and client certificate for mTLS).
    pub tls: common::tls::TlsOptions,
    /// Upper bound for one HTTP request to a member (the scrape deadline may cut it shorter).
    #[serde(with = "common::config::duration")]
    pub request_timeout: Duration,
    /// Where the data-loss detector remembers what it saw, across restarts of the probe
    /// (default `/var/lib/etcd-probe/state.json`; its directory is created with mode 0700).
    pub state_file: Option<PathBuf>,
    /// A key count falling by at least this fraction between two scrapes counts as data loss.
    pub key_drop_ratio: f64,
    /// Checks of the local etcd installation (document 002).
    pub local: LocalConfig,
    /// Logs to classify (etcd's own, cm_agent's, gs_om's).
    pub logs: Vec<LogConfig>,
    /// How often the logs are read in the background (the `log_poll` job), besides each scrape.
    #[serde(with = "common::config::duration")]
    pub log_poll_interval: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            collectors: common::CollectorsConfig::default(),
            endpoints: vec!["http://127.0.0.1:2379".to_owned()],
            tls: common::tls::TlsOptions::default(),
            request_timeout: Duration::from_secs(5),
            state_file: Some(PathBuf::from("/var/lib/etcd-probe/state.json")),
            key_drop_ratio: 0.1,
            local: LocalConfig::default(),
            logs: Vec::new(),
            log_poll_interval: Duration::from_secs(5),
        }
    }
}

/// The local installation checks of document 002.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocalConfig {
    /// Enable the local checks (disable when the probe runs away from the members).
    pub enabled: bool,
    /// etcd data directory; must exist with mode 0700.
    pub data_dir: PathBuf,
    /// The etcd binary; must exist and be executable.
    pub binary: PathBuf,
    /// Directory holding the manual-stop markers (GaussDB: `$GAUSSLOG/bin`); unset skips the check.
    pub marker_dir: Option<PathBuf>,
    /// Marker file names whose presence means an operator stopped the cluster on purpose.
    pub marker_files: Vec<String>,
    /// Process name (`/proc/<pid>/comm`) of the local etcd.
    pub process_name: String,
    /// If set, only processes whose command line contains this string count (several members
    /// on one host, e.g. `--name m1`).
    pub process_cmdline_contains: Option<String>,
}

impl Default for LocalConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            data_dir: PathBuf::from("/var/lib/etcd"),
            binary: PathBuf::from("/usr/bin/etcd"),
            marker_dir: None,
            marker_files: vec![
                "cluster_manual_start".to_owned(),
                "etcd_manual_start".to_owned(),
            ],
            process_name: "etcd".to_owned(),
            process_cmdline_contains: None,
        }
    }
}

/// One log to classify.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// The `log` label (bounded: one per configured file), e.g. `etcd`, `cm_agent`.
    pub name: String,
    /// The file (rooted under `--path.rootfs`).
    pub path: PathBuf,
    /// Read what is already in the file at start (default: only new lines).
    #[serde(default)]
    pub from_beginning: bool,
}

impl common::ExporterConfig for Config {
    fn collectors(&self) -> &common::CollectorsConfig {
        &self.collectors
    }

    /// Checks what serde cannot: returns a message naming the field.
    fn validate(&self) -> Result<(), String> {
        if self.endpoints.is_empty() {
            return Err("endpoints: at least one endpoint is required".to_owned());
        }
        for e in &self.endpoints {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                return Err(format!(
                    "endpoints: {e:?} must start with http:// or https://"
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.key_drop_ratio) || self.key_drop_ratio == 0.0 {
            return Err(format!(
                "key_drop_ratio: {} must be in (0, 1]",
                self.key_drop_ratio
            ));
        }
        if self.log_poll_interval < Duration::from_millis(100) {
            return Err("log_poll_interval must be at least 100ms".to_owned());
        }
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            return Err("tls: cert_file and key_file must be given together".to_owned());
        }
        let mut names: Vec<&str> = self.logs.iter().map(|l| l.name.as_str()).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err("logs: names must be unique".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::ExporterConfig as _;
    use std::path::Path;

    #[test]
    fn defaults_and_the_example_file_are_valid() {
        Config::default().validate().unwrap();
        let text = include_str!("../etcd-probe.example.toml");
        let cfg: Config =
            common::config::parse_toml(Path::new("etcd-probe.example.toml"), text).unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.endpoints.len(), 3);
        assert_eq!(cfg.logs[1].name, "cm_agent");
        assert_eq!(cfg.log_poll_interval, Duration::from_secs(5));
        assert_eq!(
            cfg.local.marker_files,
            vec!["cluster_manual_start", "etcd_manual_start"]
        );
    }

    #[test]
    fn bad_values_are_named() {
        let parse = |t: &str| common::config::parse_toml::<Config>(Path::new("c.toml"), t);
        assert!(
            parse("endpoint = [\"x\"]\n")
                .unwrap_err()
                .to_string()
                .contains("endpoint")
        );
        let bad = |t: &str| parse(t).unwrap().validate().unwrap_err();
        assert!(bad("endpoints = []\n").contains("endpoints"));
        assert!(bad("endpoints = [\"127.0.0.1:2379\"]\n").contains("http://"));
        assert!(bad("key_drop_ratio = 0.0\n").contains("key_drop_ratio"));
        assert!(bad("log_poll_interval = \"10ms\"\n").contains("log_poll_interval"));
        assert!(bad("[tls]\ncert_file = \"/x.pem\"\n").contains("key_file"));
        // `[tls]` is common's `TlsOptions`: its keys, and no others.
        let tls = parse("[tls]\nca_file = \"/ca.pem\"\nserver_name = \"etcd\"\n").unwrap();
        assert_eq!(tls.tls.ca_file.as_deref(), Some(Path::new("/ca.pem")));
        assert_eq!(tls.tls.server_name.as_deref(), Some("etcd"));
        assert!(
            parse("[tls]\nca = \"/ca.pem\"\n")
                .unwrap_err()
                .to_string()
                .contains("unknown field `ca`")
        );
        assert!(
            bad("[[logs]]\nname = \"a\"\npath = \"/a\"\n[[logs]]\nname = \"a\"\npath = \"/b\"\n")
                .contains("unique")
        );
    }
}
