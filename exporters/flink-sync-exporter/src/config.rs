//! The exporter's TOML configuration; every field has a default, so no file is needed.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// How this node's role is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RoleSetting {
    /// `active` while `float_ip` is on a local interface (the way MRS moves it), else `standby`.
    #[default]
    Auto,
    /// Always the active node (serves its manifest, compares nothing).
    Active,
    /// Always the standby node (compares its tree with the active's manifest).
    Standby,
}

/// The user the HA sync runs as, whose access decides whether a file is readable.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SyncUserConfig {
    /// User name, resolved in `/etc/passwd` and `/etc/group` under `--path.rootfs` (`omm` on MRS).
    pub name: Option<String>,
    /// Numeric uid; overrides the name's.
    pub uid: Option<u32>,
    /// Primary gid; overrides the name's.
    pub gid: Option<u32>,
    /// Supplementary gids; added to the name's.
    pub groups: Vec<u32>,
}

/// The configuration file (`--config.file`, TOML).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Which collectors run (`[collectors] enabled / disabled`).
    pub collectors: common::CollectorsConfig,
    /// Files and directories synchronised between the nodes (absolute, under `--path.rootfs`).
    pub roots: Vec<String>,
    /// Glob patterns of paths left out of the manifest, matched against the full path and the
    /// file name (`*.tmp`, `/opt/flink/conf/cache/*`).
    pub exclude: Vec<String>,
    /// Most entries a manifest may hold; a larger tree is an error, never a partial manifest.
    pub max_entries: usize,
    /// Threads that read and digest the files the digest cache cannot answer: all of them on
    /// the first check, few afterwards.
    pub digest_threads: usize,
    /// The user whose access is judged.
    pub sync_user: SyncUserConfig,
    /// `auto`, `active` or `standby`.
    pub role: RoleSetting,
    /// The float IP of the FlinkServer pair (needed by `role = "auto"`).
    pub float_ip: Option<IpAddr>,
    /// Base URL of the peer's exporter (`http://10.0.0.2:9915`); the standby fetches
    /// `<peer_url>/manifest`.
    pub peer_url: Option<String>,
    /// Basic-auth user for the peer's exporter, when its web config asks for one.
    pub peer_username: Option<String>,
    /// File holding that user's password.
    pub peer_password_file: Option<PathBuf>,
    /// CA file to verify the peer's TLS certificate (https peer URLs).
    pub peer_ca_file: Option<PathBuf>,
    /// Largest manifest accepted from the peer, in bytes (compressed and decompressed).
    pub max_manifest_bytes: usize,
    /// How often the manifest is rebuilt and compared (the alarm's 60 s).
    #[serde(with = "common::config::duration")]
    pub check_interval: Duration,
    /// How long fetching the peer's manifest may take.
    #[serde(with = "common::config::duration")]
    pub fetch_timeout: Duration,
    /// Wait per ping of the peer and per connection to its exporter port.
    #[serde(with = "common::config::duration")]
    pub peer_timeout: Duration,
    /// The LocalBackup directory (step 6: `df -hl /srv/BigData/LocalBackup`).
    pub local_backup: String,
    /// Where junk `sed*` files are searched (steps 10-11: `/srv/BigData/` and `/opt`).
    pub junk_roots: Vec<String>,
    /// Most entries the junk search visits per run.
    pub junk_max_entries: usize,
    /// How often the junk search runs.
    #[serde(with = "common::config::duration")]
    pub junk_interval: Duration,
    /// The HA run log (step 12), with its rotations.
    pub ha_log: String,
    /// Whether the HA log is read from its beginning (rotations included) at start.
    pub ha_log_from_start: bool,
    /// The audit journal (`[audit]`): differing paths, junk files, unreadable files.
    pub audit: common::audit::AuditConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            collectors: common::CollectorsConfig::default(),
            roots: vec!["/opt/Bigdata/FusionInsight_Flink/conf".to_owned()],
            exclude: Vec::new(),
            max_entries: 200_000,
            digest_threads: 2,
            sync_user: SyncUserConfig::default(),
            role: RoleSetting::Auto,
            float_ip: None,
            peer_url: None,
            peer_username: None,
            peer_password_file: None,
            peer_ca_file: None,
            max_manifest_bytes: 64 << 20,
            check_interval: Duration::from_secs(60),
            fetch_timeout: Duration::from_secs(20),
            peer_timeout: Duration::from_secs(2),
            local_backup: "/srv/BigData/LocalBackup".to_owned(),
            junk_roots: vec!["/srv/BigData".to_owned(), "/opt".to_owned()],
            junk_max_entries: 500_000,
            junk_interval: Duration::from_secs(300),
            ha_log: "/var/log/Bigdata/flink/flinkserver/ha/runlog/ha.log".to_owned(),
            ha_log_from_start: false,
            audit: common::audit::AuditConfig::default(),
        }
    }
}

impl common::ExporterConfig for Config {
    fn collectors(&self) -> &common::CollectorsConfig {
        &self.collectors
    }

    fn validate(&self) -> Result<(), String> {
        if self.roots.is_empty() {
            return Err("roots: at least one synchronised path is needed".to_owned());
        }
        for r in self.roots.iter().chain(&self.junk_roots) {
            if !r.starts_with('/') {
                return Err(format!("{r:?}: paths must be absolute"));
            }
        }
        if let Some(u) = &self.peer_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(format!(
                "peer_url {u:?}: must start with http:// or https://"
            ));
        }
        if self.peer_username.is_some() != self.peer_password_file.is_some() {
            return Err("peer_username and peer_password_file go together".to_owned());
        }
        if self.max_entries == 0 || self.max_manifest_bytes < 1024 {
            return Err(
                "max_entries must be positive and max_manifest_bytes at least 1024".to_owned(),
            );
        }
        if !(1..=64).contains(&self.digest_threads) {
            return Err(format!(
                "digest_threads = {}: must be 1 to 64",
                self.digest_threads
            ));
        }
        if self.check_interval < Duration::from_secs(1) {
            return Err("check_interval must be at least 1s".to_owned());
        }
        Ok(())
    }
}
