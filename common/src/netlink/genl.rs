//! `NETLINK_GENERIC`: the id of a named generic-netlink family (`IPVS`, `nl80211`...), needed to
//! address any request to that family.
//!
//! The id comes from a **dump** of the controller's family list, never from a
//! `CTRL_CMD_GETFAMILY` by name: for a name it does not know, the kernel's lookup tries
//! `request_module("net-pf-16-proto-16-family-<name>")` first (genetlink.c `ctrl_getfamily`),
//! so asking for `IPVS` on a host without it would load `ip_vs`. The dump lists only what is
//! already registered and loads nothing.
//!
//! The request is `netlink-packet-generic`'s controller message; the answer's attributes are read
//! with `netlink-packet-core`'s attribute iterator, taking only the id and the name, so a kernel
//! newer than the crate (new controller attributes) cannot break the lookup.

use netlink_packet_core::{DecodeError, NlasIterator, parse_string, parse_u16};
use netlink_packet_generic::GenlMessage;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};

use super::{Limits, NetlinkError, Protocol, Socket};

/// `CTRL_ATTR_FAMILY_ID`.
const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// `CTRL_ATTR_FAMILY_NAME`.
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// `struct genlmsghdr`: command, version, reserved.
pub const GENL_HEADER_LEN: usize = 4;

/// One registered family: its name and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    /// The name (`IPVS`).
    pub name: String,
    /// The id to put in `nlmsg_type`.
    pub id: u16,
}

/// Reads one controller answer (genl header, then attributes); `None` when it lacks a name or id.
pub fn decode_family(payload: &[u8]) -> Result<Option<Family>, DecodeError> {
    let attrs = payload
        .get(GENL_HEADER_LEN..)
        .ok_or_else(|| DecodeError::from("generic netlink message shorter than its header"))?;
    let (mut name, mut id) = (None, None);
    for nla in NlasIterator::new(attrs) {
        let nla = nla?;
        match nla.kind() {
            CTRL_ATTR_FAMILY_ID => id = Some(parse_u16(nla.value())?),
            CTRL_ATTR_FAMILY_NAME => name = Some(parse_string(nla.value())?),
            _ => {}
        }
    }
    Ok(name.zip(id).map(|(name, id)| Family { name, id }))
}

/// Every registered family of this network namespace's kernel, from a controller dump.
pub fn families(sock: &mut Socket) -> Result<Vec<Family>, NetlinkError> {
    let request = GenlMessage::from_payload(GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: Vec::new(),
    });
    let mut out = Vec::new();
    sock.dump(request, |_, payload| {
        out.extend(decode_family(payload)?);
        Ok(())
    })?;
    Ok(out)
}

/// The id of family `name` when it is registered (without loading anything), on `sock`.
pub fn family_id(sock: &mut Socket, name: &str) -> Result<Option<u16>, NetlinkError> {
    Ok(families(sock)?
        .into_iter()
        .find(|f| f.name == name)
        .map(|f| f.id))
}

/// Opens a generic-netlink socket within `limits`.
pub fn open(limits: Limits) -> Result<Socket, NetlinkError> {
    Socket::open(Protocol::Generic, limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
        let len = u16::try_from(4 + value.len()).unwrap();
        let mut a = Vec::new();
        a.extend_from_slice(&len.to_ne_bytes());
        a.extend_from_slice(&kind.to_ne_bytes());
        a.extend_from_slice(value);
        while a.len() % 4 != 0 {
            a.push(0);
        }
        a
    }

    #[test]
    fn a_controller_answer_gives_name_and_id() {
        let mut p = vec![1, 2, 0, 0];
        p.extend(attr(CTRL_ATTR_FAMILY_NAME, b"IPVS\0"));
        p.extend(attr(CTRL_ATTR_FAMILY_ID, &0x25u16.to_ne_bytes()));
        p.extend(attr(3, &1u32.to_ne_bytes()));
        p.extend(attr(99, &[1, 2, 3]));
        assert_eq!(
            decode_family(&p).unwrap(),
            Some(Family {
                name: "IPVS".into(),
                id: 0x25
            })
        );
        let only_name = [vec![1, 2, 0, 0], attr(CTRL_ATTR_FAMILY_NAME, b"x\0")].concat();
        assert_eq!(decode_family(&only_name).unwrap(), None);
        assert!(decode_family(&[1, 2]).is_err());
        let cut = [vec![1, 2, 0, 0], vec![200, 0, 1, 0]].concat();
        assert!(decode_family(&cut).is_err());
    }

    #[test]
    fn the_running_kernel_lists_the_controller_itself() {
        // Every kernel with generic netlink registers `nlctrl` (id 16): a live check of the dump.
        let mut sock = open(Limits::default()).unwrap();
        assert_eq!(family_id(&mut sock, "nlctrl").unwrap(), Some(16));
        assert_eq!(family_id(&mut sock, "no-such-family").unwrap(), None);
    }
}
