//! One collector per source.

pub mod conf;
pub mod connectivity;
pub mod log;
pub mod process;
pub mod vips;
pub mod vrrp;
