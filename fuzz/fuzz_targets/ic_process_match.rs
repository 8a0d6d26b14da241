//! `/proc/<pid>/{comm,cmdline}` of every process (any user picks them):
//! `ic_server_probe::is_match`. Input: name, separator, comm, separator, cmdline.
#![no_main]

use libfuzzer_sys::fuzz_target;
use suite_fuzz::{parts, text};

fuzz_target!(|data: &[u8]| {
    let p = parts(data, 3);
    let (name, comm) = (text(p[0]), text(p[1]));
    let _ = ic_server_probe::is_match(&name, &comm, p[2]);
    // The kernel name alone decides when it is the name (`comm` ends in a newline; a configured
    // name with trailing blanks cannot be a kernel name).
    if name.trim_end() == name {
        assert!(ic_server_probe::is_match(&name, &format!("{name}\n"), p[2]));
    }
});
