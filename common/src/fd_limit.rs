//! The open-file limit: raised to the hard limit at start, as Go's runtime does since 1.19, so
//! an exporter is not held to the 1,024 a login shell hands it.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// The soft `RLIMIT_NOFILE` now (`u64::MAX` when unlimited).
pub fn soft() -> u64 {
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// Raises the soft limit to the hard one; returns the soft limit in force afterwards. A refusal
/// (a sandbox that forbids it) leaves the limit as it was, which the connection cap allows for.
pub fn raise_to_hard() -> u64 {
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            log::debug!("cannot raise the open-file limit to the hard limit: {e}");
        }
    }
    soft()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_ends_at_the_hard_limit() {
        let hard = getrlimit(Resource::Nofile).maximum.unwrap_or(u64::MAX);
        assert_eq!(raise_to_hard(), hard);
        assert_eq!(soft(), hard);
    }
}
