//! `[[tomcat]]`: one table per Tomcat instance on the host (document 001 §3.5).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::parsers::access_log::Pattern;

/// Where the product keeps `secretAppkey.properties` when `secas_keystore_appkey_file` is unset
/// (document 001 §3.5, fault "Property File Not Found").
pub(crate) const DEFAULT_APPKEY_DIR: &str = "/opt/cloud/3rdComponent/tomcat/conf/keystore";
/// The appkey file's name in that directory.
pub(crate) const APPKEY_FILE: &str = "secretAppkey.properties";
/// The property of `application.properties` that names the appkey file.
pub(crate) const APPKEY_PROPERTY: &str = "secas_keystore_appkey_file";

/// One Tomcat instance.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TomcatConfig {
    /// The `tomcat` label value.
    pub(crate) name: String,
    /// Connector ports that must be listening.
    #[serde(default)]
    pub(crate) ports: Vec<u16>,
    /// A `server.xml` whose `<Connector port>`s are added to `ports` (read at start-up).
    #[serde(default)]
    pub(crate) server_xml: Option<PathBuf>,
    /// The AccessLogValve's `directory` (absolute); unset: no request metrics.
    #[serde(default)]
    pub(crate) access_log_dir: Option<PathBuf>,
    /// The valve's `prefix`.
    #[serde(default = "default_prefix")]
    pub(crate) prefix: String,
    /// The valve's `suffix`.
    #[serde(default = "default_suffix")]
    pub(crate) suffix: String,
    /// The valve's `fileDateFormat` (Java `SimpleDateFormat` letters y M d H m); empty for a
    /// valve with `rotatable="false"` (the file is `prefix` + `suffix`).
    #[serde(default = "default_date_format")]
    pub(crate) file_date_format: String,
    /// The valve's `pattern`: `common`, `combined` or its `%` codes.
    #[serde(default = "default_pattern")]
    pub(crate) pattern: String,
    /// Tomcat's version (`10.1.60`, or just the major `9`): `%D` is microseconds from 10 on,
    /// milliseconds before; needed only when the pattern's latency field is `%D`.
    #[serde(default)]
    pub(crate) tomcat_version: Option<String>,
    /// `CATALINA_HOME`: without `tomcat_version`, the version is read from its
    /// `lib/catalina.jar` at start-up (`/usr/share/tomcat10` on Debian).
    #[serde(default)]
    pub(crate) catalina_home: Option<PathBuf>,
    /// `catalina.out` (or the journal's copy of it): startup, SecureRandom and product lines.
    #[serde(default)]
    pub(crate) catalina_log: Option<PathBuf>,
    /// The product's `application.properties` naming the appkey file; unset: no appkey check.
    #[serde(default)]
    pub(crate) application_properties: Option<PathBuf>,
    /// The directory of `secretAppkey.properties` when the property is unset.
    #[serde(default = "default_appkey_dir")]
    pub(crate) appkey_default_dir: PathBuf,
    /// The user Tomcat runs as: the appkey file must be readable by it (unset: existence only).
    #[serde(default)]
    pub(crate) user: Option<String>,
    /// Count the access log lines already in the file at start (by default they are history,
    /// never counted); the first pass is then a window of its own.
    #[serde(default)]
    pub(crate) count_existing: bool,
    /// The window of `tomcat_request_max_delay_seconds` and how often the logs are read.
    #[serde(default = "default_window", with = "common::config::duration")]
    pub(crate) window: Duration,
}

fn default_prefix() -> String {
    "localhost_access_log".to_owned()
}
fn default_suffix() -> String {
    ".txt".to_owned()
}
fn default_date_format() -> String {
    "yyyy-MM-dd".to_owned()
}
fn default_pattern() -> String {
    "common".to_owned()
}
fn default_appkey_dir() -> PathBuf {
    PathBuf::from(DEFAULT_APPKEY_DIR)
}
fn default_window() -> Duration {
    Duration::from_secs(15)
}

impl TomcatConfig {
    /// The major version of `tomcat_version`.
    pub(crate) fn major(&self) -> Result<Option<u32>, String> {
        self.tomcat_version
            .as_deref()
            .map(|v| {
                v.split('.').next().and_then(|m| m.parse().ok()).ok_or_else(|| {
                    format!(
                        "tomcat {:?}: tomcat_version {v:?} does not start with a major version number",
                        self.name
                    )
                })
            })
            .transpose()
    }

    /// The compiled access log pattern (when an access log is configured), for Tomcat `major`.
    pub(crate) fn compiled_pattern(&self, major: Option<u32>) -> Result<Option<Pattern>, String> {
        if self.access_log_dir.is_none() {
            return Ok(None);
        }
        Pattern::compile(&self.pattern, major)
            .map(Some)
            .map_err(|e| format!("tomcat {:?}: {e}", self.name))
    }
}

/// The configured major version, or a stand-in when `catalina_home` will tell it.
fn self_major(t: &TomcatConfig) -> Result<Option<u32>, String> {
    Ok(t.major()?.or(t.catalina_home.as_ref().map(|_| 10)))
}

/// Checks every `[[tomcat]]` table: names, paths, window, pattern.
pub(crate) fn validate(all: &[TomcatConfig]) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for t in all {
        if t.name.is_empty() || !seen.insert(t.name.as_str()) {
            return Err(format!(
                "tomcat: name {:?} is empty or used twice (it is the tomcat label)",
                t.name
            ));
        }
        if t.window.is_zero() {
            return Err(format!("tomcat {:?}: window must be positive", t.name));
        }
        for (what, p) in [
            ("server_xml", &t.server_xml),
            ("catalina_home", &t.catalina_home),
            ("access_log_dir", &t.access_log_dir),
            ("catalina_log", &t.catalina_log),
            ("application_properties", &t.application_properties),
        ] {
            if let Some(p) = p.as_ref().filter(|p| !p.is_absolute()) {
                return Err(format!(
                    "tomcat {:?}: {what} {} is not an absolute path",
                    t.name,
                    p.display()
                ));
            }
        }
        if !t.appkey_default_dir.is_absolute() {
            return Err(format!(
                "tomcat {:?}: appkey_default_dir is not an absolute path",
                t.name
            ));
        }
        if t.ports.contains(&0) {
            return Err(format!("tomcat {:?}: port 0 is not a port", t.name));
        }
        if t.prefix.contains('/') || t.suffix.contains('/') {
            return Err(format!(
                "tomcat {:?}: prefix and suffix are file name parts, without '/'",
                t.name
            ));
        }
        super::daily_tail::date_regex(&t.file_date_format)
            .map_err(|e| format!("tomcat {:?}: {e}", t.name))?;
        // With only catalina_home the version is read when the collector starts; any major
        // checks the pattern's syntax here.
        let major = self_major(t)?;
        t.compiled_pattern(major)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<TomcatConfig>, String> {
        #[derive(Deserialize)]
        struct W {
            tomcat: Vec<TomcatConfig>,
        }
        let w: W = common::config::parse_toml(std::path::Path::new("x.toml"), s)
            .map_err(|e| e.to_string())?;
        validate(&w.tomcat)?;
        Ok(w.tomcat)
    }

    #[test]
    fn defaults_and_errors() {
        let t =
            parse("[[tomcat]]\nname = \"a\"\naccess_log_dir = \"/var/log/tomcat10\"\n").unwrap();
        assert_eq!(t[0].pattern, "common");
        assert_eq!(t[0].prefix, "localhost_access_log");
        assert_eq!(t[0].appkey_default_dir, PathBuf::from(DEFAULT_APPKEY_DIR));
        let e = parse("[[tomcat]]\nname = \"a\"\naccess_log_dir = \"/l\"\npattern = \"%s %D\"\n")
            .unwrap_err();
        assert!(e.contains("tomcat_version"), "{e}");
        assert!(parse("[[tomcat]]\nname = \"a\"\naccess_log_dir = \"/l\"\npattern = \"%s %D\"\ntomcat_version = \"10.1.60\"\n").is_ok());
        let e = parse("[[tomcat]]\nname = \"a\"\n[[tomcat]]\nname = \"a\"\n").unwrap_err();
        assert!(e.contains("used twice"), "{e}");
        let e =
            parse("[[tomcat]]\nname = \"a\"\naccess_log_dir = \"/l\"\npattern = \"%h %Q %s\"\n")
                .unwrap_err();
        assert!(e.contains("unknown code %Q"), "{e}");
        let e = parse("[[tomcat]]\nname = \"a\"\ncatalina_log = \"rel\"\n").unwrap_err();
        assert!(e.contains("absolute"), "{e}");
        let e = parse("[[tomcat]]\nname = \"a\"\nportz = [1]\n").unwrap_err();
        assert!(e.contains("portz"), "{e}");
        let e = parse("[[tomcat]]\nname = \"a\"\nfile_date_format = \"yyyy-Q\"\n").unwrap_err();
        assert!(e.contains("Q"), "{e}");
    }
}
