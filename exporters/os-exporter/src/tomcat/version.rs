//! Tomcat's version from its own `catalina.jar` (`org/apache/catalina/util/ServerInfo.properties`,
//! what `version.sh` prints as "Server number"): `%D` of an access log is microseconds from
//! Tomcat 10 on and milliseconds before, and nothing in the log itself tells them apart.

use std::path::Path;

/// The jar entry holding the version.
const SERVER_INFO: &str = "org/apache/catalina/util/ServerInfo.properties";
/// Bytes of that entry read at most (it is under 2 KiB).
const MAX_ENTRY: u64 = 64 * 1024;

/// `server.number` of a `ServerInfo.properties` text (`10.1.60.0`), the last assignment.
pub(crate) fn server_number(properties: &str) -> Option<&str> {
    properties
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| l.strip_prefix("server.number"))
        .filter_map(|rest| {
            let rest = rest.trim_start();
            rest.strip_prefix('=')
                .or_else(|| rest.strip_prefix(':'))
                .map(str::trim)
        })
        .rfind(|v| !v.is_empty())
}

/// The major version of the Tomcat installed in `catalina_home` (its `lib/catalina.jar`).
pub(crate) fn major_of_home(catalina_home: &Path) -> Result<u32, String> {
    use std::io::Read as _;
    let jar = catalina_home.join("lib/catalina.jar");
    let file = std::fs::File::open(&jar).map_err(|e| format!("{}: {e}", jar.display()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| format!("{}: {e}", jar.display()))?;
    let mut text = String::new();
    zip.by_name(SERVER_INFO)
        .map_err(|e| format!("{}: {SERVER_INFO}: {e}", jar.display()))?
        .take(MAX_ENTRY)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {SERVER_INFO}: {e}", jar.display()))?;
    let number = server_number(&text)
        .ok_or_else(|| format!("{}: {SERVER_INFO} has no server.number", jar.display()))?;
    number
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| {
            format!(
                "{}: server.number {number:?} is not a version",
                jar.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_number_is_the_last_assignment_outside_comments() {
        let text = "# Licensed to the Apache Software Foundation\nserver.info=Apache Tomcat/10.1.60 (Debian)\nserver.number=10.1.60.0\nserver.built=Sep 20 2026 11:06:01 UTC\n";
        assert_eq!(server_number(text), Some("10.1.60.0"));
        assert_eq!(server_number("#server.number=9.0.1\n"), None);
        assert_eq!(
            server_number("server.number : 9.0.85.0\n"),
            Some("9.0.85.0")
        );
        assert_eq!(server_number("server.number=\n"), None);
    }

    #[test]
    fn debians_tomcat10_jar_says_10() {
        // Installed by `make deps` (tomcat10); the real jar, not a copy of its text.
        assert_eq!(major_of_home(Path::new("/usr/share/tomcat10")), Ok(10));
    }

    #[test]
    fn a_home_without_the_jar_or_not_a_jar_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("tomcat-version-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("lib")).unwrap();
        let e = major_of_home(&dir.join("nothing")).unwrap_err();
        assert!(e.contains("catalina.jar"), "{e}");
        std::fs::write(dir.join("lib/catalina.jar"), b"not a zip").unwrap();
        let e = major_of_home(&dir).unwrap_err();
        assert!(e.contains("catalina.jar"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
