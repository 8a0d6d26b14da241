//! A log with its logrotate rotations, one of them gzipped (a damaged or hostile `.gz` must cost
//! at most the size cap): `log_tail::LogFamily::scan`. Input: `app.log.1.gz`, `app.log.1`
//! and `app.log`, cut at the separator byte.
#![no_main]

use std::path::PathBuf;
use std::sync::LazyLock;

use common::log_tail::LogFamily;
use libfuzzer_sys::fuzz_target;
use suite_fuzz::parts;

const CAP: u64 = 256 * 1024;

static DIR: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("suite-fuzz-log-family-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating the temporary directory");
    dir
});

fuzz_target!(|data: &[u8]| {
    let p = parts(data, 3);
    // The gzipped rotation is the older one (`.2`), as logrotate's `delaycompress` leaves them.
    std::fs::write(DIR.join("app.log.2.gz"), p[0]).expect("writing");
    std::fs::write(DIR.join("app.log.1"), p[1]).expect("writing");
    std::fs::write(DIR.join("app.log"), p[2]).expect("writing");
    let family = LogFamily::new(DIR.join("app.log")).with_max_file_bytes(CAP);
    let mut lines = 0usize;
    if let Ok(report) = family.scan(|_, _| {
        lines += 1;
        std::ops::ControlFlow::Continue(())
    }) {
        assert!(report.files <= 3, "{report:?}");
        assert!(report.bytes <= 3 * CAP, "{report:?}");
        assert!(!report.stopped);
    }
});
