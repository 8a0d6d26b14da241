//! The two `sysconf` values the kernel's counters are scaled by.

/// Clock ticks per second (`USER_HZ`), the unit of `/proc/stat` and `/proc/<pid>/stat` times.
#[allow(unsafe_code)]
pub(crate) fn clock_ticks() -> f64 {
    // SAFETY: sysconf takes an integer name and returns an integer; it touches no memory of ours.
    let v = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if v > 0 { v as f64 } else { 100.0 }
}

/// Page size in bytes, the unit of `pswpin`/`pswpout` and of RSS in `/proc/<pid>/stat`.
#[allow(unsafe_code)]
pub(crate) fn page_size() -> f64 {
    // SAFETY: as above, an integer in and an integer out.
    let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if v > 0 { v as f64 } else { 4096.0 }
}
