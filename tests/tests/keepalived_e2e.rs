//! keepalived-exporter end to end against a real keepalived pair (Debian's keepalived 2.2.7) in
//! network namespaces joined by a bridge: election; failover by a failing track script (FAULT)
//! and by SIGTERM; the peer link cut; SIGKILL of the master leaving its VIP configured (the
//! document's VIP-on-the-wrong-MAC incident) and the stale address removed. Each node's exporter
//! runs inside its namespace and is reached over a point-to-point management link, which is
//! also how the real Prometheus in the root namespace scrapes it for the dashboard and rule gates.
//! The nodes' keepalived is `suite_tests::keepalived`'s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use suite_tests::exporter::{Endpoint, sample_value};
use suite_tests::netns::{Lan, unique_tag};
use suite_tests::prometheus::{Job, Prometheus, Setup};
use suite_tests::{
    TempDir, bin_path, dashboards, keepalived, metric_reference, process, promtool, wait_until,
    workspace_root,
};

const VIP: &str = "10.201.9.100";
const SUBNET: &str = "10.201.9";
const MGMT: &str = "10.202.9";
const PORT: u16 = 9911;

struct Node {
    dir: PathBuf,
    http: Endpoint,
}

impl std::ops::Deref for Node {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.http
    }
}

impl Node {
    /// Waits until `keepalived_vrrp_state{state}` is 1.
    fn wait_state(&self, what: &str, timeout: Duration, state: &str) {
        self.wait_sample(
            what,
            timeout,
            "keepalived_vrrp_state",
            &[("state", state)],
            |v| v == 1.0,
        );
    }

    /// Waits until `keepalived_check_connectivity{peer}` is `want`.
    fn wait_reach(&self, what: &str, timeout: Duration, peer: &str, want: f64) {
        self.wait_sample(
            what,
            timeout,
            "keepalived_check_connectivity",
            &[("peer", peer)],
            |v| v == want,
        );
    }

    /// The sum of every `name` sample carrying `labels` (e.g. over both `phase`s), 0 if none.
    fn total(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let scrape = self.scrape();
        scrape
            .lines()
            .filter_map(|l| l.rsplit_once(' '))
            .filter(|(series, _)| {
                series.split('{').next() == Some(name)
                    && labels
                        .iter()
                        .all(|(k, v)| series.contains(&format!("{k}=\"{v}\"")))
            })
            .filter_map(|(_, v)| v.parse::<f64>().ok())
            .sum()
    }

    /// Failover lines in the window: (`keepalived_failover`, `keepalived_failover_startup`).
    fn failovers(&self) -> (f64, f64) {
        let s = self.scrape();
        (
            sample_value(&s, "keepalived_failover", &[]).unwrap(),
            sample_value(&s, "keepalived_failover_startup", &[]).unwrap(),
        )
    }

    fn state(&self, state: &str) -> Option<f64> {
        self.value(
            "keepalived_vrrp_state",
            &[("vrrp_instance", "VI_1"), ("state", state)],
        )
    }

    fn log_has(&self, text: &str) -> bool {
        self.log_count(text) > 0
    }

    fn log_count(&self, text: &str) -> usize {
        std::fs::read_to_string(self.dir.join("keepalived.log"))
            .unwrap_or_default()
            .matches(text)
            .count()
    }

    fn pid(&self, file: &str) -> u32 {
        keepalived::pid(&self.dir, file)
    }
}

fn setup_node(lan: &mut Lan, i: usize, work: &Path, priority: u32) -> Node {
    let dir = keepalived::write_node(lan, i, work, priority, VIP);
    let host_addr = lan.expose(i, MGMT);
    keepalived::start(lan, i, &dir);
    let bin = bin_path("keepalived-exporter");
    let listen = format!("--web.listen-address={host_addr}:{PORT}");
    let config = format!("--config.file={}", dir.join("exporter.toml").display());
    lan.hosts[i].spawn(
        &[bin.to_str().unwrap(), &listen, &config],
        &dir.join("exporter.log"),
    );
    let addr: SocketAddr = format!("{host_addr}:{PORT}").parse().unwrap();
    let http = Endpoint::new(addr, &format!("keepalived-exporter at {addr}"))
        .with_scrape_timeout("5", Duration::from_secs(10));
    http.wait_healthy(Duration::from_secs(20));
    Node { dir, http }
}

fn kill(sig: &str, pid: u32) {
    assert!(process::signal(pid, sig), "kill {sig} {pid}");
}

#[test]
fn keepalived_pair_in_network_namespaces() {
    let started = Instant::now();
    let tag = unique_tag("ka");
    // Outside /tmp: keepalived's /tmp is replaced.
    let work = TempDir::in_dir(Path::new("/run"), &tag);
    let mut lan = Lan::new(&tag, SUBNET, 2);
    let a = setup_node(&mut lan, 0, work.path(), 150);
    let b = setup_node(&mut lan, 1, work.path(), 100);
    let long = Duration::from_secs(20);
    let vip = [("vip", VIP)];

    // 1. Election: a (150) is master and holds the VIP, b is backup without it.
    a.wait_state("a to be master", long, "master");
    b.wait_state("b to be backup", long, "backup");
    let sa = a.scrape();
    let sb = b.scrape();
    assert_eq!(
        sample_value(&sa, "keepalived_process_status", &[]),
        Some(1.0)
    );
    assert_eq!(
        sample_value(
            &sa,
            "keepalived_vrrp_priority",
            &[("vrrp_instance", "VI_1")]
        ),
        Some(150.0)
    );
    assert_eq!(
        sample_value(
            &sb,
            "keepalived_vrrp_priority",
            &[("vrrp_instance", "VI_1")]
        ),
        Some(100.0)
    );
    assert_eq!(sample_value(&sa, "keepalived_vip_present", &vip), Some(1.0));
    assert_eq!(sample_value(&sb, "keepalived_vip_present", &vip), Some(0.0));
    assert_eq!(
        sample_value(&sb, "keepalived_vip_unexpected", &vip),
        Some(0.0)
    );
    assert_eq!(
        sample_value(&sa, "keepalived_config_garp_master_refresh_seconds", &[]),
        Some(60.0)
    );
    // The instance came from the included file, read by keepalived and the exporter alike.
    for (name, want) in [
        ("keepalived_config_includes", 1.0),
        ("keepalived_config_include_files", 1.0),
        ("keepalived_config_include_errors", 0.0),
        ("keepalived_config_instances", 1.0),
    ] {
        assert_eq!(sample_value(&sa, name, &[]), Some(want), "{name}");
    }
    a.wait_reach("a to reach b", long, &lan.addr(1), 1.0);
    b.wait_reach("b to reach a", long, &lan.addr(0), 1.0);
    // No false positive in a healthy pair: the backup answers nothing for the VIP.
    for _ in 0..3 {
        assert_eq!(a.value("keepalived_vip_conflict", &vip), Some(0.0));
        assert_eq!(
            b.value("keepalived_vip_conflict", &vip),
            None,
            "only a master probes its VIPs"
        );
    }
    assert_eq!(a.value("keepalived_check_failed", &[]), Some(0.0));

    // The real Prometheus scrapes both exporters over the management links.
    let prom = Prometheus::start(&Setup::with_jobs(vec![Job::new(
        "keepalived",
        &[a.http.target(), b.http.target()],
    )]));
    let healthy_a = a.scrape();
    let healthy_b = b.scrape();
    promtool::check_metrics(&healthy_a).unwrap_or_else(|e| panic!("promtool check metrics: {e}"));

    // 2a. FAULT by the track script: a logs it and the very next scrape counts it.
    std::fs::write(a.dir.join("fail"), "").unwrap();
    wait_until("a to log FAULT", long, || {
        a.log_has("Entering FAULT STATE").then_some(())
    });
    assert_eq!(
        a.value("keepalived_check_failed", &[]),
        Some(1.0),
        "one scrape after the log line"
    );
    assert_eq!(a.state("fault"), Some(1.0));
    b.wait_state("b to take over", long, "master");
    wait_until("b to log MASTER", long, || {
        b.log_has("Entering MASTER STATE").then_some(())
    });
    // Every election line is counted, as a failover or (within startup_grace of b's start) as
    // b's start-up election.
    let (failover, startup) = b.failovers();
    let b_failovers = failover + startup;
    assert_eq!(
        b_failovers,
        b.log_count("Entering BACKUP STATE") as f64 + b.log_count("Entering MASTER STATE") as f64
    );
    assert_eq!(
        b.total(
            "keepalived_log_transitions_total",
            &[("vrrp_instance", "VI_1"), ("state", "master")]
        ),
        1.0
    );
    b.wait_sample(
        "b to hold the VIP",
        long,
        "keepalived_vip_present",
        &vip,
        |v| v == 1.0,
    );
    assert_eq!(
        a.value("keepalived_vip_present", &vip),
        Some(0.0),
        "FAULT removes the VIP"
    );

    // 2b. Recovery, then SIGTERM of the master: b takes over and a's process is reported down.
    std::fs::remove_file(a.dir.join("fail")).unwrap();
    a.wait_state("a to be master again", long, "master");
    b.wait_state("b to be backup again", long, "backup");
    let before = b.total(
        "keepalived_log_events_total",
        &[("event", "entering_master")],
    );
    kill("-TERM", a.pid("ka.pid"));
    a.wait_sample(
        "a's keepalived to be reported down",
        long,
        "keepalived_process_status",
        &[],
        |v| v == 0.0,
    );
    b.wait_state("b to take over after SIGTERM", long, "master");
    wait_until("b's failover counter to move", long, || {
        (b.total(
            "keepalived_log_events_total",
            &[("event", "entering_master")],
        ) > before)
            .then_some(())
    });
    let (failover, startup) = b.failovers();
    assert!(failover + startup > b_failovers);
    assert!(
        !keepalived::vip_configured(&lan, 0, VIP),
        "SIGTERM releases the VIP"
    );
    assert_eq!(
        a.value("keepalived_vrrp_state", &[]),
        None,
        "no state without a keepalived to ask"
    );
    // Issue 10 item 12: a's restart logs an election (Entering BACKUP, then MASTER as it
    // preempts), its start-up, not a failover of a; b handing the VIP back is a real failover.
    let (a_failover, a_startup) = a.failovers();
    let (b_failover, _) = b.failovers();
    keepalived::start(&mut lan, 0, &a.dir);
    a.wait_state("restarted a to be master", long, "master");
    b.wait_state("b to be backup after a's return", long, "backup");
    wait_until("a's start-up election to be counted", long, || {
        (a.failovers().1 >= a_startup + 2.0).then_some(())
    });
    assert_eq!(
        a.failovers().0,
        a_failover,
        "a's restart is not a failover of a"
    );
    wait_until(
        "b's handing back the VIP to count as a failover",
        long,
        || (b.failovers().0 > b_failover).then_some(()),
    );
    assert!(
        a.value("keepalived_process_start_time_seconds", &[])
            .unwrap()
            > b.value("keepalived_process_start_time_seconds", &[])
                .unwrap(),
        "a restarted after b started"
    );

    // 3. Cutting b off the bridge: b can no longer reach a.
    lan.cut(1);
    b.wait_reach("b to lose a", long, &lan.addr(0), 0.0);
    lan.restore(1);
    b.wait_reach("b to reach a again", long, &lan.addr(0), 1.0);
    b.wait_state("b to settle as backup", long, "backup");
    a.wait_state("a to settle as master", long, "master");

    // 4. SIGKILL of the master (parent and VRRP child): its VIP stays configured. b becomes
    //    master, probes the VIP, and a's kernel still answers for it from a's MAC.
    let (ka_parent, ka_vrrp) = (a.pid("ka.pid"), a.pid("vrrp.pid"));
    kill("-KILL", ka_vrrp);
    kill("-KILL", ka_parent);
    lan.hosts[0].reap();
    b.wait_state("b to take over after SIGKILL", long, "master");
    assert!(
        keepalived::vip_configured(&lan, 0, VIP),
        "SIGKILL leaves the VIP on a"
    );
    b.wait_sample(
        "b to see the conflict",
        long,
        "keepalived_vip_conflict",
        &vip,
        |v| v == 1.0,
    );
    // The killed node's own exporter flags the VIP it still carries (keepalived is down, so the
    // VIPs come from keepalived.conf).
    a.wait_sample(
        "a to flag its stale VIP",
        long,
        "keepalived_vip_unexpected",
        &vip,
        |v| v == 1.0,
    );
    assert_eq!(a.value("keepalived_process_status", &[]), Some(0.0));
    let conflict_b = b.scrape();
    assert_eq!(
        sample_value(&conflict_b, "keepalived_process_status", &[]),
        Some(1.0)
    );
    // Prometheus sees it too; the rules are evaluated (the alert itself has a `for`).
    prom.wait_for("keepalived_vip_conflict == 1", long, |s| !s.is_empty());
    lan.hosts[0].ip(&["addr", "del", &format!("{VIP}/24"), "dev", "eth0"]);
    b.wait_sample(
        "b's conflict to clear",
        long,
        "keepalived_vip_conflict",
        &vip,
        |v| v == 0.0,
    );
    assert_eq!(a.value("keepalived_vip_unexpected", &vip), Some(0.0));

    // Gates: every documented family appears in a scrape, every dashboard query has data.
    let final_a = a.scrape();
    let final_b = b.scrape();
    metric_reference::check_scrape(
        "keepalived-exporter",
        "keepalived",
        &[&healthy_a, &healthy_b, &conflict_b, &final_a, &final_b],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dash = workspace_root().join("grafana-dashboards/keepalived-exporter.json");
    dashboards::check_live(&prom, &dash, &[], Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("keepalived e2e took {:?}", started.elapsed());
}
