//! Parses `/tmp/keepalived.json`, written by keepalived's VRRP process on SIGJSON.

use serde_json::Value;

use crate::vrrp::{Garp, Vip, VrrpInstance, VrrpState, VrrpStats};

/// Why a JSON dump could not be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum JsonDumpError {
    /// Not valid JSON: typically a dump still being written (keepalived renames the file into
    /// place before it writes it).
    #[error("not complete JSON (still being written?): {0}")]
    Syntax(String),
    /// Valid JSON of an unexpected shape.
    #[error("unexpected JSON shape: {0}")]
    Shape(&'static str),
}

/// Parses the whole dump: an array of `{"data": {...}, "stats": {...}}`, one per instance.
pub fn parse(bytes: &[u8]) -> Result<Vec<VrrpInstance>, JsonDumpError> {
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| JsonDumpError::Syntax(e.to_string()))?;
    let items = v
        .as_array()
        .ok_or(JsonDumpError::Shape("top level is not an array"))?;
    // An instance without a name or VRID cannot be labelled; skip it rather than fail the rest.
    Ok(items.iter().filter_map(instance).collect())
}

fn num(o: &Value, key: &str) -> Option<f64> {
    o.get(key).and_then(|v| {
        v.as_f64()
            .or_else(|| v.as_bool().map(|b| f64::from(u8::from(b))))
    })
}

fn instance(item: &Value) -> Option<VrrpInstance> {
    let data = item.get("data")?;
    let name = data.get("iname")?.as_str()?.to_owned();
    let vrid = u32::try_from(data.get("vrid")?.as_u64()?).ok()?;
    // A VMAC instance sends from its macvlan; the VIPs live there.
    let interface = match data.get("vmac_ifname").and_then(Value::as_str) {
        Some(v) if !v.is_empty() => v.to_owned(),
        _ => data
            .get("ifp_ifname")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    };
    let vips = data
        .get("vips")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .filter_map(Vip::parse)
                .collect()
        })
        .unwrap_or_default();
    let stats = item.get("stats").map(|s| {
        let n = |k: &str| num(s, k).unwrap_or(0.0);
        VrrpStats {
            advert_rcvd: n("advert_rcvd"),
            advert_sent: n("advert_sent"),
            become_master: n("become_master"),
            release_master: n("release_master"),
            pri_zero_rcvd: n("pri_zero_rcvd"),
            pri_zero_sent: n("pri_zero_sent"),
            packet_errors: [
                "packet_len_err",
                "advert_interval_err",
                "ip_ttl_err",
                "invalid_type_rcvd",
                "addr_list_err",
            ]
            .iter()
            .map(|k| n(k))
            .sum(),
            auth_errors: ["invalid_authtype", "authtype_mismatch", "auth_failure"]
                .iter()
                .map(|k| n(k))
                .sum(),
        }
    });
    Some(VrrpInstance {
        name,
        interface,
        vrid,
        state: data
            .get("state")
            .and_then(Value::as_i64)
            .and_then(VrrpState::from_code),
        base_priority: num(data, "base_priority"),
        effective_priority: num(data, "effective_priority"),
        vips,
        last_transition: num(data, "last_transition"),
        garp: Garp {
            delay_seconds: num(data, "garp_delay"),
            repeat: num(data, "garp_rep"),
            refresh_seconds: num(data, "garp_refresh"),
            refresh_repeat: num(data, "garp_refresh_rep"),
        },
        stats,
    })
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    use crate::fixtures::bytes as fixture;

    #[test]
    fn master_dump() {
        let v = parse(&fixture("master.json")).unwrap();
        assert_eq!(v.len(), 1);
        let i = &v[0];
        assert_eq!(
            (i.name.as_str(), i.interface.as_str(), i.vrid),
            ("VI_1", "eth0", 51)
        );
        assert_eq!(i.state, Some(VrrpState::Master));
        assert_eq!(
            (i.base_priority, i.effective_priority),
            (Some(150.0), Some(150.0))
        );
        assert_eq!(
            i.vips,
            vec![Vip {
                address: "10.77.0.100".parse::<IpAddr>().unwrap(),
                interface: Some("eth0".into())
            }]
        );
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
        let s = i.stats.unwrap();
        assert_eq!(
            (
                s.advert_sent,
                s.advert_rcvd,
                s.become_master,
                s.release_master
            ),
            (7.0, 0.0, 1.0, 0.0)
        );
    }

    #[test]
    fn backup_fault_and_new_master_states() {
        assert_eq!(
            parse(&fixture("backup.json")).unwrap()[0].state,
            Some(VrrpState::Backup)
        );
        let fault = &parse(&fixture("fault.json")).unwrap()[0];
        assert_eq!(fault.state, Some(VrrpState::Fault));
        assert_eq!(fault.stats.unwrap().release_master, 1.0);
        assert_eq!(fault.stats.unwrap().pri_zero_sent, 1.0);
        let newmaster = &parse(&fixture("newmaster.json")).unwrap()[0];
        assert_eq!(newmaster.state, Some(VrrpState::Master));
        assert_eq!(newmaster.effective_priority, Some(100.0));
    }

    #[test]
    fn a_truncated_dump_is_rejected_not_half_used() {
        let err = parse(&fixture("master.truncated.json")).unwrap_err();
        assert!(matches!(err, JsonDumpError::Syntax(_)), "{err}");
        assert!(matches!(parse(b""), Err(JsonDumpError::Syntax(_))));
        assert_eq!(
            parse(b"{}"),
            Err(JsonDumpError::Shape("top level is not an array"))
        );
    }

    #[test]
    fn odd_items_are_skipped() {
        let v = parse(br#"[{"data":{"iname":"x"}},{"nodata":1},{"data":{"iname":"ok","vrid":7,"state":42,"vips":["bogus", "fe80::1 dev v"]}}]"#)
            .unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].state, None);
        assert_eq!(v[0].vips.len(), 1);
        assert_eq!(v[0].stats, None);
    }
}
