//! `etcd-probe diagnose`: document 002's tree for "ETCD service abnormal" (VM fault, network
//! fault, overload, etcd process fault, OM fault, in that order) and document 001 §3.3's member
//! abnormal and data loss, walked on this host with the probe's own collectors, log classifier
//! and process finder. Read-only: remedies are printed, never run.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use common::diagnose::{self, Cause, Evidence, Outcome, Step, Text, Walk, Window};
use common::icmp::{self, PassOptions, Target};
use common::netlink::{Limits, route};
use common::{MetricFamily, SysPaths, proc_table};

use crate::EtcdProbe;
use crate::log_classifier::{self, Cause as LogCause, Detail};
use crate::process;

/// A log scan's deadline (the window over every configured log, rotations and `.gz` included).
const LOG_DEADLINE: Duration = Duration::from_secs(5);
/// One ping's deadline (the step gets a little more).
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// A file, procfs or netlink check's deadline.
const LOCAL_DEADLINE: Duration = Duration::from_secs(3);
/// The one scrape of the members (each member is cut at `request_timeout` or this, the lower).
const MEMBERS_DEADLINE: Duration = Duration::from_secs(4);
/// The data directory's filesystem counts as full above this used fraction (the
/// `EtcdDataDirFilesystemFull` alert's threshold).
const FULL_RATIO: f64 = 0.9;

const STEP_VM_REBOOT: Step = Step {
    id: "vm_rebooted",
    title: Text::both(
        "The VM did not reboot in the log window",
        "检查虚拟机是否发生过重启",
    ),
    source: "002 §1 (VM fault)",
};
const STEP_VM_PLATFORM: Step = Step {
    id: "vm_platform",
    title: Text::both(
        "VM state, live/cold migration or HA on the control plane",
        "在管控面查看虚拟机状态是否正常，是否发生过热迁移、冷迁移、HA等动作",
    ),
    source: "002 §1 (VM fault)",
};
const STEP_PING: Step = Step {
    id: "ping_members",
    title: Text::both(
        "Ping the other members' IPs",
        "在该节点上ping其他节点IP，测试是否ping通",
    ),
    source: "002 §2 (network fault)",
};
const STEP_IP: Step = Step {
    id: "ip_configured",
    title: Text::both(
        "The IPs etcd uses are configured on this host",
        "（1）检查IP是否正常：ifconfig查看etcd使用的IP是否存在",
    ),
    source: "002 §2 step (1)",
};
const STEP_FIREWALL: Step = Step {
    id: "firewall",
    title: Text::both(
        "No firewall rule restricts etcd's IPs and ports",
        "（2）检查防火墙是否正常",
    ),
    source: "002 §2 step (2)",
};
const STEP_LOG_NETWORK: Step = Step {
    id: "etcd_log_network",
    title: Text::both(
        "etcd log lines of a network cut or a peer down",
        "（3）查看etcd日志：etcd节点间网络断开, 或者对端的etcd进程down",
    ),
    source: "002 §2 step (3)",
};
const STEP_LOG_OVERLOAD: Step = Step {
    id: "etcd_log_overload",
    title: Text::both(
        "etcd log lines of overload (WAL sync, late heartbeats, slow requests)",
        "查看对应时间点的etcd_xxx.log日志，说明etcd节点负载过重, 磁盘IO、CPU等压力大",
    ),
    source: "002 §3 (overload)",
};
const STEP_IO_UTIL: Step = Step {
    id: "cm_agent_io_util",
    title: Text::both(
        "cm_agent log: disk `io util 100`",
        "搜索对应时间点的cm_agent-xxx.log, io util 100 表示磁盘io 达到100%",
    ),
    source: "002 §3 (overload)",
};
const STEP_RESOURCES: Step = Step {
    id: "resource_usage",
    title: Text::both(
        "Disk I/O, CPU and memory at the alarm time",
        "在管控面查看该节点当时磁盘IO、CPU、内存监控指标是否很高",
    ),
    source: "002 §3 handling steps 1-3",
};
const STEP_PROCESS: Step = Step {
    id: "etcd_process",
    title: Text::both(
        "The etcd process runs and did not restart in the window",
        "执行命令ps ux | grep etcd， 查看etcd进程是否在运行，查看etcd进程启动时间，告警时是否重启过",
    ),
    source: "002 §4 (etcd process fault)",
};
const STEP_MARKERS: Step = Step {
    id: "manual_stop_markers",
    title: Text::both(
        "No manual-stop marker",
        "（1）cd $GAUSSLOG/bin, 查看目录下是否有cluster_manual_start 和 etcd_manual_start 两个文件",
    ),
    source: "002 §4 step (1)",
};
const STEP_BINARY: Step = Step {
    id: "etcd_binary",
    title: Text::both(
        "The etcd binary exists and is executable",
        "（2）cd $GAUSSHOME/bin 查看目录下是否存在etcd这个文件，文件权限是否正确",
    ),
    source: "002 §4 step (2)",
};
const STEP_DATA_DIR: Step = Step {
    id: "data_dir",
    title: Text::both(
        "The data directory exists, has mode 0700, and its disk is not full",
        "（3）检查etcd的数据目录所在磁盘是否满了或者目录权限不正确（正确是700）或者故障",
    ),
    source: "002 §4 step (3)",
};
const STEP_LOG_DISK: Step = Step {
    id: "etcd_log_disk",
    title: Text::both(
        "etcd log lines of a full disk or backend quota (no space)",
        "检查etcd的数据目录所在磁盘是否满了",
    ),
    source: "002 §4 step (3)",
};
const STEP_OM: Step = Step {
    id: "om_status_file",
    title: Text::both(
        "gs_om log: no missing status file",
        "cd $GAUSSLOG/om/ 查看gs_om-xxx.log，是否有异常日志 The status file does not exist",
    ),
    source: "002 §5 (OM interface)",
};
const STEP_MEMBERS: Step = Step {
    id: "member_status",
    title: Text::both(
        "Every member answers healthy, the cluster has a leader and no alarm",
        "Etcdctl status 命令进行监控集群的状态",
    ),
    source: "001 §3.3 (member abnormal)",
};
const STEP_DATA_LOSS: Step = Step {
    id: "data_loss",
    title: Text::both(
        "No data loss seen (cluster ID, revision, key count)",
        "对Etcd 数据量进行监控",
    ),
    source: "001 §3.3 (data loss)",
};

/// The causes, in the order they win when several steps fail: what makes etcd stop (an
/// operator, its files, its host) before what follows from it (refused peers, an unhealthy
/// member).
pub const CAUSES: &[Cause] = &[
    Cause {
        id: "manual_stop",
        title: Text::both(
            "The cluster or etcd was stopped on purpose (manual-stop marker present)",
            "有cluster_manual_start 和 etcd_manual_start 文件，表示集群被停止",
        ),
        remedy: Text::both(
            "Confirm why the cluster was stopped, then start it (GaussDB: `cm_ctl start`).",
            "确认停止集群的原因，之后启动集群，定位结束。",
        ),
    },
    Cause {
        id: "binary_missing",
        title: Text::both(
            "The etcd binary is missing or not executable",
            "etcd文件不存在或权限不正确",
        ),
        remedy: Text::both(
            "Find why the file is missing or its mode is wrong; restore it (e.g. `chmod 0755 <binary>`).",
            "确认文件不存在或权限不正确的原因。",
        ),
    },
    Cause {
        id: "data_dir_fault",
        title: Text::both(
            "etcd's data directory is missing (disk or mount fault)",
            "etcd的数据目录所在磁盘故障",
        ),
        remedy: Text::both(
            "Check the disk and its mount; for a disk fault contact IaaS support.",
            "如果是磁盘故障，联系IaaS技术支持分析定位。",
        ),
    },
    Cause {
        id: "data_dir_full",
        title: Text::both(
            "The disk holding etcd's data directory is full",
            "etcd的数据目录所在磁盘满了",
        ),
        remedy: Text::both(
            "Find the files filling the disk (`du -xsh <mount>/*`) and delete them or move them to another disk; if etcd's own files fill it, contact Huawei engineers.",
            "如果磁盘满，检查占用磁盘的文件并清除或者转存到其他盘，如果是etcd本身的文件占满，联系华为工程师分析原因。",
        ),
    },
    Cause {
        id: "data_dir_permissions",
        title: Text::both(
            "etcd's data directory does not have mode 0700",
            "etcd数据目录权限不正确（正确是700）",
        ),
        remedy: Text::both(
            "Restore the mode: `chmod 0700 <data dir>` (the path is in the data_dir step).",
            "如果目录权限不正确，修改为正确的目录权限。",
        ),
    },
    Cause {
        id: "ip_missing",
        title: Text::both(
            "An IP etcd uses is no longer configured on this host",
            "etcd使用的IP不存在",
        ),
        remedy: Text::both(
            "Find why the IP configuration was lost (commonly: not configured again after a VM reboot) and configure it (`ip addr add <ip>/<prefix> dev <nic>`).",
            "排查IP配置丢失原因，常见原因是虚拟机重启后IP没有重新配置，导致丢失。",
        ),
    },
    Cause {
        id: "vm_fault",
        title: Text::both(
            "The VM rebooted, migrated or failed over (HA)",
            "虚拟机故障导致ETCD服务异常告警",
        ),
        remedy: Text::both(
            "Contact IaaS support to repair the VM and find why it failed (e.g. memory or NIC faults causing a live migration).",
            "联系IaaS技术支持修复虚拟机，确认虚拟机故障原因，例如内存、网卡等问题引起热迁移。",
        ),
    },
    Cause {
        id: "process_down",
        title: Text::both(
            "The local etcd process is not running",
            "etcd进程故障导致ETCD服务异常告警：etcd进程down",
        ),
        remedy: Text::both(
            "Find why etcd cannot start (markers, binary and data directory are checked above, its log says the rest); if none of these, contact Huawei engineers.",
            "如果进程不在，查看etcd无法启动原因；参照上述处理，如果不是以上原因，请联系华为工程师",
        ),
    },
    Cause {
        id: "nospace_alarm",
        title: Text::en(
            "The backend quota is exhausted (NOSPACE alarm): the cluster takes no writes",
        ),
        remedy: Text::en(
            "Compact (`etcdctl endpoint status -w json` gives the revision; `etcdctl compact <revision>`), defragment every member (`etcdctl defrag`), then `etcdctl alarm disarm`; then find why the data grew.",
        ),
    },
    Cause {
        id: "overload",
        title: Text::both(
            "The etcd node is overloaded: disk I/O, CPU or memory pressure",
            "负载过重导致ETCD服务异常告警：etcd节点负载过重, 磁盘IO、CPU等压力大",
        ),
        remedy: Text::both(
            "Check the node's disk I/O, CPU and memory at the alarm time on the control plane; if the fault is still there run `iostat -mx 1`, `top`, `free`; read /var/log/messages around that time (e.g. memory exhausted). If still unclear, contact Huawei engineers.",
            "在管控面查看该节点当时磁盘IO、CPU、内存监控指标是否很高；如果故障现场还在： iostat -mx 1 查看磁盘IO状态，top和free命令查看cpu、内存使用情况；root用户查看该节点的系统日志, cd /var/log, 查看该时间点message日志是否有异常记录。如果仍无法确认原因，联系华为工程师。",
        ),
    },
    Cause {
        id: "peer_process_down",
        title: Text::both(
            "A peer's etcd process is down (connections to it are refused)",
            "对端的etcd进程down，导致本端etcd连接断开",
        ),
        remedy: Text::both(
            "Check whether the peer's etcd process stopped or restarted (run `etcd-probe diagnose` on that member).",
            "排查对端的etcd进程是否重启",
        ),
    },
    Cause {
        id: "network_fault",
        title: Text::both(
            "The network between members is cut, or a peer host hangs (i/o timeouts)",
            "网络故障导致ETCD服务异常告警：etcd节点间网络断开",
        ),
        remedy: Text::both(
            "Find the network cause (link down, NIC fault, or a VM fault); check IP configuration and firewall rules (`iptables -L`) on both ends.",
            "排查网络原因，网络原因可能是网络断开，网卡故障，也有可能是虚拟机故障。检查该节点网络、IP配置、防火墙配置等。",
        ),
    },
    Cause {
        id: "process_restarted",
        title: Text::both(
            "The local etcd process restarted in the window",
            "etcd进程重启",
        ),
        remedy: Text::both(
            "Ask Huawei engineers to confirm why it restarted.",
            "查看etcd进程启动时间，告警时是否重启过，联系华为工程师确认重启原因。",
        ),
    },
    Cause {
        id: "om_status_file_missing",
        title: Text::both(
            "The OM interface could not return the cluster state (status file missing)",
            "OM接口无法正确返回结果导致ETCD服务异常告警",
        ),
        remedy: Text::both(
            "Check whether the control plane got the cluster state or an empty message; contact Huawei engineers.",
            "查看管控面是否获取集群状态成功，是否获取空消息，联系华为工程师分析定位。",
        ),
    },
    Cause {
        id: "member_abnormal",
        title: Text::both(
            "An etcd member is abnormal",
            "Etcd集群member异常：Etcd member运行时突然异常",
        ),
        remedy: Text::both(
            "If the member cannot be recovered, remove it (`etcdctl member remove <ID>`) and add a replacement.",
            "摘除异常节点 etcdctl member remove $ID",
        ),
    },
    Cause {
        id: "data_loss",
        title: Text::both(
            "etcd data was lost (cluster re-created, revision back, keys dropped)",
            "数据丢失：集群异常或者被程序删掉",
        ),
        remedy: Text::both(
            "Restore from the latest snapshot: `etcdctl snapshot restore snapshot.db` on every member, then start them on the restored data.",
            "etcdctl snapshot restore snapshot.db",
        ),
    },
];

/// Walks the procedure.
pub async fn walk(probe: &EtcdProbe, walk: &mut Walk) {
    walk.procedure(
        "002 (GaussDB ETCD service abnormal), 001 §3.3",
        Text::both("ETCD service abnormal", "ETCD服务异常"),
        CAUSES,
    );
    let cfg = &probe.cfg;
    let paths = probe.paths.clone();
    // The members, the local checks and the logs, each once.
    // A member that does not answer is cut at the lowest of these (the cluster collector's
    // request timeout and scrape deadline).
    let member_deadline = cfg
        .request_timeout
        .min(MEMBERS_DEADLINE)
        .min(walk.remaining());
    let fams: Vec<MetricFamily> = walk.metrics(MEMBERS_DEADLINE).await.to_vec();

    // §1 VM fault.
    let window = walk.window().clone();
    let p = paths.clone();
    walk.check_blocking(STEP_VM_REBOOT, LOCAL_DEADLINE, move || {
        vm_reboot(&p, &window)
    })
    .await;
    walk.manual(
        STEP_VM_PLATFORM,
        Text::both(
            "Find the instance, node and VM IDs in the alarm; on the control plane check the VM is normal and can be logged in to, and whether it was rebooted, live- or cold-migrated or moved by HA (e.g. for memory or NIC faults). If it cannot be logged in to, contact IaaS support.",
            "在告警信息中找到实例ID、节点ID、虚拟机ID，在管控面查看虚拟机状态是否正常，能否正常登录，如果虚拟机异常无法登录，联系IaaS技术支持修复虚拟机。检查虚拟机是否发生过重启，热迁移、冷迁移、HA等动作，例如内存、网卡等问题引起热迁移。",
        ),
    );

    // §2 network fault.
    let endpoints = cfg.endpoints.clone();
    walk.check_blocking(
        STEP_PING,
        PING_TIMEOUT + Duration::from_secs(1),
        move || ping_members(&endpoints),
    )
    .await;
    let local = cfg.local.clone();
    let p = paths.clone();
    if local.enabled {
        walk.check_blocking(STEP_IP, LOCAL_DEADLINE, move || {
            ip_configured(
                &p,
                &local.process_name,
                local.process_cmdline_contains.as_deref(),
            )
        })
        .await;
    } else {
        walk.not_applicable(
            STEP_IP,
            "local checks are disabled ([local] enabled = false)",
        );
    }
    walk.manual(
        STEP_FIREWALL,
        Text::both(
            "etcd's IPs and ports are in the ip_configured step (its command line, as `ps ux | grep etcd` shows it); as root run `iptables -L -n` (and `nft list ruleset`) and look for rules dropping or rejecting them. If there are, remove the restriction.",
            "在Ruby用户下查看etcd的IP和端口： ps ux | grep etcd；在root用户下iptables -L命令检查防火墙是否限制了IP和端口，如果有限制，去掉防火墙限制。",
        ),
    );
    let logs: Vec<(String, PathBuf)> = cfg
        .logs
        .iter()
        .map(|l| (l.name.clone(), paths.root(&l.path.to_string_lossy())))
        .collect();
    log_step(walk, STEP_LOG_NETWORK, &logs, LogCause::Network).await;

    // §3 overload.
    log_step(walk, STEP_LOG_OVERLOAD, &logs, LogCause::Overload).await;
    log_step(walk, STEP_IO_UTIL, &logs, LogCause::IoUtil).await;
    walk.manual(
        STEP_RESOURCES,
        Text::both(
            "On the control plane check the node's disk I/O, CPU and memory at the alarm time; if the fault is still there run `iostat -mx 1`, `top` and `free`; as root read /var/log/messages around that time (e.g. memory exhausted: find what holds it). If still unclear, contact Huawei engineers.",
            "1、在管控面查看该节点当时磁盘IO、CPU、内存监控指标是否很高；2、如果故障现场还在： iostat -mx 1 查看磁盘IO状态，top和free命令查看cpu、内存使用情况；3、root用户查看该节点的系统日志, cd /var/log, 查看该时间点message日志是否有异常记录。如果仍无法确认原因，联系华为工程师。",
        ),
    );

    // §4 etcd process fault.
    let since = walk.window().since.as_second();
    if cfg.local.enabled {
        walk.record_outcome(STEP_PROCESS, process_step(&fams, since));
        walk.record_outcome(
            STEP_MARKERS,
            markers_step(&fams, cfg.local.marker_dir.is_some()),
        );
        walk.record_outcome(STEP_BINARY, binary_step(&fams));
        walk.record_outcome(STEP_DATA_DIR, data_dir_step(&fams));
    } else {
        for s in [STEP_PROCESS, STEP_MARKERS, STEP_BINARY, STEP_DATA_DIR] {
            walk.not_applicable(s, "local checks are disabled ([local] enabled = false)");
        }
    }
    log_step(walk, STEP_LOG_DISK, &logs, LogCause::Disk).await;

    // §5 OM interface.
    log_step(walk, STEP_OM, &logs, LogCause::Om).await;

    // 001 §3.3.
    walk.record_outcome(STEP_MEMBERS, members_step(&fams, member_deadline));
    walk.record_outcome(STEP_DATA_LOSS, data_loss_step(&fams, since));

    if let Some(c) = CAUSES.iter().find(|c| {
        walk.steps()
            .iter()
            .any(|s| s.status == diagnose::Status::Fail && s.cause == Some(c.id))
    }) {
        walk.conclude(c.id);
    }
}

fn rfc3339(unix: f64) -> String {
    #[allow(clippy::cast_possible_truncation)]
    jiff::Timestamp::from_second(unix as i64).map_or_else(|_| format!("{unix}"), |t| t.to_string())
}

/// 002 §1: a boot inside the window (from `/proc/stat`'s `btime`) is a VM fault.
fn vm_reboot(paths: &SysPaths, window: &Window) -> Outcome {
    let stat = match paths.read_proc("stat") {
        Ok(b) => b,
        Err(e) => return Outcome::error(format!("reading the boot time: {e}")),
    };
    let Some(btime) = proc_table::boot_time(&stat) else {
        return Outcome::error("no btime line in /proc/stat");
    };
    let ev = Evidence::new("boot time", rfc3339(btime)).from("/proc/stat btime");
    #[allow(clippy::cast_precision_loss)]
    let since = window.since.as_second() as f64;
    if btime >= since {
        Outcome::fail(format!(
            "the host booted at {} inside the window (since {})",
            rfc3339(btime),
            window.since
        ))
        .cause("vm_fault")
        .with(ev)
    } else {
        Outcome::pass(format!("no reboot since {}", window.since)).with(ev)
    }
}

/// 002 §2: ping each member's IP once (endpoints given by host name are listed, not resolved).
fn ping_members(endpoints: &[String]) -> Outcome {
    let mut ips: Vec<IpAddr> = Vec::new();
    let mut evidence = Vec::new();
    for e in endpoints {
        match process::url_ip(e) {
            Some(ip) if !ips.contains(&ip) => ips.push(ip),
            Some(_) => {}
            None => evidence.push(
                Evidence::new("not pinged", "a host name, not an IP: ping it by hand").from(e),
            ),
        }
    }
    if ips.is_empty() {
        return Outcome::not_applicable("no member IP to ping").with_all(evidence);
    }
    let targets: Vec<Target> = ips
        .iter()
        .map(|&addr| Target { addr, source: None })
        .collect();
    let opts = PassOptions {
        timeout: PING_TIMEOUT,
        id: u16::try_from(std::process::id() & 0xffff).unwrap_or(0),
        ..PassOptions::default()
    };
    let result = match icmp::ping_pass(&targets, &opts) {
        Ok(r) => r,
        Err(e) => return Outcome::error(format!("ping: {e}")).with_all(evidence),
    };
    let mut lost = 0;
    for (ip, echoes) in ips.iter().zip(result.echoes) {
        let detail = match (echoes.max(), &echoes.send_error) {
            (Some(rtt), _) => format!("reply, rtt {:.3} ms", rtt.as_secs_f64() * 1e3),
            (None, Some(err)) => {
                lost += 1;
                format!("not sent: {err}")
            }
            (None, None) => {
                lost += 1;
                format!("no reply within {:.1}s", PING_TIMEOUT.as_secs_f64())
            }
        };
        evidence.push(Evidence::new("ping", detail).from(ip.to_string()));
    }
    if lost == 0 {
        Outcome::pass(format!("{} member IPs answer ping", ips.len())).with_all(evidence)
    } else {
        Outcome::fail(format!(
            "{lost} of {} member IPs do not answer ping",
            ips.len()
        ))
        .cause("network_fault")
        .with_all(evidence)
    }
}

/// 002 §2 (1): every IP in the local etcd's URL flags is on an interface (0.0.0.0/:: and host
/// names need none).
fn ip_configured(paths: &SysPaths, name: &str, cmdline_contains: Option<&str>) -> Outcome {
    let procs = match process::find(paths, name, cmdline_contains) {
        Ok(p) => p,
        Err(e) => return Outcome::error(format!("reading the processes: {e}")),
    };
    let Some(proc_) = procs.first() else {
        return Outcome::not_applicable(
            "etcd is not running: the IPs it uses come from its command line",
        );
    };
    let urls = process::urls(&proc_.args);
    let mut evidence = vec![Evidence::new("etcd URLs", urls.join(" ")).from("/proc/<pid>/cmdline")];
    let wanted: Vec<IpAddr> = urls
        .iter()
        .filter_map(|u| process::url_ip(u))
        .filter(|ip| !ip.is_unspecified())
        .fold(Vec::new(), |mut v, ip| {
            if !v.contains(&ip) {
                v.push(ip);
            }
            v
        });
    if wanted.is_empty() {
        return Outcome::not_applicable("etcd's command line names no IP (defaults or host names)")
            .with_all(evidence);
    }
    let net = match route::dump(Limits {
        recv_timeout: LOCAL_DEADLINE,
        ..Limits::default()
    }) {
        Ok(n) => n,
        Err(e) => return Outcome::error(format!("reading the addresses (netlink): {e}")),
    };
    let mut missing = Vec::new();
    for ip in &wanted {
        match net.addresses.iter().find(|a| a.addr == *ip) {
            Some(a) => evidence.push(
                Evidence::new(
                    "ip addr",
                    format!(
                        "{}/{} on {}",
                        a.addr,
                        a.prefix_len,
                        net.link_name(a.index).unwrap_or("?")
                    ),
                )
                .from("netlink RTM_GETADDR"),
            ),
            None => {
                missing.push(ip.to_string());
                evidence.push(
                    Evidence::new("ip addr", format!("{ip} is on no interface"))
                        .from("netlink RTM_GETADDR"),
                );
            }
        }
    }
    if missing.is_empty() {
        Outcome::pass(format!("{} IPs of etcd are configured", wanted.len())).with_all(evidence)
    } else {
        Outcome::fail(format!("not configured: {}", missing.join(", ")))
            .cause("ip_missing")
            .with_all(evidence)
    }
}

/// Which cause a set of classified lines points to.
fn log_cause(cause: LogCause, counts: &BTreeMap<Detail, usize>) -> &'static str {
    let n = |d: Detail| counts.get(&d).copied().unwrap_or(0);
    match cause {
        // Refused means the peer host answered and no etcd listens; a timeout means the host
        // or the path does not answer. When both appear, the more frequent one decides.
        LogCause::Network
            if n(Detail::ConnectionRefused) > 0
                && n(Detail::ConnectionRefused) >= n(Detail::IoTimeout) =>
        {
            "peer_process_down"
        }
        LogCause::Network => "network_fault",
        LogCause::Overload | LogCause::IoUtil => "overload",
        LogCause::Disk if n(Detail::NoSpaceLeft) > 0 => "data_dir_full",
        LogCause::Disk => "nospace_alarm",
        LogCause::Om => "om_status_file_missing",
    }
}

/// Scans every configured log in the window for the lines the classifier puts under `cause`.
async fn log_step(walk: &mut Walk, step: Step, logs: &[(String, PathBuf)], cause: LogCause) {
    if logs.is_empty() {
        walk.not_applicable(step, "no [[logs]] configured");
        return;
    }
    let window = walk.window().clone();
    let logs = logs.to_vec();
    walk.check_blocking(step, LOG_DEADLINE, move || {
        let mut counts: BTreeMap<Detail, usize> = BTreeMap::new();
        let mut evidence = Vec::new();
        let mut problems = Vec::new();
        for (name, path) in &logs {
            let found = window.scan_family(path, |line| {
                match log_classifier::classify_line(line).filter(|d| d.cause() == cause) {
                    Some(d) => {
                        *counts.entry(d).or_insert(0) += 1;
                        true
                    }
                    None => false,
                }
            });
            match found {
                Ok(m) if m.files == 0 => {
                    problems.push(format!("{name}: {} not found", path.display()));
                }
                Ok(m) => {
                    evidence.extend(m.lines);
                    problems.extend(m.problems.into_iter().map(|p| format!("{name}: {p}")));
                }
                Err(e) => problems.push(format!("{name}: {e}")),
            }
        }
        let total: usize = counts.values().sum();
        let summary: Vec<String> = counts
            .iter()
            .map(|(d, n)| format!("{}={n}", d.as_str()))
            .collect();
        let mut out = if total > 0 {
            Outcome::fail(format!(
                "{total} matching lines in the window ({})",
                summary.join(", ")
            ))
            .cause(log_cause(cause, &counts))
            .with(Evidence::new("classified lines", summary.join(", ")).from("log_classifier"))
        } else if problems.len() == logs.len() {
            Outcome::error("no configured log could be read")
        } else {
            Outcome::pass("no matching line in the window")
        };
        for p in problems {
            out = out.with(Evidence::new("unreadable", p));
        }
        out.with_all(evidence)
    })
    .await;
}

fn metric(fams: &[MetricFamily], family: &str) -> Option<f64> {
    diagnose::value(fams, family, &[])
}

fn path_label(fams: &[MetricFamily], family: &str) -> String {
    diagnose::samples(fams, family, &[])
        .next()
        .and_then(|(labels, _)| labels.iter().find(|(k, _)| k == "path"))
        .map_or_else(String::new, |(_, v)| v.clone())
}

/// 002 §4: `etcd_process_status`, and a start time inside the window.
fn process_step(fams: &[MetricFamily], since: i64) -> Outcome {
    match metric(fams, "etcd_process_status") {
        None => Outcome::error("the local collector did not answer (see the exporter's log)"),
        Some(0.0) => Outcome::fail("no etcd process runs (ps ux | grep etcd)")
            .cause("process_down")
            .with(Evidence::new("etcd_process_status", "0").from("local collector")),
        Some(_) => {
            let start = metric(fams, "etcd_process_start_time_seconds");
            let ev = Evidence::new(
                "process start",
                start.map_or_else(|| "unknown".to_owned(), rfc3339),
            )
            .from("etcd_process_start_time_seconds");
            #[allow(clippy::cast_precision_loss)]
            match start {
                Some(s) if s >= since as f64 => Outcome::fail(format!(
                    "etcd runs, but started at {} inside the window",
                    rfc3339(s)
                ))
                .cause("process_restarted")
                .with(ev),
                _ => Outcome::pass("etcd runs, started before the window").with(ev),
            }
        }
    }
}

/// 002 §4 (1): `etcd_manual_stop_marker_present`.
fn markers_step(fams: &[MetricFamily], configured: bool) -> Outcome {
    if !configured {
        return Outcome::not_applicable("no marker_dir configured ([local] marker_dir)");
    }
    let all: Vec<(String, f64)> = diagnose::samples(fams, "etcd_manual_stop_marker_present", &[])
        .map(|(labels, v)| {
            let file = labels
                .iter()
                .find(|(k, _)| k == "file")
                .map_or_else(String::new, |(_, f)| f.clone());
            (file, v)
        })
        .collect();
    if all.is_empty() {
        return Outcome::error("the marker directory could not be read (see the exporter's log)");
    }
    let present: Vec<&str> = all
        .iter()
        .filter(|(_, v)| *v > 0.0)
        .map(|(f, _)| f.as_str())
        .collect();
    let evidence = all.iter().map(|(f, v)| {
        Evidence::new(
            "marker",
            format!("{f}: {}", if *v > 0.0 { "present" } else { "absent" }),
        )
        .from("etcd_manual_stop_marker_present")
    });
    if present.is_empty() {
        Outcome::pass("no manual-stop marker").with_all(evidence)
    } else {
        Outcome::fail(format!(
            "manual-stop marker present: {}",
            present.join(", ")
        ))
        .cause("manual_stop")
        .with_all(evidence)
    }
}

/// 002 §4 (2): `etcd_binary_exists`, `etcd_binary_executable`.
fn binary_step(fams: &[MetricFamily]) -> Outcome {
    let path = path_label(fams, "etcd_binary_exists");
    match (
        metric(fams, "etcd_binary_exists"),
        metric(fams, "etcd_binary_executable"),
    ) {
        (Some(0.0), _) => Outcome::fail(format!("{path} does not exist"))
            .cause("binary_missing")
            .with(Evidence::new("etcd_binary_exists", "0").from(path)),
        (Some(_), Some(0.0)) => Outcome::fail(format!("{path} has no execute bit"))
            .cause("binary_missing")
            .with(Evidence::new("etcd_binary_executable", "0").from(path)),
        (Some(_), Some(_)) => Outcome::pass(format!("{path} exists and is executable"))
            .with(Evidence::new("etcd_binary_executable", "1").from(path)),
        _ => Outcome::error("the local collector did not answer (see the exporter's log)"),
    }
}

/// 002 §4 (3): `etcd_data_dir_*`.
fn data_dir_step(fams: &[MetricFamily]) -> Outcome {
    let path = path_label(fams, "etcd_data_dir_exists");
    match metric(fams, "etcd_data_dir_exists") {
        None => {
            return Outcome::error("the local collector did not answer (see the exporter's log)");
        }
        Some(0.0) => {
            return Outcome::fail(format!("{path} does not exist"))
                .cause("data_dir_fault")
                .with(Evidence::new("etcd_data_dir_exists", "0").from(path));
        }
        Some(_) => {}
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let mode = metric(fams, "etcd_data_dir_mode").map(|m| m as u32);
    let mode_ev = Evidence::new(
        "mode",
        mode.map_or_else(|| "unknown".to_owned(), |m| format!("{m:04o}, want 0700")),
    )
    .from(path.clone());
    let used = metric(fams, "etcd_data_dir_filesystem_used_ratio");
    let avail = metric(fams, "etcd_data_dir_filesystem_avail_bytes");
    let df_ev = Evidence::new(
        "df",
        match (used, avail) {
            (Some(u), Some(a)) => {
                format!("{:.0}% used, {:.0} MiB available", u * 100.0, a / 1048576.0)
            }
            _ => "statfs did not answer".to_owned(),
        },
    )
    .from(path.clone());
    if used.is_some_and(|u| u > FULL_RATIO) {
        return Outcome::fail(format!("the filesystem of {path} is full"))
            .cause("data_dir_full")
            .with(df_ev)
            .with(mode_ev);
    }
    if metric(fams, "etcd_data_dir_permissions_ok") == Some(0.0) {
        return Outcome::fail(format!(
            "{path} has mode {}, not 0700",
            mode.map_or_else(|| "?".to_owned(), |m| format!("{m:04o}"))
        ))
        .cause("data_dir_permissions")
        .with(mode_ev)
        .with(df_ev);
    }
    Outcome::pass(format!("{path}: mode 0700, disk not full"))
        .with(mode_ev)
        .with(df_ev)
}

/// 001 §3.3 member abnormal: every configured member's `/health`, the leader, the alarms.
fn members_step(fams: &[MetricFamily], member_deadline: Duration) -> Outcome {
    let mut evidence = Vec::new();
    let mut unhealthy = 0;
    let (mut refused, mut timeouts) = (0, 0);
    let health: Vec<(String, f64)> = diagnose::samples(fams, "etcd_health", &[])
        .filter_map(|(l, v)| {
            let ep = l.iter().find(|(k, _)| k == "endpoint")?.1.clone();
            Some((ep, v))
        })
        .collect();
    if health.is_empty() {
        return Outcome::error("the cluster collector did not answer (see the exporter's log)");
    }
    for (ep, h) in &health {
        let reason = diagnose::samples(fams, "etcd_endpoint_probe_failure", &[("endpoint", ep)])
            .find_map(|(l, _)| {
                l.iter()
                    .find(|(k, _)| k == "reason")
                    .map(|(_, r)| r.clone())
            });
        let detail = match reason.as_deref() {
            Some("timeout") => {
                timeouts += 1;
                format!(
                    "no answer within its {:.1}s deadline: cut (reason timeout)",
                    member_deadline.as_secs_f64()
                )
            }
            Some(r) => {
                if r == "connection_refused" {
                    refused += 1;
                }
                format!("unreachable (reason {r})")
            }
            None if *h > 0.0 => "healthy".to_owned(),
            None => "answers, unhealthy".to_owned(),
        };
        if *h == 0.0 {
            unhealthy += 1;
        }
        evidence.push(Evidence::new("member", detail).from(ep.clone()));
    }
    let nospace =
        diagnose::value(fams, "etcd_cluster_alarm_active", &[("alarm", "NOSPACE")]) == Some(1.0);
    let corrupt =
        diagnose::value(fams, "etcd_cluster_alarm_active", &[("alarm", "CORRUPT")]) == Some(1.0);
    for (alarm, on) in [("NOSPACE", nospace), ("CORRUPT", corrupt)] {
        if on {
            evidence.push(Evidence::new("alarm", alarm).from("etcd_cluster_alarm_active"));
        }
    }
    let leader = metric(fams, "etcd_cluster_has_leader");
    evidence.push(
        Evidence::new("leader", if leader == Some(1.0) { "yes" } else { "none" })
            .from("etcd_cluster_has_leader"),
    );
    if let Some(h) = metric(fams, "etcd_cluster_healthy_members") {
        let q =
            metric(fams, "etcd_cluster_quorum").map_or_else(|| "?".to_owned(), |q| q.to_string());
        evidence.push(
            Evidence::new("healthy members", format!("{h} (quorum {q})"))
                .from("etcd_cluster_healthy_members"),
        );
    }
    if unhealthy == 0 && leader == Some(1.0) && !nospace && !corrupt {
        return Outcome::pass(format!(
            "{} members healthy, a leader, no alarm",
            health.len()
        ))
        .with_all(evidence);
    }
    let cause = if nospace {
        "nospace_alarm"
    } else if refused > 0 {
        "peer_process_down"
    } else if timeouts > 0 {
        "network_fault"
    } else {
        "member_abnormal"
    };
    Outcome::fail(format!(
        "{unhealthy} of {} members unhealthy{}{}",
        health.len(),
        if leader == Some(1.0) {
            ""
        } else {
            ", no leader"
        },
        if nospace { ", NOSPACE alarm" } else { "" }
    ))
    .cause(cause)
    .with_all(evidence)
}

/// 001 §3.3 data loss: the detector's events (its state file is read, never written, here).
fn data_loss_step(fams: &[MetricFamily], since: i64) -> Outcome {
    if !fams.iter().any(|f| f.name == "etcd_data_loss_events_total") {
        return Outcome::error("the cluster collector did not answer (see the exporter's log)");
    }
    let kinds: Vec<(String, f64)> = diagnose::samples(fams, "etcd_data_loss_events_total", &[])
        .filter(|(_, v)| *v > 0.0)
        .map(|(l, v)| {
            let k = l
                .iter()
                .find(|(k, _)| k == "kind")
                .map_or_else(String::new, |(_, k)| k.clone());
            (k, v)
        })
        .collect();
    let last = metric(fams, "etcd_data_loss_last_event_timestamp_seconds").unwrap_or(0.0);
    let evidence = kinds.iter().map(|(k, v)| {
        Evidence::new("data loss events", format!("{k}: {v}")).from("etcd_data_loss_events_total")
    });
    #[allow(clippy::cast_precision_loss)]
    if !kinds.is_empty() && last >= since as f64 {
        Outcome::fail(format!("data loss seen at {}", rfc3339(last)))
            .cause("data_loss")
            .with_all(evidence)
    } else if !kinds.is_empty() {
        Outcome::pass(format!(
            "no data loss in the window (last seen {})",
            rfc3339(last)
        ))
        .with_all(evidence)
    } else {
        Outcome::pass("no data loss seen")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::MetricSet;
    use common::diagnose::Status;

    /// A sample: family, labels, value.
    type Sample<'a> = (&'a str, &'a [(&'a str, &'a str)], f64);

    fn fams(samples: &[Sample<'_>]) -> Vec<MetricFamily> {
        let mut m = MetricSet::new();
        for (name, labels, v) in samples {
            m.gauge_with(name, "test", labels, *v);
        }
        m.into_families()
    }

    #[test]
    fn every_cause_a_step_can_name_is_in_the_list_once() {
        let mut ids: Vec<&str> = CAUSES.iter().map(|c| c.id).collect();
        for named in [
            "vm_fault",
            "network_fault",
            "ip_missing",
            "peer_process_down",
            "overload",
            "process_down",
            "process_restarted",
            "manual_stop",
            "binary_missing",
            "data_dir_fault",
            "data_dir_full",
            "data_dir_permissions",
            "om_status_file_missing",
            "nospace_alarm",
            "member_abnormal",
            "data_loss",
        ] {
            assert!(ids.contains(&named), "{named}");
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CAUSES.len());
        // What stops etcd outranks what follows from it.
        let pos = |id: &str| CAUSES.iter().position(|c| c.id == id).unwrap();
        assert!(pos("manual_stop") < pos("process_down"));
        assert!(pos("process_down") < pos("peer_process_down"));
        assert!(pos("nospace_alarm") < pos("overload"));
        assert!(pos("overload") < pos("network_fault"));
    }

    #[test]
    fn refused_lines_name_a_dead_peer_and_timeouts_the_network() {
        let counts = |v: &[(Detail, usize)]| v.iter().copied().collect::<BTreeMap<_, _>>();
        let net = |v: &[(Detail, usize)]| log_cause(LogCause::Network, &counts(v));
        assert_eq!(
            net(&[
                (Detail::ConnectionRefused, 2),
                (Detail::PeerConnectionLost, 7)
            ]),
            "peer_process_down"
        );
        assert_eq!(
            net(&[(Detail::ConnectionRefused, 1), (Detail::IoTimeout, 5)]),
            "network_fault"
        );
        assert_eq!(net(&[(Detail::PeerConnectionLost, 3)]), "network_fault");
        assert_eq!(
            log_cause(LogCause::Disk, &counts(&[(Detail::QuotaExceeded, 1)])),
            "nospace_alarm"
        );
        assert_eq!(
            log_cause(LogCause::Disk, &counts(&[(Detail::NoSpaceLeft, 1)])),
            "data_dir_full"
        );
        assert_eq!(log_cause(LogCause::IoUtil, &BTreeMap::new()), "overload");
    }

    #[test]
    fn members_step_tells_refused_from_cut_and_nospace_from_both() {
        let healthy = fams(&[
            ("etcd_health", &[("endpoint", "http://a")], 1.0),
            ("etcd_cluster_has_leader", &[], 1.0),
        ]);
        assert_eq!(
            members_step(&healthy, Duration::from_secs(2)).status,
            Status::Pass
        );
        let cut = fams(&[
            ("etcd_health", &[("endpoint", "http://a")], 1.0),
            ("etcd_health", &[("endpoint", "http://b")], 0.0),
            (
                "etcd_endpoint_probe_failure",
                &[("endpoint", "http://b"), ("reason", "timeout")],
                1.0,
            ),
            ("etcd_cluster_has_leader", &[], 1.0),
        ]);
        let o = members_step(&cut, Duration::from_millis(2500));
        assert_eq!((o.status, o.cause), (Status::Fail, Some("network_fault")));
        assert_eq!(
            o.evidence[1].detail,
            "no answer within its 2.5s deadline: cut (reason timeout)"
        );
        let refused = fams(&[
            ("etcd_health", &[("endpoint", "http://b")], 0.0),
            (
                "etcd_endpoint_probe_failure",
                &[("endpoint", "http://b"), ("reason", "connection_refused")],
                1.0,
            ),
            ("etcd_cluster_alarm_active", &[("alarm", "NOSPACE")], 0.0),
        ]);
        let o = members_step(&refused, Duration::from_secs(2));
        assert_eq!(o.cause, Some("peer_process_down"));
        assert!(o.summary.contains("no leader"), "{}", o.summary);
        let nospace = fams(&[
            ("etcd_health", &[("endpoint", "http://a")], 0.0),
            ("etcd_cluster_alarm_active", &[("alarm", "NOSPACE")], 1.0),
            ("etcd_cluster_has_leader", &[], 1.0),
        ]);
        let o = members_step(&nospace, Duration::from_secs(2));
        assert_eq!(o.cause, Some("nospace_alarm"));
        assert_eq!(
            members_step(&[], Duration::from_secs(2)).status,
            Status::Error
        );
    }

    #[test]
    fn local_steps_read_the_local_collector() {
        let p: &[(&str, &str)] = &[("path", "/var/lib/etcd")];
        let wrong_mode = fams(&[
            ("etcd_data_dir_exists", p, 1.0),
            ("etcd_data_dir_mode", p, f64::from(0o755_u32)),
            ("etcd_data_dir_permissions_ok", p, 0.0),
            ("etcd_data_dir_filesystem_used_ratio", p, 0.5),
            ("etcd_data_dir_filesystem_avail_bytes", p, 1048576.0 * 10.0),
        ]);
        let o = data_dir_step(&wrong_mode);
        assert_eq!(o.cause, Some("data_dir_permissions"));
        assert_eq!(o.evidence[0].detail, "0755, want 0700");
        assert_eq!(o.evidence[1].detail, "50% used, 10 MiB available");
        let full = fams(&[
            ("etcd_data_dir_exists", p, 1.0),
            ("etcd_data_dir_mode", p, f64::from(0o700_u32)),
            ("etcd_data_dir_permissions_ok", p, 1.0),
            ("etcd_data_dir_filesystem_used_ratio", p, 0.97),
        ]);
        assert_eq!(data_dir_step(&full).cause, Some("data_dir_full"));
        let missing = fams(&[("etcd_data_dir_exists", p, 0.0)]);
        assert_eq!(data_dir_step(&missing).cause, Some("data_dir_fault"));

        let b: &[(&str, &str)] = &[("path", "/usr/bin/etcd")];
        let not_exec = fams(&[
            ("etcd_binary_exists", b, 1.0),
            ("etcd_binary_executable", b, 0.0),
        ]);
        let o = binary_step(&not_exec);
        assert_eq!(o.cause, Some("binary_missing"));
        assert_eq!(o.summary, "/usr/bin/etcd has no execute bit");

        let restarted = fams(&[
            ("etcd_process_status", &[], 1.0),
            ("etcd_process_start_time_seconds", &[], 1_800_000_100.0),
        ]);
        assert_eq!(
            process_step(&restarted, 1_800_000_000).cause,
            Some("process_restarted")
        );
        assert_eq!(process_step(&restarted, 1_800_000_200).status, Status::Pass);
        let down = fams(&[("etcd_process_status", &[], 0.0)]);
        assert_eq!(process_step(&down, 0).cause, Some("process_down"));

        let marker = fams(&[
            (
                "etcd_manual_stop_marker_present",
                &[("file", "cluster_manual_start")],
                1.0,
            ),
            (
                "etcd_manual_stop_marker_present",
                &[("file", "etcd_manual_start")],
                0.0,
            ),
        ]);
        let o = markers_step(&marker, true);
        assert_eq!(o.cause, Some("manual_stop"));
        assert_eq!(
            o.summary,
            "manual-stop marker present: cluster_manual_start"
        );
        assert_eq!(markers_step(&marker, false).status, Status::NotApplicable);
    }

    #[test]
    fn data_loss_counts_only_inside_the_window() {
        let seen = fams(&[
            (
                "etcd_data_loss_events_total",
                &[("kind", "revision_backwards")],
                1.0,
            ),
            (
                "etcd_data_loss_last_event_timestamp_seconds",
                &[],
                1_800_000_100.0,
            ),
        ]);
        assert_eq!(
            data_loss_step(&seen, 1_800_000_000).cause,
            Some("data_loss")
        );
        assert_eq!(data_loss_step(&seen, 1_800_000_200).status, Status::Pass);
        assert_eq!(data_loss_step(&[], 0).status, Status::Error);
    }
}
