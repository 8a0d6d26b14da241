//! Metrics about the exporter itself: build information and its own process resources.

use crate::cert_validity::CertValidity;
use crate::metrics::MetricSet;

/// Version and revision baked in at build time.
#[derive(Debug, Clone, Copy)]
pub struct BuildInfo {
    /// Exporter name, e.g. `os-exporter`.
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
    /// VCS revision, from the `GIT_REVISION` build environment when set.
    pub revision: &'static str,
}

/// `BuildInfo` for the crate that invokes it.
#[macro_export]
macro_rules! build_info {
    () => {
        $crate::self_metrics::BuildInfo {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            revision: match option_env!("GIT_REVISION") {
                Some(r) => r,
                None => "unknown",
            },
        }
    };
}

/// The [`crate::Spec`] of the exporter crate that invokes it: its package name as the binary
/// name, its package description as `--help`'s about line, its build information, and the
/// metric prefix and default listen address given here (the one place each is written).
#[macro_export]
macro_rules! spec {
    (prefix: $prefix:literal, listen: $listen:literal $(,)?) => {
        $crate::cli::Spec {
            name: env!("CARGO_PKG_NAME"),
            prefix: $prefix,
            default_listen: $listen,
            about: env!("CARGO_PKG_DESCRIPTION"),
            build: $crate::build_info!(),
        }
    };
}

/// Appends `<prefix>_exporter_tls_certificate_expiry_timestamp_seconds`: when the serving
/// certificate in force lapses, so an alert can fire weeks before clients start refusing it.
pub fn collect_tls(prefix: &str, certificate: Option<&CertValidity>, out: &mut MetricSet) {
    if let Some(c) = certificate {
        #[allow(clippy::cast_precision_loss)]
        out.gauge(
            &format!("{prefix}_exporter_tls_certificate_expiry_timestamp_seconds"),
            "When the serving TLS certificate expires (its notAfter), in seconds since the epoch.",
            c.not_after as f64,
        );
    }
}

/// Appends `<prefix>_exporter_build_info` and the `process_*` families of this process.
pub fn collect(prefix: &str, build: &BuildInfo, out: &mut MetricSet) {
    out.info(
        &format!("{prefix}_exporter_build_info"),
        "Exporter build information; constant 1.",
        &[
            ("version", build.version),
            ("revision", build.revision),
            ("exporter", build.name),
        ],
    );
    // Our own process is always the real /proc, not the configured fixture root.
    let Ok(me) = procfs::process::Process::myself() else {
        return;
    };
    if let Ok(stat) = me.stat() {
        let tps = crate::sysconf::clock_ticks_per_second();
        #[allow(clippy::cast_precision_loss)]
        let cpu = (stat.utime + stat.stime) as f64 / tps;
        out.counter(
            "process_cpu_seconds_total",
            "Total user and system CPU time spent, in seconds.",
            cpu,
        );
        #[allow(clippy::cast_precision_loss)]
        let rss = stat.rss as f64 * crate::sysconf::page_size_bytes();
        out.gauge(
            "process_resident_memory_bytes",
            "Resident memory size, in bytes.",
            rss,
        );
        #[allow(clippy::cast_precision_loss)]
        out.gauge(
            "process_virtual_memory_bytes",
            "Virtual memory size, in bytes.",
            stat.vsize as f64,
        );
        if let Ok(boot) = procfs::boot_time_secs() {
            #[allow(clippy::cast_precision_loss)]
            let start = boot as f64 + stat.starttime as f64 / tps;
            out.gauge(
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch, in seconds.",
                start,
            );
        }
    }
    if let Ok(n) = me.fd_count() {
        #[allow(clippy::cast_precision_loss)]
        out.gauge(
            "process_open_fds",
            "Number of open file descriptors.",
            n as f64,
        );
    }
    if let Ok(limits) = me.limits()
        && let procfs::process::LimitValue::Value(v) = limits.max_open_files.soft_limit
    {
        #[allow(clippy::cast_precision_loss)]
        out.gauge(
            "process_max_fds",
            "Maximum number of open file descriptors.",
            v as f64,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_metrics_describe_this_process() {
        let mut set = MetricSet::new();
        collect("t", &crate::build_info!(), &mut set);
        assert_eq!(
            set.value("t_exporter_build_info", &[("exporter", "common")]),
            Some(1.0)
        );
        assert!(
            set.value("process_resident_memory_bytes", &[])
                .unwrap_or(0.0)
                > 1e6
        );
        assert!(set.value("process_open_fds", &[]).unwrap_or(0.0) >= 3.0);
        assert!(set.has("process_cpu_seconds_total"));
    }
}
