//! One line of a syslog file as rsyslog writes it: the traditional format (`Dec  1 10:24:19 host
//! prog[pid]: text`, RHEL/EulerOS `/var/log/messages`: no year, no zone, no severity) or RFC 3339
//! (`2026-12-01T10:24:19.725742+00:00 host prog[pid]: text`, Debian 12's default).

/// Seconds in a day.
const DAY: i64 = 86_400;

/// When a line was logged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stamp {
    /// Traditional: seconds since the start of its (unknown) year, local time.
    InYear(i64),
    /// RFC 3339: seconds since the epoch.
    Epoch(f64),
}

/// A parsed line: its time, the program tag and the text after `prog[pid]: `.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line<'a> {
    /// When it was logged.
    pub stamp: Stamp,
    /// The program (`cron` of `CRON[123]:`), empty when the line has none.
    pub program: &'a str,
    /// The message.
    pub message: &'a str,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days before the first of `month` (1-12) in a non-leap year.
const DAYS_BEFORE: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 9 {
        return None;
    }
    s.parse().ok()
}

fn hms(s: &str) -> Option<i64> {
    let mut p = s.split(':');
    let (h, m, sec) = (digits(p.next()?)?, digits(p.next()?)?, digits(p.next()?)?);
    (p.next().is_none() && h < 24 && m < 60 && sec <= 60).then_some(h * 3600 + m * 60 + sec)
}

/// `Mmm dd HH:MM:SS ` at the start; the rest of the line after it.
fn traditional(line: &str) -> Option<(i64, &str)> {
    let month = MONTHS.iter().position(|m| line.get(..3) == Some(*m))?;
    let rest = line.get(3..)?.strip_prefix(' ')?.trim_start_matches(' ');
    let (day, rest) = rest.split_once(' ')?;
    let day = digits(day).filter(|d| (1..=31).contains(d))?;
    let (time, rest) = rest.split_once(' ')?;
    let secs = hms(time)?;
    let month = i64::try_from(month).ok()?;
    let days = DAYS_BEFORE[usize::try_from(month).ok()?] + day - 1;
    Some((days * DAY + secs, rest))
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM) ` at the start; the rest after it.
fn rfc3339(line: &str) -> Option<(f64, &str)> {
    let (ts, rest) = line.split_once(' ')?;
    let (date, time) = ts.split_once('T')?;
    let mut d = date.split('-');
    let (y, m, day) = (digits(d.next()?)?, digits(d.next()?)?, digits(d.next()?)?);
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let (clock, offset) = if let Some(c) = time.strip_suffix('Z') {
        (c, 0)
    } else {
        let at = time.rfind(['+', '-'])?;
        let (c, o) = time.split_at(at);
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let (oh, om) = o.get(1..)?.split_once(':')?;
        (c, sign * (digits(oh)? * 3600 + digits(om)? * 60))
    };
    let (whole, frac) = match clock.split_once('.') {
        Some((w, f)) => (w, f),
        None => (clock, ""),
    };
    let secs = hms(whole)?;
    let frac = if frac.is_empty() {
        0.0
    } else {
        digits(frac.get(..frac.len().min(9))?)? as f64
            / 10f64.powi(i32::try_from(frac.len().min(9)).ok()?)
    };
    let epoch = days_from_civil(y, m, day) * DAY + secs - offset;
    #[allow(clippy::cast_precision_loss)]
    Some((epoch as f64 + frac, rest))
}

/// `host prog[pid]: message` (or `host prog: message`); without a tag, all of it is the message.
fn tag(rest: &str) -> (&str, &str) {
    let Some((_host, after)) = rest.split_once(' ') else {
        return ("", rest);
    };
    match after.split_once(": ") {
        Some((t, msg)) if !t.is_empty() && !t.contains(' ') => {
            (t.split_once('[').map_or(t, |(p, _)| p), msg)
        }
        _ => ("", after),
    }
}

/// Parses one line; `None` when it does not start with either timestamp.
pub fn parse(line: &str) -> Option<Line<'_>> {
    let (stamp, rest) = match traditional(line) {
        Some((s, rest)) => (Stamp::InYear(s), rest),
        None => {
            let (e, rest) = rfc3339(line)?;
            (Stamp::Epoch(e), rest)
        }
    };
    let (program, message) = tag(rest);
    Some(Line {
        stamp,
        program,
        message,
    })
}

/// Seconds from `first` to `last` (lines in file order). A traditional stamp has no year: a
/// later line with a smaller stamp crossed New Year. Mixed formats cannot be compared: `None`.
pub fn span(first: Stamp, last: Stamp) -> Option<f64> {
    match (first, last) {
        (Stamp::InYear(a), Stamp::InYear(b)) => {
            // Stamps count days as in a 365-day year (no Feb 29); a log window does not cover more
            // than one New Year.
            let d = if b >= a { b - a } else { b + 365 * DAY - a };
            #[allow(clippy::cast_precision_loss)]
            Some(d as f64)
        }
        (Stamp::Epoch(a), Stamp::Epoch(b)) => Some((b - a).max(0.0)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_as_rsyslog_writes_them() {
        // research/os_services_logs_time.md §4.2, a private rsyslogd fed by logger.
        let l = parse("Dec  1 10:24:19 vm myd: os-exporter research: test error line").unwrap();
        assert_eq!(l.program, "myd");
        assert_eq!(l.message, "os-exporter research: test error line");
        assert_eq!(l.stamp, Stamp::InYear(334 * DAY + 10 * 3600 + 24 * 60 + 19));
        let l = parse(
            "2026-12-01T10:24:19.725742+00:00 vm CRON[20179]: (root) CMD ([20183] /bin/false)",
        )
        .unwrap();
        assert_eq!(l.program, "CRON");
        assert_eq!(l.message, "(root) CMD ([20183] /bin/false)");
        match l.stamp {
            Stamp::Epoch(e) => assert!((e - 1_796_120_659.725_742).abs() < 1e-5, "{e}"),
            s => panic!("{s:?}"),
        }
        let k = parse("Dec  1 10:24:18 vm kernel: [  505.063191] EXT4-fs (loop0): VFS: Can't find ext4 filesystem").unwrap();
        assert_eq!(k.program, "kernel");
    }

    #[test]
    fn offsets_new_year_and_garbage() {
        let a = parse("2026-12-01T10:00:00+08:00 h p: x").unwrap().stamp;
        let b = parse("2026-12-01T02:00:01Z h p: x").unwrap().stamp;
        assert_eq!(span(a, b), Some(1.0));
        let dec = parse("Dec 31 23:59:59 h p: x").unwrap().stamp;
        let jan = parse("Jan  1 00:00:01 h p: x").unwrap().stamp;
        assert_eq!(span(dec, jan), Some(2.0));
        assert_eq!(span(dec, a), None);
        for bad in [
            "",
            "Dec",
            "Foo  1 10:00:00 h p: x",
            "Dec 32 10:00:00 h",
            "Dec  1 25:00:00 h",
            "\u{0}\u{1}binary",
            "2026-13-01T00:00:00Z h",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
        // A line without a tag is all message.
        assert_eq!(parse("Dec  1 10:00:00 host just text").unwrap().program, "");
    }
}
