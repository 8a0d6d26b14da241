//! Answers of the IPVS generic-netlink family: `ipvs_genl::decode_service` and `decode_dest`
//! (the payload after the netlink header: genl header, then attributes), and the family list's
//! `genl::decode_family`. A decoded service's GET_DEST request names it again.
#![no_main]

use common::netlink::genl;
use libfuzzer_sys::fuzz_target;
use lvs_exporter::ipvs_genl;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = ipvs_genl::decode_service(data) {
        let req = ipvs_genl::dest_request_bytes(&s.key);
        assert!(req.len() >= 4);
    }
    let _ = ipvs_genl::decode_dest(data, false);
    let _ = ipvs_genl::decode_dest(data, true);
    let _ = genl::decode_family(data);
});
