//! `<binary> diagnose`: an exporter walks its document's troubleshooting procedure on the host,
//! in the document's order, and prints what each step checked, the evidence, pass / fail / not
//! applicable, and a verdict naming the most likely cause with the document's remedy.
//!
//! An exporter writes its procedure as one async function over a [`Walk`]
//! ([`crate::Exporter::diagnose`]); a step is a check run under a deadline, a manual
//! instruction, or a step that does not apply. The checks use the exporter's own collectors
//! ([`Walk::metrics`] runs them once, with their background jobs) and parsers, so nothing is
//! checked two ways. Diagnosis is read-only: remedies are printed, never run.
//!
//! Bounds: every step has a deadline, and the whole walk a limit (`--timeout`, default 30 s);
//! a step cut at either is reported as timed out and the walk goes on to its verdict. A blocking
//! check that is cut keeps its thread until the process exits, which it does right after the
//! report (a hung `statfs` on a dead NFS mount cannot be interrupted any other way).

pub mod log_time;
pub mod window;

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::collector::{CollectorSet, ScrapeContext};
use crate::metrics::{MetricFamily, Value};
pub use window::{Matches, Window};

/// Default limit of a whole walk.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(30);

/// Default deadline of one step.
pub const STEP_DEADLINE: Duration = Duration::from_secs(10);

/// The `diagnose` subcommand's flags.
#[derive(Debug, Clone, clap::Args)]
pub struct DiagnoseArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub output: OutputFormat,
    /// Start of the log window: a time (2026-12-02T05:40:00Z, or local 2026-12-02 13:40) or a
    /// duration before now (30m, 2h). Default: 1h before --until.
    #[arg(long)]
    pub since: Option<String>,
    /// End of the log window, as --since. Default: now.
    #[arg(long)]
    pub until: Option<String>,
    /// Limit of the whole walk; steps still running then are reported as timed out.
    #[arg(long, default_value = "30s", value_parser = crate::config::parse_duration)]
    pub timeout: Duration,
    /// What to diagnose, for exporters that probe a target (as /probe?target=).
    #[arg(long)]
    pub target: Option<String>,
}

/// Output format of `diagnose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// For people: numbered steps, evidence indented, the verdict last.
    Text,
    /// One JSON document, for tooling.
    Json,
}

/// Text in English and, where the document is Chinese, the document's own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Text {
    /// English.
    pub en: &'static str,
    /// The document's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zh: Option<&'static str>,
}

impl Text {
    /// English only.
    pub const fn en(en: &'static str) -> Self {
        Self { en, zh: None }
    }

    /// English and the document's Chinese.
    pub const fn both(en: &'static str, zh: &'static str) -> Self {
        Self { en, zh: Some(zh) }
    }
}

/// A step of a procedure, as the document names it.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// Stable identifier (for JSON and tests).
    pub id: &'static str,
    /// What the step checks.
    pub title: Text,
    /// Where in the document, e.g. `002 §2 step 3`.
    pub source: &'static str,
}

/// One cause from the document's cause list, with the document's remedy.
#[derive(Debug, Clone, Copy)]
pub struct Cause {
    /// Stable identifier (for JSON and tests).
    pub id: &'static str,
    /// The cause.
    pub title: Text,
    /// What the document says to do (printed, never run).
    pub remedy: Text,
}

/// How a step came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Checked, nothing wrong.
    Pass,
    /// Checked, found a fault.
    Fail,
    /// Does not apply here (nothing configured, or an earlier step settled it).
    NotApplicable,
    /// Needs a person: the document's instruction is printed.
    Manual,
    /// Cut at its deadline or at the walk's limit.
    TimedOut,
    /// The check itself could not be made (permission denied, a file that cannot be read).
    Error,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::NotApplicable => "N/A",
            Self::Manual => "MANUAL",
            Self::TimedOut => "TIMEOUT",
            Self::Error => "ERROR",
        }
    }
}

/// One piece of evidence: a log line, a file mode, a ping result, a command-equivalent output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// What it is, e.g. `log line`, `mode`, `ping`, `ip addr`.
    pub what: String,
    /// The evidence itself.
    pub detail: String,
    /// Where it came from (file, address, metric).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// When it was written (log lines), RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

impl Evidence {
    /// Evidence of kind `what`.
    pub fn new(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            detail: detail.into(),
            source: None,
            time: None,
        }
    }

    /// Where it came from.
    #[must_use]
    pub fn from(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// A log line of `file` written at `time`.
    pub fn log_line(file: &Path, time: jiff::Timestamp, line: &str) -> Self {
        Self {
            what: "log line".to_owned(),
            detail: line.to_owned(),
            source: Some(file.display().to_string()),
            time: Some(time.to_string()),
        }
    }
}

/// What a check found.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Pass, fail, not applicable or error.
    pub status: Status,
    /// One line saying what was found.
    pub summary: String,
    /// What shows it.
    pub evidence: Vec<Evidence>,
    /// The document's cause this finding points to (fail only).
    pub cause: Option<&'static str>,
}

impl Outcome {
    fn new(status: Status, summary: impl Into<String>) -> Self {
        Self {
            status,
            summary: summary.into(),
            evidence: Vec::new(),
            cause: None,
        }
    }

    /// Nothing wrong.
    pub fn pass(summary: impl Into<String>) -> Self {
        Self::new(Status::Pass, summary)
    }

    /// A fault; name its cause with [`Outcome::cause`].
    pub fn fail(summary: impl Into<String>) -> Self {
        Self::new(Status::Fail, summary)
    }

    /// Does not apply.
    pub fn not_applicable(summary: impl Into<String>) -> Self {
        Self::new(Status::NotApplicable, summary)
    }

    /// The check could not be made.
    pub fn error(summary: impl Into<String>) -> Self {
        Self::new(Status::Error, summary)
    }

    /// Points the finding at a cause of the procedure.
    #[must_use]
    pub fn cause(mut self, id: &'static str) -> Self {
        self.cause = Some(id);
        self
    }

    /// Adds evidence.
    #[must_use]
    pub fn with(mut self, e: Evidence) -> Self {
        self.evidence.push(e);
        self
    }

    /// Adds evidence.
    #[must_use]
    pub fn with_all(mut self, e: impl IntoIterator<Item = Evidence>) -> Self {
        self.evidence.extend(e);
        self
    }
}

/// One step as reported.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// Position in the walk, from 1.
    pub n: usize,
    /// Its identifier.
    pub id: &'static str,
    /// What it checks.
    pub title: Text,
    /// Where in the document.
    pub source: &'static str,
    /// How it came out.
    pub status: Status,
    /// What was found.
    pub summary: String,
    /// What shows it.
    pub evidence: Vec<Evidence>,
    /// The cause it points to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<&'static str>,
    /// For manual steps: the document's instruction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instruction: Option<Text>,
    /// Time it took.
    pub elapsed_seconds: f64,
}

/// The conclusion of a walk.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The cause's identifier; `no_fault_found` or `unexplained` when no cause was named.
    pub cause: &'static str,
    /// The cause.
    pub title: Text,
    /// The document's remedy (printed, never run).
    pub remedy: Text,
    /// The steps whose findings point to it.
    pub steps: Vec<&'static str>,
}

/// Verdict when nothing failed.
pub const NO_FAULT: Cause = Cause {
    id: "no_fault_found",
    title: Text::both(
        "No fault found by the steps this tool can check",
        "可自动检查的步骤均未发现故障",
    ),
    remedy: Text::en(
        "Do the manual steps listed above; if the alarm persists, escalate with this report attached.",
    ),
};

/// Verdict when steps failed but none named a cause.
pub const UNEXPLAINED: Cause = Cause {
    id: "unexplained",
    title: Text::en("Steps failed, but they match no cause in the document's list"),
    remedy: Text::en("Read the failing steps' evidence; escalate with this report attached."),
};

/// What is wrong with a procedure's cause list: ids that are not snake_case, repeated, or
/// taken by the verdicts every walk has; empty titles or remedies.
pub fn cause_table_problems(causes: &[Cause]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for c in causes {
        if c.id.is_empty()
            || !c
                .id
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
        {
            problems.push(format!("cause id {:?} is not snake_case", c.id));
        }
        if c.id == NO_FAULT.id || c.id == UNEXPLAINED.id || !seen.insert(c.id) {
            problems.push(format!("cause id {:?} is used twice", c.id));
        }
        if c.title.en.is_empty() || c.remedy.en.is_empty() {
            problems.push(format!("cause {:?} has no title or remedy", c.id));
        }
    }
    problems
}

/// A finished walk.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The binary.
    pub binary: &'static str,
    /// Its version.
    pub version: &'static str,
    /// The document and procedure walked.
    pub procedure: Text,
    /// Source document.
    pub document: &'static str,
    /// When the walk started, RFC 3339.
    pub started: String,
    /// Log window, RFC 3339.
    pub since: String,
    /// Log window end, RFC 3339.
    pub until: String,
    /// The walk's limit.
    pub limit_seconds: f64,
    /// Time the walk took.
    pub elapsed_seconds: f64,
    /// Every step, in the document's order.
    pub steps: Vec<StepReport>,
    /// Steps cut at a deadline.
    pub timed_out: Vec<&'static str>,
    /// The most likely cause.
    pub verdict: Verdict,
}

impl Report {
    /// Whether a cause was found (the exit status says so too).
    pub fn found_fault(&self) -> bool {
        self.verdict.cause != NO_FAULT.id
    }
}

/// The state of a walk in progress: its clock, its steps so far, the exporter's collectors.
pub struct Walk {
    args: DiagnoseArgs,
    window: Window,
    start: Instant,
    started: jiff::Timestamp,
    limit: Duration,
    collectors: CollectorSet,
    metrics: Option<Vec<MetricFamily>>,
    procedure: Text,
    document: &'static str,
    causes: &'static [Cause],
    steps: Vec<StepReport>,
    conclusion: Option<&'static str>,
}

impl std::fmt::Debug for Walk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walk")
            .field("procedure", &self.procedure.en)
            .field("steps", &self.steps.len())
            .finish_non_exhaustive()
    }
}

impl Walk {
    /// A walk over `collectors` (built from the exporter's config, jobs not started).
    pub fn new(args: DiagnoseArgs, window: Window, collectors: CollectorSet) -> Self {
        Self {
            limit: args.timeout,
            args,
            window,
            start: Instant::now(),
            started: jiff::Timestamp::now(),
            collectors,
            metrics: None,
            procedure: Text::en("generic"),
            document: "",
            causes: &[],
            steps: Vec::new(),
            conclusion: None,
        }
    }

    /// Names the procedure, its document and the document's cause list (checked in debug
    /// builds: every test that walks a procedure checks its table).
    pub fn procedure(&mut self, document: &'static str, title: Text, causes: &'static [Cause]) {
        debug_assert!(
            cause_table_problems(causes).is_empty(),
            "{document}: {:?}",
            cause_table_problems(causes)
        );
        self.document = document;
        self.procedure = title;
        self.causes = causes;
    }

    /// The flags.
    pub fn args(&self) -> &DiagnoseArgs {
        &self.args
    }

    /// The log window.
    pub fn window(&self) -> &Window {
        &self.window
    }

    /// Time left of the walk's limit.
    pub fn remaining(&self) -> Duration {
        self.limit.saturating_sub(self.start.elapsed())
    }

    /// The steps so far.
    pub fn steps(&self) -> &[StepReport] {
        &self.steps
    }

    /// How step `id` came out, when it ran.
    pub fn status_of(&self, id: &str) -> Option<Status> {
        self.steps.iter().find(|s| s.id == id).map(|s| s.status)
    }

    /// Settles the verdict on `cause`, overriding the first failing step's cause.
    pub fn conclude(&mut self, cause: &'static str) {
        self.conclusion = Some(cause);
    }

    /// One scrape of the exporter's collectors, after each background job has finished a run
    /// (bounded by `deadline` and the walk's limit); taken once and reused by later steps. An
    /// empty list when the limit is already reached.
    pub async fn metrics(&mut self, deadline: Duration) -> &[MetricFamily] {
        if self.metrics.is_none() {
            let until = Instant::now() + deadline.min(self.remaining());
            let started: Vec<&str> = self
                .collectors
                .job_names()
                .into_iter()
                .filter(|j| self.collectors.start_job(j))
                .collect();
            for job in started {
                let Some(status) = self.collectors.job_status(job) else {
                    continue;
                };
                while status.last_success().is_none() && Instant::now() < until {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            let families = self
                .collectors
                .gather(ScrapeContext::new(until.max(Instant::now())))
                .await;
            self.metrics = Some(families);
        }
        self.metrics.as_deref().unwrap_or_default()
    }

    /// The metrics taken by [`Walk::metrics`], if taken.
    pub fn taken_metrics(&self) -> &[MetricFamily] {
        self.metrics.as_deref().unwrap_or_default()
    }

    fn record(&mut self, step: Step, o: Outcome, instruction: Option<Text>, took: Duration) {
        self.steps.push(StepReport {
            n: self.steps.len() + 1,
            id: step.id,
            title: step.title,
            source: step.source,
            status: o.status,
            summary: o.summary,
            evidence: o.evidence,
            cause: o.cause,
            instruction,
            elapsed_seconds: took.as_secs_f64(),
        });
    }

    /// Runs an async check under `deadline` (and the walk's limit) and records it.
    pub async fn check<F>(&mut self, step: Step, deadline: Duration, check: F) -> Status
    where
        F: Future<Output = Outcome>,
    {
        let t0 = Instant::now();
        let allowed = deadline.min(self.remaining());
        let o = if allowed.is_zero() {
            timed_out_before(deadline)
        } else {
            match tokio::time::timeout(allowed, check).await {
                Ok(o) => o,
                Err(_) => timed_out(allowed, deadline),
            }
        };
        let status = o.status;
        self.record(step, o, None, t0.elapsed());
        status
    }

    /// Runs a blocking check on its own thread under `deadline` (and the walk's limit) and
    /// records it. A check still running at its deadline is left behind (see the module doc).
    pub async fn check_blocking<F>(&mut self, step: Step, deadline: Duration, check: F) -> Status
    where
        F: FnOnce() -> Outcome + Send + 'static,
    {
        let handle = tokio::task::spawn_blocking(check);
        self.check(step, deadline, async move {
            handle
                .await
                .unwrap_or_else(|e| Outcome::error(format!("the check failed: {e}")))
        })
        .await
    }

    /// [`Walk::check_blocking`] for a check that also yields data later steps use (a log read
    /// once, judged by several steps): the data is `None` when the check was cut.
    pub async fn check_blocking_keep<T, F>(
        &mut self,
        step: Step,
        deadline: Duration,
        check: F,
    ) -> (Status, Option<T>)
    where
        T: Send + 'static,
        F: FnOnce() -> (Outcome, Option<T>) + Send + 'static,
    {
        let slot = std::sync::Arc::new(std::sync::Mutex::new(None));
        let put = std::sync::Arc::clone(&slot);
        let status = self
            .check_blocking(step, deadline, move || {
                let (o, data) = check();
                if let Ok(mut s) = put.lock() {
                    *s = data;
                }
                o
            })
            .await;
        // A cut check may still finish later; what it yields then is not used.
        let data = if status == Status::TimedOut {
            None
        } else {
            slot.lock().ok().and_then(|mut s| s.take())
        };
        (status, data)
    }

    /// Records a step that needs a person, with the document's instruction.
    pub fn manual(&mut self, step: Step, instruction: Text) {
        self.record(
            step,
            Outcome::new(Status::Manual, "to be done by hand"),
            Some(instruction),
            Duration::ZERO,
        );
    }

    /// Records a step that does not apply, saying why.
    pub fn not_applicable(&mut self, step: Step, why: impl Into<String>) {
        self.record(step, Outcome::not_applicable(why), None, Duration::ZERO);
    }

    /// Records a step whose outcome is already known (computed from earlier steps' data).
    pub fn record_outcome(&mut self, step: Step, o: Outcome) {
        self.record(step, o, None, Duration::ZERO);
    }

    /// Ends the walk: the verdict is the cause given to [`Walk::conclude`], else the first
    /// failing step's cause in walk order, else `unexplained` when a step failed, else
    /// `no_fault_found`.
    pub fn finish(self, binary: &'static str, version: &'static str) -> Report {
        let find = |id: &str| self.causes.iter().find(|c| c.id == id).copied();
        let first_failing = self
            .steps
            .iter()
            .filter(|s| s.status == Status::Fail)
            .find_map(|s| s.cause);
        let any_fail = self.steps.iter().any(|s| s.status == Status::Fail);
        let cause = match self.conclusion.or(first_failing).and_then(find) {
            Some(c) => c,
            None if any_fail => UNEXPLAINED,
            None => NO_FAULT,
        };
        let steps_for = |id: &str| -> Vec<&'static str> {
            self.steps
                .iter()
                .filter(|s| {
                    s.cause == Some(id) || (id == UNEXPLAINED.id && s.status == Status::Fail)
                })
                .map(|s| s.id)
                .collect()
        };
        let verdict = Verdict {
            cause: cause.id,
            title: cause.title,
            remedy: cause.remedy,
            steps: steps_for(cause.id),
        };
        Report {
            binary,
            version,
            procedure: self.procedure,
            document: self.document,
            started: self.started.to_string(),
            since: self.window.since.to_string(),
            until: self.window.until.to_string(),
            limit_seconds: self.limit.as_secs_f64(),
            elapsed_seconds: self.start.elapsed().as_secs_f64(),
            timed_out: self
                .steps
                .iter()
                .filter(|s| s.status == Status::TimedOut)
                .map(|s| s.id)
                .collect(),
            steps: self.steps,
            verdict,
        }
    }
}

fn timed_out(after: Duration, deadline: Duration) -> Outcome {
    if after < deadline {
        Outcome::new(
            Status::TimedOut,
            format!(
                "cut after {:.1}s: the walk's limit was reached",
                after.as_secs_f64()
            ),
        )
    } else {
        Outcome::new(
            Status::TimedOut,
            format!(
                "no answer within its {:.1}s deadline",
                deadline.as_secs_f64()
            ),
        )
    }
}

fn timed_out_before(deadline: Duration) -> Outcome {
    Outcome::new(
        Status::TimedOut,
        format!(
            "not started: the walk's limit was reached (step deadline {:.1}s)",
            deadline.as_secs_f64()
        ),
    )
}

fn both(t: &Text) -> String {
    match t.zh {
        Some(zh) => format!("{} ({zh})", t.en),
        None => t.en.to_owned(),
    }
}

/// The report for people.
pub fn render_text(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} {} diagnose: {}",
        r.binary,
        r.version,
        both(&r.procedure)
    );
    if !r.document.is_empty() {
        let _ = writeln!(s, "document: {}", r.document);
    }
    let _ = writeln!(s, "log window: {} .. {}", r.since, r.until);
    let _ = writeln!(s);
    for st in &r.steps {
        let _ = writeln!(
            s,
            "{:>2}. [{}] {}{}",
            st.n,
            st.status.word(),
            both(&st.title),
            if st.source.is_empty() {
                String::new()
            } else {
                format!("  [{}]", st.source)
            }
        );
        let _ = writeln!(s, "      {}", st.summary);
        if let Some(i) = &st.instruction {
            let _ = writeln!(s, "      do: {}", i.en);
            if let Some(zh) = i.zh {
                let _ = writeln!(s, "      原文: {zh}");
            }
        }
        for e in &st.evidence {
            let mut line = format!("      - {}: {}", e.what, e.detail);
            if let Some(t) = &e.time {
                line = format!("      - {} @ {t}: {}", e.what, e.detail);
            }
            if let Some(src) = &e.source {
                let _ = write!(line, "  ({src})");
            }
            let _ = writeln!(s, "{line}");
        }
    }
    let _ = writeln!(s);
    if !r.timed_out.is_empty() {
        let _ = writeln!(s, "timed out: {}", r.timed_out.join(", "));
    }
    let _ = writeln!(s, "VERDICT: {}", both(&r.verdict.title));
    if !r.verdict.steps.is_empty() {
        let _ = writeln!(s, "  from steps: {}", r.verdict.steps.join(", "));
    }
    let _ = writeln!(s, "REMEDY: {}", r.verdict.remedy.en);
    if let Some(zh) = r.verdict.remedy.zh {
        let _ = writeln!(s, "  原文: {zh}");
    }
    let _ = writeln!(
        s,
        "(read-only: nothing was changed; walk took {:.1}s of {:.0}s)",
        r.elapsed_seconds, r.limit_seconds
    );
    s
}

/// The report as one JSON document.
pub fn render_json(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// The value of the first sample of `family` whose labels include every pair of `labels`.
pub fn value(families: &[MetricFamily], family: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples(families, family, labels).next().map(|(_, v)| v)
}

/// Every numeric sample of `family` whose labels include every pair of `labels`, with its
/// labels.
pub fn samples<'a>(
    families: &'a [MetricFamily],
    family: &'a str,
    labels: &'a [(&'a str, &'a str)],
) -> impl Iterator<Item = (&'a [(String, String)], f64)> + 'a {
    families
        .iter()
        .filter(move |f| f.name == family)
        .flat_map(|f| f.samples.iter())
        .filter(move |s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.iter().any(|(sk, sv)| sk == k && sv == v))
        })
        .filter_map(|s| match s.value {
            Value::Number(n) => Some((s.labels.as_slice(), n)),
            Value::Histogram { .. } => None,
        })
}

/// The default procedure, for an exporter without a document procedure: one scrape, and which
/// collectors failed to read their source.
pub async fn collectors_walk(walk: &mut Walk) {
    const STEP: Step = Step {
        id: "collectors",
        title: Text::en("Every collector reads its source"),
        source: "",
    };
    let t0 = Instant::now();
    let name = format!("{}_scrape_collector_success", walk.collectors.prefix());
    let families = walk.metrics(STEP_DEADLINE).await;
    let all: Vec<(String, f64)> = samples(families, &name, &[])
        .map(|(labels, v)| {
            let c = labels
                .iter()
                .find(|(k, _)| k == "collector")
                .map_or_else(String::new, |(_, v)| v.clone());
            (c, v)
        })
        .collect();
    let failing: Vec<Evidence> = all
        .iter()
        .filter(|(_, v)| *v == 0.0)
        .map(|(c, _)| Evidence::new("collector failed", c.clone()).from(name.clone()))
        .collect();
    let o = if failing.is_empty() {
        Outcome::pass(format!("{} collectors succeeded", all.len()))
    } else {
        Outcome::fail(format!(
            "{} of {} collectors failed (the exporter's log says why)",
            failing.len(),
            all.len()
        ))
        .with_all(failing)
    };
    walk.record(STEP, o, None, t0.elapsed());
}

#[cfg(test)]
mod tests;
