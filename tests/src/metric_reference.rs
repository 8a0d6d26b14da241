//! The metric-reference gate: `docs/metrics.md` against real scrapes and the rule files.

use std::collections::BTreeSet;

use crate::exporter::family_names;

/// One documented metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Family name (self-metric rows still contain `<prefix>`).
    pub name: String,
    /// `exporter`, `exporter (<condition>)` for a family emitted only under a setting (e.g.
    /// `exporter (with TLS)`), or `recording rule ...`.
    pub origin: String,
    /// The `collector` cell: "`name` in `file`" for a registry collector's family.
    pub collector: String,
}

impl Row {
    /// Whether a recording rule produces it.
    pub fn is_recording_rule(&self) -> bool {
        self.origin.starts_with("recording rule")
    }

    /// Whether the exporter emits it only under a setting the default scrape lacks (its own
    /// test covers it), so a scrape without it is not a missing family.
    /// A recording rule is conditional the same way when its origin adds a parenthesis.
    pub fn is_conditional(&self) -> bool {
        self.origin.starts_with("exporter (")
            || (self.is_recording_rule() && self.origin.contains(" ("))
    }
}

/// The rows of `## <section>` in `docs/metrics.md`.
pub fn section(section: &str) -> Vec<Row> {
    let text = std::fs::read_to_string(crate::workspace_root().join("docs/metrics.md"))
        .unwrap_or_default();
    parse_section(&text, section)
}

/// The rows of `## <section>` in a metrics reference text.
pub fn parse_section(text: &str, section: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            inside = h.trim() == section;
            continue;
        }
        if !inside || !line.starts_with("| `") {
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if let (Some(name), Some(origin)) = (cells.first(), cells.last()) {
            let collector = cells
                .len()
                .checked_sub(2)
                .filter(|_| cells.len() >= 7)
                .and_then(|i| cells.get(i))
                .map_or_else(String::new, |c| (*c).to_owned());
            rows.push(Row {
                name: name.trim_matches('`').to_owned(),
                origin: (*origin).to_owned(),
                collector,
            });
        }
    }
    rows
}

/// Documented families the exporter itself emits: its section plus the self-metrics; with
/// `required_only`, without those it emits only under a setting.
pub fn documented_exporter_metrics(
    exporter: &str,
    prefix: &str,
    required_only: bool,
) -> BTreeSet<String> {
    section(exporter)
        .into_iter()
        .chain(section("Self-metrics (every exporter)"))
        .filter(|r| !r.is_recording_rule())
        .filter(|r| !required_only || !r.is_conditional())
        .map(|r| r.name.replace("<prefix>", prefix))
        .collect()
}

/// Checks both directions for one exporter: every family in the union of `scrapes` is
/// documented, every documented exporter-origin family appears in a scrape.
pub fn check_scrape(exporter: &str, prefix: &str, scrapes: &[&str]) -> Result<(), String> {
    let documented = documented_exporter_metrics(exporter, prefix, false);
    let required = documented_exporter_metrics(exporter, prefix, true);
    let emitted: BTreeSet<String> = scrapes.iter().flat_map(|s| family_names(s)).collect();
    let undocumented: Vec<_> = emitted.difference(&documented).collect();
    let missing: Vec<_> = required.difference(&emitted).collect();
    let mut problems = Vec::new();
    if !undocumented.is_empty() {
        problems.push(format!(
            "emitted by {exporter} but not in docs/metrics.md: {undocumented:?}"
        ));
    }
    if !missing.is_empty() {
        problems.push(format!(
            "documented for {exporter} but not emitted: {missing:?}"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// Recording-rule rows of `exporter` whose series do not exist in `prom` (waits up to `wait`).
pub fn check_recorded(
    exporter: &str,
    prom: &crate::prometheus::Prometheus,
    wait: std::time::Duration,
) -> Result<(), String> {
    let rows: Vec<Row> = section(exporter)
        .into_iter()
        .filter(|r| r.is_recording_rule() && !r.is_conditional())
        .collect();
    let deadline = std::time::Instant::now() + wait;
    loop {
        let missing: Vec<&str> = rows
            .iter()
            .filter(|r| prom.query(&r.name).is_empty())
            .map(|r| r.name.as_str())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "recording rules of {exporter} produced no series in Prometheus: {missing:?}"
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// The `collector` cell that documents a family of registry collector `name` defined in `file`.
pub fn collector_cell(name: &str, file: &str) -> String {
    format!("`{name}` in `{file}`")
}

/// Checks the `collector` column of `section` against an exporter's registry: for every
/// `(collector, file, families)` entry, each family has a row whose cell is
/// [`collector_cell`]; and no row claims a collector the registry does not declare it for.
pub fn check_collector_column(
    section_name: &str,
    declared: &[(&str, &str, Vec<&str>)],
) -> Result<(), String> {
    let rows = section(section_name);
    let mut problems = Vec::new();
    for (collector, file, families) in declared {
        let want = collector_cell(collector, file);
        for fam in families {
            match rows.iter().find(|r| r.name == *fam) {
                None => problems.push(format!("{fam} (collector {collector}) has no row")),
                Some(r) if r.collector != want => problems.push(format!(
                    "{fam}: collector cell is {:?}, the registry says {want:?}",
                    r.collector
                )),
                Some(_) => {}
            }
        }
    }
    for r in &rows {
        let claimed = declared
            .iter()
            .find(|(c, f, _)| r.collector == collector_cell(c, f));
        if let Some((c, _, families)) = claimed
            && !families.contains(&r.name.as_str())
        {
            problems.push(format!(
                "{} names collector {c}, which does not declare it",
                r.name
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "docs/metrics.md section {section_name}: {}",
            problems.join("; ")
        ))
    }
}
