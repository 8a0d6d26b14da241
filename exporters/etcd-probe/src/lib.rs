//! etcd-probe: etcd cluster health, the documents' etcd metrics re-exported per member, the
//! cluster view with data-loss detection, local installation checks and the log-based cause of
//! an etcd alarm (documents 001 section 3.3 and 002).

pub mod cluster_probe;
pub mod config;
pub mod data_loss;
pub mod exposition;
pub mod gateway;
pub mod health;
pub mod local_checks;
pub mod log_causes;
pub mod log_classifier;
pub mod log_line;
pub mod member_metrics;
pub mod process;
