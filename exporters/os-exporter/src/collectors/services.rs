//! `os_crond_abnormal`, `os_syslogd_abnormal`, `os_sshd_abnormal`, `os_ntpd_abnormal` at scrape
//! time (`crate::services`): a killed daemon reads 1 at the next scrape. The audit sampler
//! writes the evidence when one turns abnormal.

use std::sync::Arc;

use common::{Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext};

use crate::OsExporter;
use crate::services::Watcher;

const CROND: Desc = Desc::gauge(
    "os_crond_abnormal",
    "1",
    "1 when cron is not active and running (systemd's unit state, or no live crond/cron process), else 0.",
);
const SYSLOGD: Desc = Desc::gauge(
    "os_syslogd_abnormal",
    "1",
    "1 when the syslog daemon (rsyslog, syslog-ng) is not active and running, else 0.",
);
const SSHD: Desc = Desc::gauge(
    "os_sshd_abnormal",
    "1",
    "1 when sshd is not active and running (an active ssh.socket counts), else 0; sshd itself is never contacted.",
);
const NTPD: Desc = Desc::gauge(
    "os_ntpd_abnormal",
    "1",
    "1 when the time daemon (chronyd, ntpd, ntpsec, systemd-timesyncd) is not active and running, else 0.",
);
const INFO: Desc = Desc::gauge(
    "os_service_info",
    "1",
    "Constant 1 per watched service: what decided its row (source systemd or process; found: the unit, process name or pid file, empty when none exists) and its state (active_state, sub_state as systemctl shows them; process: running, dead, stale-pid-file, not-found).",
);

/// Serves the watched services' rows.
struct ServicesCollector(Arc<Watcher>);

impl Collector for ServicesCollector {
    fn collect(&self, ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let statuses = self
            .0
            .check(Some(ctx))
            .map_err(|e| CollectError::parse("services", e.to_string()))?;
        let mut set = MetricSet::new();
        for s in &statuses {
            let row = match s.name {
                "crond" => &CROND,
                "syslogd" => &SYSLOGD,
                "sshd" => &SSHD,
                _ => &NTPD,
            };
            set.add(row, &[], if s.abnormal { 1.0 } else { 0.0 });
            set.add(
                &INFO,
                &[
                    ("service", s.name),
                    ("source", s.source),
                    ("found", &s.found),
                    ("active_state", &s.active_state),
                    ("sub_state", &s.sub_state),
                ],
                1.0,
            );
        }
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="services"}`; blocking, as a D-Bus call
/// may hang until its timeout.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "services",
    enabled_by_default: true,
    file: file!(),
    metrics: &[CROND, SYSLOGD, SSHD, NTPD, INFO],
    build: Build::Blocking(|e| Ok(Some(Box::new(ServicesCollector(Arc::clone(&e.services)))))),
};
