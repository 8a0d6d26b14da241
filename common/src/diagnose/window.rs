//! The time window `diagnose` reads logs in (`--since`, `--until`), and reading a log family
//! (the live file, its rotations, gzipped or not) for the lines inside it.

use std::ops::ControlFlow;
use std::path::Path;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::Evidence;
use super::log_time::line_time;
use crate::log_tail::LogFamily;

/// How far back `diagnose` reads logs when `--since` is not given.
pub const DEFAULT_LOOKBACK: std::time::Duration = std::time::Duration::from_secs(3600);

/// Matching lines kept per log family; the count of all matches is still reported.
pub const MAX_LINES: usize = 20;

/// The part of the logs a diagnosis looks at.
#[derive(Debug, Clone)]
pub struct Window {
    /// Lines written before this are skipped.
    pub since: Timestamp,
    /// Lines written after this are skipped.
    pub until: Timestamp,
    /// The zone of log times written without one.
    pub tz: TimeZone,
}

/// A `--since`/`--until` value that is neither a time nor a duration.
#[derive(Debug, thiserror::Error)]
#[error(
    "{0:?} is neither a time (2026-12-02T05:40:00Z, 2026-12-02 13:40:00 in local time) nor a duration before now (30m, 2h)"
)]
pub struct BadTime(pub String);

/// Parses a `--since`/`--until` value: an RFC 3339 time, a local `YYYY-MM-DD HH:MM[:SS]`, or a
/// duration before `now` (`90s`, `30m`, `2h`, `1d`).
pub fn parse_time(text: &str, now: Timestamp, tz: &TimeZone) -> Result<Timestamp, BadTime> {
    let bad = || BadTime(text.to_owned());
    let t = text.trim();
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Ok(dt) = t.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(tz.clone())
            .map(|z| z.timestamp())
            .map_err(|_| bad());
    }
    let ago = crate::config::parse_duration(t).map_err(|_| bad())?;
    let ago = jiff::SignedDuration::try_from(ago).map_err(|_| bad())?;
    now.checked_sub(ago).map_err(|_| bad())
}

impl Window {
    /// The window from the flags; `since` defaults to [`DEFAULT_LOOKBACK`] before `until`,
    /// `until` to now.
    pub fn from_flags(since: Option<&str>, until: Option<&str>) -> Result<Self, String> {
        let tz = TimeZone::system();
        let now = Timestamp::now();
        let until = match until {
            Some(u) => parse_time(u, now, &tz).map_err(|e| format!("--until: {e}"))?,
            None => now,
        };
        let since = match since {
            Some(s) => parse_time(s, now, &tz).map_err(|e| format!("--since: {e}"))?,
            None => until
                .checked_sub(jiff::SignedDuration::try_from(DEFAULT_LOOKBACK).unwrap_or_default())
                .unwrap_or(until),
        };
        if since > until {
            return Err(format!("--since {since} is after --until {until}"));
        }
        Ok(Self { since, until, tz })
    }

    /// Whether `t` is inside the window.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.since <= t && t <= self.until
    }
}

/// What [`Window::scan_family`] found.
#[derive(Debug, Default)]
pub struct Matches {
    /// The last [`MAX_LINES`] matching lines, oldest first, as evidence.
    pub lines: Vec<Evidence>,
    /// Every matching line in the window.
    pub total: usize,
    /// Lines in the window (matching or not).
    pub in_window: usize,
    /// Files read.
    pub files: usize,
    /// Files that could not be read whole, as text.
    pub problems: Vec<String>,
}

impl Window {
    /// Reads the log family at `base` (rotations and `.gz` included, oldest first) and keeps
    /// the lines inside the window for which `matches` is true. A line without a time of its
    /// own takes the time of the line before it (a stack trace belongs to its first line).
    pub fn scan_family(
        &self,
        base: &Path,
        mut matches: impl FnMut(&str) -> bool,
    ) -> Result<Matches, crate::log_tail::LogError> {
        let now = Timestamp::now();
        let mut out = Matches::default();
        let mut kept = std::collections::VecDeque::with_capacity(MAX_LINES);
        let mut last_time: Option<Timestamp> = None;
        let family = LogFamily::new(base);
        let report = family.scan(|path, line| {
            let t = line_time(line, &self.tz, now).or(last_time);
            last_time = t;
            let Some(t) = t else {
                return ControlFlow::Continue(());
            };
            if !self.contains(t) {
                return ControlFlow::Continue(());
            }
            out.in_window += 1;
            if matches(line) {
                out.total += 1;
                if kept.len() == MAX_LINES {
                    kept.pop_front();
                }
                kept.push_back(Evidence::log_line(path, t, line));
            }
            ControlFlow::Continue(())
        })?;
        out.lines = kept.into();
        out.files = report.files;
        out.problems = report.problems.iter().map(ToString::to_string).collect();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn flags_parse_times_and_durations() {
        let now = ts("2026-12-02T06:00:00Z");
        let tz = TimeZone::UTC;
        assert_eq!(
            parse_time("30m", now, &tz).unwrap(),
            ts("2026-12-02T05:30:00Z")
        );
        assert_eq!(
            parse_time("2026-12-02T05:00:00+08:00", now, &tz).unwrap(),
            ts("2026-12-01T21:00:00Z")
        );
        assert_eq!(
            parse_time("2026-12-02 05:10", now, &tz).unwrap(),
            ts("2026-12-02T05:10:00Z")
        );
        let e = parse_time("yesterday", now, &tz).unwrap_err().to_string();
        assert!(e.contains("\"yesterday\" is neither"), "{e}");
        assert!(Window::from_flags(Some("1h"), Some("2h")).is_err());
        let w = Window::from_flags(None, None).unwrap();
        assert_eq!(
            w.until.duration_since(w.since),
            jiff::SignedDuration::from_secs(3600)
        );
    }

    #[test]
    fn scan_reads_rotations_and_gzip_inside_the_window() {
        let dir = tempdir();
        let base = dir.join("ha.log");
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(dir.join("ha.log.2.gz")).unwrap(),
            flate2::Compression::fast(),
        );
        gz.write_all(b"[2026-12-02 03:00:00,000][ ERROR][too old]\n[2026-12-02 04:10:00,000][ ERROR][in gz]\n")
            .unwrap();
        gz.finish().unwrap();
        std::fs::write(
            dir.join("ha.log.1"),
            "[2026-12-02 04:20:00,000][  INFO][fine]\n[2026-12-02 04:30:00,000][ ERROR][in .1]\n  at frame\n",
        )
        .unwrap();
        std::fs::write(&base, "[2026-12-02 05:50:00,000][ ERROR][too new]\n").unwrap();
        let w = Window {
            since: ts("2026-12-02T04:00:00Z"),
            until: ts("2026-12-02T05:00:00Z"),
            tz: TimeZone::UTC,
        };
        let m = w
            .scan_family(&base, |l| l.contains("ERROR") || l.contains("frame"))
            .unwrap();
        assert_eq!(m.total, 3);
        assert_eq!(m.in_window, 4);
        assert_eq!(m.files, 3);
        let texts: Vec<&str> = m.lines.iter().map(|e| e.detail.as_str()).collect();
        assert_eq!(
            texts,
            [
                "[2026-12-02 04:10:00,000][ ERROR][in gz]",
                "[2026-12-02 04:30:00,000][ ERROR][in .1]",
                "  at frame"
            ]
        );
        assert_eq!(m.lines[2].time.as_deref(), Some("2026-12-02T04:30:00Z"));
        assert!(
            m.lines[0]
                .source
                .as_deref()
                .unwrap()
                .ends_with("ha.log.2.gz")
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempdir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "diagnose-window-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
