//! Classifies keepalived log lines (1.x and 2.x wording) into the events the document monitors.
//!
//! The document (section 3.1.3) counts a failover when any of these appear: `Received lower
//! prio advert`, `Received higher prio advert`, `Entering BACKUP STATE`, `Entering MASTER STATE`,
//! `Transition to MASTER STATE`; and a failed check on `Now in FAULT state`. keepalived 2.x words
//! the same events differently (`(VI_1) Entering FAULT STATE`, `Master received advert from X with
//! higher priority 150, ours 100`, `Received advert from X with lower priority 100, ours 150,
//! forcing new election`), so both are matched. A 2.x backup logs `received lower priority (100)
//! advert from X - discarding` every advert interval; that is not an election and is ignored.

/// The state an instance entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TargetState {
    /// MASTER.
    Master,
    /// BACKUP.
    Backup,
    /// FAULT.
    Fault,
}

impl TargetState {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            TargetState::Master => "master",
            TargetState::Backup => "backup",
            TargetState::Fault => "fault",
        }
    }

    /// Every state, in label order.
    pub const ALL: [TargetState; 3] =
        [TargetState::Master, TargetState::Backup, TargetState::Fault];
}

/// What one log line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A master saw a lower-priority advert and forced a new election.
    LowerPrioAdvert,
    /// A (would-be) master saw a higher-priority advert.
    HigherPrioAdvert,
    /// 1.x `Transition to MASTER STATE` (precedes `Entering MASTER STATE`).
    TransitionToMaster,
    /// The instance entered a state.
    Entered(TargetState),
}

impl EventKind {
    /// Whether the document counts it in `keepalived_failover`.
    pub fn is_failover(self) -> bool {
        !matches!(self, EventKind::Entered(TargetState::Fault))
    }

    /// Whether the document counts it in `keepalived_check_failed`.
    pub fn is_fault(self) -> bool {
        matches!(self, EventKind::Entered(TargetState::Fault))
    }

    /// The `event` label value of the raw event counter.
    pub fn label(self) -> &'static str {
        match self {
            EventKind::LowerPrioAdvert => "lower_prio_advert",
            EventKind::HigherPrioAdvert => "higher_prio_advert",
            EventKind::TransitionToMaster => "transition_to_master",
            EventKind::Entered(TargetState::Master) => "entering_master",
            EventKind::Entered(TargetState::Backup) => "entering_backup",
            EventKind::Entered(TargetState::Fault) => "entering_fault",
        }
    }

    /// Every kind, in label order.
    pub const ALL: [EventKind; 6] = [
        EventKind::LowerPrioAdvert,
        EventKind::HigherPrioAdvert,
        EventKind::TransitionToMaster,
        EventKind::Entered(TargetState::Master),
        EventKind::Entered(TargetState::Backup),
        EventKind::Entered(TargetState::Fault),
    ];
}

/// One classified line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// What happened.
    pub kind: EventKind,
    /// The VRRP instance named on the line (`VRRP_Instance(x)` or `(x)`), if any.
    pub instance: Option<String>,
}

/// Longest instance name taken from a log line; longer names are not a keepalived instance.
const MAX_INSTANCE_NAME: usize = 64;

/// Case-insensitive phrases, most specific first. The `BACKIP` spelling is in the document's
/// own capture (3.1.5.2) and costs nothing to accept.
const PHRASES: &[(&str, EventKind)] = &[
    ("received lower prio advert", EventKind::LowerPrioAdvert),
    ("received higher prio advert", EventKind::HigherPrioAdvert),
    ("transition to master state", EventKind::TransitionToMaster),
    (
        "entering master state",
        EventKind::Entered(TargetState::Master),
    ),
    (
        "entering backup state",
        EventKind::Entered(TargetState::Backup),
    ),
    (
        "entering backip state",
        EventKind::Entered(TargetState::Backup),
    ),
    (
        "entering fault state",
        EventKind::Entered(TargetState::Fault),
    ),
    ("now in fault state", EventKind::Entered(TargetState::Fault)),
];

/// Classifies one line; `None` for lines that are not one of the monitored events.
pub fn classify(line: &str) -> Option<LogEvent> {
    let lower = line.to_ascii_lowercase();
    let kind = PHRASES
        .iter()
        .find(|(p, _)| lower.contains(p))
        .map(|(_, k)| *k)
        .or_else(|| advert_2x(&lower))?;
    Some(LogEvent {
        kind,
        instance: instance_name(line),
    })
}

/// The track script named on a line saying it failed: `VRRP_Script(chk) failed` (1.x and 2.x,
/// 2.x adding `(exited with status 1)`) or 2.x's `Script `chk` now returning 1`; `None` for
/// any other line, a script succeeding again (`VRRP_Script(chk) succeeded`) included.
pub fn script_failed(line: &str) -> Option<&str> {
    if let Some(i) = line.find("VRRP_Script(") {
        let rest = &line[i + "VRRP_Script(".len()..];
        let end = rest.find(')')?;
        return rest[end + 1..]
            .trim_start()
            .starts_with("failed")
            .then(|| &rest[..end])
            .filter(|n| !n.is_empty() && n.len() <= MAX_INSTANCE_NAME);
    }
    let i = line.find("Script `")?;
    let rest = &line[i + "Script `".len()..];
    let end = rest.find('`')?;
    let code = rest[end + 1..]
        .trim_start()
        .strip_prefix("now returning ")?;
    (code.trim() != "0")
        .then(|| &rest[..end])
        .filter(|n| !n.is_empty() && n.len() <= MAX_INSTANCE_NAME)
}

/// keepalived 2.x: `Received advert from X with lower priority N, ours M, forcing new election`
/// and `Master received advert from X with higher priority N, ours M`.
fn advert_2x(lower: &str) -> Option<EventKind> {
    if !lower.contains("received advert from") {
        return None;
    }
    if lower.contains("with lower priority") && lower.contains("forcing new election") {
        Some(EventKind::LowerPrioAdvert)
    } else if lower.contains("with higher priority") {
        Some(EventKind::HigherPrioAdvert)
    } else {
        None
    }
}

/// The instance in `VRRP_Instance(name)` (1.x) or the first `(name)` after the syslog tag (2.x).
fn instance_name(line: &str) -> Option<String> {
    let start = match line.find("VRRP_Instance(") {
        Some(i) => i + "VRRP_Instance(".len(),
        None => {
            // 2.x: `... Keepalived_vrrp[123]: (VI_1) Entering ...` or console `...: (VI_1) ...`.
            let after_tag = line.find("]: ").map_or(0, |i| i + 3);
            let rest = &line[after_tag..];
            let open = rest
                .find(" (")
                .map(|i| i + 1)
                .or_else(|| rest.starts_with('(').then_some(0))?;
            after_tag + open + 1
        }
    };
    let rest = &line[start..];
    let end = rest.find(')')?;
    let name = &rest[..end];
    let ok = !name.is_empty()
        && name.len() <= MAX_INSTANCE_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.:@".contains(c));
    ok.then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fixtures::text as fixture;

    fn kinds(text: &str) -> Vec<(EventKind, Option<String>)> {
        text.lines()
            .filter_map(classify)
            .map(|e| (e.kind, e.instance))
            .collect()
    }

    #[test]
    fn failing_track_scripts_are_named() {
        assert_eq!(
            script_failed("Dec  2 05:45:08 lb1 Keepalived_vrrp[9]: VRRP_Script(chk) failed"),
            Some("chk")
        );
        assert_eq!(
            script_failed(
                "Wed Dec  2 05:55:22 2026: VRRP_Script(chk_nginx) failed (exited with status 1)"
            ),
            Some("chk_nginx")
        );
        assert_eq!(
            script_failed("Wed Dec  2 05:55:22 2026: Script `chk` now returning 1"),
            Some("chk")
        );
        assert_eq!(
            script_failed("Wed Dec  2 05:55:22 2026: Script `chk` now returning 0"),
            None
        );
        assert_eq!(script_failed("VRRP_Script(chk) succeeded"), None);
        assert_eq!(script_failed("VRRP_Script() failed"), None);
        assert_eq!(script_failed("VRRP_Script(chk failed"), None);
        assert_eq!(script_failed("(VI_1) Entering FAULT STATE"), None);
    }

    #[test]
    fn keepalived_1x_lines_from_the_document() {
        let got = kinds(&fixture("keepalived-1.x.messages"));
        let redis = Some("redis".to_owned());
        let vi = Some("VI_1".to_owned());
        assert_eq!(
            got,
            vec![
                (EventKind::LowerPrioAdvert, redis.clone()),
                (EventKind::Entered(TargetState::Master), redis.clone()),
                (EventKind::HigherPrioAdvert, redis.clone()),
                (EventKind::Entered(TargetState::Backup), redis),
                (EventKind::TransitionToMaster, vi.clone()),
                (EventKind::Entered(TargetState::Master), vi.clone()),
                (EventKind::HigherPrioAdvert, vi.clone()),
                (EventKind::Entered(TargetState::Backup), vi.clone()),
                (EventKind::Entered(TargetState::Fault), vi),
            ]
        );
    }

    #[test]
    fn keepalived_2x_captured_log_of_node_a() {
        let got = kinds(&fixture("keepalived-2.2.7-a.console.log"));
        let labels: Vec<&str> = got.iter().map(|(k, _)| k.label()).collect();
        assert_eq!(
            labels,
            vec![
                "entering_backup", // start
                "entering_master", // election won
                "entering_fault",  // track script fails
                "entering_backup", // script recovers
                "entering_backup", // restart after SIGTERM
                "entering_master",
                "entering_fault", // bridge port down: "Netlink reports eth0 down"
                "entering_backup",
                "entering_master",
                "lower_prio_advert", // split brain healed: "... forcing new election"
            ]
        );
        assert!(got.iter().all(|(_, i)| i.as_deref() == Some("VI_1")));
    }

    #[test]
    fn keepalived_2x_higher_priority_advert_on_the_preempted_master() {
        let got = kinds(&fixture("keepalived-2.2.7-b.console.log"));
        let higher = got
            .iter()
            .filter(|(k, _)| *k == EventKind::HigherPrioAdvert)
            .count();
        assert_eq!(higher, 3, "{got:?}");
    }

    #[test]
    fn a_backup_discarding_lower_priority_adverts_is_not_a_failover() {
        let line = "Sat Nov 21 19:46:37 2026: (VI_1) received lower priority (100) advert from 10.77.0.2 - discarding";
        assert_eq!(classify(line), None);
        assert_eq!(
            classify("Sat Nov 21 19:46:32 2026: (VI_1) Backup received priority 0 advertisement"),
            None
        );
        assert_eq!(
            classify("VRRP_Script(chk_ok) failed (exited with status 1)"),
            None
        );
    }

    #[test]
    fn syslog_framed_2x_line_and_odd_instance_names() {
        let e = classify("Nov 21 19:46:33 lb1 Keepalived_vrrp[9860]: (VI_1) Entering MASTER STATE")
            .unwrap();
        assert_eq!(e.instance.as_deref(), Some("VI_1"));
        let e =
            classify("Nov 21 19:46:33 lb1 Keepalived_vrrp[9860]: Entering MASTER STATE").unwrap();
        assert_eq!(e.instance, None);
        let long = format!("VRRP_Instance({}) Entering FAULT STATE", "x".repeat(200));
        assert_eq!(classify(&long).unwrap().instance, None);
        assert!(classify("").is_none());
        assert!(classify("garbage \u{fffd}\u{fffd} (((( ]: (").is_none());
    }

    #[test]
    fn failover_and_fault_are_disjoint() {
        for k in EventKind::ALL {
            assert_ne!(k.is_failover(), k.is_fault(), "{k:?}");
        }
    }
}
