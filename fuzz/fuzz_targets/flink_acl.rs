//! `system.posix_acl_access` attribute bytes: `flink_sync_exporter::access::parse_acl`, then the
//! access decision on what it accepts, for a fixed user and owner.
#![no_main]

use flink_sync_exporter::access::{Owner, READ, parse_acl, permits};
use flink_sync_exporter::users::Identity;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(acl) = parse_acl(data) {
        let who = Identity {
            name: "omm".into(),
            uid: 2000,
            gid: 1001,
            groups: vec![9998],
        };
        let owner = Owner {
            uid: 0,
            gid: 1001,
            mode: 0o640,
        };
        let _ = permits(&who, owner, Some(&acl), READ);
    }
});
