//! Shared crate of the ops exporter suite: serving, CLI, config, the collector runner,
//! rooted file access, parsing helpers, command running and log tailing.

pub mod audit;
pub mod cli;
pub mod collector;
pub mod command;
pub mod config;
pub mod encode;
pub mod glob;
pub mod http_probe;
pub mod icmp;
pub mod log_tail;
pub mod logging;
pub mod metrics;
pub mod netlink;
pub mod parse;
pub mod paths;
pub mod proc_table;
pub mod self_metrics;
pub mod server;
pub mod state_file;
pub mod statfs;
pub mod web_config;

pub use cli::{Built, Context, Spec};
pub use collector::{
    AsyncCollector, CollectError, CollectFuture, Collector, CollectorSet, ScrapeContext,
};
pub use metrics::{MetricFamily, MetricSet, MetricType};
pub use paths::SysPaths;
