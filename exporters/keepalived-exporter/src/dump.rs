//! Asks keepalived for a state dump and reads it only once it is complete.
//!
//! keepalived (2.2.7, seen with strace) creates the dump under a temporary name, renames it to
//! the final name and only then writes and closes it. So after signalling we wait for the final
//! name to point at a new inode and then parse it; a parse failure means "still being written",
//! and we retry until the deadline, or until keepalived exits. The stats-clear signal is
//! deliberately not representable.
//!
//! keepalived is signalled only once `/proc/<pid>/status` shows it takes the signal
//! ([`common::signal`]): right after `exec` its dump signals still have their default action,
//! which terminates it (SIGJSON is the real-time signal 36: exit status 128 + 36 = 164), and it
//! ignores them for a moment at start-up and again while it stops. Then the dump is "not ready".

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::proc_table::parse_pid_stat;
use common::signal::{self, SignalError};
use common::{CollectError, SysPaths};

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

/// The largest dump read: keepalived's JSON for a few hundred instances is well under 1 MiB.
const MAX_DUMP_BYTES: u64 = 64 << 20;

fn identity(path: &Path) -> Option<(u64, i64, i64)> {
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.ino(), m.mtime(), m.mtime_nsec()))
}

/// The keepalived process a dump is asked from.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Rooted paths: its signal masks are read from `<procfs>/<pid>/status`.
    pub paths: &'a SysPaths,
    /// Its pid.
    pub pid: u32,
    /// Its command name in `/proc/<pid>/status` (`keepalived`), so a reused pid is not signalled.
    pub comm: &'a str,
}

impl Target<'_> {
    /// Whether it still runs: an exited, unreaped zombie does not.
    fn alive(&self) -> bool {
        std::fs::read_to_string(self.paths.proc(&format!("{}/stat", self.pid)))
            .ok()
            .is_some_and(|s| parse_pid_stat(&s).is_some_and(|s| s.is_alive()))
    }
}

/// Why no dump was read.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// This build of keepalived has no signal for the dump.
    #[error("this keepalived has no {0} signal")]
    NoSignal(&'static str),
    /// keepalived does not take the signal yet (starting) or any more (stopping), or is gone:
    /// nothing was sent.
    #[error("{func} dump not ready: {source}")]
    NotReady {
        /// The dump.
        func: &'static str,
        /// What its signal masks say.
        #[source]
        source: SignalError,
    },
    /// The signal could not be sent.
    #[error("asking keepalived for its {func} dump: {source}")]
    Signal {
        /// The dump.
        func: &'static str,
        /// Why.
        #[source]
        source: SignalError,
    },
    /// keepalived exited after it was signalled, before the dump was complete.
    #[error("keepalived (pid {pid}) exited before writing a complete {}", path.display())]
    Exited {
        /// Its pid.
        pid: u32,
        /// The dump file.
        path: PathBuf,
    },
    /// Nothing complete appeared in time.
    #[error(
        "keepalived (pid {pid}) wrote no complete {} before the deadline after signal {signo}: {last}",
        path.display()
    )]
    Deadline {
        /// Its pid.
        pid: u32,
        /// The signal sent.
        signo: i32,
        /// The dump file.
        path: PathBuf,
        /// The last reason the file was not taken.
        last: String,
    },
}

impl From<DumpError> for CollectError {
    fn from(e: DumpError) -> Self {
        CollectError::Other(e.to_string())
    }
}

/// Signals `target` for `req`, waits until `path` is a new, complete dump (as judged by `parse`)
/// and returns what `parse` made of it. Gives up at `deadline`, or as soon as keepalived exits.
/// The signal is sent only when keepalived takes it ([`common::signal::send_if_caught`]).
pub fn request<T, E: std::fmt::Display>(
    target: &Target<'_>,
    signals: &Signals,
    req: DumpRequest,
    path: &Path,
    deadline: Instant,
    parse: impl Fn(&[u8]) -> Result<T, E>,
) -> Result<T, DumpError> {
    let func = req.sigfunc();
    let signo = signals.number(req).ok_or(DumpError::NoSignal(func))?;
    let before = identity(path);
    signal::send_if_caught(target.paths, target.pid, target.comm, signo).map_err(|source| {
        if source.is_not_ready() {
            DumpError::NotReady { func, source }
        } else {
            DumpError::Signal { func, source }
        }
    })?;
    let mut last = String::from("no new dump appeared");
    loop {
        let now = identity(path);
        if now.is_some() && now != before {
            // Only a regular file, and only so much of it: the dump lives in a directory any
            // user can write (/tmp), where it could be swapped for /dev/zero or a FIFO.
            match common::regular_file::read_regular(path, MAX_DUMP_BYTES) {
                Ok(bytes) => match parse(&bytes) {
                    Ok(v) => return Ok(v),
                    Err(e) => last = e.to_string(),
                },
                Err(e) => last = e.to_string(),
            }
        }
        if !target.alive() {
            return Err(DumpError::Exited {
                pid: target.pid,
                path: path.to_owned(),
            });
        }
        if Instant::now() >= deadline {
            return Err(DumpError::Deadline {
                pid: target.pid,
                signo,
                path: path.to_owned(),
                last,
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use std::process::{Child, Command};

    use super::*;

    /// A child killed and reaped on drop.
    struct Guard(Child);

    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    impl Guard {
        /// `sh -c script`, once its `SigCgt` shows it catches `caught` (when given).
        fn sh(script: &str, caught: Option<i32>) -> Guard {
            let g = Guard(Command::new("sh").args(["-c", script]).spawn().unwrap());
            let path = format!("/proc/{}/status", g.0.id());
            let end = Instant::now() + Duration::from_secs(5);
            while let Some(signo) = caught {
                let s = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| signal::parse_status(&t));
                if s.is_some_and(|s| s.caught.contains(signo)) {
                    break;
                }
                assert!(Instant::now() < end, "the trap was never installed");
                std::thread::sleep(Duration::from_millis(10));
            }
            g
        }

        fn running(&mut self) -> bool {
            self.0.try_wait().unwrap().is_none()
        }
    }

    /// SIGUSR1 stands in for SIGJSON: a shell can trap it.
    fn usr1_as_json() -> Signals {
        Signals {
            json: Some(libc::SIGUSR1),
            ..Signals::default()
        }
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ka-dump-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

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
    fn a_process_without_a_handler_for_the_dump_signal_is_not_signalled_and_survives() {
        // `sleep` has the default action for SIGUSR1 (terminate), as keepalived has for SIGJSON
        // right after exec.
        let mut sleep = Guard(Command::new("sleep").arg("30").spawn().unwrap());
        std::thread::sleep(Duration::from_millis(100));
        let dir = temp_dir("refused");
        let paths = SysPaths::default();
        let target = Target {
            paths: &paths,
            pid: sleep.0.id(),
            comm: "sleep",
        };
        let err = request(
            &target,
            &usr1_as_json(),
            DumpRequest::Json,
            &dir.join("keepalived.json"),
            Instant::now() + Duration::from_millis(200),
            crate::json_dump::parse,
        )
        .unwrap_err();
        std::thread::sleep(Duration::from_millis(100));
        assert!(sleep.running(), "the dump request killed the process");
        assert!(matches!(err, DumpError::NotReady { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "JSON dump not ready: sleep (pid {}) has not installed its handler for signal 10 yet (the default action could terminate it): not sent",
                sleep.0.id()
            )
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_half_written_dump_is_waited_for_until_complete() {
        // Simulates keepalived: rename an empty file into place, then write it in two steps.
        let dir = temp_dir("half");
        let path = dir.join("keepalived.json");
        std::fs::write(&path, b"[]").unwrap();
        let mut sh = Guard::sh(
            "trap : USR1; i=0; while [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done",
            Some(libc::SIGUSR1),
        );
        let paths = SysPaths::default();
        let target = Target {
            paths: &paths,
            pid: sh.0.id(),
            comm: "sh",
        };
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
        let got = request(
            &target,
            &usr1_as_json(),
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
            &target,
            &usr1_as_json(),
            DumpRequest::Json,
            &path,
            Instant::now() + Duration::from_millis(100),
            crate::json_dump::parse,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "keepalived (pid {}) wrote no complete {} before the deadline after signal 10: no new dump appeared",
                sh.0.id(),
                path.display()
            )
        );
        assert!(sh.running());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_dump_swapped_for_dev_zero_is_refused_not_read_forever() {
        let dir = temp_dir("zero");
        let path = dir.join("keepalived.json");
        let sh = Guard::sh(
            "trap : USR1; i=0; while [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done",
            Some(libc::SIGUSR1),
        );
        let paths = SysPaths::default();
        let target = Target {
            paths: &paths,
            pid: sh.0.id(),
            comm: "sh",
        };
        let swapper = {
            let path = path.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
            })
        };
        let started = Instant::now();
        let err = request(
            &target,
            &usr1_as_json(),
            DumpRequest::Json,
            &path,
            Instant::now() + Duration::from_millis(500),
            crate::json_dump::parse,
        )
        .unwrap_err();
        swapper.join().unwrap();
        assert!(
            err.to_string()
                .ends_with("is a character device, not a regular file"),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn keepalived_exiting_mid_dump_ends_the_wait_at_once() {
        let dir = temp_dir("exit");
        let mut sh = Guard::sh(
            "trap 'exit 0' USR1; i=0; while [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done",
            Some(libc::SIGUSR1),
        );
        let paths = SysPaths::default();
        let target = Target {
            paths: &paths,
            pid: sh.0.id(),
            comm: "sh",
        };
        let started = Instant::now();
        let err = request(
            &target,
            &usr1_as_json(),
            DumpRequest::Json,
            &dir.join("keepalived.json"),
            Instant::now() + Duration::from_secs(5),
            crate::json_dump::parse,
        )
        .unwrap_err();
        // Exited, not yet reaped (a zombie): not running any more.
        assert!(!sh.running());
        assert!(matches!(err, DumpError::Exited { .. }), "{err:?}");
        assert!(
            err.to_string().contains("exited before writing a complete"),
            "{err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
