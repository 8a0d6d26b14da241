//! Rotated log file names (`log_tail::rotation_name`): `ha.log.1`, `ha.log.2.gz`,
//! `messages-20261130`, `ha-2026-11-30.log`... The input is cut at the first 0x1e into the live
//! file's name and a candidate.
#![no_main]

use common::log_tail::{RotationName, rotation_name};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parts = suite_fuzz::parts(data, 2);
    let base = suite_fuzz::text(parts[0]);
    let candidate = suite_fuzz::text(parts[1]);
    // The live file is never its own rotation.
    assert!(rotation_name(&base, &base).is_none() || base.ends_with(".gz"));
    if let Some((name, gzip)) = rotation_name(&base, &candidate) {
        assert_eq!(gzip, candidate.ends_with(".gz"));
        if let RotationName::Dated(d) = name {
            assert!(d.len() >= 8 && d.bytes().all(|b| b.is_ascii_digit()));
        }
    }
});
