//! Finding the local etcd process in procfs (document 002: `ps ux | grep etcd`), and the IPs and
//! ports its command line says it uses (002: "在Ruby用户下查看etcd的IP和端口： ps ux | grep etcd").

use std::net::IpAddr;

use common::{CollectError, SysPaths, proc_table};

/// The command-line flags naming the URLs etcd listens on or advertises.
const URL_FLAGS: [&str; 4] = [
    "--listen-client-urls",
    "--listen-peer-urls",
    "--advertise-client-urls",
    "--initial-advertise-peer-urls",
];

/// A matching process.
#[derive(Debug, Clone, PartialEq)]
pub struct Proc {
    /// Start time since the epoch, in seconds, when `/proc/stat` and `/proc/<pid>/stat` parsed.
    pub start_time_seconds: Option<f64>,
    /// Its arguments (`/proc/<pid>/cmdline`), empty when unreadable.
    pub args: Vec<String>,
}

/// The URLs of etcd's `--listen-*-urls` and `--*advertise-*-urls` flags in `args` (both
/// `--flag value` and `--flag=value`), in order, without duplicates.
pub fn urls(args: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let value = match a.split_once('=') {
            Some((flag, v)) if URL_FLAGS.contains(&flag) => Some(v),
            None if URL_FLAGS.contains(&a.as_str()) => it.next().map(String::as_str),
            _ => None,
        };
        for u in value.into_iter().flat_map(|v| v.split(',')) {
            let u = u.trim();
            if !u.is_empty() && !out.iter().any(|o| o == u) {
                out.push(u.to_owned());
            }
        }
    }
    out
}

/// The IP address of a URL's host (`http://10.0.0.1:2379`, `https://[fd00::1]:2380`); `None`
/// for a host name.
pub fn url_ip(url: &str) -> Option<IpAddr> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split_once(']')?.0.parse().ok();
    }
    let host = host_port.rsplit_once(':').map_or(host_port, |(h, _)| h);
    host.parse().ok()
}

/// Processes whose `comm` is `name` and, if given, whose command line contains `cmdline_contains`.
pub fn find(
    paths: &SysPaths,
    name: &str,
    cmdline_contains: Option<&str>,
) -> Result<Vec<Proc>, CollectError> {
    let btime = paths
        .read_proc("stat")
        .ok()
        .and_then(|b| proc_table::boot_time(&b));
    let mut out = Vec::new();
    // A process that exits mid-walk reads as empty: it does not match.
    proc_table::for_each_process(paths, |p| {
        if p.comm().map(str::trim_end) != Some(name) {
            return;
        }
        let args: Vec<String> = p
            .cmdline()
            .map(|c| {
                c.split(|b| *b == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(needle) = cmdline_contains {
            // The joined form keeps matching `--name m1 ` as the old space-joined string did.
            let mut joined = args.join(" ");
            joined.push(' ');
            if args.is_empty() || !joined.contains(needle) {
                return;
            }
        }
        let start = btime.and_then(|bt| proc_table::start_time_seconds(&p.stat()?, bt));
        out.push(Proc {
            start_time_seconds: start,
            args,
        });
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_comm_and_cmdline() {
        let root = std::env::temp_dir().join(format!("etcd-probe-proc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (pid, comm, cmd) in [
            ("10", "etcd", "etcd\0--name\0m1"),
            ("11", "etcd", "etcd\0--name\0m2"),
            ("12", "bash", "bash"),
        ] {
            let d = root.join("proc").join(pid);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("comm"), format!("{comm}\n")).unwrap();
            std::fs::write(d.join("cmdline"), cmd).unwrap();
        }
        std::fs::create_dir_all(root.join("proc/self")).unwrap();
        let paths = SysPaths::fixture(&root);
        assert_eq!(find(&paths, "etcd", None).unwrap().len(), 2);
        assert_eq!(find(&paths, "etcd", Some("--name m2")).unwrap().len(), 1);
        assert_eq!(find(&paths, "etcd", Some("--name m3")).unwrap().len(), 0);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn urls_and_their_ips_come_from_both_flag_forms() {
        let args: Vec<String> = [
            "etcd",
            "--name",
            "m1",
            "--listen-client-urls=http://10.0.0.1:2379,http://127.0.0.1:2379",
            "--listen-peer-urls",
            "https://[fd00::1]:2380",
            "--advertise-client-urls",
            "http://10.0.0.1:2379",
            "--initial-advertise-peer-urls",
            "https://etcd-1.example:2380",
            "--data-dir",
            "/var/lib/etcd",
            "--listen-client-urls",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let u = urls(&args);
        assert_eq!(
            u,
            [
                "http://10.0.0.1:2379",
                "http://127.0.0.1:2379",
                "https://[fd00::1]:2380",
                "https://etcd-1.example:2380"
            ]
        );
        let ips: Vec<Option<IpAddr>> = u.iter().map(|x| url_ip(x)).collect();
        assert_eq!(
            ips,
            [
                Some("10.0.0.1".parse().unwrap()),
                Some("127.0.0.1".parse().unwrap()),
                Some("fd00::1".parse().unwrap()),
                None
            ]
        );
        assert_eq!(url_ip("http://u:p@10.0.0.9:1/x"), "10.0.0.9".parse().ok());
        assert_eq!(url_ip("10.0.0.9"), "10.0.0.9".parse().ok());
        for bad in ["", "://", "http://[::1", "http://[zz]:1", "\0\0"] {
            assert_eq!(url_ip(bad), None, "{bad}");
        }
    }
}
