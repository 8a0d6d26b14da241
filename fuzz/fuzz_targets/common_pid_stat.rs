//! `/proc/<pid>/stat` and `/proc/stat`: `proc_table::{parse_pid_stat, state_letter, boot_time}`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data)
        && let Some(st) = common::proc_table::parse_pid_stat(s)
    {
        // The quick state reader agrees with the full parser on the kernel's (ASCII) letters.
        if st.state.is_ascii() {
            assert_eq!(common::proc_table::state_letter(data), Some(st.state));
        }
        let _ = st.is_alive();
        let _ = common::proc_table::start_time_seconds(&st, 1.0e9);
    }
    let _ = common::proc_table::state_letter(data);
    let _ = common::proc_table::boot_time(data);
});
