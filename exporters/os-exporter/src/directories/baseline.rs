//! The persisted baseline of the directory watch (`[directories] state_file`): per watched
//! directory its last manifest and its change counters, so a restart neither forgets what the
//! directory held (a change made while the exporter was down is seen by the first pass) nor
//! resets the counters. Written with `common::state_file` (atomic, mode 0600); [`decode`] is
//! the pure parser of what is read back, fuzzed (`fuzz/fuzz_targets/os_directory_baseline.rs`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The state file's format version; another version is refused rather than misread.
pub const VERSION: u32 = 1;

/// What one entry of a directory looked like (from `lstat`, never following a symlink).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// `file`, `dir`, `symlink`, `fifo`, `socket`, `char`, `block`.
    pub kind: String,
    /// Size in bytes (`st_size`).
    pub size: u64,
    /// Modification time, nanoseconds since the epoch (settable by `touch`).
    pub mtime_ns: i64,
    /// Status change time, nanoseconds since the epoch: moved by every write, chmod, chown and
    /// rename, and not settable from user space.
    pub ctime_ns: i64,
    /// Inode number: a new one after an atomic replace (write a temporary file, rename it).
    pub inode: u64,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// SHA-256 of the content (lower-case hex), for regular files up to `hash_max_bytes` the
    /// exporter could read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// A symlink's target (never followed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// Changes counted since the baseline was first recorded, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    /// Entries that appeared.
    pub added: u64,
    /// Entries that disappeared.
    pub removed: u64,
    /// Entries whose metadata or content changed.
    pub modified: u64,
}

/// One watched directory's baseline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirBaseline {
    /// Whether the directory existed at the last pass (a missing one has no entries).
    pub exists: bool,
    /// Its entries by name (escaped as `manifest::name_text` does).
    pub entries: BTreeMap<String, Entry>,
    /// Changes counted since the baseline was first recorded.
    pub changes: Counts,
    /// When a pass last found a change, seconds since the epoch; 0 = never.
    pub last_change: f64,
}

/// The whole state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// [`VERSION`].
    pub version: u32,
    /// By configured directory path.
    pub directories: BTreeMap<String, DirBaseline>,
}

impl Default for Baseline {
    fn default() -> Self {
        Self {
            version: VERSION,
            directories: BTreeMap::new(),
        }
    }
}

/// Why a state file's bytes are not a baseline.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON of this shape.
    #[error("not the baseline's JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON of this shape with a value no pass could have written.
    #[error("{0}")]
    Invalid(String),
}

/// Parses and checks a state file's bytes.
pub fn decode(bytes: &[u8]) -> Result<Baseline, DecodeError> {
    let b: Baseline = serde_json::from_slice(bytes)?;
    b.check().map_err(DecodeError::Invalid)?;
    Ok(b)
}

impl Baseline {
    /// What a pass always writes: the version, names that are one path component, hashes of
    /// 64 hex digits, a finite non-negative change time, no entries in a missing directory.
    pub fn check(&self) -> Result<(), String> {
        if self.version != VERSION {
            return Err(format!(
                "version {} (this exporter writes {VERSION})",
                self.version
            ));
        }
        for (dir, d) in &self.directories {
            if !dir.starts_with('/') {
                return Err(format!("directory {dir:?} is not an absolute path"));
            }
            if !d.last_change.is_finite() || d.last_change < 0.0 {
                return Err(format!(
                    "{dir}: last_change {} is not a time",
                    d.last_change
                ));
            }
            if !d.exists && !d.entries.is_empty() {
                return Err(format!("{dir}: entries of a directory that does not exist"));
            }
            for (name, e) in &d.entries {
                if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
                    return Err(format!("{dir}: {name:?} is not a file name"));
                }
                if let Some(h) = &e.sha256
                    && (h.len() != 64 || !h.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')))
                {
                    return Err(format!("{dir}/{name}: sha256 {h:?} is not 64 hex digits"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            kind: "file".into(),
            size: 3,
            mtime_ns: 1,
            ctime_ns: 2,
            inode: 7,
            mode: 0o644,
            uid: 0,
            gid: 0,
            sha256: Some("a".repeat(64)),
            link: None,
        }
    }

    #[test]
    fn a_baseline_round_trips_through_its_json() {
        let mut b = Baseline::default();
        let mut d = DirBaseline {
            exists: true,
            last_change: 1.5,
            ..DirBaseline::default()
        };
        d.entries.insert("sshd_config".into(), entry());
        d.changes.modified = 2;
        b.directories.insert("/etc/ssh".into(), d);
        let bytes = serde_json::to_vec(&b).unwrap();
        assert_eq!(decode(&bytes).unwrap(), b);
    }

    #[test]
    fn what_no_pass_writes_is_refused_saying_what() {
        let err = |s: &str| decode(s.as_bytes()).unwrap_err().to_string();
        assert!(err("{").contains("not the baseline's JSON"));
        assert!(err(r#"{"version":2,"directories":{}}"#).contains("version 2"));
        assert!(err(r#"{"version":1,"directories":{"etc":{"exists":false,"entries":{},"changes":{"added":0,"removed":0,"modified":0},"last_change":0}}}"#).contains("absolute"));
        let bad_name = r#"{"version":1,"directories":{"/etc":{"exists":true,"entries":{"a/b":{"kind":"file","size":0,"mtime_ns":0,"ctime_ns":0,"inode":1,"mode":0,"uid":0,"gid":0}},"changes":{"added":0,"removed":0,"modified":0},"last_change":0}}}"#;
        assert!(err(bad_name).contains("not a file name"));
        let bad_hash = bad_name
            .replace("a/b", "a")
            .replace(r#""gid":0}"#, r#""gid":0,"sha256":"zz"}"#);
        assert!(
            err(&bad_hash).contains("64 hex digits"),
            "{}",
            err(&bad_hash)
        );
        assert!(err(r#"{"version":1,"directories":{},"extra":1}"#).contains("unknown field"));
    }
}
