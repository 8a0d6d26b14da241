//! The scale-out path and the HA pair (docs/deployment.md), on real components:
//! * exporters -> vmagent -> VictoriaMetrics -> vmalert with every rule file of the suite ->
//!   Alertmanager (Debian's `victoria-metrics` and `prometheus-alertmanager`), beside a Prometheus
//!   with the same rules and scrape jobs as the reference: the IC-Server alert is delivered with
//!   the labels and annotations Prometheus gives it, both engines hold the same active alerts and
//!   their recording rules produce the same series;
//! * two Prometheus replicas with a `replica` external label, one Alertmanager: one alert, one
//!   notification.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use suite_tests::alertmanager::{Alertmanager, WebhookSink};
use suite_tests::exporter::{Exporter, isolated_args};
use suite_tests::prometheus::{Alert, Job, Prometheus, QueryApi, Setup, string_map};
use suite_tests::victoria::{VictoriaMetrics, VmAgent, VmAlert, dry_run};
use suite_tests::{TempDir, free_port, rules, wait_until};

/// Labels one engine adds to every alert and the other does not: vmalert names the group.
const ENGINE_LABELS: &[&str] = &["alertgroup"];

fn alert_keys(alerts: &[Alert]) -> BTreeSet<BTreeMap<String, String>> {
    alerts
        .iter()
        .map(|a| {
            let mut l = a.labels.clone();
            l.retain(|k, _| !ENGINE_LABELS.contains(&k.as_str()));
            l
        })
        .collect()
}

/// ic-server-probe configured with one IC-Server whose health port refuses connections.
fn ic_server_probe_with_a_dead_ic_server(dir: &TempDir) -> Exporter {
    let cfg = dir.path().join("ic.toml");
    std::fs::write(
        &cfg,
        format!(
            "ocp_address = \"10.0.0.1\"\nic_servers = [\"127.0.0.1\"]\nhealth_url = \"http://<IP>:{}/ok\"\n",
            free_port()
        ),
    )
    .unwrap();
    Exporter::start(
        "ic-server-probe",
        &[&format!("--config.file={}", cfg.display())],
    )
}

/// The webhook deliveries to the pager receiver that carry `alertname`.
fn pager_deliveries(sink: &WebhookSink, alertname: &str) -> Vec<serde_json::Value> {
    sink.deliveries()
        .into_iter()
        .filter(|d| d.path == "/pager")
        .map(|d| d.body)
        .filter(|b| {
            b["alerts"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x["labels"]["alertname"] == alertname))
        })
        .collect()
}

/// Label sets of every series named `name` (`__name__` dropped).
fn series_labels(api: QueryApi, name: &str) -> BTreeSet<BTreeMap<String, String>> {
    api.query(name)
        .into_iter()
        .map(|s| {
            let mut l = s.labels;
            l.remove("__name__");
            l
        })
        .collect()
}

/// Whether every rule of a `/api/v1/rules` answer (Prometheus' or vmalert's, the same shape) has
/// been evaluated at least once.
fn every_rule_evaluated(data: &serde_json::Value) -> bool {
    let rules: Vec<&serde_json::Value> = data["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .collect();
    !rules.is_empty()
        && rules.iter().all(|r| {
            r["lastEvaluation"]
                .as_str()
                .is_some_and(|t| !t.starts_with("0001-"))
        })
}

#[test]
fn every_rule_file_loads_in_vmalert() {
    let files = rules::rule_files();
    assert!(files.len() >= 5, "{files:?}");
    let paths: Vec<&std::path::Path> = files.iter().map(PathBuf::as_path).collect();
    if let Err(e) = dry_run(&paths) {
        panic!("vmalert rejects the suite's rules:\n{e}");
    }
}

#[test]
fn the_ic_server_alert_travels_vmagent_victoria_metrics_vmalert_to_alertmanager_as_through_prometheus()
 {
    let sink = WebhookSink::start();
    let am = Alertmanager::start_example(&sink);
    let dir = TempDir::new("scale-out");

    let ic = ic_server_probe_with_a_dead_ic_server(&dir);
    // etcd-probe with a member that refuses connections: the etcd alerts fire from real data.
    let etcd_cfg = dir.path().join("etcd.toml");
    std::fs::write(
        &etcd_cfg,
        format!(
            "endpoints = [\"http://127.0.0.1:{}\"]\nstate_file = \"{}\"\n",
            free_port(),
            dir.path().join("etcd-state.json").display()
        ),
    )
    .unwrap();
    let etcd = Exporter::start(
        "etcd-probe",
        &[&format!("--config.file={}", etcd_cfg.display())],
    );
    let os_args = isolated_args("os-exporter", dir.path());
    let os_args: Vec<&str> = os_args.iter().map(String::as_str).collect();
    let os = Exporter::start("os-exporter", &os_args);

    let jobs = vec![
        Job::new("ic-server", &[ic.target()]),
        Job::new("etcd", &[etcd.target()]),
        Job::new("os", &[os.target()]).label("customer_level", "important"),
    ];
    // The reference: Prometheus with the same jobs and rules (it notifies nobody).
    let prom = Prometheus::start(&Setup::with_jobs(jobs.clone()));
    let vm = VictoriaMetrics::start();
    let agent = VmAgent::start(&jobs, &vm);
    let vmalert = VmAlert::start(&rules::rule_files(), &vm, &am.target(), "1s");

    // The alert arrives at the pager receiver, through vmalert alone.
    let name = "IcServerConnectFailed";
    let delivered = wait_until(
        "vmalert's IcServerConnectFailed to reach the pager receiver",
        Duration::from_secs(150),
        || pager_deliveries(&sink, name).into_iter().next(),
    );
    let alert = delivered["alerts"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["labels"]["alertname"] == name))
        .cloned()
        .unwrap();
    assert_eq!(delivered["receiver"], "ops-pager", "{delivered}");
    assert_eq!(alert["status"], "firing");

    // ... with what Prometheus gives the same alert.
    let reference = prom.wait_firing(name, Duration::from_secs(90));
    let mut labels = string_map(&alert["labels"]);
    labels.retain(|k, _| !ENGINE_LABELS.contains(&k.as_str()));
    assert_eq!(
        labels, reference.labels,
        "vmalert's labels differ from Prometheus'"
    );
    assert_eq!(
        string_map(&alert["annotations"]),
        reference.annotations,
        "vmalert renders the annotations differently"
    );
    assert_eq!(
        alert["annotations"]["summary_zh"],
        "OCP 节点 10.0.0.1 无法连接 IC-Server 127.0.0.1"
    );

    // Both engines hold the same active alerts (pending or firing), once each has evaluated every
    // rule; their groups run at different moments, so this is polled until they agree.
    for (engine, api) in [("Prometheus", prom.api()), ("vmalert", vmalert.api())] {
        wait_until(
            &format!("{engine} to evaluate every rule once"),
            Duration::from_secs(120),
            || every_rule_evaluated(&api.get("/api/v1/rules")).then_some(()),
        );
    }
    let mut last = (BTreeSet::new(), BTreeSet::new());
    let agreed = suite_tests::poll_until(Duration::from_secs(90), || {
        last = (
            alert_keys(&prom.alerts()),
            alert_keys(&vmalert.api().alerts()),
        );
        last.0 == last.1
    });
    assert!(
        agreed,
        "active alerts differ after 90 s\nonly in Prometheus: {:#?}\nonly in vmalert: {:#?}\nvmalert log: {}",
        last.0.difference(&last.1).collect::<Vec<_>>(),
        last.1.difference(&last.0).collect::<Vec<_>>(),
        vmalert.log(),
    );
    assert!(
        last.0.len() >= 3,
        "too few alerts to compare: {:#?}",
        last.0
    );

    // Every recording rule produces the same series in both engines (values differ where
    // MetricsQL's rate() does not extrapolate; docs/deployment.md).
    let (records, _) = rules::load_rules(&rules::rule_files()).unwrap();
    let records: BTreeSet<String> = records.into_iter().collect();
    let mut differing = Vec::new();
    let agreed = suite_tests::poll_until(Duration::from_secs(90), || {
        differing = records
            .iter()
            .filter_map(|r| {
                let p = series_labels(prom.api(), r);
                let v = series_labels(vm.api(), r);
                (p != v).then(|| format!("{r}: Prometheus {p:?}\n  VictoriaMetrics {v:?}"))
            })
            .collect();
        differing.is_empty()
    });
    assert!(
        agreed,
        "recording rules differ:\n{}\nvmagent log: {}",
        differing.join("\n"),
        agent.log()
    );
    let produced = records
        .iter()
        .filter(|r| !series_labels(vm.api(), r).is_empty())
        .count();
    eprintln!(
        "agreed: {} active alerts {:?}; {produced} of {} recording rules produced series",
        last.0.len(),
        last.0
            .iter()
            .filter_map(|l| l.get("alertname"))
            .collect::<BTreeSet<_>>(),
        records.len()
    );
    assert!(
        produced * 2 >= records.len(),
        "only {produced} of {} recording rules produced series",
        records.len()
    );
}

#[test]
fn two_prometheus_replicas_give_one_notification_per_alert() {
    let sink = WebhookSink::start();
    let am = Alertmanager::start_example(&sink);
    let dir = TempDir::new("ha-pair");
    let ic = ic_server_probe_with_a_dead_ic_server(&dir);

    let replicas: Vec<Prometheus> = ["a", "b"]
        .iter()
        .map(|r| {
            let mut setup = Setup::with_jobs(vec![Job::new("ic-server", &[ic.target()])]);
            setup.alertmanagers = vec![am.target()];
            setup.external_labels.insert("replica".into(), (*r).into());
            setup.alert_labeldrop = vec!["replica".into()];
            Prometheus::start(&setup)
        })
        .collect();
    let name = "IcServerConnectFailed";
    for p in &replicas {
        p.wait_firing(name, Duration::from_secs(150));
    }
    // Both replicas have sent it (each sends once on firing); Alertmanager holds it once.
    wait_until(
        "Alertmanager to receive the alert from both replicas",
        Duration::from_secs(30),
        || (am.firing_received() >= 2.0).then_some(()),
    );
    let held: Vec<serde_json::Value> = am
        .alerts()
        .into_iter()
        .filter(|a| a["labels"]["alertname"] == name)
        .collect();
    assert_eq!(held.len(), 1, "Alertmanager holds {held:#?}");
    assert!(
        held[0]["labels"].get("replica").is_none(),
        "the replica label reached Alertmanager: {}",
        held[0]
    );

    let first = wait_until("the pager notification", Duration::from_secs(60), || {
        pager_deliveries(&sink, name).into_iter().next()
    });
    // Past the pager route's group_wait (10 s) a duplicate would have been sent by now.
    std::thread::sleep(Duration::from_secs(15));
    let all = pager_deliveries(&sink, name);
    assert_eq!(all.len(), 1, "notifications: {all:#?}");
    let ours: Vec<_> = first["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["labels"]["alertname"] == name)
        .collect();
    assert_eq!(ours.len(), 1, "one alert in the notification: {first}");
}

/// Engine against engine on the same samples: Prometheus scrapes the exporters and remote-writes
/// every sample into VictoriaMetrics; each rule's expression is then queried in both at the same
/// instant. Which series an expression returns must be the same; how far the values are apart is
/// printed (MetricsQL's rate() does not extrapolate, docs/deployment.md).
#[test]
fn every_rule_expression_returns_the_same_series_in_both_engines_on_the_same_samples() {
    let dir = TempDir::new("engines");
    let ic = ic_server_probe_with_a_dead_ic_server(&dir);
    let os_args = isolated_args("os-exporter", dir.path());
    let os_args: Vec<&str> = os_args.iter().map(String::as_str).collect();
    let os = Exporter::start("os-exporter", &os_args);
    let vm = VictoriaMetrics::start();
    let mut setup = Setup::with_jobs(vec![
        Job::new("ic-server", &[ic.target()]),
        Job::new("os", &[os.target()]).label("customer_level", "important"),
    ]);
    setup.remote_write = vec![format!("{}/api/v1/write", vm.url())];
    let prom = Prometheus::start(&setup);

    // Rates over one minute need a minute of samples in both.
    let started = std::time::SystemTime::now();
    wait_until(
        "70 s of samples in VictoriaMetrics",
        Duration::from_secs(120),
        || {
            let span = vm.api().query("time() - timestamp(up offset 70s)");
            (!span.is_empty() && started.elapsed().is_ok_and(|e| e > Duration::from_secs(75)))
                .then_some(())
        },
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    // Remote write is flushed every second; ten seconds back both hold the same samples.
    let at = (now - 10.0).floor();

    let exprs = rules::rule_expressions(&rules::rule_files()).unwrap();
    // An expression near its threshold may come out on different sides of it in the two engines
    // at one instant (rates differ slightly): a difference counts when it holds at three
    // instants five seconds apart.
    let runs: Vec<Comparison> = [at, at - 5.0, at - 10.0]
        .iter()
        .map(|t| compare_engines(&exprs, prom.api(), vm.api(), *t))
        .collect();
    let persistent: Vec<&String> = runs[0]
        .differing
        .iter()
        .filter(|(name, _)| runs[1..].iter().all(|r| r.differing.contains_key(*name)))
        .map(|(_, desc)| desc)
        .collect();
    for r in &runs {
        for desc in r.differing.values() {
            eprintln!("at one instant: {desc}");
        }
    }
    let compared = runs[0].compared;
    eprintln!(
        "{} expressions, {compared} series compared; widest relative difference {:.4}: {}",
        exprs.len(),
        runs[0].widest.0,
        runs[0].widest.1
    );
    assert!(
        persistent.is_empty(),
        "expressions returning different series at three instants:\n{}",
        persistent
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(compared >= 20, "only {compared} series compared");
}

/// What [`compare_engines`] found at one instant.
struct Comparison {
    /// Rule name -> description, for each expression whose result series differ.
    differing: BTreeMap<String, String>,
    /// Series present in both.
    compared: usize,
    /// The widest relative difference of a value, and where.
    widest: (f64, String),
}

/// Queries every `(name, expr)` at `at` in both engines and compares the answers.
fn compare_engines(
    exprs: &[(String, String)],
    prom: QueryApi,
    vm: QueryApi,
    at: f64,
) -> Comparison {
    let mut out = Comparison {
        differing: BTreeMap::new(),
        compared: 0,
        widest: (0.0, String::new()),
    };
    let values = |api: QueryApi, expr: &str| -> BTreeMap<BTreeMap<String, String>, f64> {
        api.query_at(expr, at)
            .into_iter()
            .map(|s| (s.labels, s.value))
            .collect()
    };
    for (name, expr) in exprs {
        let (p, v) = (values(prom, expr), values(vm, expr));
        let (pk, vk): (BTreeSet<_>, BTreeSet<_>) = (p.keys().collect(), v.keys().collect());
        if pk != vk {
            out.differing.insert(
                name.clone(),
                format!(
                    "{name}: {expr}\n  only Prometheus: {:?}\n  only VictoriaMetrics: {:?}",
                    pk.difference(&vk).collect::<Vec<_>>(),
                    vk.difference(&pk).collect::<Vec<_>>()
                ),
            );
            continue;
        }
        out.compared += p.len();
        for (labels, pv) in &p {
            let vv = v[labels];
            let scale = pv.abs().max(vv.abs());
            let rel = if scale > 0.0 {
                (pv - vv).abs() / scale
            } else {
                0.0
            };
            if rel > out.widest.0 {
                out.widest = (
                    rel,
                    format!("{name} {labels:?}: Prometheus {pv}, VictoriaMetrics {vv}"),
                );
            }
        }
    }
    out
}
