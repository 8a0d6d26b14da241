//! The collector registry: each exporter lists its collectors once, in one table of
//! definitions (name, default on/off, kind, constructor, the families it emits and the file it
//! lives in), and the skeleton builds the enabled ones from it. Adding a collector is one module
//! that declares its `CollectorDef` plus one line in that table.
//!
//! Every exporter takes the same `[collectors]` config: `enabled` turns on default-off
//! collectors, `disabled` turns off default-on ones; an unknown name is a config error naming
//! the file and line.

use serde::Deserialize;

use crate::collector::{AsyncCollector, Collector, CollectorSet};
use crate::job::Job;
use crate::metrics::Desc;

/// Why an exporter could not be assembled from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A setting is not acceptable; the message names the field.
    #[error("{0}")]
    Config(String),
    /// Something needed at start could not be prepared.
    #[error("{what}: {source}")]
    Io {
        /// What was being prepared (names the file or resource).
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl From<String> for SetupError {
    fn from(message: String) -> Self {
        SetupError::Config(message)
    }
}

/// The result of a collector constructor: `None` when the configuration leaves the collector
/// nothing to do (no targets, no log file configured), so it is not run at all.
pub type Built<T> = Result<Option<T>, SetupError>;

/// A collector with a background job: the job does the slow work on its own interval and
/// publishes a result; `serve` reads that result at scrape time and must not block.
pub struct Background {
    /// The periodic work.
    pub job: Job,
    /// Serves the latest result; run inline at each scrape.
    pub serve: Box<dyn Collector>,
}

/// How a collector runs, with its constructor from the exporter's shared state `E`.
pub enum Build<E> {
    /// Synchronous and never hangs (in-memory kernel files): runs on the runtime's worker.
    Inline(fn(&E) -> Built<Box<dyn Collector>>),
    /// Synchronous and may hang (statfs, signals, dumps): a blocking thread with a stuck guard.
    Blocking(fn(&E) -> Built<Box<dyn Collector>>),
    /// Waits on the network: a task cancelled at the scrape deadline.
    Async(fn(&E) -> Built<Box<dyn AsyncCollector>>),
    /// A background job plus an inline collector serving its latest result.
    Background(fn(&E) -> Built<Background>),
}

impl<E> Build<E> {
    /// The kind's name, as in `docs/architecture.md`.
    pub fn kind(&self) -> &'static str {
        match self {
            Build::Inline(_) => "inline",
            Build::Blocking(_) => "blocking",
            Build::Async(_) => "async",
            Build::Background(_) => "background",
        }
    }
}

/// One entry of an exporter's collector table.
pub struct CollectorDef<E: 'static> {
    /// The `collector` label value and the name used in `[collectors]`.
    pub name: &'static str,
    /// Whether it runs when the config does not mention it.
    pub enabled_by_default: bool,
    /// The source file of the collector (`file!()`), for the metric reference.
    pub file: &'static str,
    /// The families it may emit.
    pub metrics: &'static [Desc],
    /// How it runs and how it is built.
    pub build: Build<E>,
}

impl<E> std::fmt::Debug for CollectorDef<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CollectorDef")
            .field("name", &self.name)
            .field("enabled_by_default", &self.enabled_by_default)
            .field("kind", &self.build.kind())
            .field("file", &self.file)
            .finish()
    }
}

/// `[collectors]`, the same in every exporter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorsConfig {
    /// Default-off collectors to run.
    pub enabled: Vec<toml::Spanned<String>>,
    /// Default-on collectors to leave out.
    pub disabled: Vec<toml::Spanned<String>>,
}

/// A `[collectors]` entry that names no collector, or names one twice.
#[derive(Debug, Clone, thiserror::Error)]
#[error("field `collectors.{list}`: {message}")]
pub struct SelectError {
    /// `enabled` or `disabled`.
    pub list: &'static str,
    /// Byte range of the offending value in the config text.
    pub span: std::ops::Range<usize>,
    /// What is wrong, with the known names.
    pub message: String,
}

/// The definitions to build, in table order: defaults, plus `enabled`, minus `disabled`.
pub fn select<'d, E>(
    defs: &'d [CollectorDef<E>],
    cfg: &CollectorsConfig,
) -> Result<Vec<&'d CollectorDef<E>>, SelectError> {
    let known = || {
        defs.iter()
            .map(|d| {
                if d.enabled_by_default {
                    d.name.to_owned()
                } else {
                    format!("{} (off by default)", d.name)
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (list, names) in [("enabled", &cfg.enabled), ("disabled", &cfg.disabled)] {
        for n in names {
            if !defs.iter().any(|d| d.name == n.get_ref()) {
                return Err(SelectError {
                    list,
                    span: n.span(),
                    message: format!("unknown collector {:?}; known: {}", n.get_ref(), known()),
                });
            }
        }
    }
    if let Some(both) = cfg
        .disabled
        .iter()
        .find(|d| cfg.enabled.iter().any(|e| e.get_ref() == d.get_ref()))
    {
        return Err(SelectError {
            list: "disabled",
            span: both.span(),
            message: format!(
                "collector {:?} is both enabled and disabled",
                both.get_ref()
            ),
        });
    }
    let named =
        |list: &[toml::Spanned<String>], name: &str| list.iter().any(|n| n.get_ref() == name);
    Ok(defs
        .iter()
        .filter(|d| {
            (d.enabled_by_default || named(&cfg.enabled, d.name)) && !named(&cfg.disabled, d.name)
        })
        .collect())
}

/// Builds `defs` from `env` into `set`; a collector whose constructor returns `None` is skipped
/// (logged), an error names the collector.
pub fn build_into<E>(
    defs: &[&CollectorDef<E>],
    env: &E,
    set: &mut CollectorSet,
) -> Result<(), SetupError> {
    let named = |def: &CollectorDef<E>, e: SetupError| match e {
        SetupError::Config(m) => SetupError::Config(format!("collector {}: {m}", def.name)),
        SetupError::Io { what, source } => SetupError::Io {
            what: format!("collector {}: {what}", def.name),
            source,
        },
    };
    for def in defs {
        let added = match &def.build {
            Build::Inline(f) => f(env)
                .map_err(|e| named(def, e))?
                .map(|c| set.push_boxed_sync(def.name, c, true))
                .is_some(),
            Build::Blocking(f) => f(env)
                .map_err(|e| named(def, e))?
                .map(|c| set.push_boxed_sync(def.name, c, false))
                .is_some(),
            Build::Async(f) => f(env)
                .map_err(|e| named(def, e))?
                .map(|c| set.push_boxed_async(def.name, c))
                .is_some(),
            Build::Background(f) => f(env)
                .map_err(|e| named(def, e))?
                .map(|b| {
                    set.push_boxed_sync(def.name, b.serve, true);
                    set.add_job(b.job)
                })
                .is_some(),
        };
        if !added {
            log::info!(
                "collector={} has nothing to do with this configuration; not run",
                def.name
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::{CollectError, ScrapeContext};
    use crate::metrics::MetricSet;

    struct Nothing;
    impl Collector for Nothing {
        fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
            Ok(MetricSet::new())
        }
    }

    const DEFS: &[CollectorDef<()>] = &[
        CollectorDef {
            name: "a",
            enabled_by_default: true,
            file: file!(),
            metrics: &[],
            build: Build::Inline(|_| Ok(Some(Box::new(Nothing)))),
        },
        CollectorDef {
            name: "b",
            enabled_by_default: false,
            file: file!(),
            metrics: &[],
            build: Build::Blocking(|_| Ok(Some(Box::new(Nothing)))),
        },
        CollectorDef {
            name: "c",
            enabled_by_default: true,
            file: file!(),
            metrics: &[],
            build: Build::Blocking(|_| Ok(None)),
        },
    ];

    fn cfg(text: &str) -> CollectorsConfig {
        #[derive(Deserialize)]
        struct Wrap {
            collectors: CollectorsConfig,
        }
        toml::from_str::<Wrap>(text)
            .map(|w| w.collectors)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn names(s: &[&CollectorDef<()>]) -> Vec<&'static str> {
        s.iter().map(|d| d.name).collect()
    }

    #[test]
    fn defaults_then_enabled_then_disabled() {
        let all = select(DEFS, &CollectorsConfig::default()).unwrap_or_default();
        assert_eq!(names(&all), ["a", "c"]);
        let s = select(
            DEFS,
            &cfg("[collectors]\nenabled = [\"b\"]\ndisabled = [\"a\"]\n"),
        )
        .unwrap_or_default();
        assert_eq!(names(&s), ["b", "c"]);
    }

    #[test]
    fn an_unknown_name_is_an_error_with_its_position_and_the_known_names() {
        let text = "[collectors]\ndisabled = [\"a\", \"nope\"]\n";
        let err = select(DEFS, &cfg(text))
            .err()
            .map(|e| (e.span.clone(), e.to_string()));
        let (span, msg) = err.unwrap_or_default();
        assert_eq!(&text[span], "\"nope\"");
        assert!(msg.contains("collectors.disabled"), "{msg}");
        assert!(msg.contains("b (off by default)"), "{msg}");
    }

    #[test]
    fn a_name_both_enabled_and_disabled_is_an_error() {
        let r = select(
            DEFS,
            &cfg("[collectors]\nenabled = [\"b\"]\ndisabled = [\"b\"]\n"),
        );
        assert!(r.is_err());
    }

    #[test]
    fn a_collector_with_nothing_to_do_is_not_added() {
        let mut set = CollectorSet::new("t");
        let defs: Vec<_> = DEFS.iter().collect();
        assert!(build_into(&defs, &(), &mut set).is_ok());
        assert_eq!(set.names(), ["a", "b"]);
    }
}
