//! Small tolerant parsing helpers shared by the parsers of kernel files and tool output.
//!
//! They never fail as a whole: an item that does not parse is skipped by the caller.

/// Lines of `bytes` as `&str`, skipping lines that are not UTF-8.
pub fn lines(bytes: &[u8]) -> impl Iterator<Item = &str> {
    bytes
        .split(|b| *b == b'\n')
        .filter_map(|l| std::str::from_utf8(l).ok())
}

/// Parses a `Key:   value [unit]` file such as `/proc/meminfo` into `(key, value)` pairs,
/// multiplying by 1024 when the unit is `kB`. Lines that do not parse are skipped.
pub fn key_value_kb(bytes: &[u8]) -> Vec<(&str, f64)> {
    lines(bytes)
        .filter_map(|line| {
            let (key, rest) = line.split_once(':')?;
            let mut it = rest.split_whitespace();
            let value: f64 = it.next()?.parse().ok()?;
            let scale = match it.next() {
                Some("kB") => 1024.0,
                _ => 1.0,
            };
            Some((key.trim(), value * scale))
        })
        .collect()
}

/// Parses `key value` lines (whitespace separated, as in `/proc/vmstat`); bad lines are skipped.
pub fn key_value_pairs(bytes: &[u8]) -> Vec<(&str, f64)> {
    lines(bytes)
        .filter_map(|line| {
            let mut it = line.split_whitespace();
            let key = it.next()?;
            let value = it.next()?.parse().ok()?;
            Some((key, value))
        })
        .collect()
}

/// Parses the header/value line pairs of `/proc/net/snmp` and `/proc/net/netstat`
/// (`TcpExt: A B C` followed by `TcpExt: 1 2 3`) into `(section, field, value)`.
pub fn header_value_tables(bytes: &[u8]) -> Vec<(&str, &str, f64)> {
    let mut out = Vec::new();
    let all: Vec<&str> = lines(bytes).collect();
    for pair in all.chunks(2) {
        let [header, values] = pair else { continue };
        let (Some((hs, hf)), Some((vs, vf))) = (header.split_once(':'), values.split_once(':'))
        else {
            continue;
        };
        if hs != vs {
            continue;
        }
        for (name, value) in hf.split_whitespace().zip(vf.split_whitespace()) {
            if let Ok(v) = value.parse::<f64>() {
                out.push((hs, name, v));
            }
        }
    }
    out
}

/// Decodes the octal escapes (`\040` for a space) that `/proc/mounts` and mountinfo use.
pub fn unescape_octal(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() {
            let oct = &bytes[i + 1..i + 4];
            if oct.iter().all(|b| (b'0'..=b'7').contains(b)) {
                let v = u32::from(oct[0] - b'0') * 64
                    + u32::from(oct[1] - b'0') * 8
                    + u32::from(oct[2] - b'0');
                if let Ok(b) = u8::try_from(v) {
                    out.push(b);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The first whitespace-separated field of a file as a number (e.g. `/proc/uptime`).
pub fn first_number(bytes: &[u8]) -> Option<f64> {
    std::str::from_utf8(bytes)
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_style_values_are_scaled_and_bad_lines_skipped() {
        let got = key_value_kb(b"MemTotal:  100 kB\ngarbage\nHugePages_Total: 3\nBad: x kB\n");
        assert_eq!(got, vec![("MemTotal", 102_400.0), ("HugePages_Total", 3.0)]);
    }

    #[test]
    fn netstat_tables_pair_headers_with_values() {
        let got = header_value_tables(b"TcpExt: A B\nTcpExt: 1 2\nIpExt: X\nIpExt: 9\n");
        assert_eq!(
            got,
            vec![
                ("TcpExt", "A", 1.0),
                ("TcpExt", "B", 2.0),
                ("IpExt", "X", 9.0)
            ]
        );
    }

    #[test]
    fn octal_escapes_are_decoded() {
        assert_eq!(unescape_octal("/mnt/my\\040disk"), "/mnt/my disk");
        assert_eq!(unescape_octal("tab\\011x\\"), "tab\tx\\");
        assert_eq!(unescape_octal("\\9"), "\\9");
    }

    #[test]
    fn first_number_reads_uptime() {
        assert_eq!(first_number(b"350735.47 234388.90\n"), Some(350_735.47));
        assert_eq!(first_number(b""), None);
    }
}
