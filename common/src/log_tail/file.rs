//! Incremental reading of a growing log file, following rotation, so a scrape costs the new
//! bytes rather than the file size.
//!
//! Rotation by rename (logrotate's default) is detected by the path pointing at a new inode: the
//! old file is drained to its end first (over several calls when it holds more than one call's
//! byte budget), then the new one is read from its start. The open handle keeps reading the old
//! inode even after it has been renamed, compressed and deleted, so one rotation between two
//! calls loses nothing. Rotation by `copytruncate` is detected by the file becoming shorter than
//! our offset; the lines appended between the last call and the copy are only in the copy, and
//! are not read here (see [`super::FamilyTail`] for what the rotations add).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::collector::CollectError;

/// Where to start reading a file seen for the first time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// Read what is already there (tests, short logs).
    Beginning,
    /// Only lines appended from now on (`tail -f`), the default for big system logs.
    End,
}

/// Longest line kept; longer lines are cut (the rest of the line is dropped).
pub const MAX_LINE: usize = 64 * 1024;

/// Most bytes read in one call; the remainder is read by the next call.
pub const DEFAULT_MAX_READ: u64 = 16 * 1024 * 1024;

/// An incremental reader of one log file.
#[derive(Debug)]
pub struct LogTail {
    path: PathBuf,
    start: StartAt,
    file: Option<File>,
    inode: u64,
    offset: u64,
    partial: Vec<u8>,
    /// Whether the current partial line has already been cut at `MAX_LINE`.
    partial_cut: bool,
    max_read: u64,
    attempted: bool,
    bytes_read: u64,
    rotations: u64,
    /// The last rename rotation this reader moved past, for [`super::FamilyTail`].
    switch: Option<Switch>,
    /// The last bytes consumed from the current file, to recognise its copy.
    recent: Vec<u8>,
    /// CRC-32 of everything consumed from the current file, when read from its start: gzip
    /// stores the same checksum, so a compressed rotation of it is recognised exactly.
    crc: Option<flate2::Crc>,
    /// The last truncation (`copytruncate`) this reader restarted after.
    truncation: Option<Truncation>,
}

/// Bytes remembered of the end of what was read, to recognise a `copytruncate` copy.
const RECENT: usize = 64;

/// A restart from offset 0 of a truncated file, within one `read_lines` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Truncation {
    /// Index in the returned lines where the truncated file's new lines begin.
    pub(super) at: usize,
    /// Bytes of the file read before it was truncated.
    pub(super) old_offset: u64,
    /// The last bytes read before the truncation (at most 64).
    pub(super) recent: Vec<u8>,
    /// The unfinished line at the truncation.
    pub(super) partial: Vec<u8>,
    /// CRC-32 of the `old_offset` bytes read, when read from the start.
    pub(super) crc: Option<u32>,
}

/// A move from a renamed-away file to the new one at the path, within one `read_lines` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Switch {
    /// Index in the returned lines where the new file's lines begin.
    pub(super) at: usize,
    /// Inode of the file left.
    pub(super) old_inode: u64,
    /// Bytes of the file left (all of it was read).
    pub(super) old_len: u64,
    /// Its last bytes (at most 64).
    pub(super) recent: Vec<u8>,
    /// CRC-32 of all of it, when it was read from its start.
    pub(super) crc: Option<u32>,
}

impl LogTail {
    /// A reader of `path`; nothing is opened until the first [`LogTail::read_lines`].
    pub fn new(path: impl Into<PathBuf>, start: StartAt) -> Self {
        Self {
            path: path.into(),
            start,
            file: None,
            inode: 0,
            offset: 0,
            partial: Vec::new(),
            partial_cut: false,
            max_read: DEFAULT_MAX_READ,
            attempted: false,
            bytes_read: 0,
            rotations: 0,
            switch: None,
            recent: Vec::new(),
            crc: None,
            truncation: None,
        }
    }

    /// Caps the bytes read per call (the default is 16 MiB).
    pub fn with_max_read(mut self, max: u64) -> Self {
        self.max_read = max.max(1);
        self
    }

    /// The file being followed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Total bytes consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Rotations seen so far.
    pub fn rotations(&self) -> u64 {
        self.rotations
    }

    /// The rename rotation the last [`LogTail::read_lines`] moved past, if any.
    pub(super) fn take_switch(&mut self) -> Option<Switch> {
        self.switch.take()
    }

    /// The truncation the last [`LogTail::read_lines`] restarted after, if any.
    pub(super) fn take_truncation(&mut self) -> Option<Truncation> {
        self.truncation.take()
    }

    fn open(&mut self, from_start: bool) -> Result<bool, CollectError> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            // A log that does not exist yet (or is between rename and re-create) has no lines.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(CollectError::io(&self.path, e)),
        };
        let meta = file
            .metadata()
            .map_err(|e| CollectError::io(&self.path, e))?;
        self.inode = meta.ino();
        self.offset = if from_start { 0 } else { meta.len() };
        self.recent.clear();
        if !from_start {
            // What precedes the offset identifies this file's copy, should it be truncated
            // before we read anything of it.
            let keep = self.offset.min(RECENT as u64);
            self.recent.resize(usize::try_from(keep).unwrap_or(0), 0);
            if file
                .read_exact_at(&mut self.recent, self.offset - keep)
                .is_err()
            {
                self.recent.clear();
            }
        }
        self.crc = from_start.then(flate2::Crc::new);
        self.file = Some(file);
        self.partial.clear();
        self.partial_cut = false;
        Ok(true)
    }

    /// Complete lines appended since the last call (without their newline, lossily decoded).
    pub fn read_lines(&mut self) -> Result<Vec<String>, CollectError> {
        let mut lines = Vec::new();
        self.switch = None;
        self.truncation = None;
        if self.file.is_none() {
            // Only the very first look honours StartAt::End; a file that appears later is new.
            let from_start = self.attempted || self.start == StartAt::Beginning;
            self.attempted = true;
            if !self.open(from_start)? {
                return Ok(lines);
            }
        }
        let mut budget = self.max_read;
        budget -= self.drain(&mut lines, budget)?;

        // Has the path moved on to a new file (rename rotation) or been truncated?
        match std::fs::metadata(&self.path) {
            // The budget ran out inside the renamed-away file: finish it first, next call.
            Ok(meta) if meta.ino() != self.inode && budget == 0 => {}
            Ok(meta) if meta.ino() != self.inode => {
                self.flush_partial(&mut lines);
                self.rotations += 1;
                let left = Switch {
                    at: lines.len(),
                    old_inode: self.inode,
                    old_len: self.offset,
                    recent: self.recent.clone(),
                    crc: self.crc.as_ref().map(flate2::Crc::sum),
                };
                if self.open(true)? {
                    self.switch = Some(left);
                    self.drain(&mut lines, budget)?;
                }
            }
            Ok(meta) if meta.len() < self.offset => {
                self.rotations += 1;
                self.truncation = Some(Truncation {
                    at: lines.len(),
                    old_offset: self.offset,
                    recent: std::mem::take(&mut self.recent),
                    partial: std::mem::take(&mut self.partial),
                    crc: self.crc.as_ref().map(flate2::Crc::sum),
                });
                self.crc = Some(flate2::Crc::new());
                self.offset = 0;
                self.partial.clear();
                self.partial_cut = false;
                self.drain(&mut lines, budget)?;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Renamed away and not re-created yet: keep the old handle, look again next time.
            }
            Err(e) => return Err(CollectError::io(&self.path, e)),
        }
        Ok(lines)
    }

    /// Reads from the current offset to EOF (at most `budget` bytes); returns bytes consumed.
    fn drain(&mut self, lines: &mut Vec<String>, budget: u64) -> Result<u64, CollectError> {
        let Some(file) = self.file.as_mut() else {
            return Ok(0);
        };
        file.seek(SeekFrom::Start(self.offset))
            .map_err(|e| CollectError::io(&self.path, e))?;
        let mut buf = Vec::new();
        file.take(budget)
            .read_to_end(&mut buf)
            .map_err(|e| CollectError::io(&self.path, e))?;
        let n = buf.len() as u64;
        let keep = buf.len().min(RECENT);
        let drop = (self.recent.len() + keep).saturating_sub(RECENT);
        self.recent.drain(..drop);
        self.recent.extend_from_slice(&buf[buf.len() - keep..]);
        if let Some(crc) = self.crc.as_mut() {
            crc.update(&buf);
        }
        self.offset += n;
        self.bytes_read += n;
        let mut rest = buf.as_slice();
        while let Some(pos) = rest.iter().position(|b| *b == b'\n') {
            self.push_partial(&rest[..pos]);
            lines.push(String::from_utf8_lossy(&self.partial).into_owned());
            self.partial.clear();
            self.partial_cut = false;
            rest = &rest[pos + 1..];
        }
        self.push_partial(rest);
        Ok(n)
    }

    fn push_partial(&mut self, bytes: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.partial.len());
        if bytes.len() > room {
            self.partial_cut = true;
        }
        self.partial
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// A rotated-away file's last line may lack its newline; it is complete all the same.
    fn flush_partial(&mut self, lines: &mut Vec<String>) {
        if !self.partial.is_empty() {
            lines.push(String::from_utf8_lossy(&self.partial).into_owned());
        }
        self.partial.clear();
        self.partial_cut = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tmp(tag: &str) -> PathBuf {
        super::super::test_dir(&format!("file-{tag}")).join("messages")
    }

    fn append(p: &Path, s: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .unwrap();
        f.write_all(s.as_bytes()).unwrap();
    }

    #[test]
    fn reads_only_new_complete_lines() {
        let p = tmp("new");
        append(&p, "old line\n");
        let mut t = LogTail::new(&p, StartAt::End);
        assert!(t.read_lines().unwrap().is_empty());
        append(&p, "one\ntw");
        assert_eq!(t.read_lines().unwrap(), vec!["one"]);
        append(&p, "o\n");
        assert_eq!(t.read_lines().unwrap(), vec!["two"]);
        assert!(t.read_lines().unwrap().is_empty());
    }

    #[test]
    fn start_at_beginning_reads_existing_lines() {
        let p = tmp("begin");
        append(&p, "a\nb\n");
        let mut t = LogTail::new(&p, StartAt::Beginning);
        assert_eq!(t.read_lines().unwrap(), vec!["a", "b"]);
    }

    #[test]
    fn follows_rename_rotation_without_losing_lines() {
        let p = tmp("rename");
        append(&p, "");
        let mut t = LogTail::new(&p, StartAt::End);
        t.read_lines().unwrap();
        append(&p, "before\nlast-unterminated");
        std::fs::rename(&p, p.with_extension("1")).unwrap();
        append(&p, "after\n");
        assert_eq!(
            t.read_lines().unwrap(),
            vec!["before", "last-unterminated", "after"]
        );
        assert_eq!(t.rotations(), 1);
    }

    #[test]
    fn a_renamed_file_bigger_than_the_budget_is_finished_before_moving_on() {
        let p = tmp("rename-big");
        append(&p, "");
        let mut t = LogTail::new(&p, StartAt::End).with_max_read(8);
        t.read_lines().unwrap();
        append(&p, "aaa\nbbb\nccc\nddd\n");
        std::fs::rename(&p, p.with_extension("1")).unwrap();
        append(&p, "new\n");
        let mut got = Vec::new();
        for _ in 0..10 {
            got.extend(t.read_lines().unwrap());
        }
        assert_eq!(got, vec!["aaa", "bbb", "ccc", "ddd", "new"]);
        assert_eq!(t.rotations(), 1);
    }

    #[test]
    fn follows_copytruncate() {
        let p = tmp("trunc");
        append(&p, "a longer first line\n");
        let mut t = LogTail::new(&p, StartAt::Beginning);
        assert_eq!(t.read_lines().unwrap(), vec!["a longer first line"]);
        std::fs::write(&p, "").unwrap();
        append(&p, "y\n");
        assert_eq!(t.read_lines().unwrap(), vec!["y"]);
    }

    #[test]
    fn a_missing_file_has_no_lines_until_it_appears() {
        let p = tmp("missing");
        let mut t = LogTail::new(&p, StartAt::End);
        assert!(t.read_lines().unwrap().is_empty());
        append(&p, "first\n");
        // A file created after we started is read from its beginning.
        assert_eq!(t.read_lines().unwrap(), vec!["first"]);
    }

    #[test]
    fn reads_are_bounded_and_long_lines_cut() {
        let p = tmp("bounded");
        let long = "z".repeat(MAX_LINE + 10);
        append(&p, &format!("{long}\nshort\n"));
        let mut t = LogTail::new(&p, StartAt::Beginning).with_max_read(1000);
        assert!(t.read_lines().unwrap().is_empty());
        let mut got = Vec::new();
        for _ in 0..200 {
            got.extend(t.read_lines().unwrap());
            if got.len() == 2 {
                break;
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), MAX_LINE);
        assert_eq!(got[1], "short");
    }

    #[test]
    fn invalid_utf8_is_decoded_lossily() {
        let p = tmp("utf8");
        std::fs::write(&p, b"ok \xff\xfe end\n").unwrap();
        let mut t = LogTail::new(&p, StartAt::Beginning);
        assert_eq!(t.read_lines().unwrap(), vec!["ok \u{fffd}\u{fffd} end"]);
    }
}
