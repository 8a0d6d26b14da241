//! Golden exposition tests, as node_exporter's `e2e-output.txt`: an exporter's collectors run
//! in-process on a fixture tree, the whole exposition is compared with a checked-in `.prom`
//! file, and a series that disappeared (removed or renamed) is named in the failure.
//! `UPDATE_GOLDEN=1 cargo test` rewrites the files after an intended change.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{Context, Exporter, ExporterConfig as _, assemble};
use crate::collector::ScrapeContext;
use crate::metrics::{MetricFamily, Value};
use crate::paths::SysPaths;

/// What varies from run to run, so its values are not compared (the series still are).
#[derive(Debug, Clone, Default)]
pub struct Volatile {
    /// Families whose values are masked.
    pub families: Vec<String>,
}

impl Volatile {
    /// Masks the values of these families.
    pub fn families(names: &[&str]) -> Self {
        Self {
            families: names.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn masks(&self, family: &str) -> bool {
        family.ends_with("_scrape_collector_duration_seconds")
            || family.ends_with("_last_run_timestamp_seconds")
            || family.ends_with("_last_run_duration_seconds")
            || self.families.iter().any(|f| f == family)
    }
}

/// Builds exporter `E` from `config` (TOML text) over `paths`, runs one scrape of all its
/// collectors and returns the families. Jobs are declared but not started.
pub async fn scrape<E: Exporter>(
    config: &str,
    paths: SysPaths,
) -> Result<Vec<MetricFamily>, String> {
    let cfg: E::Config =
        crate::config::parse_toml(Path::new("golden.toml"), config).map_err(|e| e.to_string())?;
    let ctx = Context {
        config_path: Some(PathBuf::from("golden.toml")),
        paths,
        check_only: false,
    };
    let assembled = assemble::<E>(cfg, &ctx, Some(config)).map_err(|e| e.to_string())?;
    Ok(assembled
        .collectors
        .gather(ScrapeContext::with_timeout(Duration::from_secs(20)))
        .await)
}

/// The names of the collectors `E` would run with `config` (for coverage checks).
pub fn selected<E: Exporter>(config: &str) -> Result<Vec<&'static str>, String> {
    let cfg: E::Config =
        crate::config::parse_toml(Path::new("golden.toml"), config).map_err(|e| e.to_string())?;
    crate::registry::select(E::COLLECTORS, cfg.collectors())
        .map(|defs| defs.iter().map(|d| d.name).collect())
        .map_err(|e| e.to_string())
}

/// Every registry entry of `E` as `(collector, file, families)`, for the metric reference.
pub fn declared<E: Exporter>() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    E::COLLECTORS
        .iter()
        .map(|d| (d.name, d.file, d.metrics.iter().map(|m| m.name).collect()))
        .collect()
}

/// The exposition in a stable form: families and samples sorted, volatile values masked as
/// `<volatile>`, one `# TYPE` line per family (HELP is kept: a changed unit shows).
pub fn render(families: &[MetricFamily], volatile: &Volatile) -> String {
    let mut fams: Vec<MetricFamily> = families.to_vec();
    fams.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = String::new();
    for mut f in fams {
        f.samples.sort_by(|a, b| a.labels.cmp(&b.labels));
        let masked = volatile.masks(&f.name);
        let text = crate::encode::encode_classic(std::slice::from_ref(&f));
        for line in text.lines() {
            if masked && !line.starts_with('#') {
                let series = line.rsplit_once(' ').map_or(line, |(s, _)| s);
                out.push_str(series);
                out.push_str(" <volatile>\n");
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// The series (name and labels, no value) of a rendered exposition.
pub fn series(rendered: &str) -> BTreeSet<String> {
    rendered
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.rsplit_once(' ').map(|(s, _)| s.to_owned()))
        .collect()
}

/// Compares `actual` with the golden file (or rewrites it under `UPDATE_GOLDEN=1`). The error
/// lists removed series first, then added ones, then a few changed lines.
pub fn check(golden: &Path, actual: &str) -> Result<(), String> {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        return std::fs::write(golden, actual)
            .map_err(|e| format!("writing {}: {e}", golden.display()));
    }
    let expected = std::fs::read_to_string(golden).map_err(|e| {
        format!(
            "reading {}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            golden.display()
        )
    })?;
    if expected == actual {
        return Ok(());
    }
    let (want, got) = (series(&expected), series(actual));
    let removed: Vec<_> = want.difference(&got).collect();
    let added: Vec<_> = got.difference(&want).collect();
    let changed: Vec<_> = actual
        .lines()
        .filter(|l| !expected.lines().any(|e| e == *l))
        .take(10)
        .collect();
    Err(format!(
        "{} differs from this scrape (UPDATE_GOLDEN=1 rewrites it after an intended change)\n\
         removed or renamed series: {removed:#?}\nnew series: {added:#?}\nfirst changed lines: {changed:#?}",
        golden.display()
    ))
}

/// The numeric value of the first sample of `family` with `label = value`, from raw families.
pub fn value(families: &[MetricFamily], family: &str, label: (&str, &str)) -> Option<f64> {
    families
        .iter()
        .find(|f| f.name == family)?
        .samples
        .iter()
        .find(|s| s.labels.iter().any(|(k, v)| k == label.0 && v == label.1))
        .and_then(|s| match s.value {
            Value::Number(n) => Some(n),
            Value::Histogram { .. } => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{MetricSet, MetricType};

    fn fams() -> Vec<MetricFamily> {
        let mut s = MetricSet::new();
        s.gauge_with("t_b", "B, a count.", &[("x", "2")], 2.0);
        s.gauge_with("t_b", "B, a count.", &[("x", "1")], 1.0);
        s.family(
            "t_scrape_collector_duration_seconds",
            "D.",
            MetricType::Gauge,
        )
        .push(&[("collector", "c")], 0.123);
        s.gauge("t_a", "A.", 5.0);
        s.into_families()
    }

    #[test]
    fn rendering_sorts_and_masks_volatile_values() {
        let r = render(&fams(), &Volatile::default());
        let a = r.find("t_a 5").unwrap_or(usize::MAX);
        let b1 = r.find("t_b{x=\"1\"} 1").unwrap_or(usize::MAX);
        let b2 = r.find("t_b{x=\"2\"} 2").unwrap_or(usize::MAX);
        assert!(a < b1 && b1 < b2, "{r}");
        assert!(
            r.contains("t_scrape_collector_duration_seconds{collector=\"c\"} <volatile>"),
            "{r}"
        );
    }

    #[test]
    fn a_removed_series_is_named_in_the_failure() {
        let dir = std::env::temp_dir().join(format!("golden-test-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join("x.prom");
        let full = render(&fams(), &Volatile::default());
        let _ = std::fs::write(&file, &full);
        assert!(check(&file, &full).is_ok());
        let fewer: Vec<_> = fams().into_iter().filter(|f| f.name != "t_a").collect();
        let err = check(&file, &render(&fewer, &Volatile::default())).unwrap_err();
        assert!(
            err.contains("removed or renamed series") && err.contains("\"t_a\""),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
