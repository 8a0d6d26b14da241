//! `/etc/shadow`: `os_exporter::parsers::shadow::parse` and the chage rules of `expiry`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for entry in os_exporter::parsers::shadow::parse(data) {
        // Names are whole fields: never empty, never holding the separator.
        assert!(!entry.user.is_empty() && !entry.user.contains(':'));
        let e = entry.expiry();
        if entry.last_change == Some(0) {
            assert_eq!((e.password, e.password_inactive), (Some(0), Some(0)));
        }
        // The grace period ends no earlier than the password.
        if let (Some(p), Some(i)) = (e.password, e.password_inactive) {
            assert!(i >= p);
        }
        assert!(e.account.is_none_or(|a| a >= 0));
    }
});
