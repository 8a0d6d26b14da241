//! Shell wildcards: `glob::{matches, expand_braces, normalize}` (config patterns against device
//! names and paths found on the host). Input: pattern, separator, name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use suite_fuzz::{parts, text};

fuzz_target!(|data: &[u8]| {
    let p = parts(data, 2);
    let (pattern, name) = (text(p[0]), text(p[1]));
    let _ = common::glob::matches(&pattern, &name);
    let expanded = common::glob::expand_braces(&pattern);
    assert!(!expanded.is_empty() && expanded.len() <= 64);
    // A pattern without wildcards matches itself.
    if !name.contains(['*', '?', '[']) {
        assert!(common::glob::matches(&name, &name), "{name:?}");
    }
    let n = common::glob::normalize(&name);
    assert!(
        n.starts_with('/') && !n.split('/').any(|c| c == ".."),
        "{n:?}"
    );
    assert_eq!(common::glob::normalize(&n), n);
});
