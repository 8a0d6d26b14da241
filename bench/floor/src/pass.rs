//! One pass of the floor: every source read once, the bytes thrown away. Buffers are reused
//! across passes so a pass costs the kernel's work plus a loop, nothing more.

use std::ffi::CString;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Read as _;

use crate::sock_diag;
use crate::trace::{PID, Source};

/// Why a pass stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PassError {
    /// The sock_diag dump failed (a file that vanished is no error; a socket table is).
    #[error("sock_diag TCP dump: {0}")]
    TcpDump(std::io::Error),
    /// A path held a NUL byte.
    #[error("path {0:?} holds a NUL byte")]
    Nul(String),
}

/// The sources and the buffers the passes reuse.
pub(crate) struct Floor {
    sources: Vec<Source>,
    statfs_paths: Vec<CString>,
    file_buf: Vec<u8>,
    diag_buf: Vec<u8>,
    pids: Vec<u32>,
    path: String,
    /// Reads that failed in the last pass (files of processes that exited meanwhile).
    pub(crate) failed: usize,
}

impl Floor {
    /// Prepares `sources`: the /proc listing goes first, since per-pid sources need its pids.
    pub(crate) fn new(mut sources: Vec<Source>) -> Result<Self, PassError> {
        let per_pid = sources.iter().any(|s| s.path().contains(PID));
        sources.retain(|s| *s != Source::List("/proc".into()));
        if per_pid {
            sources.insert(0, Source::List("/proc".into()));
        }
        let statfs_paths = sources
            .iter()
            .filter_map(|s| match s {
                Source::Statfs(p) => {
                    Some(CString::new(p.as_str()).map_err(|_| PassError::Nul(p.clone())))
                }
                _ => None,
            })
            .collect::<Result<_, _>>()?;
        Ok(Floor {
            sources,
            statfs_paths,
            file_buf: vec![0; 256 * 1024],
            diag_buf: vec![0; 32 * 1024],
            pids: Vec::new(),
            path: String::new(),
            failed: 0,
        })
    }

    /// The sources in pass order.
    pub(crate) fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// How many /proc entries were processes in the last pass.
    pub(crate) fn pids(&self) -> usize {
        self.pids.len()
    }

    /// Reads every source once.
    pub(crate) fn pass(&mut self) -> Result<(), PassError> {
        let Floor {
            sources,
            statfs_paths,
            file_buf,
            diag_buf,
            pids,
            path,
            failed,
        } = self;
        *failed = 0;
        let mut statfs_paths = statfs_paths.iter();
        for s in sources.iter() {
            match s {
                Source::TcpDump => sock_diag::dump_tcp(diag_buf).map_err(PassError::TcpDump)?,
                Source::Statfs(_) => {
                    let ok = statfs_paths.next().is_some_and(|p| statfs(p).is_ok());
                    *failed += usize::from(!ok);
                }
                Source::List(p) if p == "/proc" => {
                    pids.clear();
                    match std::fs::read_dir("/proc") {
                        Ok(dir) => pids.extend(
                            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()),
                        ),
                        Err(_) => *failed += 1,
                    }
                }
                s => match s.path().split_once(PID) {
                    Some((before, after)) => {
                        for pid in pids.iter() {
                            path.clear();
                            // Writing to a String cannot fail.
                            let _ = write!(path, "{before}{pid}{after}");
                            *failed += usize::from(!one(s, path, file_buf));
                        }
                    }
                    None => *failed += usize::from(!one(s, s.path(), file_buf)),
                },
            }
        }
        Ok(())
    }
}

/// A read, listing or stat of `path`; false when it failed.
fn one(source: &Source, path: &str, file_buf: &mut [u8]) -> bool {
    match source {
        Source::Read(_) => read_fully(path, file_buf).is_ok(),
        Source::List(_) => std::fs::read_dir(path).map(Iterator::count).is_ok(),
        Source::Stat(_) => std::fs::metadata(path).is_ok(),
        Source::Statfs(_) | Source::TcpDump => true,
    }
}

/// open, read until end of file into `buf` (no size probe: /proc files report size 0), close.
fn read_fully(path: &str, buf: &mut [u8]) -> std::io::Result<()> {
    let mut f = File::open(path)?;
    while f.read(buf)? > 0 {}
    Ok(())
}

fn statfs(path: &CString) -> std::io::Result<()> {
    rustix::fs::statfs(path.as_c_str())
        .map(|_| ())
        .map_err(std::io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_pid_sources_are_read_for_every_process_listed() {
        let mut f = Floor::new(vec![Source::Read("/proc/[pid]/stat".into())]).unwrap();
        f.pass().unwrap();
        assert_eq!(f.sources()[0], Source::List("/proc".into()));
        assert!(f.pids() >= 1, "this test process is listed");
    }

    #[test]
    fn a_missing_file_counts_as_failed_not_as_an_error() {
        let mut f = Floor::new(vec![
            Source::Read("/proc/self/stat".into()),
            Source::Read("/proc/no-such-file".into()),
            Source::Statfs("/".into()),
        ])
        .unwrap();
        f.pass().unwrap();
        assert_eq!(f.failed, 1);
    }
}
