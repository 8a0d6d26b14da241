//! Reads the parts of `keepalived.conf` the exporter needs: per-instance gratuitous-ARP settings
//! (the document's `garp_master_refresh` recommendation) and the unicast peers to ping.

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
}

/// What the file says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KeepalivedConf {
    /// The VRRP instances, in file order (includes are spliced in by `conf_include` first).
    pub instances: Vec<ConfInstance>,
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
                _ => apply_garp(&mut inst.garp, &mut inst.refresh_configured, c, ""),
            }
        }
        if !inst.name.is_empty() {
            conf.instances.push(inst);
        }
    }
    conf
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
