//! The manifest on the wire: compact JSON, versioned, with a fixed opening so that a document
//! that is not ours is told apart from one that is damaged. Paths that are not UTF-8 travel as
//! base64 (`pb`), all others as text (`p`, JSON-escaped: newlines included).
//!
//! The parser refuses, with an error saying which: a document over the byte bound, one that
//! does not open as ours (another service's JSON, an HTML error page), another version, one cut
//! short, one that is malformed, one with more entries than the bound, entries out of order.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::manifest::{Entry, Kind, Manifest};

/// The `format` every manifest declares.
pub const FORMAT: &str = "flink-sync-manifest";
/// The version written and the only one read.
pub const VERSION: u32 = 1;
/// `Content-Type` of the served manifest.
pub const CONTENT_TYPE: &str = "application/json";

/// What every manifest of this version starts with, byte for byte.
fn opening() -> String {
    format!("{{\"format\":\"{FORMAT}\",\"version\":{VERSION},")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    format: String,
    version: u32,
    host: String,
    generated: i64,
    roots: Vec<String>,
    entries: Vec<WireEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pb: Option<String>,
    t: String,
    s: u64,
    m: u32,
    u: u32,
    g: u32,
    mt: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    h: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<String>,
}

/// Why a peer's document is not a usable manifest.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    /// Larger than the configured bound.
    #[error("manifest of {size} bytes is over the {limit}-byte bound")]
    TooLarge {
        /// Its size (or the bytes read before giving up).
        size: usize,
        /// The bound.
        limit: usize,
    },
    /// Does not open as a flink-sync manifest.
    #[error("not a flink-sync manifest (it starts with {0:?})")]
    Foreign(String),
    /// A manifest of another version.
    #[error("manifest version is not {VERSION} (it starts with {0:?})")]
    Version(String),
    /// Ends before the document does.
    #[error("manifest is truncated: {0}")]
    Truncated(String),
    /// Not well-formed, or a field is wrong.
    #[error("manifest is malformed: {0}")]
    Malformed(String),
    /// More entries than the bound.
    #[error("manifest has {count} entries, over the bound of {limit}")]
    TooManyEntries {
        /// Entries in the document.
        count: usize,
        /// The bound.
        limit: usize,
    },
}

/// [`Doc`] borrowing the manifest's strings: the active encodes its whole manifest on every
/// check (100,000 entries), so no entry costs an allocation of its own.
#[derive(Serialize)]
struct DocRef<'a> {
    format: &'static str,
    version: u32,
    host: &'a str,
    generated: i64,
    roots: &'a [String],
    entries: Vec<WireEntryRef<'a>>,
}

/// [`WireEntry`] borrowing from an [`Entry`]; same fields, same order.
#[derive(Serialize)]
struct WireEntryRef<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    p: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pb: Option<String>,
    t: &'static str,
    s: u64,
    m: u32,
    u: u32,
    g: u32,
    mt: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    h: Option<Hex>,
    #[serde(skip_serializing_if = "Option::is_none")]
    e: Option<&'a str>,
}

/// A digest written as 32 lower-case hex digits, formatted on the stack.
struct Hex(u128);

impl Serialize for Hex {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            let shift = 4 * (31 - i);
            *b = DIGITS[usize::try_from((self.0 >> shift) & 0xf).unwrap_or(0)];
        }
        // Only ASCII hex digits were written.
        ser.serialize_str(std::str::from_utf8(&out).unwrap_or_default())
    }
}

/// Serialises `m` (entries as they are: sorted by the walk).
pub fn encode(m: &Manifest) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let doc = DocRef {
        format: FORMAT,
        version: VERSION,
        host: &m.host,
        generated: m.generated,
        roots: &m.roots,
        entries: m
            .entries
            .iter()
            .map(|e| {
                let (p, pb) = match std::str::from_utf8(&e.path) {
                    Ok(s) => (Some(s), None),
                    Err(_) => (None, Some(b64.encode(&e.path))),
                };
                WireEntryRef {
                    p,
                    pb,
                    t: e.kind.code(),
                    s: e.size,
                    m: e.mode,
                    u: e.uid,
                    g: e.gid,
                    mt: e.mtime,
                    h: e.digest.map(Hex),
                    e: e.unreadable.as_deref(),
                }
            })
            .collect(),
    };
    // Serialising plain structs of strings and numbers into a Vec cannot fail.
    let mut out = Vec::with_capacity(128 * m.entries.len() + 256);
    if serde_json::to_writer(&mut out, &doc).is_err() {
        out.clear();
    }
    out
}

/// The first bytes of `bytes`, as text fit for an error message.
fn head(bytes: &[u8]) -> String {
    let n = bytes.len().min(48);
    String::from_utf8_lossy(&bytes[..n]).into_owned()
}

/// Parses a peer's manifest of at most `max_bytes` bytes and `max_entries` entries.
pub fn decode(bytes: &[u8], max_bytes: usize, max_entries: usize) -> Result<Manifest, WireError> {
    if bytes.len() > max_bytes {
        return Err(WireError::TooLarge {
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    let open = opening();
    if !bytes.starts_with(open.as_bytes()) {
        let ours = format!("{{\"format\":\"{FORMAT}\",");
        if bytes.starts_with(ours.as_bytes()) {
            return Err(WireError::Version(head(bytes)));
        }
        if open.as_bytes().starts_with(bytes) {
            return Err(WireError::Truncated(format!("{} bytes", bytes.len())));
        }
        return Err(WireError::Foreign(head(bytes)));
    }
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_eof() {
            WireError::Truncated(e.to_string())
        } else {
            WireError::Malformed(e.to_string())
        }
    })?;
    if doc.format != FORMAT || doc.version != VERSION {
        // The opening said otherwise: a key repeated later in the document.
        return Err(WireError::Version(head(bytes)));
    }
    if doc.entries.len() > max_entries {
        return Err(WireError::TooManyEntries {
            count: doc.entries.len(),
            limit: max_entries,
        });
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut entries = Vec::with_capacity(doc.entries.len());
    for (i, w) in doc.entries.into_iter().enumerate() {
        let bad = |what: String| WireError::Malformed(format!("entry {i}: {what}"));
        let path = match (w.p, w.pb) {
            (Some(p), None) => p.into_bytes(),
            (None, Some(pb)) => b64
                .decode(pb.as_bytes())
                .map_err(|e| bad(format!("pb: {e}")))?,
            _ => return Err(bad("needs exactly one of p and pb".to_owned())),
        };
        if path.first() != Some(&b'/') {
            return Err(bad("path is not absolute".to_owned()));
        }
        let kind = Kind::from_code(&w.t).ok_or_else(|| bad(format!("unknown type {:?}", w.t)))?;
        let digest = match w.h {
            None => None,
            Some(h) if h.len() == 32 => {
                Some(u128::from_str_radix(&h, 16).map_err(|_| bad(format!("digest {h:?}")))?)
            }
            Some(h) => return Err(bad(format!("digest {h:?} is not 32 hex digits"))),
        };
        if let Some(prev) = entries.last().map(|e: &Entry| &e.path)
            && *prev >= path
        {
            return Err(bad("entries are not sorted by path".to_owned()));
        }
        entries.push(Entry {
            path,
            kind,
            size: w.s,
            mode: w.m & 0o7777,
            uid: w.u,
            gid: w.g,
            mtime: w.mt,
            digest,
            unreadable: w.e,
        });
    }
    Ok(Manifest {
        host: doc.host,
        generated: doc.generated,
        roots: doc.roots,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let e = |p: &[u8], kind, digest| Entry {
            path: p.to_vec(),
            kind,
            size: 3,
            mode: 0o640,
            uid: 2000,
            gid: 1001,
            mtime: 1_700_000_000,
            digest,
            unreadable: None,
        };
        let mut bad = e(b"/conf/b\xff\xfe", Kind::File, Some(7));
        bad.unreadable = Some("not readable by omm".into());
        Manifest {
            host: "node-a".into(),
            generated: 1_700_000_100,
            roots: vec!["/conf".into()],
            entries: vec![
                e(b"/conf", Kind::Dir, None),
                e(b"/conf/a\nnewline", Kind::File, Some(u128::MAX)),
                bad,
                e(b"/conf/link", Kind::Symlink, Some(1)),
            ],
        }
    }

    #[test]
    fn manifests_round_trip_with_newlines_and_invalid_utf8_in_paths() {
        let m = sample();
        let bytes = encode(&m);
        assert!(bytes.starts_with(opening().as_bytes()));
        assert_eq!(decode(&bytes, 1 << 20, 100).unwrap(), m);
    }

    #[test]
    fn truncated_huge_foreign_and_other_versions_are_told_apart() {
        let bytes = encode(&sample());
        for cut in [5, 30, bytes.len() / 2, bytes.len() - 1] {
            let err = decode(&bytes[..cut], 1 << 20, 100).unwrap_err();
            assert!(matches!(err, WireError::Truncated(_)), "{cut}: {err}");
        }
        assert!(matches!(
            decode(&bytes, 100, 100),
            Err(WireError::TooLarge { limit: 100, .. })
        ));
        assert!(matches!(
            decode(&bytes, 1 << 20, 3),
            Err(WireError::TooManyEntries { count: 4, limit: 3 })
        ));
        for foreign in [
            &b"<html><body>502 Bad Gateway</body></html>"[..],
            b"{\"status\":\"success\",\"data\":[]}",
            b"",
            b"# HELP flink_sync_ok\n",
        ] {
            let err = decode(foreign, 1 << 20, 100).unwrap_err();
            assert!(
                matches!(err, WireError::Foreign(_))
                    || (foreign.is_empty() && matches!(err, WireError::Truncated(_))),
                "{err}"
            );
        }
        let v2 =
            String::from_utf8(bytes.clone())
                .unwrap()
                .replacen("\"version\":1", "\"version\":2", 1);
        assert!(matches!(
            decode(v2.as_bytes(), 1 << 20, 100),
            Err(WireError::Version(_))
        ));
    }

    #[test]
    fn wrong_fields_and_unsorted_entries_are_malformed() {
        let text = String::from_utf8(encode(&sample())).unwrap();
        for (from, to) in [
            ("\"t\":\"f\"", "\"t\":\"x\""),
            ("\"p\":\"/conf\"", "\"p\":\"conf\""),
            ("\"p\":\"/conf/link\"", "\"p\":\"/conf/a\""),
            ("\"s\":3", "\"s\":-3"),
            ("\"mt\":", "\"zz\":1,\"mt\":"),
        ] {
            let bad = text.replacen(from, to, 1);
            assert_ne!(bad, text, "{from}");
            let err = decode(bad.as_bytes(), 1 << 20, 100).unwrap_err();
            assert!(matches!(err, WireError::Malformed(_)), "{from}: {err}");
        }
    }
}
