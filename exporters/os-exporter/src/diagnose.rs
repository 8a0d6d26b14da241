//! `os-exporter diagnose`: document 001 §3.5's Tomcat fault table, walked for each `[[tomcat]]`
//! (connector ports, "Property File Not Found", "tomcat启动慢"), then the collectors' own health.
//! Values come from one scrape of the exporter's collectors; the catalina log is read over the
//! `--since` window with the collector's classifier; the appkey file is checked by the
//! collector's resolver.

use std::path::Path;
use std::time::Duration;

use common::SysPaths;
use common::diagnose::{
    Cause, Evidence, Outcome, STEP_DEADLINE, Status, Step, Text, Walk, Window, samples, value,
};
use common::metrics::MetricFamily;

use crate::parsers::catalina_log::{self, Event};
use crate::tomcat::config::TomcatConfig;
use crate::tomcat::{SLOW_SECURE_RANDOM, appkey};

/// The causes of 001 §3.5.3, with its remedies (the document gives none for the slow start).
pub(crate) const CAUSES: &[Cause] = &[
    Cause {
        id: "appkey_file_missing",
        title: Text::both(
            "Tomcat cannot find secretAppkey.properties (\"Property File Not Found\")",
            "启动tomcat时，报\"Property File Not Found\"：找不到secretAppkey.properties文件",
        ),
        remedy: Text::both(
            "Check that secas_keystore_appkey_file in /opt/cloud/${Component_A}/conf/keystore/application.properties holds the absolute path of secretAppkey.properties (unset, the file is looked for in /opt/cloud/3rdComponent/tomcat/conf/keystore) and that Tomcat's user can read it; then restart Tomcat.",
            "查看/opt/cloud/${Component_A}/conf/keystore/application.properties文件的secas_keystore_appkey_file属性是否设置为secretAppkey.properties的绝对路径，不设置默认为/opt/cloud/3rdComponent/tomcat/conf/keystore路径。",
        ),
    },
    Cause {
        id: "low_entropy",
        title: Text::both(
            "Tomcat starts slowly: SecureRandom blocks on low entropy",
            "tomcat启动慢：由于机器熵源不够，熵值低导致获取安全随机数阻塞",
        ),
        remedy: Text::en(
            "The document names the cause (机器熵值) but no remedy. Start the JVM with -Djava.security.egd=file:/dev/./urandom (Debian: JAVA_OPTS in /etc/default/tomcat10) or set securerandom.source=file:/dev/urandom in its java.security; on VMs without a hardware source add virtio-rng or run haveged/rngd.",
        ),
    },
    Cause {
        id: "connector_not_listening",
        title: Text::both(
            "A Tomcat connector port is not listening (configuration or key error)",
            "端口监听器没有启动：配置问题或者秘钥相关的错误",
        ),
        remedy: Text::en(
            "Read catalina.out around the start for SEVERE lines about the Connector (keystore path, password, permissions); fix server.xml, then restart Tomcat. If no port of the instance listens, Tomcat itself is down.",
        ),
    },
];

const PORTS: Step = Step {
    id: "tomcat_ports",
    title: Text::both("Connector ports are listening", "端口是否启动"),
    source: "001 §3.5.1 tomcat_listening_port",
};
const CATALINA: Step = Step {
    id: "catalina_log",
    title: Text::en("Read the catalina log in the window"),
    source: "001 §3.5.3 (故障定界)",
};
const APPKEY: Step = Step {
    id: "appkey_file",
    title: Text::both(
        "secretAppkey.properties is found (\"Property File Not Found\")",
        "启动tomcat时，报\"Property File Not Found\"",
    ),
    source: "001 §3.5.3 row 1",
};
const SLOW_START: Step = Step {
    id: "slow_start",
    title: Text::both(
        "SecureRandom did not block the start (entropy)",
        "tomcat启动慢：机器熵值",
    ),
    source: "001 §3.5.3 row 2",
};

/// What the catalina log says inside the window.
#[derive(Debug, Default)]
struct CatalinaLines {
    property_not_found: Vec<Evidence>,
    slow_secure_random: Vec<Evidence>,
    startups: Vec<Evidence>,
    problems: Vec<String>,
}

/// The catalina log's lines inside `window`, sorted by what they say.
fn read_catalina(window: &Window, path: &Path) -> Result<CatalinaLines, String> {
    let mut out = CatalinaLines::default();
    let m = window
        .scan_family(path, |l| catalina_log::classify(l).is_some())
        .map_err(|e| e.to_string())?;
    out.problems = m.problems;
    for e in m.lines {
        match catalina_log::classify(&e.detail) {
            Some(Event::PropertyFileNotFound) => out.property_not_found.push(e),
            Some(Event::SecureRandom { millis, .. })
                if Duration::from_millis(millis) >= SLOW_SECURE_RANDOM =>
            {
                out.slow_secure_random.push(e);
            }
            Some(Event::Startup { .. }) => out.startups.push(e),
            _ => {}
        }
    }
    Ok(out)
}

fn ports_outcome(fams: &[MetricFamily], t: &TomcatConfig) -> Outcome {
    let ports: Vec<(String, f64)> = samples(fams, "tomcat_listening_port", &[("tomcat", &t.name)])
        .map(|(labels, v)| {
            let port = labels
                .iter()
                .find(|(k, _)| k == "port")
                .map_or_else(String::new, |(_, p)| p.clone());
            (port, v)
        })
        .collect();
    if ports.is_empty() {
        return Outcome::not_applicable(format!(
            "tomcat {:?}: no connector port configured",
            t.name
        ));
    }
    let evidence = ports.iter().map(|(p, v)| {
        Evidence::new(
            "ss -ltn",
            format!(
                "port {p} {}",
                if *v == 1.0 { "LISTEN" } else { "no listener" }
            ),
        )
        .from("tomcat_listening_port")
    });
    let down: Vec<&str> = ports
        .iter()
        .filter(|(_, v)| *v != 1.0)
        .map(|(p, _)| p.as_str())
        .collect();
    if down.is_empty() {
        Outcome::pass(format!(
            "tomcat {:?}: {} port(s) listening",
            t.name,
            ports.len()
        ))
        .with_all(evidence)
    } else {
        let all = down.len() == ports.len();
        Outcome::fail(format!(
            "tomcat {:?}: port(s) {} not listening{}",
            t.name,
            down.join(", "),
            if all {
                " (none of its ports: is Tomcat running?)"
            } else {
                ""
            }
        ))
        .cause("connector_not_listening")
        .with_all(evidence)
    }
}

fn appkey_outcome(paths: &SysPaths, t: &TomcatConfig, not_found: Option<&[Evidence]>) -> Outcome {
    let mut evidence: Vec<Evidence> = Vec::new();
    let mut failed = false;
    if let Some(lines) = not_found {
        failed |= !lines.is_empty();
        evidence.extend(lines.iter().cloned());
    }
    let check = t.application_properties.as_ref().map(|props| {
        let root = |p: &Path| paths.root(p.display().to_string().trim_start_matches('/'));
        (
            props,
            appkey::check(&root, props, &t.appkey_default_dir, t.user.as_deref()),
        )
    });
    if let Some((props, c)) = &check {
        failed |= !c.ok;
        evidence.push(
            Evidence::new(
                "appkey file",
                match &c.reason {
                    Some(r) => r.clone(),
                    None => format!("{} is readable", c.path.display()),
                },
            )
            .from(props.display().to_string()),
        );
    }
    if not_found.is_none() && check.is_none() {
        return Outcome::not_applicable(format!(
            "tomcat {:?}: neither catalina_log nor application_properties is configured",
            t.name
        ));
    }
    let summary = if failed {
        format!(
            "tomcat {:?}: secretAppkey.properties cannot be used",
            t.name
        )
    } else {
        format!(
            "tomcat {:?}: no \"Property File Not Found\" in the window; appkey file fine",
            t.name
        )
    };
    let o = if failed {
        Outcome::fail(summary).cause("appkey_file_missing")
    } else {
        Outcome::pass(summary)
    };
    o.with_all(evidence)
}

fn entropy_evidence(fams: &[MetricFamily]) -> Vec<Evidence> {
    let mut ev = Vec::new();
    if let Some(v) = value(fams, "os_crng_ready", &[]) {
        ev.push(
            Evidence::new(
                "crng",
                if v == 1.0 {
                    "ready"
                } else {
                    "NOT initialised: getrandom() blocks"
                },
            )
            .from("os_crng_ready"),
        );
    }
    if let Some(v) = value(fams, "os_entropy_available", &[]) {
        ev.push(
            Evidence::new("entropy_avail", format!("{v}"))
                .from("/proc/sys/kernel/random/entropy_avail"),
        );
    }
    for (labels, _) in samples(fams, "jvm_securerandom_seed_info", &[]) {
        let get = |k: &str| {
            labels
                .iter()
                .find(|(lk, _)| lk == k)
                .map_or("", |(_, v)| v.as_str())
        };
        ev.push(
            Evidence::new(
                "jvm seed source",
                format!("{} seeds from {}", get("process"), get("source")),
            )
            .from("jvm_securerandom_seed_info"),
        );
    }
    ev
}

fn slow_start_outcome(
    fams: &[MetricFamily],
    t: &TomcatConfig,
    log: Option<&CatalinaLines>,
) -> Outcome {
    let entropy = entropy_evidence(fams);
    let crng_blocking = value(fams, "os_crng_ready", &[]) == Some(0.0);
    match log {
        Some(l) if !l.slow_secure_random.is_empty() => Outcome::fail(format!(
            "tomcat {:?}: {} SecureRandom creation(s) over {} ms in the window",
            t.name,
            l.slow_secure_random.len(),
            SLOW_SECURE_RANDOM.as_millis()
        ))
        .cause("low_entropy")
        .with_all(l.slow_secure_random.iter().cloned())
        .with_all(l.startups.iter().cloned())
        .with_all(entropy),
        _ if crng_blocking => Outcome::fail(format!(
            "tomcat {:?}: the kernel's CRNG is not ready, so a JVM seeding from /dev/random blocks",
            t.name
        ))
        .cause("low_entropy")
        .with_all(entropy),
        Some(l) => Outcome::pass(format!(
            "tomcat {:?}: no slow SecureRandom creation logged in the window",
            t.name
        ))
        .with_all(l.startups.iter().cloned())
        .with_all(entropy),
        None => Outcome::pass(format!(
            "tomcat {:?}: no catalina_log configured; the kernel's CRNG is ready",
            t.name
        ))
        .with_all(entropy),
    }
}

/// The walk.
pub(crate) async fn walk(paths: SysPaths, tomcats: Vec<TomcatConfig>, walk: &mut Walk) {
    walk.procedure(
        "001 §3.5 Tomcat",
        Text::both("Tomcat fault scenarios", "Tomcat 故障场景、定界、应急恢复"),
        CAUSES,
    );
    if tomcats.is_empty() {
        for step in [PORTS, CATALINA, APPKEY, SLOW_START] {
            walk.not_applicable(step, "no [[tomcat]] configured");
        }
    }
    let fams = walk.metrics(STEP_DEADLINE).await.to_vec();
    for t in tomcats {
        walk.record_outcome(PORTS, ports_outcome(&fams, &t));
        let log = match &t.catalina_log {
            None => {
                walk.not_applicable(
                    CATALINA,
                    format!("tomcat {:?}: no catalina_log configured", t.name),
                );
                None
            }
            Some(p) => {
                let path = paths.root(p.display().to_string().trim_start_matches('/'));
                let window = walk.window().clone();
                let name = t.name.clone();
                walk.check_blocking_keep(CATALINA, STEP_DEADLINE, move || match read_catalina(&window, &path) {
                    Ok(l) => {
                        let o = Outcome::pass(format!(
                            "tomcat {name:?}: {} startup, {} slow SecureRandom, {} \"Property File Not Found\" line(s) in the window",
                            l.startups.len(),
                            l.slow_secure_random.len(),
                            l.property_not_found.len()
                        ))
                        .with_all(l.problems.iter().map(|p| Evidence::new("unreadable", p.clone())));
                        (o, Some(l))
                    }
                    Err(e) => (Outcome::error(format!("tomcat {name:?}: {}: {e}", path.display())), None),
                })
                .await
                .1
            }
        };
        let (p, t2) = (paths.clone(), t.clone());
        let not_found = log.as_ref().map(|l| l.property_not_found.clone());
        let appkey = walk
            .check_blocking(APPKEY, STEP_DEADLINE, move || {
                appkey_outcome(&p, &t2, not_found.as_deref())
            })
            .await;
        walk.record_outcome(SLOW_START, slow_start_outcome(&fams, &t, log.as_ref()));
        // The key error explains a connector that did not start (001 §3.5.1's note).
        if appkey == Status::Fail {
            walk.conclude("appkey_file_missing");
        }
    }
    common::diagnose::collectors_walk(walk).await;
}
