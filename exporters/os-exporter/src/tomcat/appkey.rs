//! The "Property File Not Found" fault of document 001 §3.5: the product reads
//! `secretAppkey.properties` from the path in `secas_keystore_appkey_file` of its
//! `application.properties`, or from the default directory when the property is unset. This
//! resolves that path the same way and checks the file is there and readable by Tomcat's user.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use super::config::{APPKEY_FILE, APPKEY_PROPERTY};

/// The value of `key` in Java properties text (`key=value`, `key: value` or `key value`; `#` and
/// `!` start comments; the last definition wins, as `Properties.load` does). Line continuations
/// and escapes are not interpreted.
pub(crate) fn property<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let mut found = None;
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let end = line
            .find(|c: char| c == '=' || c == ':' || c.is_whitespace())
            .unwrap_or(line.len());
        if &line[..end] != key {
            continue;
        }
        let rest = line[end..].trim_start();
        let rest = rest
            .strip_prefix('=')
            .or_else(|| rest.strip_prefix(':'))
            .unwrap_or(rest);
        found = Some(rest.trim());
    }
    found
}

/// The appkey file the product will look for: the property's value when set and not empty,
/// else `default_dir/secretAppkey.properties`. A missing `application.properties` is the same
/// as the property unset.
pub(crate) fn resolve(properties_text: Option<&str>, default_dir: &Path) -> PathBuf {
    match properties_text.and_then(|t| property(t, APPKEY_PROPERTY)) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => default_dir.join(APPKEY_FILE),
    }
}

/// A user's uid, primary gid and supplementary gids, from `passwd` and `group` texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct User {
    /// uid.
    pub(crate) uid: u32,
    /// Every gid the user is in.
    pub(crate) gids: Vec<u32>,
}

/// Looks `name` up in `/etc/passwd` and `/etc/group` texts.
pub(crate) fn lookup_user(name: &str, passwd: &str, group: &str) -> Option<User> {
    let fields: Vec<&str> = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&name))?;
    let uid = fields.get(2)?.parse().ok()?;
    let mut gids = vec![fields.get(3)?.parse().ok()?];
    for l in group.lines() {
        let f: Vec<&str> = l.split(':').collect();
        if f.get(3).is_some_and(|m| m.split(',').any(|u| u == name))
            && let Some(g) = f.get(2).and_then(|g| g.parse().ok())
        {
            gids.push(g);
        }
    }
    Some(User { uid, gids })
}

/// Whether a file of `mode`, `owner`, `group` grants `user` read by its permission bits (root
/// reads anything; ACLs and the directories on the way are not checked).
pub(crate) fn readable_by(mode: u32, owner: u32, group: u32, user: &User) -> bool {
    if user.uid == 0 {
        return true;
    }
    if owner == user.uid {
        return mode & 0o400 != 0;
    }
    if user.gids.contains(&group) {
        return mode & 0o040 != 0;
    }
    mode & 0o004 != 0
}

/// The verdict of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Check {
    /// The file looked for (as the product sees it, without the root).
    pub(crate) path: PathBuf,
    /// It is a regular file, and readable by the user when one is configured.
    pub(crate) ok: bool,
    /// Why not, for the log.
    pub(crate) reason: Option<String>,
}

/// Resolves and checks the appkey file under `root` (`--path.rootfs`).
pub(crate) fn check(
    root: &dyn Fn(&Path) -> PathBuf,
    application_properties: &Path,
    default_dir: &Path,
    user: Option<&str>,
) -> Check {
    let text = std::fs::read_to_string(root(application_properties)).ok();
    let path = resolve(text.as_deref(), default_dir);
    let fail = |reason: String| Check {
        path: path.clone(),
        ok: false,
        reason: Some(reason),
    };
    let meta = match std::fs::metadata(root(&path)) {
        Ok(m) if m.is_file() => m,
        Ok(_) => return fail(format!("{} is not a regular file", path.display())),
        Err(e) => return fail(format!("{}: {e}", path.display())),
    };
    if let Some(name) = user {
        let passwd = std::fs::read_to_string(root(Path::new("/etc/passwd"))).unwrap_or_default();
        let group = std::fs::read_to_string(root(Path::new("/etc/group"))).unwrap_or_default();
        let Some(u) = lookup_user(name, &passwd, &group) else {
            return fail(format!("user {name:?} is not in /etc/passwd"));
        };
        if !readable_by(meta.mode(), meta.uid(), meta.gid(), &u) {
            return fail(format!(
                "{} (mode {:o}, uid {}, gid {}) is not readable by {name}",
                path.display(),
                meta.mode() & 0o7777,
                meta.uid(),
                meta.gid()
            ));
        }
    }
    Check {
        path,
        ok: true,
        reason: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_forms() {
        let t = "# secas_keystore_appkey_file=/no\n! x\nsecas_keystore_appkey_file = /a/secretAppkey.properties\nother=1\n";
        assert_eq!(
            property(t, APPKEY_PROPERTY),
            Some("/a/secretAppkey.properties")
        );
        assert_eq!(
            property("secas_keystore_appkey_file:/b", APPKEY_PROPERTY),
            Some("/b")
        );
        assert_eq!(
            property("secas_keystore_appkey_file /c", APPKEY_PROPERTY),
            Some("/c")
        );
        assert_eq!(
            property("secas_keystore_appkey_file_x=/d", APPKEY_PROPERTY),
            None
        );
        assert_eq!(property("a=1\na=2", "a"), Some("2"));
    }

    #[test]
    fn unset_or_empty_means_the_default_directory() {
        let d = Path::new("/opt/cloud/3rdComponent/tomcat/conf/keystore");
        let want = d.join("secretAppkey.properties");
        assert_eq!(resolve(None, d), want);
        assert_eq!(resolve(Some("x=1"), d), want);
        assert_eq!(resolve(Some("secas_keystore_appkey_file="), d), want);
        assert_eq!(
            resolve(
                Some("secas_keystore_appkey_file=/k/secretAppkey.properties"),
                d
            ),
            PathBuf::from("/k/secretAppkey.properties")
        );
    }

    #[test]
    fn permission_bits() {
        let passwd =
            "root:x:0:0::/root:/bin/sh\ntomcat:x:997:997::/var/lib/tomcat:/usr/sbin/nologin\n";
        let group = "adm:x:4:syslog,tomcat\ntomcat:x:997:\n";
        let u = lookup_user("tomcat", passwd, group).unwrap();
        assert_eq!(
            u,
            User {
                uid: 997,
                gids: vec![997, 4]
            }
        );
        assert!(readable_by(0o600, 997, 0, &u));
        assert!(!readable_by(0o600, 0, 0, &u));
        assert!(readable_by(0o640, 0, 4, &u));
        assert!(
            !readable_by(0o604, 0, 4, &u),
            "group bits decide for a member"
        );
        assert!(readable_by(0o644, 0, 0, &u));
        assert!(lookup_user("nobody", passwd, group).is_none());
    }

    #[test]
    fn checks_a_real_file() {
        let d = std::env::temp_dir().join(format!("appkey-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let props = d.join("application.properties");
        let key = d.join("secretAppkey.properties");
        std::fs::write(
            &props,
            format!("secas_keystore_appkey_file={}\n", key.display()),
        )
        .unwrap();
        let root = |p: &Path| p.to_path_buf();
        let c = check(&root, &props, Path::new("/nonexistent"), None);
        assert!(!c.ok);
        assert_eq!(c.path, key);
        std::fs::write(&key, "k=v\n").unwrap();
        assert!(check(&root, &props, Path::new("/nonexistent"), None).ok);
        // Without the properties file: the default directory.
        let c = check(&root, &d.join("missing.properties"), &d, None);
        assert!(c.ok, "{c:?}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
