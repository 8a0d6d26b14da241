//! Following a live log together with its rotations, so that lines that only exist in rotated
//! (possibly gzipped) files are read too.
//!
//! What is guaranteed, on top of [`LogTail`]'s own guarantees:
//! * With [`StartAt::Beginning`], the first call returns every rotation's lines, oldest first
//!   (see [`LogFamily`] for the order), then the live file's. A rotation that happens between
//!   listing the rotations and opening the live file can make that first call miss or repeat
//!   one generation.
//! * One rename rotation between two calls loses nothing and repeats nothing (the open handle
//!   finishes the old file, whatever happened to its name).
//! * Several rename rotations between two calls: the generations in between (rotated away
//!   before we ever opened them) are read from the rotations and returned between the old
//!   file's lines and the new file's, provided the file we were reading can still be found
//!   among the rotations: as a plain file by its inode and last bytes, or as a `.gz` by the
//!   size and CRC-32 its trailer declares (when we read the file from its start; otherwise by
//!   its size and last 64 bytes). If it cannot be found (deleted, empty and compressed), the
//!   generations in between are skipped, never read twice.
//! * `copytruncate`: lines written between the last call and the copy are only in the copy; they
//!   are read from the newest rotation (plain or `.gz`) when it starts with what we read (same
//!   CRC-32 over the bytes we read, when we read from the start, and the same last 64 bytes),
//!   and returned before the truncated file's new lines. Otherwise they are skipped. A
//!   truncation is noticed by the file no longer holding the bytes we read, also when it was
//!   regrown past our offset before the next call (see [`LogTail`]). Lines written between the
//!   copy and the truncation are lost for every reader (a property of `copytruncate`).
//!
//! Lines are handed to a callback one at a time, rotations' lines included, in bounded memory.

use std::ops::ControlFlow;
use std::path::PathBuf;

use super::error::LogError;
use super::file::{LogTail, StartAt, TailEvent};
use super::rotated::{LogFamily, Rotation};
use crate::collector::CollectError;

/// An incremental reader of a log file and its rotations.
#[derive(Debug)]
pub struct FamilyTail {
    family: LogFamily,
    tail: LogTail,
    start: StartAt,
    started: bool,
    problems: Vec<LogError>,
}

impl FamilyTail {
    /// A reader of the live file at `base` and its rotations; nothing is read until the first
    /// [`FamilyTail::read_lines`].
    pub fn new(base: impl Into<PathBuf>, start: StartAt) -> Self {
        let base = base.into();
        Self {
            family: LogFamily::new(base.clone()),
            tail: LogTail::new(base, start),
            start,
            started: false,
            problems: Vec::new(),
        }
    }

    /// Caps the bytes read from the live file per call (see [`LogTail::with_max_read`]).
    pub fn with_max_read(mut self, max: u64) -> Self {
        self.tail = self.tail.with_max_read(max);
        self
    }

    /// Caps the bytes read from each rotation, after decompression.
    pub fn with_max_file_bytes(mut self, max: u64) -> Self {
        self.family = self.family.with_max_file_bytes(max);
        self
    }

    /// The reader of the live file (bytes read, rotations seen).
    pub fn live(&self) -> &LogTail {
        &self.tail
    }

    /// Rotations that could not be read whole since the last call (damaged gzip, over the
    /// cap, not a regular file); their readable lines were handed out.
    pub fn take_problems(&mut self) -> Vec<LogError> {
        std::mem::take(&mut self.problems)
    }

    /// Hands each complete line since the last call to `each`, oldest first (see the module
    /// docs for what is guaranteed around rotations). On an error the lines before it were
    /// handed out.
    pub fn read_lines(&mut self, mut each: impl FnMut(&str)) -> Result<(), CollectError> {
        let family = &self.family;
        let problems = &mut self.problems;
        if !self.started {
            self.started = true;
            if self.start == StartAt::Beginning {
                scan(family, &family.rotations()?, &mut each, problems);
            }
        }
        self.tail.read_events(&mut |event| match event {
            TailEvent::Line(line) => each(line),
            TailEvent::Switched(switch) => match family.rotations() {
                Ok(rotations) => {
                    let was_left = |r: &Rotation| {
                        family.is_file_read(
                            r,
                            switch.old_inode,
                            switch.old_len,
                            switch.crc,
                            &switch.recent,
                        )
                    };
                    // The generations rotated away after ours, before we saw the path move.
                    if let Some(left) = rotations.iter().rposition(was_left) {
                        scan(family, &rotations[left + 1..], &mut each, problems);
                    }
                }
                Err(e) => problems.push(e),
            },
            TailEvent::Truncated(cut) => {
                let copy = family.rotations().map(|r| r.last().cloned());
                let found = copy.and_then(|copy| match copy {
                    Some(copy) => family.lines_of_copy_after(
                        &copy,
                        cut.old_offset,
                        cut.crc,
                        &cut.recent,
                        &cut.partial,
                        &mut each,
                    ),
                    None => Ok(false),
                });
                if let Err(e) = found {
                    problems.push(e);
                }
            }
        })
    }
}

/// Hands the lines of `rotations` to `each`, keeping what could not be read in `problems`.
fn scan(
    family: &LogFamily,
    rotations: &[Rotation],
    each: &mut dyn FnMut(&str),
    problems: &mut Vec<LogError>,
) {
    let report = family.scan_files(rotations, |_, line| {
        each(line);
        ControlFlow::Continue(())
    });
    problems.extend(report.problems);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::Path;

    /// The lines of one call, collected (the tests' view of the callback).
    fn read(t: &mut FamilyTail) -> Vec<String> {
        let mut lines = Vec::new();
        t.read_lines(|l| lines.push(l.to_owned())).unwrap();
        lines
    }

    fn dir(tag: &str) -> PathBuf {
        super::super::test_dir(&format!("family-{tag}"))
    }

    fn append(p: &Path, s: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .unwrap();
        f.write_all(s.as_bytes()).unwrap();
    }

    /// What `gzip` does to a rotated file: a compressed copy, then the original removed.
    fn compress(p: &Path) {
        let bytes = std::fs::read(p).unwrap();
        let mut gz_path = p.as_os_str().to_owned();
        gz_path.push(".gz");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(PathBuf::from(gz_path)).unwrap(),
            flate2::Compression::default(),
        );
        enc.write_all(&bytes).unwrap();
        enc.finish().unwrap();
        std::fs::remove_file(p).unwrap();
    }

    /// Shifts every `.N` (and `.N.gz`) up by one, oldest first, as logrotate does.
    fn shift(base: &Path) {
        let name = |n: u32| PathBuf::from(format!("{}.{n}", base.display()));
        let highest = (1..)
            .take_while(|n| {
                name(*n).exists() || PathBuf::from(format!("{}.gz", name(*n).display())).exists()
            })
            .last()
            .unwrap_or(0);
        for n in (1..=highest).rev() {
            for ext in ["", ".gz"] {
                let from = PathBuf::from(format!("{}{ext}", name(n).display()));
                if from.exists() {
                    std::fs::rename(&from, format!("{}{ext}", name(n + 1).display())).unwrap();
                }
            }
        }
    }

    /// logrotate's numbered rename rotation; `compress_second` is `compress` +
    /// `delaycompress` (the generation before the newest one gets gzipped).
    fn rotate(base: &Path, compress_second: bool) {
        shift(base);
        std::fs::rename(base, format!("{}.1", base.display())).unwrap();
        let second = PathBuf::from(format!("{}.2", base.display()));
        if compress_second && second.exists() {
            compress(&second);
        }
    }

    #[test]
    fn from_beginning_reads_gzipped_rotations_then_the_live_file() {
        let d = dir("begin");
        let base = d.join("ha.log");
        append(&base, "g1\n");
        rotate(&base, true);
        append(&base, "g2\n");
        rotate(&base, true);
        append(&base, "g3\n");
        rotate(&base, true);
        append(&base, "live\n");
        assert!(d.join("ha.log.3.gz").exists() && d.join("ha.log.1").exists());
        let mut t = FamilyTail::new(&base, StartAt::Beginning);
        assert_eq!(read(&mut t), vec!["g1", "g2", "g3", "live"]);
        append(&base, "next\n");
        assert_eq!(read(&mut t), vec!["next"]);
        assert!(t.take_problems().is_empty());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn from_end_reads_no_rotation_at_start() {
        let d = dir("end");
        let base = d.join("ha.log");
        append(&base, "old\n");
        rotate(&base, false);
        append(&base, "current\n");
        let mut t = FamilyTail::new(&base, StartAt::End);
        assert!(read(&mut t).is_empty());
        append(&base, "new\n");
        assert_eq!(read(&mut t), vec!["new"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn one_rotation_with_compression_between_calls_loses_and_repeats_nothing() {
        let d = dir("one");
        let base = d.join("ha.log");
        append(&base, "a\n");
        let mut t = FamilyTail::new(&base, StartAt::Beginning);
        assert_eq!(read(&mut t), vec!["a"]);
        append(&base, "b\n");
        rotate(&base, false);
        compress(&d.join("ha.log.1"));
        append(&base, "c\n");
        assert_eq!(read(&mut t), vec!["b", "c"]);
        assert!(read(&mut t).is_empty());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn generations_rotated_away_between_calls_are_recovered_from_plain_rotations() {
        let d = dir("plain");
        let base = d.join("ha.log");
        append(&base, "a\n");
        let mut t = FamilyTail::new(&base, StartAt::Beginning);
        assert_eq!(read(&mut t), vec!["a"]);
        append(&base, "b\n");
        rotate(&base, false);
        append(&base, "missed-1\nmissed-2\n");
        rotate(&base, false);
        append(&base, "c\n");
        assert_eq!(read(&mut t), vec!["b", "missed-1", "missed-2", "c"]);
        assert!(read(&mut t).is_empty());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn generations_rotated_away_between_calls_are_recovered_when_ours_was_gzipped() {
        let d = dir("gz");
        let base = d.join("ha.log");
        append(&base, "a\n");
        let mut t = FamilyTail::new(&base, StartAt::Beginning);
        assert_eq!(read(&mut t), vec!["a"]);
        append(&base, "b\n");
        rotate(&base, false);
        append(&base, "missed\n");
        // delaycompress: the older generation (the one we were reading) gets compressed.
        rotate(&base, true);
        append(&base, "c\n");
        assert!(d.join("ha.log.2.gz").exists());
        assert_eq!(read(&mut t), vec!["b", "missed", "c"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_left_file_that_cannot_be_found_skips_the_middle_without_repeating() {
        let d = dir("gone");
        let base = d.join("ha.log");
        append(&base, "a\n");
        let mut t = FamilyTail::new(&base, StartAt::Beginning);
        assert_eq!(read(&mut t), vec!["a"]);
        append(&base, "b\n");
        rotate(&base, false);
        append(&base, "middle\n");
        rotate(&base, false);
        std::fs::remove_file(d.join("ha.log.2")).unwrap();
        append(&base, "c\n");
        assert_eq!(read(&mut t), vec!["b", "c"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// logrotate's `copytruncate`: shift, copy the live file to `.1`, then empty it in place.
    fn copytruncate(base: &Path) {
        shift(base);
        std::fs::copy(base, format!("{}.1", base.display())).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(base)
            .unwrap()
            .set_len(0)
            .unwrap();
    }

    #[test]
    fn copytruncate_lines_written_before_the_copy_are_read_from_the_copy() {
        let d = dir("copytrunc");
        let base = d.join("ha.log");
        append(
            &base,
            "2026-11-30 08:00:00,000 INFO  [ha-elector] Heartbeat ok, term 42\n",
        );
        let mut t = FamilyTail::new(&base, StartAt::Beginning);
        assert_eq!(read(&mut t).len(), 1);
        append(&base, "before copy 1\nbefore copy, half a li");
        copytruncate(&base);
        append(&base, "after\n");
        assert_eq!(
            read(&mut t),
            vec!["before copy 1", "before copy, half a li", "after"]
        );
        assert!(t.take_problems().is_empty());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn copytruncate_with_a_compressed_copy_recovers_and_continues_a_split_line() {
        let d = dir("copytrunc-gz");
        let base = d.join("ha.log");
        append(&base, "first\nsecond is spl");
        let mut t = FamilyTail::new(&base, StartAt::Beginning);
        assert_eq!(read(&mut t), vec!["first"]);
        append(&base, "it across the copy\nthird\n");
        copytruncate(&base);
        compress(&d.join("ha.log.1"));
        append(&base, "fourth\n");
        assert_eq!(
            read(&mut t),
            vec!["second is split across the copy", "third", "fourth"]
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_file_followed_from_its_end_is_recognised_by_its_last_bytes() {
        let d = dir("from-end");
        // Two rotations, ours gzipped: no checksum of the whole file, so size and end decide.
        let base = d.join("ha.log");
        append(&base, "history we never read\n");
        let mut t = FamilyTail::new(&base, StartAt::End);
        assert!(read(&mut t).is_empty());
        append(&base, "b\n");
        assert_eq!(read(&mut t), vec!["b"]);
        append(&base, "c\n");
        rotate(&base, false);
        append(&base, "missed\n");
        rotate(&base, true);
        append(&base, "d\n");
        assert_eq!(read(&mut t), vec!["c", "missed", "d"]);

        // copytruncate, with a line written before the copy.
        let base = d.join("server.log");
        append(&base, "history we never read\n");
        let mut t = FamilyTail::new(&base, StartAt::End);
        assert!(read(&mut t).is_empty());
        append(&base, "e\n");
        copytruncate(&base);
        append(&base, "f\n");
        assert_eq!(read(&mut t), vec!["e", "f"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_truncation_without_a_matching_copy_recovers_nothing() {
        let d = dir("trunc-nocopy");
        let base = d.join("ha.log");
        append(&base, "a fairly long first line\n");
        let mut t = FamilyTail::new(&base, StartAt::Beginning);
        assert_eq!(read(&mut t).len(), 1);
        // An unrelated older rotation must not be mistaken for the copy.
        std::fs::write(
            d.join("ha.log.1"),
            "something else entirely, longer than that\n",
        )
        .unwrap();
        std::fs::write(&base, "").unwrap();
        append(&base, "new\n");
        assert_eq!(read(&mut t), vec!["new"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_damaged_rotation_is_reported_and_the_rest_still_read() {
        let d = dir("damaged");
        let base = d.join("ha.log");
        std::fs::write(d.join("ha.log.2.gz"), b"\x1f\x8b\x08\x00garbage").unwrap();
        std::fs::write(d.join("ha.log.1"), "one\n").unwrap();
        append(&base, "live\n");
        let mut t = FamilyTail::new(&base, StartAt::Beginning);
        assert_eq!(read(&mut t), vec!["one", "live"]);
        let problems = t.take_problems();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].to_string().contains("ha.log.2.gz"),
            "{}",
            problems[0]
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// What the log writer, logrotate and the poller do, in a random order.
    #[derive(Debug, Clone)]
    enum Op {
        Append(usize),
        Poll,
        Rotate,
        /// `compress` + `delaycompress`.
        RotateDelayCompress,
        /// `compress` without `delaycompress`: the newest rotation is gzipped at once.
        RotateCompressNow,
        /// Lines written after a poll, then `copytruncate`, then a poll.
        CopyTruncate(usize),
        /// Like `CopyTruncate`, with more lines written after the truncation before the poll
        /// (often more bytes than were read before it).
        CopyTruncateRegrow(usize, usize),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            4 => (1usize..4).prop_map(Op::Append),
            3 => Just(Op::Poll),
            1 => Just(Op::Rotate),
            1 => Just(Op::RotateDelayCompress),
            1 => Just(Op::RotateCompressNow),
            1 => (0usize..3).prop_map(Op::CopyTruncate),
            1 => (0usize..3, 1usize..30).prop_map(|(n, m)| Op::CopyTruncateRegrow(n, m)),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]

        /// Every line written is returned once, in order, whatever rotations happen between
        /// polls, within the guarantees of the module docs: rotated files are never empty
        /// (`notifempty`) and nothing is written between copy and truncation.
        #[test]
        fn every_line_is_read_once_in_order_across_rotations(
            ops in proptest::collection::vec(op(), 1..40),
            pad in proptest::collection::vec(0usize..90, 1..8),
        ) {
            let d = dir("prop");
            let base = d.join("ha.log");
            let mut written = Vec::new();
            let mut write = |n: usize| {
                for _ in 0..n {
                    let i = written.len();
                    let line = format!("line {i} {}", "x".repeat(pad[i % pad.len()]));
                    append(&base, &format!("{line}\n"));
                    written.push(line);
                }
            };
            write(1);
            let mut t = FamilyTail::new(&base, StartAt::Beginning);
            let mut got = read(&mut t);
            for op in ops {
                match op {
                    Op::Append(n) => write(n),
                    Op::Poll => got.extend(read(&mut t)),
                    Op::Rotate | Op::RotateDelayCompress | Op::RotateCompressNow => {
                        write(1);
                        rotate(&base, matches!(op, Op::RotateDelayCompress));
                        if matches!(op, Op::RotateCompressNow) {
                            compress(&d.join("ha.log.1"));
                        }
                        append(&base, "");
                    }
                    Op::CopyTruncate(n) => {
                        write(1);
                        got.extend(read(&mut t));
                        write(n);
                        copytruncate(&base);
                        got.extend(read(&mut t));
                    }
                    Op::CopyTruncateRegrow(n, m) => {
                        write(1);
                        got.extend(read(&mut t));
                        write(n);
                        copytruncate(&base);
                        write(m);
                        got.extend(read(&mut t));
                    }
                }
            }
            got.extend(read(&mut t));
            proptest::prop_assert!(t.take_problems().is_empty());
            std::fs::remove_dir_all(&d).unwrap();
            proptest::prop_assert_eq!(got, written);
        }
    }
}
