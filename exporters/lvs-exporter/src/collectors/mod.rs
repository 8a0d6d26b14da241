//! One module per collector, named after its `collector` label, each declaring its registry
//! entry `DEF`; `ALL` is the table the skeleton reads.

pub mod dial;
pub mod ipvs;
pub mod lint;
pub mod ping;
pub mod role;

use common::CollectorDef;

use crate::LvsExporter;

/// Every collector of lvs-exporter, in the order they are run.
pub(crate) const ALL: &[CollectorDef<LvsExporter>] =
    &[ipvs::DEF, role::DEF, dial::DEF, lint::DEF, ping::DEF];
