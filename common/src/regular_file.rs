//! Opening a file that must be a regular file (a log, a daemon's dump in `/tmp`): a path
//! swapped for a symlink to `/dev/zero` would be read forever, and a FIFO would block `open`
//! until a writer came. The file is opened non-blocking (a FIFO opens at once) and its type checked with
//! `fstat` on the opened handle, so a path swapped between a check and the open cannot slip by.

use std::fs::{File, FileType, OpenOptions};
use std::io::{Error, ErrorKind};
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::Path;

/// Opens `path` for reading when it is (or a symlink leads to) a regular file. Anything else is
/// an [`ErrorKind::InvalidInput`] error saying what it is, e.g. "is a character device, not a
/// regular file"; a missing file is [`ErrorKind::NotFound`] as usual.
pub fn open_regular(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        // O_NONBLOCK only matters for what is refused below (a FIFO, a device): for a regular
        // file reads never block on it. O_NOCTTY keeps a terminal device from becoming ours.
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        Ok(file)
    } else {
        Err(Error::new(
            ErrorKind::InvalidInput,
            format!("is {}, not a regular file", what(kind)),
        ))
    }
}

/// Reads a whole regular file of at most `max_bytes`; a larger one is an
/// [`ErrorKind::InvalidData`] error rather than memory the exporter cannot give back.
pub fn read_regular(path: &Path, max_bytes: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max_bytes {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("is larger than {max_bytes} bytes"),
        ));
    }
    Ok(bytes)
}

/// What a file of type `kind` is, with its article, for an error ("is a FIFO, not ...").
pub fn what(kind: FileType) -> &'static str {
    if kind.is_file() {
        "a regular file"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_and_symlinks_to_them_open_the_rest_is_named() {
        let dir = std::env::temp_dir().join(format!("regular-file-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("ha.log");
        std::fs::write(&log, "x\n").unwrap();
        let link = dir.join("link.log");
        std::os::unix::fs::symlink(&log, &link).unwrap();
        assert!(open_regular(&log).is_ok());
        assert!(open_regular(&link).is_ok());
        let err = open_regular(Path::new("/dev/null")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(err.to_string(), "is a character device, not a regular file");
        let err = open_regular(&dir.join("absent")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(read_regular(&link, 2).unwrap(), b"x\n");
        let err = read_regular(&link, 1).unwrap_err();
        assert_eq!(err.to_string(), "is larger than 1 bytes");
        let err = read_regular(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
