//! The two `sysconf` values the kernel's counters are scaled by (through procfs' safe wrappers).

/// Clock ticks per second (`USER_HZ`), the unit of `/proc/stat` and `/proc/<pid>/stat` times.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn clock_ticks() -> f64 {
    match procfs::ticks_per_second() {
        0 => 100.0,
        v => v as f64,
    }
}

/// Page size in bytes, the unit of `pswpin`/`pswpout` and of RSS in `/proc/<pid>/stat`.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn page_size() -> f64 {
    match procfs::page_size() {
        0 => 4096.0,
        v => v as f64,
    }
}
