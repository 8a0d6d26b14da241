//! A real keepalived (Debian's 2.2.7) per network namespace of a [`Lan`]: its configuration (a
//! unicast VRRP instance with one VIP and a track script that fails while `<dir>/fail` exists),
//! keepalived-exporter's configuration for it, and starting it.
//!
//! keepalived writes its JSON/stats dumps to fixed names in /tmp, so each node runs it in a
//! private mount namespace with its own /tmp (as systemd's PrivateTmp does); the exporter reads
//! them through `/proc/<pid>/root`. Work directories must therefore be outside /tmp.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::netns::Lan;
use crate::wait_until;

/// The main file; the instance lives in `conf.d/vi_1.conf` (see [`instance_conf`]), included by a
/// relative glob as packaged deployments do, so both keepalived and the exporter must follow it.
pub fn keepalived_conf(dir: &Path) -> String {
    format!(
        "global_defs {{\n  router_id {name}\n  script_user root\n  enable_script_security\n  vrrp_garp_master_refresh 60\n}}\n\
         vrrp_script chk {{\n  script \"/usr/bin/test ! -e {fail}\"\n  interval 1\n  fall 1\n  rise 1\n}}\n\
         include conf.d/*.conf\n",
        name = dir
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        fail = dir.join("fail").display()
    )
}

/// VRRP instance `VI_1` on eth0 with unicast peer `peer` and the VIP `vip` (a /24).
pub fn instance_conf(me: &str, peer: &str, priority: u32, vip: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority {priority}\n  advert_int 1\n\
           unicast_src_ip {me}\n  unicast_peer {{\n    {peer}\n  }}\n  virtual_ipaddress {{\n    {vip}/24 dev eth0\n  }}\n\
           track_script {{\n    chk\n  }}\n}}\n"
    )
}

/// keepalived-exporter's configuration for the node in `dir` (its log, conf and pid files).
pub fn exporter_conf(dir: &Path) -> String {
    format!(
        "log_file = \"{d}/keepalived.log\"\nlog_start = \"beginning\"\nlog_poll_interval = \"500ms\"\n\
         keepalived_conf = \"{d}/keepalived.conf\"\npid_file = \"{d}/ka.pid\"\ndump_timeout = \"2s\"\n\
         ping_timeout = \"300ms\"\narp_timeout = \"200ms\"\nstartup_grace = \"10s\"\n",
        d = dir.display()
    )
}

/// Writes node `i`'s keepalived and exporter configuration under `work/n<i>`; returns the
/// directory.
pub fn write_node(lan: &Lan, i: usize, work: &Path, priority: u32, vip: &str) -> PathBuf {
    let dir = work.join(format!("n{i}"));
    let write = |path: PathBuf, text: String| {
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    };
    for d in [dir.join("tmp"), dir.join("conf.d")] {
        std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    }
    write(dir.join("keepalived.conf"), keepalived_conf(&dir));
    write(
        dir.join("conf.d/vi_1.conf"),
        instance_conf(&lan.addr(i), &lan.addr(1 - i), priority, vip),
    );
    write(dir.join("exporter.toml"), exporter_conf(&dir));
    dir
}

/// Starts keepalived for the node in `dir` inside host `i` and waits for its pid file.
pub fn start(lan: &mut Lan, i: usize, dir: &Path) {
    let script = format!(
        "mount --bind {tmp} /tmp && exec keepalived -f {dir}/keepalived.conf -n -l -D -G -P -p {dir}/ka.pid -r {dir}/vrrp.pid",
        tmp = dir.join("tmp").display(),
        dir = dir.display()
    );
    lan.hosts[i].spawn(
        &[
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
        ],
        &dir.join("keepalived.log"),
    );
    let pid_file = dir.join("ka.pid");
    wait_until(
        "keepalived to write its pid file",
        Duration::from_secs(10),
        || {
            std::fs::read_to_string(&pid_file)
                .ok()
                .filter(|s| !s.trim().is_empty())
                .map(|_| ())
        },
    );
}

/// The pid in `dir/file` (`ka.pid`, `vrrp.pid`).
pub fn pid(dir: &Path, file: &str) -> u32 {
    let text = crate::read_text(&dir.join(file));
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("{}: {text:?}: {e}", dir.join(file).display()))
}

/// Whether host `i` has `vip` on its `eth0`.
pub fn vip_configured(lan: &Lan, i: usize, vip: &str) -> bool {
    let out = lan.hosts[i].run(
        &["ip", "-4", "-o", "addr", "show", "dev", "eth0"],
        Duration::from_secs(5),
    );
    String::from_utf8_lossy(&out.stdout).contains(vip)
}

/// Host `i`'s eth0 MAC address.
pub fn mac(lan: &Lan, i: usize) -> String {
    let out = lan.hosts[i].run(
        &["cat", "/sys/class/net/eth0/address"],
        Duration::from_secs(5),
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
