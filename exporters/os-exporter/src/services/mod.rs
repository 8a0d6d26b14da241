//! The document's daemon rows (001 §2.1 os_crond_abnormal, os_syslogd_abnormal,
//! os_sshd_abnormal, os_ntpd_abnormal: `service crond status` must say `active (running)`),
//! without a shell and without touching the daemons: systemd's own view of its units over one
//! long-lived D-Bus connection where systemd runs the host, else the process table and the
//! daemons' pid files. Never a connection to the daemon itself: a probe of sshd would write
//! `kex_exchange_identification` errors into the log os_message_error counts.

pub(crate) mod process;
pub(crate) mod systemd;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use common::{MutexExt as _, ScrapeContext, SysPaths};
use serde_json::json;

use crate::config::{ServiceOverride, ServiceSource, ServicesConfig};
use crate::process_table::ProcessTable;

/// One watched service: its row's name and where to look for it.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// The document's name part: `crond`, `syslogd`, `sshd`, `ntpd`.
    pub(crate) name: &'static str,
    /// systemd unit candidates.
    pub(crate) units: Vec<String>,
    /// `comm` candidates.
    pub(crate) processes: Vec<String>,
    /// Pid file candidates.
    pub(crate) pid_files: Vec<PathBuf>,
    /// Command lines (NULs read as spaces) of same-named processes that are not the daemon.
    pub(crate) ignore_cmdline: Vec<regex::Regex>,
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// The built-in candidates, per distribution (EulerOS/RHEL, Debian, Ubuntu), for `name`:
/// units, process names, pid files, ignored command lines.
fn builtin(name: &'static str) -> (Spec, Vec<String>) {
    let (units, processes, pid_files, ignore): (&[&str], &[&str], &[&str], &[&str]) = match name {
        "crond" => (
            &["crond.service", "cron.service"],
            &["crond", "cron"],
            &["/run/crond.pid", "/var/run/crond.pid"],
            &[],
        ),
        "syslogd" => (
            &["rsyslog.service", "syslog-ng.service", "syslog.service"],
            &["rsyslogd", "syslog-ng", "syslogd"],
            &[
                "/run/rsyslogd.pid",
                "/var/run/rsyslogd.pid",
                "/run/syslogd.pid",
            ],
            &[],
        ),
        // An active ssh.socket (Ubuntu's socket activation) counts: sshd starts on a connection.
        "sshd" => (
            &["sshd.service", "ssh.service", "ssh.socket"],
            &["sshd"],
            &["/run/sshd.pid", "/var/run/sshd.pid"],
            // Per-connection processes of OpenSSH before 9.8 share the listener's name and set
            // titles like `sshd: root@pts/0`, `sshd: root [priv]`, `sshd: [accepted]`; the
            // listener is `/usr/sbin/sshd -D` or `sshd: /usr/sbin/sshd -D [listener] ...` (sshd
            // re-executes itself by absolute path).
            &["^sshd: [^/]"],
        ),
        // chronyd, ntpd (classic and ntpsec), systemd-timesyncd (comm is cut at 15 characters).
        _ => (
            &[
                "chronyd.service",
                "chrony.service",
                "ntpd.service",
                "ntpsec.service",
                "systemd-timesyncd.service",
            ],
            &["chronyd", "ntpd", "systemd-timesyn"],
            &[
                "/run/chrony/chronyd.pid",
                "/run/chronyd.pid",
                "/run/ntpd.pid",
                "/var/run/ntpd.pid",
            ],
            &[],
        ),
    };
    (
        Spec {
            name,
            units: strings(units),
            processes: strings(processes),
            pid_files: pid_files.iter().map(PathBuf::from).collect(),
            ignore_cmdline: Vec::new(),
        },
        strings(ignore),
    )
}

/// The watched services: the four built-ins with the config's overrides, less the disabled ones;
/// an `ignore_cmdline` that is not a regular expression is an error naming it.
pub(crate) fn specs(cfg: &ServicesConfig) -> Result<Vec<Spec>, String> {
    let overrides: [(&'static str, &ServiceOverride); 4] = [
        ("crond", &cfg.crond),
        ("syslogd", &cfg.syslogd),
        ("sshd", &cfg.sshd),
        ("ntpd", &cfg.ntpd),
    ];
    overrides
        .into_iter()
        .filter(|(_, o)| o.enabled != Some(false))
        .map(|(name, o)| {
            let (mut s, mut ignore) = builtin(name);
            if let Some(v) = &o.units {
                s.units.clone_from(v);
            }
            if let Some(v) = &o.processes {
                s.processes.clone_from(v);
            }
            if let Some(v) = &o.pid_files {
                s.pid_files.clone_from(v);
            }
            if let Some(v) = &o.ignore_cmdline {
                ignore.clone_from(v);
            }
            s.ignore_cmdline = ignore
                .iter()
                .map(|r| {
                    regex::Regex::new(r)
                        .map_err(|e| format!("services.{name}.ignore_cmdline {r:?}: {e}"))
                })
                .collect::<Result<_, _>>()?;
            Ok(s)
        })
        .collect()
}

/// What one service looks like now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Status {
    /// The document's name part.
    pub(crate) name: &'static str,
    /// Not active and running: the document's 1.
    pub(crate) abnormal: bool,
    /// `systemd` or `process`.
    pub(crate) source: &'static str,
    /// The unit, process name or pid file that decided it (empty when nothing was found).
    pub(crate) found: String,
    /// systemd's ActiveState, or `active` / `inactive` from the process table.
    pub(crate) active_state: String,
    /// systemd's SubState, or `running`, `dead`, `stale-pid-file`; `not-found` when no
    /// candidate exists.
    pub(crate) sub_state: String,
    /// What `service <name> status` would have shown: the unit's properties or the processes
    /// and pid files seen.
    pub(crate) evidence: serde_json::Value,
}

/// Why the services could not be looked at.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServicesError {
    /// The process table could not be listed.
    #[error("{0}")]
    Proc(#[from] common::CollectError),
    /// systemd could not be asked.
    #[error(transparent)]
    Systemd(#[from] systemd::SystemdError),
}

/// Looks at the watched services; shared by the scrape (`services` collector) and the audit
/// sampler, so the D-Bus connection is one.
pub(crate) struct Watcher {
    paths: SysPaths,
    cfg: ServicesConfig,
    specs: Vec<Spec>,
    bus: Mutex<Option<systemd::Bus>>,
    /// Without systemd: the process table the scrape's `processes` collector reads too.
    table: Arc<ProcessTable>,
}

impl Watcher {
    /// A watcher of `cfg`'s services on the host of `paths`, whose processes are in `table`.
    pub(crate) fn new(paths: SysPaths, cfg: ServicesConfig, table: Arc<ProcessTable>) -> Self {
        // Config::validate has compiled the same patterns, so this cannot fail after start-up.
        let specs = specs(&cfg).unwrap_or_default();
        Self {
            paths,
            cfg,
            specs,
            bus: Mutex::new(None),
            table,
        }
    }

    /// Whether systemd is asked: configured, or (auto) systemd runs the host.
    pub(crate) fn uses_systemd(&self) -> bool {
        match self.cfg.source {
            ServiceSource::Systemd => true,
            ServiceSource::Process => false,
            // sd_booted(3): systemd creates this directory early at boot.
            ServiceSource::Auto => self.paths.root("run/systemd/system").is_dir(),
        }
    }

    /// Every watched service's status, from `scrape`'s process table when there is one;
    /// fails as a whole when its source cannot be read (a service must never read as running
    /// because systemd did not answer).
    pub(crate) fn check(
        &self,
        scrape: Option<&ScrapeContext>,
    ) -> Result<Vec<Status>, ServicesError> {
        if self.specs.is_empty() {
            return Ok(Vec::new());
        }
        if !self.uses_systemd() {
            let table = self.table.get(scrape)?;
            return Ok(process::check(self.table.paths(), &self.specs, &table));
        }
        let mut guard = self.bus.lock_or_recover();
        let bus = match guard.take() {
            Some(b) => b,
            None => systemd::Bus::connect(&self.cfg.dbus_address, self.cfg.dbus_timeout)?,
        };
        let result = self
            .specs
            .iter()
            .map(|s| bus.status(s))
            .collect::<Result<Vec<_>, _>>();
        // A failed call may mean a dead connection (systemd or dbus restarted): the next check
        // connects again.
        if result.is_ok() {
            *guard = Some(bus);
        }
        Ok(result?)
    }
}

/// The audit evidence of a service that turned abnormal.
pub(crate) fn evidence(s: &Status) -> serde_json::Value {
    json!({
        "service": s.name,
        "source": s.source,
        "found": s.found,
        "active_state": s.active_state,
        "sub_state": s.sub_state,
        "status": s.evidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_only_what_they_set_and_disabled_services_are_left_out() {
        let mut cfg = ServicesConfig::default();
        cfg.sshd.enabled = Some(false);
        cfg.crond.units = Some(vec!["my-cron.service".to_owned()]);
        let s = specs(&cfg).unwrap();
        let names: Vec<&str> = s.iter().map(|s| s.name).collect();
        assert_eq!(names, ["crond", "syslogd", "ntpd"]);
        assert_eq!(s[0].units, ["my-cron.service"]);
        assert_eq!(s[0].processes, ["crond", "cron"], "built-in names kept");
        assert!(s[2].processes.contains(&"chronyd".to_owned()));
        cfg.crond.ignore_cmdline = Some(vec!["(".to_owned()]);
        assert!(
            specs(&cfg)
                .unwrap_err()
                .contains("services.crond.ignore_cmdline")
        );
    }
}
