//! The open connections of one server, kept under a cap below the file-descriptor limit.
//!
//! Idle sockets cost a descriptor and a read buffer each, and a host's default soft limit is
//! 1,024: without a cap, a few hundred idle clients (a port scanner, a leaky proxy) exhaust it
//! and a real scrape cannot even be accepted. At the cap, the connection idle the longest (no
//! request in progress) is closed to make room, so a scrape always gets in; busy ones are never
//! cut. When many connections have come and gone, the allocator is asked to give the freed
//! memory back, so a burst does not leave the exporter ten times its size.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::lock::MutexExt as _;

/// Connections at or above which a drop back to a quarter of the peak gives memory back.
const TRIM_AFTER_PEAK: usize = 256;

/// One open connection, as the tracker sees it.
#[derive(Debug, Default)]
pub(super) struct Slot {
    /// Requests in progress on it.
    busy: AtomicUsize,
    /// Set when it was chosen for closing, so it is not chosen twice.
    closing: AtomicBool,
    /// Woken when the connection should close once idle.
    close: Notify,
}

impl Slot {
    /// Resolves when this connection was asked to close (at the cap).
    pub(super) async fn closed(&self) {
        self.close.notified().await;
    }

    /// Marks a request in progress until the returned guard is dropped.
    pub(super) fn request(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::AcqRel);
        Busy(Arc::clone(self))
    }
}

/// A request in progress on a [`Slot`].
#[derive(Debug)]
pub(super) struct Busy(Arc<Slot>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Debug, Default)]
struct Open {
    slots: BTreeMap<u64, Arc<Slot>>,
    next_id: u64,
    /// Most connections open at once since memory was last given back.
    peak: usize,
}

/// The open connections and the cap they are held under.
#[derive(Debug)]
pub(super) struct Connections {
    cap: usize,
    open: Mutex<Open>,
    /// Woken when the last connection closes (for shutdown).
    empty: Notify,
}

/// A registered connection; dropping it unregisters it.
#[derive(Debug)]
pub(super) struct Registration {
    id: u64,
    slot: Arc<Slot>,
    owner: Arc<Connections>,
}

impl Registration {
    /// The connection's slot.
    pub(super) fn slot(&self) -> &Arc<Slot> {
        &self.slot
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let trim = {
            let mut open = self.owner.open.lock_or_recover();
            open.slots.remove(&self.id);
            let now = open.slots.len();
            let trim = open.peak >= TRIM_AFTER_PEAK && now <= open.peak / 4;
            if trim {
                open.peak = now;
            }
            if now == 0 {
                self.owner.empty.notify_waiters();
            }
            trim
        };
        if trim {
            crate::allocator::release_free_memory();
        }
    }
}

impl Connections {
    /// A tracker allowing `cap` open connections (at least 1).
    pub(super) fn new(cap: usize) -> Arc<Connections> {
        Arc::new(Connections {
            cap: cap.max(1),
            open: Mutex::new(Open::default()),
            empty: Notify::new(),
        })
    }

    /// The cap.
    pub(super) fn cap(&self) -> usize {
        self.cap
    }

    /// Connections open now.
    pub(super) fn len(&self) -> usize {
        self.open.lock_or_recover().slots.len()
    }

    /// Registers a new connection; at the cap, asks the longest-idle one to close first.
    pub(super) fn admit(self: &Arc<Self>) -> Registration {
        let mut open = self.open.lock_or_recover();
        if open.slots.len() >= self.cap {
            // Oldest first: ids grow with time, and a keep-alive scraper that reconnects is
            // cheaper to lose than a client that only just arrived.
            let idle = open.slots.values().find(|s| {
                s.busy.load(Ordering::Acquire) == 0 && !s.closing.load(Ordering::Acquire)
            });
            if let Some(s) = idle {
                s.closing.store(true, Ordering::Release);
                s.close.notify_one();
            }
        }
        let id = open.next_id;
        open.next_id += 1;
        let slot = Arc::new(Slot::default());
        open.slots.insert(id, Arc::clone(&slot));
        open.peak = open.peak.max(open.slots.len());
        Registration {
            id,
            slot,
            owner: Arc::clone(self),
        }
    }

    /// Resolves once no connection is open.
    pub(super) async fn all_closed(&self) {
        loop {
            let notified = self.empty.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.len() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// The connection cap for a descriptor limit: what is left after a reserve for the collectors'
/// own files, sockets and the runtime (a quarter of the limit, at least 64 and at most 1,024).
pub(super) fn cap_for_fd_limit(limit: u64) -> usize {
    let reserve = (limit / 4).clamp(64, 1024);
    usize::try_from(limit.saturating_sub(reserve))
        .unwrap_or(usize::MAX)
        .max(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_a_reserve_below_the_fd_limit() {
        assert_eq!(cap_for_fd_limit(1024), 768);
        assert_eq!(cap_for_fd_limit(256), 192);
        assert_eq!(cap_for_fd_limit(100), 36);
        assert_eq!(cap_for_fd_limit(10), 16);
        assert_eq!(cap_for_fd_limit(1_048_576), 1_047_552);
    }

    #[tokio::test]
    async fn at_the_cap_the_oldest_idle_connection_is_asked_to_close() {
        let c = Connections::new(3);
        let a = c.admit();
        let b = c.admit();
        let _busy = a.slot().request();
        let d = c.admit();
        assert_eq!(c.len(), 3);
        // The fourth: `a` is busy, so `b`, the oldest idle one, is asked to close.
        let _e = c.admit();
        let closed = |r: &Registration| {
            let slot = Arc::clone(r.slot());
            async move {
                tokio::time::timeout(std::time::Duration::from_millis(50), slot.closed())
                    .await
                    .is_ok()
            }
        };
        assert!(closed(&b).await);
        assert!(!closed(&a).await);
        assert!(!closed(&d).await);
        drop(b);
        assert_eq!(c.len(), 3);
    }

    #[tokio::test]
    async fn all_closed_waits_for_the_last_connection() {
        let c = Connections::new(8);
        let r = c.admit();
        let waiter = tokio::spawn({
            let c = Arc::clone(&c);
            async move { c.all_closed().await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        drop(r);
        tokio::time::timeout(std::time::Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();
    }
}
