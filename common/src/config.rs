//! Loading TOML config files: unknown keys rejected, errors that name file, line, column and field.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;

/// A config file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not valid.
    #[error("config file {path}, line {line}, column {column}{field}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// `, field `x`` when the offending key is known, else empty.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A value is valid TOML and of the right type, but not acceptable.
    #[error("config file {path}: {message}")]
    Semantic {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the field.
        message: String,
    },
}

/// 1-based line and column of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    (line, offset - line_start + 1)
}

/// The key assigned on a `key = value` line, if the line is one.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let (key, _) = l.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_owned())
}

/// Parses TOML `text` (read from `path`) into `T`.
pub fn parse_toml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_column(text, s.start));
        let message = e.message().trim().replace('\n', " ");
        let field = match key_on_line(text, line) {
            Some(k) if !message.contains(&format!("`{k}`")) => format!(", field `{k}`"),
            _ => String::new(),
        };
        ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            field,
            message,
        }
    })
}

/// Reads and parses a TOML config file.
pub fn load_toml<T: DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_toml(path, &text)
}

/// Parses a Prometheus-style duration: `500ms`, `10s`, `1m`, `1h30m`, `2d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".to_owned());
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0.0_f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_end);
        let value: f64 = num
            .parse()
            .map_err(|_| format!("invalid duration {s:?}: expected a number"))?;
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_end);
        let scale = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "w" => 604_800.0,
            _ => {
                return Err(format!(
                    "invalid duration {s:?}: unit must be one of ms, s, m, h, d, w"
                ));
            }
        };
        total += value * scale;
        rest = next;
    }
    // Digits alone can reach infinity; `from_secs_f64` would panic beyond `Duration::MAX`.
    Duration::try_from_secs_f64(total).map_err(|_| format!("invalid duration {s:?}: too long"))
}

/// Serde helpers for duration fields written as strings (`"60s"`).
pub mod duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Deserializes `"60s"`-style strings.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_duration(&s).map_err(serde::de::Error::custom)
    }

    /// Serializes as whole milliseconds (`"1500ms"`).
    pub fn serialize<S: Serializer>(v: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}ms", v.as_millis()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct Cfg {
        #[allow(dead_code)]
        port: u16,
        #[serde(default, with = "duration")]
        #[allow(dead_code)]
        interval: Duration,
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let err = parse_toml::<Cfg>(Path::new("/etc/x.toml"), "port = 1\nbogus = 2\n").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("config file /etc/x.toml, line 2, column 1"),
            "{msg}"
        );
        assert!(msg.contains("bogus"), "{msg}");
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn wrong_type_names_the_field() {
        let err = parse_toml::<Cfg>(Path::new("c.toml"), "\nport = \"high\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("field `port`"), "{err}");
    }

    #[test]
    fn bad_duration_is_reported_at_its_line() {
        let err = parse_toml::<Cfg>(Path::new("c.toml"), "port = 1\ninterval = \"5 parsecs\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2") && err.contains("interval"), "{err}");
    }

    #[test]
    fn durations_parse_like_prometheus() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn durations_too_long_for_a_duration_are_errors_not_panics() {
        // Found by the fuzz target common_duration (fuzz/corpus/common_duration).
        for s in [
            "30s99303999999909999990s59s99309999990s51s1s90s51s1s",
            "99999999999999999999w",
            &format!("{}s", "9".repeat(400)),
        ] {
            let err = parse_duration(s).unwrap_err();
            assert!(err.contains("too long"), "{s}: {err}");
        }
        assert_eq!(
            parse_duration("1000000w").unwrap(),
            Duration::from_secs(604_800_000_000)
        );
    }

    #[test]
    fn missing_file_is_a_read_error_naming_it() {
        let err = load_toml::<Cfg>(Path::new("/nonexistent/c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/c.toml"), "{err}");
    }
}
