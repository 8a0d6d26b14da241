//! chrony.conf / ntp.conf: `os_exporter::parsers::ntp_conf::parse`, the default NTP servers.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let conf = os_exporter::parsers::ntp_conf::parse(&text);
    for s in &conf.sources {
        // A host is one word without brackets, never a refclock or an option.
        assert!(!s.host.is_empty());
        assert!(!s.host.contains(char::is_whitespace));
        assert!(!s.host.starts_with("127.127.") && !s.host.starts_with('-'));
    }
    // Every source comes from its own line.
    assert!(conf.sources.len() <= text.lines().count());
});
