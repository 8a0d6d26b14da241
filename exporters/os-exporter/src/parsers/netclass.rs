//! `/sys/class/net/<if>/{flags,operstate,carrier}`: the link state of an interface.

/// `IFF_UP`: administratively up.
pub const IFF_UP: u64 = 0x1;
/// `IFF_LOOPBACK`.
pub const IFF_LOOPBACK: u64 = 0x8;

/// The link state of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    /// `flags` (hex `0x1003`).
    pub(crate) flags: u64,
    /// `operstate` (`up`, `down`, `unknown`, `dormant`...).
    pub(crate) operstate: String,
    /// `carrier`: `Some(true)` with a link; `None` when unreadable (interface admin down).
    pub(crate) carrier: Option<bool>,
}

impl LinkState {
    /// Administratively up, not loopback, yet without carrier or not operationally up: the
    /// document's abnormal interface. `unknown` operstate (tun, dummy) with carrier is fine.
    pub(crate) fn abnormal(&self) -> bool {
        self.flags & IFF_UP != 0
            && self.flags & IFF_LOOPBACK == 0
            && (self.carrier == Some(false)
                || self.operstate == "down"
                || self.operstate == "lowerlayerdown")
    }
}

/// Parses the three files' contents (each may be missing).
pub fn parse(
    flags: Option<&[u8]>,
    operstate: Option<&[u8]>,
    carrier: Option<&[u8]>,
) -> Option<LinkState> {
    let flags = std::str::from_utf8(flags?).ok()?.trim();
    let flags = u64::from_str_radix(flags.trim_start_matches("0x"), 16).ok()?;
    let text = |b: Option<&[u8]>| {
        b.and_then(|b| std::str::from_utf8(b).ok())
            .map(|s| s.trim().to_owned())
    };
    let carrier = text(carrier).and_then(|c| match c.as_str() {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    });
    Some(LinkState {
        flags,
        operstate: text(operstate).unwrap_or_else(|| "unknown".to_owned()),
        carrier,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_without_carrier_is_abnormal() {
        let s = parse(Some(b"0x1003\n"), Some(b"down\n"), Some(b"0\n")).unwrap();
        assert!(s.abnormal());
        let up = parse(Some(b"0x1003\n"), Some(b"up\n"), Some(b"1\n")).unwrap();
        assert!(!up.abnormal());
        let admin_down = parse(Some(b"0x1002\n"), Some(b"down\n"), None).unwrap();
        assert!(!admin_down.abnormal());
        let lo = parse(Some(b"0x9\n"), Some(b"unknown\n"), Some(b"1\n")).unwrap();
        assert!(!lo.abnormal());
        assert_eq!(parse(Some(b"zz"), None, None), None);
    }
}
