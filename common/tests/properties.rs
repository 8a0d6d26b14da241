//! Property tests: the tolerant parsers never panic on arbitrary input, and the encoders never
//! let a label value or help text break the exposition's line structure.

use common::encode::{encode_classic, encode_openmetrics};
use common::log_tail::{LogTail, StartAt};
use common::metrics::{MetricSet, MetricType};
use common::parse;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse::key_value_kb(&bytes);
        let _ = parse::key_value_pairs(&bytes);
        let _ = parse::header_value_tables(&bytes);
        let _ = parse::first_number(&bytes);
        let _ = parse::unescape_octal(&String::from_utf8_lossy(&bytes));
        let _ = common::config::parse_duration(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn label_values_and_help_cannot_break_lines(value in ".*", help in ".*", v in any::<f64>()) {
        let mut set = MetricSet::new();
        set.family("t_metric", &help, MetricType::Gauge).push(&[("l", &value)], v);
        set.family("t_other", "Other, unitless.", MetricType::Gauge).push(&[], 1.0);
        let classic = encode_classic(set.families());
        // Two families: HELP, TYPE and one sample each, whatever the strings contain.
        prop_assert_eq!(classic.lines().count(), 6, "{}", classic);
        let third = classic.lines().nth(2).unwrap_or_default();
        prop_assert!(third.starts_with("t_metric{l=\""), "{}", third);
        let om = encode_openmetrics(set.into_families());
        prop_assert!(om.ends_with("# EOF\n"));
        prop_assert_eq!(om.lines().filter(|l| l.starts_with("t_metric{")).count(), 1);
    }

    #[test]
    fn log_tail_returns_every_complete_line_however_it_is_split(
        lines in proptest::collection::vec("[a-z ]{0,40}", 1..30),
        splits in proptest::collection::vec(1usize..64, 1..10),
    ) {
        let dir = std::env::temp_dir().join(format!("prop-tail-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("log");
        std::fs::write(&path, b"").unwrap();
        let mut tail = LogTail::new(&path, StartAt::Beginning);
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let bytes = text.as_bytes();
        let mut got = Vec::new();
        let mut at = 0;
        let mut i = 0;
        while at < bytes.len() {
            let n = splits[i % splits.len()].min(bytes.len() - at);
            use std::io::Write;
            std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(&bytes[at..at + n]).unwrap();
            at += n;
            i += 1;
            tail.read_lines(|l| got.push(l.to_owned())).unwrap();
        }
        prop_assert_eq!(got, lines);
    }
}
