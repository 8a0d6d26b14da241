//! `lvs-exporter diagnose` (issue 17) on this host, whose kernel has no IPVS, in a network
//! namespace of its own (loopback only): the verdict is "IPVS absent", the on-call pings of
//! document 003 run for real (the alarmed IP of `--target` and the configured inner address), the manual steps carry the document's words, and an `ha`
//! member is told the cluster's instruction. Each cause of a real IPVS table (service missing,
//! no real server up, real server down or drained, dial failing, not master) is diagnosed inside
//! the VM run of `lvs_vm.rs`, so no second VM is booted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::Duration;
use suite_tests::diagnose::step;

use serde_json::Value;
use suite_tests::netns::{Netns, unique_tag};
use suite_tests::{TempDir, bin_path};

/// A procfs without IPVS: this host's own when it has none, else an empty stand-in.
fn procfs(dir: &Path) -> PathBuf {
    if Path::new("/proc/net/ip_vs").exists() {
        std::fs::create_dir_all(dir.join("proc/net")).unwrap();
        std::fs::write(dir.join("proc/modules"), "").unwrap();
        dir.join("proc")
    } else {
        PathBuf::from("/proc")
    }
}

#[test]
fn without_ipvs_the_verdict_is_ipvs_absent_and_the_pings_are_real() {
    let dir = TempDir::new("lvs-diagnose");
    let cfg = dir.path().join("lvs.toml");
    std::fs::write(
        &cfg,
        "keepalived_conf = \"\"\nservices = [{ service = \"tcp/127.0.0.2:8080\" }]\n\
         cluster = \"lvs-a\"\ncluster_mode = \"ha\"\n[ping]\ninner = [\"127.0.0.1\"]\nvips = false\n",
    )
    .unwrap();
    let procfs = procfs(dir.path());
    let ns = Netns::new(&unique_tag("lvsd"));
    let args = |extra: &[&'static str]| -> Vec<String> {
        let mut v = vec![
            bin_path("lvs-exporter").display().to_string(),
            "diagnose".to_owned(),
            format!("--config.file={}", cfg.display()),
            format!("--path.procfs={}", procfs.display()),
        ];
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v
    };
    let run = |extra: &[&'static str]| {
        let a = args(extra);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let out = ns.run(&a, Duration::from_secs(40));
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let (code, out, err) = run(&["--output", "json", "--target", "127.0.0.1"]);
    let r: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(r["verdict"]["cause"], "ipvs_absent", "{r:#}");
    assert_eq!(r["verdict"]["steps"], serde_json::json!(["lvs_status"]));
    assert_eq!(
        step(&r, "lvs_status")["evidence"][0]["detail"],
        "no IPVS (no /proc/net/ip_vs)"
    );
    let alarmed = step(&r, "ping_alarmed_ip");
    assert_eq!(alarmed["status"], "pass", "{r:#}");
    assert!(
        alarmed["evidence"][0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1: answered in"),
        "{alarmed:#}"
    );
    let device = step(&r, "ping_device");
    assert_eq!(device["status"], "pass");
    assert!(
        device["evidence"][0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1 (inner): answered in")
    );
    // 003's step 3: the document's own words, marked manual.
    let login = step(&r, "login");
    assert_eq!(login["status"], "manual");
    assert!(
        login["instruction"]["zh"]
            .as_str()
            .unwrap()
            .starts_with("尝试通道机登录告警设备")
    );
    // An ha member is not urgent: 003's cluster instruction, not the single-point notices.
    let who = step(&r, "who_to_tell");
    assert!(
        who["instruction"]["zh"]
            .as_str()
            .unwrap()
            .contains("ha 或 ssl 集群模式"),
        "{who:#}"
    );
    assert_eq!(r["timed_out"], serde_json::json!([]));

    // An alarmed IP nobody answers for (no route out of the namespace): its own failing step,
    // and, not being a VIP of this director, the verdict is the first cause in the document's
    // order.
    let (code, out, _) = run(&["--output", "json", "--target", "192.0.2.1"]);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(code, Some(1));
    let alarmed = step(&r, "ping_alarmed_ip");
    assert_eq!(alarmed["status"], "fail");
    assert_eq!(alarmed["cause"], "ip_unreachable");
    assert_eq!(r["verdict"]["cause"], "ip_unreachable", "{r:#}");

    // For people: the steps in order and the verdict with the remedy.
    let (code, text, _) = run(&[]);
    assert_eq!(code, Some(1));
    assert!(
        text.contains(" 5. [FAIL] The IPVS table has every expected service"),
        "{text}"
    );
    assert!(
        text.contains("VERDICT: IPVS is not loaded: ipvsadm -ln shows nothing"),
        "{text}"
    );
    assert!(
        text.contains("REMEDY: Check why ip_vs is not loaded"),
        "{text}"
    );

    // Bad flags are exit status 2.
    let (code, _, err) = run(&["--since", "yesterday"]);
    assert_eq!(code, Some(2), "{err}");
}
