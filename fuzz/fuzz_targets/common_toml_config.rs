//! Every exporter's TOML configuration: parsed, validated, and its `[collectors]` table resolved
//! against the exporter's collector list, as `--config.file` and `--config.check` do.
#![no_main]

use std::path::Path;

use common::{Exporter, ExporterConfig};
use libfuzzer_sys::fuzz_target;

fn check<E: Exporter>(text: &str) {
    let Ok(config) = common::config::parse_toml::<E::Config>(Path::new("fuzz.toml"), text) else {
        return;
    };
    if config.validate().is_ok()
        && let Err(e) = common::registry::select(E::COLLECTORS, config.collectors())
    {
        // The span points into the text, so the error can name a line.
        let _ = common::config::line_column(text, e.span.start);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check::<os_exporter::OsExporter>(text);
    check::<keepalived_exporter::KeepalivedExporter>(text);
    check::<etcd_probe::EtcdProbe>(text);
    check::<ic_server_probe::IcServerProbe>(text);
});
