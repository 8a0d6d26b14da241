//! Request headers that choose the answer's encoding: `Accept` (`Format::negotiate`) and
//! `Accept-Encoding` (`accepts_gzip`). The crash this target found (`gzip, ..., x-gzip;q=1.0`
//! after `gzip;q=0` was appended) was its own property's fault: it assumed a later refusal wins,
//! where the server deliberately takes a coding's highest weight.
#![no_main]

use common::encode::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let v = String::from_utf8_lossy(data);
    let _ = Format::negotiate(Some(&v)).content_type();
    let gzip = common::server::accepts_gzip(&v);
    // A coding listed twice takes its highest weight, so the order of the entries does not
    // matter, and entries about other codings change nothing.
    let reversed: Vec<&str> = v.split(',').rev().collect();
    assert_eq!(common::server::accepts_gzip(&reversed.join(",")), gzip);
    assert_eq!(
        common::server::accepts_gzip(&format!("{v},identity;q=0,br")),
        gzip
    );
});
