//! Property tests: the parsers of everything etcd-probe reads from the network and from logs
//! never panic on arbitrary input, and a log message is classified the same whatever line shape
//! (3.4 capnslog, 3.5 JSON, Go logger) carries it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use common::MetricSet;
use etcd_probe::{exposition, gateway, health, log_classifier, log_line, member_metrics};
use proptest::prelude::*;

/// Messages etcd writes, as the three shapes would carry them.
const MESSAGES: &[&str] = &[
    "rafthttp: health check for peer 5eca37c007a08f2e could not connect: dial tcp 127.0.0.1:23231: connect: connection refused",
    "rafthttp: failed to read 5eca37c007a08f2e on stream Message (read tcp 127.0.0.1:55480->127.0.0.1:23231: i/o timeout)",
    "rafthttp: lost the TCP streaming connection with peer c797ab3a61e2ea55 (stream MsgApp v2 reader)",
    "wal: sync duration of 2.00201804s, expected less than 1s",
    "etcdserver: failed to send out heartbeat on time (exceeded the 100ms timeout for 1.89958424s, to e7142cbcddb096a2)",
    "etcdserver: server is likely overloaded",
    "etcdserver: read-only range request \"key:\\\"/a\\\" \" with result \"error:context canceled\" took too long (1.999877971s) to execute",
    "grpc: Server.processUnaryRPC failed to write status: connection error: desc = \"transport is closing\"",
    "etcdserver: alarm NOSPACE raised by peer b3eff3e1305ad7da",
    "auth: simple token is not cryptographically signed",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn readers_never_panic_on_arbitrary_input(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = log_classifier::classify_line(&text);
        let _ = log_line::parse(&text);
        let _ = exposition::parse_samples(&text, &|_| true);
        let _ = health::parse(&bytes);
        let _ = health::parse_version(&bytes);
        let _ = gateway::parse::<gateway::Status>(&bytes);
        let _ = gateway::parse::<gateway::MemberList>(&bytes);
        let mut m = MetricSet::new();
        member_metrics::reexport(&text, "e", &mut m);
    }

    #[test]
    fn mangled_json_and_capnslog_lines_never_panic(i in 0..MESSAGES.len(), cut in 0usize..200, junk in ".{0,20}") {
        let msg = MESSAGES[i];
        let json = serde_json::json!({"level": "warn", "ts": "2026-11-21T19:46:21.282Z", "msg": msg}).to_string();
        let capn = format!("2026-11-21 19:46:21.282000 W | {msg}");
        for line in [&json, &capn] {
            let mut end = cut.min(line.len());
            while !line.is_char_boundary(end) { end -= 1; }
            let _ = log_classifier::classify_line(&format!("{}{junk}", &line[..end]));
        }
    }

    #[test]
    fn every_line_shape_classifies_a_message_alike(i in 0..MESSAGES.len(), micros in 0u32..1_000_000) {
        let msg = MESSAGES[i];
        let bare = log_classifier::classify_line(msg);
        let capn = format!("2026-11-21 19:46:{:02}.{micros:06} W | {msg}", micros % 60);
        let json = serde_json::json!({"level": "warn", "ts": "2026-11-21T19:46:21.282Z", "caller": "x.go:1", "msg": msg}).to_string();
        let golog = format!("WARNING: 2026/11/21 19:46:21 {msg}");
        prop_assert_eq!(log_classifier::classify_line(&capn), bare, "{}", capn);
        prop_assert_eq!(log_classifier::classify_line(&json), bare, "{}", json);
        prop_assert_eq!(log_classifier::classify_line(&golog), bare, "{}", golog);
        prop_assert_eq!(log_classifier::classify_line(&format!("{capn}\r")), bare);
    }
}
