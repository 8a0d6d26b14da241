//! HA run log lines and /etc/passwd, /etc/group text: `flink_sync_exporter::ha_log::classify`,
//! `users::passwd_lookup` and `users::member_groups`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use suite_fuzz::text;

fuzz_target!(|data: &[u8]| {
    let t = text(data);
    for line in t.lines() {
        let _ = flink_sync_exporter::ha_log::classify(line);
    }
    let _ = flink_sync_exporter::users::passwd_lookup(&t, "omm");
    let _ = flink_sync_exporter::users::member_groups(&t, "omm");
});
