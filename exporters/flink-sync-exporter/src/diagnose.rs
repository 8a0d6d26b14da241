//! `flink-sync-exporter diagnose`: document 004's procedure for ALM-45641, step by step in its
//! order, with the exporter's own checks: the peer probe (step 3's ping), the LocalBackup
//! collector (step 6's `df -hl`), the junk search (steps 10-11's `find -name "sed*"` and `ll`),
//! the background comparison (the document's second cause: the synchronization file missing or
//! its permission), and the HA log classifier over the log window, rotations and `.gz`
//! included (step 12). Manager-side steps are printed as the document's instructions.

use std::path::PathBuf;
use std::time::Duration;

use common::diagnose::{self, Cause, Evidence, Outcome, Step, Text, Walk};
use common::{MutexExt as _, icmp};

use crate::FlinkSyncExporter;
use crate::check::{Findings, Role};
use crate::collectors::{junk, peer};
use crate::compare::DiffKind;
use crate::ha_log::{Event, classify};

/// Usage at which LocalBackup counts as full: the `FlinkSyncLocalBackupFull` alert's threshold
/// (`alerting-rules/flink-sync.yml`).
const FULL_RATIO: f64 = 0.9;
/// Differing or unreadable paths shown per step.
const PATHS_SHOWN: usize = 10;

/// The document's causes, with its remedies (printed, never run).
pub(crate) const CAUSES: &[Cause] = &[
    Cause {
        id: "link_interrupted",
        title: Text::en("The link between the active and standby FlinkServer nodes is interrupted"),
        remedy: Text::en(
            "Contact the network administrator to check whether the network is faulty; rectify the network fault and check whether the alarm is cleared (004 steps 4-5).",
        ),
    },
    Cause {
        id: "local_backup_full",
        title: Text::en("The storage space of the /srv/BigData/LocalBackup directory is full"),
        remedy: Text::en(
            "Clear unnecessary backup files: rm -rf <directory to be cleared>, e.g. rm -rf /srv/BigData/LocalBackup/0/default-oms_20191211143443; on FusionInsight Manager choose O&M > Backup and Restoration > Backup Management, Configure, and lower Maximum Number of Backup Copies; wait 1 minute and check whether the alarm is cleared (004 steps 7-9).",
        ),
    },
    Cause {
        id: "junk_file",
        title: Text::en(
            "A junk sed* synchronization file (size 0, every permission -) the sync cannot read",
        ),
        remedy: Text::en(
            "Delete the junk file: rm -rf <file> (the paths are in step 11); wait several minutes and check whether the alarm is cleared (004 step 11).",
        ),
    },
    Cause {
        id: "sync_file_permission",
        title: Text::en(
            "The synchronization file permission is required: the HA sync's user cannot read a synchronised file or directory",
        ),
        remedy: Text::en(
            "Give the file or directory the same permission as on a normal node (compare with the other FlinkServer); wait about 10 minutes and check whether the alarm is cleared (004 steps 12-13).",
        ),
    },
    Cause {
        id: "files_not_synchronised",
        title: Text::en(
            "The standby fails to synchronize files with the active: synchronization files are missing or differ",
        ),
        remedy: Text::en(
            "Find why the sync fails in ha.log around the alarm time and rectify it (004 step 12); if the alarm persists after about 10 minutes, collect the FlinkServer logs on FusionInsight Manager and contact O&M personnel (004 step 14).",
        ),
    },
    Cause {
        id: "ha_log_errors",
        title: Text::en("ha.log shows errors before and after the alarm generation time"),
        remedy: Text::en(
            "Rectify the fault based on the error information; wait about 10 minutes and check whether the alarm is cleared; if not, collect the FlinkServer logs on FusionInsight Manager and contact O&M personnel (004 steps 12-14).",
        ),
    },
];

const fn step(id: &'static str, title: &'static str, source: &'static str) -> Step {
    Step {
        id,
        title: Text::en(title),
        source,
    }
}

const S1: Step = step(
    "record_ips",
    "Record the IP addresses of the active and standby FlinkServer",
    "004 step 1",
);
const S2: Step = step(
    "node_role",
    "Log in to the active FlinkServer node (this node's role)",
    "004 step 2",
);
const S3: Step = step(
    "ping_peer",
    "The other FlinkServer is reachable (ping)",
    "004 step 3",
);
const S4: Step = step(
    "network_admin",
    "Network administrator checks whether the network is faulty",
    "004 step 4",
);
const S5: Step = step(
    "network_fixed",
    "Rectify the network fault; the alarm is cleared",
    "004 step 5",
);
const S6: Step = step(
    "local_backup_space",
    "/srv/BigData/LocalBackup is not full (df -hl)",
    "004 step 6",
);
const S7: Step = step(
    "clear_backups",
    "Clear unnecessary backup files",
    "004 step 7",
);
const S8: Step = step(
    "backup_copies",
    "Reduce Maximum Number of Backup Copies",
    "004 step 8",
);
const S9: Step = step(
    "backup_wait",
    "Wait 1 minute; the alarm is cleared",
    "004 step 9",
);
const S10: Step = step(
    "find_sed_files",
    "Synchronization files named sed* (find /srv/BigData/ /opt -name \"sed*\")",
    "004 step 10",
);
const S11: Step = step(
    "junk_sed_files",
    "No sed* file is junk (ll: size 0, permissions all -)",
    "004 step 11",
);
const S_READ: Step = step(
    "sync_files_readable",
    "The synchronised files are readable by the HA sync's user",
    "004 cause 2; §Check whether the synchronization file exists and whether the file permission is valid",
);
const S_MATCH: Step = step(
    "sync_files_match",
    "The standby's synchronised files exist and match the active's",
    "004 cause 2; alarm description",
);
const S12: Step = step(
    "ha_log",
    "ha.log has no errors around the alarm time (rotations and .gz included)",
    "004 step 12",
);
const S13: Step = step(
    "wait_clear",
    "Wait about 10 minutes; the alarm is cleared",
    "004 step 13",
);
const S14: Step = step(
    "collect_logs",
    "Collect fault information and contact O&M",
    "004 step 14 (§Collect fault information)",
);

/// Deadline of the ping and the connection to the peer's exporter.
const PEER_DEADLINE: Duration = Duration::from_secs(5);
/// Deadline of the `sed*` search.
const FIND_DEADLINE: Duration = Duration::from_secs(10);
/// Time of the walk's limit kept for the steps after the collectors' run.
const RESERVED: Duration = Duration::from_secs(10);
/// Deadline of the HA log scan.
const LOG_DEADLINE: Duration = Duration::from_secs(5);

/// `df -h`'s units.
fn human(bytes: f64) -> String {
    let mut v = bytes;
    for unit in ["", "K", "M", "G", "T"] {
        if v < 1024.0 {
            return if unit.is_empty() {
                format!("{v:.0}")
            } else {
                format!("{v:.1}{unit}")
            };
        }
        v /= 1024.0;
    }
    format!("{v:.1}P")
}

fn ping_step(e: &FlinkSyncExporter) -> Option<(std::net::SocketAddr, Duration)> {
    let url = e.cfg.peer_url.as_ref()?;
    peer::peer_addr(url).map(|a| (a, e.cfg.peer_timeout))
}

/// Walks document 004's procedure.
pub(crate) async fn walk(e: &FlinkSyncExporter, walk: &mut Walk) {
    walk.procedure(
        "004 ALM-45641",
        Text::en(
            "ALM-45641 Data Synchronization Exception Between the Active and Standby FlinkServer Nodes",
        ),
        CAUSES,
    );
    walk.manual(
        S1,
        Text::en(
            "On FusionInsight Manager, choose Cluster > Services > (the FlinkServer service) > Instance; view and record the IP addresses of the active and standby FlinkServer.",
        ),
    );

    let source = e.role_source();
    let setting = format!(
        "float_ip {}, role setting {}",
        e.cfg
            .float_ip
            .map_or_else(|| "none".to_owned(), |i| i.to_string()),
        format!("{:?}", e.cfg.role).to_lowercase()
    );
    walk.check_blocking(S2, PEER_DEADLINE, move || match source.current() {
        Ok(r) => Outcome::pass(format!("this node is the {}", r.as_str()))
            .with(Evidence::new("role", r.as_str()).from(setting)),
        Err(err) => Outcome::error(format!("the role could not be decided: {err}")),
    })
    .await;

    let mut ping_failed = false;
    match ping_step(e) {
        None => walk.not_applicable(
            S3,
            "no peer_url with a literal IP is configured: nothing to ping",
        ),
        Some((addr, timeout)) => {
            let st = walk
                .check_blocking(S3, PEER_DEADLINE, move || {
                    let p = peer::probe(addr, timeout, 0, PEER_DEADLINE);
                    let ping_ev = match &p.ping {
                        Ok(rtt) => format!(
                            "ping {}: reply, rtt {:.3} ms",
                            addr.ip(),
                            rtt.as_secs_f64() * 1e3
                        ),
                        Err(err) => format!("ping {}: {err}", addr.ip()),
                    };
                    let port_ev = match &p.port {
                        Ok(()) => format!("connect {addr}: accepted"),
                        Err(err) => format!("connect {addr}: {err}"),
                    };
                    let evidence = [
                        Evidence::new("ping", ping_ev).from(addr.ip().to_string()),
                        Evidence::new("exporter port", port_ev).from(addr.to_string()),
                    ];
                    match (&p.ping, &p.port) {
                        (Ok(_), _) | (_, Ok(())) => {
                            Outcome::pass(format!("{} answers", addr.ip())).with_all(evidence)
                        }
                        (Err(icmp::PingError::NoReply { .. }), Err(_)) => Outcome::fail(format!(
                            "{} does not answer: no echo reply, no connection",
                            addr.ip()
                        ))
                        .cause("link_interrupted")
                        .with_all(evidence),
                        (Err(err), Err(_)) => {
                            Outcome::error(format!("ping could not be sent: {err}"))
                                .with_all(evidence)
                        }
                    }
                })
                .await;
            ping_failed = st == diagnose::Status::Fail || st == diagnose::Status::TimedOut;
        }
    }
    if ping_failed {
        walk.manual(
            S4,
            Text::en("Contact the network administrator to check whether the network is faulty."),
        );
        walk.manual(
            S5,
            Text::en("Rectify the network fault and check whether the alarm is cleared from the alarm list."),
        );
    } else {
        walk.not_applicable(S4, "the other node answers: go to step 6");
        walk.not_applicable(S5, "the other node answers: go to step 6");
    }

    // One run of every collector and background job (the comparison, the junk search, df),
    // leaving time for the steps after it.
    let wait = (e.cfg.fetch_timeout + e.cfg.peer_timeout * 2 + Duration::from_secs(5))
        .min(walk.remaining().saturating_sub(RESERVED));
    let families = walk.metrics(wait).await.to_vec();
    let findings: Findings = e.shared.lock_or_recover().findings();

    let prefix = "flink_sync";
    let usage = diagnose::value(&families, "flink_sync_local_backup_usage_ratio", &[]);
    let collector_ok = diagnose::value(
        &families,
        &format!("{prefix}_scrape_collector_success"),
        &[("collector", "local_backup")],
    );
    let mut full = false;
    let df = match (usage, collector_ok) {
        (Some(ratio), _) => {
            let avail = diagnose::value(&families, "flink_sync_local_backup_avail_bytes", &[])
                .unwrap_or(0.0);
            let size = diagnose::value(&families, "flink_sync_local_backup_size_bytes", &[])
                .unwrap_or(0.0);
            let used = (size - avail).max(0.0);
            let ev = Evidence::new(
                format!("df -hl {}", e.cfg.local_backup),
                format!(
                    "Size {} Used {} Avail {} Use% {:.0}%",
                    human(size),
                    human(used),
                    human(avail),
                    (ratio * 100.0).ceil()
                ),
            )
            .from("flink_sync_local_backup_usage_ratio");
            full = ratio >= FULL_RATIO;
            if full {
                Outcome::fail(format!(
                    "{} is {:.0}% used (full at {:.0}%)",
                    e.cfg.local_backup,
                    ratio * 100.0,
                    FULL_RATIO * 100.0
                ))
                .cause("local_backup_full")
                .with(ev)
            } else {
                Outcome::pass(format!(
                    "{} is {:.0}% used",
                    e.cfg.local_backup,
                    ratio * 100.0
                ))
                .with(ev)
            }
        }
        (None, Some(v)) if v < 0.5 => Outcome::error(format!(
            "{} could not be stat'ed (a hung mount?): the exporter's log says why",
            e.cfg.local_backup
        )),
        (None, _) => Outcome::not_applicable(format!(
            "{} does not exist on this node",
            e.cfg.local_backup
        )),
    };
    walk.record_outcome(S6, df);
    if full {
        walk.manual(
            S7,
            Text::en(
                "Clear unnecessary backup files: rm -rf <directory to be cleared>, for example rm -rf /srv/BigData/LocalBackup/0/default-oms_20191211143443 (printed, not run).",
            ),
        );
        walk.manual(
            S8,
            Text::en(
                "On FusionInsight Manager, choose O&M > Backup and Restoration > Backup Management; in the Operation column of the backup task click Configure and lower Maximum Number of Backup Copies.",
            ),
        );
        walk.manual(
            S9,
            Text::en("Wait for 1 minute and check whether the alarm is cleared."),
        );
    } else {
        for s in [S7, S8, S9] {
            walk.not_applicable(s, "LocalBackup is not full: go to step 10");
        }
    }

    // Steps 10-11: the exporter's junk search, run here for the paths.
    let rootfs = PathBuf::from(&e.paths.rootfs);
    let (roots, max) = (e.cfg.junk_roots.clone(), e.cfg.junk_max_entries);
    let found = std::sync::Arc::new(std::sync::Mutex::new(None));
    let slot = std::sync::Arc::clone(&found);
    let shown_roots = roots.join(" ");
    walk.check_blocking(S10, FIND_DEADLINE, move || {
        let f = junk::search(&rootfs, &roots, max);
        let all = f.paths.len() + f.others.len();
        let ev: Vec<Evidence> = f
            .paths
            .iter()
            .map(|p| format!("---------- 0 {p}"))
            .chain(f.others.iter().cloned())
            .map(|l| Evidence::new(format!("find {shown_roots} -name \"sed*\""), l))
            .collect();
        let o = if all == 0 {
            Outcome::pass("no sed* file: go to step 12")
        } else {
            Outcome::pass(format!(
                "{all} sed* file(s){}: step 11 looks at them",
                if f.truncated {
                    " (search stopped at junk_max_entries)"
                } else {
                    ""
                }
            ))
            .with_all(ev)
        };
        *slot.lock_or_recover() = Some(f);
        o
    })
    .await;
    let found = found.lock_or_recover().take();
    match found {
        None => walk.not_applicable(S11, "the sed* search did not finish"),
        Some(f) if f.paths.is_empty() => walk.record_outcome(
            S11,
            Outcome::pass(format!(
                "no junk: {} sed* file(s) with a size or a permission",
                f.others.len()
            )),
        ),
        Some(f) => walk.record_outcome(
            S11,
            Outcome::fail(format!(
                "{} junk file(s): size 0, permissions ----------",
                f.paths.len()
            ))
            .cause("junk_file")
            .with_all(f.paths.iter().map(|p| {
                Evidence::new("ll", format!("---------- 0 {p}"))
                    .from(format!("remedy: rm -rf {p} (printed, not run)"))
            })),
        ),
    }

    record_comparison(e, walk, &findings);

    // Step 12: the HA log in the window, through the exporter's classifier.
    let path = e.paths.root(&e.cfg.ha_log);
    let window = walk.window().clone();
    walk.check_blocking(S12, LOG_DEADLINE, move || {
        let mut denied = 0usize;
        let scanned = window.scan_family(&path, |l| match classify(l) {
            Some(Event::Error(_)) => true,
            Some(Event::PermissionDenied) => {
                denied += 1;
                true
            }
            _ => false,
        });
        match scanned {
            Err(err) => Outcome::error(format!("reading {}: {err}", path.display())),
            Ok(m) if m.files == 0 => {
                Outcome::not_applicable(format!("no HA log at {}", path.display()))
            }
            Ok(m) if m.total == 0 => Outcome::pass(format!(
                "no error among {} line(s) in the window ({} file(s) read)",
                m.in_window, m.files
            )),
            Ok(m) => {
                let cause = if denied > 0 {
                    "sync_file_permission"
                } else {
                    "ha_log_errors"
                };
                Outcome::fail(format!(
                    "{} error line(s) in the window ({denied} permission denied; {} file(s) read)",
                    m.total, m.files
                ))
                .cause(cause)
                .with_all(m.lines)
            }
        }
    })
    .await;
    walk.manual(
        S13,
        Text::en("Wait for about 10 minutes and check whether the alarm is cleared."),
    );
    walk.manual(
        S14,
        Text::en(
            "On FusionInsight Manager choose O&M > Log > Download; select FlinkServer in Services, select the role's hosts, set Start Date and End Date to 10 minutes before and after the alarm generation time, click Download, and provide the logs to O&M personnel.",
        ),
    );
}

/// The comparison's findings: unreadable files (the document's "file permission is required")
/// and missing or differing files.
fn record_comparison(e: &FlinkSyncExporter, walk: &mut Walk, f: &Findings) {
    if let Some(err) = &f.manifest_error {
        let o = Outcome::error(format!("this node's tree could not be walked: {err}"));
        walk.record_outcome(S_READ, o.clone());
        walk.record_outcome(S_MATCH, o);
        return;
    }
    let unreadable_here: Vec<Evidence> = f
        .local_unreadable
        .iter()
        .take(PATHS_SHOWN)
        .map(|(p, why)| Evidence::new("unreadable", format!("{p}: {why}")).from("this node"))
        .collect();
    let active_unreadable = f.compared.as_ref().map_or(0, |d| d.unreadable_active);
    let n = f.local_unreadable.len() + active_unreadable;
    let user = e
        .user
        .as_ref()
        .map_or_else(|| "the exporter's own user".to_owned(), |u| u.name.clone());
    let read = if n == 0 {
        Outcome::pass(format!("every synchronised file is readable by {user}"))
    } else {
        let mut o = Outcome::fail(format!(
            "{} path(s) not readable by {user} ({} on the active)",
            n, active_unreadable
        ))
        .cause("sync_file_permission")
        .with_all(unreadable_here);
        if active_unreadable > 0 {
            o = o.with(Evidence::new(
                "unreadable on the active",
                format!("{active_unreadable} path(s): run diagnose on the active for them"),
            ));
        }
        o
    };
    walk.record_outcome(S_READ, read);

    let matched = match (f.role, &f.compared, &f.compare_error) {
        (Some(Role::Active), _, _) => Outcome::not_applicable(
            "this node is the active: the standby compares (run diagnose there)",
        ),
        (_, Some(d), _) => {
            let differing: Vec<Evidence> = d
                .paths
                .iter()
                .filter(|(k, _)| *k != DiffKind::ModeOwnerDiffers || n == 0)
                .take(PATHS_SHOWN)
                .map(|(k, p)| {
                    Evidence::new(k.as_str(), String::from_utf8_lossy(p).into_owned())
                        .from("comparison with the active's manifest")
                })
                .collect();
            let counts = format!(
                "missing_on_standby {}, extra_on_standby {}, content_differs {}, mode_owner_differs {}",
                d.missing_on_standby, d.extra_on_standby, d.content_differs, d.mode_owner_differs
            );
            // A mode change that makes a file unreadable is the permission cause, counted there.
            let content = d.missing_on_standby + d.extra_on_standby + d.content_differs;
            let modes = if n == 0 { d.mode_owner_differs } else { 0 };
            if content + modes == 0 {
                Outcome::pass(format!("the trees match: {counts}"))
            } else {
                Outcome::fail(format!("the trees differ: {counts}"))
                    .cause("files_not_synchronised")
                    .with_all(differing)
            }
        }
        (_, None, Some(err)) => Outcome::error(format!("could not compare: {err}")),
        (_, None, None) => Outcome::error("no comparison finished in time"),
    };
    walk.record_outcome(S_MATCH, matched);
}
