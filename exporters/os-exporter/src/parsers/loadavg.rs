//! `/proc/loadavg`: `0.43 0.42 0.18 1/110 9816`.

/// The three load averages and the scheduler's entity counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadAvg {
    /// 1-minute load average.
    pub(crate) one: f64,
    /// 5-minute load average.
    pub(crate) five: f64,
    /// 15-minute load average.
    pub(crate) fifteen: f64,
}

/// Parses `/proc/loadavg`; `None` when the three averages are not all there.
pub fn parse(bytes: &[u8]) -> Option<LoadAvg> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut it = text.split_whitespace().map(str::parse::<f64>);
    Some(LoadAvg {
        one: it.next()?.ok()?,
        five: it.next()?.ok()?,
        fifteen: it.next()?.ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_averages() {
        assert_eq!(
            parse(b"0.43 0.42 0.18 1/110 9816\n"),
            Some(LoadAvg {
                one: 0.43,
                five: 0.42,
                fifteen: 0.18
            })
        );
    }

    #[test]
    fn short_or_garbage_input_is_none() {
        assert_eq!(parse(b"0.43 0.42\n"), None);
        assert_eq!(parse(b"x y z\n"), None);
        assert_eq!(parse(b""), None);
    }
}
