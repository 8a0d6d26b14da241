//! Captures the kernel's answers to lvs-exporter's IPVS dumps, for the unit tests' fixtures
//! (`tests/fixtures/README.md` says how it was run): one line per answer, `service <hex>` or
//! `dest <service> <hex>`, the payload after the netlink header as the kernel sent it.
//! Refuses to run when IPVS is not loaded, so it never loads it.

use std::fmt::Write as _;
use std::process::ExitCode;

use common::netlink::Limits;
use lvs_exporter::ipvs_genl::{self, Answer};

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn main() -> ExitCode {
    if !std::path::Path::new("/proc/net/ip_vs").exists() {
        eprintln!("ipvs_capture: /proc/net/ip_vs is absent: IPVS is not loaded (and will not be)");
        return ExitCode::FAILURE;
    }
    let mut lines = Vec::new();
    let read = ipvs_genl::read_tapped(Limits::default(), 1024, &mut |answer, payload| {
        lines.push(match answer {
            Answer::Service => format!("service {}", hex(payload)),
            Answer::Dest(key) => format!("dest {key} {}", hex(payload)),
        });
    });
    match read {
        Ok(_) => {
            for l in lines {
                println!("{l}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ipvs_capture: {e}");
            ExitCode::FAILURE
        }
    }
}
