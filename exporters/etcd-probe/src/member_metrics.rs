//! Re-exporting the documents' families from one member's own `/metrics`, with an `endpoint`
//! label, because Prometheus often cannot reach an mTLS-only etcd itself.

use std::collections::BTreeMap;

use common::{Desc, MetricSet};

use crate::exposition::{self, Sample};

/// `etcd_server_has_leader`, re-exported.
pub const SERVER_HAS_LEADER: Desc = Desc::gauge(
    "etcd_server_has_leader",
    "1",
    "Whether the member has a leader (1) or not (0), from its /metrics.",
);
/// `etcd_server_is_leader`, re-exported.
pub const SERVER_IS_LEADER: Desc = Desc::gauge(
    "etcd_server_is_leader",
    "1",
    "Whether the member is the leader (1) or not (0), from its /metrics.",
);
/// `etcd_server_heartbeat_send_failures_total`, re-exported.
pub const HEARTBEAT_SEND_FAILURES: Desc = Desc::counter(
    "etcd_server_heartbeat_send_failures_total",
    "1",
    "Heartbeats the member failed to send to followers, from its /metrics.",
);
/// `etcd_server_leader_changes_seen_total`, re-exported.
pub const LEADER_CHANGES_SEEN: Desc = Desc::counter(
    "etcd_server_leader_changes_seen_total",
    "1",
    "Leader changes the member has seen, from its /metrics.",
);
/// `etcd_server_proposals_failed_total`, re-exported.
pub const PROPOSALS_FAILED: Desc = Desc::counter(
    "etcd_server_proposals_failed_total",
    "1",
    "Failed raft proposals, from the member's /metrics.",
);
/// `etcd_server_proposals_pending`, re-exported.
pub const PROPOSALS_PENDING: Desc = Desc::gauge(
    "etcd_server_proposals_pending",
    "1",
    "Raft proposals waiting to commit, from the member's /metrics.",
);
/// `etcd_server_slow_apply_total`, re-exported.
pub const SLOW_APPLY: Desc = Desc::counter(
    "etcd_server_slow_apply_total",
    "1",
    "Applies that took longer than expected (100 ms), from the member's /metrics.",
);
/// `etcd_server_slow_read_indexes_total`, re-exported.
pub const SLOW_READ_INDEXES: Desc = Desc::counter(
    "etcd_server_slow_read_indexes_total",
    "1",
    "Pending read indexes not in sync with the leader in time, from the member's /metrics.",
);
/// `etcd_mvcc_db_total_size_in_bytes`, re-exported.
pub const DB_TOTAL_SIZE: Desc = Desc::gauge(
    "etcd_mvcc_db_total_size_in_bytes",
    "bytes",
    "Physical size of the member's backend database, in bytes, from its /metrics.",
);
/// `etcd_mvcc_db_total_size_in_use_in_bytes`, re-exported.
pub const DB_SIZE_IN_USE: Desc = Desc::gauge(
    "etcd_mvcc_db_total_size_in_use_in_bytes",
    "bytes",
    "Logically used size of the member's backend database, in bytes, from its /metrics.",
);
/// `etcd_server_quota_backend_bytes`, re-exported.
pub const QUOTA_BACKEND: Desc = Desc::gauge(
    "etcd_server_quota_backend_bytes",
    "bytes",
    "Backend quota of the member (NOSPACE above it), in bytes, from its /metrics.",
);
/// The member's `process_resident_memory_bytes`, renamed.
pub const PROCESS_RESIDENT_MEMORY: Desc = Desc::gauge(
    "etcd_process_resident_memory_bytes",
    "bytes",
    "Resident memory of the etcd member process, in bytes, from its /metrics.",
);
/// The member's `etcd_debugging_mvcc_keys_total` gauge, renamed.
pub const MVCC_KEYS: Desc = Desc::gauge(
    "etcd_debugging_mvcc_keys",
    "1",
    "Keys in the member's store (etcd_debugging_mvcc_keys_total of its /metrics), a count.",
);
/// `etcd_disk_wal_fsync_duration_seconds`, re-exported histogram.
pub const WAL_FSYNC_DURATION: Desc = Desc::histogram(
    "etcd_disk_wal_fsync_duration_seconds",
    "seconds",
    "Latency of the member's WAL fsync calls, in seconds, from its /metrics.",
);
/// `etcd_disk_backend_commit_duration_seconds`, re-exported histogram.
pub const BACKEND_COMMIT_DURATION: Desc = Desc::histogram(
    "etcd_disk_backend_commit_duration_seconds",
    "seconds",
    "Latency of the member's backend commits, in seconds, from its /metrics.",
);
/// The client request counter standing in for the document's `http_request_duration_microseconds_count`.
pub const GRPC_HANDLED: Desc = Desc::counter(
    "etcd_grpc_server_handled_total",
    "1",
    "gRPC requests the member completed, summed over methods, by type and code, from its /metrics.",
);

/// Plain gauges and counters re-exported under the same name.
const SCALARS: &[Desc] = &[
    SERVER_HAS_LEADER,
    SERVER_IS_LEADER,
    HEARTBEAT_SEND_FAILURES,
    LEADER_CHANGES_SEEN,
    PROPOSALS_FAILED,
    PROPOSALS_PENDING,
    SLOW_APPLY,
    SLOW_READ_INDEXES,
    DB_TOTAL_SIZE,
    DB_SIZE_IN_USE,
    QUOTA_BACKEND,
];

/// Families renamed on the way: (etcd's name, ours).
const RENAMED: &[(&str, Desc)] = &[
    ("process_resident_memory_bytes", PROCESS_RESIDENT_MEMORY),
    // etcd types this gauge with a `_total` suffix, which the exposition format reserves for counters.
    ("etcd_debugging_mvcc_keys_total", MVCC_KEYS),
];

/// Histograms re-exported under the same name.
const HISTOGRAMS: &[Desc] = &[WAL_FSYNC_DURATION, BACKEND_COMMIT_DURATION];

fn wanted(name: &str) -> bool {
    SCALARS.iter().any(|d| d.name == name)
        || RENAMED.iter().any(|(n, _)| *n == name)
        || name == "grpc_server_handled_total"
        || HISTOGRAMS.iter().any(|d| {
            name.strip_prefix(d.name)
                .is_some_and(|s| matches!(s, "_bucket" | "_sum" | "_count"))
        })
}

/// Maps one member's `/metrics` text to our families, each sample labelled `endpoint`.
pub fn reexport(text: &str, endpoint: &str, out: &mut MetricSet) {
    let samples = exposition::parse_samples(text, &wanted);
    let ep = ("endpoint".to_owned(), endpoint.to_owned());
    for desc in SCALARS {
        for s in samples
            .iter()
            .filter(|s| s.name == desc.name && s.labels.is_empty())
        {
            out.of(desc).push_owned(vec![ep.clone()], s.value);
        }
    }
    for (src, desc) in RENAMED {
        for s in samples
            .iter()
            .filter(|s| s.name == *src && s.labels.is_empty())
        {
            out.of(desc).push_owned(vec![ep.clone()], s.value);
        }
    }
    for desc in HISTOGRAMS {
        for (labels, h) in exposition::histograms(&samples, desc.name) {
            let mut l = vec![ep.clone()];
            for (mut k, v) in labels {
                // A name already taken (the member's own `endpoint`) gets `exported_` in front
                // until it is free, as Prometheus does with `honor_labels: false`.
                while l.iter().any(|(taken, _)| *taken == k) {
                    k.insert_str(0, "exported_");
                }
                l.push((k, v));
            }
            out.of(desc).push_histogram(l, h.buckets, h.sum, h.count);
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
            out.of(&GRPC_HANDLED).push_owned(
                vec![
                    ep.clone(),
                    ("grpc_type".to_owned(), ty),
                    ("grpc_code".to_owned(), code),
                ],
                v,
            );
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
            .find(|f| f.name == GRPC_HANDLED.name)
            .unwrap();
        assert!(
            !grpc.samples.is_empty() && grpc.samples.len() < 40,
            "{}",
            grpc.samples.len()
        );
        assert!(
            m.value(
                GRPC_HANDLED.name,
                &[("grpc_type", "unary"), ("grpc_code", "OK")]
            )
            .unwrap()
                > 0.0
        );
        // Nothing else of etcd's ~1500 lines leaks through.
        assert!(!m.has("etcd_debugging_mvcc_keys_total") && !m.has("grpc_server_handled_total"));
    }

    #[test]
    fn a_member_label_named_endpoint_does_not_repeat_ours() {
        // Found by the fuzz target etcd_metrics: a second `endpoint` label on one sample makes
        // Prometheus refuse the whole scrape.
        let text = "etcd_disk_wal_fsync_duration_seconds_bucket{endpoint=\"x\",le=\"1\"} 2\n\
                    etcd_disk_wal_fsync_duration_seconds_count{endpoint=\"x\"} 2\n";
        let mut m = MetricSet::new();
        reexport(text, "e", &mut m);
        let fam = &m.families()[0];
        let names: Vec<&str> = fam.samples[0]
            .labels
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(names, vec!["endpoint", "exported_endpoint"]);
        assert_eq!(fam.samples[0].labels[0].1, "e");
        let mut m = MetricSet::new();
        reexport(
            "etcd_disk_wal_fsync_duration_seconds_count{exported_endpoint=\"y\",endpoint=\"x\"} 2\n",
            "e",
            &mut m,
        );
        let names: Vec<&str> = m.families()[0].samples[0]
            .labels
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(
            names,
            vec![
                "endpoint",
                "exported_endpoint",
                "exported_exported_endpoint"
            ]
        );
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
