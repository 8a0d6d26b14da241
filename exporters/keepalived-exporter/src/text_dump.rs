//! Parses the text dumps of keepalived builds without JSON: the data dump (SIGUSR1,
//! `/tmp/keepalived.data` or `keepalived.<instance>.data`) and the stats dump (SIGUSR2,
//! `/tmp/keepalived.stats`).
//!
//! keepalived renames these files into place before writing them, so a read can see a prefix.
//! Both parsers therefore insist on a complete file: the data dump's VRRP topology section must
//! be followed by another section header, and every stats block must reach its last counter.

use crate::vrrp::{Vip, VrrpInstance, VrrpState, VrrpStats};

/// Why a text dump could not be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TextDumpError {
    /// The file ends before its structure is complete (still being written?).
    #[error("incomplete dump (still being written?): {0}")]
    Incomplete(&'static str),
}

const TOPOLOGY: &str = "------< VRRP Topology >------";

/// Parses the data dump's VRRP topology into instances (without counters).
pub fn parse_data(text: &str) -> Result<Vec<VrrpInstance>, TextDumpError> {
    let start = text
        .find(TOPOLOGY)
        .ok_or(TextDumpError::Incomplete("no VRRP Topology section"))?;
    let body = &text[start + TOPOLOGY.len()..];
    let end = body.find("------<").ok_or(TextDumpError::Incomplete(
        "VRRP Topology section not closed",
    ))?;
    let mut out: Vec<VrrpInstance> = Vec::new();
    let mut in_vips = false;
    for line in body[..end].lines() {
        let indent = line.len() - line.trim_start().len();
        let line = line.trim();
        if let Some(name) = line
            .strip_prefix("VRRP Instance = ")
            .filter(|_| indent == 1)
        {
            out.push(VrrpInstance {
                name: name.trim().to_owned(),
                ..VrrpInstance::default()
            });
            in_vips = false;
            continue;
        }
        let Some(inst) = out.last_mut() else { continue };
        if indent <= 3 {
            in_vips = line.starts_with("Virtual IP (");
            if in_vips {
                continue;
            }
        } else if in_vips {
            if let Some(v) = Vip::parse(line) {
                inst.vips.push(v);
            }
            continue;
        }
        let Some((key, value)) = line.split_once(" = ") else {
            continue;
        };
        let first = value.split_whitespace().next().unwrap_or("");
        let number = first.parse::<f64>().ok();
        match key {
            "State" => inst.state = VrrpState::from_word(value),
            "Interface" => inst.interface = value.trim().to_owned(),
            "Virtual Router ID" => inst.vrid = first.parse().unwrap_or(0),
            "Priority" => inst.base_priority = number,
            "Effective priority" => inst.effective_priority = number,
            "Last transition" => inst.last_transition = number,
            "Gratuitous ARP delay" => inst.garp.delay_seconds = number,
            "Gratuitous ARP repeat" => inst.garp.repeat = number,
            "Gratuitous ARP refresh" => inst.garp.refresh_seconds = number,
            "Gratuitous ARP refresh repeat" => inst.garp.refresh_repeat = number,
            _ => {}
        }
    }
    // An instance without a VRID was cut or malformed: it cannot be labelled.
    out.retain(|i| i.vrid != 0 && !i.name.is_empty());
    Ok(out)
}

/// Parses the stats dump: `(instance name, counters)` per `VRRP Instance:` block.
pub fn parse_stats(text: &str) -> Result<Vec<(String, VrrpStats)>, TextDumpError> {
    if !text.ends_with('\n') {
        return Err(TextDumpError::Incomplete(
            "stats dump does not end with a newline",
        ));
    }
    let mut out: Vec<(String, VrrpStats)> = Vec::new();
    // The sub-heading the next `Received:`/`Sent:`/... line belongs to.
    let mut section = "";
    let mut complete = true;
    for line in text.lines() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("VRRP Instance:") {
            if !complete {
                return Err(TextDumpError::Incomplete("stats block cut short"));
            }
            out.push((name.trim().to_owned(), VrrpStats::default()));
            section = "";
            complete = false;
            continue;
        }
        let Some((_, stats)) = out.last_mut() else {
            continue;
        };
        let Some((key, value)) = t.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            section = key;
            continue;
        }
        let Ok(n) = value.parse::<f64>() else {
            continue;
        };
        match (section, key) {
            ("Advertisements", "Received") => stats.advert_rcvd = n,
            ("Advertisements", "Sent") => stats.advert_sent = n,
            (_, "Became master") => stats.become_master = n,
            (_, "Released master") => stats.release_master = n,
            ("Packet Errors", _) => stats.packet_errors += n,
            ("Authentication Errors", _) => stats.auth_errors += n,
            ("Priority Zero", "Received") => stats.pri_zero_rcvd = n,
            ("Priority Zero", "Sent") => {
                stats.pri_zero_sent = n;
                // The last counter keepalived writes for an instance.
                complete = true;
            }
            _ => {}
        }
    }
    if !complete {
        return Err(TextDumpError::Incomplete("stats block cut short"));
    }
    Ok(out)
}

/// Joins the data dump's instances with the stats dump's counters by instance name.
pub fn merge(mut instances: Vec<VrrpInstance>, stats: &[(String, VrrpStats)]) -> Vec<VrrpInstance> {
    for inst in &mut instances {
        inst.stats = stats.iter().find(|(n, _)| *n == inst.name).map(|(_, s)| *s);
    }
    instances
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::Garp;

    use crate::fixtures::text as fixture;

    #[test]
    fn data_dumps_of_master_backup_and_fault() {
        let m = parse_data(&fixture("master.data")).unwrap();
        assert_eq!(m.len(), 1);
        let i = &m[0];
        assert_eq!(
            (i.name.as_str(), i.interface.as_str(), i.vrid),
            ("VI_1", "eth0", 51)
        );
        assert_eq!(i.state, Some(VrrpState::Master));
        assert_eq!(
            (i.base_priority, i.effective_priority),
            (Some(150.0), Some(150.0))
        );
        assert_eq!(i.vips.len(), 1);
        assert_eq!(i.vips[0].address.to_string(), "10.77.0.100");
        assert_eq!(i.last_transition, Some(1_795_290_368.083_305));
        assert_eq!(
            i.garp,
            Garp {
                delay_seconds: Some(2.0),
                repeat: Some(3.0),
                refresh_seconds: Some(60.0),
                refresh_repeat: Some(1.0)
            }
        );
        assert_eq!(
            parse_data(&fixture("backup.data")).unwrap()[0].state,
            Some(VrrpState::Backup)
        );
        assert_eq!(
            parse_data(&fixture("fault.data")).unwrap()[0].state,
            Some(VrrpState::Fault)
        );
    }

    #[test]
    fn stats_dumps() {
        let s = parse_stats(&fixture("master.stats")).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].0, "VI_1");
        assert_eq!((s[0].1.advert_sent, s[0].1.become_master), (7.0, 1.0));
        let b = parse_stats(&fixture("backup.stats")).unwrap();
        assert_eq!(b[0].1.advert_rcvd, 24.0);
        let merged = merge(parse_data(&fixture("master.data")).unwrap(), &s);
        assert_eq!(merged[0].stats.unwrap().advert_sent, 7.0);
    }

    #[test]
    fn truncated_dumps_are_rejected() {
        assert!(parse_data(&fixture("master.truncated.data")).is_err());
        assert!(parse_stats(&fixture("master.truncated.stats")).is_err());
        assert!(parse_data("").is_err());
        // Cut exactly at a line end inside a block is still incomplete.
        let full = fixture("master.stats");
        let cut = &full[..full.find("Priority Zero").unwrap()];
        assert!(parse_stats(cut).is_err());
    }

    #[test]
    fn an_empty_stats_dump_has_no_instances() {
        assert_eq!(parse_stats("\n").unwrap(), vec![]);
    }
}
