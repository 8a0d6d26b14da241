//! Pure parsers, one per kernel source file: bytes in, typed struct out.

pub(crate) mod diskstats;
pub(crate) mod file_nr;
pub(crate) mod inet_diag;
pub(crate) mod loadavg;
pub(crate) mod meminfo;
pub(crate) mod mountinfo;
pub(crate) mod net_dev;
pub(crate) mod net_tcp;
pub(crate) mod netclass;
pub(crate) mod netstat;
pub(crate) mod pid_stat;
pub(crate) mod stat;
pub(crate) mod uptime;
pub(crate) mod vmstat;
