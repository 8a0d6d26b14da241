//! The README is what a new user follows (issue 16, "Operator's first hour"): the Prometheus
//! configurations it gives pass promtool with the rules `make rules` renders, its quick start
//! scrapes every built exporter on its port and sends alerts to the Alertmanager it starts, the
//! alert it promises is routed to a receiver of the example Alertmanager configuration, the
//! `make` targets and links it names exist, every exporter has a README, and the files it says the
//! exporters write are the exporters' defaults. The walk-through itself (build, start, wait for
//! the alert) takes minutes and is done by hand; these checks keep its text from drifting.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use regex::Regex;
use suite_tests::exporter_list;
use suite_tests::rules::{self, heading_anchor};
use suite_tests::{TempDir, process, promtool, read_text, workspace_root};

/// The README's text.
fn readme() -> String {
    read_text(&workspace_root().join("README.md"))
}

/// Fenced blocks of `lang` (`sh`, `yaml`) in `text`, each without the indentation of its fence
/// (blocks inside list items are indented).
fn fenced_blocks(text: &str, lang: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let indent = line.len() - line.trim_start().len();
        if line.trim_start() != format!("```{lang}") {
            continue;
        }
        let mut block = String::new();
        for l in lines.by_ref() {
            if l.trim() == "```" {
                break;
            }
            block.push_str(l.get(indent..).unwrap_or_else(|| l.trim_start()));
            block.push('\n');
        }
        blocks.push(block);
    }
    blocks
}

/// The shell block of the README that contains `needle`.
fn sh_block_with(text: &str, needle: &str) -> String {
    fenced_blocks(text, "sh")
        .into_iter()
        .find(|b| b.contains(needle))
        .unwrap_or_else(|| panic!("no ```sh block of the README contains {needle:?}"))
}

/// The here-document of `block` that starts on the line containing `opener` and ends at `EOF`.
fn heredoc(block: &str, opener: &str) -> String {
    let mut lines = block.lines().skip_while(|l| !l.contains(opener));
    assert!(
        lines.next().is_some(),
        "no line with {opener:?} in:\n{block}"
    );
    let body: Vec<&str> = lines.take_while(|l| *l != "EOF").collect();
    assert!(!body.is_empty(), "empty here-document after {opener:?}");
    body.join("\n") + "\n"
}

/// The quick start's Prometheus configuration, as step 2 writes it.
fn quick_start_config(text: &str) -> String {
    let step2 = sh_block_with(text, "cat > target/quickstart/prometheus.yml");
    heredoc(&step2, "cat > target/quickstart/prometheus.yml")
}

/// Renders the rules as `make rules` does into `<dir>/rules`.
fn render_rules(dir: &Path) {
    let out = dir.join("rules");
    let script = workspace_root().join("scripts/render-rules.sh");
    process::output(
        "scripts/render-rules.sh",
        Command::new(&script).arg(&out).env(
            "RUNBOOK_BASE_URL",
            "file:///srv/ops-exporter-suite/docs/runbooks",
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

/// `promtool check config` on `config`; panics with its output unless it passes, then asserts
/// that its rule_files matched every rule file of the suite.
fn assert_promtool_accepts_with_every_rule_file(config: &Path) {
    let dir = config.parent().unwrap_or_else(|| Path::new("."));
    let path = config.to_string_lossy();
    let out = promtool::run(dir, &["check", "config", &path]).unwrap_or_else(|e| panic!("{e}"));
    let expected = format!("SUCCESS: {} rule files found", rules::rule_files().len());
    assert!(
        out.contains(&expected),
        "rule_files of {path} do not name every rendered rule file (expected {expected:?}):\n{out}"
    );
}

#[test]
fn the_quick_start_prometheus_config_passes_promtool_with_the_rendered_rules() {
    let tmp = TempDir::new("readme-quickstart");
    render_rules(tmp.path());
    // Step 2 writes it to target/quickstart/ beside target/rules, where `make rules` renders.
    let config = tmp.path().join("quickstart/prometheus.yml");
    std::fs::create_dir_all(tmp.path().join("quickstart")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&config, quick_start_config(&readme())).unwrap_or_else(|e| panic!("{e}"));
    assert_promtool_accepts_with_every_rule_file(&config);
}

#[test]
fn the_production_prometheus_config_passes_promtool_and_loads_the_installed_rules() {
    let text = readme();
    let install = sh_block_with(&text, "make rules RUNBOOK_BASE_URL=https://");
    let yaml = fenced_blocks(&text, "yaml")
        .into_iter()
        .find(|b| b.contains("scrape_configs:") && b.contains("alerting:"))
        .unwrap_or_else(|| {
            panic!("no ```yaml block of the README has both alerting: and scrape_configs:")
        });
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&yaml).unwrap_or_else(|e| panic!("README yaml: {e}"));
    let globs: Vec<&str> = doc["rule_files"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(globs.len(), 1, "rule_files: {globs:?}");
    let glob = globs[0];
    let rules_dir = glob.strip_suffix("/*.yml").unwrap_or_else(|| {
        panic!("rule_files {glob:?} is not <dir>/*.yml");
    });
    assert!(
        install.contains(&format!("-t {rules_dir} target/rules/*.yml")),
        "the README installs the rendered rules elsewhere than its rule_files {glob:?}:\n{install}"
    );
    // Where the install step puts them on a real host, a temporary directory here.
    let tmp = TempDir::new("readme-production");
    render_rules(tmp.path());
    let here = yaml.replace(glob, &tmp.path().join("rules/*.yml").to_string_lossy());
    let config = tmp.path().join("prometheus.yml");
    std::fs::write(&config, here).unwrap_or_else(|e| panic!("{e}"));
    assert_promtool_accepts_with_every_rule_file(&config);
}

/// `host:port` targets of `static_configs`, per job.
fn targets(doc: &serde_yaml_ng::Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for job in doc["scrape_configs"].as_sequence().into_iter().flatten() {
        let name = job["job_name"].as_str().unwrap_or_default().to_owned();
        let path = job["metrics_path"]
            .as_str()
            .unwrap_or("/metrics")
            .to_owned();
        for sc in job["static_configs"].as_sequence().into_iter().flatten() {
            for t in sc["targets"].as_sequence().into_iter().flatten() {
                out.push((
                    name.clone(),
                    path.clone(),
                    t.as_str().unwrap_or("").to_owned(),
                ));
            }
        }
    }
    out
}

#[test]
fn the_quick_start_scrapes_every_built_exporter_and_alerts_the_alertmanager_it_starts() {
    let text = readme();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&quick_start_config(&text))
        .unwrap_or_else(|e| panic!("the quick start's prometheus.yml: {e}"));
    let scraped: BTreeSet<String> = targets(&doc)
        .into_iter()
        .filter(|(_, path, _)| path == "/metrics")
        .map(|(_, _, t)| t)
        .collect();
    for l in exporter_list::all().iter().filter(|l| l.is_built()) {
        let want = format!("127.0.0.1:{}", l.port);
        assert!(
            scraped.contains(&want),
            "the quick start does not scrape {} at {want} (make run starts it there): {scraped:?}",
            l.name
        );
    }
    let step2 = sh_block_with(&text, "cat > target/quickstart/prometheus.yml");
    let step3 = sh_block_with(&text, "amtool alert query");
    let am_port =
        Regex::new(r"prometheus-alertmanager [^&]*--web\.listen-address=127\.0\.0\.1:(\d+)")
            .unwrap_or_else(|e| panic!("{e}"))
            .captures(&step2)
            .map(|c| c[1].to_owned())
            .unwrap_or_else(|| panic!("step 2 starts no Alertmanager on loopback:\n{step2}"));
    let am = format!("127.0.0.1:{am_port}");
    let alerting: Vec<&str> = doc["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(
        alerting,
        [am.as_str()],
        "the alerting: block of the quick start"
    );
    assert!(
        step3.contains(&format!("http://{am}")),
        "step 3 asks another Alertmanager than {am}:\n{step3}"
    );
}

#[test]
fn the_quick_start_probe_job_sends_the_target_to_ic_server_probe() {
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&quick_start_config(&readme())).unwrap_or_else(|e| panic!("{e}"));
    let probe_port = exporter_list::all()
        .into_iter()
        .find(|l| l.name == "ic-server-probe")
        .map(|l| l.port)
        .unwrap_or_else(|| panic!("ic-server-probe is not in exporters.txt"));
    let job = doc["scrape_configs"]
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|j| j["metrics_path"].as_str() == Some("/probe"))
        .unwrap_or_else(|| panic!("the quick start has no /probe job"));
    let relabel: Vec<(String, String, String)> = job["relabel_configs"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|r| {
            let src = r["source_labels"][0].as_str().unwrap_or("").to_owned();
            let target = r["target_label"].as_str().unwrap_or("").to_owned();
            let repl = r["replacement"].as_str().unwrap_or("").to_owned();
            (src, target, repl)
        })
        .collect();
    let has = |src: &str, target: &str, repl: &str| {
        relabel
            .iter()
            .any(|(s, t, r)| s == src && t == target && r == repl)
    };
    assert!(has("__address__", "__param_target", ""), "{relabel:?}");
    assert!(has("__param_target", "instance", ""), "{relabel:?}");
    assert!(
        has("", "__address__", &format!("127.0.0.1:{probe_port}")),
        "the /probe job must send its requests to ic-server-probe: {relabel:?}"
    );
}

#[test]
fn the_alert_the_quick_start_waits_for_is_routed_to_the_receiver_it_names() {
    let text = readme();
    let step3 = sh_block_with(&text, "amtool alert query");
    let name = Regex::new(r"alertname=([A-Za-z]+)")
        .unwrap_or_else(|e| panic!("{e}"))
        .captures(&step3)
        .map(|c| c[1].to_owned())
        .unwrap_or_else(|| panic!("step 3 queries no alertname:\n{step3}"));
    let (_, alerts) = rules::load_rules(&rules::rule_files()).unwrap_or_else(|e| panic!("{e}"));
    let alert = alerts
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("the quick start waits for {name}, which no rule defines"));
    let mut args = vec![
        "config".to_owned(),
        "routes".to_owned(),
        "test".to_owned(),
        "--config.file=alerting-rules/alertmanager/alertmanager.yml".to_owned(),
        format!("alertname={name}"),
    ];
    args.extend(alert.labels.iter().map(|(k, v)| format!("{k}={v}")));
    let receiver = process::output(
        "amtool config routes test",
        Command::new("amtool")
            .args(&args)
            .current_dir(workspace_root()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let receiver = receiver.trim();
    assert!(
        text.contains(&format!("routes it to the `{receiver}` receiver")),
        "{name} routes to {receiver:?}, which the README's step 3 does not name"
    );
}

#[test]
fn every_make_target_the_readme_names_exists() {
    let makefile = read_text(&workspace_root().join("Makefile"));
    let defined: BTreeSet<&str> = makefile
        .lines()
        .filter_map(|l| l.split_once(':').map(|(t, _)| t))
        .filter(|t| !t.is_empty() && !t.contains([' ', '\t', '$', '.', '=']))
        .collect();
    let used: BTreeSet<String> = Regex::new(r"\bmake ([a-z][a-z-]*)")
        .unwrap_or_else(|e| panic!("{e}"))
        .captures_iter(&readme())
        .map(|c| c[1].to_owned())
        .collect();
    assert!(!used.is_empty(), "the README names no make target");
    let missing: Vec<&String> = used
        .iter()
        .filter(|t| !defined.contains(t.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "make targets the README names but the Makefile lacks: {missing:?}"
    );
}

/// Relative links of a markdown file that do not resolve (file, then heading anchor).
fn broken_links(file: &Path) -> Vec<String> {
    let text = read_text(file);
    let dir = file.parent().unwrap_or_else(|| Path::new("."));
    let link = Regex::new(r"\]\(([^)\s]+)\)").unwrap_or_else(|e| panic!("{e}"));
    let mut broken = Vec::new();
    for c in link.captures_iter(&text) {
        let target = &c[1];
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
        let linked = if path.is_empty() {
            file.to_path_buf()
        } else {
            dir.join(path)
        };
        if !linked.exists() {
            broken.push(format!("{}: {target}: no such file", file.display()));
            continue;
        }
        if anchor.is_empty() || linked.is_dir() {
            continue;
        }
        let headings = read_text(&linked);
        let found = headings
            .lines()
            .filter(|l| l.starts_with('#'))
            .any(|h| heading_anchor(h.trim_start_matches('#')) == anchor);
        if !found {
            broken.push(format!("{}: {target}: no such heading", file.display()));
        }
    }
    broken
}

#[test]
fn every_relative_link_of_the_readmes_resolves() {
    let root = workspace_root();
    let mut files = vec![root.join("README.md")];
    for l in exporter_list::all().iter().filter(|l| l.is_built()) {
        files.push(root.join("exporters").join(&l.name).join("README.md"));
    }
    let broken: Vec<String> = files.iter().flat_map(|f| broken_links(f)).collect();
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn every_built_exporter_has_a_readme_naming_its_port_and_prefix() {
    for l in exporter_list::all().iter().filter(|l| l.is_built()) {
        let path = workspace_root()
            .join("exporters")
            .join(&l.name)
            .join("README.md");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{} has no README ({}): {e}", l.name, path.display()));
        assert!(
            text.contains(&format!(":{}", l.port)) && text.contains(&format!("`{}_`", l.prefix)),
            "{} does not name the default port :{} and the prefix `{}_`",
            path.display(),
            l.port,
            l.prefix
        );
    }
}

/// The README's section `## <title>`, up to the next `## `.
fn section<'a>(text: &'a str, title: &str) -> &'a str {
    let start = text
        .find(&format!("\n## {title}\n"))
        .unwrap_or_else(|| panic!("the README has no section {title:?}"));
    let rest = &text[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    &rest[..end]
}

#[test]
fn the_files_the_readme_lists_are_the_exporters_default_paths() {
    let text = readme();
    let files = section(&text, "Files the exporters write");
    let example = |name: &str| -> toml::Value {
        let path = workspace_root()
            .join("exporters")
            .join(name)
            .join(format!("{name}.example.toml"));
        toml::from_str(&read_text(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let os = example("os-exporter");
    let etcd = example("etcd-probe");
    let journal = os["audit"]["path"].as_str().unwrap_or_default().to_owned();
    let state = etcd["state_file"].as_str().unwrap_or_default().to_owned();
    for (what, path, key) in [
        ("os-exporter's audit journal", journal, "`[audit] path`"),
        ("etcd-probe's state file", state, "`state_file`"),
    ] {
        assert!(!path.is_empty(), "{what}: no default in the example config");
        assert!(
            files.contains(&format!("`{path}")) && files.contains(key),
            "the README's files table does not give {what} ({path}) and the key {key} that moves it"
        );
    }
}
