//! Tomcat's `AccessLogValve` lines: a pattern (`common`, `combined` or explicit `%` codes) is
//! compiled once into an anchored regular expression that captures the status and the latency
//! field, and each line is matched against it.
//!
//! Tomcat writes the request line `%r` as `-` for a request it could not parse and `%b` as `-`
//! for an empty body (research: real lines `"-" 400 1981`, `"GET /a null" 400`, `HEAD ... 200 -`),
//! so `%r` matches anything lazily up to what the pattern puts after it, and the byte count takes
//! `-`. Which code measures latency decides its unit: `%{us}T` microseconds, `%{ms}T`
//! milliseconds, `%T` (and `%{s}T`) whole seconds, and `%D` microseconds from Tomcat 10.0 on but
//! milliseconds up to 9.0 (the 10.0 migration guide), so `%D` needs the Tomcat major version.

use regex::Regex;

/// `common`, as Tomcat expands it.
pub const COMMON: &str = "%h %l %u %t \"%r\" %s %b";
/// `combined`, as Tomcat expands it.
pub const COMBINED: &str = "%h %l %u %t \"%r\" %s %b \"%{Referer}i\" \"%{User-Agent}i\"";

/// Why a pattern cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// A `%` code Tomcat's valve does not define (or this parser does not know).
    #[error("access log pattern {pattern:?}: unknown code %{code} at byte {at}")]
    UnknownCode {
        /// The pattern.
        pattern: String,
        /// The code letter (with its `{...}` argument, if any).
        code: String,
        /// Byte offset of the `%`.
        at: usize,
    },
    /// `%{` without its `}`.
    #[error("access log pattern {0:?}: %{{ without a closing }}")]
    Unclosed(String),
    /// No `%s`: the status class cannot be told.
    #[error("access log pattern {0:?} has no %s (status code): requests cannot be classified")]
    NoStatus(String),
    /// `%D` without the Tomcat version that fixes its unit.
    #[error(
        "access log pattern {0:?} measures latency with %D, microseconds on Tomcat 10 and later but milliseconds on 9 and earlier: set tomcat_version or catalina_home (or use %{{us}}T / %{{ms}}T)"
    )]
    DUnitUnknown(String),
    /// The generated expression did not compile (cannot happen for accepted codes).
    #[error("access log pattern {pattern:?}: {error}")]
    Regex {
        /// The pattern.
        pattern: String,
        /// What the regex compiler said.
        error: String,
    },
}

/// A latency field and its unit, in seconds per unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyField {
    /// The code as written (`%D`, `%{ms}T`...).
    pub code: &'static str,
    /// Seconds per logged unit.
    pub scale: f64,
    /// Capture group index.
    group: usize,
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    re: Regex,
    status_group: usize,
    latency: Option<LatencyField>,
}

/// What a line says about its request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    /// The status code; `None` when logged as `-` (no response committed).
    pub status: Option<u16>,
    /// Seconds taken, when the pattern has a latency field.
    pub latency_seconds: Option<f64>,
}

/// The status class counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// 200-299.
    C2xx,
    /// 300-399.
    C3xx,
    /// 400-499.
    C4xx,
    /// 500-599.
    C5xx,
    /// Anything else (1xx, `-`, out of range).
    Other,
}

impl Class {
    /// Every class, in label order.
    pub const ALL: [Class; 5] = [
        Class::C2xx,
        Class::C3xx,
        Class::C4xx,
        Class::C5xx,
        Class::Other,
    ];

    /// The class of a status.
    pub fn of(status: Option<u16>) -> Self {
        match status {
            Some(200..=299) => Class::C2xx,
            Some(300..=399) => Class::C3xx,
            Some(400..=499) => Class::C4xx,
            Some(500..=599) => Class::C5xx,
            _ => Class::Other,
        }
    }

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Class::C2xx => "2xx",
            Class::C3xx => "3xx",
            Class::C4xx => "4xx",
            Class::C5xx => "5xx",
            Class::Other => "other",
        }
    }
}

/// Latency candidates, best first: an explicit unit beats `%D`, whole seconds come last.
const LATENCY_PREFERENCE: [&str; 5] = ["%{us}T", "%{ms}T", "%D", "%T", "%{s}T"];

impl Pattern {
    /// Compiles `pattern` (`common`, `combined` or `%` codes); `tomcat_major` fixes the unit of
    /// `%D` (None: a pattern whose only latency field is `%D` is refused).
    pub fn compile(pattern: &str, tomcat_major: Option<u32>) -> Result<Self, PatternError> {
        let expanded = match pattern {
            "common" => COMMON,
            "combined" => COMBINED,
            p => p,
        };
        let mut re = String::from("^");
        let mut group = 0usize;
        let mut status_group = None;
        let mut latency: Vec<(&'static str, usize)> = Vec::new();
        let mut literal = String::new();
        let mut chars = expanded.char_indices().peekable();
        let flush = |re: &mut String, literal: &mut String| {
            re.push_str(&regex::escape(literal));
            literal.clear();
        };
        while let Some((at, c)) = chars.next() {
            if c != '%' {
                literal.push(c);
                continue;
            }
            let Some((_, code)) = chars.next() else {
                return Err(unknown(pattern, "", at));
            };
            flush(&mut re, &mut literal);
            let mut arg = None;
            let code = if code == '{' {
                let mut a = String::new();
                loop {
                    match chars.next() {
                        Some((_, '}')) => break,
                        Some((_, ch)) => a.push(ch),
                        None => return Err(PatternError::Unclosed(pattern.to_owned())),
                    }
                }
                let Some((_, letter)) = chars.next() else {
                    return Err(PatternError::Unclosed(pattern.to_owned()));
                };
                arg = Some(a);
                letter
            } else {
                code
            };
            let piece = match (code, arg.as_deref()) {
                ('s', None) => {
                    group += 1;
                    status_group = Some(group);
                    r"(\d{3}|-)"
                }
                ('D', None) => {
                    group += 1;
                    latency.push(("%D", group));
                    r"(\d+|-)"
                }
                ('T', None) => {
                    group += 1;
                    latency.push(("%T", group));
                    r"(\d+(?:\.\d+)?|-)"
                }
                ('T', Some(unit @ ("s" | "ms" | "us"))) => {
                    group += 1;
                    latency.push((
                        match unit {
                            "s" => "%{s}T",
                            "ms" => "%{ms}T",
                            _ => "%{us}T",
                        },
                        group,
                    ));
                    r"(\d+(?:\.\d+)?|-)"
                }
                ('t', None) => r"\[[^\]]*\]",
                // Free text: the request line, headers, cookies, attributes, formatted times.
                ('r' | 'q' | 'U' | 'u' | 'S' | 'v' | 'I', None)
                | ('i' | 'o' | 'c' | 'r' | 's' | 't', Some(_)) => ".*?",
                ('h' | 'a' | 'A' | 'l' | 'H' | 'm' | 'p' | 'X' | 'b' | 'B' | 'F', None)
                | ('a' | 'p', Some(_)) => r"\S*",
                _ => {
                    let shown = match &arg {
                        Some(a) => format!("{{{a}}}{code}"),
                        None => code.to_string(),
                    };
                    return Err(unknown(pattern, &shown, at));
                }
            };
            re.push_str(piece);
        }
        flush(&mut re, &mut literal);
        re.push('$');
        let status_group =
            status_group.ok_or_else(|| PatternError::NoStatus(pattern.to_owned()))?;
        let chosen = LATENCY_PREFERENCE
            .iter()
            .find_map(|want| latency.iter().find(|(c, _)| c == want).copied());
        let latency = match chosen {
            None => None,
            Some((code, group)) => {
                let scale = match code {
                    "%{us}T" => 1e-6,
                    "%{ms}T" => 1e-3,
                    "%D" => match tomcat_major {
                        Some(m) if m >= 10 => 1e-6,
                        Some(_) => 1e-3,
                        None => return Err(PatternError::DUnitUnknown(pattern.to_owned())),
                    },
                    _ => 1.0,
                };
                Some(LatencyField { code, scale, group })
            }
        };
        let re = Regex::new(&re).map_err(|e| PatternError::Regex {
            pattern: pattern.to_owned(),
            error: e.to_string(),
        })?;
        Ok(Self {
            re,
            status_group,
            latency,
        })
    }

    /// The latency field used, if the pattern has one.
    pub fn latency(&self) -> Option<LatencyField> {
        self.latency
    }

    /// Parses one line; `None` when it does not have the pattern's shape.
    pub fn parse(&self, line: &str) -> Option<Entry> {
        let caps = self.re.captures(line.trim_end_matches(['\r', '\n']))?;
        let status = match caps.get(self.status_group)?.as_str() {
            "-" => None,
            s => Some(s.parse().ok()?),
        };
        let latency_seconds = match self.latency {
            None => None,
            Some(f) => match caps.get(f.group)?.as_str() {
                "-" => None,
                v => Some(v.parse::<f64>().ok()? * f.scale),
            },
        };
        Some(Entry {
            status,
            latency_seconds,
        })
    }
}

fn unknown(pattern: &str, code: &str, at: usize) -> PatternError {
    PatternError::UnknownCode {
        pattern: pattern.to_owned(),
        code: code.to_owned(),
        at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real lines of Debian's tomcat10 10.1.60 with its default (`common`) pattern.
    const REAL_COMMON: &[(&str, Option<u16>)] = &[
        (
            r#"127.0.0.1 - - [01/Dec/2026:10:27:59 +0000] "GET / HTTP/1.1" 200 1905"#,
            Some(200),
        ),
        (
            r#"127.0.0.1 - - [01/Dec/2026:10:27:59 +0000] "GET /missing HTTP/1.1" 404 768"#,
            Some(404),
        ),
        (
            r#"127.0.0.1 - - [01/Dec/2026:10:27:59 +0000] "GET /err500.jsp HTTP/1.1" 500 5"#,
            Some(500),
        ),
        (
            r#"127.0.0.1 - - [01/Dec/2026:10:28:00 +0000] "GET /err503.jsp HTTP/1.1" 503 775"#,
            Some(503),
        ),
        (
            r#"127.0.0.1 - - [01/Dec/2026:10:28:00 +0000] "POST /?q=1&x=%20y HTTP/1.1" 200 1905"#,
            Some(200),
        ),
        (
            r#"127.0.0.1 - - [01/Dec/2026:10:28:20 +0000] "GET /a null" 400 1877"#,
            Some(400),
        ),
        (
            r#"127.0.0.1 - - [01/Dec/2026:10:28:20 +0000] "GET /%zz HTTP/1.1" 400 844"#,
            Some(400),
        ),
        (
            r#"127.0.0.1 - - [01/Dec/2026:10:28:20 +0000] "-" 400 1981"#,
            Some(400),
        ),
        (
            r#"127.0.0.1 - - [01/Dec/2026:10:28:37 +0000] "GET - HTTP/1.1" 400 2039"#,
            Some(400),
        ),
        (
            r#"127.0.0.1 - - [01/Dec/2026:10:28:37 +0000] "HEAD / HTTP/1.1" 200 -"#,
            Some(200),
        ),
    ];

    #[test]
    fn real_common_lines_give_their_status_and_no_latency() {
        let p = Pattern::compile("common", None).unwrap();
        assert_eq!(p.latency(), None);
        for (line, status) in REAL_COMMON {
            let e = p.parse(line).unwrap_or_else(|| panic!("{line}"));
            assert_eq!(e.status, *status, "{line}");
            assert_eq!(e.latency_seconds, None);
        }
        // The explicit form Debian's server.xml writes is the same pattern.
        let explicit = Pattern::compile(COMMON, None).unwrap();
        assert!(REAL_COMMON.iter().all(|(l, _)| explicit.parse(l).is_some()));
    }

    #[test]
    fn classes() {
        assert_eq!(Class::of(Some(204)), Class::C2xx);
        assert_eq!(Class::of(Some(302)), Class::C3xx);
        assert_eq!(Class::of(Some(400)), Class::C4xx);
        assert_eq!(Class::of(Some(503)), Class::C5xx);
        assert_eq!(Class::of(Some(101)), Class::Other);
        assert_eq!(Class::of(None), Class::Other);
    }

    #[test]
    fn d_is_microseconds_from_tomcat_10_and_milliseconds_before() {
        let pattern = "%h %l %u %t \"%r\" %s %b %D";
        let line =
            r#"127.0.0.1 - - [01/Dec/2026:10:27:59 +0000] "GET /slow.jsp HTTP/1.1" 200 12 385318"#;
        let t10 = Pattern::compile(pattern, Some(10)).unwrap();
        let got = t10.parse(line).unwrap().latency_seconds.unwrap();
        assert!((got - 0.385_318).abs() < 1e-9, "{got}");
        let t9 = Pattern::compile(pattern, Some(9)).unwrap();
        let got = t9.parse(line).unwrap().latency_seconds.unwrap();
        assert!((got - 385.318).abs() < 1e-9, "{got}");
        assert!(matches!(
            Pattern::compile(pattern, None),
            Err(PatternError::DUnitUnknown(_))
        ));
    }

    #[test]
    fn explicit_units_beat_d_and_whole_seconds() {
        // The research's timing valve line (Tomcat 10.1.60).
        let p = Pattern::compile("%s D=%D T=%T Tms=%{ms}T Tus=%{us}T F=%F I=%I %r", None).unwrap();
        let line = "200 D=385318 T=0 Tms=385 Tus=385318 F=384 I=http-nio-127.0.0.1-8080-exec-9 GET /slow.jsp HTTP/1.1";
        let e = p.parse(line).unwrap();
        assert_eq!(p.latency().unwrap().code, "%{us}T");
        assert_eq!(e.status, Some(200));
        assert!((e.latency_seconds.unwrap() - 0.385_318).abs() < 1e-9);
        let ms = Pattern::compile("%s %{ms}T", None).unwrap();
        assert!((ms.parse("500 651").unwrap().latency_seconds.unwrap() - 0.651).abs() < 1e-9);
        let s = Pattern::compile("%s %T", None).unwrap();
        assert_eq!(s.parse("200 2").unwrap().latency_seconds, Some(2.0));
    }

    #[test]
    fn combined_with_quotes_and_spaces_in_headers() {
        let p = Pattern::compile("combined", None).unwrap();
        let line = r#"10.0.0.1 - bob [01/Dec/2026:10:27:59 +0000] "GET /x?a=1 HTTP/1.1" 302 - "-" "curl/7.88.1 (x86_64) \"q\"""#;
        assert_eq!(p.parse(line).unwrap().status, Some(302));
    }

    #[test]
    fn lines_of_another_shape_are_not_parsed() {
        let p = Pattern::compile("%h %t \"%r\" %s %b %D", Some(10)).unwrap();
        assert!(p.parse("").is_none());
        assert!(p.parse("garbage").is_none());
        assert!(
            p.parse(r#"1.2.3.4 [01/Dec/2026:10:27:59 +0000] "GET /" 2000 5 7"#)
                .is_none()
        );
        assert!(
            p.parse(r#"1.2.3.4 [01/Dec/2026:10:27:59 +0000] "GET /" 200 5 x"#)
                .is_none()
        );
        let ok = p
            .parse(r#"1.2.3.4 [01/Dec/2026:10:27:59 +0000] "GET /" 200 5 1500000"#)
            .unwrap();
        assert_eq!(ok.latency_seconds, Some(1.5));
    }

    #[test]
    fn patterns_we_cannot_use_are_refused_with_the_reason() {
        assert!(matches!(
            Pattern::compile("%h %Z %s", None),
            Err(PatternError::UnknownCode { ref code, at: 3, .. }) if code == "Z"
        ));
        assert!(matches!(
            Pattern::compile("%h %{x", None),
            Err(PatternError::Unclosed(_))
        ));
        assert!(matches!(
            Pattern::compile("%h %r", None),
            Err(PatternError::NoStatus(_))
        ));
        assert!(matches!(
            Pattern::compile("%s %{xx}T", None),
            Err(PatternError::UnknownCode { .. })
        ));
        assert!(Pattern::compile("%s 100%", None).is_err());
        let e = Pattern::compile("%s %D", None).unwrap_err().to_string();
        assert!(e.contains("tomcat_version"), "{e}");
    }
}
