//! `/proc/vmstat`: pages swapped in and out since boot.

/// Swap activity in pages.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct SwapActivity {
    /// `pswpin`.
    pub(crate) pswpin: f64,
    /// `pswpout`.
    pub(crate) pswpout: f64,
}

/// Parses `/proc/vmstat`; `None` when neither counter is present.
pub(crate) fn parse(bytes: &[u8]) -> Option<SwapActivity> {
    let kv = common::parse::key_value_pairs(bytes);
    let get = |k: &str| kv.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    let (pswpin, pswpout) = (get("pswpin"), get("pswpout"));
    (pswpin.is_some() || pswpout.is_some()).then(|| SwapActivity {
        pswpin: pswpin.unwrap_or(0.0),
        pswpout: pswpout.unwrap_or(0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_swap_pages() {
        assert_eq!(
            parse(b"nr_free_pages 5\npswpin 10\npswpout 20\n"),
            Some(SwapActivity {
                pswpin: 10.0,
                pswpout: 20.0
            })
        );
        assert_eq!(parse(b"nr_free_pages 5\n"), None);
    }
}
