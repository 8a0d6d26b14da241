//! The kernel clock's own sync flag: `adjtimex(2)` read-only (modes 0), as `ntptime` and
//! node_exporter's timex collector read it. No crate wraps this call safely.

/// What the kernel says about its clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct KernelClock {
    /// `TIME_ERROR` returned, or `STA_UNSYNC` set: no daemon disciplines the clock (chrony
    /// without `rtcsync` leaves it set, so it is one of three causes, never the only test).
    pub(crate) unsynchronised: bool,
    /// Estimated maximum error, in seconds.
    pub(crate) max_error_seconds: f64,
}

/// Reads the kernel clock state; `Err` when the call is refused (seccomp in some containers).
#[allow(unsafe_code)]
pub(crate) fn read() -> std::io::Result<KernelClock> {
    // SAFETY: `libc::timex` is a plain C struct of integers and a `timeval`, for which all-zero
    // bytes are a valid value; zero `modes` asks the kernel to change nothing and only to fill
    // the struct, which lives on this stack frame for the whole call and is not aliased.
    let (state, tx) = unsafe {
        let mut tx: libc::timex = std::mem::zeroed();
        let state = libc::adjtimex(&mut tx);
        (state, tx)
    };
    if state < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(KernelClock {
        unsynchronised: state == libc::TIME_ERROR || tx.status & libc::STA_UNSYNC != 0,
        #[allow(clippy::cast_precision_loss)]
        max_error_seconds: tx.maxerror as f64 / 1e6,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_kernel_answers_a_read_only_query() {
        // Whether this host's clock is synchronised is not known here; that the read-only call
        // works unprivileged, and gives a sane bound, is.
        let k = super::read().unwrap();
        assert!(
            k.max_error_seconds >= 0.0 && k.max_error_seconds < 100.0,
            "{k:?}"
        );
    }
}
