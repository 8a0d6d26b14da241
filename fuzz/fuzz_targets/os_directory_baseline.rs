//! The directory watch's state file (`[directories] state_file`):
//! `os_exporter::directories::baseline::decode`. What decodes passes its own check and
//! round-trips through the JSON a pass writes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use os_exporter::directories::baseline;

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = baseline::decode(data) {
        assert!(b.check().is_ok());
        let json = serde_json::to_vec(&b).expect("a decoded baseline encodes");
        let mut again = baseline::decode(&json).expect("what a pass writes decodes");
        // serde_json's default float parsing may differ in the last bit; the rest is exact.
        for (dir, d) in &mut again.directories {
            let before = b.directories[dir].last_change;
            assert!((d.last_change - before).abs() <= before.abs() * 1e-15);
            d.last_change = before;
        }
        assert_eq!(again, b);
    }
});
