//! The rule gate: what promtool does not check about our alert rules.
//!
//! * alert names are CamelCase; `severity` is critical, warning or info;
//! * `summary`, `description` and `runbook_url` are present, and the runbook anchor exists;
//! * every alert has at least one firing and one silent promtool test case;
//! * every label a template uses is kept by the expression: each firing test case must expect it
//!   (promtool compares expected labels exactly, so an expected label proves the alert has it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;
use serde_yaml_ng::Value;

/// Every rule file: `alerting-rules/*.yml`.
pub fn rule_files() -> Vec<PathBuf> {
    yml_in(&crate::workspace_root().join("alerting-rules"))
}

/// Every promtool test file: `alerting-rules/tests/*.yml`.
pub fn test_files() -> Vec<PathBuf> {
    yml_in(&crate::workspace_root().join("alerting-rules/tests"))
}

fn yml_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// One alerting rule as the lint sees it.
#[derive(Debug, Clone)]
pub struct AlertRule {
    /// File it is in.
    pub file: PathBuf,
    /// `alert:` name.
    pub name: String,
    /// `expr:`.
    pub expr: String,
    /// Static labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
}

/// Every `record:` name and every alert of the given rule files.
pub fn load_rules(files: &[PathBuf]) -> Result<(Vec<String>, Vec<AlertRule>), String> {
    let mut records = Vec::new();
    let mut alerts = Vec::new();
    for f in files {
        let doc = read_yaml(f)?;
        for group in doc["groups"].as_sequence().into_iter().flatten() {
            for rule in group["rules"].as_sequence().into_iter().flatten() {
                if let Some(r) = rule["record"].as_str() {
                    records.push(r.to_owned());
                }
                if let Some(a) = rule["alert"].as_str() {
                    alerts.push(AlertRule {
                        file: f.clone(),
                        name: a.to_owned(),
                        expr: rule["expr"].as_str().unwrap_or_default().to_owned(),
                        labels: str_map(&rule["labels"]),
                        annotations: str_map(&rule["annotations"]),
                    });
                }
            }
        }
    }
    Ok((records, alerts))
}

/// `(name, expr)` of every recording and alerting rule of the given files, in file order.
pub fn rule_expressions(files: &[PathBuf]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for f in files {
        let doc = read_yaml(f)?;
        for group in doc["groups"].as_sequence().into_iter().flatten() {
            for rule in group["rules"].as_sequence().into_iter().flatten() {
                let name = rule["record"].as_str().or_else(|| rule["alert"].as_str());
                if let (Some(n), Some(e)) = (name, rule["expr"].as_str()) {
                    out.push((n.to_owned(), e.to_owned()));
                }
            }
        }
    }
    Ok(out)
}

/// One YAML file, parsed; an error names the file.
fn read_yaml(f: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
    serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", f.display()))
}

fn str_map(v: &Value) -> BTreeMap<String, String> {
    v.as_mapping()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let val = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => return None,
                    };
                    Some((k.as_str()?.to_owned(), val))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A promtool alert test case, reduced to what the lint needs.
#[derive(Debug, Clone)]
pub struct AlertCase {
    /// Test file.
    pub file: PathBuf,
    /// Alert under test.
    pub alertname: String,
    /// Expected label sets (empty for a silent case).
    pub exp_labels: Vec<BTreeMap<String, String>>,
}

/// Every `alert_rule_test` case of the given test files.
pub fn load_cases(files: &[PathBuf]) -> Result<Vec<AlertCase>, String> {
    let mut out = Vec::new();
    for f in files {
        let doc = read_yaml(f)?;
        for test in doc["tests"].as_sequence().into_iter().flatten() {
            for case in test["alert_rule_test"].as_sequence().into_iter().flatten() {
                let exp = case["exp_alerts"]
                    .as_sequence()
                    .map(|s| s.iter().map(|a| str_map(&a["exp_labels"])).collect())
                    .unwrap_or_default();
                out.push(AlertCase {
                    file: f.clone(),
                    alertname: case["alertname"].as_str().unwrap_or_default().to_owned(),
                    exp_labels: exp,
                });
            }
        }
    }
    Ok(out)
}

/// GitHub's heading anchor: lower-case, spaces to `-`, punctuation other than `-`/`_` dropped.
pub fn heading_anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// What every `runbook_url` starts with in the source rule files: `scripts/render-rules.sh`
/// replaces it with the operator's base URL (where `docs/runbooks/` is served).
pub const RUNBOOK_BASE: &str = "${RUNBOOK_BASE_URL}/";

/// The exporter whose rules are in `file` (`ic-server.yml` holds `ic_server_*` rules, from
/// ic-server-probe); `None` for rule files of no single exporter (`suite.yml`).
fn rules_binary(file: &Path) -> Option<String> {
    let stem = file.file_stem()?.to_str()?;
    crate::exporter_list::all()
        .into_iter()
        .find(|e| e.prefix.replace('_', "-") == stem)
        .map(|e| e.name)
}

/// What is wrong with the first paragraph of a runbook section: it must be the `diagnose`
/// command of the alert's exporter (`**Diagnose:** \`<binary> diagnose ...\``).
fn diagnose_line_problem(section_first_line: Option<&str>, binary: Option<&str>) -> Option<String> {
    let line = section_first_line.unwrap_or("");
    let want = match binary {
        Some(b) => format!("**Diagnose:** `{b} diagnose"),
        None => "**Diagnose:** `".to_owned(),
    };
    (!line.starts_with(&want))
        .then(|| format!("the section does not start with {want}...` (found {line:?})"))
}

fn runbook_problem(root: &Path, url: &str, binary: Option<&str>) -> Option<String> {
    let Some(rel) = url.strip_prefix(RUNBOOK_BASE) else {
        return Some(format!(
            "runbook_url {url:?} does not start with {RUNBOOK_BASE} (a file of docs/runbooks/ under the base URL set at render time)"
        ));
    };
    let (file, anchor) = rel.split_once('#').unwrap_or((rel, ""));
    let file = format!("docs/runbooks/{file}");
    let Ok(text) = std::fs::read_to_string(root.join(&file)) else {
        return Some(format!("runbook_url {url:?}: {file} does not exist"));
    };
    if anchor.is_empty() {
        return None;
    }
    let mut lines = text.lines();
    let found = lines.by_ref().any(|l| {
        l.strip_prefix('#')
            .is_some_and(|h| heading_anchor(h.trim_start_matches('#')) == anchor)
    });
    if !found {
        return Some(format!(
            "runbook_url {url:?}: no heading with anchor #{anchor} in {file}"
        ));
    }
    let first = lines.find(|l| !l.trim().is_empty());
    diagnose_line_problem(first, binary).map(|p| format!("{file}#{anchor}: {p}"))
}

/// Labels a template refers to (`$labels.x`, `.Labels.x`, `$labels "x"` forms).
pub fn template_labels(text: &str) -> BTreeSet<String> {
    let re = Regex::new(r#"(?:\$labels|\.Labels)\.([A-Za-z_][A-Za-z0-9_]*)|index\s+\$labels\s+"([A-Za-z_][A-Za-z0-9_]*)""#).unwrap_or_else(|e| panic!("{e}"));
    re.captures_iter(text)
        .filter_map(|c| c.get(1).or_else(|| c.get(2)).map(|m| m.as_str().to_owned()))
        .collect()
}

/// Everything wrong with the given rules and test cases; empty when all is well.
pub fn lint(root: &Path, alerts: &[AlertRule], cases: &[AlertCase]) -> Vec<String> {
    let camel = Regex::new(r"^[A-Z][A-Za-z0-9]*$").unwrap_or_else(|e| panic!("{e}"));
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for a in alerts {
        let at = format!("{}: alert {}", a.file.display(), a.name);
        if !camel.is_match(&a.name) {
            problems.push(format!("{at}: name is not CamelCase"));
        }
        if !seen.insert(a.name.clone()) {
            problems.push(format!("{at}: defined more than once"));
        }
        match a.labels.get("severity").map(String::as_str) {
            Some("critical" | "warning" | "info") => {}
            other => problems.push(format!(
                "{at}: severity must be critical, warning or info, not {other:?}"
            )),
        }
        for key in ["summary", "description", "runbook_url"] {
            if a.annotations.get(key).is_none_or(|v| v.trim().is_empty()) {
                problems.push(format!("{at}: annotation {key} is missing"));
            }
        }
        if let Some(url) = a.annotations.get("runbook_url")
            && let Some(p) = runbook_problem(root, url, rules_binary(&a.file).as_deref())
        {
            problems.push(format!("{at}: {p}"));
        }
        let mine: Vec<&AlertCase> = cases.iter().filter(|c| c.alertname == a.name).collect();
        let firing: Vec<&&AlertCase> = mine.iter().filter(|c| !c.exp_labels.is_empty()).collect();
        if firing.is_empty() {
            problems.push(format!("{at}: no promtool test case where it fires"));
        }
        if !mine.iter().any(|c| c.exp_labels.is_empty()) {
            problems.push(format!(
                "{at}: no promtool test case where it stays silent (exp_alerts: [])"
            ));
        }
        let used: BTreeSet<String> = a
            .annotations
            .values()
            .flat_map(|t| template_labels(t))
            .collect();
        for label in used.iter().filter(|l| !a.labels.contains_key(*l)) {
            for case in &firing {
                if case.exp_labels.iter().any(|l| !l.contains_key(label)) {
                    problems.push(format!(
                        "{at}: templates use label {label:?} but a firing test case in {} does not expect it (does the expression keep it?)",
                        case.file.display()
                    ));
                }
            }
        }
    }
    problems
}
