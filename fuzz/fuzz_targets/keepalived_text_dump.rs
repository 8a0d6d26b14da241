//! keepalived's text dumps (`/tmp/keepalived.data` on SIGUSR1, `/tmp/keepalived.stats` on
//! SIGUSR2): `text_dump::{parse_data, parse_stats}`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = keepalived_exporter::text_dump::parse_data(&text);
    let _ = keepalived_exporter::text_dump::parse_stats(&text);
});
