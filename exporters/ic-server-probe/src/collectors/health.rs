//! The document's check: GET each IC-Server's health URL, all concurrently under one deadline,
//! and the `ic_server_health` family built from the answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::http_probe::{Expect, Failure, HttpProbe, Response};
use common::{AsyncCollector, Build, CollectFuture, CollectorDef, Desc, MetricSet, ScrapeContext};

use crate::IcServerProbe;
use crate::target::Target;

/// `ic_server_health`: the document's monitored item.
const HEALTH: Desc = Desc::gauge(
    "ic_server_health",
    "1",
    "Whether the IC-Server health interface answered healthy (1) or not (0): refused, timeout, unexpected status or body.",
);
/// How long one probe took.
const PROBE_DURATION: Desc = Desc::gauge(
    "ic_server_probe_duration_seconds",
    "seconds",
    "Time the health probe took until the answer or the failure, in seconds.",
);
/// The answer's status code.
const PROBE_STATUS: Desc = Desc::gauge(
    "ic_server_probe_http_status_code",
    "1",
    "HTTP status code of the health answer; 0 when no status line was received.",
);
/// Why a probe failed; absent while healthy.
const PROBE_FAILURE: Desc = Desc::gauge(
    "ic_server_probe_failure",
    "1",
    "Present with value 1 while the health probe fails, with the bounded failure reason.",
);
/// The configured target count.
const TARGETS: Desc = Desc::gauge(
    "ic_server_targets",
    "1",
    "Number of IC-Servers configured for this OCP node.",
);

/// Time kept between the probes' deadline and the scrape's, to build and encode the result.
const ENCODE_MARGIN: Duration = Duration::from_millis(100);

/// Probes IC-Servers for one OCP node.
#[derive(Debug)]
pub(crate) struct Prober {
    /// The shared HTTP client.
    pub(crate) http: Arc<HttpProbe>,
    /// What a healthy answer looks like.
    pub(crate) expect: Arc<Expect>,
    /// Per-probe timeout.
    pub(crate) timeout: Duration,
}

/// One target's result.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// The IC-Server address.
    pub(crate) address: String,
    /// The answer, or why there was no acceptable one.
    pub(crate) result: Result<Response, Failure>,
}

/// The deadline for probes in a scrape ending at `scrape_deadline`: the configured timeout,
/// cut short so the result is ready before the scrape deadline.
pub(crate) fn probe_deadline(now: Instant, timeout: Duration, scrape_deadline: Instant) -> Instant {
    let left = scrape_deadline.saturating_duration_since(now);
    let margin = ENCODE_MARGIN.min(left / 4);
    // Checked arithmetic: a huge timeout or a young monotonic clock must not panic.
    let before_encode = scrape_deadline
        .checked_sub(margin)
        .unwrap_or(scrape_deadline);
    now.checked_add(timeout)
        .map_or(before_encode, |t| t.min(before_encode))
}

impl Prober {
    /// Probes every target concurrently; each probe ends by `deadline` whatever its peer does.
    pub(crate) async fn probe_all(&self, targets: &[Target], deadline: Instant) -> Vec<Outcome> {
        let mut set = tokio::task::JoinSet::new();
        for (i, t) in targets.iter().enumerate() {
            let http = Arc::clone(&self.http);
            let expect = Arc::clone(&self.expect);
            let url = t.url.clone();
            set.spawn(async move { (i, http.probe(&url, deadline, &expect).await) });
        }
        let mut results: Vec<Option<Result<Response, Failure>>> =
            (0..targets.len()).map(|_| None).collect();
        while let Some(joined) = set.join_next().await {
            // A panicked probe task leaves its slot empty and is reported as a timeout below.
            if let Ok((i, r)) = joined
                && let Some(slot) = results.get_mut(i)
            {
                *slot = Some(r);
            }
        }
        targets
            .iter()
            .zip(results)
            .map(|(t, r)| Outcome {
                address: t.address.clone(),
                result: r.unwrap_or_else(|| {
                    Err(Failure {
                        reason: common::http_probe::Reason::Timeout,
                        status: None,
                        duration: Duration::ZERO,
                        detail: "probe task failed".to_owned(),
                    })
                }),
            })
            .collect()
    }
}

/// Adds the health families for `outcomes`, all labelled with `ocp_address`.
pub(crate) fn encode(ocp_address: &str, outcomes: &[Outcome], out: &mut MetricSet) {
    for o in outcomes {
        let labels = [
            ("ocp_address", ocp_address),
            ("ic_server_address", o.address.as_str()),
        ];
        let (healthy, status, duration) = match &o.result {
            Ok(r) => (1.0, Some(r.status), r.duration),
            Err(f) => (0.0, f.status, f.duration),
        };
        out.add(&HEALTH, &labels, healthy);
        out.add(&PROBE_DURATION, &labels, duration.as_secs_f64());
        out.add(&PROBE_STATUS, &labels, f64::from(status.unwrap_or(0)));
        if let Err(f) = &o.result {
            out.add(
                &PROBE_FAILURE,
                &[labels[0], labels[1], ("reason", f.reason.as_str())],
                1.0,
            );
        }
    }
}

/// The scrape-time collector over the configured IC-Servers.
#[derive(Debug)]
pub(crate) struct HealthCollector {
    /// The prober.
    pub(crate) prober: Prober,
    /// The OCP node label value.
    pub(crate) ocp_address: String,
    /// The configured targets.
    pub(crate) targets: Vec<Target>,
}

impl HealthCollector {
    fn log_failures(&self, outcomes: &[Outcome]) {
        for o in outcomes {
            if let Err(f) = &o.result {
                log::debug!("ic_server={} unhealthy: {f}", o.address);
            }
        }
    }
}

impl AsyncCollector for HealthCollector {
    fn collect<'a>(&'a self, ctx: &'a ScrapeContext) -> CollectFuture<'a> {
        Box::pin(async move {
            let deadline = probe_deadline(Instant::now(), self.prober.timeout, ctx.deadline);
            let outcomes = self.prober.probe_all(&self.targets, deadline).await;
            self.log_failures(&outcomes);
            let mut out = MetricSet::new();
            out.add(
                &TARGETS,
                &[],
                f64::from(u32::try_from(self.targets.len()).unwrap_or(u32::MAX)),
            );
            encode(&self.ocp_address, &outcomes, &mut out);
            Ok(out)
        })
    }
}

/// Registry entry: `ic_server_scrape_collector_success{collector="health"}`.
pub(crate) const DEF: CollectorDef<IcServerProbe> = CollectorDef {
    name: "health",
    enabled_by_default: true,
    file: file!(),
    metrics: &[HEALTH, PROBE_DURATION, PROBE_STATUS, PROBE_FAILURE, TARGETS],
    build: Build::Async(|e| {
        Ok(
            (!e.cfg.ic_servers.is_empty()).then(|| -> Box<dyn common::AsyncCollector> {
                Box::new(HealthCollector {
                    prober: e.prober(),
                    ocp_address: e.ocp_address.clone(),
                    targets: crate::target::targets(&e.cfg.health_url, &e.cfg.ic_servers),
                })
            }),
        )
    }),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_deadline_is_the_timeout_or_just_before_the_scrape_deadline() {
        let now = Instant::now();
        let far = now + Duration::from_secs(10);
        assert_eq!(
            probe_deadline(now, Duration::from_secs(2), far),
            now + Duration::from_secs(2)
        );
        assert_eq!(
            probe_deadline(now, Duration::from_secs(30), far),
            far.checked_sub(ENCODE_MARGIN).unwrap()
        );
        // A timeout too large to add to the clock is no limit.
        assert_eq!(
            probe_deadline(now, Duration::MAX, far),
            far.checked_sub(ENCODE_MARGIN).unwrap()
        );
        let near = now + Duration::from_millis(200);
        assert_eq!(
            probe_deadline(now, Duration::from_secs(30), near),
            near.checked_sub(Duration::from_millis(50)).unwrap()
        );
        assert!(probe_deadline(now, Duration::from_secs(30), now) <= now);
    }
}
