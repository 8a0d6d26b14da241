//! Parsing etcd's `/health` (and `/readyz`) answers.
//!
//! etcd 3.4 answers `{"health":"true"}`; 3.5 adds `"reason"`. Both answer `"false"` while an alarm
//! such as NOSPACE is raised or the member has no leader, and 3.5 answers HTTP 503 then.

use serde::Deserialize;

/// One member's health as read from `/health`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// Whether the member says it is healthy.
    pub healthy: bool,
    /// etcd's reason when it gives one (3.5), e.g. `ALARM NOSPACE`.
    pub reason: String,
}

#[derive(Deserialize)]
struct Raw {
    health: serde_json::Value,
    #[serde(default)]
    reason: String,
}

/// Why a `/health` body could not be understood.
#[derive(Debug, thiserror::Error)]
#[error("unexpected /health answer: {0}")]
pub struct HealthParseError(String);

/// Parses a `/health` body. The HTTP status is not needed: 3.5 sends a body with 503 too.
pub fn parse(body: &[u8]) -> Result<Health, HealthParseError> {
    let raw: Raw = serde_json::from_slice(body).map_err(|e| HealthParseError(e.to_string()))?;
    // Seen as the string "true" in every etcd release, but accept a JSON bool as well.
    let healthy = match &raw.health {
        serde_json::Value::String(s) => s == "true",
        serde_json::Value::Bool(b) => *b,
        other => return Err(HealthParseError(format!("health is {other}"))),
    };
    Ok(Health {
        healthy,
        reason: raw.reason,
    })
}

/// `{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}` from `/version`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Version {
    /// The member's server version.
    pub etcdserver: String,
    /// The cluster version.
    #[serde(default)]
    pub etcdcluster: String,
}

impl Version {
    /// Whether this server offers `/readyz` (added in 3.5.11 and 3.6).
    pub fn has_readyz(&self) -> bool {
        let mut it = self
            .etcdserver
            .split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor, patch) = (
            it.next().unwrap_or(0),
            it.next().unwrap_or(0),
            it.next().unwrap_or(0),
        );
        (major, minor, patch) >= (3, 5, 11)
    }
}

/// Parses a `/version` body.
pub fn parse_version(body: &[u8]) -> Option<Version> {
    serde_json::from_slice(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_3_4_answers_captured_from_the_real_server() {
        // From etcd 3.4.23 (capture in tests/fixtures/README.md): healthy, then with NOSPACE raised.
        assert!(parse(br#"{"health":"true"}"#).unwrap().healthy);
        let h = parse(br#"{"health":"false"}"#).unwrap();
        assert!(!h.healthy);
        assert!(h.reason.is_empty());
    }

    #[test]
    fn etcd_3_5_answers_with_reason() {
        let h = parse(br#"{"health":"false","reason":"ALARM NOSPACE"}"#).unwrap();
        assert_eq!(
            h,
            Health {
                healthy: false,
                reason: "ALARM NOSPACE".into()
            }
        );
        assert!(parse(br#"{"health":"true","reason":""}"#).unwrap().healthy);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse(b"").is_err());
        assert!(parse(b"<html>").is_err());
        assert!(parse(br#"{"health":3}"#).is_err());
        assert!(parse(br#"{"status":"ok"}"#).is_err());
    }

    #[test]
    fn readyz_is_offered_from_3_5_11() {
        let v = parse_version(br#"{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}"#).unwrap();
        assert!(!v.has_readyz());
        assert!(
            parse_version(br#"{"etcdserver":"3.5.11"}"#)
                .unwrap()
                .has_readyz()
        );
        assert!(
            parse_version(br#"{"etcdserver":"3.6.0","etcdcluster":"3.6.0"}"#)
                .unwrap()
                .has_readyz()
        );
        assert!(parse_version(b"nope").is_none());
    }
}
