//! keepalived.conf with its `include` files: `conf_include::expand` over files in memory, then
//! `conf_file::parse`. Input: up to four files cut at the separator byte; the first is
//! `/etc/keepalived/keepalived.conf`, the others sit in `/etc/keepalived/conf.d/`.
#![no_main]

use keepalived_exporter::conf_include::{self, MemoryFiles};
use libfuzzer_sys::fuzz_target;
use suite_fuzz::{parts, text};

const TOP: &str = "/etc/keepalived/keepalived.conf";

fuzz_target!(|data: &[u8]| {
    let p = parts(data, 4);
    let mut files = MemoryFiles::default();
    files.0.insert(TOP.to_owned(), text(p[0]));
    for (i, f) in p[1..].iter().enumerate() {
        files
            .0
            .insert(format!("/etc/keepalived/conf.d/{i}.conf"), text(f));
    }
    let top = text(p[0]);
    let (expanded, stats) = conf_include::expand(&mut files, &top, TOP);
    assert!(stats.files <= 256, "{stats:?}");
    assert!(
        expanded.len() <= 4 * 1024 * 1024 + top.len(),
        "{} bytes",
        expanded.len()
    );
    let conf = keepalived_exporter::conf_file::parse(&expanded);
    for inst in &conf.instances {
        let _ = (inst.vrid, inst.vips.len(), inst.unicast_peers.len());
    }
    // The parser alone, on the top file as written.
    let _ = keepalived_exporter::conf_file::parse(&top);
});
