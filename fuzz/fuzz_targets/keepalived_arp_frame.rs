//! ARP frames received while probing a VIP (from the network: anyone on the segment can send
//! them), and MAC addresses as `ip` prints them: `arp::{parse_frame, claims, parse_mac}`.
#![no_main]

use std::net::Ipv4Addr;

use keepalived_exporter::arp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(p) = arp::parse_frame(data) {
        let _ = arp::claims(&p, Ipv4Addr::new(10, 0, 0, 100), &[2, 0, 0, 0, 0, 1]);
        let _ = arp::mac_string(&p.sender_mac);
    }
    if let Ok(s) = std::str::from_utf8(data)
        && let Some(mac) = arp::parse_mac(s)
    {
        // What is printed parses back to the same address.
        assert_eq!(arp::parse_mac(&arp::mac_string(&mac)), Some(mac));
    }
});
