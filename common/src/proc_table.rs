//! The process table in procfs: the one walk over the pid directories that every exporter uses
//! (the documents' `ps -ef | grep <name>`, process counts, the audit's top processes) without
//! running `ps`, the `/proc/<pid>/stat` parser and the boot time.
//!
//! A process's `stat`, `comm` and `cmdline` are read only when the visitor asks, at most once,
//! into buffers reused from one process to the next, and the directory is read with `getdents`
//! into one buffer: after the first process a walk allocates nothing, so counting processes by
//! state on every scrape costs one `open`/`read`/`close` per process.

use std::cell::{Cell, OnceCell};
use std::os::fd::{AsFd, BorrowedFd};

use rustix::fs::{Mode, OFlags, RawDir};

use crate::collector::CollectError;
use crate::paths::SysPaths;

/// Bytes of `/proc/<pid>/stat` kept: the line is about 300 bytes, and its 52 numeric fields and
/// a 64-byte name stay far below this.
pub const STAT_MAX: usize = 4096;
/// Bytes of `/proc/<pid>/comm` kept (16 for tasks, up to 64 for workqueue kernel threads).
pub const COMM_MAX: usize = 256;
/// Bytes of `/proc/<pid>/cmdline` kept: enough to match a daemon by its name and flags, while a
/// command line of megabytes (up to `ARG_MAX`) costs no more than this.
pub const CMDLINE_MAX: usize = 16 * 1024;

/// Room for the `getdents` records of one batch of the procfs root.
const DIR_BUF: usize = 16 * 1024;

/// The fields of `/proc/<pid>/stat` the exporters use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidStat<'a> {
    /// Kernel command name (`comm`); may contain spaces and parentheses.
    pub comm: &'a str,
    /// State letter: `R`, `S`, `D` (uninterruptible), `Z` (zombie), `X` (dead)…
    pub state: char,
    /// Parent pid.
    pub ppid: u32,
    /// `utime + stime` in clock ticks (fields 14 and 15), when present.
    pub cpu_ticks: Option<u64>,
    /// Start time after boot, in clock ticks (field 22), when present.
    pub start_ticks: Option<u64>,
    /// Resident set size in pages (field 24), when present.
    pub rss_pages: Option<u64>,
}

/// Whether a task in state `state` still runs: an exited, unreaped zombie or a dead task does not.
fn alive(state: char) -> bool {
    !matches!(state, 'Z' | 'X' | 'x')
}

impl PidStat<'_> {
    /// Whether the process still runs: an exited, unreaped zombie or a dead task does not.
    pub fn is_alive(&self) -> bool {
        alive(self.state)
    }
}

/// Parses `/proc/<pid>/stat`; the name is taken up to the *last* `)`, as it may contain one.
pub fn parse_pid_stat(stat: &str) -> Option<PidStat<'_>> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?;
    let mut rest = stat.get(close + 1..)?.split_ascii_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    // `rest` now stands at field 5; `nth(k)` skips k fields and takes the next one.
    let mut number = |skip: usize| rest.nth(skip).and_then(|v| v.parse::<u64>().ok());
    let utime = number(9);
    let stime = number(0);
    let start_ticks = number(6);
    let rss_pages = number(1);
    Some(PidStat {
        comm,
        state,
        ppid,
        cpu_ticks: utime.zip(stime).map(|(u, s)| u.saturating_add(s)),
        start_ticks,
        rss_pages,
    })
}

/// Just the state letter of a `/proc/<pid>/stat` line (the first field after the last `)`),
/// without decoding the rest: what a per-scrape count by state needs.
pub fn state_letter(stat: &[u8]) -> Option<char> {
    let close = stat.iter().rposition(|b| *b == b')')?;
    stat.get(close + 1..)?
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .map(|b| char::from(*b))
}

/// One process met by [`for_each_process`]. Each of its files is read on first use and at most
/// once; `None` means the process exited meanwhile or the file is unreadable.
pub struct Process<'w> {
    proc_dir: BorrowedFd<'w>,
    pid: u32,
    /// The pid's decimal digits, the first component of every relative path.
    name: [u8; 10],
    name_len: usize,
    stat: LazyFile,
    comm: LazyFile,
    cmdline: LazyFile,
}

impl Process<'_> {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The raw `/proc/<pid>/stat` line.
    pub fn stat_bytes(&self) -> Option<&[u8]> {
        self.stat.get(self.proc_dir, self.dir_name())
    }

    /// The parsed `/proc/<pid>/stat` line; `None` also when it is malformed or not UTF-8.
    pub fn stat(&self) -> Option<PidStat<'_>> {
        parse_pid_stat(std::str::from_utf8(self.stat_bytes()?).ok()?)
    }

    /// Just the state letter of `stat`, see [`state_letter`].
    pub fn state(&self) -> Option<char> {
        state_letter(self.stat_bytes()?)
    }

    /// `/proc/<pid>/comm` without its newline; `None` also when it is not UTF-8.
    pub fn comm(&self) -> Option<&str> {
        let bytes = self.comm.get(self.proc_dir, self.dir_name())?;
        let text = std::str::from_utf8(bytes).ok()?;
        Some(text.strip_suffix('\n').unwrap_or(text))
    }

    /// `/proc/<pid>/cmdline`, NUL-separated words, cut at [`CMDLINE_MAX`] bytes (empty for
    /// kernel threads).
    pub fn cmdline(&self) -> Option<&[u8]> {
        self.cmdline.get(self.proc_dir, self.dir_name())
    }

    fn dir_name(&self) -> &[u8] {
        &self.name[..self.name_len]
    }

    /// Moves to the process named `name` (its pid's digits), forgetting what was read before.
    fn enter(&mut self, pid: u32, name: &[u8]) {
        self.pid = pid;
        self.name_len = name.len();
        self.name[..name.len()].copy_from_slice(name);
        for f in [&mut self.stat, &mut self.comm, &mut self.cmdline] {
            f.forget();
        }
    }
}

/// One file of a process directory, read lazily into a buffer that outlives the process.
struct LazyFile {
    file: &'static [u8],
    max: usize,
    /// procfs' one-line files (`stat`, `comm`) come whole from the first `read`, which saves
    /// the second `read` that would only confirm the end.
    whole_at_first_read: bool,
    /// The buffer while no process holds it (`max` bytes once allocated).
    spare: Cell<Vec<u8>>,
    /// The buffer and its filled length once read, `None` when the read failed.
    read: OnceCell<Option<(Vec<u8>, usize)>>,
}

impl LazyFile {
    fn new(file: &'static [u8], max: usize, whole_at_first_read: bool) -> Self {
        Self {
            file,
            max,
            whole_at_first_read,
            spare: Cell::new(Vec::new()),
            read: OnceCell::new(),
        }
    }

    fn get(&self, proc_dir: BorrowedFd<'_>, pid_name: &[u8]) -> Option<&[u8]> {
        self.read
            .get_or_init(|| {
                let mut buf = self.spare.take();
                if buf.len() < self.max {
                    buf.resize(self.max, 0);
                }
                match self.read_into(proc_dir, pid_name, &mut buf) {
                    Ok(n) => Some((buf, n)),
                    Err(_) => {
                        self.spare.set(buf);
                        None
                    }
                }
            })
            .as_ref()
            .and_then(|(buf, n)| buf.get(..*n))
    }

    /// Reads `<pid>/<file>` relative to the procfs root into `buf`, returning the bytes read.
    fn read_into(
        &self,
        proc_dir: BorrowedFd<'_>,
        pid_name: &[u8],
        buf: &mut [u8],
    ) -> rustix::io::Result<usize> {
        // "<pid>/<file>": 10 digits, a slash and the longest name (`cmdline`) fit on the stack.
        let mut rel = [0u8; 24];
        let len = pid_name.len() + 1 + self.file.len();
        let rel = rel.get_mut(..len).ok_or(rustix::io::Errno::NAMETOOLONG)?;
        rel[..pid_name.len()].copy_from_slice(pid_name);
        rel[pid_name.len()] = b'/';
        rel[pid_name.len() + 1..].copy_from_slice(self.file);
        let fd = rustix::fs::openat(
            proc_dir,
            &*rel,
            OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::empty(),
        )?;
        let mut filled = 0;
        while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
            let n = rustix::io::retry_on_intr(|| rustix::io::read(&fd, &mut *rest))?;
            filled += n;
            if n == 0 || self.whole_at_first_read {
                break;
            }
        }
        Ok(filled)
    }

    fn forget(&mut self) {
        if let Some(Some((buf, _))) = self.read.take() {
            *self.spare.get_mut() = buf;
        }
    }
}

/// The pid of a procfs root entry: a name of decimal digits only (not `self`, `sys`, `1a`).
fn pid_of(name: &[u8]) -> Option<u32> {
    if name.is_empty() || name.len() > 10 || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

/// Visits every process of `paths`' procfs, in directory order; processes that exit mid-walk
/// are met with files that read as `None`. Fails only when the procfs root cannot be listed.
pub fn for_each_process(
    paths: &SysPaths,
    mut visit: impl FnMut(&Process<'_>),
) -> Result<(), CollectError> {
    let root = paths.proc("");
    let io_err = |e: rustix::io::Errno| CollectError::io(&root, e.into());
    let dir = rustix::fs::open(
        &root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io_err)?;
    let mut dir_buf = Vec::with_capacity(DIR_BUF);
    let mut entries = RawDir::new(dir.as_fd(), dir_buf.spare_capacity_mut());
    let mut process = Process {
        proc_dir: dir.as_fd(),
        pid: 0,
        name: [0; 10],
        name_len: 0,
        stat: LazyFile::new(b"stat", STAT_MAX, true),
        comm: LazyFile::new(b"comm", COMM_MAX, true),
        cmdline: LazyFile::new(b"cmdline", CMDLINE_MAX, false),
    };
    while let Some(entry) = entries.next() {
        let entry = entry.map_err(io_err)?;
        let name = entry.file_name().to_bytes();
        if let Some(pid) = pid_of(name) {
            process.enter(pid, name);
            visit(&process);
        }
    }
    Ok(())
}

/// One process as a [`Snapshot`] saw it: the owned fields of its `stat` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    /// The process id.
    pub pid: u32,
    /// Kernel command name; bytes that are not UTF-8 are replaced.
    pub comm: String,
    /// State letter, see [`PidStat::state`].
    pub state: char,
    /// Parent pid.
    pub ppid: u32,
    /// `utime + stime` in clock ticks, when present.
    pub cpu_ticks: Option<u64>,
    /// Start time after boot in clock ticks, when present.
    pub start_ticks: Option<u64>,
    /// Resident set size in pages, when present.
    pub rss_pages: Option<u64>,
}

impl ProcessInfo {
    /// Whether the process still runs (not a zombie or dead task).
    pub fn is_alive(&self) -> bool {
        alive(self.state)
    }
}

/// The process table as one walk saw it: every process whose `stat` could be read and parsed,
/// in directory order. Collectors of one scrape share it through [`crate::PerScrape`], so the
/// table is walked once per scrape however many of them read it.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The processes.
    pub processes: Vec<ProcessInfo>,
}

impl Snapshot {
    /// Walks `paths`' procfs once, reading each process's `stat` only.
    pub fn take(paths: &SysPaths) -> Result<Self, CollectError> {
        let mut processes = Vec::new();
        for_each_process(paths, |p| {
            let Some(bytes) = p.stat_bytes() else {
                return;
            };
            // Borrowed when valid UTF-8, as a real stat line is unless the name is not.
            let text = String::from_utf8_lossy(bytes);
            if let Some(s) = parse_pid_stat(&text) {
                processes.push(ProcessInfo {
                    pid: p.pid(),
                    comm: s.comm.to_owned(),
                    state: s.state,
                    ppid: s.ppid,
                    cpu_ticks: s.cpu_ticks,
                    start_ticks: s.start_ticks,
                    rss_pages: s.rss_pages,
                });
            }
        })?;
        Ok(Self { processes })
    }
}

/// `/proc/<pid>/cmdline` of one process (NUL-separated words, cut at [`CMDLINE_MAX`] bytes);
/// `None` when the process has exited or the file cannot be read.
pub fn read_cmdline(paths: &SysPaths, pid: u32) -> Option<Vec<u8>> {
    use std::io::Read as _;
    let file = std::fs::File::open(paths.proc(&format!("{pid}/cmdline"))).ok()?;
    let mut out = Vec::new();
    file.take(CMDLINE_MAX as u64).read_to_end(&mut out).ok()?;
    Some(out)
}

/// Every pid of procfs (the entries [`for_each_process`] visits).
pub fn pids(paths: &SysPaths) -> Result<Vec<u32>, CollectError> {
    let mut out = Vec::new();
    for_each_process(paths, |p| out.push(p.pid()))?;
    Ok(out)
}

/// Boot time in seconds since the epoch, from the `btime` line of `/proc/stat`.
pub fn boot_time(proc_stat: &[u8]) -> Option<f64> {
    crate::parse::lines(proc_stat).find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())
}

/// Start time since the epoch, in seconds, of a process with `stat`, given the boot time.
pub fn start_time_seconds(stat: &PidStat<'_>, boot_time: f64) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)]
    stat.start_ticks
        .map(|t| boot_time + t as f64 / crate::sysconf::clock_ticks_per_second())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    #[test]
    fn names_with_spaces_and_parentheses_are_kept_whole() {
        let s = parse_pid_stat("42 (keep alived) S 1 42 42 0").unwrap();
        assert_eq!(
            (s.comm, s.state, s.ppid, s.start_ticks, s.cpu_ticks),
            ("keep alived", 'S', 1, None, None)
        );
        let z = parse_pid_stat("42 (a) b) Z 7 1").unwrap();
        assert_eq!((z.comm, z.state, z.ppid), ("a) b", 'Z', 7));
        assert!(!z.is_alive());
        assert_eq!(parse_pid_stat("garbage"), None);
        assert_eq!(parse_pid_stat("42 (x"), None);
    }

    #[test]
    fn cpu_start_and_rss_are_fields_14_15_22_and_24() {
        let stat = "42 (my (odd) proc) D 1 42 42 0 -1 4194304 100 0 0 0 7 3 0 0 20 0 1 0 5000 1000 55 18446744073709551615\n";
        let s = parse_pid_stat(stat).unwrap();
        assert_eq!(s.comm, "my (odd) proc");
        assert_eq!(
            (s.state, s.cpu_ticks, s.start_ticks, s.rss_pages),
            ('D', Some(10), Some(5000), Some(55))
        );
    }

    #[test]
    fn the_state_letter_follows_the_last_parenthesis() {
        assert_eq!(state_letter(b"42 (a) b) D 1 2"), Some('D'));
        assert_eq!(state_letter(b"42 (a)"), None);
        assert_eq!(state_letter(b"42 (x"), None);
    }

    #[test]
    fn boot_time_is_found_among_other_lines() {
        assert_eq!(
            boot_time(b"cpu 1 2\nbtime 1700000000\nprocesses 5\n"),
            Some(1_700_000_000.0)
        );
        assert_eq!(boot_time(b"cpu 1 2\n"), None);
    }

    #[test]
    fn only_decimal_names_are_pids() {
        assert_eq!(pid_of(b"4242"), Some(4242));
        for name in [&b"self"[..], b"", b"1a", b"99999999999", b"-1"] {
            assert_eq!(pid_of(name), None, "{name:?}");
        }
    }

    /// A fixture procfs under a fresh temp dir named after `test`.
    fn tree(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("proc-table-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("proc/self")).unwrap();
        std::fs::write(dir.join("proc/stat"), "btime 1\n").unwrap();
        dir
    }

    fn write(dir: &Path, rel: &str, bytes: &[u8]) {
        let p = dir.join("proc").join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    #[test]
    fn the_walk_visits_pid_directories_with_their_files_read_on_demand() {
        let dir = tree("walk");
        write(&dir, "1/stat", b"1 (init) S 0 1 1 0");
        write(&dir, "1/comm", b"init\n");
        write(&dir, "1/cmdline", b"/sbin/init\0splash\0");
        write(&dir, "20/stat", b"20 (kworker/0:1) D 2 0 0 0");
        write(&dir, "20/comm", b"kworker/0:1\n");
        write(&dir, "20/cmdline", b"");
        // Exited between readdir and read: no files left.
        std::fs::create_dir_all(dir.join("proc/300")).unwrap();
        let mut seen = Vec::new();
        for_each_process(&SysPaths::fixture(&dir), |p| {
            seen.push((
                p.pid(),
                p.state(),
                p.comm().map(str::to_owned),
                p.cmdline().map(<[u8]>::to_vec),
                p.stat().map(|s| s.ppid),
            ));
        })
        .unwrap();
        seen.sort();
        assert_eq!(
            seen,
            vec![
                (
                    1,
                    Some('S'),
                    Some("init".into()),
                    Some(b"/sbin/init\0splash\0".to_vec()),
                    Some(0)
                ),
                (
                    20,
                    Some('D'),
                    Some("kworker/0:1".into()),
                    Some(vec![]),
                    Some(2)
                ),
                (300, None, None, None, None),
            ]
        );
        let mut pids = pids(&SysPaths::fixture(&dir)).unwrap();
        pids.sort_unstable();
        assert_eq!(pids, vec![1, 20, 300]);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(for_each_process(&SysPaths::fixture(&dir), |_| {}).is_err());
    }

    #[test]
    fn a_long_command_line_is_cut_at_the_bound_and_buffers_do_not_leak_between_processes() {
        let dir = tree("cmdline");
        let long: Vec<u8> = b"java\0"
            .iter()
            .copied()
            .cycle()
            .take(CMDLINE_MAX * 3)
            .collect();
        write(&dir, "7/cmdline", &long);
        write(&dir, "8/cmdline", b"sh\0");
        write(&dir, "8/stat", b"8 (sh) R 1");
        let mut lens = Vec::new();
        for_each_process(&SysPaths::fixture(&dir), |p| {
            lens.push((p.pid(), p.cmdline().map(<[u8]>::len), p.state()));
            // Asked twice: the file is read once and kept.
            assert_eq!(p.cmdline().map(<[u8]>::len), lens.last().unwrap().1);
        })
        .unwrap();
        lens.sort_unstable();
        assert_eq!(
            lens,
            vec![(7, Some(CMDLINE_MAX), None), (8, Some(3), Some('R'))]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_snapshot_keeps_each_parsable_stat_with_names_not_utf8_replaced() {
        let dir = tree("snapshot");
        write(
            &dir,
            "1/stat",
            b"1 (init) S 0 1 1 0 -1 4 0 0 0 0 7 3 0 0 20 0 1 0 9 100 25",
        );
        write(&dir, "2/stat", b"2 (caf\xe9) Z 1");
        write(&dir, "3/stat", b"garbage");
        std::fs::create_dir_all(dir.join("proc/4")).unwrap();
        write(&dir, "1/cmdline", b"/sbin/init\0splash\0");
        let paths = SysPaths::fixture(&dir);
        let mut snap = Snapshot::take(&paths).unwrap().processes;
        snap.sort_by_key(|p| p.pid);
        assert_eq!(snap.len(), 2, "{snap:?}");
        assert_eq!(
            (
                snap[0].comm.as_str(),
                snap[0].cpu_ticks,
                snap[0].start_ticks
            ),
            ("init", Some(10), Some(9))
        );
        assert!(snap[0].is_alive());
        assert_eq!(
            (snap[1].comm.as_str(), snap[1].is_alive()),
            ("caf\u{fffd}", false)
        );
        assert_eq!(
            read_cmdline(&paths, 1).as_deref(),
            Some(&b"/sbin/init\0splash\0"[..])
        );
        assert_eq!(read_cmdline(&paths, 4), None);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(Snapshot::take(&paths).is_err());
    }

    #[test]
    fn this_process_is_found_in_the_real_proc() {
        let me = std::process::id();
        let mut found = None;
        for_each_process(&SysPaths::default(), |p| {
            if p.pid() == me {
                found = Some((p.stat().map(|s| s.is_alive()), p.cmdline().is_some()));
            }
        })
        .unwrap();
        assert_eq!(found, Some((Some(true), true)));
    }
}
