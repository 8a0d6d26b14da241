//! Alerts travel the whole way: a real exporter, a real Prometheus with the suite's rules, and a
//! real Alertmanager with the example routing deliver a critical alert to the pager receiver.

use std::time::Duration;

use suite_tests::alertmanager::{Alertmanager, WebhookSink};
use suite_tests::exporter::Exporter;
use suite_tests::prometheus::{Job, Prometheus, Setup};
use suite_tests::{TempDir, free_port, wait_until};

#[test]
fn a_critical_alert_reaches_the_pager_receiver_through_real_alertmanager() {
    let sink = WebhookSink::start();
    let am = Alertmanager::start_example(&sink);

    // An IC-Server address whose health port nobody listens on: connection refused.
    let dir = TempDir::new("routing");
    let cfg = dir.path().join("ic.toml");
    let dead_port = free_port();
    std::fs::write(
        &cfg,
        format!(
            "ocp_address = \"10.0.0.1\"\nic_servers = [\"127.0.0.1\"]\nhealth_url = \"http://<IP>:{dead_port}/ok\"\n"
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ic = Exporter::start(
        "ic-server-probe",
        &[&format!("--config.file={}", cfg.display())],
    );

    let mut setup = Setup::with_jobs(vec![Job::new("ic-server", &[ic.target()])]);
    setup.alertmanagers = vec![am.target()];
    let prom = Prometheus::start(&setup);
    prom.wait_firing("IcServerConnectFailed", Duration::from_secs(90));

    let is_ours = |a: &serde_json::Value| a["labels"]["alertname"] == "IcServerConnectFailed";
    let delivered = wait_until(
        "Alertmanager to deliver to the pager receiver",
        Duration::from_secs(60),
        || {
            sink.deliveries().into_iter().find(|d| {
                d.path == "/pager"
                    && d.body["alerts"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(is_ours))
            })
        },
    );
    assert_eq!(delivered.body["receiver"], "ops-pager");
    let alerts = delivered.body["alerts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let alert = alerts
        .iter()
        .find(|a| is_ours(a))
        .cloned()
        .unwrap_or_default();
    assert_eq!(alert["status"], "firing");
    assert_eq!(alert["labels"]["severity"], "critical");
    assert_eq!(alert["labels"]["ocp_address"], "10.0.0.1");
    assert_eq!(alert["labels"]["ic_server_address"], "127.0.0.1");
    let zh = alert["annotations"]["summary_zh"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(
        zh, "OCP 节点 10.0.0.1 无法连接 IC-Server 127.0.0.1",
        "{alert}"
    );

    // Routed by severity only: the chat receiver got nothing of it.
    let to_chat = sink
        .deliveries()
        .into_iter()
        .filter(|d| d.path == "/chat")
        .any(|d| {
            d.body["alerts"]
                .as_array()
                .is_some_and(|a| a.iter().any(is_ours))
        });
    assert!(
        !to_chat,
        "a critical alert was also routed to the chat receiver"
    );
}
