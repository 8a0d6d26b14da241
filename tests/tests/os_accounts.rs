//! os-exporter's `os_account_expire_timestamp_seconds` against shadow-utils itself: accounts made
//! with `useradd --root` and `chage --root` on a scratch root (the host's /etc is never
//! touched) are exported with the dates `chage -l --root` prints; run unprivileged against the
//! host's /etc/shadow, the collector fails loudly instead of reporting nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use suite_tests::accounts::scratch_root;
use suite_tests::exporter::{Exporter, isolated_args, sample_value};
use suite_tests::process::run_ok;
use suite_tests::{TempDir, read_text};

/// `chage -l --root`'s date for `field` ("Password expires"...), as seconds since the epoch;
/// `None` for "never". "password must be changed" is the epoch.
fn chage_date(root: &str, user: &str, field: &str) -> Option<f64> {
    let out = run_ok(&["env", "LC_ALL=C", "chage", "--root", root, "-l", user]);
    let value = out
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no {field:?} in:\n{out}"));
    match value.as_str() {
        "never" => None,
        "password must be changed" => Some(0.0),
        date => Some(
            run_ok(&["date", "-u", "-d", date, "+%s"])
                .trim()
                .parse()
                .unwrap(),
        ),
    }
}

fn accounts_success(scrape: &str) -> Option<f64> {
    sample_value(
        scrape,
        "os_scrape_collector_success",
        &[("collector", "accounts")],
    )
}

#[test]
fn exported_expiry_dates_are_what_chage_prints() {
    let dir = TempDir::new("accounts");
    let root = scratch_root(dir.path());
    let bash = ["-M", "-N", "-g", "0", "-s", "/bin/bash"];
    let useradd = |extra: &[&str], user: &str| {
        let mut argv = vec!["useradd", "--root", &root];
        argv.extend(bash);
        argv.extend(extra);
        argv.push(user);
        run_ok(&argv);
    };
    useradd(&["-e", "2027-03-01"], "alice");
    run_ok(&[
        "chage",
        "--root",
        &root,
        "-d",
        "2026-11-01",
        "-M",
        "90",
        "-I",
        "30",
        "alice",
    ]);
    useradd(&[], "bob");
    run_ok(&["chage", "--root", &root, "-d", "0", "bob"]);
    useradd(&["-e", "2026-12-05"], "carol");
    run_ok(&[
        "chage",
        "--root",
        &root,
        "-d",
        "2026-10-01",
        "-M",
        "99999",
        "carol",
    ]);

    let mut args = isolated_args("os-exporter", dir.path());
    args.push(format!("--path.rootfs={root}"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let os = Exporter::start("os-exporter", &args);
    let scrape = os.scrape();
    assert_eq!(accounts_success(&scrape), Some(1.0), "{scrape}");
    let mut compared = 0;
    for user in ["root", "alice", "bob", "carol"] {
        for (field, kind) in [
            ("Account expires", "account"),
            ("Password expires", "password"),
            ("Password inactive", "password_inactive"),
        ] {
            let ours = sample_value(
                &scrape,
                "os_account_expire_timestamp_seconds",
                &[("user", user), ("kind", kind)],
            );
            assert_eq!(
                ours,
                chage_date(&root, user, field),
                "{user} {field}:\n{scrape}"
            );
            compared += usize::from(ours.is_some());
        }
    }
    // alice has all three, bob two (must change), carol her account; root none.
    assert_eq!(compared, 6);
}

#[test]
fn unprivileged_the_collector_fails_and_says_why() {
    let dir = TempDir::new("accounts-nobody");
    let config = isolated_args("os-exporter", dir.path());
    let config: Vec<&str> = config.iter().map(String::as_str).collect();
    let log = dir.path().join("os.log");
    // The test's directory must be readable by nobody for the config file.
    run_ok(&["chmod", "-R", "a+rX", &dir.path().display().to_string()]);
    let os = Exporter::start_under(
        &[
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--",
        ],
        "os-exporter",
        &config,
        &log,
    );
    let scrape = os.scrape();
    assert_eq!(accounts_success(&scrape), Some(0.0), "{scrape}");
    assert!(!scrape.contains("os_account_expire_timestamp_seconds{"));
    drop(os);
    let text = read_text(&log);
    assert!(
        text.contains("reading /etc/shadow: Permission denied"),
        "{text}"
    );
}
