//! Audit check on block devices: await over threshold during the last interval.

use std::collections::HashMap;

use common::audit::AuditRecord;
use common::{CollectError, SysPaths};
use serde_json::json;

use crate::config::AuditChecksConfig;
use crate::disk_filter::DiskFilter;
use crate::parsers::diskstats::{self, DiskStats};

/// The previous pass's counters by device, and when it was taken.
#[derive(Default)]
pub(super) struct State {
    prev: HashMap<String, DiskStats>,
    at: Option<std::time::Instant>,
}

/// Await of the I/Os completed between two samples, in milliseconds (0 without I/O).
pub(super) fn await_ms(prev: &DiskStats, cur: &DiskStats) -> f64 {
    let ios = (cur.reads + cur.writes).saturating_sub(prev.reads + prev.writes);
    let ms = (cur.read_ms + cur.write_ms).saturating_sub(prev.read_ms + prev.write_ms);
    if ios > 0 { ms as f64 / ios as f64 } else { 0.0 }
}

/// One record listing devices whose await exceeded the threshold since the previous pass.
pub(super) fn check(
    paths: &SysPaths,
    filter: &DiskFilter,
    cfg: &AuditChecksConfig,
    state: &mut State,
) -> Result<Vec<AuditRecord>, CollectError> {
    let now = std::time::Instant::now();
    let ignore = filter.snapshot();
    let cur: HashMap<String, DiskStats> = diskstats::parse(&paths.read_proc("diskstats")?)
        .into_iter()
        .filter(|d| !ignore.ignored(&d.name))
        .map(|d| (d.name.clone(), d))
        .collect();
    let secs = state
        .at
        .map(|t| now.duration_since(t).as_secs_f64())
        .unwrap_or(0.0);
    let mut slow = Vec::new();
    let mut worst: f64 = 0.0;
    if secs > 0.0 {
        let mut names: Vec<&String> = cur.keys().collect();
        names.sort();
        for name in names {
            let (Some(p), Some(c)) = (state.prev.get(name), cur.get(name)) else {
                continue;
            };
            let a = await_ms(p, c);
            if a > cfg.await_ms {
                worst = worst.max(a);
                slow.push(json!({
                    "device": name, "await_ms": a, "interval_seconds": secs,
                    "reads": c.reads.saturating_sub(p.reads), "writes": c.writes.saturating_sub(p.writes),
                    "read_kB_per_s": c.read_sectors.saturating_sub(p.read_sectors) as f64 * 512.0 / 1024.0 / secs,
                    "write_kB_per_s": c.write_sectors.saturating_sub(p.write_sectors) as f64 * 512.0 / 1024.0 / secs,
                }));
            }
        }
    }
    state.prev = cur;
    state.at = Some(now);
    Ok(if slow.is_empty() {
        Vec::new()
    } else {
        vec![AuditRecord {
            check: "disk_await".into(),
            threshold: format!("{}ms", cfg.await_ms),
            observed: worst,
            evidence: json!({"devices": slow}),
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn await_is_time_per_completed_io() {
        let p = DiskStats {
            reads: 10,
            writes: 10,
            read_ms: 100,
            write_ms: 100,
            ..DiskStats::default()
        };
        let c = DiskStats {
            reads: 20,
            writes: 20,
            read_ms: 300,
            write_ms: 200,
            ..DiskStats::default()
        };
        assert_eq!(await_ms(&p, &c), 15.0);
        assert_eq!(await_ms(&c, &c), 0.0);
    }
}

#[cfg(test)]
mod check_tests {
    use super::*;
    use crate::config::DiskstatsConfig;

    #[test]
    fn a_slow_interval_is_recorded_with_device_and_await() {
        let dir = std::env::temp_dir().join(format!("os-disks-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("proc")).unwrap();
        let paths = SysPaths::fixture(&dir);
        let filter = DiskFilter::new(&paths, &DiskstatsConfig::default());
        let cfg = AuditChecksConfig::default();
        let mut state = State::default();
        std::fs::write(
            dir.join("proc/diskstats"),
            "8 0 sda 10 0 80 50 10 0 80 50 0 100 100\n8 16 sdb 10 0 80 10 10 0 80 10 0 20 20\n",
        )
        .unwrap();
        assert!(
            check(&paths, &filter, &cfg, &mut state).unwrap().is_empty(),
            "the first pass has nothing to compare with"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
        // sda: 20 more I/Os took 400 ms (20 ms each); sdb: 20 more took 100 ms (5 ms each).
        std::fs::write(dir.join("proc/diskstats"), "8 0 sda 20 0 160 250 20 0 160 250 0 500 500\n8 16 sdb 20 0 160 60 20 0 160 60 0 120 120\n").unwrap();
        let r = check(&paths, &filter, &cfg, &mut state).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].check, "disk_await");
        assert_eq!(r[0].threshold, "10ms");
        assert_eq!(r[0].observed, 20.0);
        let devs = r[0].evidence["devices"].as_array().unwrap();
        assert_eq!(devs.len(), 1);
        assert_eq!(devs[0]["device"], "sda");
        let _ = std::fs::remove_dir_all(dir);
    }
}
