//! `/proc/uptime` (`439.65 674.60`); the `btime` line of `/proc/stat` is `common::proc_table::boot_time`.

/// Seconds since boot, the first field of `/proc/uptime`.
pub fn parse_uptime(bytes: &[u8]) -> Option<f64> {
    common::parse::first_number(bytes).filter(|v| v.is_finite() && *v >= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_is_the_first_field() {
        assert_eq!(parse_uptime(b"439.65 674.60\n"), Some(439.65));
        assert_eq!(parse_uptime(b"-1 0\n"), None);
        assert_eq!(parse_uptime(b"garbage"), None);
    }
}
