//! One /dev/kmsg record: `os_exporter::parsers::kmsg::parse` (what the kernel_log job reads).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(r) = os_exporter::parsers::kmsg::parse(data) {
        // Level and facility come from one prefix number; the message is the first line only.
        assert!(r.level <= 7);
        assert!(!r.message.contains('\n'));
        let _ = r.level_name();
        // A kernel error is facility 0 at level 3 or below, nothing else.
        assert_eq!(r.is_kernel_error(), r.facility == 0 && r.level <= 3);
    }
});
