//! Document 001's "data loss" scenario (cluster broken, or data deleted by a program): the probe
//! remembers the cluster ID, the highest revision and the key count it saw, in a state file so
//! that its own restarts do not hide a loss, and counts every step backwards.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// What one scrape observed of the cluster.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// The cluster ID.
    pub cluster_id: u64,
    /// The store revision (highest over the members that answered).
    pub revision: i64,
    /// The number of keys, when the count succeeded.
    pub keys: Option<i64>,
}

/// A kind of data-loss evidence; the `kind` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The cluster ID changed: the cluster was re-created or restored as a new cluster.
    ClusterIdChanged,
    /// The revision went backwards: restored from an older snapshot or data directory.
    RevisionBackwards,
    /// The key count dropped by at least the configured fraction.
    KeysDropped,
}

impl Kind {
    /// All kinds, for zero-valued series.
    pub const ALL: [Kind; 3] = [
        Kind::ClusterIdChanged,
        Kind::RevisionBackwards,
        Kind::KeysDropped,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ClusterIdChanged => "cluster_id_changed",
            Kind::RevisionBackwards => "revision_backwards",
            Kind::KeysDropped => "keys_dropped",
        }
    }
}

/// What is remembered between scrapes and restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// Last cluster ID seen.
    pub cluster_id: Option<u64>,
    /// Highest revision seen for that cluster.
    pub revision: i64,
    /// Last key count seen.
    pub keys: Option<i64>,
    /// Events counted so far, by kind.
    pub cluster_id_changed: u64,
    /// See [`Kind::RevisionBackwards`].
    pub revision_backwards: u64,
    /// See [`Kind::KeysDropped`].
    pub keys_dropped: u64,
    /// Unix time of the last event.
    pub last_event_unix: f64,
}

impl State {
    /// Counts the events `obs` reveals, updates the baseline, and returns the kinds found.
    pub fn observe(&mut self, obs: Observation, key_drop_ratio: f64, now_unix: f64) -> Vec<Kind> {
        let mut found = Vec::new();
        match self.cluster_id {
            Some(id) if id != obs.cluster_id => {
                found.push(Kind::ClusterIdChanged);
            }
            Some(_) => {
                if obs.revision < self.revision {
                    found.push(Kind::RevisionBackwards);
                }
                if let (Some(before), Some(now)) = (self.keys, obs.keys) {
                    #[allow(clippy::cast_precision_loss)]
                    let dropped = before > 0
                        && now < before
                        && before as f64 - now as f64 >= before as f64 * key_drop_ratio;
                    if dropped {
                        found.push(Kind::KeysDropped);
                    }
                }
            }
            None => {}
        }
        for k in &found {
            // The counts come back from a file that may have been edited: saturate, never wrap.
            let count = match k {
                Kind::ClusterIdChanged => &mut self.cluster_id_changed,
                Kind::RevisionBackwards => &mut self.revision_backwards,
                Kind::KeysDropped => &mut self.keys_dropped,
            };
            *count = count.saturating_add(1);
            self.last_event_unix = now_unix;
        }
        // The new situation becomes the baseline, so one loss is counted once; without a
        // cluster ID there was no baseline yet, whatever revision the state file held.
        let restart = self.cluster_id.is_none()
            || found.contains(&Kind::ClusterIdChanged)
            || found.contains(&Kind::RevisionBackwards);
        self.revision = if restart {
            obs.revision
        } else {
            self.revision.max(obs.revision)
        };
        self.cluster_id = Some(obs.cluster_id);
        if obs.keys.is_some() {
            self.keys = obs.keys;
        }
        found
    }

    /// The count for `kind`.
    pub fn count(&self, kind: Kind) -> u64 {
        match kind {
            Kind::ClusterIdChanged => self.cluster_id_changed,
            Kind::RevisionBackwards => self.revision_backwards,
            Kind::KeysDropped => self.keys_dropped,
        }
    }
}

pub use common::state_file::StateFileError;

/// Loads the state; a missing file is a fresh state, a corrupt one an error naming it.
pub fn load(path: &Path) -> Result<State, StateFileError> {
    Ok(common::state_file::load(path)?.unwrap_or_default())
}

/// Saves the state atomically with mode 0600 (see [`common::state_file::save`]).
pub fn save(path: &Path, state: &State) -> Result<(), StateFileError> {
    common::state_file::save(path, state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(cluster_id: u64, revision: i64, keys: i64) -> Observation {
        Observation {
            cluster_id,
            revision,
            keys: Some(keys),
        }
    }

    #[test]
    fn growth_and_normal_deletes_are_not_loss() {
        let mut s = State::default();
        assert!(s.observe(obs(1, 10, 100), 0.1, 1.0).is_empty());
        assert!(s.observe(obs(1, 20, 110), 0.1, 2.0).is_empty());
        // 5 of 110 keys deleted: under the 10% threshold.
        assert!(s.observe(obs(1, 21, 105), 0.1, 3.0).is_empty());
    }

    #[test]
    fn restore_from_older_snapshot_counts_once() {
        let mut s = State::default();
        s.observe(obs(1, 50, 40), 0.1, 1.0);
        assert_eq!(
            s.observe(obs(1, 30, 20), 0.1, 2.0),
            vec![Kind::RevisionBackwards, Kind::KeysDropped]
        );
        assert!(
            s.observe(obs(1, 31, 20), 0.1, 3.0).is_empty(),
            "the new baseline is not a second loss"
        );
        assert_eq!(
            (s.revision_backwards, s.keys_dropped, s.last_event_unix),
            (1, 1, 2.0)
        );
    }

    #[test]
    fn new_cluster_id_is_loss_and_resets_the_baseline() {
        let mut s = State::default();
        s.observe(obs(1, 50, 40), 0.1, 1.0);
        assert_eq!(
            s.observe(obs(2, 2, 0), 0.1, 2.0),
            vec![Kind::ClusterIdChanged]
        );
        assert!(s.observe(obs(2, 3, 1), 0.1, 3.0).is_empty());
    }

    #[test]
    fn the_first_observation_is_the_baseline_whatever_the_file_held() {
        // Found by the fuzz target etcd_state_file: a state file without a cluster ID but with a
        // revision (or a first answer below revision 0) made the same answer count as a loss
        // the second time it was seen.
        let mut s: State = serde_json::from_str(r#"{"revision":120,"keys":40}"#).unwrap();
        assert!(s.observe(obs(1, 50, 10), 0.1, 1.0).is_empty());
        assert!(s.observe(obs(1, 50, 10), 0.1, 2.0).is_empty());
        let mut s = State::default();
        assert!(s.observe(obs(1, -5, 10), 0.1, 1.0).is_empty());
        assert!(s.observe(obs(1, -5, 10), 0.1, 2.0).is_empty());
    }

    #[test]
    fn numbers_at_the_ends_of_their_range_neither_panic_nor_wrap() {
        let mut s: State =
            serde_json::from_str(r#"{"cluster_id":1,"cluster_id_changed":18446744073709551615}"#)
                .unwrap();
        assert_eq!(
            s.observe(obs(2, 1, 1), 0.1, 1.0),
            vec![Kind::ClusterIdChanged]
        );
        assert_eq!(s.cluster_id_changed, u64::MAX);
        let mut s = State::default();
        s.observe(obs(1, 1, 5), 0.1, 1.0);
        assert_eq!(
            s.observe(obs(1, 1, i64::MIN), 0.1, 2.0),
            vec![Kind::KeysDropped]
        );
    }

    #[test]
    fn state_survives_a_restart_through_the_file() {
        let dir = std::env::temp_dir().join(format!("etcd-probe-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sub/state.json");
        let _ = std::fs::remove_file(&path);
        assert_eq!(load(&path).unwrap(), State::default());
        let mut s = State::default();
        s.observe(obs(7, 99, 10), 0.1, 1.0);
        save(&path, &s).unwrap();
        let mut again = load(&path).unwrap();
        assert_eq!(again, s);
        assert_eq!(
            again.observe(obs(7, 5, 10), 0.1, 2.0),
            vec![Kind::RevisionBackwards]
        );
        std::fs::write(&path, b"garbage").unwrap();
        assert!(load(&path).unwrap_err().to_string().contains("state.json"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
