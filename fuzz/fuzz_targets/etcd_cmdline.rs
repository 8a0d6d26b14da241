//! The local etcd's command line (`/proc/<pid>/cmdline`, NUL-separated): the URLs of its
//! listen/advertise flags and their IPs (`process::{urls, url_ip}`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let args: Vec<String> = data
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    for u in etcd_probe::process::urls(&args) {
        let _ = etcd_probe::process::url_ip(&u);
    }
});
