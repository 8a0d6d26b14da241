//! The suite's exporter list, `exporters.txt` at the workspace root: the one place naming every
//! exporter with its default port, metric prefix and whether it is built yet. `make run` reads
//! the same file through `scripts/run-all.sh`.

use std::collections::BTreeSet;
use std::path::Path;

/// Whether an exporter exists as a crate yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// An `exporters/<name>` crate builds its binary.
    Built,
    /// Documented and reserved (port, prefix), no crate yet.
    Planned,
}

/// One line of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Binary name, also the crate directory under `exporters/` and the `docs/metrics.md` section.
    pub name: String,
    /// Default listen port of `make run`.
    pub port: u16,
    /// Metric prefix without the trailing `_` (`os`, `ic_server`).
    pub prefix: String,
    /// Built or planned.
    pub status: Status,
}

impl Listed {
    /// Whether the binary is built by the workspace.
    pub fn is_built(&self) -> bool {
        self.status == Status::Built
    }
}

/// Parses the list's text: `name port prefix built|planned` per line, `#` comments and blank
/// lines skipped; an error names the line.
pub fn parse(text: &str) -> Result<Vec<Listed>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let at = |what: &str| format!("exporters.txt line {}: {what}: {line:?}", i + 1);
        let cells: Vec<&str> = line.split_whitespace().collect();
        let [name, port, prefix, status] = cells[..] else {
            return Err(at("expected `name port prefix built|planned`"));
        };
        let port = port.parse().map_err(|_| at("bad port"))?;
        let status = match status {
            "built" => Status::Built,
            "planned" => Status::Planned,
            _ => return Err(at("status is neither built nor planned")),
        };
        out.push(Listed {
            name: name.to_owned(),
            port,
            prefix: prefix.to_owned(),
            status,
        });
    }
    Ok(out)
}

/// Every exporter of `exporters.txt`, built or planned, in file order.
pub fn all() -> Vec<Listed> {
    let path = crate::workspace_root().join("exporters.txt");
    parse(&crate::read_text(&path)).unwrap_or_else(|e| panic!("{e}"))
}

/// The exporters marked built.
pub fn built() -> Vec<Listed> {
    all().into_iter().filter(Listed::is_built).collect()
}

/// Names of the binaries the `exporters/*` crates build: each crate's `[[bin]]` names, or its
/// package name when it has `src/main.rs`.
pub fn workspace_binaries(exporters_dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let entries = std::fs::read_dir(exporters_dir)
        .unwrap_or_else(|e| panic!("{}: {e}", exporters_dir.display()));
    for entry in entries {
        let dir = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let manifest = dir.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let doc: toml::Table = crate::read_text(&manifest)
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
        let bins: Vec<String> = doc
            .get("bin")
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|b| b.get("name")?.as_str().map(str::to_owned))
            .collect();
        if bins.is_empty() && dir.join("src/main.rs").is_file() {
            let package = doc
                .get("package")
                .and_then(|p| p.get("name"))
                .and_then(toml::Value::as_str)
                .unwrap_or_else(|| panic!("{}: no package name", manifest.display()));
            out.insert(package.to_owned());
        }
        out.extend(bins);
    }
    out
}

/// Directory names of the `exporters/*` crates.
pub fn workspace_crates(exporters_dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(exporters_dir)
        .unwrap_or_else(|e| panic!("{}: {e}", exporters_dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("Cargo.toml").is_file())
        .map(|p| crate::file_name(&p))
        .collect()
}

/// Every way `list` and the workspace under `exporters_dir` disagree (empty when they agree).
pub fn disagreements(list: &[Listed], exporters_dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let bins = workspace_binaries(exporters_dir);
    let crates = workspace_crates(exporters_dir);
    for bin in &bins {
        match list.iter().find(|l| &l.name == bin) {
            None => problems.push(format!("binary {bin} is not in exporters.txt")),
            Some(l) if !l.is_built() => problems.push(format!(
                "binary {bin} is built but exporters.txt marks it planned"
            )),
            Some(_) => {}
        }
    }
    for l in list {
        if l.is_built() && !bins.contains(&l.name) {
            problems.push(format!(
                "{} is marked built in exporters.txt but no exporters/* crate builds it",
                l.name
            ));
        }
        if !l.is_built() && crates.contains(&l.name) {
            problems.push(format!(
                "{} is marked planned in exporters.txt but exporters/{} exists",
                l.name, l.name
            ));
        }
    }
    let mut seen_names = BTreeSet::new();
    let mut seen_ports = BTreeSet::new();
    for l in list {
        if !seen_names.insert(&l.name) {
            problems.push(format!("{} is listed twice", l.name));
        }
        if !seen_ports.insert(l.port) {
            problems.push(format!("port {} is listed twice", l.port));
        }
    }
    problems
}
