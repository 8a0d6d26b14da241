//! Document 002's checks of the local installation when etcd will not start: data directory
//! (exists, mode 0700, filesystem not full), binary (exists, executable), manual-stop markers.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::statfs::{FsStats, Statfs};
use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::EtcdProbe;
use crate::config::LocalConfig;
use crate::process;

/// The mode document 002 requires for the data directory.
pub const DATA_DIR_MODE: u32 = 0o700;

/// `etcd_data_dir_exists{path}`.
const DATA_DIR_EXISTS: Desc = Desc::gauge(
    "etcd_data_dir_exists",
    "1",
    "Whether the etcd data directory exists (1) or not (0).",
);
/// `etcd_data_dir_mode{path}`, only when the directory exists.
const DATA_DIR_MODE_BITS: Desc = Desc::gauge(
    "etcd_data_dir_mode",
    "1",
    "Permission bits of the etcd data directory (0700 is 448).",
);
/// `etcd_data_dir_permissions_ok{path}`, only when the directory exists.
const DATA_DIR_PERMISSIONS_OK: Desc = Desc::gauge(
    "etcd_data_dir_permissions_ok",
    "1",
    "Whether the etcd data directory has mode 0700 as etcd requires (1) or not (0).",
);
/// `etcd_data_dir_filesystem_size_bytes{path}`, only when statfs answered.
const FS_SIZE: Desc = Desc::gauge(
    "etcd_data_dir_filesystem_size_bytes",
    "bytes",
    "Size of the filesystem holding the etcd data directory, in bytes.",
);
/// `etcd_data_dir_filesystem_avail_bytes{path}`, only when statfs answered.
const FS_AVAIL: Desc = Desc::gauge(
    "etcd_data_dir_filesystem_avail_bytes",
    "bytes",
    "Space available to etcd on the filesystem holding its data directory, in bytes.",
);
/// `etcd_data_dir_filesystem_used_ratio{path}`, only when statfs answered.
const FS_USED_RATIO: Desc = Desc::gauge(
    "etcd_data_dir_filesystem_used_ratio",
    "ratio",
    "Used fraction (0-1) of the filesystem holding the etcd data directory, as df computes it.",
);
/// `etcd_binary_exists{path}`.
const BINARY_EXISTS: Desc = Desc::gauge(
    "etcd_binary_exists",
    "1",
    "Whether the etcd binary exists (1) or not (0).",
);
/// `etcd_binary_executable{path}`.
const BINARY_EXECUTABLE: Desc = Desc::gauge(
    "etcd_binary_executable",
    "1",
    "Whether the etcd binary exists and has an execute bit (1) or not (0).",
);
/// `etcd_manual_stop_marker_present{file}`, only with `marker_dir` set.
const MANUAL_STOP_MARKER: Desc = Desc::gauge(
    "etcd_manual_stop_marker_present",
    "1",
    "Whether a manual-stop marker file exists (1: an operator stopped the cluster or etcd on purpose).",
);
/// `etcd_process_status`.
const PROCESS_STATUS: Desc = Desc::gauge(
    "etcd_process_status",
    "1",
    "Whether the local etcd process is running (1) or not (0).",
);
/// `etcd_process_start_time_seconds`, only while the process runs.
const PROCESS_START_TIME: Desc = Desc::gauge(
    "etcd_process_start_time_seconds",
    "seconds",
    "Start time of the local etcd process since the Unix epoch, in seconds (a change means a restart).",
);

/// Used fraction as `df` computes it: its Use% (used / (used + available), rounded up) over 100.
fn used_ratio(fs: &FsStats) -> f64 {
    fs.df_space().percent / 100.0
}

/// The blocking collector of the local checks and the local process status.
#[derive(Debug)]
pub struct LocalChecks {
    cfg: LocalConfig,
    paths: SysPaths,
    statfs: Statfs,
}

impl LocalChecks {
    /// A collector for `cfg`, reading files under `paths`.
    pub fn new(cfg: LocalConfig, paths: SysPaths) -> Self {
        Self {
            cfg,
            paths,
            statfs: Statfs::new(),
        }
    }

    fn rooted(&self, p: &Path) -> PathBuf {
        self.paths.root(&p.to_string_lossy())
    }
}

impl Collector for LocalChecks {
    fn collect(&self, ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut m = MetricSet::new();
        let dir_label = self.cfg.data_dir.to_string_lossy().into_owned();
        let dir = self.rooted(&self.cfg.data_dir);
        let l = [("path", dir_label.as_str())];
        match std::fs::metadata(&dir) {
            Ok(meta) if meta.is_dir() => {
                let mode = meta.permissions().mode() & 0o7777;
                m.add(&DATA_DIR_EXISTS, &l, 1.0);
                m.add(&DATA_DIR_MODE_BITS, &l, f64::from(mode));
                m.add(
                    &DATA_DIR_PERMISSIONS_OK,
                    &l,
                    if mode == DATA_DIR_MODE { 1.0 } else { 0.0 },
                );
                // A hung mount must not hold the scrape: statfs runs under what is left of the deadline.
                match self.statfs.stat(&dir, ctx.remaining()) {
                    #[allow(clippy::cast_precision_loss)]
                    Ok(fs) => {
                        m.add(&FS_SIZE, &l, fs.size_bytes as f64);
                        m.add(&FS_AVAIL, &l, fs.avail_bytes as f64);
                        m.add(&FS_USED_RATIO, &l, used_ratio(&fs));
                    }
                    Err(e) => log::debug!("{e}"),
                }
            }
            Ok(_) | Err(_) => {
                m.add(&DATA_DIR_EXISTS, &l, 0.0);
            }
        }

        let bin_label = self.cfg.binary.to_string_lossy().into_owned();
        let bin = self.rooted(&self.cfg.binary);
        let (exists, exec) = match std::fs::metadata(&bin) {
            Ok(meta) if meta.is_file() => (true, meta.permissions().mode() & 0o111 != 0),
            _ => (false, false),
        };
        let b = [("path", bin_label.as_str())];
        m.add(&BINARY_EXISTS, &b, f64::from(u8::from(exists)));
        m.add(&BINARY_EXECUTABLE, &b, f64::from(u8::from(exec)));

        if let Some(marker_dir) = &self.cfg.marker_dir {
            let dir = self.rooted(marker_dir);
            for file in &self.cfg.marker_files {
                // `exists()` would read a directory the probe may not search as "no marker".
                let path = dir.join(file);
                let present = path
                    .try_exists()
                    .map_err(|source| CollectError::Io { path, source })?;
                m.add(
                    &MANUAL_STOP_MARKER,
                    &[("file", file.as_str())],
                    f64::from(u8::from(present)),
                );
            }
        }

        let procs = process::find(
            &self.paths,
            &self.cfg.process_name,
            self.cfg.process_cmdline_contains.as_deref(),
        )?;
        m.add(
            &PROCESS_STATUS,
            &[],
            if procs.is_empty() { 0.0 } else { 1.0 },
        );
        if let Some(start) = procs
            .iter()
            .filter_map(|p| p.start_time_seconds)
            .reduce(f64::min)
        {
            m.add(&PROCESS_START_TIME, &[], start);
        }
        Ok(m)
    }
}

/// Registry entry: `etcd_scrape_collector_success{collector="local"}`.
pub(crate) const DEF: CollectorDef<EtcdProbe> = CollectorDef {
    name: "local",
    enabled_by_default: true,
    file: file!(),
    metrics: &[
        DATA_DIR_EXISTS,
        DATA_DIR_MODE_BITS,
        DATA_DIR_PERMISSIONS_OK,
        FS_SIZE,
        FS_AVAIL,
        FS_USED_RATIO,
        BINARY_EXISTS,
        BINARY_EXECUTABLE,
        MANUAL_STOP_MARKER,
        PROCESS_STATUS,
        PROCESS_START_TIME,
    ],
    build: Build::Blocking(|e| {
        Ok(e.cfg.local.enabled.then(|| -> Box<dyn common::Collector> {
            Box::new(LocalChecks::new(e.cfg.local.clone(), e.paths.clone()))
        }))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tmp(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("etcd-probe-local-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn wrong_mode_missing_binary_and_marker_are_reported() {
        let root = tmp("a");
        std::fs::create_dir_all(root.join("var/lib/etcd")).unwrap();
        std::fs::set_permissions(
            root.join("var/lib/etcd"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::fs::create_dir_all(root.join("gauss/bin")).unwrap();
        std::fs::write(root.join("gauss/bin/etcd_manual_start"), b"").unwrap();
        std::fs::create_dir_all(root.join("proc")).unwrap();
        let cfg = LocalConfig {
            marker_dir: Some("/gauss/bin".into()),
            ..LocalConfig::default()
        };
        let c = LocalChecks::new(cfg, SysPaths::fixture(&root));
        let m = c
            .collect(&ScrapeContext::with_timeout(
                std::time::Duration::from_secs(1),
            ))
            .unwrap();
        assert_eq!(m.value("etcd_data_dir_exists", &[]), Some(1.0));
        assert_eq!(
            m.value("etcd_data_dir_mode", &[]),
            Some(f64::from(0o755_u32))
        );
        assert_eq!(m.value("etcd_data_dir_permissions_ok", &[]), Some(0.0));
        assert!(
            m.value("etcd_data_dir_filesystem_used_ratio", &[])
                .is_some()
        );
        assert_eq!(m.value("etcd_binary_exists", &[]), Some(0.0));
        assert_eq!(
            m.value(
                "etcd_manual_stop_marker_present",
                &[("file", "etcd_manual_start")]
            ),
            Some(1.0)
        );
        assert_eq!(
            m.value(
                "etcd_manual_stop_marker_present",
                &[("file", "cluster_manual_start")]
            ),
            Some(0.0)
        );
        assert_eq!(m.value("etcd_process_status", &[]), Some(0.0));

        std::fs::set_permissions(
            root.join("var/lib/etcd"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        std::fs::create_dir_all(root.join("usr/bin")).unwrap();
        std::fs::write(root.join("usr/bin/etcd"), b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            root.join("usr/bin/etcd"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let m = c
            .collect(&ScrapeContext::with_timeout(
                std::time::Duration::from_secs(1),
            ))
            .unwrap();
        assert_eq!(m.value("etcd_data_dir_permissions_ok", &[]), Some(1.0));
        assert_eq!(m.value("etcd_binary_exists", &[]), Some(1.0));
        assert_eq!(m.value("etcd_binary_executable", &[]), Some(0.0));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn an_unreadable_marker_dir_fails_the_collector_instead_of_reporting_no_marker() {
        // A marker directory the probe cannot search (EACCES for its user; here, as root in
        // CI, a file where the directory should be: ENOTDIR) must not read as "no marker".
        let root = tmp("c");
        std::fs::create_dir_all(root.join("proc")).unwrap();
        std::fs::write(root.join("gauss-bin"), b"").unwrap();
        let cfg = LocalConfig {
            marker_dir: Some(PathBuf::from("/gauss-bin")),
            ..LocalConfig::default()
        };
        let c = LocalChecks::new(cfg, SysPaths::fixture(&root));
        let r = c.collect(&ScrapeContext::with_timeout(
            std::time::Duration::from_secs(1),
        ));
        let _ = std::fs::remove_dir_all(&root);
        let Err(e) = r else {
            panic!("an unsearchable marker directory must be an error, not \"no marker\"");
        };
        assert!(
            e.to_string().contains("gauss-bin/cluster_manual_start"),
            "the error names the marker: {e}"
        );
    }

    #[test]
    fn missing_data_dir_is_zero_not_an_error() {
        let root = tmp("b");
        std::fs::create_dir_all(root.join("proc")).unwrap();
        let c = LocalChecks::new(LocalConfig::default(), SysPaths::fixture(&root));
        let m = c
            .collect(&ScrapeContext::with_timeout(
                std::time::Duration::from_secs(1),
            ))
            .unwrap();
        assert_eq!(m.value("etcd_data_dir_exists", &[]), Some(0.0));
        assert!(!m.has("etcd_data_dir_permissions_ok"));
        let _ = std::fs::remove_dir_all(&root);
    }
}
