//! Building a node's manifest: a bounded walk of the roots with `lstat` (symlinks recorded,
//! never followed; a directory met twice, as through a bind mount, is not entered again), each
//! regular file digested with xxh3-128 unless the digest cache already holds it.
//!
//! The cache is keyed by (device, inode) and valid while size, mtime and ctime (nanoseconds)
//! are unchanged, so re-checking an unchanged tree costs one `lstat` per entry and no read. A
//! file changed within [`FRESH`] of the walk is not cached: an edit in the same clock tick as
//! the hash would otherwise keep the old digest (git's "racy clean" problem). Readability for
//! the sync user is cached with the digest: an ACL or mode change moves ctime.

use std::collections::{HashMap, HashSet};
use std::fs::Metadata;
use std::io::Read as _;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::access::{self, AclEntry, Owner};
use crate::manifest::{Entry, Kind, Manifest};
use crate::users::Identity;

/// Files changed this recently are digested but not cached.
pub const FRESH: Duration = Duration::from_secs(2);

/// Bytes read at a time when digesting.
const CHUNK: usize = 256 * 1024;

/// Why no manifest could be built.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    /// The tree has more entries than the bound: a partial manifest would report files as
    /// missing that are not.
    #[error("the synchronised tree has more than {limit} entries (max_entries); no manifest built")]
    TooLarge {
        /// The bound.
        limit: usize,
    },
}

/// What the walk needs besides the cache.
#[derive(Debug, Clone)]
pub struct WalkSpec {
    /// `--path.rootfs`.
    pub rootfs: PathBuf,
    /// Configured roots (absolute, as on the node).
    pub roots: Vec<String>,
    /// Exclude globs.
    pub exclude: Vec<String>,
    /// Most entries.
    pub max_entries: usize,
    /// Whose access is judged; `None` judges nothing beyond the exporter's own reads.
    pub user: Option<Identity>,
    /// Threads reading and digesting files the cache cannot answer (at least 1).
    pub digest_threads: usize,
}

#[derive(Debug, Clone)]
struct Cached {
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    digest: Option<u128>,
    unreadable: Option<String>,
}

/// Counters of one walk, for the bench and the logs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WalkStats {
    /// Entries listed.
    pub entries: usize,
    /// Files whose content was read.
    pub digested: usize,
    /// Files answered from the cache.
    pub cached: usize,
    /// Bytes read to digest.
    pub bytes_read: u64,
}

/// The walker with its digest cache; one per exporter, used by one check at a time.
#[derive(Debug, Default)]
pub struct Walker {
    cache: HashMap<(u64, u64), Cached>,
    buf: Vec<u8>,
}

fn ns(secs: i64, nsec: i64) -> i128 {
    i128::from(secs) * 1_000_000_000 + i128::from(nsec)
}

fn kind_of(meta: &Metadata) -> Kind {
    let t = meta.file_type();
    if t.is_file() {
        Kind::File
    } else if t.is_dir() {
        Kind::Dir
    } else if t.is_symlink() {
        Kind::Symlink
    } else {
        Kind::Other
    }
}

/// The access ACL of `path`, `None` when it has none or the filesystem keeps none.
fn access_acl(path: &Path) -> Result<Option<Vec<AclEntry>>, String> {
    let mut buf = vec![0u8; 512];
    loop {
        match rustix::fs::lgetxattr(path, "system.posix_acl_access", &mut buf[..]) {
            Ok(n) => {
                return access::parse_acl(&buf[..n.min(buf.len())])
                    .map(Some)
                    .map_err(|e| e.to_string());
            }
            Err(rustix::io::Errno::RANGE) if buf.len() < 64 * 1024 => buf.resize(buf.len() * 8, 0),
            Err(rustix::io::Errno::NODATA | rustix::io::Errno::NOTSUP) => return Ok(None),
            Err(e) => return Err(format!("reading its ACL: {e}")),
        }
    }
}

/// Why `who` cannot read the entry, if they cannot.
fn denied(who: &Identity, path: &Path, meta: &Metadata, kind: Kind) -> Option<String> {
    let want = match kind {
        Kind::File => access::READ,
        Kind::Dir => access::READ | access::EXEC,
        Kind::Symlink | Kind::Other => return None,
    };
    let owner = Owner {
        uid: meta.uid(),
        gid: meta.gid(),
        mode: meta.mode() & 0o7777,
    };
    let acl = match access_acl(path) {
        Ok(a) => a,
        Err(e) => return Some(e),
    };
    if access::permits(who, owner, acl.as_deref(), want) {
        return None;
    }
    Some(format!(
        "not {} by {} (uid {}): mode {:04o}, owner {}:{}{}",
        if kind == Kind::Dir {
            "readable and searchable"
        } else {
            "readable"
        },
        who.name,
        who.uid,
        owner.mode,
        owner.uid,
        owner.gid,
        if acl.is_some() { ", with an ACL" } else { "" }
    ))
}

/// Reads `path` (the file `meta` describes) through `buf` and digests it: (xxh3-128, bytes).
fn digest_file(buf: &mut Vec<u8>, path: &Path, meta: &Metadata) -> Result<(u128, u64), String> {
    // O_NOFOLLOW and O_NONBLOCK: a path swapped for a link or a FIFO since `lstat` is not
    // followed or waited on; fstat then confirms it is still the file `lstat` saw.
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("opening it: {e}"))?;
    let now = f.metadata().map_err(|e| format!("fstat: {e}"))?;
    if !now.is_file() || now.ino() != meta.ino() || now.dev() != meta.dev() {
        return Err("replaced while being read".to_owned());
    }
    if buf.len() < CHUNK {
        buf.resize(CHUNK, 0);
    }
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut total = 0u64;
    loop {
        let n = f
            .read(&mut buf[..])
            .map_err(|e| format!("reading it: {e}"))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        total += n as u64;
    }
    Ok((h.digest128(), total))
}

/// A regular file the cache could not answer: read after the traversal, by the digest threads.
struct Pending {
    /// Its index in the walk's entries.
    index: usize,
    path: PathBuf,
    meta: Metadata,
    cacheable: bool,
}

/// What reading `pending[i]` found: `i`, digest and bytes read or why it could not be read,
/// and why the sync user could not read it.
type Digested = (usize, Result<(u128, u64), String>, Option<String>);

/// Digests `pending` on up to `threads` threads, each taking the next file as it finishes one
/// (sizes vary too much for fixed shares). The first walk of a large tree is bound by these
/// reads; later walks have few or none.
fn digest_all(
    pending: &[Pending],
    threads: usize,
    user: Option<&Identity>,
    buf: &mut Vec<u8>,
) -> Vec<Digested> {
    let one = |buf: &mut Vec<u8>, at: usize| -> Option<Digested> {
        let p = pending.get(at)?;
        let read = digest_file(buf, &p.path, &p.meta);
        let denied = match (&read, user) {
            (Ok(_), Some(who)) => denied(who, &p.path, &p.meta, Kind::File),
            _ => None,
        };
        Some((at, read, denied))
    };
    let threads = threads.clamp(1, 64).min(pending.len().max(1));
    if threads == 1 {
        return (0..pending.len()).filter_map(|at| one(buf, at)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut buf = Vec::new();
                    let mut out = Vec::new();
                    loop {
                        let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(d) = one(&mut buf, at) else { break };
                        out.push(d);
                    }
                    out
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| {
                // A worker only reads files and hashes bytes; should one panic all the same,
                // its files are reported unreadable rather than the walk failing.
                w.join().unwrap_or_default()
            })
            .collect()
    })
}

impl Walker {
    /// A walker with an empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Digests cached now.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    /// Walks every root and returns the manifest, sorted by path.
    pub fn walk(
        &mut self,
        spec: &WalkSpec,
        host: &str,
        stats: &mut WalkStats,
    ) -> Result<Manifest, WalkError> {
        let start = SystemTime::now();
        let fresh_after = start
            .checked_sub(FRESH)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| {
                ns(
                    i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                    i64::from(d.subsec_nanos()),
                )
            });
        let mut entries: Vec<Entry> = Vec::new();
        let mut pending: Vec<Pending> = Vec::new();
        let mut seen_dirs: HashSet<(u64, u64)> = HashSet::new();
        // Entries move from the old cache to the new one, so a file deleted since is forgotten.
        let mut next_cache: HashMap<(u64, u64), Cached> = HashMap::with_capacity(self.cache.len());
        let rootfs = spec.rootfs.clone();
        for root in &spec.roots {
            let top = rootfs.join(root.trim_start_matches('/'));
            // Children carry the `lstat` done relative to their directory's descriptor
            // (`fstatat`), which spares the kernel a walk of the whole path per entry.
            let mut stack: Vec<(PathBuf, Option<std::io::Result<Metadata>>)> = vec![(top, None)];
            let mut first = true;
            while let Some((path, pre)) = stack.pop() {
                let meta = match pre.unwrap_or_else(|| std::fs::symlink_metadata(&path)) {
                    Ok(m) => m,
                    Err(e) if first && e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(e) => {
                        entries.push(self.error_entry(&rootfs, &path, format!("lstat: {e}")));
                        continue;
                    }
                };
                first = false;
                if entries.len() >= spec.max_entries {
                    return Err(WalkError::TooLarge {
                        limit: spec.max_entries,
                    });
                }
                let rel = node_path(&rootfs, &path);
                let kind = kind_of(&meta);
                let mut entry = Entry {
                    path: rel,
                    kind,
                    size: meta.size(),
                    mode: meta.mode() & 0o7777,
                    uid: meta.uid(),
                    gid: meta.gid(),
                    mtime: meta.mtime(),
                    digest: None,
                    unreadable: None,
                };
                let key = (meta.dev(), meta.ino());
                let (mtime_ns, ctime_ns) = (
                    ns(meta.mtime(), meta.mtime_nsec()),
                    ns(meta.ctime(), meta.ctime_nsec()),
                );
                match kind {
                    Kind::File | Kind::Symlink => {
                        let hit = self.cache.remove(&key).filter(|c| {
                            c.size == entry.size && c.mtime_ns == mtime_ns && c.ctime_ns == ctime_ns
                        });
                        if let Some(c) = hit {
                            stats.cached += 1;
                            entry.digest = c.digest;
                            entry.unreadable.clone_from(&c.unreadable);
                            next_cache.insert(key, c);
                        } else if kind == Kind::File {
                            pending.push(Pending {
                                index: entries.len(),
                                path,
                                meta,
                                cacheable: ctime_ns < fresh_after && mtime_ns < fresh_after,
                            });
                        } else {
                            // A link's target is digested; who may read a link is not asked.
                            entry.digest = std::fs::read_link(&path)
                                .map(|t| xxhash_rust::xxh3::xxh3_128(t.as_os_str().as_bytes()))
                                .map_err(|e| entry.unreadable = Some(format!("readlink: {e}")))
                                .ok();
                            if ctime_ns < fresh_after && mtime_ns < fresh_after {
                                next_cache.insert(
                                    key,
                                    Cached {
                                        size: entry.size,
                                        mtime_ns,
                                        ctime_ns,
                                        digest: entry.digest,
                                        unreadable: entry.unreadable.clone(),
                                    },
                                );
                            }
                        }
                    }
                    Kind::Dir => {
                        if let Some(who) = &spec.user {
                            entry.unreadable = denied(who, &path, &meta, kind);
                        }
                        if !seen_dirs.insert(key) {
                            entry.unreadable = Some(
                                "directory already walked (a loop or a bind mount)".to_owned(),
                            );
                        } else {
                            match std::fs::read_dir(&path) {
                                Ok(rd) => {
                                    for child in rd {
                                        match child {
                                            Ok(c) => {
                                                let p = c.path();
                                                if spec.exclude.is_empty()
                                                    || !excluded(
                                                        &spec.exclude,
                                                        &node_path(&rootfs, &p),
                                                        c.file_name().as_bytes(),
                                                    )
                                                {
                                                    stack.push((p, Some(c.metadata())));
                                                }
                                            }
                                            Err(e) => {
                                                entry.unreadable =
                                                    Some(format!("reading the directory: {e}"));
                                                break;
                                            }
                                        }
                                        if stack.len() > spec.max_entries {
                                            return Err(WalkError::TooLarge {
                                                limit: spec.max_entries,
                                            });
                                        }
                                    }
                                }
                                Err(e) => {
                                    entry.unreadable = Some(format!("opening the directory: {e}"))
                                }
                            }
                        }
                    }
                    Kind::Other => {}
                }
                stats.entries += 1;
                entries.push(entry);
            }
        }
        let mut reported = vec![false; pending.len()];
        for (at, read, denied) in digest_all(
            &pending,
            spec.digest_threads,
            spec.user.as_ref(),
            &mut self.buf,
        ) {
            let Some(entry) = pending.get(at).and_then(|p| entries.get_mut(p.index)) else {
                continue;
            };
            reported[at] = true;
            match read {
                Ok((d, n)) => {
                    stats.digested += 1;
                    stats.bytes_read += n;
                    entry.digest = Some(d);
                    entry.unreadable = denied;
                }
                Err(e) => entry.unreadable = Some(e),
            }
        }
        for (p, _) in pending.iter().zip(&reported).filter(|(_, r)| !**r) {
            if let Some(e) = entries.get_mut(p.index) {
                e.unreadable = Some("not read: its digest thread failed".to_owned());
            }
        }
        for p in &pending {
            let Some(e) = entries.get(p.index) else {
                continue;
            };
            if p.cacheable {
                next_cache.insert(
                    (p.meta.dev(), p.meta.ino()),
                    Cached {
                        size: e.size,
                        mtime_ns: ns(p.meta.mtime(), p.meta.mtime_nsec()),
                        ctime_ns: ns(p.meta.ctime(), p.meta.ctime_nsec()),
                        digest: e.digest,
                        unreadable: e.unreadable.clone(),
                    },
                );
            }
        }
        self.cache = next_cache;
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        entries.dedup_by(|later, earlier| later.path == earlier.path);
        Ok(Manifest {
            host: host.to_owned(),
            generated: start
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            roots: spec.roots.clone(),
            entries,
        })
    }

    fn error_entry(&self, rootfs: &Path, path: &Path, why: String) -> Entry {
        Entry {
            path: node_path(rootfs, path),
            kind: Kind::Other,
            size: 0,
            mode: 0,
            uid: 0,
            gid: 0,
            mtime: 0,
            digest: None,
            unreadable: Some(why),
        }
    }
}

/// The path as the node names it: `path` without the `--path.rootfs` prefix.
fn node_path(rootfs: &Path, path: &Path) -> Vec<u8> {
    match path.strip_prefix(rootfs) {
        Ok(rel) => {
            let mut v = b"/".to_vec();
            v.extend_from_slice(rel.as_os_str().as_bytes());
            if v.len() > 1 && v.ends_with(b"/") {
                v.pop();
            }
            v
        }
        Err(_) => path.as_os_str().as_bytes().to_vec(),
    }
}

/// Whether an exclude glob matches the full node path or the file name.
pub fn excluded(patterns: &[String], path: &[u8], name: &[u8]) -> bool {
    if patterns.is_empty() {
        return false;
    }
    let (path, name) = (String::from_utf8_lossy(path), String::from_utf8_lossy(name));
    patterns
        .iter()
        .any(|p| common::glob::matches(p, &path) || common::glob::matches(p, &name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("flink-walk-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("conf/sub")).unwrap();
        d
    }

    fn spec(root: &Path, max: usize) -> WalkSpec {
        WalkSpec {
            rootfs: root.to_path_buf(),
            roots: vec!["/conf".into()],
            exclude: vec!["*.tmp".into()],
            max_entries: max,
            user: Some(Identity {
                name: "omm".into(),
                uid: 54_321,
                gid: 54_321,
                groups: vec![],
            }),
            digest_threads: 2,
        }
    }

    #[test]
    fn digest_threads_change_nothing_but_the_time() {
        let d = tmp("threads");
        for i in 0..200 {
            let body = vec![u8::try_from(i % 251).unwrap(); i * 37];
            std::fs::write(d.join(format!("conf/sub/f{i}")), body).unwrap();
        }
        std::fs::set_permissions(
            d.join("conf/sub/f7"),
            std::fs::Permissions::from_mode(0o000),
        )
        .unwrap();
        let walk = |threads| {
            let mut s = spec(&d, 1000);
            s.digest_threads = threads;
            let mut stats = WalkStats::default();
            let m = Walker::new().walk(&s, "h", &mut stats).unwrap();
            (m.entries, stats.digested, stats.bytes_read)
        };
        let one = walk(1);
        assert_eq!(one.1, 200);
        let f7 = one.0.iter().find(|e| e.path.ends_with(b"/f7")).unwrap();
        assert!(
            f7.unreadable.as_deref().unwrap().contains("mode 0000"),
            "{f7:?}"
        );
        assert_eq!(walk(3), one);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn the_walk_lists_digests_excludes_and_caches() {
        let d = tmp("basic");
        std::fs::write(d.join("conf/a.yaml"), b"a: 1\n").unwrap();
        std::fs::write(d.join("conf/sub/b.xml"), b"<b/>").unwrap();
        std::fs::write(d.join("conf/skip.tmp"), b"x").unwrap();
        std::os::unix::fs::symlink("/nowhere/../conf", d.join("conf/sub/loop")).unwrap();
        std::os::unix::fs::symlink("..", d.join("conf/sub/up")).unwrap();
        let old = SystemTime::now() - Duration::from_secs(60);
        for f in ["conf/a.yaml", "conf/sub/b.xml"] {
            let file = std::fs::File::options()
                .write(true)
                .open(d.join(f))
                .unwrap();
            file.set_modified(old).unwrap();
        }
        let mut w = Walker::new();
        let mut st = WalkStats::default();
        let m = w.walk(&spec(&d, 100), "h", &mut st).unwrap();
        let paths: Vec<String> = m.entries.iter().map(Entry::path_text).collect();
        assert_eq!(
            paths,
            [
                "/conf",
                "/conf/a.yaml",
                "/conf/sub",
                "/conf/sub/b.xml",
                "/conf/sub/loop",
                "/conf/sub/up"
            ]
        );
        let a = &m.entries[1];
        assert_eq!(a.digest, Some(xxhash_rust::xxh3::xxh3_128(b"a: 1\n")));
        assert_eq!(m.entries[5].kind, Kind::Symlink);
        assert_eq!(st.digested, 2);
        // ctime is "now" in a fresh test directory: not cached yet (racy window).
        std::thread::sleep(FRESH + Duration::from_millis(100));
        let mut st2 = WalkStats::default();
        w.walk(&spec(&d, 100), "h", &mut st2).unwrap();
        let mut st3 = WalkStats::default();
        let again = w.walk(&spec(&d, 100), "h", &mut st3).unwrap();
        assert_eq!(st3.digested, 0, "{st3:?}");
        assert_eq!(st3.cached, 4, "two files, two links");
        assert_eq!(again.entries, m.entries);
        // A same-size edit with the mtime put back is still seen (ctime moved).
        std::fs::write(d.join("conf/a.yaml"), b"a: 2\n").unwrap();
        std::fs::File::options()
            .write(true)
            .open(d.join("conf/a.yaml"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        let mut st4 = WalkStats::default();
        let edited = w.walk(&spec(&d, 100), "h", &mut st4).unwrap();
        assert_eq!(
            edited.entries[1].digest,
            Some(xxhash_rust::xxh3::xxh3_128(b"a: 2\n"))
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn unreadable_for_the_sync_user_newline_and_non_utf8_names_and_bounds() {
        let d = tmp("odd");
        let odd = std::ffi::OsStr::from_bytes(b"bad\nname\xff");
        std::fs::write(d.join("conf").join(odd), b"z").unwrap();
        let secret = d.join("conf/secret.crt");
        std::fs::write(&secret, b"k").unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
        let mut w = Walker::new();
        let m = w
            .walk(&spec(&d, 100), "h", &mut WalkStats::default())
            .unwrap();
        let e = m
            .entries
            .iter()
            .find(|e| e.path.ends_with(b"secret.crt"))
            .unwrap();
        let why = e.unreadable.as_deref().unwrap();
        assert!(
            why.contains("not readable by omm") && why.contains("mode 0000"),
            "{why}"
        );
        assert!(m.entries.iter().any(|e| e.path.ends_with(b"bad\nname\xff")));
        let err = w
            .walk(&spec(&d, 3), "h", &mut WalkStats::default())
            .unwrap_err();
        assert!(err.to_string().contains("more than 3 entries"), "{err}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_missing_root_gives_no_entries_not_an_error() {
        let d = tmp("missing");
        let mut s = spec(&d, 10);
        s.roots = vec!["/absent".into()];
        let m = Walker::new()
            .walk(&s, "h", &mut WalkStats::default())
            .unwrap();
        assert!(m.entries.is_empty());
        let _ = std::fs::remove_dir_all(&d);
    }
}
