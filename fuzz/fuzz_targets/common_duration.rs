//! `common::config::parse_duration`: every duration field of every TOML config and two flags.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(d) = common::config::parse_duration(s) {
        // Whatever parses must print back as milliseconds and parse again (the serializer's form).
        let again = common::config::parse_duration(&format!("{}ms", d.as_millis()));
        assert!(
            again.is_ok(),
            "{s:?} parsed to {d:?}, which does not parse back"
        );
    }
});
