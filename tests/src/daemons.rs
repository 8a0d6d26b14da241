//! Real system daemons from Debian's packages (`cron`, `rsyslog`, `openssh-server`), started by a
//! test in the foreground, with every file they write in the test's directory. Where a daemon
//! insists on system paths (cron reads `/etc/cron.d` and writes `/run/crond.pid`; sshd wants
//! `/run/sshd`), it runs in a private mount namespace whose paths are the test's: the host's
//! crontabs never run, nothing lands in the host's `/run`. `unshare` and `sh` exec into the
//! daemon, so the spawned pid is the daemon's own.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::Process;

fn mkdir(p: &Path) {
    std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
}

fn write(p: &Path, text: &str) {
    std::fs::write(p, text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
}

fn spawn(name: &str, dir: &Path, argv: &[&str]) -> Process {
    let log = dir.join(format!("{name}.log"));
    let out = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    let err = out.try_clone().unwrap_or_else(|e| panic!("{e}"));
    Process::spawn(
        name,
        Command::new(argv[0])
            .args(&argv[1..])
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err)),
    )
    .unwrap_or_else(|e| panic!("starting {name}: {e}"))
    .with_log(log)
}

/// `sh -c script` in a mount namespace of its own (its mounts never reach the host's); unshare
/// execs sh, which execs the daemon: one pid throughout.
fn in_private_mounts(script: &str) -> [&str; 7] {
    [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
    ]
}

/// Waits (at most 15 s) until `path` exists, checking that `p` still runs.
fn wait_file(p: &mut Process, path: &Path) {
    let ok = crate::poll_until(Duration::from_secs(15), || {
        p.assert_running();
        path.exists()
    });
    assert!(ok, "{} did not appear within 15 s", path.display());
}

/// Debian's `cron -f -L 15` (log start, end, failed jobs, pids) in a mount namespace where
/// `/etc/crontab` is empty, `/etc/cron.d` holds `cron_d` (name, content) and the spool is
/// empty, and `/run` is `<dir>/run` (its pid file: [`cron_pid_file`]). Logs go to syslog: the
/// `/dev/log` of the namespace's `/dev` is the host's, so pass `syslog_socket` to point it at a
/// test's rsyslogd instead (the namespace then has a private `/dev` with `null`, `zero`,
/// `random`, `urandom` and that socket as `log`).
pub fn start_cron(dir: &Path, cron_d: &[(&str, &str)], syslog_socket: Option<&Path>) -> Process {
    let root = dir.join("cron-ns");
    for d in ["run", "cron.d", "spool", "dev"] {
        mkdir(&root.join(d));
    }
    write(
        &root.join("crontab"),
        "# empty: the host's jobs never run here\n",
    );
    // Written with the test's umask (022): cron refuses group- or other-writable crontabs
    // (INSECURE MODE).
    for (name, text) in cron_d {
        write(&root.join("cron.d").join(name), text);
    }
    let r = root.display().to_string();
    let mut script = format!(
        "set -e; mount -t tmpfs -o mode=755 tmpfs /var/spool/cron; mkdir -m 1730 /var/spool/cron/crontabs; \
         mount --bind {r}/cron.d /etc/cron.d; mount --bind {r}/crontab /etc/crontab; \
         mount --bind {r}/run /run; "
    );
    if let Some(sock) = syslog_socket {
        script.push_str(&format!(
            // The host has no /dev/log to bind over, and files made in /dev would be the host's:
            // a private /dev of the devices cron uses, plus the socket.
            "mount --bind /dev {r}/dev; mount -t tmpfs -o mode=755 tmpfs /dev; \
             for n in null zero random urandom; do touch /dev/$n; mount --bind {r}/dev/$n /dev/$n; done; \
             touch /dev/log; mount --bind {} /dev/log; ",
            sock.display()
        ));
    }
    script.push_str("exec cron -f -L 15");
    spawn("cron", dir, &in_private_mounts(&script))
}

/// Where [`start_cron`]'s cron writes its pid file, as the host sees it.
pub fn cron_pid_file(dir: &Path) -> PathBuf {
    dir.join("cron-ns/run/crond.pid")
}

/// A private `rsyslogd -n`: its socket `<dir>/log.sock` (not `/dev/log`), no kernel input, the
/// `rules` (rsyslog config lines, e.g. `*.* <file>`) and its pid file `<dir>/rsyslogd.pid`.
/// Returns the process and the socket once it accepts messages.
pub fn start_rsyslogd(dir: &Path, rules: &str) -> (Process, PathBuf) {
    let sock = dir.join("log.sock");
    let conf = dir.join("rsyslog.conf");
    write(
        &conf,
        &format!(
            "global(workDirectory=\"{d}\")\nmodule(load=\"imuxsock\" SysSock.Use=\"off\")\n\
             input(type=\"imuxsock\" Socket=\"{s}\" CreatePath=\"on\")\n{rules}\n",
            d = dir.display(),
            s = sock.display()
        ),
    );
    let pid = dir.join("rsyslogd.pid");
    let mut p = spawn(
        "rsyslogd",
        dir,
        &[
            "rsyslogd",
            "-n",
            "-f",
            conf.to_str().unwrap_or_default(),
            "-i",
            pid.to_str().unwrap_or_default(),
        ],
    );
    wait_file(&mut p, &sock);
    (p, sock)
}

/// `/usr/sbin/sshd -D` listening on 127.0.0.1:`port`, with a fresh host key and its pid file
/// `<dir>/sshd.pid`, in a mount namespace whose `/run` is empty (for `/run/sshd`). Nothing
/// ever connects to it.
pub fn start_sshd(dir: &Path, port: u16) -> Process {
    let key = dir.join("ssh_host_ed25519_key");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .output()
        .unwrap_or_else(|e| panic!("ssh-keygen: {e}"));
    assert!(out.status.success(), "ssh-keygen: {out:?}");
    let conf = dir.join("sshd_config");
    write(
        &conf,
        &format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\nUsePAM no\n",
            key.display(),
            dir.join("sshd.pid").display()
        ),
    );
    let script = format!(
        "set -e; mount -t tmpfs -o mode=755 tmpfs /run; mkdir -m 755 /run/sshd; exec /usr/sbin/sshd -D -e -f {}",
        conf.display()
    );
    let mut p = spawn("sshd", dir, &in_private_mounts(&script));
    wait_file(&mut p, &dir.join("sshd.pid"));
    p
}
