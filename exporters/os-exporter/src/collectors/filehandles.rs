//! `os_file_handles`: allocated file handles and the system limit, `/proc/sys/fs/file-nr`.

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::OsExporter;
use crate::parsers::file_nr;

const HANDLES: Desc = Desc::gauge(
    "os_file_handles",
    "1",
    "File handles in use (allocated minus unused, /proc/sys/fs/file-nr).",
);
const HANDLES_MAX: Desc = Desc::gauge(
    "os_file_handles_max",
    "1",
    "System-wide file handle limit (fs.file-max).",
);

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
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let rel = "sys/fs/file-nr";
        let bytes = self.paths.read_proc(rel)?;
        let f = file_nr::parse(&bytes)
            .ok_or_else(|| CollectError::parse(self.paths.proc(rel), "expected three numbers"))?;
        let mut set = MetricSet::new();
        set.add(&HANDLES, &[], f.allocated - f.unused);
        set.add(&HANDLES_MAX, &[], f.max);
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="filehandles"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "filehandles",
    enabled_by_default: true,
    file: file!(),
    metrics: &[HANDLES, HANDLES_MAX],
    build: Build::Inline(|e| Ok(Some(Box::new(FileHandlesCollector::new(e.paths.clone()))))),
};

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
