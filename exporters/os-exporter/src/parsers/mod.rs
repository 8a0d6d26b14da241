//! Pure parsers, one per kernel source file: bytes in, typed struct out.

pub(crate) mod loadavg;
pub(crate) mod meminfo;
pub(crate) mod uptime;
