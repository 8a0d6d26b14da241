//! Exposition encoders: the classic text format 0.0.4 (written here) and OpenMetrics
//! (through prometheus-client, which writes only OpenMetrics).

use std::fmt::Write as _;
use std::sync::Arc;

use prometheus_client::collector::Collector as PcCollector;
use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType as PcType;
use prometheus_client::registry::Registry;

use crate::metrics::{MetricFamily, MetricType, Value};

/// Content-Type of the classic text format.
pub const CLASSIC_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Content-Type of OpenMetrics 1.0.0.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The exposition format chosen for one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Classic,
    /// OpenMetrics text 1.0.0.
    OpenMetrics,
}

impl Format {
    /// Picks the format from an `Accept` header: the supported offer with the highest weight,
    /// the earlier one on a tie; OpenMetrics only when asked for explicitly, in a version we
    /// write (1.0.0, or 0.0.1, its name before 1.0). Anything else gets the classic format,
    /// which every Prometheus reads, as promhttp does.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Classic;
        };
        let mut best: Option<(f64, Format)> = None;
        for part in accept.split(',') {
            let mut params = part.split(';').map(str::trim);
            let media = params.next().unwrap_or_default();
            let format = if media.eq_ignore_ascii_case("application/openmetrics-text") {
                Format::OpenMetrics
            } else if media.eq_ignore_ascii_case("text/plain") || media == "*/*" {
                Format::Classic
            } else {
                continue;
            };
            let mut q = 1.0;
            let mut version_ok = true;
            for p in params {
                let Some((k, v)) = p.split_once('=') else {
                    continue;
                };
                let v = v.trim().trim_matches('"');
                if k.trim().eq_ignore_ascii_case("q") {
                    q = v
                        .parse::<f64>()
                        .ok()
                        .filter(|q| (0.0..=1.0).contains(q))
                        .unwrap_or(0.0);
                } else if k.trim().eq_ignore_ascii_case("version") && format == Format::OpenMetrics
                {
                    version_ok = matches!(v, "1.0.0" | "0.0.1");
                }
            }
            if q > 0.0 && version_ok && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, format));
            }
        }
        best.map_or(Format::Classic, |(_, f)| f)
    }

    /// The response Content-Type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Classic => CLASSIC_CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }
}

/// Encodes the families in the chosen format.
pub fn encode(families: Vec<MetricFamily>, format: Format) -> String {
    match format {
        Format::Classic => encode_classic(&families),
        Format::OpenMetrics => encode_openmetrics(families),
    }
}

/// Writes a float the way Prometheus' Go client does: `NaN`, `+Inf`, `-Inf`, shortest form.
pub fn format_float(v: f64, out: &mut String) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{v}");
    }
}

fn escape_label_value(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn write_labels(labels: &[(String, String)], extra: Option<(&str, &str)>, out: &mut String) {
    if labels.is_empty() && extra.is_none() {
        return;
    }
    out.push('{');
    let mut first = true;
    let pairs = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(extra);
    for (k, v) in pairs {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(k);
        out.push_str("=\"");
        escape_label_value(v, out);
        out.push('"');
    }
    out.push('}');
}

fn write_sample(
    name: &str,
    suffix: &str,
    labels: &[(String, String)],
    extra: Option<(&str, &str)>,
    v: f64,
    out: &mut String,
) {
    out.push_str(name);
    out.push_str(suffix);
    write_labels(labels, extra, out);
    out.push(' ');
    format_float(v, out);
    out.push('\n');
}

/// Encodes in the classic text format 0.0.4. Families with no samples are skipped.
pub fn encode_classic(families: &[MetricFamily]) -> String {
    let mut out = String::with_capacity(families.len() * 256);
    for fam in families.iter().filter(|f| !f.samples.is_empty()) {
        let kind = match fam.kind {
            MetricType::Gauge | MetricType::Info => "gauge",
            MetricType::Counter => "counter",
            MetricType::Histogram => "histogram",
        };
        out.push_str("# HELP ");
        out.push_str(&fam.name);
        out.push(' ');
        escape_help(&fam.help, &mut out);
        out.push_str("\n# TYPE ");
        out.push_str(&fam.name);
        out.push(' ');
        out.push_str(kind);
        out.push('\n');
        for s in &fam.samples {
            match &s.value {
                Value::Number(v) => write_sample(&fam.name, "", &s.labels, None, *v, &mut out),
                Value::Histogram {
                    buckets,
                    sum,
                    count,
                } => {
                    let mut le = String::new();
                    for (bound, cum) in buckets {
                        le.clear();
                        format_float(*bound, &mut le);
                        #[allow(clippy::cast_precision_loss)]
                        write_sample(
                            &fam.name,
                            "_bucket",
                            &s.labels,
                            Some(("le", &le)),
                            *cum as f64,
                            &mut out,
                        );
                    }
                    #[allow(clippy::cast_precision_loss)]
                    let total = *count as f64;
                    write_sample(
                        &fam.name,
                        "_bucket",
                        &s.labels,
                        Some(("le", "+Inf")),
                        total,
                        &mut out,
                    );
                    write_sample(&fam.name, "_sum", &s.labels, None, *sum, &mut out);
                    write_sample(&fam.name, "_count", &s.labels, None, total, &mut out);
                }
            }
        }
    }
    out
}

/// The scrape's families, handed to prometheus-client's OpenMetrics encoder.
#[derive(Debug)]
struct ScrapeFamilies(Vec<MetricFamily>);

impl PcCollector for ScrapeFamilies {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for fam in self.0.iter().filter(|f| !f.samples.is_empty()) {
            // OpenMetrics names the family without the sample suffix the type implies.
            let (name, kind) = match fam.kind {
                MetricType::Gauge => (fam.name.as_str(), PcType::Gauge),
                MetricType::Counter => (
                    fam.name.strip_suffix("_total").unwrap_or(&fam.name),
                    PcType::Counter,
                ),
                MetricType::Histogram => (fam.name.as_str(), PcType::Histogram),
                MetricType::Info => (
                    fam.name.strip_suffix("_info").unwrap_or(&fam.name),
                    PcType::Info,
                ),
            };
            let mut fam_enc = encoder.encode_descriptor(name, &fam.help, None, kind)?;
            for s in &fam.samples {
                if fam.kind == MetricType::Info {
                    // Info labels go in directly: as family labels they would get a stray comma.
                    fam_enc.encode_info(&s.labels)?;
                    continue;
                }
                if s.labels.is_empty() {
                    encode_value(&mut fam_enc, fam.kind, &s.value)?;
                } else {
                    let mut enc = fam_enc.encode_family(&s.labels)?;
                    encode_value(&mut enc, fam.kind, &s.value)?;
                }
            }
        }
        Ok(())
    }
}

fn encode_value(
    enc: &mut MetricEncoder<'_>,
    kind: MetricType,
    value: &Value,
) -> Result<(), std::fmt::Error> {
    match (value, kind) {
        (Value::Number(v), MetricType::Counter) => {
            enc.encode_counter::<NoLabelSet, f64, f64>(v, None)
        }
        (Value::Number(v), _) => enc.encode_gauge(v),
        (
            Value::Histogram {
                buckets,
                sum,
                count,
            },
            _,
        ) => {
            // prometheus-client takes per-bucket counts and accumulates them itself. A
            // cumulative count that falls (a broken source) must not count twice when it rises
            // again: the running sum would pass the highest count and overflow (found by the
            // etcd_metrics fuzz target).
            let mut per_bucket = Vec::with_capacity(buckets.len() + 1);
            let mut prev = 0u64;
            for (bound, cum) in buckets {
                per_bucket.push((*bound, cum.saturating_sub(prev)));
                prev = prev.max(*cum);
            }
            per_bucket.push((f64::INFINITY, count.saturating_sub(prev)));
            enc.encode_histogram::<NoLabelSet>(*sum, *count, &per_bucket, None)
        }
    }
}

/// Encodes in OpenMetrics 1.0.0 text, ending in `# EOF`.
pub fn encode_openmetrics(families: Vec<MetricFamily>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Arc::new(ScrapeFamilies(families))));
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
        // Writing into a String cannot fail; an error here means a malformed family, which we
        // still answer with a valid (empty) exposition rather than a half-written one.
        out.clear();
        out.push_str("# EOF\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::MetricSet;

    fn sample_set() -> Vec<MetricFamily> {
        let mut set = MetricSet::new();
        set.gauge_with("os_load", "Load average.", &[("interval", "1m")], 0.5);
        set.counter("os_x_total", "Things, count.", 3.0);
        set.info(
            "os_exporter_build_info",
            "Build information.",
            &[("version", "1.0")],
        );
        set.family(
            "h_seconds",
            "A histogram in seconds.",
            MetricType::Histogram,
        )
        .push_histogram(
            vec![("endpoint".into(), "a\"b".into())],
            vec![(0.1, 1), (1.0, 3)],
            1.5,
            4,
        );
        set.into_families()
    }

    #[test]
    fn classic_encoding_matches_text_format() {
        let text = encode_classic(&sample_set());
        let expected = "# HELP os_load Load average.\n# TYPE os_load gauge\nos_load{interval=\"1m\"} 0.5\n\
# HELP os_x_total Things, count.\n# TYPE os_x_total counter\nos_x_total 3\n\
# HELP os_exporter_build_info Build information.\n# TYPE os_exporter_build_info gauge\nos_exporter_build_info{version=\"1.0\"} 1\n\
# HELP h_seconds A histogram in seconds.\n# TYPE h_seconds histogram\n\
h_seconds_bucket{endpoint=\"a\\\"b\",le=\"0.1\"} 1\nh_seconds_bucket{endpoint=\"a\\\"b\",le=\"1\"} 3\n\
h_seconds_bucket{endpoint=\"a\\\"b\",le=\"+Inf\"} 4\nh_seconds_sum{endpoint=\"a\\\"b\"} 1.5\nh_seconds_count{endpoint=\"a\\\"b\"} 4\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn openmetrics_encoding_names_families_without_suffix_and_ends_in_eof() {
        let text = encode_openmetrics(sample_set());
        assert!(
            text.contains("# TYPE os_x counter\nos_x_total 3.0\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "# TYPE os_exporter_build info\nos_exporter_build_info{version=\"1.0\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("h_seconds_bucket{le=\"+Inf\",endpoint=\"a\\\"b\"} 4\n"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn negotiation_prefers_openmetrics_only_when_asked() {
        assert_eq!(Format::negotiate(None), Format::Classic);
        assert_eq!(Format::negotiate(Some("text/plain")), Format::Classic);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text; version=1.0.0")),
            Format::OpenMetrics
        );
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
            )),
            Format::OpenMetrics
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0")),
            Format::Classic
        );
    }

    #[test]
    fn a_histogram_whose_cumulative_counts_fall_is_encoded_without_overflow() {
        use crate::metrics::MetricSet;
        for buckets in [
            vec![(1.0, u64::MAX), (2.0, 0), (3.0, u64::MAX)],
            vec![(1.0, 10), (2.0, 5), (3.0, 10)],
        ] {
            let mut set = MetricSet::new();
            set.family("h", "H.", MetricType::Histogram).push_histogram(
                vec![],
                buckets.clone(),
                0.0,
                buckets[2].1,
            );
            let text = encode_openmetrics(set.into_families());
            // Never more in a bucket than the highest cumulative count.
            let top = buckets[2].1;
            for line in text.lines().filter(|l| l.starts_with("h_bucket")) {
                let v: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
                assert!(v <= top, "{line} in\n{text}");
            }
        }
    }

    #[test]
    fn an_unknown_openmetrics_version_falls_back_to_the_text_format() {
        for accept in [
            "application/openmetrics-text; version=2.0.0",
            "application/openmetrics-text;version=9.9.9;q=1,text/plain;q=0.5",
            "application/openmetrics-text; version=\"1.0.0x\"",
        ] {
            assert_eq!(Format::negotiate(Some(accept)), Format::Classic, "{accept}");
        }
        // A known version listed after an unknown one is still honoured.
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=2.0.0,application/openmetrics-text;version=0.0.1;q=0.5"
            )),
            Format::OpenMetrics
        );
        // Quoted versions and parameter names in any case are the same version.
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text; VERSION=\"1.0.0\"")),
            Format::OpenMetrics
        );
    }

    #[test]
    fn the_higher_weight_wins_between_text_and_openmetrics() {
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=1.0.0;q=0.2,text/plain;version=0.0.4;q=0.9"
            )),
            Format::Classic
        );
        assert_eq!(
            Format::negotiate(Some("text/plain;q=0.3,application/openmetrics-text;q=0.4")),
            Format::OpenMetrics
        );
    }

    #[test]
    fn floats_are_written_like_prometheus() {
        let mut s = String::new();
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1.0, -1.0, 0.25] {
            format_float(v, &mut s);
            s.push(' ');
        }
        assert_eq!(s, "NaN +Inf -Inf 1 -1 0.25 ");
    }
}
