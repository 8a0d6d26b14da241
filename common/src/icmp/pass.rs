//! One ping pass over many targets: every echo of the pass goes out paced from one thread, one
//! socket per address family and source address, and each socket has a receiver thread of its
//! own. RTTs come from the kernel's receive timestamp (`SO_TIMESTAMPNS`), not from when the
//! receiver got around to reading: on a busy 2-core host the queueing in user space alone made
//! 1,000 loopback RTTs read up to 29 ms, where the kernel stamps say under 0.1 ms
//! (research note `os_services_logs_time.md` §8).
//!
//! A reply counts when it comes from the target, carries the sequence number of one of its
//! echoes (and, on a raw socket, this pass's identifier), and arrives within the timeout of
//! that echo. Anything else (another program's replies, our own requests seen on loopback, an
//! answer with a wrong identifier, a late reply) is ignored.

use std::io::{self, IoSliceMut};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, setsockopt, sockopt,
};
use socket2::{SockAddr, Socket};

use super::{PingError, SocketKind, echo_request, open, reply_seq};

/// How long a receiver blocks in one read before it looks whether the pass is over.
const RECV_SLICE: Duration = Duration::from_millis(20);

/// The receive buffer asked for: room for thousands of replies arriving at once.
const RCVBUF_BYTES: usize = 4 << 20;

/// One address to ping, and the local address to ping it from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    /// The address pinged.
    pub addr: IpAddr,
    /// The source address the echoes leave from (`None`: the kernel's choice). With policy
    /// routing by source (`ip rule from <addr> lookup <table>`) this selects the route.
    pub source: Option<IpAddr>,
}

/// How a pass sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassOptions {
    /// Echoes per target.
    pub count: u16,
    /// Time between two echoes to the same target.
    pub interval: Duration,
    /// How long each echo's reply is waited for.
    pub timeout: Duration,
    /// Gap between two consecutive sends of the pass, so a burst does not overflow receive
    /// buffers or the neighbour's ICMP rate limit.
    pub pace: Duration,
    /// The echo identifier on raw sockets (datagram sockets get the kernel's).
    pub id: u16,
    /// The first echo's sequence number; later echoes count up from it (wrapping). A caller
    /// running passes back to back moves it on, so a late reply to the previous pass, still
    /// seen by a raw socket, does not match an echo of this one.
    pub seq_base: u16,
}

impl Default for PassOptions {
    /// One echo per target, 1,000 sends spread over 100 ms, the document's 5 s timeout.
    fn default() -> Self {
        Self {
            count: 1,
            interval: Duration::from_millis(200),
            timeout: Duration::from_secs(5),
            pace: Duration::from_micros(100),
            id: 0,
            seq_base: 0,
        }
    }
}

/// What one target's echoes gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Echoes {
    /// Echo requests sent.
    pub sent: u16,
    /// Round-trip times of the echoes answered in time.
    pub rtts: Vec<Duration>,
    /// Why sending failed (no route, source address not configured), when it did.
    pub send_error: Option<String>,
}

impl Echoes {
    /// The largest round-trip time, `None` when nothing was answered.
    pub fn max(&self) -> Option<Duration> {
        self.rtts.iter().copied().max()
    }
}

/// What a pass measured, by target (same order as the targets given).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PassResult {
    /// One entry per target.
    pub echoes: Vec<Echoes>,
    /// Replies whose RTT came from the kernel's receive timestamp (the rest used a user-space
    /// clock: no control message, or the realtime clock stepped between send and receive).
    pub kernel_stamped: usize,
}

/// The most echoes one pass can tell apart (the sequence number is 16 bits).
pub const MAX_ECHOES: usize = 1 << 16;

/// A reply seen by a receiver: which echo, when the kernel stamped it, when it was read.
struct Seen {
    echo: usize,
    kernel: Option<SystemTime>,
    read: Instant,
}

/// One socket of the pass and the targets sent through it.
struct Lane {
    sock: Socket,
    kind: SocketKind,
    v6: bool,
}

/// Pings every target `opts.count` times; at most [`MAX_ECHOES`] echoes per pass (the targets
/// beyond are reported unanswered with a send error). Fails only when a socket cannot be
/// opened; a target whose echo cannot be sent gets its [`Echoes::send_error`].
pub fn ping_pass(targets: &[Target], opts: &PassOptions) -> Result<PassResult, PingError> {
    let count = usize::from(opts.count.max(1));
    let fits = (MAX_ECHOES / count).min(targets.len());
    // One lane per (family, source): targets are sent through the lane of their key.
    let mut keys: Vec<(bool, Option<IpAddr>)> = targets[..fits]
        .iter()
        .map(|t| (t.addr.is_ipv6(), t.source))
        .collect();
    keys.sort();
    keys.dedup();
    // A lane whose source address cannot be bound (the address is gone from its interface)
    // fails only its own targets: they are unreachable from there, which is what to report.
    let mut lanes: Vec<Result<Lane, String>> = Vec::with_capacity(keys.len());
    for &(v6, source) in &keys {
        let probe = targets[..fits]
            .iter()
            .find(|t| t.addr.is_ipv6() == v6)
            .map_or(IpAddr::from([0u8; 4]), |t| t.addr);
        let (sock, kind) = open(probe)?;
        lanes.push(match prepare(&sock, source) {
            Ok(()) => Ok(Lane { sock, kind, v6 }),
            Err(e) => Err(match source {
                Some(src) => format!("binding the echo socket to {src}: {e}"),
                None => format!("preparing the echo socket: {e}"),
            }),
        });
    }
    let lane_of = |t: &Target| {
        keys.iter()
            .position(|k| *k == (t.addr.is_ipv6(), t.source))
            .unwrap_or(0)
    };

    let echoes_total = fits * count;
    let answered = AtomicUsize::new(0);
    let done: Vec<AtomicBool> = (0..echoes_total).map(|_| AtomicBool::new(false)).collect();
    let sending_over: Mutex<Option<Instant>> = Mutex::new(None);
    let addr_of = |echo: usize| targets.get(echo / count).map(|t| t.addr);

    let mut sent_at: Vec<Option<(SystemTime, Instant)>> = vec![None; echoes_total];
    let mut result = PassResult {
        echoes: vec![Echoes::default(); targets.len()],
        kernel_stamped: 0,
    };
    for e in result.echoes.iter_mut().skip(fits) {
        e.send_error = Some(format!(
            "over the {MAX_ECHOES} echoes one pass can tell apart"
        ));
    }

    let seen: Vec<Seen> = std::thread::scope(|scope| {
        let receivers: Vec<_> = lanes
            .iter()
            .filter_map(|lane| lane.as_ref().ok())
            .map(|lane| {
                let ctx = Receive {
                    lane,
                    id: opts.id,
                    seq_base: opts.seq_base,
                    timeout: opts.timeout,
                    answered: &answered,
                    done: &done,
                    total: echoes_total,
                    sending_over: &sending_over,
                    addr_of: &addr_of,
                };
                scope.spawn(move || ctx.run())
            })
            .collect();

        let start = Instant::now();
        let mut n = 0u32;
        for round in 0..count {
            let round_start = start + opts.interval * u32::try_from(round).unwrap_or(0);
            for (i, t) in targets[..fits].iter().enumerate() {
                let due = round_start + opts.pace * n.min(u32::MAX - 1);
                n = n.saturating_add(1);
                let now = Instant::now();
                // Sleeping per 100 µs send would cost more than it paces: catch up in 1 ms steps.
                if due > now + Duration::from_millis(1) {
                    std::thread::sleep(due - now);
                }
                let echo = i * count + round;
                let seq = opts
                    .seq_base
                    .wrapping_add(u16::try_from(echo).unwrap_or(u16::MAX));
                let stamp = (SystemTime::now(), Instant::now());
                let sent = match &lanes[lane_of(t)] {
                    Ok(lane) => lane
                        .sock
                        .send_to(
                            &echo_request(lane.v6, opts.id, seq),
                            &SockAddr::from(SocketAddr::new(t.addr, 0)),
                        )
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(e.clone()),
                };
                match sent {
                    Ok(_) => {
                        sent_at[echo] = Some(stamp);
                        result.echoes[i].sent += 1;
                    }
                    Err(e) => {
                        result.echoes[i].send_error = Some(e);
                        // Nothing will answer: the receivers need not wait for it.
                        if !done[echo].swap(true, Ordering::AcqRel) {
                            answered.fetch_add(1, Ordering::AcqRel);
                        }
                    }
                }
            }
            n = 0;
        }
        *sending_over.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        receivers
            .into_iter()
            .flat_map(|r| r.join().unwrap_or_default())
            .collect()
    });

    for s in seen {
        let Some(Some((wall, mono))) = sent_at.get(s.echo).copied() else {
            continue;
        };
        let by_kernel = s.kernel.and_then(|k| k.duration_since(wall).ok());
        let by_clock = s.read.saturating_duration_since(mono);
        // A kernel stamp later than the read means the realtime clock stepped: use the read.
        let (rtt, kernel) = match by_kernel {
            Some(k) if k <= by_clock => (k, true),
            _ => (by_clock, false),
        };
        if rtt > opts.timeout {
            continue;
        }
        result.kernel_stamped += usize::from(kernel);
        if let Some(e) = result.echoes.get_mut(s.echo / count) {
            e.rtts.push(rtt);
        }
    }
    Ok(result)
}

/// Binds `sock` to `source` when given, asks for kernel receive timestamps and a large buffer.
fn prepare(sock: &Socket, source: Option<IpAddr>) -> io::Result<()> {
    if let Some(src) = source {
        sock.bind(&SockAddr::from(SocketAddr::new(src, 0)))?;
    }
    setsockopt(sock, sockopt::ReceiveTimestampns, &true).map_err(io::Error::from)?;
    // Capped by net.core.rmem_max for an unprivileged process; the smaller buffer still works.
    let _ = sock.set_recv_buffer_size(RCVBUF_BYTES);
    sock.set_read_timeout(Some(RECV_SLICE))
}

/// What a receiver thread needs.
struct Receive<'a, F: Fn(usize) -> Option<IpAddr>> {
    lane: &'a Lane,
    id: u16,
    seq_base: u16,
    timeout: Duration,
    answered: &'a AtomicUsize,
    done: &'a [AtomicBool],
    total: usize,
    sending_over: &'a Mutex<Option<Instant>>,
    addr_of: &'a F,
}

impl<F: Fn(usize) -> Option<IpAddr>> Receive<'_, F> {
    /// Reads replies until every echo is answered or the last send's timeout has passed.
    fn run(&self) -> Vec<Seen> {
        let mut seen = Vec::new();
        let mut buf = [0u8; 2048];
        let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
        loop {
            if self.answered.load(Ordering::Acquire) >= self.total {
                return seen;
            }
            let over = *self
                .sending_over
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if over.is_some_and(|t| t.elapsed() > self.timeout) {
                return seen;
            }
            let fd = self.lane.sock.as_raw_fd();
            let (len, from, kernel) = {
                let mut iov = [IoSliceMut::new(&mut buf)];
                match recvmsg::<SockaddrStorage>(fd, &mut iov, Some(&mut cmsg), MsgFlags::empty()) {
                    Ok(msg) => (msg.bytes, msg.address.and_then(ip_of), kernel_stamp(&msg)),
                    // Timeouts and interruptions: look at the clock again. Other errors (an
                    // ICMP error queued for an earlier send) are not replies either.
                    Err(_) => continue,
                }
            };
            let read = Instant::now();
            let packet = buf.get(..len).unwrap_or_default();
            let Some(seq) = reply_seq(self.lane.kind, self.lane.v6, packet, self.id) else {
                continue;
            };
            let echo = usize::from(seq.wrapping_sub(self.seq_base));
            if echo >= self.total || from.is_none() || from != (self.addr_of)(echo) {
                continue;
            }
            if self.done[echo].swap(true, Ordering::AcqRel) {
                continue;
            }
            self.answered.fetch_add(1, Ordering::AcqRel);
            seen.push(Seen { echo, kernel, read });
        }
    }
}

fn ip_of(addr: SockaddrStorage) -> Option<IpAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(IpAddr::V4(v4.ip()));
    }
    addr.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
}

fn kernel_stamp<S>(msg: &nix::sys::socket::RecvMsg<'_, '_, S>) -> Option<SystemTime> {
    msg.cmsgs().ok()?.find_map(|c| match c {
        ControlMessageOwned::ScmTimestampns(ts) => {
            let secs = u64::try_from(ts.tv_sec()).ok()?;
            let nanos = u32::try_from(ts.tv_nsec()).ok()?;
            Some(UNIX_EPOCH + Duration::new(secs, nanos))
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback(n: u8) -> Target {
        Target {
            addr: IpAddr::from([127, 0, 0, n]),
            source: None,
        }
    }

    /// `None` (and a note) where this host allows no ICMP socket.
    fn pass(targets: &[Target], opts: &PassOptions) -> Option<PassResult> {
        match ping_pass(targets, opts) {
            Ok(r) => Some(r),
            Err(e @ PingError::Socket { .. }) => {
                eprintln!("skipped: {e}");
                None
            }
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn every_loopback_target_answers_with_kernel_stamped_rtts() {
        let targets: Vec<Target> = (1..=50).map(loopback).collect();
        let opts = PassOptions {
            count: 2,
            interval: Duration::from_millis(10),
            timeout: Duration::from_secs(2),
            id: 0x5150,
            ..PassOptions::default()
        };
        let Some(r) = pass(&targets, &opts) else {
            return;
        };
        for (t, e) in targets.iter().zip(&r.echoes) {
            assert_eq!((e.sent, e.rtts.len()), (2, 2), "{t:?}: {e:?}");
            assert!(e.max().unwrap() < Duration::from_secs(1));
        }
        assert_eq!(r.kernel_stamped, 100, "every RTT from the kernel stamp");
    }

    #[test]
    fn a_source_address_that_is_not_ours_fails_only_its_targets() {
        let opts = PassOptions {
            timeout: Duration::from_millis(300),
            ..PassOptions::default()
        };
        let t = Target {
            addr: IpAddr::from([127, 0, 0, 1]),
            // TEST-NET-3: never configured here, so bind() refuses it.
            source: Some(IpAddr::from([203, 0, 113, 7])),
        };
        let Some(r) = pass(&[t, loopback(2)], &opts) else {
            return;
        };
        let e = &r.echoes[0];
        assert_eq!((e.sent, e.rtts.len()), (0, 0));
        assert!(
            e.send_error.as_deref().unwrap().contains("203.0.113.7"),
            "{e:?}"
        );
        assert_eq!(r.echoes[1].rtts.len(), 1, "the other lane still pings");
    }

    #[test]
    fn a_pass_with_no_targets_is_empty() {
        let r = ping_pass(&[], &PassOptions::default()).unwrap();
        assert!(r.echoes.is_empty());
    }

    #[test]
    fn targets_beyond_the_sequence_space_are_reported_not_pinged() {
        let opts = PassOptions {
            count: 32768,
            interval: Duration::ZERO,
            pace: Duration::ZERO,
            timeout: Duration::from_millis(200),
            ..PassOptions::default()
        };
        let targets = [loopback(1), loopback(2), loopback(3)];
        let Some(r) = pass(&targets, &opts) else {
            return;
        };
        assert_eq!(r.echoes[2].sent, 0);
        assert!(r.echoes[2].send_error.is_some());
        assert_eq!(r.echoes[0].sent, 32768);
    }
}
