//! Incremental reading of a growing log file, following rotation, so a scrape costs the new
//! bytes rather than the file size.
//!
//! Lines are handed to a callback one at a time as they are read through a fixed 64 KiB buffer,
//! never collected: memory stays bounded whatever the file holds (random bytes, lines of
//! megabytes). A line longer than [`MAX_LINE`] is cut there; the rest of it is skipped and the
//! cut counted ([`LogTail::lines_cut`]). A call reads at most its byte budget
//! ([`LogTail::with_max_read`]); the rest is read by the next call.
//!
//! Only regular files are read: a path that is (or leads to) a device, a FIFO or a directory is
//! an error naming what it is, and is never read or waited on.
//!
//! Rotation by rename (logrotate's default) is detected by the path pointing at a new inode: the
//! old file is drained to its end first (over several calls when it holds more than one call's
//! byte budget), then the new one is read from its start. The open handle keeps reading the old
//! inode even after it has been renamed, compressed and deleted, so one rotation between two
//! calls loses nothing.
//!
//! Rotation by `copytruncate` is detected by identity, not size alone: before reading on, the
//! bytes already read must still be there, the first bytes of the file and the ones just before
//! our offset (64 of each). A file that was truncated and then regrown past our offset between
//! two calls fails that check and is read again from its start. Only a file rewritten with the
//! very same bytes at both places goes unnoticed. The lines appended between the last call and
//! the copy are only in the copy, and are not read here (see [`super::FamilyTail`]).

use std::fs::File;
use std::ops::ControlFlow;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::lines::LineSplitter;
use crate::collector::CollectError;
use crate::regular_file::open_regular;

/// Where to start reading a file seen for the first time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// Read what is already there (tests, short logs).
    Beginning,
    /// Only lines appended from now on (`tail -f`), the default for big system logs.
    End,
}

/// Longest line handed out, in bytes; longer lines are cut (the rest of the line is skipped).
pub const MAX_LINE: usize = 64 * 1024;

/// Most bytes read in one call; the remainder is read by the next call.
pub const DEFAULT_MAX_READ: u64 = 16 * 1024 * 1024;

/// Bytes read from the file per step.
const CHUNK: usize = 64 * 1024;

/// Bytes remembered of the start of the file and of the end of what was read, to recognise the
/// file (and its `copytruncate` copy).
const RECENT: usize = 64;

/// An incremental reader of one log file.
#[derive(Debug)]
pub struct LogTail {
    path: PathBuf,
    start: StartAt,
    file: Option<File>,
    /// Device and inode of the open file.
    id: (u64, u64),
    offset: u64,
    splitter: LineSplitter,
    max_read: u64,
    attempted: bool,
    bytes_read: u64,
    rotations: u64,
    /// The first bytes of the current file (at most 64).
    head: Vec<u8>,
    /// The last bytes consumed from the current file (at most 64).
    recent: Vec<u8>,
    /// CRC-32 of everything consumed from the current file, when read from its start: gzip
    /// stores the same checksum, so a compressed rotation of it is recognised exactly.
    crc: Option<flate2::Crc>,
}

/// What a read passes on, in file order.
#[derive(Debug)]
pub(super) enum TailEvent<'a> {
    /// A complete line.
    Line(&'a str),
    /// The path moved on to a new file; the old one's lines came before, the new one's follow.
    Switched(Switch),
    /// The file was truncated (and maybe regrown); what it holds now follows, from its start.
    Truncated(Truncation),
}

/// A restart from offset 0 of a truncated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Truncation {
    /// Bytes of the file read before it was truncated.
    pub(super) old_offset: u64,
    /// The last bytes read before the truncation (at most 64).
    pub(super) recent: Vec<u8>,
    /// The unfinished line at the truncation.
    pub(super) partial: Vec<u8>,
    /// CRC-32 of the `old_offset` bytes read, when read from the start.
    pub(super) crc: Option<u32>,
}

/// A move from a renamed-away file to the new one at the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Switch {
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
            id: (0, 0),
            offset: 0,
            splitter: LineSplitter::default(),
            max_read: DEFAULT_MAX_READ,
            attempted: false,
            bytes_read: 0,
            rotations: 0,
            head: Vec::new(),
            recent: Vec::new(),
            crc: None,
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

    /// Lines longer than [`MAX_LINE`] handed out cut so far.
    pub fn lines_cut(&self) -> u64 {
        self.splitter.cut_lines()
    }

    fn io(&self, e: std::io::Error) -> CollectError {
        CollectError::io(&self.path, e)
    }

    fn open(&mut self, from_start: bool) -> Result<bool, CollectError> {
        let file = match open_regular(&self.path) {
            Ok(f) => f,
            // A log that does not exist yet (or is between rename and re-create) has no lines.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(self.io(e)),
        };
        let meta = file.metadata().map_err(|e| self.io(e))?;
        self.id = (meta.dev(), meta.ino());
        self.offset = if from_start { 0 } else { meta.len() };
        self.head.clear();
        self.recent.clear();
        if !from_start {
            // What the file holds up to the offset identifies it (and its copy), should it be
            // truncated before we read anything of it.
            self.head = read_at_most(&file, 0, self.offset);
            let keep = self.offset.min(RECENT as u64);
            self.recent = read_at_most(&file, self.offset - keep, self.offset);
        }
        self.crc = from_start.then(flate2::Crc::new);
        self.file = Some(file);
        self.splitter.take_partial();
        Ok(true)
    }

    /// Hands each complete line appended since the last call to `each` (without its newline,
    /// lossily decoded, cut at [`MAX_LINE`]). On an error the lines before it were handed out.
    pub fn read_lines(&mut self, mut each: impl FnMut(&str)) -> Result<(), CollectError> {
        self.read_events(&mut |event| {
            if let TailEvent::Line(line) = event {
                each(line);
            }
        })
    }

    /// [`LogTail::read_lines`], also telling where rotations happened between the lines.
    pub(super) fn read_events(
        &mut self,
        on: &mut dyn FnMut(TailEvent<'_>),
    ) -> Result<(), CollectError> {
        if self.file.is_none() {
            // Only the very first look honours StartAt::End; a file that appears later is new.
            let from_start = self.attempted || self.start == StartAt::Beginning;
            self.attempted = true;
            if !self.open(from_start)? {
                return Ok(());
            }
        }
        if !self.still_the_file_read() {
            // Truncated (copytruncate), perhaps regrown past our offset: read it from its start.
            self.rotations += 1;
            let cut = Truncation {
                old_offset: self.offset,
                recent: std::mem::take(&mut self.recent),
                partial: self.splitter.take_partial(),
                crc: self.crc.as_ref().map(flate2::Crc::sum),
            };
            self.crc = Some(flate2::Crc::new());
            self.offset = 0;
            self.head.clear();
            on(TailEvent::Truncated(cut));
        }
        let mut budget = self.max_read;
        budget -= self.drain(budget, on)?;

        // Has the path moved on to a new file (rename rotation)?
        match std::fs::metadata(&self.path) {
            // The budget ran out inside the renamed-away file: finish it first, next call.
            Ok(meta) if (meta.dev(), meta.ino()) != self.id && budget == 0 => {}
            Ok(meta) if (meta.dev(), meta.ino()) != self.id => {
                // A rotated-away file's last line may lack its newline; it is complete all the same.
                self.splitter.finish(&mut |line| {
                    on(TailEvent::Line(line));
                    ControlFlow::Continue(())
                });
                let left = Switch {
                    old_inode: self.id.1,
                    old_len: self.offset,
                    recent: self.recent.clone(),
                    crc: self.crc.as_ref().map(flate2::Crc::sum),
                };
                match self.open(true) {
                    Ok(true) => {
                        self.rotations += 1;
                        on(TailEvent::Switched(left));
                        self.drain(budget, on)?;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        // Not a file we read (a device, a FIFO): the old one is finished, so let
                        // it go and look at the path afresh next time, counting no rotation.
                        self.file = None;
                        return Err(e);
                    }
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Renamed away and not re-created yet: keep the old handle, look again next time.
            }
            Err(e) => return Err(self.io(e)),
        }
        Ok(())
    }

    /// Whether the open file still holds what we read of it: its first bytes and the ones just
    /// before our offset. A file shorter than the offset fails too.
    fn still_the_file_read(&self) -> bool {
        let Some(file) = self.file.as_ref() else {
            return true;
        };
        if self.offset == 0 {
            return true;
        }
        let same_at = |at: u64, expected: &[u8]| {
            let mut seen = vec![0u8; expected.len()];
            file.read_exact_at(&mut seen, at).is_ok() && seen == expected
        };
        let recent_at = self.offset - self.recent.len() as u64;
        // The byte at the offset - 1 also proves the file is at least that long.
        same_at(0, &self.head) && same_at(recent_at, &self.recent) && {
            let mut last = [0u8; 1];
            file.read_exact_at(&mut last, self.offset - 1).is_ok()
        }
    }

    /// Reads from the current offset towards EOF, at most `budget` bytes, handing out the lines;
    /// returns the bytes consumed.
    fn drain(
        &mut self,
        budget: u64,
        on: &mut dyn FnMut(TailEvent<'_>),
    ) -> Result<u64, CollectError> {
        let mut buf = vec![0u8; usize::try_from(budget).unwrap_or(CHUNK).min(CHUNK)];
        let mut total = 0u64;
        while total < budget {
            let want = usize::try_from(budget - total)
                .unwrap_or(CHUNK)
                .min(buf.len());
            let Some(file) = self.file.as_ref() else {
                break;
            };
            let n = match file.read_at(&mut buf[..want], self.offset) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io(e)),
            };
            let chunk = &buf[..n];
            self.consumed(chunk);
            total += n as u64;
            let _ = self.splitter.push(chunk, &mut |line| {
                on(TailEvent::Line(line));
                ControlFlow::Continue(())
            });
        }
        Ok(total)
    }

    /// Moves the offset past `chunk`, remembering what identifies the file.
    fn consumed(&mut self, chunk: &[u8]) {
        // The head is only ever the file's first bytes, gathered while reading from its start.
        if self.head.len() < RECENT && self.head.len() as u64 == self.offset {
            let room = RECENT - self.head.len();
            self.head.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        let keep = chunk.len().min(RECENT);
        let drop = (self.recent.len() + keep).saturating_sub(RECENT);
        self.recent.drain(..drop);
        self.recent.extend_from_slice(&chunk[chunk.len() - keep..]);
        if let Some(crc) = self.crc.as_mut() {
            crc.update(chunk);
        }
        self.offset += chunk.len() as u64;
        self.bytes_read += chunk.len() as u64;
    }
}

/// Up to [`RECENT`] bytes of `file` from `at`, but not past `end`; empty when unreadable.
fn read_at_most(file: &File, at: u64, end: u64) -> Vec<u8> {
    let len = end.saturating_sub(at).min(RECENT as u64);
    let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0)];
    if file.read_exact_at(&mut buf, at).is_err() {
        buf.clear();
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// The lines of one call, collected (the tests' view of the callback).
    fn read(t: &mut LogTail) -> Result<Vec<String>, CollectError> {
        let mut lines = Vec::new();
        t.read_lines(|l| lines.push(l.to_owned()))?;
        Ok(lines)
    }

    /// Removes a test's directory when the test ends, passed or not.
    struct Cleanup(PathBuf);

    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The log path of a test (`messages` in a fresh directory) and the directory's clean-up.
    fn tmp(tag: &str) -> (PathBuf, Cleanup) {
        let dir = super::super::test_dir(&format!("file-{tag}"));
        (dir.join("messages"), Cleanup(dir))
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
        let (p, _dir) = tmp("new");
        append(&p, "old line\n");
        let mut t = LogTail::new(&p, StartAt::End);
        assert!(read(&mut t).unwrap().is_empty());
        append(&p, "one\ntw");
        assert_eq!(read(&mut t).unwrap(), vec!["one"]);
        append(&p, "o\n");
        assert_eq!(read(&mut t).unwrap(), vec!["two"]);
        assert!(read(&mut t).unwrap().is_empty());
    }

    #[test]
    fn start_at_beginning_reads_existing_lines() {
        let (p, _dir) = tmp("begin");
        append(&p, "a\nb\n");
        let mut t = LogTail::new(&p, StartAt::Beginning);
        assert_eq!(read(&mut t).unwrap(), vec!["a", "b"]);
    }

    #[test]
    fn follows_rename_rotation_without_losing_lines() {
        let (p, _dir) = tmp("rename");
        append(&p, "");
        let mut t = LogTail::new(&p, StartAt::End);
        read(&mut t).unwrap();
        append(&p, "before\nlast-unterminated");
        std::fs::rename(&p, p.with_extension("1")).unwrap();
        append(&p, "after\n");
        assert_eq!(
            read(&mut t).unwrap(),
            vec!["before", "last-unterminated", "after"]
        );
        assert_eq!(t.rotations(), 1);
    }

    #[test]
    fn a_renamed_file_bigger_than_the_budget_is_finished_before_moving_on() {
        let (p, _dir) = tmp("rename-big");
        append(&p, "");
        let mut t = LogTail::new(&p, StartAt::End).with_max_read(8);
        read(&mut t).unwrap();
        append(&p, "aaa\nbbb\nccc\nddd\n");
        std::fs::rename(&p, p.with_extension("1")).unwrap();
        append(&p, "new\n");
        let mut got = Vec::new();
        for _ in 0..10 {
            got.extend(read(&mut t).unwrap());
        }
        assert_eq!(got, vec!["aaa", "bbb", "ccc", "ddd", "new"]);
        assert_eq!(t.rotations(), 1);
    }

    #[test]
    fn follows_copytruncate() {
        let (p, _dir) = tmp("trunc");
        append(&p, "a longer first line\n");
        let mut t = LogTail::new(&p, StartAt::Beginning);
        assert_eq!(read(&mut t).unwrap(), vec!["a longer first line"]);
        std::fs::write(&p, "").unwrap();
        append(&p, "y\n");
        assert_eq!(read(&mut t).unwrap(), vec!["y"]);
    }

    #[test]
    fn a_missing_file_has_no_lines_until_it_appears() {
        let (p, _dir) = tmp("missing");
        let mut t = LogTail::new(&p, StartAt::End);
        assert!(read(&mut t).unwrap().is_empty());
        append(&p, "first\n");
        // A file created after we started is read from its beginning.
        assert_eq!(read(&mut t).unwrap(), vec!["first"]);
    }

    #[test]
    fn reads_are_bounded_and_long_lines_cut() {
        let (p, _dir) = tmp("bounded");
        let long = "z".repeat(MAX_LINE + 10);
        append(&p, &format!("{long}\nshort\n"));
        let mut t = LogTail::new(&p, StartAt::Beginning).with_max_read(1000);
        assert!(read(&mut t).unwrap().is_empty());
        let mut got = Vec::new();
        for _ in 0..200 {
            got.extend(read(&mut t).unwrap());
            if got.len() == 2 {
                break;
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), MAX_LINE);
        assert_eq!(got[1], "short");
        assert_eq!(t.lines_cut(), 1);
    }

    fn truncate(p: &Path) {
        std::fs::OpenOptions::new()
            .write(true)
            .open(p)
            .unwrap()
            .set_len(0)
            .unwrap();
    }

    fn stamped(from: usize, n: usize, what: &str) -> String {
        (from..from + n)
            .map(|i| {
                format!(
                    "2026-11-30 10:{:02}:{:02},000 INFO {what} {i}\n",
                    i / 60,
                    i % 60
                )
            })
            .collect()
    }

    #[test]
    fn a_file_truncated_and_regrown_past_the_offset_is_read_from_its_start() {
        for start in [StartAt::Beginning, StartAt::End] {
            let (p, _dir) = tmp(&format!("regrow-{start:?}"));
            append(&p, &stamped(0, 5, "history"));
            let mut t = LogTail::new(&p, start);
            read(&mut t).unwrap();
            append(&p, &stamped(5, 50, "before"));
            let before = read(&mut t).unwrap();
            assert_eq!(before.len(), 50, "{start:?}");
            // copytruncate, then more lines than were read before the next call.
            truncate(&p);
            append(&p, &stamped(100, 150, "after"));
            let after = read(&mut t).unwrap();
            assert_eq!(after.len(), 150, "{start:?}: {:?}", after.first());
            assert!(after[0].ends_with("after 100"), "{}", after[0]);
            assert_eq!(t.rotations(), 1);
            append(&p, "next\n");
            assert_eq!(read(&mut t).unwrap(), vec!["next"]);
        }
    }

    #[test]
    fn a_regrown_file_with_the_same_first_line_is_told_by_the_bytes_before_the_offset() {
        let (p, _dir) = tmp("regrow-same-head");
        let banner = "=== server log opened ===\n";
        append(&p, &format!("{banner}{}", stamped(0, 20, "old")));
        let mut t = LogTail::new(&p, StartAt::Beginning);
        assert_eq!(read(&mut t).unwrap().len(), 21);
        truncate(&p);
        append(&p, &format!("{banner}{}", stamped(30, 40, "new")));
        let got = read(&mut t).unwrap();
        assert_eq!(got.len(), 41, "{:?}", got.first());
        assert_eq!(got[0], banner.trim_end());
    }

    #[test]
    fn a_symlink_to_dev_zero_is_refused_and_counts_no_rotation() {
        let (p, _dir) = tmp("zero");
        std::os::unix::fs::symlink("/dev/zero", &p).unwrap();
        let mut t = LogTail::new(&p, StartAt::Beginning).with_max_read(1 << 20);
        let err = read(&mut t).unwrap_err().to_string();
        assert!(
            err.contains(&p.display().to_string())
                && err.contains("is a character device, not a regular file"),
            "{err}"
        );
        assert_eq!(t.bytes_read(), 0);

        // A log swapped for the device after it was read.
        let q = p.with_file_name("swapped");
        append(&q, "real line\n");
        let mut t = LogTail::new(&q, StartAt::Beginning).with_max_read(1 << 20);
        assert_eq!(read(&mut t).unwrap(), vec!["real line"]);
        std::fs::remove_file(&q).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &q).unwrap();
        for _ in 0..3 {
            let err = read(&mut t).unwrap_err().to_string();
            assert!(err.contains("is a character device"), "{err}");
        }
        assert_eq!(t.rotations(), 0);
        assert_eq!(t.bytes_read(), 10);
        // Once a regular file is back it is read from its start.
        std::fs::remove_file(&q).unwrap();
        append(&q, "back\n");
        assert_eq!(read(&mut t).unwrap(), vec!["back"]);
    }

    #[test]
    fn a_fifo_is_refused_at_once_instead_of_blocking() {
        let (p, _dir) = tmp("fifo");
        super::super::make_fifo(&p);
        let q = p.clone();
        let got = super::super::within_10s(&[&p], move || {
            read(&mut LogTail::new(&q, StartAt::Beginning)).map_err(|e| e.to_string())
        });
        let err = got.unwrap_err();
        assert!(err.contains("is a FIFO, not a regular file"), "{err}");
    }

    #[test]
    fn a_directory_is_refused_with_what_it_is() {
        let (p, _dir) = tmp("dir");
        std::fs::create_dir(&p).unwrap();
        let err = read(&mut LogTail::new(&p, StartAt::Beginning))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is a directory, not a regular file"), "{err}");
    }

    #[test]
    fn invalid_utf8_is_decoded_lossily() {
        let (p, _dir) = tmp("utf8");
        std::fs::write(&p, b"ok \xff\xfe end\n").unwrap();
        let mut t = LogTail::new(&p, StartAt::Beginning);
        assert_eq!(read(&mut t).unwrap(), vec!["ok \u{fffd}\u{fffd} end"]);
    }
}
