//! `/proc/<pid>/mountinfo`: every mount with its source, type and options, escapes (`\040`) decoded.

/// One mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `major:minor` of the filesystem, which identifies bind mounts of one filesystem.
    pub(crate) dev: String,
    /// Where it is mounted, unescaped.
    pub(crate) mount_point: String,
    /// Filesystem type (`ext4`, `tmpfs`, `fuse.sshfs`).
    pub(crate) fs_type: String,
    /// Mount source (`/dev/sdb1`, `tmpfs`, `server:/export`), unescaped.
    pub(crate) source: String,
    /// Per-mount options (`ro,relatime`).
    pub(crate) options: String,
    /// Whether the mount or its superblock is read-only.
    pub(crate) readonly: bool,
    /// The original line, the evidence the audit journal keeps.
    pub(crate) line: String,
}

impl Mount {
    /// The document's definition of a real partition: the source is a `/dev` block device.
    pub(crate) fn is_block_device(&self) -> bool {
        self.source.starts_with("/dev/")
    }

    /// The line as `mount(8)` prints it: `/dev/sdb1 on /data type ext4 (ro,relatime)`.
    pub(crate) fn mount_line(&self) -> String {
        format!(
            "{} on {} type {} ({})",
            self.source, self.mount_point, self.fs_type, self.options
        )
    }
}

fn has_ro(opts: &str) -> bool {
    opts.split(',').any(|o| o == "ro")
}

fn parse_line(line: &str) -> Option<Mount> {
    let (left, right) = line.split_once(" - ")?;
    let l: Vec<&str> = left.split_whitespace().collect();
    let mut r = right.split_whitespace();
    let (dev, mount_point, options) = (l.get(2)?, l.get(4)?, l.get(5)?);
    let fs_type = r.next()?;
    let source = r.next().unwrap_or("none");
    let super_options = r.next().unwrap_or("");
    Some(Mount {
        dev: (*dev).to_owned(),
        mount_point: common::parse::unescape_octal(mount_point),
        fs_type: fs_type.to_owned(),
        source: common::parse::unescape_octal(source),
        options: (*options).to_owned(),
        readonly: has_ro(options) || has_ro(super_options),
        line: line.to_owned(),
    })
}

/// Parses mountinfo; lines that do not parse are skipped.
pub fn parse(bytes: &[u8]) -> Vec<Mount> {
    common::parse::lines(bytes).filter_map(parse_line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_optional_fields_escapes_and_readonly() {
        let m = parse(
            b"27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard\n\
              90 27 8:17 / /var/log/my\\040logs ro,relatime shared:5 master:2 - ext4 /dev/sdb1 ro,data=ordered\n\
              garbage line\n\
              91 27 0:50 / /mnt/t rw,relatime - tmpfs tmpfs ro,size=4k\n",
        );
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].mount_point, "/");
        assert!(!m[0].readonly && m[0].is_block_device());
        assert_eq!(m[1].mount_point, "/var/log/my logs");
        assert_eq!(m[1].source, "/dev/sdb1");
        assert!(m[1].readonly);
        assert_eq!(
            m[1].mount_line(),
            "/dev/sdb1 on /var/log/my logs type ext4 (ro,relatime)"
        );
        assert!(
            m[2].readonly && !m[2].is_block_device(),
            "superblock ro counts"
        );
    }
}
