//! `/etc/shadow`: per account the dates that make it expire, by `chage -l`'s rules (shadow-utils
//! `src/chage.c`). The password hash (field 2) is skipped unread: nothing derived from it is kept.

/// Seconds in a day: shadow dates are days since 1970-01-01.
const DAY: i64 = 86_400;

/// The expiry-related fields of one shadow line; `None` is an empty (unset) field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowEntry {
    /// Login name (field 1).
    pub user: String,
    /// Day of the last password change (field 3); 0 means "must change at next login".
    pub last_change: Option<i64>,
    /// Maximum password age in days (field 5).
    pub max_days: Option<i64>,
    /// Days after password expiry until the account is disabled (field 7).
    pub inactive_days: Option<i64>,
    /// Day the account expires (field 8).
    pub expire: Option<i64>,
}

/// When an account's account, password and password-inactivity periods end, in seconds since
/// the epoch; `None` is "never". A password that must be changed expired at the epoch (0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Expiry {
    /// `chage -l`'s "Account expires".
    pub account: Option<i64>,
    /// "Password expires".
    pub password: Option<i64>,
    /// "Password inactive".
    pub password_inactive: Option<i64>,
}

fn field(f: Option<&str>) -> Option<i64> {
    let f = f?.trim();
    if f.is_empty() { None } else { f.parse().ok() }
}

/// Every well-formed line: a name and at least the eight colon-separated fields up to `expire`
/// (the ninth, reserved, may be absent). Comment, blank and short lines are skipped; a number
/// field that does not parse counts as unset, as shadow-utils' own reader treats it.
pub fn parse(bytes: &[u8]) -> Vec<ShadowEntry> {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .filter_map(|line| {
            let mut f = line.split(':');
            let user = f.next()?.trim();
            if user.is_empty() || user.starts_with('#') {
                return None;
            }
            // Field 2, the hash: skipped, never stored.
            f.next()?;
            let last_change = field(f.next());
            let _min = f.next()?;
            let max_days = field(f.next());
            let _warn = f.next()?;
            let inactive_days = field(f.next());
            let expire = field(Some(f.next()?));
            Some(ShadowEntry {
                user: user.to_owned(),
                last_change,
                max_days,
                inactive_days,
                expire,
            })
        })
        .collect()
}

impl ShadowEntry {
    /// The three end dates as `chage -l` prints them.
    pub fn expiry(&self) -> Expiry {
        let account = self
            .expire
            .filter(|d| *d >= 0)
            .map(|d| d.saturating_mul(DAY));
        let (password, password_inactive) = match (self.last_change, self.max_days) {
            // "password must be changed": all three password lines say so.
            (Some(0), _) => (Some(0), Some(0)),
            // chage: lastchg < 0, maxdays >= 10000 or < 0 mean "never".
            (Some(last), Some(max)) if last > 0 && (0..10_000).contains(&max) => {
                let expires = last.saturating_add(max);
                let inactive = self
                    .inactive_days
                    .filter(|d| *d >= 0)
                    .map(|d| expires.saturating_add(d).saturating_mul(DAY));
                (Some(expires.saturating_mul(DAY)), inactive)
            }
            _ => (None, None),
        };
        Expiry {
            account,
            password,
            password_inactive,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> ShadowEntry {
        let mut v = parse(line.as_bytes());
        assert_eq!(v.len(), 1, "{line}");
        v.remove(0)
    }

    #[test]
    fn dates_follow_chage() {
        // Lines as useradd/chage --root wrote them, and what `chage -l --root` printed for them:
        // alice: changed Nov 01 2026, password expires Jan 30 2027, inactive Mar 01 2027,
        // account expires Mar 01 2027.
        let alice = one("alice:!:20758::90::30:20878:").expiry();
        assert_eq!(alice.password, Some(20_848 * DAY));
        assert_eq!(alice.password_inactive, Some(20_878 * DAY));
        assert_eq!(alice.account, Some(20_878 * DAY));
        // bob must change his password: expired at the epoch; the account never expires.
        let bob = one("bob:!:0::::::").expiry();
        assert_eq!(bob.password, Some(0));
        assert_eq!(bob.password_inactive, Some(0));
        assert_eq!(bob.account, None);
        // Debian's root: max 99999 is "never".
        assert_eq!(one("root:*:20000:0:99999:7:::").expiry(), Expiry::default());
        // No last change: never; no inactivity period: never inactive.
        assert_eq!(
            one("dave:$6$x$y::0:90:7:::").expiry().password,
            None,
            "no last change"
        );
        let erin = one("erin:x:20000:0:90:7::20500:").expiry();
        assert_eq!(erin.password, Some(20_090 * DAY));
        assert_eq!(erin.password_inactive, None);
        assert_eq!(erin.account, Some(20_500 * DAY));
    }

    #[test]
    fn the_hash_is_not_kept_and_bad_lines_are_skipped() {
        let v = parse(b"# comment\n\nshort:x:1\n:x:1:2:3:4:5:6:\nok:$6$salt$hash:1:2:3:4:5:6\n");
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].user, "ok");
        assert!(!format!("{:?}", v[0]).contains("salt"));
        // A field that is not a number is unset, not an error.
        assert_eq!(one("f:x:abc:0:90:7:::").last_change, None);
        // Absurd days saturate instead of overflowing (found by the os_shadow fuzz target).
        let e = one("y::9223372036854775807:0:9999:7:9223372036854775807:9223372036854775807:")
            .expiry();
        assert_eq!(e.account, Some(i64::MAX));
        assert_eq!(e.password_inactive, Some(i64::MAX));
    }
}
