//! ICMP echo replies read from the network: `icmp::{is_reply, checksum}`.
#![no_main]

use common::icmp::SocketKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for kind in [SocketKind::Datagram, SocketKind::Raw] {
        for v6 in [false, true] {
            let _ = common::icmp::is_reply(kind, v6, data, 0x1234, 7);
        }
    }
    let _ = common::icmp::checksum(data);
});
