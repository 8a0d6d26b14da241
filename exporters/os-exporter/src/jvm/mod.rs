//! Finding a running JVM's hsperfdata file and reading it safely, without an agent: the
//! process's namespace pid and effective uid from `/proc/<pid>/status`, the file under
//! `/proc/<pid>/root/tmp/hsperfdata_*/<nspid>` (what `jstat` does, so `PrivateTmp` and
//! containers work), opened without following links and only when the process's user owns it.

pub(crate) mod config;
pub(crate) mod seed;

use std::io::Read as _;
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};

use crate::parsers::hsperfdata::{self, JvmStats};

/// The largest file read: `-XX:PerfDataMemorySize` is 32 KiB by default; a larger file is not
/// one a JVM made.
const MAX_FILE_LEN: u64 = 1024 * 1024;
/// /tmp entries looked at when the user's directory is not where its name says.
const MAX_TMP_ENTRIES: usize = 100_000;
/// `hsperfdata_*` directories tried then.
const MAX_PERF_DIRS: usize = 64;
/// How much earlier than the process a JVM may claim to have started (the boot time is whole
/// seconds, clocks are read at different moments).
const START_EARLY_TOLERANCE: f64 = 2.0;
/// How much later than its process a JVM may start (launcher, slow hosts).
const START_LATE_TOLERANCE: f64 = 300.0;

/// Why a JVM's counters could not be read: a small, fixed set for the `reason` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unreadable {
    /// Started with `-XX:-UsePerfData` or `-XX:+PerfDisableSharedMem`.
    Disabled,
    /// No file for the process's namespace pid.
    NotFound,
    /// The file or the process's root could not be opened (run as root or the JVM's user).
    Permission,
    /// Not a complete PerfData file, or unsafe (a link, another owner, a strange size).
    Malformed,
    /// The file belongs to an earlier process of the same pid (left by `kill -9`).
    Stale,
}

impl Unreadable {
    /// The `reason` label value.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Unreadable::Disabled => "disabled",
            Unreadable::NotFound => "not_found",
            Unreadable::Permission => "permission",
            Unreadable::Malformed => "malformed",
            Unreadable::Stale => "stale",
        }
    }
}

/// The fields of `/proc/<pid>/status` the lookup needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Status {
    /// The pid in the process's own namespace (the last `NSpid` field; `Pid` without one).
    pub(crate) nspid: u32,
    /// The effective uid (`Uid` second field).
    pub(crate) euid: u32,
}

/// Parses `/proc/<pid>/status`; `None` without a pid or uid line.
pub(crate) fn parse_status(text: &str) -> Option<Status> {
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
    };
    let nspid = field("NSpid")
        .or_else(|| field("Pid"))?
        .split_whitespace()
        .last()?
        .parse()
        .ok()?;
    let euid = field("Uid")?.split_whitespace().nth(1)?.parse().ok()?;
    Some(Status { nspid, euid })
}

/// Whether a command line (NUL-separated) turns the shared perf data off.
pub(crate) fn perfdata_disabled(cmdline: &[u8]) -> bool {
    // The last setting wins, as HotSpot parses them.
    let mut disabled = false;
    for arg in cmdline.split(|b| *b == 0) {
        match arg {
            b"-XX:-UsePerfData" | b"-XX:+PerfDisableSharedMem" => disabled = true,
            b"-XX:+UsePerfData" | b"-XX:-PerfDisableSharedMem" => disabled = false,
            _ => {}
        }
    }
    disabled
}

/// Whether a JVM that says it started at `vm_start` (epoch seconds) can be the process that
/// started at `process_start`.
pub(crate) fn belongs_to(vm_start: f64, process_start: f64) -> bool {
    let d = vm_start - process_start;
    (-START_EARLY_TOLERANCE..=START_LATE_TOLERANCE).contains(&d)
}

fn io_reason(e: &rustix::io::Errno) -> Unreadable {
    match *e {
        rustix::io::Errno::ACCESS | rustix::io::Errno::PERM => Unreadable::Permission,
        rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR => Unreadable::NotFound,
        _ => Unreadable::Malformed,
    }
}

/// Reads the hsperfdata file of the process whose root is `proc_root` (`/proc/<pid>/root`),
/// named `nspid`, owned by its `euid` or by `proc_owner`, the owner of `/proc/<pid>` (the
/// process's euid, or root for a non-dumpable process).
pub(crate) fn read_file(
    proc_root: &Path,
    status: Status,
    proc_owner: Option<u32>,
) -> Result<Vec<u8>, Unreadable> {
    let tmp = proc_root.join("tmp");
    let name = status.nspid.to_string();
    let owners = [Some(status.euid), proc_owner];
    // The user's own directory first, named from the process's passwd (a container's, through
    // its root), as HotSpot does; that is one open instead of a scan of a busy /tmp.
    let user = std::fs::read(proc_root.join("etc/passwd"))
        .ok()
        .and_then(|p| user_name(&p, status.euid));
    if let Some(user) = user
        && let Ok((_, bytes)) = open_in(&tmp.join(format!("hsperfdata_{user}")), &name, &owners)
    {
        return Ok(bytes);
    }
    let entries = std::fs::read_dir(&tmp).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => Unreadable::Permission,
        _ => Unreadable::NotFound,
    })?;
    let mut failure = Unreadable::NotFound;
    let mut best: Option<(i64, Vec<u8>)> = None;
    // Else every `hsperfdata_*` directory, as HotSpot's slow path does (the newest file wins);
    // the file must be the process user's anyway. Bounded: a /tmp of millions of entries or
    // thousands of such directories is not walked whole at every scrape.
    let dirs = entries
        .take(MAX_TMP_ENTRIES)
        .flatten()
        .filter(|e| e.file_name().as_encoded_bytes().starts_with(b"hsperfdata_"))
        .take(MAX_PERF_DIRS);
    for entry in dirs {
        match open_in(&tmp.join(entry.file_name()), &name, &owners) {
            Ok((mtime, bytes)) => {
                if best.as_ref().is_none_or(|(t, _)| mtime > *t) {
                    best = Some((mtime, bytes));
                }
            }
            // The most telling failure is reported: permission, then an unsafe file.
            Err(Unreadable::Permission) => failure = Unreadable::Permission,
            Err(Unreadable::Malformed) if failure == Unreadable::NotFound => {
                failure = Unreadable::Malformed;
            }
            Err(_) => {}
        }
    }
    best.map(|(_, bytes)| bytes).ok_or(failure)
}

/// The name of `uid` in a passwd file; `None` when it has no line or an unusable name.
pub(crate) fn user_name(passwd: &[u8], uid: u32) -> Option<String> {
    String::from_utf8_lossy(passwd).lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let id: u32 = f.nth(1)?.parse().ok()?;
        // A name with a slash would leave the directory.
        (id == uid && !name.is_empty() && !name.contains('/') && name != "..")
            .then(|| name.to_owned())
    })
}

/// Opens `dir/name` with HotSpot's own checks (`perfMemory_posix.cpp is_file_secure`): the
/// directory not a link nor group- or world-writable, the file a regular file with one link,
/// owned by one of `owners`, of a sane size. Returns its mtime and bytes.
fn open_in(dir: &Path, name: &str, owners: &[Option<u32>]) -> Result<(i64, Vec<u8>), Unreadable> {
    let dfd = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| io_reason(&e))?;
    let dst = rustix::fs::fstat(&dfd).map_err(|e| io_reason(&e))?;
    if dst.st_mode & 0o022 != 0 {
        return Err(Unreadable::Malformed);
    }
    // NONBLOCK: a FIFO planted under the name must not hang the scrape.
    let fd = rustix::fs::openat(
        &dfd,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| io_reason(&e))?;
    let st = rustix::fs::fstat(&fd).map_err(|e| io_reason(&e))?;
    let size = u64::try_from(st.st_size).unwrap_or(u64::MAX);
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile
        || st.st_nlink != 1
        || !owners.contains(&Some(st.st_uid))
        || size > MAX_FILE_LEN
    {
        return Err(Unreadable::Malformed);
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    std::fs::File::from(fd)
        .take(MAX_FILE_LEN)
        .read_to_end(&mut bytes)
        .map_err(|_| Unreadable::Malformed)?;
    Ok((st.st_mtime, bytes))
}

/// Parses a read file and checks it belongs to the process that started at `process_start`.
pub(crate) fn stats(bytes: &[u8], process_start: Option<f64>) -> Result<JvmStats, Unreadable> {
    let data = hsperfdata::parse(bytes).map_err(|_| Unreadable::Malformed)?;
    let stats = JvmStats::from_counters(&data).map_err(|_| Unreadable::Malformed)?;
    match process_start {
        Some(p) if !belongs_to(stats.start_seconds, p) => Err(Unreadable::Stale),
        _ => Ok(stats),
    }
}

/// The default name of a JVM: its main class or jar from `sun.rt.javaCommand` (first word,
/// a jar's basename), at most 64 characters; `fallback` without one.
pub(crate) fn default_name(java_command: Option<&str>, fallback: &str) -> String {
    let first = java_command
        .and_then(|c| c.split_whitespace().next())
        .unwrap_or(fallback);
    let base = if first.ends_with(".jar") {
        first.rsplit('/').next().unwrap_or(first)
    } else {
        first
    };
    let clean: String = base.chars().filter(|c| !c.is_control()).take(64).collect();
    if clean.is_empty() {
        fallback.chars().take(64).collect()
    } else {
        clean
    }
}

/// Makes names unique: the second JVM called `x` becomes `x#2`, and so on, in the given order.
pub(crate) fn disambiguate(names: &mut [String]) {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for n in names.iter_mut() {
        let count = seen.entry(n.clone()).or_insert(0);
        *count += 1;
        if *count > 1 {
            *n = format!("{n}#{count}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_gives_the_namespace_pid_and_effective_uid() {
        let s = "Name:\tjava\nPid:\t22839\nUid:\t1000\t1001\t1001\t1001\nNSpid:\t22839\t1\n";
        assert_eq!(
            parse_status(s),
            Some(Status {
                nspid: 1,
                euid: 1001
            })
        );
        let old = "Name:\tjava\nPid:\t7\nUid:\t0\t0\t0\t0\n";
        assert_eq!(parse_status(old), Some(Status { nspid: 7, euid: 0 }));
        assert_eq!(parse_status("garbage"), None);
    }

    #[test]
    fn passwd_names_the_uid() {
        let p = b"root:x:0:0:root:/root:/bin/bash\ntomcat:x:997:997::/var/lib/tomcat:/usr/sbin/nologin\nbad/name:x:5:5::/:\n";
        assert_eq!(user_name(p, 997).as_deref(), Some("tomcat"));
        assert_eq!(user_name(p, 0).as_deref(), Some("root"));
        assert_eq!(user_name(p, 5), None);
        assert_eq!(user_name(p, 1234), None);
        assert_eq!(user_name(b"\xff\x00garbage", 0), None);
    }

    #[test]
    fn perfdata_switches_last_one_wins() {
        assert!(perfdata_disabled(b"java\0-XX:-UsePerfData\0Main"));
        assert!(perfdata_disabled(b"java\0-XX:+PerfDisableSharedMem\0Main"));
        assert!(!perfdata_disabled(
            b"java\0-XX:-UsePerfData\0-XX:+UsePerfData\0Main"
        ));
        assert!(!perfdata_disabled(b"java\0Main\0-XX:-UsePerfDataX"));
    }

    #[test]
    fn a_vm_older_than_its_process_is_someone_else() {
        assert!(belongs_to(1000.3, 1000.0));
        assert!(belongs_to(999.0, 1000.0));
        assert!(!belongs_to(900.0, 1000.0));
        assert!(!belongs_to(2000.0, 1000.0));
    }

    #[test]
    fn names_are_main_class_or_jar_bounded_and_unique() {
        assert_eq!(
            default_name(Some("org.apache.catalina.startup.Bootstrap start"), "java"),
            "org.apache.catalina.startup.Bootstrap"
        );
        assert_eq!(
            default_name(Some("/opt/app/shop.jar --x"), "java"),
            "shop.jar"
        );
        assert_eq!(default_name(None, "java"), "java");
        assert_eq!(default_name(Some(&"a".repeat(500)), "java").len(), 64);
        let mut v = vec![
            "a".to_owned(),
            "b".to_owned(),
            "a".to_owned(),
            "a".to_owned(),
        ];
        disambiguate(&mut v);
        assert_eq!(v, ["a", "b", "a#2", "a#3"]);
    }

    #[test]
    fn stale_and_garbage_files_are_refused() {
        let bytes = std::fs::read(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/hsperfdata/jdk17_g1.hsperfdata"),
        )
        .unwrap();
        let s = stats(&bytes, None).unwrap();
        assert!(stats(&bytes, Some(s.start_seconds - 0.2)).is_ok());
        assert_eq!(
            stats(&bytes, Some(s.start_seconds + 3600.0)),
            Err(Unreadable::Stale)
        );
        assert_eq!(stats(b"nope", None), Err(Unreadable::Malformed));
    }

    #[test]
    fn only_a_regular_file_of_the_process_user_is_read() {
        let root = suite_tests::TempDir::new("hsperf");
        let dir = root.path().join("tmp/hsperfdata_someone");
        std::fs::create_dir_all(&dir).unwrap();
        let me = rustix::process::geteuid().as_raw();
        std::fs::write(dir.join("42"), b"data").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.join("43")).unwrap();
        let st = |nspid| Status { nspid, euid: me };
        assert_eq!(read_file(root.path(), st(42), None), Ok(b"data".to_vec()));
        assert_eq!(
            read_file(root.path(), st(43), None),
            Err(Unreadable::Malformed)
        );
        assert_eq!(
            read_file(root.path(), st(44), None),
            Err(Unreadable::NotFound)
        );
        let other = Status {
            nspid: 42,
            euid: me + 1,
        };
        assert_eq!(
            read_file(root.path(), other, None),
            Err(Unreadable::Malformed)
        );
        assert_eq!(
            read_file(root.path(), other, Some(me)),
            Ok(b"data".to_vec())
        );
    }
}
