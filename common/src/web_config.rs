//! `--web.config.file`: the Prometheus exporter-toolkit web configuration (TLS, mTLS, basic auth).
//!
//! Like exporter-toolkit, which re-reads the file on every connection, a changed file (or a
//! rotated certificate, key or CA it names) takes effect without a restart: [`Reloader`] notices
//! the change by `stat` alone and re-reads only then; a broken new config is logged and ignored.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use serde::Deserialize;

use crate::cert_validity::{CertValidity, Period};
use crate::tls::{self, TlsSetupError};

/// A web config that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    /// The file could not be read.
    #[error("web config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The YAML is invalid or has unknown keys.
    #[error("web config file {path}, line {line}, column {column}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A value is not acceptable (missing certificate, bad hash, unsupported option).
    #[error("web config file {path}: {message}")]
    Semantic {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the field.
        message: String,
    },
}

/// `tls_server_config` as in exporter-toolkit.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    /// Server certificate chain (PEM).
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// Server private key (PEM).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// `NoClientCert`, `VerifyClientCertIfGiven` or `RequireAndVerifyClientCert`.
    #[serde(default)]
    pub client_auth_type: Option<String>,
    /// CA bundle that client certificates must chain to.
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    /// `TLS12` (default) or `TLS13`.
    #[serde(default)]
    pub min_version: Option<String>,
    /// `TLS12` or `TLS13` (default).
    #[serde(default)]
    pub max_version: Option<String>,
    /// Not supported here; only an empty list is accepted.
    #[serde(default)]
    pub cipher_suites: Vec<String>,
    /// Not supported here; only an empty list is accepted.
    #[serde(default)]
    pub curve_preferences: Vec<String>,
    /// Whether the server's cipher order wins.
    #[serde(default)]
    pub prefer_server_cipher_suites: Option<bool>,
}

/// `http_server_config` as in exporter-toolkit.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    /// Accepted for compatibility; this server speaks HTTP/1.1.
    #[serde(default)]
    pub http2: Option<bool>,
    /// Extra response headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// The whole web config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfigFile {
    /// TLS settings; absent means plain HTTP.
    #[serde(default)]
    pub tls_server_config: Option<TlsServerConfig>,
    /// HTTP settings.
    #[serde(default)]
    pub http_server_config: Option<HttpServerConfig>,
    /// User name to bcrypt hash.
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, String>,
}

/// The loaded, validated web settings the server uses.
#[derive(Clone, Default)]
pub struct WebSettings {
    /// TLS acceptor configuration, when TLS is on.
    pub tls: Option<Arc<ServerConfig>>,
    /// User name to bcrypt hash; empty means no authentication.
    pub users: BTreeMap<String, String>,
    /// Headers added to every response.
    pub headers: Vec<(String, String)>,
    /// The validity period of the serving certificate, when TLS is on and it could be read.
    pub certificate: Option<CertValidity>,
    /// The file these settings came from, and the state of every file read; `None` when they
    /// were not loaded from a file (then nothing is re-read).
    pub source: Option<Source>,
}

impl std::fmt::Debug for WebSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSettings")
            .field("tls", &self.tls.is_some())
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("source", &self.source.as_ref().map(|s| &s.path))
            .finish()
    }
}

/// Where loaded settings came from.
#[derive(Debug, Clone)]
pub struct Source {
    /// The web config file.
    pub path: PathBuf,
    /// The config file and the certificate, key and CA files it names, as they were when read.
    pub fingerprint: Fingerprint,
}

/// What `stat` says about one file: enough to notice an in-place rewrite or a rename over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    mtime: Option<SystemTime>,
    len: u64,
    dev: u64,
    ino: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    // Metadata of the file a symlink points to, so a Kubernetes-style `..data` swap counts.
    let m = std::fs::metadata(path).ok()?;
    Some(Stamp {
        mtime: m.modified().ok(),
        len: m.len(),
        dev: m.dev(),
        ino: m.ino(),
    })
}

/// The state of a set of files (a missing file is a state too), taken before they were read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint(Vec<(PathBuf, Option<Stamp>)>);

impl Fingerprint {
    fn add(&mut self, path: PathBuf) {
        if !self.0.iter().any(|(p, _)| *p == path) {
            let s = stamp(&path);
            self.0.push((path, s));
        }
    }

    /// Whether any of the files differs now (a `stat` of each, nothing read).
    pub fn changed(&self) -> bool {
        self.0.iter().any(|(p, s)| stamp(p) != *s)
    }
}

/// Re-reads a web config when it or a file it names changed, keeping the last good settings.
#[derive(Debug)]
pub struct Reloader {
    path: PathBuf,
    /// The files as of the last attempt, good or bad.
    seen: Fingerprint,
    /// Why the last attempt failed, if it did: then every poll tries again (a fix need not
    /// change what `stat` shows, e.g. a `chmod` of an unreadable file), and the same error is
    /// logged only once.
    failed: Option<String>,
}

impl Reloader {
    /// Watches the file `settings` came from; `None` when they came from no file.
    pub fn new(settings: &WebSettings) -> Option<Reloader> {
        settings.source.as_ref().map(|s| Reloader {
            path: s.path.clone(),
            seen: s.fingerprint.clone(),
            failed: None,
        })
    }

    /// Blocking (stats, and on a change or after a failure reads, files): new settings when
    /// something changed and the new config is valid. An invalid one is logged once (until the
    /// error changes) and `None` returned, so the caller keeps serving with what it has.
    pub fn poll(&mut self) -> Option<WebSettings> {
        if self.failed.is_none() && !self.seen.changed() {
            return None;
        }
        let (fingerprint, result) = load_fingerprinted(&self.path, Reload::Running);
        self.seen = fingerprint;
        match result {
            Ok(s) => {
                match self.failed.take() {
                    Some(_) => log::info!(
                        "web config {} re-read; the earlier error is resolved",
                        self.path.display()
                    ),
                    None => log::info!("web config {} re-read", self.path.display()),
                }
                Some(s)
            }
            Err(e) => {
                let message = e.to_string();
                if self.failed.as_ref() != Some(&message) {
                    log::error!("{message}; keeping the previous web config");
                }
                self.failed = Some(message);
                None
            }
        }
    }
}

fn semantic(path: &Path, message: impl Into<String>) -> WebConfigError {
    WebConfigError::Semantic {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn rank(v: rustls::ProtocolVersion) -> u16 {
    u16::from(v)
}

fn tls_version(
    path: &Path,
    field: &str,
    v: &str,
) -> Result<&'static rustls::SupportedProtocolVersion, WebConfigError> {
    match v {
        "TLS12" => Ok(&rustls::version::TLS12),
        "TLS13" => Ok(&rustls::version::TLS13),
        "TLS10" | "TLS11" => Err(semantic(
            path,
            format!("{field}: {v} is not supported (insecure); use TLS12 or TLS13"),
        )),
        other => Err(semantic(
            path,
            format!("{field}: unknown TLS version {other:?}; use TLS12 or TLS13"),
        )),
    }
}

/// Loads and validates a web config file; relative paths are relative to its directory.
pub fn load(path: &Path) -> Result<WebSettings, WebConfigError> {
    load_fingerprinted(path, Reload::Start).1
}

/// Whether a load is the first one or a re-read while serving.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reload {
    Start,
    Running,
}

/// Loads like [`load`], also returning the state of every file it read (or tried to), each
/// taken before the read so a change during the read is seen by the next check.
fn load_fingerprinted(
    path: &Path,
    when: Reload,
) -> (Fingerprint, Result<WebSettings, WebConfigError>) {
    let mut fingerprint = Fingerprint::default();
    fingerprint.add(path.to_path_buf());
    let file = match parse_file(path, when) {
        Ok(f) => f,
        Err(e) => return (fingerprint, Err(e)),
    };
    let base = path.parent().unwrap_or(Path::new("."));
    if let Some(t) = &file.tls_server_config {
        for f in [&t.cert_file, &t.key_file, &t.client_ca_file]
            .into_iter()
            .flatten()
        {
            fingerprint.add(resolve(base, f));
        }
    }
    let result = build(path, base, file).map(|mut s| {
        warn_if_unusable(path, s.certificate.as_ref());
        s.source = Some(Source {
            path: path.to_path_buf(),
            fingerprint: fingerprint.clone(),
        });
        s
    });
    (fingerprint, result)
}

fn parse_file(path: &Path, when: Reload) -> Result<WebConfigFile, WebConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| WebConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if text.trim().is_empty() {
        // While serving, an empty file is far more likely a rewrite caught between truncate and
        // write than a wish to drop TLS and auth: taking it would open the server up.
        if when == Reload::Running {
            return Err(semantic(
                path,
                "the file is empty; restart the exporter to serve without TLS and basic auth",
            ));
        }
        Ok(WebConfigFile::default())
    } else {
        serde_yaml_ng::from_str(&text).map_err(|e| {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            let message = e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_owned();
            WebConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        })
    }
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn build(path: &Path, base: &Path, file: WebConfigFile) -> Result<WebSettings, WebConfigError> {
    for (user, hash) in &file.basic_auth_users {
        if hash.parse::<bcrypt::HashParts>().is_err() {
            return Err(semantic(
                path,
                format!("basic_auth_users.{user}: not a bcrypt hash"),
            ));
        }
    }
    let headers = file
        .http_server_config
        .map(|h| h.headers.into_iter().collect())
        .unwrap_or_default();
    let (tls, certificate) = match file.tls_server_config {
        None => (None, None),
        Some(t) => {
            let (config, validity) = tls_config(path, base, &t)?;
            (Some(Arc::new(config)), validity)
        }
    };
    Ok(WebSettings {
        tls,
        users: file.basic_auth_users,
        headers,
        certificate,
        source: None,
    })
}

/// The TLS server configuration and the validity of its leaf certificate (`None` when that
/// cannot be parsed for its dates; rustls has accepted it, so serving goes on).
fn tls_config(
    path: &Path,
    base: &Path,
    t: &TlsServerConfig,
) -> Result<(ServerConfig, Option<CertValidity>), WebConfigError> {
    let (Some(cert_file), Some(key_file)) = (&t.cert_file, &t.key_file) else {
        return Err(semantic(
            path,
            "tls_server_config: cert_file and key_file are both required",
        ));
    };
    if !t.cipher_suites.is_empty() || !t.curve_preferences.is_empty() {
        return Err(semantic(
            path,
            "tls_server_config: cipher_suites and curve_preferences are not supported; remove them",
        ));
    }
    let cert_path = resolve(base, cert_file);
    let key_path = resolve(base, key_file);
    let tls_file = |e: TlsSetupError| semantic(path, e.to_string());
    let certs = tls::read_certs("tls_server_config.cert_file", &cert_path).map_err(tls_file)?;
    let key = tls::read_key("tls_server_config.key_file", &key_path).map_err(tls_file)?;
    let validity = certs.first().and_then(|c| match CertValidity::of_der(c) {
        Ok(v) => Some(v),
        Err(e) => {
            log::warn!("{}: {e}; its expiry is not exported", cert_path.display());
            None
        }
    });

    let min = tls_version(
        path,
        "tls_server_config.min_version",
        t.min_version.as_deref().unwrap_or("TLS12"),
    )?;
    let max = tls_version(
        path,
        "tls_server_config.max_version",
        t.max_version.as_deref().unwrap_or("TLS13"),
    )?;
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [&rustls::version::TLS12, &rustls::version::TLS13]
            .into_iter()
            .filter(|v| {
                rank(v.version) >= rank(min.version) && rank(v.version) <= rank(max.version)
            })
            .collect();
    if versions.is_empty() {
        return Err(semantic(
            path,
            "tls_server_config: min_version is above max_version",
        ));
    }

    let provider = tls::provider();
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|e| semantic(path, format!("tls_server_config: {e}")))?;

    let auth = match (t.client_auth_type.as_deref(), &t.client_ca_file) {
        (None | Some("") | Some("NoClientCert"), None) => None,
        // As exporter-toolkit does, a CA file without a policy means verify.
        (None | Some(""), Some(ca)) => Some((ca, false)),
        (Some("RequireAndVerifyClientCert"), Some(ca)) => Some((ca, false)),
        (Some("VerifyClientCertIfGiven"), Some(ca)) => Some((ca, true)),
        (Some("RequireAndVerifyClientCert" | "VerifyClientCertIfGiven"), None) => {
            return Err(semantic(
                path,
                "tls_server_config.client_ca_file is required to verify client certificates",
            ));
        }
        (Some("NoClientCert"), Some(_)) => {
            return Err(semantic(
                path,
                "tls_server_config: client_ca_file is set but client_auth_type is NoClientCert",
            ));
        }
        (Some(other), _) => {
            return Err(semantic(
                path,
                format!(
                    "tls_server_config.client_auth_type {other:?} is not supported; use NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"
                ),
            ));
        }
    };
    let builder = match auth {
        None => builder.with_no_client_auth(),
        Some((ca, optional)) => {
            let ca_path = resolve(base, ca);
            let roots = tls::read_ca_pool("tls_server_config.client_ca_file", &ca_path)
                .map_err(tls_file)?;
            let mut vb = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            if optional {
                vb = vb.allow_unauthenticated();
            }
            let verifier = vb
                .build()
                .map_err(|e| semantic(path, format!("tls_server_config.client_ca_file: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut cfg = builder.with_single_cert(certs, key).map_err(|e| {
        semantic(
            path,
            format!("tls_server_config: certificate and key do not match: {e}"),
        )
    })?;
    cfg.ignore_client_order = t.prefer_server_cipher_suites.unwrap_or(true);
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((cfg, validity))
}

/// Warns when the serving certificate cannot be used now: clients will refuse every handshake,
/// and the scrape failure they see says nothing about why.
fn warn_if_unusable(path: &Path, validity: Option<&CertValidity>) {
    let Some(v) = validity else {
        return;
    };
    let when =
        |t: i64| u64::try_from(t).map_or_else(|_| t.to_string(), |s| crate::logging::rfc3339(s, 0));
    match v.period_now() {
        Period::Valid => {}
        Period::Expired => log::warn!(
            "web config {}: the TLS certificate expired at {}; clients will refuse it",
            path.display(),
            when(v.not_after)
        ),
        Period::NotYetValid => log::warn!(
            "web config {}: the TLS certificate is not valid before {}; clients will refuse it (check the clock)",
            path.display(),
            when(v.not_before)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("webcfg-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_line() {
        let d = tmpdir("unknown");
        let p = write(
            &d,
            "web.yml",
            "basic_auth_users: {}\ntls_server_config:\n  cert_fille: x\n",
        );
        let err = load(&p).unwrap_err().to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("cert_fille"), "{err}");
    }

    #[test]
    fn an_expired_certificate_is_served_with_its_expiry_known() {
        let d = tmpdir("expired");
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2019, 1, 1);
        params.not_after = rcgen::date_time_ymd(2020, 1, 1);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        write(&d, "c.pem", &cert.pem());
        write(&d, "k.pem", &key.serialize_pem());
        let p = write(
            &d,
            "web.yml",
            "tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n",
        );
        // Refusing to start would turn an expiring certificate into an outage; it is served
        // (with a warning) and its expiry exported for the alert.
        let s = load(&p).unwrap();
        let v = s.certificate.unwrap();
        assert_eq!(v.not_after, 1_577_836_800);
        assert_eq!(v.period_now(), Period::Expired);
    }

    #[test]
    fn a_password_instead_of_a_hash_is_rejected() {
        let d = tmpdir("hash");
        let p = write(&d, "web.yml", "basic_auth_users:\n  alice: secret\n");
        let err = load(&p).unwrap_err().to_string();
        assert!(err.contains("basic_auth_users.alice"), "{err}");
    }

    #[test]
    fn old_tls_versions_are_refused() {
        let d = tmpdir("ver");
        let p = write(
            &d,
            "web.yml",
            "tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS10\n",
        );
        let err = load(&p).unwrap_err().to_string();
        // The missing files are found first or the version: either way it names the problem.
        assert!(err.contains("cert_file") || err.contains("TLS10"), "{err}");
    }

    #[test]
    fn empty_file_means_plain_http_without_auth() {
        let d = tmpdir("empty");
        let p = write(&d, "web.yml", "");
        let s = load(&p).unwrap();
        assert!(s.tls.is_none() && s.users.is_empty());
    }

    fn poll_after_change(r: &mut Reloader, p: &Path, text: &str) -> Option<WebSettings> {
        // A different length, so the change is seen even where mtimes are coarse.
        std::fs::write(p, text).unwrap();
        r.poll()
    }

    #[test]
    fn the_reloader_rereads_only_changed_valid_files() {
        let d = tmpdir("reload");
        let hash = bcrypt::hash("x", 4).unwrap();
        let p = write(&d, "web.yml", &format!("basic_auth_users:\n  a: {hash}\n"));
        let s = load(&p).unwrap();
        let mut r = Reloader::new(&s).unwrap();
        assert!(r.poll().is_none(), "nothing changed");
        let two = format!("basic_auth_users:\n  a: {hash}\n  bb: {hash}\n");
        let s = poll_after_change(&mut r, &p, &two).unwrap();
        assert_eq!(s.users.len(), 2);
        assert!(r.poll().is_none(), "read once per change");
        assert!(poll_after_change(&mut r, &p, "basic_auth_users: [").is_none());
        assert!(
            poll_after_change(&mut r, &p, "\n").is_none(),
            "empty while running"
        );
        let s = poll_after_change(&mut r, &p, &format!("basic_auth_users:\n  ccc: {hash}\n"));
        assert_eq!(s.unwrap().users.keys().collect::<Vec<_>>(), ["ccc"]);
        assert!(Reloader::new(&WebSettings::default()).is_none());
    }
}
