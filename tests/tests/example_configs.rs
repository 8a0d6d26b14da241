//! Every exporter ships `exporters/<name>/<name>.example.toml`, and the real binary accepts it
//! with `--config.check`: a key renamed or removed in a config struct (all use
//! `deny_unknown_fields`) or a value its validation rejects fails here, so the examples cannot
//! rot. The exporters are found by listing `exporters/`, so a new one is covered automatically.
//!
//! The binaries do not print their effective configuration, so that the examples' values equal
//! the defaults is not checked here (the example files say which keys differ on purpose).

use std::path::{Path, PathBuf};

use suite_tests::{TempDir, file_name, read_text, run_bin, workspace_root};

/// `(exporter directory name, its *.example.toml files)` for every exporter crate.
fn exporters_and_examples() -> Vec<(String, Vec<PathBuf>)> {
    let dir = workspace_root().join("exporters");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if !path.join("Cargo.toml").is_file() {
            continue;
        }
        let name = file_name(&path);
        let mut examples: Vec<PathBuf> = std::fs::read_dir(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| file_name(p).ends_with(".example.toml"))
            .collect();
        examples.sort();
        out.push((name, examples));
    }
    out.sort();
    out
}

/// Runs `bin --config.file=<config> --config.check`: (exit code, stdout + stderr).
fn config_check(bin: &str, config: &Path) -> (Option<i32>, String) {
    let file = format!("--config.file={}", config.display());
    let (code, stdout, stderr) = run_bin(bin, &[&file, "--config.check"]);
    (code, format!("{stdout}{stderr}"))
}

/// Uncommented `key = value` lines (table headers and comments do not count).
fn set_keys(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
        .filter(|k| !k.is_empty())
        .collect()
}

#[test]
fn every_exporter_has_an_example_config() {
    let found = exporters_and_examples();
    assert!(
        found.len() >= 4,
        "expected the suite's exporters under exporters/, found {found:?}"
    );
    for (name, examples) in &found {
        let expected = workspace_root()
            .join("exporters")
            .join(name)
            .join(format!("{name}.example.toml"));
        assert!(
            examples.contains(&expected),
            "exporter {name} has no {} (found {examples:?})",
            expected.display()
        );
    }
}

#[test]
fn every_example_config_passes_the_binarys_config_check() {
    for (name, examples) in exporters_and_examples() {
        for example in examples {
            let text = read_text(&example);
            let keys = set_keys(&text);
            assert!(
                !keys.is_empty(),
                "{}: sets no key (an example must show at least one real setting)",
                example.display()
            );
            assert!(
                text.lines().any(|l| l.trim_start().starts_with('#')),
                "{}: has no comments",
                example.display()
            );

            let (code, output) = config_check(&name, &example);
            assert_eq!(
                code,
                Some(0),
                "{name} --config.check rejects {}: {output}",
                example.display()
            );
            assert!(
                output.contains("configuration is valid"),
                "{name}: {output}"
            );
        }
    }
}

/// The check above can only fail if `--config.check` really reads the file: a key no struct
/// has, put before the first table, must be refused (exit 2, naming the key).
#[test]
fn config_check_refuses_an_example_with_an_unknown_key() {
    let dir = TempDir::new("example-configs");
    for (name, examples) in exporters_and_examples() {
        for example in examples {
            let text = read_text(&example);
            let bad = dir.path().join(format!("{name}.toml"));
            std::fs::write(&bad, format!("no_such_example_key = 1\n{text}"))
                .unwrap_or_else(|e| panic!("{}: {e}", bad.display()));
            let (code, output) = config_check(&name, &bad);
            assert_eq!(code, Some(2), "{name} accepted an unknown key: {output}");
            assert!(output.contains("no_such_example_key"), "{name}: {output}");
        }
    }
}
