//! The kernel's page-table corruption lines behind os_msg_memory_abnormal (document 001 §2.1:
//! "/var/log/messages日志存在"bad pmd"日志，可能导致系统内存异常"), recognised in a kernel record
//! or a syslog line.
//!
//! `bad pmd` comes from `pmd_ERROR()` (x86_64 `arch/x86/include/asm/pgtable_64.h`:
//! `"%s:%d: bad pmd %p(%016lx)\n"`, called from `mm/pgtable-generic.c: pmd_clear_bad()`); the
//! mm teardown that follows it prints `BUG: Bad rss-counter state` and `BUG: non-zero
//! nr_ptes|pgtables_bytes on freeing mm` (research notes §4.3, real lines in the tests).

/// Which line was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryError {
    /// `... bad pmd <addr>(<value>)`.
    BadPmd,
    /// `BUG: Bad rss-counter state ...`.
    BadRssCounter,
    /// `BUG: non-zero nr_ptes|pgtables_bytes on freeing mm: N`.
    NonZeroPgtables,
}

impl MemoryError {
    /// Every kind, for counters that exist from the start.
    pub const ALL: [MemoryError; 3] = [
        MemoryError::BadPmd,
        MemoryError::BadRssCounter,
        MemoryError::NonZeroPgtables,
    ];

    /// The `kind` label.
    pub fn label(self) -> &'static str {
        match self {
            MemoryError::BadPmd => "bad_pmd",
            MemoryError::BadRssCounter => "bad_rss_counter",
            MemoryError::NonZeroPgtables => "nonzero_pgtables",
        }
    }
}

/// The memory error a line reports, if any. Case matters: the kernel's format strings are
/// fixed, and a user's "Bad PMD" chat line in the messages file is not the kernel's.
pub fn classify(line: &str) -> Option<MemoryError> {
    if let Some(at) = line.find("bad pmd") {
        // A word of its own: "bad pmd" then end, space, or the address (arm64 ends with '.').
        let after = line[at + "bad pmd".len()..].chars().next();
        let before = line[..at].chars().next_back();
        if before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric())
        {
            return Some(MemoryError::BadPmd);
        }
    }
    if line.contains("BUG: Bad rss-counter state") {
        return Some(MemoryError::BadRssCounter);
    }
    if line.contains("BUG: non-zero nr_ptes on freeing mm")
        || line.contains("BUG: non-zero pgtables_bytes on freeing mm")
    {
        return Some(MemoryError::NonZeroPgtables);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_lines_from_kernel_reports_are_recognised() {
        // Mel Gorman, "mm, numa: fix bad pmd by atomically check for pmd_trans_huge when
        // marking page tables prot_numa" (2020-03), dmesg and syslog forms.
        assert_eq!(
            classify(
                "[ 5195.338482] ../mm/pgtable-generic.c:33: bad pmd ffff8888157ba008(000002e0396009e2)"
            ),
            Some(MemoryError::BadPmd)
        );
        assert_eq!(
            classify(
                "Mar  2 10:20:31 host kernel: mm/pgtable-generic.c:40: bad pmd 00000000b3152f68(8000000d2d2008e7)"
            ),
            Some(MemoryError::BadPmd)
        );
        assert_eq!(
            classify(
                "Mar  2 10:20:31 host kernel: BUG: Bad rss-counter state mm:00000000b583043d idx:1 val:512"
            ),
            Some(MemoryError::BadRssCounter)
        );
        assert_eq!(
            classify(
                "Mar  2 10:20:31 host kernel: BUG: non-zero pgtables_bytes on freeing mm: 4096"
            ),
            Some(MemoryError::NonZeroPgtables)
        );
        // linux-mm report.
        assert_eq!(
            classify(
                "[23966.710772] mm/pgtable-generic.c:33: bad pmd ffff88217f4bdcd8(0000012c4d6001e2)"
            ),
            Some(MemoryError::BadPmd)
        );
        assert_eq!(
            classify("BUG: non-zero nr_ptes on freeing mm: 1"),
            Some(MemoryError::NonZeroPgtables)
        );
        // Punit Agrawal's arm64 hugetlb patch.
        assert_eq!(
            classify("mm/pgtable-generic.c:33: bad pmd 000000083af00074."),
            Some(MemoryError::BadPmd)
        );
    }

    #[test]
    fn other_lines_are_not_memory_errors() {
        for line in [
            "",
            "Dec  1 10:24:18 vm kernel: [  505.063191] EXT4-fs (loop0): VFS: Can't find ext4 filesystem",
            "user: the Bad PMD of the project was late",
            "a bad pmdx word",
            "xbad pmd",
            "\u{fffd}\u{fffd}\0\0bad",
        ] {
            assert_eq!(classify(line), None, "{line:?}");
        }
    }
}
