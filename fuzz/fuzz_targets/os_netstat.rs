//! `/proc/net/netstat` and `/proc/net/snmp` (header/value line pairs):
//! `os_exporter::parsers::netstat::parse`. Input: the two files cut at the separator byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use suite_fuzz::parts;

fuzz_target!(|data: &[u8]| {
    let p = parts(data, 2);
    let _ = format!("{:?}", os_exporter::parsers::netstat::parse(p[0], p[1]));
});
