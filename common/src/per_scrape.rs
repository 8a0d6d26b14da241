//! A value worked out at most once per scrape and shared by the collectors that need it: two
//! collectors reading the process table walk it once, and both see the same table.

use std::sync::{Arc, Mutex};

use crate::collector::ScrapeContext;
use crate::lock::MutexExt as _;

/// The value of the latest scrape that asked for it.
pub struct PerScrape<T> {
    latest: Mutex<Option<(u64, Arc<T>)>>,
}

impl<T> std::fmt::Debug for PerScrape<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerScrape").finish_non_exhaustive()
    }
}

impl<T> Default for PerScrape<T> {
    fn default() -> Self {
        Self {
            latest: Mutex::new(None),
        }
    }
}

impl<T> PerScrape<T> {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value for `ctx`'s scrape: made by `init` for the first collector of the scrape that
    /// asks, while the others of that scrape wait and then share it. An error is not kept: the
    /// next collector asking tries again. Concurrent scrapes each get their own value (the
    /// latest one replaces the one kept), so a value never crosses from one scrape to another.
    pub fn get_or_try_init<E>(
        &self,
        ctx: &ScrapeContext,
        init: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        // Held while `init` runs: a second collector of the same scrape waits for the value
        // instead of doing the same work beside it.
        let mut latest = self.latest.lock_or_recover();
        if let Some((id, value)) = latest.as_ref()
            && *id == ctx.id()
        {
            return Ok(Arc::clone(value));
        }
        let value = Arc::new(init()?);
        *latest = Some((ctx.id(), Arc::clone(&value)));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn one_value_per_scrape_shared_by_its_collectors_and_never_reused_by_the_next() {
        let cache = PerScrape::new();
        let made = AtomicUsize::new(0);
        let make = || -> Result<usize, ()> { Ok(made.fetch_add(1, Ordering::SeqCst)) };
        let first = ScrapeContext::with_timeout(Duration::from_secs(1));
        let second = ScrapeContext::with_timeout(Duration::from_secs(1));
        assert_eq!(*cache.get_or_try_init(&first, make).unwrap(), 0);
        assert_eq!(*cache.get_or_try_init(&first, make).unwrap(), 0);
        assert_eq!(*cache.get_or_try_init(&second, make).unwrap(), 1);
        assert_eq!(made.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn an_error_is_not_kept() {
        let cache: PerScrape<u8> = PerScrape::new();
        let ctx = ScrapeContext::with_timeout(Duration::from_secs(1));
        assert_eq!(
            cache.get_or_try_init(&ctx, || Err("gone")).unwrap_err(),
            "gone"
        );
        assert_eq!(
            *cache.get_or_try_init(&ctx, || Ok::<_, &str>(7)).unwrap(),
            7
        );
    }

    #[test]
    fn collectors_of_one_scrape_on_several_threads_share_one_value() {
        let cache = Arc::new(PerScrape::new());
        let made = Arc::new(AtomicUsize::new(0));
        let ctx = ScrapeContext::with_timeout(Duration::from_secs(1));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (cache, made) = (Arc::clone(&cache), Arc::clone(&made));
                std::thread::spawn(move || {
                    *cache
                        .get_or_try_init(&ctx, || {
                            std::thread::sleep(Duration::from_millis(20));
                            Ok::<_, ()>(made.fetch_add(1, Ordering::SeqCst))
                        })
                        .unwrap()
                })
            })
            .collect();
        let values: Vec<usize> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(values, [0, 0, 0, 0]);
        assert_eq!(made.load(Ordering::SeqCst), 1);
    }
}
