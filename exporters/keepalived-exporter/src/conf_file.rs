//! Reads the parts of `keepalived.conf` the exporters need: per-instance gratuitous-ARP settings
//! (the document's `garp_master_refresh` recommendation), the unicast peers to ping and the
//! advert source address, and the LVS `virtual_server` blocks (lvs-exporter's expected services).

use std::net::IpAddr;

use crate::vrrp::{Garp, Vip};

/// keepalived's built-in defaults (keepalived.conf(5)): delay 5 s, repeat 5, refresh off,
/// refresh repeat 1.
pub const DEFAULT_GARP: Garp = Garp {
    delay_seconds: Some(5.0),
    repeat: Some(5.0),
    refresh_seconds: Some(0.0),
    refresh_repeat: Some(1.0),
};

/// One `vrrp_instance` block.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConfInstance {
    /// Instance name.
    pub name: String,
    /// `interface`.
    pub interface: Option<String>,
    /// `virtual_router_id`.
    pub vrid: Option<u32>,
    /// Effective GARP settings: the instance's own, else `global_defs`, else keepalived's default.
    pub garp: Garp,
    /// Whether `garp_master_refresh` was set anywhere (instance or `vrrp_garp_master_refresh`).
    pub refresh_configured: bool,
    /// `unicast_peer` addresses.
    pub unicast_peers: Vec<IpAddr>,
    /// `virtual_ipaddress` entries.
    pub vips: Vec<Vip>,
    /// `unicast_src_ip`, else `mcast_src_ip`: the source address of the adverts, when set.
    pub advert_src_ip: Option<IpAddr>,
}

/// What a `virtual_server` block balances: an address and port, or a firewall mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VirtualServerAddr {
    /// `virtual_server <ip> <port>`.
    Socket(IpAddr, u16),
    /// `virtual_server fwmark <mark>`.
    Fwmark(u32),
}

/// One `real_server` of a `virtual_server` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfRealServer {
    /// Its address.
    pub addr: IpAddr,
    /// Its port (keepalived allows omitting it: then the virtual server's port).
    pub port: Option<u16>,
    /// `weight` (keepalived's default is 1).
    pub weight: Option<i64>,
}

/// One `virtual_server` block (LVS configuration keepalived maintains).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfVirtualServer {
    /// What it balances.
    pub addr: VirtualServerAddr,
    /// `protocol` (keepalived's default is TCP), upper case.
    pub protocol: String,
    /// `lb_algo` (or `lvs_sched`): the scheduler, when given.
    pub scheduler: Option<String>,
    /// `lb_kind` (`DR`, `NAT`, `TUN`), when given.
    pub lb_kind: Option<String>,
    /// `persistence_timeout` in seconds, when given.
    pub persistence_timeout: Option<u32>,
    /// Its `real_server` blocks.
    pub real_servers: Vec<ConfRealServer>,
}

/// What the file says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KeepalivedConf {
    /// The VRRP instances, in file order (includes are spliced in by `conf_include` first).
    pub instances: Vec<ConfInstance>,
    /// The `virtual_server` blocks, in file order (`virtual_server_group` references are skipped:
    /// they name no address of their own).
    pub virtual_servers: Vec<ConfVirtualServer>,
}

#[derive(Debug, Default)]
struct Block {
    words: Vec<String>,
    children: Vec<Block>,
}

/// Splits into words and braces, dropping `#` and `!` comments and quotes.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split(['#', '!']).next().unwrap_or("");
        let mut word = String::new();
        for c in line.chars() {
            match c {
                '{' | '}' => {
                    if !word.is_empty() {
                        out.push(std::mem::take(&mut word));
                    }
                    out.push(c.to_string());
                }
                c if c.is_whitespace() => {
                    if !word.is_empty() {
                        out.push(std::mem::take(&mut word));
                    }
                }
                '"' => {}
                c => word.push(c),
            }
        }
        if !word.is_empty() {
            out.push(word);
        }
        out.push("\n".to_owned());
    }
    out
}

/// Builds the statement tree: each statement is its words up to a newline or an opening brace.
fn tree(tokens: &[String]) -> Vec<Block> {
    fn level(tokens: &[String], pos: &mut usize, depth: usize) -> Vec<Block> {
        let mut out = Vec::new();
        let mut current = Block::default();
        while *pos < tokens.len() {
            let t = &tokens[*pos];
            *pos += 1;
            match t.as_str() {
                "{" => {
                    // Bound the nesting so a hostile file cannot exhaust the stack.
                    current.children = if depth < 16 {
                        level(tokens, pos, depth + 1)
                    } else {
                        Vec::new()
                    };
                    out.push(std::mem::take(&mut current));
                }
                // A stray closing brace at the top level is skipped, not the end of the file.
                "}" if depth == 0 => {}
                "}" => break,
                "\n" => {
                    if !current.words.is_empty() {
                        out.push(std::mem::take(&mut current));
                    }
                }
                w => current.words.push(w.to_owned()),
            }
        }
        if !current.words.is_empty() {
            out.push(current);
        }
        out
    }
    let mut pos = 0;
    level(tokens, &mut pos, 0)
}

fn arg_f64(b: &Block) -> Option<f64> {
    b.words
        .get(1)
        .and_then(|w| w.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
}

fn apply_garp(garp: &mut Garp, refresh_set: &mut bool, b: &Block, prefix: &str) {
    let Some(key) = b.words.first().and_then(|k| k.strip_prefix(prefix)) else {
        return;
    };
    let v = arg_f64(b);
    match key {
        "garp_master_delay" => garp.delay_seconds = v.or(garp.delay_seconds),
        "garp_master_repeat" => garp.repeat = v.or(garp.repeat),
        "garp_master_refresh" => {
            garp.refresh_seconds = v.or(garp.refresh_seconds);
            *refresh_set |= v.is_some_and(|v| v > 0.0);
        }
        "garp_master_refresh_repeat" => garp.refresh_repeat = v.or(garp.refresh_repeat),
        _ => {}
    }
}

/// Parses a keepalived.conf; unknown statements are ignored.
pub fn parse(text: &str) -> KeepalivedConf {
    let top = tree(&tokens(text));
    let mut global = DEFAULT_GARP;
    let mut global_refresh_set = false;
    let mut conf = KeepalivedConf::default();
    for b in top
        .iter()
        .filter(|b| b.words.first().is_some_and(|w| w == "global_defs"))
    {
        for c in &b.children {
            apply_garp(&mut global, &mut global_refresh_set, c, "vrrp_");
        }
    }
    for b in top
        .iter()
        .filter(|b| b.words.first().is_some_and(|w| w == "vrrp_instance"))
    {
        let mut inst = ConfInstance {
            name: b.words.get(1).cloned().unwrap_or_default(),
            garp: global,
            refresh_configured: global_refresh_set,
            ..ConfInstance::default()
        };
        for c in &b.children {
            match c.words.first().map(String::as_str) {
                Some("interface") => inst.interface = c.words.get(1).cloned(),
                Some("virtual_router_id") => {
                    inst.vrid = c.words.get(1).and_then(|w| w.parse().ok())
                }
                Some("unicast_peer") => {
                    // Each child line starts with an address (options like min_ttl may follow).
                    inst.unicast_peers.extend(
                        c.children
                            .iter()
                            .filter_map(|p| p.words.first()?.parse::<IpAddr>().ok()),
                    );
                }
                Some("virtual_ipaddress") => {
                    inst.vips.extend(
                        c.children
                            .iter()
                            .filter_map(|v| Vip::parse(&v.words.join(" "))),
                    );
                }
                Some("unicast_src_ip") => {
                    inst.advert_src_ip = c.words.get(1).and_then(|w| w.parse().ok());
                }
                Some("mcast_src_ip") => {
                    inst.advert_src_ip = inst
                        .advert_src_ip
                        .or_else(|| c.words.get(1).and_then(|w| w.parse().ok()));
                }
                _ => apply_garp(&mut inst.garp, &mut inst.refresh_configured, c, ""),
            }
        }
        if !inst.name.is_empty() {
            conf.instances.push(inst);
        }
    }
    conf.virtual_servers = top
        .iter()
        .filter(|b| b.words.first().is_some_and(|w| w == "virtual_server"))
        .filter_map(virtual_server)
        .collect();
    conf
}

/// Reads one `virtual_server` block; `None` for a group reference or an unreadable address.
fn virtual_server(b: &Block) -> Option<ConfVirtualServer> {
    let addr = match (b.words.get(1).map(String::as_str), b.words.get(2)) {
        (Some("fwmark"), Some(mark)) => VirtualServerAddr::Fwmark(mark.parse().ok()?),
        (Some("group"), _) => return None,
        (Some(ip), Some(port)) => VirtualServerAddr::Socket(ip.parse().ok()?, port.parse().ok()?),
        _ => return None,
    };
    let mut vs = ConfVirtualServer {
        addr,
        protocol: "TCP".to_owned(),
        scheduler: None,
        lb_kind: None,
        persistence_timeout: None,
        real_servers: Vec::new(),
    };
    for c in &b.children {
        let arg = c.words.get(1);
        match c.words.first().map(String::as_str) {
            Some("protocol") => {
                if let Some(p) = arg {
                    vs.protocol = p.to_ascii_uppercase();
                }
            }
            Some("lb_algo" | "lvs_sched") => vs.scheduler = arg.cloned(),
            Some("lb_kind" | "lvs_method") => vs.lb_kind = arg.map(|k| k.to_ascii_uppercase()),
            Some("persistence_timeout") => {
                vs.persistence_timeout = arg.and_then(|t| t.parse().ok());
            }
            Some("real_server") => {
                let Some(addr) = arg.and_then(|a| a.parse().ok()) else {
                    continue;
                };
                let weight = c
                    .children
                    .iter()
                    .find(|w| w.words.first().is_some_and(|k| k == "weight"))
                    .and_then(|w| w.words.get(1)?.parse().ok());
                vs.real_servers.push(ConfRealServer {
                    addr,
                    port: c.words.get(2).and_then(|p| p.parse().ok()),
                    weight,
                });
            }
            _ => {}
        }
    }
    Some(vs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_test_config() {
        let text = crate::fixtures::text("keepalived-a.conf");
        let c = parse(&text);
        assert_eq!(c.instances.len(), 1);
        let i = &c.instances[0];
        assert_eq!(i.name, "VI_1");
        assert_eq!(i.interface.as_deref(), Some("eth0"));
        assert_eq!(i.vrid, Some(51));
        assert!(i.refresh_configured);
        assert_eq!(
            i.garp,
            Garp {
                delay_seconds: Some(2.0),
                repeat: Some(3.0),
                refresh_seconds: Some(60.0),
                refresh_repeat: Some(1.0)
            }
        );
        assert_eq!(
            i.unicast_peers,
            vec!["10.77.0.2".parse::<IpAddr>().unwrap()]
        );
    }

    #[test]
    fn instance_settings_override_global_and_defaults_apply() {
        let text = r#"
! Configuration File for keepalived (1.x style, as shipped)
global_defs {
   router_id LVS_DEVEL   # comment
   vrrp_garp_master_repeat 2
}
include /etc/keepalived/conf.d/*.conf
vrrp_instance redis {
    state MASTER
    interface eth1
    virtual_router_id 7
    garp_master_refresh 30
    garp_master_delay 1
    virtual_ipaddress { 10.202.50.104 }
}
vrrp_instance "VI_2" {
  interface eth0
  virtual_router_id nonsense
  garp_master_refresh 0
  unicast_peer {
    192.0.2.7 min_ttl 1
    not-an-ip
  }
}
vrrp_instance {
}
"#;
        let c = parse(text);
        assert_eq!(c.instances.len(), 2);
        let redis = &c.instances[0];
        assert!(redis.refresh_configured);
        assert_eq!(redis.vips.len(), 1);
        assert_eq!(redis.vips[0].interface, None);
        assert_eq!(
            redis.garp,
            Garp {
                delay_seconds: Some(1.0),
                repeat: Some(2.0),
                refresh_seconds: Some(30.0),
                refresh_repeat: Some(1.0)
            }
        );
        let v2 = &c.instances[1];
        assert_eq!(v2.name, "VI_2");
        assert_eq!(v2.vrid, None);
        assert!(!v2.refresh_configured, "0 means off");
        assert_eq!(v2.garp.delay_seconds, Some(5.0));
        assert_eq!(v2.unicast_peers.len(), 1);
    }

    #[test]
    fn virtual_servers_and_advert_sources() {
        let text = r#"
vrrp_instance VI_LB {
    interface eth1
    virtual_router_id 60
    unicast_src_ip 192.168.10.11
    unicast_peer { 192.168.10.12 }
    virtual_ipaddress { 10.202.50.104/24 dev eth0 }
}
vrrp_instance VI_M {
    mcast_src_ip 192.168.10.11
}
virtual_server 10.202.50.104 6379 {
    delay_loop 6
    lb_algo wrr
    lb_kind dr
    persistence_timeout 300
    protocol TCP
    real_server 192.168.20.1 6379 {
        weight 3
        TCP_CHECK { connect_timeout 3 }
    }
    real_server 192.168.20.2 6379 {
        weight 0
    }
    real_server bogus 1 { }
}
virtual_server 2001:db8::10 53 {
    protocol udp
    real_server 2001:db8::11 53 { }
}
virtual_server fwmark 7 {
    real_server 192.168.20.3 { weight 1 }
}
virtual_server group VSG_1 { }
virtual_server 10.0.0.1 notaport { }
"#;
        let c = parse(text);
        assert_eq!(
            c.instances[0].advert_src_ip,
            Some("192.168.10.11".parse().unwrap())
        );
        assert_eq!(
            c.instances[1].advert_src_ip,
            Some("192.168.10.11".parse().unwrap())
        );
        assert_eq!(c.virtual_servers.len(), 3);
        let redis = &c.virtual_servers[0];
        assert_eq!(
            redis.addr,
            VirtualServerAddr::Socket("10.202.50.104".parse().unwrap(), 6379)
        );
        assert_eq!(redis.protocol, "TCP");
        assert_eq!(redis.scheduler.as_deref(), Some("wrr"));
        assert_eq!(redis.lb_kind.as_deref(), Some("DR"));
        assert_eq!(redis.persistence_timeout, Some(300));
        assert_eq!(redis.real_servers.len(), 2);
        assert_eq!(redis.real_servers[0].weight, Some(3));
        assert_eq!(redis.real_servers[1].weight, Some(0));
        assert_eq!(c.virtual_servers[1].protocol, "UDP");
        assert_eq!(c.virtual_servers[1].real_servers[0].weight, None);
        assert_eq!(c.virtual_servers[2].addr, VirtualServerAddr::Fwmark(7));
        assert_eq!(c.virtual_servers[2].real_servers[0].port, None);
    }

    #[test]
    fn garbage_and_deep_nesting_do_not_panic() {
        assert_eq!(parse(""), KeepalivedConf::default());
        let deep = "{".repeat(10_000);
        assert_eq!(parse(&deep).instances.len(), 0);
        assert!(
            !parse("}}}} vrrp_instance x { garp_master_refresh -5 }").instances[0]
                .refresh_configured
        );
    }
}
