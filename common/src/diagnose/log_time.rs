//! The time a log line was written, read from the shapes the documents' logs use, so
//! `diagnose --since` can pick the lines around an alarm:
//!
//! * ISO 8601 anywhere near the start: etcd's zap JSON (`"ts":"2026-12-02T05:45:08.123Z"`),
//!   capnslog (`2026-12-02 05:45:08.123456 W | ...`), log4j (`2026-12-02 05:45:08,123 ERROR`),
//!   HA's ha.log (`[2021-03-22 14:03:35,339][...]`), rsyslog's RFC 3339 prefix;
//! * BSD syslog (`Dec  2 05:45:08 host prog[1]: ...`), whose year is the latest that does not
//!   put the line in the future;
//! * Tomcat's JULI (`02-Dec-2026 05:45:08.123 SEVERE ...`);
//! * C's `ctime` (`Wed Dec  2 05:45:08 2026: ...`), keepalived's own log (`-l`, `--log-console`).
//!
//! A time without a zone is local time in `tz` (the host's zone, as the logger wrote it).

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;

/// How far into a line a timestamp is looked for: past a JSON level field or a bracket, not
/// into the message.
const SEARCH: usize = 64;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The time `line` was written, when it starts with one of the known shapes. `now` settles the
/// year of a BSD syslog line.
pub fn line_time(line: &str, tz: &TimeZone, now: Timestamp) -> Option<Timestamp> {
    let head = head(line);
    iso(head, tz)
        .or_else(|| bsd_syslog(head, tz, now))
        .or_else(|| juli(head, tz))
        .or_else(|| ctime(head, tz))
}

/// At most [`SEARCH`] bytes of `line`, cut at a character boundary.
fn head(line: &str) -> &str {
    let mut end = line.len().min(SEARCH);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}

fn digits(s: &[u8], at: usize, n: usize) -> Option<i32> {
    let part = s.get(at..at + n)?;
    if !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        part.iter()
            .fold(0i32, |acc, d| acc * 10 + i32::from(d - b'0')),
    )
}

/// `HH:MM:SS` at `at`, then an optional fraction after `.` or `,`; returns the time and the
/// index after it.
fn clock(s: &[u8], at: usize) -> Option<(Time, usize)> {
    let h = digits(s, at, 2)?;
    let m = digits(s, at + 3, 2)?;
    let sec = digits(s, at + 6, 2)?;
    if s.get(at + 2) != Some(&b':') || s.get(at + 5) != Some(&b':') {
        return None;
    }
    let mut end = at + 8;
    let mut nanos = 0i32;
    if matches!(s.get(end), Some(b'.' | b',')) {
        let start = end + 1;
        let mut i = start;
        while s.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i > start {
            let mut scale = 100_000_000;
            for &d in &s[start..i.min(start + 9)] {
                nanos += i32::from(d - b'0') * scale;
                scale /= 10;
            }
            end = i;
        }
    }
    let t = Time::new(
        i8::try_from(h).ok()?,
        i8::try_from(m).ok()?,
        i8::try_from(sec).ok()?,
        nanos,
    )
    .ok()?;
    Some((t, end))
}

/// `Z`, `+HH:MM`, `+HHMM` or `+HH` at `at`, in seconds east of UTC.
fn offset(s: &[u8], at: usize) -> Option<i32> {
    match s.get(at)? {
        b'Z' | b'z' => Some(0),
        sign @ (b'+' | b'-') => {
            let h = digits(s, at + 1, 2)?;
            let m = if s.get(at + 3) == Some(&b':') {
                digits(s, at + 4, 2)?
            } else {
                digits(s, at + 3, 2).unwrap_or(0)
            };
            let secs = h * 3600 + m * 60;
            Some(if *sign == b'-' { -secs } else { secs })
        }
        _ => None,
    }
}

fn resolve(dt: DateTime, off: Option<i32>, tz: &TimeZone) -> Option<Timestamp> {
    match off {
        Some(secs) => {
            let utc = dt.to_zoned(TimeZone::UTC).ok()?.timestamp();
            utc.checked_sub(jiff::SignedDuration::from_secs(i64::from(secs)))
                .ok()
        }
        None => Some(dt.to_zoned(tz.clone()).ok()?.timestamp()),
    }
}

/// The first `YYYY-MM-DD[T ]HH:MM:SS...` in `head`.
fn iso(head: &str, tz: &TimeZone) -> Option<Timestamp> {
    let s = head.as_bytes();
    (0..s.len()).find_map(|i| {
        // Only at the start of a token, so a number in a prefix is not read as a year.
        if i > 0 && s[i - 1].is_ascii_alphanumeric() {
            return None;
        }
        let y = digits(s, i, 4)?;
        if s.get(i + 4) != Some(&b'-') || s.get(i + 7) != Some(&b'-') {
            return None;
        }
        let mo = digits(s, i + 5, 2)?;
        let d = digits(s, i + 8, 2)?;
        if !matches!(s.get(i + 10), Some(b'T' | b't' | b' ')) {
            return None;
        }
        let (t, end) = clock(s, i + 11)?;
        let date = Date::new(
            i16::try_from(y).ok()?,
            i8::try_from(mo).ok()?,
            i8::try_from(d).ok()?,
        )
        .ok()?;
        resolve(date.to_datetime(t), offset(s, end), tz)
    })
}

fn month(name: &[u8]) -> Option<i8> {
    let i = MONTHS.iter().position(|m| m.as_bytes() == name)?;
    i8::try_from(i + 1).ok()
}

/// `Mon DD HH:MM:SS` at the start of `head` (the day padded with a space or a zero).
fn bsd_syslog(head: &str, tz: &TimeZone, now: Timestamp) -> Option<Timestamp> {
    let s = head.as_bytes();
    let mo = month(s.get(0..3)?)?;
    if s.get(3) != Some(&b' ') {
        return None;
    }
    let day_text = s.get(4..6)?;
    let day = match day_text {
        [b' ', d] if d.is_ascii_digit() => i8::try_from(d - b'0').ok()?,
        _ => i8::try_from(digits(s, 4, 2)?).ok()?,
    };
    if s.get(6) != Some(&b' ') {
        return None;
    }
    let (t, _) = clock(s, 7)?;
    let this_year = now.to_zoned(tz.clone()).year();
    // A line from late December read in January belongs to last year.
    let tolerance = jiff::SignedDuration::from_hours(24);
    [this_year, this_year - 1].into_iter().find_map(|y| {
        let date = Date::new(y, mo, day).ok()?;
        let ts = resolve(date.to_datetime(t), None, tz)?;
        let limit = now.checked_add(tolerance).ok()?;
        (ts <= limit).then_some(ts)
    })
}

/// `DD-Mon-YYYY HH:MM:SS` at the start of `head`.
fn juli(head: &str, tz: &TimeZone) -> Option<Timestamp> {
    let s = head.as_bytes();
    let d = digits(s, 0, 2)?;
    if s.get(2) != Some(&b'-') || s.get(6) != Some(&b'-') || s.get(11) != Some(&b' ') {
        return None;
    }
    let mo = month(s.get(3..6)?)?;
    let y = digits(s, 7, 4)?;
    let (t, _) = clock(s, 12)?;
    let date = Date::new(i16::try_from(y).ok()?, mo, i8::try_from(d).ok()?).ok()?;
    resolve(date.to_datetime(t), None, tz)
}

/// `Www Mon DD HH:MM:SS YYYY` at the start of `head` (the day padded with a space or a zero).
fn ctime(head: &str, tz: &TimeZone) -> Option<Timestamp> {
    const DAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
    let s = head.as_bytes();
    if !DAYS.contains(&s.get(0..3)?) || s.get(3) != Some(&b' ') || s.get(7) != Some(&b' ') {
        return None;
    }
    let mo = month(s.get(4..7)?)?;
    let day = match s.get(8..10)? {
        [b' ', d] if d.is_ascii_digit() => i8::try_from(d - b'0').ok()?,
        _ => i8::try_from(digits(s, 8, 2)?).ok()?,
    };
    if s.get(10) != Some(&b' ') || s.get(19) != Some(&b' ') {
        return None;
    }
    let (t, _) = clock(s, 11)?;
    let y = digits(s, 20, 4)?;
    let date = Date::new(i16::try_from(y).ok()?, mo, day).ok()?;
    resolve(date.to_datetime(t), None, tz)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn at(line: &str) -> Option<String> {
        line_time(line, &TimeZone::UTC, utc("2026-12-02T06:00:00Z")).map(|t| t.to_string())
    }

    #[test]
    fn etcd_zap_json() {
        assert_eq!(
            at(r#"{"level":"warn","ts":"2026-12-02T05:45:08.123456Z","caller":"rafthttp/probing_status.go:68","msg":"prober detected unhealthy status"}"#).as_deref(),
            Some("2026-12-02T05:45:08.123456Z")
        );
        assert_eq!(
            at(r#"{"level":"info","ts":"2026-12-02T13:45:08.1+08:00","msg":"x"}"#).as_deref(),
            Some("2026-12-02T05:45:08.1Z")
        );
    }

    #[test]
    fn capnslog_log4j_and_ha_log() {
        assert_eq!(
            at("2026-12-02 05:45:08.123456 W | rafthttp: health check failed").as_deref(),
            Some("2026-12-02T05:45:08.123456Z")
        );
        assert_eq!(
            at("2026-12-02 05:45:08,339 ERROR [main] c.h.ic.Server - boom").as_deref(),
            Some("2026-12-02T05:45:08.339Z")
        );
        assert_eq!(
            at("[2021-03-22 14:03:35,339][10195489349][0][ ERROR][TaskEnd Failed][HA]").as_deref(),
            Some("2021-03-22T14:03:35.339Z")
        );
        assert_eq!(
            at("2026-12-02T05:45:08+0100 host kernel: x").as_deref(),
            Some("2026-12-02T04:45:08Z")
        );
    }

    #[test]
    fn bsd_syslog_takes_the_year_that_is_not_in_the_future() {
        assert_eq!(
            at("Dec  2 05:45:08 lb1 Keepalived_vrrp[812]: VRRP_Instance(VI_1) Entering MASTER STATE").as_deref(),
            Some("2026-12-02T05:45:08Z")
        );
        assert_eq!(
            at("Dec 31 23:59:59 lb1 x").as_deref(),
            Some("2025-12-31T23:59:59Z")
        );
        assert_eq!(at("Dex  2 05:45:08 lb1 x"), None);
    }

    #[test]
    fn tomcat_juli() {
        assert_eq!(
            at("02-Dec-2026 05:45:08.123 SEVERE [main] org.apache.catalina.startup.Catalina.start")
                .as_deref(),
            Some("2026-12-02T05:45:08.123Z")
        );
    }

    #[test]
    fn ctime_of_keepalived_console_log() {
        assert_eq!(
            at("Wed Dec  2 05:55:22 2026: (VI_1) Entering FAULT STATE").as_deref(),
            Some("2026-12-02T05:55:22Z")
        );
        assert_eq!(
            at("Thu Dec 03 05:55:22 2026: x").as_deref(),
            Some("2026-12-03T05:55:22Z")
        );
        assert_eq!(at("Wex Dec  2 05:55:22 2026: x"), None);
        assert_eq!(at("Wed Dec  2 05:55:22 20x6: x"), None);
    }

    #[test]
    fn local_time_follows_the_zone() {
        let shanghai = TimeZone::get("Asia/Shanghai").unwrap();
        let t = line_time(
            "2026-12-02 13:45:08,000 ERROR x",
            &shanghai,
            utc("2026-12-02T06:00:00Z"),
        );
        assert_eq!(
            t.map(|t| t.to_string()).as_deref(),
            Some("2026-12-02T05:45:08Z")
        );
    }

    #[test]
    fn lines_without_a_time_and_junk() {
        assert_eq!(at("panic: runtime error"), None);
        assert_eq!(at("v12026-12-02 05:45:08"), None);
        assert_eq!(at("2026-13-02 05:45:08 bad month"), None);
        assert_eq!(at("2026-12-02 25:45:08 bad hour"), None);
        assert_eq!(at("2026-12-02"), None);
        assert_eq!(at(""), None);
        assert_eq!(
            at("日志 2026-12-02 05:45:08 中文前缀").as_deref(),
            Some("2026-12-02T05:45:08Z")
        );
        let long = "é".repeat(100);
        assert_eq!(at(&long), None);
    }
}
