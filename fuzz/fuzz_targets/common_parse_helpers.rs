//! The shared procfs/sysfs text helpers of `common::parse`: key-value files (`meminfo`, `vmstat`),
//! header/value tables (`netstat`, `snmp`), octal escapes (`mountinfo`) and single numbers.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = common::parse::lines(data).count();
    let _ = common::parse::key_value_kb(data);
    let _ = common::parse::key_value_pairs(data);
    let _ = common::parse::header_value_tables(data);
    let _ = common::parse::first_number(data);
    let s = String::from_utf8_lossy(data);
    let u = common::parse::unescape_octal(&s);
    assert!(u.len() <= s.len() * 3);
});
