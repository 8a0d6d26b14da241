//! Asks keepalived for a state dump and reads it only once it is complete.
//!
//! keepalived (2.2.7, seen with strace) creates the dump under a temporary name, renames it to
//! the final name and only then writes and closes it. So after signalling we wait for the final
//! name to point at a new inode and then parse it; a parse failure means "still being written",
//! and we retry until the deadline. The stats-clear signal is deliberately not representable.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::CollectError;

/// A dump keepalived can be asked for. There is no variant for STATS_CLEAR: the exporter must
/// never reset keepalived's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpRequest {
    /// SIGJSON: `keepalived.json`.
    Json,
    /// SIGUSR1 by default: the data dump.
    Data,
    /// SIGUSR2 by default: the stats dump.
    Stats,
}

impl DumpRequest {
    fn sigfunc(self) -> &'static str {
        match self {
            DumpRequest::Json => "JSON",
            DumpRequest::Data => "DATA",
            DumpRequest::Stats => "STATS",
        }
    }
}

/// The signal numbers of this keepalived build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signals {
    /// SIGJSON, when the build has JSON support.
    pub json: Option<i32>,
    /// The data dump signal.
    pub data: i32,
    /// The stats dump signal.
    pub stats: i32,
}

impl Default for Signals {
    fn default() -> Self {
        Self {
            json: None,
            data: libc::SIGUSR1,
            stats: libc::SIGUSR2,
        }
    }
}

impl std::fmt::Display for Signals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.json {
            Some(j) => write!(f, "json signal {j}, ")?,
            None => write!(f, "no json signal, ")?,
        }
        write!(f, "data signal {}, stats signal {}", self.data, self.stats)
    }
}

impl Signals {
    /// Asks `keepalived --signum=X` for each; a build without JSON answers `Unknown sigfunc` or
    /// nothing, and then has no JSON signal.
    pub fn query(bin: &str) -> Signals {
        let ask = |f: DumpRequest| -> Option<i32> {
            let arg = format!("--signum={}", f.sigfunc());
            let out = common::command::run(&[bin, &arg], Duration::from_secs(5), 256).ok()?;
            if !out.success() {
                return None;
            }
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=64).contains(n))
        };
        let d = Signals::default();
        Signals {
            json: ask(DumpRequest::Json),
            data: ask(DumpRequest::Data).unwrap_or(d.data),
            stats: ask(DumpRequest::Stats).unwrap_or(d.stats),
        }
    }

    /// The number for `req`, if this build has it.
    pub fn number(&self, req: DumpRequest) -> Option<i32> {
        match req {
            DumpRequest::Json => self.json,
            DumpRequest::Data => Some(self.data),
            DumpRequest::Stats => Some(self.stats),
        }
    }
}

/// Where a dump of process `pid` appears: under its own root, so a private /tmp (systemd's
/// PrivateTmp, a container) is seen as keepalived sees it.
pub fn dump_path(procfs: &Path, pid: u32, dump_dir: &str, file: &str) -> PathBuf {
    procfs
        .join(pid.to_string())
        .join("root")
        .join(dump_dir.trim_start_matches('/'))
        .join(file)
}

fn identity(path: &Path) -> Option<(u64, i64, i64)> {
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.ino(), m.mtime(), m.mtime_nsec()))
}

fn signal(pid: u32, signo: i32) -> Result<(), CollectError> {
    let (s, p) = (signo.to_string(), pid.to_string());
    let out = common::command::run(&["kill", "-s", &s, &p], Duration::from_secs(2), 1024)
        .map_err(|e| CollectError::Other(format!("signalling keepalived {pid}: {e}")))?;
    if out.success() {
        Ok(())
    } else {
        Err(CollectError::Other(format!(
            "kill -s {signo} {pid}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Signals `pid` for `req`, waits until `path` is a new, complete dump (as judged by `parse`)
/// and returns what `parse` made of it. Gives up at `deadline`.
pub fn request<T, E: std::fmt::Display>(
    pid: u32,
    signals: &Signals,
    req: DumpRequest,
    path: &Path,
    deadline: Instant,
    parse: impl Fn(&[u8]) -> Result<T, E>,
) -> Result<T, CollectError> {
    let signo = signals.number(req).ok_or_else(|| {
        CollectError::Other(format!("this keepalived has no {} signal", req.sigfunc()))
    })?;
    let before = identity(path);
    signal(pid, signo)?;
    let mut last_error = String::from("no new dump appeared");
    loop {
        let now = identity(path);
        if now.is_some() && now != before {
            match std::fs::read(path) {
                Ok(bytes) => match parse(&bytes) {
                    Ok(v) => return Ok(v),
                    Err(e) => last_error = e.to_string(),
                },
                Err(e) => last_error = e.to_string(),
            }
        }
        if Instant::now() >= deadline {
            return Err(CollectError::parse(
                path,
                format!("no complete dump before the deadline: {last_error}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_path_is_under_the_process_root() {
        assert_eq!(
            dump_path(Path::new("/proc"), 42, "/tmp", "keepalived.json"),
            PathBuf::from("/proc/42/root/tmp/keepalived.json")
        );
    }

    #[test]
    fn signals_of_the_installed_keepalived() {
        // Debian's keepalived 2.2.7 is built with JSON (configure --enable-json).
        let s = Signals::query("keepalived");
        if s == Signals::default()
            && common::command::run(&["keepalived", "--version"], Duration::from_secs(5), 64)
                .is_err()
        {
            eprintln!("keepalived not installed; skipped");
            return;
        }
        assert_eq!(s.json, Some(36));
        assert_eq!((s.data, s.stats), (libc::SIGUSR1, libc::SIGUSR2));
        // A missing binary falls back to the classic signals and no JSON.
        assert_eq!(
            Signals::query("/nonexistent/keepalived"),
            Signals::default()
        );
    }

    #[test]
    fn a_half_written_dump_is_waited_for_until_complete() {
        // Simulates keepalived: rename an empty file into place, then write it in two steps.
        let dir = std::env::temp_dir().join(format!("ka-dump-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keepalived.json");
        std::fs::write(&path, b"[]").unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let pid = child.id();
        let writer = {
            let path = path.clone();
            let dir = dir.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                let tmp = dir.join("keepalived.jsonXXXX");
                std::fs::write(&tmp, b"").unwrap();
                std::fs::rename(&tmp, &path).unwrap();
                std::thread::sleep(Duration::from_millis(50));
                std::fs::write(&path, &b"[{\"data\":{\"iname\":\"VI_1\",\"vrid\":5"[..]).unwrap();
                std::thread::sleep(Duration::from_millis(50));
                std::fs::write(&path, &b"[{\"data\":{\"iname\":\"VI_1\",\"vrid\":5}}]"[..])
                    .unwrap();
            })
        };
        // SIGCONT is harmless to `sleep` and stands in for SIGJSON here.
        let signals = Signals {
            json: Some(libc::SIGCONT),
            ..Signals::default()
        };
        let got = request(
            pid,
            &signals,
            DumpRequest::Json,
            &path,
            Instant::now() + Duration::from_secs(5),
            crate::json_dump::parse,
        )
        .unwrap();
        writer.join().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].vrid, 5);
        // Nothing new appears: the deadline ends the wait with an error naming the file.
        let err = request(
            pid,
            &signals,
            DumpRequest::Json,
            &path,
            Instant::now() + Duration::from_millis(100),
            crate::json_dump::parse,
        )
        .unwrap_err();
        assert!(err.to_string().contains("keepalived.json"), "{err}");
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
