//! Finding the local etcd process in procfs (document 002: `ps ux | grep etcd`).

use common::{CollectError, SysPaths, proc_table};

/// A matching process.
#[derive(Debug, Clone, PartialEq)]
pub struct Proc {
    /// Start time since the epoch, in seconds, when `/proc/stat` and `/proc/<pid>/stat` parsed.
    pub start_time_seconds: Option<f64>,
}

/// Processes whose `comm` is `name` and, if given, whose command line contains `cmdline_contains`.
pub fn find(
    paths: &SysPaths,
    name: &str,
    cmdline_contains: Option<&str>,
) -> Result<Vec<Proc>, CollectError> {
    let btime = paths
        .read_proc("stat")
        .ok()
        .and_then(|b| proc_table::boot_time(&b));
    let mut out = Vec::new();
    // A process that exits mid-walk reads as empty: it does not match.
    proc_table::for_each_process(paths, |p| {
        if p.comm().map(str::trim_end) != Some(name) {
            return;
        }
        if let Some(needle) = cmdline_contains {
            let Some(cmdline) = p.cmdline() else {
                return;
            };
            let joined: String = String::from_utf8_lossy(cmdline).replace('\0', " ");
            if !joined.contains(needle) {
                return;
            }
        }
        let start = btime.and_then(|bt| proc_table::start_time_seconds(&p.stat()?, bt));
        out.push(Proc {
            start_time_seconds: start,
        });
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_comm_and_cmdline() {
        let root = std::env::temp_dir().join(format!("etcd-probe-proc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (pid, comm, cmd) in [
            ("10", "etcd", "etcd\0--name\0m1"),
            ("11", "etcd", "etcd\0--name\0m2"),
            ("12", "bash", "bash"),
        ] {
            let d = root.join("proc").join(pid);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("comm"), format!("{comm}\n")).unwrap();
            std::fs::write(d.join("cmdline"), cmd).unwrap();
        }
        std::fs::create_dir_all(root.join("proc/self")).unwrap();
        let paths = SysPaths::fixture(&root);
        assert_eq!(find(&paths, "etcd", None).unwrap().len(), 2);
        assert_eq!(find(&paths, "etcd", Some("--name m2")).unwrap().len(), 1);
        assert_eq!(find(&paths, "etcd", Some("--name m3")).unwrap().len(), 0);
        let _ = std::fs::remove_dir_all(&root);
    }
}
