//! os-exporter's bonds collector against the real bonding driver. This host's kernel has no
//! bonding, so the test boots Debian 12's kernel in a VM (`tests/vm/run-in-vm.sh`), builds the
//! document's two bonds there from dummy NICs (bond0 active-backup, bond1 802.3ad), runs the
//! host-built os-exporter in the VM and scrapes it while slaves go down one by one. It also checks
//! that the driver's sysfs files are byte for byte the fixture tree the golden tests use
//! (`exporters/os-exporter/tests/fixtures/net`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;

use suite_tests::exporter::{isolated_args, sample_value};
use suite_tests::{TempDir, bin_path, vm, workspace_root};

/// The bond files the collector reads, relative to `/sys/class/net`.
const BOND_FILES: &[&str] = &[
    "bonding_masters",
    "bond0/bonding/mode",
    "bond0/bonding/active_slave",
    "bond0/bonding/slaves",
    "bond0/bonding/mii_status",
    "bond1/bonding/mode",
    "bond1/bonding/active_slave",
    "bond1/bonding/slaves",
    "bond1/bonding/mii_status",
    "ens1/bonding_slave/mii_status",
    "ens2/bonding_slave/mii_status",
    "ens3/bonding_slave/mii_status",
    "ens4/bonding_slave/mii_status",
];

fn script(exporter_args: &str) -> String {
    let files = BOND_FILES.join(" ");
    let exporter = bin_path("os-exporter").display().to_string();
    format!(
        r#"set -eu
# Loading the driver made bond0 (max_bonds=1); the mode changes while it has no slaves.
ip link set bond0 type bond mode active-backup miimon 100
ip link add bond1 type bond mode 802.3ad miimon 100
for i in 1 2 3 4; do ip link add ens$i type dummy; done
ip link set ens1 master bond0; ip link set ens2 master bond0
ip link set ens3 master bond1; ip link set ens4 master bond1
ip link set bond0 up; ip link set bond1 up
{exporter} {exporter_args} --web.listen-address=127.0.0.1:9910 >/tmp/exporter.log 2>&1 &
scrape() {{
  for _ in $(seq 100); do curl -sf http://127.0.0.1:9910/metrics -o /tmp/scrape && break; sleep 0.2; done
  echo "=== $1"; grep '^os_bond' /tmp/scrape || true
}}
# miimon polls every 100 ms: wait (bounded) until the driver saw a slave's new state.
wait_mii() {{
  for _ in $(seq 50); do [ "$(cat /sys/class/net/$1/bonding_slave/mii_status)" = "$2" ] && return; sleep 0.1; done
  echo "$1 never became $2" >&2; exit 1
}}
for s in ens1 ens2 ens3 ens4; do wait_mii $s up; done
scrape all-up
ip link set ens1 down; ip link set ens3 down; ip link set ens4 down
for s in ens1 ens3 ens4; do wait_mii $s down; done
sleep 0.3
scrape degraded
echo "=== sysfs"
cd /sys/class/net
for f in {files}; do echo "$f $(base64 -w0 < $f)"; done
ip link set ens2 down; wait_mii ens2 down; sleep 0.3
scrape bond0-down
"#
    )
}

fn value(scrape: &str, name: &str, bond: &str) -> Option<f64> {
    sample_value(scrape, name, &[("bond", bond)])
}

#[test]
fn bonds_of_the_real_bonding_driver_are_reported_as_their_slaves_go_down() {
    let dir = TempDir::new("bonds-vm");
    let args = isolated_args("os-exporter", dir.path()).join(" ");
    let out = vm::run_script(
        &["bonding", "dummy"],
        Duration::from_secs(240),
        &script(&args),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let s = vm::sections(&out);
    let section = |n: &str| {
        s.get(n)
            .cloned()
            .unwrap_or_else(|| panic!("no section {n} in:\n{out}"))
    };

    let up = section("all-up");
    assert_eq!(
        sample_value(
            &up,
            "os_bond_info",
            &[
                ("bond", "bond0"),
                ("mode", "active-backup"),
                ("active_slave", "ens1")
            ]
        ),
        Some(1.0),
        "{up}"
    );
    assert_eq!(
        sample_value(
            &up,
            "os_bond_info",
            &[("bond", "bond1"), ("mode", "802.3ad"), ("active_slave", "")]
        ),
        Some(1.0),
        "{up}"
    );
    for b in ["bond0", "bond1"] {
        assert_eq!(value(&up, "os_bond_slaves", b), Some(2.0), "{up}");
        assert_eq!(value(&up, "os_bond_slaves_up", b), Some(2.0), "{up}");
        assert_eq!(value(&up, "os_bond_up", b), Some(1.0), "{up}");
    }

    // One slave of bond0 down (it fails over), both of bond1 down.
    let degraded = section("degraded");
    assert_eq!(
        sample_value(
            &degraded,
            "os_bond_info",
            &[
                ("bond", "bond0"),
                ("mode", "active-backup"),
                ("active_slave", "ens2")
            ]
        ),
        Some(1.0),
        "{degraded}"
    );
    assert_eq!(value(&degraded, "os_bond_slaves", "bond0"), Some(2.0));
    assert_eq!(value(&degraded, "os_bond_slaves_up", "bond0"), Some(1.0));
    assert_eq!(value(&degraded, "os_bond_up", "bond0"), Some(1.0));
    assert_eq!(value(&degraded, "os_bond_slaves_up", "bond1"), Some(0.0));
    assert_eq!(value(&degraded, "os_bond_up", "bond1"), Some(0.0));

    let down = section("bond0-down");
    assert_eq!(
        value(&down, "os_bond_slaves_up", "bond0"),
        Some(0.0),
        "{down}"
    );
    assert_eq!(value(&down, "os_bond_up", "bond0"), Some(0.0), "{down}");

    // The degraded state is the fixture tree's: the driver's files, byte for byte.
    let fixture = workspace_root().join("exporters/os-exporter/tests/fixtures/net/sys/class/net");
    let sysfs = section("sysfs");
    let mut checked = 0;
    for line in sysfs.lines() {
        let (file, b64) = line.split_once(' ').unwrap();
        let real = BASE64_STANDARD.decode(b64).unwrap();
        let ours = std::fs::read(fixture.join(file)).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&real),
            "fixture {file} differs from the driver's"
        );
        checked += 1;
    }
    assert_eq!(checked, BOND_FILES.len(), "{sysfs}");
}
