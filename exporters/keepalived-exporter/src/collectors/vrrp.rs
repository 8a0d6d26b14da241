//! Per-instance VRRP state from keepalived itself (its JSON dump, or the data + stats dumps on
//! builds without JSON), followed by the VIP checks that need that state.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::registry::Built;
use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, MutexExt as _, ScrapeContext,
    SetupError, SysPaths,
};

use crate::KeepalivedExporter;
use crate::collectors::vips::{self, ArpProber};
use crate::config::DumpMode;
use crate::dump::{self, DumpRequest, Signals, Target};
use crate::vrrp::{VrrpInstance, VrrpState};
use crate::{ifaddr, json_dump, text_dump};

/// Which dumps this keepalived gets asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// SIGJSON.
    Json,
    /// SIGUSR1 + SIGUSR2.
    Text,
}

/// Settings of the VRRP collector.
#[derive(Debug)]
pub struct VrrpCollector {
    /// Rooted paths.
    pub paths: SysPaths,
    /// Pid file, relative to the root.
    pub pid_file: String,
    /// keepalived.conf, relative to the root: the VIPs to look for while keepalived is down.
    pub conf: String,
    /// The signal numbers.
    pub signals: Signals,
    /// Dump format.
    pub format: Format,
    /// Dump directory as keepalived sees it.
    pub dump_dir: String,
    /// Data dump file name.
    pub data_file: String,
    /// Longest wait for a dump.
    pub dump_timeout: Duration,
    /// ARP probe listen time; `None` disables probing.
    pub arp_timeout: Option<Duration>,
    /// The `ip` binary.
    pub ip_bin: String,
    /// One dump request at a time: concurrent scrapes would otherwise race on the same file.
    pub lock: Mutex<()>,
}

const STATE: Desc = Desc::gauge(
    "keepalived_vrrp_state",
    "1",
    "VRRP instance state from keepalived's dump: 1 for the current state (init, backup, master, fault, stop), else 0.",
);
const PRIORITY: Desc = Desc::gauge(
    "keepalived_vrrp_priority",
    "1",
    "Effective VRRP priority (after track weights).",
);
const BASE_PRIORITY: Desc = Desc::gauge(
    "keepalived_vrrp_base_priority",
    "1",
    "Configured VRRP priority.",
);
const VIPS: Desc = Desc::gauge(
    "keepalived_vrrp_vips",
    "1",
    "Number of virtual IP addresses configured on the instance.",
);
const LAST_TRANSITION: Desc = Desc::gauge(
    "keepalived_vrrp_last_transition_timestamp_seconds",
    "seconds",
    "Unix time of the instance's last state change, in seconds.",
);
const ADVERTS_RECEIVED: Desc = Desc::counter(
    "keepalived_vrrp_advertisements_received_total",
    "1",
    "VRRP advertisements received; a count.",
);
const ADVERTS_SENT: Desc = Desc::counter(
    "keepalived_vrrp_advertisements_sent_total",
    "1",
    "VRRP advertisements sent; a count.",
);
const BECAME_MASTER: Desc = Desc::counter(
    "keepalived_vrrp_became_master_total",
    "1",
    "Transitions of the instance to MASTER; a count.",
);
const RELEASED_MASTER: Desc = Desc::counter(
    "keepalived_vrrp_released_master_total",
    "1",
    "Transitions of the instance out of MASTER; a count.",
);
const PRIORITY_ZERO_RECEIVED: Desc = Desc::counter(
    "keepalived_vrrp_priority_zero_received_total",
    "1",
    "Priority-0 advertisements received (the master giving up); a count.",
);
const PRIORITY_ZERO_SENT: Desc = Desc::counter(
    "keepalived_vrrp_priority_zero_sent_total",
    "1",
    "Priority-0 advertisements sent; a count.",
);
const PACKET_ERRORS: Desc = Desc::counter(
    "keepalived_vrrp_packet_errors_total",
    "1",
    "Received VRRP packets with length, TTL, type, interval or address-list errors; a count.",
);
const AUTH_ERRORS: Desc = Desc::counter(
    "keepalived_vrrp_authentication_errors_total",
    "1",
    "Received VRRP packets failing authentication; a count.",
);
const VIP_CHECK_SUCCESS: Desc = Desc::gauge(
    "keepalived_vip_check_success",
    "1",
    "Whether the local interface addresses could be listed (1) or not (0).",
);

const LABELS: [&str; 3] = ["vrrp_instance", "interface", "vrid"];

impl VrrpCollector {
    fn instances(&self, pid: u32, deadline: Instant) -> Result<Vec<VrrpInstance>, CollectError> {
        let path = |file: &str| dump::dump_path(&self.paths.procfs, pid, &self.dump_dir, file);
        let target = Target {
            paths: &self.paths,
            pid,
            comm: crate::process::COMM,
        };
        match self.format {
            Format::Json => Ok(dump::request(
                &target,
                &self.signals,
                DumpRequest::Json,
                &path("keepalived.json"),
                deadline,
                json_dump::parse,
            )?),
            Format::Text => {
                let data = dump::request(
                    &target,
                    &self.signals,
                    DumpRequest::Data,
                    &path(&self.data_file),
                    deadline,
                    |b| text_dump::parse_data(&String::from_utf8_lossy(b)),
                )?;
                let stats = dump::request(
                    &target,
                    &self.signals,
                    DumpRequest::Stats,
                    &path("keepalived.stats"),
                    deadline,
                    |b| text_dump::parse_stats(&String::from_utf8_lossy(b)),
                )?;
                Ok(text_dump::merge(data, &stats))
            }
        }
    }

    fn configured_instances(&self) -> Result<Vec<VrrpInstance>, CollectError> {
        let (conf, _) = crate::conf_include::read_conf(&self.paths, &self.conf)?;
        Ok(conf
            .instances
            .into_iter()
            .map(|c| VrrpInstance {
                name: c.name,
                interface: c.interface.unwrap_or_default(),
                vrid: c.vrid.unwrap_or(0),
                vips: c.vips,
                ..VrrpInstance::default()
            })
            .collect())
    }

    fn interfaces(&self, deadline: Instant) -> Result<Vec<ifaddr::Interface>, String> {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(100));
        let out = common::command::run(&[&self.ip_bin, "-j", "addr", "show"], left, 4 << 20)
            .map_err(|e| e.to_string())?;
        if !out.success() {
            return Err(format!(
                "{} -j addr show: {}",
                self.ip_bin,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        ifaddr::parse(&out.stdout).map_err(|e| format!("parsing `ip -j addr show`: {e}"))
    }
}

/// Adds the per-instance families.
pub fn add_instance_metrics(m: &mut MetricSet, instances: &[VrrpInstance]) {
    for i in instances {
        let vrid = i.vrid.to_string();
        let l = [
            (LABELS[0], i.name.as_str()),
            (LABELS[1], i.interface.as_str()),
            (LABELS[2], vrid.as_str()),
        ];
        for s in VrrpState::ALL {
            let mut with_state = l.to_vec();
            with_state.push(("state", s.label()));
            m.add(&STATE, &with_state, f64::from(u8::from(i.state == Some(s))));
        }
        if let Some(p) = i.effective_priority {
            m.add(&PRIORITY, &l, p);
        }
        if let Some(p) = i.base_priority {
            m.add(&BASE_PRIORITY, &l, p);
        }
        m.add(&VIPS, &l, i.vips.len() as f64);
        if let Some(t) = i.last_transition.filter(|t| *t > 0.0) {
            m.add(&LAST_TRANSITION, &l, t);
        }
        let Some(s) = i.stats else { continue };
        let counters: [(&Desc, f64); 8] = [
            (&ADVERTS_RECEIVED, s.advert_rcvd),
            (&ADVERTS_SENT, s.advert_sent),
            (&BECAME_MASTER, s.become_master),
            (&RELEASED_MASTER, s.release_master),
            (&PRIORITY_ZERO_RECEIVED, s.pri_zero_rcvd),
            (&PRIORITY_ZERO_SENT, s.pri_zero_sent),
            (&PACKET_ERRORS, s.packet_errors),
            (&AUTH_ERRORS, s.auth_errors),
        ];
        for (desc, v) in counters {
            m.add(desc, &l, v);
        }
    }
}

/// What one look at keepalived and the interfaces found.
#[derive(Debug, Clone)]
pub struct Observation {
    /// The keepalived parent's pid, when it runs.
    pub pid: Option<u32>,
    /// Its instances (from its dump; from keepalived.conf, without state, while it is down).
    pub instances: Vec<VrrpInstance>,
    /// The VIP findings, or why the interface addresses could not be listed.
    pub vips: Result<Vec<vips::VipFinding>, String>,
}

impl VrrpCollector {
    /// Asks keepalived for its state (or reads keepalived.conf while it is down) and checks its
    /// VIPs on the interfaces; `probe_unexpected` also ARP-probes VIPs held by a non-master.
    pub fn observe(
        &self,
        scrape_deadline: Instant,
        probe_unexpected: bool,
    ) -> Result<Observation, CollectError> {
        let deadline = scrape_deadline.min(Instant::now() + self.dump_timeout);
        let running = crate::process::find(&self.paths, &self.pid_file);
        let instances = match &running {
            Some(k) => {
                let _guard = self.lock.lock_or_recover();
                self.instances(k.pid, deadline)?
            }
            // With keepalived down nothing here should hold a VIP; the configured ones are checked
            // so that a VIP left behind by a killed keepalived is reported on this host too.
            None => self.configured_instances()?,
        };
        let vips = self.interfaces(scrape_deadline).map(|ifaces| {
            let prober = self.arp_timeout.map(|wait| ArpProber {
                wait,
                deadline: scrape_deadline,
            });
            vips::check(
                &instances,
                &ifaces,
                prober.as_ref().map(|p| p as &dyn vips::Prober),
                probe_unexpected,
            )
        });
        Ok(Observation {
            pid: running.map(|k| k.pid),
            instances,
            vips,
        })
    }
}

impl Collector for VrrpCollector {
    fn collect(&self, ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let o = self.observe(ctx.deadline, false)?;
        let mut m = MetricSet::new();
        if o.pid.is_some() {
            add_instance_metrics(&mut m, &o.instances);
        }
        match &o.vips {
            Ok(findings) => {
                vips::add_findings(&mut m, findings);
                m.add(&VIP_CHECK_SUCCESS, &[], 1.0);
            }
            Err(e) => {
                log::warn!("listing interface addresses: {e}");
                m.add(&VIP_CHECK_SUCCESS, &[], 0.0);
            }
        }
        Ok(m)
    }
}

/// Builds the VRRP collector: asks the keepalived binary which signals dump its state (never
/// under `--config.check`, which must not run anything), and picks the dump format. `None`
/// when dumps are off (`dump = "none"`) or under `--config.check`.
pub fn collector(e: &KeepalivedExporter) -> Result<Option<VrrpCollector>, SetupError> {
    let cfg = &e.cfg;
    if cfg.dump == DumpMode::None || e.check_only {
        return Ok(None);
    }
    let signals = dump::Signals::query(&cfg.keepalived_bin);
    let format = match (cfg.dump, signals.json) {
        (DumpMode::Json, None) => {
            return Err(SetupError::Config(format!(
                "dump = \"json\" but `{} --signum=JSON` gives no signal (built without JSON?)",
                cfg.keepalived_bin
            )));
        }
        (DumpMode::Json | DumpMode::Auto, Some(_)) => Format::Json,
        _ => Format::Text,
    };
    let kind = match format {
        Format::Json => "JSON",
        Format::Text => "text (data and stats)",
    };
    log::info!("reading keepalived state from its {kind} dumps ({signals})");
    Ok(Some(VrrpCollector {
        paths: e.paths.clone(),
        pid_file: cfg.pid_file.clone(),
        conf: cfg.keepalived_conf.clone(),
        signals,
        format,
        dump_dir: cfg.dump_dir.clone(),
        data_file: cfg.data_file.clone(),
        dump_timeout: cfg.dump_timeout,
        arp_timeout: cfg.arp_probe.then_some(cfg.arp_timeout),
        ip_bin: cfg.ip_bin.clone(),
        lock: Mutex::new(()),
    }))
}

fn build(e: &KeepalivedExporter) -> Built<Box<dyn Collector>> {
    Ok(collector(e)?.map(|c| Box::new(c) as Box<dyn Collector>))
}

/// Registry entry: `keepalived_scrape_collector_success{collector="vrrp"}`.
pub(crate) const DEF: CollectorDef<KeepalivedExporter> = CollectorDef {
    name: "vrrp",
    enabled_by_default: true,
    file: file!(),
    metrics: &[
        STATE,
        PRIORITY,
        BASE_PRIORITY,
        VIPS,
        LAST_TRANSITION,
        ADVERTS_RECEIVED,
        ADVERTS_SENT,
        BECAME_MASTER,
        RELEASED_MASTER,
        PRIORITY_ZERO_RECEIVED,
        PRIORITY_ZERO_SENT,
        PACKET_ERRORS,
        AUTH_ERRORS,
        VIP_CHECK_SUCCESS,
        vips::PRESENT,
        vips::UNEXPECTED,
        vips::CONFLICT,
    ],
    build: Build::Blocking(build),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_from_the_captured_master_dump() {
        let text = crate::fixtures::bytes("master.json");
        let mut m = MetricSet::new();
        add_instance_metrics(&mut m, &json_dump::parse(&text).unwrap());
        let l = [
            ("vrrp_instance", "VI_1"),
            ("interface", "eth0"),
            ("vrid", "51"),
        ];
        assert_eq!(
            m.value("keepalived_vrrp_state", &[l[0], ("state", "master")]),
            Some(1.0)
        );
        assert_eq!(
            m.value("keepalived_vrrp_state", &[l[0], ("state", "backup")]),
            Some(0.0)
        );
        assert_eq!(m.value("keepalived_vrrp_priority", &l), Some(150.0));
        assert_eq!(
            m.value("keepalived_vrrp_advertisements_sent_total", &l),
            Some(7.0)
        );
        assert_eq!(
            m.value("keepalived_vrrp_became_master_total", &l),
            Some(1.0)
        );
        assert_eq!(m.value("keepalived_vrrp_vips", &l), Some(1.0));
    }
}
