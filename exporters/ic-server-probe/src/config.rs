//! The ic-server-probe TOML configuration; every field has a default so no file is needed.

use std::path::PathBuf;
use std::time::Duration;

use common::http_probe::{BodyExpect, Expect};
use common::tls::TlsOptions;
use serde::Deserialize;

/// The document's health interface: `http://<IP>:8088/ok`, `<IP>` being the IC-Server address.
pub(crate) const DEFAULT_HEALTH_URL: &str = "http://<IP>:8088/ok";

/// The placeholder replaced by each IC-Server address.
pub(crate) const IP_PLACEHOLDER: &str = "<IP>";

/// Top-level configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Which collectors run (`[collectors] enabled / disabled`).
    pub(crate) collectors: common::CollectorsConfig,
    /// The OCP node this exporter speaks for (`ocp_address` label); default the host name.
    pub(crate) ocp_address: Option<String>,
    /// IC-Server addresses (IP or host name) to probe at every scrape.
    pub(crate) ic_servers: Vec<String>,
    /// Health URL template; `<IP>` is replaced by each address.
    pub(crate) health_url: String,
    /// Per-probe timeout; the scrape deadline cuts it shorter when that comes first.
    #[serde(with = "common::config::duration")]
    pub(crate) timeout: Duration,
    /// When set, a healthy answer's body (trimmed) must equal this text.
    pub(crate) expected_body: Option<String>,
    /// When set, a healthy answer's body must contain this text.
    pub(crate) expected_body_contains: Option<String>,
    /// Accepted status codes; empty means any 2xx.
    pub(crate) expected_status_codes: Vec<u16>,
    /// Bodies longer than this are a failure (`body_too_large`).
    pub(crate) max_body_bytes: usize,
    /// TLS settings for `https://` templates.
    pub(crate) tls: TlsOptions,
    /// Checks of the IC-Server host itself, when the exporter runs there.
    pub(crate) local: LocalConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            collectors: common::CollectorsConfig::default(),
            ocp_address: None,
            ic_servers: Vec::new(),
            health_url: DEFAULT_HEALTH_URL.to_owned(),
            timeout: Duration::from_secs(5),
            expected_body: None,
            expected_body_contains: None,
            expected_status_codes: Vec::new(),
            max_body_bytes: 64 * 1024,
            tls: TlsOptions::default(),
            local: LocalConfig::default(),
        }
    }
}

/// `[local]`: the document's on-host procedure (process running, errors in server.log).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct LocalConfig {
    /// Turns the local checks on.
    pub(crate) enabled: bool,
    /// Name matched against process names and command-line words (`ps -ef | grep ic-server`).
    pub(crate) process_name: String,
    /// The IC-Server log (`~/logs/ic-server/server.log`, completed for the deployment).
    pub(crate) log_file: Option<PathBuf>,
    /// Words that make a log line an error line (`grep "error"`).
    pub(crate) error_keywords: Vec<String>,
    /// Match the keywords ignoring case, so `ERROR` level lines count too.
    pub(crate) case_insensitive: bool,
}

impl Default for LocalConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            process_name: "ic-server".to_owned(),
            log_file: None,
            error_keywords: vec!["error".to_owned()],
            case_insensitive: true,
        }
    }
}

impl common::ExporterConfig for Config {
    fn collectors(&self) -> &common::CollectorsConfig {
        &self.collectors
    }

    /// Checks what serde cannot: names the offending field.
    fn validate(&self) -> Result<(), String> {
        if !self.health_url.contains(IP_PLACEHOLDER) {
            return Err(format!(
                "health_url {:?} must contain {IP_PLACEHOLDER}",
                self.health_url
            ));
        }
        if !(self.health_url.starts_with("http://") || self.health_url.starts_with("https://")) {
            return Err(format!(
                "health_url {:?} must start with http:// or https://",
                self.health_url
            ));
        }
        if self.timeout.is_zero() {
            return Err("timeout must be greater than 0".to_owned());
        }
        if self.expected_body.is_some() && self.expected_body_contains.is_some() {
            return Err("expected_body and expected_body_contains are exclusive".to_owned());
        }
        if let Some(c) = self
            .expected_status_codes
            .iter()
            .find(|c| !(100..=599).contains(*c))
        {
            return Err(format!(
                "expected_status_codes: {c} is not an HTTP status code"
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for a in &self.ic_servers {
            if a.trim().is_empty() || a.chars().any(|c| c.is_whitespace() || c == '/') {
                return Err(format!("ic_servers: {a:?} is not an address"));
            }
            if !seen.insert(a) {
                return Err(format!("ic_servers: {a:?} is listed twice"));
            }
        }
        if let Some(o) = &self.ocp_address
            && o.trim().is_empty()
        {
            return Err("ocp_address must not be empty".to_owned());
        }
        if self.local.enabled && self.local.process_name.trim().is_empty() {
            return Err("local.process_name must not be empty".to_owned());
        }
        if self.local.error_keywords.iter().any(String::is_empty) {
            return Err("local.error_keywords must not contain an empty word".to_owned());
        }
        Ok(())
    }
}

impl Config {
    /// What a healthy answer looks like.
    pub(crate) fn expect(&self) -> Expect {
        let body = match (&self.expected_body, &self.expected_body_contains) {
            (Some(b), _) => BodyExpect::Exact(b.clone()),
            (None, Some(c)) => BodyExpect::Contains(c.clone()),
            (None, None) => BodyExpect::Any,
        };
        Expect {
            statuses: self.expected_status_codes.clone(),
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::ExporterConfig as _;
    use std::path::Path;

    fn parse(text: &str) -> Result<Config, String> {
        let c: Config =
            common::config::parse_toml(Path::new("ic.toml"), text).map_err(|e| e.to_string())?;
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn empty_file_gives_the_documents_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.health_url, "http://<IP>:8088/ok");
        assert_eq!(c.timeout, Duration::from_secs(5));
        assert!(c.ic_servers.is_empty());
        assert_eq!(c.expect(), Expect::default());
        assert!(!c.local.enabled);
    }

    #[test]
    fn full_file_parses() {
        let c = parse(
            r#"
ocp_address = "10.0.0.1"
ic_servers = ["10.1.0.2", "10.2.0.2"]
health_url = "https://<IP>:8443/ok"
timeout = "2s"
expected_body = "ok"
[tls]
ca_file = "/etc/ic/ca.pem"
[local]
enabled = true
log_file = "/home/admin/logs/ic-server/server.log"
error_keywords = ["error", "Exception"]
"#,
        )
        .unwrap();
        assert_eq!(c.ic_servers.len(), 2);
        assert_eq!(c.timeout, Duration::from_secs(2));
        assert_eq!(c.expect().body, BodyExpect::Exact("ok".into()));
        assert_eq!(c.tls.ca_file.as_deref(), Some(Path::new("/etc/ic/ca.pem")));
        assert_eq!(c.local.process_name, "ic-server");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_rejected_with_the_field() {
        let e = parse("ic_server = [\"a\"]\n").unwrap_err();
        assert!(e.contains("line 1") && e.contains("ic_server"), "{e}");
        assert!(
            parse("timeout = \"soon\"\n")
                .unwrap_err()
                .contains("timeout")
        );
        assert!(
            parse("health_url = \"http://10.0.0.1:8088/ok\"\n")
                .unwrap_err()
                .contains("<IP>")
        );
        assert!(
            parse("health_url = \"tcp://<IP>:8088\"\n")
                .unwrap_err()
                .contains("health_url")
        );
        assert!(
            parse("ic_servers = [\"a\", \"a\"]\n")
                .unwrap_err()
                .contains("twice")
        );
        assert!(
            parse("ic_servers = [\"a b\"]\n")
                .unwrap_err()
                .contains("ic_servers")
        );
        assert!(parse("timeout = \"0s\"\n").unwrap_err().contains("timeout"));
        assert!(
            parse("expected_status_codes = [42]\n")
                .unwrap_err()
                .contains("42")
        );
        assert!(
            parse("expected_body = \"a\"\nexpected_body_contains = \"b\"\n")
                .unwrap_err()
                .contains("exclusive")
        );
    }

    #[test]
    fn the_example_file_and_every_tls_key_parse_and_unknown_tls_keys_are_rejected() {
        let example = parse(include_str!("../ic-server-probe.example.toml")).unwrap();
        assert_eq!(example.tls, TlsOptions::default());
        let c = parse(
            r#"
[tls]
ca_file = "/etc/ic/ca.pem"
cert_file = "/etc/ic/client.pem"
key_file = "/etc/ic/client.key"
server_name = "ic-server.example.internal"
insecure_skip_verify = true
"#,
        )
        .unwrap();
        assert_eq!(
            c.tls,
            TlsOptions {
                ca_file: Some("/etc/ic/ca.pem".into()),
                cert_file: Some("/etc/ic/client.pem".into()),
                key_file: Some("/etc/ic/client.key".into()),
                server_name: Some("ic-server.example.internal".into()),
                insecure_skip_verify: true,
            }
        );
        let e = parse("[tls]\nca = \"/etc/ic/ca.pem\"\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("ca"), "{e}");
    }
}
