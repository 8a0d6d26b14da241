//! `os_file_handles`: allocated file handles and the system limit, `/proc/sys/fs/file-nr`.

use common::{CollectError, Collector, MetricSet, ScrapeContext, SysPaths};

use crate::parsers::file_nr;

/// Reads `/proc/sys/fs/file-nr`.
pub(crate) struct FileHandlesCollector {
    paths: SysPaths,
}

impl FileHandlesCollector {
    /// A collector reading under `paths`.
    pub(crate) fn new(paths: SysPaths) -> Self {
        Self { paths }
    }
}

impl Collector for FileHandlesCollector {
    fn name(&self) -> &'static str {
        "filehandles"
    }

    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let rel = "sys/fs/file-nr";
        let bytes = self.paths.read_proc(rel)?;
        let f = file_nr::parse(&bytes)
            .ok_or_else(|| CollectError::parse(self.paths.proc(rel), "expected three numbers"))?;
        let mut set = MetricSet::new();
        set.gauge(
            "os_file_handles",
            "File handles in use (allocated minus unused, /proc/sys/fs/file-nr).",
            f.allocated - f.unused,
        );
        set.gauge(
            "os_file_handles_max",
            "System-wide file handle limit (fs.file-max).",
            f.max,
        );
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{ctx, fixture};

    #[test]
    fn reports_in_use_and_max() {
        let set = FileHandlesCollector::new(fixture("swap"))
            .collect(&ctx())
            .unwrap();
        assert_eq!(set.value("os_file_handles", &[]), Some(600.0));
        assert_eq!(set.value("os_file_handles_max", &[]), Some(2_466_170.0));
    }
}
