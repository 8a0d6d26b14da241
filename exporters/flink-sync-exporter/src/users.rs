//! Who the sync user is: uid, primary gid and supplementary groups from `/etc/passwd` and
//! `/etc/group` text (read under `--path.rootfs`), or from the config.

/// The credentials access is judged for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Name, for messages (`uid 2000` when only numbers are known).
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary group ids (the primary one included or not: both are checked).
    pub groups: Vec<u32>,
}

impl Identity {
    /// Whether the identity is in group `gid`.
    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

/// Why the sync user could not be resolved.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UserError {
    /// The name is not in the passwd text.
    #[error("sync user {0:?} is not in /etc/passwd")]
    Unknown(String),
    /// Neither a name nor a uid and gid were configured.
    #[error("sync_user needs a name, or both uid and gid")]
    Unset,
}

/// `(uid, gid)` of `name` in passwd text (`name:x:uid:gid:...`); malformed lines are skipped.
pub fn passwd_lookup(passwd: &str, name: &str) -> Option<(u32, u32)> {
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        (f.next()? == name).then_some(())?;
        let _password = f.next()?;
        let uid = f.next()?.trim().parse().ok()?;
        let gid = f.next()?.trim().parse().ok()?;
        Some((uid, gid))
    })
}

/// Gids of the groups in group text (`name:x:gid:member,member`) that list `name` as a member.
pub fn member_groups(group: &str, name: &str) -> Vec<u32> {
    let mut gids: Vec<u32> = group
        .lines()
        .filter_map(|line| {
            let mut f = line.split(':');
            let _group = f.next()?;
            let _password = f.next()?;
            let gid = f.next()?.trim().parse().ok()?;
            let members = f.next()?;
            members.split(',').any(|m| m.trim() == name).then_some(gid)
        })
        .collect();
    gids.sort_unstable();
    gids.dedup();
    gids
}

/// The identity from the config fields and the passwd/group texts (empty when unreadable).
pub fn resolve(
    cfg: &crate::config::SyncUserConfig,
    passwd: &str,
    group: &str,
) -> Result<Identity, UserError> {
    let from_name = match &cfg.name {
        Some(n) => Some(passwd_lookup(passwd, n).ok_or_else(|| UserError::Unknown(n.clone()))?),
        None => None,
    };
    let uid = cfg
        .uid
        .or(from_name.map(|(u, _)| u))
        .ok_or(UserError::Unset)?;
    let gid = cfg
        .gid
        .or(from_name.map(|(_, g)| g))
        .ok_or(UserError::Unset)?;
    let mut groups = cfg.groups.clone();
    if let Some(n) = &cfg.name {
        groups.extend(member_groups(group, n));
    }
    groups.sort_unstable();
    groups.dedup();
    Ok(Identity {
        name: cfg.name.clone().unwrap_or_else(|| format!("uid {uid}")),
        uid,
        gid,
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SyncUserConfig;

    const PASSWD: &str =
        "root:x:0:0:root:/root:/bin/bash\nbroken\nomm:x:2000:1001::/home/omm:/bin/bash\n";
    const GROUP: &str = "root:x:0:\nwheel:x:10:admin,omm\nficommon:x:9998:omm\nbad:x:zz:omm\n";

    #[test]
    fn a_name_resolves_to_uid_gid_and_member_groups() {
        let cfg = SyncUserConfig {
            name: Some("omm".into()),
            ..SyncUserConfig::default()
        };
        let id = resolve(&cfg, PASSWD, GROUP).unwrap();
        assert_eq!((id.uid, id.gid), (2000, 1001));
        assert_eq!(id.groups, vec![10, 9998]);
        assert!(id.in_group(1001) && id.in_group(9998) && !id.in_group(0));
    }

    #[test]
    fn unknown_names_and_empty_settings_are_errors() {
        let cfg = SyncUserConfig {
            name: Some("nobody-here".into()),
            ..SyncUserConfig::default()
        };
        assert_eq!(
            resolve(&cfg, PASSWD, GROUP),
            Err(UserError::Unknown("nobody-here".into()))
        );
        assert_eq!(
            resolve(&SyncUserConfig::default(), PASSWD, GROUP),
            Err(UserError::Unset)
        );
        let numeric = SyncUserConfig {
            uid: Some(7),
            gid: Some(8),
            ..SyncUserConfig::default()
        };
        assert_eq!(resolve(&numeric, "", "").unwrap().name, "uid 7");
    }
}
