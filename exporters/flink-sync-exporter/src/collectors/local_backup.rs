//! `local_backup`: usage of the LocalBackup filesystem as `df -hl /srv/BigData/LocalBackup`
//! shows it (procedure step 6): used / (used + available), so root's reserve counts as used,
//! and the bytes still available.

use std::path::PathBuf;
use std::time::Duration;

use common::statfs::{Statfs, StatfsError};
use common::{Build, CollectError, Collector, CollectorDef, MetricSet, ScrapeContext};

use crate::FlinkSyncExporter;

/// Stats the LocalBackup directory.
#[derive(Debug)]
pub(crate) struct LocalBackup {
    /// The directory, under the root.
    pub(crate) path: PathBuf,
    /// Statfs calls, with stuck-mount tracking.
    pub(crate) statfs: Statfs,
}

impl Collector for LocalBackup {
    fn collect(&self, ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut m = MetricSet::new();
        if !self.path.exists() {
            // A node without LocalBackup has nothing to fill; no series rather than a failure.
            return Ok(m);
        }
        let st = self
            .statfs
            .stat(&self.path, ctx.remaining().min(Duration::from_secs(5)))
            .map_err(|e| match e {
                StatfsError::Io { source, .. } => CollectError::io(&self.path, source),
                other => CollectError::Other(other.to_string()),
            })?;
        let df = st.df_space();
        let whole = df.used.saturating_add(df.avail);
        let ratio = if whole == 0 {
            0.0
        } else {
            df.used as f64 / whole as f64
        };
        m.add(&USAGE, &[], ratio);
        m.add(&AVAIL, &[], df.avail as f64);
        m.add(&SIZE, &[], df.size as f64);
        Ok(m)
    }
}

const USAGE: common::Desc = common::Desc::gauge(
    "flink_sync_local_backup_usage_ratio",
    "ratio",
    "LocalBackup filesystem usage as df computes Use% (used / (used + available)), 0 to 1.",
);
const AVAIL: common::Desc = common::Desc::gauge(
    "flink_sync_local_backup_avail_bytes",
    "bytes",
    "Bytes of the LocalBackup filesystem still available to non-root users (df's Avail).",
);
const SIZE: common::Desc = common::Desc::gauge(
    "flink_sync_local_backup_size_bytes",
    "bytes",
    "Size of the LocalBackup filesystem in bytes (df's Size).",
);

/// Registry entry: `flink_sync_scrape_collector_success{collector="local_backup"}`.
pub(crate) const DEF: CollectorDef<FlinkSyncExporter> = CollectorDef {
    name: "local_backup",
    enabled_by_default: true,
    file: file!(),
    metrics: &[USAGE, AVAIL, SIZE],
    build: Build::Blocking(|e| {
        Ok(Some(Box::new(LocalBackup {
            path: e.paths.root(&e.cfg.local_backup),
            statfs: Statfs::new(),
        })))
    }),
};
