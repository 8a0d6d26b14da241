//! Splitting a byte stream into text lines the same way for every source: a `\r` before the
//! newline is dropped, a line is cut at [`MAX_LINE`] bytes, bytes are decoded lossily.

use std::ops::ControlFlow;

use super::file::MAX_LINE;

/// One line's bytes as text; `terminated` says a newline followed it (only then is a trailing
/// `\r` part of a CRLF pair).
pub(super) fn line_text(bytes: &[u8], terminated: bool) -> String {
    let bytes = match bytes {
        [rest @ .., b'\r'] if terminated => rest,
        _ => bytes,
    };
    String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_LINE)]).into_owned()
}

/// Turns chunks of bytes into lines, holding at most [`MAX_LINE`] + 1 bytes of an unfinished
/// line whatever the chunk sizes; each line is handed out as it ends and not kept.
#[derive(Debug, Default)]
pub(super) struct LineSplitter {
    partial: Vec<u8>,
    /// Whether the unfinished line holds any bytes (it may be empty and still have started: "").
    started: bool,
    /// Whether bytes of the unfinished line were dropped (it is longer than [`MAX_LINE`]).
    dropped: bool,
    /// Lines handed out cut at [`MAX_LINE`].
    cut: u64,
}

impl LineSplitter {
    /// Feeds `bytes`; `emit` gets each complete line and may stop the split.
    pub(super) fn push(
        &mut self,
        mut bytes: &[u8],
        emit: &mut impl FnMut(&str) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        while let Some(pos) = bytes.iter().position(|b| *b == b'\n') {
            self.keep(&bytes[..pos]);
            bytes = &bytes[pos + 1..];
            self.emit(true, emit)?;
        }
        self.keep(bytes);
        ControlFlow::Continue(())
    }

    /// The last line of a finished stream, when it lacks its newline.
    pub(super) fn finish(&mut self, emit: &mut impl FnMut(&str) -> ControlFlow<()>) {
        if self.started {
            let _ = self.emit(false, emit);
        }
    }

    /// Takes the bytes of the unfinished line (at most [`MAX_LINE`] + 1), leaving none.
    pub(super) fn take_partial(&mut self) -> Vec<u8> {
        self.started = false;
        self.dropped = false;
        std::mem::take(&mut self.partial)
    }

    /// Lines handed out so far that were longer than [`MAX_LINE`] and cut.
    pub(super) fn cut_lines(&self) -> u64 {
        self.cut
    }

    fn emit(
        &mut self,
        terminated: bool,
        emit: &mut impl FnMut(&str) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let bytes = match self.partial.as_slice() {
            [rest @ .., b'\r'] if terminated => rest,
            all => all,
        };
        if self.dropped || bytes.len() > MAX_LINE {
            self.cut += 1;
        }
        let flow = emit(&String::from_utf8_lossy(
            &bytes[..bytes.len().min(MAX_LINE)],
        ));
        self.partial.clear();
        self.started = false;
        self.dropped = false;
        flow
    }

    fn keep(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.started = true;
        }
        // One byte past MAX_LINE is kept so a cut line can still lose a CR of its CRLF.
        let room = (MAX_LINE + 1).saturating_sub(self.partial.len());
        if bytes.len() > room {
            self.dropped = true;
        }
        self.partial
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut out = Vec::new();
        let mut s = LineSplitter::default();
        let mut emit = |l: &str| {
            out.push(l.to_owned());
            ControlFlow::Continue(())
        };
        for c in chunks {
            let _ = s.push(c, &mut emit);
        }
        s.finish(&mut emit);
        out
    }

    #[test]
    fn crlf_is_one_line_end_and_a_lone_cr_stays() {
        assert_eq!(split(&[b"a\r\nb\r", b"\nc\rd\n"]), vec!["a", "b", "c\rd"]);
        assert_eq!(split(&[b"tail\r"]), vec!["tail\r"]);
    }

    #[test]
    fn an_unterminated_last_line_is_returned_and_an_empty_stream_has_none() {
        assert_eq!(split(&[b"x\n", b"y"]), vec!["x", "y"]);
        assert!(split(&[b""]).is_empty());
        assert_eq!(split(&[b"\n\n"]), vec!["", ""]);
    }

    #[test]
    fn long_lines_are_cut_without_holding_them_and_counted() {
        let long = vec![b'q'; MAX_LINE * 3];
        let got = split(&[&long, &long, b"\r\nnext\n"]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), MAX_LINE);
        assert_eq!(got[1], "next");

        let mut s = LineSplitter::default();
        let mut emit = |_: &str| ControlFlow::Continue(());
        let mut exact = vec![b'e'; MAX_LINE];
        exact.extend_from_slice(b"\r\n");
        let _ = s.push(&exact, &mut emit);
        assert_eq!(s.cut_lines(), 0, "a CRLF line of exactly MAX_LINE is whole");
        let _ = s.push(&long, &mut emit);
        let _ = s.push(b"\n", &mut emit);
        assert_eq!(s.cut_lines(), 1);
        assert!(s.partial.capacity() <= 2 * (MAX_LINE + 1));
    }
}
