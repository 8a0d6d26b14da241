//! The web settings in force: re-read from the web config at most once a second, swapped in for
//! new connections, each version with its own basic-auth cache.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::auth::AuthCache;
use crate::lock::{MutexExt as _, RwLockExt as _};
use crate::web_config::{Reloader, WebSettings};

/// How often the web config's files are `stat`ed at most: a burst of 1,000 probes costs one
/// check, and a rotated certificate is in use a second later.
const WEB_CONFIG_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Web settings in force, with what was learnt under them.
pub(super) struct Live {
    /// TLS, users and extra headers.
    pub(super) web: WebSettings,
    /// Pairs verified under exactly these settings.
    pub(super) auth_cache: AuthCache,
}

impl Live {
    fn new(web: WebSettings) -> Arc<Live> {
        Arc::new(Live {
            web,
            auth_cache: AuthCache::default(),
        })
    }
}

/// The current [`Live`] settings and what re-reads them.
pub(super) struct LiveWeb {
    live: RwLock<Arc<Live>>,
    reloader: Option<Arc<Mutex<Reloader>>>,
    next_check: Mutex<Instant>,
}

impl LiveWeb {
    /// Starts with `web`, re-reading its file (if it came from one) when that changes.
    pub(super) fn new(web: &WebSettings) -> LiveWeb {
        LiveWeb {
            live: RwLock::new(Live::new(web.clone())),
            reloader: Reloader::new(web).map(|r| Arc::new(Mutex::new(r))),
            next_check: Mutex::new(Instant::now() + WEB_CONFIG_CHECK_INTERVAL),
        }
    }

    /// The settings for a new connection, re-read first if a check is due and a file changed.
    pub(super) async fn current(&self) -> Arc<Live> {
        if let Some(reloader) = &self.reloader
            && self.check_due()
        {
            let reloader = Arc::clone(reloader);
            let fresh = tokio::task::spawn_blocking(move || reloader.lock_or_recover().poll())
                .await
                .ok()
                .flatten();
            if let Some(web) = fresh {
                *self.live.write_or_recover() = Live::new(web);
            }
        }
        Arc::clone(&self.live.read_or_recover())
    }

    /// The settings in force now, without checking the files: what new connections get.
    pub(super) fn in_force(&self) -> Arc<Live> {
        Arc::clone(&self.live.read_or_recover())
    }

    fn check_due(&self) -> bool {
        let mut next = self.next_check.lock_or_recover();
        let now = Instant::now();
        if now < *next {
            return false;
        }
        *next = now + WEB_CONFIG_CHECK_INTERVAL;
        true
    }
}
