//! `exporters.txt` is the one list of the suite's exporters: it agrees with the `exporters/*`
//! crates, with the README's exporter table, and `make run` reads it.

use std::path::Path;

use suite_tests::exporter_list::{self, Listed, Status};
use suite_tests::process::run_ok;
use suite_tests::{TempDir, read_text, workspace_root};

#[test]
fn the_list_and_the_exporter_crates_agree() {
    let problems =
        exporter_list::disagreements(&exporter_list::all(), &workspace_root().join("exporters"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_six_exporters_of_the_suite_are_listed_and_built() {
    let all = exporter_list::all();
    let names: Vec<&str> = all.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "os-exporter",
            "keepalived-exporter",
            "lvs-exporter",
            "etcd-probe",
            "ic-server-probe",
            "flink-sync-exporter"
        ]
    );
    for l in &all {
        assert_eq!(l.status, Status::Built, "{} in exporters.txt", l.name);
    }
}

/// A fake `exporters/` tree: one crate per `(dir, Cargo.toml text, has src/main.rs)`.
fn fake_workspace(dir: &Path, crates: &[(&str, &str, bool)]) {
    for (name, manifest, main) in crates {
        let c = dir.join(name);
        std::fs::create_dir_all(c.join("src")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(c.join("Cargo.toml"), manifest).unwrap_or_else(|e| panic!("{e}"));
        if *main {
            std::fs::write(c.join("src/main.rs"), "fn main() {}\n")
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

fn listed(name: &str, port: u16, status: Status) -> Listed {
    Listed {
        name: name.to_owned(),
        port,
        prefix: name.replace('-', "_"),
        status,
    }
}

#[test]
fn an_unlisted_binary_a_crateless_built_entry_and_a_planned_crate_are_each_reported() {
    let dir = TempDir::new("exporter-list");
    fake_workspace(
        dir.path(),
        &[
            ("a-exporter", "[package]\nname = \"a-exporter\"\n", true),
            ("b-exporter", "[package]\nname = \"b-exporter\"\n", true),
            (
                "multi",
                "[package]\nname = \"multi\"\n[[bin]]\nname = \"c-probe\"\npath = \"src/c.rs\"\n",
                false,
            ),
        ],
    );
    let list = [
        listed("a-exporter", 1, Status::Built),
        listed("b-exporter", 2, Status::Planned),
        listed("gone-exporter", 3, Status::Built),
        listed("a-exporter", 3, Status::Built),
    ];
    let problems = exporter_list::disagreements(&list, dir.path()).join("\n");
    for expected in [
        "binary c-probe is not in exporters.txt",
        "binary b-exporter is built but exporters.txt marks it planned",
        "b-exporter is marked planned in exporters.txt but exporters/b-exporter exists",
        "gone-exporter is marked built in exporters.txt but no exporters/* crate builds it",
        "a-exporter is listed twice",
        "port 3 is listed twice",
    ] {
        assert!(
            problems.contains(expected),
            "not reported: {expected:?}\n{problems}"
        );
    }
    let agreeing = [
        listed("a-exporter", 1, Status::Built),
        listed("b-exporter", 2, Status::Built),
        listed("c-probe", 3, Status::Built),
        listed("d-exporter", 4, Status::Planned),
    ];
    assert_eq!(
        exporter_list::disagreements(&agreeing, dir.path()),
        Vec::<String>::new()
    );
}

#[test]
fn lines_are_parsed_and_a_bad_line_is_named() {
    let list = exporter_list::parse("# c\n\nos-exporter 9910 os built # x\nlvs 9912 lvs planned\n")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        list,
        vec![
            Listed {
                name: "os-exporter".to_owned(),
                port: 9910,
                prefix: "os".to_owned(),
                status: Status::Built
            },
            Listed {
                name: "lvs".to_owned(),
                port: 9912,
                prefix: "lvs".to_owned(),
                status: Status::Planned
            },
        ]
    );
    for (bad, says) in [
        ("a 1 a built\nb 2 b\n", "line 2"),
        ("a x a built\n", "bad port"),
        ("a 1 a maybe\n", "neither built nor planned"),
    ] {
        let err = exporter_list::parse(bad).err().unwrap_or_default();
        assert!(err.contains(says), "{bad:?}: {err}");
    }
}

/// The README's table (`| `name` | port | `prefix_` | ... |`) shows the same ports, prefixes and
/// planned marks.
#[test]
fn the_readme_table_matches_the_list() {
    let readme = read_text(&workspace_root().join("README.md"));
    for l in exporter_list::all() {
        let row = readme
            .lines()
            .find(|r| r.starts_with(&format!("| `{}` |", l.name)))
            .unwrap_or_else(|| panic!("{} has no row in the README's exporter table", l.name));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(cells.get(2), Some(&l.port.to_string().as_str()), "{row}");
        assert_eq!(
            cells.get(3),
            Some(&format!("`{}_`", l.prefix).as_str()),
            "{row}"
        );
        assert_eq!(
            row.contains("planned, not built yet"),
            !l.is_built(),
            "{row}"
        );
    }
}

/// `make run` passes `$(EXPORTERS)` to `scripts/run-all.sh`, which starts exactly the built
/// exporters of the list on their default ports.
#[test]
fn make_run_starts_the_built_exporters_of_the_list_on_their_ports() {
    let makefile = read_text(&workspace_root().join("Makefile"));
    assert!(
        makefile
            .lines()
            .any(|l| l.trim() == "EXPORTERS = exporters.txt"),
        "the Makefile's EXPORTERS is not exporters.txt"
    );
    let script = workspace_root().join("scripts/run-all.sh");
    let script = script.to_string_lossy();
    let list = workspace_root().join("exporters.txt");
    let list = list.to_string_lossy();
    let planned = run_ok(&["bash", &script, "--dry-run", "/nonexistent", &list]);
    let want: String = exporter_list::built()
        .iter()
        .map(|l| format!("{} {}\n", l.name, l.port))
        .collect();
    assert_eq!(planned, want);
}
