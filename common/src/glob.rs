//! Shell-style wildcards, as glob(3) and fnmatch(3) have them: `*`, `?`, `[a-z]`, `[!x]`, csh
//! brace alternatives, and a bounded file search under a rooted filesystem.

use std::path::Path;

/// Most patterns one brace expansion may produce; the rest are dropped, not an error.
const MAX_ALTERNATIVES: usize = 64;

/// Matches a `[...]` class starting at `p[start]` (the `[`) against `c`: `Some((matched, end))`
/// with `end` just past the `]`, or `None` when the class is unterminated (then `[` is literal).
fn class(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let lo = *p.get(i)?;
        // A `]` right after the opening (or the negation) is a member, not the end.
        if lo == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|hi| *hi != ']') {
            let hi = p[i + 2];
            matched |= lo <= c && c <= hi;
            i += 3;
        } else {
            matched |= lo == c;
            i += 1;
        }
    }
}

/// Whether `name` matches `pattern` as a whole: `*` any run, `?` one character, `[...]` a class.
pub fn matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
                continue;
            }
            Some('?') => Some(pi + 1),
            Some('[') => match class(&p, pi, n[ni]) {
                Some((true, end)) => Some(end),
                Some((false, _)) => None,
                None => (n[ni] == '[').then_some(pi + 1),
            },
            Some(c) => (*c == n[ni]).then_some(pi + 1),
            None => None,
        };
        if let Some(next) = step {
            pi = next;
            ni += 1;
        } else if let Some((sp, sn)) = star {
            // Let the last `*` swallow one more character and retry from there.
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether a path component needs a directory listing to resolve.
fn has_wildcard(component: &str) -> bool {
    component.contains(['*', '?', '['])
}

/// Expands csh-style alternatives: `a{b,c{d,e}}f` gives `abf`, `acdf`, `acef`. Unbalanced braces
/// are literal, and at most 64 patterns come out.
pub fn expand_braces(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    expand_into(pattern, &mut out);
    out
}

fn expand_into(pattern: &str, out: &mut Vec<String>) {
    if out.len() >= MAX_ALTERNATIVES {
        return;
    }
    let Some((open, close, commas)) = first_group(pattern) else {
        out.push(pattern.to_owned());
        return;
    };
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    let mut from = open + 1;
    for cut in commas.into_iter().chain(std::iter::once(close)) {
        expand_into(&format!("{head}{}{tail}", &pattern[from..cut]), out);
        from = cut + 1;
    }
}

/// The first balanced `{...}` holding a top-level comma: its braces' and commas' byte offsets.
fn first_group(pattern: &str) -> Option<(usize, usize, Vec<usize>)> {
    let bytes = pattern.as_bytes();
    for open in (0..bytes.len()).filter(|&i| bytes[i] == b'{') {
        let mut depth = 0_usize;
        let mut commas = Vec::new();
        for (i, b) in bytes.iter().enumerate().skip(open) {
            match b {
                b'{' => depth += 1,
                b',' if depth == 1 => commas.push(i),
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        if !commas.is_empty() {
                            return Some((open, i, commas));
                        }
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    None
}

/// Resolves `.` and `..` lexically, clamped at `/`, so a path cannot climb out of a rooted view.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Files matching an absolute pattern (braces, then wildcards per component), looked up under
/// `root` and returned as paths in the pattern's own view (without `root`), sorted as glob(3)
/// sorts, at most `limit` of them. A leading `.` is only matched by a pattern that spells it.
pub fn find(root: &Path, pattern: &str, limit: usize) -> Vec<String> {
    let mut found = Vec::new();
    for alternative in expand_braces(pattern) {
        let alternative = normalize(&alternative);
        let components: Vec<&str> = alternative.split('/').filter(|c| !c.is_empty()).collect();
        let mut partial = vec![String::new()];
        for (i, component) in components.iter().enumerate() {
            let last = i + 1 == components.len();
            let mut next = Vec::new();
            for dir in &partial {
                if has_wildcard(component) {
                    let Ok(entries) = std::fs::read_dir(root.join(dir.trim_start_matches('/')))
                    else {
                        continue;
                    };
                    let mut names: Vec<String> = entries
                        .filter_map(|e| e.ok()?.file_name().into_string().ok())
                        .filter(|n| !n.starts_with('.') || component.starts_with('.'))
                        .filter(|n| matches(component, n))
                        .collect();
                    names.sort();
                    next.extend(names.into_iter().map(|n| format!("{dir}/{n}")));
                } else {
                    next.push(format!("{dir}/{component}"));
                }
                if next.len() >= limit {
                    break;
                }
            }
            next.truncate(limit);
            if !last {
                next.retain(|d| root.join(d.trim_start_matches('/')).is_dir());
            }
            partial = next;
        }
        partial.retain(|f| root.join(f.trim_start_matches('/')).is_file());
        found.extend(partial);
        if found.len() >= limit {
            found.truncate(limit);
            break;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_the_shell() {
        assert!(matches("loop*", "loop0"));
        assert!(matches("*", ""));
        assert!(matches("sd?", "sdb"));
        assert!(!matches("sd?", "sdb1"));
        assert!(matches("*p?", "nvme0n1p1"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "axxbyy"));
        assert!(!matches("ram*", "xram0"));
        assert!(matches("*.conf", "vi_1.conf"));
        assert!(!matches("*.conf", "vi_1.conf.bak"));
    }

    #[test]
    fn classes_ranges_negation_and_literal_brackets() {
        assert!(matches("sd[a-c]", "sdb"));
        assert!(!matches("sd[a-c]", "sdd"));
        assert!(matches("sd[!a-c]", "sdd"));
        assert!(matches("sd[^a]", "sdb"));
        assert!(matches("[]x]", "]"));
        assert!(
            matches("a[", "a["),
            "an unterminated class is a literal bracket"
        );
        assert!(matches("v[0-9]*.conf", "v10.conf"));
        assert!(matches("[a-]", "-"));
    }

    #[test]
    fn braces_expand_nested_and_leave_unbalanced_alone() {
        assert_eq!(expand_braces("a{b,c{d,e}}f"), vec!["abf", "acdf", "acef"]);
        assert_eq!(expand_braces("x{,y}"), vec!["x", "xy"]);
        assert_eq!(expand_braces("{oops"), vec!["{oops"]);
        assert_eq!(expand_braces("{single}"), vec!["{single}"]);
        assert_eq!(expand_braces(&"{a,b}".repeat(20)).len(), MAX_ALTERNATIVES);
    }

    #[test]
    fn dot_dot_is_resolved_lexically_and_cannot_climb_above_the_root() {
        assert_eq!(normalize("/etc/k/conf.d/../snip/./g"), "/etc/k/snip/g");
        assert_eq!(normalize("/../../etc/shadow"), "/etc/shadow");
        assert_eq!(normalize("/"), "/");
    }

    #[test]
    fn find_walks_components_under_the_root_sorted_and_bounded() {
        let root = std::env::temp_dir().join(format!("glob-find-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for f in [
            "etc/k/conf.d/b.conf",
            "etc/k/conf.d/a.conf",
            "etc/k/conf.d/.hidden.conf",
            "etc/k/conf.d/c.txt",
            "etc/k/other/x.conf",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        std::fs::create_dir_all(root.join("etc/k/conf.d/dir.conf")).unwrap();
        assert_eq!(
            find(&root, "/etc/k/conf.d/*.conf", 100),
            vec!["/etc/k/conf.d/a.conf", "/etc/k/conf.d/b.conf"]
        );
        assert_eq!(
            find(&root, "/etc/k/*/*.conf", 100),
            vec![
                "/etc/k/conf.d/a.conf",
                "/etc/k/conf.d/b.conf",
                "/etc/k/other/x.conf"
            ]
        );
        assert_eq!(
            find(&root, "/etc/k/{other,conf.d}/[ax].conf", 100),
            vec!["/etc/k/other/x.conf", "/etc/k/conf.d/a.conf"]
        );
        assert_eq!(find(&root, "/etc/k/conf.d/*.conf", 1).len(), 1);
        assert!(find(&root, "/etc/missing/*.conf", 100).is_empty());
        assert_eq!(
            find(&root, "/../../etc/k/other/../other/x.conf", 100),
            vec!["/etc/k/other/x.conf"],
            "`..` cannot leave the root"
        );
        assert_eq!(
            find(&root, "/etc/k/conf.d/c.txt", 100),
            vec!["/etc/k/conf.d/c.txt"]
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
