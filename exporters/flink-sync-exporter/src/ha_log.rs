//! Classifying lines of the HA run log (`ha.log`, Huawei's HA framework) into a bounded set of
//! kinds. A line looks like
//! `[2021-03-22 14:03:35,339][10195489349][0][ ERROR][CreateFileList failed][HA][sync_core.c:__SYNC_Task_SendEnd,1866][ha.bin,26572,35]`:
//! the fourth bracket is the level, the fifth the message.

/// What a line reports, when it matters to ALM-45641.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Event {
    /// An `ERROR` line, by kind.
    Error(ErrorKind),
    /// `open lstat failed: (...). Permission denied.`: the file the sync could not read.
    PermissionDenied,
    /// `hasendalarm info: ...`: the HA process raised an alarm.
    AlarmSent,
}

/// The kinds of `ERROR` lines a failed sync task writes, in the order it writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErrorKind {
    /// `Travel stack failed.`: the walk of the synchronised tree stopped.
    TravelStack,
    /// `mgtcreatelistfail` / `CreateFileList failed`: the file list could not be built.
    CreateFileList,
    /// `[..][SendEnd][Task]Failed`.
    SendEnd,
    /// `TaskEnd Failed`.
    TaskEnd,
    /// Any other `ERROR` line.
    Other,
}

impl ErrorKind {
    /// Every kind, for zero-initialised counters.
    pub const ALL: [ErrorKind; 5] = [
        ErrorKind::TravelStack,
        ErrorKind::CreateFileList,
        ErrorKind::SendEnd,
        ErrorKind::TaskEnd,
        ErrorKind::Other,
    ];

    /// Label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::TravelStack => "travel_stack_failed",
            ErrorKind::CreateFileList => "create_file_list_failed",
            ErrorKind::SendEnd => "send_end_failed",
            ErrorKind::TaskEnd => "task_end_failed",
            ErrorKind::Other => "other",
        }
    }
}

/// The bracketed fields of a line: `[a][b][c]...` (a message may itself hold brackets, so the
/// level is found by position and the message is everything up to `][HA][`).
fn level_and_message(line: &str) -> Option<(&str, &str)> {
    let mut rest = line.trim_end().strip_prefix('[')?;
    for _ in 0..3 {
        let end = rest.find("][")?;
        rest = &rest[end + 2..];
    }
    let end = rest.find("][")?;
    let level = rest[..end].trim();
    let after = &rest[end + 2..];
    let msg_end = after.rfind("][HA][").unwrap_or(after.len());
    Some((level, &after[..msg_end]))
}

/// The event a line reports, if any.
pub fn classify(line: &str) -> Option<Event> {
    let (level, msg) = level_and_message(line)?;
    match level {
        "ERROR" => Some(Event::Error(if msg.contains("Travel stack failed") {
            ErrorKind::TravelStack
        } else if msg.contains("CreateFileList failed") || msg.contains("mgtcreatelistfail") {
            ErrorKind::CreateFileList
        } else if msg.contains("[SendEnd]") {
            ErrorKind::SendEnd
        } else if msg.contains("TaskEnd Failed") {
            ErrorKind::TaskEnd
        } else {
            ErrorKind::Other
        })),
        _ if msg.contains("lstat failed") && msg.contains("Permission denied") => {
            Some(Event::PermissionDenied)
        }
        "NOTICE" if msg.starts_with("hasendalarm") => Some(Event::AlarmSent),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines of the document's screenshot (research notes 4.1), with a full prefix each.
    const CAPTURE: &str = "\
[2021-03-22 14:03:35,339][10195489349][0][  INFO][Start Task All_Sync][HA][sync_core_inf.c:SYNC_StartTask,183][ha.bin,26572,35]
[2021-03-22 14:03:35,339][10195489349][0][NOTICE][send sync task(alltask) to component successful][HA][sync_module.c:__SYNC_SendSyncTask,832][ha.bin,26572,35]
[2021-03-22 14:03:35,341][10195489351][0][  INFO][open lstat failed:(/opt/Bigdata/apache-tomcat-7.0.78/conf/security/tomcat_om.crt ). Permission denied.][HA][sync_filemgt.c:__Create_TravelFname_Open,482][ha.bin,26572,41]
[2021-03-22 14:03:35,341][10195489351][0][ ERROR][Travel stack failed.][HA][sync_filemgt.c:__Create_TravelFname,613][ha.bin,26572,41]
[2021-03-22 14:03:35,341][10195489351][0][ ERROR][mgtcreatelistfail][HA][sync_filemgt.c:_SYNC_CreateFileList,855][ha.bin,26572,41]
[2021-03-22 14:03:35,341][10195489351][0][ ERROR][CreateFileList failed][HA][sync_core.c:__SYNC_Task_SendEnd,1866][ha.bin,26572,41]
[2021-03-22 14:03:35,342][10195489352][0][ ERROR][[41][SendEnd][Task]Failed][HA][sync_core.c:__SYNC_DbgMsgErr,202][ha.bin,26572,41]
[2021-03-22 14:03:35,342][10195489352][0][ ERROR][TaskEnd Failed][HA][sync_core.c:__SYNC Err TaskEnd,2728][ha.bin,26572,41]
[2021-03-22 14:03:35,343][10195489353][0][NOTICE][hasendalarm info: id=1,category=0,cause=0][HA][ha_alarm.c:HA_SendAlarm,120][ha.bin,26572,35]
[2021-03-22 14:03:36,001][10195490011][0][ ERROR][heartbeat to peer lost][HA][ha_hb.c:x,1][ha.bin,26572,35]
";

    #[test]
    fn the_documented_failure_sequence_is_classified() {
        let got: Vec<Option<Event>> = CAPTURE.lines().map(classify).collect();
        assert_eq!(
            got,
            vec![
                None,
                None,
                Some(Event::PermissionDenied),
                Some(Event::Error(ErrorKind::TravelStack)),
                Some(Event::Error(ErrorKind::CreateFileList)),
                Some(Event::Error(ErrorKind::CreateFileList)),
                Some(Event::Error(ErrorKind::SendEnd)),
                Some(Event::Error(ErrorKind::TaskEnd)),
                Some(Event::AlarmSent),
                Some(Event::Error(ErrorKind::Other)),
            ]
        );
    }

    #[test]
    fn lines_of_other_shapes_are_ignored() {
        for l in [
            "",
            "[",
            "ERROR CreateFileList failed",
            "[a][b][c]",
            "[][][][ERROR",
            "\u{fffd}[x][y]",
        ] {
            assert_eq!(classify(l), None, "{l:?}");
        }
    }
}
