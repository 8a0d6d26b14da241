//! Golden exposition tests, as node_exporter's `e2e-output.txt`: an exporter's collectors run
//! in-process on a fixture tree, the whole exposition is compared with a checked-in `.prom`
//! file, and a series that disappeared (removed or renamed) is named in the failure.
//! `UPDATE_GOLDEN=1 cargo test` rewrites the files after an intended change.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{Context, Exporter, ExporterConfig as _, assemble};
use crate::collector::ScrapeContext;
use crate::metrics::{MetricFamily, Value};
use crate::paths::SysPaths;
use crate::registry::CollectorDef;

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
        diagnose: false,
    };
    let assembled = assemble::<E>(cfg, &ctx, Some(config)).map_err(|e| e.to_string())?;
    Ok(assembled
        .collectors
        .gather(ScrapeContext::with_timeout(Duration::from_secs(20)))
        .await)
}

/// Like [`scrape`], but first starts those of the background jobs named in `jobs` that the
/// config declares and waits (at most 30 s) until each has finished one run, so the collectors
/// serving their results have something to serve. The other jobs are not started.
pub async fn scrape_after_jobs<E: Exporter>(
    config: &str,
    paths: SysPaths,
    jobs: &[&str],
) -> Result<Vec<MetricFamily>, String> {
    let cfg: E::Config =
        crate::config::parse_toml(Path::new("golden.toml"), config).map_err(|e| e.to_string())?;
    let ctx = Context {
        config_path: Some(PathBuf::from("golden.toml")),
        paths,
        check_only: false,
        diagnose: false,
    };
    let assembled = assemble::<E>(cfg, &ctx, Some(config)).map_err(|e| e.to_string())?;
    let set = &assembled.collectors;
    let jobs: Vec<&str> = jobs.iter().copied().filter(|j| set.start_job(j)).collect();
    let until = std::time::Instant::now() + Duration::from_secs(30);
    for job in jobs {
        let Some(status) = set.job_status(job) else {
            continue;
        };
        while status.last_success().is_none() {
            if std::time::Instant::now() > until {
                return Err(format!("job {job} did not finish a run within 30 s"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(set
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

/// The golden file of `case`: `<manifest_dir>/tests/golden/<case>.prom`.
pub fn case_file(manifest_dir: impl AsRef<Path>, case: &str) -> PathBuf {
    manifest_dir
        .as_ref()
        .join("tests/golden")
        .join(format!("{case}.prom"))
}

/// Renders `families` and [`check`]s them against the golden file of `case` under the crate at
/// `manifest_dir` (pass `env!("CARGO_MANIFEST_DIR")`).
pub fn compare_with_file(
    manifest_dir: impl AsRef<Path>,
    case: &str,
    families: &[MetricFamily],
    volatile: &Volatile,
) -> Result<(), String> {
    check(&case_file(manifest_dir, case), &render(families, volatile))
}

/// The `<prefix>_scrape_collector_success` value of each collector in one scrape.
pub fn collector_successes(families: &[MetricFamily], prefix: &str) -> BTreeMap<String, f64> {
    let family = format!("{prefix}_scrape_collector_success");
    families
        .iter()
        .filter(|f| f.name == family)
        .flat_map(|f| &f.samples)
        .filter_map(|s| {
            let (_, name) = s.labels.iter().find(|(k, _)| k == "collector")?;
            match s.value {
                Value::Number(v) => Some((name.clone(), v)),
                Value::Histogram { .. } => None,
            }
        })
        .collect()
}

/// Whether `family` is added by `common` around the collectors of the exporter with metric
/// prefix `prefix`, so no collector declares it: the process metrics, the per-collector scrape
/// outcome, job runs, build information and the audit journal's own counters.
pub fn emitted_by_common(family: &str, prefix: &str) -> bool {
    let Some(rest) = family
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('_'))
    else {
        return family.starts_with("process_");
    };
    rest.starts_with("scrape_collector_")
        || rest.contains("_last_run_")
        || rest == "exporter_build_info"
        || rest == "audit_records_total"
        || rest == "audit_write_errors_total"
}

/// Checks a set of scrapes that together should exercise all of `E`: the collectors they report
/// are exactly `E`'s registry, and each of them succeeds in at least one scrape.
pub fn check_coverage<E: Exporter>(scrapes: &[Vec<MetricFamily>]) -> Result<(), String> {
    let registered: BTreeSet<&str> = E::COLLECTORS.iter().map(|d| d.name).collect();
    let mut reported = BTreeSet::new();
    let mut succeeded = BTreeSet::new();
    for families in scrapes {
        for (name, v) in collector_successes(families, E::SPEC.prefix) {
            if v == 1.0 {
                succeeded.insert(name.clone());
            }
            reported.insert(name);
        }
    }
    let reported: BTreeSet<&str> = reported.iter().map(String::as_str).collect();
    if reported != registered {
        return Err(format!(
            "the scrapes report collectors {reported:?}, the registry has {registered:?}"
        ));
    }
    let never: Vec<&str> = registered
        .iter()
        .filter(|n| !succeeded.contains(**n))
        .copied()
        .collect();
    if never.is_empty() {
        Ok(())
    } else {
        Err(format!("never succeeded in any scrape: {never:?}"))
    }
}

/// How the families one collector emitted relate to those its registry entry declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emitted {
    /// Each emitted family is declared; some may be missing (a read that failed emits fewer).
    Subset,
    /// The emitted families are exactly the declared ones: a scrape that exercises them all.
    Exactly,
}

fn def<E: Exporter>(collector: &str) -> Result<&'static CollectorDef<E>, String> {
    E::COLLECTORS
        .iter()
        .find(|d| d.name == collector)
        .ok_or_else(|| format!("{collector} is not in the registry of {}", E::SPEC.name))
}

/// Checks a scrape of `collector` alone (see [`only_collector`]): no other collector reported,
/// and the families it emitted, besides those [`emitted_by_common`], relate to its
/// `CollectorDef::metrics` as `rule` says. Returns those emitted families.
pub fn check_declared<E: Exporter>(
    collector: &str,
    families: &[MetricFamily],
    rule: Emitted,
) -> Result<BTreeSet<String>, String> {
    let def = def::<E>(collector)?;
    let prefix = E::SPEC.prefix;
    let reported: Vec<String> = collector_successes(families, prefix).into_keys().collect();
    if reported != [collector] {
        return Err(format!(
            "only {collector} should have run, the scrape reports {reported:?}"
        ));
    }
    let declared: BTreeSet<&str> = def.metrics.iter().map(|m| m.name).collect();
    let emitted: BTreeSet<String> = families
        .iter()
        .map(|f| f.name.clone())
        .filter(|n| !emitted_by_common(n, prefix))
        .collect();
    let undeclared: Vec<&String> = emitted
        .iter()
        .filter(|n| !declared.contains(n.as_str()))
        .collect();
    if !undeclared.is_empty() {
        return Err(format!(
            "collector {collector} emits {undeclared:?}, which its DEF.metrics does not declare"
        ));
    }
    if rule == Emitted::Exactly {
        let missing: Vec<&str> = declared
            .iter()
            .filter(|n| !emitted.contains(**n))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "collector {collector} declares {missing:?}, which this scrape does not show"
            ));
        }
    }
    Ok(emitted)
}

/// Checks that `collector` is the only one reported by a scrape, and that it succeeded.
pub fn check_ran_cleanly<E: Exporter>(
    collector: &str,
    families: &[MetricFamily],
) -> Result<(), String> {
    let successes = collector_successes(families, E::SPEC.prefix);
    if successes.len() == 1 && successes.get(collector) == Some(&1.0) {
        Ok(())
    } else {
        Err(format!(
            "only {collector} should have run and succeeded, the scrape reports {successes:?}"
        ))
    }
}

/// Checks that no declaration of `E` is stale: each family some collector declares is among
/// `emitted` (the union of what [`check_declared`] returned over the cases).
pub fn check_all_declared_emitted<E: Exporter>(emitted: &BTreeSet<String>) -> Result<(), String> {
    let stale: Vec<&str> = E::COLLECTORS
        .iter()
        .flat_map(|d| d.metrics)
        .map(|m| m.name)
        .filter(|n| !emitted.contains(*n))
        .collect();
    if stale.is_empty() {
        Ok(())
    } else {
        Err(format!("declared but never emitted: {stale:?}"))
    }
}

/// The `[collectors]` table that runs `collector` of `E` and nothing else: it is `enabled`
/// when off by default, and every other default-on collector is `disabled`.
pub fn only_collector<E: Exporter>(collector: &str) -> String {
    let quoted = |names: Vec<&str>| {
        names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = String::from("[collectors]\n");
    // An unknown name is enabled too, so that the config names it in its error.
    if !E::COLLECTORS
        .iter()
        .any(|d| d.name == collector && d.enabled_by_default)
    {
        out.push_str(&format!("enabled = [{}]\n", quoted(vec![collector])));
    }
    let others: Vec<&str> = E::COLLECTORS
        .iter()
        .filter(|d| d.enabled_by_default && d.name != collector)
        .map(|d| d.name)
        .collect();
    out.push_str(&format!("disabled = [{}]\n", quoted(others)));
    out
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
    use crate::cli::ExporterConfig;
    use crate::collector::{CollectError, Collector};
    use crate::metrics::{Desc, MetricSet, MetricType};
    use crate::registry::{Build, Built, CollectorsConfig, SetupError};

    /// A registry of three collectors, `c` off by default.
    struct Demo;

    #[derive(Default, serde::Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct DemoConfig {
        collectors: CollectorsConfig,
    }

    impl ExporterConfig for DemoConfig {
        fn collectors(&self) -> &CollectorsConfig {
            &self.collectors
        }
    }

    struct Nothing;
    impl Collector for Nothing {
        fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
            Ok(MetricSet::new())
        }
    }

    fn nothing(_: &Demo) -> Built<Box<dyn Collector>> {
        Ok(Some(Box::new(Nothing)))
    }

    const A_ONE: Desc = Desc::gauge("demo_a_one", "1", "One.");
    const A_TWO: Desc = Desc::gauge("demo_a_two", "1", "Two.");

    const fn demo_def(
        name: &'static str,
        enabled_by_default: bool,
        metrics: &'static [Desc],
    ) -> CollectorDef<Demo> {
        CollectorDef {
            name,
            enabled_by_default,
            file: file!(),
            metrics,
            build: Build::Inline(nothing),
        }
    }

    impl Exporter for Demo {
        type Config = DemoConfig;
        const SPEC: crate::cli::Spec = crate::spec!(prefix: "demo", listen: ":0");
        const COLLECTORS: &'static [CollectorDef<Self>] = &[
            demo_def("a", true, &[A_ONE, A_TWO]),
            demo_def("b", true, &[Desc::gauge("demo_b", "1", "B.")]),
            demo_def("c", false, &[Desc::gauge("demo_c", "1", "C.")]),
        ];
        fn new(_: DemoConfig, _: &Context) -> Result<Self, SetupError> {
            Ok(Demo)
        }
    }

    /// A scrape in which `outcomes` report as `(collector, success)` and `emitted` are the
    /// collectors' families; common's families are added around them.
    fn scrape_of(outcomes: &[(&str, f64)], emitted: &[&str]) -> Vec<MetricFamily> {
        let mut s = MetricSet::new();
        for (c, v) in outcomes {
            s.family("demo_scrape_collector_success", "S.", MetricType::Gauge)
                .push(&[("collector", c)], *v);
        }
        for name in emitted {
            s.gauge(name, "X.", 1.0);
        }
        s.info("demo_exporter_build_info", "B.", &[("version", "1")]);
        s.gauge("process_open_fds", "F.", 3.0);
        s.gauge("demo_audit_records_total", "R.", 0.0);
        s.into_families()
    }

    #[test]
    fn collector_successes_reads_only_this_prefixes_outcomes() {
        let mut families = scrape_of(&[("a", 1.0), ("b", 0.0)], &[]);
        let mut other = MetricSet::new();
        other
            .family("other_scrape_collector_success", "S.", MetricType::Gauge)
            .push(&[("collector", "z")], 1.0);
        families.extend(other.into_families());
        let got = collector_successes(&families, "demo");
        assert_eq!(
            got,
            BTreeMap::from([("a".to_owned(), 1.0), ("b".to_owned(), 0.0)])
        );
    }

    #[test]
    fn common_families_are_told_from_a_collectors_own() {
        for name in [
            "process_cpu_seconds_total",
            "demo_scrape_collector_success",
            "demo_scrape_collector_duration_seconds",
            "demo_audit_last_run_timestamp_seconds",
            "demo_exporter_build_info",
            "demo_audit_records_total",
            "demo_audit_write_errors_total",
        ] {
            assert!(emitted_by_common(name, "demo"), "{name}");
        }
        for name in [
            "demo_audit_enabled",
            "demo_process_running",
            "demo_build_info",
            "other_scrape_collector_success",
            "demo_a_one",
        ] {
            assert!(!emitted_by_common(name, "demo"), "{name}");
        }
    }

    #[test]
    fn coverage_needs_every_collector_reported_and_succeeding_once() {
        let all = [
            scrape_of(&[("a", 1.0), ("b", 0.0), ("c", 0.0)], &[]),
            scrape_of(&[("b", 1.0), ("c", 1.0)], &[]),
        ];
        assert_eq!(check_coverage::<Demo>(&all), Ok(()));
        let c_never_succeeds = [scrape_of(&[("a", 1.0), ("b", 1.0), ("c", 0.0)], &[])];
        let err = check_coverage::<Demo>(&c_never_succeeds).unwrap_err();
        assert!(err.contains("[\"c\"]"), "{err}");
        let c_missing = [scrape_of(&[("a", 1.0), ("b", 1.0)], &[])];
        assert!(check_coverage::<Demo>(&c_missing).is_err());
    }

    #[test]
    fn an_undeclared_family_fails_the_declaration_check() {
        let fine = scrape_of(&[("a", 0.0)], &["demo_a_one"]);
        assert_eq!(
            check_declared::<Demo>("a", &fine, Emitted::Subset),
            Ok(BTreeSet::from(["demo_a_one".to_owned()]))
        );
        let stray = scrape_of(&[("a", 1.0)], &["demo_a_one", "demo_b"]);
        let err = check_declared::<Demo>("a", &stray, Emitted::Subset).unwrap_err();
        assert!(err.contains("demo_b"), "{err}");
    }

    #[test]
    fn exactly_also_fails_on_a_declared_family_not_emitted() {
        let one = scrape_of(&[("a", 1.0)], &["demo_a_one"]);
        let err = check_declared::<Demo>("a", &one, Emitted::Exactly).unwrap_err();
        assert!(err.contains("demo_a_two"), "{err}");
        let both = scrape_of(&[("a", 1.0)], &["demo_a_one", "demo_a_two"]);
        assert!(check_declared::<Demo>("a", &both, Emitted::Exactly).is_ok());
    }

    #[test]
    fn another_collector_running_fails_the_declaration_check() {
        let two = scrape_of(&[("a", 1.0), ("b", 1.0)], &["demo_a_one"]);
        assert!(check_declared::<Demo>("a", &two, Emitted::Subset).is_err());
        assert!(check_declared::<Demo>("nope", &two, Emitted::Subset).is_err());
    }

    #[test]
    fn running_cleanly_means_alone_and_successful() {
        let ok = scrape_of(&[("b", 1.0)], &[]);
        assert_eq!(check_ran_cleanly::<Demo>("b", &ok), Ok(()));
        let failed = scrape_of(&[("b", 0.0)], &[]);
        assert!(check_ran_cleanly::<Demo>("b", &failed).is_err());
        let two = scrape_of(&[("a", 1.0), ("b", 1.0)], &[]);
        assert!(check_ran_cleanly::<Demo>("b", &two).is_err());
    }

    #[test]
    fn a_declared_family_never_emitted_is_stale() {
        let mut emitted: BTreeSet<String> = ["demo_a_one", "demo_a_two", "demo_b"]
            .map(str::to_owned)
            .into();
        let err = check_all_declared_emitted::<Demo>(&emitted).unwrap_err();
        assert!(err.contains("demo_c"), "{err}");
        emitted.insert("demo_c".to_owned());
        assert_eq!(check_all_declared_emitted::<Demo>(&emitted), Ok(()));
    }

    #[test]
    fn only_collector_selects_exactly_that_one() {
        for name in ["a", "b", "c"] {
            let config = only_collector::<Demo>(name);
            assert_eq!(selected::<Demo>(&config), Ok(vec![name]), "{config}");
        }
        assert!(only_collector::<Demo>("c").contains("enabled = [\"c\"]"));
        assert!(selected::<Demo>(&only_collector::<Demo>("nope")).is_err());
    }

    #[test]
    fn the_case_file_is_under_tests_golden() {
        assert_eq!(
            case_file("/crate", "swap"),
            Path::new("/crate/tests/golden/swap.prom")
        );
    }

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
