//! The pure comparison of a directory's baseline with what a pass found: which entries were
//! added, removed or modified, and for a modified one which attributes differ.

use std::collections::BTreeMap;

use serde::Serialize;

use super::baseline::Entry;

/// One modified entry: its name and the attributes that differ, before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Modified {
    /// The entry's name.
    pub(crate) path: String,
    /// Which attributes changed, in a fixed order: `kind`, `size`, `mtime`, `ctime`, `inode`,
    /// `mode`, `owner`, `sha256`, `link`.
    pub(crate) changed: Vec<&'static str>,
    /// The entry in the baseline.
    pub(crate) before: Entry,
    /// The entry now.
    pub(crate) after: Entry,
}

/// What differs between two manifests of one directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    /// Names that appeared.
    pub(crate) added: Vec<String>,
    /// Names that disappeared.
    pub(crate) removed: Vec<String>,
    /// Entries present in both that differ.
    pub(crate) modified: Vec<Modified>,
}

impl Changes {
    /// Added + removed + modified entries.
    pub(crate) fn total(&self) -> usize {
        self.added.len() + self.removed.len() + self.modified.len()
    }
}

/// Compares `before` (the baseline) with `after` (this pass).
pub(crate) fn diff(before: &BTreeMap<String, Entry>, after: &BTreeMap<String, Entry>) -> Changes {
    let mut c = Changes::default();
    for (name, old) in before {
        match after.get(name) {
            None => c.removed.push(name.clone()),
            Some(new) => {
                let changed = changed_attributes(old, new);
                if !changed.is_empty() {
                    c.modified.push(Modified {
                        path: name.clone(),
                        changed,
                        before: old.clone(),
                        after: new.clone(),
                    });
                }
            }
        }
    }
    c.added = after
        .keys()
        .filter(|n| !before.contains_key(*n))
        .cloned()
        .collect();
    c
}

/// The attributes of `old` and `new` that differ. A hash is compared only when both sides have
/// one: a file that could not be read this time is not "changed" by that alone (its ctime
/// still moves with any write).
fn changed_attributes(old: &Entry, new: &Entry) -> Vec<&'static str> {
    let hash_differs = matches!((&old.sha256, &new.sha256), (Some(a), Some(b)) if a != b);
    [
        ("kind", old.kind != new.kind),
        ("size", old.size != new.size),
        ("mtime", old.mtime_ns != new.mtime_ns),
        ("ctime", old.ctime_ns != new.ctime_ns),
        ("inode", old.inode != new.inode),
        ("mode", old.mode != new.mode),
        ("owner", (old.uid, old.gid) != (new.uid, new.gid)),
        ("sha256", hash_differs),
        ("link", old.link != new.link),
    ]
    .into_iter()
    .filter_map(|(name, differs)| differs.then_some(name))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(inode: u64, hash: &str) -> Entry {
        Entry {
            kind: "file".into(),
            size: 10,
            mtime_ns: 100,
            ctime_ns: 100,
            inode,
            mode: 0o644,
            uid: 0,
            gid: 0,
            sha256: Some(hash.repeat(64)),
            link: None,
        }
    }

    fn manifest(entries: &[(&str, Entry)]) -> BTreeMap<String, Entry> {
        entries
            .iter()
            .map(|(n, e)| ((*n).to_owned(), e.clone()))
            .collect()
    }

    #[test]
    fn the_same_manifest_is_no_change() {
        let m = manifest(&[("a", file(1, "a")), ("b", file(2, "b"))]);
        assert_eq!(diff(&m, &m), Changes::default());
        assert_eq!(diff(&m, &m).total(), 0);
    }

    #[test]
    fn added_removed_and_modified_are_told_apart() {
        let before = manifest(&[("keep", file(1, "a")), ("gone", file(2, "b"))]);
        let mut chmod = file(1, "a");
        chmod.mode = 0o600;
        chmod.ctime_ns = 200;
        let after = manifest(&[("keep", chmod), ("new", file(3, "c"))]);
        let c = diff(&before, &after);
        assert_eq!(c.added, ["new"]);
        assert_eq!(c.removed, ["gone"]);
        assert_eq!(c.modified.len(), 1);
        assert_eq!(c.modified[0].path, "keep");
        assert_eq!(c.modified[0].changed, ["ctime", "mode"]);
        assert_eq!(c.total(), 3);
    }

    #[test]
    fn an_atomic_replace_is_a_new_inode_even_with_the_same_content_and_times() {
        let before = manifest(&[("app.conf", file(1, "a"))]);
        let after = manifest(&[("app.conf", file(9, "a"))]);
        assert_eq!(diff(&before, &after).modified[0].changed, ["inode"]);
    }

    #[test]
    fn the_hash_catches_a_rewrite_that_kept_size_and_times() {
        let before = manifest(&[("f", file(1, "a"))]);
        let after = manifest(&[("f", file(1, "b"))]);
        assert_eq!(diff(&before, &after).modified[0].changed, ["sha256"]);
    }

    #[test]
    fn a_hash_missing_on_one_side_alone_is_no_change() {
        let mut unreadable = file(1, "a");
        unreadable.sha256 = None;
        let before = manifest(&[("key", file(1, "a"))]);
        let after = manifest(&[("key", unreadable)]);
        assert_eq!(diff(&before, &after), Changes::default());
    }

    #[test]
    fn an_owner_change_and_a_retargeted_symlink_are_named() {
        let mut owned = file(1, "a");
        owned.gid = 5;
        let mut link = file(2, "a");
        link.kind = "symlink".into();
        link.sha256 = None;
        link.link = Some("/a".into());
        let mut retarget = link.clone();
        retarget.link = Some("/b".into());
        let before = manifest(&[("f", file(1, "a")), ("l", link)]);
        let after = manifest(&[("f", owned), ("l", retarget)]);
        let c = diff(&before, &after);
        assert_eq!(c.modified[0].changed, ["owner"]);
        assert_eq!(c.modified[1].changed, ["link"]);
    }
}
