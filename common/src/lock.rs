//! Mutex and RwLock access that survives a panic of an earlier holder.
//!
//! The release profile keeps unwinding, so a panicking collector costs one scrape. But
//! `std::sync::Mutex` poisons itself when its holder panics, and every later `lock()` then
//! returns `Err`: a collector whose state sits behind a mutex would fail every scrape after one
//! panic, or a journal would silently drop records. The state a panic leaves behind is at worst a
//! half-applied update of counters or offsets (a log line counted twice, or not at all), which is
//! far better than a collector that is dead until restart; so every lock in the suite recovers.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// `lock()` that takes over a poisoned mutex instead of failing.
pub trait MutexExt<T: ?Sized> {
    /// Locks, recovering the guard when an earlier holder panicked.
    fn lock_or_recover(&self) -> MutexGuard<'_, T>;
}

impl<T: ?Sized> MutexExt<T> for Mutex<T> {
    fn lock_or_recover(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(|poisoned| {
            log::warn!("recovering a lock whose holder panicked");
            self.clear_poison();
            poisoned.into_inner()
        })
    }
}

/// `read()`/`write()` that take over a poisoned lock instead of failing.
pub trait RwLockExt<T: ?Sized> {
    /// Read-locks, recovering when an earlier writer panicked.
    fn read_or_recover(&self) -> RwLockReadGuard<'_, T>;
    /// Write-locks, recovering when an earlier writer panicked.
    fn write_or_recover(&self) -> RwLockWriteGuard<'_, T>;
}

impl<T: ?Sized> RwLockExt<T> for RwLock<T> {
    fn read_or_recover(&self) -> RwLockReadGuard<'_, T> {
        self.read().unwrap_or_else(|poisoned| {
            self.clear_poison();
            poisoned.into_inner()
        })
    }

    fn write_or_recover(&self) -> RwLockWriteGuard<'_, T> {
        self.write().unwrap_or_else(|poisoned| {
            self.clear_poison();
            poisoned.into_inner()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_mutex_poisoned_by_a_panic_is_usable_again_with_its_value() {
        let m = Arc::new(Mutex::new(41));
        let m2 = Arc::clone(&m);
        let _ = std::thread::spawn(move || {
            let mut g = m2.lock_or_recover();
            *g += 1;
            #[allow(clippy::panic)]
            {
                panic!("collector bug");
            }
        })
        .join();
        assert!(m.is_poisoned());
        assert_eq!(*m.lock_or_recover(), 42);
        assert!(!m.is_poisoned(), "poison is cleared once recovered");
    }

    #[test]
    fn a_poisoned_rwlock_can_be_read_and_written() {
        let l = Arc::new(RwLock::new(String::from("a")));
        let l2 = Arc::clone(&l);
        let _ = std::thread::spawn(move || {
            let _g = l2.write_or_recover();
            #[allow(clippy::panic)]
            {
                panic!("boom");
            }
        })
        .join();
        l.write_or_recover().push('b');
        assert_eq!(*l.read_or_recover(), "ab");
    }
}
