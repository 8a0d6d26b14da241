//! Shared crate of the ops exporter suite: serving, CLI, config, the collector runner,
//! rooted file access, parsing helpers, command running and log tailing.

pub mod allocator;
pub mod audit;
pub mod cert_validity;
pub mod cli;
pub mod collector;
pub mod command;
pub mod config;
pub mod diagnose;
pub mod encode;
pub mod fd_limit;
pub mod glob;
pub mod golden;
pub mod http_probe;
pub mod icmp;
pub mod job;
pub mod lock;
pub mod log_tail;
pub mod logging;
pub mod metrics;
pub mod netlink;
pub mod parse;
pub mod paths;
pub mod per_scrape;
pub mod proc_table;
pub mod registry;
pub mod regular_file;
pub mod self_metrics;
pub mod server;
pub mod signal;
pub mod state_file;
pub mod statfs;
pub mod sysconf;
pub mod tls;
pub mod web_config;

pub use cli::{Context, Exporter, ExporterConfig, Spec};
pub use collector::{
    AsyncCollector, CollectError, CollectFuture, Collector, CollectorSet, ScrapeContext,
};
pub use job::{Job, Latest};
pub use lock::{MutexExt, RwLockExt};
pub use metrics::{Desc, MetricFamily, MetricSet, MetricType};
pub use paths::SysPaths;
pub use per_scrape::PerScrape;
pub use registry::{Build, CollectorDef, CollectorsConfig, SetupError};
