//! A throw-away VM on Debian 12's stock kernel (`tests/vm/run-in-vm.sh`) for what this host's
//! kernel lacks (bonding, IPVS). The VM sees the host's files (read-only, its writes vanish), so a
//! test runs host-built exporters in it and reads what they print.

use std::process::Command;
use std::time::Duration;

/// Runs `script` with bash in a VM that loaded `modules` first; its stdout, or `Err` with its
/// exit status and output. The VM is bounded by `timeout` and gone when this returns.
pub fn run_script(modules: &[&str], timeout: Duration, script: &str) -> Result<String, String> {
    let mut cmd = Command::new(crate::workspace_root().join("tests/vm/run-in-vm.sh"));
    cmd.arg("-t").arg(timeout.as_secs().to_string());
    for m in modules {
        cmd.arg("-m").arg(m);
    }
    cmd.args(["bash", "-c", script]);
    crate::process::output("tests/vm/run-in-vm.sh", &mut cmd)
}

/// Runs `script` with bash as a oneshot unit of a VM that booted systemd as PID 1 (`-s`); as
/// [`run_script`] otherwise.
pub fn run_script_systemd(timeout: Duration, script: &str) -> Result<String, String> {
    let mut cmd = Command::new(crate::workspace_root().join("tests/vm/run-in-vm.sh"));
    cmd.arg("-t").arg(timeout.as_secs().to_string()).arg("-s");
    cmd.args(["bash", "-c", script]);
    crate::process::output("tests/vm/run-in-vm.sh -s", &mut cmd)
}

/// The sections of `out` that the script opened with a line `=== <name>`, by name.
pub fn sections(out: &str) -> std::collections::BTreeMap<String, String> {
    let mut map = std::collections::BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in out.lines() {
        if let Some(name) = line.strip_prefix("=== ") {
            if let Some((n, body)) = current.take() {
                map.insert(n, body);
            }
            current = Some((name.trim().to_owned(), String::new()));
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    if let Some((n, body)) = current {
        map.insert(n, body);
    }
    map
}
