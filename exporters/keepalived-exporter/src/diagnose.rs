//! `keepalived-exporter diagnose`: document 001 §3.1's Keepalived checks on this node, in the
//! document's order (the §3.1.3 monitoring table: process, track-script FAULT, failover lines,
//! peer ping; then §3.1.4's fault, the VIP bound to the wrong MAC; then §3.1.2.1's
//! `garp_master_refresh`), with a verdict from §3.1.4's cause list.
//!
//! Every check is the exporter's own: the collectors' metrics ([`Walk::metrics`]), the VRRP
//! collector's look at keepalived and the VIPs ([`crate::collectors::vrrp::VrrpCollector::observe`], which here also
//! ARP-probes a VIP held by a node that is not master, to name the other MAC), and the log
//! classifier as the matcher of the log window.

use std::time::{Duration, Instant};

use common::diagnose::{self, Cause, Evidence, Outcome, Status, Step, Text, Walk};

use crate::KeepalivedExporter;
use crate::arp::mac_string;
use crate::collectors::vips::VipFinding;
use crate::collectors::vrrp::Observation;
use crate::log_classifier::{classify, script_failed};
use crate::vrrp::VrrpState;

const DOCUMENT: &str = "001 §3.1 Keepalived";

/// The causes `diagnose` can name, from document 001 §3.1.3/§3.1.4.
pub const CAUSES: &[Cause] = &[
    Cause {
        id: "vip_on_two_hosts",
        title: Text::both(
            "VIP held by two hosts: the VIP is bound to the wrong MAC (split brain)",
            "VIP MAC地址错误：通常是网络脑裂时，主和备都发送免费ARP造成VIP MAC地址错误",
        ),
        remedy: Text::both(
            "Trigger a master/backup switchover so the right node announces the VIP again, or announce it from the node that should hold it: /usr/sbin/arping -I <interface> -s <VIP> -b <gateway> -c 1; on the node whose keepalived is down remove the VIP (ip addr del <VIP>/<prefix> dev <interface>); set garp_master_refresh (e.g. 60) so the master re-announces it periodically.",
            "触发主备倒换；用 /usr/sbin/arping -l eth0(这里写具体网卡名) -s <浮动IP> -b <网关> -c 1 发送正确的mac地址进行恢复；在keepalived的配置文件里配置garp_master_refresh参数，比如设置为30",
        ),
    },
    Cause {
        id: "vip_left_behind",
        title: Text::both(
            "The VIP is on this node although keepalived here is not master (left behind by a killed keepalived)",
            "主节点因为一直持有浮动IP，所以没必要再次向交换机发ARP广播",
        ),
        remedy: Text::en(
            "Remove the stale VIP (ip addr del <VIP>/<prefix> dev <interface>), then start keepalived; check with arping which MAC the VIP resolves to.",
        ),
    },
    Cause {
        id: "track_script_fault",
        title: Text::both(
            "A track script fails: the VRRP instance is in FAULT",
            "Keepalived检测脚本执行异常：Now in FAULT state",
        ),
        remedy: Text::both(
            "Run the instance's track script by hand to see why it fails and fix what it checks; keepalived leaves FAULT by itself once the script passes. A keepalived restart can also log a failed check.",
            "实例重启的时候，可能触发检测失败",
        ),
    },
    Cause {
        id: "keepalived_down",
        title: Text::both(
            "keepalived is not running",
            "Keepalived_process_status 进程状态异常",
        ),
        remedy: Text::en(
            "Read keepalived's log for why it stopped, then start it: systemctl start keepalived.",
        ),
    },
    Cause {
        id: "peer_unreachable",
        title: Text::both(
            "The VRRP peer does not answer ping: adverts cannot pass, a split brain follows",
            "主和备分别ping对方IP，检测连通性：Ping失败",
        ),
        remedy: Text::both(
            "Check the link between master and backup (interfaces up, the VRRP segment is the resource-tenant segment, 3.1.2.2); call the network team with the source and destination IPs and a traceroute.",
            "需要将VRRP广播网段设置为资源租户网段",
        ),
    },
    Cause {
        id: "garp_refresh_missing",
        title: Text::both(
            "garp_master_refresh is not configured: a lost gratuitous ARP is never repeated",
            "高可靠配置garp_master_refresh 未配置",
        ),
        remedy: Text::both(
            "Set vrrp_garp_master_refresh 60 in global_defs (or garp_master_refresh in the vrrp_instance) and reload keepalived in a maintenance window.",
            "通过配置garp_master_refresh为60，Keepalived的主节点每60秒周期发送免费ARP广播",
        ),
    },
];

const PROCESS: Step = Step {
    id: "process",
    title: Text::both(
        "keepalived is running",
        "Keepalived_process_status 进程状态",
    ),
    source: "001 §3.1.3 Keepalived_process_status",
};
const VRRP_STATE: Step = Step {
    id: "vrrp_state",
    title: Text::both(
        "No VRRP instance is in FAULT (keepalived's own dump)",
        "Keepalived检测脚本执行是否异常",
    ),
    source: "001 §3.1.3 Keepalived_check_failed",
};
const CHECK_FAILED_LOG: Step = Step {
    id: "check_failed_log",
    title: Text::both(
        "The log has no track-script failure in the window",
        "监控/var/log/message日志，是否存在关键字：Now in FAULT state",
    ),
    source: "001 §3.1.3 Keepalived_check_failed",
};
const FAILOVER_LOG: Step = Step {
    id: "failover_log",
    title: Text::both(
        "Failover lines in the window (a restart logs an election too)",
        "监控/var/log/message日志，是否存在关键字：Received lower prio advert, Received higher prio advert, Entering BACKUP STATE, Entering MASTER STATE, Transition to MASTER STATE",
    ),
    source: "001 §3.1.3 Keepalived_failover",
};
const PEERS: Step = Step {
    id: "peer_connectivity",
    title: Text::both(
        "The VRRP peers answer ping",
        "主和备分别ping对方IP，检测连通性",
    ),
    source: "001 §3.1.3 Keepalived_check_connectivity",
};
const VIP_MAC: Step = Step {
    id: "vip_mac",
    title: Text::both(
        "Each VIP is held by one host only (ARP probe: no other MAC answers for it)",
        "如果一个VIP被关联到其他MAC地址，主节点上是否有办法监控到？",
    ),
    source: "001 §3.1.4 VIP MAC地址错误",
};
const GARP_REFRESH: Step = Step {
    id: "garp_master_refresh",
    title: Text::both(
        "garp_master_refresh is configured",
        "高可靠配置garp_master_refresh",
    ),
    source: "001 §3.1.2.1",
};
const UPSTREAM_ARP: Step = Step {
    id: "upstream_arp",
    title: Text::both(
        "The gateway's (VPC's) ARP entry for the VIP names the master's MAC",
        "VPC通过该报文刷新VIP关联的MAC地址",
    ),
    source: "001 §3.1.5.1",
};

/// Walks the procedure.
pub async fn walk(e: &KeepalivedExporter, walk: &mut Walk) {
    walk.procedure(
        DOCUMENT,
        Text::both(
            "Keepalived: VIP on the wrong MAC, split brain, track-script fault, process down, peer unreachable",
            "Keepalived 故障场景、定界、应急恢复",
        ),
        CAUSES,
    );
    let log_file = e.paths.root(&e.cfg.log_file);
    let running = process_step(walk).await;

    // One look at keepalived and the VIPs, shared by the state and VIP steps.
    let mut observed: Option<Result<Observation, String>> = None;
    match crate::collectors::vrrp::collector(e) {
        Ok(Some(vrrp)) => {
            let deadline = e.cfg.dump_timeout + Duration::from_secs(5);
            observed = walk
                .check_blocking_keep(VRRP_STATE, deadline, move || {
                    let o = vrrp
                        .observe(Instant::now() + deadline, true)
                        .map_err(|e| e.to_string());
                    (state_outcome(&o, running), Some(o))
                })
                .await
                .1;
        }
        Ok(None) => walk.not_applicable(
            VRRP_STATE,
            "dump = \"none\": keepalived is never asked for its state",
        ),
        Err(err) => walk.record_outcome(
            VRRP_STATE,
            Outcome::error(format!("the VRRP collector cannot be built: {err}")),
        ),
    }

    let w = walk.window().clone();
    let path = log_file.clone();
    walk.check_blocking(CHECK_FAILED_LOG, Duration::from_secs(5), move || {
        match w.scan_family(&path, |l| {
            classify(l).is_some_and(|ev| ev.kind.is_fault()) || script_failed(l).is_some()
        }) {
            Ok(m) if m.files == 0 => missing_log(&path),
            Ok(m) if m.total == 0 => Outcome::pass(format!(
                "no FAULT or failed-script line among {} lines in the window",
                m.in_window
            )),
            Ok(m) => {
                let scripts: Vec<&str> = m
                    .lines
                    .iter()
                    .filter_map(|ev| script_failed(&ev.detail))
                    .collect();
                let named = if scripts.is_empty() {
                    String::new()
                } else {
                    format!(" (track script {})", dedup(scripts).join(", "))
                };
                Outcome::fail(format!("{} FAULT lines in the window{named}", m.total))
                    .cause("track_script_fault")
                    .with_all(m.lines)
            }
            Err(err) => Outcome::error(format!("reading {}: {err}", path.display())),
        }
    })
    .await;

    let w = walk.window().clone();
    let path = log_file;
    walk.check_blocking(FAILOVER_LOG, Duration::from_secs(5), move || {
        match w.scan_family(&path, |l| {
            classify(l).is_some_and(|ev| ev.kind.is_failover())
        }) {
            Ok(m) if m.files == 0 => missing_log(&path),
            Ok(m) if m.total == 0 => Outcome::pass(format!(
                "no failover line among {} lines in the window",
                m.in_window
            )),
            // A failover alone is no fault (误报识别: 实例重启的时候可能触发倒换); the lines are the
            // delimitation evidence §3.1.4 asks for next to the VIP check.
            Ok(m) => Outcome::pass(format!(
                "{} failover lines in the window (a restart logs an election too)",
                m.total
            ))
            .with_all(m.lines),
            Err(err) => Outcome::error(format!("reading {}: {err}", path.display())),
        }
    })
    .await;

    peers_step(walk).await;

    match observed {
        Some(Ok(o)) => {
            let outcome = vip_outcome(&o);
            let split = outcome.cause == Some("vip_on_two_hosts");
            walk.record_outcome(VIP_MAC, outcome);
            if split {
                // The document's incident: whatever else failed, two MACs for one VIP is what
                // breaks the clients.
                walk.conclude("vip_on_two_hosts");
            }
        }
        Some(Err(err)) => walk.record_outcome(
            VIP_MAC,
            Outcome::error(format!("the VIPs could not be checked: {err}")),
        ),
        None if walk.status_of(VRRP_STATE.id) == Some(Status::NotApplicable) => {
            walk.not_applicable(VIP_MAC, "dump = \"none\": the VIPs are not checked");
        }
        None => walk.record_outcome(
            VIP_MAC,
            Outcome::error("not checked: the look at keepalived did not finish"),
        ),
    }

    garp_step(walk).await;
    walk.manual(
        UPSTREAM_ARP,
        Text::both(
            "From a host in the VIP's subnet (or on the gateway / in the VPC's records) check which MAC the VIP resolves to (arping -I <interface> <VIP>) and that it is the master's MAC shown above.",
            "针对VIP绑定的MAC地址是否存在错误，需要具备监控能力，及时发现VIP",
        ),
    );
}

/// A log that is not there: no line can be vouched for (Debian logs to /var/log/syslog).
fn missing_log(path: &std::path::Path) -> Outcome {
    Outcome::error(format!(
        "{} does not exist: set log_file to where keepalived's syslog lines go",
        path.display()
    ))
}

fn dedup(mut v: Vec<&str>) -> Vec<&str> {
    v.sort_unstable();
    v.dedup();
    v
}

/// Whether keepalived runs, from the process collector.
async fn process_step(walk: &mut Walk) -> bool {
    let fams = walk.metrics(diagnose::STEP_DEADLINE).await.to_vec();
    let status = diagnose::value(&fams, "keepalived_process_status", &[]);
    let children = diagnose::value(&fams, "keepalived_process_children", &[]);
    let start = diagnose::value(&fams, "keepalived_process_start_time_seconds", &[]);
    let o = match status {
        Some(v) if v >= 1.0 => {
            let mut o = Outcome::pass("the keepalived parent process runs").with(
                Evidence::new(
                    "process",
                    format!(
                        "running, {} children",
                        children.map_or_else(|| "?".to_owned(), |c| format!("{c:.0}"))
                    ),
                )
                .from("keepalived_process_status"),
            );
            if let Some(t) = start
                .and_then(|s| jiff::SignedDuration::try_from_secs_f64(s).ok())
                .and_then(|d| jiff::Timestamp::from_duration(d).ok())
            {
                o = o.with(
                    Evidence::new("started", t.to_string())
                        .from("keepalived_process_start_time_seconds"),
                );
            }
            o
        }
        Some(_) => Outcome::fail("no keepalived parent process runs")
            .cause("keepalived_down")
            .with(Evidence::new("process", "not running").from("keepalived_process_status")),
        None => Outcome::error("the process collector gave no answer"),
    };
    let running = o.status == Status::Pass;
    walk.record_outcome(PROCESS, o);
    running
}

/// The VRRP state step's finding.
fn state_outcome(o: &Result<Observation, String>, running: bool) -> Outcome {
    let o = match o {
        Ok(o) => o,
        Err(e) => {
            return Outcome::error(format!(
                "keepalived's state (its dump, or keepalived.conf while it is down) could not be read: {e}"
            ));
        }
    };
    if o.pid.is_none() {
        return Outcome::not_applicable(if running {
            "keepalived stopped meanwhile: no state to ask for"
        } else {
            "keepalived is not running: no state to ask for"
        });
    }
    let evidence: Vec<Evidence> = o
        .instances
        .iter()
        .map(|i| {
            Evidence::new(
                "vrrp instance",
                format!(
                    "{} on {} (vrid {}): {}{}",
                    i.name,
                    i.interface,
                    i.vrid,
                    i.state.map_or("unknown", |s| s.label()).to_uppercase(),
                    i.effective_priority
                        .map(|p| format!(", priority {p}"))
                        .unwrap_or_default()
                ),
            )
            .from("keepalived_vrrp_state")
        })
        .collect();
    let faulted: Vec<&str> = o
        .instances
        .iter()
        .filter(|i| i.state == Some(VrrpState::Fault))
        .map(|i| i.name.as_str())
        .collect();
    if faulted.is_empty() {
        Outcome::pass(format!("{} instances, none in FAULT", o.instances.len())).with_all(evidence)
    } else {
        Outcome::fail(format!("in FAULT: {}", faulted.join(", ")))
            .cause("track_script_fault")
            .with_all(evidence)
    }
}

/// The VIP step's finding: which VIPs this node holds, and which other MACs answer for them.
fn vip_outcome(o: &Observation) -> Outcome {
    let findings = match &o.vips {
        Ok(f) => f,
        Err(e) => return Outcome::error(format!("the interface addresses: {e}")),
    };
    if findings.is_empty() {
        return Outcome::not_applicable("no VIP configured");
    }
    let here = if o.pid.is_none() {
        "keepalived down"
    } else {
        "keepalived running"
    };
    let mut evidence = Vec::new();
    let (mut split, mut left, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    for f in findings {
        evidence.push(holder_evidence(f, here));
        for other in f.others.iter().flatten() {
            evidence.push(
                Evidence::new(
                    "other MAC",
                    format!("{} answers ARP for {}", mac_string(other), f.vip),
                )
                .from(format!("ARP probe on {}", f.interface)),
            );
        }
        if let Some(e) = &f.probe_error {
            errors.push(format!("{}: {e}", f.vip));
        }
        if f.conflict() {
            split.push(f.vip.to_string());
        } else if f.unexpected() {
            left.push(f.vip.to_string());
        }
    }
    if !split.is_empty() {
        Outcome::fail(format!(
            "VIP {} answered for by this host and another MAC",
            split.join(", ")
        ))
        .cause("vip_on_two_hosts")
        .with_all(evidence)
    } else if !left.is_empty() {
        Outcome::fail(format!(
            "VIP {} on this node although it is not master; no other MAC answered",
            left.join(", ")
        ))
        .cause("vip_left_behind")
        .with_all(evidence)
    } else if !errors.is_empty() {
        Outcome::error(format!("ARP probe failed: {}", errors.join("; "))).with_all(evidence)
    } else {
        Outcome::pass(format!(
            "{} VIPs checked: held by the master only",
            findings.len()
        ))
        .with_all(evidence)
    }
}

fn holder_evidence(f: &VipFinding, here: &str) -> Evidence {
    let mac = f
        .own_mac
        .as_ref()
        .map_or_else(|| "no MAC".to_owned(), mac_string);
    let role = if f.is_master { "MASTER" } else { "not master" };
    let detail = if f.present {
        format!(
            "{} on {} at {mac} ({}, {role}, {here})",
            f.vip, f.interface, f.instance
        )
    } else {
        format!(
            "{} not on {} ({}, {role}, {here})",
            f.vip, f.interface, f.instance
        )
    };
    Evidence::new("this host", detail).from(format!("ip addr show dev {}", f.interface))
}

/// The peer pings of the connectivity collector.
async fn peers_step(walk: &mut Walk) {
    let fams = walk.metrics(diagnose::STEP_DEADLINE).await;
    let peers: Vec<(String, f64)> = diagnose::samples(fams, "keepalived_check_connectivity", &[])
        .map(|(labels, v)| {
            let peer = labels
                .iter()
                .find(|(k, _)| k == "peer")
                .map_or_else(String::new, |(_, v)| v.clone());
            (peer, v)
        })
        .collect();
    if peers.is_empty() {
        walk.not_applicable(
            PEERS,
            "no peer to ping (no unicast_peer in keepalived.conf, no peers configured)",
        );
        return;
    }
    let mut evidence = Vec::new();
    let mut down = Vec::new();
    for (peer, up) in &peers {
        let rtt = diagnose::value(fams, "keepalived_peer_rtt_seconds", &[("peer", peer)]);
        let detail = match (up, rtt) {
            (u, Some(r)) if *u >= 1.0 => format!("{peer}: answered in {:.2} ms", r * 1000.0),
            (u, None) if *u >= 1.0 => format!("{peer}: answered"),
            _ => {
                down.push(peer.clone());
                format!("{peer}: no answer")
            }
        };
        evidence.push(Evidence::new("ping", detail).from("keepalived_check_connectivity"));
    }
    let o = if down.is_empty() {
        Outcome::pass(format!("{} peers answer", peers.len()))
    } else {
        Outcome::fail(format!("no answer from {}", down.join(", "))).cause("peer_unreachable")
    };
    walk.record_outcome(PEERS, o.with_all(evidence));
}

/// garp_master_refresh from the configuration collector.
async fn garp_step(walk: &mut Walk) {
    let fams = walk.metrics(diagnose::STEP_DEADLINE).await;
    let instances = diagnose::value(fams, "keepalived_config_instances", &[]);
    let refresh: Vec<f64> =
        diagnose::samples(fams, "keepalived_config_garp_master_refresh_seconds", &[])
            .map(|(_, v)| v)
            .collect();
    let o = match (instances, refresh.iter().copied().reduce(f64::min)) {
        (None, _) => Outcome::error("keepalived.conf could not be read"),
        (Some(0.0), _) => Outcome::not_applicable("no vrrp_instance in keepalived.conf"),
        (Some(_), Some(r)) if r > 0.0 => Outcome::pass(format!("garp_master_refresh {r:.0}s"))
            .with(
                Evidence::new("garp_master_refresh", format!("{r:.0}s"))
                    .from("keepalived_config_garp_master_refresh_seconds"),
            ),
        _ => Outcome::fail("garp_master_refresh is not set: a lost gratuitous ARP stays lost")
            .cause("garp_refresh_missing")
            .with(
                Evidence::new("garp_master_refresh", "not set")
                    .from("keepalived_config_garp_master_refresh_seconds"),
            ),
    };
    walk.record_outcome(GARP_REFRESH, o);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::VrrpInstance;

    fn finding(is_master: bool, present: bool, others: Option<Vec<[u8; 6]>>) -> VipFinding {
        VipFinding {
            instance: "VI_1".into(),
            vip: "10.77.0.100".parse().unwrap(),
            interface: "eth0".into(),
            own_mac: Some([2, 0, 0, 0, 0, 1]),
            is_master,
            present,
            others,
            probe_error: None,
        }
    }

    fn observed(pid: Option<u32>, vips: Vec<VipFinding>) -> Observation {
        Observation {
            pid,
            instances: vec![VrrpInstance {
                name: "VI_1".into(),
                interface: "eth0".into(),
                vrid: 51,
                state: pid.map(|_| VrrpState::Fault),
                ..VrrpInstance::default()
            }],
            vips: Ok(vips),
        }
    }

    #[test]
    fn two_macs_for_one_vip_is_the_split_brain_with_both_macs() {
        let o = vip_outcome(&observed(
            None,
            vec![finding(false, true, Some(vec![[2, 0, 0, 0, 0, 9]]))],
        ));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(o.cause, Some("vip_on_two_hosts"));
        let details: Vec<&str> = o.evidence.iter().map(|e| e.detail.as_str()).collect();
        assert_eq!(
            details,
            [
                "10.77.0.100 on eth0 at 02:00:00:00:00:01 (VI_1, not master, keepalived down)",
                "02:00:00:00:00:09 answers ARP for 10.77.0.100"
            ]
        );
    }

    #[test]
    fn a_vip_left_behind_alone_and_a_clean_master() {
        let o = vip_outcome(&observed(None, vec![finding(false, true, Some(vec![]))]));
        assert_eq!(o.cause, Some("vip_left_behind"));
        let o = vip_outcome(&observed(Some(7), vec![finding(true, true, Some(vec![]))]));
        assert_eq!(o.status, Status::Pass);
        let o = vip_outcome(&observed(Some(7), vec![]));
        assert_eq!(o.status, Status::NotApplicable);
        let mut failed_probe = finding(true, true, None);
        failed_probe.probe_error = Some("Operation not permitted".into());
        let o = vip_outcome(&observed(Some(7), vec![failed_probe]));
        assert_eq!(o.status, Status::Error, "an unprobed VIP is not a pass");
    }

    #[test]
    fn fault_state_is_the_track_script_and_no_keepalived_has_no_state() {
        let o = state_outcome(&Ok(observed(Some(7), vec![])), true);
        assert_eq!(o.cause, Some("track_script_fault"));
        assert_eq!(
            o.evidence[0].detail, "VI_1 on eth0 (vrid 51): FAULT",
            "{:?}",
            o.evidence
        );
        let o = state_outcome(&Ok(observed(None, vec![])), false);
        assert_eq!(o.status, Status::NotApplicable);
        let o = state_outcome(&Err("dump not ready".into()), true);
        assert_eq!(o.status, Status::Error);
    }
}
