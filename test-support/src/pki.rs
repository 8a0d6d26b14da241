//! A throw-away PKI for TLS tests: a CA, a server certificate for `localhost`, `127.0.0.1` and
//! `::1`, and a client certificate, generated with rcgen and written as PEM files into a fresh
//! directory under the system temp dir, removed on drop.
//!
//! The server certificate carries both `serverAuth` and `clientAuth`: etcd's v3 JSON gateway dials
//! etcd's own gRPC port with it, and real clusters use such dual-use certificates.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Names the server certificate is valid for.
pub const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A certificate with its private key, as issued by the test CA.
#[derive(Debug)]
pub struct Issued {
    /// The certificate (DER).
    pub cert: CertificateDer<'static>,
    /// Its private key (PKCS#8 DER).
    pub key: PrivateKeyDer<'static>,
}

impl Clone for Issued {
    fn clone(&self) -> Self {
        Issued {
            cert: self.cert.clone(),
            key: self.key.clone_key(),
        }
    }
}

/// The CA, server and client certificates, and the directory holding their PEM files:
/// `ca.pem`, `server.pem`, `server.key`, `client.pem`, `client.key`.
pub struct TestPki {
    dir: PathBuf,
    ca: Certificate,
    ca_params: CertificateParams,
    ca_key: KeyPair,
    server: Issued,
    client: Issued,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki").field("dir", &self.dir).finish()
    }
}

/// Which certificate [`TestPki::issue`] makes.
#[derive(Clone, Copy)]
enum Role {
    Server,
    Client,
}

impl Role {
    fn file_stem(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Client => "client",
        }
    }
}

// A fixture that cannot be set up should abort the test loudly.
#[allow(clippy::expect_used)]
impl TestPki {
    /// Generates a fresh PKI into a new directory whose name contains `tag`.
    pub fn new(tag: &str) -> TestPki {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "test-pki-{tag}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating the test PKI directory");

        let ca_key = KeyPair::generate().expect("generating the CA key");
        let mut ca_params =
            CertificateParams::new(Vec::<String>::new()).expect("CA certificate parameters");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "test CA");
        let ca = ca_params
            .self_signed(&ca_key)
            .expect("self-signing the CA certificate");
        write(&dir, "ca.pem", &ca.pem());

        let server = issue(&dir, &ca_params, &ca_key, Role::Server);
        let client = issue(&dir, &ca_params, &ca_key, Role::Client);
        TestPki {
            dir,
            ca,
            ca_params,
            ca_key,
            server,
            client,
        }
    }

    /// The directory holding the PEM files (a web config there may name them relatively).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `ca.pem`: the CA certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// `server.pem`: the server certificate.
    pub fn server_cert_file(&self) -> PathBuf {
        self.dir.join("server.pem")
    }

    /// `server.key`: the server's private key.
    pub fn server_key_file(&self) -> PathBuf {
        self.dir.join("server.key")
    }

    /// `client.pem`: the client certificate.
    pub fn client_cert_file(&self) -> PathBuf {
        self.dir.join("client.pem")
    }

    /// `client.key`: the client's private key.
    pub fn client_key_file(&self) -> PathBuf {
        self.dir.join("client.key")
    }

    /// The CA certificate (DER), to trust in a client or server.
    pub fn ca_cert(&self) -> CertificateDer<'static> {
        self.ca.der().clone()
    }

    /// The server certificate and key currently in `server.pem` and `server.key`.
    pub fn server(&self) -> Issued {
        self.server.clone()
    }

    /// The client certificate and key in `client.pem` and `client.key`.
    pub fn client(&self) -> Issued {
        self.client.clone()
    }

    /// Issues a new server certificate with a new key and rewrites `server.pem` and `server.key`
    /// in place, as a certificate renewal hook does; returns the new certificate.
    pub fn reissue_server(&mut self) -> CertificateDer<'static> {
        self.server = issue(&self.dir, &self.ca_params, &self.ca_key, Role::Server);
        self.server.cert.clone()
    }
}

impl Drop for TestPki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[allow(clippy::expect_used)]
fn issue(dir: &Path, ca_params: &CertificateParams, ca_key: &KeyPair, role: Role) -> Issued {
    let key = KeyPair::generate().expect("generating a key");
    let (names, common_name, usages) = match role {
        Role::Server => (
            SERVER_NAMES.iter().map(|n| (*n).to_owned()).collect(),
            "test server",
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        ),
        Role::Client => (
            Vec::new(),
            "test client",
            vec![ExtendedKeyUsagePurpose::ClientAuth],
        ),
    };
    let mut params = CertificateParams::new(names).expect("certificate parameters");
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.extended_key_usages = usages;
    let issuer = Issuer::from_params(ca_params, ca_key);
    let cert = params
        .signed_by(&key, &issuer)
        .expect("signing a certificate with the test CA");
    let stem = role.file_stem();
    write(dir, &format!("{stem}.pem"), &cert.pem());
    write(dir, &format!("{stem}.key"), &key.serialize_pem());
    Issued {
        cert: cert.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

#[allow(clippy::expect_used)]
fn write(dir: &Path, name: &str, pem: &str) {
    std::fs::write(dir.join(name), pem).expect("writing a test PKI file");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_written_and_removed_with_the_pki() {
        let dir;
        {
            let pki = TestPki::new("files");
            dir = pki.dir().to_path_buf();
            for f in [
                pki.ca_file(),
                pki.server_cert_file(),
                pki.server_key_file(),
                pki.client_cert_file(),
                pki.client_key_file(),
            ] {
                let text = std::fs::read_to_string(&f).unwrap_or_default();
                assert!(text.starts_with("-----BEGIN "), "{}", f.display());
            }
        }
        assert!(!dir.exists());
    }

    #[test]
    fn a_reissued_server_certificate_replaces_the_file() {
        let mut pki = TestPki::new("reissue");
        let before = std::fs::read(pki.server_cert_file()).unwrap_or_default();
        let old = pki.server().cert;
        let new = pki.reissue_server();
        assert_ne!(old, new);
        assert_ne!(
            std::fs::read(pki.server_cert_file()).unwrap_or_default(),
            before
        );
        assert_eq!(pki.server().cert, new);
    }
}
