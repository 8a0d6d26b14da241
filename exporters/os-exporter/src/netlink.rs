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

/// Dumps the TCP sockets of both families of this network namespace, counting blocked queues:
/// one compat request walking the hash once, or one request per family if that is refused.
pub(crate) fn dump_tcp(
    threshold: u64,
    mut on_blocked: impl FnMut(&DiagSocket),
) -> std::io::Result<QueueCounts> {
    let mut sock = open()?;
    let mut counts = QueueCounts::default();
    // The kernel fills at most 32 KiB per dump read, so a bigger buffer would only cost memory.
    let mut buf = vec![0u8; 32 * 1024];
    match dump(
        &mut sock,
        &inet_diag::request_both_families(1),
        threshold,
        &mut counts,
        &mut buf,
        &mut on_blocked,
    ) {
        Ok(()) => return Ok(counts),
        Err(e) if counts.sockets == 0 => {
            log::debug!("compat inet_diag dump refused ({e}); asking per family")
        }
        Err(e) => return Err(e),
    }
    for (seq, family) in [(2, libc::AF_INET), (3, libc::AF_INET6)] {
        let family = u8::try_from(family).unwrap_or(2);
        match dump(
            &mut sock,
            &inet_diag::request(family, seq),
            threshold,
            &mut counts,
            &mut buf,
            &mut on_blocked,
        ) {
            Ok(()) => {}
            // No IPv6 in this kernel: nothing to count there.
            Err(_) if family == 10 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(counts)
}

fn dump(
    sock: &mut File,
    request: &[u8],
    threshold: u64,
    counts: &mut QueueCounts,
    buf: &mut [u8],
    on_blocked: &mut impl FnMut(&DiagSocket),
) -> std::io::Result<()> {
    sock.write_all(request)?;
    // Bounded: a dump ends with NLMSG_DONE; 1M reads of 32 KiB would be 32 GiB of sockets.
    for _ in 0..1_000_000 {
        let n = sock.read(buf)?;
        if n == 0 {
            break;
        }
        match inet_diag::parse(&buf[..n], threshold, counts, on_blocked) {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => return Err(std::io::Error::other(e.to_string())),
        }
    }
    Ok(())
}
