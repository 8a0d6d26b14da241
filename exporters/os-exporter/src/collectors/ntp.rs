//! `os_ntp_offset`, `os_ntp_sync_abnormal`: served from the last pass of the `ntp` background job
//! (`crate::time_sync`); a scrape never sends a packet.

use std::sync::Arc;

use common::registry::Background;
use common::{
    Build, CollectError, Collector, CollectorDef, Desc, Job, Latest, MetricSet, ScrapeContext,
};

use crate::OsExporter;
use crate::time_sync::{Outcome, Report, TimeSync};

const OFFSET: Desc = Desc::gauge(
    "os_ntp_offset_seconds",
    "seconds",
    "Server clock minus this host's clock in the last pass, in seconds, from the answering NTP server with the shortest round trip (ntpdate -q's sign: positive when this host is behind); the document's 999 when no server answered usably.",
);
const SERVER_UP: Desc = Desc::gauge(
    "os_ntp_server_up",
    "1",
    "1 when the server's address gave a usable answer in the last pass, else 0 (no reply, refused, not NTP, not synchronised itself, or the name did not resolve: address=\"\").",
);
const SERVER_OFFSET: Desc = Desc::gauge(
    "os_ntp_server_offset_seconds",
    "seconds",
    "The clock offset one server's address gave in the last pass, in seconds. Absent when it gave no usable answer.",
);
const SERVER_RTT: Desc = Desc::gauge(
    "os_ntp_server_rtt_seconds",
    "seconds",
    "Round trip of the question to one server's address in the last pass, in seconds. Absent when it gave no usable answer.",
);
const SERVER_STRATUM: Desc = Desc::gauge(
    "os_ntp_server_stratum",
    "1",
    "The stratum one server's address announced in the last pass. Absent when it gave no usable answer.",
);
const ABNORMAL: Desc = Desc::gauge(
    "os_ntp_sync_abnormal",
    "1",
    "1 when the kernel clock is unsynchronised (adjtimex), the local time daemon answers that it is not synchronised, or no server answered (offset 999), else 0.",
);
const CAUSE: Desc = Desc::gauge(
    "os_ntp_sync_abnormal_cause",
    "1",
    "Which of os_ntp_sync_abnormal's three causes holds (cause=kernel_unsynchronised, daemon_unsynchronised, offset_unavailable): 1 when it does.",
);

/// Serves the latest report.
struct NtpServe(Latest<Report>);

impl Collector for NtpServe {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut set = MetricSet::new();
        let Some(r) = self.0.get() else {
            return Ok(set);
        };
        set.add(&OFFSET, &[], r.offset());
        for q in &r.queried {
            let address = q.address.map(|a| a.to_string()).unwrap_or_default();
            let labels = [("server", q.server.as_str()), ("address", address.as_str())];
            let up = matches!(q.outcome, Outcome::Answered(_));
            set.add(&SERVER_UP, &labels, if up { 1.0 } else { 0.0 });
            if let Outcome::Answered(a) = q.outcome {
                set.add(&SERVER_OFFSET, &labels, a.offset);
                set.add(&SERVER_RTT, &labels, a.rtt);
                set.add(&SERVER_STRATUM, &labels, f64::from(a.stratum));
            }
        }
        set.add(&ABNORMAL, &[], if r.abnormal() { 1.0 } else { 0.0 });
        for (cause, on) in r.causes() {
            set.add(&CAUSE, &[("cause", cause)], if on { 1.0 } else { 0.0 });
        }
        Ok(set)
    }
}

fn build(e: &OsExporter) -> common::registry::Built<Background> {
    let latest = Latest::new();
    let mut job = TimeSync::new(
        e.paths.clone(),
        e.config.ntp.clone(),
        Arc::clone(&e.journal),
        latest.clone(),
    );
    // A pass asks every server at once, each bounded by the timeout, and resolves names first.
    Ok(Some(Background {
        job: Job::new("ntp", e.config.ntp.interval, move || Ok(job.run_once()?)),
        serve: Box::new(NtpServe(latest)),
    }))
}

/// Registry entry: `os_scrape_collector_success{collector="ntp"}` and the `ntp` job.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "ntp",
    enabled_by_default: true,
    file: file!(),
    metrics: &[
        OFFSET,
        SERVER_UP,
        SERVER_OFFSET,
        SERVER_RTT,
        SERVER_STRATUM,
        ABNORMAL,
        CAUSE,
    ],
    build: Build::Background(build),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::ctx;
    use crate::time_sync::{Answer, Queried};

    #[test]
    fn nothing_before_a_pass_then_999_and_every_cause_named() {
        let latest = Latest::new();
        let serve = NtpServe(latest.clone());
        assert!(serve.collect(&ctx()).unwrap().families().is_empty());
        latest.publish(Report {
            queried: vec![
                Queried {
                    server: "ntp.example:123".to_owned(),
                    address: None,
                    outcome: Outcome::Failed("resolving ntp.example: no".to_owned()),
                },
                Queried {
                    server: "10.0.0.1:123".to_owned(),
                    address: Some("10.0.0.1:123".parse().unwrap()),
                    outcome: Outcome::Unsynchronised("LI 3".to_owned()),
                },
            ],
            kernel_unsynchronised: None,
            daemon_unsynchronised: Some(true),
        });
        let set = serve.collect(&ctx()).unwrap();
        assert_eq!(set.value("os_ntp_offset_seconds", &[]), Some(999.0));
        assert_eq!(
            set.value(
                "os_ntp_server_up",
                &[("server", "ntp.example:123"), ("address", "")]
            ),
            Some(0.0)
        );
        assert!(!set.has("os_ntp_server_offset_seconds"));
        assert_eq!(set.value("os_ntp_sync_abnormal", &[]), Some(1.0));
        for (cause, v) in [
            ("kernel_unsynchronised", 0.0),
            ("daemon_unsynchronised", 1.0),
            ("offset_unavailable", 1.0),
        ] {
            assert_eq!(
                set.value("os_ntp_sync_abnormal_cause", &[("cause", cause)]),
                Some(v),
                "{cause}"
            );
        }
    }

    #[test]
    fn an_answer_gives_its_offset_rtt_and_stratum() {
        let latest = Latest::new();
        latest.publish(Report {
            queried: vec![Queried {
                server: "127.0.0.1:11123".to_owned(),
                address: Some("127.0.0.1:11123".parse().unwrap()),
                outcome: Outcome::Answered(Answer {
                    offset: 2.5,
                    rtt: 0.001,
                    stratum: 10,
                }),
            }],
            kernel_unsynchronised: Some(false),
            daemon_unsynchronised: Some(false),
        });
        let set = NtpServe(latest).collect(&ctx()).unwrap();
        let l = [
            ("server", "127.0.0.1:11123"),
            ("address", "127.0.0.1:11123"),
        ];
        assert_eq!(set.value("os_ntp_offset_seconds", &[]), Some(2.5));
        assert_eq!(set.value("os_ntp_server_stratum", &l), Some(10.0));
        assert_eq!(set.value("os_ntp_server_rtt_seconds", &l), Some(0.001));
        assert_eq!(set.value("os_ntp_sync_abnormal", &[]), Some(0.0));
    }
}
