//! The os-exporter TOML configuration; every field has a default so no file is needed.

use std::path::PathBuf;
use std::time::Duration;

use common::audit::AuditConfig;
use serde::Deserialize;

use crate::cidr::Cidr;

/// Top-level configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Which collectors run (`[collectors] enabled / disabled`).
    pub(crate) collectors: common::CollectorsConfig,
    /// Which mounts count as partitions, and the statfs timeout.
    pub(crate) filesystem: FilesystemConfig,
    /// Block devices left out of the disk I/O counters.
    pub(crate) diskstats: DiskstatsConfig,
    /// The socket-queue threshold.
    pub(crate) sockets: SocketsConfig,
    /// When an uptime counts as a recent reboot.
    pub(crate) uptime: UptimeConfig,
    /// The audit journal file (`[audit]`: enabled, path, max_file_bytes, max_files).
    pub(crate) audit: AuditConfig,
    /// The background sampler that decides what to audit (`[audit_checks]`).
    pub(crate) audit_checks: AuditChecksConfig,
    /// Gateway and peer pings (`[ping]`).
    pub(crate) ping: PingConfig,
    /// The resource-tenant interface and the interfaces that must hold an address (`[network]`).
    pub(crate) network: NetworkConfig,
    /// Watched directories and their persisted baseline (`[directories]`).
    pub(crate) directories: DirectoriesConfig,
}

/// `[directories]`: the document's os_directory_file_changed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct DirectoriesConfig {
    /// Directories watched, read under `--path.rootfs`; only their direct entries (a
    /// subdirectory is one entry: list it too to watch what it holds).
    pub(crate) paths: Vec<String>,
    /// How often the manifest pass runs (in the background, never at scrape time).
    #[serde(with = "common::config::duration")]
    pub(crate) interval: Duration,
    /// The baseline manifests and change counters, kept across restarts (mode 0600).
    pub(crate) state_file: PathBuf,
    /// Regular files up to this size get a SHA-256 of their content; larger ones are compared
    /// by their metadata only.
    pub(crate) hash_max_bytes: u64,
    /// Most entries watched per directory (the first ones by name); the rest are counted.
    pub(crate) max_entries: usize,
    /// Most paths one audit record lists (the counts are always complete).
    pub(crate) max_audit_paths: usize,
}

impl Default for DirectoriesConfig {
    fn default() -> Self {
        Self {
            // Where a change means who may log in, what runs as root, or who may become root.
            paths: [
                "/etc/ssh",
                "/etc/ssh/sshd_config.d",
                "/etc/cron.d",
                "/etc/sudoers.d",
            ]
            .map(String::from)
            .to_vec(),
            interval: Duration::from_secs(60),
            state_file: PathBuf::from("/var/lib/os-exporter/directories.json"),
            hash_max_bytes: 1 << 20,
            max_entries: 10_000,
            max_audit_paths: 100,
        }
    }
}

/// `[ping]`: the document's os_ping_gateway / os_ping_internal / os_ping_external.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct PingConfig {
    /// The resource-tenant subnets: ESTABLISHED peers inside are internal, the rest external.
    /// Also what `os_eth1_route` checks is routed through the resource-tenant interface.
    pub(crate) resource_tenant_subnets: Vec<Cidr>,
    /// How often a pass runs (in the background, never at scrape time).
    #[serde(with = "common::config::duration")]
    pub(crate) interval: Duration,
    /// Wait per echo; an internal peer or gateway that does not answer counts as this (document: 5 s).
    #[serde(with = "common::config::duration")]
    pub(crate) timeout: Duration,
    /// Echoes per gateway per pass (the maximum RTT of those answered is reported).
    pub(crate) gateway_echoes: u16,
    /// Time between two echoes to a gateway.
    #[serde(with = "common::config::duration")]
    pub(crate) gateway_echo_interval: Duration,
    /// Pace of the sends of one pass (1,000 peers at 10,000/s take 100 ms to send).
    pub(crate) sends_per_second: u32,
    /// Most peers pinged per pass (the rest are counted as left out).
    pub(crate) max_peers: usize,
    /// Whether loopback peers (connections to this host itself) are pinged: off except in tests.
    pub(crate) include_loopback: bool,
    /// Peers never pinged (a monitoring or management network).
    pub(crate) exclude_subnets: Vec<Cidr>,
    /// A peer RTT above this is written to the audit journal (document: 10 ms).
    #[serde(with = "common::config::duration")]
    pub(crate) audit_rtt: Duration,
    /// How many peers one audit record lists at most.
    pub(crate) max_audit_peers: usize,
}

impl Default for PingConfig {
    fn default() -> Self {
        Self {
            resource_tenant_subnets: Vec::new(),
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            gateway_echoes: 3,
            gateway_echo_interval: Duration::from_millis(200),
            sends_per_second: 10_000,
            max_peers: 4096,
            include_loopback: false,
            exclude_subnets: Vec::new(),
            audit_rtt: Duration::from_millis(10),
            max_audit_peers: 100,
        }
    }
}

/// `[network]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct NetworkConfig {
    /// The resource-tenant interface `os_eth1_route` checks (document: eth1).
    pub(crate) resource_tenant_interface: String,
    /// Interfaces that must hold an address while up, besides those carrying a default route
    /// of the main table (document §2.3: eth0 without its DHCP address).
    pub(crate) address_required: Vec<String>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            resource_tenant_interface: "eth1".to_owned(),
            address_required: vec!["eth0".to_owned()],
        }
    }
}

/// `[filesystem]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct FilesystemConfig {
    /// Filesystem types counted as partitions besides `/dev/*` block devices (e.g. `tmpfs`).
    pub(crate) include_fs_types: Vec<String>,
    /// Mount points left out (exact paths).
    pub(crate) exclude_mount_points: Vec<String>,
    /// How long one `statfs` may take before the mount is reported hung.
    #[serde(with = "common::config::duration")]
    pub(crate) statfs_timeout: Duration,
}

impl Default for FilesystemConfig {
    fn default() -> Self {
        Self {
            include_fs_types: Vec::new(),
            exclude_mount_points: Vec::new(),
            statfs_timeout: Duration::from_secs(1),
        }
    }
}

/// `[diskstats]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct DiskstatsConfig {
    /// Device names to ignore (exact), added to those of `ignore_devices_file`.
    pub(crate) ignore_devices: Vec<String>,
    /// The document's ignore file, one device per line, read (through `--path.rootfs`) when present.
    pub(crate) ignore_devices_file: PathBuf,
    /// Shell-style name patterns (`*`, `?`) to ignore: RAM disks, loop devices, floppies, CD-ROMs.
    pub(crate) ignore_patterns: Vec<String>,
    /// Leave out partitions (`/sys/class/block/<dev>/partition` exists): their I/O is already
    /// counted on the whole disk.
    pub(crate) ignore_partitions: bool,
}

impl Default for DiskstatsConfig {
    fn default() -> Self {
        Self {
            ignore_devices: Vec::new(),
            ignore_devices_file: PathBuf::from("/tmp/os_disk_io_ignore_devices"),
            ignore_patterns: ["ram*", "zram*", "loop*", "fd*", "sr*"]
                .map(String::from)
                .to_vec(),
            ignore_partitions: true,
        }
    }
}

/// `[sockets]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SocketsConfig {
    /// A queue over this many bytes is blocked (document: 1,000,000).
    pub(crate) queue_threshold_bytes: u64,
    /// Where the socket table comes from.
    pub(crate) source: SocketSource,
}

impl Default for SocketsConfig {
    fn default() -> Self {
        Self {
            queue_threshold_bytes: 1_000_000,
            source: SocketSource::Auto,
        }
    }
}

/// The socket table's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SocketSource {
    /// Netlink when `--path.procfs` is `/proc`, else the (fixture) files.
    Auto,
    /// Netlink `sock_diag`, as `ss` does: listeners and TIME_WAIT are skipped by the kernel.
    Netlink,
    /// Streaming `/proc/net/tcp` and `tcp6` under `--path.procfs`.
    Procfs,
}

/// `[uptime]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct UptimeConfig {
    /// `os_has_rebooted` is 1 while the uptime is below this (document: 5 minutes).
    #[serde(with = "common::config::duration")]
    pub(crate) reboot_window: Duration,
}

impl Default for UptimeConfig {
    fn default() -> Self {
        Self {
            reboot_window: Duration::from_secs(300),
        }
    }
}

/// `[audit_checks]`: the thresholds of the document's 采集审计 column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct AuditChecksConfig {
    /// How often the sampler runs (its own clock, independent of scrapes).
    #[serde(with = "common::config::duration")]
    pub(crate) interval: Duration,
    /// Partition usage that is audited, in percent.
    pub(crate) disk_usage_percent: f64,
    /// Partition inode usage that is audited, in percent.
    pub(crate) inode_usage_percent: f64,
    /// Device await that is audited, in milliseconds.
    pub(crate) await_ms: f64,
    /// CPU usage over one interval at which the top processes are recorded (the CPU rule's 80 %).
    pub(crate) cpu_usage_percent: f64,
    /// How many processes (by CPU and by memory) a CPU record lists.
    pub(crate) top_processes: usize,
    /// How many blocked sockets one record lists at most.
    pub(crate) max_sockets_listed: usize,
}

impl Default for AuditChecksConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            disk_usage_percent: 80.0,
            inode_usage_percent: 80.0,
            await_ms: 10.0,
            cpu_usage_percent: 80.0,
            top_processes: 10,
            max_sockets_listed: 100,
        }
    }
}

impl common::ExporterConfig for Config {
    fn collectors(&self) -> &common::CollectorsConfig {
        &self.collectors
    }

    /// Checks what serde cannot: patterns are not empty, durations are positive.
    fn validate(&self) -> Result<(), String> {
        if self.diskstats.ignore_patterns.iter().any(String::is_empty) {
            return Err("diskstats.ignore_patterns: an empty pattern".to_owned());
        }
        if self.audit_checks.interval.is_zero() {
            return Err("audit_checks.interval: must be positive".to_owned());
        }
        if self.filesystem.statfs_timeout.is_zero() {
            return Err("filesystem.statfs_timeout: must be positive".to_owned());
        }
        if self.ping.interval.is_zero() || self.ping.timeout.is_zero() {
            return Err("ping.interval and ping.timeout: must be positive".to_owned());
        }
        if self.ping.gateway_echoes == 0 || self.ping.sends_per_second == 0 {
            return Err(
                "ping.gateway_echoes and ping.sends_per_second: must be positive".to_owned(),
            );
        }
        if self.network.resource_tenant_interface.is_empty() {
            return Err("network.resource_tenant_interface: must not be empty".to_owned());
        }
        self.directories.validate()
    }
}

impl DirectoriesConfig {
    /// Paths are absolute and listed once; the interval and the entry cap are positive.
    fn validate(&self) -> Result<(), String> {
        if let Some(p) = self.paths.iter().find(|p| !p.starts_with('/')) {
            return Err(format!("directories.paths: {p:?} is not an absolute path"));
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(p) = self
            .paths
            .iter()
            .find(|p| !seen.insert(p.trim_end_matches('/')))
        {
            return Err(format!("directories.paths: {p:?} is listed twice"));
        }
        if self.interval.is_zero() || self.max_entries == 0 {
            return Err(
                "directories.interval and directories.max_entries: must be positive".to_owned(),
            );
        }
        if self.state_file.file_name().is_none() {
            return Err(format!(
                "directories.state_file: {} names no file",
                self.state_file.display()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::ExporterConfig as _;

    #[test]
    fn the_example_file_parses_and_matches_the_defaults() {
        let text = include_str!("../os-exporter.example.toml");
        let c: Config =
            common::config::parse_toml(std::path::Path::new("os-exporter.example.toml"), text)
                .unwrap();
        c.validate().unwrap();
        let d = Config::default();
        assert_eq!(c.diskstats.ignore_patterns, d.diskstats.ignore_patterns);
        assert_eq!(c.audit_checks.interval, d.audit_checks.interval);
        assert_eq!(c.sockets.source, SocketSource::Auto);
        assert_eq!(c.audit.max_file_bytes, d.audit.max_file_bytes);
        assert_eq!(c.directories.paths, d.directories.paths);
        assert_eq!(c.directories.state_file, d.directories.state_file);
    }

    #[test]
    fn a_bad_pattern_or_zero_interval_is_rejected_naming_the_field() {
        let mut c = Config::default();
        c.diskstats.ignore_patterns = vec![String::new()];
        assert!(
            c.validate()
                .unwrap_err()
                .contains("diskstats.ignore_patterns")
        );
        let mut c = Config::default();
        c.audit_checks.interval = Duration::ZERO;
        assert!(c.validate().unwrap_err().contains("audit_checks.interval"));
        let err = common::config::parse_toml::<Config>(
            std::path::Path::new("x.toml"),
            "[sockets]\nsource = \"magic\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn directories_must_be_absolute_and_listed_once() {
        let mut c = Config::default();
        c.directories.paths = vec!["etc/ssh".to_owned()];
        assert!(c.validate().unwrap_err().contains("not an absolute path"));
        c.directories.paths = vec!["/etc/ssh".to_owned(), "/etc/ssh/".to_owned()];
        assert!(c.validate().unwrap_err().contains("listed twice"));
        let err = common::config::parse_toml::<Config>(
            std::path::Path::new("x.toml"),
            "[directories]\npath = [\"/etc\"]\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("path"), "{err}");
    }
}
