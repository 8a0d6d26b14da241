//! Following a Tomcat log whose name carries the day (`prefix.2026-12-01.suffix`, the valve's
//! default `rotatable="true"`): the newest dated file is tailed, and when a newer day's file
//! appears the old one is drained through its open handle first (that handle survives Debian's
//! daily cron gzipping and deleting it), then the new one is read from its start. With an empty
//! date format the file is `prefix` + `suffix`, followed as one file.
//!
//! At start the newest file is read from its end (counters start at 0, history is not
//! re-counted); a day's file that appears later is read whole. Gzipped days are never read:
//! they are history by the time the cron job compresses them.

use std::path::PathBuf;

use common::CollectError;
use common::log_tail::{LogTail, StartAt};
use regex::Regex;

/// The regular expression matching what `format` (Java `SimpleDateFormat`) prints, with one
/// capture per field, largest unit first, so captures compare as dates.
pub(crate) fn date_regex(format: &str) -> Result<Option<String>, String> {
    if format.is_empty() {
        return Ok(None);
    }
    let mut re = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        let mut n = 1;
        while chars.peek() == Some(&c) {
            chars.next();
            n += 1;
        }
        match c {
            'y' | 'M' | 'd' | 'H' | 'm' | 's' => {
                re.push_str(&format!(r"(\d{{{n}}})"));
            }
            c if c.is_ascii_alphabetic() => {
                return Err(format!(
                    "file_date_format: the letter {c:?} is not supported (y M d H m s are)"
                ));
            }
            '\'' => return Err("file_date_format: quoted text is not supported".to_owned()),
            c => re.push_str(&regex::escape(&c.to_string()).repeat(n)),
        }
    }
    Ok(Some(re))
}

/// An incremental reader of a dated log family.
#[derive(Debug)]
pub(crate) struct DailyTail {
    dir: PathBuf,
    prefix: String,
    suffix: String,
    /// `prefix.DATE.suffix`, date fields captured; `None`: not rotatable.
    name_re: Option<Regex>,
    /// The file followed (its name) and its reader.
    current: Option<(String, LogTail)>,
    /// Whether the directory has been looked at (the first look starts at the end).
    looked: bool,
    /// Where the first look starts.
    start: StartAt,
}

impl DailyTail {
    /// A reader of `dir/prefix[.DATE]suffix`; `date_format` was validated.
    pub(crate) fn new(dir: PathBuf, prefix: &str, suffix: &str, date_format: &str) -> Self {
        let name_re = date_regex(date_format).ok().flatten().and_then(|d| {
            Regex::new(&format!(
                "^{}\\.{d}{}$",
                regex::escape(prefix),
                regex::escape(suffix)
            ))
            .ok()
        });
        Self {
            dir,
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
            name_re,
            current: None,
            looked: false,
            start: StartAt::End,
        }
    }

    /// Reads what the first look finds from its start (counting history).
    pub(crate) fn reading_history(mut self) -> Self {
        self.start = StartAt::Beginning;
        self
    }

    /// The file being read, if any.
    #[cfg(test)]
    pub(crate) fn current(&self) -> Option<&std::path::Path> {
        self.current.as_ref().map(|(_, t)| t.path())
    }

    /// The newest dated file's name, by its date fields.
    fn newest(&self, re: &Regex) -> Result<Option<String>, CollectError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            // No directory yet (Tomcat not installed or started yet): no lines.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(CollectError::io(&self.dir, e)),
        };
        let mut best: Option<(Vec<String>, String)> = None;
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let Some(c) = re.captures(&name) else {
                continue;
            };
            let key: Vec<String> = c
                .iter()
                .skip(1)
                .flatten()
                .map(|m| m.as_str().to_owned())
                .collect();
            if best.as_ref().is_none_or(|(k, _)| key > *k) {
                best = Some((key, name));
            }
        }
        Ok(best.map(|(_, n)| n))
    }

    /// Hands every line written since the last call to `each`, oldest first.
    pub(crate) fn read_lines(&mut self, mut each: impl FnMut(&str)) -> Result<(), CollectError> {
        let first = !self.looked;
        self.looked = true;
        let target = match &self.name_re {
            None => Some(format!("{}{}", self.prefix, self.suffix)),
            Some(re) => self.newest(re)?,
        };
        if let Some(target) = target {
            let switch = self.current.as_ref().is_none_or(|(n, _)| *n != target);
            if switch {
                if let Some((_, mut old)) = self.current.take() {
                    // Yesterday's last lines, from the handle even if the file is gone.
                    old.read_lines(&mut each)?;
                }
                let start = if first {
                    self.start
                } else {
                    StartAt::Beginning
                };
                self.current = Some((target.clone(), LogTail::new(self.dir.join(&target), start)));
            }
        }
        if let Some((_, tail)) = self.current.as_mut() {
            tail.read_lines(&mut each)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::path::Path;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("daily-tail-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn append(p: &Path, lines: &[&str]) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .unwrap();
        for l in lines {
            writeln!(f, "{l}").unwrap();
        }
    }

    fn read(t: &mut DailyTail) -> Vec<String> {
        let mut v = Vec::new();
        t.read_lines(|l| v.push(l.to_owned())).unwrap();
        v
    }

    #[test]
    fn date_formats() {
        assert_eq!(
            date_regex("yyyy-MM-dd").unwrap().unwrap(),
            r"(\d{4})\-(\d{2})\-(\d{2})"
        );
        assert_eq!(date_regex("").unwrap(), None);
        assert!(date_regex("yyyy-EEE").is_err());
    }

    #[test]
    fn follows_to_the_next_day_after_the_old_one_was_gzipped() {
        let d = dir("gz");
        let day1 = d.join("localhost_access_log.2026-11-30.txt");
        let day2 = d.join("localhost_access_log.2026-12-01.txt");
        // An older, already gzipped day and an unrelated file are ignored.
        std::fs::write(d.join("localhost_access_log.2026-11-29.txt.gz"), b"x").unwrap();
        std::fs::write(d.join("catalina.2026-12-02.log"), b"x\n").unwrap();
        append(&day1, &["old"]);
        let mut t = DailyTail::new(d.clone(), "localhost_access_log", ".txt", "yyyy-MM-dd");
        assert!(read(&mut t).is_empty(), "history is not counted");
        append(&day1, &["a", "b"]);
        assert_eq!(read(&mut t), ["a", "b"]);
        // Midnight: the last lines of day 1, then day 2 starts; the cron job then gzips day 1.
        append(&day1, &["c"]);
        append(&day2, &["d"]);
        let gz = std::process::Command::new("gzip")
            .arg(&day1)
            .status()
            .unwrap();
        assert!(gz.success());
        assert!(!day1.exists());
        assert_eq!(read(&mut t), ["c", "d"]);
        append(&day2, &["e"]);
        assert_eq!(read(&mut t), ["e"]);
        assert_eq!(t.current(), Some(day2.as_path()));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_day_file_that_appears_later_is_read_whole() {
        let d = dir("later");
        let mut t = DailyTail::new(d.clone(), "p", ".txt", "yyyy-MM-dd");
        assert!(read(&mut t).is_empty());
        append(&d.join("p.2026-12-01.txt"), &["1", "2"]);
        assert_eq!(read(&mut t), ["1", "2"]);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn not_rotatable() {
        let d = dir("plain");
        let mut t = DailyTail::new(d.clone(), "access", ".log", "");
        assert!(read(&mut t).is_empty());
        append(&d.join("access.log"), &["x"]);
        assert_eq!(read(&mut t), ["x"]);
        let _ = std::fs::remove_dir_all(&d);
    }
}
