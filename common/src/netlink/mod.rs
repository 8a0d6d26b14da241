//! Netlink access of the suite: one socket type whose dumps are bounded (messages, bytes, a
//! receive timeout) and fail with [`NetlinkError`], plus one sibling file per netlink protocol
//! that builds its requests and turns its answers into typed structs.
//!
//! * [`sock_diag`]: `NETLINK_SOCK_DIAG`, the TCP socket dump that `ss` uses (os-exporter's
//!   socket queues).
//! * [`route`]: `NETLINK_ROUTE`, links, addresses, routes of every table and policy rules
//!   (os-exporter's gateway, `eth1` route and interface-address checks).
//! * [`genl`]: `NETLINK_GENERIC`, the id of a named generic-netlink family from a dump of the
//!   controller's list (lvs-exporter resolves `IPVS` with it, then dumps the IPVS family with
//!   messages of its own on the same [`Socket::dump`]).
//!
//! Sockets come from `netlink-sys` and messages from `netlink-packet-core`, so this module holds no
//! `unsafe` and no hand-written header layout.

pub mod genl;
pub mod route;
pub mod sock_diag;

use std::io;
use std::time::Duration;

use netlink_packet_core::{
    DecodeError, ErrorBuffer, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NetlinkBuffer,
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NetlinkSerializable,
};

/// The kernel fills at most 32 KiB per dump datagram, so a bigger buffer would only cost memory.
const RECV_BUFFER: usize = 32 * 1024;

/// Which netlink protocol a [`Socket`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `NETLINK_SOCK_DIAG`: socket dumps ([`sock_diag`]).
    SockDiag,
    /// `NETLINK_ROUTE`: links, addresses, routes and rules ([`route`]).
    Route,
    /// `NETLINK_GENERIC`: generic-netlink families ([`genl`]).
    Generic,
}

impl Protocol {
    fn raw(self) -> isize {
        match self {
            Protocol::SockDiag => netlink_sys::protocols::NETLINK_SOCK_DIAG,
            Protocol::Route => netlink_sys::protocols::NETLINK_ROUTE,
            Protocol::Generic => netlink_sys::protocols::NETLINK_GENERIC,
        }
    }
}

/// Bounds of one dump, so a runaway kernel answer or a stuck socket cannot hold a scrape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most messages one dump may return.
    pub max_messages: u64,
    /// Most bytes one dump may return.
    pub max_bytes: u64,
    /// Longest wait for one datagram of the answer.
    pub recv_timeout: Duration,
}

impl Default for Limits {
    /// Room for millions of sockets (an `inet_diag` message is about 100 bytes), and a timeout
    /// the kernel never needs: it answers from memory.
    fn default() -> Self {
        Self {
            max_messages: 8_000_000,
            max_bytes: 1 << 30,
            recv_timeout: Duration::from_secs(5),
        }
    }
}

/// Why a netlink exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// The socket could not be opened or set up.
    #[error("opening the netlink socket: {0}")]
    Open(#[source] io::Error),
    /// The request could not be sent.
    #[error("sending the netlink request: {0}")]
    Send(#[source] io::Error),
    /// Reading the answer failed.
    #[error("receiving the netlink answer: {0}")]
    Recv(#[source] io::Error),
    /// No datagram came within [`Limits::recv_timeout`].
    #[error("no netlink answer within {0:?}")]
    Timeout(Duration),
    /// The kernel answered the request with an error.
    #[error("the kernel refused the netlink request: {}", io::Error::from_raw_os_error(errno.saturating_abs()))]
    Kernel {
        /// The (negative) errno of the `NLMSG_ERROR` answer.
        errno: i32,
    },
    /// A message was cut short, had an impossible length or a payload its decoder rejected.
    #[error("malformed netlink message at byte {offset}: {reason}")]
    Malformed {
        /// Offset of the message in its datagram.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// A datagram was larger than the receive buffer (and so cut by the kernel).
    #[error("a netlink datagram of {len} bytes does not fit the {capacity}-byte buffer")]
    Truncated {
        /// The datagram's real length.
        len: usize,
        /// The buffer's size.
        capacity: usize,
    },
    /// The dump went over one of its [`Limits`].
    #[error("netlink dump over its limit of {limit} {what}")]
    TooLarge {
        /// `messages` or `bytes`.
        what: &'static str,
        /// The limit.
        limit: u64,
    },
}

/// What one datagram of a dump held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Walked {
    /// Messages handed to the decoder.
    pub messages: u64,
    /// Whether `NLMSG_DONE` ended the dump.
    pub done: bool,
}

/// Walks the messages of one datagram answering request `seq`: hands each data message's type
/// and payload to `on_message`, stops at `NLMSG_DONE`, turns `NLMSG_ERROR` into
/// [`NetlinkError::Kernel`]. Messages of another sequence number (a stale answer) are skipped.
pub fn walk(
    datagram: &[u8],
    seq: u32,
    on_message: &mut impl FnMut(u16, &[u8]) -> Result<(), DecodeError>,
) -> Result<Walked, NetlinkError> {
    let mut walked = Walked::default();
    let mut at = 0;
    while at < datagram.len() {
        let rest = datagram.get(at..).unwrap_or_default();
        let msg = NetlinkBuffer::new_checked(rest).map_err(|e| NetlinkError::Malformed {
            offset: at,
            reason: e.to_string(),
        })?;
        let len = usize::try_from(msg.length()).unwrap_or(usize::MAX);
        if msg.sequence_number() == seq {
            match msg.message_type() {
                NLMSG_DONE => {
                    walked.done = true;
                    return Ok(walked);
                }
                NLMSG_ERROR => {
                    let err = ErrorBuffer::new_checked(msg.payload()).map_err(|e| {
                        NetlinkError::Malformed {
                            offset: at,
                            reason: e.to_string(),
                        }
                    })?;
                    // A zero code is an acknowledgement, not an error.
                    if let Some(code) = err.code() {
                        return Err(NetlinkError::Kernel { errno: code.get() });
                    }
                }
                kind => {
                    walked.messages += 1;
                    on_message(kind, msg.payload()).map_err(|e| NetlinkError::Malformed {
                        offset: at,
                        reason: e.to_string(),
                    })?;
                }
            }
        }
        // Messages are 4-byte aligned; the last one may lack its padding.
        at = at.saturating_add(len.saturating_add(3) & !3);
    }
    Ok(walked)
}

/// A netlink socket to the kernel, reused for several dumps.
pub struct Socket {
    inner: netlink_sys::Socket,
    limits: Limits,
    buf: Vec<u8>,
    seq: u32,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("limits", &self.limits)
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

impl Socket {
    /// Opens a socket of `protocol` whose dumps stay within `limits`.
    pub fn open(protocol: Protocol, limits: Limits) -> Result<Self, NetlinkError> {
        let inner = netlink_sys::Socket::new(protocol.raw()).map_err(NetlinkError::Open)?;
        socket2::SockRef::from(&inner)
            .set_read_timeout(Some(limits.recv_timeout))
            .map_err(NetlinkError::Open)?;
        Ok(Self {
            inner,
            limits,
            buf: Vec::with_capacity(RECV_BUFFER),
            seq: 0,
        })
    }

    /// Sends `request` as a dump and hands every answer message (type, payload) to
    /// `on_message` until `NLMSG_DONE`; returns how many messages it handed over.
    pub fn dump<R: NetlinkSerializable>(
        &mut self,
        request: R,
        mut on_message: impl FnMut(u16, &[u8]) -> Result<(), DecodeError>,
    ) -> Result<u64, NetlinkError> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        header.sequence_number = self.seq;
        let mut msg = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(request));
        msg.finalize();
        let mut out = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut out);
        let sent = self.inner.send(&out, 0).map_err(NetlinkError::Send)?;
        if sent != out.len() {
            return Err(NetlinkError::Send(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("sent {sent} of {} bytes", out.len()),
            )));
        }
        let (mut messages, mut bytes) = (0u64, 0u64);
        loop {
            self.buf.clear();
            // MSG_TRUNC makes recv return the datagram's real length, so a cut one is seen.
            let n = match self.inner.recv(&mut self.buf, libc::MSG_TRUNC) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(NetlinkError::Timeout(self.limits.recv_timeout));
                }
                Err(e) => return Err(NetlinkError::Recv(e)),
            };
            if n > self.buf.len() {
                return Err(NetlinkError::Truncated {
                    len: n,
                    capacity: self.buf.capacity(),
                });
            }
            if n == 0 {
                return Ok(messages);
            }
            bytes = bytes.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
            if bytes > self.limits.max_bytes {
                return Err(NetlinkError::TooLarge {
                    what: "bytes",
                    limit: self.limits.max_bytes,
                });
            }
            let walked = walk(&self.buf, self.seq, &mut on_message)?;
            messages = messages.saturating_add(walked.messages);
            if messages > self.limits.max_messages {
                return Err(NetlinkError::TooLarge {
                    what: "messages",
                    limit: self.limits.max_messages,
                });
            }
            if walked.done {
                return Ok(messages);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A netlink message of `kind` with `payload`, as the kernel lays it out (native endian).
    pub(super) fn message(kind: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let len = u32::try_from(16 + payload.len()).unwrap();
        let mut m = Vec::new();
        m.extend_from_slice(&len.to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(payload);
        while m.len() % 4 != 0 {
            m.push(0);
        }
        m
    }

    fn collect(datagram: &[u8], seq: u32) -> (Result<Walked, NetlinkError>, Vec<(u16, usize)>) {
        let mut seen = Vec::new();
        let r = walk(datagram, seq, &mut |kind, payload| {
            seen.push((kind, payload.len()));
            Ok(())
        });
        (r, seen)
    }

    #[test]
    fn data_messages_are_handed_over_until_done() {
        let mut d = message(20, 7, &[1; 5]);
        d.extend(message(20, 7, &[2; 8]));
        d.extend(message(NLMSG_DONE, 7, &[0; 4]));
        d.extend(message(20, 7, &[3; 8]));
        let (r, seen) = collect(&d, 7);
        assert_eq!(
            r.unwrap(),
            Walked {
                messages: 2,
                done: true
            }
        );
        assert_eq!(seen, vec![(20, 5), (20, 8)], "padding is skipped");
    }

    #[test]
    fn answers_to_another_request_are_skipped() {
        let mut d = message(20, 6, &[1; 4]);
        d.extend(message(NLMSG_DONE, 6, &[0; 4]));
        let (r, seen) = collect(&d, 7);
        assert_eq!(r.unwrap(), Walked::default());
        assert!(seen.is_empty());
    }

    #[test]
    fn kernel_errors_are_typed_and_acks_are_not_errors() {
        let d = message(NLMSG_ERROR, 1, &(-22i32).to_ne_bytes());
        assert!(matches!(
            collect(&d, 1).0,
            Err(NetlinkError::Kernel { errno: -22 })
        ));
        let ack = message(NLMSG_ERROR, 1, &0i32.to_ne_bytes());
        assert_eq!(collect(&ack, 1).0.unwrap(), Walked::default());
        let err = collect(&d, 1).0.unwrap_err().to_string();
        assert!(err.contains("Invalid argument"), "{err}");
    }

    #[test]
    fn cut_and_impossible_lengths_are_malformed() {
        let m = message(20, 1, &[0; 72]);
        assert!(matches!(
            collect(&m[..40], 1).0,
            Err(NetlinkError::Malformed { offset: 0, .. })
        ));
        let mut bad = m.clone();
        bad[0..4].copy_from_slice(&500u32.to_ne_bytes());
        assert!(matches!(
            collect(&bad, 1).0,
            Err(NetlinkError::Malformed { offset: 0, .. })
        ));
        let mut two = message(20, 1, &[0; 4]);
        let at = two.len();
        two.extend_from_slice(&[1, 2, 3]);
        assert!(matches!(
            collect(&two, 1).0,
            Err(NetlinkError::Malformed { offset, .. }) if offset == at
        ));
    }

    #[test]
    fn decoder_rejections_carry_the_message_offset() {
        let mut d = message(20, 1, &[0; 4]);
        let at = d.len();
        d.extend(message(20, 1, &[9; 4]));
        let r = walk(&d, 1, &mut |_, p| {
            if p[0] == 9 {
                Err(DecodeError::from("nine"))
            } else {
                Ok(())
            }
        });
        match r {
            Err(NetlinkError::Malformed { offset, reason }) => {
                assert_eq!((offset, reason.as_str()), (at, "nine"));
            }
            other => panic!("{other:?}"),
        }
    }
}
