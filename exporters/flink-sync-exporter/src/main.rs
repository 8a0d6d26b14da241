//! The flink-sync-exporter binary: everything is in the `flink_sync_exporter` library.

fn main() -> std::process::ExitCode {
    common::cli::run::<flink_sync_exporter::FlinkSyncExporter>()
}
