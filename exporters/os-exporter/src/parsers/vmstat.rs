//! `/proc/vmstat`: pages swapped in and out since boot.

/// Swap activity in pages; a counter is `None` when its line is missing or not a number, so
/// that it is left out rather than exported as a reset to 0.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SwapActivity {
    /// `pswpin`.
    pub(crate) pswpin: Option<f64>,
    /// `pswpout`.
    pub(crate) pswpout: Option<f64>,
}

/// Parses `/proc/vmstat`; `None` when neither counter is present with a number.
pub fn parse(bytes: &[u8]) -> Option<SwapActivity> {
    let kv = common::parse::key_value_pairs(bytes);
    let get = |k: &str| kv.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    let (pswpin, pswpout) = (get("pswpin"), get("pswpout"));
    (pswpin.is_some() || pswpout.is_some()).then_some(SwapActivity { pswpin, pswpout })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_swap_pages() {
        assert_eq!(
            parse(b"nr_free_pages 5\npswpin 10\npswpout 20\n"),
            Some(SwapActivity {
                pswpin: Some(10.0),
                pswpout: Some(20.0)
            })
        );
        assert_eq!(parse(b"nr_free_pages 5\n"), None);
    }

    #[test]
    fn a_non_numeric_counter_is_absent_not_zero() {
        assert_eq!(
            parse(b"pswpin 1x0\npswpout 20\n"),
            Some(SwapActivity {
                pswpin: None,
                pswpout: Some(20.0)
            })
        );
        assert_eq!(parse(b"pswpin -\npswpout ?\n"), None);
    }
}
