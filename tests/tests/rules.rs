//! The rule gate over everything in `alerting-rules/`: promtool's checks and our own lint.

use std::path::Path;

use suite_tests::rules::{self, AlertCase, AlertRule};
use suite_tests::{promtool, workspace_root};

fn rel(p: &Path) -> String {
    p.strip_prefix(workspace_root().join("alerting-rules"))
        .unwrap_or(p)
        .display()
        .to_string()
}

#[test]
fn promtool_check_rules_lint_fatal_passes_on_every_rule_file() {
    let files = rules::rule_files();
    assert!(!files.is_empty(), "no rule files under alerting-rules/");
    let mut args = vec![
        "check".to_owned(),
        "rules".to_owned(),
        "--lint-fatal".to_owned(),
    ];
    args.extend(files.iter().map(|f| rel(f)));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if let Err(e) = promtool::run(&workspace_root().join("alerting-rules"), &args) {
        panic!("{e}");
    }
}

#[test]
fn promtool_test_rules_passes_on_every_test_file() {
    let files = rules::test_files();
    assert!(
        !files.is_empty(),
        "no promtool test files under alerting-rules/tests/"
    );
    let mut args = vec!["test".to_owned(), "rules".to_owned()];
    args.extend(files.iter().map(|f| {
        f.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if let Err(e) = promtool::run(&workspace_root().join("alerting-rules/tests"), &args) {
        panic!("{e}");
    }
}

#[test]
fn every_alert_passes_the_suite_lint() {
    let (_, alerts) = rules::load_rules(&rules::rule_files()).unwrap_or_else(|e| panic!("{e}"));
    assert!(!alerts.is_empty(), "no alerts defined");
    let cases = rules::load_cases(&rules::test_files()).unwrap_or_else(|e| panic!("{e}"));
    let problems = rules::lint(&workspace_root(), &alerts, &cases);
    assert!(problems.is_empty(), "rule lint:\n{}", problems.join("\n"));
}

#[test]
fn every_rule_group_names_its_interval() {
    for f in rules::rule_files() {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let doc: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for g in doc["groups"].as_sequence().into_iter().flatten() {
            assert!(
                g["interval"].as_str().is_some(),
                "{}: group {:?} has no interval (docs/architecture.md, Alert rules)",
                f.display(),
                g["name"]
            );
        }
    }
}

/// The lint must be able to fail: a rule with every mistake it knows is reported for each.
#[test]
fn the_lint_reports_each_kind_of_mistake() {
    let root = workspace_root();
    let bad = AlertRule {
        file: "bad.yml".into(),
        name: "os_cpu_high".into(),
        expr: "max by (instance) (x) > 1".into(),
        labels: [("severity".to_owned(), "urgent".to_owned())].into(),
        annotations: [
            ("summary".to_owned(), "High.".to_owned()),
            (
                "description".to_owned(),
                "{{ $labels.device }} on {{ $labels.instance }}".to_owned(),
            ),
            (
                "runbook_url".to_owned(),
                "${RUNBOOK_BASE_URL}/missing.md#x".to_owned(),
            ),
        ]
        .into(),
    };
    let firing_without_device = AlertCase {
        file: "bad_test.yml".into(),
        alertname: "os_cpu_high".into(),
        exp_labels: vec![[("instance".to_owned(), "a".to_owned())].into()],
    };
    let problems =
        rules::lint(&root, std::slice::from_ref(&bad), &[firing_without_device]).join("\n");
    for expected in [
        "not CamelCase",
        "severity must be",
        "missing.md does not exist",
        "stays silent",
        "label \"device\"",
    ] {
        assert!(
            problems.contains(expected),
            "lint did not report {expected:?}:\n{problems}"
        );
    }
    let problems = rules::lint(&root, &[bad], &[]).join("\n");
    assert!(
        problems.contains("no promtool test case where it fires"),
        "{problems}"
    );
    // An etcd rule pointing at a section that opens with another exporter's diagnose command.
    let wrong_diagnose = AlertRule {
        file: "alerting-rules/etcd.yml".into(),
        name: "EtcdSomething".into(),
        expr: "up == 0".into(),
        labels: [("severity".to_owned(), "warning".to_owned())].into(),
        annotations: [
            ("summary".to_owned(), "s".to_owned()),
            ("description".to_owned(), "d".to_owned()),
            (
                "runbook_url".to_owned(),
                "${RUNBOOK_BASE_URL}/os.md#oscpuusageover80".to_owned(),
            ),
        ]
        .into(),
    };
    let problems = rules::lint(&root, &[wrong_diagnose], &[]).join("\n");
    assert!(
        problems.contains("does not start with **Diagnose:** `etcd-probe diagnose"),
        "{problems}"
    );
}

#[test]
fn template_labels_are_found_in_every_form() {
    let got = rules::template_labels(
        r#"{{ $labels.ocp_address }} {{ .Labels.vip }} {{ index $labels "endpoint" }}"#,
    );
    assert_eq!(
        got.into_iter().collect::<Vec<_>>(),
        vec!["endpoint", "ocp_address", "vip"]
    );
}

#[test]
fn rendered_rules_point_every_runbook_url_under_the_operators_base() {
    let root = workspace_root();
    let out = suite_tests::TempDir::new("render-rules");
    let base = "https://git.example.com/ops/suite/-/blob/main/docs/runbooks";
    let status = std::process::Command::new(root.join("scripts/render-rules.sh"))
        .arg(out.path())
        .env("RUNBOOK_BASE_URL", format!("{base}/"))
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    let rendered: Vec<std::path::PathBuf> = std::fs::read_dir(out.path())
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| Some(e.ok()?.path()))
        .collect();
    let (_, alerts) = rules::load_rules(&rendered).unwrap_or_else(|e| panic!("{e}"));
    let mut urls = 0;
    for rule in alerts {
        let url = &rule.annotations["runbook_url"];
        let section = url
            .strip_prefix(&format!("{base}/"))
            .unwrap_or_else(|| panic!("{}: {url}", rule.name));
        assert!(
            section.contains(".md#") && !section.contains("RUNBOOK_BASE_URL"),
            "{url}"
        );
        urls += 1;
    }
    assert!(urls > 40, "only {urls} alerts rendered");
    let files: Vec<String> = rendered.iter().map(|p| rel(p)).collect();
    let mut args = vec!["check", "rules"];
    args.extend(files.iter().map(String::as_str));
    if let Err(e) = promtool::run(out.path(), &args) {
        panic!("promtool check rules on the rendered rules: {e}");
    }

    // Without a base URL nothing is rendered, and the operator is told what to set.
    let refused = std::process::Command::new(root.join("scripts/render-rules.sh"))
        .arg(out.path().join("none"))
        .env_remove("RUNBOOK_BASE_URL")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("set RUNBOOK_BASE_URL"));
}
