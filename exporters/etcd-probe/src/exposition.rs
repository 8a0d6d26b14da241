//! A tolerant reader of the Prometheus text format as etcd serves it on `/metrics`, keeping only
//! the samples of the families asked for. Lines that do not parse are skipped.

use std::collections::BTreeMap;

/// One sample line: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The sample name (for histograms including `_bucket`, `_sum`, `_count`).
    pub name: String,
    /// Label pairs in the order written.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

/// A histogram rebuilt from its `_bucket`, `_sum` and `_count` lines.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    /// Cumulative counts by upper bound, ascending, without `+Inf`.
    pub buckets: Vec<(f64, u64)>,
    /// Sum of observations.
    pub sum: f64,
    /// Number of observations.
    pub count: u64,
}

/// Parses every sample line whose name is `wanted` or starts with a wanted histogram base name.
pub fn parse_samples(text: &str, wanted: &dyn Fn(&str) -> bool) -> Vec<Sample> {
    text.lines()
        .filter_map(|l| parse_line(l.trim()))
        .filter(|s| wanted(&s.name))
        .collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let name = &line[..name_end];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return None;
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        let (parsed, tail) = parse_labels(after)?;
        labels = parsed;
        rest = tail;
    }
    let value_str = rest.split_whitespace().next()?;
    let value = match value_str {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().ok()?,
    };
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`: a name the text format allows, so it can be written out again.
fn is_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Parses `k="v",k2="v2"}` and returns the labels and the text after `}`. A label name the
/// format does not allow, a name given twice or a missing comma rejects the line: re-exported
/// as read, such labels would make Prometheus refuse the probe's whole scrape.
fn parse_labels(s: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels: Vec<(String, String)> = Vec::new();
    let mut rest = s.trim_start();
    loop {
        if let Some(tail) = rest.strip_prefix('}') {
            return Some((labels, tail));
        }
        let eq = rest.find('=')?;
        let key = rest[..eq].trim().to_owned();
        if !is_label_name(&key) || labels.iter().any(|(k, _)| *k == key) {
            return None;
        }
        rest = rest[eq + 1..].trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => match chars.next()? {
                    (_, 'n') => value.push('\n'),
                    (_, other) => value.push(other),
                },
                '"' => break i,
                c => value.push(c),
            }
        };
        rest = rest[end + 1..].trim_start();
        labels.push((key, value));
        if let Some(more) = rest.strip_prefix(',') {
            rest = more.trim_start();
        } else if !rest.starts_with('}') {
            return None;
        }
    }
}

/// Groups the `_bucket`/`_sum`/`_count` samples of histogram `base` by their other labels.
pub fn histograms(samples: &[Sample], base: &str) -> BTreeMap<Vec<(String, String)>, Histogram> {
    let mut out: BTreeMap<Vec<(String, String)>, Histogram> = BTreeMap::new();
    let bucket = format!("{base}_bucket");
    let sum = format!("{base}_sum");
    let count = format!("{base}_count");
    for s in samples {
        let mut key: Vec<(String, String)> = s
            .labels
            .iter()
            .filter(|(k, _)| k != "le")
            .cloned()
            .collect();
        key.sort();
        if s.name == bucket {
            let Some(le) = s
                .labels
                .iter()
                .find(|(k, _)| k == "le")
                .map(|(_, v)| v.as_str())
            else {
                continue;
            };
            let Ok(le) = le.parse::<f64>() else { continue };
            if !le.is_finite() {
                continue;
            }
            out.entry(key)
                .or_default()
                .buckets
                .push((le, non_negative_count(s.value)));
        } else if s.name == sum {
            out.entry(key).or_default().sum = s.value;
        } else if s.name == count {
            out.entry(key).or_default().count = non_negative_count(s.value);
        }
    }
    // What `Histogram` promises whatever the member sent: one bucket per bound, ascending, and
    // counts that never fall (a repeated bound keeps its highest count).
    for h in out.values_mut() {
        h.buckets
            .sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
        h.buckets.dedup_by(|later, first| later.0 == first.0);
        let mut highest = 0;
        for (_, count) in &mut h.buckets {
            highest = highest.max(*count);
            *count = highest;
        }
    }
    out
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn non_negative_count(v: f64) -> u64 {
    // Counts are integers written as floats; negative or NaN input means a broken peer.
    if v.is_finite() && v > 0.0 {
        v.round() as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &str = include_str!("../tests/fixtures/etcd-3.4.23-metrics.txt");

    #[test]
    fn real_etcd_metrics_yield_the_documents_families() {
        let s = parse_samples(REAL, &|n| {
            n.starts_with("etcd_server_") || n.starts_with("etcd_disk_")
        });
        let has_leader = s
            .iter()
            .find(|x| x.name == "etcd_server_has_leader")
            .unwrap();
        assert_eq!(has_leader.value, 1.0);
        let wal = histograms(&s, "etcd_disk_wal_fsync_duration_seconds");
        let h = wal.values().next().unwrap();
        assert!(h.count > 0);
        assert!(h.buckets.len() > 5);
        assert!(
            h.buckets
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1)
        );
    }

    #[test]
    fn lines_whose_label_names_prometheus_would_refuse_are_skipped() {
        // Found by the fuzz target etcd_metrics: `{le="4.096"bucket{le="0.256"}` gave a label
        // named `bucket{le`, which broke the probe's own exposition.
        let text = "h_bucket{le=\"4.096\"bucket{le=\"0.256\"} 31\n\
                    h_bucket{a b=\"1\",le=\"2\"} 3\n\
                    h_bucket{1x=\"1\",le=\"2\"} 3\n\
                    h_bucket{le=\"1\",le=\"2\"} 3\n\
                    h_bucket{=\"1\"} 3\n\
                    ok{x=\"1\" , y=\"2\",} 4\n";
        let s = parse_samples(text, &|_| true);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(
            s[0].labels,
            vec![("x".into(), "1".into()), ("y".into(), "2".into())]
        );
    }

    #[test]
    fn histograms_are_cumulative_whatever_the_member_sent() {
        // Found by the fuzz target etcd_metrics: repeated, falling and huge bucket counts went
        // out as they came, and the OpenMetrics encoder's per-bucket sums overflowed on them.
        let text = "h_bucket{le=\"1\"} 5\nh_bucket{le=\"0.5\"} 7\nh_bucket{le=\"1\"} 3\n\
                    h_bucket{le=\"2\"} 1e40\nh_bucket{le=\"4\"} 2\nh_bucket{le=\"NaN\"} 9\n\
                    h_count 9\n";
        let all = histograms(&parse_samples(text, &|_| true), "h");
        assert_eq!(
            all[&Vec::new()].buckets,
            vec![(0.5, 7), (1.0, 7), (2.0, u64::MAX), (4.0, u64::MAX)]
        );
    }

    #[test]
    fn escaped_labels_and_broken_lines() {
        let text = "a{x=\"q\\\"u\\\\o\",y=\"\"} 3\nb 1e3\nbroken{x=\"1\" 2\n{}} 4\nc NaN\nd{} +Inf\n# HELP a x\n e notanumber\n";
        let s = parse_samples(text, &|_| true);
        assert_eq!(
            s[0].labels,
            vec![("x".into(), "q\"u\\o".into()), ("y".into(), String::new())]
        );
        assert_eq!(s[0].value, 3.0);
        assert_eq!(s[1].value, 1000.0);
        let names: Vec<_> = s.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, vec!["a", "b", "c", "d"]);
    }
}
