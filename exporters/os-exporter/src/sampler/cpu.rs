//! Audit check on CPU: when CPU usage over the last interval is above the alert rule's 80 %, the
//! processes with non-zero CPU time and memory, top N by each (the document's `top` audit).

use std::collections::HashMap;

use common::audit::AuditRecord;
use common::proc_table::for_each_process;
use common::{CollectError, SysPaths};
use serde_json::json;

use crate::config::AuditChecksConfig;
use crate::parsers::stat;

/// What the report shows of one process.
struct ProcRow {
    pid: u32,
    comm: String,
    state: char,
    cpu_ticks: u64,
    rss_pages: u64,
}

/// The previous pass's totals and per-process CPU ticks.
#[derive(Default)]
pub(super) struct State {
    prev_busy_total: Option<(u64, u64)>,
    prev_ticks: HashMap<u32, u64>,
    prev_at: Option<std::time::Instant>,
}

/// One record with the top processes when the CPU was busy since the previous pass.
pub(super) fn check(
    paths: &SysPaths,
    cfg: &AuditChecksConfig,
    state: &mut State,
) -> Result<Vec<AuditRecord>, CollectError> {
    let s = stat::parse(&paths.read_proc("stat")?);
    let t = s
        .total
        .ok_or_else(|| CollectError::parse(paths.proc("stat"), "no cpu line"))?;
    let idle = t.mode("idle") + t.mode("iowait");
    let (busy, total) = (t.total().saturating_sub(idle), t.total());
    let usage = match state.prev_busy_total {
        Some((pb, pt)) if total > pt => {
            busy.saturating_sub(pb) as f64 / (total - pt) as f64 * 100.0
        }
        _ => 0.0,
    };
    state.prev_busy_total = Some((busy, total));

    let page = common::sysconf::page_size_bytes();
    let hz = common::sysconf::clock_ticks_per_second();
    let cpus = s.cpus.len().max(1) as f64;
    let mut procs = Vec::new();
    let mut ticks = HashMap::new();
    for_each_process(paths, |p| {
        let Some(st) = p.stat() else { return };
        let Some(cpu_ticks) = st.cpu_ticks else {
            return;
        };
        ticks.insert(p.pid(), cpu_ticks);
        procs.push(ProcRow {
            pid: p.pid(),
            comm: st.comm.to_owned(),
            state: st.state,
            cpu_ticks,
            rss_pages: st.rss_pages.unwrap_or(0),
        });
    })?;
    let prev = std::mem::replace(&mut state.prev_ticks, ticks);
    let prev_at = state.prev_at.replace(std::time::Instant::now());
    if usage <= cfg.cpu_usage_percent {
        return Ok(Vec::new());
    }
    // Percent of one CPU, as top shows it: process ticks over the wall time since the last pass.
    let window_ticks = prev_at
        .map_or(cfg.interval.as_secs_f64(), |t| t.elapsed().as_secs_f64())
        .max(0.001)
        * hz;
    let mut rows: Vec<(f64, f64, &ProcRow)> = procs
        .iter()
        .map(|p| {
            let d = p
                .cpu_ticks
                .saturating_sub(prev.get(&p.pid).copied().unwrap_or(p.cpu_ticks))
                as f64;
            (d / window_ticks * 100.0, p.rss_pages as f64 * page, p)
        })
        .filter(|(cpu, rss, _)| *cpu > 0.0 && *rss > 0.0)
        .collect();
    let row = |(cpu, rss, p): &(f64, f64, &ProcRow)| json!({"pid": p.pid, "comm": p.comm, "state": p.state.to_string(), "cpu_percent": cpu, "rss_bytes": rss});
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let by_cpu: Vec<_> = rows.iter().take(cfg.top_processes).map(row).collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    let by_mem: Vec<_> = rows.iter().take(cfg.top_processes).map(row).collect();
    Ok(vec![AuditRecord {
        check: "cpu_top_processes".into(),
        threshold: format!("{}%", cfg.cpu_usage_percent),
        observed: usage,
        evidence: json!({"cpus": cpus, "top_by_cpu": by_cpu, "top_by_memory": by_mem}),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, busy: u64, idle: u64, ticks: [u64; 2]) {
        std::fs::write(
            dir.join("proc/stat"),
            format!("cpu  {busy} 0 0 {idle} 0 0 0 0 0 0\ncpu0 {busy} 0 0 {idle} 0 0 0 0 0 0\n"),
        )
        .unwrap();
        for (pid, t) in [(100, ticks[0]), (200, ticks[1])] {
            std::fs::create_dir_all(dir.join(format!("proc/{pid}"))).unwrap();
            let line = format!(
                "{pid} (worker {pid}) R 1 1 1 0 -1 0 0 0 0 0 {t} 0 0 0 20 0 1 0 10 1000 {pid} 0\n"
            );
            std::fs::write(dir.join(format!("proc/{pid}/stat")), line).unwrap();
        }
    }

    #[test]
    fn busy_cpu_records_processes_that_used_cpu_and_memory() {
        let dir = std::env::temp_dir().join(format!("os-cpu-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("proc")).unwrap();
        let paths = SysPaths::fixture(&dir);
        let cfg = AuditChecksConfig::default();
        let mut state = State::default();
        write(&dir, 100, 900, [10, 10]);
        assert!(check(&paths, &cfg, &mut state).unwrap().is_empty());
        // 50 % busy since the last pass: below the CPU rule's 80 %, nothing recorded.
        write(&dir, 600, 1400, [400, 10]);
        assert!(check(&paths, &cfg, &mut state).unwrap().is_empty());
        // 95 % busy: the process that used CPU is listed, the idle one is not.
        write(&dir, 1550, 1450, [1300, 10]);
        let r = check(&paths, &cfg, &mut state).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].check, "cpu_top_processes");
        assert_eq!(r[0].observed, 95.0);
        let top = r[0].evidence["top_by_cpu"].as_array().unwrap();
        assert_eq!(top.len(), 1, "{top:?}");
        assert_eq!(top[0]["comm"], "worker 100");
        assert!(top[0]["cpu_percent"].as_f64().unwrap() > 0.0);
        assert_eq!(r[0].evidence["top_by_memory"][0]["pid"], 100);
        let _ = std::fs::remove_dir_all(dir);
    }
}
