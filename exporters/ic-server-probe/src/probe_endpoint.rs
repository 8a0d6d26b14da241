//! `/probe?target=<address or URL>[&ocp_address=...]`: one IC-Server per request, so Prometheus
//! can drive the target list (blackbox_exporter style), with the same metric families.

use std::time::Instant;

use common::server::{ProbeError, ProbeFuture, ProbeHandler};
use common::{MetricSet, ScrapeContext};

use crate::collectors::health::{self, Prober};
use crate::target;

/// Serves `/probe`.
#[derive(Debug)]
pub(crate) struct ProbeEndpoint {
    /// The shared prober.
    pub(crate) prober: Prober,
    /// Default `ocp_address` label when the request gives none.
    pub(crate) ocp_address: String,
    /// The health URL template applied to bare addresses.
    pub(crate) template: String,
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

impl ProbeHandler for ProbeEndpoint {
    fn probe<'a>(&'a self, params: &'a [(String, String)], ctx: ScrapeContext) -> ProbeFuture<'a> {
        Box::pin(async move {
            let t = target::from_probe_param(
                &self.template,
                param(params, "target").unwrap_or_default(),
            )
            .map_err(ProbeError::BadRequest)?;
            let ocp = match param(params, "ocp_address") {
                Some(o) if o.len() > 255 || o.chars().any(char::is_control) => {
                    return Err(ProbeError::BadRequest(format!(
                        "ocp_address {o:?} is not an address"
                    )));
                }
                Some(o) if !o.is_empty() => o,
                _ => self.ocp_address.as_str(),
            };
            let deadline =
                health::probe_deadline(Instant::now(), self.prober.timeout, ctx.deadline);
            let outcomes = self
                .prober
                .probe_all(std::slice::from_ref(&t), deadline)
                .await;
            let mut out = MetricSet::new();
            health::encode(ocp, &outcomes, &mut out);
            Ok(out)
        })
    }
}
