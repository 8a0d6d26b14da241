//! The two `sysconf` values the kernel's counters are scaled by, read through procfs' safe
//! wrappers: every exporter converts ticks and pages with these, never its own copy.

/// Clock ticks per second (`USER_HZ`), the unit of the times in `/proc/stat` and
/// `/proc/<pid>/stat`; 100 (the value on every Linux ABI) should `sysconf` ever answer 0.
#[allow(clippy::cast_precision_loss)]
pub fn clock_ticks_per_second() -> f64 {
    match procfs::ticks_per_second() {
        0 => 100.0,
        v => v as f64,
    }
}

/// Page size in bytes, the unit of `pswpin`/`pswpout` and of RSS in `/proc/<pid>/stat`; 4096
/// should `sysconf` ever answer 0.
#[allow(clippy::cast_precision_loss)]
pub fn page_size_bytes() -> f64 {
    match procfs::page_size() {
        0 => 4096.0,
        v => v as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_units_are_positive_powers_or_hz() {
        assert!(clock_ticks_per_second() >= 1.0);
        let page = page_size_bytes();
        assert!(page >= 4096.0 && page.log2().fract() == 0.0, "{page}");
    }
}
