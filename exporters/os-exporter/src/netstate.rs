//! The routing state (links, addresses, routes of every table, policy rules) the gateway ping,
//! `os_eth1_route` and the interface-address checks read: an rtnetlink dump of this network
//! namespace on a live host, or, under a fixture tree (`--path.procfs` other than `/proc`), the
//! same typed state stored as `<rootfs>/rtnetlink.json` (see `tests/fixtures/README.md`).

use std::path::Path;

use common::netlink::Limits;
use common::netlink::route::{self, NetState};
use common::{CollectError, SysPaths};

/// The fixture file under the root of a fixture tree.
pub(crate) const FIXTURE: &str = "rtnetlink.json";

/// Reads the routing state for `paths`.
pub(crate) fn read(paths: &SysPaths) -> Result<NetState, CollectError> {
    if paths.procfs == Path::new("/proc") {
        return route::dump(Limits::default())
            .map_err(|e| CollectError::Other(format!("rtnetlink dump: {e}")));
    }
    let file = paths.root(FIXTURE);
    let bytes = common::paths::read(&file)?;
    serde_json::from_slice(&bytes).map_err(|e| CollectError::parse(&file, e.to_string()))
}
