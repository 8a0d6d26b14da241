//! os-exporter's daemon rows on systemd's side: this host's PID 1 is not systemd, so a VM boots
//! Debian's kernel with the host's systemd as PID 1 (`tests/vm/run-in-vm.sh -s`) and the
//! packages' real units: a running unit (cron.service), a stopped one (rsyslog.service), a
//! disabled one (ssh.service) and one that does not exist, then each turned the other way. The
//! exporter runs as `nobody`, as the packaged unit runs unprivileged, over the system bus. The
//! same VM has journald: the messages rows' fallback to the journal when no messages file exists.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use suite_tests::exporter::sample_value;
use suite_tests::{bin_path, vm};

fn script() -> String {
    let exporter = bin_path("os-exporter").display().to_string();
    format!(
        r#"set -eu
mkdir -p /run/osx && chown nobody /run/osx
cat > /run/osx/os.toml <<'CFG'
[collectors]
disabled = ["ping", "ntp"]

[audit]
path = "/run/osx/audit.jsonl"

[audit_checks]
interval = "1s"

[services.ntpd]
units = ["no-such-timed.service"]

[messages]
files = ["/nonexistent/messages"]
# journalctl takes a second or more under emulation, several when the journal is cold: the
# run's bound is the interval.
interval = "10s"
CFG
# The journal fallback of the messages rows: entries journald stores with their priority.
logger -p user.err -t osx "vm: something went wrong"
logger -p user.warning -t osx "vm: running low"
systemctl start cron.service
systemctl start rsyslog.service
systemctl stop rsyslog.service syslog.socket
systemctl disable --now ssh.service 2>/dev/null
echo "=== states"
for u in cron.service rsyslog.service ssh.service sshd.service no-such-timed.service; do
  echo "$u $(systemctl is-active $u || true) $(systemctl is-enabled $u 2>/dev/null || echo not-found)"
done
setpriv --reuid=nobody --regid=nogroup --groups=systemd-journal {exporter} --config.file=/run/osx/os.toml \
  --web.listen-address=127.0.0.1:9910 > /run/osx/exporter.log 2>&1 &
scrape() {{
  for _ in $(seq 100); do curl -sf http://127.0.0.1:9910/metrics -o /run/osx/scrape && break; sleep 0.2; done
  echo "=== $1"; grep -E '^os_(crond|syslogd|sshd|ntpd)_abnormal|^os_service_info|^os_scrape_collector_success.*services|^os_message|^os_messages_last_run_success' /run/osx/scrape || true
}}
scrape initial
systemctl stop cron.service
scrape cron-stopped
systemctl start rsyslog.service
# The messages job's first journalctl may overrun its timeout under emulation (the journal is
# cold): the rows are checked once a pass has read the journal, within 40 s.
for _ in $(seq 80); do
  curl -sf http://127.0.0.1:9910/metrics | grep -q '^os_messages_last_run_success 1' && break
  sleep 0.5
done
scrape rsyslog-started
# The audit sampler runs every second: let it see the turns.
sleep 3
echo "=== audit"
cat /run/osx/audit.jsonl || true
echo "=== log"
cat /run/osx/exporter.log
"#
    )
}

fn info(s: &str, service: &str, found: &str, active: &str, sub: &str) -> Option<f64> {
    sample_value(
        s,
        "os_service_info",
        &[
            ("service", service),
            ("source", "systemd"),
            ("found", found),
            ("active_state", active),
            ("sub_state", sub),
        ],
    )
}

#[test]
fn running_stopped_disabled_and_missing_units_of_a_real_systemd() {
    let out = vm::run_script_systemd(Duration::from_secs(240), &script())
        .unwrap_or_else(|e| panic!("{e}"));
    let s = vm::sections(&out);
    let section = |n: &str| {
        s.get(n)
            .cloned()
            .unwrap_or_else(|| panic!("no section {n} in:\n{out}"))
    };
    let states = section("states");
    assert!(states.contains("cron.service active enabled"), "{states}");
    assert!(states.contains("ssh.service inactive disabled"), "{states}");

    let initial = section("initial");
    let row = |s: &str, r: &str| sample_value(s, &format!("os_{r}_abnormal"), &[]);
    assert_eq!(
        sample_value(
            &initial,
            "os_scrape_collector_success",
            &[("collector", "services")]
        ),
        Some(1.0),
        "as nobody over the system bus:\n{initial}\n{}",
        section("log")
    );
    assert_eq!(row(&initial, "crond"), Some(0.0), "{initial}");
    assert_eq!(
        info(&initial, "crond", "cron.service", "active", "running"),
        Some(1.0)
    );
    assert_eq!(row(&initial, "syslogd"), Some(1.0), "stopped:\n{initial}");
    assert_eq!(
        info(&initial, "syslogd", "rsyslog.service", "inactive", "dead"),
        Some(1.0)
    );
    assert_eq!(row(&initial, "sshd"), Some(1.0), "disabled:\n{initial}");
    assert_eq!(
        info(&initial, "sshd", "ssh.service", "inactive", "dead"),
        Some(1.0),
        "{initial}"
    );
    assert_eq!(row(&initial, "ntpd"), Some(1.0), "missing:\n{initial}");
    assert_eq!(
        info(&initial, "ntpd", "", "inactive", "not-found"),
        Some(1.0)
    );

    let stopped = section("cron-stopped");
    assert_eq!(
        row(&stopped, "crond"),
        Some(1.0),
        "at the next scrape:\n{stopped}"
    );
    assert_eq!(
        info(&stopped, "crond", "cron.service", "inactive", "dead"),
        Some(1.0)
    );
    let started = section("rsyslog-started");
    assert_eq!(row(&started, "syslogd"), Some(0.0), "{started}");

    // The evidence of `service X status`: unit properties, the disabled unit file among them.
    let audit: Vec<serde_json::Value> = section("audit")
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|r: &serde_json::Value| r["check"] == "service_abnormal")
        .collect();
    let of = |name: &str| {
        audit
            .iter()
            .find(|r| r["evidence"]["service"] == name)
            .unwrap_or_else(|| panic!("no record for {name}: {audit:?}"))
    };
    let ssh = &of("sshd")["evidence"]["status"]["units"][0];
    assert_eq!(ssh["unit"], "ssh.service", "{ssh}");
    assert_eq!(ssh["properties"]["unit_file_state"], "disabled", "{ssh}");
    let cron = &of("crond")["evidence"]["status"]["units"][0];
    assert_eq!(cron["active_state"], "inactive", "{cron}");
    assert!(
        cron["properties"]["inactive_enter_timestamp_us"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(
        of("ntpd")["evidence"]["status"]["not_found"][0],
        "no-such-timed.service"
    );

    // No messages file: the journal's last entries, by PRIORITY, read as the unit's user in
    // the systemd-journal group.
    let later = section("rsyslog-started");
    assert_eq!(
        sample_value(&later, "os_messages_last_run_success", &[]),
        Some(1.0),
        "{later}"
    );
    assert!(
        sample_value(&later, "os_message_error", &[]).unwrap() >= 1.0,
        "{later}"
    );
    assert!(
        sample_value(&later, "os_message_warn", &[]).unwrap() >= 1.0,
        "{later}"
    );
    assert!(
        sample_value(&later, "os_message_log_lines", &[]).unwrap() >= 2.0,
        "{later}"
    );
}
