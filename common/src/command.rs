//! Running an external command: argument vector (never a shell), timeout, bounded output.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Why a command gave no usable result.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The argument vector was empty.
    #[error("empty command")]
    Empty,
    /// The program could not be started (missing, not executable).
    #[error("starting {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The program ran past its timeout and was killed.
    #[error("{program} timed out after {timeout:?} and was killed")]
    Timeout {
        /// The program.
        program: String,
        /// The limit.
        timeout: Duration,
    },
    /// Waiting for the program failed.
    #[error("waiting for {program}: {source}")]
    Wait {
        /// The program.
        program: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// What a finished command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// Exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    /// Standard output, at most the limit given.
    pub stdout: Vec<u8>,
    /// Standard error, at most the limit given.
    pub stderr: Vec<u8>,
    /// Whether either stream was cut at the limit.
    pub truncated: bool,
}

impl CommandOutput {
    /// Whether it exited with code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

fn read_bounded(mut r: impl Read, limit: usize) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let mut truncated = false;
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = limit.saturating_sub(out.len());
                if n > room {
                    truncated = true;
                }
                out.extend_from_slice(&buf[..n.min(room)]);
                // Keep draining past the limit so the child never blocks on a full pipe.
            }
        }
    }
    (out, truncated)
}

/// Runs `argv` with no shell and no stdin, kills it after `timeout`, keeps at most
/// `max_output` bytes of each stream.
pub fn run(
    argv: &[&str],
    timeout: Duration,
    max_output: usize,
) -> Result<CommandOutput, CommandError> {
    let (program, args) = argv.split_first().ok_or(CommandError::Empty)?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| CommandError::Spawn {
            program: (*program).to_owned(),
            source,
        })?;
    let stdout = child
        .stdout
        .take()
        .map(|s| std::thread::spawn(move || read_bounded(s, max_output)));
    let stderr = child
        .stderr
        .take()
        .map(|s| std::thread::spawn(move || read_bounded(s, max_output)));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(CommandError::Timeout {
                    program: (*program).to_owned(),
                    timeout,
                });
            }
            Ok(None) => std::thread::sleep(
                Duration::from_millis(5).min(timeout / 10 + Duration::from_millis(1)),
            ),
            Err(source) => {
                return Err(CommandError::Wait {
                    program: (*program).to_owned(),
                    source,
                });
            }
        }
    };
    let join = |h: Option<std::thread::JoinHandle<(Vec<u8>, bool)>>| {
        h.and_then(|h| h.join().ok()).unwrap_or_default()
    };
    let (stdout, t1) = join(stdout);
    let (stderr, t2) = join(stderr);
    Ok(CommandOutput {
        code: status.code(),
        stdout,
        stderr,
        truncated: t1 || t2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_without_a_shell_and_reports_exit_status() {
        let out = run(
            &["sh", "-c", "echo hi; echo err >&2; exit 3"],
            Duration::from_secs(5),
            1024,
        )
        .unwrap();
        assert_eq!(out.code, Some(3));
        assert_eq!(out.stdout, b"hi\n");
        assert_eq!(out.stderr, b"err\n");
        // Arguments are passed verbatim: no globbing or expansion.
        let out = run(&["echo", "$HOME *"], Duration::from_secs(5), 1024).unwrap();
        assert_eq!(out.stdout, b"$HOME *\n");
    }

    #[test]
    fn output_is_bounded() {
        let out = run(
            &["head", "-c", "100000", "/dev/zero"],
            Duration::from_secs(5),
            1000,
        )
        .unwrap();
        assert_eq!(out.stdout.len(), 1000);
        assert!(out.truncated);
    }

    #[test]
    fn a_hanging_command_is_killed_at_the_timeout() {
        let started = Instant::now();
        let err = run(&["sleep", "30"], Duration::from_millis(200), 1024).unwrap_err();
        assert!(matches!(err, CommandError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_missing_program_is_a_spawn_error() {
        let err = run(&["/nonexistent/program"], Duration::from_secs(1), 10).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/program"), "{err}");
    }
}
