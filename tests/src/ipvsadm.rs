//! Reading Debian's `ipvsadm -Ln` output, the reference the IPVS readers are checked against.

/// The lines of `ipvsadm -Ln` (or `-Ln --stats --exact`) by (service, real server), the words
/// after the address; a service's own line has the real server `""`. Services are written in the
/// `service` label's syntax (`tcp/10.0.0.3:80`, `fwmark/7`), so both sides compare as text.
pub fn lines(text: &str) -> std::collections::BTreeMap<(String, String), Vec<String>> {
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
