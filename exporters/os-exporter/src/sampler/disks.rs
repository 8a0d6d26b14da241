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
