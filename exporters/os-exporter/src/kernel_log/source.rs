//! Reading `/dev/kmsg` without consuming it (never `/proc/kmsg`, whose reads take records away
//! from syslog daemons): opened `O_NONBLOCK`, one record per `read()`, `EPIPE` when the next
//! record was overwritten before we got to it. A regular file at the path (a captured buffer,
//! as the fixture trees hold) is read whole, once, split into records.

use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// Bytes per `read()`: the kernel refuses (EINVAL) a buffer shorter than the record, and a
/// record is at most about 8 KiB (message plus dictionary).
const RECORD_BUF: usize = 16 * 1024;

/// Most bytes read of a captured (regular-file) buffer.
const MAX_CAPTURE: u64 = 4 * 1024 * 1024;

/// Why the kernel log could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KmsgError {
    /// Opening failed; EPERM means CAP_SYSLOG is missing while `kernel.dmesg_restrict=1`.
    #[error("opening {path}: {source}{hint}", hint = privilege_hint(.source))]
    Open {
        /// The device.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A read failed for a reason other than "no new record" or "overwritten".
    #[error("reading {path}: {source}")]
    Read {
        /// The device.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The path is neither the kmsg character device nor a captured buffer.
    #[error("{path} is neither a character device nor a regular file")]
    NotKmsg {
        /// The path.
        path: PathBuf,
    },
}

fn privilege_hint(e: &std::io::Error) -> &'static str {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        " (reading the kernel log needs CAP_SYSLOG when kernel.dmesg_restrict=1, and systemd's ProtectKernelLogs=yes hides /dev/kmsg)"
    } else {
        ""
    }
}

/// What one step of reading gave.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// One record's bytes.
    Record(Vec<u8>),
    /// Records were overwritten before we read them; the next read resumes at the oldest
    /// record still there (the sequence gap says how many).
    Overwritten,
    /// No new record for now.
    End,
}

/// Where records come from: the device, or a capture.
pub(crate) enum KmsgSource {
    /// `/dev/kmsg`, kept open between passes so its read position is ours.
    Device { file: File, path: PathBuf },
    /// A captured buffer, split into records, handed out once.
    Capture(std::vec::IntoIter<Vec<u8>>),
}

impl KmsgSource {
    /// Opens `path`; the first read returns the oldest record still in the buffer.
    pub(crate) fn open(path: &Path) -> Result<Self, KmsgError> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)
            .map_err(|source| KmsgError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        let kind = file
            .metadata()
            .map_err(|source| KmsgError::Read {
                path: path.to_path_buf(),
                source,
            })?
            .file_type();
        if kind.is_char_device() {
            return Ok(Self::Device {
                file,
                path: path.to_path_buf(),
            });
        }
        if !kind.is_file() {
            return Err(KmsgError::NotKmsg {
                path: path.to_path_buf(),
            });
        }
        let mut bytes = Vec::new();
        file.take(MAX_CAPTURE)
            .read_to_end(&mut bytes)
            .map_err(|source| KmsgError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self::Capture(split_capture(&bytes).into_iter()))
    }

    /// The next step.
    pub(crate) fn next(&mut self) -> Result<Step, KmsgError> {
        match self {
            Self::Capture(records) => Ok(records.next().map_or(Step::End, Step::Record)),
            Self::Device { file, path } => {
                let mut buf = vec![0u8; RECORD_BUF];
                loop {
                    match file.read(&mut buf) {
                        Ok(0) => return Ok(Step::End),
                        Ok(n) => {
                            buf.truncate(n);
                            return Ok(Step::Record(buf));
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            return Ok(Step::End);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {
                            return Ok(Step::Overwritten);
                        }
                        Err(source) => {
                            return Err(KmsgError::Read {
                                path: path.clone(),
                                source,
                            });
                        }
                    }
                }
            }
        }
    }
}

/// Splits a captured buffer (records one after the other, as `cat /dev/kmsg` writes them) into
/// records: a record starts on a line that does not begin with a space (continuation lines
/// ` KEY=value` do).
pub(crate) fn split_capture(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        match out.last_mut() {
            Some(last) if line.first() == Some(&b' ') => last.extend_from_slice(line),
            _ => out.push(line.to_vec()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_splits_on_record_lines_keeping_continuations() {
        let r = split_capture(b"6,1,10,-;a\n SUBSYSTEM=x\n3,2,20,-;b\n");
        assert_eq!(
            r,
            vec![
                b"6,1,10,-;a\n SUBSYSTEM=x\n".to_vec(),
                b"3,2,20,-;b\n".to_vec()
            ]
        );
    }

    #[test]
    fn a_directory_is_refused_and_a_missing_path_named() {
        let e = KmsgSource::open(Path::new("/")).err().unwrap().to_string();
        assert!(e.contains("neither"), "{e}");
        let e = KmsgSource::open(Path::new("/nonexistent/kmsg"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("/nonexistent/kmsg"), "{e}");
    }
}
