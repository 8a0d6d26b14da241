//! Audit checks on partitions: usage and inode usage over threshold, read-only block mounts.

use common::CollectError;
use common::audit::AuditRecord;
use common::statfs::Statfs;
use serde_json::json;

use crate::config::AuditChecksConfig;
use crate::partitions::{FsStatter, Partitions};

/// One record per condition that holds, listing the partitions concerned.
pub(super) fn check(
    partitions: &Partitions,
    statfs: &Statfs,
    cfg: &AuditChecksConfig,
) -> Result<Vec<AuditRecord>, CollectError> {
    let mounts = partitions.selected(None)?;
    let mut full = Vec::new();
    let mut inodes = Vec::new();
    let (mut max_full, mut max_inodes): (f64, f64) = (0.0, 0.0);
    let mut readonly = Vec::new();
    for m in &mounts {
        if m.readonly {
            readonly.push(json!({"mount": m.mount_line(), "mountinfo": m.line}));
        }
        let Ok(s) = FsStatter::stat(
            statfs,
            &partitions.host_path(m),
            partitions.statfs_timeout(),
        ) else {
            continue;
        };
        let (u, i) = (s.df_space().percent, s.df_inodes().percent);
        let evidence = || {
            json!({
                "mountpoint": m.mount_point, "device": m.source, "fstype": m.fs_type,
                "size_bytes": s.size_bytes, "avail_bytes": s.avail_bytes, "files": s.files, "files_free": s.files_free,
                "usage_percent": u, "inode_usage_percent": i,
            })
        };
        if u > cfg.disk_usage_percent {
            full.push(evidence());
            max_full = max_full.max(u);
        }
        if i > cfg.inode_usage_percent {
            inodes.push(evidence());
            max_inodes = max_inodes.max(i);
        }
    }
    let mut out = Vec::new();
    if !full.is_empty() {
        out.push(AuditRecord {
            check: "disk_usage".into(),
            threshold: format!("{}%", cfg.disk_usage_percent),
            observed: max_full,
            evidence: json!({"partitions": full}),
        });
    }
    if !inodes.is_empty() {
        out.push(AuditRecord {
            check: "disk_inode_usage".into(),
            threshold: format!("{}%", cfg.inode_usage_percent),
            observed: max_inodes,
            evidence: json!({"partitions": inodes}),
        });
    }
    if !readonly.is_empty() {
        out.push(AuditRecord {
            check: "filesystem_readonly".into(),
            threshold: "any block-device mount with option ro".into(),
            observed: readonly.len() as f64,
            evidence: json!({"mounts": readonly}),
        });
    }
    Ok(out)
}
