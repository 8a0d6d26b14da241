//! The last N lines of a file, read backwards in blocks from its end so the cost is the lines
//! asked for, not the file size ("the last 200 lines of server.log").

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::error::LogError;
use super::lines::line_text;
use crate::regular_file::open_regular;

/// Default cap on the bytes [`tail_lines`] reads from the end of a file.
pub const DEFAULT_TAIL_MAX_BYTES: u64 = 4 * 1024 * 1024;

/// Bytes read per step backwards.
const BLOCK: u64 = 64 * 1024;

/// The last lines of a source, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tail {
    /// At most N lines, without their line ends.
    pub lines: Vec<String>,
    /// Whether the byte cap was reached before N lines (or the start of the file) were found:
    /// older lines exist that are not in `lines`.
    pub cut: bool,
}

/// The last `n` lines of the file at `path`, reading at most `max_bytes` from its end.
///
/// A missing final newline does not lose the last line; `\r\n` counts as one line end; lines are
/// cut at [`super::MAX_LINE`] bytes. When the cap ends the search inside a line, that partial
/// line is left out and [`Tail::cut`] is set. Memory is bounded by `max_bytes`. Only a regular
/// file is read (a device, a FIFO or a directory is an error saying what it is).
pub fn tail_lines(path: &Path, n: usize, max_bytes: u64) -> Result<Tail, LogError> {
    let mut file = open_regular(path).map_err(|e| LogError::io(path, e))?;
    tail_lines_of(&mut file, n, max_bytes).map_err(|e| LogError::io(path, e))
}

/// [`tail_lines`] over any seekable reader (from its current end).
pub fn tail_lines_of<R: Read + Seek>(
    reader: &mut R,
    n: usize,
    max_bytes: u64,
) -> std::io::Result<Tail> {
    let end = reader.seek(SeekFrom::End(0))?;
    if n == 0 || end == 0 {
        return Ok(Tail::default());
    }
    let low = end.saturating_sub(max_bytes.max(1));
    // Blocks from the end backwards; concatenated once at the end.
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    let mut pos = end;
    // Newlines that start a line inside [pos, end): the trailing one of the file does not.
    let mut starts = 0usize;
    while pos > low && starts < n {
        let from = pos.saturating_sub(BLOCK).max(low);
        let mut block = vec![0u8; usize::try_from(pos - from).unwrap_or(usize::MAX)];
        reader.seek(SeekFrom::Start(from))?;
        reader.read_exact(&mut block)?;
        let mut count = block.iter().filter(|b| **b == b'\n').count();
        if pos == end && block.last() == Some(&b'\n') {
            count -= 1;
        }
        starts += count;
        blocks.push(block);
        pos = from;
    }
    let mut data = Vec::with_capacity(blocks.iter().map(Vec::len).sum());
    for block in blocks.iter().rev() {
        data.extend_from_slice(block);
    }
    let reached_start = pos == 0;
    let cut = !reached_start && starts < n;
    let body = if reached_start {
        &data[..]
    } else {
        // The bytes before the first newline are (part of) a line we cannot see whole.
        match data.iter().position(|b| *b == b'\n') {
            Some(first) if first + 1 < data.len() => &data[first + 1..],
            _ => &[][..],
        }
    };
    Ok(Tail {
        lines: last_lines(body, n),
        cut,
    })
}

/// The last `n` lines of text already in memory (a decompressed rotation, a capture).
pub fn last_lines(bytes: &[u8], n: usize) -> Vec<String> {
    if bytes.is_empty() || n == 0 {
        return Vec::new();
    }
    let terminated = bytes.last() == Some(&b'\n');
    let body = if terminated {
        &bytes[..bytes.len() - 1]
    } else {
        bytes
    };
    let pieces: Vec<&[u8]> = body.split(|b| *b == b'\n').collect();
    let skip = pieces.len().saturating_sub(n);
    let last = pieces.len() - 1;
    pieces
        .iter()
        .enumerate()
        .skip(skip)
        .map(|(i, p)| line_text(p, i < last || terminated))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Cursor;

    fn tail(bytes: &[u8], n: usize, max: u64) -> Tail {
        tail_lines_of(&mut Cursor::new(bytes.to_vec()), n, max).unwrap()
    }

    /// The obvious reading of the whole input, which the backwards reader must agree with.
    fn naive(bytes: &[u8], n: usize) -> Vec<String> {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let mut all: Vec<String> = text.split('\n').map(str::to_owned).collect();
        if text.ends_with('\n') || text.is_empty() {
            all.pop();
        }
        let len = all.len();
        let mut out: Vec<String> = all.into_iter().skip(len.saturating_sub(n)).collect();
        let last = out.len().saturating_sub(1);
        let keep_cr_on_last = !text.ends_with('\n');
        for (i, l) in out.iter_mut().enumerate() {
            if l.ends_with('\r') && !(i == last && keep_cr_on_last) {
                l.pop();
            }
        }
        out
    }

    #[test]
    fn last_lines_of_a_server_log_capture() {
        let log = b"2026-11-30 10:00:01,001 INFO  Starting server\n\
2026-11-30 10:00:02,002 WARN  Disk 85% full\n\
2026-11-30 10:00:03,003 ERROR Lost leadership\n";
        let t = tail(log, 2, DEFAULT_TAIL_MAX_BYTES);
        assert_eq!(
            t.lines,
            vec![
                "2026-11-30 10:00:02,002 WARN  Disk 85% full",
                "2026-11-30 10:00:03,003 ERROR Lost leadership"
            ]
        );
        assert!(!t.cut);
    }

    #[test]
    fn a_file_without_trailing_newline_keeps_its_last_line() {
        assert_eq!(tail(b"a\nb\nc", 2, 100).lines, vec!["b", "c"]);
    }

    #[test]
    fn crlf_line_ends_are_stripped() {
        assert_eq!(tail(b"a\r\nb\r\n", 5, 100).lines, vec!["a", "b"]);
    }

    #[test]
    fn a_short_file_gives_all_its_lines_and_an_empty_one_none() {
        assert_eq!(tail(b"only\n", 200, 100).lines, vec!["only"]);
        assert_eq!(tail(b"", 200, 100), Tail::default());
        assert!(tail(b"x\n", 0, 100).lines.is_empty());
        assert_eq!(tail(b"\n", 3, 100).lines, vec![""]);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_an_error() {
        assert_eq!(
            tail(b"ok\n\xff\xfeboom\n", 1, 100).lines,
            vec!["\u{fffd}\u{fffd}boom"]
        );
    }

    #[test]
    fn the_byte_cap_drops_the_partial_line_and_says_so() {
        let log = b"first long line\nsecond\nthird\n";
        let t = tail(log, 10, 13);
        assert_eq!(t.lines, vec!["third"]);
        assert!(t.cut);
        // When the cap starts right at a newline the next line is known to be whole.
        assert_eq!(tail(log, 10, 14).lines, vec!["second", "third"]);
        // A cap that ends inside the only line yields nothing rather than a fragment.
        let t = tail(b"one very long line without end", 3, 5);
        assert!(t.lines.is_empty() && t.cut);
    }

    #[test]
    fn lines_spanning_blocks_are_joined() {
        let mut log = Vec::new();
        for i in 0..50_000 {
            log.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        let t = tail(&log, 3, DEFAULT_TAIL_MAX_BYTES);
        assert_eq!(t.lines, vec!["line 49997", "line 49998", "line 49999"]);
        let t = tail(&log, 30_000, DEFAULT_TAIL_MAX_BYTES);
        assert_eq!(t.lines.len(), 30_000);
        assert_eq!(t.lines[0], "line 20000");
    }

    #[test]
    fn reads_a_real_file_and_reports_a_missing_one() {
        let dir = super::super::test_dir("tail-lines");
        let p = dir.join("server.log");
        std::fs::write(&p, "1\n2\n3\n").unwrap();
        assert_eq!(tail_lines(&p, 2, 1024).unwrap().lines, vec!["2", "3"]);
        let err = tail_lines(&dir.join("absent.log"), 2, 1024).unwrap_err();
        assert!(err.to_string().contains("absent.log"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_regular_files_are_read() {
        let dir = super::super::test_dir("tail-lines-kinds");
        let zero = dir.join("zero.log");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let fifo = dir.join("fifo.log");
        super::super::make_fifo(&fifo);
        let sub = dir.join("dir.log");
        std::fs::create_dir(&sub).unwrap();
        for (path, what) in [
            (zero, "a character device"),
            (fifo.clone(), "a FIFO"),
            (sub, "a directory"),
        ] {
            let p = path.clone();
            let got = super::super::within_10s(&[&fifo], move || {
                tail_lines(&p, 5, 1024).map_err(|e| e.to_string())
            });
            let err = got.unwrap_err();
            assert!(
                err.contains(&path.display().to_string())
                    && err.contains(&format!("is {what}, not a regular file")),
                "{err}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    proptest! {
        #[test]
        fn agrees_with_reading_the_whole_file(
            bytes in proptest::collection::vec(
                prop_oneof![
                    4 => any::<u8>().prop_map(|b| b'a' + b % 26),
                    2 => Just(b'\n'),
                    1 => Just(b'\r'),
                    1 => any::<u8>(),
                ],
                0..3000,
            ),
            n in 0usize..40,
        ) {
            let t = tail(&bytes, n, u64::MAX);
            prop_assert!(!t.cut);
            prop_assert_eq!(t.lines, naive(&bytes, n));
        }

        #[test]
        fn a_capped_read_is_a_suffix_of_the_full_answer(
            lines in proptest::collection::vec("[a-z]{0,30}", 0..60),
            n in 1usize..40,
            cap in 1u64..400,
        ) {
            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
            let full = naive(text.as_bytes(), n);
            let t = tail(text.as_bytes(), n, cap);
            prop_assert!(full.ends_with(&t.lines), "{:?} vs {:?}", t.lines, full);
            if !t.cut {
                prop_assert_eq!(t.lines, full);
            }
        }
    }
}
