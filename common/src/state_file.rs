//! A small JSON state file that must survive restarts and crashes: loaded with a clear error when
//! it is corrupt, written atomically (a temporary file beside it with mode 0600, fsync, rename,
//! fsync of the directory), so a reader or a crash sees the old state or the new one, never a
//! mix. Nothing is written outside the file's own directory, which is created (mode 0700) when
//! missing.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Mode of the state file: it may hold cluster identities, so only the owner reads it.
pub const FILE_MODE: u32 = 0o600;
/// Mode of a parent directory this module creates.
pub const DIR_MODE: u32 = 0o700;

/// Why the state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    /// Reading, writing or renaming failed.
    #[error("state file {path}: {op}: {source}")]
    Io {
        /// The state file.
        path: PathBuf,
        /// The step that failed.
        op: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not the JSON this state is kept in.
    #[error("state file {path} is corrupt (not our JSON): {source}")]
    Corrupt {
        /// The state file.
        path: PathBuf,
        /// What the JSON parser found.
        #[source]
        source: serde_json::Error,
    },
    /// The state could not be turned into JSON.
    #[error("state file {path}: encoding the state: {source}")]
    Encode {
        /// The state file.
        path: PathBuf,
        /// What the JSON encoder found.
        #[source]
        source: serde_json::Error,
    },
}

/// Loads the state at `path`; `None` when there is no file yet.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, StateFileError> {
    match fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| StateFileError::Corrupt {
                    path: path.to_path_buf(),
                    source,
                })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StateFileError::Io {
            path: path.to_path_buf(),
            op: "reading",
            source,
        }),
    }
}

/// Makes temporary names unique across the threads of this process (the pid covers processes).
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Saves `state` atomically at `path` with mode 0600, creating its directory when missing.
pub fn save<T: Serialize + ?Sized>(path: &Path, state: &T) -> Result<(), StateFileError> {
    let io = |op: &'static str| {
        move |source| StateFileError::Io {
            path: path.to_path_buf(),
            op,
            source,
        }
    };
    let json = serde_json::to_vec(state).map_err(|source| StateFileError::Encode {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path.file_name().ok_or_else(|| {
        io("naming the temporary file")(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path has no file name",
        ))
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)
            .map_err(io("creating its directory"))?;
    }
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = dir.join(tmp_name);
    let written = write_synced(&tmp, &json)
        .map_err(io("writing the temporary file"))
        .and_then(|()| fs::rename(&tmp, path).map_err(io("renaming the temporary file")));
    if written.is_err() {
        // Best effort: a leftover temporary file is only clutter, the error says what failed.
        let _ = fs::remove_file(&tmp);
    }
    written?;
    // The rename is durable only once the directory entry is.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("syncing its directory"))
}

/// Creates `tmp` (never following or reusing an existing file), writes `bytes`, fsyncs.
fn write_synced(tmp: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(tmp)?;
    // The umask may have narrowed the mode; the state's mode is exactly 0600.
    f.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
    struct State {
        revision: i64,
        note: String,
    }

    /// A fresh directory of this test under the system temp dir, removed by the caller.
    fn temp_dir(test: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("state-file-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_missing_file_is_no_state_and_a_saved_one_loads_back() {
        let d = temp_dir("roundtrip");
        let path = d.join("state.json");
        assert_eq!(load::<State>(&path).unwrap(), None);
        let s = State {
            revision: 7,
            note: "x".into(),
        };
        save(&path, &s).unwrap();
        assert_eq!(load::<State>(&path).unwrap(), Some(s));
        assert_eq!(entries(&d), vec!["state.json"], "no temporary file is left");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_the_file() {
        let d = temp_dir("corrupt");
        let path = d.join("state.json");
        fs::write(&path, b"{\"revision\": 3, \"no").unwrap();
        let e = load::<State>(&path).unwrap_err();
        assert!(matches!(e, StateFileError::Corrupt { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(
            msg.contains("state.json") && msg.contains("corrupt"),
            "{msg}"
        );
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn missing_directories_are_created_owner_only() {
        let d = temp_dir("missing-dir");
        let path = d.join("a/b/state.json");
        save(&path, &State::default()).unwrap();
        let mode = fs::metadata(d.join("a/b")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "directory mode {mode:o}");
        assert_eq!(load::<State>(&path).unwrap(), Some(State::default()));
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn the_file_is_mode_0600_even_when_replacing_a_wider_one() {
        let d = temp_dir("mode");
        let path = d.join("state.json");
        fs::write(&path, b"{}").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        save(&path, &State::default()).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn concurrent_writers_never_leave_a_partial_file() {
        let d = temp_dir("concurrent");
        let path = d.join("state.json");
        // Big enough that a non-atomic write would be seen half done.
        let notes: Vec<String> = (0..4).map(|i| i.to_string().repeat(200_000)).collect();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            let reader = s.spawn(|| {
                let mut loads = 0;
                while !stop.load(Ordering::Relaxed) {
                    if let Some(st) = load::<State>(&path).unwrap() {
                        assert!(
                            notes.contains(&st.note),
                            "a mixed or partial state was read"
                        );
                        loads += 1;
                    }
                }
                loads
            });
            let writers: Vec<_> = notes
                .iter()
                .enumerate()
                .map(|(i, note)| {
                    let path = &path;
                    s.spawn(move || {
                        for revision in 0..20 {
                            let st = State {
                                revision: revision * 10 + i64::try_from(i).unwrap(),
                                note: note.clone(),
                            };
                            save(path, &st).unwrap();
                        }
                    })
                })
                .collect();
            for w in writers {
                w.join().unwrap();
            }
            stop.store(true, Ordering::Relaxed);
            assert!(reader.join().unwrap() > 0);
        });
        let last = load::<State>(&path).unwrap().unwrap();
        assert!(notes.contains(&last.note));
        assert_eq!(entries(&d), vec!["state.json"], "no temporary file is left");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_path_without_a_file_name_is_refused_without_writing() {
        let d = temp_dir("no-name");
        let e = save(&d.join(".."), &State::default()).unwrap_err();
        assert!(matches!(e, StateFileError::Io { .. }), "{e:?}");
        assert!(entries(&d).is_empty());
        fs::remove_dir_all(&d).unwrap();
    }
}
