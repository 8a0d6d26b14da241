//! A node's manifest: every entry under the synchronised roots with what the comparison needs.

/// What an entry is (as `lstat` says; symlinks are never followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (its target is digested, never followed).
    Symlink,
    /// A FIFO, socket or device (never opened).
    Other,
}

impl Kind {
    /// One-letter code of the wire format.
    pub fn code(self) -> &'static str {
        match self {
            Kind::File => "f",
            Kind::Dir => "d",
            Kind::Symlink => "l",
            Kind::Other => "o",
        }
    }

    /// The kind of a wire code.
    pub fn from_code(c: &str) -> Option<Kind> {
        Some(match c {
            "f" => Kind::File,
            "d" => Kind::Dir,
            "l" => Kind::Symlink,
            "o" => Kind::Other,
            _ => return None,
        })
    }
}

/// One file, directory or link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Absolute path on the node (bytes: any name Linux allows, newlines and invalid UTF-8
    /// included).
    pub path: Vec<u8>,
    /// What it is.
    pub kind: Kind,
    /// Size in bytes (`st_size`).
    pub size: u64,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// xxh3-128 of the content (regular files) or of the link target (symlinks).
    pub digest: Option<u128>,
    /// Why the sync user (or the exporter) cannot read it; `None` when readable.
    pub unreadable: Option<String>,
}

impl Entry {
    /// The path as text (invalid UTF-8 replaced), for logs and the audit journal.
    pub fn path_text(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }
}

/// One node's manifest; entries sorted by path bytes, each path once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    /// The node that built it.
    pub host: String,
    /// When, in seconds since the epoch. `/manifest` keeps serving the first walk's manifest
    /// while later walks find the same content, so there this is when the content was first seen.
    pub generated: i64,
    /// The configured roots it covers.
    pub roots: Vec<String>,
    /// The entries.
    pub entries: Vec<Entry>,
}

impl Manifest {
    /// Entries the sync user cannot read.
    pub fn unreadable(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.unreadable.is_some())
    }
}
