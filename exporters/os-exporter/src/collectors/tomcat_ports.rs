//! `tomcat_listening_port{tomcat,port}` (document 001 §3.5): whether each configured connector
//! port has a TCP socket in LISTEN, IPv4 or IPv6 (Java binds an IPv4 address through a dual-stack
//! socket, so it shows only as `::ffff:a.b.c.d` in the IPv6 table). From a LISTEN-only netlink
//! `sock_diag` dump (the kernel walks its listening hash only), or `/proc/net/tcp{,6}` when
//! `--path.procfs` points elsewhere or netlink is refused. A port held by another process counts
//! as listening: the socket's owner is not checked.

use std::collections::BTreeSet;

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::OsExporter;
use crate::parsers::net_tcp;

const LISTENING: Desc = Desc::gauge(
    "tomcat_listening_port",
    "1",
    "1 when the configured connector port has a listening TCP socket (IPv4 or IPv6), 0 when not: a connector that failed to start (a bad keystore) while Tomcat runs on.",
);

struct Ports {
    paths: SysPaths,
    /// `(tomcat, port)` pairs.
    wanted: Vec<(String, u16)>,
}

fn from_files(paths: &SysPaths) -> Result<BTreeSet<u16>, CollectError> {
    let mut ports = BTreeSet::new();
    for (table, required) in [("net/tcp", true), ("net/tcp6", false)] {
        let path = paths.proc(table);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(CollectError::io(path, e)),
        };
        ports.extend(
            text.split(|b| *b == b'\n')
                .filter_map(net_tcp::listening_port),
        );
    }
    Ok(ports)
}

impl Collector for Ports {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let listening = if self.paths.procfs == std::path::Path::new("/proc") {
            match crate::netlink::listening_ports() {
                Ok(p) => p,
                Err(e) => {
                    log::debug!("netlink sock_diag failed ({e}); reading /proc/net/tcp instead");
                    from_files(&self.paths)?
                }
            }
        } else {
            from_files(&self.paths)?
        };
        let mut set = MetricSet::new();
        for (tomcat, port) in &self.wanted {
            set.add(
                &LISTENING,
                &[("tomcat", tomcat), ("port", &port.to_string())],
                f64::from(u8::from(listening.contains(port))),
            );
        }
        Ok(set)
    }
}

fn build(e: &OsExporter) -> common::registry::Built<Box<dyn Collector>> {
    let mut wanted = Vec::new();
    for t in &e.config.tomcat {
        for port in crate::tomcat::ports(&e.paths, t).map_err(common::SetupError::Config)? {
            wanted.push((t.name.clone(), port));
        }
    }
    if wanted.is_empty() {
        return Ok(None);
    }
    Ok(Some(Box::new(Ports {
        paths: e.paths.clone(),
        wanted,
    })))
}

/// Registry entry: `os_scrape_collector_success{collector="tomcat_ports"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "tomcat_ports",
    enabled_by_default: true,
    file: file!(),
    metrics: &[LISTENING],
    build: Build::Blocking(build),
};
