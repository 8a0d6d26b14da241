//! Whether the sync user (not the exporter, which usually runs as root) may read an entry: the
//! permission bits, or the POSIX access ACL when the file has one (the `system.posix_acl_access`
//! extended attribute, decoded here), checked as the kernel's `posix_acl_permission` does.
//! Capabilities and LSMs (SELinux, AppArmor) are not modelled: a file they deny is still
//! counted readable.

use crate::users::Identity;

/// Read permission bit.
pub const READ: u16 = 4;
/// Execute (search, for a directory) permission bit.
pub const EXEC: u16 = 1;

const ACL_VERSION: u32 = 2;
const TAG_USER_OBJ: u16 = 0x01;
const TAG_USER: u16 = 0x02;
const TAG_GROUP_OBJ: u16 = 0x04;
const TAG_GROUP: u16 = 0x08;
const TAG_MASK: u16 = 0x10;
const TAG_OTHER: u16 = 0x20;

/// One entry of a POSIX ACL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AclEntry {
    /// `ACL_USER_OBJ`, `ACL_USER`, ...
    pub tag: u16,
    /// `rwx` bits.
    pub perm: u16,
    /// uid or gid for `ACL_USER` / `ACL_GROUP`.
    pub id: u32,
}

/// Why an ACL attribute could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AclError {
    /// Shorter than its header or not a whole number of entries.
    #[error("ACL attribute of {0} bytes is not a header plus whole 8-byte entries")]
    Length(usize),
    /// Not version 2.
    #[error("ACL attribute version {0}, expected 2")]
    Version(u32),
    /// A tag outside the six POSIX ones.
    #[error("ACL entry with unknown tag {0:#x}")]
    Tag(u16),
}

/// Decodes the `system.posix_acl_access` attribute (little-endian `u32` version 2, then
/// `u16 tag, u16 perm, u32 id` entries).
pub fn parse_acl(bytes: &[u8]) -> Result<Vec<AclEntry>, AclError> {
    let Some((head, rest)) = bytes.split_first_chunk::<4>() else {
        return Err(AclError::Length(bytes.len()));
    };
    if rest.len() % 8 != 0 {
        return Err(AclError::Length(bytes.len()));
    }
    let version = u32::from_le_bytes(*head);
    if version != ACL_VERSION {
        return Err(AclError::Version(version));
    }
    rest.chunks_exact(8)
        .map(|c| {
            let tag = u16::from_le_bytes([c[0], c[1]]);
            if ![
                TAG_USER_OBJ,
                TAG_USER,
                TAG_GROUP_OBJ,
                TAG_GROUP,
                TAG_MASK,
                TAG_OTHER,
            ]
            .contains(&tag)
            {
                return Err(AclError::Tag(tag));
            }
            Ok(AclEntry {
                tag,
                perm: u16::from_le_bytes([c[2], c[3]]) & 7,
                id: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
            })
        })
        .collect()
}

/// The owner and permission bits of an entry, as `lstat` gave them.
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    /// `st_uid`.
    pub uid: u32,
    /// `st_gid`.
    pub gid: u32,
    /// `st_mode & 0o7777`.
    pub mode: u32,
}

/// Whether `who` has every bit of `want` on an entry owned as `owner`, with access ACL `acl`
/// (`None` when the file has none). The superuser needs, for execute, one `x` bit anywhere.
pub fn permits(who: &Identity, owner: Owner, acl: Option<&[AclEntry]>, want: u16) -> bool {
    let has = |bits: u16| bits & want == want;
    if who.uid == 0 {
        return want & EXEC == 0 || owner.mode & 0o111 != 0;
    }
    let class = |shift: u32| u16::try_from((owner.mode >> shift) & 7).unwrap_or(0);
    let Some(acl) = acl.filter(|a| !a.is_empty()) else {
        return if who.uid == owner.uid {
            has(class(6))
        } else if who.in_group(owner.gid) {
            has(class(3))
        } else {
            has(class(0))
        };
    };
    let mask = acl.iter().find(|e| e.tag == TAG_MASK).map_or(7, |e| e.perm);
    let perm_of = |tag: u16| acl.iter().find(|e| e.tag == tag).map_or(0, |e| e.perm);
    if who.uid == owner.uid {
        return has(perm_of(TAG_USER_OBJ));
    }
    if let Some(e) = acl.iter().find(|e| e.tag == TAG_USER && e.id == who.uid) {
        return has(e.perm & mask);
    }
    let mut in_some_group = false;
    for e in acl {
        let member = match e.tag {
            TAG_GROUP_OBJ => who.in_group(owner.gid),
            TAG_GROUP => who.in_group(e.id),
            _ => false,
        };
        if member {
            in_some_group = true;
            if has(e.perm & mask) {
                return true;
            }
        }
    }
    if in_some_group {
        return false;
    }
    has(perm_of(TAG_OTHER))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn omm() -> Identity {
        Identity {
            name: "omm".into(),
            uid: 2000,
            gid: 1001,
            groups: vec![9998],
        }
    }

    fn acl(entries: &[(u16, u16, u32)]) -> Vec<u8> {
        let mut b = 2u32.to_le_bytes().to_vec();
        for (t, p, id) in entries {
            b.extend(t.to_le_bytes());
            b.extend(p.to_le_bytes());
            b.extend(id.to_le_bytes());
        }
        b
    }

    #[test]
    fn mode_bits_are_judged_for_the_sync_user_not_for_root() {
        let o = |uid, gid, mode| Owner { uid, gid, mode };
        assert!(!permits(&omm(), o(0, 0, 0o000), None, READ));
        assert!(!permits(&omm(), o(2000, 1001, 0o000), None, READ));
        assert!(permits(&omm(), o(2000, 0, 0o400), None, READ));
        assert!(permits(&omm(), o(0, 9998, 0o040), None, READ));
        assert!(
            !permits(&omm(), o(0, 9998, 0o604), None, READ),
            "group class decides"
        );
        assert!(permits(&omm(), o(0, 0, 0o644), None, READ));
        assert!(!permits(&omm(), o(0, 0, 0o604), None, READ | EXEC));
        let root = Identity { uid: 0, ..omm() };
        assert!(permits(&root, o(5, 5, 0o000), None, READ));
        assert!(!permits(&root, o(5, 5, 0o600), None, READ | EXEC));
    }

    #[test]
    fn acls_grant_and_mask_as_the_kernel_does() {
        let owner = Owner {
            uid: 0,
            gid: 0,
            mode: 0o640,
        };
        // user:omm:r--, mask r--: granted although the other bits say no.
        let a = parse_acl(&acl(&[
            (1, 6, 0),
            (2, 4, 2000),
            (4, 4, 0),
            (0x10, 4, 0),
            (0x20, 0, 0),
        ]))
        .unwrap();
        assert!(permits(&omm(), owner, Some(&a), READ));
        // The same named entry under a mask of ---.
        let masked = parse_acl(&acl(&[
            (1, 6, 0),
            (2, 4, 2000),
            (4, 4, 0),
            (0x10, 0, 0),
            (0x20, 4, 0),
        ]))
        .unwrap();
        assert!(!permits(&omm(), owner, Some(&masked), READ));
        // group:ficommon:r-- through a supplementary group.
        let g = parse_acl(&acl(&[
            (1, 6, 0),
            (4, 0, 0),
            (8, 4, 9998),
            (0x10, 4, 0),
            (0x20, 0, 0),
        ]))
        .unwrap();
        assert!(permits(&omm(), owner, Some(&g), READ));
    }

    #[test]
    fn malformed_acl_attributes_are_errors() {
        assert_eq!(parse_acl(&[2, 0]), Err(AclError::Length(2)));
        assert_eq!(
            parse_acl(&acl(&[(1, 6, 0)])[..11]),
            Err(AclError::Length(11))
        );
        assert_eq!(parse_acl(&[1, 0, 0, 0]), Err(AclError::Version(1)));
        assert_eq!(parse_acl(&acl(&[(0x40, 6, 0)])), Err(AclError::Tag(0x40)));
        assert_eq!(parse_acl(&acl(&[])), Ok(vec![]));
    }
}
