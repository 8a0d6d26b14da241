//! The cause of an etcd alarm, read from log lines the way document 002 reads them by hand.
//!
//! A line maps to at most one `(cause, detail)` pair. Both sets are fixed, so the labels of
//! `etcd_log_cause_total` stay bounded whatever the logs contain.

use crate::log_line::{self, LogRecord};

/// The broad cause, as document 002 separates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cause {
    /// Peers cannot talk: the peer process is down, or its host or the network is.
    Network,
    /// The member is too slow: disk I/O, CPU or memory pressure.
    Overload,
    /// No space: the filesystem is full or the backend quota (NOSPACE alarm) is reached.
    Disk,
    /// GaussDB cm_agent reports the disk 100% busy.
    IoUtil,
    /// The GaussDB OM interface could not report the cluster state.
    Om,
}

/// The precise evidence behind a cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Detail {
    /// `connection refused`: the peer host answers but no etcd listens (process down).
    ConnectionRefused,
    /// `i/o timeout`: the peer host or the network does not answer (VM hung, link down, firewall).
    IoTimeout,
    /// A peer stream or connection was lost without a more precise reason.
    PeerConnectionLost,
    /// grpc `transport is closing`: a client or peer connection was torn down.
    TransportClosing,
    /// WAL fsync slower than 1 s (disk I/O pressure).
    WalSyncSlow,
    /// The leader could not send heartbeats on time.
    HeartbeatLate,
    /// etcd says the server is likely overloaded.
    ServerOverloaded,
    /// A request or apply took too long.
    RequestSlow,
    /// The filesystem is full (`no space left on device`).
    NoSpaceLeft,
    /// The backend quota is exhausted (NOSPACE alarm, `database space exceeded`).
    QuotaExceeded,
    /// cm_agent: `io util 100`.
    IoUtil100,
    /// gs_om: `The status file does not exist`.
    StatusFileMissing,
}

impl Cause {
    /// The `cause` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Network => "network",
            Cause::Overload => "overload",
            Cause::Disk => "disk",
            Cause::IoUtil => "io_util",
            Cause::Om => "om",
        }
    }
}

impl Detail {
    /// Every detail, for exporting zero-valued series from the start.
    pub const ALL: [Detail; 12] = [
        Detail::ConnectionRefused,
        Detail::IoTimeout,
        Detail::PeerConnectionLost,
        Detail::TransportClosing,
        Detail::WalSyncSlow,
        Detail::HeartbeatLate,
        Detail::ServerOverloaded,
        Detail::RequestSlow,
        Detail::NoSpaceLeft,
        Detail::QuotaExceeded,
        Detail::IoUtil100,
        Detail::StatusFileMissing,
    ];

    /// The `detail` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Detail::ConnectionRefused => "connection_refused",
            Detail::IoTimeout => "io_timeout",
            Detail::PeerConnectionLost => "peer_connection_lost",
            Detail::TransportClosing => "transport_closing",
            Detail::WalSyncSlow => "wal_sync_slow",
            Detail::HeartbeatLate => "heartbeat_late",
            Detail::ServerOverloaded => "server_overloaded",
            Detail::RequestSlow => "request_slow",
            Detail::NoSpaceLeft => "no_space_left",
            Detail::QuotaExceeded => "quota_exceeded",
            Detail::IoUtil100 => "io_util_100",
            Detail::StatusFileMissing => "status_file_missing",
        }
    }

    /// The cause this detail belongs to.
    pub fn cause(self) -> Cause {
        match self {
            Detail::ConnectionRefused
            | Detail::IoTimeout
            | Detail::PeerConnectionLost
            | Detail::TransportClosing => Cause::Network,
            Detail::WalSyncSlow
            | Detail::HeartbeatLate
            | Detail::ServerOverloaded
            | Detail::RequestSlow => Cause::Overload,
            Detail::NoSpaceLeft | Detail::QuotaExceeded => Cause::Disk,
            Detail::IoUtil100 => Cause::IoUtil,
            Detail::StatusFileMissing => Cause::Om,
        }
    }
}

/// Classifies one raw log line.
pub fn classify_line(line: &str) -> Option<Detail> {
    classify(&log_line::parse(line))
}

/// Classifies a parsed record; `None` for lines that say nothing about a cause.
pub fn classify(rec: &LogRecord) -> Option<Detail> {
    let t = rec.text.as_str();
    // Debug/info chatter never carries a cause; "established"/"closed an existing" stream lines
    // are warnings in etcd but describe recovery, not failure.
    if matches!(rec.level.as_deref(), Some("debug" | "info" | "notice")) && !t.contains("io util") {
        return None;
    }
    if t.contains("established TCP streaming connection")
        || t.contains("closed an existing TCP streaming")
        || t.contains("closed TCP streaming connection")
    {
        return None;
    }

    // Disk first: "no space" lines may also mention a slow apply.
    if t.contains("no space left on device") {
        return Some(Detail::NoSpaceLeft);
    }
    if t.contains("database space exceeded")
        || t.contains("NOSPACE")
        || t.contains("err is etcdserver: no space")
    {
        return Some(Detail::QuotaExceeded);
    }

    // Overload.
    if t.contains("wal: sync duration of") || t.contains("slow fdatasync") {
        return Some(Detail::WalSyncSlow);
    }
    if t.contains("failed to send out heartbeat on time") {
        return Some(Detail::HeartbeatLate);
    }
    if t.contains("server is likely overloaded") {
        return Some(Detail::ServerOverloaded);
    }
    if t.contains("took too long") {
        return Some(Detail::RequestSlow);
    }

    // Network: the precise error decides between a dead peer process and a dead host/network.
    let network = t.contains("TCP streaming connection")
        || t.contains("failed to reach the peerURL")
        || t.contains("failed to reach the peer URL")
        || t.contains("cannot get the version of member")
        || t.contains("failed to get version")
        || t.contains("could not connect")
        || t.contains("prober detected unhealthy status")
        || t.contains("peer became inactive")
        || t.contains("failed to read ")
        || t.contains("failed to dial")
        || t.contains("failed to write ")
        || t.contains("dial tcp")
        || t.contains("transport is closing");
    if network {
        if t.contains("connection refused") {
            return Some(Detail::ConnectionRefused);
        }
        if t.contains("i/o timeout")
            || t.contains("no route to host")
            || t.contains("network is unreachable")
            || t.contains("Client.Timeout exceeded")
        {
            return Some(Detail::IoTimeout);
        }
        if t.contains("transport is closing") {
            return Some(Detail::TransportClosing);
        }
        // A prober line without an error only says the peer is slow or gone; count it as lost.
        return Some(Detail::PeerConnectionLost);
    }

    if io_util_full(t) {
        return Some(Detail::IoUtil100);
    }
    if t.contains("The status file does not exist") {
        return Some(Detail::StatusFileMissing);
    }
    None
}

/// cm_agent's `..., io util 100` with the number at 100 (percent).
fn io_util_full(t: &str) -> bool {
    let Some(pos) = t.find("io util ") else {
        return false;
    };
    let digits: String = t[pos + "io util ".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse::<u32>().is_ok_and(|v| v >= 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines quoted by document 002 (GaussDB "ETCD service abnormal"), de-escaped.
    const DOCUMENT_LINES: &[(&str, Option<Detail>)] = &[
        (
            "grpc: Server.processUnaryRPC failed to write status: connection error: desc = \"transport is closing\"",
            Some(Detail::TransportClosing),
        ),
        (
            "rafthttp: lost the TCP streaming connection with peer c797ab3a61e2ea55 (stream MsgApp v2 reader)",
            Some(Detail::PeerConnectionLost),
        ),
        (
            "etcdserver: failed to reach the peerURL(https:// X.X.X.X:X) of member c797ab3a61e2ea55 (Get \"https://X.X.X.X:X/version\": dial tcp X.X.X.X:X: i/o timeout)",
            Some(Detail::IoTimeout),
        ),
        (
            "rafthttp: health check for peer c797ab3a61e2ea55 could not connect: dial tcp X.X.X.X:X: i/o timeout (prober \"ROUND_TRIPPER_RAFT_MESSAGE\")",
            Some(Detail::IoTimeout),
        ),
        (
            "2021-04-09 10:57:40.112936 W | wal: sync duration of 2.00201804s, expected less than 1s",
            Some(Detail::WalSyncSlow),
        ),
        (
            "2021-04-09 10:57:40.112993 W | etcdserver: failed to send out heartbeat on time (exceeded the 1s timeout for 2.124414ms, to c8eccd97bed22939)",
            Some(Detail::HeartbeatLate),
        ),
        (
            "2021-04-09 10:57:40.112999 W | etcdserver: server is likely overloaded",
            Some(Detail::ServerOverloaded),
        ),
        (
            "2021-04-09 10:57:43.126444 W | etcdserver: read-only range request \"key:\\\"/Ruby/ignoreNodeNumKey\\\" \" with result \"error:context canceled\" took too long (1.999877971s) to execute",
            Some(Detail::RequestSlow),
        ),
        (
            "2021-04-09 11:06:24.047 tid=15822 LOG: device vdb1, tot_ticks 889640579, cputime 1798651342, io util 100",
            Some(Detail::IoUtil100),
        ),
        (
            "2021-04-09 11:06:24.047 tid=15822 LOG: device vdb1, tot_ticks 889640579, cputime 1798651342, io util 37",
            None,
        ),
        (
            "The status file does not exist. Path: /usr/local/temp/local_status_1611355718.58.dat.",
            Some(Detail::StatusFileMissing),
        ),
    ];

    #[test]
    fn document_002_lines_are_classified() {
        for (line, want) in DOCUMENT_LINES {
            assert_eq!(classify_line(line), *want, "{line}");
        }
    }

    #[test]
    fn refused_means_process_down_and_timeout_means_host_or_network() {
        let refused = "2026-11-21 19:46:52.980388 W | rafthttp: health check for peer 5eca37c007a08f2e could not connect: dial tcp 127.0.0.1:23231: connect: connection refused";
        let timeout = "2026-11-21 19:47:03.627376 E | rafthttp: failed to read 5eca37c007a08f2e on stream Message (read tcp 127.0.0.1:55480->127.0.0.1:23231: i/o timeout)";
        assert_eq!(classify_line(refused), Some(Detail::ConnectionRefused));
        assert_eq!(classify_line(timeout), Some(Detail::IoTimeout));
        assert_eq!(Detail::ConnectionRefused.cause(), Cause::Network);
        assert_eq!(Detail::IoTimeout.cause(), Cause::Network);
    }

    #[test]
    fn info_and_recovery_lines_carry_no_cause() {
        for line in [
            "raft2026/11/21 19:45:57 INFO: raft.node: 3c91c7fe6927205b lost leader b3eff3e1305ad7da at term 3",
            "2026-11-21 19:46:00.188545 W | rafthttp: closed an existing TCP streaming connection with peer b3eff3e1305ad7da (stream MsgApp v2 writer)",
            r#"{"level":"warn","ts":"2026-11-21T19:46:20.313Z","caller":"rafthttp/stream.go:277","msg":"established TCP streaming connection with remote peer","stream-writer-type":"stream MsgApp v2"}"#,
            r#"{"level":"info","ts":"2026-11-21T19:46:20.313Z","msg":"dial tcp timeout"}"#,
            "2026-11-21 19:45:56.169962 W | auth: simple token is not cryptographically signed",
        ] {
            assert_eq!(classify_line(line), None, "{line}");
        }
    }

    #[test]
    fn garbage_never_panics_and_never_classifies_by_accident() {
        let long = "x".repeat(100_000);
        for line in [
            "",
            "\0\0\0",
            "{",
            "{\"level\":",
            "io util ",
            "io util 99999999999999999999",
            &long,
            "é | ü",
        ] {
            let _ = classify_line(line);
        }
        assert_eq!(classify_line("io util x100"), None);
    }

    #[test]
    fn every_detail_has_distinct_label_and_known_cause() {
        let mut names: Vec<_> = Detail::ALL.iter().map(|d| d.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Detail::ALL.len());
    }

    fn details_by_scenario(
        text: &str,
    ) -> std::collections::BTreeMap<String, std::collections::BTreeSet<Detail>> {
        let mut out = std::collections::BTreeMap::new();
        let mut scenario = "startup".to_owned();
        for line in text.lines() {
            if let Some(m) = line.strip_prefix("=== MARK ") {
                scenario = m.to_owned();
                continue;
            }
            if let Some(d) = classify_line(line) {
                out.entry(scenario.clone())
                    .or_insert_with(std::collections::BTreeSet::new)
                    .insert(d);
            }
        }
        out
    }

    #[test]
    fn real_capnslog_capture_tells_dead_process_from_hung_host() {
        let m1 = details_by_scenario(include_str!(
            "../tests/fixtures/etcd-3.4.23-capnslog-m1.log"
        ));
        assert!(
            !m1.contains_key("startup"),
            "a healthy start is classified: {m1:?}"
        );
        let kill = &m1["sigkill m3"];
        assert!(kill.contains(&Detail::ConnectionRefused), "{kill:?}");
        assert!(!kill.contains(&Detail::IoTimeout), "{kill:?}");
        // etcd's prober repeats its last error every 5 s, so stale "refused" lines from the restart
        // just before still show up; the new evidence of a hung peer is the i/o timeout.
        let stop = &m1["sigstop m3"];
        assert!(stop.contains(&Detail::IoTimeout), "{stop:?}");
        // m2 was the leader that got paused; it logs the late heartbeats once resumed.
        let m2 = details_by_scenario(include_str!(
            "../tests/fixtures/etcd-3.4.23-capnslog-m2.log"
        ));
        let paused = &m2["sigcont leader"];
        assert!(
            paused.contains(&Detail::HeartbeatLate) && paused.contains(&Detail::ServerOverloaded),
            "{paused:?}"
        );
        assert!(
            m1.values()
                .chain(m2.values())
                .any(|s| s.contains(&Detail::QuotaExceeded))
        );
    }

    #[test]
    fn real_zap_json_capture_tells_dead_process_from_hung_host() {
        let m1 = details_by_scenario(include_str!("../tests/fixtures/etcd-3.4.23-zap-m1.log"));
        assert!(
            !m1.contains_key("startup"),
            "a healthy start is classified: {m1:?}"
        );
        assert!(
            m1["sigkill m3"].contains(&Detail::ConnectionRefused),
            "{m1:?}"
        );
        assert!(m1["sigstop m3"].contains(&Detail::IoTimeout), "{m1:?}");
        assert!(!m1["sigkill m3"].contains(&Detail::IoTimeout), "{m1:?}");
        assert!(
            m1["sigstop leader m1"].contains(&Detail::HeartbeatLate),
            "{m1:?}"
        );
        assert!(m1["nospace"].contains(&Detail::QuotaExceeded), "{m1:?}");
    }
}
