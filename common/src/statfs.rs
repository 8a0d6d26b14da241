//! Hang-safe `statvfs`: a hung NFS or FUSE mount must not hang the scrape.
//!
//! Each call runs on a worker thread and is waited for at most a timeout. Workers whose call
//! returned are kept for the next calls (a few of them): a scrape makes one call per mount, and a
//! new thread for each cost more than the call itself. A worker whose call timed out is let go: it
//! ends once the call returns. A mount whose call timed out is remembered as stuck and skipped
//! until a call on it returns, so a mount that never answers costs the workers that were already
//! waiting on it when it hung (at most one per concurrent caller), never a pile that grows with
//! every scrape. Concurrent callers on a healthy mount are not affected by each other: each has
//! a worker of its own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::lock::MutexExt as _;

/// Sizes and inode counts of one mounted filesystem, in bytes and inodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FsStats {
    /// Total size in bytes.
    pub size_bytes: u64,
    /// Free bytes (including those reserved for root).
    pub free_bytes: u64,
    /// Bytes available to unprivileged users.
    pub avail_bytes: u64,
    /// Total inodes.
    pub files: u64,
    /// Free inodes.
    pub files_free: u64,
    /// Whether the filesystem reports itself read-only (`ST_RDONLY`).
    pub readonly: bool,
}

/// Usage as `df` reports it: `Size`, `Used`, `Avail` and `Use%` (or, for inodes, `df -i`'s
/// `Inodes`, `IUsed`, `IFree` and `IUse%`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DfUsage {
    /// The total (bytes or inodes).
    pub size: u64,
    /// The total less the free, root's reserve included (`f_blocks - f_bfree`).
    pub used: u64,
    /// What unprivileged users may still take (`f_bavail`; `f_ffree` for inodes).
    pub avail: u64,
    /// `used / (used + avail)` in percent, rounded up to a whole percent as `df` does, so that a
    /// filesystem is never shown less full than it is; 0 when both are 0.
    pub percent: f64,
}

impl DfUsage {
    fn new(size: u64, free: u64, avail: u64) -> Self {
        let used = size.saturating_sub(free);
        let whole = u128::from(used) + u128::from(avail);
        let percent = if whole == 0 {
            0
        } else {
            (u128::from(used) * 100).div_ceil(whole)
        };
        Self {
            size,
            used,
            avail,
            percent: u32::try_from(percent).map_or(100.0, f64::from),
        }
    }
}

impl FsStats {
    /// Space usage as `df` computes it.
    pub fn df_space(&self) -> DfUsage {
        DfUsage::new(self.size_bytes, self.free_bytes, self.avail_bytes)
    }

    /// Inode usage as `df -i` computes it (all 0 for filesystems without inode accounting).
    pub fn df_inodes(&self) -> DfUsage {
        DfUsage::new(self.files, self.files_free, self.files_free)
    }
}

/// Why no statistics came back.
#[derive(Debug, thiserror::Error)]
pub enum StatfsError {
    /// The syscall failed.
    #[error("statfs {path}: {source}")]
    Io {
        /// The mount point.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The call did not return within the timeout; the mount is now skipped until it does.
    #[error("statfs {path}: no answer within {timeout:?} (mount hung?)")]
    Timeout {
        /// The mount point.
        path: PathBuf,
        /// The limit.
        timeout: Duration,
    },
    /// An earlier call on this mount has still not returned; it was not tried again.
    #[error("statfs {path}: skipped, an earlier call is still hung")]
    Stuck {
        /// The mount point.
        path: PathBuf,
    },
}

/// Runs `statvfs` on mount points under a timeout, remembering mounts that hang.
#[derive(Debug, Clone, Default)]
pub struct Statfs {
    mounts: Arc<Mutex<HashMap<PathBuf, Calls>>>,
    workers: Arc<Workers>,
}

/// The calls in flight on one mount point.
#[derive(Debug, Default)]
struct Calls {
    in_flight: usize,
    /// Set when a caller gave up waiting; cleared when any call on the mount returns.
    stuck: bool,
}

/// Work for a worker thread.
type Task = Box<dyn FnOnce() + Send>;

/// Most idle workers kept: the callers that run at once (the filesystem and read-only collectors,
/// the audit sampler), with room to spare.
const MAX_IDLE: usize = 4;

/// Worker threads waiting for a call, each behind the sender of its task queue.
#[derive(Debug, Default)]
struct Workers {
    idle: Mutex<Vec<mpsc::Sender<Task>>>,
    /// Threads started so far.
    started: AtomicUsize,
}

impl Workers {
    /// Hands `task` to an idle worker, or to a new one; the worker's sender comes back.
    fn run(&self, mut task: Task) -> std::io::Result<mpsc::Sender<Task>> {
        while let Some(worker) = self.idle.lock_or_recover().pop() {
            // A worker that has gone away hands the task back.
            match worker.send(task) {
                Ok(()) => return Ok(worker),
                Err(mpsc::SendError(back)) => task = back,
            }
        }
        let (tx, rx) = mpsc::channel::<Task>();
        std::thread::Builder::new()
            .name("statfs".into())
            .spawn(move || {
                // Ends when its sender is dropped: let go after a timeout, or more than MAX_IDLE.
                while let Ok(task) = rx.recv() {
                    task();
                }
            })?;
        self.started.fetch_add(1, Ordering::Relaxed);
        tx.send(task)
            .map_err(|_| std::io::Error::other("statfs worker ended at start"))?;
        Ok(tx)
    }

    /// Keeps a worker whose call returned, while fewer than [`MAX_IDLE`] wait.
    fn keep(&self, worker: mpsc::Sender<Task>) {
        let mut idle = self.idle.lock_or_recover();
        if idle.len() < MAX_IDLE {
            idle.push(worker);
        }
    }
}

/// The syscall, through rustix.
fn statvfs_raw(path: &Path) -> std::io::Result<FsStats> {
    let buf = rustix::fs::statvfs(path)?;
    let frsize = if buf.f_frsize > 0 {
        buf.f_frsize
    } else {
        buf.f_bsize
    };
    Ok(FsStats {
        size_bytes: buf.f_blocks.saturating_mul(frsize),
        free_bytes: buf.f_bfree.saturating_mul(frsize),
        avail_bytes: buf.f_bavail.saturating_mul(frsize),
        files: buf.f_files,
        files_free: buf.f_ffree,
        readonly: buf.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY),
    })
}

impl Statfs {
    /// A fresh tracker with no stuck mounts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Mount points marked stuck (a call timed out and has not returned).
    pub fn stuck(&self) -> Vec<PathBuf> {
        self.mounts
            .lock_or_recover()
            .iter()
            .filter(|(_, c)| c.stuck)
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// `statvfs(path)`, waiting at most `timeout`.
    pub fn stat(&self, path: &Path, timeout: Duration) -> Result<FsStats, StatfsError> {
        {
            let mut mounts = self.mounts.lock_or_recover();
            let calls = mounts.entry(path.to_path_buf()).or_default();
            if calls.stuck {
                return Err(StatfsError::Stuck {
                    path: path.to_path_buf(),
                });
            }
            calls.in_flight += 1;
        }
        let (tx, rx) = mpsc::sync_channel(1);
        let owned = path.to_path_buf();
        let mounts = Arc::clone(&self.mounts);
        let worker = self.workers.run(Box::new(move || {
            let result = statvfs_raw(&owned);
            // The mount answered: it is not stuck (any more); forget it once nobody waits on it.
            finish(&mounts, &owned);
            let _ = tx.send(result);
        }));
        let worker = match worker {
            Ok(w) => w,
            Err(e) => {
                finish(&self.mounts, path);
                return Err(StatfsError::Io {
                    path: path.to_path_buf(),
                    source: e,
                });
            }
        };
        let answer = rx.recv_timeout(timeout);
        if answer.is_ok() {
            self.workers.keep(worker);
        }
        match answer {
            Ok(Ok(stats)) => Ok(stats),
            Ok(Err(source)) => Err(StatfsError::Io {
                path: path.to_path_buf(),
                source,
            }),
            Err(_) => {
                if let Some(c) = self.mounts.lock_or_recover().get_mut(path) {
                    c.stuck = true;
                }
                Err(StatfsError::Timeout {
                    path: path.to_path_buf(),
                    timeout,
                })
            }
        }
    }
}

fn finish(mounts: &Mutex<HashMap<PathBuf, Calls>>, path: &Path) {
    let mut m = mounts.lock_or_recover();
    if let Some(c) = m.get_mut(path) {
        c.in_flight = c.in_flight.saturating_sub(1);
        c.stuck = false;
        if c.in_flight == 0 {
            m.remove(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs(size: u64, free: u64, avail: u64, files: u64, files_free: u64) -> FsStats {
        FsStats {
            size_bytes: size,
            free_bytes: free,
            avail_bytes: avail,
            files,
            files_free,
            readonly: false,
        }
    }

    #[test]
    fn df_use_percent_leaves_the_root_reserve_out_and_rounds_up() {
        // 700 used, 200 available, 100 reserved for root: df shows 78% (77.8 rounded up).
        let d = fs(1000, 300, 200, 0, 0).df_space();
        assert_eq!((d.size, d.used, d.avail, d.percent), (1000, 700, 200, 78.0));
        // Whole percents stay as they are; a single used block out of many is already 1%.
        assert_eq!(fs(1000, 150, 150, 0, 0).df_space().percent, 85.0);
        assert_eq!(
            fs(1_000_000, 999_999, 999_999, 0, 0).df_space().percent,
            1.0
        );
        // Root's reserve exhausted (avail 0) is 100%, an empty or virtual filesystem 0%.
        assert_eq!(fs(1000, 50, 0, 0, 0).df_space().percent, 100.0);
        assert_eq!(FsStats::default().df_space().percent, 0.0);
        // Exabyte-sized filesystems do not overflow the arithmetic.
        assert_eq!(
            fs(u64::MAX, u64::MAX / 2, u64::MAX / 2, 0, 0)
                .df_space()
                .percent,
            51.0
        );
    }

    #[test]
    fn df_inode_percent_is_used_over_total_rounded_up() {
        let d = fs(0, 0, 0, 10, 1).df_inodes();
        assert_eq!((d.size, d.used, d.avail, d.percent), (10, 9, 1, 90.0));
        assert_eq!(fs(0, 0, 0, 3, 2).df_inodes().percent, 34.0);
        assert_eq!(fs(0, 0, 0, 0, 0).df_inodes().percent, 0.0);
    }

    #[test]
    fn root_filesystem_has_a_size() {
        let s = Statfs::new()
            .stat(Path::new("/"), Duration::from_secs(5))
            .unwrap();
        assert!(s.size_bytes > 0 && s.files > 0, "{s:?}");
        assert!(s.avail_bytes <= s.free_bytes && s.free_bytes <= s.size_bytes);
    }

    #[test]
    fn a_missing_path_is_an_io_error_naming_it() {
        let err = Statfs::new()
            .stat(Path::new("/no/such/mount"), Duration::from_secs(5))
            .unwrap_err();
        assert!(
            matches!(err, StatfsError::Io { .. }) && err.to_string().contains("/no/such/mount"),
            "{err}"
        );
    }

    #[test]
    fn a_marked_mount_is_skipped_without_a_new_call() {
        let s = Statfs::new();
        s.mounts.lock().unwrap().insert(
            PathBuf::from("/"),
            Calls {
                in_flight: 1,
                stuck: true,
            },
        );
        assert!(matches!(
            s.stat(Path::new("/"), Duration::from_secs(1)),
            Err(StatfsError::Stuck { .. })
        ));
        assert_eq!(s.stuck(), vec![PathBuf::from("/")]);
        s.mounts.lock().unwrap().clear();
        assert!(s.stat(Path::new("/"), Duration::from_secs(5)).is_ok());
        assert!(s.stuck().is_empty());
    }

    #[test]
    fn sequential_calls_reuse_one_worker() {
        let s = Statfs::new();
        for _ in 0..10 {
            s.stat(Path::new("/"), Duration::from_secs(5)).unwrap();
        }
        assert!(
            s.stat(Path::new("/no/such"), Duration::from_secs(5))
                .is_err()
        );
        assert_eq!(s.workers.started.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_call_past_its_timeout_lets_its_worker_go_and_the_next_call_gets_another() {
        let s = Statfs::new();
        // A task standing in for a hung statvfs, on the worker the next call would reuse.
        let (release, hold) = mpsc::channel::<()>();
        let (tx, rx) = mpsc::sync_channel(1);
        let worker = s
            .workers
            .run(Box::new(move || {
                let _ = hold.recv();
                let _ = tx.send(());
            }))
            .unwrap();
        assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
        drop(worker);
        assert!(s.stat(Path::new("/"), Duration::from_secs(5)).is_ok());
        assert_eq!(s.workers.started.load(Ordering::Relaxed), 2);
        release.send(()).unwrap();
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
    }

    #[test]
    fn concurrent_callers_on_a_healthy_mount_all_succeed() {
        let s = Statfs::new();
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    (0..20).all(|_| s.stat(Path::new("/"), Duration::from_secs(5)).is_ok())
                })
            })
            .collect();
        assert!(handles.into_iter().all(|h| h.join().unwrap()));
        assert!(
            s.mounts.lock().unwrap().is_empty(),
            "entries are forgotten once no call is in flight"
        );
    }
}
