//! `os_account_expire` (document 001 §2.1, 系统账号过期时间: account and password validity):
//! when each local account, its password and the password's grace period end, from
//! `/etc/shadow` under `--path.rootfs`, by `chage -l`'s rules. Only the dates are read; the hash
//! field is skipped by the parser, so nothing derived from it can reach a label or a log line.

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::OsExporter;
use crate::parsers::shadow;

const EXPIRE: Desc = Desc::gauge(
    "os_account_expire_timestamp_seconds",
    "seconds",
    "When a local account (kind=account), its password (kind=password) or the password's \
     inactivity grace (kind=password_inactive) expires, per /etc/shadow and chage's rules; no \
     series when it never does; 0 for a password that must be changed.",
);

/// Bounds the read: a shadow file of a host with 100,000 accounts is about 10 MB.
const MAX_SHADOW_BYTES: u64 = 64 * 1024 * 1024;

/// Reads `<rootfs>/etc/shadow`.
pub(crate) struct AccountsCollector {
    paths: SysPaths,
}

impl Collector for AccountsCollector {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let path = self.paths.root("etc/shadow");
        let bytes = match common::regular_file::read_regular(&path, MAX_SHADOW_BYTES) {
            Ok(b) => b,
            // No local password database (a container, a minimal root): no accounts to expire.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            // Not root, or not a file: an error, never "nothing expires".
            Err(e) => return Err(CollectError::io(path, e)),
        };
        let mut set = MetricSet::new();
        for entry in shadow::parse(&bytes) {
            let e = entry.expiry();
            for (kind, at) in [
                ("account", e.account),
                ("password", e.password),
                ("password_inactive", e.password_inactive),
            ] {
                if let Some(at) = at {
                    set.add(&EXPIRE, &[("user", &entry.user), ("kind", kind)], at as f64);
                }
            }
        }
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="accounts"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "accounts",
    enabled_by_default: true,
    file: file!(),
    metrics: &[EXPIRE],
    build: Build::Inline(|e| {
        Ok(Some(Box::new(AccountsCollector {
            paths: e.paths.clone(),
        })))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{ctx, fixture};

    #[test]
    fn expiring_accounts_have_series_and_the_rest_none() {
        // The fixture's shadow lines are what useradd and chage --root wrote (fixtures/README.md).
        let set = AccountsCollector {
            paths: fixture("swap"),
        }
        .collect(&ctx())
        .unwrap();
        let v = |user: &str, kind: &str| {
            set.value(
                "os_account_expire_timestamp_seconds",
                &[("user", user), ("kind", kind)],
            )
        };
        assert_eq!(v("alice", "account"), Some(20_878.0 * 86_400.0));
        assert_eq!(v("alice", "password"), Some(20_848.0 * 86_400.0));
        assert_eq!(v("alice", "password_inactive"), Some(20_878.0 * 86_400.0));
        assert_eq!(v("bob", "password"), Some(0.0));
        assert_eq!(v("bob", "account"), None);
        assert_eq!(v("root", "password"), None);
    }

    #[test]
    fn a_missing_file_is_no_accounts_and_an_unreadable_one_an_error() {
        let dir = std::env::temp_dir().join(format!("os-accounts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let c = AccountsCollector {
            paths: SysPaths::fixture(&dir),
        };
        assert!(
            !c.collect(&ctx())
                .unwrap()
                .has("os_account_expire_timestamp_seconds")
        );
        // A directory where the file should be: not a regular file, an error naming it.
        std::fs::create_dir_all(dir.join("etc/shadow")).unwrap();
        let err = c.collect(&ctx()).unwrap_err();
        assert!(err.to_string().contains("etc/shadow"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
