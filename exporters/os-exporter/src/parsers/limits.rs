//! `/proc/<pid>/limits`: the soft and hard `Max open files` of a process, the denominator of
//! `os_process_fd_usage` (a JVM raises its own soft limit at start, so the service's ulimit is
//! not the process's).

/// A limit value: a number, or `unlimited` (`None`).
pub type Limit = Option<u64>;

/// The `Max open files` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit, the one `open` fails at (`EMFILE`).
    pub soft: Limit,
    /// The hard limit, the ceiling the process may raise its soft limit to.
    pub hard: Limit,
}

fn value(word: &str) -> Option<Limit> {
    if word == "unlimited" {
        Some(None)
    } else {
        word.parse().ok().map(Some)
    }
}

/// The `Max open files` row of a limits file; `None` when it is missing or malformed. The
/// name column is fixed text followed by the soft, hard and unit columns.
pub fn parse_open_files(bytes: &[u8]) -> Option<OpenFiles> {
    let text = std::str::from_utf8(bytes).ok()?;
    let rest = text
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?;
    let mut words = rest.split_ascii_whitespace();
    let soft = value(words.next()?)?;
    let hard = value(words.next()?)?;
    Some(OpenFiles { soft, hard })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real capture (Debian 12, Linux 6.1) under `prlimit --nofile=1024:4096`.
    const CAPTURE: &[u8] =
        b"Limit                     Soft Limit           Hard Limit           Units     \n\
Max cpu time              unlimited            unlimited            seconds   \n\
Max file size             unlimited            unlimited            bytes     \n\
Max stack size            8388608              unlimited            bytes     \n\
Max processes             96363                96363                processes \n\
Max open files            1024                 4096                 files     \n\
Max locked memory         8388608              8388608              bytes     \n\
Max nice priority         0                    0                    \n";

    #[test]
    fn the_open_files_row_gives_soft_and_hard() {
        assert_eq!(
            parse_open_files(CAPTURE),
            Some(OpenFiles {
                soft: Some(1024),
                hard: Some(4096)
            })
        );
        assert_eq!(
            parse_open_files(
                b"Max open files            unlimited            unlimited            files\n"
            ),
            Some(OpenFiles {
                soft: None,
                hard: None
            })
        );
    }

    #[test]
    fn missing_or_malformed_rows_are_none() {
        assert_eq!(parse_open_files(b""), None);
        assert_eq!(parse_open_files(b"Max processes 1 2 processes\n"), None);
        assert_eq!(parse_open_files(b"Max open files 12x 4096 files\n"), None);
        assert_eq!(parse_open_files(b"Max open files 1024\n"), None);
        assert_eq!(parse_open_files(b"Max open files \xff 1 files\n"), None);
    }
}
