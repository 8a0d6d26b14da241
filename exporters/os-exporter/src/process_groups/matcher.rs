//! Which configured group each process of a walk belongs to. A decision is cached by
//! (pid, start time, comm): a reused pid has another start time, and an `exec` changes the
//! kernel name, so both are matched again; only a process's first appearance costs reads of
//! its `exe` link and command line, and only when a group's name test lets it through.

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use common::proc_table::{ProcessInfo, Snapshot, read_cmdline};
use common::{MutexExt as _, SysPaths};
use regex::Regex;

use super::config::ProcessGroupConfig;
use crate::process_table::read_pid_file;

/// Longest configured name.
const NAME_MAX: usize = 64;

/// One configured group, its patterns compiled.
#[derive(Debug)]
pub(crate) struct Group {
    /// The `process` label value.
    pub(crate) name: String,
    comm: Vec<String>,
    exe: Vec<String>,
    cmdline: Vec<Regex>,
    pid_files: Vec<std::path::PathBuf>,
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= NAME_MAX
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
}

/// Compiles the `[[process]]` tables; an error names the table and what is wrong with it.
pub(crate) fn compile(cfg: &[ProcessGroupConfig]) -> Result<Vec<Group>, String> {
    let mut names = HashSet::new();
    cfg.iter()
        .enumerate()
        .map(|(i, c)| {
            let at = format!("process[{i}] (name {:?})", c.name);
            if !valid_name(&c.name) {
                return Err(format!(
                    "{at}: name must be 1-{NAME_MAX} characters of A-Z a-z 0-9 _ . : - starting with a letter or digit"
                ));
            }
            if !names.insert(c.name.as_str()) {
                return Err(format!("{at}: the name is configured twice"));
            }
            if c.comm.is_empty() && c.exe.is_empty() && c.cmdline.is_empty() && c.pid_file.is_empty()
            {
                return Err(format!(
                    "{at}: no matcher; give at least one of comm, exe, cmdline, pid_file"
                ));
            }
            if c.comm.iter().chain(&c.exe).any(String::is_empty) {
                return Err(format!("{at}: an empty comm or exe"));
            }
            if c.pid_file.iter().any(|p| !p.is_absolute()) {
                return Err(format!("{at}: pid_file must be absolute paths"));
            }
            let cmdline = c
                .cmdline
                .iter()
                .map(|r| Regex::new(r).map_err(|e| format!("{at}: cmdline {r:?}: {e}")))
                .collect::<Result<_, _>>()?;
            Ok(Group {
                name: c.name.clone(),
                comm: c.comm.clone(),
                exe: c.exe.clone(),
                cmdline,
                pid_files: c.pid_file.clone(),
            })
        })
        .collect()
}

/// What a process is matched on, its `exe` link and command line read on first use.
struct Facts<'a> {
    paths: &'a SysPaths,
    process: &'a ProcessInfo,
    cmdline: OnceCell<Option<String>>,
    exe: OnceCell<Option<String>>,
}

impl Facts<'_> {
    /// The command line with NULs read as spaces.
    fn cmdline(&self) -> Option<&str> {
        self.cmdline
            .get_or_init(|| {
                read_cmdline(self.paths, self.process.pid).map(|c| {
                    String::from_utf8_lossy(&c)
                        .replace('\0', " ")
                        .trim_end()
                        .to_owned()
                })
            })
            .as_deref()
    }

    /// The `exe` link (` (deleted)` cut off after an upgrade replaced the binary); without
    /// permission to read it (another user's process, no CAP_SYS_PTRACE), `argv[0]`.
    fn exe(&self) -> Option<&str> {
        self.exe
            .get_or_init(|| {
                let link =
                    std::fs::read_link(self.paths.proc(&format!("{}/exe", self.process.pid)));
                match link {
                    Ok(p) => {
                        let p = p.to_string_lossy().into_owned();
                        Some(
                            p.strip_suffix(" (deleted)")
                                .map_or(p.clone(), str::to_owned),
                        )
                    }
                    Err(_) => {
                        let c = read_cmdline(self.paths, self.process.pid)?;
                        let argv0 = c.split(|b| *b == 0).next().unwrap_or_default();
                        (!argv0.is_empty()).then(|| String::from_utf8_lossy(argv0).into_owned())
                    }
                }
            })
            .as_deref()
    }
}

impl Group {
    /// Whether the process passes the name, exe and command-line matchers (the pid files
    /// change between walks and are checked per walk).
    fn matches(&self, f: &Facts<'_>) -> bool {
        if !self.comm.is_empty() && !self.comm.contains(&f.process.comm) {
            return false;
        }
        if !self.exe.is_empty() {
            let Some(exe) = f.exe() else {
                return false;
            };
            let base = exe.rsplit('/').next().unwrap_or(exe);
            let hit = self
                .exe
                .iter()
                .any(|e| if e.contains('/') { e == exe } else { e == base });
            if !hit {
                return false;
            }
        }
        if !self.cmdline.is_empty() {
            let Some(line) = f.cmdline() else {
                return false;
            };
            if !self.cmdline.iter().all(|r| r.is_match(line)) {
                return false;
            }
        }
        true
    }
}

/// A cached decision: the groups whose static matchers the process passed.
struct Decision {
    start_ticks: Option<u64>,
    comm: String,
    groups: Vec<usize>,
    /// The last walk that saw the process; older entries are dropped.
    walk: u64,
}

/// The groups and the decisions cache, shared by the scrape collector and the CPU job.
pub(crate) struct Matcher {
    paths: SysPaths,
    groups: Vec<Group>,
    cache: Mutex<(u64, HashMap<u32, Decision>)>,
}

impl Matcher {
    /// A matcher of `groups` reading processes under `paths`.
    pub(crate) fn new(paths: SysPaths, groups: Vec<Group>) -> Self {
        Self {
            paths,
            groups,
            cache: Mutex::new((0, HashMap::new())),
        }
    }

    /// The configured groups, in configuration order.
    pub(crate) fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// The members of each group (indices into `table.processes`), live processes only.
    pub(crate) fn assign(&self, table: &Snapshot) -> Vec<Vec<usize>> {
        let pid_sets: Vec<Option<HashSet<u32>>> = self
            .groups
            .iter()
            .map(|g| {
                (!g.pid_files.is_empty()).then(|| {
                    g.pid_files
                        .iter()
                        .filter_map(|f| read_pid_file(&self.paths, f)?.ok())
                        .collect()
                })
            })
            .collect();
        let mut members = vec![Vec::new(); self.groups.len()];
        let mut guard = self.cache.lock_or_recover();
        let (walk, cache) = &mut *guard;
        *walk += 1;
        for (i, p) in table.processes.iter().enumerate() {
            if !p.is_alive() {
                continue;
            }
            let decide = || {
                let facts = Facts {
                    paths: &self.paths,
                    process: p,
                    cmdline: OnceCell::new(),
                    exe: OnceCell::new(),
                };
                Decision {
                    start_ticks: p.start_ticks,
                    comm: p.comm.clone(),
                    groups: (0..self.groups.len())
                        .filter(|g| self.groups[*g].matches(&facts))
                        .collect(),
                    walk: 0,
                }
            };
            let decision = cache.entry(p.pid).or_insert_with(decide);
            if decision.start_ticks != p.start_ticks || decision.comm != p.comm {
                *decision = decide();
            }
            decision.walk = *walk;
            let group = decision.groups.iter().copied().find(|g| {
                pid_sets[*g]
                    .as_ref()
                    .is_none_or(|pids| pids.contains(&p.pid))
            });
            if let Some(g) = group {
                members[g].push(i);
            }
        }
        let now = *walk;
        cache.retain(|_, d| d.walk == now);
        members
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(name: &str) -> ProcessGroupConfig {
        ProcessGroupConfig {
            name: name.to_owned(),
            comm: vec!["x".to_owned()],
            ..ProcessGroupConfig::default()
        }
    }

    #[test]
    fn bad_tables_are_rejected_naming_the_table() {
        let err = |c: Vec<ProcessGroupConfig>| compile(&c).unwrap_err();
        assert!(err(vec![cfg("")]).contains("process[0]"));
        assert!(err(vec![cfg("a b")]).contains("name must be"));
        assert!(
            err(vec![cfg("ok"), cfg("ok")])
                .contains("process[1] (name \"ok\"): the name is configured twice")
        );
        let none = ProcessGroupConfig {
            name: "n".into(),
            ..ProcessGroupConfig::default()
        };
        assert!(err(vec![none]).contains("no matcher"));
        let bad = ProcessGroupConfig {
            cmdline: vec!["(".into()],
            ..cfg("r")
        };
        assert!(err(vec![bad]).contains("cmdline \"(\""));
        let rel = ProcessGroupConfig {
            pid_file: vec!["run/x.pid".into()],
            ..cfg("p")
        };
        assert!(err(vec![rel]).contains("absolute"));
        assert_eq!(compile(&[cfg("nginx-1.2:a_b")]).unwrap().len(), 1);
    }

    fn proc_info(pid: u32, comm: &str, start: u64) -> ProcessInfo {
        ProcessInfo {
            pid,
            comm: comm.to_owned(),
            state: 'S',
            ppid: 1,
            cpu_ticks: Some(0),
            start_ticks: Some(start),
            rss_pages: Some(1),
        }
    }

    /// A fixture procfs: each process with its cmdline (and exe link target).
    fn tree(dir: &std::path::Path, procs: &[(u32, &str, &str)]) {
        let _ = std::fs::remove_dir_all(dir.join("proc"));
        for (pid, cmdline, exe) in procs {
            let d = dir.join(format!("proc/{pid}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("cmdline"), cmdline.replace(' ', "\0")).unwrap();
            std::os::unix::fs::symlink(exe, d.join("exe")).unwrap();
        }
    }

    #[test]
    fn first_group_wins_pid_files_filter_and_reuse_or_exec_rematches() {
        let dir = suite_tests::TempDir::new("pg-match");
        tree(
            dir.path(),
            &[
                (10, "java -jar app.jar", "/usr/lib/jvm/bin/java"),
                (11, "java -jar other.jar", "/usr/lib/jvm/bin/java"),
                (12, "sleep 100", "/usr/bin/sleep"),
            ],
        );
        std::fs::create_dir_all(dir.path().join("run")).unwrap();
        std::fs::write(dir.path().join("run/s.pid"), "12\n").unwrap();
        let groups = compile(&[
            ProcessGroupConfig {
                name: "app".into(),
                exe: vec!["java".into()],
                cmdline: vec!["-jar".into(), r"app\.jar".into()],
                ..ProcessGroupConfig::default()
            },
            ProcessGroupConfig {
                name: "anyjava".into(),
                exe: vec!["/usr/lib/jvm/bin/java".into()],
                ..ProcessGroupConfig::default()
            },
            ProcessGroupConfig {
                name: "bypid".into(),
                comm: vec!["sleep".into()],
                pid_file: vec!["/run/s.pid".into()],
                ..ProcessGroupConfig::default()
            },
            cfg("never"),
        ])
        .unwrap();
        let m = Matcher::new(SysPaths::fixture(dir.path()), groups);
        let mut table = Snapshot {
            processes: vec![
                proc_info(10, "java", 5),
                proc_info(11, "java", 6),
                proc_info(12, "sleep", 7),
            ],
        };
        assert_eq!(m.assign(&table), vec![vec![0], vec![1], vec![2], vec![]]);
        // The pid file now names another pid: the sleep is no longer a member.
        std::fs::write(dir.path().join("run/s.pid"), "99\n").unwrap();
        assert_eq!(m.assign(&table), vec![vec![0], vec![1], vec![], vec![]]);
        // Pid 10 reused by a sleep (other start time): matched again, no longer `app`.
        // Pid 11 exec'd into a sleep (same start time, other comm): matched again as well.
        tree(
            dir.path(),
            &[
                (10, "sleep 5", "/usr/bin/sleep"),
                (11, "sleep 6", "/usr/bin/sleep"),
                (12, "sleep 100", "/usr/bin/sleep"),
            ],
        );
        table.processes[0] = proc_info(10, "sleep", 50);
        table.processes[1] = proc_info(11, "sleep", 6);
        assert_eq!(m.assign(&table), vec![Vec::<usize>::new(); 4]);
        // Zombies are not members; the cache forgets pids that are gone.
        table.processes = vec![ProcessInfo {
            state: 'Z',
            ..proc_info(12, "sleep", 7)
        }];
        std::fs::write(dir.path().join("run/s.pid"), "12\n").unwrap();
        assert_eq!(m.assign(&table), vec![Vec::<usize>::new(); 4]);
        assert!(m.cache.lock_or_recover().1.is_empty());
    }

    #[test]
    fn an_unreadable_exe_link_falls_back_to_argv0() {
        let dir = suite_tests::TempDir::new("pg-argv0");
        std::fs::create_dir_all(dir.path().join("proc/5")).unwrap();
        std::fs::write(
            dir.path().join("proc/5/cmdline"),
            b"/opt/app/bin/server\0-c\0",
        )
        .unwrap();
        let groups = compile(&[ProcessGroupConfig {
            name: "server".into(),
            exe: vec!["server".into()],
            ..ProcessGroupConfig::default()
        }])
        .unwrap();
        let m = Matcher::new(SysPaths::fixture(dir.path()), groups);
        let table = Snapshot {
            processes: vec![proc_info(5, "server", 1)],
        };
        assert_eq!(m.assign(&table), vec![vec![0]]);
    }
}
