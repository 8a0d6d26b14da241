//! Debian's tomcat10, started by a test with its own CATALINA_BASE in a temporary directory
//! (`catalina.sh run`, no systemd): an HTTP connector and an HTTPS connector whose keystore does
//! not exist, both on loopback; a ROOT webapp with a static page, a JSP answering 500 and a JSP
//! sleeping 1.5 s; an AccessLogValve with `%D` and `buffered="false"`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::process::Process;

/// Debian's CATALINA_HOME.
pub const CATALINA_HOME: &str = "/usr/share/tomcat10";
/// The access log pattern of the test's valve: `common` plus `%D`.
pub const PATTERN: &str = "%h %l %u %t \"%r\" %s %b %D";
/// What slow.jsp sleeps, in milliseconds.
pub const SLOW_MS: u64 = 1500;

/// A running Tomcat, killed on drop.
pub struct Tomcat {
    process: Process,
    /// Its CATALINA_BASE.
    pub base: PathBuf,
    /// The HTTP connector's port.
    pub http_port: u16,
    /// The HTTPS connector's port (its keystore is missing: never listening).
    pub https_port: u16,
    /// Seconds from spawn to the first 200.
    pub start_seconds: f64,
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;")
}

/// Writes the CATALINA_BASE under `base`: Debian's conf files, the test's server.xml, the webapp.
pub fn make_base(base: &Path, http_port: u16, https_port: u16) {
    for d in ["conf", "logs", "webapps/ROOT", "work", "temp"] {
        std::fs::create_dir_all(base.join(d)).unwrap_or_else(|e| panic!("{d}: {e}"));
    }
    for f in [
        "web.xml",
        "logging.properties",
        "catalina.properties",
        "context.xml",
    ] {
        std::fs::copy(
            Path::new("/etc/tomcat10").join(f),
            base.join("conf").join(f),
        )
        .unwrap_or_else(|e| panic!("copying /etc/tomcat10/{f} (is tomcat10 installed?): {e}"));
    }
    let server = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector port="{http_port}" address="127.0.0.1" protocol="HTTP/1.1" connectionTimeout="20000"/>
    <!-- <Connector port="1" protocol="AJP/1.3"/> -->
    <Connector port="{https_port}" address="127.0.0.1" protocol="org.apache.coyote.http11.Http11NioProtocol" SSLEnabled="true">
      <SSLHostConfig><Certificate certificateKeystoreFile="{}" certificateKeystorePassword="changeit" type="RSA"/></SSLHostConfig>
    </Connector>
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false">
        <Valve className="org.apache.catalina.valves.AccessLogValve" directory="logs" prefix="localhost_access_log" suffix=".txt" buffered="false" pattern="{}"/>
      </Host>
    </Engine>
  </Service>
</Server>
"#,
        base.join("does-not-exist.p12").display(),
        xml_escape(PATTERN)
    );
    std::fs::write(base.join("conf/server.xml"), server).unwrap_or_else(|e| panic!("{e}"));
    let root = base.join("webapps/ROOT");
    let files = [
        ("index.html", "hello\n".to_owned()),
        (
            "err500.jsp",
            "<% response.setStatus(500); %>err\n".to_owned(),
        ),
        ("slow.jsp", format!("<% Thread.sleep({SLOW_MS}L); %>slow\n")),
    ];
    for (f, body) in files {
        std::fs::write(root.join(f), body).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}

impl Tomcat {
    /// Starts Tomcat on `base` (see [`make_base`]) and waits (at most 60 s) for a 200 on `/`.
    pub fn start(base: &Path, http_port: u16, https_port: u16) -> Tomcat {
        make_base(base, http_port, https_port);
        let log = base.join("logs/catalina.out");
        let out = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{e}"));
        let err = out.try_clone().unwrap_or_else(|e| panic!("{e}"));
        let started = Instant::now();
        let mut process = Process::spawn(
            "tomcat10",
            Command::new(format!("{CATALINA_HOME}/bin/catalina.sh"))
                .arg("run")
                .env("CATALINA_HOME", CATALINA_HOME)
                .env("CATALINA_BASE", base)
                .env("CATALINA_TMPDIR", base.join("temp"))
                .stdout(out)
                .stderr(err),
        )
        .unwrap_or_else(|e| panic!("starting catalina.sh: {e}"))
        .with_log(log);
        let addr: SocketAddr = ([127, 0, 0, 1], http_port).into();
        process.wait_http_ok(addr, "/", Duration::from_secs(60));
        Tomcat {
            process,
            base: base.to_path_buf(),
            http_port,
            https_port,
            start_seconds: started.elapsed().as_secs_f64(),
        }
    }

    /// `GET path` on the HTTP connector: the status.
    pub fn get(&mut self, path: &str) -> u16 {
        self.process.assert_running();
        let addr: SocketAddr = ([127, 0, 0, 1], self.http_port).into();
        crate::http::get(addr, path, &[])
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .status
    }

    /// The access log directory.
    pub fn logs(&self) -> PathBuf {
        self.base.join("logs")
    }
}
