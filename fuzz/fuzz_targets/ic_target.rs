//! `/probe?target=` values and configured addresses put into the health URL template:
//! `ic_server_probe::{from_probe_param, health_url}`. Input: template, separator, target.
#![no_main]

use libfuzzer_sys::fuzz_target;
use suite_fuzz::{parts, text};

fuzz_target!(|data: &[u8]| {
    let p = parts(data, 2);
    let (template, target) = (text(p[0]), text(p[1]));
    let _ = ic_server_probe::health_url(&template, &target);
    if let Ok(t) = ic_server_probe::from_probe_param(&template, &target) {
        assert!(!t.address.is_empty());
        assert!(!t.address.contains(char::is_control), "{t:?}");
    }
});
