//! Reads the IPVS table without side effects: IPVS must already be there (`/proc/net/ip_vs`, or
//! `ip_vs` in `/proc/modules`) before netlink is used at all, and the family id is then found
//! in the controller's list rather than asked for by name (which can autoload `ip_vs`).
//! `ipvsadm` is never run: it runs `modprobe ip_vs` whenever its first query fails.
//!
//! Also reads what the exporter expects to find: the configured services, else keepalived.conf's
//! `virtual_server` blocks (with its includes, through keepalived-exporter's reader).

use std::net::IpAddr;
use std::time::Duration;

use common::netlink::Limits;
use common::{CollectError, SysPaths};
use keepalived_exporter::conf_file::{KeepalivedConf, VirtualServerAddr};

use crate::config::{Config, IpvsSource};
use crate::table::{Protocol, Service, ServiceKey, Stats};
use crate::{ipvs_genl, proc_ip_vs, proc_ip_vs_stats};

/// Which source gave the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Generic netlink (with counters).
    Netlink,
    /// `/proc/net/ip_vs` (without per-service counters).
    Proc,
}

impl Source {
    /// The `source` label.
    pub fn label(self) -> &'static str {
        match self {
            Source::Netlink => "netlink",
            Source::Proc => "proc",
        }
    }
}

/// One read of the table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableRead {
    /// Whether IPVS is in this kernel (loaded or built in).
    pub present: bool,
    /// Where the table came from (`None` when IPVS is absent).
    pub source: Option<Source>,
    /// The services, sorted by key.
    pub services: Vec<Service>,
    /// The whole table's counters (`/proc/net/ip_vs_stats`).
    pub totals: Option<Stats>,
    /// More services than `max_services`: the rest are listed without real servers.
    pub truncated: bool,
    /// Why netlink was not used, when `/proc` was read instead.
    pub netlink_error: Option<String>,
}

impl TableRead {
    /// Every address service's VIP, deduplicated.
    pub fn vips(&self) -> Vec<IpAddr> {
        let mut v: Vec<IpAddr> = self.services.iter().filter_map(|s| s.key.vip()).collect();
        v.sort();
        v.dedup();
        v
    }
}

/// Whether IPVS is present, judged from files only (never by asking the kernel's IPVS family).
pub fn ipvs_present(paths: &SysPaths) -> bool {
    if paths.proc("net/ip_vs").exists() {
        return true;
    }
    paths
        .read_proc("modules")
        .map(|m| {
            String::from_utf8_lossy(&m)
                .lines()
                .any(|l| l.split_whitespace().next() == Some("ip_vs"))
        })
        .unwrap_or(false)
}

fn read_proc_table(paths: &SysPaths) -> Result<Vec<Service>, CollectError> {
    let bytes = paths.read_proc("net/ip_vs")?;
    let mut services = proc_ip_vs::parse(&String::from_utf8_lossy(&bytes))
        .map_err(|e| CollectError::parse(paths.proc("net/ip_vs"), e.to_string()))?
        .services;
    services.sort_by_key(|s| s.key);
    Ok(services)
}

/// Reads the table from the configured source.
pub fn read(paths: &SysPaths, cfg: &Config, timeout: Duration) -> Result<TableRead, CollectError> {
    if !ipvs_present(paths) {
        return Ok(TableRead::default());
    }
    let limits = Limits {
        recv_timeout: cfg
            .netlink_timeout
            .min(timeout.max(Duration::from_millis(1))),
        ..Limits::default()
    };
    let mut read = TableRead {
        present: true,
        ..TableRead::default()
    };
    let netlink = || ipvs_genl::read(limits, cfg.max_services);
    match cfg.ipvs_source {
        IpvsSource::Netlink => {
            let (services, truncated) =
                netlink().map_err(|e| CollectError::Other(format!("IPVS over netlink: {e}")))?;
            read.services = services;
            read.truncated = truncated;
            read.source = Some(Source::Netlink);
        }
        IpvsSource::Auto => match netlink() {
            Ok((services, truncated)) => {
                read.services = services;
                read.truncated = truncated;
                read.source = Some(Source::Netlink);
            }
            Err(e) => {
                log::debug!("IPVS over netlink failed ({e}); reading /proc/net/ip_vs");
                read.netlink_error = Some(e.to_string());
                read.services = read_proc_table(paths)?;
                read.source = Some(Source::Proc);
            }
        },
        IpvsSource::Proc => {
            read.services = read_proc_table(paths)?;
            read.source = Some(Source::Proc);
        }
    }
    if read.source == Some(Source::Proc) && read.services.len() > cfg.max_services {
        read.truncated = true;
        for s in read.services.iter_mut().skip(cfg.max_services) {
            s.real_servers.clear();
        }
    }
    read.totals = paths
        .read_proc("net/ip_vs_stats")
        .ok()
        .and_then(|b| proc_ip_vs_stats::parse(&String::from_utf8_lossy(&b)).ok());
    Ok(read)
}

/// The services keepalived.conf declares.
pub fn conf_services(conf: &KeepalivedConf) -> Vec<ServiceKey> {
    let mut out: Vec<ServiceKey> = conf
        .virtual_servers
        .iter()
        .filter_map(|vs| match vs.addr {
            VirtualServerAddr::Socket(addr, port) => Some(ServiceKey::Addr {
                protocol: Protocol::from_name(&vs.protocol)?,
                addr,
                port,
            }),
            VirtualServerAddr::Fwmark(mark) => Some(ServiceKey::Fwmark { mark, ipv6: false }),
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// keepalived.conf with its includes; `None` when not configured or not there (a director whose
/// IPVS is set up by other means).
pub fn keepalived_conf(
    paths: &SysPaths,
    cfg: &Config,
) -> Result<Option<KeepalivedConf>, CollectError> {
    if cfg.keepalived_conf.is_empty() {
        return Ok(None);
    }
    match keepalived_exporter::conf_include::read_conf(paths, &cfg.keepalived_conf) {
        Ok((conf, _)) => Ok(Some(conf)),
        Err(CollectError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The expected services with their probes: the configured ones, else keepalived.conf's.
pub fn expected(cfg: &Config, conf: Option<&KeepalivedConf>) -> Vec<(ServiceKey, Vec<u8>)> {
    let configured = cfg.expected();
    if !configured.is_empty() {
        return configured;
    }
    conf.map(conf_services)
        .unwrap_or_default()
        .into_iter()
        .map(|k| (k, Vec::new()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> (std::path::PathBuf, SysPaths) {
        let dir = std::env::temp_dir().join(format!(
            "lvs-source-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("proc/net")).unwrap();
        std::fs::create_dir_all(dir.join("etc/keepalived")).unwrap();
        let paths = SysPaths::fixture(&dir);
        (dir, paths)
    }

    #[test]
    fn absent_ipvs_is_not_an_error_and_nothing_is_asked() {
        let (dir, paths) = root();
        std::fs::write(dir.join("proc/modules"), "bonding 200704 0 - Live 0x0\n").unwrap();
        assert!(!ipvs_present(&paths));
        // ipvs_source = netlink would fail if netlink were tried: absence answers first.
        let cfg = Config {
            ipvs_source: IpvsSource::Netlink,
            ..Config::default()
        };
        let r = read(&paths, &cfg, Duration::from_secs(1)).unwrap();
        assert_eq!(r, TableRead::default());
        std::fs::write(dir.join("proc/modules"), "ip_vs 200704 0 - Live 0x0\n").unwrap();
        assert!(ipvs_present(&paths));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn proc_source_reads_the_table_and_the_totals() {
        let (dir, paths) = root();
        std::fs::write(
            dir.join("proc/net/ip_vs"),
            crate::fixtures::text("proc_net_ip_vs"),
        )
        .unwrap();
        std::fs::write(
            dir.join("proc/net/ip_vs_stats"),
            crate::fixtures::text("proc_net_ip_vs_stats"),
        )
        .unwrap();
        let cfg = Config {
            ipvs_source: IpvsSource::Proc,
            max_services: 2,
            ..Config::default()
        };
        let r = read(&paths, &cfg, Duration::from_secs(1)).unwrap();
        assert!(r.present);
        assert_eq!(r.source, Some(Source::Proc));
        assert!(r.truncated);
        assert!(r.services.iter().skip(2).all(|s| s.real_servers.is_empty()));
        assert!(r.totals.is_some());
        std::fs::write(dir.join("proc/net/ip_vs"), "garbage\n").unwrap();
        let err = read(&paths, &cfg, Duration::from_secs(1)).unwrap_err();
        assert!(err.to_string().contains("banner"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn expected_services_come_from_config_else_keepalived_conf() {
        let (dir, paths) = root();
        std::fs::write(
            dir.join("etc/keepalived/keepalived.conf"),
            "include /etc/keepalived/lvs.conf\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("etc/keepalived/lvs.conf"),
            "virtual_server 10.0.0.3 53 {\n protocol UDP\n}\nvirtual_server fwmark 7 {\n}\nvirtual_server 10.0.0.3 80 {\n protocol ICMP\n}\n",
        )
        .unwrap();
        let cfg = Config::default();
        let conf = keepalived_conf(&paths, &cfg).unwrap();
        let keys: Vec<String> = expected(&cfg, conf.as_ref())
            .iter()
            .map(|(k, _)| k.to_string())
            .collect();
        assert_eq!(keys, vec!["udp/10.0.0.3:53", "fwmark/7"]);
        let cfg = Config {
            services: vec![crate::config::ServiceConfig {
                service: "tcp/10.0.0.9:1".into(),
                probe: String::new(),
            }],
            ..Config::default()
        };
        assert_eq!(expected(&cfg, conf.as_ref()).len(), 1);
        let missing = Config {
            keepalived_conf: "/etc/nope.conf".into(),
            ..Config::default()
        };
        assert!(keepalived_conf(&paths, &missing).unwrap().is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
