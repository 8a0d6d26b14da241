//! The check, every `check_interval` in the background (the alarm's 60 s): decide the role,
//! rebuild this node's manifest (served at `/manifest`), and on the standby fetch the active's
//! and compare.
//!
//! `flink_sync_ok` is 0 only when a check goes wrong twice in a row in the same way: the same
//! path differing (or unreadable) in two consecutive checks, or two consecutive checks that
//! could not compare. A file caught half-written by one check is no alarm. A failed fetch never
//! leaves the previous comparison's counts in place: they disappear, and
//! `flink_sync_check_success` says 0.

use std::collections::HashSet;
use std::io::Read as _;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use common::audit::{AuditJournal, AuditRecord};
use common::http_probe::HttpProbe;
use common::{MetricSet, MutexExt as _};

use crate::compare::{Diff, DiffKind, compare};
use crate::manifest::Manifest;
use crate::walk::{WalkSpec, WalkStats, Walker};
use crate::wire;

/// This node's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Holds the float IP; its tree is the reference.
    Active,
    /// Receives the sync; compares.
    Standby,
}

impl Role {
    /// Label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Active => "active",
            Role::Standby => "standby",
        }
    }
}

/// How the role is found.
#[derive(Debug, Clone)]
pub enum RoleSource {
    /// Fixed by the config.
    Fixed(Role),
    /// Active while this address is on a local interface; `None`: not configured, so the role
    /// is unknown (the manifest is still built and served).
    FloatIp(Option<IpAddr>),
}

impl RoleSource {
    /// The role now.
    pub fn current(&self) -> Result<Role, String> {
        match self {
            RoleSource::Fixed(r) => Ok(*r),
            RoleSource::FloatIp(None) => {
                Err("role = \"auto\" needs float_ip (or set role to active or standby)".to_owned())
            }
            RoleSource::FloatIp(Some(ip)) => {
                let state = common::netlink::route::dump(common::netlink::Limits {
                    max_messages: 100_000,
                    max_bytes: 64 << 20,
                    recv_timeout: Duration::from_secs(2),
                })
                .map_err(|e| format!("listing local addresses: {e}"))?;
                Ok(if state.addresses.iter().any(|a| a.addr == *ip) {
                    Role::Active
                } else {
                    Role::Standby
                })
            }
        }
    }
}

/// How the peer's manifest is fetched.
#[derive(Debug)]
pub struct Peer {
    /// `<peer_url>/manifest`.
    pub url: String,
    /// The client (TLS when configured).
    pub http: Arc<HttpProbe>,
    /// `Authorization` header value, when the peer needs basic auth.
    pub authorization: Option<http::HeaderValue>,
    /// Largest document accepted.
    pub max_bytes: usize,
    /// Most entries accepted.
    pub max_entries: usize,
    /// Deadline of one fetch.
    pub timeout: Duration,
    /// The runtime the fetch runs on (the check runs on a blocking thread).
    pub runtime: tokio::runtime::Handle,
}

/// Why the peer's manifest could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No answer, or not a complete one.
    #[error("fetching {url}: {source}")]
    Http {
        /// The URL.
        url: String,
        /// What went wrong.
        #[source]
        source: common::http_probe::Failure,
    },
    /// An answer other than 200.
    #[error("fetching {url}: status {status}: {body}")]
    Status {
        /// The URL.
        url: String,
        /// Its status.
        status: u16,
        /// The start of its body.
        body: String,
    },
    /// The gzip stream is damaged or inflates past the bound.
    #[error("fetching {url}: {what}")]
    Gzip {
        /// The URL.
        url: String,
        /// What went wrong.
        what: String,
    },
    /// The document is not a usable manifest.
    #[error("peer manifest from {url}: {source}")]
    Wire {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: wire::WireError,
    },
}

/// The peer's answer to a fetch.
#[derive(Debug)]
pub enum Fetched {
    /// The manifest whose `ETag` the fetch named has not changed (304).
    NotModified,
    /// A new manifest, with its `ETag` when the peer sent one.
    New(Manifest, Option<String>),
}

impl Peer {
    /// Fetches and parses the peer's manifest; with `known`, the `ETag` of the manifest already
    /// held, an unchanged one is answered 304 and neither sent nor parsed again.
    pub fn fetch(&self, known: Option<&str>) -> Result<Fetched, FetchError> {
        let mut headers = vec![(
            http::header::ACCEPT_ENCODING,
            http::HeaderValue::from_static("gzip"),
        )];
        if let Some(a) = &self.authorization {
            headers.push((http::header::AUTHORIZATION, a.clone()));
        }
        if let Some(v) = known.and_then(|k| http::HeaderValue::from_str(k).ok()) {
            headers.push((http::header::IF_NONE_MATCH, v));
        }
        let deadline = Instant::now() + self.timeout;
        let resp = self
            .runtime
            .block_on(self.http.get_with_headers(&self.url, &headers, deadline))
            .map_err(|source| FetchError::Http {
                url: self.url.clone(),
                source,
            })?;
        if resp.status == 304 && known.is_some() {
            return Ok(Fetched::NotModified);
        }
        if resp.status != 200 {
            let n = resp.body.len().min(200);
            return Err(FetchError::Status {
                url: self.url.clone(),
                status: resp.status,
                body: String::from_utf8_lossy(&resp.body[..n]).trim().to_owned(),
            });
        }
        let body = if resp.body.starts_with(&[0x1f, 0x8b]) {
            gunzip_bounded(&resp.body, self.max_bytes).map_err(|what| FetchError::Gzip {
                url: self.url.clone(),
                what,
            })?
        } else {
            resp.body.to_vec()
        };
        let manifest = wire::decode(&body, self.max_bytes, self.max_entries).map_err(|source| {
            FetchError::Wire {
                url: self.url.clone(),
                source,
            }
        })?;
        Ok(Fetched::New(manifest, resp.etag))
    }
}

/// Inflates `z`, refusing more than `max` bytes of output (a gzip bomb costs at most that).
pub fn gunzip_bounded(z: &[u8], max: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::MultiGzDecoder::new(z)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| format!("damaged gzip: {e}"))?;
    if out.len() > max {
        return Err(format!("inflates past the {max}-byte bound"));
    }
    Ok(out)
}

/// The manifest as `/manifest` serves it: encoded and gzipped once per change, not per request.
#[derive(Debug, Clone)]
struct Prepared {
    body: Bytes,
    gzipped: Option<Bytes>,
    /// Quoted [`content_hash`] of the manifest: the standby's `If-None-Match`.
    etag: String,
}

/// xxh3-128 of everything a manifest says but the time it was built: equal for two walks of an
/// unchanged tree.
fn content_hash(m: &Manifest) -> u128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut text = |b: &[u8]| {
        h.update(&(b.len() as u64).to_le_bytes());
        h.update(b);
    };
    text(m.host.as_bytes());
    for r in &m.roots {
        text(r.as_bytes());
    }
    for e in &m.entries {
        text(&e.path);
        text(e.kind.code().as_bytes());
        text(e.unreadable.as_deref().unwrap_or("\0").as_bytes());
        let mut fixed = [0u8; 8 + 4 + 4 + 4 + 8 + 17];
        fixed[..8].copy_from_slice(&e.size.to_le_bytes());
        fixed[8..12].copy_from_slice(&e.mode.to_le_bytes());
        fixed[12..16].copy_from_slice(&e.uid.to_le_bytes());
        fixed[16..20].copy_from_slice(&e.gid.to_le_bytes());
        fixed[20..28].copy_from_slice(&e.mtime.to_le_bytes());
        if let Some(d) = e.digest {
            fixed[28] = 1;
            fixed[29..].copy_from_slice(&d.to_le_bytes());
        }
        text(&fixed);
    }
    h.digest128()
}

impl Prepared {
    /// `m` encoded and gzipped; when its content is that of `previous` (every check of an
    /// unchanged tree), `previous` is kept as it is, with the time of the walk that first built
    /// it: neither encoded nor compressed again, and its `ETag` unchanged.
    fn new(m: &Manifest, previous: Option<&Prepared>) -> Self {
        let etag = format!("\"{:032x}\"", content_hash(m));
        if let Some(p) = previous.filter(|p| p.etag == etag) {
            return p.clone();
        }
        let body = wire::encode(m);
        let gzipped = common::server::gzip(&body).ok().map(Bytes::from);
        Self {
            body: Bytes::from(body),
            gzipped,
            etag,
        }
    }
}

/// What the collectors and `/manifest` read.
#[derive(Debug, Default)]
pub struct Shared {
    role: Option<Role>,
    role_error: Option<String>,
    manifest: Option<Prepared>,
    manifest_error: Option<String>,
    local_entries: usize,
    local_unreadable: usize,
    last_walk: WalkStats,
    /// Only on the standby: the last comparison, `None` when it failed.
    compared: Option<Diff>,
    /// Whether the last comparison could be made (standby only).
    check_success: Option<bool>,
    ok: Option<bool>,
    last_success: f64,
    /// Why the last comparison could not be made (standby only).
    compare_error: Option<String>,
    /// Up to [`LOG_PATHS`] paths of this node the sync user cannot read, with why.
    local_unreadable_paths: Vec<(String, String)>,
}

/// What the last check found, for `diagnose`'s evidence.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    /// This node's role, when known.
    pub role: Option<Role>,
    /// Why the role could not be decided.
    pub role_error: Option<String>,
    /// Why this node's manifest could not be built.
    pub manifest_error: Option<String>,
    /// The last comparison (standby only).
    pub compared: Option<Diff>,
    /// Why the last comparison could not be made (standby only).
    pub compare_error: Option<String>,
    /// Some of this node's paths the sync user cannot read, with why.
    pub local_unreadable: Vec<(String, String)>,
}

impl Shared {
    /// What the last check found.
    pub fn findings(&self) -> Findings {
        Findings {
            role: self.role,
            role_error: self.role_error.clone(),
            manifest_error: self.manifest_error.clone(),
            compared: self.compared.clone(),
            compare_error: self.compare_error.clone(),
            local_unreadable: self.local_unreadable_paths.clone(),
        }
    }
}

/// The check's state between runs.
#[derive(Debug)]
pub struct Check {
    /// Role decision.
    pub role: RoleSource,
    /// The walk.
    pub spec: WalkSpec,
    /// The peer, when configured.
    pub peer: Option<Peer>,
    /// Audit journal.
    pub audit: Arc<AuditJournal>,
    /// Host name, written into the manifest.
    pub host: String,
    /// Shared with the collectors.
    pub shared: Arc<Mutex<Shared>>,
    walker: Walker,
    /// Keys of what was wrong last time (`None`: nothing), and whether that was a failure.
    previous: Option<(HashSet<u64>, bool)>,
    /// Keys last written to the audit journal, so a persisting state is written once.
    audited: HashSet<u64>,
    /// Local unreadable paths last logged, so a persisting one is logged once.
    logged: HashSet<u64>,
    /// The active's last manifest and its `ETag`, asked for again with `If-None-Match`.
    peer_manifest: Option<(String, Manifest)>,
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn key(kind: &str, path: &[u8]) -> u64 {
    let mut b = kind.as_bytes().to_vec();
    b.push(0);
    b.extend_from_slice(path);
    xxhash_rust::xxh3::xxh3_64(&b)
}

/// Differing paths written per audit record at most.
const AUDIT_PATHS: usize = 200;
/// Unreadable paths logged per check at most.
const LOG_PATHS: usize = 10;

impl Check {
    /// A check with an empty cache.
    pub fn new(
        role: RoleSource,
        spec: WalkSpec,
        peer: Option<Peer>,
        audit: Arc<AuditJournal>,
        host: String,
        shared: Arc<Mutex<Shared>>,
    ) -> Self {
        Self {
            role,
            spec,
            peer,
            audit,
            host,
            shared,
            walker: Walker::new(),
            previous: None,
            audited: HashSet::new(),
            logged: HashSet::new(),
            peer_manifest: None,
        }
    }

    /// One run: role, manifest, comparison. `Err` when this node's side could not be checked.
    pub fn run(&mut self) -> Result<(), String> {
        let role = self.role.current();
        let mut stats = WalkStats::default();
        let walked = self.walker.walk(&self.spec, &self.host, &mut stats);
        // Encoded and compressed outside the lock the scrapes and `/manifest` take.
        let prepared = walked.as_ref().ok().map(|m| {
            let previous = self.shared.lock_or_recover().manifest.clone();
            Prepared::new(m, previous.as_ref())
        });
        {
            let mut sh = self.shared.lock_or_recover();
            match &role {
                Ok(r) => {
                    sh.role = Some(*r);
                    sh.role_error = None;
                }
                Err(e) => sh.role_error = Some(e.clone()),
            }
            sh.last_walk = stats;
            match &walked {
                Ok(m) => {
                    sh.manifest = prepared;
                    sh.manifest_error = None;
                    sh.local_entries = m.entries.len();
                    sh.local_unreadable = m.unreadable().count();
                    sh.local_unreadable_paths = m
                        .unreadable()
                        .take(LOG_PATHS)
                        .map(|e| (e.path_text(), e.unreadable.clone().unwrap_or_default()))
                        .collect();
                }
                Err(e) => {
                    sh.manifest = None;
                    sh.manifest_error = Some(e.to_string());
                }
            }
        }
        let local = walked.map_err(|e| e.to_string())?;
        self.log_unreadable(&local);
        let role = role?;
        if role == Role::Active {
            let mut sh = self.shared.lock_or_recover();
            sh.compared = None;
            sh.check_success = None;
            sh.ok = None;
            self.previous = None;
            self.peer_manifest = None;
            return Ok(());
        }
        let Some(peer) = &self.peer else {
            return Err("this node is the standby but no peer_url is configured".to_owned());
        };
        let known = self.peer_manifest.as_ref().map(|(tag, _)| tag.as_str());
        let fetched = peer.fetch(known).map(|f| match f {
            Fetched::NotModified => self.peer_manifest.take(),
            Fetched::New(m, Some(tag)) => Some((tag, m)),
            Fetched::New(m, None) => Some((String::new(), m)),
        });
        match fetched {
            Ok(Some((tag, active))) => {
                let diff = compare(&active, &local);
                self.conclude(Some((&diff, &active, &local)));
                // An answer without an ETag is not asked for conditionally.
                self.peer_manifest = (!tag.is_empty()).then_some((tag, active));
                let mut sh = self.shared.lock_or_recover();
                sh.compared = Some(diff);
                sh.compare_error = None;
                Ok(())
            }
            Ok(None) => {
                let why = format!("{}: 304 for a manifest this node no longer holds", peer.url);
                self.conclude(None);
                let mut sh = self.shared.lock_or_recover();
                sh.compared = None;
                sh.compare_error = Some(why.clone());
                Err(why)
            }
            Err(e) => {
                self.conclude(None);
                let mut sh = self.shared.lock_or_recover();
                sh.compared = None;
                sh.compare_error = Some(e.to_string());
                Err(e.to_string())
            }
        }
    }

    fn log_unreadable(&mut self, m: &Manifest) {
        let now: HashSet<u64> = m.unreadable().map(|e| key("unreadable", &e.path)).collect();
        if now == self.logged {
            return;
        }
        self.logged = now;
        for e in m.unreadable().take(LOG_PATHS) {
            log::warn!(
                "unreadable for the HA sync: {:?}: {}",
                e.path_text(),
                e.unreadable.as_deref().unwrap_or_default()
            );
        }
    }

    /// Updates ok, last success and the audit from a comparison (`None`: it failed).
    fn conclude(&mut self, outcome: Option<(&Diff, &Manifest, &Manifest)>) {
        let now = now_secs();
        let (keys, failed) = match outcome {
            None => (HashSet::new(), true),
            Some((diff, active, standby)) => {
                let mut k: HashSet<u64> = diff
                    .paths
                    .iter()
                    .map(|(kind, p)| key(kind.as_str(), p))
                    .collect();
                k.extend(
                    active
                        .unreadable()
                        .map(|e| key("unreadable_active", &e.path)),
                );
                k.extend(
                    standby
                        .unreadable()
                        .map(|e| key("unreadable_standby", &e.path)),
                );
                (k, false)
            }
        };
        let bad = failed || !keys.is_empty();
        let persisting = match (&self.previous, bad) {
            (Some((prev, prev_failed)), true) => {
                failed || *prev_failed || prev.intersection(&keys).next().is_some()
            }
            _ => false,
        };
        if let Some((diff, active, standby)) = outcome
            && !keys.is_empty()
            && keys != self.audited
        {
            self.audit_diff(diff, active, standby);
        }
        if !failed {
            self.audited = keys.clone();
        }
        self.previous = bad.then_some((keys, failed));
        let mut sh = self.shared.lock_or_recover();
        sh.check_success = Some(!failed);
        sh.ok = Some(!persisting);
        if !bad {
            sh.last_success = now;
        }
    }

    fn audit_diff(&self, diff: &Diff, active: &Manifest, standby: &Manifest) {
        let paths: Vec<serde_json::Value> = diff
            .paths
            .iter()
            .take(AUDIT_PATHS)
            .map(|(k, p)| serde_json::json!({"kind": k.as_str(), "path": String::from_utf8_lossy(p)}))
            .collect();
        let unreadable = |m: &Manifest, side: &str| -> Vec<serde_json::Value> {
            m.unreadable()
                .take(AUDIT_PATHS)
                .map(|e| serde_json::json!({"side": side, "path": e.path_text(), "reason": e.unreadable}))
                .collect()
        };
        let total = diff.paths.len() + diff.unreadable_active + diff.unreadable_standby;
        let left_out = diff.paths.len().saturating_sub(AUDIT_PATHS);
        let unreadable_paths =
            [unreadable(active, "active"), unreadable(standby, "standby")].concat();
        let record = AuditRecord {
            check: "sync_difference".to_owned(),
            threshold: "0 differing or unreadable paths".to_owned(),
            observed: total as f64,
            evidence: serde_json::json!({
                "active": active.host,
                "standby": standby.host,
                "missing_on_standby": diff.missing_on_standby,
                "extra_on_standby": diff.extra_on_standby,
                "content_differs": diff.content_differs,
                "mode_owner_differs": diff.mode_owner_differs,
                "paths": paths,
                "paths_left_out": left_out,
                "unreadable": unreadable_paths,
            }),
        };
        if let Err(e) = self.audit.write(&record) {
            log::warn!("{e}");
        }
        for (k, p) in diff.paths.iter().take(LOG_PATHS) {
            log::warn!(
                "sync difference: {} {:?}",
                k.as_str(),
                String::from_utf8_lossy(p)
            );
        }
    }
}

/// Serves the latest manifest at `/manifest`.
#[derive(Debug)]
pub struct ManifestDocument(pub Arc<Mutex<Shared>>);

impl common::server::DocumentHandler for ManifestDocument {
    fn document(&self) -> Result<common::server::Document, String> {
        let sh = self.0.lock_or_recover();
        match (&sh.manifest, &sh.manifest_error) {
            (Some(p), _) => Ok(common::server::Document {
                content_type: wire::CONTENT_TYPE,
                body: p.body.clone(),
                gzipped: p.gzipped.clone(),
                etag: Some(p.etag.clone()),
            }),
            (None, Some(e)) => Err(e.clone()),
            (None, None) => Err("no manifest yet: the first check has not finished".to_owned()),
        }
    }
}

/// Appends the check's families from the shared state.
pub fn collect(shared: &Mutex<Shared>, out: &mut MetricSet) {
    let sh = shared.lock_or_recover();
    if let Some(role) = sh.role {
        for r in [Role::Active, Role::Standby] {
            out.add(
                &ROLE,
                &[("role", r.as_str())],
                f64::from(u8::from(r == role)),
            );
        }
    }
    if sh.manifest.is_some() {
        out.add(&ENTRIES, &[], sh.local_entries as f64);
        if let Some(role) = sh.role {
            out.add(
                &UNREADABLE,
                &[("side", role.as_str())],
                sh.local_unreadable as f64,
            );
        }
    }
    out.add(
        &MANIFEST_OK,
        &[],
        f64::from(u8::from(sh.manifest.is_some())),
    );
    out.add(&DIGESTED, &[], sh.last_walk.digested as f64);
    if let Some(ok) = sh.check_success {
        out.add(&CHECK_SUCCESS, &[], f64::from(u8::from(ok)));
        out.add(&LAST_SUCCESS, &[], sh.last_success);
    }
    if let Some(ok) = sh.ok {
        out.add(&OK, &[], f64::from(u8::from(ok)));
    }
    if let Some(d) = &sh.compared {
        out.add(
            &DIFF,
            &[("kind", DiffKind::MissingOnStandby.as_str())],
            d.missing_on_standby as f64,
        );
        out.add(
            &DIFF,
            &[("kind", DiffKind::ExtraOnStandby.as_str())],
            d.extra_on_standby as f64,
        );
        out.add(
            &DIFF,
            &[("kind", DiffKind::ContentDiffers.as_str())],
            d.content_differs as f64,
        );
        out.add(
            &DIFF,
            &[("kind", DiffKind::ModeOwnerDiffers.as_str())],
            d.mode_owner_differs as f64,
        );
        out.add(
            &UNREADABLE,
            &[("side", "active")],
            d.unreadable_active as f64,
        );
    }
}

/// `flink_sync_role`.
pub const ROLE: common::Desc = common::Desc::gauge(
    "flink_sync_role",
    "1",
    "This node's FlinkServer HA role: 1 on the series of the current role (active holds the float IP).",
);
/// `flink_sync_manifest_entries`.
pub const ENTRIES: common::Desc = common::Desc::gauge(
    "flink_sync_manifest_entries",
    "1",
    "Entries (files, directories, links) in this node's manifest of the synchronised roots.",
);
/// `flink_sync_manifest_success`.
pub const MANIFEST_OK: common::Desc = common::Desc::gauge(
    "flink_sync_manifest_success",
    "1",
    "Whether the last walk built a manifest (0: tree over max_entries; see the log).",
);
/// `flink_sync_manifest_files_digested`.
pub const DIGESTED: common::Desc = common::Desc::gauge(
    "flink_sync_manifest_files_digested",
    "1",
    "Files whose content the last walk read (the others came from the digest cache).",
);
/// `flink_sync_unreadable_files`.
pub const UNREADABLE: common::Desc = common::Desc::gauge(
    "flink_sync_unreadable_files",
    "1",
    "Entries the sync user cannot read, by side (ALM-45641 cause: one such file fails the HA All_Sync task).",
);
/// `flink_sync_check_success`.
pub const CHECK_SUCCESS: common::Desc = common::Desc::gauge(
    "flink_sync_check_success",
    "1",
    "Standby only: whether the last check fetched the active's manifest and compared it (0: peer unreachable or its manifest unusable).",
);
/// `flink_sync_last_success_timestamp_seconds`.
pub const LAST_SUCCESS: common::Desc = common::Desc::gauge(
    "flink_sync_last_success_timestamp_seconds",
    "seconds",
    "Standby only: when a check last found both trees equal and readable, in seconds since the epoch (0: not since start).",
);
/// `flink_sync_ok`.
pub const OK: common::Desc = common::Desc::gauge(
    "flink_sync_ok",
    "1",
    "Standby only: 0 while a difference or a failed comparison persists over two consecutive checks (ALM-45641), else 1.",
);
/// `flink_sync_differing_files`.
pub const DIFF: common::Desc = common::Desc::gauge(
    "flink_sync_differing_files",
    "1",
    "Standby only: paths that differ from the active's manifest in the last comparison, by kind.",
);

/// Every family of the check.
pub const FAMILIES: &[common::Desc] = &[
    ROLE,
    ENTRIES,
    MANIFEST_OK,
    DIGESTED,
    UNREADABLE,
    CHECK_SUCCESS,
    LAST_SUCCESS,
    OK,
    DIFF,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Entry, Kind};

    fn check(dir: &std::path::Path) -> Check {
        let audit = Arc::new(AuditJournal::new(
            common::audit::AuditConfig::default(),
            &dir.join("audit.jsonl"),
        ));
        Check::new(
            RoleSource::Fixed(Role::Standby),
            WalkSpec {
                rootfs: dir.to_path_buf(),
                roots: vec!["/conf".into()],
                exclude: vec![],
                max_entries: 10,
                user: None,
                digest_threads: 1,
            },
            None,
            audit,
            "standby".into(),
            Arc::new(Mutex::new(Shared::default())),
        )
    }

    fn manifest(files: &[(&str, u128)]) -> Manifest {
        Manifest {
            host: "h".into(),
            entries: files
                .iter()
                .map(|(p, d)| Entry {
                    path: p.as_bytes().to_vec(),
                    kind: Kind::File,
                    size: 1,
                    mode: 0o644,
                    uid: 0,
                    gid: 0,
                    mtime: 1,
                    digest: Some(*d),
                    unreadable: None,
                })
                .collect(),
            ..Manifest::default()
        }
    }

    fn ok(c: &Check) -> Option<bool> {
        c.shared.lock_or_recover().ok
    }

    #[test]
    fn an_unchanged_manifest_keeps_its_etag_and_gzip_and_a_change_makes_new_ones() {
        let a = manifest(&[("/conf/a", 1), ("/conf/b", 2)]);
        let first = Prepared::new(&a, None);
        assert!(
            first.etag.starts_with('"') && first.etag.len() == 34,
            "{}",
            first.etag
        );
        let z = first.gzipped.clone().unwrap();
        assert_eq!(gunzip_bounded(&z, 1 << 20).unwrap(), first.body.to_vec());
        let again = Prepared::new(&a, Some(&first));
        assert_eq!(again.etag, first.etag);
        // The same buffers, not a second compression.
        assert_eq!(again.gzipped.unwrap().as_ptr(), z.as_ptr());
        let changed = Prepared::new(&manifest(&[("/conf/a", 1), ("/conf/b", 3)]), Some(&first));
        assert_ne!(changed.etag, first.etag);
        // A later walk of the same tree differs only in its time: the same version.
        let later = Manifest {
            generated: a.generated + 60,
            ..a.clone()
        };
        assert_eq!(Prepared::new(&later, Some(&first)).etag, first.etag);
        let mut chmod = a.clone();
        chmod.entries[0].mode ^= 0o040;
        assert_ne!(Prepared::new(&chmod, Some(&first)).etag, first.etag);
    }

    #[test]
    fn only_a_difference_seen_twice_in_a_row_or_two_failures_clear_ok() {
        let dir = std::env::temp_dir().join(format!("flink-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut c = check(&dir);
        let active = manifest(&[("/conf/a", 1), ("/conf/b", 2)]);
        let same = manifest(&[("/conf/a", 1), ("/conf/b", 2)]);
        let a_differs = manifest(&[("/conf/a", 9), ("/conf/b", 2)]);
        let b_differs = manifest(&[("/conf/a", 1), ("/conf/b", 9)]);
        let step = |c: &mut Check, standby: Option<&Manifest>| {
            match standby {
                Some(s) => {
                    let d = compare(&active, s);
                    c.conclude(Some((&d, &active, s)));
                }
                None => c.conclude(None),
            }
            ok(c)
        };
        assert_eq!(step(&mut c, Some(&same)), Some(true));
        let synced_at = c.shared.lock_or_recover().last_success;
        assert!(synced_at > 0.0);
        // A file caught mid-write once is no alarm; another file differing next time neither.
        assert_eq!(step(&mut c, Some(&a_differs)), Some(true));
        assert_eq!(step(&mut c, Some(&b_differs)), Some(true));
        // The same path twice in a row is.
        assert_eq!(step(&mut c, Some(&b_differs)), Some(false));
        assert_eq!(c.shared.lock_or_recover().last_success, synced_at);
        assert_eq!(step(&mut c, Some(&same)), Some(true), "clears by itself");
        // One failed fetch is not an alarm, two are, and no check_success 1 is left behind.
        assert_eq!(step(&mut c, None), Some(true));
        assert_eq!(c.shared.lock_or_recover().check_success, Some(false));
        assert_eq!(step(&mut c, None), Some(false));
        assert_eq!(step(&mut c, Some(&same)), Some(true));
        let audit = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap();
        assert_eq!(
            audit.lines().count(),
            2,
            "one record per new set of paths: {audit}"
        );
        assert!(
            audit.contains("\"/conf/a\"") && audit.contains("content_differs"),
            "{audit}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
