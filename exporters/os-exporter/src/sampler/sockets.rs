//! Audit check on TCP sockets: the sockets whose queues are blocked, as decoded table lines.

use common::audit::AuditRecord;
use common::{CollectError, SysPaths};
use serde_json::json;

use crate::collectors::sockets::scan;
use crate::config::AuditChecksConfig;

/// Decodes `0100007F:0CEA` (IPv4) or the 32-hex-digit IPv6 form into `addr:port`.
pub(super) fn decode_addr(field: &str) -> Option<String> {
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

/// One record listing (up to a bound) the sockets whose Recv-Q or Send-Q is over the threshold.
pub(super) fn check(
    paths: &SysPaths,
    threshold: u64,
    cfg: &AuditChecksConfig,
) -> Result<Vec<AuditRecord>, CollectError> {
    let mut listed = Vec::new();
    let counts = scan(paths, threshold, |table, s| {
        if listed.len() >= cfg.max_sockets_listed {
            return;
        }
        let line = String::from_utf8_lossy(s.line).trim().to_owned();
        let mut f = line.split_whitespace().skip(1);
        let (local, remote) = (
            f.next().and_then(decode_addr),
            f.next().and_then(decode_addr),
        );
        listed.push(json!({
            "table": table, "local": local, "remote": remote, "state": s.state,
            "recv_q": s.rx_queue, "send_q": s.tx_queue, "line": line,
        }));
    })?;
    let blocked = counts.recvq_blocked + counts.sendq_blocked;
    Ok(if blocked == 0 {
        Vec::new()
    } else {
        vec![AuditRecord {
            check: "tcp_queue_blocked".into(),
            threshold: format!("{threshold} bytes"),
            observed: blocked as f64,
            evidence: json!({"recvq_blocked": counts.recvq_blocked, "sendq_blocked": counts.sendq_blocked, "sockets": listed}),
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
