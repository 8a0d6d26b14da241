//! The request headers the server parses besides `Accept`: `Authorization`
//! (`server::basic_credentials`) and `X-Prometheus-Scrape-Timeout-Seconds`
//! (`server::scrape_budget`). The input is cut at the first 0x1e into the two values.
#![no_main]

use std::time::Duration;

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parts = suite_fuzz::parts(data, 2);
    let auth = suite_fuzz::text(parts[0]);
    let timeout = suite_fuzz::text(parts[1]);

    if let Some((user, pass)) = common::server::basic_credentials(&auth) {
        assert!(!user.contains(':'), "the user ends at the first colon");
        // What was decoded, encoded again, decodes to the same pair.
        let again = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        assert_eq!(
            common::server::basic_credentials(&format!("bAsIc {again}")),
            Some((user, pass))
        );
    }

    let default = Duration::from_secs(10);
    let offset = Duration::from_millis(250);
    let budget = common::server::scrape_budget(Some(&timeout), default, offset);
    // Never under 100 ms, never more than the one-hour clamp.
    assert!(budget >= Duration::from_millis(100));
    assert!(budget <= Duration::from_secs(3600));
    assert_eq!(
        common::server::scrape_budget(None, default, offset),
        default - offset
    );
});
