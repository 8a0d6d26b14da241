//! Bad input end to end (issue acceptance 7): a standby whose "active" is a plain HTTP server
//! (python3's http.server on loopback) serving, in turn, a real manifest, a truncated one, a
//! foreign document, one over the size bound and a gzip bomb; a tree with a symlink loop and
//! names holding a newline and invalid UTF-8; a tree over the entry bound. Each gives a clear
//! reason in the log and `flink_sync_check_success 0`, never a crash or a stale "ok".
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::OsStr;
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use suite_tests::exporter::Exporter;
use suite_tests::process::Process;
use suite_tests::{TempDir, free_port, wait_until};

fn config(dir: &Path, peer_port: u16, max_entries: usize) -> String {
    let cfg = dir.join(format!("standby-{max_entries}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "roots = [\"/conf\"]\nrole = \"standby\"\npeer_url = \"http://127.0.0.1:{peer_port}\"\n\
             max_entries = {max_entries}\nmax_manifest_bytes = 4096\ncheck_interval = \"1s\"\n\
             fetch_timeout = \"2s\"\njunk_roots = []\n\n[collectors]\ndisabled = [\"peer\"]\n\n\
             [audit]\npath = \"{}\"\n",
            dir.join("audit.jsonl").display()
        ),
    )
    .unwrap();
    format!("--config.file={}", cfg.display())
}

/// Waits until the log holds `needle` and the standby says the comparison failed.
fn fails_with(e: &Exporter, log: &Path, needle: &str) {
    wait_until(
        &format!("the log to say {needle:?}"),
        Duration::from_secs(20),
        || {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            text.contains(needle).then_some(())
        },
    );
    wait_until("check_success 0", Duration::from_secs(10), || {
        (e.value("flink_sync_check_success", &[]) == Some(0.0)).then_some(())
    });
    assert!(
        e.value("flink_sync_differing_files", &[("kind", "content_differs")])
            .is_none(),
        "no stale comparison after a failure"
    );
}

#[test]
fn bad_peers_and_odd_trees_give_clear_errors() {
    let tmp = TempDir::new("flink-bad-input");
    let root = tmp.path().join("root");
    let conf = root.join("conf");
    std::fs::create_dir_all(conf.join("sub")).unwrap();
    std::fs::write(conf.join("flink-conf.yaml"), "a: 1\n").unwrap();
    std::fs::write(conf.join(OsStr::from_bytes(b"new\nline\xff.xml")), "x").unwrap();
    std::os::unix::fs::symlink(".", conf.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink("../sub", conf.join("sub/up")).unwrap();
    let served = tmp.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let port = free_port();
    let _peer = Process::spawn(
        "http.server",
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(&served)
            .stderr(std::process::Stdio::null()),
    )
    .unwrap();
    let log = tmp.path().join("standby.log");
    let standby = Exporter::start_under(
        &["env"],
        "flink-sync-exporter",
        &[
            &config(tmp.path(), port, 1000),
            &format!("--path.rootfs={}", root.display()),
        ],
        &log,
    );

    // The standby's own manifest served back as the active's: the same tree, in sync, with the
    // odd names and the loop intact through HTTP.
    let own = wait_until("the standby's manifest", Duration::from_secs(20), || {
        let r = standby.get("/manifest", &[]);
        (r.status == 200).then_some(r.body)
    });
    assert!(
        own.starts_with("{\"format\":\"flink-sync-manifest\",\"version\":1,"),
        "{own}"
    );
    assert!(
        own.contains("\"pb\":"),
        "the non-UTF-8 name travels as base64: {own}"
    );
    assert!(own.contains("/conf/sub/loop"), "{own}");
    std::fs::write(served.join("manifest"), &own).unwrap();
    wait_until("the comparison to pass", Duration::from_secs(20), || {
        (standby.value("flink_sync_ok", &[]) == Some(1.0)
            && standby.value("flink_sync_check_success", &[]) == Some(1.0))
        .then_some(())
    });
    assert_eq!(standby.value("flink_sync_manifest_entries", &[]), Some(6.0));

    std::fs::write(served.join("manifest"), &own[..own.len() / 2]).unwrap();
    fails_with(&standby, &log, "manifest is truncated");
    std::fs::write(
        served.join("manifest"),
        "<html><body>502 Bad Gateway</body></html>",
    )
    .unwrap();
    fails_with(&standby, &log, "not a flink-sync manifest");
    let huge = format!("{}{}", &own[..60], " ".repeat(10_000));
    std::fs::write(served.join("manifest"), huge).unwrap();
    fails_with(&standby, &log, "body_too_large");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![b' '; 1 << 20]).unwrap();
    std::fs::write(served.join("manifest"), gz.finish().unwrap()).unwrap();
    fails_with(&standby, &log, "inflates past the 4096-byte bound");
    wait_until(
        "two failed checks to set ok 0",
        Duration::from_secs(10),
        || (standby.value("flink_sync_ok", &[]) == Some(0.0)).then_some(()),
    );

    // A tree over the entry bound: no manifest at all, and a reason.
    let small = Exporter::start_under(
        &["env"],
        "flink-sync-exporter",
        &[
            &config(tmp.path(), port, 2),
            &format!("--path.rootfs={}", root.display()),
        ],
        &tmp.path().join("small.log"),
    );
    let r = wait_until("the bound to be reported", Duration::from_secs(20), || {
        let r = small.get("/manifest", &[]);
        (r.status == 503).then_some(r)
    });
    assert!(r.body.contains("more than 2 entries"), "{}", r.body);
    assert_eq!(small.value("flink_sync_manifest_success", &[]), Some(0.0));
}

/// The manifest sits behind the web config's basic auth like `/metrics`: a standby with the
/// credentials compares, one without gets 401 and says so.
#[test]
fn the_manifest_needs_the_peer_credentials_when_basic_auth_is_on() {
    let tmp = TempDir::new("flink-auth");
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("conf")).unwrap();
    std::fs::write(root.join("conf/flink-conf.yaml"), "a: 1\n").unwrap();
    let web = tmp.path().join("web.yml");
    std::fs::write(
        &web,
        format!(
            "basic_auth_users:\n  flink: {}\n",
            bcrypt::hash("s3cret", 4).unwrap()
        ),
    )
    .unwrap();
    let active_cfg = tmp.path().join("active.toml");
    std::fs::write(
        &active_cfg,
        "roots = [\"/conf\"]\nrole = \"active\"\njunk_roots = []\ncheck_interval = \"1s\"\n",
    )
    .unwrap();
    let active = Exporter::start_under(
        &["env"],
        "flink-sync-exporter",
        &[
            &format!("--config.file={}", active_cfg.display()),
            &format!("--path.rootfs={}", root.display()),
            &format!("--web.config.file={}", web.display()),
        ],
        &tmp.path().join("active.log"),
    );
    assert_eq!(active.get("/manifest", &[]).status, 401);
    let port = active.addr().port();
    let pw = tmp.path().join("pw");
    std::fs::write(&pw, "s3cret\n").unwrap();
    for (name, auth, want) in [
        (
            "with",
            format!(
                "peer_username = \"flink\"\npeer_password_file = \"{}\"\n",
                pw.display()
            ),
            1.0,
        ),
        ("without", String::new(), 0.0),
    ] {
        let cfg = tmp.path().join(format!("standby-{name}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "roots = [\"/conf\"]\nrole = \"standby\"\npeer_url = \"http://127.0.0.1:{port}\"\n\
                 check_interval = \"1s\"\njunk_roots = []\n{auth}\n[collectors]\ndisabled = [\"peer\"]\n\n\
                 [audit]\npath = \"{}\"\n",
                tmp.path().join(format!("audit-{name}.jsonl")).display()
            ),
        )
        .unwrap();
        let log = tmp.path().join(format!("standby-{name}.log"));
        let standby = Exporter::start_under(
            &["env"],
            "flink-sync-exporter",
            &[
                &format!("--config.file={}", cfg.display()),
                &format!("--path.rootfs={}", root.display()),
            ],
            &log,
        );
        wait_until(
            &format!("the standby {name} credentials"),
            Duration::from_secs(20),
            || (standby.value("flink_sync_check_success", &[]) == Some(want)).then_some(()),
        );
        if want == 0.0 {
            let text = std::fs::read_to_string(&log).unwrap();
            assert!(text.contains("status 401"), "{text}");
        } else {
            assert_eq!(standby.value("flink_sync_ok", &[]), Some(1.0));
        }
    }
}
