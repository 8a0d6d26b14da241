//! Whether the `ic-server` process runs on this host: the document's `ps -ef | grep ic-server`,
//! read from `/proc/<pid>/{comm,cmdline}` instead of running `ps`.

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::IcServerProbe;

/// Whether the IC-Server process runs.
const PROCESS_RUNNING: Desc = Desc::gauge(
    "ic_server_process_running",
    "1",
    "Whether at least one process of the configured IC-Server name runs on this host (1) or none (0).",
);
/// How many IC-Server processes run.
const PROCESSES: Desc = Desc::gauge(
    "ic_server_processes",
    "1",
    "Number of processes matching the configured IC-Server name on this host.",
);

/// Whether the process `comm` with NUL-separated `cmdline` is an instance of `name`.
///
/// Matches the kernel name, or a command-line word (or the value after `=`) whose file name is
/// `name`, `name.<ext>`, `name_<x>` or `name-<digit>...` (`ic-server.jar`, `ic-server-1.2.jar`),
/// but not a longer word such as `ic-server-probe`, which `grep` would wrongly count.
pub fn is_match(name: &str, comm: &str, cmdline: &[u8]) -> bool {
    if comm.trim_end() == name {
        return true;
    }
    cmdline
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .any(|word| {
            let word = String::from_utf8_lossy(word);
            let value = word.rsplit('=').next().unwrap_or_default();
            let file = value.rsplit('/').next().unwrap_or_default();
            match file.strip_prefix(name) {
                Some("") => true,
                Some(rest) => {
                    let mut chars = rest.chars();
                    match chars.next() {
                        Some('.' | '_') => true,
                        Some('-') => chars.next().is_some_and(|c| c.is_ascii_digit()),
                        _ => false,
                    }
                }
                None => false,
            }
        })
}

/// Counts the processes of `name` under `paths`' procfs, skipping `own_pid`.
pub(crate) fn count(paths: &SysPaths, name: &str, own_pid: u32) -> Result<u32, CollectError> {
    Ok(u32::try_from(matching(paths, name, own_pid)?.len()).unwrap_or(u32::MAX))
}

/// The processes of `name` under `paths`' procfs, skipping `own_pid`: `(pid, command line)`
/// with NULs shown as spaces, as `ps -ef` prints them.
pub(crate) fn matching(
    paths: &SysPaths,
    name: &str,
    own_pid: u32,
) -> Result<Vec<(u32, String)>, CollectError> {
    let mut found = Vec::new();
    // A process that exits mid-walk reads as empty and simply is not counted.
    common::proc_table::for_each_process(paths, |p| {
        if p.pid() == own_pid {
            return;
        }
        let cmdline = p.cmdline().unwrap_or_default();
        if is_match(name, p.comm().unwrap_or_default(), cmdline) {
            let shown = String::from_utf8_lossy(cmdline)
                .split('\0')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            found.push((p.pid(), shown));
        }
    })?;
    Ok(found)
}

/// The local process check.
#[derive(Debug)]
pub(crate) struct ProcessCollector {
    /// Rooted paths.
    pub(crate) paths: SysPaths,
    /// The process name from config.
    pub(crate) name: String,
}

impl Collector for ProcessCollector {
    fn collect(&self, _ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let n = count(&self.paths, &self.name, std::process::id())?;
        let labels = [("process", self.name.as_str())];
        let mut out = MetricSet::new();
        out.add(&PROCESS_RUNNING, &labels, if n > 0 { 1.0 } else { 0.0 });
        out.add(&PROCESSES, &labels, f64::from(n));
        Ok(out)
    }
}

/// Registry entry: `ic_server_scrape_collector_success{collector="process"}`.
pub(crate) const DEF: CollectorDef<IcServerProbe> = CollectorDef {
    name: "process",
    enabled_by_default: true,
    file: file!(),
    metrics: &[PROCESS_RUNNING, PROCESSES],
    build: Build::Blocking(|e| {
        Ok(e.cfg.local.enabled.then(|| -> Box<dyn common::Collector> {
            Box::new(ProcessCollector {
                paths: e.paths.clone(),
                name: e.cfg.local.process_name.clone(),
            })
        }))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn matches_like_ps_grep_without_counting_the_probe() {
        assert!(is_match("ic-server", "ic-server\n", b""));
        assert!(is_match(
            "ic-server",
            "java\n",
            b"java\0-jar\0/home/admin/ic-server/lib/ic-server.jar\0"
        ));
        assert!(is_match(
            "ic-server",
            "java\n",
            b"java\0-jar\0ic-server-1.2.0.jar\0"
        ));
        assert!(is_match(
            "ic-server",
            "java\n",
            b"java\0-Dapp.name=ic-server\0Main\0"
        ));
        assert!(is_match(
            "ic-server",
            "sh\n",
            b"/opt/ic/bin/ic-server\0--port\08088\0"
        ));
        assert!(!is_match(
            "ic-server",
            "ic-server-probe\n",
            b"/usr/bin/ic-server-probe\0--config.file=/etc/ic.toml\0"
        ));
        assert!(!is_match("ic-server", "grep\n", b"grep\0ic-serverx\0"));
        assert!(!is_match("ic-server", "bash\n", b"bash\0"));
        // Garbage bytes in a command line are tolerated.
        assert!(!is_match("ic-server", "\n", b"\xff\xfe\0\0\0"));
    }

    /// A procfs tree with the given `(pid, comm, cmdline)` processes.
    fn proc_tree(dir: &Path, procs: &[(u32, &str, &[u8])]) {
        std::fs::create_dir_all(dir.join("proc/self")).unwrap();
        for (pid, comm, cmdline) in procs {
            let p = dir.join(format!("proc/{pid}"));
            std::fs::create_dir_all(&p).unwrap();
            std::fs::write(p.join("comm"), format!("{comm}\n")).unwrap();
            std::fs::write(p.join("cmdline"), cmdline).unwrap();
        }
        // A pid directory that vanished mid-scan (no files) must not break the count.
        std::fs::create_dir_all(dir.join("proc/999")).unwrap();
    }

    #[test]
    fn counts_matching_processes_in_a_proc_tree_skipping_its_own_pid() {
        let dir = std::env::temp_dir().join(format!("ic_process_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        proc_tree(
            &dir,
            &[
                (1, "systemd", b"/sbin/init\0"),
                (
                    100,
                    "java",
                    b"java\0-jar\0/home/admin/ic-server/ic-server.jar\0",
                ),
                (101, "ic-server", b"ic-server\0"),
                (200, "ic-server-probe", b"ic-server-probe\0"),
                (300, "ic-server", b"ic-server\0"),
            ],
        );
        let paths = SysPaths::fixture(&dir);
        assert_eq!(count(&paths, "ic-server", 300).unwrap(), 2);
        let c = ProcessCollector {
            paths: paths.clone(),
            name: "ic-server".into(),
        };
        let set = c
            .collect(&ScrapeContext::with_timeout(
                std::time::Duration::from_secs(1),
            ))
            .unwrap();
        assert_eq!(
            set.value("ic_server_process_running", &[("process", "ic-server")]),
            Some(1.0)
        );
        let none = ProcessCollector {
            paths,
            name: "ic-agent".into(),
        };
        let set = none
            .collect(&ScrapeContext::with_timeout(
                std::time::Duration::from_secs(1),
            ))
            .unwrap();
        assert_eq!(
            set.value("ic_server_process_running", &[("process", "ic-agent")]),
            Some(0.0)
        );
        assert_eq!(
            set.value("ic_server_processes", &[("process", "ic-agent")]),
            Some(0.0)
        );
        let _ = std::fs::remove_dir_all(&dir);
        assert!(count(&SysPaths::fixture(&dir), "ic-server", 0).is_err());
    }
}
