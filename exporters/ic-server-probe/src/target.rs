//! Turning an IC-Server address into its health URL, from the configured template.

use crate::config::IP_PLACEHOLDER;

/// One IC-Server to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The address as configured (the `ic_server_address` label).
    pub address: String,
    /// The health URL to GET.
    pub url: String,
}

/// Fills `<IP>` in `template` with `address`.
///
/// IPv6 literals get the brackets URLs need; a `host:port` address also replaces the template's
/// port, so `/probe?target=10.1.0.2:18088` does what a blackbox user expects.
pub fn health_url(template: &str, address: &str) -> String {
    if address.parse::<std::net::Ipv6Addr>().is_ok() {
        return template.replace(IP_PLACEHOLDER, &format!("[{address}]"));
    }
    let port = address.rsplit_once(':').filter(|(host, port)| {
        !host.is_empty()
            && (!host.contains(':') || host.ends_with(']'))
            && port.parse::<u16>().is_ok()
    });
    let Some((host, port)) = port else {
        return template.replace(IP_PLACEHOLDER, address);
    };
    let url = template.replace(IP_PLACEHOLDER, host);
    // Swap the port of the authority (the part between `://` and the next `/` or `?`).
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url;
    };
    let auth_end = url[scheme_end..]
        .find(['/', '?'])
        .map_or(url.len(), |i| scheme_end + i);
    let authority = &url[scheme_end..auth_end];
    let host_part = match authority.rsplit_once(':') {
        Some((h, p))
            if p.parse::<u16>().is_ok()
                && !h.is_empty()
                && (!h.contains(':') || h.ends_with(']')) =>
        {
            h
        }
        _ => authority,
    };
    format!(
        "{}{host_part}:{port}{}",
        &url[..scheme_end],
        &url[auth_end..]
    )
}

/// The targets of `addresses` under `template`, in configured order.
pub(crate) fn targets(template: &str, addresses: &[String]) -> Vec<Target> {
    addresses
        .iter()
        .map(|a| Target {
            address: a.clone(),
            url: health_url(template, a),
        })
        .collect()
}

/// A `/probe?target=` value: an address (the template is applied) or a full `http(s)://` URL.
pub fn from_probe_param(template: &str, target: &str) -> Result<Target, String> {
    let target = target.trim();
    if target.is_empty() {
        return Err("target parameter is missing".to_owned());
    }
    if target.len() > 512 || target.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("target {target:?} is not an address or URL"));
    }
    if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
        };
        if host.is_empty() {
            return Err(format!("target {target:?} has no host"));
        }
        return Ok(Target {
            address: host.to_owned(),
            url: target.to_owned(),
        });
    }
    if target.contains('/') {
        return Err(format!("target {target:?} is not an address or URL"));
    }
    Ok(Target {
        address: target.to_owned(),
        url: health_url(template, target),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_HEALTH_URL;

    #[test]
    fn addresses_fill_the_documents_url() {
        assert_eq!(
            health_url(DEFAULT_HEALTH_URL, "10.1.0.2"),
            "http://10.1.0.2:8088/ok"
        );
        assert_eq!(
            health_url(DEFAULT_HEALTH_URL, "ic1.vpc.local"),
            "http://ic1.vpc.local:8088/ok"
        );
        assert_eq!(
            health_url(DEFAULT_HEALTH_URL, "fd00::2"),
            "http://[fd00::2]:8088/ok"
        );
        assert_eq!(
            health_url(DEFAULT_HEALTH_URL, "[fd00::2]"),
            "http://[fd00::2]:8088/ok"
        );
    }

    #[test]
    fn probe_params_take_addresses_or_urls() {
        let t = from_probe_param(DEFAULT_HEALTH_URL, "10.1.0.2").unwrap();
        assert_eq!(
            (t.address.as_str(), t.url.as_str()),
            ("10.1.0.2", "http://10.1.0.2:8088/ok")
        );
        let t = from_probe_param(DEFAULT_HEALTH_URL, "http://127.0.0.5:9000/ok").unwrap();
        assert_eq!(
            (t.address.as_str(), t.url.as_str()),
            ("127.0.0.5", "http://127.0.0.5:9000/ok")
        );
        let t = from_probe_param(DEFAULT_HEALTH_URL, "https://[::1]:8443/ok").unwrap();
        assert_eq!(t.address, "::1");
        for bad in ["", "  ", "a b", "10.0.0.1/ok", "http://:80/ok", "x\u{7}"] {
            assert!(
                from_probe_param(DEFAULT_HEALTH_URL, bad).is_err(),
                "{bad:?}"
            );
        }
    }
}
