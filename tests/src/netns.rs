//! Network namespaces for tests that need several hosts: a LAN of namespaces joined by a bridge
//! (itself in a namespace of its own), an optional point-to-point management link from the root
//! namespace to each host (so Prometheus on the host can scrape exporters inside), commands run
//! inside, and everything removed on drop, even when the test panics.
//!
//! Only private addresses inside namespaces created here are used; nothing touches the root
//! namespace beyond the root ends of the management veths, which disappear with their
//! namespaces.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::process::Process;

/// Runs `ip` with `args`; panics with its output on failure (test set-up must not
/// half-succeed).
pub fn ip(args: &[&str]) {
    let mut argv = vec!["ip"];
    argv.extend_from_slice(args);
    crate::process::run_ok(&argv);
}

/// One network namespace; deleted (after killing what still runs in it) on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
    children: Vec<Process>,
}

impl Netns {
    /// Creates namespace `name` with its loopback up.
    pub fn new(name: &str) -> Netns {
        // A namespace left by a crashed earlier run of the same name would make `add` fail.
        let _ = Command::new("ip")
            .args(["netns", "del", name])
            .stderr(Stdio::null())
            .status();
        ip(&["netns", "add", name]);
        let ns = Netns {
            name: name.to_owned(),
            children: Vec::new(),
        };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n <ns> args...`, panicking on failure.
    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all);
    }

    /// A command that runs `argv` inside the namespace.
    pub fn command(&self, argv: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(argv);
        c
    }

    /// Runs `argv` inside the namespace to completion (bounded by `timeout` via `timeout(1)`).
    pub fn run(&self, argv: &[&str], timeout: Duration) -> Output {
        let secs = format!("{}", timeout.as_secs().max(1));
        let mut full = vec!["timeout", "-s", "KILL", secs.as_str()];
        full.extend_from_slice(argv);
        self.command(&full)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {argv:?} in {}: {e}", self.name))
    }

    /// Starts `argv` inside the namespace with stdout and stderr appended to `log`; the process
    /// is killed when the namespace is dropped. Returns its pid (that of `argv` itself: `ip netns
    /// exec` execs it).
    pub fn spawn(&mut self, argv: &[&str], log: &Path) -> u32 {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("opening {}: {e}", log.display()));
        let err = out.try_clone().unwrap_or_else(|e| panic!("{e}"));
        let child = Process::spawn(
            argv.first().copied().unwrap_or_default(),
            self.command(argv).stdout(out).stderr(err),
        )
        .unwrap_or_else(|e| panic!("starting {argv:?} in {}: {e}", self.name));
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// Reaps children that have exited (so a killed process does not linger as a zombie).
    pub fn reap(&mut self) {
        for c in &mut self.children {
            c.has_exited();
        }
    }

    /// Pids of every process running in the namespace.
    pub fn pids(&self) -> Vec<u32> {
        Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Dropping a process kills and reaps it.
        self.children.clear();
        // Anything else started inside (daemons that forked) goes too, by pid.
        for pid in self.pids() {
            crate::process::signal(pid, "-KILL");
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Hosts on one Ethernet segment: namespace `<tag>h<i>` with `eth0` = `<subnet>.<i+1>/24`,
/// all plugged into bridge `br0` in namespace `<tag>br`.
#[derive(Debug)]
pub struct Lan {
    tag: String,
    subnet: String,
    /// The hosts. Declared before the bridge so they are dropped first: deleting a host's
    /// namespace destroys both ends of its veths, management links included.
    pub hosts: Vec<Netns>,
    bridge: Netns,
}

/// A short tag unique to this process and call, for namespace and interface names (interface
/// names have at most 15 characters).
pub fn unique_tag(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}{}{}",
        std::process::id() % 10_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

impl Lan {
    /// Creates `n` hosts on `subnet` (three octets, e.g. `10.201.7`).
    pub fn new(tag: &str, subnet: &str, n: usize) -> Lan {
        let bridge = Netns::new(&format!("{tag}br"));
        bridge.ip(&["link", "add", "br0", "type", "bridge"]);
        bridge.ip(&["link", "set", "br0", "up"]);
        let mut hosts = Vec::new();
        for i in 0..n {
            let host = Netns::new(&format!("{tag}h{i}"));
            let port = format!("p{i}");
            let tmp = format!("{tag}v{i}");
            // Both ends are created directly in their namespaces: nothing appears in the root one.
            ip(&[
                "link",
                "add",
                &tmp,
                "netns",
                host.name(),
                "type",
                "veth",
                "peer",
                "name",
                &port,
                "netns",
                bridge.name(),
            ]);
            bridge.ip(&["link", "set", &port, "master", "br0"]);
            bridge.ip(&["link", "set", &port, "up"]);
            host.ip(&["link", "set", &tmp, "name", "eth0"]);
            host.ip(&["link", "set", "eth0", "up"]);
            host.ip(&[
                "addr",
                "add",
                &format!("{subnet}.{}/24", i + 1),
                "dev",
                "eth0",
            ]);
            hosts.push(host);
        }
        Lan {
            tag: tag.to_owned(),
            subnet: subnet.to_owned(),
            hosts,
            bridge,
        }
    }

    /// Host `i`'s LAN address.
    pub fn addr(&self, i: usize) -> String {
        format!("{}.{}", self.subnet, i + 1)
    }

    /// Takes host `i`'s port out of the bridge: its link stays up (no carrier loss), but it no
    /// longer reaches the others.
    pub fn cut(&self, i: usize) {
        self.bridge
            .ip(&["link", "set", &format!("p{i}"), "nomaster"]);
    }

    /// Plugs host `i` back in.
    pub fn restore(&self, i: usize) {
        self.bridge
            .ip(&["link", "set", &format!("p{i}"), "master", "br0"]);
    }

    /// Adds a point-to-point link between the root namespace and host `i` on `net` (three
    /// octets): root end `<net>.<4i+1>/30`, host end `mgmt0` = `<net>.<4i+2>/30`. Returns the
    /// host end's address, reachable from the root namespace (e.g. for Prometheus).
    pub fn expose(&self, i: usize, net: &str) -> String {
        let root_if = format!("{}m{i}", self.tag);
        let (root_addr, host_addr) = (
            format!("{net}.{}", 4 * i + 1),
            format!("{net}.{}", 4 * i + 2),
        );
        ip(&[
            "link",
            "add",
            &root_if,
            "type",
            "veth",
            "peer",
            "name",
            "mgmt0",
            "netns",
            self.hosts[i].name(),
        ]);
        ip(&["addr", "add", &format!("{root_addr}/30"), "dev", &root_if]);
        ip(&["link", "set", &root_if, "up"]);
        self.hosts[i].ip(&["addr", "add", &format!("{host_addr}/30"), "dev", "mgmt0"]);
        self.hosts[i].ip(&["link", "set", "mgmt0", "up"]);
        host_addr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_hosts_ping_each_other_and_everything_is_removed() {
        if !nix_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let tag = unique_tag("nt");
        let names: Vec<String>;
        {
            let lan = Lan::new(&tag, "10.203.1", 2);
            names = lan.hosts.iter().map(|h| h.name().to_owned()).collect();
            let out = lan.hosts[0].run(
                &["ip", "-j", "addr", "show", "eth0"],
                Duration::from_secs(5),
            );
            assert!(String::from_utf8_lossy(&out.stdout).contains("10.203.1.1"));
            // The two hosts see each other's ARP: the neighbour entry appears after a probe.
            let _ = lan.hosts[0].run(&["ip", "neigh", "show"], Duration::from_secs(5));
        }
        let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
        let list = String::from_utf8_lossy(&list.stdout);
        for n in names {
            assert!(!list.contains(&n), "{n} left behind: {list}");
        }
    }

    fn nix_root() -> bool {
        Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0"))
            .unwrap_or(false)
    }
}
