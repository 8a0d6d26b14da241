//! What one member uses that the process table's `stat` line does not say: its open files
//! (`/proc/<pid>/fd`) and their limit (`/proc/<pid>/limits`).

use std::io::ErrorKind;

use common::SysPaths;

use crate::parsers::limits::{OpenFiles, parse_open_files};

/// One member's open files and their soft limit (`None`: unlimited or unreadable row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fds {
    /// Entries of `/proc/<pid>/fd`.
    pub(crate) open: u64,
    /// The soft `Max open files`.
    pub(crate) soft_limit: Option<u64>,
}

/// Why a member's fds could not be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FdError {
    /// It exited since the walk: not a member any more, not an error.
    Gone,
    /// Another user's process without the capability to look (EACCES/EPERM), or another
    /// failure; the text says which file and why.
    Unreadable(String),
}

fn classify(what: &std::path::Path, e: &std::io::Error) -> FdError {
    match e.kind() {
        // ESRCH: the task is being torn down.
        ErrorKind::NotFound => FdError::Gone,
        _ if e.raw_os_error() == Some(libc::ESRCH) => FdError::Gone,
        _ => FdError::Unreadable(format!("{}: {e}", what.display())),
    }
}

/// The open files of `pid` and their soft limit.
pub(crate) fn fds(paths: &SysPaths, pid: u32) -> Result<Fds, FdError> {
    let dir = paths.proc(&format!("{pid}/fd"));
    let entries = std::fs::read_dir(&dir).map_err(|e| classify(&dir, &e))?;
    let mut open = 0u64;
    for entry in entries {
        entry.map_err(|e| classify(&dir, &e))?;
        open += 1;
    }
    let limits = paths.proc(&format!("{pid}/limits"));
    let bytes = std::fs::read(&limits).map_err(|e| classify(&limits, &e))?;
    let soft_limit = parse_open_files(&bytes).and_then(|OpenFiles { soft, .. }| soft);
    Ok(Fds { open, soft_limit })
}

/// Open files as a percentage of the soft limit; 0 under no limit.
pub(crate) fn usage_percent(f: Fds) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    match f.soft_limit {
        Some(l) if l > 0 => f.open as f64 / l as f64 * 100.0,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_fds_and_a_limit_and_a_gone_pid_is_gone() {
        let paths = SysPaths::default();
        let me = fds(&paths, std::process::id()).unwrap();
        assert!(me.open >= 3, "{me:?}");
        assert!(usage_percent(me) > 0.0 || me.soft_limit.is_none());
        // Pid numbers stop at 2^22 by default: this one never exists.
        assert_eq!(fds(&paths, 999_999_999), Err(FdError::Gone));
    }

    #[test]
    fn usage_is_a_percentage_of_the_soft_limit() {
        let f = |open, soft_limit| usage_percent(Fds { open, soft_limit });
        assert!((f(256, Some(1024)) - 25.0).abs() < 1e-9);
        assert!(f(5, None).abs() < f64::EPSILON);
        assert!(f(5, Some(0)).abs() < f64::EPSILON);
    }
}
