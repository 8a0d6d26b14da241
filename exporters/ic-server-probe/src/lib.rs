//! ic-server-probe: IC-Server health as seen from an OCP node (OceanBase OCP alarm
//! `ic_server_connect_failed`, document 000), plus the on-host checks of its procedure.
//!
//! Probing happens at scrape time, not on a background timer: every scrape GETs every
//! configured IC-Server concurrently under the scrape deadline, so the document's 1-minute
//! collection period is the Prometheus `scrape_interval` (and the rule group's interval), and a
//! result is never older than the scrape that carries it.

// Tests state their expectations with unwrap; production code may not.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod collectors;
mod config;
mod diagnose;
mod probe_endpoint;
mod target;

use std::sync::Arc;

use common::http_probe::{Expect, HttpProbe, ProbeOptions};
use common::server::ProbeHandler;
use common::{CollectorDef, Context, Exporter, SetupError, Spec, SysPaths};

use crate::collectors::health::Prober;
pub use crate::config::Config;
// The pure parsers of untrusted text, public for the fuzz targets (`fuzz/`).
pub use crate::collectors::process::is_match;
pub use crate::collectors::server_log::ErrorMatcher;
pub use crate::target::{Target, from_probe_param, health_url};

/// The OCP node label when none is configured: the host name.
fn default_ocp_address(paths: &SysPaths) -> String {
    paths
        .read_proc("sys/kernel/hostname")
        .ok()
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The state ic-server-probe's collectors and `/probe` share.
pub struct IcServerProbe {
    cfg: Config,
    paths: SysPaths,
    http: Arc<HttpProbe>,
    expect: Arc<Expect>,
    ocp_address: String,
}

impl IcServerProbe {
    fn prober(&self) -> Prober {
        Prober {
            http: Arc::clone(&self.http),
            expect: Arc::clone(&self.expect),
            timeout: self.cfg.timeout,
        }
    }
}

impl Exporter for IcServerProbe {
    type Config = Config;

    const SPEC: Spec = common::spec!(prefix: "ic_server", listen: ":9914");
    const COLLECTORS: &'static [CollectorDef<Self>] = collectors::ALL;

    fn new(cfg: Config, ctx: &Context) -> Result<Self, SetupError> {
        let paths = ctx.paths.clone();
        let opts = ProbeOptions {
            tls: cfg.tls.clone(),
            max_body_bytes: cfg.max_body_bytes,
            user_agent: format!("ic-server-probe/{}", env!("CARGO_PKG_VERSION")),
        };
        let http = Arc::new(HttpProbe::new(&opts).map_err(|e| format!("tls: {e}"))?);
        let ocp_address = cfg
            .ocp_address
            .clone()
            .unwrap_or_else(|| default_ocp_address(&paths));
        if !ctx.check_only {
            log::info!(
                "ocp_address={ocp_address} ic_servers={} health_url={} local_checks={}",
                cfg.ic_servers.len(),
                cfg.health_url,
                cfg.local.enabled
            );
        }
        Ok(Self {
            expect: Arc::new(cfg.expect()),
            http,
            ocp_address,
            cfg,
            paths,
        })
    }

    async fn diagnose(&self, walk: &mut common::diagnose::Walk) {
        diagnose::walk(self, walk).await;
    }

    fn probe(&self) -> Option<Arc<dyn ProbeHandler>> {
        Some(Arc::new(probe_endpoint::ProbeEndpoint {
            prober: self.prober(),
            ocp_address: self.ocp_address.clone(),
            template: self.cfg.health_url.clone(),
        }))
    }
}
