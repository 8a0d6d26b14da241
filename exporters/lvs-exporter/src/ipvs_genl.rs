//! The IPVS generic-netlink family (`IPVS`, what `ipvsadm` speaks; `include/uapi/linux/ip_vs.h`):
//! a `GET_SERVICE` dump, then a `GET_DEST` dump per service, with 64-bit counters
//! (`*_ATTR_STATS64`, kernel 4.1+; the 32-bit `*_ATTR_STATS` otherwise).
//!
//! Messages are `netlink-packet-generic` ones carried by `common::netlink::Socket`; this file
//! only lays out IPVS's attributes (through `netlink-packet-core`'s `Nla`) and reads them back.
//! The family id is resolved by `common::netlink::genl`, which lists families without loading
//! any module; the caller checks IPVS is present before asking at all.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use common::netlink::genl::{self, GENL_HEADER_LEN};
use common::netlink::{Limits, NetlinkError, Socket};
use netlink_packet_core::{
    DecodeError, Emitable, Nla, NlaBuffer, NlasIterator, emit_u16, emit_u16_be, emit_u32,
    parse_string, parse_u16, parse_u16_be, parse_u32, parse_u64,
};
use netlink_packet_generic::{GenlFamily, GenlMessage};

use crate::table::{Forward, Persistence, Protocol, RealServer, Service, ServiceKey, Stats};

/// The family's name as the kernel registers it.
pub const FAMILY: &str = "IPVS";
const VERSION: u8 = 1;

const CMD_GET_SERVICE: u8 = 4;
const CMD_GET_DEST: u8 = 8;

const CMD_ATTR_SERVICE: u16 = 1;
const CMD_ATTR_DEST: u16 = 2;

const SVC_ATTR_AF: u16 = 1;
const SVC_ATTR_PROTOCOL: u16 = 2;
const SVC_ATTR_ADDR: u16 = 3;
const SVC_ATTR_PORT: u16 = 4;
const SVC_ATTR_FWMARK: u16 = 5;
const SVC_ATTR_SCHED_NAME: u16 = 6;
const SVC_ATTR_FLAGS: u16 = 7;
const SVC_ATTR_TIMEOUT: u16 = 8;
const SVC_ATTR_STATS: u16 = 10;
const SVC_ATTR_STATS64: u16 = 12;

const DEST_ATTR_ADDR: u16 = 1;
const DEST_ATTR_PORT: u16 = 2;
const DEST_ATTR_FWD_METHOD: u16 = 3;
const DEST_ATTR_WEIGHT: u16 = 4;
const DEST_ATTR_ACTIVE_CONNS: u16 = 7;
const DEST_ATTR_INACT_CONNS: u16 = 8;
const DEST_ATTR_STATS: u16 = 10;
const DEST_ATTR_ADDR_FAMILY: u16 = 11;
const DEST_ATTR_STATS64: u16 = 12;

const STATS_CONNS: u16 = 1;
const STATS_INPKTS: u16 = 2;
const STATS_OUTPKTS: u16 = 3;
const STATS_INBYTES: u16 = 4;
const STATS_OUTBYTES: u16 = 5;

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
/// `IP_VS_SVC_F_PERSISTENT`.
const SVC_F_PERSISTENT: u32 = 1;

/// Why the table could not be read over netlink.
#[derive(Debug, thiserror::Error)]
pub enum IpvsGenlError {
    /// The kernel lists no `IPVS` family (module not loaded in this kernel).
    #[error("the kernel has no generic-netlink family IPVS")]
    NoFamily,
    /// The netlink exchange failed (EPERM without CAP_NET_ADMIN, a timeout, a bad answer).
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
}

impl IpvsGenlError {
    /// Whether the kernel refused for lack of privilege (EPERM/EACCES).
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, IpvsGenlError::Netlink(NetlinkError::Kernel { errno }) if matches!(errno.saturating_abs(), 1 | 13))
    }
}

/// An attribute identifying a service in a `GET_DEST` request.
#[derive(Debug, Clone)]
enum SvcId {
    Af(u16),
    Protocol(u16),
    Addr(IpAddr),
    Port(u16),
    Fwmark(u32),
}

impl Nla for SvcId {
    fn value_len(&self) -> usize {
        match self {
            SvcId::Af(_) | SvcId::Protocol(_) | SvcId::Port(_) => 2,
            SvcId::Fwmark(_) => 4,
            SvcId::Addr(_) => 16,
        }
    }

    fn kind(&self) -> u16 {
        match self {
            SvcId::Af(_) => SVC_ATTR_AF,
            SvcId::Protocol(_) => SVC_ATTR_PROTOCOL,
            SvcId::Addr(_) => SVC_ATTR_ADDR,
            SvcId::Port(_) => SVC_ATTR_PORT,
            SvcId::Fwmark(_) => SVC_ATTR_FWMARK,
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            SvcId::Af(v) | SvcId::Protocol(v) => emit_u16(buf, *v).unwrap_or_default(),
            SvcId::Port(p) => emit_u16_be(buf, *p).unwrap_or_default(),
            SvcId::Fwmark(m) => emit_u32(buf, *m).unwrap_or_default(),
            SvcId::Addr(a) => {
                // `union nf_inet_addr`: an IPv4 address fills the first 4 of 16 bytes.
                let bytes: Vec<u8> = match a {
                    IpAddr::V4(v4) => v4.octets().to_vec(),
                    IpAddr::V6(v6) => v6.octets().to_vec(),
                };
                buf.fill(0);
                if let Some(dst) = buf.get_mut(..bytes.len()) {
                    dst.copy_from_slice(&bytes);
                }
            }
        }
    }
}

/// `IPVS_CMD_ATTR_SERVICE`: the nested identity of one service.
#[derive(Debug, Clone)]
struct ServiceAttr(Vec<SvcId>);

impl Nla for ServiceAttr {
    fn value_len(&self) -> usize {
        self.0.as_slice().buffer_len()
    }

    fn kind(&self) -> u16 {
        CMD_ATTR_SERVICE
    }

    fn emit_value(&self, buf: &mut [u8]) {
        self.0.as_slice().emit(buf);
    }
}

/// A request of the IPVS family: a command and, for `GET_DEST`, the service asked about.
#[derive(Debug, Clone)]
pub struct IpvsRequest {
    cmd: u8,
    service: Option<ServiceAttr>,
}

impl GenlFamily for IpvsRequest {
    fn family_name() -> &'static str {
        FAMILY
    }

    fn command(&self) -> u8 {
        self.cmd
    }

    fn version(&self) -> u8 {
        VERSION
    }
}

impl Emitable for IpvsRequest {
    fn buffer_len(&self) -> usize {
        self.service.as_ref().map_or(0, Emitable::buffer_len)
    }

    fn emit(&self, buf: &mut [u8]) {
        if let Some(s) = &self.service {
            s.emit(buf);
        }
    }
}

fn request(family_id: u16, cmd: u8, service: Option<&ServiceKey>) -> GenlMessage<IpvsRequest> {
    let service = service.map(|key| {
        ServiceAttr(match *key {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => vec![
                SvcId::Af(if addr.is_ipv4() { AF_INET } else { AF_INET6 }),
                SvcId::Protocol(protocol.number()),
                SvcId::Addr(addr),
                SvcId::Port(port),
            ],
            ServiceKey::Fwmark { mark, ipv6 } => vec![
                SvcId::Af(if ipv6 { AF_INET6 } else { AF_INET }),
                SvcId::Fwmark(mark),
            ],
        })
    });
    let mut msg = GenlMessage::from_payload(IpvsRequest { cmd, service });
    msg.set_resolved_family_id(family_id);
    msg
}

/// The GET_DEST request for `key`, as sent (genl header and attributes), for tests and fuzzing.
pub fn dest_request_bytes(key: &ServiceKey) -> Vec<u8> {
    let msg = request(0x20, CMD_GET_DEST, Some(key));
    let mut out = vec![0; msg.buffer_len()];
    msg.emit(&mut out);
    out
}

fn attrs(payload: &[u8]) -> Result<NlasIterator<&[u8]>, DecodeError> {
    Ok(NlasIterator::new(
        payload
            .get(GENL_HEADER_LEN..)
            .ok_or_else(|| DecodeError::from("generic netlink message shorter than its header"))?,
    ))
}

/// The nested attribute `kind` of a message, if present.
fn nested(payload: &[u8], kind: u16) -> Result<Option<&[u8]>, DecodeError> {
    for nla in attrs(payload)? {
        let nla = nla?;
        if nla.kind() == kind {
            return Ok(Some(value_of(nla)));
        }
    }
    Ok(None)
}

fn value_of(nla: NlaBuffer<&[u8]>) -> &[u8] {
    let len = nla.value_length();
    nla.into_inner().get(4..4 + len).unwrap_or_default()
}

fn parse_addr(v: &[u8], family: u16) -> Result<IpAddr, DecodeError> {
    let short = || DecodeError::from("IPVS address attribute too short");
    Ok(if family == AF_INET6 {
        let b: [u8; 16] = v
            .get(..16)
            .ok_or_else(short)?
            .try_into()
            .map_err(|_| short())?;
        IpAddr::V6(Ipv6Addr::from(b))
    } else {
        let b: [u8; 4] = v
            .get(..4)
            .ok_or_else(short)?
            .try_into()
            .map_err(|_| short())?;
        IpAddr::V4(Ipv4Addr::from(b))
    })
}

fn parse_stats(v: &[u8], wide: bool) -> Result<Stats, DecodeError> {
    let mut s = Stats::default();
    for nla in NlasIterator::new(v) {
        let nla = nla?;
        let kind = nla.kind();
        let v = value_of(nla);
        // In the 32-bit block only the byte counters are 64-bit.
        let n = if wide || matches!(kind, STATS_INBYTES | STATS_OUTBYTES) {
            parse_u64(v)?
        } else {
            u64::from(parse_u32(v)?)
        };
        match kind {
            STATS_CONNS => s.conns = n,
            STATS_INPKTS => s.in_packets = n,
            STATS_OUTPKTS => s.out_packets = n,
            STATS_INBYTES => s.in_bytes = n,
            STATS_OUTBYTES => s.out_bytes = n,
            _ => {}
        }
    }
    Ok(s)
}

/// Reads one `GET_SERVICE` answer (genl header, then `IPVS_CMD_ATTR_SERVICE`).
pub fn decode_service(payload: &[u8]) -> Result<Service, DecodeError> {
    let svc = nested(payload, CMD_ATTR_SERVICE)?
        .ok_or_else(|| DecodeError::from("IPVS service message without a service attribute"))?;
    let (mut af, mut proto, mut addr, mut port, mut fwmark) = (AF_INET, None, None, None, None);
    let (mut sched, mut flags, mut timeout) = (String::new(), 0u32, 0u32);
    let (mut stats32, mut stats64) = (None, None);
    for nla in NlasIterator::new(svc) {
        let nla = nla?;
        let kind = nla.kind();
        let v = value_of(nla);
        match kind {
            SVC_ATTR_AF => af = parse_u16(v)?,
            SVC_ATTR_PROTOCOL => proto = Some(parse_u16(v)?),
            SVC_ATTR_ADDR => addr = Some(v.to_vec()),
            SVC_ATTR_PORT => port = Some(parse_u16_be(v)?),
            SVC_ATTR_FWMARK => fwmark = Some(parse_u32(v)?),
            SVC_ATTR_SCHED_NAME => sched = parse_string(v)?,
            SVC_ATTR_FLAGS => flags = parse_u32(v.get(..4).unwrap_or(v))?,
            SVC_ATTR_TIMEOUT => timeout = parse_u32(v)?,
            SVC_ATTR_STATS => stats32 = Some(parse_stats(v, false)?),
            SVC_ATTR_STATS64 => stats64 = Some(parse_stats(v, true)?),
            _ => {}
        }
    }
    let key = match fwmark.filter(|m| *m != 0) {
        Some(mark) => ServiceKey::Fwmark {
            mark,
            ipv6: af == AF_INET6,
        },
        None => ServiceKey::Addr {
            protocol: proto
                .and_then(Protocol::from_number)
                .ok_or_else(|| DecodeError::from(format!("IPVS service of protocol {proto:?}")))?,
            addr: parse_addr(
                &addr.ok_or_else(|| DecodeError::from("IPVS service without an address"))?,
                af,
            )?,
            port: port.unwrap_or(0),
        },
    };
    Ok(Service {
        key,
        scheduler: sched,
        persistence: (flags & SVC_F_PERSISTENT != 0).then_some(Persistence::Seconds(timeout)),
        real_servers: Vec::new(),
        stats: stats64.or(stats32),
    })
}

/// Reads one `GET_DEST` answer (genl header, then `IPVS_CMD_ATTR_DEST`); `service_af` is the
/// family of the service asked about (older kernels send no per-destination family).
pub fn decode_dest(payload: &[u8], service_af_v6: bool) -> Result<RealServer, DecodeError> {
    let d = nested(payload, CMD_ATTR_DEST)?
        .ok_or_else(|| DecodeError::from("IPVS destination message without a dest attribute"))?;
    let mut af = if service_af_v6 { AF_INET6 } else { AF_INET };
    let (mut addr, mut port, mut fwd, mut weight) = (None, 0u16, None, 0i64);
    let (mut active, mut inactive) = (0u64, 0u64);
    let (mut stats32, mut stats64) = (None, None);
    for nla in NlasIterator::new(d) {
        let nla = nla?;
        let kind = nla.kind();
        let v = value_of(nla);
        match kind {
            DEST_ATTR_ADDR => addr = Some(v.to_vec()),
            DEST_ATTR_PORT => port = parse_u16_be(v)?,
            DEST_ATTR_FWD_METHOD => fwd = Forward::from_code(parse_u32(v)?),
            // The kernel's weight is an int carried in a u32 attribute.
            DEST_ATTR_WEIGHT => weight = i64::from(i32::from_ne_bytes(parse_u32(v)?.to_ne_bytes())),
            DEST_ATTR_ACTIVE_CONNS => active = u64::from(parse_u32(v)?),
            DEST_ATTR_INACT_CONNS => inactive = u64::from(parse_u32(v)?),
            DEST_ATTR_ADDR_FAMILY => af = parse_u16(v)?,
            DEST_ATTR_STATS => stats32 = Some(parse_stats(v, false)?),
            DEST_ATTR_STATS64 => stats64 = Some(parse_stats(v, true)?),
            _ => {}
        }
    }
    Ok(RealServer {
        addr: parse_addr(
            &addr.ok_or_else(|| DecodeError::from("IPVS destination without an address"))?,
            af,
        )?,
        port,
        forward: fwd,
        weight,
        active_conns: active,
        inactive_conns: inactive,
        stats: stats64.or(stats32),
    })
}

/// Reads the whole table: every service, then each one's real servers. `max_services` bounds the
/// number of per-service dumps (and so the labels); services beyond it are returned without
/// their real servers, and `truncated` says so.
pub fn read(limits: Limits, max_services: usize) -> Result<(Vec<Service>, bool), IpvsGenlError> {
    read_tapped(limits, max_services, &mut |_, _| {})
}

/// Which dump an answer of the kernel belongs to.
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    /// The service dump.
    Service,
    /// The real-server dump of this service.
    Dest(&'a ServiceKey),
}

/// [`read`], handing every answer's payload (genl header and attributes, as the kernel sent
/// them) to `tap` before it is decoded: how the unit tests' captures are taken
/// (`examples/ipvs_capture.rs`).
pub fn read_tapped(
    limits: Limits,
    max_services: usize,
    tap: &mut dyn FnMut(Answer<'_>, &[u8]),
) -> Result<(Vec<Service>, bool), IpvsGenlError> {
    let mut sock = genl::open(limits)?;
    let id = genl::family_id(&mut sock, FAMILY)?.ok_or(IpvsGenlError::NoFamily)?;
    read_with(&mut sock, id, max_services, tap)
}

fn read_with(
    sock: &mut Socket,
    id: u16,
    max_services: usize,
    tap: &mut dyn FnMut(Answer<'_>, &[u8]),
) -> Result<(Vec<Service>, bool), IpvsGenlError> {
    let mut services = Vec::new();
    sock.dump(request(id, CMD_GET_SERVICE, None), |_, payload| {
        tap(Answer::Service, payload);
        services.push(decode_service(payload)?);
        Ok(())
    })?;
    services.sort_by_key(|s| s.key);
    let truncated = services.len() > max_services;
    for svc in services.iter_mut().take(max_services) {
        let v6 = match svc.key {
            ServiceKey::Addr { addr, .. } => addr.is_ipv6(),
            ServiceKey::Fwmark { ipv6, .. } => ipv6,
        };
        let mut dests = Vec::new();
        let key = svc.key;
        sock.dump(request(id, CMD_GET_DEST, Some(&key)), |_, payload| {
            tap(Answer::Dest(&key), payload);
            dests.push(decode_dest(payload, v6)?);
            Ok(())
        })?;
        svc.real_servers = dests;
    }
    Ok((services, truncated))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
        let len = u16::try_from(4 + value.len()).unwrap();
        let mut a = Vec::new();
        a.extend_from_slice(&len.to_ne_bytes());
        a.extend_from_slice(&kind.to_ne_bytes());
        a.extend_from_slice(value);
        while a.len() % 4 != 0 {
            a.push(0);
        }
        a
    }

    fn msg(cmd: u8, outer: u16, inner: &[Vec<u8>]) -> Vec<u8> {
        let mut m = vec![cmd, 1, 0, 0];
        m.extend(attr(outer, &inner.concat()));
        m
    }

    fn stats64(vals: [u64; 5]) -> Vec<u8> {
        vals.iter()
            .enumerate()
            .map(|(i, v)| attr(u16::try_from(i + 1).unwrap(), &v.to_ne_bytes()))
            .collect::<Vec<_>>()
            .concat()
    }

    #[test]
    fn a_tcp_service_with_64_bit_counters() {
        let mut addr = [0u8; 16];
        addr[..4].copy_from_slice(&[10, 0, 0, 1]);
        let m = msg(
            CMD_GET_SERVICE,
            CMD_ATTR_SERVICE,
            &[
                attr(SVC_ATTR_AF, &AF_INET.to_ne_bytes()),
                attr(SVC_ATTR_PROTOCOL, &6u16.to_ne_bytes()),
                attr(SVC_ATTR_ADDR, &addr),
                attr(SVC_ATTR_PORT, &80u16.to_be_bytes()),
                attr(SVC_ATTR_SCHED_NAME, b"wrr\0"),
                attr(SVC_ATTR_FLAGS, &[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
                attr(SVC_ATTR_TIMEOUT, &300u32.to_ne_bytes()),
                attr(
                    SVC_ATTR_STATS,
                    &[attr(STATS_CONNS, &7u32.to_ne_bytes())].concat(),
                ),
                attr(SVC_ATTR_STATS64, &stats64([5_000_000_000, 2, 3, 4, 5])),
                attr(99, &[0; 3]),
            ],
        );
        let s = decode_service(&m).unwrap();
        assert_eq!(s.key.to_string(), "tcp/10.0.0.1:80");
        assert_eq!(s.scheduler, "wrr");
        assert_eq!(s.persistence, Some(Persistence::Seconds(300)));
        assert_eq!(
            s.stats,
            Some(Stats {
                conns: 5_000_000_000,
                in_packets: 2,
                out_packets: 3,
                in_bytes: 4,
                out_bytes: 5
            }),
            "STATS64 wins over STATS"
        );
    }

    #[test]
    fn fwmark_v6_service_and_32_bit_stats_only() {
        let m = msg(
            CMD_GET_SERVICE,
            CMD_ATTR_SERVICE,
            &[
                attr(SVC_ATTR_AF, &AF_INET6.to_ne_bytes()),
                attr(SVC_ATTR_FWMARK, &7u32.to_ne_bytes()),
                attr(SVC_ATTR_SCHED_NAME, b"rr\0"),
                attr(SVC_ATTR_FLAGS, &[0, 0, 0, 0, 0, 0, 0, 0]),
                attr(
                    SVC_ATTR_STATS,
                    &[
                        attr(STATS_CONNS, &9u32.to_ne_bytes()),
                        attr(STATS_INBYTES, &(1u64 << 40).to_ne_bytes()),
                    ]
                    .concat(),
                ),
            ],
        );
        let s = decode_service(&m).unwrap();
        assert_eq!(s.key.to_string(), "fwmark6/7");
        assert_eq!(s.persistence, None);
        let st = s.stats.unwrap();
        assert_eq!((st.conns, st.in_bytes), (9, 1 << 40));
    }

    #[test]
    fn a_v6_real_server_with_a_negative_weight_field() {
        let v6: Ipv6Addr = "2001:db8::2".parse().unwrap();
        let m = msg(
            CMD_GET_DEST,
            CMD_ATTR_DEST,
            &[
                attr(DEST_ATTR_ADDR, &v6.octets()),
                attr(DEST_ATTR_PORT, &8080u16.to_be_bytes()),
                attr(DEST_ATTR_FWD_METHOD, &3u32.to_ne_bytes()),
                attr(DEST_ATTR_WEIGHT, &0u32.to_ne_bytes()),
                attr(DEST_ATTR_ACTIVE_CONNS, &4u32.to_ne_bytes()),
                attr(DEST_ATTR_INACT_CONNS, &6u32.to_ne_bytes()),
                attr(DEST_ATTR_ADDR_FAMILY, &AF_INET6.to_ne_bytes()),
                attr(DEST_ATTR_STATS64, &stats64([1, 2, 3, 4, 5])),
            ],
        );
        let d = decode_dest(&m, false).unwrap();
        assert_eq!(d.label(), "[2001:db8::2]:8080");
        assert_eq!(d.forward, Some(Forward::Route));
        assert_eq!((d.weight, d.active_conns, d.inactive_conns), (0, 4, 6));
        assert_eq!(d.stats.unwrap().out_bytes, 5);
        let neg = msg(
            CMD_GET_DEST,
            CMD_ATTR_DEST,
            &[
                attr(
                    DEST_ATTR_ADDR,
                    &[10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                ),
                attr(DEST_ATTR_WEIGHT, &(-1i32).to_ne_bytes()),
            ],
        );
        assert_eq!(decode_dest(&neg, false).unwrap().weight, -1);
    }

    #[test]
    fn malformed_answers_are_errors_not_panics() {
        assert!(decode_service(&[4, 1]).is_err());
        assert!(
            decode_service(&[4, 1, 0, 0]).is_err(),
            "no service attribute"
        );
        let no_addr = msg(
            CMD_GET_SERVICE,
            CMD_ATTR_SERVICE,
            &[attr(SVC_ATTR_PROTOCOL, &6u16.to_ne_bytes())],
        );
        assert!(decode_service(&no_addr).is_err());
        let icmp = msg(
            CMD_GET_SERVICE,
            CMD_ATTR_SERVICE,
            &[
                attr(SVC_ATTR_PROTOCOL, &1u16.to_ne_bytes()),
                attr(SVC_ATTR_ADDR, &[0; 16]),
            ],
        );
        assert!(decode_service(&icmp).is_err());
        let short_addr = msg(
            CMD_GET_DEST,
            CMD_ATTR_DEST,
            &[attr(DEST_ATTR_ADDR, &[1, 2])],
        );
        assert!(decode_dest(&short_addr, false).is_err());
        let bad_stats = msg(
            CMD_GET_DEST,
            CMD_ATTR_DEST,
            &[
                attr(DEST_ATTR_ADDR, &[0; 16]),
                attr(DEST_ATTR_STATS64, &attr(STATS_CONNS, &[1, 2])),
            ],
        );
        assert!(decode_dest(&bad_stats, false).is_err());
    }

    #[test]
    fn the_dest_request_names_the_service() {
        let key: ServiceKey = "udp/[2001:db8::1]:53".parse().unwrap();
        let b = dest_request_bytes(&key);
        assert_eq!(&b[..2], &[CMD_GET_DEST, VERSION]);
        let svc = nested(&b, CMD_ATTR_SERVICE).unwrap().unwrap();
        let kinds: Vec<u16> = NlasIterator::new(svc).map(|n| n.unwrap().kind()).collect();
        assert_eq!(
            kinds,
            vec![SVC_ATTR_AF, SVC_ATTR_PROTOCOL, SVC_ATTR_ADDR, SVC_ATTR_PORT]
        );
        let fw = dest_request_bytes(&"fwmark/9".parse().unwrap());
        let svc = nested(&fw, CMD_ATTR_SERVICE).unwrap().unwrap();
        assert_eq!(NlasIterator::new(svc).count(), 2);
    }

    /// `tests/fixtures/netns-genl`: the kernel's answers to this module's own dumps in the VM
    /// (real servers in network namespaces, traffic through the VIP; see the README), decoded
    /// and put together as [`read`] does.
    fn captured_table() -> Vec<Service> {
        let mut services: Vec<Service> = Vec::new();
        for line in crate::fixtures::text("netns-genl").lines() {
            let (head, hex) = line.rsplit_once(' ').unwrap();
            let payload = crate::fixtures::unhex(hex);
            if head == "service" {
                services.push(decode_service(&payload).unwrap());
                continue;
            }
            let label = head.strip_prefix("dest ").unwrap();
            let svc = services
                .iter_mut()
                .find(|s| s.key.to_string() == label)
                .unwrap_or_else(|| panic!("dest of unknown service {label}"));
            let v6 = matches!(svc.key, ServiceKey::Addr { addr, .. } if addr.is_ipv6());
            svc.real_servers.push(decode_dest(&payload, v6).unwrap());
        }
        services
    }

    #[test]
    fn captured_answers_equal_ipvsadm_of_the_same_moment() {
        let table = captured_table();
        let keys: Vec<String> = table.iter().map(|s| s.key.to_string()).collect();
        assert_eq!(keys.len(), 5, "{keys:?}");
        let listed = suite_tests::ipvsadm::lines(&crate::fixtures::text("netns-ipvsadm-Ln"));
        let stats =
            suite_tests::ipvsadm::lines(&crate::fixtures::text("netns-ipvsadm-Ln-stats-exact"));
        let words = |s: &Stats| {
            [
                s.conns,
                s.in_packets,
                s.out_packets,
                s.in_bytes,
                s.out_bytes,
            ]
            .map(|v| v.to_string())
            .to_vec()
        };
        let mut from_genl = std::collections::BTreeMap::new();
        let mut from_genl_stats = std::collections::BTreeMap::new();
        for s in &table {
            let key = s.key.to_string();
            let mut head = vec![s.scheduler.clone()];
            if let Some(Persistence::Seconds(p)) = s.persistence {
                head.extend(["persistent".to_owned(), p.to_string()]);
            }
            from_genl.insert((key.clone(), String::new()), head);
            from_genl_stats.insert((key.clone(), String::new()), words(&s.stats.unwrap()));
            for r in &s.real_servers {
                let fwd = match r.forward.unwrap() {
                    Forward::Masq => "Masq",
                    Forward::Route => "Route",
                    Forward::Tunnel => "Tunnel",
                    Forward::Local => "Local",
                    Forward::Bypass => "Bypass",
                };
                from_genl.insert(
                    (key.clone(), r.label()),
                    [
                        fwd.to_owned(),
                        r.weight.to_string(),
                        r.active_conns.to_string(),
                        r.inactive_conns.to_string(),
                    ]
                    .to_vec(),
                );
                from_genl_stats.insert((key.clone(), r.label()), words(&r.stats.unwrap()));
            }
        }
        assert_eq!(from_genl, listed);
        assert_eq!(from_genl_stats, stats);
        // The traffic through the VIP reached the namespaced real servers 3:1 (wrr), and UDP moved.
        let web = &stats[&("tcp/10.0.0.3:80".to_owned(), String::new())];
        assert_eq!(web[0], "8");
        assert_eq!(
            stats[&("tcp/10.0.0.3:80".to_owned(), "10.2.1.2:80".to_owned())][0],
            "6"
        );
        assert_eq!(
            stats[&("udp/10.0.0.3:53".to_owned(), String::new())][0],
            "3"
        );
    }

    #[test]
    fn captured_answers_equal_proc_of_the_same_moment() {
        let genl = captured_table();
        let proc =
            crate::proc_ip_vs::parse(&crate::fixtures::text("netns-proc_net_ip_vs")).unwrap();
        let shape = |t: &[Service]| {
            let mut v: Vec<String> = t
                .iter()
                .flat_map(|s| {
                    let svc = format!("{} {}", s.key, s.scheduler);
                    s.real_servers.iter().map(move |r| {
                        format!(
                            "{svc} {} {:?} {} {} {}",
                            r.label(),
                            r.forward,
                            r.weight,
                            r.active_conns,
                            r.inactive_conns
                        )
                    })
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(shape(&genl), shape(&proc.services));
        // The SCTP service and its drained real server, as both sources show them.
        let sctp = genl
            .iter()
            .find(|s| s.key.to_string() == "sctp/10.0.0.3:3868")
            .unwrap();
        assert_eq!(sctp.real_servers[0].weight, 0);
        // Persistence: seconds over netlink, jiffies in /proc.
        let fw = |t: &[Service]| {
            t.iter()
                .find(|s| s.key.to_string() == "fwmark/7")
                .unwrap()
                .persistence
        };
        assert_eq!(fw(&genl), Some(Persistence::Seconds(300)));
        assert_eq!(fw(&proc.services), Some(Persistence::Jiffies(75000)));
    }
}
