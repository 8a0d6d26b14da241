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
