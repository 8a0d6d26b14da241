//! A log file together with its rotations as logrotate leaves them: `ha.log.1`, `ha.log.2.gz`
//! (numeric suffix), `ha.log-20261130`, `ha-2026-11-30.log.gz` (date suffix, `dateext` with or
//! without `extension`), plain or gzipped.
//!
//! Age order: date-suffixed files first, oldest date first, then numbered ones, highest number
//! (oldest) first, then the live file. When `ha.log.1` and `ha.log.1.gz` both exist (gzip is
//! still writing the compressed copy) the plain file is read and the `.gz` skipped. Other
//! compressions (`.xz`, `.bz2`, `.zst`) are not listed. Gzip output is capped per file
//! ([`LogFamily::with_max_file_bytes`]), so a gzip bomb costs at most that much work. Lines are
//! handed to a callback one at a time through a fixed buffer, so memory stays bounded (one
//! line of at most [`super::MAX_LINE`] bytes) whatever a file holds. Only regular files are
//! read: a rotation that is a device, a FIFO or a directory is a problem naming what it is.

use std::io::{ErrorKind, Read};
use std::ops::ControlFlow;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::error::LogError;
use super::lines::LineSplitter;
use super::tail_lines::{Tail, tail_lines_of};
use crate::regular_file::open_regular;

/// Default cap on the bytes read from one file of a family (after decompression).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Bytes read per step while scanning.
const CHUNK: usize = 64 * 1024;

/// How a rotated file is named relative to the live one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum RotationName {
    /// A date suffix, kept as its digits only (`2026-11-30` is `20261130`), ordered as text:
    /// right for any most-significant-first format (`%Y%m%d`, `%Y-%m-%d-%H`, `%s`).
    Dated(String),
    /// A numeric suffix (`.1` is the newest rotation).
    Numbered(u32),
}

/// One rotated file of a family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// Its path.
    pub path: PathBuf,
    /// What its name says about its age.
    pub name: RotationName,
    /// Whether it is gzip-compressed (`.gz`).
    pub gzip: bool,
}

impl Rotation {
    /// Sort key: older first.
    fn age_key(&self) -> (u8, &str, std::cmp::Reverse<u32>) {
        match &self.name {
            RotationName::Dated(d) => (0, d.as_str(), std::cmp::Reverse(0)),
            RotationName::Numbered(n) => (1, "", std::cmp::Reverse(*n)),
        }
    }
}

/// Digits of a date-like suffix (`20261130`, `2026-11-30`, `20261130-1530`, epoch seconds):
/// digits, `-` and `_` only, starting with a digit, at least 8 digits.
fn date_digits(s: &str) -> Option<String> {
    let first_is_digit = s.bytes().next().is_some_and(|b| b.is_ascii_digit());
    let allowed = s
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'-' || b == b'_');
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    (first_is_digit && allowed && digits.len() >= 8).then_some(digits)
}

/// When `candidate` (a file name) is a rotation of `base` (the live file's name): its number or
/// date, and whether it is gzipped.
pub fn rotation_name(base: &str, candidate: &str) -> Option<(RotationName, bool)> {
    let (stem, gzip) = match candidate.strip_suffix(".gz") {
        Some(s) => (s, true),
        None => (candidate, false),
    };
    if let Some(suffix) = stem.strip_prefix(base).and_then(|s| s.strip_prefix('.'))
        && !suffix.is_empty()
        && suffix.bytes().all(|b| b.is_ascii_digit())
    {
        return if suffix.len() >= 8 {
            Some((RotationName::Dated(suffix.to_owned()), gzip))
        } else {
            suffix
                .parse()
                .ok()
                .map(|n| (RotationName::Numbered(n), gzip))
        };
    }
    // `-DATE`, and `.DATE` with separators as Huawei's HA framework rotates its run log
    // (`ha.log.2021-03-22_12-00-07.gz`, MRS ALM-45641 step 12).
    if let Some(suffix) = stem
        .strip_prefix(base)
        .and_then(|s| s.strip_prefix('-').or_else(|| s.strip_prefix('.')))
        && let Some(d) = date_digits(suffix)
    {
        return Some((RotationName::Dated(d), gzip));
    }
    // logrotate's `extension .log`: the date goes before the extension (ha-2026-11-30.log).
    if let Some((base_stem, ext)) = base.rsplit_once('.').filter(|(s, _)| !s.is_empty()) {
        let middle = stem
            .strip_prefix(base_stem)
            .and_then(|s| s.strip_prefix('-'))
            .and_then(|s| s.strip_suffix(ext))
            .and_then(|s| s.strip_suffix('.'));
        if let Some(d) = middle.and_then(date_digits) {
            return Some((RotationName::Dated(d), gzip));
        }
    }
    None
}

/// The CRC-32 and size (modulo 2^32) of the uncompressed data a gzip file declares in its
/// trailer.
fn gzip_trailer(path: &Path) -> std::io::Result<(u32, u32)> {
    use std::io::{Seek, SeekFrom};
    let mut file = open_regular(path)?;
    file.seek(SeekFrom::End(-8))?;
    let mut trailer = [0u8; 8];
    file.read_exact(&mut trailer)?;
    let [c0, c1, c2, c3, s0, s1, s2, s3] = trailer;
    Ok((
        u32::from_le_bytes([c0, c1, c2, c3]),
        u32::from_le_bytes([s0, s1, s2, s3]),
    ))
}

/// Copies into the void, keeping a CRC-32 of what passed.
struct CrcSink(flate2::Crc);

impl std::io::Write for CrcSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The rotations of the log at `base`, oldest first (the live file itself is not included).
pub fn list_rotations(base: &Path) -> Result<Vec<Rotation>, LogError> {
    let Some(name) = base.file_name().and_then(|n| n.to_str()) else {
        return Ok(Vec::new());
    };
    let dir = match base.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(LogError::io(dir, e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| LogError::io(dir, e))?;
        let file_name = entry.file_name();
        let Some(candidate) = file_name.to_str() else {
            continue;
        };
        // logrotate leaves files; a directory or a socket of a matching name is not a log.
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if let Some((rot_name, gzip)) = rotation_name(name, candidate) {
            found.push(Rotation {
                path: entry.path(),
                name: rot_name,
                gzip,
            });
        }
    }
    found.sort_by(|a, b| a.age_key().cmp(&b.age_key()).then(a.gzip.cmp(&b.gzip)));
    // A plain file next to its .gz twin (compression under way): keep the plain one.
    found.dedup_by(|later, earlier| later.name == earlier.name);
    Ok(found)
}

/// What a [`LogFamily::scan`] went through.
#[derive(Debug, Default)]
pub struct ScanReport {
    /// Files read (rotations and the live file).
    pub files: usize,
    /// Bytes read (after decompression).
    pub bytes: u64,
    /// Files that could not be read whole: damaged gzip, over the size cap, unreadable. The
    /// lines read before the problem were delivered.
    pub problems: Vec<LogError>,
    /// Whether the callback stopped the scan early.
    pub stopped: bool,
}

/// A live log file and its rotations.
#[derive(Debug, Clone)]
pub struct LogFamily {
    base: PathBuf,
    max_file_bytes: u64,
}

impl LogFamily {
    /// The family of the live file at `base` (it need not exist).
    pub fn new(base: impl Into<PathBuf>) -> Self {
        Self {
            base: base.into(),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }

    /// Caps the bytes read from each file, after decompression (default 64 MiB).
    pub fn with_max_file_bytes(mut self, max: u64) -> Self {
        self.max_file_bytes = max.max(1);
        self
    }

    /// The live file.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// Its rotations, oldest first.
    pub fn rotations(&self) -> Result<Vec<Rotation>, LogError> {
        list_rotations(&self.base)
    }

    /// Every line of the family, oldest file first and the live file last, given to `f` with
    /// the file it came from; `f` may stop the scan. A file that vanishes between listing and
    /// opening (rotated again meanwhile) is skipped.
    pub fn scan(
        &self,
        f: impl FnMut(&Path, &str) -> ControlFlow<()>,
    ) -> Result<ScanReport, LogError> {
        let mut files = self.rotations()?;
        files.push(Rotation {
            path: self.base.clone(),
            name: RotationName::Numbered(0),
            gzip: false,
        });
        Ok(self.scan_files(&files, f))
    }

    /// [`LogFamily::scan`] over the given files, in the order given.
    pub(super) fn scan_files(
        &self,
        files: &[Rotation],
        mut f: impl FnMut(&Path, &str) -> ControlFlow<()>,
    ) -> ScanReport {
        let mut report = ScanReport::default();
        for file in files {
            match self.scan_file(&file.path, file.gzip, &mut f, &mut report) {
                Ok(ControlFlow::Continue(())) => {}
                Ok(ControlFlow::Break(())) => {
                    report.stopped = true;
                    break;
                }
                Err(LogError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {}
                Err(e) => report.problems.push(e),
            }
        }
        report
    }

    /// The last `n` lines of the family: the live file's, then older files' when it has fewer.
    /// `max_bytes` caps the bytes read from each plain file's end; gzip files are decompressed
    /// whole (up to the per-file cap) keeping only their last lines in memory. A gzip file that
    /// cannot be read to its end (damaged, over the cap), or a rotation that is not a regular
    /// file, ends the search with [`Tail::cut`] set: its last lines are unknown.
    pub fn tail_lines(&self, n: usize, max_bytes: u64) -> Result<Tail, LogError> {
        let mut newest_first: Vec<(PathBuf, bool)> = vec![(self.base.clone(), false)];
        newest_first.extend(
            self.rotations()?
                .into_iter()
                .rev()
                .map(|r| (r.path, r.gzip)),
        );
        let mut chunks: Vec<Vec<String>> = Vec::new();
        let mut have = 0;
        let mut cut = false;
        for (path, gzip) in newest_first {
            if have >= n || cut {
                break;
            }
            let want = n - have;
            let t = if gzip {
                let mut ring = std::collections::VecDeque::with_capacity(want.min(4096));
                let mut report = ScanReport::default();
                let mut keep = |_: &Path, l: &str| {
                    if ring.len() == want {
                        ring.pop_front();
                    }
                    ring.push_back(l.to_owned());
                    ControlFlow::Continue(())
                };
                match self.scan_file(&path, true, &mut keep, &mut report) {
                    Ok(_) => Tail {
                        lines: ring.into(),
                        cut: false,
                    },
                    Err(LogError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
                        Tail::default()
                    }
                    Err(_) => Tail {
                        lines: Vec::new(),
                        cut: true,
                    },
                }
            } else {
                match open_regular(&path) {
                    Ok(mut file) => tail_lines_of(&mut file, want, max_bytes)
                        .map_err(|e| LogError::io(&path, e))?,
                    Err(e) if e.kind() == ErrorKind::NotFound => Tail::default(),
                    // A rotation that is not a regular file hides what came before it, as a
                    // damaged gzip does; the live file itself must be one.
                    Err(e) if e.kind() == ErrorKind::InvalidInput && path != self.base => Tail {
                        lines: Vec::new(),
                        cut: true,
                    },
                    Err(e) => return Err(LogError::io(&path, e)),
                }
            };
            have += t.lines.len();
            cut = t.cut;
            chunks.push(t.lines);
        }
        Ok(Tail {
            lines: chunks.into_iter().rev().flatten().collect(),
            cut,
        })
    }

    /// Whether `rotation` is the file we read `len` bytes of (checksum `crc` when we read it
    /// from its start), ending with `recent`: for a plain file, the same inode; for a `.gz`,
    /// the size and CRC-32 of its trailer, or without `crc` its decompressed size and end.
    pub(super) fn is_file_read(
        &self,
        rotation: &Rotation,
        inode: u64,
        len: u64,
        crc: Option<u32>,
        recent: &[u8],
    ) -> bool {
        let recent_len = recent.len() as u64;
        if len < recent_len {
            return false;
        }
        if !rotation.gzip {
            let Ok(file) = open_regular(&rotation.path) else {
                return false;
            };
            if !file.metadata().is_ok_and(|m| m.ino() == inode) {
                return false;
            }
            let mut seen = vec![0u8; recent.len()];
            return file.read_exact_at(&mut seen, len - recent_len).is_ok() && seen == recent;
        }
        // gzip stores the size modulo 2^32, the comparison it allows.
        #[allow(clippy::cast_possible_truncation)]
        let declared = len as u32;
        let Ok((declared_crc, declared_len)) = gzip_trailer(&rotation.path) else {
            return false;
        };
        if len == 0 || declared_len != declared {
            return false;
        }
        if let Some(crc) = crc {
            return declared_crc == crc;
        }
        if len > self.max_file_bytes {
            return false;
        }
        let Ok(file) = open_regular(&rotation.path) else {
            return false;
        };
        let mut reader = MultiGzDecoder::new(file).take(len - recent_len);
        let skipped = std::io::copy(&mut reader, &mut std::io::sink()).ok();
        let mut reader = reader.into_inner();
        let mut seen = vec![0u8; recent.len()];
        let mut after = [0u8; 1];
        skipped == Some(len - recent_len)
            && reader.read_exact(&mut seen).is_ok()
            && seen == recent
            && matches!(reader.read(&mut after), Ok(0))
    }

    /// When `copy` is a copy of a file we read `offset` bytes of (checksum `crc` when read from
    /// its start), ending with `recent`: hands the lines after that point to `emit`, the first
    /// one continuing `partial`. Returns whether `copy` was recognised.
    pub(super) fn lines_of_copy_after(
        &self,
        copy: &Rotation,
        offset: u64,
        crc: Option<u32>,
        recent: &[u8],
        partial: &[u8],
        emit: &mut dyn FnMut(&str),
    ) -> Result<bool, LogError> {
        let recent_len = recent.len() as u64;
        if recent.is_empty() || offset < recent_len || offset > self.max_file_bytes {
            return Ok(false);
        }
        let file = open_regular(&copy.path).map_err(|e| LogError::io(&copy.path, e))?;
        let mut reader: Box<dyn Read> = if copy.gzip {
            Box::new(MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        };
        let wrap = |source: std::io::Error| {
            if copy.gzip {
                LogError::Gzip {
                    path: copy.path.clone(),
                    source,
                }
            } else {
                LogError::io(&copy.path, source)
            }
        };
        let mut sink = CrcSink(flate2::Crc::new());
        let skipped =
            std::io::copy(&mut (&mut reader).take(offset - recent_len), &mut sink).map_err(wrap)?;
        let mut seen = vec![0u8; recent.len()];
        if skipped != offset - recent_len || reader.read_exact(&mut seen).is_err() || seen != recent
        {
            return Ok(false);
        }
        sink.0.update(&seen);
        if crc.is_some_and(|crc| crc != sink.0.sum()) {
            return Ok(false);
        }
        let mut splitter = LineSplitter::default();
        let mut emit = |l: &str| {
            emit(l);
            ControlFlow::Continue(())
        };
        let _ = splitter.push(partial, &mut emit);
        let mut limited = reader.take(self.max_file_bytes - offset);
        let mut buf = vec![0u8; CHUNK];
        loop {
            match limited.read(&mut buf) {
                Ok(0) => break,
                Ok(got) => {
                    let _ = splitter.push(&buf[..got], &mut emit);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(wrap(e)),
            }
        }
        // The copy ends where the truncation cut; its last line is as complete as it gets.
        splitter.finish(&mut emit);
        Ok(true)
    }

    fn scan_file(
        &self,
        path: &Path,
        gzip: bool,
        f: &mut impl FnMut(&Path, &str) -> ControlFlow<()>,
        report: &mut ScanReport,
    ) -> Result<ControlFlow<()>, LogError> {
        let file = open_regular(path).map_err(|e| LogError::io(path, e))?;
        report.files += 1;
        let mut reader: Box<dyn Read> = if gzip {
            Box::new(MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        };
        let mut splitter = LineSplitter::default();
        let mut emit = |l: &str| f(path, l);
        let mut buf = vec![0u8; CHUNK];
        let mut total = 0u64;
        let outcome = loop {
            let room = self.max_file_bytes - total;
            if room == 0 {
                // One byte more tells a file of exactly the cap from a bigger one.
                let mut probe = [0u8; 1];
                break match reader.read(&mut probe) {
                    Ok(0) => Ok(ControlFlow::Continue(())),
                    _ => Err(LogError::TooLarge {
                        path: path.to_owned(),
                        limit: self.max_file_bytes,
                    }),
                };
            }
            let want = usize::try_from(room).unwrap_or(CHUNK).min(CHUNK);
            match reader.read(&mut buf[..want]) {
                Ok(0) => break Ok(ControlFlow::Continue(())),
                Ok(got) => {
                    total += got as u64;
                    report.bytes += got as u64;
                    if splitter.push(&buf[..got], &mut emit).is_break() {
                        return Ok(ControlFlow::Break(()));
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(source) if gzip => {
                    break Err(LogError::Gzip {
                        path: path.to_owned(),
                        source,
                    });
                }
                Err(e) => break Err(LogError::io(path, e)),
            }
        };
        // The last line of a whole file counts even without its newline; the end of a damaged
        // or capped one is a fragment.
        if outcome.is_ok() {
            splitter.finish(&mut emit);
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/log_tail/fixtures");

    /// A fresh temp dir holding a copy of `fixtures/<fixture>`.
    fn copy_fixture(fixture: &str, tag: &str) -> PathBuf {
        let dir = super::super::test_dir(&format!("rotated-{tag}"));
        for entry in std::fs::read_dir(Path::new(FIXTURES).join(fixture)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
        dir
    }

    /// Every line of the family, collected (the tests' view of the callback).
    fn read_all(family: &LogFamily) -> (Vec<String>, ScanReport) {
        let mut lines = Vec::new();
        let report = family
            .scan(|_, l| {
                lines.push(l.to_owned());
                ControlFlow::Continue(())
            })
            .unwrap();
        (lines, report)
    }

    fn names(rotations: &[Rotation]) -> Vec<String> {
        rotations
            .iter()
            .map(|r| r.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn names_of_every_logrotate_style_are_recognised() {
        let n = |s: &str| rotation_name("ha.log", s);
        assert_eq!(n("ha.log.1"), Some((RotationName::Numbered(1), false)));
        assert_eq!(n("ha.log.12.gz"), Some((RotationName::Numbered(12), true)));
        assert_eq!(
            n("ha.log-20261130"),
            Some((RotationName::Dated("20261130".into()), false))
        );
        assert_eq!(
            n("ha.log.20261130.gz"),
            Some((RotationName::Dated("20261130".into()), true))
        );
        assert_eq!(
            n("ha-2026-11-30.log.gz"),
            Some((RotationName::Dated("20261130".into()), true))
        );
        assert_eq!(
            n("ha.log.2021-03-22_12-00-07.gz"),
            Some((RotationName::Dated("20210322120007".into()), true))
        );
        assert_eq!(
            n("ha.log-1764590000"),
            Some((RotationName::Dated("1764590000".into()), false))
        );
        for other in [
            "ha.log",
            "ha.log.gz",
            "ha.log.1.xz",
            "ha.log.bak",
            "ha.log-old",
            "ha.log-2026",
            "hb.log.1",
            "ha.logx.1",
            "ha-2026-11-30.txt",
            "ha.log.1.gz.tmp",
        ] {
            assert_eq!(n(other), None, "{other}");
        }
    }

    #[test]
    fn rotations_are_listed_oldest_first() {
        let dir = copy_fixture("family", "list");
        let rots = list_rotations(&dir.join("ha.log")).unwrap();
        assert_eq!(
            names(&rots),
            vec!["ha-2026-11-27.log.gz", "ha.log.2.gz", "ha.log.1"]
        );
        assert_eq!(
            rots.iter().map(|r| r.gzip).collect::<Vec<_>>(),
            vec![true, true, false]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_plain_file_wins_over_its_gz_twin_being_written() {
        let dir = copy_fixture("family", "twin");
        std::fs::copy(dir.join("ha.log.2.gz"), dir.join("ha.log.1.gz")).unwrap();
        let rots = list_rotations(&dir.join("ha.log")).unwrap();
        assert_eq!(
            names(&rots),
            vec!["ha-2026-11-27.log.gz", "ha.log.2.gz", "ha.log.1"]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_directory_has_no_rotations() {
        assert!(
            list_rotations(Path::new("/nonexistent/dir/ha.log"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn gzipped_rotations_are_read_before_plain_ones_and_the_live_file_last() {
        let dir = copy_fixture("family", "read");
        let (lines, report) = read_all(&LogFamily::new(dir.join("ha.log")));
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.files, 4);
        let terms: Vec<&str> = lines
            .iter()
            .filter_map(|l| l.split("Leadership ").nth(1))
            .collect();
        assert_eq!(
            terms,
            vec!["granted, term 41", "revoked, term 41", "granted, term 42"]
        );
        assert_eq!(lines.len(), 2 + 3 + 2 + 3);
        assert_eq!(
            lines.last().unwrap(),
            "2026-11-30 08:00:30,000 WARN  [ha-elector] Heartbeat late by 4100ms"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn scan_says_which_file_each_line_came_from_and_can_stop() {
        let dir = copy_fixture("family", "stop");
        let mut seen = Vec::new();
        let report = LogFamily::new(dir.join("ha.log"))
            .scan(|path, line| {
                seen.push(path.file_name().unwrap().to_string_lossy().into_owned());
                if line.contains("term 42") {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .unwrap();
        assert!(report.stopped);
        assert_eq!(
            seen,
            vec![
                "ha-2026-11-27.log.gz",
                "ha-2026-11-27.log.gz",
                "ha.log.2.gz",
                "ha.log.2.gz",
                "ha.log.2.gz"
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_truncated_gzip_gives_its_whole_lines_and_a_problem() {
        let dir = copy_fixture("ugly", "trunc");
        let (lines, report) = read_all(&LogFamily::new(dir.join("ha.log")));
        assert!(!lines.is_empty());
        assert!(
            lines.iter().all(|l| l.ends_with("Heartbeat ok, term 40")),
            "{lines:?}"
        );
        assert_eq!(report.problems.len(), 1);
        assert!(
            matches!(&report.problems[0], LogError::Gzip { path, .. } if path.ends_with("ha.log.3.gz"))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn binary_garbage_named_gz_is_a_problem_not_a_failure() {
        let dir = copy_fixture("ugly", "garbage");
        let (lines, report) = read_all(&LogFamily::new(dir.join("garbage.log")));
        assert!(lines.is_empty());
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        assert!(report.problems[0].to_string().contains("garbage.log.1.gz"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_gzip_bomb_is_cut_at_the_decompressed_cap() {
        let dir = super::super::test_dir("rotated-bomb");
        // 64 MiB of zeros without a newline compress to ~64 KiB.
        let bomb = gz(&vec![0u8; 64 * 1024 * 1024]);
        assert!(bomb.len() < 200 * 1024);
        std::fs::write(dir.join("ha.log.1.gz"), &bomb).unwrap();
        std::fs::write(dir.join("ha.log"), "live\n").unwrap();
        let (lines, report) =
            read_all(&LogFamily::new(dir.join("ha.log")).with_max_file_bytes(1024 * 1024));
        assert_eq!(lines, vec!["live"]);
        assert!(
            matches!(
                &report.problems[..],
                [LogError::TooLarge {
                    limit: 1_048_576,
                    ..
                }]
            ),
            "{:?}",
            report.problems
        );
        assert_eq!(report.bytes, 1024 * 1024 + 5);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_of_exactly_the_cap_is_not_too_large() {
        let dir = super::super::test_dir("rotated-exact");
        std::fs::write(dir.join("x.log.1.gz"), gz(b"abc\n")).unwrap();
        let (lines, report) = read_all(&LogFamily::new(dir.join("x.log")).with_max_file_bytes(4));
        assert_eq!(lines, vec!["abc"]);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rotations_that_are_not_regular_files_are_problems_not_hangs() {
        let dir = super::super::test_dir("rotated-kinds");
        std::fs::write(dir.join("ha.log"), "live\n").unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.join("ha.log.1")).unwrap();
        super::super::make_fifo(&dir.join("ha.log.2"));
        std::os::unix::fs::symlink("/dev/zero", dir.join("ha.log.3.gz")).unwrap();
        let family = LogFamily::new(dir.join("ha.log")).with_max_file_bytes(1 << 20);
        let f = family.clone();
        let fifo = dir.join("ha.log.2");
        let (lines, report) = super::super::within_10s(&[&fifo], move || read_all(&f));
        assert_eq!(lines, vec!["live"]);
        let mut problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        problems.sort();
        assert_eq!(problems.len(), 3, "{problems:?}");
        for (problem, (name, what)) in problems.iter().zip([
            ("ha.log.1", "a character device"),
            ("ha.log.2", "a FIFO"),
            ("ha.log.3.gz", "a character device"),
        ]) {
            assert!(
                problem.contains(name)
                    && problem.contains(&format!("is {what}, not a regular file")),
                "{problem}"
            );
        }
        let t = super::super::within_10s(&[&fifo], move || family.tail_lines(10, 4096)).unwrap();
        assert_eq!(t.lines, vec!["live"]);
        assert!(t.cut);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn one_line_and_crlf_files_read_like_any_other() {
        let dir = copy_fixture("ugly", "odd");
        let (lines, _) = read_all(&LogFamily::new(dir.join("one-line.log")));
        assert_eq!(
            lines,
            vec!["2026-11-30 09:00:00,000 INFO  [main] FlinkServer started"]
        );
        let (lines, _) = read_all(&LogFamily::new(dir.join("crlf.log")));
        assert_eq!(
            lines,
            vec![
                "2026-11-30 09:00:00,000 INFO  [main] started",
                "2026-11-30 09:00:01,000 WARN  [main] bad byte \u{fffd} here"
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_tail_of_a_family_stops_at_a_damaged_gzip() {
        let dir = copy_fixture("ugly", "tail-damaged");
        std::fs::write(dir.join("ha.log"), "live 1\nlive 2\n").unwrap();
        let t = LogFamily::new(dir.join("ha.log"))
            .tail_lines(5, 4096)
            .unwrap();
        assert_eq!(t.lines, vec!["live 1", "live 2"]);
        assert!(t.cut);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_tail_of_a_family_reaches_into_gzipped_rotations() {
        let dir = copy_fixture("family", "tail");
        let family = LogFamily::new(dir.join("ha.log"));
        let t = family.tail_lines(2, 4096).unwrap();
        assert_eq!(t.lines.len(), 2);
        assert!(t.lines[1].ends_with("late by 4100ms"));
        let t = family.tail_lines(7, 4096).unwrap();
        assert_eq!(t.lines.len(), 7);
        assert!(
            t.lines[0].ends_with("Leadership revoked, term 41"),
            "{:?}",
            t.lines
        );
        assert!(t.lines[2].ends_with("Standby fs-node-2 registered"));
        let t = family.tail_lines(1000, 4096).unwrap();
        assert_eq!(t.lines.len(), 10);
        assert!(!t.cut);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
