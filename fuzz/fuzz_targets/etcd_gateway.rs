//! etcd v3 JSON gateway answers (status, member list, key count) and what the probe does with
//! them: `gateway::parse` and the data-loss bookkeeping of `data_loss::State::observe`.
#![no_main]

use etcd_probe::data_loss::{Observation, State};
use etcd_probe::gateway::{self, MemberList, RangeCount, Status};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let status = gateway::parse::<Status>(data);
    let _ = gateway::parse::<MemberList>(data);
    let count = gateway::parse::<RangeCount>(data);
    if let Ok(s) = status {
        let obs = Observation {
            cluster_id: s.header.cluster_id,
            revision: s.header.revision,
            keys: count.ok().map(|c| c.count),
        };
        let mut state = State::default();
        let _ = state.observe(obs, 0.1, 1.0);
        // A second answer from another cluster, and one with everything gone.
        let _ = state.observe(
            Observation {
                cluster_id: obs.cluster_id ^ 1,
                revision: 1,
                keys: Some(0),
            },
            0.1,
            2.0,
        );
        let _ = state.observe(obs, 0.1, 3.0);
    }
});
