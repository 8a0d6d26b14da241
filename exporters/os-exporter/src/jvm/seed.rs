//! Where a JVM seeds `SecureRandom` from (document 001 §3.5, "tomcat启动慢": Tomcat's session-id
//! generator, SHA1PRNG, takes its seed from `securerandom.source`, and on a kernel whose pool is
//! not ready `/dev/random` blocks the start). The JVM's own `-Djava.security.egd=` wins over the
//! `securerandom.source` line of its `java.security`, as in the JDK's `SunEntries`.

/// The seed source, a small fixed set for the `source` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeedSource {
    /// `/dev/random`: blocks until the kernel's CRNG is ready (always, before kernel 5.6, while
    /// the entropy estimate is low).
    DevRandom,
    /// `/dev/urandom` (the usual fix, `file:/dev/./urandom`): never blocks.
    DevUrandom,
    /// Another URL (an EGD socket, a file).
    Other,
    /// Neither the option nor the JVM's `java.security` says (the file could not be read).
    Unknown,
}

impl SeedSource {
    /// The label value.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::DevRandom => "dev_random",
            Self::DevUrandom => "dev_urandom",
            Self::Other => "other",
            Self::Unknown => "unknown",
        }
    }
}

/// What a seed URL such as `file:/dev/./urandom` names.
fn classify(url: &str) -> SeedSource {
    let path = url.trim().trim_start_matches("file:");
    // `/dev/./urandom` and `/dev//random` are spellings that older JDKs needed to be taken
    // literally; the device is the last component.
    match path.rsplit('/').next() {
        Some("urandom") if path.starts_with("/dev/") => SeedSource::DevUrandom,
        Some("random") if path.starts_with("/dev/") => SeedSource::DevRandom,
        _ => SeedSource::Other,
    }
}

/// The last `-Djava.security.egd=` of the JVM's options.
fn egd_option(vm_args: &str) -> Option<&str> {
    vm_args
        .split_whitespace()
        .filter_map(|a| a.strip_prefix("-Djava.security.egd="))
        .next_back()
}

/// The `securerandom.source` of a `java.security` file (the last assignment, comments left
/// out; `=` or `:` as in a properties file).
fn security_source(java_security: &str) -> Option<&str> {
    java_security
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| l.strip_prefix("securerandom.source"))
        .filter_map(|rest| {
            let rest = rest.trim_start();
            rest.strip_prefix('=')
                .or_else(|| rest.strip_prefix(':'))
                .map(str::trim)
        })
        .next_back()
}

/// The JVM's seed source from its options and its `java.security` text, when read.
pub(crate) fn seed_source(vm_args: Option<&str>, java_security: Option<&str>) -> SeedSource {
    match (
        vm_args.and_then(egd_option),
        java_security.and_then(security_source),
    ) {
        (Some(url), _) | (None, Some(url)) => classify(url),
        (None, None) => SeedSource::Unknown,
    }
}

/// Where `java.security` is under a JVM's home: `conf/security` since JDK 9, `lib/security`
/// in JDK 8's `jre` (which is then `java.home`).
pub(crate) const JAVA_SECURITY_PATHS: [&str; 2] =
    ["conf/security/java.security", "lib/security/java.security"];

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines of Debian's JDK 17 `/etc/java-17-openjdk/security/java.security`.
    const DEBIAN_17: &str = "#\n# Select the source of seed data for SecureRandom.\n#\n# securerandom.source=file:/dev/urandom\nsecurerandom.source=file:/dev/random\nsecurerandom.strongAlgorithms=NativePRNGBlocking:SUN,DRBG:SUN\n";

    #[test]
    fn the_option_wins_over_the_file_and_the_last_assignment_counts() {
        assert_eq!(seed_source(None, Some(DEBIAN_17)), SeedSource::DevRandom);
        assert_eq!(
            seed_source(
                Some("-Xmx1g -Djava.security.egd=file:/dev/./urandom"),
                Some(DEBIAN_17)
            ),
            SeedSource::DevUrandom
        );
        assert_eq!(
            seed_source(
                Some("-Djava.security.egd=file:/dev/urandom -Djava.security.egd=file:/dev/random"),
                None
            ),
            SeedSource::DevRandom
        );
        assert_eq!(
            seed_source(None, Some("securerandom.source = file:/dev/urandom\n")),
            SeedSource::DevUrandom
        );
        assert_eq!(
            seed_source(Some("-Djava.security.egd=file:/var/run/egd-pool"), None),
            SeedSource::Other
        );
        assert_eq!(seed_source(Some("-Xmx1g"), None), SeedSource::Unknown);
        assert_eq!(
            seed_source(None, Some("# securerandom.source=file:/dev/random\n")),
            SeedSource::Unknown
        );
    }
}
