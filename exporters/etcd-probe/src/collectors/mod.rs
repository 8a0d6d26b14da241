//! One module per collector, named after its `collector` label, each declaring its registry
//! entry `DEF`; `ALL` is the table the skeleton reads.

pub mod cluster;
pub mod local;
pub mod log_causes;

use common::CollectorDef;

use crate::EtcdProbe;

/// Every collector of etcd-probe, in the order they are run.
pub(crate) const ALL: &[CollectorDef<EtcdProbe>] = &[cluster::DEF, local::DEF, log_causes::DEF];
