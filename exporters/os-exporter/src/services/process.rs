//! Services without systemd (containers, SysV init): one walk of the process table for all of
//! them, and their pid files. Running = a live process of the service's name (sshd's session
//! processes left out), or the pid file's live process of that name. A pid file naming a pid
//! that is gone is kept as evidence: the daemon died without cleaning up.

use common::SysPaths;
use common::proc_table::{Snapshot, read_cmdline};
use serde_json::json;

use super::{Spec, Status};
use crate::process_table::read_pid_file;

/// Most processes of one service listed in the evidence.
const MAX_LISTED: usize = 10;

/// One live process the walk kept: its pid, name and command line (NULs as spaces).
#[derive(Debug, Clone)]
struct Seen {
    pid: u32,
    comm: String,
    cmdline: String,
}

/// Whether `cmdline` is one of the service's same-named helpers rather than the daemon.
fn ignored(spec: &Spec, cmdline: &str) -> bool {
    spec.ignore_cmdline.iter().any(|r| r.is_match(cmdline))
}

/// The status of every spec from `table`; only the command lines of processes with a
/// watched name are read.
pub(crate) fn check(paths: &SysPaths, specs: &[Spec], table: &Snapshot) -> Vec<Status> {
    let seen: Vec<Seen> = table
        .processes
        .iter()
        .filter(|p| p.is_alive())
        .filter(|p| specs.iter().any(|s| s.processes.contains(&p.comm)))
        .map(|p| Seen {
            pid: p.pid,
            comm: p.comm.clone(),
            // Gone since the walk: an empty command line, so no ignore pattern drops it.
            cmdline: read_cmdline(paths, p.pid)
                .map(|c| {
                    String::from_utf8_lossy(&c)
                        .replace('\0', " ")
                        .trim_end()
                        .to_owned()
                })
                .unwrap_or_default(),
        })
        .collect();
    specs.iter().map(|s| status(paths, s, &seen)).collect()
}

fn status(paths: &SysPaths, spec: &Spec, seen: &[Seen]) -> Status {
    let daemons: Vec<&Seen> = seen
        .iter()
        .filter(|p| spec.processes.contains(&p.comm) && !ignored(spec, &p.cmdline))
        .collect();
    let mut pid_files = Vec::new();
    let mut from_pid_file: Option<(String, u32)> = None;
    let mut stale: Option<String> = None;
    for f in &spec.pid_files {
        let Some(read) = read_pid_file(paths, f) else {
            continue;
        };
        let shown = f.display().to_string();
        match read {
            Ok(pid) => {
                let alive = daemons.iter().any(|d| d.pid == pid);
                pid_files.push(json!({"file": shown, "pid": pid, "process_running": alive}));
                if alive {
                    from_pid_file.get_or_insert((shown, pid));
                } else {
                    stale.get_or_insert(shown);
                }
            }
            Err(e) => {
                pid_files.push(json!({"file": shown, "error": e}));
                stale.get_or_insert(shown);
            }
        }
    }
    let processes: Vec<serde_json::Value> = daemons
        .iter()
        .take(MAX_LISTED)
        .map(|d| json!({"pid": d.pid, "comm": d.comm, "cmdline": d.cmdline}))
        .collect();
    let evidence = json!({
        "looked_for": spec.processes,
        "processes": processes,
        "pid_files": pid_files,
    });
    let (abnormal, found, active, sub) = match (from_pid_file, daemons.first(), stale) {
        (Some((file, _)), _, _) => (false, file, "active", "running"),
        (None, Some(d), _) => (false, d.comm.clone(), "active", "running"),
        (None, None, Some(file)) => (true, file, "inactive", "stale-pid-file"),
        (None, None, None) => (true, String::new(), "inactive", "not-found"),
    };
    Status {
        name: spec.name,
        abnormal,
        source: "process",
        found,
        active_state: active.to_owned(),
        sub_state: sub.to_owned(),
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        super::super::specs(&crate::config::ServicesConfig::default())
            .unwrap()
            .into_iter()
            .find(|s| s.name == "sshd")
            .unwrap()
    }

    fn seen(pid: u32, cmdline: &str) -> Seen {
        Seen {
            pid,
            comm: "sshd".to_owned(),
            cmdline: cmdline.to_owned(),
        }
    }

    #[test]
    fn sessions_of_a_dead_listener_do_not_count_and_a_stale_pid_file_is_named() {
        let dir = suite_tests::TempDir::new("svc-proc");
        std::fs::create_dir_all(dir.path().join("run")).unwrap();
        std::fs::write(dir.path().join("run/sshd.pid"), "4242\n").unwrap();
        let paths = SysPaths::fixture(dir.path());
        let sessions = [
            seen(10, "sshd: root@pts/0"),
            seen(11, "sshd: root [priv]"),
            seen(12, "sshd: [accepted]"),
        ];
        let s = status(&paths, &spec(), &sessions);
        assert!(s.abnormal);
        assert_eq!(
            (s.found.as_str(), s.sub_state.as_str()),
            ("/run/sshd.pid", "stale-pid-file")
        );
        assert_eq!(s.evidence["pid_files"][0]["process_running"], false);
        // The listener (OpenSSH 8.x and later set its title) under the pid file's pid.
        let mut all = sessions.to_vec();
        all.push(seen(
            4242,
            "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
        ));
        let s = status(&paths, &spec(), &all);
        assert!(!s.abnormal);
        assert_eq!(s.found, "/run/sshd.pid");
        // An old listener title, no pid file.
        std::fs::remove_file(dir.path().join("run/sshd.pid")).unwrap();
        let s = status(&paths, &spec(), &[seen(7, "/usr/sbin/sshd -D")]);
        assert_eq!((s.abnormal, s.found.as_str()), (false, "sshd"));
        let s = status(&paths, &spec(), &[]);
        assert_eq!((s.abnormal, s.sub_state.as_str()), (true, "not-found"));
    }
}
