//! The data-loss state file read back at start (it may be corrupt or edited), then observations
//! from members' answers: `data_loss::State` as `state_file::load` decodes it, and `observe`.
#![no_main]

use etcd_probe::data_loss::{Kind, Observation, State};
use libfuzzer_sys::fuzz_target;
use suite_fuzz::parts;

fuzz_target!(|data: &[u8]| {
    let p = parts(data, 2);
    let Ok(mut state) = serde_json::from_slice::<State>(p[0]) else {
        return;
    };
    // The observation's numbers come from a member's answer, in any range.
    let mut n = [0_u8; 24];
    for (d, s) in n.iter_mut().zip(p[1]) {
        *d = *s;
    }
    let int = |i: usize| i64::from_le_bytes(n[i..i + 8].try_into().unwrap_or_default());
    let obs = Observation {
        cluster_id: int(0).cast_unsigned(),
        revision: int(8),
        keys: (p[1].len() > 16).then(|| int(16)),
    };
    for (i, now) in [1.0, 2.0].into_iter().enumerate() {
        let before = Kind::ALL.map(|k| state.count(k));
        let found = state.observe(obs, 0.1, now);
        if i == 1 {
            assert!(
                found.is_empty(),
                "the same observation counted twice: {found:?}"
            );
        }
        // Counts only go up (they saturate).
        for (k, b) in Kind::ALL.iter().zip(before) {
            assert!(state.count(*k) >= b, "{k:?} fell from {b}");
        }
    }
});
