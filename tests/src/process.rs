//! Processes a test starts: commands run to completion with their output, and long-running
//! children (exporters, Prometheus, Alertmanager, holders of a mount) killed and reaped on drop,
//! also when an assertion fails.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

/// Runs `cmd` to completion: `Ok(stdout)` on exit 0, else `Err("<what>: <stdout><stderr>")`
/// (also when it cannot be started).
pub fn output(what: &str, cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {what}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{what}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Runs `argv` (program, then arguments) to completion, as [`output`].
pub fn run(argv: &[&str]) -> Result<String, String> {
    let (program, args) = argv
        .split_first()
        .unwrap_or_else(|| panic!("process::run: empty argv"));
    output(&argv.join(" "), Command::new(program).args(args))
}

/// Runs `argv` to completion and returns its stdout; panics with its output on failure (test
/// set-up must not half-succeed).
pub fn run_ok(argv: &[&str]) -> String {
    run(argv).unwrap_or_else(|e| panic!("{e}"))
}

/// Sends `sig` (`-TERM`, `-KILL`, `-STOP`, ...) to `pid` with kill(1); whether it was delivered.
pub fn signal(pid: u32, sig: &str) -> bool {
    Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

/// A child process, killed and reaped when dropped.
#[derive(Debug)]
pub struct Process {
    child: Child,
    name: String,
    log: Option<PathBuf>,
}

impl Process {
    /// Spawns `cmd` as `name` (stdin closed).
    pub fn spawn(name: &str, cmd: &mut Command) -> std::io::Result<Process> {
        let child = cmd.stdin(Stdio::null()).spawn()?;
        Ok(Process {
            child,
            name: name.to_owned(),
            log: None,
        })
    }

    /// Names the file its output goes to, so an early exit shows it.
    pub fn with_log(mut self, log: PathBuf) -> Process {
        self.log = Some(log);
        self
    }

    /// Its pid.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Panics, naming it (and showing its log), when it has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            let log = self
                .log
                .as_ref()
                .map(|p| format!(": {}", std::fs::read_to_string(p).unwrap_or_default()))
                .unwrap_or_default();
            panic!("{} exited early with {status}{log}", self.name);
        }
    }

    /// Waits (at most `timeout`) until `GET path` on `addr` answers 200; panics when it exits
    /// first.
    pub fn wait_http_ok(&mut self, addr: SocketAddr, path: &str, timeout: Duration) {
        let what = format!("{} to answer {path}", self.name);
        crate::http::wait_ok(&what, addr, path, timeout, || self.assert_running());
    }

    /// Sends SIGTERM and waits for the exit status (at most 10 s, then it is killed on drop).
    pub fn terminate(mut self) -> Option<ExitStatus> {
        signal(self.id(), "-TERM");
        for _ in 0..100 {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    /// Whether it has exited (reaping it if so).
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
