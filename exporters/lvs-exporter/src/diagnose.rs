//! `lvs-exporter diagnose`: document 003's on-call steps for an LVS alarm (ping the alarmed IP,
//! ping the director's inner and outer addresses, log in, CPU and bond0/bond1 traffic), then
//! document 001 §3.2's checks (`lvs_status`, `lvs_is_master`, `lvs_dial_business_port`,
//! `lvs_backend_status`), then 003's "who must be told" for a single point or an `ha`/`ssl`
//! cluster member. Every check is the exporter's own collectors' ([`Walk::metrics`]); the
//! alarmed IP of `--target` is pinged with the ping collector's pass.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use common::MetricFamily;
use common::diagnose::{self, Cause, Evidence, Outcome, Status, Step, Text, Walk};

use crate::LvsExporter;
use crate::collectors::ping;

const DOCUMENT: &str = "003 (LVS on-call), 001 §3.2";

/// The causes `diagnose` can name, from documents 003 and 001 §3.2.
pub const CAUSES: &[Cause] = &[
    Cause {
        id: "ip_unreachable",
        title: Text::both(
            "The alarmed IP does not answer ping",
            "单纯某个 IP 地址不通",
        ),
        remedy: Text::both(
            "Ping it from several machine rooms (other carriers) and the bench page; check this host's network (a port down? the gateway reachable?); then ask the network on-call through 5666 with the unreachable source and destination IPs and a traceroute.",
            "可以选择多个机房进行 ping 测试(其它不同运营商机房)、bench 页面测试。如果确认网络不通，也可以适当做些本机的网络检查(是否有网口down、网关是否通等)；最后可以 QQ 联系 5666 咨询网络组值班人员，联系网络值班帮忙排查(提供不通源目的IP 和 traceroute 记录)",
        ),
    },
    Cause {
        id: "device_unreachable",
        title: Text::both(
            "The director's inner or outer address does not answer: the server is down or cut off",
            "LVS 服务器内外网不通、登录不上、且监控数据异常中断，如无特殊情况一般视为宕机",
        ),
        remedy: Text::both(
            "Call the 5666 duty room (01062675666) to have the server restarted (file a restart proposal); if the restart fails out of hours, contact the IM on-call; a single-point director also needs the notices of the last step.",
            "QQ 联系 5666 值班室，让其联系相关人员进行服务器重启(一般会让我们提重启提案)",
        ),
    },
    Cause {
        id: "ipvs_absent",
        title: Text::both(
            "IPVS is not loaded: ipvsadm -ln shows nothing",
            "lvs_status：检查下ipvsadm –ln是否结果正常",
        ),
        remedy: Text::en(
            "Check why ip_vs is not loaded (modprobe ip_vs; the exporter never loads it) and restore the services from keepalived.conf or the saved rules (ipvsadm-restore).",
        ),
    },
    Cause {
        id: "service_missing",
        title: Text::both(
            "An expected virtual service is not in the IPVS table",
            "lvs_status：检查下ipvsadm –ln是否结果正常",
        ),
        remedy: Text::en(
            "Compare ipvsadm -Ln with keepalived.conf / the expected services; restore the service (keepalived reload, or ipvsadm -A ... as saved).",
        ),
    },
    Cause {
        id: "no_real_server_up",
        title: Text::both(
            "A virtual service has no real server of non-zero weight: nothing receives its traffic",
            "lvs_backend_status：Lvs后端节点状态是否正常",
        ),
        remedy: Text::en(
            "Check the real servers behind the service (their health checks in keepalived.conf, the service on each RIP); put at least one back in service.",
        ),
    },
    Cause {
        id: "not_master",
        title: Text::both(
            "This director is not the master: it holds no VIP of its services",
            "lvs_is_master：是否是master节点",
        ),
        remedy: Text::en(
            "Diagnose the director that holds the VIP; if none does, run keepalived-exporter diagnose on both directors (split brain, keepalived down).",
        ),
    },
    Cause {
        id: "dial_failing",
        title: Text::both(
            "The business port does not answer through the VIP: LVS forwarding is broken end to end",
            "lvs_dial_business_port：拨测业务端口是否正常",
        ),
        remedy: Text::both(
            "Dial the real servers directly and through the VIP (any answer, even a password error, means forwarding works); check the forwarding method (NAT/DR/TUN), the real servers' VIP on lo and arp_ignore for DR, and the route back.",
            "如果通过lvs的vip和端口可以拨测业务，则说明lvs转发功能ok（即使密码不对，拨测的时候，能得到密码错误的提示，也说明lvs已经端到端转发ok）",
        ),
    },
    Cause {
        id: "real_server_down",
        title: Text::both(
            "A real server of weight above 0 does not accept connections",
            "lvs_backend_status：Lvs后端节点状态是否正常",
        ),
        remedy: Text::en(
            "Check the service on that real server (process, port, firewall); drain it meanwhile (ipvsadm -e -t VIP:port -r RIP:port -w 0) if its health check did not.",
        ),
    },
    Cause {
        id: "real_server_drained",
        title: Text::both(
            "A real server is drained (weight 0): it takes no new connections",
            "lvs_backend_status：Lvs后端节点状态是否正常",
        ),
        remedy: Text::en(
            "If no maintenance is under way, find who or which health check set the weight to 0 and restore it (ipvsadm -e ... -w <weight>) once the real server is healthy.",
        ),
    },
];

const PING_ALARMED: Step = Step {
    id: "ping_alarmed_ip",
    title: Text::both("Ping the alarmed IP", "ping 告警 IP 地址"),
    source: "003 针对告警问题的处理流程 1",
};
const PING_DEVICE: Step = Step {
    id: "ping_device",
    title: Text::both(
        "Ping the director's inner and outer addresses",
        "ping 告警设备的内外网地址",
    ),
    source: "003 针对告警问题的处理流程 2",
};
const LOGIN: Step = Step {
    id: "login",
    title: Text::both(
        "Log in to the alarmed device through the jump host",
        "尝试通道机登录告警设备",
    ),
    source: "003 针对告警问题的处理流程 3",
};
const CPU_BOND: Step = Step {
    id: "cpu_bond_traffic",
    title: Text::both(
        "CPU usage and bond0/bond1 traffic",
        "查看 zabbix 监控项，比如：CPU 使用率、bond0/bond1 流量图",
    ),
    source: "003 针对告警问题的处理流程 4",
};
const STATUS: Step = Step {
    id: "lvs_status",
    title: Text::both(
        "The IPVS table has every expected service with a real server of weight above 0",
        "lvs_status：检查下ipvsadm –ln是否结果正常",
    ),
    source: "001 §3.2.1 lvs_status",
};
const MASTER: Step = Step {
    id: "lvs_is_master",
    title: Text::both(
        "This director is the master (holds a VIP)",
        "lvs_is_master：是否是master节点",
    ),
    source: "001 §3.2.1 lvs_is_master",
};
const DIAL: Step = Step {
    id: "dial_business_port",
    title: Text::both(
        "The business port answers through each VIP",
        "lvs_dial_business_port：拨测业务端口是否正常",
    ),
    source: "001 §3.2.1 lvs_dial_business_port",
};
const BACKEND: Step = Step {
    id: "backend_status",
    title: Text::both(
        "Every real server accepts connections and none is drained",
        "lvs_backend_status：Lvs后端节点状态是否正常",
    ),
    source: "001 §3.2.1 lvs_backend_status",
};
const WHO: Step = Step {
    id: "who_to_tell",
    title: Text::both(
        "Single point or ha/ssl cluster member: who must be told",
        "是 LVS 服务器单点情况 / 是 ha 或 ssl 集群模式",
    ),
    source: "003 针对具体排查结果",
};

const TELL_SINGLE: Text = Text::both(
    "This director is a single point (cluster_mode single): if it cannot be recovered at once, email the business administrators, post in the ops incident WeChat group and have 5666 phone every administrator; notify again on progress or recovery.",
    "如果确认服务器故障，是 LVS 服务器单点情况，不能立即恢复，则应该邮件通知相关业务管理员，通知其关注服务；并在「运维故障通报组（限运维内部使用）」微信群中通知，同时让 5666 务必电话通知到各位管理员知晓。如故障有新进展或服务器已恢复，则需再次通知相关人员。",
);
const TELL_CLUSTER: Text = Text::both(
    "This director is a member of an ha/ssl cluster: if the service is unaffected (traffic and load fine), no emergency handling; follow fault investigation -> device repair.",
    "如果故障服务器是 ha 或 ssl 集群模式，在不影响服务(流量负载都没问题)的情况下，可以不用紧急处理，走故障协查 -> 设备报修的流程即可。",
);

/// How long the alarmed IP's ping may take, beyond `ping.timeout`.
const PING_SLACK: Duration = Duration::from_secs(1);

fn label<'a>(labels: &'a [(String, String)], key: &str) -> &'a str {
    labels
        .iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

/// `(labels, value)` of every sample of `family`, owned.
fn all(fams: &[MetricFamily], family: &str) -> Vec<(Vec<(String, String)>, f64)> {
    diagnose::samples(fams, family, &[])
        .map(|(l, v)| (l.to_vec(), v))
        .collect()
}

/// Walks the procedure.
pub async fn walk(e: &LvsExporter, walk: &mut Walk) {
    walk.procedure(
        DOCUMENT,
        Text::both(
            "LVS alarm: reachability, the IPVS table, the master, the business dial, the real servers",
            "关于 LVS 值班中问题处理流程",
        ),
        CAUSES,
    );
    let fams = walk.metrics(diagnose::STEP_DEADLINE).await.to_vec();

    // 003 step 1: the alarmed IP (--target), else the VIPs the ping collector pinged.
    match walk.args().target.clone() {
        Some(t) => {
            let timeout = e.cfg.ping.timeout;
            walk.check_blocking(PING_ALARMED, timeout + PING_SLACK, move || {
                ping_target(&t, timeout)
            })
            .await;
        }
        None => {
            let o = ping_outcome(&fams, &["vip"], "ip_unreachable");
            match o {
                Some(o) => walk.record_outcome(PING_ALARMED, o),
                None => walk.not_applicable(
                    PING_ALARMED,
                    "no --target given and no VIP pinged (ping.vips is off)",
                ),
            }
        }
    }
    // 003 step 2.
    match ping_outcome(&fams, &["inner", "outer"], "device_unreachable") {
        Some(o) => walk.record_outcome(PING_DEVICE, o),
        None => walk.not_applicable(
            PING_DEVICE,
            "no inner or outer address configured ([ping] inner, outer)",
        ),
    }
    walk.manual(
        LOGIN,
        Text::both(
            "Log in to the device through the jump host; if it cannot be reached on either network, cannot be logged in to and its monitoring data stopped, treat it as down (cause device_unreachable).",
            "尝试通道机登录告警设备；如果 LVS 服务器内外网不通、登录不上、且监控数据异常中断，如无特殊情况一般视为宕机",
        ),
    );
    walk.manual(
        CPU_BOND,
        Text::both(
            "Look at CPU usage and the bond0/bond1 traffic graphs (zabbix, or os-exporter's dashboard: CPU and bond panels).",
            "查看 zabbix 监控项，比如：CPU 使用率、bond0/bond1 流量图",
        ),
    );

    // 001 §3.2.
    walk.record_outcome(STATUS, status_outcome(&fams));
    walk.record_outcome(MASTER, master_outcome(&fams));
    let is_master = walk.status_of(MASTER.id) == Some(Status::Pass);
    walk.record_outcome(DIAL, dial_outcome(&fams, is_master));
    walk.record_outcome(BACKEND, backend_outcome(&fams));

    let mode = diagnose::samples(&fams, "lvs_director_info", &[])
        .map(|(l, _)| label(l, "mode").to_owned())
        .next()
        .unwrap_or_default();
    walk.manual(
        WHO,
        if mode == "ha" || mode == "ssl" {
            TELL_CLUSTER
        } else {
            TELL_SINGLE
        },
    );

    // A dial through the VIP fails because a real server behind it is down: the real server is
    // the cause. A VIP of this director that does not answer while it is not master: the VIP is
    // not here (another director's, or nobody's).
    let failed = |w: &Walk, id: &str| w.status_of(id) == Some(Status::Fail);
    let backend_cause = walk
        .steps()
        .iter()
        .find(|s| s.id == BACKEND.id && s.status == Status::Fail)
        .and_then(|s| s.cause);
    if failed(walk, DIAL.id) && backend_cause == Some("real_server_down") {
        walk.conclude("real_server_down");
    }
    let alarmed_is_vip = walk.args().target.as_deref().is_none_or(|t| {
        diagnose::samples(&fams, "lvs_vip_local", &[("vip", t)])
            .next()
            .is_some()
    });
    if alarmed_is_vip && failed(walk, PING_ALARMED.id) && failed(walk, MASTER.id) {
        walk.conclude("not_master");
    }
}

/// Pings `--target`.
fn ping_target(target: &str, timeout: Duration) -> Outcome {
    let Ok(addr) = target.parse::<IpAddr>() else {
        return Outcome::error(format!("--target {target:?} is not an IP address"));
    };
    // Apart from the collector's sequence numbers (which start at 0).
    match ping::ping(&[addr], timeout, 0x8000) {
        Ok(r) => match r.first().copied().flatten() {
            Some(rtt) => Outcome::pass(format!("{addr} answers")).with(
                Evidence::new(
                    "ping",
                    format!("{addr}: answered in {:.2} ms", rtt.as_secs_f64() * 1000.0),
                )
                .from("--target"),
            ),
            None => Outcome::fail(format!("{addr} does not answer"))
                .cause("ip_unreachable")
                .with(
                    Evidence::new(
                        "ping",
                        format!("{addr}: no answer within {:.1} s", timeout.as_secs_f64()),
                    )
                    .from("--target"),
                ),
        },
        Err(e) => Outcome::error(format!("pinging {addr}: {e}")),
    }
}

/// The ping collector's results for `roles`; `None` when it pinged none of them.
fn ping_outcome(fams: &[MetricFamily], roles: &[&str], cause: &'static str) -> Option<Outcome> {
    let mut evidence = Vec::new();
    let mut down = Vec::new();
    for (l, up) in all(fams, "lvs_ping_up") {
        let role = label(&l, "role");
        if !roles.contains(&role) {
            continue;
        }
        let target = label(&l, "target");
        let rtt = diagnose::value(
            fams,
            "lvs_ping_rtt_seconds",
            &[("target", target), ("role", role)],
        );
        let detail = match rtt {
            Some(r) if up >= 1.0 => format!("{target} ({role}): answered in {:.2} ms", r * 1000.0),
            _ => {
                down.push(format!("{target} ({role})"));
                format!("{target} ({role}): no answer")
            }
        };
        evidence.push(Evidence::new("ping", detail).from("lvs_ping_up"));
    }
    if evidence.is_empty() {
        return None;
    }
    let n = evidence.len();
    Some(if down.is_empty() {
        Outcome::pass(format!("{n} addresses answer")).with_all(evidence)
    } else {
        Outcome::fail(format!("no answer from {}", down.join(", ")))
            .cause(cause)
            .with_all(evidence)
    })
}

/// The `ipvsadm -Ln` equivalent of one service: its real servers with forwarding and weight.
fn service_line(fams: &[MetricFamily], service: &str) -> String {
    let rs: Vec<String> = all(fams, "lvs_real_server_weight")
        .into_iter()
        .filter(|(l, _)| label(l, "service") == service)
        .map(|(l, w)| {
            format!(
                "-> {} {} weight {w:.0}",
                label(&l, "real_server"),
                label(&l, "forward")
            )
        })
        .collect();
    if rs.is_empty() {
        format!("{service}: no real server")
    } else {
        format!("{service}: {}", rs.join(", "))
    }
}

/// The services the check is about: the expected ones (`lvs_service_present`), else the table's.
fn services(fams: &[MetricFamily]) -> (Vec<(String, bool)>, bool) {
    let expected: Vec<(String, bool)> = all(fams, "lvs_service_present")
        .into_iter()
        .map(|(l, v)| (label(&l, "service").to_owned(), v >= 1.0))
        .collect();
    if !expected.is_empty() {
        return (expected, true);
    }
    let table = all(fams, "lvs_service_real_servers")
        .into_iter()
        .map(|(l, _)| (label(&l, "service").to_owned(), true))
        .collect();
    (table, false)
}

fn status_outcome(fams: &[MetricFamily]) -> Outcome {
    let Some(status) = diagnose::value(fams, "lvs_status", &[]) else {
        return Outcome::error("the ipvs collector gave no answer (lvs_status missing)");
    };
    let problem = |kind: &str| {
        diagnose::value(fams, "lvs_status_problems", &[("problem", kind)]).unwrap_or(0.0)
    };
    if diagnose::value(fams, "lvs_ipvs_present", &[]) == Some(0.0) {
        return Outcome::fail("IPVS is not loaded in this kernel")
            .cause("ipvs_absent")
            .with(
                Evidence::new("ipvsadm -Ln", "no IPVS (no /proc/net/ip_vs)")
                    .from("lvs_ipvs_present"),
            );
    }
    let (list, expected) = services(fams);
    let mut evidence = Vec::new();
    let mut missing = Vec::new();
    let mut unweighted = Vec::new();
    for (service, present) in &list {
        if !present {
            missing.push(service.clone());
            evidence.push(
                Evidence::new("ipvsadm -Ln", format!("{service}: not in the table"))
                    .from("lvs_service_present"),
            );
            continue;
        }
        let weighted = diagnose::value(
            fams,
            "lvs_service_real_servers_weighted",
            &[("service", service)],
        )
        .unwrap_or(0.0);
        if weighted == 0.0 {
            unweighted.push(service.clone());
        }
        evidence.push(
            Evidence::new("ipvsadm -Ln", service_line(fams, service))
                .from("lvs_real_server_weight"),
        );
    }
    let what = if expected {
        "expected services"
    } else {
        "services of the table"
    };
    if !missing.is_empty() || problem("service_missing") > 0.0 || problem("empty_table") > 0.0 {
        let which = if missing.is_empty() {
            "the table is empty".to_owned()
        } else {
            format!("missing: {}", missing.join(", "))
        };
        return Outcome::fail(format!("lvs_status 0: {which}"))
            .cause("service_missing")
            .with_all(evidence);
    }
    if !unweighted.is_empty() || problem("no_weighted_real_server") > 0.0 {
        return Outcome::fail(format!(
            "lvs_status 0: no real server of weight above 0 in {}",
            unweighted.join(", ")
        ))
        .cause("no_real_server_up")
        .with_all(evidence);
    }
    if status >= 1.0 {
        Outcome::pass(format!(
            "lvs_status 1: {} {what} present and served",
            list.len()
        ))
        .with_all(evidence)
    } else {
        Outcome::fail("lvs_status 0").with_all(evidence)
    }
}

fn master_outcome(fams: &[MetricFamily]) -> Outcome {
    let Some(master) = diagnose::value(fams, "lvs_is_master", &[]) else {
        return Outcome::error("the role collector gave no answer (lvs_is_master missing)");
    };
    let mut evidence: Vec<Evidence> = all(fams, "lvs_vip_local")
        .into_iter()
        .map(|(l, v)| {
            let vip = label(&l, "vip");
            let held = if v >= 1.0 {
                "on a local interface"
            } else {
                "not held here"
            };
            Evidence::new("ip addr", format!("{vip}: {held}")).from("lvs_vip_local")
        })
        .collect();
    evidence.extend(all(fams, "lvs_vrrp_master").into_iter().map(|(l, v)| {
        let state = if v >= 1.0 { "MASTER" } else { "not master" };
        Evidence::new(
            "keepalived dump",
            format!("{}: {state}", label(&l, "vrrp_instance")),
        )
        .from("lvs_vrrp_master")
    }));
    if master >= 1.0 {
        Outcome::pass("lvs_is_master 1").with_all(evidence)
    } else {
        Outcome::fail("lvs_is_master 0: no VIP held here, no MASTER in keepalived's dump")
            .cause("not_master")
            .with_all(evidence)
    }
}

fn dial_outcome(fams: &[MetricFamily], is_master: bool) -> Outcome {
    let dials = all(fams, "lvs_dial_business_port");
    if dials.is_empty() {
        return Outcome::not_applicable(if is_master {
            "no TCP service to dial (or dial = \"never\")"
        } else {
            "not dialled: this director is not master (dial = \"master\")"
        });
    }
    let mut evidence = Vec::new();
    let mut failing = Vec::new();
    for (l, ok) in &dials {
        let service = label(l, "service");
        let took = diagnose::value(fams, "lvs_dial_duration_seconds", &[("service", service)]);
        let detail = match took {
            Some(t) if *ok >= 1.0 => format!("{service}: answered in {:.1} ms", t * 1000.0),
            _ => {
                failing.push(service.to_owned());
                format!("{service}: no connection or no answer")
            }
        };
        evidence.push(Evidence::new("dial", detail).from("lvs_dial_business_port"));
    }
    if failing.is_empty() {
        Outcome::pass(format!("{} services answer through their VIP", dials.len()))
            .with_all(evidence)
    } else {
        Outcome::fail(format!("no answer through the VIP: {}", failing.join(", ")))
            .cause("dial_failing")
            .with_all(evidence)
    }
}

fn backend_outcome(fams: &[MetricFamily]) -> Outcome {
    let (list, _) = services(fams);
    let wanted: BTreeSet<&str> = list.iter().map(|(s, _)| s.as_str()).collect();
    let mut evidence = Vec::new();
    let (mut down, mut drained) = (Vec::new(), Vec::new());
    for (l, up) in all(fams, "lvs_backend_status") {
        let (service, rs) = (label(&l, "service"), label(&l, "real_server"));
        if !wanted.contains(service) {
            continue;
        }
        let state = if up >= 1.0 {
            "accepts connections"
        } else {
            down.push(format!("{rs} of {service}"));
            "refused or no answer"
        };
        evidence.push(
            Evidence::new("backend", format!("{service} -> {rs}: {state}"))
                .from("lvs_backend_status"),
        );
    }
    for (l, v) in all(fams, "lvs_backend_drained") {
        let (service, rs) = (label(&l, "service"), label(&l, "real_server"));
        if v >= 1.0 && wanted.contains(service) {
            drained.push(format!("{rs} of {service}"));
            evidence.push(
                Evidence::new("backend", format!("{service} -> {rs}: drained (weight 0)"))
                    .from("lvs_backend_drained"),
            );
        }
    }
    if !down.is_empty() {
        Outcome::fail(format!("down: {}", down.join(", ")))
            .cause("real_server_down")
            .with_all(evidence)
    } else if !drained.is_empty() {
        Outcome::fail(format!("drained: {}", drained.join(", ")))
            .cause("real_server_drained")
            .with_all(evidence)
    } else if evidence.is_empty() {
        Outcome::not_applicable("no real server of weight above 0 to check")
    } else {
        Outcome::pass(format!(
            "{} real servers accept connections",
            evidence.len()
        ))
        .with_all(evidence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::MetricSet;

    fn fams(build: impl FnOnce(&mut MetricSet)) -> Vec<MetricFamily> {
        let mut m = MetricSet::new();
        build(&mut m);
        m.into_families()
    }

    #[test]
    fn an_empty_scrape_is_an_error_not_a_pass() {
        let f = fams(|_| {});
        assert_eq!(status_outcome(&f).status, Status::Error);
        assert_eq!(master_outcome(&f).status, Status::Error);
        assert_eq!(dial_outcome(&f, true).status, Status::NotApplicable);
        assert_eq!(backend_outcome(&f).status, Status::NotApplicable);
        assert!(ping_outcome(&f, &["vip"], "ip_unreachable").is_none());
    }
}
