//! One `/dev/kmsg` record (Documentation/ABI/testing/dev-kmsg): `prefix,seq,ts_usec,flags[,...];
//! message` followed by optional continuation lines ` KEY=value`. `prefix` is
//! `facility << 3 | level`; each `read()` of the device returns exactly one record.

/// Facility 0, `LOG_KERN`. User space cannot write records with it: the kernel turns a `<3>`
/// written to `/dev/kmsg` into facility 1 (`LOG_USER`), so facility 0 means the kernel itself.
pub const KERNEL_FACILITY: u8 = 0;

/// Level 3, `LOG_ERR`; 0 to 3 (emerg, alert, crit, err) are "err or worse".
pub const LEVEL_ERR: u8 = 3;

/// Level 4, `LOG_WARNING`.
pub const LEVEL_WARNING: u8 = 4;

/// The syslog names of levels 0 to 7, used as the `level` label.
pub const LEVEL_NAMES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// A parsed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsgRecord {
    /// `LOG_KERN` is 0; user-space writers get 1 or more.
    pub facility: u8,
    /// 0 (emerg) to 7 (debug).
    pub level: u8,
    /// The kernel's 64-bit record sequence number; a gap means records were overwritten.
    pub seq: u64,
    /// Microseconds since boot (monotonic clock) when the record was stored.
    pub ts_usec: u64,
    /// The message text (first line only; control characters are escaped by the kernel as
    /// `\xNN`, and kept so).
    pub message: String,
}

impl KmsgRecord {
    /// A record of the kernel itself at level err or worse: what os_msg_has_kernel_error counts.
    pub fn is_kernel_error(&self) -> bool {
        self.facility == KERNEL_FACILITY && self.level <= LEVEL_ERR
    }

    /// The level's syslog name.
    pub fn level_name(&self) -> &'static str {
        LEVEL_NAMES[usize::from(self.level & 7)]
    }
}

/// Parses one record as returned by one `read()`; `None` when the header is malformed (a
/// kernel with a new header layout still has these four fields first, so extra comma-separated
/// fields are ignored).
pub fn parse(record: &[u8]) -> Option<KmsgRecord> {
    let semi = record.iter().position(|&b| b == b';')?;
    let header = std::str::from_utf8(&record[..semi]).ok()?;
    let mut fields = header.split(',');
    let prefix: u32 = fields.next()?.trim().parse().ok()?;
    let seq: u64 = fields.next()?.parse().ok()?;
    let ts_usec: u64 = fields.next()?.parse().ok()?;
    // The flags field ("-" or "c") must exist; its value is of no use here.
    fields.next()?;
    let body = &record[semi + 1..];
    // The message ends at the first newline; continuation lines (" SUBSYSTEM=...") follow it.
    let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let message = String::from_utf8_lossy(&body[..end]).into_owned();
    Some(KmsgRecord {
        facility: u8::try_from(prefix >> 3).unwrap_or(u8::MAX),
        level: u8::try_from(prefix & 7).unwrap_or(7),
        seq,
        ts_usec,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The real record the acceptance test produces (research notes §4.1, measured on this VM):
    // `mount -t ext4 -o loop,ro` of a zero-filled file.
    const EXT4: &[u8] =
        b"3,340,505063191,-,caller=T1234;EXT4-fs (loop0): VFS: Can't find ext4 filesystem\n";

    #[test]
    fn the_ext4_mount_failure_is_a_kernel_error() {
        let r = parse(EXT4).unwrap();
        assert_eq!(
            (r.facility, r.level, r.seq, r.ts_usec),
            (0, 3, 340, 505_063_191)
        );
        assert_eq!(
            r.message,
            "EXT4-fs (loop0): VFS: Can't find ext4 filesystem"
        );
        assert!(r.is_kernel_error());
        assert_eq!(r.level_name(), "err");
    }

    #[test]
    fn a_user_space_err_line_is_not_a_kernel_error() {
        // `echo '<3>os-exporter-test: injected' > /dev/kmsg` reads back with prefix 11 (user.err).
        let r = parse(b"11,341,506000000,-;os-exporter-test: injected\n").unwrap();
        assert_eq!((r.facility, r.level), (1, 3));
        assert!(!r.is_kernel_error());
    }

    #[test]
    fn continuation_lines_are_not_part_of_the_message() {
        let r = parse(b"6,7,100,c;usb 1-1: new device\n SUBSYSTEM=usb\n DEVICE=c189:1\n").unwrap();
        assert_eq!(r.message, "usb 1-1: new device");
        assert!(!r.is_kernel_error());
    }

    #[test]
    fn malformed_headers_are_none() {
        for bad in [
            &b""[..],
            b"no semicolon at all",
            b"x,1,2,-;text",
            b"3,1;text",
            b"3,-1,2,-;text",
            b"\xff\xfe;\x00",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
