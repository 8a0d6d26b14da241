//! What one scrape read, from `strace -f -y` output of the exporter during that scrape: the
//! kernel sources (files and directories under /proc and /sys, stats, statfs, the sock_diag
//! socket), deduplicated, with per-process files generalised to every current pid.

use std::collections::{HashMap, HashSet};

/// Stands for "each numeric entry of /proc" in a path.
pub(crate) const PID: &str = "[pid]";

/// One kernel source the floor reads once per pass.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    /// A file read to its end.
    Read(String),
    /// A directory listed.
    List(String),
    /// A path stat'ed (existence or type checks), not read.
    Stat(String),
    /// `statfs` of a mount point.
    Statfs(String),
    /// One `NETLINK_SOCK_DIAG` dump of the TCP sockets of both address families.
    TcpDump,
}

impl Source {
    /// The path, or "" for the netlink dump.
    pub(crate) fn path(&self) -> &str {
        match self {
            Source::Read(p) | Source::List(p) | Source::Stat(p) | Source::Statfs(p) => p,
            Source::TcpDump => "",
        }
    }

    fn with_path(&self, path: String) -> Source {
        match self {
            Source::Read(_) => Source::Read(path),
            Source::List(_) => Source::List(path),
            Source::Stat(_) => Source::Stat(path),
            Source::Statfs(_) => Source::Statfs(path),
            Source::TcpDump => Source::TcpDump,
        }
    }
}

/// The sources of a whole trace, in first-seen order. `exporter_pid` is the traced process: its
/// own /proc entry becomes /proc/self (the floor reads its own). A per-process file seen for two
/// or more pids becomes one `/proc/[pid]/...` source; a stat of a path also read is dropped.
pub(crate) fn sources(trace: &str, exporter_pid: u32) -> Vec<Source> {
    let own = format!("/proc/{exporter_pid}");
    let seen: Vec<Source> = trace
        .lines()
        .filter_map(source_of_line)
        .map(|s| {
            let p = s.path();
            match p.strip_prefix(own.as_str()) {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                    s.with_path(format!("/proc/self{rest}"))
                }
                _ => s,
            }
        })
        .collect();

    // How many distinct pids each (kind, rest-of-path) was seen with.
    let mut pids_per_rest: HashMap<Source, HashSet<&str>> = HashMap::new();
    for s in &seen {
        if let Some((pid, rest)) = split_pid(s.path()) {
            pids_per_rest
                .entry(s.with_path(rest.to_owned()))
                .or_default()
                .insert(pid);
        }
    }
    let generalised = seen.iter().map(|s| match split_pid(s.path()) {
        Some((_, rest)) if pids_per_rest[&s.with_path(rest.to_owned())].len() >= 2 => {
            s.with_path(format!("/proc/{PID}{rest}"))
        }
        _ => s.clone(),
    });

    let mut out = Vec::new();
    let mut set = HashSet::new();
    for s in generalised {
        if set.insert(s.clone()) {
            out.push(s);
        }
    }
    let read: HashSet<String> = out
        .iter()
        .filter_map(|s| match s {
            Source::Read(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    out.retain(|s| !matches!(s, Source::Stat(p) if read.contains(p)));
    out
}

/// `/proc/<digits>/rest` -> (digits, "/rest").
fn split_pid(path: &str) -> Option<(&str, &str)> {
    let after = path.strip_prefix("/proc/")?;
    let end = after.find('/').unwrap_or(after.len());
    let (pid, rest) = after.split_at(end);
    (!pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())).then_some((pid, rest))
}

/// The kernel source one strace line names, if any.
fn source_of_line(line: &str) -> Option<Source> {
    // With -f every line starts with the thread id.
    let line = match line.split_once(' ') {
        Some((tid, rest)) if tid.bytes().all(|b| b.is_ascii_digit()) => rest.trim_start(),
        _ => line,
    };
    let (call, args) = line.split_once('(')?;
    match call {
        "openat" => {
            let (dir, path, rest) = dirfd_and_path(args)?;
            let flags = rest.split(',').nth(1).unwrap_or("");
            if flags.contains("O_DIRECTORY") || flags.contains("O_PATH") {
                // Opening a directory reads nothing; its listing shows as getdents64.
                return None;
            }
            kernel_path(resolve(dir, &path)?).map(Source::Read)
        }
        "getdents64" => kernel_path(annotation(args)?.0.to_owned()).map(Source::List),
        "statx" | "newfstatat" | "stat" | "lstat" => {
            let (dir, path, _) = dirfd_and_path(args)?;
            kernel_path(resolve(dir, &path)?).map(Source::Stat)
        }
        "statfs" => quoted(args).map(|(p, _)| Source::Statfs(p)),
        "socket" => args
            .contains("NETLINK_SOCK_DIAG")
            .then_some(Source::TcpDump),
        _ => None,
    }
}

/// Keeps paths under /proc and /sys, without a trailing slash.
fn kernel_path(mut path: String) -> Option<String> {
    while path.len() > 1 && path.ends_with('/') {
        path.pop();
    }
    let kernel = ["/proc", "/sys"]
        .iter()
        .any(|root| path == *root || path.starts_with(&format!("{root}/")));
    kernel.then_some(path)
}

/// An absolute path as is; a relative one under its directory descriptor; "" (an fstat of the
/// descriptor itself) is no new source.
fn resolve(dir: &str, path: &str) -> Option<String> {
    if path.starts_with('/') {
        Some(path.to_owned())
    } else if path.is_empty() {
        None
    } else {
        Some(format!("{dir}/{path}"))
    }
}

/// `12</proc/42>, "stat", rest` or `AT_FDCWD</cwd>, "/abs", rest` -> (dir, path, rest).
fn dirfd_and_path(args: &str) -> Option<(&str, String, &str)> {
    let (dir, after) = annotation(args)?;
    let after = after.trim_start().strip_prefix(',')?.trim_start();
    let (path, rest) = quoted(after)?;
    Some((dir, path, rest))
}

/// The `<...>` annotation strace -y puts after a descriptor, and what follows it.
fn annotation(args: &str) -> Option<(&str, &str)> {
    let open = args.find('<')?;
    let close = open + args[open..].find('>')?;
    Some((&args[open + 1..close], &args[close + 1..]))
}

/// A leading C-quoted strace string, unescaped, and what follows it.
fn quoted(s: &str) -> Option<(String, &str)> {
    let body = s.trim_start().strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &body[i + 1..])),
            '\\' => {
                let (_, e) = chars.next()?;
                out.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
            }
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    // Lines as `strace -f -y -p <os-exporter>` printed them during one scrape (pid 21726).
    const TRACE: &str = r#"21737 openat(AT_FDCWD</tmp/bf>, "/proc/stat", O_RDONLY|O_CLOEXEC) = 12</proc/stat>
21737 statx(12</proc/stat>, "", AT_STATX_SYNC_AS_STAT|AT_EMPTY_PATH, STATX_ALL, {stx_mask=STATX_BASIC_STATS}) = 0
21738 openat(AT_FDCWD</tmp/bf>, "/proc/", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY <unfinished ...>
21738 getdents64(12</proc>,  <unfinished ...>
21738 openat(AT_FDCWD</tmp/bf>, "/proc/1/stat", O_RDONLY|O_CLOEXEC <unfinished ...>
21738 openat(AT_FDCWD</tmp/bf>, "/proc/2/stat", O_RDONLY|O_CLOEXEC) = 13</proc/2/stat>
21738 openat(AT_FDCWD</tmp/bf>, "/proc/21726/stat", O_RDONLY|O_CLOEXEC) = 13</proc/21726/stat>
21739 openat(AT_FDCWD</tmp/bf>, "/proc/1/cgroup", O_RDONLY|O_CLOEXEC) = 13</proc/1/cgroup>
21739 statx(AT_FDCWD</tmp/bf>, "/sys/class/block/vda/partition", AT_STATX_SYNC_AS_STAT, STATX_ALL,  <unfinished ...>
21739 statx(AT_FDCWD</tmp/bf>, "/proc/sys/net/netfilter/nf_conntrack_count", AT_STATX_SYNC_AS_STAT, STATX_ALL,  <unfinished ...>
21739 openat(AT_FDCWD</tmp/bf>, "/proc/sys/net/netfilter/nf_conntrack_count", O_RDONLY|O_CLOEXEC) = 12</proc/sys/net/netfilter/nf_conntrack_count>
21739 openat(AT_FDCWD</tmp/bf>, "/tmp/os_disk_io_ignore_devices", O_RDONLY|O_CLOEXEC <unfinished ...>
21740 statfs("/",  <unfinished ...>
21736 socket(AF_NETLINK, SOCK_DGRAM|SOCK_CLOEXEC, NETLINK_SOCK_DIAG <unfinished ...>
21726 openat(AT_FDCWD</tmp/bf>, "/proc/self", O_RDONLY|O_LARGEFILE|O_CLOEXEC|O_PATH|O_DIRECTORY) = 12</proc/21726>
21726 openat(12</proc/21726>, "limits", O_RDONLY|O_LARGEFILE|O_CLOEXEC) = 13</proc/21726/limits>
21726 newfstatat(12</proc/21726>, "fd", {st_mode=S_IFDIR|0500, st_size=14, ...}, 0) = 0
21737 openat(AT_FDCWD</tmp/bf>, "/proc/stat", O_RDONLY|O_CLOEXEC) = 12</proc/stat>
21737 <... openat resumed>) = 12</proc/vmstat>
"#;

    #[test]
    fn a_scrape_trace_becomes_its_distinct_kernel_sources_in_order() {
        let got = sources(TRACE, 21726);
        let want = vec![
            Source::Read("/proc/stat".into()),
            Source::List("/proc".into()),
            Source::Read("/proc/[pid]/stat".into()),
            Source::Read("/proc/self/stat".into()),
            Source::Read("/proc/1/cgroup".into()),
            Source::Stat("/sys/class/block/vda/partition".into()),
            Source::Read("/proc/sys/net/netfilter/nf_conntrack_count".into()),
            Source::Statfs("/".into()),
            Source::TcpDump,
            Source::Read("/proc/self/limits".into()),
            Source::Stat("/proc/self/fd".into()),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn files_outside_proc_and_sys_are_not_kernel_sources() {
        let got = sources(TRACE, 21726);
        assert!(got.iter().all(|s| !s.path().starts_with("/tmp")));
    }

    #[test]
    fn a_file_read_for_one_pid_only_stays_literal() {
        let one = r#"1 openat(AT_FDCWD</>, "/proc/7/cgroup", O_RDONLY) = 3</proc/7/cgroup>"#;
        assert_eq!(
            sources(one, 99),
            vec![Source::Read("/proc/7/cgroup".into())]
        );
    }

    #[test]
    fn escaped_quotes_in_a_path_are_unescaped() {
        let line = r#"openat(AT_FDCWD</>, "/sys/a\"b", O_RDONLY) = 3"#;
        assert_eq!(sources(line, 1), vec![Source::Read("/sys/a\"b".into())]);
    }
}
