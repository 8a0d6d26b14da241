//! `/proc/uptime` (`439.65 674.60`) and the `btime` line of `/proc/stat`.

/// Seconds since boot, the first field of `/proc/uptime`.
pub(crate) fn parse_uptime(bytes: &[u8]) -> Option<f64> {
    common::parse::first_number(bytes).filter(|v| v.is_finite() && *v >= 0.0)
}

/// Boot time in seconds since the epoch, from the `btime` line of `/proc/stat`.
pub(crate) fn parse_btime(stat: &[u8]) -> Option<f64> {
    common::parse::lines(stat).find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())
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

    #[test]
    fn btime_is_found_among_other_lines() {
        assert_eq!(
            parse_btime(b"cpu 1 2 3\nbtime 1795289921\nprocesses 5\n"),
            Some(1_795_289_921.0)
        );
        assert_eq!(parse_btime(b"cpu 1 2 3\n"), None);
    }
}
