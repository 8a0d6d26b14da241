//! One module per collector, named after its `collector` label, each declaring its registry
//! entry `DEF`; `ALL` is the table the skeleton reads.

pub(crate) mod health;
pub(crate) mod process;
pub(crate) mod server_log;

use common::CollectorDef;

use crate::IcServerProbe;

/// Every collector of ic-server-probe, in the order they are run.
pub(crate) const ALL: &[CollectorDef<IcServerProbe>] =
    &[health::DEF, process::DEF, server_log::DEF];
