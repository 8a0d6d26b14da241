//! The exporter's TOML configuration; every field has a default, so no file is needed.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

/// Which keepalived dump to request for per-instance state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DumpMode {
    /// JSON when `keepalived --signum=JSON` answers, else the text dumps.
    #[default]
    Auto,
    /// SIGJSON and `/tmp/keepalived.json`.
    Json,
    /// SIGUSR1/SIGUSR2 and the `.data`/`.stats` files.
    Text,
    /// Never signal keepalived (log- and network-based metrics only).
    None,
}

/// Where to start reading the log the first time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogStart {
    /// Only new lines (a restart of the exporter does not replay old failovers).
    #[default]
    End,
    /// The whole file.
    Beginning,
}

/// The configuration file (`--config.file`, TOML).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Which collectors run (`[collectors] enabled / disabled`).
    pub collectors: common::CollectorsConfig,
    /// Log keepalived writes to (through syslog), relative to `--path.rootfs`.
    pub log_file: String,
    /// Where to start reading `log_file` at start-up.
    pub log_start: LogStart,
    /// How often the log is read in the background, so event times stay accurate between scrapes.
    #[serde(with = "common::config::duration")]
    pub log_poll_interval: Duration,
    /// The window of `keepalived_failover` and `keepalived_check_failed` (the document: 5 minutes).
    #[serde(with = "common::config::duration")]
    pub event_window: Duration,
    /// Events read within this time of keepalived's start are its start-up election, counted
    /// apart from failovers (the document: a restart triggers `Keepalived_failover`); 0 = none.
    #[serde(with = "common::config::duration")]
    pub startup_grace: Duration,
    /// keepalived's configuration, relative to `--path.rootfs` (linted; unicast peers are pinged).
    pub keepalived_conf: String,
    /// The parent process's pid file, relative to `--path.rootfs`; when missing, `/proc` is
    /// searched for a keepalived parent in this network namespace.
    pub pid_file: String,
    /// The keepalived binary, asked once for its signal numbers (`--signum`).
    pub keepalived_bin: String,
    /// Which dump to request.
    pub dump: DumpMode,
    /// Directory keepalived writes its dumps to, as seen by keepalived (read through
    /// `/proc/<pid>/root`, so a private /tmp or a container works).
    pub dump_dir: String,
    /// Data dump file name (`keepalived.<instance>.data` with `data_use_instance`).
    pub data_file: String,
    /// How long to wait for keepalived to finish writing a dump.
    #[serde(with = "common::config::duration")]
    pub dump_timeout: Duration,
    /// Peers to ping; empty = the `unicast_peer`s of keepalived.conf.
    pub peers: Vec<IpAddr>,
    /// How long to wait for each ping reply.
    #[serde(with = "common::config::duration")]
    pub ping_timeout: Duration,
    /// Whether to send ARP probes for the VIPs this node holds.
    pub arp_probe: bool,
    /// How long to listen for ARP replies per VIP.
    #[serde(with = "common::config::duration")]
    pub arp_timeout: Duration,
    /// The `ip` binary (iproute2), for the interface addresses.
    pub ip_bin: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            collectors: common::CollectorsConfig::default(),
            log_file: "/var/log/messages".into(),
            log_start: LogStart::End,
            log_poll_interval: Duration::from_secs(5),
            event_window: Duration::from_secs(300),
            startup_grace: Duration::from_secs(30),
            keepalived_conf: "/etc/keepalived/keepalived.conf".into(),
            pid_file: "/run/keepalived.pid".into(),
            keepalived_bin: "keepalived".into(),
            dump: DumpMode::Auto,
            dump_dir: "/tmp".into(),
            data_file: "keepalived.data".into(),
            dump_timeout: Duration::from_secs(2),
            peers: Vec::new(),
            ping_timeout: Duration::from_millis(500),
            arp_probe: true,
            arp_timeout: Duration::from_millis(300),
            ip_bin: "ip".into(),
        }
    }
}

impl common::ExporterConfig for Config {
    fn collectors(&self) -> &common::CollectorsConfig {
        &self.collectors
    }

    /// Rejects values that parse but make no sense.
    fn validate(&self) -> Result<(), String> {
        if self.event_window.is_zero() {
            return Err("event_window must be positive".into());
        }
        if self.startup_grace > Duration::from_secs(600) {
            return Err("startup_grace must be at most 10m".into());
        }
        if self.log_poll_interval < Duration::from_millis(100) {
            return Err("log_poll_interval must be at least 100ms".into());
        }
        if self.data_file.contains('/') {
            return Err(format!(
                "data_file {:?} must be a file name, not a path (see dump_dir)",
                self.data_file
            ));
        }
        for (name, d) in [
            ("dump_timeout", self.dump_timeout),
            ("ping_timeout", self.ping_timeout),
            ("arp_timeout", self.arp_timeout),
        ] {
            if d.is_zero() || d > Duration::from_secs(30) {
                return Err(format!("{name} must be between 1ms and 30s"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::ExporterConfig as _;

    #[test]
    fn defaults_are_valid_and_a_full_file_parses() {
        Config::default().validate().unwrap();
        let c: Config = toml::from_str(
            r#"
log_file = "/var/log/syslog"
log_start = "beginning"
event_window = "10m"
startup_grace = "1m"
dump = "text"
peers = ["10.0.0.2", "fe80::1"]
arp_probe = false
"#,
        )
        .unwrap();
        assert_eq!(c.event_window, Duration::from_secs(600));
        assert_eq!(c.startup_grace, Duration::from_secs(60));
        assert_eq!(c.dump, DumpMode::Text);
        assert_eq!(c.peers.len(), 2);
        c.validate().unwrap();
        assert!(toml::from_str::<Config>("bogus = 1").is_err());
        let bad = Config {
            data_file: "../x".into(),
            ..Config::default()
        };
        assert!(bad.validate().is_err());
    }
}
