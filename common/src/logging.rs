//! A small logger behind the `log` facade that writes logfmt or JSON lines to stderr.

use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// Log line format (`--log.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `ts=... level=info msg="..."`
    Logfmt,
    /// `{"ts":"...","level":"info","msg":"..."}`
    Json,
}

/// Minimum level (`--log.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogLevel {
    /// Everything.
    Debug,
    /// Normal operation.
    Info,
    /// Problems that do not stop the exporter.
    Warn,
    /// Failures.
    Error,
}

impl LogLevel {
    fn filter(self) -> log::LevelFilter {
        match self {
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Error => log::LevelFilter::Error,
        }
    }
}

struct Logger {
    format: LogFormat,
    level: log::LevelFilter,
}

/// RFC 3339 UTC timestamp with milliseconds, computed without a date library.
pub fn rfc3339_now() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(now.as_secs(), now.subsec_millis())
}

/// Formats Unix seconds plus milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn rfc3339(secs: u64, millis: u32) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

fn logfmt_value(v: &str) -> String {
    if !v.is_empty() && !v.contains([' ', '"', '=', '\n']) {
        return v.to_owned();
    }
    format!(
        "\"{}\"",
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    )
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = record.level().as_str().to_ascii_lowercase();
        let msg = record.args().to_string();
        let ts = rfc3339_now();
        let line = match self.format {
            LogFormat::Logfmt => format!(
                "ts={ts} level={level} source={} msg={}\n",
                logfmt_value(record.target()),
                logfmt_value(&msg)
            ),
            LogFormat::Json => {
                let obj = serde_json::json!({"ts": ts, "level": level, "source": record.target(), "msg": msg});
                format!("{obj}\n")
            }
        };
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

/// Installs the logger; a second call is ignored.
pub fn init(format: LogFormat, level: LogLevel) {
    let filter = level.filter();
    if log::set_boxed_logger(Box::new(Logger {
        format,
        level: filter,
    }))
    .is_ok()
    {
        log::set_max_level(filter);
    }
}

/// Sends panic messages through the logger, as one structured `level=error` line with the
/// thread and the source location, instead of raw text on stderr that log pipelines drop or
/// split. A panicking handler or collector is contained by its task; this makes it visible.
pub fn route_panics_to_log() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_owned());
        let at = info
            .location()
            .map_or_else(String::new, |l| format!(" at {}:{}", l.file(), l.line()));
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed");
        log::error!(target: "panic", "thread {name} panicked{at}: {msg}");
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_700_000_000, 5), "2023-11-14T22:13:20.005Z");
        assert_eq!(rfc3339(951_782_400, 0), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn logfmt_quotes_only_when_needed() {
        assert_eq!(logfmt_value("plain"), "plain");
        assert_eq!(logfmt_value("two words"), "\"two words\"");
        assert_eq!(logfmt_value("a\"b"), "\"a\\\"b\"");
        assert_eq!(logfmt_value(""), "\"\"");
    }
}
