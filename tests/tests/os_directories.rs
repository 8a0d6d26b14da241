//! os-exporter's directory watch (`os_directory_file_changed`, document 001 §2.1) on the real
//! binary and real files in the test's own directory: an added file, a rewrite that keeps the
//! size and mtime (the hash sees it), a chmod, an atomic replace (a temporary file renamed over
//! the original) and a removal each count once and are named in the audit journal; a change
//! made while the exporter is stopped is found after a restart; a missing directory is reported
//! as such; a corrupt baseline is set aside with a log line; a directory the exporter's user
//! cannot read fails the collector (never "no change") while the rest of the scrape is served.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, SystemTime};

use suite_tests::exporter::{Exporter, sample_value, wait_sample};
use suite_tests::process::run_ok;
use suite_tests::{TempDir, read_text, wait_until};

const WAIT: Duration = Duration::from_secs(15);

/// Writes the test's config: the ping collector off, the journal and the baseline in `dir`,
/// passes every 200 ms over `paths`.
fn config(dir: &Path, paths: &[&Path]) -> String {
    let cfg = dir.join("os.toml");
    let paths: Vec<String> = paths
        .iter()
        .map(|p| format!("{:?}", p.to_str().unwrap()))
        .collect();
    std::fs::write(
        &cfg,
        format!(
            "[collectors]\ndisabled = [\"ping\"]\n\n[audit]\npath = {:?}\n\n[directories]\npaths = [{}]\nstate_file = {:?}\ninterval = \"200ms\"\n",
            dir.join("audit.jsonl").to_str().unwrap(),
            paths.join(", "),
            dir.join("state/directories.json").to_str().unwrap(),
        ),
    )
    .unwrap();
    format!("--config.file={}", cfg.display())
}

/// Starts os-exporter (under `wrapper`, e.g. `setpriv`), its log in `dir/<log>`.
fn start(dir: &Path, wrapper: &[&str], cfg: &str, log: &str) -> Exporter {
    let mut w = vec!["env"];
    w.extend(wrapper);
    Exporter::start_under(
        &w,
        "os-exporter",
        &[cfg, "--log.level=debug"],
        &dir.join(log),
    )
}

fn changes(os: &Exporter, dir: &Path, kind: &str, want: f64) -> String {
    let d = dir.to_str().unwrap();
    wait_sample(
        &format!("os_directory_changes_total{{kind={kind:?}}} to reach {want}"),
        WAIT,
        || os.scrape(),
        "os_directory_changes_total",
        &[("directory", d), ("kind", kind)],
        |v| v == want,
    )
}

/// The `changed` attributes of the last audit record naming `name` as modified.
fn last_modified(dir: &Path, name: &str) -> Vec<String> {
    wait_until("the audit record", WAIT, || {
        let text = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap_or_default();
        text.lines()
            .rev()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|r| r["check"] == "directory_changed")
            .find_map(|r| {
                r["evidence"]["modified"]
                    .as_array()?
                    .iter()
                    .find(|m| m["path"] == name)
                    .map(|m| {
                        m["changed"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|c| c.as_str().unwrap().to_owned())
                            .collect()
                    })
            })
    })
}

fn audit_mentions(dir: &Path, list: &str, name: &str) -> bool {
    std::fs::read_to_string(dir.join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .any(|r| {
            r["evidence"][list]
                .as_array()
                .is_some_and(|a| a.iter().any(|n| n == name))
        })
}

#[test]
fn each_kind_of_change_counts_once_and_a_restart_keeps_the_baseline() {
    let tmp = TempDir::new("os-directories");
    let dir = tmp.path();
    let watched = dir.join("watched");
    std::fs::create_dir_all(&watched).unwrap();
    let conf = watched.join("app.conf");
    std::fs::write(&conf, "Port 22\n").unwrap();
    let cfg = config(dir, &[&watched]);
    let os = start(dir, &[], &cfg, "os.log");
    let w = watched.to_str().unwrap();
    wait_sample(
        "the baseline",
        WAIT,
        || os.scrape(),
        "os_directory_entries",
        &[("directory", w)],
        |v| v == 1.0,
    );
    let s = os.scrape();
    assert_eq!(
        sample_value(
            &s,
            "os_directory_last_change_timestamp_seconds",
            &[("directory", w)]
        ),
        Some(0.0)
    );

    // Added.
    std::fs::write(watched.join("new.conf"), "x\n").unwrap();
    changes(&os, &watched, "added", 1.0);
    assert!(audit_mentions(dir, "added", "new.conf"));

    // Same size, mtime put back: only the content (and ctime, which no one can set) differ.
    let mtime = std::fs::metadata(&conf).unwrap().modified().unwrap();
    std::fs::write(&conf, "Port 23\n").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&conf)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(std::fs::metadata(&conf).unwrap().modified().unwrap(), mtime);
    changes(&os, &watched, "modified", 1.0);
    let changed = last_modified(dir, "app.conf");
    assert!(
        changed.contains(&"sha256".to_owned())
            && !changed.contains(&"size".to_owned())
            && !changed.contains(&"mtime".to_owned()),
        "{changed:?}"
    );

    // chmod.
    run_ok(&["chmod", "600", conf.to_str().unwrap()]);
    changes(&os, &watched, "modified", 2.0);
    assert!(last_modified(dir, "app.conf").contains(&"mode".to_owned()));

    // Atomic replace: written beside, renamed over it (what vim, sed -i and packagers do).
    let staged = dir.join("app.conf.tmp");
    std::fs::write(&staged, "Port 24\n").unwrap();
    std::fs::rename(&staged, &conf).unwrap();
    changes(&os, &watched, "modified", 3.0);
    assert!(last_modified(dir, "app.conf").contains(&"inode".to_owned()));

    // Removed.
    std::fs::remove_file(watched.join("new.conf")).unwrap();
    let s = changes(&os, &watched, "removed", 1.0);
    assert!(audit_mentions(dir, "removed", "new.conf"));
    let last = sample_value(
        &s,
        "os_directory_last_change_timestamp_seconds",
        &[("directory", w)],
    )
    .unwrap();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - 60.0..=now + 1.0).contains(&last), "{last} vs {now}");
    assert_eq!(
        sample_value(
            &s,
            "os_audit_records_total",
            &[("check", "directory_changed")]
        ),
        Some(5.0),
        "{s}"
    );
    assert_eq!(os.terminate(), Some(0));

    // Made while the exporter is down: seen by the first pass after the restart, counted on top
    // of the persisted counts.
    let mode = std::fs::metadata(dir.join("state/directories.json")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );
    std::fs::write(watched.join("while-down.conf"), "y\n").unwrap();
    let os = start(dir, &[], &cfg, "os2.log");
    changes(&os, &watched, "added", 2.0);
    let s = os.scrape();
    assert_eq!(
        sample_value(
            &s,
            "os_directory_changes_total",
            &[("directory", w), ("kind", "modified")]
        ),
        Some(3.0)
    );
    assert!(audit_mentions(dir, "added", "while-down.conf"));
}

#[test]
fn a_missing_directory_is_reported_and_a_corrupt_baseline_set_aside() {
    let tmp = TempDir::new("os-directories-missing");
    let dir = tmp.path();
    let present = dir.join("present");
    let missing = dir.join("missing");
    std::fs::create_dir_all(&present).unwrap();
    std::fs::create_dir_all(dir.join("state")).unwrap();
    std::fs::write(
        dir.join("state/directories.json"),
        b"{\"version\":1,\"direc",
    )
    .unwrap();
    let cfg = config(dir, &[&present, &missing]);
    let os = start(dir, &[], &cfg, "os.log");
    // The corrupt file fails the first pass; the fresh baseline written then serves the next.
    let s = wait_sample(
        "the fresh baseline",
        WAIT,
        || os.scrape(),
        "os_scrape_collector_success",
        &[("collector", "directories")],
        |v| v == 1.0,
    );
    let m = missing.to_str().unwrap();
    assert_eq!(
        sample_value(&s, "os_directory_exists", &[("directory", m)]),
        Some(0.0),
        "{s}"
    );
    assert_eq!(
        sample_value(
            &s,
            "os_directory_exists",
            &[("directory", present.to_str().unwrap())]
        ),
        Some(1.0)
    );
    assert!(dir.join("state/directories.json.corrupt").exists());
    // It appears: its entries are added.
    std::fs::create_dir_all(&missing).unwrap();
    std::fs::write(missing.join("x"), "").unwrap();
    changes(&os, &missing, "added", 1.0);
    drop(os);
    let log = read_text(&dir.join("os.log"));
    assert!(
        log.contains("is corrupt") && log.contains("directories.json.corrupt"),
        "{log}"
    );
    assert!(log.contains(&format!("{m} does not exist")), "{log}");
}

#[test]
fn an_unreadable_directory_fails_the_collector_not_the_scrape() {
    let tmp = TempDir::new("os-directories-nobody");
    let dir = tmp.path();
    let locked = dir.join("locked");
    std::fs::create_dir_all(&locked).unwrap();
    std::fs::write(locked.join("secret"), "").unwrap();
    std::fs::create_dir_all(dir.join("state")).unwrap();
    let cfg = config(dir, &[&locked]);
    // nobody reads the config and writes its baseline; the watched directory stays root's 0700.
    run_ok(&["chmod", "-R", "a+rX", dir.to_str().unwrap()]);
    run_ok(&["chmod", "777", dir.join("state").to_str().unwrap()]);
    run_ok(&["chmod", "700", locked.to_str().unwrap()]);
    let os = start(
        dir,
        &[
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--",
        ],
        &cfg,
        "os.log",
    );
    let s = wait_sample(
        "the failed pass",
        WAIT,
        || os.scrape(),
        "os_directories_last_run_success",
        &[],
        |v| v == 0.0,
    );
    let s = if sample_value(
        &s,
        "os_scrape_collector_success",
        &[("collector", "directories")],
    ) == Some(0.0)
    {
        s
    } else {
        os.scrape()
    };
    assert_eq!(
        sample_value(
            &s,
            "os_scrape_collector_success",
            &[("collector", "directories")]
        ),
        Some(0.0),
        "{s}"
    );
    assert_eq!(
        sample_value(
            &s,
            "os_scrape_collector_success",
            &[("collector", "loadavg")]
        ),
        Some(1.0),
        "{s}"
    );
    assert!(
        !s.contains("os_directory_changes_total{"),
        "no counts while it cannot be read:\n{s}"
    );
    drop(os);
    let log = read_text(&dir.join("os.log"));
    let l = locked.to_str().unwrap();
    assert!(
        log.contains(&format!("directory {l}: opening it: Permission denied")),
        "{log}"
    );
}
