//! Test harness of the suite: real exporters, real Prometheus and promtool, and the gates every
//! exporter's tests share (rules, dashboards, metric reference).

pub mod accounts;
pub mod alertmanager;
pub mod chrony;
pub mod daemons;
pub mod dashboards;
pub mod diagnose;
pub mod etcd_cluster;
pub mod exporter;
pub mod exporter_list;
pub mod flink;
pub mod http;
pub mod ipvsadm;
pub mod jvm;
pub mod keepalived;
pub mod metric_reference;
pub mod netns;
pub mod process;
pub mod prometheus;
pub mod promtool;
pub mod rules;
pub mod tomcat;
pub mod victoria;
pub mod vm;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The workspace root (the directory holding `alerting-rules/`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// Where the built exporter binaries are: `$SUITE_BIN_DIR`, else `$CARGO_TARGET_DIR/debug`,
/// else `<workspace>/target/debug`.
pub fn bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SUITE_BIN_DIR") {
        return PathBuf::from(d);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from);
    target.join("debug")
}

/// Path of a built binary; panics with a hint when it has not been built.
pub fn bin_path(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.exists(),
        "{} not built: run `cargo build --workspace --bins` first (or `make test`)",
        p.display()
    );
    p
}

/// Runs a built binary to completion: (exit code, stdout, stderr).
pub fn run_bin(name: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(bin_path(name))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {name}: {e}"));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The text of `path`; panics naming the file when it cannot be read.
pub fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The last component of `path` as text (empty when it has none).
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// Polls `f` every 100 ms until it returns `Some`, or panics after `timeout` naming `what`.
pub fn wait_until<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Calls `f` every 500 ms until it returns true (then true) or `timeout` passes (then false), for
/// a caller that reports its own diagnosis of the last attempt.
pub fn poll_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if f() {
            return true;
        }
        if start.elapsed() >= timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A fresh temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `/tmp/suite-<tag>-<pid>-<n>`.
    pub fn new(tag: &str) -> TempDir {
        TempDir::in_dir(&std::env::temp_dir(), tag)
    }

    /// Creates `<parent>/suite-<tag>-<pid>-<n>` (for a test whose daemons get a private /tmp).
    pub fn in_dir(parent: &Path, tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = parent.join(format!(
            "suite-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap_or_else(|e| panic!("creating {}: {e}", p.display()));
        TempDir(p)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
