//! `df` arithmetic on what `statvfs` returns (a FUSE filesystem returns whatever it likes).
#![no_main]

use common::statfs::FsStats;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|v: (u64, u64, u64, u64, u64)| {
    let s = FsStats {
        size_bytes: v.0,
        free_bytes: v.1,
        avail_bytes: v.2,
        files: v.3,
        files_free: v.4,
        readonly: false,
    };
    for u in [s.df_space(), s.df_inodes()] {
        assert!((0.0..=100.0).contains(&u.percent), "{u:?} from {s:?}");
        assert!(u.used <= u.size);
    }
});
