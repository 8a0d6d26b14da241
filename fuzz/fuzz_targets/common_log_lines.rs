//! Splitting log bytes into lines: `last_lines` on bytes in memory and the backwards reader
//! `tail_lines_of`, which must agree with it whatever the read bound cuts.
#![no_main]

use std::io::Cursor;

use common::log_tail::{MAX_LINE, last_lines, tail_lines_of};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (n, bytes) = match data.split_first() {
        Some((n, rest)) => (usize::from(*n % 16), rest),
        None => return,
    };
    let all = last_lines(bytes, n);
    assert!(all.len() <= n);
    for l in &all {
        // U+FFFD takes three bytes for each invalid byte.
        assert!(l.len() <= MAX_LINE * 3, "a line of {} bytes", l.len());
    }
    let whole = tail_lines_of(&mut Cursor::new(bytes), n, u64::MAX).expect("reading memory");
    assert_eq!(whole.lines, all);
    assert!(!whole.cut);
    for max in [1_u64, 7, 64] {
        let part = tail_lines_of(&mut Cursor::new(bytes), n, max).expect("reading memory");
        assert!(part.lines.len() <= n);
        // A bounded read returns the newest lines: a suffix of the whole answer.
        assert!(
            all.ends_with(&part.lines),
            "max {max}: {:?} is not a suffix of {all:?}",
            part.lines
        );
    }
});
