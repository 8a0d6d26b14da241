//! Follows keepalived.conf's `include` directives the way keepalived does: the named files (glob
//! patterns and brace alternatives allowed) are spliced in place of the directive, and a relative
//! name is relative to the directory of the file that includes it (keepalived.conf(5)).

use common::{CollectError, SysPaths};

/// Deepest include nesting followed; keepalived itself stops a little deeper, this is a guard
/// against a file including itself.
const MAX_DEPTH: usize = 8;
/// Most files read for one configuration.
const MAX_FILES: usize = 256;
/// Most bytes read for one configuration, all files together.
const MAX_BYTES: usize = 4 * 1024 * 1024;

/// What following the includes found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IncludeStats {
    /// `include` directives (and the `includer`/`includem`/... variants) seen in all files.
    pub directives: usize,
    /// Files read through them.
    pub files: usize,
    /// Directives that named no readable file, or were cut off by the depth, file or size bound.
    pub errors: usize,
}

/// Where included files come from: the files a pattern names (in the configuration's own path
/// view, sorted) and their text.
pub trait Source {
    /// Files an absolute pattern names, at most `limit`.
    fn find(&mut self, pattern: &str, limit: usize) -> Vec<String>;
    /// One file's text.
    fn read(&mut self, path: &str) -> Option<String>;
}

/// The real filesystem under `--path.rootfs`.
#[derive(Debug)]
pub struct RootedFiles<'a>(pub &'a SysPaths);

impl Source for RootedFiles<'_> {
    fn find(&mut self, pattern: &str, limit: usize) -> Vec<String> {
        common::glob::find(&self.0.rootfs, pattern, limit)
    }

    fn read(&mut self, path: &str) -> Option<String> {
        let bytes = self.0.read_root(path).ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// The directory part of an absolute path (`/etc/keepalived` of `/etc/keepalived/k.conf`).
fn dir_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The file name an include line names, when the line is an include directive.
fn directive(line: &str) -> Option<&str> {
    let line = line.split(['#', '!']).next().unwrap_or("");
    let mut words = line.split_whitespace();
    let keyword = words.next()?;
    matches!(
        keyword,
        "include" | "includer" | "includem" | "includew" | "includeb" | "includef"
    )
    .then(|| words.next())
    .flatten()
    .map(|w| w.trim_matches('"'))
}

/// The configuration `text`, read from `path` (absolute, in the rooted view), with every include
/// spliced in. Trouble with included files is counted, not fatal: keepalived itself warns and
/// carries on.
pub fn expand(source: &mut dyn Source, text: &str, path: &str) -> (String, IncludeStats) {
    let mut out = String::with_capacity(text.len());
    let mut stats = IncludeStats::default();
    let mut bytes = text.len();
    splice(
        source,
        text,
        dir_of(path),
        0,
        &mut out,
        &mut stats,
        &mut bytes,
    );
    (out, stats)
}

fn splice(
    source: &mut dyn Source,
    text: &str,
    dir: &str,
    depth: usize,
    out: &mut String,
    stats: &mut IncludeStats,
    bytes: &mut usize,
) {
    for line in text.lines() {
        let Some(name) = directive(line) else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        stats.directives += 1;
        let pattern = if name.starts_with('/') {
            common::glob::normalize(name)
        } else {
            common::glob::normalize(&format!("{dir}/{name}"))
        };
        let room = MAX_FILES.saturating_sub(stats.files);
        if depth >= MAX_DEPTH || room == 0 {
            stats.errors += 1;
            continue;
        }
        let files = source.find(&pattern, room);
        if files.is_empty() {
            stats.errors += 1;
            continue;
        }
        for file in files {
            // The includes of an earlier file may have used up the bound meanwhile.
            if stats.files >= MAX_FILES {
                stats.errors += 1;
                break;
            }
            let Some(included) = source.read(&file) else {
                stats.errors += 1;
                continue;
            };
            *bytes += included.len();
            if *bytes > MAX_BYTES {
                stats.errors += 1;
                return;
            }
            stats.files += 1;
            splice(
                source,
                &included,
                dir_of(&file),
                depth + 1,
                out,
                stats,
                bytes,
            );
        }
    }
}

/// Reads and parses the configuration with its includes; only the top file must be readable.
pub fn read_conf(
    paths: &SysPaths,
    conf: &str,
) -> Result<(crate::conf_file::KeepalivedConf, IncludeStats), CollectError> {
    let bytes = paths.read_root(conf)?;
    let path = format!("/{}", conf.trim_start_matches('/'));
    let (text, stats) = expand(
        &mut RootedFiles(paths),
        &String::from_utf8_lossy(&bytes),
        &path,
    );
    Ok((crate::conf_file::parse(&text), stats))
}

/// Files held in memory, by absolute path (tests and fuzzing); `find` matches whole paths with
/// the shell matcher, as the real filesystem does.
#[derive(Debug, Default)]
pub struct MemoryFiles(pub std::collections::BTreeMap<String, String>);

impl Source for MemoryFiles {
    fn find(&mut self, pattern: &str, limit: usize) -> Vec<String> {
        self.0
            .keys()
            .filter(|k| common::glob::matches(pattern, k))
            .take(limit)
            .cloned()
            .collect()
    }

    fn read(&mut self, path: &str) -> Option<String> {
        self.0.get(path).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(m: &mut MemoryFiles, path: &str) -> Option<(String, IncludeStats)> {
        let text = m.read(path)?;
        Some(expand(m, &text, path))
    }

    fn mem(files: &[(&str, &str)]) -> MemoryFiles {
        MemoryFiles(
            files
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn includes_are_spliced_in_place_relative_to_the_including_file() {
        let mut m = mem(&[
            (
                "/etc/keepalived/keepalived.conf",
                "global_defs {\n}\ninclude conf.d/*.conf\ninclude /etc/keepalived/missing.conf\n",
            ),
            (
                "/etc/keepalived/conf.d/a.conf",
                "vrrp_instance A {\n  include ../snippets/garp\n}\n",
            ),
            (
                "/etc/keepalived/conf.d/b.conf",
                "includer \"b2.inc\"  # quoted, variant keyword\n",
            ),
            ("/etc/keepalived/conf.d/b2.inc", "vrrp_instance B {\n}\n"),
            ("/etc/keepalived/snippets/garp", "garp_master_refresh 60\n"),
        ]);
        let (text, stats) = load(&mut m, "/etc/keepalived/keepalived.conf").unwrap();
        assert_eq!(
            stats,
            IncludeStats {
                directives: 4,
                files: 4,
                errors: 1
            }
        );
        let conf = crate::conf_file::parse(&text);
        let names: Vec<&str> = conf.instances.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, vec!["A", "B"]);
        assert!(
            conf.instances[0].refresh_configured,
            "nested include inside a block"
        );
        assert!(!conf.instances[1].refresh_configured);
    }

    #[test]
    fn a_file_including_itself_stops_at_the_depth_bound() {
        let mut m = mem(&[("/k.conf", "vrrp_instance X {\n}\ninclude /k.conf\n")]);
        let (text, stats) = load(&mut m, "/k.conf").unwrap();
        assert_eq!(stats.files, MAX_DEPTH);
        assert_eq!(stats.errors, 1);
        assert_eq!(
            crate::conf_file::parse(&text).instances.len(),
            MAX_DEPTH + 1
        );
    }

    #[test]
    fn the_file_bound_holds_across_nested_includes() {
        // Found by the fuzz target keepalived_conf: the files one directive matched were all
        // read after the first one's own includes had used up the bound (269 files read).
        let names: Vec<String> = (0..10).map(|i| format!("/d/{i}.conf")).collect();
        let mut files = vec![("/k.conf", "include /d/*.conf\n")];
        files.extend(names.iter().map(|n| (n.as_str(), "include /d/*.conf\n")));
        let mut m = mem(&files);
        let (_, stats) = load(&mut m, "/k.conf").unwrap();
        assert_eq!(stats.files, MAX_FILES, "{stats:?}");
    }

    #[test]
    fn comments_and_lookalike_keywords_are_not_directives() {
        let mut m = mem(&[("/k.conf", "# include /x\n! include /y\nincluded_thing 1\n")]);
        let (_, stats) = load(&mut m, "/k.conf").unwrap();
        assert_eq!(stats, IncludeStats::default());
    }

    #[test]
    fn the_rooted_filesystem_resolves_globs_under_the_root() {
        let root = std::env::temp_dir().join(format!("ka-include-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("etc/keepalived/conf.d")).unwrap();
        std::fs::write(
            root.join("etc/keepalived/keepalived.conf"),
            "include /etc/keepalived/conf.d/*.conf\n",
        )
        .unwrap();
        std::fs::write(
            root.join("etc/keepalived/conf.d/vi_1.conf"),
            "vrrp_instance VI_1 {\n  unicast_peer {\n    192.0.2.9\n  }\n}\n",
        )
        .unwrap();
        let paths = SysPaths::fixture(&root);
        let (conf, stats) = read_conf(&paths, "/etc/keepalived/keepalived.conf").unwrap();
        assert_eq!(stats.files, 1);
        assert_eq!(conf.instances[0].name, "VI_1");
        assert_eq!(conf.instances[0].unicast_peers.len(), 1);
        assert!(read_conf(&paths, "/etc/keepalived/nope.conf").is_err());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
