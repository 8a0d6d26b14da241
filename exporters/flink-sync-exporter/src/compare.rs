//! Comparing the standby's manifest with the active's: a merge of two path-sorted lists.

use std::cmp::Ordering;

use crate::manifest::{Entry, Kind, Manifest};

/// How one path differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiffKind {
    /// On the active only.
    MissingOnStandby,
    /// On the standby only.
    ExtraOnStandby,
    /// Both have it, with other content (digest, size, type or link target).
    ContentDiffers,
    /// Same content, other mode or owner.
    ModeOwnerDiffers,
}

impl DiffKind {
    /// The name used in logs and the audit journal.
    pub fn as_str(self) -> &'static str {
        match self {
            DiffKind::MissingOnStandby => "missing_on_standby",
            DiffKind::ExtraOnStandby => "extra_on_standby",
            DiffKind::ContentDiffers => "content_differs",
            DiffKind::ModeOwnerDiffers => "mode_owner_differs",
        }
    }
}

/// What a comparison found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// Paths on the active only.
    pub missing_on_standby: usize,
    /// Paths on the standby only.
    pub extra_on_standby: usize,
    /// Paths with other content.
    pub content_differs: usize,
    /// Paths with another mode or owner.
    pub mode_owner_differs: usize,
    /// Entries the sync user cannot read on the active.
    pub unreadable_active: usize,
    /// Entries the sync user cannot read on the standby.
    pub unreadable_standby: usize,
    /// Every differing path with how it differs (bounded by the manifests' bound).
    pub paths: Vec<(DiffKind, Vec<u8>)>,
}

impl Diff {
    /// Whether the two trees are the same and readable.
    pub fn is_clean(&self) -> bool {
        self.paths.is_empty() && self.unreadable_active == 0 && self.unreadable_standby == 0
    }
}

fn content_equal(a: &Entry, s: &Entry) -> bool {
    if a.kind != s.kind {
        return false;
    }
    match a.kind {
        // A directory's size and mtime are the filesystem's business, not synchronised content.
        Kind::Dir | Kind::Other => true,
        // Both digests are needed: an unreadable file's content is unknown, reported apart.
        Kind::File => {
            a.size == s.size && (a.digest == s.digest || a.digest.is_none() || s.digest.is_none())
        }
        Kind::Symlink => a.digest == s.digest,
    }
}

/// Compares `standby` against `active`.
pub fn compare(active: &Manifest, standby: &Manifest) -> Diff {
    let mut d = Diff {
        unreadable_active: active.unreadable().count(),
        unreadable_standby: standby.unreadable().count(),
        ..Diff::default()
    };
    let (mut i, mut j) = (0, 0);
    let (a, s) = (&active.entries, &standby.entries);
    while i < a.len() || j < s.len() {
        let ord = match (a.get(i), s.get(j)) {
            (Some(x), Some(y)) => x.path.cmp(&y.path),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match ord {
            Ordering::Less => {
                d.missing_on_standby += 1;
                d.paths
                    .push((DiffKind::MissingOnStandby, a[i].path.clone()));
                i += 1;
            }
            Ordering::Greater => {
                d.extra_on_standby += 1;
                d.paths.push((DiffKind::ExtraOnStandby, s[j].path.clone()));
                j += 1;
            }
            Ordering::Equal => {
                let (x, y) = (&a[i], &s[j]);
                if !content_equal(x, y) {
                    d.content_differs += 1;
                    d.paths.push((DiffKind::ContentDiffers, x.path.clone()));
                } else if x.mode != y.mode || x.uid != y.uid || x.gid != y.gid {
                    d.mode_owner_differs += 1;
                    d.paths.push((DiffKind::ModeOwnerDiffers, x.path.clone()));
                }
                i += 1;
                j += 1;
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(p: &str, digest: u128) -> Entry {
        Entry {
            path: p.as_bytes().to_vec(),
            kind: Kind::File,
            size: 1,
            mode: 0o644,
            uid: 1,
            gid: 1,
            mtime: 1,
            digest: Some(digest),
            unreadable: None,
        }
    }

    fn m(entries: Vec<Entry>) -> Manifest {
        Manifest {
            entries,
            ..Manifest::default()
        }
    }

    #[test]
    fn each_kind_of_difference_is_counted_once() {
        let mut moved = e("/c/mode", 4);
        moved.mode = 0o600;
        let mut newer = e("/c/same", 1);
        newer.mtime = 99;
        let mut locked = e("/c/x", 9);
        locked.unreadable = Some("no".into());
        let active = m(vec![
            e("/c/a", 1),
            e("/c/changed", 2),
            e("/c/mode", 4),
            e("/c/same", 1),
        ]);
        let standby = m(vec![e("/c/changed", 3), moved, newer, locked]);
        let d = compare(&active, &standby);
        assert_eq!(
            (
                d.missing_on_standby,
                d.extra_on_standby,
                d.content_differs,
                d.mode_owner_differs
            ),
            (1, 1, 1, 1)
        );
        assert_eq!((d.unreadable_active, d.unreadable_standby), (0, 1));
        assert_eq!(d.paths[0], (DiffKind::MissingOnStandby, b"/c/a".to_vec()));
        assert!(!d.is_clean());
        assert!(
            compare(&active, &active).is_clean(),
            "an mtime-only drift is no difference"
        );
    }
}
