//! Directory change detection (document 001 §2.1 os_directory_file_changed): the `directories`
//! background job.
//!
//! A pass, on the job's own interval and never at scrape time: read the manifest of each
//! configured directory ([`manifest`]), compare it with the persisted baseline ([`diff`]),
//! count the changes, write one audit record per changed directory naming what was added,
//! removed or modified and how, make this pass the new baseline and save it
//! ([`baseline`], `common::state_file`), and publish the result for the `directories` collector.
//! A periodic manifest rather than inotify: an atomic replace kills a file watch, events are
//! lost while the exporter is down, and a persisted manifest sees both (research §10).

pub mod baseline;
pub(crate) mod diff;
pub(crate) mod manifest;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use common::audit::{AuditJournal, AuditRecord};
use common::state_file::{self, StateFileError};
use common::{Latest, SysPaths};
use serde_json::json;

use self::baseline::{Baseline, DirBaseline};
use self::diff::Changes;
use self::manifest::{Limits, Scan};
use crate::config::DirectoriesConfig;

/// The audit check a pass with changes writes.
pub(crate) const AUDIT_CHECK: &str = "directory_changed";

/// What the last pass says about one directory.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DirReport {
    /// The configured path (the `directory` label).
    pub(crate) directory: String,
    /// Whether it exists.
    pub(crate) exists: bool,
    /// Entries watched.
    pub(crate) entries: usize,
    /// Entries beyond `max_entries`.
    pub(crate) over_limit: usize,
    /// Changes counted since the baseline was first recorded.
    pub(crate) changes: baseline::Counts,
    /// When a pass last found a change (seconds since the epoch), 0 = never.
    pub(crate) last_change: f64,
}

/// What the last pass found.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Report {
    /// The directories read, in configured order.
    pub(crate) directories: Vec<DirReport>,
    /// Why the pass is not to be trusted (an unreadable directory, a corrupt or unreadable
    /// state file); the collector then fails with these.
    pub(crate) errors: Vec<String>,
}

/// The job's state between passes.
pub(crate) struct Watcher {
    paths: SysPaths,
    cfg: DirectoriesConfig,
    journal: Arc<AuditJournal>,
    latest: Latest<Report>,
    /// `None` until the state file has been read.
    baseline: Option<Baseline>,
    /// False under `diagnose`: the running exporter owns the state file, so it is read, never
    /// written or moved aside.
    persist: bool,
}

impl Watcher {
    /// A job publishing to `latest` and auditing to `journal`.
    pub(crate) fn new(
        paths: SysPaths,
        cfg: DirectoriesConfig,
        journal: Arc<AuditJournal>,
        latest: Latest<Report>,
    ) -> Self {
        Self {
            paths,
            cfg,
            journal,
            latest,
            baseline: None,
            persist: true,
        }
    }

    /// A watcher that reads the state file but never writes it (for `diagnose`).
    pub(crate) fn read_only(mut self) -> Self {
        self.persist = false;
        self
    }

    /// One pass; fails when a directory or the state file could not be read, the baseline
    /// could not be saved, or an audit record could not be written.
    pub(crate) fn run_once(&mut self) -> Result<(), String> {
        let mut errors = Vec::new();
        let (mut base, set_aside) = match self.baseline.take() {
            Some(b) => (b, None),
            None => match self.load() {
                Ok(b) => b,
                Err(e) => {
                    // Unreadable (not corrupt): try again next pass, never overwrite it blind.
                    self.latest.publish(Report {
                        directories: Vec::new(),
                        errors: vec![e.clone()],
                    });
                    return Err(e);
                }
            },
        };
        errors.extend(set_aside);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let limits = Limits {
            hash_max_bytes: self.cfg.hash_max_bytes,
            max_entries: self.cfg.max_entries,
        };
        let mut report = Report::default();
        let mut records = Vec::new();
        let mut next = Baseline::default();
        for dir in &self.cfg.paths {
            let previous = base.directories.remove(dir);
            let scan = match manifest::scan(&self.paths.root(dir.trim_start_matches('/')), limits) {
                Ok(s) => s,
                Err(e) => {
                    // Keep the old baseline: what changed is found once the directory reads again.
                    errors.push(e.to_string());
                    if let Some(p) = previous {
                        next.directories.insert(dir.clone(), p);
                    }
                    continue;
                }
            };
            let (exists, entries, over_limit) = match scan {
                Scan::Missing => (false, Default::default(), 0),
                Scan::Present {
                    entries,
                    over_limit,
                } => (true, entries, over_limit),
            };
            let mut d = match previous {
                Some(mut p) => {
                    let changes = diff::diff(&p.entries, &entries);
                    if p.exists != exists {
                        log::info!(
                            "directories: {dir} {}",
                            if exists {
                                "now exists"
                            } else {
                                "no longer exists"
                            }
                        );
                    }
                    if changes.total() > 0 {
                        p.changes.added =
                            p.changes.added.saturating_add(changes.added.len() as u64);
                        p.changes.removed = p
                            .changes
                            .removed
                            .saturating_add(changes.removed.len() as u64);
                        p.changes.modified = p
                            .changes
                            .modified
                            .saturating_add(changes.modified.len() as u64);
                        p.last_change = now;
                        records.push(self.record(dir, &changes));
                    }
                    p
                }
                None => {
                    // The first pass over a directory records its baseline: nothing to compare.
                    if exists {
                        log::info!(
                            "directories: recording the baseline of {dir} ({} entries)",
                            entries.len()
                        );
                    } else {
                        log::info!(
                            "directories: {dir} does not exist; os_directory_exists is 0 and its appearance will count as added entries"
                        );
                    }
                    DirBaseline::default()
                }
            };
            d.exists = exists;
            d.entries = entries;
            report.directories.push(DirReport {
                directory: dir.clone(),
                exists,
                entries: d.entries.len(),
                over_limit,
                changes: d.changes,
                last_change: d.last_change,
            });
            next.directories.insert(dir.clone(), d);
        }
        report.errors = errors.clone();
        // Unsaved, the baseline still holds in memory and the counts are right; only a restart
        // would forget it, so the job fails (and logs) but the collector serves.
        if self.persist
            && let Err(e) = state_file::save(&self.cfg.state_file, &next)
        {
            errors.push(format!(
                "{e} (the baseline is kept in memory until a save succeeds)"
            ));
        }
        self.baseline = Some(next);
        self.latest.publish(report);
        for r in &records {
            if let Err(e) = self.journal.write(r) {
                errors.push(e.to_string());
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// The baseline from the state file, with the reason it was set aside when it was corrupt;
    /// `Err` when the file exists but cannot be read.
    fn load(&self) -> Result<(Baseline, Option<String>), String> {
        let path = &self.cfg.state_file;
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                log::info!(
                    "directories: no baseline at {} yet; this pass records one",
                    path.display()
                );
                return Ok((Baseline::default(), None));
            }
            Err(source) => {
                return Err(StateFileError::Io {
                    path: path.clone(),
                    op: "reading",
                    source,
                }
                .to_string());
            }
        };
        match baseline::decode(&bytes) {
            Ok(b) => Ok((b, None)),
            Err(e) => {
                // Kept for a look, never silently dropped; a fresh baseline starts now.
                let aside = corrupt_path(path);
                let moved = if self.persist {
                    std::fs::rename(path, &aside)
                        .map(|()| format!("moved to {}", aside.display()))
                        .unwrap_or_else(|e| format!("could not be moved aside: {e}"))
                } else {
                    "left in place (read-only run)".to_owned()
                };
                let msg = format!(
                    "state file {} is corrupt ({e}); {moved}; a fresh baseline is recorded and changes made before this pass are not reported",
                    path.display()
                );
                log::error!("directories: {msg}");
                Ok((Baseline::default(), Some(msg)))
            }
        }
    }

    /// The audit record of one changed directory, its path lists capped.
    fn record(&self, dir: &str, c: &Changes) -> AuditRecord {
        let max = self.cfg.max_audit_paths;
        let capped = |v: &[String]| v.iter().take(max).cloned().collect::<Vec<_>>();
        AuditRecord {
            check: AUDIT_CHECK.to_owned(),
            threshold: "any change".to_owned(),
            observed: c.total() as f64,
            evidence: json!({
                "directory": dir,
                "added": capped(&c.added),
                "removed": capped(&c.removed),
                "modified": c.modified.iter().take(max).collect::<Vec<_>>(),
                "counts": {
                    "added": c.added.len(),
                    "removed": c.removed.len(),
                    "modified": c.modified.len(),
                },
                "max_paths_listed": max,
            }),
        }
    }
}

/// Where a corrupt state file is moved: beside it, `.corrupt` appended.
fn corrupt_path(path: &std::path::Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".corrupt");
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt as _;
    use std::path::Path;

    /// A watcher of `<tmp>/watched` (as `/watched` under the root `<tmp>`), its state in `<tmp>/state`.
    fn watcher(root: &Path) -> (Watcher, Latest<Report>, Arc<AuditJournal>) {
        let journal = Arc::new(AuditJournal::new(
            common::audit::AuditConfig::default(),
            &root.join("state/audit.jsonl"),
        ));
        journal.declare_checks(&[AUDIT_CHECK]);
        let latest = Latest::new();
        let cfg = DirectoriesConfig {
            paths: vec!["/watched".to_owned(), "/absent".to_owned()],
            state_file: root.join("state/directories.json"),
            ..DirectoriesConfig::default()
        };
        let w = Watcher::new(
            SysPaths::fixture(root),
            cfg,
            Arc::clone(&journal),
            latest.clone(),
        );
        (w, latest, journal)
    }

    fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("os-directories-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(d.join("watched")).unwrap();
        d
    }

    fn dir<'a>(r: &'a Report, name: &str) -> &'a DirReport {
        r.directories.iter().find(|d| d.directory == name).unwrap()
    }

    fn journal_lines(root: &Path) -> Vec<serde_json::Value> {
        fs::read_to_string(root.join("state/audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn add_chmod_replace_and_remove_each_count_and_are_audited() {
        let root = temp("counts");
        let w_dir = root.join("watched");
        fs::write(w_dir.join("sshd_config"), "Port 22\n").unwrap();
        let (mut w, latest, _j) = watcher(&root);
        w.run_once().unwrap();
        let r = latest.get().unwrap();
        assert_eq!(dir(&r, "/watched").entries, 1);
        assert_eq!(dir(&r, "/watched").changes, baseline::Counts::default());
        assert_eq!(dir(&r, "/watched").last_change, 0.0);
        assert!(!dir(&r, "/absent").exists);
        assert!(
            journal_lines(&root).is_empty(),
            "the first pass only records"
        );

        fs::write(w_dir.join("new"), "x").unwrap();
        fs::set_permissions(w_dir.join("sshd_config"), fs::Permissions::from_mode(0o600)).unwrap();
        w.run_once().unwrap();
        fs::write(w_dir.join(".tmp"), "Port 2222\n").unwrap();
        fs::rename(w_dir.join(".tmp"), w_dir.join("sshd_config")).unwrap();
        fs::remove_file(w_dir.join("new")).unwrap();
        w.run_once().unwrap();
        let r = latest.get().unwrap();
        let d = dir(&r, "/watched");
        assert_eq!(
            (d.changes.added, d.changes.removed, d.changes.modified),
            (1, 1, 2)
        );
        assert!(d.last_change > 0.0);
        let records = journal_lines(&root);
        assert_eq!(records.len(), 2);
        let ev = &records[1]["evidence"];
        assert_eq!(ev["directory"], "/watched");
        assert_eq!(ev["removed"][0], "new");
        let changed = ev["modified"][0]["changed"].as_array().unwrap();
        assert!(changed.iter().any(|c| c == "inode"), "{changed:?}");
        let chmod = records[0]["evidence"]["modified"][0]["changed"]
            .as_array()
            .unwrap();
        assert!(chmod.iter().any(|c| c == "mode"), "{chmod:?}");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_restart_keeps_the_baseline_and_the_counts() {
        let root = temp("restart");
        fs::write(root.join("watched/a"), "1").unwrap();
        let (mut w, _, _) = watcher(&root);
        w.run_once().unwrap();
        fs::write(root.join("watched/b"), "2").unwrap();
        w.run_once().unwrap();
        drop(w);
        // Made while the exporter is down.
        fs::remove_file(root.join("watched/a")).unwrap();
        let (mut w, latest, _) = watcher(&root);
        w.run_once().unwrap();
        let r = latest.get().unwrap();
        let d = dir(&r, "/watched");
        assert_eq!((d.changes.added, d.changes.removed), (1, 1));
        let mode = fs::metadata(root.join("state/directories.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_corrupt_state_file_is_set_aside_reported_once_and_a_fresh_baseline_starts() {
        let root = temp("corrupt");
        fs::create_dir_all(root.join("state")).unwrap();
        fs::write(
            root.join("state/directories.json"),
            "{\"version\": 1, \"dir",
        )
        .unwrap();
        let (mut w, latest, _) = watcher(&root);
        let e = w.run_once().unwrap_err();
        assert!(
            e.contains("is corrupt") && e.contains("directories.json.corrupt"),
            "{e}"
        );
        assert_eq!(latest.get().unwrap().errors.len(), 1);
        assert!(root.join("state/directories.json.corrupt").exists());
        w.run_once().unwrap();
        assert!(latest.get().unwrap().errors.is_empty());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_directory_that_appears_counts_its_entries_as_added() {
        let root = temp("appears");
        let (mut w, latest, _) = watcher(&root);
        w.run_once().unwrap();
        fs::create_dir(root.join("absent")).unwrap();
        fs::write(root.join("absent/x"), "").unwrap();
        w.run_once().unwrap();
        let r = latest.get().unwrap();
        assert!(dir(&r, "/absent").exists);
        assert_eq!(dir(&r, "/absent").changes.added, 1);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_path_that_is_not_a_directory_fails_the_pass_and_keeps_its_baseline() {
        let root = temp("notdir");
        fs::write(root.join("watched/a"), "").unwrap();
        let (mut w, latest, _) = watcher(&root);
        w.run_once().unwrap();
        fs::remove_dir_all(root.join("watched")).unwrap();
        fs::write(root.join("watched"), "").unwrap();
        let e = w.run_once().unwrap_err();
        assert!(e.contains("not a directory"), "{e}");
        let r = latest.get().unwrap();
        assert_eq!(r.errors.len(), 1);
        assert!(r.directories.iter().all(|d| d.directory != "/watched"));
        assert!(
            w.baseline.as_ref().unwrap().directories["/watched"]
                .entries
                .contains_key("a")
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn an_unsaved_baseline_fails_the_job_but_is_served_and_kept_in_memory() {
        let root = temp("unsaved");
        let (mut w, latest, _) = watcher(&root);
        w.run_once().unwrap();
        // A regular file where the state directory should be: no save can succeed.
        fs::write(root.join("blocker"), "").unwrap();
        w.cfg.state_file = root.join("blocker/directories.json");
        fs::write(root.join("watched/new"), "").unwrap();
        let e = w.run_once().unwrap_err();
        assert!(e.contains("kept in memory"), "{e}");
        let r = latest.get().unwrap();
        assert!(r.errors.is_empty(), "the collector still serves");
        assert_eq!(dir(&r, "/watched").changes.added, 1);
        // The next pass compares with the in-memory baseline: nothing counted twice.
        let _ = w.run_once();
        assert_eq!(dir(&latest.get().unwrap(), "/watched").changes.added, 1);
        fs::remove_dir_all(&root).unwrap();
    }
}
