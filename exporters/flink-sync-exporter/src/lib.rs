//! flink-sync-exporter: the file synchronisation between the active and the standby FlinkServer
//! (Huawei MRS alarm ALM-45641, document 004), and the causes its procedure checks.
//!
//! Both nodes run it. Each walks the synchronised roots into a manifest (served at
//! `/manifest`, behind the same web config as `/metrics`); the standby fetches the active's and
//! compares, every `check_interval` in the background. Readability is judged for the HA sync's
//! user, not for the exporter's.

// Tests state their expectations with unwrap; production code may not.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod access;
pub mod check;
mod collectors;
pub mod compare;
pub mod config;
mod diagnose;
pub mod ha_log;
pub mod manifest;
pub mod users;
pub mod walk;
pub mod wire;

use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use common::audit::AuditJournal;
use common::http_probe::{HttpProbe, ProbeOptions, TlsOptions};
use common::server::DocumentHandler;
use common::{CollectorDef, Context, Exporter, SetupError, Spec, SysPaths};

use crate::check::{Check, Peer, Role, RoleSource, Shared};
pub use crate::config::Config;
use crate::config::RoleSetting;
use crate::users::Identity;
use crate::walk::WalkSpec;

const DEFAULT_AUDIT_PATH: &str = "/var/lib/flink-sync-exporter/audit.jsonl";

/// The state flink-sync-exporter's collectors, jobs and `/manifest` share.
pub struct FlinkSyncExporter {
    cfg: Config,
    paths: SysPaths,
    user: Option<Identity>,
    audit: Arc<AuditJournal>,
    shared: Arc<Mutex<Shared>>,
    peer_auth: Option<http::HeaderValue>,
    http: Arc<HttpProbe>,
    host: String,
}

fn read_under(paths: &SysPaths, rel: &str) -> String {
    std::fs::read(paths.root(rel))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

impl FlinkSyncExporter {
    /// How this node's role is decided, from the config.
    fn role_source(&self) -> RoleSource {
        match self.cfg.role {
            RoleSetting::Active => RoleSource::Fixed(Role::Active),
            RoleSetting::Standby => RoleSource::Fixed(Role::Standby),
            RoleSetting::Auto => RoleSource::FloatIp(self.cfg.float_ip),
        }
    }

    /// The background check, sharing this exporter's state.
    fn new_check(&self) -> Check {
        let role = self.role_source();
        let peer = self.cfg.peer_url.as_ref().map(|u| Peer {
            url: format!("{}/manifest", u.trim_end_matches('/')),
            http: Arc::clone(&self.http),
            authorization: self.peer_auth.clone(),
            max_bytes: self.cfg.max_manifest_bytes,
            max_entries: self.cfg.max_entries,
            timeout: self.cfg.fetch_timeout,
            runtime: tokio::runtime::Handle::current(),
        });
        let spec = WalkSpec {
            rootfs: self.paths.rootfs.clone(),
            roots: self.cfg.roots.clone(),
            exclude: self.cfg.exclude.clone(),
            max_entries: self.cfg.max_entries,
            user: self.user.clone(),
            digest_threads: self.cfg.digest_threads,
        };
        Check::new(
            role,
            spec,
            peer,
            Arc::clone(&self.audit),
            self.host.clone(),
            Arc::clone(&self.shared),
        )
    }
}

impl Exporter for FlinkSyncExporter {
    type Config = Config;

    const SPEC: Spec = common::spec!(prefix: "flink_sync", listen: ":9915");
    const COLLECTORS: &'static [CollectorDef<Self>] = collectors::ALL;

    fn new(cfg: Config, ctx: &Context) -> Result<Self, SetupError> {
        let paths = ctx.paths.clone();
        let su = &cfg.sync_user;
        let user = if su.name.is_none() && su.uid.is_none() && su.gid.is_none() {
            None
        } else {
            let id = users::resolve(
                su,
                &read_under(&paths, "/etc/passwd"),
                &read_under(&paths, "/etc/group"),
            )
            .map_err(|e| SetupError::Config(e.to_string()))?;
            Some(id)
        };
        let peer_auth = match (&cfg.peer_username, &cfg.peer_password_file) {
            (Some(u), Some(f)) => {
                let pw = std::fs::read_to_string(f).map_err(|source| SetupError::Io {
                    what: format!("peer_password_file {}", f.display()),
                    source,
                })?;
                let token = base64::engine::general_purpose::STANDARD
                    .encode(format!("{u}:{}", pw.trim_end_matches(['\n', '\r'])));
                Some(
                    http::HeaderValue::from_str(&format!("Basic {token}"))
                        .map_err(|e| SetupError::Config(format!("peer_username: {e}")))?,
                )
            }
            _ => None,
        };
        let opts = ProbeOptions {
            tls: TlsOptions {
                ca_file: cfg.peer_ca_file.clone(),
                ..TlsOptions::default()
            },
            max_body_bytes: cfg.max_manifest_bytes,
            user_agent: format!("flink-sync-exporter/{}", env!("CARGO_PKG_VERSION")),
        };
        let http = Arc::new(HttpProbe::new(&opts).map_err(|e| format!("peer TLS: {e}"))?);
        // Under `diagnose` the running exporter owns the journal: nothing is written.
        let mut audit_cfg = cfg.audit.clone();
        if ctx.diagnose {
            audit_cfg.enabled = false;
        }
        let audit = Arc::new(AuditJournal::new(audit_cfg, Path::new(DEFAULT_AUDIT_PATH)));
        audit.declare_checks(&["sync_difference", "junk_files"]);
        let host = paths
            .read_proc("sys/kernel/hostname")
            .ok()
            .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
            .unwrap_or_default();
        if !ctx.check_only {
            log::info!(
                "roots={:?} role={:?} float_ip={:?} peer={:?} sync_user={}",
                cfg.roots,
                cfg.role,
                cfg.float_ip,
                cfg.peer_url,
                user.as_ref().map_or(
                    "(not set: the exporter's own reads only)".to_owned(),
                    |u| format!(
                        "{} uid={} gid={} groups={:?}",
                        u.name, u.uid, u.gid, u.groups
                    )
                )
            );
        }
        Ok(Self {
            cfg,
            paths,
            user,
            audit,
            shared: Arc::new(Mutex::new(Shared::default())),
            peer_auth,
            http,
            host,
        })
    }

    async fn diagnose(&self, walk: &mut common::diagnose::Walk) {
        diagnose::walk(self, walk).await;
    }

    fn documents(&self) -> Vec<(String, Arc<dyn DocumentHandler>)> {
        vec![(
            "/manifest".to_owned(),
            Arc::new(check::ManifestDocument(Arc::clone(&self.shared))),
        )]
    }
}
