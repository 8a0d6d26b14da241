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
    /// The clock's offset from NTP servers and its sync state (`[ntp]`).
    pub(crate) ntp: NtpConfig,
    /// The document's four daemons (`[services]`, `[services.<name>]`).
    pub(crate) services: ServicesConfig,
    /// Watched directories and their persisted baseline (`[directories]`).
    pub(crate) directories: DirectoriesConfig,
    /// The messages file's last lines (`[messages]`).
    pub(crate) messages: MessagesConfig,
    /// cron's failure lines (`[cron]`).
    pub(crate) cron: CronConfig,
    /// Kernel errors and memory-error lines from /dev/kmsg and the messages file (`[kernel_log]`).
    pub(crate) kernel_log: KernelLogConfig,
    /// Kernel live patches (`[livepatch]`).
    pub(crate) livepatch: LivepatchConfig,
    /// Configured process groups (`[[process]]`), document 001 §2.2's `xxx_process_*`.
    pub(crate) process: Vec<crate::process_groups::config::ProcessGroupConfig>,
    /// The per-member CPU window of the process groups (`[process_cpu] interval`).
    pub(crate) process_cpu: crate::process_groups::config::ProcessCpuConfig,
    /// JVMs read through their hsperfdata files (`[jvm]`).
    pub(crate) jvm: crate::jvm::config::JvmConfig,
    /// Tomcat instances (`[[tomcat]]`, one table each): ports, access log, startup lines, appkey.
    pub(crate) tomcat: Vec<crate::tomcat::config::TomcatConfig>,
}

/// `[messages]`: os_message_warn, os_message_error, os_message_log_time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct MessagesConfig {
    /// Candidate files, the first that exists is read (under `--path.rootfs`).
    pub(crate) files: Vec<PathBuf>,
    /// Lines of the window (the document: the last 1,000).
    pub(crate) lines: usize,
    /// How often the window is read (in the background, never at scrape time).
    #[serde(with = "common::config::duration")]
    pub(crate) interval: Duration,
    /// A line whose text matches this is an error (a messages file carries no severity).
    pub(crate) error_pattern: String,
    /// A line whose text matches this (and not the error pattern) is a warning.
    pub(crate) warn_pattern: String,
    /// Without any of `files` (journald-only Debian and Ubuntu), the last `lines` entries of the
    /// systemd journal instead, their PRIORITY deciding (3 or less error, 4 warning).
    pub(crate) journal: bool,
    /// The journal directory read then; empty: the host's journal (`journalctl` without
    /// `--directory`), or `<rootfs>/var/log/journal` under a `--path.rootfs` other than `/`.
    pub(crate) journal_directory: String,
}

impl Default for MessagesConfig {
    fn default() -> Self {
        Self {
            files: vec![
                PathBuf::from("/var/log/messages"),
                PathBuf::from("/var/log/syslog"),
            ],
            lines: 1000,
            interval: Duration::from_secs(30),
            error_pattern: r"(?i)\b(error|err|crit|critical|alert|emerg|emergency|fatal|panic|failed|failure)\b"
                .to_owned(),
            warn_pattern: r"(?i)\bwarn(ing)?\b".to_owned(),
            journal: true,
            journal_directory: String::new(),
        }
    }
}

/// `[cron]`: os_cron_has_failed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct CronConfig {
    /// Candidate cron logs, the first that exists is read (RHEL/EulerOS `/var/log/cron`, Debian
    /// `/var/log/cron.log` when configured, else syslog).
    pub(crate) files: Vec<PathBuf>,
    /// os_cron_has_failed is 1 while the last failure line is younger than this.
    #[serde(with = "common::config::duration")]
    pub(crate) window: Duration,
    /// How often the log is read.
    #[serde(with = "common::config::duration")]
    pub(crate) interval: Duration,
}

impl Default for CronConfig {
    fn default() -> Self {
        Self {
            files: [
                "/var/log/cron",
                "/var/log/cron.log",
                "/var/log/syslog",
                "/var/log/messages",
            ]
            .iter()
            .map(PathBuf::from)
            .collect(),
            window: Duration::from_secs(3600),
            interval: Duration::from_secs(30),
        }
    }
}

/// `[services]`: os_crond_abnormal, os_syslogd_abnormal, os_sshd_abnormal, os_ntpd_abnormal.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ServicesConfig {
    /// Where a service's state comes from.
    pub(crate) source: ServiceSource,
    /// The D-Bus address of systemd's bus; empty: the system bus (`DBUS_SYSTEM_BUS_ADDRESS`,
    /// else `/run/dbus/system_bus_socket`).
    pub(crate) dbus_address: String,
    /// Bound of every D-Bus call (and of connecting).
    #[serde(with = "common::config::duration")]
    pub(crate) dbus_timeout: Duration,
    /// `[services.crond]`: overrides of the built-in candidates.
    pub(crate) crond: ServiceOverride,
    /// `[services.syslogd]`.
    pub(crate) syslogd: ServiceOverride,
    /// `[services.sshd]`.
    pub(crate) sshd: ServiceOverride,
    /// `[services.ntpd]`.
    pub(crate) ntpd: ServiceOverride,
}

impl Default for ServicesConfig {
    fn default() -> Self {
        Self {
            source: ServiceSource::Auto,
            dbus_address: String::new(),
            dbus_timeout: Duration::from_secs(2),
            crond: ServiceOverride::default(),
            syslogd: ServiceOverride::default(),
            sshd: ServiceOverride::default(),
            ntpd: ServiceOverride::default(),
        }
    }
}

/// Where the service rows look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ServiceSource {
    /// systemd when it runs the host (`/run/systemd/system` under the root), else the process table.
    Auto,
    /// systemd's units over D-Bus.
    Systemd,
    /// The process table and pid files (containers, SysV init).
    Process,
}

/// `[services.<name>]`: what is not set keeps the built-in candidates of that service.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ServiceOverride {
    /// `false` leaves the service out (no series).
    pub(crate) enabled: Option<bool>,
    /// systemd units, the first that exists counts (any active one among them does).
    pub(crate) units: Option<Vec<String>>,
    /// Process names (`comm`) without systemd.
    pub(crate) processes: Option<Vec<String>>,
    /// Pid files (under `--path.rootfs`) without systemd.
    pub(crate) pid_files: Option<Vec<PathBuf>>,
    /// Regular expressions over the command line (NULs as spaces) of same-named processes that
    /// are not the daemon (sshd's per-connection processes).
    pub(crate) ignore_cmdline: Option<Vec<String>>,
}

/// `[ntp]`: the document's os_ntp_offset (`ntpdate -q <server>`) and os_ntp_sync_abnormal.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct NtpConfig {
    /// Servers to query (`host`, `host:port`, `[v6]:port`); empty: the sources the host's NTP
    /// daemon is configured with, read from `conf_files`.
    pub(crate) servers: Vec<NtpServer>,
    /// Daemon configurations the default servers are read from (under `--path.rootfs`); the
    /// `server`, `pool` and `peer` lines, and chrony's `sourcedir`, `confdir` and `include`.
    pub(crate) conf_files: Vec<PathBuf>,
    /// The local time daemon asked whether it is synchronised (LI 3 or stratum 0/16 in its
    /// answer means not); empty to skip. No answer there is not counted as unsynchronised.
    pub(crate) local_daemon: String,
    /// How often the servers are queried (in the background, never at scrape time).
    #[serde(with = "common::config::duration")]
    pub(crate) interval: Duration,
    /// Wait for one server's answer (ntpdate's default is 2 s).
    #[serde(with = "common::config::duration")]
    pub(crate) timeout: Duration,
    /// Addresses queried per server name (a pool name resolves to several).
    pub(crate) addresses_per_server: usize,
    /// Most addresses queried per pass, over all servers.
    pub(crate) max_addresses: usize,
}

impl Default for NtpConfig {
    fn default() -> Self {
        Self {
            servers: Vec::new(),
            conf_files: [
                "/etc/chrony/chrony.conf",
                "/etc/chrony.conf",
                "/etc/ntp.conf",
                "/etc/ntpsec/ntp.conf",
            ]
            .iter()
            .map(PathBuf::from)
            .collect(),
            local_daemon: "127.0.0.1:123".to_owned(),
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(2),
            addresses_per_server: 4,
            max_addresses: 16,
        }
    }
}

/// One `[ntp] servers` entry: a host (name or address) and a port (default 123).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NtpServer {
    /// Name or address, without brackets.
    pub(crate) host: String,
    /// UDP port.
    pub(crate) port: u16,
}

impl std::str::FromStr for NtpServer {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("NTP server {s:?}: {why}");
        let s = s.trim();
        if s.is_empty() {
            return Err(bad("empty"));
        }
        if let Ok(ip) = s.parse::<std::net::IpAddr>() {
            return Ok(Self {
                host: ip.to_string(),
                port: 123,
            });
        }
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (h, after) = rest.split_once(']').ok_or_else(|| bad("no closing ']'"))?;
            match after.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None if after.is_empty() => (h, None),
                None => return Err(bad("expected ':port' after ']'")),
            }
        } else {
            match s.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (s, None),
            }
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(bad("no host"));
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?,
            None => 123,
        };
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }
}

impl std::fmt::Display for NtpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl<'de> Deserialize<'de> for NtpServer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
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
    /// How often the socket table is read (in the background: the kernel walks every bucket of
    /// its TCP hash however few sockets are open, milliseconds on a large host).
    #[serde(with = "common::config::duration")]
    pub(crate) interval: Duration,
}

impl Default for SocketsConfig {
    fn default() -> Self {
        Self {
            queue_threshold_bytes: 1_000_000,
            source: SocketSource::Auto,
            interval: Duration::from_secs(15),
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
        if self.services.dbus_timeout.is_zero() {
            return Err("services.dbus_timeout: must be positive".to_owned());
        }
        crate::services::specs(&self.services)?;
        self.jvm.validate()?;
        if self.messages.lines == 0 || self.messages.interval.is_zero() {
            return Err("messages.lines and messages.interval: must be positive".to_owned());
        }
        crate::messages::Classifier::new(&self.messages)?;
        if self.sockets.interval.is_zero() {
            return Err("sockets.interval: must be positive".to_owned());
        }
        if self.cron.window.is_zero() || self.cron.interval.is_zero() {
            return Err("cron.window and cron.interval: must be positive".to_owned());
        }
        if self.ntp.interval.is_zero() || self.ntp.timeout.is_zero() {
            return Err("ntp.interval and ntp.timeout: must be positive".to_owned());
        }
        if self.ntp.addresses_per_server == 0 || self.ntp.max_addresses == 0 {
            return Err(
                "ntp.addresses_per_server and ntp.max_addresses: must be positive".to_owned(),
            );
        }
        if !self.ntp.local_daemon.is_empty()
            && self
                .ntp
                .local_daemon
                .parse::<std::net::SocketAddr>()
                .is_err()
        {
            return Err(format!(
                "ntp.local_daemon: {:?} is not an address:port (e.g. \"127.0.0.1:123\")",
                self.ntp.local_daemon
            ));
        }
        self.directories.validate()?;
        self.kernel_log.validate()?;
        if self.livepatch.transition_grace.is_zero() {
            return Err("livepatch.transition_grace: must be positive".to_owned());
        }
        crate::process_groups::matcher::compile(&self.process)?;
        if self.process_cpu.interval.is_zero() {
            return Err("process_cpu.interval: must be positive".to_owned());
        }
        crate::tomcat::config::validate(&self.tomcat)?;
        Ok(())
    }
}

/// `[kernel_log]`: os_msg_has_kernel_error and os_msg_memory_abnormal.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct KernelLogConfig {
    /// The kernel's record device (not under `--path.rootfs`: every path to it reads the same
    /// kernel); empty to skip it. A regular file here is read once as a captured buffer.
    pub(crate) kmsg_path: PathBuf,
    /// The syslog file searched for memory-error lines too (under `--path.rootfs`); empty to
    /// skip. A missing file has no lines.
    pub(crate) messages_file: PathBuf,
    /// How long a kernel error or memory-error line keeps its 0/1 row at 1.
    #[serde(with = "common::config::duration")]
    pub(crate) window: Duration,
    /// How often the sources are read (in the background, never at scrape time).
    #[serde(with = "common::config::duration")]
    pub(crate) interval: Duration,
    /// Count the records (and messages lines) already there at start; by default they are
    /// history, since hosts often carry a few error records from boot.
    pub(crate) count_existing: bool,
}

impl Default for KernelLogConfig {
    fn default() -> Self {
        Self {
            kmsg_path: PathBuf::from("/dev/kmsg"),
            messages_file: PathBuf::from("/var/log/messages"),
            window: Duration::from_secs(600),
            interval: Duration::from_secs(10),
            count_existing: false,
        }
    }
}

impl KernelLogConfig {
    /// The interval is positive and shorter than the window; paths are absolute.
    fn validate(&self) -> Result<(), String> {
        if self.interval.is_zero() || self.window < self.interval {
            return Err(
                "kernel_log.interval and kernel_log.window: the interval must be positive and at most the window"
                    .to_owned(),
            );
        }
        for (name, p) in [
            ("kmsg_path", &self.kmsg_path),
            ("messages_file", &self.messages_file),
        ] {
            if !p.as_os_str().is_empty() && !p.is_absolute() {
                return Err(format!(
                    "kernel_log.{name}: {} is not an absolute path",
                    p.display()
                ));
            }
        }
        Ok(())
    }
}

/// `[livepatch]`: os_hotpatch_abnormal.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct LivepatchConfig {
    /// How long a patch may stay in transition before it counts as abnormal (the kernel
    /// signals the remaining tasks after about 15 s; kpatch gives up waiting after 15 s).
    #[serde(with = "common::config::duration")]
    pub(crate) transition_grace: Duration,
}

impl Default for LivepatchConfig {
    fn default() -> Self {
        Self {
            transition_grace: Duration::from_secs(60),
        }
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
        assert_eq!(c.kernel_log, d.kernel_log);
        assert_eq!(c.livepatch, d.livepatch);
    }

    #[test]
    fn kernel_log_needs_an_interval_within_the_window_and_absolute_paths() {
        let parse = |t: &str| {
            common::config::parse_toml::<Config>(std::path::Path::new("x.toml"), t)
                .unwrap()
                .validate()
        };
        assert!(parse("[kernel_log]\nwindow = \"5s\"\ninterval = \"10s\"\n").is_err());
        let e = parse("[kernel_log]\nmessages_file = \"var/log/messages\"\n").unwrap_err();
        assert!(e.contains("kernel_log.messages_file"), "{e}");
        assert!(parse("[kernel_log]\nkmsg_path = \"\"\nmessages_file = \"\"\n").is_ok());
    }

    #[test]
    fn ntp_servers_take_names_addresses_and_ports_and_reject_the_rest() {
        let ok = |s: &str| s.parse::<NtpServer>().map(|n| (n.host, n.port));
        assert_eq!(
            ok("ntp.example.com"),
            Ok(("ntp.example.com".to_owned(), 123))
        );
        assert_eq!(ok("10.0.0.1:11123"), Ok(("10.0.0.1".to_owned(), 11123)));
        assert_eq!(ok("fd00::1"), Ok(("fd00::1".to_owned(), 123)));
        assert_eq!(ok("[::1]:11123"), Ok(("::1".to_owned(), 11123)));
        for bad in [
            "",
            "host:0",
            "host:70000",
            "host:x",
            "[::1",
            "[::1]x",
            ":123",
        ] {
            let e = bad.parse::<NtpServer>().unwrap_err();
            assert!(e.contains("NTP server"), "{bad}: {e}");
        }
        let parsed: Result<Config, _> = common::config::parse_toml(
            std::path::Path::new("t.toml"),
            "[ntp]\nservers = [\"host:99999\"]\n",
        );
        assert!(parsed.unwrap_err().to_string().contains("host:99999"));
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
    fn process_tables_are_checked_at_start_naming_the_table() {
        let parse = |t: &str| {
            common::config::parse_toml::<Config>(std::path::Path::new("x.toml"), t)
                .map_err(|e| e.to_string())
                .and_then(|c| c.validate().map(|()| c))
        };
        let ok = parse(
            "[process_cpu]\ninterval = \"5s\"\n[[process]]\nname = \"tomcat\"\ncomm = [\"java\"]\ncmdline = ['catalina']\n[[process]]\nname = \"nginx\"\npid_file = [\"/run/nginx.pid\"]\n",
        )
        .unwrap();
        assert_eq!(ok.process.len(), 2);
        assert_eq!(ok.process_cpu.interval, Duration::from_secs(5));
        // A misspelt matcher is an error, not a table that matches everything.
        let typo = parse("[[process]]\nname = \"x\"\ncmdlin = [\"a\"]\n").unwrap_err();
        assert!(typo.contains("cmdlin"), "{typo}");
        for (text, want) in [
            ("[[process]]\nname = \"\"\ncomm = [\"a\"]\n", "name must be"),
            ("[[process]]\nname = \"x\"\n", "no matcher"),
            ("[[process]]\nname = \"x\"\ncmdline = [\"(\"]\n", "cmdline"),
            (
                "[[process]]\nname = \"x\"\ncomm = [\"a\"]\n[[process]]\nname = \"x\"\ncomm = [\"b\"]\n",
                "configured twice",
            ),
            ("[process_cpu]\ninterval = \"0s\"\n", "process_cpu.interval"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
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
