//! A real `chronyd` (Debian's `chrony`) serving NTP on a loopback port from a temporary
//! directory: `-x` so it never touches the system clock, no command socket, nothing written
//! outside its directory. Optionally run ahead of the real clock with libfaketime, or with only
//! a dead upstream so it answers "not synchronised" (LI 3, stratum 0).

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::Process;

/// How the server keeps time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// `local stratum 10`: its own clock, synchronised as far as clients know.
    Local,
    /// Like `Local`, but its clock runs this many seconds ahead (libfaketime).
    Ahead(f64),
    /// Only an upstream that never answers: it serves "not synchronised".
    Unsynchronised,
}

/// A running chronyd, stopped on drop.
#[derive(Debug)]
pub struct Chronyd {
    /// Where it answers NTP.
    pub addr: SocketAddr,
    _process: Process,
}

/// A loopback UDP port that was free a moment ago.
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free UDP port: {e}"))
}

/// libfaketime's preload library, wherever the multiarch directory is.
fn libfaketime() -> PathBuf {
    std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("faketime/libfaketime.so.1"))
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("libfaketime.so.1 not found under /usr/lib/*/faketime (package faketime)")
        })
}

impl Chronyd {
    /// Starts chronyd in `dir` (its config, pid, drift and log files) and waits until it answers.
    pub fn start(dir: &Path, mode: Mode) -> Chronyd {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let port = free_udp_port();
        let source = match mode {
            Mode::Local | Mode::Ahead(_) => "local stratum 10".to_owned(),
            Mode::Unsynchronised => format!(
                "server 127.0.0.1 port {} iburst minpoll -4 maxpoll -4",
                free_udp_port()
            ),
        };
        let conf = dir.join("chrony.conf");
        std::fs::write(
            &conf,
            format!(
                "{source}\nallow 127.0.0.1\nbindaddress 127.0.0.1\nport {port}\n\
                 cmdport 0\nbindcmdaddress /\npidfile {d}/chronyd.pid\ndriftfile {d}/drift\n",
                d = dir.display()
            ),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", conf.display()));
        let log = dir.join("chronyd.log");
        let mut cmd = Command::new("chronyd");
        cmd.args(["-x", "-n", "-u", "root", "-L", "0", "-f"])
            .arg(&conf)
            .arg("-l")
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(dir.join("chronyd.stderr"))
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
            );
        if let Mode::Ahead(secs) = mode {
            cmd.env("LD_PRELOAD", libfaketime())
                .env("FAKETIME", format!("{secs:+}s"))
                .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
        }
        let mut process = Process::spawn("chronyd", &mut cmd)
            .unwrap_or_else(|e| panic!("starting chronyd (package chrony): {e}"))
            .with_log(dir.join("chronyd.stderr"));
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        // Up when a client-mode packet gets any answer (the pid file comes before the socket).
        let up = crate::poll_until(Duration::from_secs(15), || {
            process.assert_running();
            answers(addr)
        });
        assert!(
            up,
            "chronyd on {addr} did not answer within 15 s (log {})",
            log.display()
        );
        Chronyd {
            addr,
            _process: process,
        }
    }
}

/// Whether something answers an NTP client packet on `addr` within 300 ms.
fn answers(addr: SocketAddr) -> bool {
    let Ok(s) = UdpSocket::bind("127.0.0.1:0") else {
        return false;
    };
    let mut req = [0u8; 48];
    req[0] = 0x23; // LI 0, version 4, mode 3 (client)
    req[40] = 1; // a non-zero transmit timestamp, which servers echo
    let _ = s.set_read_timeout(Some(Duration::from_millis(300)));
    let mut buf = [0u8; 128];
    s.send_to(&req, addr).is_ok() && s.recv_from(&mut buf).is_ok_and(|(n, _)| n >= 48)
}
