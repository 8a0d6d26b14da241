//! Request headers that choose the answer's encoding: `Accept` (`Format::negotiate`) and
//! `Accept-Encoding` (`accepts_gzip`).
#![no_main]

use common::encode::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let v = String::from_utf8_lossy(data);
    let _ = Format::negotiate(Some(&v)).content_type();
    let gzip = common::server::accepts_gzip(&v);
    // Refusing gzip explicitly always wins over what came before.
    if gzip {
        assert!(!common::server::accepts_gzip(&format!(
            "{v},gzip;q=0,x-gzip;q=0,*;q=0"
        )));
    }
});
