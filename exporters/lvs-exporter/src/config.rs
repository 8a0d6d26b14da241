//! The exporter's TOML configuration; every field has a default, so no file is needed.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

use crate::table::ServiceKey;

/// Where the IPVS table is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum IpvsSource {
    /// Netlink (with counters), `/proc/net/ip_vs` when netlink is refused.
    #[default]
    Auto,
    /// Netlink only.
    Netlink,
    /// `/proc/net/ip_vs` only (no per-service counters, no CAP_NET_ADMIN needed).
    Proc,
}

/// When the business ports are dialled through the VIPs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DialWhen {
    /// Only while this director is master (the document: dial from the master).
    #[default]
    Master,
    /// Always (a backup director or a probe host dialling the VIP from outside).
    Always,
    /// Never.
    Never,
}

/// How this director is deployed (document 003: a single-point LVS is urgent, a member of an
/// `ha` or `ssl` cluster whose peers carry the load is not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ClusterMode {
    /// No peer takes over: a failure is urgent.
    #[default]
    Single,
    /// An `ha` pair or cluster.
    Ha,
    /// An `ssl` cluster.
    Ssl,
}

impl ClusterMode {
    /// The `mode` label.
    pub fn label(self) -> &'static str {
        match self {
            ClusterMode::Single => "single",
            ClusterMode::Ha => "ha",
            ClusterMode::Ssl => "ssl",
        }
    }
}

/// One expected virtual service (`[[services]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// `tcp/10.0.0.1:6379`, `udp/[2001:db8::1]:53`, `fwmark/7`.
    pub service: String,
    /// Bytes sent after connecting through the VIP; any answer passes (a Redis `-NOAUTH` too).
    /// Empty: the TCP connect alone is the check.
    #[serde(default)]
    pub probe: String,
}

/// `[ping]`: the on-call checks of document 003.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PingConfig {
    /// The director's inner (resource-tenant side) addresses.
    pub inner: Vec<IpAddr>,
    /// The director's outer (client side) addresses.
    pub outer: Vec<IpAddr>,
    /// Whether every VIP of the table and of keepalived.conf is pinged too.
    pub vips: bool,
    /// Wait per ping.
    #[serde(with = "common::config::duration")]
    pub timeout: Duration,
}

impl Default for PingConfig {
    fn default() -> Self {
        Self {
            inner: Vec::new(),
            outer: Vec::new(),
            vips: true,
            timeout: Duration::from_secs(1),
        }
    }
}

/// The configuration file (`--config.file`, TOML).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Which collectors run (`[collectors] enabled / disabled`).
    pub collectors: common::CollectorsConfig,
    /// Where the table is read from.
    pub ipvs_source: IpvsSource,
    /// Longest wait for one netlink answer.
    #[serde(with = "common::config::duration")]
    pub netlink_timeout: Duration,
    /// Most services reported with their real servers (bounds the labels).
    pub max_services: usize,
    /// The expected virtual services; empty: keepalived.conf's `virtual_server` blocks.
    pub services: Vec<ServiceConfig>,
    /// keepalived.conf, relative to `--path.rootfs` (expected services, VIPs, the subnet lint);
    /// empty: not read.
    pub keepalived_conf: String,
    /// A keepalived data dump (`keepalived.data`) or JSON dump (`keepalived.json`) to read for the
    /// VRRP state, relative to `--path.rootfs`; never requested (keepalived-exporter signals
    /// keepalived for it). Empty: not read.
    pub keepalived_dump: String,
    /// VIPs besides the table's service addresses (for fwmark services).
    pub vips: Vec<IpAddr>,
    /// When the VIPs are dialled.
    pub dial: DialWhen,
    /// Longest wait for one dial (connect plus answer), within the scrape deadline.
    #[serde(with = "common::config::duration")]
    pub dial_timeout: Duration,
    /// Whether each weighted real server's RIP:port is dialled (`lvs_backend_status`).
    pub backend_dial: bool,
    /// The resource-tenant subnets VRRP adverts must stay in (document 3.1.2.2); empty: no lint.
    pub tenant_subnets: Vec<String>,
    /// The `cluster` label: the name of the LVS cluster this director belongs to.
    pub cluster: String,
    /// How this director's cluster takes over.
    pub cluster_mode: ClusterMode,
    /// The on-call pings.
    pub ping: PingConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            collectors: common::CollectorsConfig::default(),
            ipvs_source: IpvsSource::Auto,
            netlink_timeout: Duration::from_secs(2),
            max_services: 512,
            services: Vec::new(),
            keepalived_conf: "/etc/keepalived/keepalived.conf".into(),
            keepalived_dump: String::new(),
            vips: Vec::new(),
            dial: DialWhen::Master,
            dial_timeout: Duration::from_secs(2),
            backend_dial: true,
            tenant_subnets: Vec::new(),
            cluster: String::new(),
            cluster_mode: ClusterMode::Single,
            ping: PingConfig::default(),
        }
    }
}

impl Config {
    /// The expected services of `services`, parsed (validated at start-up).
    pub fn expected(&self) -> Vec<(ServiceKey, Vec<u8>)> {
        self.services
            .iter()
            .filter_map(|s| Some((s.service.parse().ok()?, s.probe.clone().into_bytes())))
            .collect()
    }

    /// `tenant_subnets`, parsed (validated at start-up).
    pub fn subnets(&self) -> Vec<ipnet::IpNet> {
        self.tenant_subnets
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect()
    }
}

impl common::ExporterConfig for Config {
    fn collectors(&self) -> &common::CollectorsConfig {
        &self.collectors
    }

    /// Rejects values that parse but make no sense.
    fn validate(&self) -> Result<(), String> {
        for s in &self.services {
            s.service
                .parse::<ServiceKey>()
                .map_err(|e| format!("services: {e}"))?;
        }
        for s in &self.tenant_subnets {
            s.parse::<ipnet::IpNet>()
                .map_err(|_| format!("tenant_subnets: {s:?} is not a CIDR network"))?;
        }
        if self.max_services == 0 || self.max_services > 100_000 {
            return Err("max_services must be between 1 and 100000".into());
        }
        for (name, d) in [
            ("netlink_timeout", self.netlink_timeout),
            ("dial_timeout", self.dial_timeout),
            ("ping.timeout", self.ping.timeout),
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
ipvs_source = "proc"
services = [
  { service = "tcp/10.0.0.1:6379", probe = "PING\r\n" },
  { service = "fwmark/7" },
]
keepalived_dump = "/tmp/keepalived.data"
dial = "always"
tenant_subnets = ["192.168.10.0/24"]
cluster = "lvs-a"
cluster_mode = "ha"
[ping]
inner = ["192.168.10.11"]
outer = ["203.0.113.7"]
timeout = "500ms"
"#,
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.expected().len(), 2);
        assert_eq!(c.expected()[0].1, b"PING\r\n");
        assert_eq!(c.subnets().len(), 1);
        assert_eq!(c.cluster_mode, ClusterMode::Ha);
        assert_eq!(c.dial, DialWhen::Always);
        assert!(toml::from_str::<Config>("bogus = 1").is_err());
        for bad in [
            "services = [{ service = \"tcp/10.0.0.1\" }]",
            "tenant_subnets = [\"10.0.0.0/33\"]",
            "dial_timeout = \"0s\"",
            "max_services = 0",
        ] {
            let c: Config = toml::from_str(bad).unwrap();
            assert!(c.validate().is_err(), "{bad}");
        }
    }
}
