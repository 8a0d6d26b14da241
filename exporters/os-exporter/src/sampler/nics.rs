//! Audit check on interfaces: error or drop counters that moved since the previous pass; the
//! evidence is the interface's raw `/proc/net/dev` line and its counters (the document archives
//! `ifconfig` output; this is the same data without running a tool).

use std::collections::HashMap;

use common::audit::AuditRecord;
use common::{CollectError, SysPaths};
use serde_json::json;

use crate::parsers::net_dev::{self, NetDev};

/// The previous pass's counters by interface.
#[derive(Default)]
pub(super) struct State {
    prev: Option<HashMap<String, NetDev>>,
}

fn faults(d: &NetDev) -> u64 {
    d.rx_errs + d.rx_drop + d.tx_errs + d.tx_drop
}

/// One record listing interfaces whose errors or drops grew.
pub(super) fn check(paths: &SysPaths, state: &mut State) -> Result<Vec<AuditRecord>, CollectError> {
    let cur: HashMap<String, NetDev> = net_dev::parse(&paths.read_proc("net/dev")?)
        .into_iter()
        .map(|d| (d.name.clone(), d))
        .collect();
    let mut moved = Vec::new();
    let mut total = 0u64;
    if let Some(prev) = &state.prev {
        let mut names: Vec<&String> = cur.keys().collect();
        names.sort();
        for name in names {
            let (Some(p), Some(c)) = (prev.get(name), cur.get(name)) else {
                continue;
            };
            let delta = faults(c).saturating_sub(faults(p));
            if delta > 0 {
                total += delta;
                moved.push(json!({
                    "device": name, "proc_net_dev": c.line,
                    "rx_errors": c.rx_errs, "rx_dropped": c.rx_drop, "tx_errors": c.tx_errs, "tx_dropped": c.tx_drop,
                    "rx_errors_delta": c.rx_errs.saturating_sub(p.rx_errs), "rx_dropped_delta": c.rx_drop.saturating_sub(p.rx_drop),
                    "tx_errors_delta": c.tx_errs.saturating_sub(p.tx_errs), "tx_dropped_delta": c.tx_drop.saturating_sub(p.tx_drop),
                }));
            }
        }
    }
    state.prev = Some(cur);
    Ok(if moved.is_empty() {
        Vec::new()
    } else {
        vec![AuditRecord {
            check: "network_errors".into(),
            threshold: "error or drop counters increased".into(),
            observed: total as f64,
            evidence: json!({"interfaces": moved}),
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(tag: &str, dev: &str) -> (std::path::PathBuf, SysPaths) {
        let dir = std::env::temp_dir().join(format!("os-nics-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("proc/net")).unwrap();
        std::fs::write(dir.join("proc/net/dev"), dev).unwrap();
        (dir.clone(), SysPaths::fixture(&dir))
    }

    const HEAD: &str = "Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes\n";

    #[test]
    fn only_counters_that_moved_are_recorded_with_the_raw_line() {
        let (dir, paths) = tree(
            "moved",
            &format!(
                "{HEAD}  eth0: 1 1 5 0 0 0 0 0 1 1 0 0 0 0 0 0\n  eth1: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n"
            ),
        );
        let mut state = State::default();
        // Old errors at start are not news.
        assert!(check(&paths, &mut state).unwrap().is_empty());
        std::fs::write(dir.join("proc/net/dev"), format!("{HEAD}  eth0: 1 1 5 0 0 0 0 0 1 1 0 0 0 0 0 0\n  eth1: 1 1 0 2 0 0 0 0 1 1 1 0 0 0 0 0\n")).unwrap();
        let r = check(&paths, &mut state).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].check, "network_errors");
        assert_eq!(r[0].observed, 3.0);
        let ifs = r[0].evidence["interfaces"].as_array().unwrap();
        assert_eq!(ifs.len(), 1);
        assert_eq!(ifs[0]["device"], "eth1");
        assert_eq!(ifs[0]["rx_dropped_delta"], 2);
        assert!(
            ifs[0]["proc_net_dev"]
                .as_str()
                .unwrap()
                .starts_with("eth1:")
        );
        assert!(
            check(&paths, &mut state).unwrap().is_empty(),
            "no movement, no record"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
