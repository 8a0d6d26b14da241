//! One module per collector, each declaring its registry entry `DEF`; `ALL` is the table the
//! skeleton reads. Adding a collector is one module plus one line here.

mod accounts;
mod addresses;
mod audit;
mod bonds;
mod conntrack;
mod cpu;
mod cron;
mod directories;
mod diskstats;
mod entropy;
mod eth1_route;
mod filehandles;
mod filesystem;
mod interfaces;
mod jvm;
mod kernel_log;
mod livepatch;
mod loadavg;
mod memory;
mod messages;
mod netdev;
mod ntp;
mod ping;
mod process_groups;
mod processes;
mod readonly;
mod services;
pub(crate) mod sockets;
mod tcp;
mod tomcat;
mod tomcat_ports;
mod uptime;
mod vmstat;

use common::CollectorDef;

use crate::OsExporter;

/// Every collector of os-exporter, in the order they are run.
pub(crate) const ALL: &[CollectorDef<OsExporter>] = &[
    accounts::DEF,
    addresses::DEF,
    audit::DEF,
    bonds::DEF,
    conntrack::DEF,
    cpu::DEF,
    cron::DEF,
    directories::DEF,
    diskstats::DEF,
    entropy::DEF,
    eth1_route::DEF,
    filehandles::DEF,
    filesystem::DEF,
    interfaces::DEF,
    jvm::DEF,
    kernel_log::DEF,
    livepatch::DEF,
    loadavg::DEF,
    memory::DEF,
    messages::DEF,
    netdev::DEF,
    ntp::DEF,
    ping::DEF,
    process_groups::DEF,
    processes::DEF,
    readonly::DEF,
    services::DEF,
    sockets::DEF,
    tcp::DEF,
    tomcat::DEF,
    tomcat_ports::DEF,
    uptime::DEF,
    vmstat::DEF,
];

#[cfg(test)]
pub(crate) mod test_support {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use common::statfs::{FsStats, StatfsError};
    use common::{ScrapeContext, SysPaths};

    use crate::config::FilesystemConfig;
    use crate::partitions::{FsStatter, Partitions};

    /// The fixture tree `tests/fixtures/<name>`.
    pub(crate) fn fixture(name: &str) -> SysPaths {
        SysPaths::fixture(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(name),
        )
    }

    /// Polls `f` (the kernel needs a moment to queue loopback bytes) for up to 2 s.
    pub(crate) fn wait_for<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
        for _ in 0..40 {
            if let Some(v) = f() {
                return Some(v);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// A scrape context with a generous deadline.
    pub(crate) fn ctx() -> ScrapeContext {
        ScrapeContext::with_timeout(Duration::from_secs(5))
    }

    /// Partitions of a fixture tree, counting `include` types besides block devices.
    pub(crate) fn partitions(paths: SysPaths, include: &[&str]) -> Partitions {
        Partitions::new(
            paths,
            FilesystemConfig {
                include_fs_types: include.iter().map(|s| (*s).to_owned()).collect(),
                ..FilesystemConfig::default()
            },
        )
    }

    /// statfs answers from a table keyed by mount point (relative to the fixture root).
    pub(crate) struct FakeStatfs(HashMap<String, FsStats>);

    impl FakeStatfs {
        /// A table of `(mount point, stats)`.
        pub(crate) fn new(rows: &[(&str, FsStats)]) -> Self {
            Self(rows.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect())
        }
    }

    impl FsStatter for FakeStatfs {
        fn stat(&self, path: &Path, _: Duration) -> Result<FsStats, StatfsError> {
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
            // Paths come in as `<fixtures>/<tree>/<mount point>`.
            let rel = path.strip_prefix(&root).ok().and_then(|r| {
                let mut c = r.components();
                c.next();
                Some(format!("/{}", c.as_path().to_str()?))
            });
            let key = rel
                .map(|r| {
                    if r == "/" {
                        r
                    } else {
                        r.trim_end_matches('/').to_owned()
                    }
                })
                .unwrap_or_default();
            self.0.get(&key).copied().ok_or_else(|| StatfsError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not in the fake table"),
            })
        }
    }
}
