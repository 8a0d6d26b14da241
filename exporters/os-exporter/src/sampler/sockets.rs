//! Audit check on TCP sockets: the sockets whose queues are blocked, with decoded addresses.

use common::audit::AuditRecord;
use common::{CollectError, SysPaths};
use serde_json::json;

use crate::collectors::sockets::scan;
use crate::config::{AuditChecksConfig, SocketsConfig};

/// One record listing (up to a bound) the sockets whose Recv-Q or Send-Q is over the threshold.
pub(super) fn check(
    paths: &SysPaths,
    sockets: &SocketsConfig,
    cfg: &AuditChecksConfig,
) -> Result<Vec<AuditRecord>, CollectError> {
    let mut listed = Vec::new();
    let counts = scan(paths, sockets, |s| {
        if listed.len() < cfg.max_sockets_listed {
            listed.push(json!({
                "source": s.source, "state": s.state, "local": s.local, "remote": s.remote,
                "recv_q": s.recv_q, "send_q": s.send_q,
            }));
        }
    })?;
    let blocked = counts.recvq_blocked + counts.sendq_blocked;
    Ok(if blocked == 0 {
        Vec::new()
    } else {
        vec![AuditRecord {
            check: "tcp_queue_blocked".into(),
            threshold: format!("{} bytes", sockets.queue_threshold_bytes),
            observed: blocked as f64,
            evidence: json!({"recvq_blocked": counts.recvq_blocked, "sendq_blocked": counts.sendq_blocked, "sockets": listed}),
        }]
    })
}
