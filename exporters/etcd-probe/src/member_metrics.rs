//! Re-exporting the documents' families from one member's own `/metrics`, with an `endpoint`
//! label, because Prometheus often cannot reach an mTLS-only etcd itself.

use std::collections::BTreeMap;

use common::{MetricSet, MetricType};

use crate::exposition::{self, Sample};

/// Plain gauges and counters re-exported under the same name: (name, type, help).
const SCALARS: &[(&str, MetricType, &str)] = &[
    (
        "etcd_server_has_leader",
        MetricType::Gauge,
        "Whether the member has a leader (1) or not (0), from its /metrics.",
    ),
    (
        "etcd_server_is_leader",
        MetricType::Gauge,
        "Whether the member is the leader (1) or not (0), from its /metrics.",
    ),
    (
        "etcd_server_heartbeat_send_failures_total",
        MetricType::Counter,
        "Heartbeats the member failed to send to followers, from its /metrics.",
    ),
    (
        "etcd_server_leader_changes_seen_total",
        MetricType::Counter,
        "Leader changes the member has seen, from its /metrics.",
    ),
    (
        "etcd_server_proposals_failed_total",
        MetricType::Counter,
        "Failed raft proposals, from the member's /metrics.",
    ),
    (
        "etcd_server_proposals_pending",
        MetricType::Gauge,
        "Raft proposals waiting to commit, from the member's /metrics.",
    ),
    (
        "etcd_server_slow_apply_total",
        MetricType::Counter,
        "Applies that took longer than expected (100 ms), from the member's /metrics.",
    ),
    (
        "etcd_server_slow_read_indexes_total",
        MetricType::Counter,
        "Pending read indexes not in sync with the leader in time, from the member's /metrics.",
    ),
    (
        "etcd_mvcc_db_total_size_in_bytes",
        MetricType::Gauge,
        "Physical size of the member's backend database, in bytes, from its /metrics.",
    ),
    (
        "etcd_mvcc_db_total_size_in_use_in_bytes",
        MetricType::Gauge,
        "Logically used size of the member's backend database, in bytes, from its /metrics.",
    ),
    (
        "etcd_server_quota_backend_bytes",
        MetricType::Gauge,
        "Backend quota of the member (NOSPACE above it), in bytes, from its /metrics.",
    ),
];

/// Families renamed on the way: (etcd's name, our name, type, help).
const RENAMED: &[(&str, &str, MetricType, &str)] = &[
    (
        "process_resident_memory_bytes",
        "etcd_process_resident_memory_bytes",
        MetricType::Gauge,
        "Resident memory of the etcd member process, in bytes, from its /metrics.",
    ),
    // etcd types this gauge with a `_total` suffix, which the exposition format reserves for counters.
    (
        "etcd_debugging_mvcc_keys_total",
        "etcd_debugging_mvcc_keys",
        MetricType::Gauge,
        "Keys in the member's store (etcd_debugging_mvcc_keys_total of its /metrics), a count.",
    ),
];

/// Histograms re-exported under the same name: (name, help).
const HISTOGRAMS: &[(&str, &str)] = &[
    (
        "etcd_disk_wal_fsync_duration_seconds",
        "Latency of the member's WAL fsync calls, in seconds, from its /metrics.",
    ),
    (
        "etcd_disk_backend_commit_duration_seconds",
        "Latency of the member's backend commits, in seconds, from its /metrics.",
    ),
];

/// The client request counter standing in for the document's `http_request_duration_microseconds_count`.
pub const GRPC_HANDLED: &str = "etcd_grpc_server_handled_total";

fn wanted(name: &str) -> bool {
    SCALARS.iter().any(|(n, _, _)| *n == name)
        || RENAMED.iter().any(|(n, _, _, _)| *n == name)
        || name == "grpc_server_handled_total"
        || HISTOGRAMS.iter().any(|(n, _)| {
            name.strip_prefix(n)
                .is_some_and(|s| matches!(s, "_bucket" | "_sum" | "_count"))
        })
}

/// Maps one member's `/metrics` text to our families, each sample labelled `endpoint`.
pub fn reexport(text: &str, endpoint: &str, out: &mut MetricSet) {
    let samples = exposition::parse_samples(text, &wanted);
    let ep = ("endpoint".to_owned(), endpoint.to_owned());
    for (name, kind, help) in SCALARS {
        for s in samples
            .iter()
            .filter(|s| s.name == *name && s.labels.is_empty())
        {
            out.family(name, help, *kind)
                .push_owned(vec![ep.clone()], s.value);
        }
    }
    for (src, dst, kind, help) in RENAMED {
        for s in samples
            .iter()
            .filter(|s| s.name == *src && s.labels.is_empty())
        {
            out.family(dst, help, *kind)
                .push_owned(vec![ep.clone()], s.value);
        }
    }
    for (name, help) in HISTOGRAMS {
        for (labels, h) in exposition::histograms(&samples, name) {
            let mut l = vec![ep.clone()];
            l.extend(labels);
            out.family(name, help, MetricType::Histogram)
                .push_histogram(l, h.buckets, h.sum, h.count);
        }
    }
    grpc_handled(&samples, &ep, out);
}

/// etcd's grpc_server_handled_total has ~700 series (every method x code); summed over methods
/// it keeps what the document's request count meant: requests served, by type and result code.
fn grpc_handled(samples: &[Sample], ep: &(String, String), out: &mut MetricSet) {
    let mut sums: BTreeMap<(String, String), f64> = BTreeMap::new();
    for s in samples
        .iter()
        .filter(|s| s.name == "grpc_server_handled_total")
    {
        let get = |k: &str| {
            s.labels
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        *sums
            .entry((get("grpc_type"), get("grpc_code")))
            .or_insert(0.0) += s.value;
    }
    for ((ty, code), v) in sums {
        if v > 0.0 || code == "OK" {
            out.family(
                GRPC_HANDLED,
                "gRPC requests the member completed, summed over methods, by type and code, from its /metrics.",
                MetricType::Counter,
            )
            .push_owned(vec![ep.clone(), ("grpc_type".to_owned(), ty), ("grpc_code".to_owned(), code)], v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_member_metrics_are_reexported_with_endpoint() {
        let text = include_str!("../tests/fixtures/etcd-3.4.23-metrics.txt");
        let mut m = MetricSet::new();
        reexport(text, "http://127.0.0.1:23010", &mut m);
        let ep = [("endpoint", "http://127.0.0.1:23010")];
        assert_eq!(m.value("etcd_server_has_leader", &ep), Some(1.0));
        assert!(
            m.value("etcd_server_heartbeat_send_failures_total", &ep)
                .is_some()
        );
        assert!(m.value("etcd_process_resident_memory_bytes", &ep).unwrap() > 1e6);
        assert_eq!(
            m.value("etcd_server_quota_backend_bytes", &ep),
            Some(2_000_000.0)
        );
        assert!(m.value("etcd_debugging_mvcc_keys", &ep).is_some());
        assert!(m.value("etcd_server_slow_apply_total", &ep).is_some());
        assert!(m.has("etcd_disk_wal_fsync_duration_seconds"));
        assert!(m.has("etcd_disk_backend_commit_duration_seconds"));
        let grpc = m
            .families()
            .iter()
            .find(|f| f.name == GRPC_HANDLED)
            .unwrap();
        assert!(
            !grpc.samples.is_empty() && grpc.samples.len() < 40,
            "{}",
            grpc.samples.len()
        );
        assert!(
            m.value(GRPC_HANDLED, &[("grpc_type", "unary"), ("grpc_code", "OK")])
                .unwrap()
                > 0.0
        );
        // Nothing else of etcd's ~1500 lines leaks through.
        assert!(!m.has("etcd_debugging_mvcc_keys_total") && !m.has("grpc_server_handled_total"));
    }

    #[test]
    fn garbage_yields_nothing() {
        let mut m = MetricSet::new();
        reexport(
            "<html>not metrics</html>\netcd_server_has_leader notanumber\n",
            "e",
            &mut m,
        );
        assert!(m.families().is_empty());
    }
}
