//! Reachability (document 001 §2.1 os_ping_gateway, os_ping_internal, os_ping_external,
//! os_network_ping_abnormal, os_eth1_route): the ping job and the route check.
//!
//! A pass, on the job's own interval and never at scrape time: read the routing state and the
//! ESTABLISHED peers, ping the main table's default gateways (a few echoes each) and every peer
//! (one echo, leaving from the local address of its connection) concurrently through
//! `common::icmp`, publish the result for the `ping` collector, and write one audit record
//! naming the peers slower than the document's 10 ms.

pub(crate) mod peers;
pub(crate) mod tenant_route;

use std::sync::Arc;
use std::time::Duration;

use common::audit::{AuditJournal, AuditRecord};
use common::icmp::{self, Echoes, PassOptions, PassResult, Target};
use common::{Latest, SysPaths};
use serde_json::json;

use crate::config::PingConfig;

/// The audit check the ping job writes.
pub(crate) const AUDIT_CHECK: &str = "ping_latency";

/// One group of targets: how many were pinged, how many answered, the document's value.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Group {
    /// Targets pinged.
    pub(crate) targets: usize,
    /// Targets with at least one echo answered.
    pub(crate) answering: usize,
    /// The maximum RTT in seconds under the group's rule; `None` when there is nothing to say
    /// (no targets, or no external peer answered): never a latency of 0.
    pub(crate) value: Option<f64>,
}

/// What the last pass found.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Report {
    /// Whether the pass ran (a pass that could not read its sources or open a socket reports
    /// nothing, so no value of an earlier pass stays behind).
    pub(crate) ok: bool,
    /// The default gateways: an unanswered one counts as the timeout.
    pub(crate) gateway: Group,
    /// Peers inside the resource-tenant subnets: an unanswered one counts as the timeout.
    pub(crate) internal: Group,
    /// Peers outside: unanswered ones are left out.
    pub(crate) external: Group,
    /// Unique peers beyond `max_peers`, not pinged.
    pub(crate) over_limit: usize,
}

impl Report {
    /// The document's os_network_ping_abnormal: a gateway or an internal peer did not answer.
    pub(crate) fn abnormal(&self) -> bool {
        self.gateway.answering < self.gateway.targets
            || self.internal.answering < self.internal.targets
    }
}

/// The ping job's state between passes.
pub(crate) struct Pinger {
    paths: SysPaths,
    cfg: PingConfig,
    journal: Arc<AuditJournal>,
    latest: Latest<Report>,
    id: u16,
    next_seq: u16,
}

impl Pinger {
    /// A job publishing to `latest` and auditing to `journal`.
    pub(crate) fn new(
        paths: SysPaths,
        cfg: PingConfig,
        journal: Arc<AuditJournal>,
        latest: Latest<Report>,
    ) -> Self {
        Self {
            paths,
            cfg,
            journal,
            latest,
            id: u16::try_from(std::process::id() & 0x7fff).unwrap_or(0),
            next_seq: 0,
        }
    }

    /// One pass; fails (and publishes an empty report) when a source or a socket fails, or the
    /// audit record cannot be written.
    pub(crate) fn run_once(&mut self) -> Result<(), String> {
        match self.pass() {
            Ok(report) => {
                self.latest.publish(report.0);
                match report.1 {
                    Some(record) => self.journal.write(&record).map_err(|e| e.to_string()),
                    None => Ok(()),
                }
            }
            Err(e) => {
                self.latest.publish(Report::default());
                Err(e)
            }
        }
    }

    fn pass(&mut self) -> Result<(Report, Option<AuditRecord>), String> {
        let state = crate::netstate::read(&self.paths).map_err(|e| e.to_string())?;
        let conns = peers::established(&self.paths).map_err(|e| e.to_string())?;
        let found = peers::classify(&conns, &state, &self.cfg);
        let gateways: Vec<Target> = peers::gateways(&state)
            .into_iter()
            .map(|addr| Target { addr, source: None })
            .collect();
        let mut targets = found.internal.clone();
        targets.extend(found.external.iter().copied());

        let pace = Duration::from_secs(1) / self.cfg.sends_per_second.max(1);
        let peer_opts = PassOptions {
            count: 1,
            timeout: self.cfg.timeout,
            pace,
            id: self.id,
            seq_base: self.next_seq,
            ..PassOptions::default()
        };
        let gw_opts = PassOptions {
            count: self.cfg.gateway_echoes,
            interval: self.cfg.gateway_echo_interval,
            timeout: self.cfg.timeout,
            pace,
            // Its own identifier: a raw socket of one pass sees the other's replies too.
            id: self.id | 0x8000,
            seq_base: self.next_seq,
        };
        self.next_seq = self.next_seq.wrapping_add(
            u16::try_from(
                targets
                    .len()
                    .max(usize::from(gw_opts.count) * gateways.len()),
            )
            .unwrap_or(0),
        );
        let (peer_result, gw_result) = std::thread::scope(|s| {
            let gw = s.spawn(|| icmp::ping_pass(&gateways, &gw_opts));
            let peers = icmp::ping_pass(&targets, &peer_opts);
            (
                peers,
                gw.join().unwrap_or_else(|_| Ok(PassResult::default())),
            )
        });
        let peer_result = peer_result.map_err(|e| e.to_string())?;
        let gw_result = gw_result.map_err(|e| e.to_string())?;
        let (internal_echoes, external_echoes) = peer_result
            .echoes
            .split_at(found.internal.len().min(peer_result.echoes.len()));
        let timeout = self.cfg.timeout.as_secs_f64();
        let report = Report {
            ok: true,
            gateway: group(&gw_result.echoes, Some(timeout)),
            internal: group(internal_echoes, Some(timeout)),
            external: group(external_echoes, None),
            over_limit: found.over_limit,
        };
        log::debug!(
            "ping pass: {} gateways, {} internal, {} external peers; {} kernel-stamped replies",
            gateways.len(),
            found.internal.len(),
            found.external.len(),
            peer_result.kernel_stamped + gw_result.kernel_stamped
        );
        let record = self.slow_peers(
            &found.internal,
            internal_echoes,
            &found.external,
            external_echoes,
        );
        Ok((report, record))
    }

    /// One record naming the peers over the audit threshold (internal peers that did not answer
    /// count as the timeout, as their value does), or `None`.
    fn slow_peers(
        &self,
        internal: &[Target],
        internal_echoes: &[Echoes],
        external: &[Target],
        external_echoes: &[Echoes],
    ) -> Option<AuditRecord> {
        let limit = self.cfg.audit_rtt;
        let mut slow: Vec<(Duration, serde_json::Value)> = Vec::new();
        let groups = [
            ("internal", internal, internal_echoes),
            ("external", external, external_echoes),
        ];
        for (kind, targets, echoes) in groups {
            for (t, e) in targets.iter().zip(echoes) {
                let (rtt, answered) = match e.max() {
                    Some(r) => (r, true),
                    None if kind == "internal" => (self.cfg.timeout, false),
                    None => continue,
                };
                if rtt > limit {
                    slow.push((
                        rtt,
                        json!({
                            "peer": t.addr.to_string(),
                            "kind": kind,
                            "source": t.source.map(|s| s.to_string()),
                            "rtt_ms": answered.then_some(rtt.as_secs_f64() * 1e3),
                            "answered": answered,
                            "send_error": e.send_error,
                        }),
                    ));
                }
            }
        }
        if slow.is_empty() {
            return None;
        }
        slow.sort_by_key(|s| std::cmp::Reverse(s.0));
        let worst = slow[0].0;
        let total = slow.len();
        slow.truncate(self.cfg.max_audit_peers);
        Some(AuditRecord {
            check: AUDIT_CHECK.to_owned(),
            threshold: format!("{}ms", limit.as_secs_f64() * 1e3),
            observed: worst.as_secs_f64() * 1e3,
            evidence: json!({
                "peers": slow.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
                "peers_over_threshold": total,
                "timeout_ms": self.cfg.timeout.as_secs_f64() * 1e3,
            }),
        })
    }
}

/// The group's counts and value: `unanswered` is what a target without any reply counts as
/// (the timeout), or `None` to leave it out.
fn group(echoes: &[Echoes], unanswered: Option<f64>) -> Group {
    let mut g = Group {
        targets: echoes.len(),
        ..Group::default()
    };
    for e in echoes {
        let v = match e.max() {
            Some(rtt) => {
                g.answering += 1;
                Some(rtt.as_secs_f64())
            }
            None => unanswered,
        };
        if let Some(v) = v {
            g.value = Some(g.value.map_or(v, |m: f64| m.max(v)));
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echoes(rtts_ms: &[Option<u64>]) -> Vec<Echoes> {
        rtts_ms
            .iter()
            .map(|r| Echoes {
                sent: 1,
                rtts: r.map(Duration::from_millis).into_iter().collect(),
                send_error: None,
            })
            .collect()
    }

    #[test]
    fn an_unanswered_internal_peer_counts_as_the_timeout_an_external_one_is_dropped() {
        let e = echoes(&[Some(3), None, Some(7)]);
        let internal = group(&e, Some(5.0));
        assert_eq!((internal.targets, internal.answering), (3, 2));
        assert_eq!(internal.value, Some(5.0));
        let external = group(&e, None);
        assert_eq!(external.value, Some(0.007));
    }

    #[test]
    fn no_answer_or_no_peer_is_no_value_never_zero() {
        assert_eq!(group(&echoes(&[None, None]), None).value, None);
        assert_eq!(group(&[], None), Group::default());
        assert_eq!(group(&[], Some(5.0)).value, None);
    }

    #[test]
    fn abnormal_means_a_gateway_or_an_internal_peer_did_not_answer() {
        let mut r = Report {
            ok: true,
            gateway: Group {
                targets: 1,
                answering: 1,
                value: Some(0.001),
            },
            internal: Group {
                targets: 2,
                answering: 2,
                value: Some(0.002),
            },
            external: Group {
                targets: 3,
                answering: 0,
                value: None,
            },
            over_limit: 0,
        };
        assert!(
            !r.abnormal(),
            "external peers that do not answer are not abnormal"
        );
        r.internal.answering = 1;
        assert!(r.abnormal());
        r.internal.answering = 2;
        r.gateway.answering = 0;
        assert!(r.abnormal());
        assert!(
            !Report::default().abnormal(),
            "no gateway and no peers: nothing unreachable"
        );
    }

    #[test]
    fn the_audit_record_names_only_the_slow_peers_slowest_first() {
        let journal = Arc::new(AuditJournal::new(
            common::audit::AuditConfig::default(),
            std::path::Path::new("/nonexistent/audit.jsonl"),
        ));
        let p = Pinger::new(
            SysPaths::fixture("/nonexistent"),
            PingConfig::default(),
            journal,
            Latest::new(),
        );
        let t = |a: &str| Target {
            addr: a.parse().unwrap(),
            source: None,
        };
        let internal = [t("10.20.0.1"), t("10.20.0.2")];
        let external = [t("192.0.2.1"), t("192.0.2.2"), t("192.0.2.3")];
        assert!(
            p.slow_peers(
                &internal,
                &echoes(&[Some(1), Some(2)]),
                &external,
                &echoes(&[Some(3), None, Some(9)])
            )
            .is_none(),
            "a quiet host writes nothing (an unanswered external peer is not slow)"
        );
        let r = p
            .slow_peers(
                &internal,
                &echoes(&[Some(1), None]),
                &external,
                &echoes(&[Some(20), None, Some(3)]),
            )
            .unwrap();
        assert_eq!(r.check, "ping_latency");
        assert_eq!(r.threshold, "10ms");
        assert_eq!(r.observed, 5000.0);
        let peers = r.evidence["peers"].as_array().unwrap();
        let names: Vec<&str> = peers.iter().map(|p| p["peer"].as_str().unwrap()).collect();
        assert_eq!(names, ["10.20.0.2", "192.0.2.1"]);
        assert_eq!(peers[0]["answered"], false);
        assert_eq!(peers[1]["rtt_ms"], 20.0);
    }
}
