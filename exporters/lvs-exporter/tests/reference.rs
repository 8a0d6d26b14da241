//! lvs-exporter's registry against `docs/metrics.md`: every family each collector declares has a
//! row naming that collector and its file, and no row claims a collector that does not declare
//! it. (Its scrapes are checked against the reference by `tests/tests/lvs_vm.rs`.)
#![allow(clippy::panic)]

use common::golden;
use lvs_exporter::LvsExporter;

#[test]
fn the_metric_reference_names_each_familys_collector_and_file() {
    if let Err(e) = suite_tests::metric_reference::check_collector_column(
        "lvs-exporter",
        &golden::declared::<LvsExporter>(),
    ) {
        panic!("{e}");
    }
}
