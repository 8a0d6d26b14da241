//! Acceptance of `make package`: the .debs install with `dpkg -i`, every unit passes
//! `systemd-analyze verify`, each exporter starts from its installed unit's `ExecStart` and
//! installed default config as the unit's user with exactly the unit's capabilities, answers a
//! scrape on loopback and stops; `dpkg --purge` then leaves nothing behind. The .rpms hold the
//! same files as the .debs (`rpm -qpl`).
//!
//! The packages are installed on this machine's own filesystem, seen through overlays: a mount
//! namespace (held by one `unshare` process) mounts an overlay on `/etc`, `/usr` and `/var`
//! whose upper layers are in the test's temporary directory. dpkg, the maintainer scripts and
//! the exporters run inside it (`nsenter`), so they see the real system and change only the
//! upper layers; after the purge the upper layers are exactly what install and removal left,
//! which is what the test checks. The host is unchanged even when the test is killed. systemd
//! is not PID 1 here, so `setpriv` applies the unit's user and capabilities as systemd would.
//!
//! Needs root, and the packages built by `make package PROFILE=dev` (as `make test` does) in
//! `$SUITE_PACKAGE_DIR`, else `<target dir>/packages/dev`.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use suite_tests::exporter::Endpoint;
use suite_tests::exporter_list::{self, Listed};
use suite_tests::process::{self, Process};
use suite_tests::{TempDir, file_name, free_port, read_text, wait_until, workspace_root};

/// The overlaid directories: everything dpkg and the maintainer scripts write.
const OVERLAID: [&str; 3] = ["etc", "usr", "var"];

/// The rules package's name (packaging/rules/Cargo.toml).
const RULES_PACKAGE: &str = "ops-exporter-suite-rules";

/// Where `make package PROFILE=dev` put the packages.
fn package_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SUITE_PACKAGE_DIR") {
        return PathBuf::from(d);
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
        .join("packages/dev")
}

/// The one file in `dir` named `<name><sep>*.<ext>`; panics with a hint when there is none.
fn package_file(dir: &Path, name: &str, sep: char, ext: &str) -> PathBuf {
    let prefix = format!("{name}{sep}");
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}: run `make package PROFILE=dev`", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let f = file_name(p);
            f.starts_with(&prefix) && f.ends_with(&format!(".{ext}"))
        })
        .collect();
    match &found[..] {
        [one] => one.clone(),
        _ => panic!(
            "expected one {name} .{ext} in {}, found {found:?}: run `make package PROFILE=dev`",
            dir.display()
        ),
    }
}

/// Regular files and symlinks a .deb installs (directories left out), as absolute paths.
fn deb_files(deb: &Path) -> BTreeSet<String> {
    process::run_ok(&["dpkg-deb", "--contents", &deb.to_string_lossy()])
        .lines()
        .filter(|l| !l.starts_with('d'))
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(|p| p.trim_start_matches('.').to_owned())
        .collect()
}

/// The files an .rpm installs (`rpm -qpl`).
fn rpm_files(rpm: &Path) -> BTreeSet<String> {
    process::run_ok(&["rpm", "-qpl", &rpm.to_string_lossy()])
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Whether this process runs as root.
fn is_root() -> bool {
    read_text(Path::new("/proc/self/status"))
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1))
        == Some("0")
}

/// A mount namespace whose `/etc`, `/usr` and `/var` are overlays with their upper layers in a
/// temporary directory; ended (and the layers removed) on drop.
struct Sandbox {
    holder: Process,
    dir: TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = TempDir::new("packages");
        let holder = Process::spawn(
            "mount namespace holder",
            Command::new("unshare").args([
                "--mount",
                "--propagation",
                "private",
                "--",
                "sleep",
                "1800",
            ]),
        )
        .unwrap_or_else(|e| panic!("unshare: {e}"));
        let sandbox = Sandbox { holder, dir };
        // `sleep` runs once unshare has made the namespace: wait until the two differ.
        let ours = std::fs::read_link("/proc/self/ns/mnt").ok();
        let ns = sandbox.ns();
        wait_until("the mount namespace", Duration::from_secs(10), || {
            std::fs::read_link(&ns)
                .ok()
                .filter(|t| Some(t) != ours.as_ref())
        });
        for d in OVERLAID {
            let (upper, work) = (sandbox.upper(d), sandbox.dir.path().join("work").join(d));
            for p in [&upper, &work] {
                std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            }
            let opts = format!(
                "lowerdir=/{d},upperdir={},workdir={}",
                upper.display(),
                work.display()
            );
            sandbox.run_ok(&[
                "mount",
                "-t",
                "overlay",
                "overlay",
                "-o",
                &opts,
                &format!("/{d}"),
            ]);
        }
        sandbox
    }

    /// The namespace, as a path for `nsenter --mount=`.
    fn ns(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/mnt", self.holder.id()))
    }

    /// Where the overlay of `/<dir>` keeps what changed.
    fn upper(&self, dir: &str) -> PathBuf {
        self.dir.path().join("upper").join(dir)
    }

    /// `argv` run inside the namespace, to completion.
    fn command(&self, argv: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--mount={}", self.ns().display()))
            .arg("--")
            .args(argv);
        c
    }

    fn run(&self, argv: &[&str]) -> Result<String, String> {
        process::output(&argv.join(" "), &mut self.command(argv))
    }

    fn run_ok(&self, argv: &[&str]) -> String {
        self.run(argv).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A file's text as the namespace sees it.
    fn read(&self, path: &str) -> String {
        self.run_ok(&["cat", path])
    }
}

/// The settings of a unit file this test applies, from its `[Service]` section.
#[derive(Debug, Default)]
struct Unit {
    user: String,
    group: String,
    supplementary_groups: Vec<String>,
    exec_start: Vec<String>,
    ambient: Vec<String>,
    bounding: Vec<String>,
    no_new_privileges: bool,
}

impl Unit {
    fn parse(text: &str) -> Unit {
        let mut u = Unit::default();
        let words = |v: &str| v.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        for line in text.lines().map(str::trim) {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            match k {
                "User" => u.user = v.to_owned(),
                "Group" => u.group = v.to_owned(),
                "SupplementaryGroups" => u.supplementary_groups = words(v),
                "ExecStart" => u.exec_start = words(v),
                "AmbientCapabilities" => u.ambient = words(v),
                "CapabilityBoundingSet" => u.bounding = words(v),
                "NoNewPrivileges" => u.no_new_privileges = v == "yes",
                _ => {}
            }
        }
        u
    }
}

/// Capability numbers (linux/capability.h) of the names the units use.
fn cap_number(name: &str) -> u32 {
    match name {
        "CAP_DAC_READ_SEARCH" => 2,
        "CAP_KILL" => 5,
        "CAP_NET_ADMIN" => 12,
        "CAP_NET_RAW" => 13,
        "CAP_SYS_PTRACE" => 19,
        "CAP_SYSLOG" => 34,
        other => panic!("capability {other} is not in this test's table: add it"),
    }
}

/// The `/proc/<pid>/status` mask of `caps`.
fn cap_mask(caps: &[String]) -> u64 {
    caps.iter().fold(0, |m, c| m | 1u64 << cap_number(c))
}

/// `setpriv`'s spelling of a capability set: `-all,+net_raw,+kill`.
fn setpriv_caps(caps: &[String]) -> String {
    std::iter::once("-all".to_owned())
        .chain(
            caps.iter()
                .map(|c| format!("+{}", c.trim_start_matches("CAP_").to_lowercase())),
        )
        .collect::<Vec<_>>()
        .join(",")
}

/// A field of `/proc/<pid>/status` (`Uid`, `CapEff`, ...).
fn status_field(pid: u32, field: &str) -> String {
    read_text(Path::new(&format!("/proc/{pid}/status")))
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{field}:"))
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Starts `exporter` as its installed unit would, scrapes it, checks its user and
/// capabilities, and stops it.
fn run_as_unit(sandbox: &Sandbox, exporter: &Listed, log_dir: &Path) {
    let name = &exporter.name;
    let unit = Unit::parse(&sandbox.read(&format!("/usr/lib/systemd/system/{name}.service")));
    assert_eq!(
        unit.user, *name,
        "{name}.service: User= is the package's own user"
    );
    assert!(
        unit.no_new_privileges,
        "{name}.service: NoNewPrivileges=yes"
    );
    assert_eq!(
        cap_mask(&unit.ambient),
        cap_mask(&unit.bounding),
        "{name}.service: the bounding set is exactly the ambient capabilities"
    );
    let uid = sandbox.run_ok(&["id", "-u", &unit.user]).trim().to_owned();

    let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let (reuid, regid) = (
        format!("--reuid={}", unit.user),
        format!("--regid={}", unit.group),
    );
    let (inh, amb, bnd) = (
        format!("--inh-caps={}", setpriv_caps(&unit.ambient)),
        format!("--ambient-caps={}", setpriv_caps(&unit.ambient)),
        format!("--bounding-set={}", setpriv_caps(&unit.bounding)),
    );
    let listen = format!("--web.listen-address={addr}");
    if name == "os-exporter" {
        // The installed config pings the host's default gateway and TCP peers (the ping
        // collector) and asks the NTP servers of its chrony.conf (ntp); a test keeps off the
        // host's network, so those collectors are left out here.
        // The sandbox's /etc: an overlay whose writes land in the test's temporary directory.
        let config = "/etc/os-exporter/os-exporter.toml";
        sandbox.run_ok(&[
            "sed",
            "-i",
            r#"s/^disabled = \[\]/disabled = ["ping", "ntp"]/"#,
            config,
        ]);
        let text = sandbox.run_ok(&["cat", config]);
        assert!(
            text.contains("disabled = [\"ping\", \"ntp\"]"),
            "{config}:\n{text}"
        );
    }
    // systemd adds SupplementaryGroups= to the user's own groups.
    let groups = if unit.supplementary_groups.is_empty() {
        "--init-groups".to_owned()
    } else {
        format!(
            "--groups={},{}",
            unit.group,
            unit.supplementary_groups.join(",")
        )
    };
    let mut argv: Vec<&str> = vec![
        "setpriv",
        &reuid,
        &regid,
        &groups,
        &inh,
        &amb,
        &bnd,
        "--no-new-privs",
        "--",
    ];
    argv.extend(unit.exec_start.iter().map(String::as_str));
    argv.push(&listen);
    let log = log_dir.join(format!("{name}.log"));
    let stderr = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    let mut proc = Process::spawn(name, sandbox.command(&argv).stderr(stderr))
        .unwrap_or_else(|e| panic!("starting {name}: {e}"))
        .with_log(log.clone());
    proc.wait_http_ok(addr, "/-/healthy", Duration::from_secs(30));

    // nsenter and setpriv exec: the pid is the exporter's.
    let pid = proc.id();
    assert_eq!(
        status_field(pid, "Uid").split_whitespace().next(),
        Some(uid.as_str()),
        "{name} runs as {}",
        unit.user
    );
    let mask = |f: &str| u64::from_str_radix(&status_field(pid, f), 16).unwrap_or(u64::MAX);
    assert_eq!(
        mask("CapEff"),
        cap_mask(&unit.ambient),
        "{name}: effective capabilities"
    );
    assert_eq!(
        mask("CapBnd"),
        cap_mask(&unit.bounding),
        "{name}: bounding set"
    );
    assert_eq!(
        status_field(pid, "NoNewPrivs"),
        "1",
        "{name}: no new privileges"
    );

    let endpoint = Endpoint::new(addr, name);
    let scrape = endpoint.scrape();
    let build_info = format!("{}_exporter_build_info", exporter.prefix);
    assert!(
        scrape.contains(&build_info),
        "{name} scraped as its unit's user serves {build_info}:\n{scrape}"
    );
    if name == "os-exporter" {
        // With the unit's groups and capabilities (CAP_SYSLOG for /dev/kmsg) every collector
        // succeeds, and the audit journal is written to the state directory the package made
        // for its user. The kernel_log job's first pass must have read /dev/kmsg.
        endpoint.wait_sample(
            "os-exporter's kernel_log job to read /dev/kmsg as its user",
            Duration::from_secs(20),
            "os_kernel_log_last_run_success",
            &[],
            |v| v == 1.0,
        );
        let scrape = endpoint.scrape();
        let success = format!("{}_scrape_collector_success", exporter.prefix);
        for line in scrape.lines().filter(|l| l.starts_with(&success)) {
            assert!(line.ends_with(" 1"), "{name} as its user: {line}");
        }
        endpoint.wait_sample(
            "os-exporter's audit job to write its journal as its user",
            Duration::from_secs(20),
            "os_audit_last_run_success",
            &[],
            |v| v == 1.0,
        );
    }
    let status = proc.terminate();
    assert!(
        status.is_some_and(|s| s.success()),
        "{name} stops cleanly on SIGTERM: {status:?}, log: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

/// A deletion recorded by overlayfs: a character device 0:0 in the upper layer.
fn is_whiteout(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    meta.file_type().is_char_device() && meta.rdev() == 0
}

/// What the overlays' upper layers hold that install plus purge must not leave: anything but
/// dpkg's and man-db's bookkeeping, copied-up directories, and user databases that are back to
/// their original text. A host file deleted shows as a whiteout: only a package's own state
/// directory, `/var/lib/<package>`, which the package adopted and its purge removes, may go.
fn leftovers(sandbox: &Sandbox, packages: &[String]) -> Vec<String> {
    // dpkg's database and log, man-db's cache (`systemd-analyze verify` runs `man` on each
    // unit's Documentation=), and the backups and lock of the user database.
    let bookkeeping = [
        "var/lib/dpkg/",
        "var/log/",
        "var/cache/man/",
        "var/cache/debconf/",
        "etc/.pwd.lock",
        "etc/passwd-",
        "etc/group-",
        "etc/shadow-",
        "etc/gshadow-",
        "etc/subuid-",
        "etc/subgid-",
    ];
    let user_db = [
        "etc/passwd",
        "etc/group",
        "etc/shadow",
        "etc/gshadow",
        "etc/subuid",
        "etc/subgid",
    ];
    let mut left = Vec::new();
    for d in OVERLAID {
        let upper = sandbox.upper(d);
        let mut stack = vec![upper.clone()];
        while let Some(dir) = stack.pop() {
            let entries =
                std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            for entry in entries.filter_map(Result::ok) {
                let path = entry.path();
                let rel = format!(
                    "{d}/{}",
                    path.strip_prefix(&upper).unwrap_or(&path).display()
                );
                let host = Path::new("/").join(&rel);
                let meta = std::fs::symlink_metadata(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                if bookkeeping.iter().any(|b| rel.starts_with(b)) {
                    continue;
                }
                if user_db.contains(&rel.as_str()) {
                    if std::fs::read(&path).ok() != std::fs::read(&host).ok() {
                        left.push(format!("/{rel} differs from the host's"));
                    }
                    continue;
                }
                if meta.is_dir() && host.is_dir() {
                    stack.push(path);
                    continue;
                }
                if is_whiteout(&meta) {
                    if !packages.iter().any(|p| rel == format!("var/lib/{p}")) {
                        left.push(format!("/{rel} (removed from the host)"));
                    }
                    continue;
                }
                left.push(format!("/{rel}"));
                if meta.is_dir() {
                    stack.push(path);
                }
            }
        }
    }
    left.sort();
    left
}

#[test]
fn packages_install_run_as_their_users_and_purge_cleanly() {
    if !is_root() {
        eprintln!("skipped: needs root (dpkg, setpriv, mount namespaces)");
        return;
    }
    let dir = package_dir();
    let exporters = exporter_list::built();
    let mut names: Vec<String> = exporters.iter().map(|e| e.name.clone()).collect();
    names.push(RULES_PACKAGE.to_owned());

    // The .rpms carry the .debs' files; only Debian's copyright file is the .deb's own.
    for name in &names {
        let deb = deb_files(&package_file(&dir, name, '_', "deb"));
        let rpm = package_file(&dir, name, '-', "rpm");
        let expected: BTreeSet<String> = deb
            .iter()
            .filter(|p| **p != format!("/usr/share/doc/{name}/copyright"))
            .cloned()
            .collect();
        assert_eq!(
            rpm_files(&rpm),
            expected,
            "{name}: rpm -qpl and the .deb's files"
        );
        if name != RULES_PACKAGE {
            let scripts = process::run_ok(&["rpm", "-qp", "--scripts", &rpm.to_string_lossy()]);
            assert!(
                scripts.contains(&format!("systemd-sysusers /usr/lib/sysusers.d/{name}.conf")),
                "{name}.rpm creates its user:\n{scripts}"
            );
        }
    }

    let sandbox = Sandbox::new();
    let debs: Vec<String> = names
        .iter()
        .map(|n| {
            package_file(&dir, n, '_', "deb")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let mut install = vec!["dpkg", "--install"];
    install.extend(debs.iter().map(String::as_str));
    sandbox.run_ok(&install);

    for e in &exporters {
        let unit = format!("/usr/lib/systemd/system/{}.service", e.name);
        // Without a running systemd, verify still loads the unit and checks its executable,
        // user-visible settings and Documentation= man page.
        let verified = sandbox.run(&["systemd-analyze", "verify", &unit]);
        assert!(
            verified.is_ok(),
            "systemd-analyze verify {unit}: {verified:?}"
        );
        // Checked inside the sandbox: where the package installed them in its overlays.
        for file in [
            format!("/usr/bin/{}", e.name),
            format!("/etc/{0}/{0}.toml", e.name),
            format!("/usr/share/man/man1/{}.1.gz", e.name),
        ] {
            sandbox.run_ok(&["test", "-f", &file]);
        }
        run_as_unit(&sandbox, e, sandbox.dir.path());
    }
    for rule_file in ["alerting-rules/os.yml", "alertmanager/alertmanager.yml"] {
        sandbox.run_ok(&[
            "test",
            "-f",
            &format!("/usr/share/ops-exporter-suite/{rule_file}"),
        ]);
    }

    let mut purge = vec!["dpkg", "--purge"];
    purge.extend(names.iter().map(String::as_str));
    sandbox.run_ok(&purge);
    for name in &names {
        assert!(
            sandbox.run(&["dpkg", "--status", name]).is_err(),
            "{name} is gone after the purge"
        );
        assert!(
            sandbox.run(&["getent", "passwd", name]).is_err(),
            "user {name} is gone after the purge"
        );
    }
    let left = leftovers(&sandbox, &names);
    assert!(
        left.is_empty(),
        "installing and purging the packages left: {left:#?}"
    );
}

#[test]
fn every_built_exporter_has_a_unit_user_and_package_metadata() {
    let root = workspace_root();
    for e in exporter_list::built() {
        let name = &e.name;
        for file in [
            format!("packaging/systemd/{name}.service"),
            format!("packaging/sysusers.d/{name}.conf"),
        ] {
            assert!(root.join(&file).is_file(), "{name}: {file} is missing");
        }
        let manifest = read_text(&root.join(format!("exporters/{name}/Cargo.toml")));
        for table in ["[package.metadata.deb]", "[package.metadata.generate-rpm]"] {
            assert!(
                manifest.contains(table),
                "exporters/{name}/Cargo.toml lacks {table}"
            );
        }
    }
}
