//! Bonding interfaces from sysfs (the driver's own files, one value each): the bonds listed in
//! `/sys/class/net/bonding_masters`, each bond's `bonding/{mode,active_slave,slaves,mii_status}`
//! and each slave's `bonding_slave/mii_status`. Document 003's on-call check of bond0/bond1.

use common::SysPaths;

/// One bond.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bond {
    /// Its name (`bond0`).
    pub(crate) name: String,
    /// The mode's name (`active-backup`, `802.3ad`...), without the number the driver appends.
    pub(crate) mode: String,
    /// The active slave (active-backup and similar modes), when there is one.
    pub(crate) active_slave: Option<String>,
    /// Its slaves with their MII status (`true` = up).
    pub(crate) slaves: Vec<(String, bool)>,
    /// The bond's own MII status.
    pub(crate) up: bool,
}

fn one_line(bytes: Option<Vec<u8>>) -> Option<String> {
    let text = String::from_utf8(bytes?).ok()?;
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// The bonds under `paths`; a host without the bonding driver has none (no error).
pub(crate) fn read(paths: &SysPaths) -> Vec<Bond> {
    let read = |rel: String| std::fs::read(paths.sys(&rel)).ok();
    let Some(masters) = one_line(read("class/net/bonding_masters".to_owned())) else {
        return Vec::new();
    };
    let mut names: Vec<&str> = masters.split_whitespace().collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .filter(|n| !n.contains('/') && !n.starts_with('.'))
        .map(|name| {
            let attr = |f: &str| one_line(read(format!("class/net/{name}/bonding/{f}")));
            let slaves = attr("slaves")
                .unwrap_or_default()
                .split_whitespace()
                .filter(|s| !s.contains('/') && !s.starts_with('.'))
                .map(|s| {
                    let mii = one_line(read(format!("class/net/{s}/bonding_slave/mii_status")));
                    (s.to_owned(), mii.as_deref() == Some("up"))
                })
                .collect();
            Bond {
                name: name.to_owned(),
                // `active-backup 1`: the name, then the mode number.
                mode: attr("mode")
                    .and_then(|m| m.split_whitespace().next().map(str::to_owned))
                    .unwrap_or_default(),
                active_slave: attr("active_slave"),
                slaves,
                up: attr("mii_status").as_deref() == Some("up"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::fixture;

    #[test]
    fn a_bond_with_one_slave_down_lists_both_slaves_and_the_active_one() {
        let bonds = read(&fixture("net"));
        let b0 = bonds.iter().find(|b| b.name == "bond0").unwrap();
        assert_eq!(b0.mode, "active-backup");
        assert_eq!(b0.active_slave.as_deref(), Some("ens2"));
        assert_eq!(
            b0.slaves,
            vec![("ens1".to_owned(), false), ("ens2".to_owned(), true)]
        );
        assert!(b0.up);
        let b1 = bonds.iter().find(|b| b.name == "bond1").unwrap();
        assert_eq!(
            (b1.mode.as_str(), b1.active_slave.as_deref()),
            ("802.3ad", None)
        );
        assert!(b1.slaves.iter().all(|(_, up)| !up));
        assert!(!b1.up);
    }

    #[test]
    fn a_host_without_bonding_has_no_bonds() {
        assert!(read(&fixture("swap")).is_empty());
    }
}
