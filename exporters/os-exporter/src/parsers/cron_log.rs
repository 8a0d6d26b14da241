//! cron's own failure lines (document 001 §2.1 os_cron_has_failed: 系统cron任务调度失败), as
//! Debian's cron 3.0pl1 and cronie (RHEL, EulerOS) write them through syslog. Most of them are
//! logged at info level (cronie's `log_it`), so the text decides, never the severity.

/// Why cron could not run a job, the bounded `reason` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// A crontab cron refuses: `Error: bad minute; while reading ...`, `ERROR (Syntax error ...)`;
    /// one bad line makes cron ignore the whole file.
    Syntax,
    /// PAM refused the job's user: `pam_unix(cron:account): account X has expired`, `FAILED to
    /// authorize user with PAM`, `Authentication failure`.
    Pam,
    /// A crontab whose user no longer exists: `ORPHAN (no passwd entry)`.
    Orphan,
    /// A crontab cron will not trust: `INSECURE MODE`, `BAD FILE MODE`, `WRONG FILE OWNER`...
    Permission,
    /// The job ran and failed: `(CRON) error (grandchild #N failed with exit status S)` (Debian
    /// logs it with `-L 4`; cronie never logs exit codes).
    ExitStatus,
    /// cron could not start the job: `EXEC FAILED`, `CAN'T OPEN`, `PIPE() FAILED`...
    Exec,
    /// The job's output could not be mailed: `MAIL (mailed N bytes ... but got status ...)`.
    Mail,
    /// Another `ERROR (...)` or `FAILED (...)` event of cron's.
    Other,
}

impl Reason {
    /// Every reason, for series that exist before the first failure.
    pub const ALL: [Reason; 8] = [
        Reason::Syntax,
        Reason::Pam,
        Reason::Orphan,
        Reason::Permission,
        Reason::ExitStatus,
        Reason::Exec,
        Reason::Mail,
        Reason::Other,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Syntax => "syntax",
            Reason::Pam => "pam",
            Reason::Orphan => "orphan",
            Reason::Permission => "permission",
            Reason::ExitStatus => "exit_status",
            Reason::Exec => "exec",
            Reason::Mail => "mail",
            Reason::Other => "other",
        }
    }
}

/// Whether `program` is cron (`cron`, `CRON`, `crond`, `CROND`).
fn is_cron(program: &str) -> bool {
    program.eq_ignore_ascii_case("cron") || program.eq_ignore_ascii_case("crond")
}

/// The reason of a failure line of `program`, or `None` for any other line.
pub fn reason(program: &str, message: &str) -> Option<Reason> {
    if !is_cron(program) {
        return None;
    }
    let m = message;
    // pam_limits complaining in containers is noise on every job, not a failure.
    if m.contains("pam_limits(") {
        return None;
    }
    if m.starts_with("Error: bad ") || m.contains("ERROR (Syntax error") {
        return Some(Reason::Syntax);
    }
    if (m.contains("pam_unix(cron:") && (m.contains("expired") || m.contains("failure")))
        || m.contains("FAILED to authorize user with PAM")
        || m.contains("PAM ERROR")
        || m.trim() == "Authentication failure"
    {
        return Some(Reason::Pam);
    }
    if m.contains("ORPHAN (no passwd entry)") {
        return Some(Reason::Orphan);
    }
    const PERMISSION: [&str; 5] = [
        "INSECURE MODE",
        "BAD FILE MODE",
        "WRONG FILE OWNER",
        "BAD LINK COUNT",
        "NOT REGULAR",
    ];
    if PERMISSION.iter().any(|p| m.contains(p)) {
        return Some(Reason::Permission);
    }
    if m.contains("failed with exit status") {
        return Some(Reason::ExitStatus);
    }
    const EXEC: [&str; 5] = [
        "EXEC FAILED",
        "CAN'T OPEN",
        "STAT FAILED",
        "OPENDIR FAILED",
        "PIPE() FAILED",
    ];
    if EXEC.iter().any(|p| m.contains(p)) {
        return Some(Reason::Exec);
    }
    if m.contains("MAIL (mailed") && m.contains("but got status") {
        return Some(Reason::Mail);
    }
    if m.contains(") ERROR (") || m.contains(" FAILED (") {
        return Some(Reason::Other);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lines_debian_cron_wrote_in_research_are_classified() {
        // research/os_services_logs_time.md §6.1: `cron -f -L 15` with a private rsyslogd.
        let cases = [
            (
                "cron",
                "Error: bad minute; while reading /etc/cron.d/osexp-bad",
                Some(Reason::Syntax),
            ),
            (
                "cron",
                "(*system*osexp-bad) ERROR (Syntax error, this crontab file will be ignored)",
                Some(Reason::Syntax),
            ),
            (
                "cron",
                "(*system*osexp-insecure) INSECURE MODE (group/other writable) (/etc/cron.d/osexp-insecure)",
                Some(Reason::Permission),
            ),
            (
                "cron",
                "(osexpghost) ORPHAN (no passwd entry)",
                Some(Reason::Orphan),
            ),
            (
                "CRON",
                "pam_unix(cron:account): account osexpexpired has expired (account expired)",
                Some(Reason::Pam),
            ),
            ("CRON", "Authentication failure", Some(Reason::Pam)),
            ("CRON", "(root) CMD ([20183] /bin/false)", None),
            (
                "CRON",
                "(CRON) error (grandchild #20183 failed with exit status 1)",
                Some(Reason::ExitStatus),
            ),
            (
                "CRON",
                "(CRON) info (No MTA installed, discarding output)",
                None,
            ),
            ("CRON", "(root) END ([20183] /bin/false)", None),
            (
                "CRON",
                "pam_limits(cron:session): Could not set limit for 'nofile' to soft=1048576, hard=1048576: Operation not permitted; uid=0,euid=0",
                None,
            ),
            // cronie (src/misc.c, security.c, do_command.c).
            (
                "crond",
                "(alice) FAILED to authorize user with PAM (Account has expired)",
                Some(Reason::Pam),
            ),
            (
                "crond",
                "(root) BAD FILE MODE (/etc/cron.d/x)",
                Some(Reason::Permission),
            ),
            (
                "CROND",
                "(root) MAIL (mailed 120 bytes of output but got status 0x0001)",
                Some(Reason::Mail),
            ),
            (
                "crond",
                "(bob) ERROR (getpwnam() failed - user unknown)",
                Some(Reason::Other),
            ),
            // Not cron.
            ("sshd", "error: PAM ERROR", None),
        ];
        for (program, message, want) in cases {
            assert_eq!(reason(program, message), want, "{program}: {message}");
        }
    }
}
