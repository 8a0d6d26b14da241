//! The keepalived-exporter binary: everything is in the `keepalived_exporter` library.

fn main() -> std::process::ExitCode {
    common::cli::run::<keepalived_exporter::KeepalivedExporter>()
}
