//! `junk`: zero-size, mode-000 `sed*` files (leftovers of `sed -i` that the HA sync cannot
//! read), searched as procedure steps 10-11 do (`find /srv/BigData/ /opt -name "sed*"`), in a
//! background walk bounded in entries; the count is served, the paths go to the audit journal.

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::audit::{AuditJournal, AuditRecord};
use common::registry::Background;
use common::{
    Build, CollectError, Collector, CollectorDef, Job, MetricSet, MutexExt as _, ScrapeContext,
};

use crate::FlinkSyncExporter;

/// What one search found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// Junk files, as the node names them.
    pub(crate) paths: BTreeSet<String>,
    /// Other `sed*` files (not junk: size or mode say so), as `ll` shows them, at most
    /// [`OTHERS_KEPT`]: step 10 lists every `sed*` file, step 11 tells junk from the rest.
    pub(crate) others: BTreeSet<String>,
    /// Whether the search stopped at its bound.
    pub(crate) truncated: bool,
}

/// Non-junk `sed*` files kept per search.
pub(crate) const OTHERS_KEPT: usize = 20;

/// `ll`'s permission column for `mode`, e.g. `-rw-r--r--`.
pub(crate) fn mode_text(mode: u32) -> String {
    let mut s = String::from("-");
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 0o7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// Whether a file is the document's junk: name `sed*`, regular, size 0, permissions `---------`.
pub(crate) fn is_junk(name: &[u8], meta: &std::fs::Metadata) -> bool {
    name.starts_with(b"sed") && meta.is_file() && meta.size() == 0 && meta.mode() & 0o777 == 0
}

/// Searches `roots` (under `rootfs`) visiting at most `max_entries` entries; symlinks are not
/// followed and no filesystem is entered twice through a bind mount.
pub(crate) fn search(rootfs: &Path, roots: &[String], max_entries: usize) -> Found {
    let mut found = Found::default();
    let mut visited = 0usize;
    let mut dirs_seen = std::collections::HashSet::new();
    for root in roots {
        let mut stack = vec![rootfs.join(root.trim_start_matches('/'))];
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for child in rd.flatten() {
                visited += 1;
                if visited > max_entries {
                    found.truncated = true;
                    return found;
                }
                let Ok(meta) = child.metadata() else { continue };
                if meta.is_dir() {
                    if dirs_seen.insert((meta.dev(), meta.ino())) {
                        stack.push(child.path());
                    }
                } else if child.file_name().as_bytes().starts_with(b"sed") {
                    let p = child.path();
                    let shown = p
                        .strip_prefix(rootfs)
                        .map_or_else(|_| p.display().to_string(), |r| format!("/{}", r.display()));
                    if is_junk(child.file_name().as_bytes(), &meta) {
                        found.paths.insert(shown);
                    } else if meta.is_file() && found.others.len() < OTHERS_KEPT {
                        found.others.insert(format!(
                            "{} {} {shown}",
                            mode_text(meta.mode()),
                            meta.size()
                        ));
                    }
                }
            }
        }
    }
    found
}

/// The latest search.
#[derive(Debug, Default)]
struct Latest {
    found: Option<Found>,
}

struct Serve(Arc<Mutex<Latest>>);

impl Collector for Serve {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut m = MetricSet::new();
        if let Some(f) = &self.0.lock_or_recover().found {
            m.add(&JUNK, &[], f.paths.len() as f64);
            m.add(&TRUNCATED, &[], f64::from(u8::from(f.truncated)));
        }
        Ok(m)
    }
}

fn run(
    rootfs: &Path,
    roots: &[String],
    max: usize,
    audit: &AuditJournal,
    latest: &Mutex<Latest>,
) -> Result<(), String> {
    let found = search(rootfs, roots, max);
    let changed = latest
        .lock_or_recover()
        .found
        .as_ref()
        .is_none_or(|old| old.paths != found.paths);
    if changed && !found.paths.is_empty() {
        for p in found.paths.iter().take(10) {
            log::warn!("junk file (size 0, mode 000) the HA sync cannot read: {p:?}");
        }
        audit
            .write(&AuditRecord {
                check: "junk_files".to_owned(),
                threshold: "0 zero-size mode-000 sed* files".to_owned(),
                observed: found.paths.len() as f64,
                evidence: serde_json::json!({
                    "roots": roots,
                    "paths": found.paths.iter().take(200).collect::<Vec<_>>(),
                    "truncated": found.truncated,
                }),
            })
            .map_err(|e| e.to_string())?;
    }
    latest.lock_or_recover().found = Some(found);
    Ok(())
}

const JUNK: common::Desc = common::Desc::gauge(
    "flink_sync_junk_files",
    "1",
    "Zero-size sed* files with mode 000 under the junk roots (procedure steps 10-11); paths in the audit journal.",
);
const TRUNCATED: common::Desc = common::Desc::gauge(
    "flink_sync_junk_search_truncated",
    "1",
    "Whether the last junk search stopped at junk_max_entries (its count is then a lower bound).",
);

/// Registry entry: `flink_sync_scrape_collector_success{collector="junk"}`.
pub(crate) const DEF: CollectorDef<FlinkSyncExporter> = CollectorDef {
    name: "junk",
    enabled_by_default: true,
    file: file!(),
    metrics: &[JUNK, TRUNCATED],
    build: Build::Background(|e| {
        let latest = Arc::new(Mutex::new(Latest::default()));
        let (rootfs, roots, max) = (
            PathBuf::from(&e.paths.rootfs),
            e.cfg.junk_roots.clone(),
            e.cfg.junk_max_entries,
        );
        let audit = Arc::clone(&e.audit);
        let l = Arc::clone(&latest);
        Ok(Some(Background {
            job: Job::new("junk_search", e.cfg.junk_interval, move || {
                Ok(run(&rootfs, &roots, max, &audit, &l)?)
            }),
            serve: Box::new(Serve(latest)),
        }))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn only_zero_size_mode_000_sed_files_are_junk_and_the_search_is_bounded() {
        let d = std::env::temp_dir().join(format!("flink-junk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("opt/a/b")).unwrap();
        let mk = |p: &str, body: &[u8], mode: u32| {
            std::fs::write(d.join(p), body).unwrap();
            std::fs::set_permissions(d.join(p), std::fs::Permissions::from_mode(mode)).unwrap();
        };
        mk("opt/a/b/sed123", b"", 0o000);
        mk("opt/a/sedXYZ", b"x", 0o000);
        mk("opt/a/sed9", b"", 0o644);
        mk("opt/notsed", b"", 0o000);
        std::os::unix::fs::symlink(d.join("opt"), d.join("opt/a/loop")).unwrap();
        let f = search(&d, &["/opt".into()], 100);
        assert_eq!(
            f.paths.into_iter().collect::<Vec<_>>(),
            vec!["/opt/a/b/sed123"]
        );
        assert!(!f.truncated);
        // Step 10 lists every sed* file as `ll` shows it; only the empty mode-000 one is junk.
        assert_eq!(
            f.others.into_iter().collect::<Vec<_>>(),
            vec!["---------- 1 /opt/a/sedXYZ", "-rw-r--r-- 0 /opt/a/sed9"]
        );
        assert_eq!(mode_text(0o750), "-rwxr-x---");
        assert!(search(&d, &["/opt".into()], 2).truncated);
        let _ = std::fs::remove_dir_all(&d);
    }
}
