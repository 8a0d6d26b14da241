//! TLS material and client configuration shared by the HTTP prober (client side) and the web
//! config (server side): PEM certificates, private keys and CA pools are read in one place, with
//! errors that name the setting and the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde::Deserialize;

/// TLS settings of the client side, in the shape of Prometheus' `tls_config`; also the `[tls]`
/// section of a probe's config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsOptions {
    /// CA bundle (PEM) to verify the server; default the system bundle.
    pub ca_file: Option<PathBuf>,
    /// Client certificate chain (PEM), for mutual TLS.
    pub cert_file: Option<PathBuf>,
    /// Client private key (PEM), for mutual TLS.
    pub key_file: Option<PathBuf>,
    /// Name to verify in the server certificate (and send as SNI); default the URL host.
    pub server_name: Option<String>,
    /// Skip server certificate verification (testing only).
    pub insecure_skip_verify: bool,
}

/// Settings that cannot be used (unreadable or invalid certificate files).
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{field} {path}: {message}")]
    File {
        /// The setting, e.g. `ca_file`.
        field: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// rustls rejected the combination (e.g. key does not match certificate).
    #[error("TLS settings: {0}")]
    Config(String),
    /// `cert_file` without `key_file` or the other way round.
    #[error("TLS settings: cert_file and key_file must be given together")]
    HalfClientAuth,
}

/// The system CA bundle on Debian-family systems, used when no `ca_file` is given.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The crypto provider of every TLS configuration in the suite.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn file_error(field: &'static str, path: &Path, message: impl ToString) -> TlsSetupError {
    TlsSetupError::File {
        field,
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Reads the PEM certificates in `path` (the setting `field`); none at all is an error.
pub fn read_certs(
    field: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(field, path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(field, path, e))?;
    if certs.is_empty() {
        return Err(file_error(field, path, "no PEM certificate found"));
    }
    Ok(certs)
}

/// Reads the first PEM private key (PKCS#8, PKCS#1 or SEC1) in `path` (the setting `field`).
pub fn read_key(field: &'static str, path: &Path) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| file_error(field, path, e))
}

/// Reads the CA certificates in `path` (the setting `field`) into a trust store; a certificate
/// the store rejects is an error, not skipped.
pub fn read_ca_pool(field: &'static str, path: &Path) -> Result<RootCertStore, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    for c in read_certs(field, path)? {
        roots.add(c).map_err(|e| file_error(field, path, e))?;
    }
    Ok(roots)
}

/// Builds the rustls client configuration for `tls`.
pub fn client_config(tls: &TlsOptions) -> Result<ClientConfig, TlsSetupError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Config(e.to_string()))?;
    let builder = if tls.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    } else {
        let roots = match &tls.ca_file {
            Some(p) => read_ca_pool("ca_file", p)?,
            None => {
                // A missing or partly unparsable system bundle leaves fewer roots, not a dead probe.
                let mut roots = RootCertStore::empty();
                if let Ok(certs) = read_certs("ca_file", Path::new(SYSTEM_CA_BUNDLE)) {
                    roots.add_parsable_certificates(certs);
                }
                roots
            }
        };
        builder.with_root_certificates(roots)
    };
    match (&tls.cert_file, &tls.key_file) {
        (None, None) => Ok(builder.with_no_client_auth()),
        (Some(cert), Some(key)) => {
            let chain = read_certs("cert_file", cert)?;
            let key = read_key("key_file", key)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| TlsSetupError::Config(e.to_string()))
        }
        _ => Err(TlsSetupError::HalfClientAuth),
    }
}

/// Accepts any server certificate; only for `insecure_skip_verify`.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use test_support::pki::TestPki;

    #[test]
    fn pem_files_load_and_errors_name_the_setting_and_file() {
        let pki = TestPki::new("tls-read");
        assert_eq!(read_certs("ca_file", &pki.ca_file()).unwrap().len(), 1);
        assert!(read_key("key_file", &pki.server_key_file()).is_ok());
        assert!(read_ca_pool("ca_file", &pki.ca_file()).is_ok());

        // A key file holds no certificate, a certificate file no key.
        let e = read_certs("cert_file", &pki.server_key_file())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("cert_file ") && e.contains("server.key"),
            "{e}"
        );
        assert!(e.ends_with(": no PEM certificate found"), "{e}");
        let e = read_key("key_file", &pki.ca_file())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("key_file ") && e.contains("ca.pem"), "{e}");
        let e = read_ca_pool("client_ca_file", &pki.dir().join("nope.pem"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("client_ca_file ") && e.contains("nope.pem"),
            "{e}"
        );
    }

    #[test]
    fn the_tls_section_of_a_config_file_deserializes_into_options() {
        let o: TlsOptions =
            toml::from_str("ca_file = \"/etc/ca.pem\"\nserver_name = \"db1\"\n").unwrap();
        assert_eq!(o.ca_file.as_deref(), Some(Path::new("/etc/ca.pem")));
        assert_eq!(o.server_name.as_deref(), Some("db1"));
        assert!(!o.insecure_skip_verify && o.cert_file.is_none());
        assert!(toml::from_str::<TlsOptions>("ca_fille = \"x\"\n").is_err());
    }
}
