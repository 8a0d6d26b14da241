//! `/sys/class/net/<if>/{flags,operstate,carrier}`: `os_exporter::parsers::netclass::parse`.
//! Input: the three files cut at the separator byte; a missing part is a missing file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut p = data.splitn(3, |b| *b == suite_fuzz::SEPARATOR);
    let (flags, oper, carrier) = (p.next(), p.next(), p.next());
    let _ = format!(
        "{:?}",
        os_exporter::parsers::netclass::parse(flags, oper, carrier)
    );
});
