//! `/proc/sys/fs/file-nr`: allocated, unused and maximum file handles.

/// The three numbers of `file-nr`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FileNr {
    /// Allocated handles.
    pub(crate) allocated: f64,
    /// Allocated but unused (always 0 since Linux 2.6).
    pub(crate) unused: f64,
    /// `fs.file-max`.
    pub(crate) max: f64,
}

/// Parses `614\t0\t2466170`.
pub fn parse(bytes: &[u8]) -> Option<FileNr> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut it = text.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some(FileNr {
        allocated: it.next()??,
        unused: it.next()??,
        max: it.next()??,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_three_numbers() {
        assert_eq!(
            parse(b"614\t0\t2466170\n"),
            Some(FileNr {
                allocated: 614.0,
                unused: 0.0,
                max: 2_466_170.0
            })
        );
        assert_eq!(parse(b"614\n"), None);
    }
}
