//! Basic auth against the web config's bcrypt hashes.
//!
//! bcrypt is slow by design, which makes it a lever for whoever can reach the port: every
//! verification runs on one thread of its own, one at a time as exporter-toolkit does, behind a
//! short queue, so a flood of wrong passwords costs one core and never the blocking pool the
//! collectors use. A verified pair is remembered (by a digest, never the password), so a
//! scraper that logged in once is not queued behind the flood again.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::sync::mpsc::{SyncSender, TrySendError};

use base64::Engine as _;
use http::{HeaderMap, header};

use crate::lock::MutexExt as _;

/// Entries kept before the cache starts over: enough for the few scrapers of one exporter.
const AUTH_CACHE_ENTRIES: usize = 64;

/// Verifications waiting for the bcrypt thread before further attempts are turned away: at the
/// `htpasswd -B` default cost that is well under a second of waiting.
const VERIFY_QUEUE: usize = 8;

/// What basic auth decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// No authentication configured, or a right user and password.
    Allowed,
    /// No credentials, an unknown user or a wrong password.
    Denied,
    /// Too many verifications already waiting: try again later (503, not 401, because the
    /// credentials were never checked).
    Busy,
}

/// Digests of `user:password` pairs already verified, so bcrypt runs once per pair. It belongs
/// to one version of the settings: a removed user or changed hash cannot linger.
#[derive(Debug, Default)]
pub(super) struct AuthCache(Mutex<HashSet<[u8; 32]>>);

impl AuthCache {
    fn contains(&self, key: &[u8; 32]) -> bool {
        self.0.lock_or_recover().contains(key)
    }

    fn insert(&self, key: [u8; 32]) {
        let mut c = self.0.lock_or_recover();
        if c.len() >= AUTH_CACHE_ENTRIES {
            c.clear();
        }
        c.insert(key);
    }
}

/// The cache key: a SHA-256 of the user, the password and the hash they were verified
/// against, so the cache never holds a password and a changed hash never matches.
fn cache_key(user: &str, pass: &str, hash: &str) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [user, pass, hash] {
        ctx.update(part.as_bytes());
        ctx.update(&[0]);
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(ctx.finish().as_ref());
    key
}

/// One bcrypt verification handed to the verifier thread.
struct Job {
    pass: String,
    hash: String,
    answer: tokio::sync::oneshot::Sender<bool>,
}

/// The bcrypt thread of one server and its bounded queue. The thread ends when the server
/// (the last sender) is dropped.
pub(super) struct Verifier {
    queue: Option<SyncSender<Job>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("running", &self.queue.is_some())
            .finish()
    }
}

impl Verifier {
    /// Starts the verifier thread; without it (the OS refused a thread) every authenticated
    /// request is answered `Busy` and the failure is logged.
    pub(super) fn start() -> Verifier {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(VERIFY_QUEUE);
        let spawned = std::thread::Builder::new()
            .name("bcrypt".to_owned())
            .spawn(move || {
                for job in rx {
                    let ok = bcrypt::verify(&job.pass, &job.hash).unwrap_or(false);
                    let _ = job.answer.send(ok);
                }
            });
        match spawned {
            Ok(_) => Verifier { queue: Some(tx) },
            Err(e) => {
                log::error!("cannot start the password verification thread: {e}");
                Verifier { queue: None }
            }
        }
    }

    /// Whether `pass` matches the bcrypt `hash`; `None` when the queue is full.
    async fn verify(&self, pass: String, hash: String) -> Option<bool> {
        let queue = self.queue.as_ref()?;
        let (answer, rx) = tokio::sync::oneshot::channel();
        match queue.try_send(Job { pass, hash, answer }) {
            Ok(()) => Some(rx.await.unwrap_or(false)),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => None,
        }
    }
}

/// The `user` and `password` of a `Basic` `Authorization` header.
fn credentials(headers: &HeaderMap) -> Option<(String, String)> {
    basic_credentials(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// The `user` and `password` of an `Authorization` header's value when its scheme is `Basic`
/// (case-insensitive, RFC 9110 11.1) and it decodes to UTF-8 `user:password`.
pub fn basic_credentials(value: &str) -> Option<(String, String)> {
    let value = value.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}

/// The bcrypt cost of a `$2y$NN$...` hash.
fn cost(hash: &str) -> u32 {
    hash.split('$')
        .nth(2)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// What an unknown user's password is checked against, so that answering "no such user" takes
/// as long as checking a known one: the configured hash of the highest cost. The answer is
/// thrown away.
fn decoy(users: &BTreeMap<String, String>) -> Option<&String> {
    users.values().max_by_key(|h| cost(h))
}

/// Decides the request's basic auth against `users`; always [`Verdict::Allowed`] when `users` is
/// empty (no authentication configured).
pub(super) async fn check(
    users: &BTreeMap<String, String>,
    cache: &AuthCache,
    verifier: &Verifier,
    headers: &HeaderMap,
) -> Verdict {
    let Some(decoy) = decoy(users) else {
        return Verdict::Allowed;
    };
    let Some((user, pass)) = credentials(headers) else {
        return Verdict::Denied;
    };
    let (hash, known) = match users.get(&user) {
        Some(h) => (h, true),
        None => (decoy, false),
    };
    let key = cache_key(&user, &pass, hash);
    if known && cache.contains(&key) {
        return Verdict::Allowed;
    }
    match verifier.verify(pass, hash.clone()).await {
        None => Verdict::Busy,
        Some(true) if known => {
            cache.insert(key);
            Verdict::Allowed
        }
        Some(_) => Verdict::Denied,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn the_basic_scheme_is_case_insensitive() {
        let want = Some(("alice".to_owned(), "s3cret".to_owned()));
        for v in [
            "Basic YWxpY2U6czNjcmV0",
            "basic YWxpY2U6czNjcmV0",
            "BASIC  YWxpY2U6czNjcmV0 ",
        ] {
            assert_eq!(credentials(&basic(v)), want, "{v}");
        }
        assert_eq!(credentials(&basic("Bearer YWxpY2U6czNjcmV0")), None);
        assert_eq!(credentials(&basic("Basic !!!")), None);
        assert_eq!(credentials(&basic("Basic")), None);
    }

    #[test]
    fn the_decoy_is_the_costliest_configured_hash() {
        let users: BTreeMap<String, String> = [
            ("a", "$2y$05$aaaaaaaaaaaaaaaaaaaaaa"),
            ("b", "$2y$12$bbbbbbbbbbbbbbbbbbbbbb"),
            ("c", "$2b$10$cccccccccccccccccccccc"),
        ]
        .into_iter()
        .map(|(u, h)| (u.to_owned(), h.to_owned()))
        .collect();
        assert_eq!(decoy(&users).map(|h| cost(h)), Some(12));
        assert_eq!(decoy(&BTreeMap::new()), None);
    }

    #[test]
    fn cache_keys_never_contain_the_password_and_follow_the_hash() {
        let k = cache_key("alice", "s3cret", "$2y$05$x");
        assert_ne!(k, cache_key("alice", "s3cret", "$2y$05$y"));
        assert_ne!(k, cache_key("alic", "es3cret", "$2y$05$x"));
        assert!(!k.windows(6).any(|w| w == b"s3cret"));
    }
}
