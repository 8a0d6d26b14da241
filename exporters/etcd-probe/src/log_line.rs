//! Splitting one etcd (or GaussDB cm_agent / OM) log line into level and message text.
//!
//! Four shapes occur in practice:
//! * etcd 3.4 capnslog: `2021-04-09 10:57:40.112936 W | wal: sync duration of 2.0s, expected less than 1s`
//! * etcd 3.5 (and 3.4 `--logger=zap`) JSON: `{"level":"warn","ts":"...","msg":"...","error":"..."}`
//! * Go's standard logger, used by raft and grpc: `raft2026/11/21 19:45:56 INFO: ...`,
//!   `WARNING: 2021/04/09 10:57:40 grpc: Server.processUnaryRPC failed ...`
//! * anything else (cm_agent, gs_om, cut or garbage lines): the whole line is the message.

/// The parts of a log line the classifier looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// The shape the line had.
    pub shape: Shape,
    /// Lower-case level word (`warn`, `error`, `info`...) when the line states one.
    pub level: Option<String>,
    /// The message, with the structured fields of a JSON line appended as `key=value`.
    pub text: String,
}

/// Which of the known line shapes a line had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// etcd 3.4 capnslog.
    Capnslog,
    /// zap JSON (etcd 3.5, or 3.4 with `--logger=zap`).
    Json,
    /// Go standard library logger (raft, grpc).
    GoLog,
    /// Not recognised; the line is taken as it is.
    Plain,
}

/// Parses one line; never fails (an unrecognised line is `Shape::Plain`).
pub fn parse(line: &str) -> LogRecord {
    let line = line.trim_end_matches(['\r', '\n']);
    let trimmed = line.trim_start();
    if trimmed.starts_with('{')
        && let Some(rec) = parse_json(trimmed)
    {
        return rec;
    }
    if let Some(rec) = parse_capnslog(line) {
        return rec;
    }
    if let Some(rec) = parse_golog(line) {
        return rec;
    }
    LogRecord {
        shape: Shape::Plain,
        level: None,
        text: line.to_owned(),
    }
}

fn parse_json(line: &str) -> Option<LogRecord> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let obj = value.as_object()?;
    let level = obj
        .get("level")
        .and_then(|v| v.as_str())
        .map(str::to_ascii_lowercase);
    let mut text = obj
        .get("msg")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    for (k, v) in obj {
        if matches!(k.as_str(), "level" | "ts" | "caller" | "msg") {
            continue;
        }
        let rendered = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            other => other.to_string(),
        };
        text.push(' ');
        text.push_str(k);
        text.push('=');
        text.push_str(&rendered);
    }
    Some(LogRecord {
        shape: Shape::Json,
        level,
        text,
    })
}

/// `YYYY-MM-DD HH:MM:SS.ffffff L | pkg: message`
fn parse_capnslog(line: &str) -> Option<LogRecord> {
    let (head, msg) = line.split_once(" | ")?;
    let mut parts = head.split_whitespace();
    let date = parts.next()?;
    let _time = parts.next()?;
    let level = parts.next()?;
    if parts.next().is_some()
        || date.len() != 10
        || date.as_bytes().get(4) != Some(&b'-')
        || level.len() != 1
    {
        return None;
    }
    let level = match level {
        "C" => "critical",
        "E" => "error",
        "W" => "warn",
        "N" => "notice",
        "I" => "info",
        "D" => "debug",
        _ => return None,
    };
    Some(LogRecord {
        shape: Shape::Capnslog,
        level: Some(level.to_owned()),
        text: msg.to_owned(),
    })
}

/// `[prefix]YYYY/MM/DD HH:MM:SS LEVEL: message` or `LEVEL: YYYY/MM/DD HH:MM:SS message` (grpclog).
fn parse_golog(line: &str) -> Option<LogRecord> {
    const LEVELS: [&str; 4] = ["INFO", "WARNING", "ERROR", "FATAL"];
    for lvl in LEVELS {
        // grpclog: `WARNING: 2021/04/09 10:57:40 grpc: ...`
        if let Some(rest) = line.strip_prefix(lvl).and_then(|r| r.strip_prefix(": ")) {
            let mut it = rest.splitn(3, ' ');
            let (Some(date), Some(_time), Some(msg)) = (it.next(), it.next(), it.next()) else {
                continue;
            };
            if date.len() == 10 && date.as_bytes().get(4) == Some(&b'/') {
                return Some(golog(lvl, msg));
            }
        }
        // raft: `raft2026/11/21 19:45:56 INFO: ...`
        let marker = format!(" {lvl}: ");
        if let Some(pos) = line.find(&marker) {
            let head = &line[..pos];
            if head.contains('/') && head.contains(':') && head.len() <= 40 {
                return Some(golog(lvl, &line[pos + marker.len()..]));
            }
        }
    }
    None
}

fn golog(level: &str, msg: &str) -> LogRecord {
    let level = if level == "WARNING" {
        "warn".to_owned()
    } else {
        level.to_ascii_lowercase()
    };
    LogRecord {
        shape: Shape::GoLog,
        level: Some(level),
        text: msg.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capnslog_line_from_the_document_is_split() {
        let r = parse(
            "2021-04-09 10:57:40.112936 W | wal: sync duration of 2.00201804s, expected less than 1s",
        );
        assert_eq!(r.shape, Shape::Capnslog);
        assert_eq!(r.level.as_deref(), Some("warn"));
        assert_eq!(
            r.text,
            "wal: sync duration of 2.00201804s, expected less than 1s"
        );
    }

    #[test]
    fn zap_json_fields_are_appended_to_the_message() {
        let r = parse(
            r#"{"level":"warn","ts":"2026-11-21T19:46:21.282Z","caller":"rafthttp/stream.go:436","msg":"lost TCP streaming connection with remote peer","remote-peer-id":"ed02","error":"unexpected EOF"}"#,
        );
        assert_eq!(r.shape, Shape::Json);
        assert_eq!(r.level.as_deref(), Some("warn"));
        assert!(
            r.text
                .starts_with("lost TCP streaming connection with remote peer"),
            "{}",
            r.text
        );
        assert!(r.text.contains("error=unexpected EOF"), "{}", r.text);
    }

    #[test]
    fn go_standard_logger_lines_of_raft_and_grpc() {
        let r = parse("raft2026/11/21 19:45:56 INFO: 3c91c7fe6927205b became follower at term 0");
        assert_eq!((r.shape, r.level.as_deref()), (Shape::GoLog, Some("info")));
        assert_eq!(r.text, "3c91c7fe6927205b became follower at term 0");
        let r = parse(
            "WARNING: 2021/04/09 10:57:40 grpc: Server.processUnaryRPC failed to write status: connection error: desc = \"transport is closing\"",
        );
        assert_eq!((r.shape, r.level.as_deref()), (Shape::GoLog, Some("warn")));
        assert!(r.text.starts_with("grpc: Server.processUnaryRPC"));
    }

    #[test]
    fn garbage_and_broken_lines_become_plain_text() {
        for line in [
            "",
            "{not json",
            "{\"msg\": 3",
            "2021-04-09 x | y",
            "| | |",
            "\u{fffd}\u{fffd}",
            "{}",
            "[1,2]",
        ] {
            let r = parse(line);
            assert!(
                matches!(r.shape, Shape::Plain | Shape::Json),
                "{line:?} -> {r:?}"
            );
        }
        assert_eq!(parse("{}").text, "");
    }
}
