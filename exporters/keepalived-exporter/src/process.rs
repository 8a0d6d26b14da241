//! Finds the keepalived parent process: from its pid file, else by searching `/proc` for a
//! `keepalived` whose parent is not one (keepalived forks VRRP/checker children with the same
//! name) and that shares our network namespace (several keepalived can run on one host, one per
//! namespace; the one whose VIPs we see is ours).

use std::path::Path;

use common::SysPaths;
use common::proc_table::{self, PidStat, for_each_process};

/// keepalived's command name in `/proc/<pid>/stat` and `status`.
pub const COMM: &str = "keepalived";

/// The keepalived process tree as seen in `/proc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalived {
    /// The parent's pid (the one signals go to).
    pub pid: u32,
    /// Its running `keepalived` children (VRRP, checkers, BFD).
    pub children: u32,
    /// The parent's start time after boot, in clock ticks (`/proc/<pid>/stat` field 22).
    pub start_ticks: Option<u64>,
}

impl Keepalived {
    /// The parent's start time, in seconds since the epoch (boot time from `/proc/stat`).
    pub fn start_time(&self, paths: &SysPaths) -> Option<f64> {
        let boot = proc_table::boot_time(&paths.read_proc("stat").ok()?)?;
        let ticks = self.start_ticks?;
        #[allow(clippy::cast_precision_loss)] // ticks since boot stay far below 2^52
        Some(boot + ticks as f64 / common::sysconf::clock_ticks_per_second())
    }
}

fn same_netns(paths: &SysPaths, pid: u32) -> bool {
    let ours = std::fs::read_link(paths.proc("self/ns/net"));
    let theirs = std::fs::read_link(paths.proc(&format!("{pid}/ns/net")));
    match (ours, theirs) {
        (Ok(a), Ok(b)) => a == b,
        // Unreadable namespace links (fixture trees, no privilege): do not filter.
        _ => true,
    }
}

/// Finds the running keepalived parent; `None` when keepalived is not running.
pub fn find(paths: &SysPaths, pid_file: &str) -> Option<Keepalived> {
    // `(pid, comm, ppid, start)` of the live processes: a zombie (exited, not yet reaped) is not
    // running.
    let mut stats: Vec<(u32, String, u32, Option<u64>)> = Vec::new();
    let _ = for_each_process(paths, |p| {
        if let Some(s) = p.stat().filter(PidStat::is_alive) {
            stats.push((p.pid(), s.comm.to_owned(), s.ppid, s.start_ticks));
        }
    });
    let is_keepalived = |pid: u32| stats.iter().any(|(p, c, ..)| *p == pid && c == COMM);
    let from_file = read_pid_file(&paths.root(pid_file)).filter(|&p| is_keepalived(p));
    let parent = from_file.or_else(|| {
        stats
            .iter()
            .filter(|(p, c, pp, _)| c == COMM && !is_keepalived(*pp) && same_netns(paths, *p))
            .map(|(p, ..)| *p)
            .min()
    })?;
    let children = stats
        .iter()
        .filter(|(_, c, pp, _)| *pp == parent && c == COMM)
        .count();
    let start_ticks = stats
        .iter()
        .find(|(p, ..)| *p == parent)
        .and_then(|(.., t)| *t);
    Some(Keepalived {
        pid: parent,
        children: u32::try_from(children).unwrap_or(u32::MAX),
        start_ticks,
    })
}

fn read_pid_file(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path)
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|&p| p > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn parent_and_children_from_a_fixture_proc() {
        let dir = std::env::temp_dir().join(format!("ka-proc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        write(&dir, "proc/1/stat", "1 (systemd) S 0 1 1 0");
        // The parent's line as keepalived 2.2.7 has it (start time 640592 ticks after boot).
        write(
            &dir,
            "proc/100/stat",
            "100 (keepalived) S 1 1859 31959 0 -1 4194560 956 119 6 2 0 1 0 0 20 0 1 0 640592 29712384 2459",
        );
        write(
            &dir,
            "proc/stat",
            "cpu  1 2 3 4\nbtime 1700000000\nprocesses 5\n",
        );
        write(&dir, "proc/101/stat", "101 (keepalived) S 100 100 100 0");
        write(&dir, "proc/102/stat", "102 (keepalived) S 100 100 100 0");
        write(&dir, "proc/200/stat", "200 (bash) S 1 200 200 0");
        // An exited, unreaped keepalived is not running.
        write(&dir, "proc/300/stat", "300 (keepalived) Z 200 300 300 0");
        let paths = SysPaths::fixture(&dir);
        let found = find(&paths, "/run/keepalived.pid");
        assert_eq!(
            found,
            Some(Keepalived {
                pid: 100,
                children: 2,
                start_ticks: Some(640_592),
            })
        );
        let hz = common::sysconf::clock_ticks_per_second();
        assert_eq!(
            found.and_then(|k| k.start_time(&paths)),
            Some(1_700_000_000.0 + 640_592.0 / hz)
        );
        // A pid file naming a non-keepalived process (stale, pid reused) is not trusted.
        write(&dir, "run/keepalived.pid", "200\n");
        assert_eq!(
            find(&paths, "/run/keepalived.pid").map(|k| k.pid),
            Some(100)
        );
        write(&dir, "run/keepalived.pid", "100\n");
        assert_eq!(
            find(&paths, "/run/keepalived.pid").map(|k| k.pid),
            Some(100)
        );
        for p in ["100", "101", "102"] {
            std::fs::remove_dir_all(dir.join("proc").join(p)).unwrap();
        }
        assert_eq!(find(&paths, "/run/keepalived.pid"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
