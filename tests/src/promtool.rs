//! Running Debian's `promtool`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// `promtool check metrics` on a classic-format exposition: `Ok` when it prints nothing.
pub fn check_metrics(text: &str) -> Result<(), String> {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running promtool: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && printed.trim().is_empty() {
        Ok(())
    } else {
        Err(printed)
    }
}

/// Runs `promtool <args>` in `dir`; `Ok(stdout)` on exit 0, else `Err(all output)`.
pub fn run(dir: &Path, args: &[&str]) -> Result<String, String> {
    crate::process::output(
        &format!("promtool {}", args.join(" ")),
        Command::new("promtool").args(args).current_dir(dir),
    )
}
