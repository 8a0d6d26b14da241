//! Tomcat `server.xml` connector ports and catalina.out startup lines.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = format!("{:?}", os_exporter::parsers::server_xml::connector_ports(&text));
    for line in text.lines() {
        let _ = format!("{:?}", os_exporter::parsers::catalina_log::classify(line));
    }
});
