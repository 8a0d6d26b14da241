//! Answers of etcd's v3 JSON gateway (`POST /v3/...`), which avoids a gRPC/protoc dependency.
//! The gateway writes 64-bit integers as JSON strings; both shapes are accepted.

use serde::{Deserialize, Deserializer};

/// Request body of `POST /v3/maintenance/status` and `/v3/cluster/member/list`.
pub const EMPTY_REQUEST: &[u8] = b"{}";

/// Request body of `POST /v3/kv/range` counting every key (`key = range_end = "\0"`).
/// Serializable, so a member without quorum still answers from its own data instead of hanging.
pub const COUNT_ALL_KEYS: &[u8] =
    br#"{"key":"AA==","range_end":"AA==","count_only":true,"serializable":true}"#;

/// Response header present on every answer.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Header {
    /// The cluster ID.
    #[serde(default, deserialize_with = "u64_any")]
    pub cluster_id: u64,
    /// The answering member.
    #[serde(default, deserialize_with = "u64_any")]
    pub member_id: u64,
    /// The store revision.
    #[serde(default, deserialize_with = "i64_any")]
    pub revision: i64,
    /// The raft term (increments with every election).
    #[serde(default, deserialize_with = "u64_any")]
    pub raft_term: u64,
}

/// `POST /v3/maintenance/status`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// Header.
    #[serde(default)]
    pub header: Header,
    /// Server version.
    #[serde(default)]
    pub version: String,
    /// Backend database size in bytes.
    #[serde(default, deserialize_with = "i64_any")]
    pub db_size: i64,
    /// The leader's member ID (0: none).
    #[serde(default, deserialize_with = "u64_any")]
    pub leader: u64,
    /// Raft index.
    #[serde(default, deserialize_with = "u64_any")]
    pub raft_index: u64,
    /// Alarms and errors, e.g. `memberID:1 alarm:NOSPACE `.
    #[serde(default)]
    pub errors: Vec<String>,
}

/// One member of `POST /v3/cluster/member/list`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// Member ID.
    #[serde(rename = "ID", default, deserialize_with = "u64_any")]
    pub id: u64,
    /// Name; empty while a member is added but not started.
    #[serde(default)]
    pub name: String,
    /// Peer URLs.
    #[serde(rename = "peerURLs", default)]
    pub peer_urls: Vec<String>,
    /// Client URLs.
    #[serde(rename = "clientURLs", default)]
    pub client_urls: Vec<String>,
    /// Whether the member is a non-voting learner.
    #[serde(default)]
    pub is_learner: bool,
}

/// `POST /v3/cluster/member/list`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct MemberList {
    /// Header.
    #[serde(default)]
    pub header: Header,
    /// Members.
    #[serde(default)]
    pub members: Vec<Member>,
}

/// `POST /v3/kv/range` with `count_only`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct RangeCount {
    /// Header.
    #[serde(default)]
    pub header: Header,
    /// Number of keys.
    #[serde(default, deserialize_with = "i64_any")]
    pub count: i64,
}

/// A gateway body that did not parse.
#[derive(Debug, thiserror::Error)]
#[error("unexpected v3 gateway answer: {0}")]
pub struct GatewayError(String);

/// Parses a gateway answer into `T`.
pub fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, GatewayError> {
    serde_json::from_slice(body).map_err(|e| GatewayError(e.to_string()))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrString {
    U(u64),
    I(i64),
    S(String),
}

fn u64_any<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match NumOrString::deserialize(d)? {
        NumOrString::U(v) => Ok(v),
        NumOrString::I(v) => u64::try_from(v).map_err(serde::de::Error::custom),
        NumOrString::S(s) => s.parse().map_err(serde::de::Error::custom),
    }
}

fn i64_any<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match NumOrString::deserialize(d)? {
        NumOrString::U(v) => i64::try_from(v).map_err(serde::de::Error::custom),
        NumOrString::I(v) => Ok(v),
        NumOrString::S(s) => s.parse().map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from etcd 3.4.23 with a NOSPACE alarm raised (tests/fixtures/README.md).
    const STATUS: &[u8] = include_bytes!("../tests/fixtures/gateway-status-nospace.json");
    const MEMBERS: &[u8] = include_bytes!("../tests/fixtures/gateway-member-list.json");
    const COUNT: &[u8] = include_bytes!("../tests/fixtures/gateway-range-count.json");

    #[test]
    fn real_gateway_answers_parse() {
        let s: Status = parse(STATUS).unwrap();
        assert_eq!(s.header.cluster_id, 9_275_238_649_281_936_214);
        assert_eq!(s.header.revision, 18);
        assert_eq!(s.leader, 16_650_982_911_980_377_762);
        assert_eq!(s.version, "3.4.23");
        assert!(s.errors[0].contains("NOSPACE"));
        let m: MemberList = parse(MEMBERS).unwrap();
        assert_eq!(m.members.len(), 3);
        assert_eq!(m.members[0].name, "m1");
        assert_eq!(
            m.members[0].client_urls,
            vec!["http://127.0.0.1:23010".to_owned()]
        );
        let c: RangeCount = parse(COUNT).unwrap();
        assert_eq!(c.count, 17);
    }

    #[test]
    fn numbers_and_garbage() {
        let h: Header = parse(br#"{"cluster_id":12,"revision":"-1"}"#).unwrap();
        assert_eq!((h.cluster_id, h.revision), (12, -1));
        assert!(parse::<Status>(b"<html>").is_err());
        assert!(parse::<Status>(br#"{"header":{"cluster_id":"x"}}"#).is_err());
    }
}
