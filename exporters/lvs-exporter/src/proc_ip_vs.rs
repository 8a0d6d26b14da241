//! Parses `/proc/net/ip_vs` (kernel `ip_vs_info_seq_show`): services and real servers without
//! counters, readable without CAP_NET_ADMIN. The fallback when netlink is refused, and what the
//! netlink reader is checked against.
//!
//! ```text
//! IP Virtual Server version 1.2.1 (size=4096)
//! Prot LocalAddress:Port Scheduler Flags
//!   -> RemoteAddress:Port Forward Weight ActiveConn InActConn
//! TCP  0A000001:0050 wlc persistent 300 FFFFFFFF
//!   -> 0A000002:0050      Route   1      0          0
//! FWM  00000007 rr
//! ```
//!
//! Addresses and ports are hex (IPv6 in brackets, `%pI6`), the firewall mark too (`ipvsadm`
//! prints it decimal). The file does not say whether a fwmark service is IPv6: it is taken as
//! IPv6 when its first real server is. The persistence timeout is in jiffies (`300` seconds
//! printed as `75000` by Debian's HZ=250 kernel).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::table::{Forward, Persistence, Protocol, RealServer, Service, ServiceKey};

/// Why the file could not be read as IPVS's table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcIpVsError {
    /// The first line is not IPVS's banner.
    #[error("line 1 is not the \"IP Virtual Server version\" banner")]
    NoBanner,
    /// A service or real-server line is not in the kernel's format.
    #[error("line {line}: {what}: {text:?}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        what: &'static str,
        /// The line.
        text: String,
    },
}

/// The parsed file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcTable {
    /// `IP Virtual Server version X.Y.Z`.
    pub version: String,
    /// The services, in file order.
    pub services: Vec<Service>,
    /// Service lines of a protocol this parser does not know, skipped with their real servers.
    pub skipped: usize,
}

fn hex_addr_port(s: &str) -> Option<(IpAddr, u16)> {
    let (addr, port) = s.rsplit_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let addr = if let Some(v6) = addr.strip_prefix('[').and_then(|a| a.strip_suffix(']')) {
        IpAddr::V6(v6.parse::<Ipv6Addr>().ok()?)
    } else if addr.len() == 8 {
        IpAddr::V4(Ipv4Addr::from(u32::from_str_radix(addr, 16).ok()?))
    } else {
        return None;
    };
    Some((addr, port))
}

fn bad(line: usize, what: &'static str, text: &str) -> ProcIpVsError {
    ProcIpVsError::Line {
        line,
        what,
        text: text.to_owned(),
    }
}

/// Parses the whole file.
pub fn parse(text: &str) -> Result<ProcTable, ProcIpVsError> {
    let mut lines = text.lines().enumerate();
    let banner = lines.next().map(|(_, l)| l).unwrap_or_default();
    let version = banner
        .strip_prefix("IP Virtual Server version ")
        .ok_or(ProcIpVsError::NoBanner)?
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut table = ProcTable {
        version,
        ..ProcTable::default()
    };
    // False while inside a skipped service, so its real servers are not given to the previous one.
    let mut current = false;
    for (i, line) in lines {
        let n = i + 1;
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [] => {}
            ["Prot", ..] | ["->", "RemoteAddress:Port", ..] => {}
            ["->", addr, fwd, weight, active, inactive, ..] => {
                if !current {
                    continue;
                }
                let (addr, port) =
                    hex_addr_port(addr).ok_or_else(|| bad(n, "bad real server address", line))?;
                let rs = RealServer {
                    addr,
                    port,
                    forward: Forward::from_word(fwd),
                    weight: weight.parse().map_err(|_| bad(n, "bad weight", line))?,
                    active_conns: active
                        .parse()
                        .map_err(|_| bad(n, "bad active connections", line))?,
                    inactive_conns: inactive
                        .parse()
                        .map_err(|_| bad(n, "bad inactive connections", line))?,
                    stats: None,
                };
                if let Some(svc) = table.services.last_mut() {
                    if let ServiceKey::Fwmark { ipv6, .. } = &mut svc.key
                        && svc.real_servers.is_empty()
                    {
                        *ipv6 = rs.addr.is_ipv6();
                    }
                    svc.real_servers.push(rs);
                }
            }
            ["->", ..] => return Err(bad(n, "real server line with too few fields", line)),
            [prot, id, sched, flags @ ..] => {
                let key = if *prot == "FWM" {
                    ServiceKey::Fwmark {
                        mark: u32::from_str_radix(id, 16)
                            .map_err(|_| bad(n, "bad firewall mark", line))?,
                        ipv6: false,
                    }
                } else if let Some(protocol) = Protocol::from_name(prot) {
                    let (addr, port) =
                        hex_addr_port(id).ok_or_else(|| bad(n, "bad service address", line))?;
                    ServiceKey::Addr {
                        protocol,
                        addr,
                        port,
                    }
                } else {
                    table.skipped += 1;
                    current = false;
                    continue;
                };
                let persistence = flags
                    .iter()
                    .position(|w| *w == "persistent")
                    .and_then(|p| flags.get(p + 1)?.parse().ok())
                    .map(Persistence::Jiffies);
                table.services.push(Service {
                    key,
                    scheduler: (*sched).to_owned(),
                    persistence,
                    real_servers: Vec::new(),
                    stats: None,
                });
                current = true;
            }
            _ => return Err(bad(n, "unrecognised line", line)),
        }
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn captured_from_the_vm() {
        // tests/fixtures/proc_net_ip_vs: /proc/net/ip_vs of Debian 12's kernel 6.1 in the VM of
        // tests/tests/lvs_vm.rs, after the scenario's ipvsadm set-up.
        let t = parse(&fixtures::text("proc_net_ip_vs")).unwrap();
        assert_eq!(t.version, "1.2.1");
        assert_eq!(t.skipped, 0);
        let keys: Vec<String> = t.services.iter().map(|s| s.key.to_string()).collect();
        assert!(keys.contains(&"tcp/127.0.0.2:8080".to_owned()), "{keys:?}");
        assert!(keys.contains(&"udp/10.0.0.3:53".to_owned()), "{keys:?}");
        assert!(keys.contains(&"fwmark/7".to_owned()), "{keys:?}");
        assert!(
            keys.contains(&"tcp/[2001:db8::10]:80".to_owned()),
            "{keys:?}"
        );
        let web = t
            .services
            .iter()
            .find(|s| s.key.to_string() == "tcp/127.0.0.2:8080")
            .unwrap();
        assert_eq!(web.scheduler, "wrr");
        assert!(
            web.real_servers
                .iter()
                .all(|r| r.forward == Some(Forward::Masq))
        );
        let fw = t
            .services
            .iter()
            .find(|s| s.key.to_string() == "fwmark/7")
            .unwrap();
        assert_eq!(fw.persistence, Some(Persistence::Jiffies(75000)));
    }

    #[test]
    fn the_capture_agrees_with_ipvsadm_of_the_same_moment() {
        // tests/fixtures/ipvsadm-Ln: `ipvsadm -Ln` right after the /proc capture, same VM.
        let t = parse(&fixtures::text("proc_net_ip_vs")).unwrap();
        let listed = suite_tests::ipvsadm::lines(&fixtures::text("ipvsadm-Ln"));
        let mut from_ipvsadm: Vec<String> = listed
            .iter()
            .filter(|((_, rs), _)| !rs.is_empty())
            .map(|((svc, rs), w)| {
                let sched = &listed[&(svc.clone(), String::new())][0];
                format!(
                    "{svc} {sched} {rs} {} {}",
                    w[0].to_lowercase(),
                    w[1..].join(" ")
                )
            })
            .collect();
        let mut from_proc: Vec<String> = t
            .services
            .iter()
            .flat_map(|s| {
                s.real_servers.iter().map(move |r| {
                    format!(
                        "{} {} {} {} {} {} {}",
                        s.key,
                        s.scheduler,
                        r.label(),
                        r.forward.map_or("?", |f| f.label()),
                        r.weight,
                        r.active_conns,
                        r.inactive_conns
                    )
                })
            })
            .collect();
        from_proc.sort();
        from_ipvsadm.sort();
        assert_eq!(from_proc, from_ipvsadm);
        assert_eq!(from_proc.len(), 7);
    }

    #[test]
    fn the_procfs_fixture_with_ipv6_and_fwmark() {
        let text = "IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
TCP  C0A80016:0CEA wlc 
  -> C0A85216:0CEA      Tunnel  100    248        2
  -> C0A85318:0CEA      Tunnel  100    248        2
TCP  [2620:0000:0000:0000:0000:0000:0000:0001]:0050 sh 
  -> [2620:0000:0000:0000:0000:0000:0000:0002]:0050      Route   1      0          0
FWM  10001000 wlc 
  -> C0A8321A:0CEA      Route   0      0          1
";
        let t = parse(text).unwrap();
        assert_eq!(t.services.len(), 3);
        assert_eq!(t.services[0].key.to_string(), "tcp/192.168.0.22:3306");
        assert_eq!(t.services[0].real_servers[0].active_conns, 248);
        assert_eq!(t.services[0].real_servers[1].label(), "192.168.83.24:3306");
        assert_eq!(t.services[1].key.to_string(), "tcp/[2620::1]:80");
        assert_eq!(
            t.services[2].key,
            ServiceKey::Fwmark {
                mark: 0x1000_1000,
                ipv6: false
            }
        );
        assert_eq!(t.services[2].real_servers[0].weight, 0);
        assert_eq!(t.services[2].persistence, None);
    }

    #[test]
    fn sctp_ops_persistence_and_unknown_protocols() {
        let text = "IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
SCTP 0A000001:0B59 rr ops persistent 60 FFFFFFFF
  -> 0A000002:0B59      Masq    1      0          0
XYZ  0A000001:0001 rr 
  -> 0A000009:0001      Masq    1      0          0
FWM  00000008 wlc 
  -> [2001:0db8:0000:0000:0000:0000:0000:0002]:0000      Route   2      1          0
";
        let t = parse(text).unwrap();
        assert_eq!(t.skipped, 1);
        assert_eq!(t.services.len(), 2);
        assert_eq!(t.services[0].key.to_string(), "sctp/10.0.0.1:2905");
        assert_eq!(t.services[0].persistence, Some(Persistence::Jiffies(60)));
        assert_eq!(t.services[0].real_servers.len(), 1, "XYZ's dest not taken");
        assert_eq!(t.services[1].key.to_string(), "fwmark6/8");
    }

    #[test]
    fn empty_table_and_malformed_files() {
        let empty = "IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
";
        let t = parse(empty).unwrap();
        assert!(t.services.is_empty());
        assert_eq!(parse(""), Err(ProcIpVsError::NoBanner));
        let head = empty.to_owned();
        for (bad_line, what) in [
            ("TCP  ZZ:0050 rr", "bad service address"),
            (
                "TCP  0A000001:0050 rr\n  -> 0A000002:0050 Route x 0 0",
                "bad weight",
            ),
            (
                "TCP  0A000001:0050 rr\n  -> 0A000002:0050 Route",
                "real server line with too few fields",
            ),
            ("FWM  nothex rr", "bad firewall mark"),
            ("TCP", "unrecognised line"),
        ] {
            match parse(&format!("{head}{bad_line}\n")) {
                Err(ProcIpVsError::Line { what: w, .. }) => assert_eq!(w, what, "{bad_line}"),
                other => panic!("{bad_line}: {other:?}"),
            }
        }
    }
}
