//! Time (document 001 §2.1 os_ntp_offset, os_ntp_sync_abnormal): the `ntp` job.
//!
//! A pass, on the job's own interval and never at scrape time: ask every server (`[ntp]
//! servers`, or those of the daemon's configuration) one SNTP question, as `ntpdate -q` does,
//! concurrently; ask the local daemon whether it is synchronised; read the kernel's flag. The
//! offset is the answering server's with the shortest round trip (the least uncertain), or the
//! document's 999 when none answers usably. An audit record is written when the clock turns
//! abnormal, with every server's answer or error.

pub(crate) mod kernel;
pub(crate) mod sources;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs as _};
use std::sync::Arc;
use std::time::Duration;

use common::audit::{AuditJournal, AuditRecord};
use common::{Latest, SysPaths};
use rsntp::{ProtocolError, SntpClient, SynchronizationError};
use serde_json::json;

use crate::config::{NtpConfig, NtpServer};

/// The audit check the ntp job writes.
pub(crate) const AUDIT_CHECK: &str = "ntp_sync";

/// The document's offset when no server is available ("如果服务器不可用，则偏差设置为999").
pub(crate) const UNAVAILABLE: f64 = 999.0;

/// A usable answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Answer {
    /// Server clock minus local clock, seconds (`ntpdate`'s sign: positive when we are behind).
    pub(crate) offset: f64,
    /// Round trip, seconds.
    pub(crate) rtt: f64,
    /// The server's stratum.
    pub(crate) stratum: u8,
}

/// How one address answered.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// A usable answer.
    Answered(Answer),
    /// It answered that it is not synchronised itself (LI 3, or stratum 0 or 16).
    Unsynchronised(String),
    /// No usable answer: no reply in time, refused, not NTP, or the name did not resolve.
    Failed(String),
}

/// One queried address of a server.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Queried {
    /// The server as configured (`host:port`).
    pub(crate) server: String,
    /// The address asked; `None` when the name did not resolve.
    pub(crate) address: Option<SocketAddr>,
    /// What came back.
    pub(crate) outcome: Outcome,
}

/// What the last pass found.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Report {
    /// Every address asked.
    pub(crate) queried: Vec<Queried>,
    /// The kernel flag; `None` when adjtimex was refused.
    pub(crate) kernel_unsynchronised: Option<bool>,
    /// The local daemon's own answer; `None` when not asked or it did not answer.
    pub(crate) daemon_unsynchronised: Option<bool>,
}

impl Report {
    /// The best answer: the shortest round trip.
    pub(crate) fn best(&self) -> Option<Answer> {
        self.queried
            .iter()
            .filter_map(|q| match q.outcome {
                Outcome::Answered(a) => Some(a),
                _ => None,
            })
            .min_by(|a, b| a.rtt.total_cmp(&b.rtt))
    }

    /// The document's os_ntp_offset: the best answer's offset, or 999.
    pub(crate) fn offset(&self) -> f64 {
        self.best().map_or(UNAVAILABLE, |a| a.offset)
    }

    /// The three causes of os_ntp_sync_abnormal, by name.
    pub(crate) fn causes(&self) -> [(&'static str, bool); 3] {
        [
            (
                "kernel_unsynchronised",
                self.kernel_unsynchronised == Some(true),
            ),
            (
                "daemon_unsynchronised",
                self.daemon_unsynchronised == Some(true),
            ),
            ("offset_unavailable", self.best().is_none()),
        ]
    }

    /// The document's os_ntp_sync_abnormal.
    pub(crate) fn abnormal(&self) -> bool {
        self.causes().iter().any(|(_, on)| *on)
    }
}

/// Asks `addr` one SNTP question (RFC 4330 client mode, a connected socket so a closed port is
/// known at once rather than after the timeout).
pub(crate) fn query(addr: SocketAddr, timeout: Duration) -> Outcome {
    let bind: SocketAddr = if addr.is_ipv6() {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    };
    let client =
        SntpClient::with_config(rsntp::Config::default().bind_address(bind).timeout(timeout));
    match client.synchronize(addr) {
        Ok(r) => Outcome::Answered(Answer {
            offset: r.clock_offset().as_secs_f64(),
            rtt: r.round_trip_delay().as_secs_f64(),
            stratum: r.stratum(),
        }),
        Err(SynchronizationError::ProtocolError(
            e @ (ProtocolError::ServerNotSynchronized | ProtocolError::KissODeath(_)),
        )) => Outcome::Unsynchronised(e.to_string()),
        Err(SynchronizationError::IOError(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Outcome::Failed(format!("no answer within {timeout:?}"))
        }
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// The addresses of `server`, at most `limit`; the error says why there are none.
fn resolve(server: &NtpServer, limit: usize) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = (server.host.as_str(), server.port)
        .to_socket_addrs()
        .map_err(|e| format!("resolving {}: {e}", server.host))?
        .take(limit)
        .collect();
    if addrs.is_empty() {
        return Err(format!("{} has no address", server.host));
    }
    Ok(addrs)
}

/// The ntp job's state between passes.
pub(crate) struct TimeSync {
    paths: SysPaths,
    cfg: NtpConfig,
    journal: Arc<AuditJournal>,
    latest: Latest<Report>,
    /// Whether the last pass was abnormal, so a record is written on the turn only.
    was_abnormal: bool,
    /// Why each address failed last, so a lasting failure is logged once.
    failing: BTreeMap<String, String>,
}

impl TimeSync {
    /// A job publishing to `latest` and auditing to `journal`.
    pub(crate) fn new(
        paths: SysPaths,
        cfg: NtpConfig,
        journal: Arc<AuditJournal>,
        latest: Latest<Report>,
    ) -> Self {
        Self {
            paths,
            cfg,
            journal,
            latest,
            was_abnormal: false,
            failing: BTreeMap::new(),
        }
    }

    /// One pass; fails only when the audit record cannot be written (an unanswered server is a
    /// value, 999, not a failure of the job).
    pub(crate) fn run_once(&mut self) -> Result<(), String> {
        let report = self.pass();
        self.log_transitions(&report);
        let abnormal = report.abnormal();
        let record = (abnormal && !self.was_abnormal).then(|| audit_record(&report));
        self.was_abnormal = abnormal;
        self.latest.publish(report);
        match record {
            Some(r) => self.journal.write(&r).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    /// One log line when an address starts failing or changes its reason, one when it recovers.
    fn log_transitions(&mut self, report: &Report) {
        let mut now = BTreeMap::new();
        for q in &report.queried {
            let key = match q.address {
                Some(a) => format!("{} ({a})", q.server),
                None => q.server.clone(),
            };
            match &q.outcome {
                Outcome::Answered(_) => {
                    if self.failing.contains_key(&key) {
                        log::info!("ntp server {key} answers again");
                    }
                }
                Outcome::Unsynchronised(why) | Outcome::Failed(why) => {
                    if self.failing.get(&key) != Some(why) {
                        log::warn!("ntp server {key}: {why}");
                    }
                    now.insert(key, why.clone());
                }
            }
        }
        if report.queried.is_empty() && !self.failing.contains_key("") {
            log::warn!(
                "ntp: no server to ask: set [ntp] servers, or none of {:?} names one",
                self.cfg.conf_files
            );
            now.insert(String::new(), String::new());
        }
        self.failing = now;
    }

    fn pass(&self) -> Report {
        let servers = sources::servers(&self.paths, &self.cfg);
        let timeout = self.cfg.timeout;
        let local: Option<SocketAddr> = self.cfg.local_daemon.parse().ok();
        let (queried, daemon) = std::thread::scope(|s| {
            let daemon = local.map(|addr| s.spawn(move || query(addr, timeout)));
            // Names resolve and servers answer concurrently: one slow name must not hold the rest.
            let per_server: Vec<_> = servers
                .iter()
                .map(|server| {
                    let limit = self.cfg.addresses_per_server;
                    s.spawn(move || (server.to_string(), resolve(server, limit)))
                })
                .collect();
            let mut queried = Vec::new();
            let mut asks = Vec::new();
            for h in per_server {
                let Ok((server, resolved)) = h.join() else {
                    continue;
                };
                match resolved {
                    Ok(addrs) => {
                        for addr in addrs {
                            if asks.len() >= self.cfg.max_addresses {
                                break;
                            }
                            let name = server.clone();
                            asks.push(s.spawn(move || Queried {
                                server: name,
                                address: Some(addr),
                                outcome: query(addr, timeout),
                            }));
                        }
                    }
                    Err(e) => queried.push(Queried {
                        server,
                        address: None,
                        outcome: Outcome::Failed(e),
                    }),
                }
            }
            queried.extend(asks.into_iter().filter_map(|h| h.join().ok()));
            let daemon = daemon.and_then(|h| h.join().ok());
            (queried, daemon)
        });
        let kernel = match kernel::read() {
            Ok(k) => Some(k.unsynchronised),
            Err(e) => {
                log::debug!("ntp: adjtimex: {e}");
                None
            }
        };
        Report {
            queried,
            kernel_unsynchronised: kernel,
            daemon_unsynchronised: match daemon {
                Some(Outcome::Answered(_)) => Some(false),
                Some(Outcome::Unsynchronised(_)) => Some(true),
                _ => None,
            },
        }
    }
}

fn audit_record(r: &Report) -> AuditRecord {
    let servers: Vec<serde_json::Value> = r
        .queried
        .iter()
        .map(|q| {
            let (state, detail) = match &q.outcome {
                Outcome::Answered(a) => (
                    "answered",
                    json!({"offset_seconds": a.offset, "rtt_seconds": a.rtt, "stratum": a.stratum}),
                ),
                Outcome::Unsynchronised(e) => ("unsynchronised", json!(e)),
                Outcome::Failed(e) => ("failed", json!(e)),
            };
            json!({
                "server": q.server,
                "address": q.address.map(|a| a.to_string()),
                "state": state,
                "detail": detail,
            })
        })
        .collect();
    let causes: Vec<&str> = r
        .causes()
        .iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| *name)
        .collect();
    AuditRecord {
        check: AUDIT_CHECK.to_owned(),
        threshold: "synchronised, offset available".to_owned(),
        observed: r.offset(),
        evidence: json!({
            "causes": causes,
            "servers": servers,
            "kernel_unsynchronised": r.kernel_unsynchronised,
            "daemon_unsynchronised": r.daemon_unsynchronised,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(offset: f64, rtt: f64) -> Queried {
        Queried {
            server: "s:123".to_owned(),
            address: None,
            outcome: Outcome::Answered(Answer {
                offset,
                rtt,
                stratum: 2,
            }),
        }
    }

    #[test]
    fn the_offset_is_the_shortest_round_trips_and_999_without_an_answer() {
        let mut r = Report {
            queried: vec![answered(0.5, 0.2), answered(0.1, 0.01), answered(-3.0, 0.5)],
            kernel_unsynchronised: Some(false),
            daemon_unsynchronised: None,
        };
        assert!((r.offset() - 0.1).abs() < 1e-9);
        assert!(!r.abnormal());
        r.queried = vec![Queried {
            server: "s:123".to_owned(),
            address: None,
            outcome: Outcome::Unsynchronised("LI 3".to_owned()),
        }];
        assert!((r.offset() - UNAVAILABLE).abs() < f64::EPSILON);
        assert_eq!(
            r.causes(),
            [
                ("kernel_unsynchronised", false),
                ("daemon_unsynchronised", false),
                ("offset_unavailable", true)
            ]
        );
        let rec = audit_record(&r);
        assert_eq!(rec.evidence["causes"][0], "offset_unavailable");
        assert_eq!(rec.evidence["servers"][0]["state"], "unsynchronised");
    }

    #[test]
    fn a_closed_port_and_a_foreign_answer_are_failures_not_offsets() {
        let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        assert!(matches!(
            query(addr, Duration::from_secs(1)),
            Outcome::Failed(_)
        ));
        // Something that answers on the port, but not NTP.
        let echo = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = echo.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            if let Ok((_, from)) = echo.recv_from(&mut buf) {
                let _ = echo.send_to(b"SSH-2.0-OpenSSH_9.2p1\r\n", from);
            }
        });
        let got = query(addr, Duration::from_secs(2));
        t.join().unwrap();
        assert!(matches!(got, Outcome::Failed(_)), "{got:?}");
    }
}
