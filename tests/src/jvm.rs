//! Real JDK 17 programs for the JVM tests: `tests/java/GcDemo.java` compiled by `javac` into a
//! temporary directory (one empty subclass per JVM, so each runs under its own main-class name),
//! started with the flags a test chooses; and the JDK's own readers, `jstat` and `jcmd`.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Debian's openjdk-17-jdk-headless.
pub const JDK_BIN: &str = "/usr/lib/jvm/java-17-openjdk-amd64/bin";

/// Writes `GcDemo.java` and one `class <name> extends GcDemo {}` per name into `dir` and compiles
/// them there.
pub fn compile(dir: &Path, classes: &[&str]) {
    std::fs::write(dir.join("GcDemo.java"), include_str!("../java/GcDemo.java"))
        .unwrap_or_else(|e| panic!("writing GcDemo.java: {e}"));
    let mut files = vec![dir.join("GcDemo.java")];
    for c in classes {
        let f = dir.join(format!("{c}.java"));
        std::fs::write(&f, format!("public class {c} extends GcDemo {{}}\n"))
            .unwrap_or_else(|e| panic!("writing {c}.java: {e}"));
        files.push(f);
    }
    let out = Command::new(format!("{JDK_BIN}/javac"))
        .arg("-d")
        .arg(dir)
        .args(&files)
        .output()
        .unwrap_or_else(|e| panic!("javac: {e}"));
    assert!(
        out.status.success(),
        "javac: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One collector as the JVM's management API (`GarbageCollectorMXBean`) reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct MxCollector {
    /// The bean's name, spaces as `_` (`G1_Old_Generation`).
    pub name: String,
    /// Collections.
    pub count: u64,
    /// End of the last one, ms after `vm_start_ms`; -1 before the first.
    pub end_ms: i64,
    /// Its duration in ms; -1 before the first.
    pub duration_ms: i64,
}

/// What the program printed once it was quiescent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Epoch ms just before its two `System.gc()` calls, and just after.
    pub gc_window_ms: (i64, i64),
    /// `RuntimeMXBean.getStartTime()`, epoch ms: the origin of `MxCollector::end_ms`.
    pub vm_start_ms: i64,
    /// `ThreadMXBean.getThreadCount()`.
    pub threads: u64,
    /// Every `GarbageCollectorMXBean`, in the JVM's order.
    pub collectors: Vec<MxCollector>,
}

fn parse_report(lines: &[String]) -> Report {
    let mut r = Report::default();
    for l in lines {
        let w: Vec<&str> = l.split_whitespace().collect();
        let num = |i: usize| -> i64 { w.get(i).and_then(|v| v.parse().ok()).unwrap_or(-1) };
        match w.first().copied() {
            Some("gc_window") => r.gc_window_ms = (num(1), num(2)),
            Some("vm_start") => r.vm_start_ms = num(1),
            Some("threads") => r.threads = u64::try_from(num(1)).unwrap_or(0),
            Some("collector") => r.collectors.push(MxCollector {
                name: w.get(1).copied().unwrap_or_default().to_owned(),
                count: u64::try_from(num(2)).unwrap_or(0),
                end_ms: num(3),
                duration_ms: num(4),
            }),
            _ => {}
        }
    }
    r
}

/// A running demo JVM; closing its stdin (drop) ends it, then it is killed if still there.
#[derive(Debug)]
pub struct Jvm {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Jvm {
    /// Starts `java <args> -cp <dir> <class>` with `env` added.
    pub fn spawn(dir: &Path, class: &str, args: &[&str], env: &[(&str, &str)]) -> Jvm {
        let mut child = Command::new(format!("{JDK_BIN}/java"))
            .args(args)
            .arg("-cp")
            .arg(dir)
            .arg(class)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting java {class}: {e}"));
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .unwrap_or_else(|| panic!("java {class}: no stdout"));
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Jvm {
            child,
            stdin,
            lines,
        }
    }

    /// Waits (at most `timeout`) for the program's `ready` line and returns its report.
    pub fn wait_ready(&mut self, timeout: Duration) -> Report {
        let deadline = std::time::Instant::now() + timeout;
        let mut got = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l == "ready" => return parse_report(&got),
                Ok(l) => got.push(l),
                Err(e) => panic!(
                    "java pid {} not ready within {timeout:?} ({e}); printed {got:?}",
                    self.pid()
                ),
            }
        }
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`, then reaps it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Jvm {
    fn drop(&mut self) {
        self.stdin.take();
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `jstat -<option> <pid>`: each column of its one sample by header name (`None` for `-`).
pub fn jstat(pid: u32, option: &str) -> std::collections::BTreeMap<String, Option<f64>> {
    let out = crate::process::run_ok(&[
        &format!("{JDK_BIN}/jstat"),
        &format!("-{option}"),
        &pid.to_string(),
    ]);
    let mut lines = out.lines();
    let header = lines.next().unwrap_or_default().split_whitespace();
    let values = lines.next().unwrap_or_default().split_whitespace();
    header
        .zip(values)
        .map(|(h, v)| (h.to_owned(), v.parse().ok()))
        .collect()
}

/// `jcmd <pid> GC.heap_info`: heap used and committed, bytes (the sum over its `total NK, used
/// MK` lines: one for G1, young and old generation for Parallel and Serial).
pub fn jcmd_heap(pid: u32) -> (f64, f64) {
    let out =
        crate::process::run_ok(&[&format!("{JDK_BIN}/jcmd"), &pid.to_string(), "GC.heap_info"]);
    let re = regex::Regex::new(r"total (\d+)K, used (\d+)K").unwrap_or_else(|e| panic!("{e}"));
    let (mut used, mut total) = (0.0, 0.0);
    for c in re.captures_iter(&out) {
        total += c[1].parse::<f64>().unwrap_or(0.0) * 1024.0;
        used += c[2].parse::<f64>().unwrap_or(0.0) * 1024.0;
    }
    assert!(total > 0.0, "no heap lines in jcmd GC.heap_info:\n{out}");
    (used, total)
}
