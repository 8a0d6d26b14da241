//! `/proc/<pid>/stat`: a process's name, state, CPU ticks and resident pages.

/// The fields the process collector and the audit sampler use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PidStat {
    /// `comm` (at most 15 bytes, may contain spaces and parentheses).
    pub(crate) comm: String,
    /// State letter: `R`, `S`, `D` (uninterruptible), `Z`...
    pub(crate) state: char,
    /// `utime + stime`, in clock ticks.
    pub(crate) cpu_ticks: u64,
    /// Resident set size, in pages.
    pub(crate) rss_pages: u64,
}

/// Just the state letter, without allocating: what the per-scrape process count needs.
pub(crate) fn state(bytes: &[u8]) -> Option<char> {
    let close = bytes.iter().rposition(|b| *b == b')')?;
    bytes[close + 1..]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .map(|b| char::from(*b))
}

/// Parses one stat line; the name is delimited by the first `(` and the last `)`.
pub(crate) fn parse(bytes: &[u8]) -> Option<PidStat> {
    let text = std::str::from_utf8(bytes).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_owned();
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // `rest[0]` is field 3 (state); utime/stime are fields 14/15, rss field 24.
    let n = |field: usize| rest.get(field - 3).and_then(|v| v.parse::<u64>().ok());
    Some(PidStat {
        comm,
        state: rest.first()?.chars().next()?,
        cpu_ticks: n(14)? + n(15)?,
        rss_pages: n(24).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_spaces_and_parens() {
        let s = parse(b"42 (my (odd) proc) D 1 42 42 0 -1 4194304 100 0 0 0 7 3 0 0 20 0 1 0 100 1000 55 18446744073709551615\n").unwrap();
        assert_eq!(s.comm, "my (odd) proc");
        assert_eq!(s.state, 'D');
        assert_eq!(s.cpu_ticks, 10);
        assert_eq!(s.rss_pages, 55);
        assert_eq!(parse(b"42 (x"), None);
        assert_eq!(state(b"42 (a) b) D 1 2"), Some('D'));
        assert_eq!(state(b"42 (x"), None);
    }
}
