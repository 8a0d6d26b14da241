//! Reading one directory's manifest: its direct entries with `lstat` (a symlink is recorded,
//! never followed), and a SHA-256 of each regular file up to the size limit. A file is opened
//! only after `lstat` said it is a regular file, with `O_NOFOLLOW | O_NONBLOCK`, and read only
//! when `fstat` of the opened handle is still that regular file: a path swapped for a FIFO, a
//! device or a symlink between the two calls is never read.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::{FileType, Metadata, OpenOptions};
use std::io::{ErrorKind, Read as _};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use super::baseline::Entry;

/// Why a directory could not be read: never reported as "no change".
#[derive(Debug, thiserror::Error)]
pub(crate) enum ScanError {
    /// `lstat`, `opendir`, `readdir` or an entry's `lstat` failed (permission, I/O).
    #[error("directory {path}: {op}: {source}")]
    Io {
        /// The directory or entry.
        path: PathBuf,
        /// The step that failed.
        op: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The configured path is something else than a directory.
    #[error("directory {path}: is {what}, not a directory")]
    NotADirectory {
        /// The configured path (under the root).
        path: PathBuf,
        /// What it is.
        what: &'static str,
    },
}

/// One directory as a pass found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The path does not exist (a host without sudo has no `/etc/sudoers.d`).
    Missing,
    /// Its entries (at most the limit), and how many more were left out.
    Present {
        /// By name ([`name_text`]).
        entries: BTreeMap<String, Entry>,
        /// Entries beyond `max_entries`, not watched.
        over_limit: usize,
    },
}

/// Limits of one scan.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Regular files up to this size are hashed.
    pub(crate) hash_max_bytes: u64,
    /// Entries watched (the first ones by name).
    pub(crate) max_entries: usize,
}

/// Reads the manifest of `dir`.
pub(crate) fn scan(dir: &Path, limits: Limits) -> Result<Scan, ScanError> {
    let io = |path: &Path, op: &'static str| {
        let path = path.to_path_buf();
        move |source| ScanError::Io { path, op, source }
    };
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Scan::Missing),
        Err(e) => return Err(io(dir, "lstat")(e)),
    };
    if !meta.is_dir() {
        // A symlink in place of the directory is not followed: under --path.rootfs an absolute
        // target would leave the root, and the operator should name the real directory.
        return Err(ScanError::NotADirectory {
            path: dir.to_path_buf(),
            what: common::regular_file::what(meta.file_type()),
        });
    }
    let mut names = Vec::new();
    for item in std::fs::read_dir(dir).map_err(io(dir, "opening it"))? {
        names.push(item.map_err(io(dir, "reading its entries"))?.file_name());
    }
    // Byte order, so the watched subset of an over-full directory is the same at every pass.
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let over_limit = names.len().saturating_sub(limits.max_entries);
    names.truncate(limits.max_entries);
    let mut entries = BTreeMap::new();
    for name in names {
        let path = dir.join(&name);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            // Removed since readdir: the next pass reports it gone.
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(io(&path, "lstat")(e)),
        };
        entries.insert(name_text(&name), entry(&path, &meta, limits.hash_max_bytes));
    }
    Ok(Scan::Present {
        entries,
        over_limit,
    })
}

/// The entry of `path` as `lstat` described it.
fn entry(path: &Path, meta: &Metadata, hash_max_bytes: u64) -> Entry {
    let kind = meta.file_type();
    let sha256 = (kind.is_file() && meta.size() <= hash_max_bytes)
        .then(|| hash_file(path, meta, hash_max_bytes))
        .flatten();
    let link = kind
        .is_symlink()
        .then(|| std::fs::read_link(path).ok())
        .flatten()
        .map(|t| name_text(t.as_os_str()));
    Entry {
        kind: kind_name(kind).to_owned(),
        size: meta.size(),
        mtime_ns: meta
            .mtime()
            .saturating_mul(1_000_000_000)
            .saturating_add(meta.mtime_nsec()),
        ctime_ns: meta
            .ctime()
            .saturating_mul(1_000_000_000)
            .saturating_add(meta.ctime_nsec()),
        inode: meta.ino(),
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        sha256,
        link,
    }
}

/// The content's SHA-256, or `None` when the file cannot be read (a 0600 key of another user),
/// is no longer the file `lstat` saw, or has grown past the limit: its metadata still counts.
fn hash_file(path: &Path, seen: &Metadata, max_bytes: u64) -> Option<String> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .ok()?;
    let now = file.metadata().ok()?;
    if !now.is_file() || now.ino() != seen.ino() {
        return None;
    }
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut reader = file.take(max_bytes.saturating_add(1));
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        total += n as u64;
        ctx.update(buf.get(..n)?);
    }
    if total > max_bytes {
        return None;
    }
    Some(
        ctx.finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

/// A file name as text, losslessly: UTF-8 names as they are, a backslash doubled, other bytes
/// as `\xNN` (names are bytes on Linux; two names must never map to one key).
pub(crate) fn name_text(name: &OsStr) -> String {
    match name.to_str() {
        Some(s) if !s.contains('\\') => s.to_owned(),
        _ => {
            let mut out = String::new();
            for chunk in name.as_bytes().utf8_chunks() {
                for c in chunk.valid().chars() {
                    if c == '\\' {
                        out.push_str("\\\\");
                    } else {
                        out.push(c);
                    }
                }
                for b in chunk.invalid() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            }
            out
        }
    }
}

/// The `kind` recorded for a file type.
fn kind_name(t: FileType) -> &'static str {
    if t.is_file() {
        "file"
    } else if t.is_dir() {
        "dir"
    } else if t.is_symlink() {
        "symlink"
    } else if t.is_fifo() {
        "fifo"
    } else if t.is_socket() {
        "socket"
    } else if t.is_char_device() {
        "char"
    } else if t.is_block_device() {
        "block"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        hash_max_bytes: 16,
        max_entries: 100,
    };

    fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("os-manifest-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(s: Scan) -> (BTreeMap<String, Entry>, usize) {
        match s {
            Scan::Present {
                entries,
                over_limit,
            } => (entries, over_limit),
            Scan::Missing => panic!("missing"),
        }
    }

    #[test]
    fn small_files_are_hashed_links_and_fifos_are_recorded_never_opened() {
        let d = temp("kinds");
        std::fs::write(d.join("small"), "abc").unwrap();
        std::fs::write(d.join("big"), "x".repeat(17)).unwrap();
        std::os::unix::fs::symlink("/dev/zero", d.join("link")).unwrap();
        let fifo = std::process::Command::new("mkfifo")
            .arg(d.join("fifo"))
            .status()
            .unwrap();
        assert!(fifo.success());
        std::fs::create_dir(d.join("sub")).unwrap();
        let (e, over) = entries(scan(&d, LIMITS).unwrap());
        assert_eq!(over, 0);
        assert_eq!(
            e["small"].sha256.as_deref(),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(e["big"].sha256, None, "over hash_max_bytes");
        assert_eq!(e["link"].kind, "symlink");
        assert_eq!(e["link"].link.as_deref(), Some("/dev/zero"));
        assert_eq!(e["fifo"].kind, "fifo");
        assert_eq!(e["fifo"].sha256, None);
        assert_eq!(e["sub"].kind, "dir");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_missing_path_is_missing_a_file_or_symlink_an_error_naming_it() {
        let d = temp("missing");
        assert_eq!(scan(&d.join("absent"), LIMITS).unwrap(), Scan::Missing);
        std::fs::write(d.join("f"), "").unwrap();
        let e = scan(&d.join("f"), LIMITS).unwrap_err().to_string();
        assert!(
            e.contains("is a regular file, not a directory") && e.contains("/f"),
            "{e}"
        );
        std::os::unix::fs::symlink(&d, d.join("l")).unwrap();
        let e = scan(&d.join("l"), LIMITS).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn over_the_cap_the_first_names_are_watched_and_the_rest_counted() {
        let d = temp("cap");
        for n in ["c", "a", "b"] {
            std::fs::write(d.join(n), "").unwrap();
        }
        let (e, over) = entries(
            scan(
                &d,
                Limits {
                    max_entries: 2,
                    ..LIMITS
                },
            )
            .unwrap(),
        );
        assert_eq!(e.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(over, 1);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn names_are_text_without_collisions() {
        assert_eq!(name_text(OsStr::new("sshd_config")), "sshd_config");
        assert_eq!(name_text(OsStr::from_bytes(b"a\xffb")), "a\\xffb");
        assert_eq!(name_text(OsStr::new("a\\xffb")), "a\\\\xffb");
    }
}
