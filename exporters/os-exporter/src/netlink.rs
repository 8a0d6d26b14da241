//! A `NETLINK_SOCK_DIAG` socket: the one syscall std lacks, then plain `read`/`write` (a netlink
//! socket that is not connected sends to the kernel).

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::fd::{FromRawFd as _, OwnedFd};

use crate::parsers::inet_diag::{self, DiagSocket};
use crate::parsers::net_tcp::QueueCounts;

const NETLINK_SOCK_DIAG: libc::c_int = 4;

#[allow(unsafe_code)]
fn open() -> std::io::Result<File> {
    // SAFETY: socket() takes integers only; a non-negative result is a new descriptor that nothing
    // else owns, so handing it to OwnedFd (which closes it exactly once) is sound.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            NETLINK_SOCK_DIAG,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: see above; `fd` is valid and exclusively ours.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Dumps the TCP sockets of both families of this network namespace, counting blocked queues.
pub(crate) fn dump_tcp(
    threshold: u64,
    mut on_blocked: impl FnMut(&DiagSocket),
) -> std::io::Result<QueueCounts> {
    let mut sock = open()?;
    let mut counts = QueueCounts::default();
    // The kernel fills at most 32 KiB per dump read, so a bigger buffer would only cost memory.
    let mut buf = vec![0u8; 32 * 1024];
    for (seq, family) in [(1, libc::AF_INET), (2, libc::AF_INET6)] {
        let family = u8::try_from(family).unwrap_or(2);
        sock.write_all(&inet_diag::request(family, seq))?;
        // Bounded: a dump ends with NLMSG_DONE; 1M reads of 32 KiB would be 32 GiB of sockets.
        for _ in 0..1_000_000 {
            let n = sock.read(&mut buf)?;
            if n == 0 {
                break;
            }
            match inet_diag::parse(&buf[..n], threshold, &mut counts, &mut on_blocked) {
                Ok(true) => break,
                Ok(false) => {}
                // No IPv6 in this kernel: nothing to count there.
                Err(inet_diag::DiagError::Kernel(e))
                    if family == 10 && (e == -libc::ENOENT || e == -libc::EAFNOSUPPORT) =>
                {
                    break;
                }
                Err(e) => return Err(std::io::Error::other(e.to_string())),
            }
        }
    }
    Ok(counts)
}
