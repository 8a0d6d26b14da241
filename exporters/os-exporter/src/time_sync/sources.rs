//! Which servers to ask: `[ntp] servers`, or the sources of the host's NTP daemon configuration
//! (under `--path.rootfs`), following chrony's `sourcedir`, `confdir` and `include` one level.

use std::collections::BTreeSet;
use std::path::Path;

use common::SysPaths;

use crate::config::{NtpConfig, NtpServer};
use crate::parsers::ntp_conf::{self, NtpConf};

/// Most files read while following directives (a directory of thousands is not a config).
const MAX_FILES: usize = 64;
/// Largest configuration file read.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// The configured servers, or those the daemon's configuration names, without duplicates, in
/// order of appearance.
pub(crate) fn servers(paths: &SysPaths, cfg: &NtpConfig) -> Vec<NtpServer> {
    if !cfg.servers.is_empty() {
        return dedup(cfg.servers.clone());
    }
    let mut found = Vec::new();
    let mut read = 0usize;
    for file in &cfg.conf_files {
        let Some(conf) = read_conf(paths, file, &mut read) else {
            continue;
        };
        add(&mut found, &conf);
        // Files named by the main one; their own directives are not followed further.
        let mut more: Vec<String> = Vec::new();
        for dir in &conf.source_dirs {
            more.extend(common::glob::find(
                &paths.rootfs,
                &format!("{dir}/*.sources"),
                MAX_FILES,
            ));
        }
        for dir in &conf.conf_dirs {
            more.extend(common::glob::find(
                &paths.rootfs,
                &format!("{dir}/*.conf"),
                MAX_FILES,
            ));
        }
        for pattern in &conf.includes {
            more.extend(common::glob::find(&paths.rootfs, pattern, MAX_FILES));
        }
        for f in more {
            if let Some(c) = read_conf(paths, Path::new(&f), &mut read) {
                add(&mut found, &c);
            }
        }
    }
    dedup(found)
}

fn add(found: &mut Vec<NtpServer>, conf: &NtpConf) {
    found.extend(conf.sources.iter().map(|s| NtpServer {
        host: s.host.clone(),
        port: s.port.unwrap_or(123),
    }));
}

fn dedup(servers: Vec<NtpServer>) -> Vec<NtpServer> {
    let mut seen = BTreeSet::new();
    servers
        .into_iter()
        .filter(|s| seen.insert((s.host.clone(), s.port)))
        .collect()
}

/// One file under the root; missing, unreadable, oversized or too many files: `None`, logged at
/// debug (most of the default list is absent on any one host).
fn read_conf(paths: &SysPaths, file: &Path, read: &mut usize) -> Option<NtpConf> {
    if *read >= MAX_FILES {
        return None;
    }
    *read += 1;
    let rel = file.to_string_lossy();
    let path = paths.root(rel.trim_start_matches('/'));
    let bytes = match std::fs::metadata(&path) {
        Ok(m) if m.is_file() && m.len() <= MAX_FILE_BYTES => std::fs::read(&path),
        Ok(_) => {
            log::debug!(
                "ntp: {} is not a file of at most 1 MiB, skipped",
                path.display()
            );
            return None;
        }
        Err(e) => Err(e),
    };
    match bytes {
        Ok(b) => Some(ntp_conf::parse(&String::from_utf8_lossy(&b))),
        Err(e) => {
            log::debug!("ntp: {}: {e}", path.display());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemon_config_and_its_source_dirs_give_the_servers_once() {
        let dir = suite_tests::TempDir::new("ntp-sources");
        let root = dir.path();
        std::fs::create_dir_all(root.join("etc/chrony/sources.d")).unwrap();
        std::fs::write(
            root.join("etc/chrony/chrony.conf"),
            "pool pool.example.org iburst\nserver 10.0.0.1\nsourcedir /etc/chrony/sources.d\n",
        )
        .unwrap();
        std::fs::write(
            root.join("etc/chrony/sources.d/site.sources"),
            "server 10.0.0.2 port 11123\nserver 10.0.0.1\n",
        )
        .unwrap();
        let paths = SysPaths::fixture(root);
        let got: Vec<String> = servers(&paths, &NtpConfig::default())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            got,
            ["pool.example.org:123", "10.0.0.1:123", "10.0.0.2:11123"]
        );
        // Configured servers win; nothing is read then.
        let cfg = NtpConfig {
            servers: vec!["[::1]:11123".parse().unwrap()],
            ..NtpConfig::default()
        };
        assert_eq!(servers(&paths, &cfg)[0].to_string(), "[::1]:11123");
    }

    #[test]
    fn no_daemon_config_gives_no_servers() {
        let dir = suite_tests::TempDir::new("ntp-none");
        assert!(servers(&SysPaths::fixture(dir.path()), &NtpConfig::default()).is_empty());
    }
}
