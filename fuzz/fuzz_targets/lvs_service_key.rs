//! The `service` syntax of the configuration (`tcp/VIP:PORT`, `fwmark/N`...): whatever parses
//! prints back to a string that parses to the same key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvs_exporter::table::ServiceKey;

fuzz_target!(|data: &[u8]| {
    if let Ok(k) = String::from_utf8_lossy(data).parse::<ServiceKey>() {
        assert_eq!(k.to_string().parse::<ServiceKey>().ok(), Some(k));
    }
});
