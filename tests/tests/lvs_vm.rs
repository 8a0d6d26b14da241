//! lvs-exporter against a real kernel's IPVS. This host's kernel has none, so one VM
//! (`tests/vm/run-in-vm.sh`, Debian 12's kernel) runs a scripted scenario: Debian's `ipvsadm`
//! (used by the test only, never by the exporter) builds TCP, UDP, fwmark and IPv6 services
//! with real servers of several weights and forwarding methods, busybox `wget` sends traffic
//! through a VIP to busybox `httpd` (on the VM's loopback, and in two network namespaces of the
//! VM behind veth pairs), a busybox `nc` answers like a Redis that wants a password;
//! the host-built exporter is scraped after each change. The other test runs on this host,
//! where IPVS is absent. The VM run ends with `lvs-exporter diagnose` in one scenario per cause
//! (issue 17).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use suite_tests::diagnose::{details, failing, parse, step};
use suite_tests::exporter::{isolated_args, sample_value};
use suite_tests::{TempDir, bin_path, dashboards, metric_reference, vm, workspace_root};

fn fixtures() -> PathBuf {
    workspace_root().join("exporters/lvs-exporter/tests/fixtures")
}

/// The services the scenario builds, as the exporter's config names them.
const WEB: &str = "tcp/127.0.0.2:8080";
const DNS: &str = "udp/10.0.0.3:53";
const MARK: &str = "fwmark/7";
const V6: &str = "tcp/[2001:db8::10]:80";
const REDIS: &str = "tcp/127.0.0.2:6379";
/// A web service whose real servers are in two network namespaces of the VM, behind the VIP.
const NETNS: &str = "tcp/10.0.0.3:80";
/// Its real servers (namespaces rs1 and rs2), weights 3 and 1.
const NETNS_RS: [&str; 2] = ["10.2.1.2:80", "10.2.2.2:80"];

/// The VM's script; `dir` is a host directory (read-only in the VM) holding the rules, the
/// os-exporter config and the dashboard's queries, one per line.
fn script(dir: &str, os_args: &str) -> String {
    let exporter = bin_path("lvs-exporter").display().to_string();
    let os_exporter = bin_path("os-exporter").display().to_string();
    let dump = fixtures().join("master.data").display().to_string();
    format!(
        r#"set -eu
cd /tmp
cat > /tmp/lvs.toml <<'EOF'
keepalived_conf = ""
dial_timeout = "1s"
services = [
  {{ service = "{WEB}" }},
  {{ service = "{DNS}" }},
  {{ service = "{MARK}" }},
  {{ service = "{V6}" }},
  {{ service = "{REDIS}", probe = "AUTH x\r\n" }},
  {{ service = "{NETNS}" }},
]
[ping]
inner = ["127.0.0.1"]
vips = false
EOF
sed -e 's|^keepalived_conf = ""|keepalived_conf = ""\nkeepalived_dump = "{dump}"|' /tmp/lvs.toml > /tmp/lvs-dump.toml
# An instance that dials nothing through the VIPs, so its counters can equal ipvsadm's.
sed -e 's|^keepalived_conf = ""|keepalived_conf = ""\ndial = "never"|' /tmp/lvs.toml > /tmp/lvs-nodial.toml
chmod 644 /tmp/lvs.toml /tmp/lvs-dump.toml /tmp/lvs-nodial.toml
# The VIP this director holds (lvs_is_master), on an interface that is not lo.
ip link add lvs0 type dummy; ip link set lvs0 up; ip addr add 10.0.0.3/32 dev lvs0
# Two real servers in network namespaces, each behind a veth pair, routing back through us.
sysctl -qw net.ipv4.ip_forward=1
for i in 1 2; do
  ip netns add rs$i
  ip link add veth$i type veth peer name eth0 netns rs$i
  ip addr add 10.2.$i.1/24 dev veth$i; ip link set veth$i up
  ip -n rs$i addr add 10.2.$i.2/24 dev eth0; ip -n rs$i link set eth0 up; ip -n rs$i link set lo up
  ip -n rs$i route add default via 10.2.$i.1
  mkdir -p /tmp/rs$i; echo rs$i > /tmp/rs$i/index.html
  ip netns exec rs$i busybox httpd -p 80 -h /tmp/rs$i
done
mkdir -p /tmp/www; echo hello > /tmp/www/index.html
busybox httpd -p 9000 -h /tmp/www
printf '#!/bin/sh\nread -r line\necho "-NOAUTH Authentication required."\n' > /tmp/noauth.sh; chmod 755 /tmp/noauth.sh
busybox nc -ll -p 6380 -e /tmp/noauth.sh & nc_pid=$!
ipvsadm -A -t 127.0.0.2:8080 -s wrr
ipvsadm -a -t 127.0.0.2:8080 -r 127.0.0.1:9000 -m -w 3
ipvsadm -a -t 127.0.0.2:8080 -r 127.0.0.3:9000 -m -w 1
ipvsadm -A -u 10.0.0.3:53 -s rr
ipvsadm -a -u 10.0.0.3:53 -r 10.2.1.2:53 -m -w 1
ipvsadm -a -u 10.0.0.3:53 -r 10.2.2.2:53 -g -w 5
ipvsadm -A -f 7 -s wlc -p 300
ipvsadm -a -f 7 -r 10.1.0.3 -i -w 2
ipvsadm -A -t [2001:db8::10]:80 -s sh
ipvsadm -a -t [2001:db8::10]:80 -r [2001:db8::11]:80 -g -w 1
ipvsadm -A -t 127.0.0.2:6379 -s rr
ipvsadm -a -t 127.0.0.2:6379 -r 127.0.0.1:6380 -m -w 1
ipvsadm -A -t 10.0.0.3:80 -s wrr
ipvsadm -a -t 10.0.0.3:80 -r 10.2.1.2:80 -m -w 3
ipvsadm -a -t 10.0.0.3:80 -r 10.2.2.2:80 -m -w 1
{exporter} --config.file=/tmp/lvs.toml --web.listen-address=127.0.0.1:9912 >/tmp/exporter.log 2>&1 &
{exporter} --config.file=/tmp/lvs-nodial.toml --web.listen-address=127.0.0.1:9915 >/tmp/nodial.log 2>&1 &
scrape() {{
  for _ in $(seq 150); do curl -sf http://127.0.0.1:$2/metrics -o /tmp/scrape && break; sleep 0.2; done
  echo "=== $1"; cat /tmp/scrape
}}
for i in 1 2 3 4 5 6; do busybox wget -q -O /dev/null http://127.0.0.2:8080/index.html; done
# Through the VIP to the namespaced real servers: four requests, three datagrams.
for i in 1 2 3 4; do busybox wget -q -O /dev/null http://10.0.0.3/index.html; done
for i in 1 2 3; do echo query > /dev/udp/10.0.0.3/53 || true; done
# The per-CPU counters reach netlink and /proc only with the 2-second estimator: wait (bounded)
# until all six connections are counted, then until the packet counters stop moving.
for _ in $(seq 50); do
  ipvsadm -Ln --stats --exact -t 127.0.0.2:8080 | grep -q '^TCP .* 6 ' &&
    ipvsadm -Ln --stats --exact -t 10.0.0.3:80 | grep -q '^TCP .* 4 ' && break; sleep 0.2
done
prev=
for _ in $(seq 20); do
  cur=$(ipvsadm -Ln --stats --exact); [ "$cur" = "$prev" ] && break; prev=$cur; sleep 2.1
done
scrape counters 9915
echo "=== ipvsadm-stats"; ipvsadm -Ln --stats --exact
echo "=== ipvsadm"; ipvsadm -Ln
echo "=== proc"; cat /proc/net/ip_vs
echo "=== proc-stats"; cat /proc/net/ip_vs_stats
scrape base 9912
# Real Prometheus with the shipped rules scrapes the exporter (and os-exporter, for the
# dashboard's CPU and bond panels); bond0 exists since the bonding driver was loaded.
{os_exporter} {os_args} --web.listen-address=127.0.0.1:9910 >/tmp/os.log 2>&1 &
cat > /tmp/prom.yml <<'EOF'
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: ['{dir}/lvs.yml', '{dir}/os.yml']
scrape_configs:
  - job_name: lvs
    static_configs: [{{targets: ['127.0.0.1:9912']}}]
  - job_name: os
    scrape_interval: 10s
    scrape_timeout: 10s
    static_configs: [{{targets: ['127.0.0.1:9910']}}]
EOF
prometheus --config.file=/tmp/prom.yml --storage.tsdb.path=/tmp/prom --web.listen-address=127.0.0.1:9090 --log.level=warn >/tmp/prom.log 2>&1 &
# Not root: netlink is refused (EPERM), /proc/net/ip_vs still answers.
setpriv --reuid=65534 --regid=65534 --clear-groups {exporter} --config.file=/tmp/lvs.toml --web.listen-address=127.0.0.1:9913 >/tmp/nobody.log 2>&1 &
scrape unprivileged 9913
# Drain one real server, remove a service, stop Redis's real server.
ipvsadm -e -t 127.0.0.2:8080 -r 127.0.0.3:9000 -m -w 0
ipvsadm -D -u 10.0.0.3:53
kill $nc_pid; wait $nc_pid 2>/dev/null || true
scrape changed 9912
# The shipped rules react (pending or firing: their `for` is longer than this test waits).
want='LvsServiceMissing LvsRealServerDown LvsDialFailing LvsNoRealServerUp'
for _ in $(seq 120); do
  curl -sf http://127.0.0.1:9090/api/v1/alerts -o /tmp/alerts || {{ sleep 1; continue; }}
  ok=1; for a in $want; do grep -q "\"alertname\":\"$a\"" /tmp/alerts || ok=; done
  [ -n "$ok" ] && break; sleep 1
done
echo "=== alerts"; cat /tmp/alerts; echo
# Every query of the dashboard has data.
i=0
while IFS= read -r q; do
  i=$((i+1)); r=
  for _ in $(seq 30); do
    r=$(curl -sf --data-urlencode "query=$q" http://127.0.0.1:9090/api/v1/query || true)
    echo "$r" | grep -q '"result":\[{{' && break; sleep 1
  done
  echo "=== query $i"; echo "$q"; echo "$r"
done < {dir}/queries.txt
# Without the VIP this director is a backup: no dial through VIPs.
ip addr del 10.0.0.3/32 dev lvs0
scrape backup 9912
# ... unless keepalived's dump says MASTER.
{exporter} --config.file=/tmp/lvs-dump.toml --web.listen-address=127.0.0.1:9914 >/tmp/dump.log 2>&1 &
scrape dump 9914
# diagnose (issue 17): one scenario per cause, each config naming only its scenario's service.
printf '#!/bin/sh\nsleep 30\n' > /tmp/silent.sh; chmod 755 /tmp/silent.sh
busybox nc -ll -p 6381 -e /tmp/silent.sh & silent_pid=$!
ip addr add 10.0.0.3/32 dev lvs0
ipvsadm -A -t 127.0.0.4:8080 -s rr
ipvsadm -a -t 127.0.0.4:8080 -r 127.0.0.1:9000 -m -w 1
ipvsadm -A -t 127.0.0.5:8080 -s rr
ipvsadm -a -t 127.0.0.5:8080 -r 127.0.0.1:9000 -m -w 0
ipvsadm -A -t 127.0.0.6:8080 -s rr
ipvsadm -a -t 127.0.0.6:8080 -r 127.0.0.1:9001 -m -w 1
ipvsadm -A -t 127.0.0.7:8080 -s rr
ipvsadm -a -t 127.0.0.7:8080 -r 127.0.0.1:9000 -m -w 1
ipvsadm -a -t 127.0.0.7:8080 -r 127.0.0.3:9000 -m -w 0
ipvsadm -A -t 127.0.0.8:6379 -s rr
ipvsadm -a -t 127.0.0.8:6379 -r 127.0.0.1:6381 -m -w 1
# Dials get 3 s here: under software emulation, with the host busy, a loopback connect to
# busybox has taken over 1 s (a healthy real server then reads as down).
diag() {{
  name=$1; service=$2; probe=$3; shift 3
  printf 'keepalived_conf = ""\ndial_timeout = "3s"\nvips = ["10.0.0.3"]\nservices = [{{ service = "%s", probe = "%s" }}]\n[ping]\ninner = ["127.0.0.1"]\nvips = false\n' "$service" "$probe" > /tmp/d-$name.toml
  echo "=== diag-$name"
  code=0; {exporter} diagnose --output json --config.file=/tmp/d-$name.toml "$@" || code=$?
  echo "=== diag-$name-exit"; echo $code
}}
diag ok tcp/127.0.0.4:8080 '' --target 10.0.0.3
diag missing udp/10.0.0.3:53 ''
diag no-real-server tcp/127.0.0.5:8080 ''
diag real-server-down tcp/127.0.0.6:8080 ''
diag drained tcp/127.0.0.7:8080 ''
diag dial tcp/127.0.0.8:6379 'PING\r\n'
ip addr del 10.0.0.3/32 dev lvs0
diag not-master tcp/127.0.0.4:8080 '' --target 10.0.0.3
kill $silent_pid; wait $silent_pid 2>/dev/null || true
echo "=== module"; grep -c '^ip_vs ' /proc/modules || true
echo "=== targets"; curl -s http://127.0.0.1:9090/api/v1/targets; echo
echo "=== log"; cat /tmp/exporter.log /tmp/nobody.log /tmp/dump.log /tmp/prom.log /tmp/os.log | tail -n 40
echo "=== end"
"#
    )
}

fn value(scrape: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    sample_value(scrape, name, labels)
}

/// The dashboard's panel and variable queries, variables matching everything.
fn dashboard_queries() -> Vec<String> {
    let path = workspace_root().join("grafana-dashboards/lvs-exporter.json");
    let dash = dashboards::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    for p in dashboards::panels(&dash) {
        for t in p["targets"].as_array().into_iter().flatten() {
            if let Some(e) = t["expr"].as_str() {
                out.push(dashboards::substitute(e, &[]));
            }
        }
    }
    for v in dash["templating"]["list"].as_array().into_iter().flatten() {
        let q = v["query"].as_str().unwrap_or_default();
        if let Some(inner) = q
            .strip_prefix("label_values(")
            .and_then(|r| r.strip_suffix(')'))
        {
            let (sel, label) = inner.rsplit_once(',').unwrap();
            out.push(dashboards::substitute(
                &format!("count by ({}) ({sel})", label.trim()),
                &[],
            ));
        }
    }
    out
}

#[test]
fn a_real_ipvs_table_its_counters_and_its_changes() {
    let dir = TempDir::new("lvs-vm");
    std::fs::copy(
        workspace_root().join("alerting-rules/lvs.yml"),
        dir.path().join("lvs.yml"),
    )
    .unwrap();
    // os.yml records os_cpu_usage, which the dashboard's CPU panel shows.
    std::fs::copy(
        workspace_root().join("alerting-rules/os.yml"),
        dir.path().join("os.yml"),
    )
    .unwrap();
    let queries = dashboard_queries();
    std::fs::write(dir.path().join("queries.txt"), queries.join("\n") + "\n").unwrap();
    let os_args = isolated_args("os-exporter", dir.path()).join(" ");
    let out = vm::run_script(
        &[
            "crc32c_generic",
            "ip_vs",
            "ip_vs_rr",
            "ip_vs_wrr",
            "ip_vs_wlc",
            "ip_vs_sh",
            "dummy",
            "veth",
            "bonding",
        ],
        Duration::from_secs(420),
        &script(&dir.path().display().to_string(), &os_args),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // For a look at a failed run: LVS_VM_OUTPUT=<file> keeps what the VM printed.
    if let Some(keep) = std::env::var_os("LVS_VM_OUTPUT") {
        std::fs::write(keep, &out).unwrap();
    }
    let s = vm::sections(&out);
    let section = |n: &str| {
        s.get(n)
            .cloned()
            .unwrap_or_else(|| panic!("no section {n} in:\n{out}"))
    };
    let counters = section("counters");
    let base = section("base");
    let ctx = format!("{counters}\n--- log:\n{}", section("log"));

    // 1. Services, real servers, weights and connections equal ipvsadm's and /proc's.
    assert_eq!(value(&counters, "lvs_status", &[]), Some(1.0), "{ctx}");
    assert_eq!(value(&base, "lvs_status", &[]), Some(1.0), "{base}");
    assert_eq!(value(&counters, "lvs_services", &[]), Some(6.0), "{ctx}");
    assert_eq!(
        value(&counters, "lvs_ipvs_source_info", &[("source", "netlink")]),
        Some(1.0),
        "{ctx}"
    );
    let list = suite_tests::ipvsadm::lines(&section("ipvsadm"));
    let stats = suite_tests::ipvsadm::lines(&section("ipvsadm-stats"));
    let mut real_servers = 0;
    for ((svc, rs), words) in &list {
        if rs.is_empty() {
            assert_eq!(
                value(
                    &counters,
                    "lvs_service_info",
                    &[("service", svc), ("scheduler", &words[0])]
                ),
                Some(1.0),
                "{svc} {words:?}\n{ctx}"
            );
            continue;
        }
        real_servers += 1;
        let l = [("service", svc.as_str()), ("real_server", rs.as_str())];
        let fwd = words[0].to_lowercase();
        assert_eq!(
            value(
                &counters,
                "lvs_real_server_weight",
                &[("service", svc), ("real_server", rs), ("forward", &fwd)]
            ),
            words[1].parse().ok(),
            "{svc} {rs} {words:?}\n{ctx}"
        );
        assert_eq!(
            value(&counters, "lvs_real_server_active_connections", &l),
            words[2].parse().ok(),
            "{svc} {rs}"
        );
        assert_eq!(
            value(&counters, "lvs_real_server_inactive_connections", &l),
            words[3].parse().ok(),
            "{svc} {rs}"
        );
    }
    assert_eq!(real_servers, 9, "{list:?}");
    for ((svc, rs), words) in &stats {
        let (prefix, labels): (&str, Vec<(&str, &str)>) = if rs.is_empty() {
            ("lvs_service", vec![("service", svc.as_str())])
        } else {
            (
                "lvs_real_server",
                vec![("service", svc.as_str()), ("real_server", rs.as_str())],
            )
        };
        for (i, suffix) in [
            "connections_total",
            "incoming_packets_total",
            "outgoing_packets_total",
            "incoming_bytes_total",
            "outgoing_bytes_total",
        ]
        .iter()
        .enumerate()
        {
            assert_eq!(
                value(&counters, &format!("{prefix}_{suffix}"), &labels),
                words[i].parse().ok(),
                "{prefix}_{suffix} {labels:?} {words:?}\n{ctx}"
            );
        }
    }
    // The traffic moved the counters of the web service and both its real servers.
    let web_conns = value(
        &counters,
        "lvs_service_connections_total",
        &[("service", WEB)],
    );
    assert_eq!(web_conns, Some(6.0), "{ctx}");
    for rs in ["127.0.0.1:9000", "127.0.0.3:9000"] {
        let c = value(
            &counters,
            "lvs_real_server_connections_total",
            &[("service", WEB), ("real_server", rs)],
        )
        .unwrap();
        assert!(c >= 1.0, "{rs} got no connection\n{ctx}");
        assert!(
            value(
                &counters,
                "lvs_real_server_incoming_bytes_total",
                &[("service", WEB), ("real_server", rs)]
            )
            .unwrap()
                > 0.0
        );
    }
    // Through the VIP to the real servers in the VM's network namespaces: wrr 3:1 over four
    // requests, and the three datagrams of the UDP service.
    let conns = |svc: &str, rs: Option<&str>| {
        let mut l = vec![("service", svc)];
        let name = match rs {
            Some(r) => {
                l.push(("real_server", r));
                "lvs_real_server_connections_total"
            }
            None => "lvs_service_connections_total",
        };
        value(&counters, name, &l)
    };
    assert_eq!(conns(NETNS, None), Some(4.0), "{ctx}");
    assert_eq!(conns(NETNS, Some(NETNS_RS[0])), Some(3.0), "{ctx}");
    assert_eq!(conns(NETNS, Some(NETNS_RS[1])), Some(1.0), "{ctx}");
    assert_eq!(conns(DNS, None), Some(3.0), "{ctx}");
    assert!(value(&counters, "lvs_ipvs_connections_total", &[]).unwrap() >= 13.0);
    assert_eq!(
        value(
            &counters,
            "lvs_service_info",
            &[("service", MARK), ("persistent", "300")]
        ),
        Some(1.0),
        "{ctx}"
    );
    // Master (VIP 10.0.0.3 on lvs0): the dials go out.
    assert_eq!(value(&base, "lvs_is_master", &[]), Some(1.0), "{ctx}");
    assert_eq!(
        value(&base, "lvs_vip_local", &[("vip", "10.0.0.3")]),
        Some(1.0)
    );
    assert_eq!(
        value(&base, "lvs_vip_local", &[("vip", "127.0.0.2")]),
        Some(0.0),
        "lo is not a VIP holder"
    );
    assert_eq!(
        value(&base, "lvs_dial_business_port", &[("service", WEB)]),
        Some(1.0),
        "{ctx}"
    );
    // 3. The Redis stand-in answers "-NOAUTH": a pass.
    assert_eq!(
        value(&base, "lvs_dial_business_port", &[("service", REDIS)]),
        Some(1.0),
        "{ctx}"
    );
    assert_eq!(
        value(
            &base,
            "lvs_backend_status",
            &[("service", WEB), ("real_server", "127.0.0.3:9000")]
        ),
        Some(1.0),
        "{ctx}"
    );
    assert_eq!(
        value(
            &base,
            "lvs_ping_up",
            &[("target", "127.0.0.1"), ("role", "inner")]
        ),
        Some(1.0),
        "{ctx}"
    );

    // /proc/net/ip_vs of the same moment parses into the same table.
    let proc_text = section("proc");
    assert!(
        proc_text.starts_with("IP Virtual Server version"),
        "{proc_text}"
    );
    // The fwmark service's 300 s persistence, printed in jiffies (HZ=250).
    assert!(
        proc_text.contains("FWM  00000007 wlc persistent 75000"),
        "{proc_text}"
    );

    // 6. Without CAP_NET_ADMIN netlink is refused and /proc answers: same services, no counters.
    let nobody = section("unprivileged");
    assert_eq!(
        value(&nobody, "lvs_ipvs_source_info", &[("source", "proc")]),
        Some(1.0),
        "{nobody}\n{}",
        section("log")
    );
    assert_eq!(value(&nobody, "lvs_services", &[]), Some(6.0));
    assert_eq!(value(&nobody, "lvs_status", &[]), Some(1.0));
    assert!(
        !nobody.contains("lvs_service_connections_total{"),
        "{nobody}"
    );

    // 2. Drained, removed, stopped.
    let changed = section("changed");
    assert_eq!(value(&changed, "lvs_status", &[]), Some(0.0), "{changed}");
    assert_eq!(
        value(
            &changed,
            "lvs_status_problems",
            &[("problem", "service_missing")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&changed, "lvs_service_present", &[("service", DNS)]),
        Some(0.0)
    );
    assert_eq!(
        value(&changed, "lvs_service_present", &[("service", WEB)]),
        Some(1.0)
    );
    let drained = [("service", WEB), ("real_server", "127.0.0.3:9000")];
    assert_eq!(
        value(&changed, "lvs_backend_drained", &drained),
        Some(1.0),
        "{changed}"
    );
    assert_eq!(
        value(&changed, "lvs_backend_status", &drained),
        None,
        "a drained real server is not reported down\n{changed}"
    );
    assert_eq!(
        value(
            &changed,
            "lvs_service_real_servers_weighted",
            &[("service", WEB)]
        ),
        Some(1.0)
    );
    let redis_rs = [("service", REDIS), ("real_server", "127.0.0.1:6380")];
    assert_eq!(
        value(&changed, "lvs_backend_status", &redis_rs),
        Some(0.0),
        "{changed}"
    );
    assert_eq!(
        value(&changed, "lvs_dial_business_port", &[("service", REDIS)]),
        Some(0.0),
        "no real server answers behind the VIP\n{changed}"
    );
    assert_eq!(
        value(&changed, "lvs_dial_business_port", &[("service", WEB)]),
        Some(1.0)
    );

    // 4. The role follows the VIP, and the dump.
    let backup = section("backup");
    assert_eq!(value(&backup, "lvs_is_master", &[]), Some(0.0), "{backup}");
    assert!(!backup.contains("lvs_dial_business_port{"), "{backup}");
    let dump = section("dump");
    assert_eq!(value(&dump, "lvs_is_master", &[]), Some(1.0), "{dump}");
    assert_eq!(
        value(&dump, "lvs_vrrp_master", &[("vrrp_instance", "VI_1")]),
        Some(1.0)
    );
    // 2. The shipped rules in real Prometheus: the removed service, the stopped real server and
    // the failed dial alert; the drained real server does not.
    let alerts: serde_json::Value = serde_json::from_str(section("alerts").trim())
        .unwrap_or_else(|e| panic!("alerts: {e}\n{}", section("alerts")));
    let active: Vec<(String, String)> = alerts["data"]["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let l = &a["labels"];
            let subject = ["service", "real_server"]
                .iter()
                .filter_map(|k| l[*k].as_str())
                .collect::<Vec<_>>()
                .join(" ");
            (
                l["alertname"].as_str().unwrap_or_default().to_owned(),
                subject,
            )
        })
        .collect();
    for want in [
        ("LvsServiceMissing", DNS.to_owned()),
        ("LvsRealServerDown", format!("{REDIS} 127.0.0.1:6380")),
        ("LvsDialFailing", REDIS.to_owned()),
        ("LvsNoRealServerUp", REDIS.to_owned()),
    ] {
        assert!(
            active.iter().any(|(n, s)| *n == want.0 && *s == want.1),
            "{want:?} not active in Prometheus: {active:?}"
        );
    }
    assert!(
        !active.iter().any(|(_, s)| s.contains("127.0.0.3:9000")),
        "the drained real server alerted: {active:?}"
    );
    assert!(
        !active.iter().any(|(_, s)| s == WEB),
        "the web service alerted: {active:?}"
    );
    // The dashboard (grafana-dashboards/lvs-exporter.json): every query has data.
    for (i, q) in queries.iter().enumerate() {
        let r = section(&format!("query {}", i + 1));
        assert!(r.contains("\"result\":[{"), "no data for {q}:\n{r}");
    }
    // The metric reference, both ways, over this test's scrapes.
    let scrapes = [&base, &nobody, &changed, &backup, &dump];
    metric_reference::check_scrape("lvs-exporter", "lvs", &scrapes.map(String::as_str))
        .unwrap_or_else(|e| panic!("{e}"));
    for collector in ["ipvs", "role", "dial", "ping"] {
        for (name, text) in [("base", &base), ("changed", &changed), ("dump", &dump)] {
            assert_eq!(
                value(
                    text,
                    "lvs_scrape_collector_success",
                    &[("collector", collector)]
                ),
                Some(1.0),
                "{collector} in {name}\n{text}"
            );
        }
    }
    // 5. diagnose (issue 17): each scenario's own verdict, checked field by field.
    diagnose_scenarios(&s);
}

/// The report of diagnose scenario `name` and its exit status.
fn diag_report(s: &BTreeMap<String, String>, name: &str) -> (serde_json::Value, String) {
    let text = s
        .get(&format!("diag-{name}"))
        .unwrap_or_else(|| panic!("no diag-{name} section in {:?}", s.keys()));
    let report = parse(text, &format!("(section diag-{name})"));
    let code = s
        .get(&format!("diag-{name}-exit"))
        .map(|c| c.trim().to_owned())
        .unwrap_or_default();
    (report, code)
}

/// `lvs-exporter diagnose` in the VM's scenarios: a healthy service gives no fault; a missing
/// service, a service without a weighted real server, a real server down, a drained one, a
/// business port that does not answer through the VIP and a director without its VIP each give
/// their own verdict, from the steps that show it.
fn diagnose_scenarios(s: &BTreeMap<String, String>) {
    let (r, code) = diag_report(s, "ok");
    assert_eq!(r["verdict"]["cause"], "no_fault_found", "{r:#}");
    assert_eq!(code, "0");
    assert!(failing(&r).is_empty(), "{r:#}");
    let ids: Vec<&str> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "ping_alarmed_ip",
            "ping_device",
            "login",
            "cpu_bond_traffic",
            "lvs_status",
            "lvs_is_master",
            "dial_business_port",
            "backend_status",
            "who_to_tell"
        ]
    );
    for manual in ["login", "cpu_bond_traffic", "who_to_tell"] {
        assert_eq!(step(&r, manual)["status"], "manual", "{manual}");
    }
    assert!(
        step(&r, "who_to_tell")["instruction"]["zh"]
            .as_str()
            .unwrap()
            .contains("单点"),
        "{r:#}"
    );
    assert!(details(step(&r, "ping_alarmed_ip"))[0].starts_with("10.0.0.3: answered in"));
    assert!(details(step(&r, "ping_device"))[0].starts_with("127.0.0.1 (inner): answered in"));
    let table = details(step(&r, "lvs_status"));
    assert!(
        table.len() == 1
            && table[0].starts_with("tcp/127.0.0.4:8080: -> 127.0.0.1:9000 ")
            && table[0].ends_with("weight 1"),
        "{table:?}"
    );
    assert!(
        details(step(&r, "lvs_is_master")).contains(&"10.0.0.3: on a local interface".to_owned()),
        "{r:#}"
    );
    assert!(
        details(step(&r, "dial_business_port"))[0].starts_with("tcp/127.0.0.4:8080: answered in")
    );
    assert_eq!(
        details(step(&r, "backend_status")),
        ["tcp/127.0.0.4:8080 -> 127.0.0.1:9000: accepts connections"]
    );

    // (scenario, cause, failing steps, the step whose evidence shows it, that evidence). A dial
    // through the VIP that fails because its only real server is down names the real server.
    let cases = [
        (
            "missing",
            "service_missing",
            &["lvs_status"][..],
            "lvs_status",
            "udp/10.0.0.3:53: not in the table",
        ),
        (
            "no-real-server",
            "no_real_server_up",
            &["lvs_status", "dial_business_port", "backend_status"][..],
            "lvs_status",
            "tcp/127.0.0.5:8080: -> 127.0.0.1:9000 ",
        ),
        (
            "real-server-down",
            "real_server_down",
            &["dial_business_port", "backend_status"][..],
            "backend_status",
            "tcp/127.0.0.6:8080 -> 127.0.0.1:9001: refused or no answer",
        ),
        (
            "drained",
            "real_server_drained",
            &["backend_status"][..],
            "backend_status",
            "tcp/127.0.0.7:8080 -> 127.0.0.3:9000: drained (weight 0)",
        ),
        (
            "dial",
            "dial_failing",
            &["dial_business_port"][..],
            "dial_business_port",
            "tcp/127.0.0.8:6379: no connection or no answer",
        ),
        (
            "not-master",
            "not_master",
            &["ping_alarmed_ip", "lvs_is_master"][..],
            "lvs_is_master",
            "10.0.0.3: not held here",
        ),
    ];
    for (name, cause, failing_steps, shown_in, shows) in cases {
        let (r, code) = diag_report(s, name);
        assert_eq!(r["verdict"]["cause"], cause, "{name}: {r:#}");
        assert_eq!(code, "1", "{name}");
        assert_eq!(failing(&r), failing_steps, "{name}: {r:#}");
        assert_eq!(
            r["verdict"]["steps"],
            serde_json::json!([shown_in]),
            "{name}: {r:#}"
        );
        assert!(
            details(step(&r, shown_in))
                .iter()
                .any(|e| e.starts_with(shows)),
            "{name}: {shown_in} lacks {shows:?}: {r:#}"
        );
    }
    let (r, _) = diag_report(s, "dial");
    assert_eq!(
        details(step(&r, "backend_status")),
        ["tcp/127.0.0.8:6379 -> 127.0.0.1:6381: accepts connections"],
        "the real server accepts; only the answer through the VIP is missing"
    );
    let (r, _) = diag_report(s, "not-master");
    assert_eq!(step(&r, "dial_business_port")["status"], "not_applicable");
    assert_eq!(
        details(step(&r, "ping_alarmed_ip")),
        ["10.0.0.3: no answer within 1.0 s"]
    );
}

#[test]
fn without_ipvs_status_is_zero_with_its_reason_and_no_module_is_loaded() {
    let dir = TempDir::new("lvs-absent");
    // This host's kernel has no IPVS; where one has it, an empty procfs stands in.
    let real = !std::path::Path::new("/proc/net/ip_vs").exists();
    let procfs = if real {
        PathBuf::from("/proc")
    } else {
        std::fs::create_dir_all(dir.path().join("proc/net")).unwrap();
        std::fs::write(dir.path().join("proc/modules"), "").unwrap();
        dir.path().join("proc")
    };
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(
        &conf,
        "vrrp_instance VI_LB {\n  interface eth0\n  unicast_src_ip 192.168.10.11\n  unicast_peer {\n    192.168.10.12\n    10.202.50.7\n  }\n}\n\
         vrrp_instance VI_OK {\n  interface eth0\n  unicast_src_ip 192.168.10.11\n  unicast_peer { 192.168.10.12 }\n}\n\
         virtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 192.0.2.2 80 { weight 1 }\n}\n",
    )
    .unwrap();
    let cfg = dir.path().join("lvs.toml");
    std::fs::write(
        &cfg,
        format!(
            "keepalived_conf = \"{}\"\nkeepalived_dump = \"{}\"\ntenant_subnets = [\"192.168.10.0/24\"]\n\
             dial = \"always\"\ndial_timeout = \"300ms\"\ncluster = \"lvs-a\"\ncluster_mode = \"ha\"\n\
             [ping]\ninner = [\"127.0.0.1\"]\nvips = false\n",
            conf.display(),
            fixtures().join("master.data").display()
        ),
    )
    .unwrap();
    let modules_before = std::fs::read_to_string("/proc/modules").unwrap_or_default();
    let e = suite_tests::exporter::Exporter::start(
        "lvs-exporter",
        &[
            &format!("--config.file={}", cfg.display()),
            &format!("--path.procfs={}", procfs.display()),
        ],
    );
    let m = e.scrape();
    assert_eq!(value(&m, "lvs_status", &[]), Some(0.0), "{m}");
    assert_eq!(value(&m, "lvs_ipvs_present", &[]), Some(0.0));
    assert_eq!(
        value(&m, "lvs_status_problems", &[("problem", "ipvs_absent")]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "lvs_service_present",
            &[("service", "tcp/192.0.2.1:80")]
        ),
        Some(0.0),
        "keepalived.conf's virtual_server is expected\n{m}"
    );
    // The VIP does not answer (TEST-NET-1): a clear 0, within the dial timeout.
    assert_eq!(
        value(
            &m,
            "lvs_dial_business_port",
            &[("service", "tcp/192.0.2.1:80")]
        ),
        Some(0.0),
        "{m}"
    );
    assert_eq!(
        value(&m, "lvs_is_master", &[]),
        Some(1.0),
        "the dump says MASTER\n{m}"
    );
    assert_eq!(
        value(
            &m,
            "lvs_keepalived_vrrp_subnet_ok",
            &[("vrrp_instance", "VI_LB")]
        ),
        Some(0.0),
        "{m}"
    );
    assert_eq!(
        value(
            &m,
            "lvs_keepalived_vrrp_addresses_outside_subnet",
            &[("vrrp_instance", "VI_LB")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "lvs_keepalived_vrrp_subnet_ok",
            &[("vrrp_instance", "VI_OK")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "lvs_director_info",
            &[("cluster", "lvs-a"), ("mode", "ha")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "lvs_ping_up",
            &[("target", "127.0.0.1"), ("role", "inner")]
        ),
        Some(1.0),
        "{m}"
    );
    for c in ["ipvs", "role", "dial", "lint", "ping"] {
        assert_eq!(
            value(&m, "lvs_scrape_collector_success", &[("collector", c)]),
            Some(1.0),
            "{c}\n{m}"
        );
    }
    e.terminate();
    if real {
        let after = std::fs::read_to_string("/proc/modules").unwrap_or_default();
        assert_eq!(
            modules_before
                .lines()
                .filter(|l| l.starts_with("ip_vs"))
                .count(),
            after.lines().filter(|l| l.starts_with("ip_vs")).count(),
            "the exporter loaded IPVS"
        );
        assert!(!std::path::Path::new("/sys/module/ip_vs").exists());
    }
}
