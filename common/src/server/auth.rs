//! Basic auth against the web config's bcrypt hashes, with a cache of verified pairs because
//! bcrypt is slow by design.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use http::{HeaderMap, header};

use crate::lock::MutexExt as _;

/// Entries kept before the cache starts over: enough for the few scrapers of one exporter.
const AUTH_CACHE_ENTRIES: usize = 64;

/// `user:password` pairs already verified, so bcrypt runs once per pair. It belongs to one version
/// of the settings: a removed user or changed hash cannot linger.
#[derive(Debug, Default)]
pub(super) struct AuthCache(Mutex<HashSet<String>>);

impl AuthCache {
    fn contains(&self, key: &str) -> bool {
        self.0.lock_or_recover().contains(key)
    }

    fn insert(&self, key: String) {
        let mut c = self.0.lock_or_recover();
        if c.len() > AUTH_CACHE_ENTRIES {
            c.clear();
        }
        c.insert(key);
    }
}

/// Whether the request's `Authorization` header names one of `users` with the right password;
/// always true when `users` is empty (no authentication configured).
pub(super) async fn authorized(
    users: &BTreeMap<String, String>,
    cache: &AuthCache,
    headers: &HeaderMap,
) -> bool {
    if users.is_empty() {
        return true;
    }
    let Some((user, pass)) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| decode_base64(b.trim()))
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|s| s.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned())))
    else {
        return false;
    };
    let key = format!("{user}:{pass}");
    if cache.contains(&key) {
        return true;
    }
    // Unknown users are checked against a dummy hash so timing does not reveal which users exist.
    const DUMMY: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";
    let hash = users.get(&user).cloned();
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| DUMMY.to_owned());
    let ok = tokio::task::spawn_blocking(move || bcrypt::verify(pass, &hash).unwrap_or(false))
        .await
        .unwrap_or(false)
        && known;
    if ok {
        cache.insert(key);
    }
    ok
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = u32::try_from(ALPHABET.iter().position(|a| *a == c)?).ok()?;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_basic_auth() {
        assert_eq!(decode_base64("YWxpY2U6czNjcmV0").unwrap(), b"alice:s3cret");
        assert_eq!(decode_base64("YQ==").unwrap(), b"a");
        assert!(decode_base64("!!!").is_none());
    }
}
