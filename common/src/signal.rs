//! Signals to monitored processes, sent only when the process is ready for them (see "Do no
//! harm" in `docs/architecture.md`). Every signal an exporter sends goes through
//! [`send_if_caught`].
//!
//! A signal whose disposition is still the default kills most daemons: keepalived's JSON dump
//! signal (36) is a real-time signal, whose default action is to terminate, and a keepalived
//! found in `/proc` right after `exec` has not set it up yet (issue 10: it exited with 164 =
//! 128 + 36). So a signal is sent only when `/proc/<pid>/status` shows the process takes it:
//!
//! * caught (`SigCgt`): a handler is installed;
//! * blocked (`SigBlk`) in every thread and not ignored: the process reads it from a signalfd
//!   (keepalived 2.x does, so its `SigCgt` is 0) or with `sigwait`; a blocked signal stays
//!   pending until read and is never delivered, so it cannot kill.
//!
//! An ignored signal (`SigIgn`) does no harm but produces nothing either (keepalived ignores its
//! dump signals for a moment at start-up and again while it stops), so it is refused too, as is
//! the default action. The masks are read right before sending; what remains between that read
//! and `kill` is the start of one small process, and a daemon goes back to the default only on
//! exit, when keepalived ignores its dump signals.
//!
//! The signal is sent by `kill(1)` through [`crate::command`]: rustix sends only the named
//! signals safely (a real-time signal needs its unsafe constructor, whose contract excludes the
//! range glibc reserves), and the workspace denies unsafe code.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::paths::SysPaths;

/// Highest signal number Linux has (`SIGRTMAX` on every architecture but MIPS).
pub const MAX_SIGNAL: i32 = 64;

/// A set of signals as `/proc/<pid>/status` prints it: 16 hex digits, bit `n - 1` for signal `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SigSet(u64);

impl SigSet {
    /// Parses the hex mask of a `SigBlk`/`SigIgn`/`SigCgt` line; `None` when it is not hex.
    pub fn parse(hex: &str) -> Option<SigSet> {
        let hex = hex.trim();
        if hex.is_empty() || hex.len() > 16 {
            return None;
        }
        u64::from_str_radix(hex, 16).ok().map(SigSet)
    }

    /// Whether signal `signo` (1 to 64) is in the set.
    pub fn contains(self, signo: i32) -> bool {
        (1..=MAX_SIGNAL).contains(&signo) && self.0 & (1u64 << (signo - 1)) != 0
    }
}

/// The signal fields of one `/proc/<pid>/status` (or `/proc/<pid>/task/<tid>/status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalStatus {
    /// `Name:`, the command name (`comm`, at most 15 bytes).
    pub name: String,
    /// `Threads:`, when present.
    pub threads: Option<u32>,
    /// `SigBlk:`, the signals this thread blocks.
    pub blocked: SigSet,
    /// `SigIgn:`, the signals the process ignores.
    pub ignored: SigSet,
    /// `SigCgt:`, the signals the process has a handler for.
    pub caught: SigSet,
}

/// Parses the signal fields of a status file; `None` when a mask line is missing or garbled
/// (then nothing can be known, and nothing is sent).
pub fn parse_status(text: &str) -> Option<SignalStatus> {
    let (mut name, mut threads, mut blocked, mut ignored, mut caught) =
        (None, None, None, None, None);
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "Name" => name = Some(value.to_owned()),
            "Threads" => threads = value.parse().ok(),
            "SigBlk" => blocked = SigSet::parse(value),
            "SigIgn" => ignored = SigSet::parse(value),
            "SigCgt" => caught = SigSet::parse(value),
            _ => {}
        }
    }
    Some(SignalStatus {
        name: name?,
        threads,
        blocked: blocked?,
        ignored: ignored?,
        caught: caught?,
    })
}

/// What a process would do with one signal now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// A handler is installed: safe to send.
    Caught,
    /// Blocked in every thread and not ignored, so read from a signalfd or by `sigwait`: safe.
    Blocked,
    /// Ignored: harmless, but the process would do nothing.
    Ignored,
    /// The default action (for most signals: terminate).
    Default,
}

impl Disposition {
    /// Whether the process takes the signal: the only dispositions a signal is sent to.
    pub fn takes_it(self) -> bool {
        matches!(self, Disposition::Caught | Disposition::Blocked)
    }
}

/// The disposition of `signo` for a process whose leader's status is `leader` and whose threads'
/// statuses are `threads` (empty for a single-threaded process). Handlers and ignored signals
/// are shared by all threads; the blocked mask is per thread, and a process-directed signal goes
/// to any thread that does not block it.
pub fn disposition(leader: &SignalStatus, threads: &[SignalStatus], signo: i32) -> Disposition {
    if leader.caught.contains(signo) {
        Disposition::Caught
    } else if leader.ignored.contains(signo) {
        Disposition::Ignored
    } else if leader.blocked.contains(signo) && threads.iter().all(|t| t.blocked.contains(signo)) {
        Disposition::Blocked
    } else {
        Disposition::Default
    }
}

/// Why a signal was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SignalError {
    /// The number is not a Linux signal.
    #[error("{0} is not a signal number (1-{MAX_SIGNAL})")]
    BadSignal(i32),
    /// The process no longer exists (it exited, or was never there).
    #[error("process {pid} is gone")]
    Gone {
        /// The pid.
        pid: u32,
    },
    /// The pid now belongs to another program.
    #[error("process {pid} is {found:?}, not {expected:?} (it exited and the pid was reused)")]
    NotTheProcess {
        /// The pid.
        pid: u32,
        /// The name the caller meant.
        expected: String,
        /// The name found.
        found: String,
    },
    /// The process has no handler for the signal: sending it would terminate it (default
    /// action) or do nothing (ignored).
    #[error("{}", not_ready_message(name, *pid, *signo, *disposition))]
    NotReady {
        /// The command name.
        name: String,
        /// The pid.
        pid: u32,
        /// The signal.
        signo: i32,
        /// What the process would do with it.
        disposition: Disposition,
    },
    /// The status file could not be read or made no sense.
    #[error("reading {path}: {msg}")]
    Status {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
    /// `kill` failed.
    #[error("kill -s {signo} {pid}: {msg}")]
    Send {
        /// The pid.
        pid: u32,
        /// The signal.
        signo: i32,
        /// `kill`'s complaint.
        msg: String,
    },
}

fn not_ready_message(name: &str, pid: u32, signo: i32, d: Disposition) -> String {
    match d {
        Disposition::Ignored => format!(
            "{name} (pid {pid}) ignores signal {signo} (it is starting or stopping), so it would answer nothing: not sent"
        ),
        _ => format!(
            "{name} (pid {pid}) has not installed its handler for signal {signo} yet (the default action could terminate it): not sent"
        ),
    }
}

impl SignalError {
    /// Whether the process is simply not ready yet (or gone): a normal moment in a daemon's
    /// life, not a fault of the exporter.
    pub fn is_not_ready(&self) -> bool {
        matches!(
            self,
            SignalError::NotReady { .. } | SignalError::Gone { .. }
        )
    }
}

fn read_status(path: &Path, pid: u32) -> Result<SignalStatus, SignalError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SignalError::Gone { pid });
        }
        Err(e) => {
            return Err(SignalError::Status {
                path: path.to_owned(),
                msg: e.to_string(),
            });
        }
    };
    parse_status(&text).ok_or_else(|| SignalError::Status {
        path: path.to_owned(),
        msg: "no Name/SigBlk/SigIgn/SigCgt lines".into(),
    })
}

/// The statuses of every thread but the leader, read when the leader blocks the signal and has
/// company (a thread that exits meanwhile is skipped).
fn other_threads(paths: &SysPaths, pid: u32) -> Result<Vec<SignalStatus>, SignalError> {
    let dir = paths.proc(&format!("{pid}/task"));
    let entries = std::fs::read_dir(&dir).map_err(|e| SignalError::Status {
        path: dir.clone(),
        msg: e.to_string(),
    })?;
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let tid = entry.file_name();
        if tid.to_str() == Some(&pid.to_string()) {
            continue;
        }
        match read_status(&entry.path().join("status"), pid) {
            Ok(s) => out.push(s),
            Err(SignalError::Gone { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Checks that process `pid`, named `name` (its `comm`), takes signal `signo` now; see the module
/// documentation for what counts.
pub fn check(paths: &SysPaths, pid: u32, name: &str, signo: i32) -> Result<(), SignalError> {
    if !(1..=MAX_SIGNAL).contains(&signo) {
        return Err(SignalError::BadSignal(signo));
    }
    let leader = read_status(&paths.proc(&format!("{pid}/status")), pid)?;
    if leader.name != name {
        return Err(SignalError::NotTheProcess {
            pid,
            expected: name.to_owned(),
            found: leader.name,
        });
    }
    let threads = if leader.threads.unwrap_or(1) > 1
        && !leader.caught.contains(signo)
        && leader.blocked.contains(signo)
    {
        other_threads(paths, pid)?
    } else {
        Vec::new()
    };
    match disposition(&leader, &threads, signo) {
        d if d.takes_it() => Ok(()),
        d => Err(SignalError::NotReady {
            name: leader.name,
            pid,
            signo,
            disposition: d,
        }),
    }
}

/// Sends `signo` to process `pid`, named `name` (its `comm`), only when [`check`] finds that it
/// takes the signal, checking right before sending. `paths.procfs` must show the exporter's own
/// pid namespace (the pid is given to `kill`).
pub fn send_if_caught(
    paths: &SysPaths,
    pid: u32,
    name: &str,
    signo: i32,
) -> Result<(), SignalError> {
    check(paths, pid, name, signo)?;
    let (s, p) = (signo.to_string(), pid.to_string());
    let out = crate::command::run(&["kill", "-s", &s, &p], Duration::from_secs(2), 1024).map_err(
        |e| SignalError::Send {
            pid,
            signo,
            msg: e.to_string(),
        },
    )?;
    if out.success() {
        return Ok(());
    }
    if !paths.proc(&pid.to_string()).exists() {
        return Err(SignalError::Gone { pid });
    }
    Err(SignalError::Send {
        pid,
        signo,
        msg: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use std::process::{Child, Command, Stdio};
    use std::time::Instant;

    use super::*;

    const SIGUSR1: i32 = libc::SIGUSR1;
    const SIGUSR2: i32 = libc::SIGUSR2;
    const SIGJSON: i32 = 36;

    fn fixture(name: &str) -> SignalStatus {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/signal/fixtures")
            .join(name);
        parse_status(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    #[test]
    fn masks_are_read_bit_n_minus_one_for_signal_n() {
        let s = SigSet::parse("0000000800010200").unwrap();
        assert!(s.contains(SIGUSR1) && s.contains(SIGJSON) && s.contains(libc::SIGCHLD));
        assert!(!s.contains(SIGUSR2) && !s.contains(1));
        let all = SigSet::parse("ffffffffffffffff").unwrap();
        assert!(all.contains(1) && all.contains(64));
        assert!(!all.contains(0) && !all.contains(65) && !all.contains(-1));
        for bad in ["", "xyz", "0x10", "10000000000000000", "-1"] {
            assert_eq!(SigSet::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn keepalived_is_ready_for_its_dump_signals_only_while_running() {
        // Just after exec: the default action, the moment the exporter used to kill it.
        let exec = fixture("keepalived-2.2.7-exec.status");
        for s in [SIGJSON, SIGUSR1, SIGUSR2] {
            assert_eq!(disposition(&exec, &[], s), Disposition::Default, "{s}");
        }
        // Running: everything it handles is blocked and read from a signalfd; SigCgt is 0.
        let running = fixture("keepalived-2.2.7-running.status");
        assert_eq!(running.caught, SigSet::default());
        for s in [SIGJSON, SIGUSR1, SIGUSR2, libc::SIGTERM] {
            assert_eq!(disposition(&running, &[], s), Disposition::Blocked, "{s}");
        }
        assert_eq!(
            disposition(&running, &[], libc::SIGPIPE),
            Disposition::Ignored
        );
        // Stopping: the dump signal is ignored.
        let stopping = fixture("keepalived-2.2.7-stopping.status");
        assert_eq!(disposition(&stopping, &[], SIGJSON), Disposition::Ignored);
        assert_eq!(stopping.name, "keepalived");
        assert_eq!(stopping.threads, Some(1));
    }

    #[test]
    fn a_shell_trap_is_caught_and_an_empty_trap_ignored() {
        let bash = fixture("bash-trap.status");
        assert_eq!(disposition(&bash, &[], SIGUSR1), Disposition::Caught);
        assert_eq!(disposition(&bash, &[], SIGJSON), Disposition::Caught);
        assert_eq!(disposition(&bash, &[], SIGUSR2), Disposition::Ignored);
        let sleep = fixture("sleep.status");
        assert_eq!(disposition(&sleep, &[], SIGUSR1), Disposition::Default);
        assert!(!Disposition::Ignored.takes_it() && !Disposition::Default.takes_it());
    }

    #[test]
    fn a_signal_blocked_by_the_leader_only_is_not_taken() {
        let leader = fixture("keepalived-2.2.7-running.status");
        let mut other = leader.clone();
        other.blocked = SigSet::default();
        // Another thread would receive it, with the default action.
        assert_eq!(
            disposition(&leader, std::slice::from_ref(&other), SIGJSON),
            Disposition::Default
        );
        assert_eq!(
            disposition(&leader, std::slice::from_ref(&leader), SIGJSON),
            Disposition::Blocked
        );
    }

    #[test]
    fn a_status_without_its_masks_is_refused() {
        let full = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("src/signal/fixtures/sleep.status"),
        )
        .unwrap();
        let cut: String = full
            .lines()
            .take_while(|l| !l.starts_with("SigCgt"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(parse_status(&cut), None);
        let garbled = full.replace("SigCgt:\t0000000000000000", "SigCgt:\tzz");
        assert_eq!(parse_status(&garbled), None);
        assert_eq!(parse_status(""), None);
    }

    /// A child killed and reaped on drop.
    struct Guard(Child);

    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    impl Guard {
        fn spawn(argv: &[&str]) -> Guard {
            Guard(
                Command::new(argv[0])
                    .args(&argv[1..])
                    .stdin(Stdio::null())
                    .spawn()
                    .unwrap(),
            )
        }

        fn pid(&self) -> u32 {
            self.0.id()
        }

        fn running(&mut self) -> bool {
            self.0.try_wait().unwrap().is_none()
        }

        /// Waits (at most 5 s) until `/proc` shows it as `name` with `ready` true of its status.
        fn wait_status(&self, name: &str, ready: impl Fn(&SignalStatus) -> bool) {
            let path = format!("/proc/{}/status", self.pid());
            let end = Instant::now() + Duration::from_secs(5);
            loop {
                let s = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| parse_status(&t));
                if s.is_some_and(|s| s.name == name && ready(&s)) {
                    return;
                }
                assert!(Instant::now() < end, "{name} never got ready");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    fn system() -> SysPaths {
        SysPaths::default()
    }

    #[test]
    fn a_process_without_a_handler_is_not_signalled_and_survives() {
        let mut sleep = Guard::spawn(&["sleep", "30"]);
        sleep.wait_status("sleep", |_| true);
        for signo in [SIGUSR1, SIGJSON] {
            let err = send_if_caught(&system(), sleep.pid(), "sleep", signo).unwrap_err();
            assert!(
                matches!(
                    err,
                    SignalError::NotReady {
                        disposition: Disposition::Default,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(err.is_not_ready());
            let msg = err.to_string();
            assert!(
                msg.contains(&format!(
                    "has not installed its handler for signal {signo} yet"
                )),
                "{msg}"
            );
        }
        std::thread::sleep(Duration::from_millis(100));
        assert!(sleep.running(), "sleep was killed");
    }

    #[test]
    fn an_ignored_signal_is_not_sent() {
        // SIG_IGN survives exec: `sleep` ignores USR1 and 36.
        let mut sleep = Guard::spawn(&["sh", "-c", "trap '' USR1 36; exec sleep 30"]);
        sleep.wait_status("sleep", |s| s.ignored.contains(SIGJSON));
        let err = send_if_caught(&system(), sleep.pid(), "sleep", SIGJSON).unwrap_err();
        assert!(err.to_string().contains("ignores signal 36"), "{err}");
        assert!(sleep.running());
    }

    #[test]
    fn a_process_with_a_handler_gets_the_signal() {
        let dir = std::env::temp_dir().join(format!("common-signal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mark = dir.join("got");
        let script = format!(
            "trap 'echo got >> {}' USR1; i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done",
            mark.display()
        );
        let mut sh = Guard::spawn(&["sh", "-c", &script]);
        sh.wait_status("sh", |s| s.caught.contains(SIGUSR1));
        send_if_caught(&system(), sh.pid(), "sh", SIGUSR1).unwrap();
        let end = Instant::now() + Duration::from_secs(5);
        while !std::fs::read_to_string(&mark).is_ok_and(|t| t.contains("got")) {
            assert!(Instant::now() < end, "the trap never ran");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(sh.running());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_process_reading_the_signal_from_a_signalfd_gets_it_pending() {
        // perl (perl-base, always on Debian) blocks 36 as keepalived does before reading its
        // signalfd; the signal waits, pending, and the process lives on.
        let mut perl = Guard::spawn(&[
            "perl",
            "-MPOSIX",
            "-e",
            "sigprocmask(SIG_BLOCK, POSIX::SigSet->new(36)) or die; sleep 30",
        ]);
        perl.wait_status("perl", |s| s.blocked.contains(SIGJSON));
        send_if_caught(&system(), perl.pid(), "perl", SIGJSON).unwrap();
        let path = format!("/proc/{}/status", perl.pid());
        let end = Instant::now() + Duration::from_secs(5);
        loop {
            let text = std::fs::read_to_string(&path).unwrap();
            let pending = text
                .lines()
                .find_map(|l| l.strip_prefix("ShdPnd:"))
                .and_then(SigSet::parse);
            if pending.is_some_and(|p| p.contains(SIGJSON)) {
                break;
            }
            assert!(Instant::now() < end, "36 never pending: {text}");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(perl.running());
    }

    #[test]
    fn another_program_under_the_pid_or_none_is_not_signalled() {
        let mut sleep = Guard::spawn(&["sleep", "30"]);
        sleep.wait_status("sleep", |_| true);
        let err = send_if_caught(&system(), sleep.pid(), "keepalived", SIGJSON).unwrap_err();
        assert!(matches!(err, SignalError::NotTheProcess { .. }), "{err:?}");
        assert!(sleep.running());
        let pid = sleep.pid();
        drop(sleep);
        let err = send_if_caught(&system(), pid, "sleep", SIGJSON).unwrap_err();
        assert!(matches!(err, SignalError::Gone { .. }), "{err:?}");
        assert!(matches!(
            send_if_caught(&system(), pid, "sleep", 0),
            Err(SignalError::BadSignal(0))
        ));
    }
}
