//! `os_ping_gateway`, `os_ping_internal`, `os_ping_external`, `os_network_ping_abnormal`: served
//! from the last pass of the `ping` background job (`crate::reachability`); a scrape never pings.
//! Base units: seconds (recording rules give the document's names in milliseconds).

use std::sync::Arc;

use common::registry::Background;
use common::{
    Build, CollectError, Collector, CollectorDef, Desc, Job, Latest, MetricSet, ScrapeContext,
};

use crate::OsExporter;
use crate::reachability::{Group, Pinger, Report};

const GATEWAY: Desc = Desc::gauge(
    "os_ping_gateway_seconds",
    "seconds",
    "Largest RTT of the echoes to the main table's default gateways in the last pass, in seconds; the timeout when a gateway did not answer. Absent without a default route.",
);
const INTERNAL: Desc = Desc::gauge(
    "os_ping_internal_seconds",
    "seconds",
    "Largest RTT to the ESTABLISHED peers inside the resource-tenant subnets in the last pass, in seconds; a peer that did not answer counts as the timeout. Absent without such peers.",
);
const EXTERNAL: Desc = Desc::gauge(
    "os_ping_external_seconds",
    "seconds",
    "Largest RTT to the ESTABLISHED peers outside the resource-tenant subnets that answered in the last pass, in seconds. Absent when none answered.",
);
const TARGETS: Desc = Desc::gauge(
    "os_ping_targets",
    "1",
    "Addresses pinged in the last pass, by kind (gateway, internal, external), a count.",
);
const ANSWERING: Desc = Desc::gauge(
    "os_ping_targets_answering",
    "1",
    "Addresses that answered at least one echo in the last pass, by kind, a count.",
);
const OVER_LIMIT: Desc = Desc::gauge(
    "os_ping_peers_over_limit",
    "1",
    "Unique ESTABLISHED peers left out of the last pass over [ping] max_peers, a count.",
);
const ABNORMAL: Desc = Desc::gauge(
    "os_network_ping_abnormal",
    "1",
    "1 when a default gateway or a peer inside the resource-tenant subnets did not answer in the last pass, else 0.",
);

/// Serves the latest report.
struct PingServe(Latest<Report>);

fn add_group(set: &mut MetricSet, kind: &str, desc: &Desc, g: &Group) {
    set.add(&TARGETS, &[("kind", kind)], g.targets as f64);
    set.add(&ANSWERING, &[("kind", kind)], g.answering as f64);
    if let Some(v) = g.value {
        set.add(desc, &[], v);
    }
}

impl Collector for PingServe {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut set = MetricSet::new();
        // Before the first pass, and after a failed one, there is nothing to report.
        let Some(r) = self.0.get().filter(|r| r.ok) else {
            return Ok(set);
        };
        add_group(&mut set, "gateway", &GATEWAY, &r.gateway);
        add_group(&mut set, "internal", &INTERNAL, &r.internal);
        add_group(&mut set, "external", &EXTERNAL, &r.external);
        set.add(&OVER_LIMIT, &[], r.over_limit as f64);
        set.add(&ABNORMAL, &[], if r.abnormal() { 1.0 } else { 0.0 });
        Ok(set)
    }
}

fn build(e: &OsExporter) -> common::registry::Built<Background> {
    let latest = Latest::new();
    let mut pinger = Pinger::new(
        e.paths.clone(),
        e.config.ping.clone(),
        Arc::clone(&e.journal),
        latest.clone(),
    );
    Ok(Some(Background {
        job: Job::new("ping", e.config.ping.interval, move || {
            Ok(pinger.run_once()?)
        }),
        serve: Box::new(PingServe(latest)),
    }))
}

/// Registry entry: `os_scrape_collector_success{collector="ping"}` and the `ping` job.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "ping",
    enabled_by_default: true,
    file: file!(),
    metrics: &[
        GATEWAY, INTERNAL, EXTERNAL, TARGETS, ANSWERING, OVER_LIMIT, ABNORMAL,
    ],
    build: Build::Background(build),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::ctx;

    #[test]
    fn nothing_is_served_before_a_pass_or_after_a_failed_one() {
        let latest = Latest::new();
        let serve = PingServe(latest.clone());
        assert!(serve.collect(&ctx()).unwrap().families().is_empty());
        latest.publish(Report::default());
        assert!(serve.collect(&ctx()).unwrap().families().is_empty());
    }

    #[test]
    fn no_external_answer_is_a_count_of_zero_and_no_latency() {
        let latest = Latest::new();
        latest.publish(Report {
            ok: true,
            external: Group {
                targets: 4,
                answering: 0,
                value: None,
            },
            ..Report::default()
        });
        let set = PingServe(latest).collect(&ctx()).unwrap();
        assert_eq!(
            set.value("os_ping_targets", &[("kind", "external")]),
            Some(4.0)
        );
        assert_eq!(
            set.value("os_ping_targets_answering", &[("kind", "external")]),
            Some(0.0)
        );
        assert!(!set.has("os_ping_external_seconds"));
        assert!(
            !set.has("os_ping_gateway_seconds"),
            "no default route, no value"
        );
        assert_eq!(set.value("os_network_ping_abnormal", &[]), Some(0.0));
    }
}
