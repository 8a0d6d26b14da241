//! What the fuzz targets share: cutting one input into several files, and the rules an
//! exposition built from untrusted text must keep so that Prometheus accepts the scrape.

use common::encode::{self, Format};
use common::metrics::{MetricFamily, Value};

/// The byte that separates the files of a multi-file input (ASCII record separator): one byte,
/// so the fuzzer finds it easily, and absent from every real capture.
pub const SEPARATOR: u8 = 0x1e;

/// The first `n` parts of `data` cut at [`SEPARATOR`]; missing parts are empty.
pub fn parts(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = data.splitn(n, |b| *b == SEPARATOR).collect();
    out.resize(n, &[]);
    out
}

/// `data` as text the way the exporters read files: invalid UTF-8 becomes U+FFFD.
pub fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, the metric names the text format accepts.
pub fn is_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, the label names the text format accepts.
pub fn is_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Panics when `families` would make Prometheus reject the whole scrape: a bad metric or label
/// name, a label twice on one sample, or a histogram carrying its own `le`. Both encoders must
/// also accept them, and every classic sample line must split back into name, labels and value.
pub fn assert_valid_exposition(families: &[MetricFamily]) {
    for f in families {
        assert!(is_metric_name(&f.name), "metric name {:?}", f.name);
        for s in &f.samples {
            for (i, (k, _)) in s.labels.iter().enumerate() {
                assert!(is_label_name(k), "{}: label name {k:?}", f.name);
                assert!(
                    !s.labels[..i].iter().any(|(earlier, _)| earlier == k),
                    "{}: label {k:?} twice in {:?}",
                    f.name,
                    s.labels
                );
            }
            if matches!(s.value, Value::Histogram { .. }) {
                assert!(
                    !s.labels.iter().any(|(k, _)| k == "le"),
                    "{}: a histogram with its own le label",
                    f.name
                );
            }
        }
    }
    let classic = encode::encode(families.to_vec(), Format::Classic);
    for line in classic.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("sample line without a value: {line:?}"));
        assert!(
            value.parse::<f64>().is_ok() || matches!(value, "NaN" | "+Inf" | "-Inf"),
            "value {value:?} in {line:?}"
        );
        let name = series.split('{').next().unwrap_or_default();
        assert!(is_metric_name(name), "series {series:?}");
    }
    let _ = encode::encode(families.to_vec(), Format::OpenMetrics);
}
