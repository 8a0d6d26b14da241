//! Finding the local etcd process in procfs (document 002: `ps ux | grep etcd`).

use common::{CollectError, SysPaths};

/// Linux reports process start times in USER_HZ ticks, which is 100 on every architecture.
const USER_HZ: f64 = 100.0;

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
    let dir = paths.proc("");
    let entries = std::fs::read_dir(&dir).map_err(|e| CollectError::io(&dir, e))?;
    let btime = paths.read_proc("stat").ok().and_then(|b| parse_btime(&b));
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        // A process may exit between listing and reading: skip it.
        let Ok(comm) = paths.read_proc(&format!("{pid}/comm")) else {
            continue;
        };
        if String::from_utf8_lossy(&comm).trim_end() != name {
            continue;
        }
        if let Some(needle) = cmdline_contains {
            let Ok(cmdline) = paths.read_proc(&format!("{pid}/cmdline")) else {
                continue;
            };
            let joined: String = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if !joined.contains(needle) {
                continue;
            }
        }
        let start = paths
            .read_proc(&format!("{pid}/stat"))
            .ok()
            .and_then(|s| parse_start_ticks(&s))
            .zip(btime)
            .map(|(ticks, bt)| bt + ticks / USER_HZ);
        out.push(Proc {
            start_time_seconds: start,
        });
    }
    Ok(out)
}

/// `btime` (boot time, epoch seconds) from `/proc/stat`.
fn parse_btime(stat: &[u8]) -> Option<f64> {
    common::parse::lines(stat).find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())
}

/// Field 22 (`starttime`) of `/proc/<pid>/stat`; the command name may contain spaces and `)`.
fn parse_start_ticks(stat: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(stat).ok()?;
    let after = &s[s.rfind(')')? + 1..];
    // After the name: field 3 (state) is the first; starttime is field 22.
    after.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_of_a_process_with_spaces_in_its_name() {
        let stat = b"1234 (etc d) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 12 0 5000 1000 100 18446744073709551615";
        assert_eq!(parse_start_ticks(stat), Some(5000.0));
        assert_eq!(
            parse_btime(b"cpu 1 2\nbtime 1700000000\n"),
            Some(1_700_000_000.0)
        );
        assert_eq!(parse_start_ticks(b"garbage"), None);
    }

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
