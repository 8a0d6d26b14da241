//! `/proc/net/tcp` and `/proc/net/tcp6`, streamed: counts sockets whose receive or send queue is
//! over a threshold without allocating per line, so 100,000 sockets cost one pass over a buffer.

use std::io::Read;

/// The kernel's `TCP_LISTEN` state; a listening socket's rx_queue is its accept backlog, which
/// is not a blocked client, so it is not counted.
const TCP_LISTEN: u64 = 0x0A;

/// One socket line's fields the counter looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketQueues<'a> {
    /// The raw line (`sl local rem st tx:rx ...`), for the audit evidence.
    pub(crate) line: &'a [u8],
    /// TCP state (hex code of the kernel's enum).
    pub(crate) state: u64,
    /// Bytes queued for sending (`tx_queue`, ss's Send-Q).
    pub(crate) tx_queue: u64,
    /// Bytes received but not yet read (`rx_queue`, ss's Recv-Q).
    pub(crate) rx_queue: u64,
}

/// Totals of one or more tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueCounts {
    /// Socket lines seen.
    pub(crate) sockets: u64,
    /// Non-listening sockets with `rx_queue` over the threshold.
    pub(crate) recvq_blocked: u64,
    /// Non-listening sockets with `tx_queue` over the threshold.
    pub(crate) sendq_blocked: u64,
}

/// Decodes `0100007F:0CEA` (IPv4) or the 32-hex-digit IPv6 form into `addr:port`.
pub fn decode_addr(field: &str) -> Option<String> {
    let (ip, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    // The kernel prints each 32-bit word in host (little-endian here) byte order.
    let words: Option<Vec<[u8; 4]>> = (0..ip.len() / 8)
        .map(|i| {
            u32::from_str_radix(ip.get(i * 8..i * 8 + 8)?, 16)
                .ok()
                .map(u32::to_le_bytes)
        })
        .collect();
    let bytes: Vec<u8> = words?.concat();
    match bytes.len() {
        4 => Some(format!(
            "{}:{port}",
            std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])
        )),
        16 => {
            let a: [u8; 16] = bytes.try_into().ok()?;
            Some(format!("[{}]:{port}", std::net::Ipv6Addr::from(a)))
        }
        _ => None,
    }
}

fn hex(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    s.iter().try_fold(0u64, |acc, b| {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        Some(acc << 4 | u64::from(d))
    })
}

/// Parses one table line; `None` for the header and malformed lines.
pub fn parse_line(line: &[u8]) -> Option<SocketQueues<'_>> {
    let mut fields = line.split(|b| *b == b' ').filter(|f| !f.is_empty());
    let sl = fields.next()?;
    if sl.last() != Some(&b':') {
        return None;
    }
    let _local = fields.next()?;
    let _remote = fields.next()?;
    let state = hex(fields.next()?)?;
    let queues = fields.next()?;
    let colon = queues.iter().position(|b| *b == b':')?;
    Some(SocketQueues {
        line,
        state,
        tx_queue: hex(&queues[..colon])?,
        rx_queue: hex(&queues[colon + 1..])?,
    })
}

/// The local port of a LISTEN socket line of `/proc/net/tcp{,6}`; `None` for any other line.
pub fn listening_port(line: &[u8]) -> Option<u16> {
    let s = parse_line(line)?;
    if s.state != TCP_LISTEN {
        return None;
    }
    let local = line
        .split(|b| *b == b' ')
        .filter(|f| !f.is_empty())
        .nth(1)?;
    let colon = local.iter().rposition(|b| *b == b':')?;
    u16::try_from(hex(&local[colon + 1..])?).ok()
}

/// Streams one table from `reader`, adding to `counts`; `on_blocked` sees each blocked socket.
pub fn count_blocked(
    mut reader: impl Read,
    threshold: u64,
    counts: &mut QueueCounts,
    mut on_blocked: impl FnMut(&SocketQueues<'_>),
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut filled = 0;
    loop {
        let n = match reader.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        filled += n;
        let mut start = 0;
        while let Some(pos) = buf[start..filled].iter().position(|b| *b == b'\n') {
            visit(&buf[start..start + pos], threshold, counts, &mut on_blocked);
            start += pos + 1;
        }
        if n == 0 {
            if start < filled {
                visit(&buf[start..filled], threshold, counts, &mut on_blocked);
            }
            return Ok(());
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        if filled == buf.len() {
            // A "line" longer than the buffer is not a socket line: drop it.
            filled = 0;
        }
    }
}

fn visit(
    line: &[u8],
    threshold: u64,
    counts: &mut QueueCounts,
    on_blocked: &mut impl FnMut(&SocketQueues<'_>),
) {
    let Some(s) = parse_line(line) else { return };
    counts.sockets += 1;
    if s.state == TCP_LISTEN {
        return;
    }
    let (rx, tx) = (s.rx_queue > threshold, s.tx_queue > threshold);
    counts.recvq_blocked += u64::from(rx);
    counts.sendq_blocked += u64::from(tx);
    if rx || tx {
        on_blocked(&s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[u8] = b"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:0CEA 00000000:0000 0A 00000000:00FFFFFF 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n\
   1: 0100007F:0CEA 0100007F:D1A2 01 00000000:000F4241 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1\n\
   2: 0100007F:D1A2 0100007F:0CEA 01 000F4241:00000000 01:00000014 00000000     0        0 3 1 0 20 4 30 10 -1\n\
   3: 0100007F:D1A4 0100007F:0CEA 01 000F4240:000F4240 00:00000000 00000000     0        0 4 1 0 20 4 30 10 -1\n\
   4: garbage";

    #[test]
    fn counts_queues_over_the_threshold_but_not_listeners() {
        let mut c = QueueCounts::default();
        let mut seen = Vec::new();
        count_blocked(TABLE, 1_000_000, &mut c, |s| seen.push(s.rx_queue)).unwrap();
        assert_eq!(
            c,
            QueueCounts {
                sockets: 4,
                recvq_blocked: 1,
                sendq_blocked: 1
            }
        );
        assert_eq!(seen, vec![1_000_001, 0]);
    }

    #[test]
    fn lines_split_across_reads_are_reassembled() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(out.len()).min(7);
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut c = QueueCounts::default();
        count_blocked(Trickle(TABLE), 1_000_000, &mut c, |_| {}).unwrap();
        assert_eq!(
            c,
            QueueCounts {
                sockets: 4,
                recvq_blocked: 1,
                sendq_blocked: 1
            }
        );
    }

    #[test]
    fn decodes_v4_and_v6_addresses() {
        assert_eq!(
            decode_addr("0100007F:0CEA").as_deref(),
            Some("127.0.0.1:3306")
        );
        assert_eq!(
            decode_addr("00000000000000000000000001000000:0050").as_deref(),
            Some("[::1]:80")
        );
        assert_eq!(decode_addr("zz:1"), None);
    }

    #[test]
    fn hex_rejects_garbage() {
        assert_eq!(hex(b"0A"), Some(10));
        assert_eq!(hex(b"zz"), None);
        assert_eq!(hex(b""), None);
    }

    #[test]
    fn listening_ports_of_both_tables() {
        // Java binds 127.0.0.1:8080 through a dual-stack socket: only in tcp6, as ::ffff:127.0.0.1.
        let v6 = b"   0: 0000000000000000FFFF00000100007F:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   997        0 108349 1 0000000000000000 100 0 0 10 0";
        assert_eq!(listening_port(v6), Some(8080));
        let v4 = b"   1: 0100007F:0CEA 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 20 4 30 10 -1";
        assert_eq!(listening_port(v4), None, "established");
        assert_eq!(
            listening_port(b"  sl  local_address rem_address   st"),
            None
        );
    }
}
