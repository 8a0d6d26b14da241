//! The lvs-exporter binary: everything is in the `lvs_exporter` library.

fn main() -> std::process::ExitCode {
    common::cli::run::<lvs_exporter::LvsExporter>()
}
