//! Audit: a watched daemon turned abnormal (document 001 §2.1: 守护进程未执行下，保存service ...
//! status结果): one record with what `service <name> status` would have shown.

use std::collections::BTreeSet;

use common::audit::AuditRecord;

use crate::services::{self, Watcher};

/// The services abnormal at the last pass: a record is written on the turn only.
#[derive(Debug, Default)]
pub(crate) struct State {
    abnormal: BTreeSet<&'static str>,
}

/// One record per service that is abnormal now and was not at the last pass.
pub(crate) fn check(watcher: &Watcher, state: &mut State) -> Result<Vec<AuditRecord>, String> {
    let statuses = watcher.check(None).map_err(|e| e.to_string())?;
    let mut records = Vec::new();
    let mut now = BTreeSet::new();
    for s in statuses.iter().filter(|s| s.abnormal) {
        now.insert(s.name);
        if !state.abnormal.contains(s.name) {
            records.push(AuditRecord {
                check: "service_abnormal".to_owned(),
                threshold: "active (running)".to_owned(),
                observed: 1.0,
                evidence: services::evidence(s),
            });
        }
    }
    state.abnormal = now;
    Ok(records)
}
