//! Running `<binary> diagnose --output json` and reading its report.

use serde_json::Value;

/// One finished `diagnose` run.
#[derive(Debug)]
pub struct Diagnosis {
    /// Exit status: 0 no fault, 1 a cause named, 2 bad flags or config.
    pub exit: Option<i32>,
    /// The JSON report.
    pub report: Value,
    /// The exporter's log (stderr).
    pub stderr: String,
}

/// The step `id` of a report (the first one, when a procedure repeats it per instance).
pub fn step<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["id"] == id))
        .unwrap_or_else(|| panic!("no step {id:?} in {report:#}"))
}

/// The ids of the failing steps, in walk order.
pub fn failing(report: &Value) -> Vec<String> {
    report["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["status"] == "fail")
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect()
}

/// The `detail` of every evidence item of a step.
pub fn details(step: &Value) -> Vec<String> {
    step["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["detail"].as_str().map(str::to_owned))
        .collect()
}

/// The evidence items of step `id` whose `what` is `what`.
pub fn evidence_of<'a>(report: &'a Value, id: &str, what: &str) -> Vec<&'a Value> {
    step(report, id)["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["what"] == what)
        .collect()
}

/// A report printed by `diagnose --output json`; panics with the output when it is not JSON.
pub fn parse(stdout: &str, stderr: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| {
        panic!("diagnose: not JSON ({e})\nstdout:\n{stdout}\nstderr:\n{stderr}")
    })
}

/// The exit status and report of a finished `diagnose --output json` run (one started in a
/// namespace, say); panics with the output when it is not JSON.
pub fn from_output(out: &std::process::Output) -> (i32, Value) {
    let report = parse(
        &String::from_utf8_lossy(&out.stdout),
        &String::from_utf8_lossy(&out.stderr),
    );
    (out.status.code().unwrap_or(-1), report)
}

impl Diagnosis {
    /// The verdict's cause id.
    pub fn cause(&self) -> &str {
        self.report["verdict"]["cause"].as_str().unwrap_or("")
    }

    /// The step with `id` (the first one, when a procedure repeats it per instance).
    pub fn step(&self, id: &str) -> &Value {
        step(&self.report, id)
    }

    /// Every step with `id`.
    pub fn steps(&self, id: &str) -> Vec<&Value> {
        self.report["steps"]
            .as_array()
            .map(|s| s.iter().filter(|s| s["id"] == id).collect())
            .unwrap_or_default()
    }

    /// The status of step `id`.
    pub fn status(&self, id: &str) -> &str {
        self.step(id)["status"].as_str().unwrap_or("")
    }

    /// Whether some evidence of step `id` has a `detail` containing `needle`.
    pub fn evidence_contains(&self, id: &str, needle: &str) -> bool {
        self.steps(id).iter().any(|s| {
            s["evidence"].as_array().is_some_and(|e| {
                e.iter()
                    .any(|e| e["detail"].as_str().is_some_and(|d| d.contains(needle)))
            })
        })
    }
}

/// Runs `bin diagnose --output json` with `args` (after `diagnose`) and parses the report;
/// panics with the output when it is not JSON.
pub fn run(bin: &str, args: &[&str]) -> Diagnosis {
    let mut all = vec!["diagnose", "--output", "json"];
    all.extend_from_slice(args);
    let (exit, stdout, stderr) = crate::run_bin(bin, &all);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{bin} diagnose: not JSON ({e}), exit {exit:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        )
    });
    let d = Diagnosis {
        exit,
        report,
        stderr,
    };
    // The exit status and the verdict agree.
    let expected = if d.cause() == "no_fault_found" { 0 } else { 1 };
    assert_eq!(
        d.exit,
        Some(expected),
        "exit status vs verdict {:?}:\n{:#}\n{}",
        d.cause(),
        d.report,
        d.stderr
    );
    d
}
