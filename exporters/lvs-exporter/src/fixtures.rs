//! The captures of `tests/fixtures/` (see its README), read by the unit tests.

use std::path::PathBuf;

/// The path of the fixture `name`.
fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The bytes of the fixture `name`; a missing fixture fails the test.
pub(crate) fn bytes(name: &str) -> Vec<u8> {
    let path = path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text of the fixture `name`; a missing fixture fails the test.
pub(crate) fn text(name: &str) -> String {
    let path = path(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of `ipvsadm -Ln` (or `-Ln --stats --exact`) by (service, real server), the words
/// after the address; a service's own line has the real server `""`. Services are written in the
/// `service` label's syntax (`tcp/10.0.0.3:80`, `fwmark/7`), so both sides compare as text.
pub(crate) fn ipvsadm_lines(
    text: &str,
) -> std::collections::BTreeMap<(String, String), Vec<String>> {
    let mut out = std::collections::BTreeMap::new();
    let mut service = String::new();
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["->", "RemoteAddress:Port", ..] => {}
            ["->", rs, rest @ ..] if !service.is_empty() => {
                out.insert(
                    (service.clone(), (*rs).to_owned()),
                    rest.iter().map(|s| (*s).to_owned()).collect(),
                );
            }
            [prot @ ("TCP" | "UDP" | "SCTP" | "FWM"), addr, rest @ ..] => {
                service = match *prot {
                    "FWM" => format!("fwmark/{addr}"),
                    p => format!("{}/{addr}", p.to_lowercase()),
                };
                out.insert(
                    (service.clone(), String::new()),
                    rest.iter().map(|s| (*s).to_owned()).collect(),
                );
            }
            _ => {}
        }
    }
    out
}

/// Hex text to bytes.
pub(crate) fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|e| panic!("{s}: {e}")))
        .collect()
}
