//! Start-up behaviour of a real exporter binary: flags, config errors, config check.

use suite_tests::{TempDir, run_bin};

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    run_bin("os-exporter", args)
}

fn config_error(text: &str) -> String {
    let dir = TempDir::new("cli");
    let path = dir.path().join("os.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, stderr) = run(&[
        &format!("--config.file={}", path.display()),
        "--web.listen-address=127.0.0.1:0",
    ]);
    assert_eq!(code, Some(2), "stderr: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "not one line: {stderr}");
    assert!(
        stderr.contains(&path.display().to_string()),
        "no file name: {stderr}"
    );
    stderr
}

#[test]
fn an_unknown_key_is_a_one_line_error_with_file_and_line_and_exit_2() {
    let e = config_error("\n\nno_such_key = 1\n");
    assert!(e.contains("line 3") && e.contains("no_such_key"), "{e}");
}

#[test]
fn a_wrong_type_is_a_one_line_error_with_file_line_and_field() {
    let e = config_error("[collectors]\ndisabled = 5\n");
    assert!(e.contains("line 2") && e.contains("disabled"), "{e}");
}

#[test]
fn a_missing_config_file_is_an_error_with_exit_2() {
    let (code, _, stderr) = run(&["--config.file=/nonexistent/os.toml"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("/nonexistent/os.toml"), "{stderr}");
}

#[test]
fn a_bad_web_config_is_an_error_with_exit_2() {
    let dir = TempDir::new("cli-web");
    let path = dir.path().join("web.yml");
    std::fs::write(&path, "basic_auth_users:\n  alice: not-a-hash\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, _, stderr) = run(&[
        &format!("--web.config.file={}", path.display()),
        "--config.check",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("basic_auth_users.alice"), "{stderr}");
}

#[test]
fn config_check_validates_and_exits_without_serving() {
    let (code, stdout, _) = run(&["--config.check"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("configuration is valid"), "{stdout}");
}

#[test]
fn bad_flags_exit_2_and_version_prints_the_version() {
    let (code, _, _) = run(&["--no-such-flag"]);
    assert_eq!(code, Some(2));
    let (code, stdout, _) = run(&["--version"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains(env!("CARGO_PKG_VERSION")), "{stdout}");
}

#[test]
fn a_bad_listen_address_is_one_line_naming_the_flag_and_exit_2() {
    for (addr, says) in [
        (":99999", "\"99999\" is not a port"),
        ("localhost", "no port"),
        ("::1:9910", "in brackets"),
    ] {
        let (code, _, stderr) = run(&[&format!("--web.listen-address={addr}")]);
        assert_eq!(code, Some(2), "{addr}: {stderr}");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{addr}: not one line: {stderr}"
        );
        assert!(
            stderr.contains(&format!("--web.listen-address={addr}: ")) && stderr.contains(says),
            "{addr}: {stderr}"
        );
    }
}

#[test]
fn a_port_in_use_is_named_and_exits_2_before_anything_starts() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = taken.local_addr().unwrap_or_else(|e| panic!("{e}")).port();
    let (code, _, stderr) = run(&[&format!("--web.listen-address=127.0.0.1:{port}")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "not one line: {stderr}");
    assert!(
        stderr.contains(&format!("port {port} is already in use")),
        "{stderr}"
    );
}

#[test]
fn help_shows_each_binarys_own_default_listen_address() {
    for (bin, port) in suite_tests::exporter_list::built()
        .iter()
        .map(|e| (e.name.as_str(), e.port))
    {
        let (code, stdout, _) = run_bin(bin, &["--help"]);
        assert_eq!(code, Some(0), "{bin}");
        let flag = stdout
            .split("--web.listen-address")
            .nth(1)
            .and_then(|s| s.split("--").next())
            .unwrap_or_default()
            .to_owned();
        assert!(
            flag.contains(&format!("[default: :{port}]")),
            "{bin} --help: {flag}"
        );
        assert!(!stdout.contains("127.0.0.1:9910") || port == 9910, "{bin}");
    }
}

/// `diagnose` exists on every binary, ends with a verdict whose exit status agrees, within its
/// limit even on a host without the monitored software, and rejects a bad window with exit 2.
#[test]
fn every_binary_diagnoses_within_its_limit_and_rejects_a_bad_window() {
    let dir = TempDir::new("cli-diagnose");
    for e in suite_tests::exporter_list::built() {
        let bin = e.name.as_str();
        // Its state paths in the test's directory, as when serving (the walk must not write
        // them anyway: `make test`'s state guard checks the host's).
        let mut args: Vec<String> = suite_tests::exporter::isolated_args(bin, dir.path());
        // --target only matters to the probe-style exporter; the others ignore it.
        args.extend(["--timeout", "8s", "--target", "127.0.0.1:1"].map(String::from));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let t0 = std::time::Instant::now();
        let d = suite_tests::diagnose::run(bin, &args);
        let took = t0.elapsed();
        assert!(took < std::time::Duration::from_secs(12), "{bin}: {took:?}");
        assert_eq!(d.report["binary"], bin);
        assert!(
            d.report["steps"].as_array().is_some_and(|s| !s.is_empty()),
            "{bin}: no step\n{:#}",
            d.report
        );
        assert!(
            d.report["verdict"]["remedy"]["en"]
                .as_str()
                .is_some_and(|r| !r.is_empty()),
            "{bin}: {:#}",
            d.report["verdict"]
        );
        let (code, _, stderr) = run_bin(bin, &["diagnose", "--since", "last tuesday"]);
        assert_eq!(code, Some(2), "{bin}: {stderr}");
        assert!(stderr.contains("--since"), "{bin}: {stderr}");
    }
}
