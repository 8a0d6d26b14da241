//! Prints this network namespace's routing state (links, addresses, routes of every table,
//! rules) as JSON: how os-exporter's fixture trees' `rtnetlink.json` were captured. Run it inside
//! the namespace to capture: `ip netns exec <ns> target/debug/examples/netstate_json`.

use std::process::ExitCode;

use common::netlink::Limits;
use common::netlink::route::dump;

fn main() -> ExitCode {
    let state = match dump(Limits::default()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("netstate_json: {e}");
            return ExitCode::FAILURE;
        }
    };
    match serde_json::to_string_pretty(&state) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("netstate_json: {e}");
            ExitCode::FAILURE
        }
    }
}
