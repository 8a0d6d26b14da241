//! The owned metric model that collectors produce and the encoders write.
//!
//! Collectors run under a deadline on other threads, so they return owned data instead of
//! writing into a shared registry; the scrape then encodes whatever finished in time.

/// The type of a metric family, as written in `# TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// A value that can go up and down.
    Gauge,
    /// A monotonically increasing count; the family name ends in `_total`.
    Counter,
    /// A cumulative histogram with `le` buckets.
    Histogram,
    /// Constant labels with the value 1; the family name ends in `_info`.
    Info,
}

/// A metric family's declaration, written once as a constant next to the collector that fills
/// it, so name, help, type and unit have one source (and the registry can list what each
/// collector emits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Desc {
    /// Full family name (counters include `_total`).
    pub name: &'static str,
    /// HELP text; states the unit.
    pub help: &'static str,
    /// Family type.
    pub kind: MetricType,
    /// Unit as in `docs/metrics.md`: `seconds`, `bytes`, `ratio`, `percent`, `1`...
    pub unit: &'static str,
}

impl Desc {
    /// A gauge declaration.
    pub const fn gauge(name: &'static str, unit: &'static str, help: &'static str) -> Self {
        Self {
            name,
            help,
            kind: MetricType::Gauge,
            unit,
        }
    }

    /// A counter declaration; `name` ends in `_total`.
    pub const fn counter(name: &'static str, unit: &'static str, help: &'static str) -> Self {
        Self {
            name,
            help,
            kind: MetricType::Counter,
            unit,
        }
    }

    /// An `_info` declaration (constant 1, the information is in the labels).
    pub const fn info(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            help,
            kind: MetricType::Info,
            unit: "1",
        }
    }

    /// A histogram declaration.
    pub const fn histogram(name: &'static str, unit: &'static str, help: &'static str) -> Self {
        Self {
            name,
            help,
            kind: MetricType::Histogram,
            unit,
        }
    }
}

/// One sample's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A gauge or counter value.
    Number(f64),
    /// Cumulative buckets `(upper bound, count)`, sum and count. `+Inf` is implied by `count`.
    Histogram {
        /// Cumulative bucket counts by upper bound, ascending, without `+Inf`.
        buckets: Vec<(f64, u64)>,
        /// Sum of all observations.
        sum: f64,
        /// Number of observations.
        count: u64,
    },
}

/// One labelled sample of a family.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Label pairs in output order.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: Value,
}

/// A metric family: name, help, type and its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    /// Full name as it appears in the classic format (counters include `_total`).
    pub name: String,
    /// HELP text; states the unit.
    pub help: String,
    /// Family type.
    pub kind: MetricType,
    /// The samples.
    pub samples: Vec<Sample>,
}

impl MetricFamily {
    /// A new empty family.
    pub fn new(name: impl Into<String>, help: impl Into<String>, kind: MetricType) -> Self {
        Self {
            name: name.into(),
            help: help.into(),
            kind,
            samples: Vec::new(),
        }
    }

    /// Adds a numeric sample with the given labels.
    pub fn push(&mut self, labels: &[(&str, &str)], value: f64) -> &mut Self {
        self.samples.push(Sample {
            labels: owned_labels(labels),
            value: Value::Number(value),
        });
        self
    }

    /// Adds a numeric sample with owned labels.
    pub fn push_owned(&mut self, labels: Vec<(String, String)>, value: f64) -> &mut Self {
        self.samples.push(Sample {
            labels,
            value: Value::Number(value),
        });
        self
    }

    /// Adds a histogram sample.
    pub fn push_histogram(
        &mut self,
        labels: Vec<(String, String)>,
        buckets: Vec<(f64, u64)>,
        sum: f64,
        count: u64,
    ) -> &mut Self {
        self.samples.push(Sample {
            labels,
            value: Value::Histogram {
                buckets,
                sum,
                count,
            },
        });
        self
    }
}

fn owned_labels(labels: &[(&str, &str)]) -> Vec<(String, String)> {
    labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The families one collector produced in one run.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MetricSet {
    families: Vec<MetricFamily>,
}

impl MetricSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts (or continues) a family and returns it for adding samples.
    ///
    /// Families are looked up by name so that a collector can add to one family from several
    /// places; the first call fixes help and type.
    pub fn family(&mut self, name: &str, help: &str, kind: MetricType) -> &mut MetricFamily {
        if let Some(i) = self.families.iter().position(|f| f.name == name) {
            return &mut self.families[i];
        }
        self.families.push(MetricFamily::new(name, help, kind));
        let last = self.families.len() - 1;
        &mut self.families[last]
    }

    /// Starts (or continues) the family declared by `desc`.
    pub fn of(&mut self, desc: &Desc) -> &mut MetricFamily {
        self.family(desc.name, desc.help, desc.kind)
    }

    /// Adds one sample to the family declared by `desc`.
    pub fn add(&mut self, desc: &Desc, labels: &[(&str, &str)], value: f64) {
        self.of(desc).push(labels, value);
    }

    /// Adds one unlabelled gauge.
    pub fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.family(name, help, MetricType::Gauge).push(&[], value);
    }

    /// Adds one unlabelled counter; `name` must end in `_total`.
    pub fn counter(&mut self, name: &str, help: &str, value: f64) {
        self.family(name, help, MetricType::Counter)
            .push(&[], value);
    }

    /// Adds one labelled gauge sample.
    pub fn gauge_with(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.family(name, help, MetricType::Gauge)
            .push(labels, value);
    }

    /// Adds one labelled counter sample; `name` must end in `_total`.
    pub fn counter_with(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.family(name, help, MetricType::Counter)
            .push(labels, value);
    }

    /// Adds an `_info` family sample with value 1.
    pub fn info(&mut self, name: &str, help: &str, labels: &[(&str, &str)]) {
        self.family(name, help, MetricType::Info).push(labels, 1.0);
    }

    /// Moves every family of `other` into this set (a family new to this set is moved whole,
    /// not copied).
    pub fn extend(&mut self, other: MetricSet) {
        for fam in other.families {
            match self.families.iter_mut().find(|f| f.name == fam.name) {
                Some(target) => target.samples.extend(fam.samples),
                None => self.families.push(fam),
            }
        }
    }

    /// The families in insertion order.
    pub fn families(&self) -> &[MetricFamily] {
        &self.families
    }

    /// Consumes the set.
    pub fn into_families(self) -> Vec<MetricFamily> {
        self.families
    }

    /// The value of the first sample of `name` whose labels include all of `labels`.
    ///
    /// Meant for tests, which pin exact values.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let fam = self.families.iter().find(|f| f.name == name)?;
        fam.samples.iter().find_map(|s| {
            let all = labels
                .iter()
                .all(|(k, v)| s.labels.iter().any(|(sk, sv)| sk == k && sv == v));
            match (&s.value, all) {
                (Value::Number(n), true) => Some(*n),
                _ => None,
            }
        })
    }

    /// Whether a family with this name exists.
    pub fn has(&self, name: &str) -> bool {
        self.families.iter().any(|f| f.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_lookup_merges_samples_by_name() {
        let mut set = MetricSet::new();
        set.gauge_with("x", "help", &[("a", "1")], 1.0);
        set.gauge_with("x", "other help ignored", &[("a", "2")], 2.0);
        assert_eq!(set.families().len(), 1);
        assert_eq!(set.value("x", &[("a", "2")]), Some(2.0));
        assert_eq!(set.value("x", &[("a", "3")]), None);
    }

    #[test]
    fn extend_merges_families() {
        let mut a = MetricSet::new();
        a.gauge("g", "h", 1.0);
        let mut b = MetricSet::new();
        b.gauge("g", "h", 2.0);
        b.counter("c_total", "h", 3.0);
        a.extend(b);
        assert_eq!(a.families().len(), 2);
        assert_eq!(a.families()[0].samples.len(), 2);
    }
}
