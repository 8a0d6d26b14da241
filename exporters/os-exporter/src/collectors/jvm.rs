//! `jvm_*`: heap, GC and thread counters of the host's JVMs (document 001 §3.4), read from their
//! hsperfdata files without an agent. Candidates are the scrape's processes named in
//! `[jvm] comms`, plus those a naming hook (the configured process groups) names.

use std::io::Read as _;
use std::sync::Arc;

use common::proc_table::ProcessInfo;
use common::{Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext};

use crate::OsExporter;
use crate::jvm::config::JvmConfig;
use crate::jvm::seed::SeedSource;
use crate::jvm::{self, Unreadable};
use crate::parsers::hsperfdata::JvmStats;
use crate::process_table::ProcessTable;

/// Names a pid after its configured process group; `None` when it belongs to none.
pub(crate) type NameHook = Arc<dyn Fn(Option<&ScrapeContext>, u32) -> Option<String> + Send + Sync>;

const FOUND: Desc = Desc::gauge(
    "jvm_processes_found",
    "1",
    "JVM processes found (before the [jvm] max_jvms cap), a count.",
);
const REPORTED: Desc = Desc::gauge(
    "jvm_processes_reported",
    "1",
    "JVM processes reported (at most [jvm] max_jvms, oldest first), a count.",
);
const READABLE: Desc = Desc::gauge(
    "jvm_perfdata_readable",
    "1",
    "1 when the JVM's hsperfdata file was read, else 0 with reason disabled, not_found, permission, malformed or stale.",
);
const START: Desc = Desc::gauge(
    "jvm_start_time_seconds",
    "seconds",
    "When the JVM started (sun.rt.createVmBeginTime), seconds since the epoch.",
);
const HEAP_USED: Desc = Desc::gauge(
    "jvm_heap_used_bytes",
    "bytes",
    "Heap in use, all generations, bytes.",
);
const HEAP_COMMITTED: Desc = Desc::gauge(
    "jvm_heap_committed_bytes",
    "bytes",
    "Heap committed, all generations, bytes.",
);
const HEAP_MAX: Desc = Desc::gauge(
    "jvm_heap_max_bytes",
    "bytes",
    "Maximum heap size (-Xmx), bytes.",
);
const HEAP_RATE: Desc = Desc::gauge(
    "jvm_heap_use_rate",
    "percent",
    "Heap in use as a percentage of the maximum heap, percent.",
);
const YOUNG_COUNT: Desc = Desc::counter(
    "jvm_gc_young_collections_total",
    "1",
    "Young (minor) collections since the JVM started, a count.",
);
const YOUNG_TIME: Desc = Desc::counter(
    "jvm_gc_young_collection_seconds_total",
    "seconds",
    "Time in young collections since the JVM started, seconds.",
);
const FULL_COUNT: Desc = Desc::counter(
    "jvm_gc_full_collections_total",
    "1",
    "Full (major) collections since the JVM started, a count; absent where the counter does not count full collections (ZGC, Shenandoah).",
);
const FULL_TIME: Desc = Desc::counter(
    "jvm_gc_full_collection_seconds_total",
    "seconds",
    "Time in full collections since the JVM started, seconds; absent on ZGC and Shenandoah.",
);
const FULL_SUPPORTED: Desc = Desc::gauge(
    "jvm_gc_full_count_supported",
    "1",
    "1 when the collector's hsperfdata counts full collections, 0 on ZGC and Shenandoah.",
);
const LAST_MINOR: Desc = Desc::gauge(
    "jvm_last_minor_gc_time",
    "seconds",
    "When the last young collection ended, seconds since the epoch; 0 before the first.",
);
const LAST_MINOR_DURATION: Desc = Desc::gauge(
    "jvm_last_minor_gc_duration_seconds",
    "seconds",
    "How long the last young collection took, seconds; 0 before the first.",
);
const LAST_MAJOR: Desc = Desc::gauge(
    "jvm_last_major_gc_time",
    "seconds",
    "When the last full collection ended, seconds since the epoch; 0 before the first.",
);
const LAST_MAJOR_DURATION: Desc = Desc::gauge(
    "jvm_last_major_gc_duration_seconds",
    "seconds",
    "How long the last full collection took, seconds; 0 before the first.",
);
const THREADS: Desc = Desc::gauge(
    "jvm_thread_count",
    "1",
    "Live Java threads (java.threads.live), a count.",
);
const SEED_INFO: Desc = Desc::info(
    "jvm_securerandom_seed_info",
    "Where the JVM seeds SecureRandom from (its -Djava.security.egd, else securerandom.source of its java.security), label source (dev_random, dev_urandom, other, unknown).",
);
const GC_INFO: Desc = Desc::info(
    "jvm_gc_info",
    "The JVM's garbage collector, label policy (g1, parallel, serial, z, shenandoah, other).",
);

/// Reads the JVMs of the scrape's process table.
pub(crate) struct JvmCollector {
    table: Arc<ProcessTable>,
    config: JvmConfig,
    name_hook: Option<NameHook>,
}

/// One JVM as a scrape found it.
struct Found {
    pid: u32,
    /// The configured group's name, when the hook gave one.
    configured: Option<String>,
    start_ticks: u64,
    comm: String,
}

impl JvmCollector {
    /// A collector over `table`; the hooks are the configured process groups, when wired.
    pub(crate) fn new(
        table: Arc<ProcessTable>,
        config: JvmConfig,
        name_hook: Option<NameHook>,
    ) -> Self {
        Self {
            table,
            config,
            name_hook,
        }
    }

    fn candidates(&self, ctx: &ScrapeContext, procs: &[ProcessInfo]) -> Vec<Found> {
        let mut out: Vec<Found> = procs
            .iter()
            .filter(|p| p.is_alive())
            .filter(|p| self.config.comms.contains(&p.comm))
            .filter_map(|p| {
                let configured = self.name_hook.as_ref().and_then(|h| h(Some(ctx), p.pid));
                (self.config.discover || configured.is_some()).then(|| Found {
                    pid: p.pid,
                    configured,
                    start_ticks: p.start_ticks.unwrap_or(0),
                    comm: p.comm.clone(),
                })
            })
            .collect();
        out.sort_by_key(|f| (f.start_ticks, f.pid));
        out
    }

    /// The counters of one JVM, or why not.
    fn read(&self, f: &Found, boot: Option<f64>) -> Result<(JvmStats, SeedSource), Unreadable> {
        let paths = self.table.paths();
        let cmdline = common::proc_table::read_cmdline(paths, f.pid).unwrap_or_default();
        if jvm::perfdata_disabled(&cmdline) {
            return Err(Unreadable::Disabled);
        }
        let status = std::fs::read_to_string(paths.proc(&format!("{}/status", f.pid)))
            .ok()
            .and_then(|s| jvm::parse_status(&s))
            .ok_or(Unreadable::NotFound)?;
        let proc_owner = std::fs::metadata(paths.proc(&f.pid.to_string()))
            .ok()
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m));
        let bytes = jvm::read_file(&paths.proc(&format!("{}/root", f.pid)), status, proc_owner)?;
        #[allow(clippy::cast_precision_loss)]
        let start =
            boot.map(|b| b + f.start_ticks as f64 / common::sysconf::clock_ticks_per_second());
        let stats = jvm::stats(&bytes, start)?;
        let seed = self.seed(f.pid, &stats);
        Ok((stats, seed))
    }

    /// The JVM's seed source: its options, else its `java.security`, read through its root.
    fn seed(&self, pid: u32, stats: &JvmStats) -> SeedSource {
        let from_home = || -> Option<String> {
            let home = stats.java_home.as_deref()?.trim_start_matches('/');
            let root = self.table.paths().proc(&format!("{pid}/root"));
            jvm::seed::JAVA_SECURITY_PATHS.iter().find_map(|rel| {
                let mut text = String::new();
                std::fs::File::open(root.join(home).join(rel))
                    .ok()?
                    .take(256 * 1024)
                    .read_to_string(&mut text)
                    .ok()?;
                Some(text)
            })
        };
        let options = stats.vm_args.as_deref();
        match jvm::seed::seed_source(options, None) {
            SeedSource::Unknown => jvm::seed::seed_source(options, from_home().as_deref()),
            known => known,
        }
    }
}

impl Collector for JvmCollector {
    fn collect(&self, ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let table = self.table.get(Some(ctx))?;
        let boot = self
            .table
            .paths()
            .read_proc("stat")
            .ok()
            .and_then(|s| common::proc_table::boot_time(&s));
        let mut found = self.candidates(ctx, &table.processes);
        let mut set = MetricSet::new();
        #[allow(clippy::cast_precision_loss)]
        set.add(&FOUND, &[], found.len() as f64);
        found.truncate(self.config.max_jvms);
        #[allow(clippy::cast_precision_loss)]
        set.add(&REPORTED, &[], found.len() as f64);
        let results: Vec<Result<(JvmStats, SeedSource), Unreadable>> =
            found.iter().map(|f| self.read(f, boot)).collect();
        let mut names: Vec<String> = found
            .iter()
            .map(|f| {
                f.configured.clone().unwrap_or_else(|| {
                    let cmdline = common::proc_table::read_cmdline(self.table.paths(), f.pid);
                    let main = cmdline.as_deref().and_then(main_word);
                    jvm::default_name(main.as_deref(), &f.comm)
                })
            })
            .collect();
        jvm::disambiguate(&mut names);
        for (name, result) in names.iter().zip(results) {
            add_jvm(&mut set, name, result);
        }
        Ok(set)
    }
}

/// The main class or jar of a java command line: the word after `-jar`, or the first word
/// that is neither an option nor an option's value.
fn main_word(cmdline: &[u8]) -> Option<String> {
    let mut args = cmdline
        .split(|b| *b == 0)
        .skip(1)
        .map(|a| String::from_utf8_lossy(a).into_owned());
    while let Some(a) = args.next() {
        match a.as_str() {
            "-jar" => return args.next(),
            // Options whose value is the next word.
            "-cp"
            | "-classpath"
            | "--class-path"
            | "-p"
            | "--module-path"
            | "--add-modules"
            | "--add-opens"
            | "--add-exports"
            | "--add-reads"
            | "--patch-module"
            | "--upgrade-module-path"
            | "--limit-modules" => {
                args.next();
            }
            "-m" | "--module" => return args.next(),
            s if s.starts_with('-') || s.is_empty() => {}
            _ => return Some(a),
        }
    }
    None
}

fn add_jvm(set: &mut MetricSet, name: &str, result: Result<(JvmStats, SeedSource), Unreadable>) {
    let (s, seed) = match result {
        Ok(s) => s,
        Err(why) => {
            set.add(
                &READABLE,
                &[("process", name), ("reason", why.label())],
                0.0,
            );
            return;
        }
    };
    let l = [("process", name)];
    set.add(&READABLE, &[("process", name), ("reason", "ok")], 1.0);
    set.add(&START, &l, s.start_seconds);
    set.add(&HEAP_USED, &l, s.heap_used_bytes);
    set.add(&HEAP_COMMITTED, &l, s.heap_committed_bytes);
    set.add(&HEAP_MAX, &l, s.heap_max_bytes);
    if let Some(rate) = s.heap_use_percent() {
        set.add(&HEAP_RATE, &l, rate);
    }
    set.add(
        &GC_INFO,
        &[("process", name), ("policy", s.policy.label())],
        1.0,
    );
    set.add(
        &SEED_INFO,
        &[("process", name), ("source", seed.label())],
        1.0,
    );
    let supported = s.policy.full_count_meaningful();
    set.add(&FULL_SUPPORTED, &l, if supported { 1.0 } else { 0.0 });
    #[allow(clippy::cast_precision_loss)]
    if let Some(y) = s.young {
        set.add(&YOUNG_COUNT, &l, y.invocations as f64);
        set.add(&YOUNG_TIME, &l, y.time_seconds);
        set.add(&LAST_MINOR, &l, y.last_end_seconds.unwrap_or(0.0));
        set.add(
            &LAST_MINOR_DURATION,
            &l,
            y.last_duration_seconds.unwrap_or(0.0),
        );
    }
    #[allow(clippy::cast_precision_loss)]
    if let Some(f) = s.full.filter(|_| supported) {
        set.add(&FULL_COUNT, &l, f.invocations as f64);
        set.add(&FULL_TIME, &l, f.time_seconds);
        set.add(&LAST_MAJOR, &l, f.last_end_seconds.unwrap_or(0.0));
        set.add(
            &LAST_MAJOR_DURATION,
            &l,
            f.last_duration_seconds.unwrap_or(0.0),
        );
    }
    if let Some(t) = s.threads_live {
        set.add(&THREADS, &l, t);
    }
}

/// Registry entry: `os_scrape_collector_success{collector="jvm"}`. Blocking: it opens files
/// under other processes' roots.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "jvm",
    enabled_by_default: true,
    file: file!(),
    metrics: &[
        FOUND,
        REPORTED,
        READABLE,
        START,
        HEAP_USED,
        HEAP_COMMITTED,
        HEAP_MAX,
        HEAP_RATE,
        YOUNG_COUNT,
        YOUNG_TIME,
        FULL_COUNT,
        FULL_TIME,
        FULL_SUPPORTED,
        LAST_MINOR,
        LAST_MINOR_DURATION,
        LAST_MAJOR,
        LAST_MAJOR_DURATION,
        THREADS,
        GC_INFO,
        SEED_INFO,
    ],
    build: Build::Blocking(|e| {
        // A JVM that is a member of a configured process group is labelled with its name. Only
        // processes named in `[jvm] comms` are read: a configured group's other members are
        // not JVMs, and reading them would report each one as a JVM without its file.
        let name_hook = e.process_groups.as_ref().map(|g| {
            let g = Arc::clone(g);
            let hook: NameHook = Arc::new(move |ctx, pid| ctx.and_then(|c| g.group_of(c, pid)));
            hook
        });
        Ok(Some(Box::new(JvmCollector::new(
            Arc::clone(&e.process_table),
            e.config.jvm.clone(),
            name_hook,
        ))))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{ctx, fixture};

    #[test]
    fn main_class_or_jar_from_the_command_line() {
        let m = |s: &str| main_word(s.replace(' ', "\0").as_bytes());
        assert_eq!(
            m("java -Xmx1g -cp /a:/b org.x.Main arg"),
            Some("org.x.Main".to_owned())
        );
        assert_eq!(
            m("java -jar /opt/shop.jar"),
            Some("/opt/shop.jar".to_owned())
        );
        assert_eq!(m("java -m mod/org.x.M"), Some("mod/org.x.M".to_owned()));
        assert_eq!(m("java -version"), None);
    }

    #[test]
    fn a_host_without_jvms_reports_zero_found() {
        let c = JvmCollector::new(
            Arc::new(ProcessTable::new(fixture("ugly"))),
            JvmConfig::default(),
            None,
        );
        let set = c.collect(&ctx()).unwrap();
        assert_eq!(set.value("jvm_processes_found", &[]), Some(0.0));
        assert_eq!(set.value("jvm_processes_reported", &[]), Some(0.0));
    }

    fn noswap(config: JvmConfig, hook: Option<NameHook>) -> MetricSet {
        JvmCollector::new(Arc::new(ProcessTable::new(fixture("noswap"))), config, hook)
            .collect(&ctx())
            .unwrap()
    }

    #[test]
    fn discovered_jvms_are_named_by_main_class_or_jar() {
        let set = noswap(JvmConfig::default(), None);
        assert_eq!(set.value("jvm_processes_found", &[]), Some(2.0));
        let ok = [("process", "GcDemo"), ("reason", "ok")];
        assert_eq!(set.value("jvm_perfdata_readable", &ok), Some(1.0));
        let off = [("process", "batch.jar"), ("reason", "disabled")];
        assert_eq!(set.value("jvm_perfdata_readable", &off), Some(0.0));
        assert_eq!(
            set.value("jvm_gc_full_collections_total", &[("process", "GcDemo")]),
            Some(2.0)
        );
    }

    #[test]
    fn without_discovery_only_configured_jvms_under_their_group_name() {
        let config = JvmConfig {
            discover: false,
            ..JvmConfig::default()
        };
        assert_eq!(
            noswap(config.clone(), None).value("jvm_processes_found", &[]),
            Some(0.0)
        );
        let hook: NameHook = Arc::new(|_, pid| (pid == 7777).then(|| "shop".to_owned()));
        let set = noswap(config, Some(hook));
        assert_eq!(set.value("jvm_processes_found", &[]), Some(1.0));
        assert_eq!(
            set.value("jvm_thread_count", &[("process", "shop")]),
            Some(6.0)
        );
    }

    #[test]
    fn same_names_are_numbered_and_the_cap_is_reported() {
        let hook: NameHook = Arc::new(|_, _| Some("app".to_owned()));
        let set = noswap(JvmConfig::default(), Some(hook.clone()));
        let ok = [("process", "app"), ("reason", "ok")];
        assert_eq!(set.value("jvm_perfdata_readable", &ok), Some(1.0));
        let second = [("process", "app#2"), ("reason", "disabled")];
        assert_eq!(set.value("jvm_perfdata_readable", &second), Some(0.0));
        let capped = noswap(
            JvmConfig {
                max_jvms: 1,
                ..JvmConfig::default()
            },
            Some(hook),
        );
        assert_eq!(capped.value("jvm_processes_found", &[]), Some(2.0));
        assert_eq!(capped.value("jvm_processes_reported", &[]), Some(1.0));
    }

    #[test]
    fn g1_counters_become_rows_and_shenandoah_hides_its_full_count() {
        let bytes = |f: &str| {
            std::fs::read(
                std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures/hsperfdata")
                    .join(f),
            )
            .unwrap()
        };
        let mut set = MetricSet::new();
        add_jvm(
            &mut set,
            "a",
            jvm::stats(&bytes("jdk17_g1.hsperfdata"), None).map(|s| (s, SeedSource::DevRandom)),
        );
        add_jvm(
            &mut set,
            "b",
            jvm::stats(&bytes("jdk17_shenandoah.hsperfdata"), None)
                .map(|s| (s, SeedSource::Unknown)),
        );
        add_jvm(&mut set, "c", Err(Unreadable::Disabled));
        let a = [("process", "a")];
        assert_eq!(set.value("jvm_gc_full_collections_total", &a), Some(2.0));
        assert_eq!(set.value("jvm_gc_young_collections_total", &a), Some(8.0));
        assert_eq!(set.value("jvm_gc_full_count_supported", &a), Some(1.0));
        assert_eq!(
            set.value(
                "jvm_securerandom_seed_info",
                &[("process", "a"), ("source", "dev_random")]
            ),
            Some(1.0)
        );
        let rate = set.value("jvm_heap_use_rate", &a).unwrap();
        assert!(rate > 0.0 && rate < 100.0, "{rate}");
        let b = [("process", "b")];
        assert_eq!(set.value("jvm_gc_full_collections_total", &b), None);
        assert_eq!(set.value("jvm_gc_full_count_supported", &b), Some(0.0));
        assert_eq!(
            set.value(
                "jvm_perfdata_readable",
                &[("process", "c"), ("reason", "disabled")]
            ),
            Some(0.0)
        );
    }
}
