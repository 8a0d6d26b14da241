//! `ic-server-probe diagnose --target <IC-Server>`: document 000's procedure for
//! `ic_server_connect_failed` (处理方法), walked with the exporter's own probe, process match and
//! server.log matcher: the health interface, log in (manual), `ps -ef|grep ic-server`, errors
//! in `server.log` inside the log window, then the network between OCP and the IC-Server.

use std::time::{Duration, Instant};

use common::diagnose::{Cause, Evidence, Outcome, Status, Step, Text, Walk};
use common::http_probe::{Failure, Reason};

use crate::IcServerProbe;
use crate::collectors::health::Outcome as ProbeOutcome;
use crate::collectors::process;
use crate::collectors::server_log::ErrorMatcher;
use crate::target::{self, Target};

/// The document's causes, with its remedies.
pub(crate) const CAUSES: &[Cause] = &[
    Cause {
        id: "ic_server_process_down",
        title: Text::both(
            "The ic-server process is not running on the IC-Server host",
            "ic-server 进程未启动",
        ),
        remedy: Text::both(
            "Restart it on the IC-Server host: supervisord restart ic-server",
            "若进程未启动，则执行 `supervisord restart ic-server` 命令重启该进程。",
        ),
    },
    Cause {
        id: "ic_server_log_errors",
        title: Text::both(
            "IC-Server's server.log reports errors",
            "IC-Server 日志 server.log 中有报错",
        ),
        remedy: Text::both(
            "Troubleshoot from the error lines shown (~/logs/ic-server/server.log).",
            "若有报错日志，请参考报错日志排查。",
        ),
    },
    Cause {
        id: "ic_server_host_fault",
        title: Text::both(
            "The IC-Server host is faulty: IC-Server answers but not healthy",
            "安装 IC-Server 的主机中有故障的，导致 IC-Server 不可连。",
        ),
        remedy: Text::both(
            "Log in to the IC-Server host, find the host's fault and fix it; if that fails, contact technical support.",
            "请先确认主机故障原因，并确保主机可正常登录。若上述方法都无法解决问题，建议您联系技术支持人员。",
        ),
    },
    Cause {
        id: "network_problem",
        title: Text::both(
            "A network problem keeps OCP from connecting to this IC-Server",
            "网络问题，导致 OCP 无法与个别 IC-Server 建立连接。",
        ),
        remedy: Text::both(
            "Check the network between the OCP node and the IC-Server (the documentation's network troubleshooting appendix); if that fails, contact technical support.",
            "请确认是否网络问题，导致 OCP 无法连接个别 IC-Server。网络问题排查请参考网络故障排查。若上述方法都无法解决问题，建议您联系技术支持人员。",
        ),
    },
];

const HEALTH: Step = Step {
    id: "health",
    title: Text::both(
        "The IC-Server health interface answers (the alarm's ic_server_health)",
        "访问 IC-Server 的健康检查接口 http://IP:8088/ok",
    ),
    source: "000 告警原理",
};
const LOGIN: Step = Step {
    id: "login",
    title: Text::both("Log in to the IC-Server host", "登录 IC-Server 主机"),
    source: "000 处理方法 1.1",
};
const PROCESS: Step = Step {
    id: "process",
    title: Text::both(
        "The ic-server process runs (ps -ef|grep ic-server)",
        "检查 ic-server 进程是否正常",
    ),
    source: "000 处理方法 1.2",
};
const SERVER_LOG: Step = Step {
    id: "server_log",
    title: Text::both(
        "server.log has no errors in the log window (grep \"error\")",
        "检查 IC-Server 日志 server.log 中是否有报错",
    ),
    source: "000 处理方法 1.3",
};
const NETWORK: Step = Step {
    id: "network",
    title: Text::both(
        "The network lets OCP reach the IC-Server's port",
        "确认是否网络问题，导致 OCP 无法连接个别 IC-Server",
    ),
    source: "000 处理方法 2",
};
const SUPPORT: Step = Step {
    id: "support",
    title: Text::both("Contact technical support", "联系技术支持人员"),
    source: "000 处理方法 3",
};

/// Deadline of the log scan.
const LOG_DEADLINE: Duration = Duration::from_secs(5);
/// Deadline of the process table read.
const PS_DEADLINE: Duration = Duration::from_secs(3);

/// The IC-Server to diagnose: `--target`, else the only configured one.
fn pick_target(e: &IcServerProbe, walk: &Walk) -> Result<Target, String> {
    match (&walk.args().target, e.cfg.ic_servers.as_slice()) {
        (Some(t), _) => target::from_probe_param(&e.cfg.health_url, t),
        (None, [only]) => Ok(Target {
            address: only.clone(),
            url: target::health_url(&e.cfg.health_url, only),
        }),
        (None, []) => Err("no --target given and no ic_servers configured".to_owned()),
        (None, _) => Err("several ic_servers are configured: name one with --target".to_owned()),
    }
}

/// Whether a probe failure is the network's (no answer at all, or no route).
fn is_network(f: &Failure) -> bool {
    matches!(
        f.reason,
        Reason::Timeout | Reason::ConnectFailed | Reason::ConnectionReset | Reason::Dns
    )
}

fn probe_evidence(url: &str, r: &Result<common::http_probe::Response, Failure>) -> Evidence {
    let detail = match r {
        Ok(resp) => format!(
            "GET {url}: HTTP {} in {:.3}s",
            resp.status,
            resp.duration.as_secs_f64()
        ),
        Err(f) => format!(
            "GET {url}: {} (status {}) after {:.3}s: {}",
            f.reason.as_str(),
            f.status
                .map_or_else(|| "none".to_owned(), |s| s.to_string()),
            f.duration.as_secs_f64(),
            f.detail
        ),
    };
    Evidence::new("health probe", detail).from(url.to_owned())
}

/// Walks document 000's procedure.
pub(crate) async fn walk(e: &IcServerProbe, walk: &mut Walk) {
    walk.procedure(
        "000 ic_server_connect_failed",
        Text::both(
            "IC-Server connection failed (ic_server_connect_failed)",
            "Inter-Connector 服务端连接失败",
        ),
        CAUSES,
    );
    let local = e.cfg.local.enabled;

    // The alarm's own check, with the exporter's prober, on the target.
    let mut probed: Option<ProbeOutcome> = None;
    match pick_target(e, walk) {
        Err(why) => walk.not_applicable(HEALTH, why),
        Ok(t) => {
            let prober = e.prober();
            let deadline = e.cfg.timeout + Duration::from_secs(1);
            let url = t.url.clone();
            let slot = &mut probed;
            walk.check(HEALTH, deadline, async move {
                let until = Instant::now() + e.cfg.timeout;
                let mut out = prober.probe_all(std::slice::from_ref(&t), until).await;
                let Some(o) = out.pop() else {
                    return Outcome::error("the probe returned nothing");
                };
                let ev = probe_evidence(&url, &o.result);
                let res = match &o.result {
                    Ok(_) => Outcome::pass(format!("{} answered healthy", o.address)),
                    Err(f) => Outcome::fail(format!(
                        "{} is not healthy: {}",
                        o.address,
                        f.reason.as_str()
                    )),
                };
                *slot = Some(o);
                res.with(ev)
            })
            .await;
        }
    }

    if local {
        walk.record_outcome(
            LOGIN,
            Outcome::pass("diagnose runs on the IC-Server host ([local] checks enabled)"),
        );
    } else {
        walk.manual(
            LOGIN,
            Text::both(
                "Log in to the IC-Server host and run `ic-server-probe diagnose` there with [local] enabled; if you cannot log in, first find the host's fault and make it reachable.",
                "登录 IC-Server 主机。如果无法登录 IC-Server 主机，请先确认主机故障原因，并确保主机可正常登录。如可正常登录，则执行下一步。",
            ),
        );
    }

    if local {
        let paths = e.paths.clone();
        let name = e.cfg.local.process_name.clone();
        walk.check_blocking(PROCESS, PS_DEADLINE, move || {
            match process::matching(&paths, &name, std::process::id()) {
                Err(err) => Outcome::error(format!("reading the process table: {err}")),
                Ok(found) if found.is_empty() => Outcome::fail(format!(
                    "no process named {name}: ps -ef|grep {name} finds nothing"
                ))
                .cause("ic_server_process_down")
                .with(Evidence::new(format!("ps -ef|grep {name}"), "(no process)")),
                Ok(found) => Outcome::pass(format!("{} process(es) named {name}", found.len()))
                    .with_all(found.into_iter().take(10).map(|(pid, cmd)| {
                        Evidence::new(format!("ps -ef|grep {name}"), format!("pid {pid}: {cmd}"))
                    })),
            }
        })
        .await;
    } else {
        walk.not_applicable(PROCESS, "local checks are off: run on the IC-Server host");
    }

    match (&e.cfg.local.log_file, local) {
        (Some(log), true) => {
            let path = e.paths.root(&log.to_string_lossy());
            let matcher =
                ErrorMatcher::new(&e.cfg.local.error_keywords, e.cfg.local.case_insensitive);
            let window = walk.window().clone();
            walk.check_blocking(SERVER_LOG, LOG_DEADLINE, move || {
                match window.scan_family(&path, |l| matcher.is_error(l)) {
                    Err(err) => Outcome::error(format!("reading {}: {err}", path.display())),
                    Ok(m) if m.total == 0 => Outcome::pass(format!(
                        "no error lines among {} lines in the window ({} file(s))",
                        m.in_window, m.files
                    )),
                    Ok(m) => Outcome::fail(format!(
                        "{} error line(s) in the window (last {} shown)",
                        m.total,
                        m.lines.len()
                    ))
                    .cause("ic_server_log_errors")
                    .with_all(m.lines),
                }
            })
            .await;
        }
        (None, true) => walk.not_applicable(SERVER_LOG, "local.log_file is not set"),
        (_, false) => {
            walk.not_applicable(
                SERVER_LOG,
                "local checks are off: run on the IC-Server host",
            );
        }
    }

    let network = match &probed {
        None => Outcome::not_applicable("no health probe was made"),
        Some(o) => match &o.result {
            Ok(_) => Outcome::pass("OCP reaches the IC-Server's health interface"),
            Err(f) if is_network(f) => Outcome::fail(format!(
                "no answer from {}: {} (packets lost or filtered on the way)",
                o.address,
                f.reason.as_str()
            ))
            .cause("network_problem")
            .with(
                Evidence::new("connection", format!("{}: {}", f.reason.as_str(), f.detail))
                    .from(o.address.clone()),
            ),
            Err(f) => Outcome::pass(format!(
                "the IC-Server host answered ({}{}): the network carries the connection",
                f.reason.as_str(),
                f.status.map_or_else(String::new, |s| format!(", HTTP {s}"))
            )),
        },
    };
    walk.record_outcome(NETWORK, network);
    walk.manual(
        SUPPORT,
        Text::both(
            "If none of the above solves it, contact technical support.",
            "若上述方法都无法解决问题，建议您联系技术支持人员。",
        ),
    );

    // An answer that is not healthy, with nothing else to explain it, is the host's fault.
    let explained = walk
        .steps()
        .iter()
        .any(|s| s.status == Status::Fail && s.cause.is_some());
    if !explained && matches!(&probed, Some(o) if o.result.is_err()) {
        walk.conclude("ic_server_host_fault");
    }
}
