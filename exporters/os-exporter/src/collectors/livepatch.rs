//! `os_hotpatch_abnormal` (document 001 §2.1): the kernel's live patches under
//! `/sys/kernel/livepatch/<patch>/` (Documentation/ABI/testing/sysfs-kernel-livepatch:
//! `enabled` since 3.19, `transition` since 4.12). A patch is abnormal when it is loaded but
//! disabled, or has been in transition longer than `[livepatch] transition_grace` (a stalled
//! transition: some task never reached a safe point). How long is tracked across scrapes.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, MutexExt as _, ScrapeContext,
    SysPaths,
};

use crate::OsExporter;

const ABNORMAL: Desc = Desc::gauge(
    "os_hotpatch_abnormal",
    "1",
    "1 when a kernel live patch is loaded but disabled, or has been in transition longer than [livepatch] transition_grace, else 0.",
);
const SUPPORTED: Desc = Desc::gauge(
    "os_hotpatch_supported",
    "1",
    "1 when the kernel has live patching (/sys/kernel/livepatch exists), else 0.",
);
const LOADED: Desc = Desc::gauge(
    "os_hotpatch_loaded",
    "1",
    "Kernel live patches loaded (directories under /sys/kernel/livepatch), a count.",
);
const ENABLED: Desc = Desc::gauge(
    "os_hotpatch_enabled",
    "1",
    "1 when the live patch is enabled (its enabled file), else 0.",
);
const TRANSITION: Desc = Desc::gauge(
    "os_hotpatch_transition",
    "1",
    "1 when the live patch is in transition (its transition file), else 0.",
);

/// One patch's state as read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Patch {
    name: String,
    enabled: bool,
    transition: bool,
}

/// Parses a sysfs flag file (`0\n` or `1\n`).
fn parse_flag(bytes: &[u8]) -> Option<bool> {
    match std::str::from_utf8(bytes).ok()?.trim() {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

/// The patches under `dir`; `None` when the kernel has no livepatch directory.
fn read_patches(paths: &SysPaths) -> Result<Option<Vec<Patch>>, CollectError> {
    let dir = paths.sys("kernel/livepatch");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CollectError::io(dir, e)),
    };
    let mut patches = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| CollectError::io(&dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let flag = |file: &str| -> Result<bool, CollectError> {
            let path = entry.path().join(file);
            let b = std::fs::read(&path).map_err(|e| CollectError::io(&path, e))?;
            parse_flag(&b).ok_or_else(|| CollectError::parse(&path, "neither 0 nor 1"))
        };
        patches.push(Patch {
            enabled: flag("enabled")?,
            // Kernels before 4.12 have no transition file: never in transition.
            transition: match flag("transition") {
                Err(CollectError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    false
                }
                other => other?,
            },
            name,
        });
    }
    patches.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Some(patches))
}

/// Reads the patches each scrape, remembering when each was first seen in transition.
struct LivepatchCollector {
    paths: SysPaths,
    grace: Duration,
    in_transition_since: Mutex<BTreeMap<String, Instant>>,
}

impl Collector for LivepatchCollector {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut set = MetricSet::new();
        let Some(patches) = read_patches(&self.paths)? else {
            set.add(&SUPPORTED, &[], 0.0);
            set.add(&LOADED, &[], 0.0);
            set.add(&ABNORMAL, &[], 0.0);
            return Ok(set);
        };
        let now = Instant::now();
        let mut since = self.in_transition_since.lock_or_recover();
        since.retain(|name, _| patches.iter().any(|p| p.transition && &p.name == name));
        let mut abnormal = false;
        for p in &patches {
            let stalled = p.transition
                && now.duration_since(*since.entry(p.name.clone()).or_insert(now)) >= self.grace;
            if !p.enabled || stalled {
                abnormal = true;
            }
            let l = [("patch", p.name.as_str())];
            set.add(&ENABLED, &l, f64::from(u8::from(p.enabled)));
            set.add(&TRANSITION, &l, f64::from(u8::from(p.transition)));
        }
        set.add(&SUPPORTED, &[], 1.0);
        set.add(&LOADED, &[], patches.len() as f64);
        set.add(&ABNORMAL, &[], f64::from(u8::from(abnormal)));
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="livepatch"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "livepatch",
    enabled_by_default: true,
    file: file!(),
    metrics: &[ABNORMAL, SUPPORTED, LOADED, ENABLED, TRANSITION],
    build: Build::Inline(|e| {
        Ok(Some(Box::new(LivepatchCollector {
            paths: e.paths.clone(),
            grace: e.config.livepatch.transition_grace,
            in_transition_since: Mutex::new(BTreeMap::new()),
        })))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{ctx, fixture};

    fn collector(tree: &str, grace: Duration) -> LivepatchCollector {
        LivepatchCollector {
            paths: fixture(tree),
            grace,
            in_transition_since: Mutex::new(BTreeMap::new()),
        }
    }

    #[test]
    fn no_livepatch_directory_is_supported_0_and_not_abnormal() {
        let set = collector("noswap", Duration::from_secs(60))
            .collect(&ctx())
            .unwrap();
        assert_eq!(set.value("os_hotpatch_supported", &[]), Some(0.0));
        assert_eq!(set.value("os_hotpatch_abnormal", &[]), Some(0.0));
    }

    #[test]
    fn a_disabled_patch_is_abnormal_and_a_transition_only_after_the_grace() {
        // ugly: kpatch_cve_fix enabled and settled, kpatch_disabled loaded but disabled.
        let set = collector("ugly", Duration::from_secs(60))
            .collect(&ctx())
            .unwrap();
        assert_eq!(set.value("os_hotpatch_loaded", &[]), Some(2.0));
        assert_eq!(
            set.value("os_hotpatch_enabled", &[("patch", "kpatch_disabled")]),
            Some(0.0)
        );
        assert_eq!(set.value("os_hotpatch_abnormal", &[]), Some(1.0));
        // net: livepatch_sched in transition.
        let c = collector("net", Duration::from_secs(3600));
        let set = c.collect(&ctx()).unwrap();
        assert_eq!(
            set.value("os_hotpatch_transition", &[("patch", "livepatch_sched")]),
            Some(1.0)
        );
        assert_eq!(set.value("os_hotpatch_abnormal", &[]), Some(0.0));
        let c = collector("net", Duration::from_millis(50));
        assert_eq!(
            c.collect(&ctx())
                .unwrap()
                .value("os_hotpatch_abnormal", &[]),
            Some(0.0)
        );
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(
            c.collect(&ctx())
                .unwrap()
                .value("os_hotpatch_abnormal", &[]),
            Some(1.0)
        );
    }

    #[test]
    fn flags_parse_0_and_1_only() {
        assert_eq!(parse_flag(b"1\n"), Some(true));
        assert_eq!(parse_flag(b"0"), Some(false));
        assert_eq!(parse_flag(b"\x00\xff"), None);
        assert_eq!(parse_flag(b"2\n"), None);
    }
}
