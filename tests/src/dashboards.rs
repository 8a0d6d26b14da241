//! The dashboard gate: structure of every JSON under `grafana-dashboards/`, and live queries
//! against a real Prometheus.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde_json::Value;

use crate::prometheus::Prometheus;

/// Every dashboard file.
pub fn dashboard_files() -> Vec<PathBuf> {
    let dir = crate::workspace_root().join("grafana-dashboards");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Loads a dashboard JSON.
pub fn load(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// All panels, including those nested in rows.
pub fn panels(dash: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in dash["panels"].as_array().into_iter().flatten() {
        out.push(p);
        for inner in p["panels"].as_array().into_iter().flatten() {
            out.push(inner);
        }
    }
    out
}

fn is_row(p: &Value) -> bool {
    p["type"] == "row"
}

/// Structural problems of one dashboard (uids are checked across files by the caller).
pub fn check_structure(path: &Path, dash: &Value) -> Vec<String> {
    let at = path.display().to_string();
    let mut problems = Vec::new();
    if dash["uid"].as_str().is_none_or(str::is_empty) {
        problems.push(format!("{at}: no uid"));
    }
    if dash["title"].as_str().is_none_or(str::is_empty) {
        problems.push(format!("{at}: no title"));
    }
    let vars = dash["templating"]["list"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let has_ds = vars.iter().any(|v| {
        v["type"] == "datasource" && v["name"] == "datasource" && v["query"] == "prometheus"
    });
    if !has_ds {
        problems.push(format!(
            "{at}: no `datasource` variable of type datasource for prometheus"
        ));
    }
    let mut ids = BTreeSet::new();
    for p in panels(dash) {
        let title = p["title"].as_str().unwrap_or("<untitled>");
        match p["id"].as_i64() {
            None => problems.push(format!("{at}: panel {title:?} has no id")),
            Some(id) if !ids.insert(id) => problems.push(format!("{at}: panel id {id} used twice")),
            Some(_) => {}
        }
        if is_row(p) {
            continue;
        }
        if p["fieldConfig"]["defaults"]["unit"]
            .as_str()
            .is_none_or(str::is_empty)
        {
            problems.push(format!(
                "{at}: panel {title:?} has no unit (fieldConfig.defaults.unit)"
            ));
        }
        let targets = p["targets"].as_array().cloned().unwrap_or_default();
        if targets.is_empty()
            || targets
                .iter()
                .any(|t| t["expr"].as_str().is_none_or(str::is_empty))
        {
            problems.push(format!(
                "{at}: panel {title:?} has a missing or empty query"
            ));
        }
        let ds = &p["datasource"];
        if !ds.is_null() && ds["uid"] != "${datasource}" && ds != "${datasource}" {
            problems.push(format!(
                "{at}: panel {title:?} does not use the $datasource variable"
            ));
        }
        for t in &targets {
            let expr = t["expr"].as_str().unwrap_or_default();
            if (expr.contains("rate(") || expr.contains("increase("))
                && !expr.contains("$__rate_interval")
                && !expr.contains("[5m]")
            {
                problems.push(format!(
                    "{at}: panel {title:?} uses a rate without $__rate_interval: {expr}"
                ));
            }
        }
    }
    problems
}

/// Checks every dashboard's structure and that uids are unique across files.
pub fn check_all_structure() -> Vec<String> {
    let mut problems = Vec::new();
    let mut uids = BTreeSet::new();
    for f in dashboard_files() {
        match load(&f) {
            Err(e) => problems.push(e),
            Ok(d) => {
                if let Some(uid) = d["uid"].as_str()
                    && !uids.insert(uid.to_owned())
                {
                    problems.push(format!(
                        "{}: uid {uid} used by another dashboard",
                        f.display()
                    ));
                }
                problems.extend(check_structure(&f, &d));
            }
        }
    }
    problems
}

/// Replaces Grafana variables: `$__rate_interval`/`$__interval` by a window that works with a
/// 1 s scrape interval, every other `$var`/`${var}`/`[[var]]` by `.+` (dashboards match
/// variables with `=~`) unless `values` gives one.
pub fn substitute(expr: &str, values: &[(&str, &str)]) -> String {
    let mut s = expr
        .replace("$__rate_interval", "30s")
        .replace("${__rate_interval}", "30s");
    s = s
        .replace("$__interval", "15s")
        .replace("${__interval}", "15s")
        .replace("$__range", "5m");
    for (k, v) in values {
        s = s
            .replace(&format!("${{{k}}}"), v)
            .replace(&format!("${k}"), v);
    }
    let re = Regex::new(
        r"\$\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)|\[\[([A-Za-z0-9_]+)\]\]",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    re.replace_all(&s, ".+").into_owned()
}

/// Runs every panel query (and `label_values` variable query) of `path` against `prom`;
/// returns the queries that returned no data. Retries for up to `wait` so rates have samples.
pub fn check_live(
    prom: &Prometheus,
    path: &Path,
    values: &[(&str, &str)],
    wait: std::time::Duration,
) -> Result<(), String> {
    let dash = load(path)?;
    let mut queries: Vec<(String, String)> = Vec::new();
    for p in panels(&dash).into_iter().filter(|p| !is_row(p)) {
        let title = p["title"].as_str().unwrap_or("<untitled>").to_owned();
        for t in p["targets"].as_array().into_iter().flatten() {
            if let Some(e) = t["expr"].as_str() {
                queries.push((title.clone(), substitute(e, values)));
            }
        }
    }
    let lv = Regex::new(r"^label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\)$")
        .unwrap_or_else(|e| panic!("{e}"));
    for v in dash["templating"]["list"].as_array().into_iter().flatten() {
        let q = v["query"]
            .as_str()
            .or_else(|| v["query"]["query"].as_str())
            .unwrap_or_default();
        if let Some(c) = lv.captures(q.trim()) {
            let name = v["name"].as_str().unwrap_or_default();
            queries.push((
                format!("variable ${name}"),
                substitute(&format!("count by ({}) ({})", &c[2], &c[1]), values),
            ));
        }
    }
    if queries.is_empty() {
        return Err(format!("{}: no queries", path.display()));
    }
    let deadline = std::time::Instant::now() + wait;
    loop {
        let empty: Vec<String> = queries
            .iter()
            .filter(|(_, q)| prom.query(q).is_empty())
            .map(|(t, q)| format!("panel {t:?}: {q}"))
            .collect();
        if empty.is_empty() {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "{}: queries without data:\n  {}",
                path.display(),
                empty.join("\n  ")
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// Dashboards and the test that checks each one live; a dashboard missing here fails the gate.
pub const LIVE_CHECKED: &[(&str, &str)] = &[
    ("os-exporter.json", "tests/os_e2e.rs"),
    ("os-processes.json", "tests/os_processes_e2e.rs"),
    ("os-reachability.json", "tests/os_ping_e2e.rs"),
    ("ic-server-probe.json", "tests/ic_server_e2e.rs"),
    ("keepalived-exporter.json", "tests/keepalived_e2e.rs"),
    ("lvs-exporter.json", "tests/lvs_vm.rs"),
    ("etcd-probe.json", "tests/etcd_e2e.rs"),
    ("overview.json", "tests/foundation_e2e.rs"),
    ("flink-sync-exporter.json", "tests/flink_sync_e2e.rs"),
    ("os-jvm.json", "tests/os_jvm_e2e.rs"),
    ("os-tomcat.json", "tests/os_tomcat_e2e.rs"),
];
