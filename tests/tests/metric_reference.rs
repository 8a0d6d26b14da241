//! The static half of the metric-reference gate: recording-rule rows against the rule files.

use std::collections::BTreeSet;

use suite_tests::metric_reference::{parse_section, section};
use suite_tests::{exporter_list, rules};

#[test]
fn every_recording_rule_is_documented_and_every_documented_one_exists() {
    let (records, _) = rules::load_rules(&rules::rule_files()).unwrap_or_else(|e| panic!("{e}"));
    let records: BTreeSet<String> = records.into_iter().collect();
    // One section per exporter of exporters.txt, planned ones included.
    let documented: BTreeSet<String> = exporter_list::all()
        .iter()
        .flat_map(|e| section(&e.name))
        .filter(|r| r.is_recording_rule())
        .map(|r| r.name)
        .collect();
    let undocumented: Vec<_> = records.difference(&documented).collect();
    let missing: Vec<_> = documented.difference(&records).collect();
    assert!(
        undocumented.is_empty(),
        "recording rules not in docs/metrics.md: {undocumented:?}"
    );
    assert!(
        missing.is_empty(),
        "documented as recording rules but not defined: {missing:?}"
    );
}

#[test]
fn sections_are_parsed_by_heading() {
    let text = "## a\n| name | origin |\n|---|---|\n| `x_total` | exporter |\n## b\n| `y` | recording rule os.yml |\n";
    let a = parse_section(text, "a");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].name, "x_total");
    assert!(parse_section(text, "b")[0].is_recording_rule());
}
