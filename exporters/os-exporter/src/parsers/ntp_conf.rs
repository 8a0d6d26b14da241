//! The time sources a host's NTP daemon is configured with: `server`, `pool` and `peer` lines of
//! `chrony.conf` and `ntp.conf` (ntpd, ntpsec), and chrony's `sourcedir` / `confdir` /
//! `include` directives that name more files. These are what `ntpdate -q` would be pointed at
//! (document 001 §2.1 os_ntp_offset).

/// One configured time source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Host name or address as written.
    pub host: String,
    /// chrony's `port N` option; `None` is NTP's 123.
    pub port: Option<u16>,
}

/// What one file says: its sources, and the directories or globs it points at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NtpConf {
    /// `server`, `pool` and `peer` lines, in file order.
    pub sources: Vec<Source>,
    /// chrony `sourcedir DIR` (files `*.sources`, with server/pool lines).
    pub source_dirs: Vec<String>,
    /// chrony `confdir DIR` (files `*.conf`).
    pub conf_dirs: Vec<String>,
    /// chrony `include GLOB`, ntpd `includefile FILE`.
    pub includes: Vec<String>,
}

/// ntpd's reference-clock pseudo addresses (`127.127.t.u`): local drivers, not servers to ask.
fn is_refclock(host: &str) -> bool {
    host.starts_with("127.127.")
}

/// Parses one file. Comments (`#`, `!`, `;`, `%`: chrony accepts all four) and unknown
/// directives are skipped; a source line without a host is skipped.
pub fn parse(text: &str) -> NtpConf {
    let mut conf = NtpConf::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', '!', ';', '%']) {
            continue;
        }
        let mut words = line.split_whitespace();
        let Some(directive) = words.next() else {
            continue;
        };
        match directive {
            "server" | "pool" | "peer" => {
                let Some(word) = words.next() else { continue };
                let host = word.trim_start_matches('[').trim_end_matches(']');
                if host.is_empty() || is_refclock(host) || host.starts_with('-') {
                    continue;
                }
                let mut port = None;
                while let Some(w) = words.next() {
                    if w == "port" {
                        port = words.next().and_then(|p| p.parse().ok());
                    }
                }
                conf.sources.push(Source {
                    host: host.to_owned(),
                    port,
                });
            }
            "sourcedir" => conf.source_dirs.extend(words.next().map(str::to_owned)),
            "confdir" => conf.conf_dirs.extend(words.map(str::to_owned)),
            "include" | "includefile" => conf.includes.extend(words.next().map(str::to_owned)),
            _ => {}
        }
    }
    conf
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Debian 12's /etc/chrony/chrony.conf as chrony 4.3-2 installs it (comments trimmed).
    const DEBIAN_CHRONY: &str = "\
# Welcome to the chrony configuration file. See chrony.conf(5) for more
# Use Debian vendor zone.
pool 2.debian.pool.ntp.org iburst

# Use time sources from DHCP.
sourcedir /run/chrony-dhcp

# Use NTP sources found in /etc/chrony/sources.d.
sourcedir /etc/chrony/sources.d

keyfile /etc/chrony/chrony.keys
driftfile /var/lib/chrony/chrony.drift
ntsdumpdir /var/lib/chrony
logdir /var/log/chrony
maxupdateskew 100.0
rtcsync
makestep 1 3
leapsectz right/UTC
";

    #[test]
    fn debian_chrony_conf_names_its_pool_and_source_dirs() {
        let c = parse(DEBIAN_CHRONY);
        assert_eq!(
            c.sources,
            vec![Source {
                host: "2.debian.pool.ntp.org".to_owned(),
                port: None
            }]
        );
        assert_eq!(c.source_dirs, ["/run/chrony-dhcp", "/etc/chrony/sources.d"]);
    }

    #[test]
    fn ntpd_servers_skip_refclocks_and_chrony_ports_are_read() {
        let c = parse(
            "server 127.127.1.0\nfudge 127.127.1.0 stratum 10\nserver 10.0.0.1 iburst\n\
             restrict -6 default kod\nserver ntp.example.com port 11123 minpoll 4\n\
             server [fd00::1] iburst\npeer 10.0.0.2\nserver\nserver []\nincludefile /etc/ntp/crypto/pw\n\
             confdir /etc/chrony/conf.d /usr/share/chrony/conf.d\n! server ignored.example\n",
        );
        let hosts: Vec<(&str, Option<u16>)> = c
            .sources
            .iter()
            .map(|s| (s.host.as_str(), s.port))
            .collect();
        assert_eq!(
            hosts,
            [
                ("10.0.0.1", None),
                ("ntp.example.com", Some(11123)),
                ("fd00::1", None),
                ("10.0.0.2", None)
            ]
        );
        assert_eq!(c.includes, ["/etc/ntp/crypto/pw"]);
        assert_eq!(
            c.conf_dirs,
            ["/etc/chrony/conf.d", "/usr/share/chrony/conf.d"]
        );
    }
}
