//! The Tomcat startup lines the fault scenarios of document 001 §3.5 need, from `catalina.out`
//! or the JULI `catalina.<date>.log` (English message texts, as Tomcat's default locale logs):
//! the SecureRandom creation time (the low-entropy slow start), the startup duration, the
//! product's `Property File Not Found` and the version line.

use regex::Regex;
use std::sync::LazyLock;

/// A line that matters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `Creation of SecureRandom instance for session ID generation using [X] took [N] milliseconds.`
    SecureRandom {
        /// The algorithm in brackets.
        algorithm: String,
        /// The milliseconds it took.
        millis: u64,
    },
    /// `Server startup in [N] milliseconds` (Tomcat 8.5+; `Server startup in N ms` before).
    Startup {
        /// The milliseconds it took.
        millis: u64,
    },
    /// The product's `Property File Not Found` (its secretAppkey.properties is missing).
    PropertyFileNotFound,
    /// `Server version number: 10.1.60.0`.
    Version {
        /// The major version.
        major: u32,
    },
}

static SECURE_RANDOM: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)]
    Regex::new(r"Creation of SecureRandom instance for session ID generation using \[([^\]]*)\] took \[(\d+)\] milliseconds").unwrap()
});
static STARTUP: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)]
    Regex::new(r"Server startup in (?:\[(\d+)\] milliseconds|(\d+) ms)").unwrap()
});
static VERSION: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)]
    Regex::new(r"Server version number:\s+(\d+)\.").unwrap()
});

/// What `line` reports, if anything.
pub fn classify(line: &str) -> Option<Event> {
    if line.contains("Property File Not Found") {
        return Some(Event::PropertyFileNotFound);
    }
    if let Some(c) = SECURE_RANDOM.captures(line) {
        return Some(Event::SecureRandom {
            algorithm: c.get(1)?.as_str().to_owned(),
            millis: c.get(2)?.as_str().parse().ok()?,
        });
    }
    if let Some(c) = STARTUP.captures(line) {
        let m = c.get(1).or_else(|| c.get(2))?;
        return Some(Event::Startup {
            millis: m.as_str().parse().ok()?,
        });
    }
    if let Some(c) = VERSION.captures(line) {
        return Some(Event::Version {
            major: c.get(1)?.as_str().parse().ok()?,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_startup_lines() {
        assert_eq!(
            classify(
                "01-Dec-2026 10:30:10.681 WARNING [main] org.apache.catalina.util.SessionIdGeneratorBase.createSecureRandom Creation of SecureRandom instance for session ID generation using [SHA1PRNG] took [5172] milliseconds."
            ),
            Some(Event::SecureRandom {
                algorithm: "SHA1PRNG".into(),
                millis: 5172
            })
        );
        assert_eq!(
            classify(
                "01-Dec-2026 10:30:29.927 INFO [main] org.apache.catalina.startup.Catalina.start Server startup in [1875] milliseconds"
            ),
            Some(Event::Startup { millis: 1875 })
        );
        assert_eq!(
            classify("INFO: Server startup in 3021 ms"),
            Some(Event::Startup { millis: 3021 })
        );
        assert_eq!(
            classify(
                "01-Dec-2026 10:30:08.112 INFO [main] org.apache.catalina.startup.VersionLoggerListener.log Server version number: 10.1.60.0"
            ),
            Some(Event::Version { major: 10 })
        );
        assert_eq!(
            classify("ERROR Property File Not Found: secretAppkey.properties"),
            Some(Event::PropertyFileNotFound)
        );
        assert_eq!(classify("Server startup in [x] milliseconds"), None);
        assert_eq!(
            classify("INFO [main] Deploying web application directory"),
            None
        );
    }
}
