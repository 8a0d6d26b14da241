//! Netlink `sock_diag` answers: `netlink::sock_diag::{decode, decode_datagram}`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut n = 0_usize;
    let _ = common::netlink::sock_diag::decode_datagram(data, 0, &mut |_| n += 1);
    if let Some((kind, payload)) = data.split_first_chunk::<2>() {
        let _ = common::netlink::sock_diag::decode(u16::from_ne_bytes(*kind), payload);
    }
});
