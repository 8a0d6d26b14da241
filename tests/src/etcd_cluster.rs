//! A real 3-member etcd cluster (Debian's etcd-server 3.4) on loopback ports in a temporary
//! directory, with short raft timers so failure scenarios take seconds. Dropping it kills every
//! member (resuming paused ones first) and removes the directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::{Process, output, signal};
use crate::{TempDir, free_port, wait_until};

/// etcd's log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logger {
    /// 3.4's capnslog text lines (`2021-04-09 10:57:40.112936 W | pkg: msg`).
    Capnslog,
    /// zap JSON lines, the format of etcd 3.5.
    Zap,
}

/// How to start the cluster.
#[derive(Debug, Clone)]
pub struct Options {
    /// Log format.
    pub logger: Logger,
    /// `--quota-backend-bytes` (small values make NOSPACE easy to reach).
    pub quota_backend_bytes: Option<u64>,
    /// `--heartbeat-interval` in ms.
    pub heartbeat_ms: u32,
    /// `--election-timeout` in ms.
    pub election_ms: u32,
    /// Serve clients over TLS and require client certificates signed by this PKI (mTLS).
    pub client_tls: Option<ClientTls>,
}

/// PEM files for an mTLS client port: the members' certificate and the CA that signs clients.
#[derive(Debug, Clone)]
pub struct ClientTls {
    /// CA that signed the server certificate and the accepted client certificates.
    pub ca: PathBuf,
    /// Server certificate (must name 127.0.0.1).
    pub server_cert: PathBuf,
    /// Server key.
    pub server_key: PathBuf,
    /// A client certificate the helper itself uses (etcdctl, health checks).
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            logger: Logger::Capnslog,
            quota_backend_bytes: None,
            heartbeat_ms: 100,
            election_ms: 500,
            client_tls: None,
        }
    }
}

#[derive(Debug)]
struct Member {
    name: String,
    client_port: u16,
    peer_port: u16,
    child: Option<Process>,
    paused: bool,
}

/// A running cluster.
#[derive(Debug)]
pub struct EtcdCluster {
    dir: TempDir,
    opts: Options,
    token: String,
    members: Vec<Member>,
    /// Bumped by each restore, so restored data dirs get new names.
    generation: u32,
}

impl EtcdCluster {
    /// Starts `n` members and waits until every one reports healthy.
    pub fn start(n: usize, opts: Options) -> EtcdCluster {
        let dir = TempDir::new("etcd");
        let members = (0..n)
            .map(|i| Member {
                name: format!("m{}", i + 1),
                client_port: free_port(),
                peer_port: free_port(),
                child: None,
                paused: false,
            })
            .collect();
        let token = format!("suite-{}", std::process::id());
        let mut c = EtcdCluster {
            dir,
            opts,
            token,
            members,
            generation: 0,
        };
        for i in 0..n {
            c.spawn(i);
        }
        c.wait_healthy(Duration::from_secs(30));
        c
    }

    /// The temporary directory holding data dirs and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Member `i`'s name (`m1`...).
    pub fn name(&self, i: usize) -> &str {
        &self.members[i].name
    }

    /// Member `i`'s client URL (`https://` with client TLS).
    pub fn client_url(&self, i: usize) -> String {
        let scheme = if self.opts.client_tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://127.0.0.1:{}", self.members[i].client_port)
    }

    /// Every client URL.
    pub fn endpoints(&self) -> Vec<String> {
        (0..self.members.len())
            .map(|i| self.client_url(i))
            .collect()
    }

    /// Member `i`'s data directory.
    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!(
            "{}.g{}.etcd",
            self.members[i].name, self.generation
        ))
    }

    /// Member `i`'s log file (stderr, appended across restarts).
    pub fn log_path(&self, i: usize) -> PathBuf {
        self.dir
            .path()
            .join(format!("{}.log", self.members[i].name))
    }

    /// Member `i`'s process id, while it runs.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.members[i].child.as_ref().map(Process::id)
    }

    fn initial_cluster(&self) -> String {
        self.members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn spawn(&mut self, i: usize) {
        let m = &self.members[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(i))
            .unwrap_or_else(|e| panic!("opening {}: {e}", self.log_path(i).display()));
        let client = self.client_url(i);
        let peer = format!("http://127.0.0.1:{}", m.peer_port);
        let logger = match self.opts.logger {
            Logger::Capnslog => "capnslog",
            Logger::Zap => "zap",
        };
        let mut cmd = Command::new("etcd");
        cmd.args(["--name", &m.name])
            .arg("--data-dir")
            .arg(self.data_dir(i))
            .args(["--logger", logger, "--log-outputs", "stderr"])
            .args([
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
            ])
            .args([
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
            ])
            .args([
                "--initial-cluster",
                &self.initial_cluster(),
                "--initial-cluster-state",
                "new",
            ])
            .args(["--initial-cluster-token", &self.token])
            .args(["--heartbeat-interval", &self.opts.heartbeat_ms.to_string()])
            .args(["--election-timeout", &self.opts.election_ms.to_string()]);
        if let Some(t) = &self.opts.client_tls {
            cmd.arg("--cert-file")
                .arg(&t.server_cert)
                .arg("--key-file")
                .arg(&t.server_key);
            cmd.arg("--trusted-ca-file")
                .arg(&t.ca)
                .arg("--client-cert-auth");
        }
        if let Some(q) = self.opts.quota_backend_bytes {
            cmd.args(["--quota-backend-bytes", &q.to_string()]);
        }
        let err = log
            .try_clone()
            .unwrap_or_else(|e| panic!("log handle: {e}"));
        cmd.stdout(Stdio::from(log)).stderr(Stdio::from(err));
        let child = Process::spawn(&m.name, &mut cmd)
            .unwrap_or_else(|e| panic!("starting etcd (apt-get install etcd-server): {e}"));
        self.members[i].child = Some(child);
        self.members[i].paused = false;
    }

    /// Whether member `i` answers `/health` with `{"health":"true"}`.
    pub fn healthy(&self, i: usize) -> bool {
        if self.opts.client_tls.is_some() {
            return self.try_etcdctl(i, &["endpoint", "health"]).is_ok();
        }
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.members[i].client_port));
        crate::http::get_with_timeout(addr, "/health", &[], Duration::from_secs(2))
            .map(|r| r.body.contains("\"health\":\"true\""))
            .unwrap_or(false)
    }

    /// Waits until every running member is healthy.
    pub fn wait_healthy(&self, timeout: Duration) {
        wait_until("every etcd member healthy", timeout, || {
            (0..self.members.len())
                .filter(|i| self.members[*i].child.is_some())
                .all(|i| self.healthy(i))
                .then_some(())
        });
    }

    fn signal(&self, i: usize, sig: &str) {
        let pid = self
            .pid(i)
            .unwrap_or_else(|| panic!("member {i} is not running"));
        assert!(signal(pid, sig), "kill {sig} {pid} failed");
    }

    /// SIGKILLs member `i` and reaps it.
    pub fn kill(&mut self, i: usize) {
        if self.members[i].paused {
            self.resume(i);
        }
        // Dropping the process kills and reaps it.
        self.members[i].child = None;
    }

    /// Restarts member `i` on its data directory.
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.spawn(i);
    }

    /// SIGSTOPs member `i` (a hung host as its peers see it: connections open, no answers).
    pub fn pause(&mut self, i: usize) {
        self.signal(i, "-STOP");
        self.members[i].paused = true;
    }

    /// SIGCONTs member `i`.
    pub fn resume(&mut self, i: usize) {
        self.signal(i, "-CONT");
        self.members[i].paused = false;
    }

    /// Runs `etcdctl` against member `i` and returns stdout; panics on failure.
    pub fn etcdctl(&self, i: usize, args: &[&str]) -> String {
        self.try_etcdctl(i, args)
            .unwrap_or_else(|e| panic!("etcdctl {args:?}: {e}"))
    }

    /// Runs `etcdctl` against member `i`.
    pub fn try_etcdctl(&self, i: usize, args: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new("etcdctl");
        cmd.env("ETCDCTL_API", "3").args([
            "--endpoints",
            &self.client_url(i),
            "--command-timeout",
            "5s",
            "--dial-timeout",
            "2s",
        ]);
        if let Some(t) = &self.opts.client_tls {
            cmd.arg("--cacert")
                .arg(&t.ca)
                .arg("--cert")
                .arg(&t.client_cert)
                .arg("--key")
                .arg(&t.client_key);
        }
        output("etcdctl (apt-get install etcd-client)", cmd.args(args))
    }

    /// The index of the current leader, asking the running members.
    pub fn leader(&self) -> Option<usize> {
        for i in 0..self.members.len() {
            if self.members[i].child.is_none() || self.members[i].paused {
                continue;
            }
            let Ok(out) = self.try_etcdctl(i, &["endpoint", "status", "-w", "json"]) else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&out) else {
                continue;
            };
            let status = &v[0]["Status"];
            let (leader, me) = (
                status["leader"].as_u64(),
                status["header"]["member_id"].as_u64(),
            );
            if leader.is_some_and(|l| l != 0) {
                if leader == me {
                    return Some(i);
                }
                // Ask the others which of them is `leader`.
                for j in 0..self.members.len() {
                    if j == i || self.members[j].child.is_none() || self.members[j].paused {
                        continue;
                    }
                    let Ok(o) = self.try_etcdctl(j, &["endpoint", "status", "-w", "json"]) else {
                        continue;
                    };
                    let Ok(w) = serde_json::from_str::<serde_json::Value>(&o) else {
                        continue;
                    };
                    if w[0]["Status"]["header"]["member_id"].as_u64() == leader {
                        return Some(j);
                    }
                }
            }
        }
        None
    }

    /// Saves a snapshot of the current data to `path` (via member `i`).
    pub fn snapshot_save(&self, i: usize, path: &Path) {
        self.etcdctl(i, &["snapshot", "save", &path.to_string_lossy()]);
    }

    /// Stops every member and restores the whole cluster from `snapshot` into new data
    /// directories (document 001's recovery `etcdctl snapshot restore`), then starts it again.
    pub fn restore(&mut self, snapshot: &Path) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
        self.generation += 1;
        let initial = self.initial_cluster();
        for i in 0..self.members.len() {
            let m = &self.members[i];
            let peer = format!("http://127.0.0.1:{}", m.peer_port);
            output(
                "etcdctl snapshot restore",
                Command::new("etcdctl")
                    .env("ETCDCTL_API", "3")
                    .args([
                        "snapshot",
                        "restore",
                        &snapshot.to_string_lossy(),
                        "--name",
                        &m.name,
                    ])
                    .args([
                        "--initial-cluster",
                        &initial,
                        "--initial-cluster-token",
                        &self.token,
                    ])
                    .args(["--initial-advertise-peer-urls", &peer])
                    .arg("--data-dir")
                    .arg(self.data_dir(i)),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        }
        for i in 0..self.members.len() {
            self.spawn(i);
        }
        self.wait_healthy(Duration::from_secs(30));
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for m in &mut self.members {
            if let Some(c) = m.child.take() {
                // A stopped process would not die of SIGKILL before it is continued.
                if m.paused {
                    signal(c.id(), "-CONT");
                }
            }
        }
    }
}
