//! One module per collector, named after its `collector` label, each declaring its registry
//! entry `DEF`; `ALL` is the table the skeleton reads.

pub mod conf;
pub mod connectivity;
pub mod log_events;
pub mod process;
pub mod vips;
pub mod vrrp;

use common::CollectorDef;

use crate::KeepalivedExporter;

/// Every collector of keepalived-exporter, in the order they are run.
pub(crate) const ALL: &[CollectorDef<KeepalivedExporter>] = &[
    log_events::DEF,
    process::DEF,
    conf::DEF,
    connectivity::DEF,
    vrrp::DEF,
];
