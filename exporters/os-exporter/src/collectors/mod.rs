//! One module per collector; `register` wires the enabled ones into the runner.

mod audit;
mod conntrack;
mod cpu;
mod diskstats;
mod filehandles;
mod filesystem;
mod interfaces;
mod loadavg;
mod memory;
mod netdev;
mod processes;
mod readonly;
pub(crate) mod sockets;
mod tcp;
mod uptime;
mod vmstat;

use std::sync::Arc;

use common::audit::AuditJournal;
use common::statfs::Statfs;
use common::{AsyncCollector, CollectFuture, Collector, CollectorSet, ScrapeContext, SysPaths};

use crate::config::Config;
use crate::disk_filter::DiskFilter;
use crate::partitions::Partitions;
use crate::sampler::SamplerStatus;

/// Every collector this exporter has, by name.
pub(crate) const ALL: &[&str] = &[
    "audit",
    "conntrack",
    "cpu",
    "diskstats",
    "filehandles",
    "filesystem",
    "interfaces",
    "loadavg",
    "memory",
    "netdev",
    "processes",
    "readonly",
    "sockets",
    "tcp",
    "uptime",
    "vmstat",
];

/// Runs a collector that only reads procfs/sysfs files or the netlink socket dump (in-memory
/// kernel state that never hangs like a network mount) on the runtime's worker instead of a
/// blocking-pool thread, so concurrent scrapes cost no extra threads. Only statfs, which can
/// hang on NFS/FUSE, stays on blocking threads.
struct Inline<C>(C);

impl<C: Collector> AsyncCollector for Inline<C> {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn collect<'a>(&'a self, ctx: &'a ScrapeContext) -> CollectFuture<'a> {
        Box::pin(async move { self.0.collect(ctx) })
    }
}

/// What the collectors share with the background audit sampler.
pub(crate) struct Shared {
    /// The audit journal.
    pub(crate) journal: Arc<AuditJournal>,
    /// The sampler's progress.
    pub(crate) status: Arc<SamplerStatus>,
    /// The hang-safe statfs (one stuck-mount memory for scrapes and sampler).
    pub(crate) statfs: Statfs,
}

/// Adds the enabled collectors to `set`; an unknown name in `disabled_collectors` is an error.
pub(crate) fn register(
    set: &mut CollectorSet,
    paths: &SysPaths,
    config: &Config,
    shared: &Shared,
) -> Result<(), String> {
    if let Some(bad) = config
        .disabled_collectors
        .iter()
        .find(|n| !ALL.contains(&n.as_str()))
    {
        return Err(format!(
            "disabled_collectors: unknown collector {bad:?}; known: {}",
            ALL.join(", ")
        ));
    }
    let on = |name: &str| !config.disabled_collectors.iter().any(|d| d == name);
    let p = || paths.clone();
    let partitions = Partitions::new(p(), config.filesystem.clone());
    if on("audit") {
        set.add_async(Inline(audit::AuditCollector::new(
            Arc::clone(&shared.journal),
            Arc::clone(&shared.status),
        )));
    }
    if on("conntrack") {
        set.add_async(Inline(conntrack::ConntrackCollector::new(p())));
    }
    if on("cpu") {
        set.add_async(Inline(cpu::CpuCollector::new(p())));
    }
    if on("diskstats") {
        set.add_async(Inline(diskstats::DiskstatsCollector::new(
            p(),
            DiskFilter::new(paths, &config.diskstats),
        )));
    }
    if on("filehandles") {
        set.add_async(Inline(filehandles::FileHandlesCollector::new(p())));
    }
    if on("filesystem") {
        set.add(filesystem::FilesystemCollector::new(
            partitions.clone(),
            Arc::new(shared.statfs.clone()),
        ));
    }
    if on("interfaces") {
        set.add_async(Inline(interfaces::InterfacesCollector::new(p())));
    }
    if on("loadavg") {
        set.add_async(Inline(loadavg::LoadavgCollector::new(p())));
    }
    if on("memory") {
        set.add_async(Inline(memory::MemoryCollector::new(p())));
    }
    if on("netdev") {
        set.add_async(Inline(netdev::NetdevCollector::new(p())));
    }
    if on("processes") {
        set.add_async(Inline(processes::ProcessesCollector::new(p())));
    }
    if on("readonly") {
        set.add_async(Inline(readonly::ReadonlyCollector::new(partitions)));
    }
    if on("sockets") {
        set.add_async(Inline(sockets::SocketsCollector::new(
            p(),
            config.sockets.clone(),
        )));
    }
    if on("tcp") {
        set.add_async(Inline(tcp::TcpCollector::new(p())));
    }
    if on("uptime") {
        set.add_async(Inline(uptime::UptimeCollector::new(
            p(),
            config.uptime.reboot_window,
        )));
    }
    if on("vmstat") {
        set.add_async(Inline(vmstat::VmstatCollector::new(p())));
    }
    Ok(())
}

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
