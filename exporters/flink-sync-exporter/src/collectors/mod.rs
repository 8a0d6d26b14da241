//! One module per collector, named after its `collector` label, each declaring its registry
//! entry `DEF`; `ALL` is the table the skeleton reads.

pub(crate) mod ha_log;
pub(crate) mod junk;
pub(crate) mod local_backup;
pub(crate) mod peer;
pub(crate) mod sync;

use common::CollectorDef;

use crate::FlinkSyncExporter;

/// Every collector of flink-sync-exporter, in the order they are run.
pub(crate) const ALL: &[CollectorDef<FlinkSyncExporter>] = &[
    sync::DEF,
    peer::DEF,
    local_backup::DEF,
    junk::DEF,
    ha_log::DEF,
];
