//! LLDP (EtherType 0x88CC): stateless, one LLDPDU per frame.
//!
//! - `wire`: zero-copy TLV parsing.
//! - this file: frame handling and the identity a neighbour announces.
//! - `json`: the `lldp` object of NDJSON records.

mod json;
pub mod wire;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use otwatch_core::{MsgKind, Proto};

use crate::dissector::Ctx;
use crate::ident::{Identity, Subject};
use crate::protocols::ProtoMessage;
pub use wire::{Error, Lldp};

/// A dissected LLDPDU.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub lldp: Lldp<'a>,
}

/// The management address as an IP, when it is IPv4 (family 1) or IPv6 (2).
pub fn mgmt_ip(l: &Lldp<'_>) -> Option<IpAddr> {
    match l.mgmt_addr? {
        (1, [a, b, c, d]) => Some(IpAddr::V4(Ipv4Addr::new(*a, *b, *c, *d))),
        (2, a) if a.len() == 16 => {
            let mut x = [0u8; 16];
            x.copy_from_slice(a);
            Some(IpAddr::V6(Ipv6Addr::from(x)))
        }
        _ => None,
    }
}

/// PROFINET devices (organisationally specific TLVs with OUI 00:0e:cf) send
/// the port id `port-xxx.<name of station>` and often no system name.
pub fn profinet_station<'a>(l: &Lldp<'a>) -> Option<&'a [u8]> {
    let profinet = wire::Tlvs::new(l.tlvs)
        .flatten()
        .any(|(t, v)| t == 127 && v.starts_with(&[0x00, 0x0e, 0xcf]));
    if !profinet || l.port_subtype != 7 {
        return None;
    }
    let dot = l.port_id.iter().position(|&c| c == b'.')?;
    l.port_id.get(dot + 1..).filter(|s| !s.is_empty())
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        0
    }

    fn identity(&self) -> Option<Identity<'_>> {
        let l = &self.lldp;
        let mut id = Identity::new(Subject::Sender, "lldp");
        id.hostname = l
            .sys_name
            .and_then(crate::ident::text)
            .or_else(|| profinet_station(l).and_then(crate::ident::text));
        id.os = l.sys_desc.and_then(crate::ident::text);
        if l.caps_enabled != 0 {
            id.device_class = Some(wire::caps_text(l.caps_enabled).into());
        }
        id.ip = mgmt_ip(l);
        id.module = l.port_desc.and_then(crate::ident::text);
        Some(id)
    }
}

/// Dissects one frame (the payload after the EtherType).
pub fn on_frame(data: &[u8], cx: &mut Ctx<'_>) {
    let (m, err) = wire::parse(data);
    if let Some(lldp) = m {
        cx.message(MsgKind::Other, crate::Message::Lldp(Message { lldp }));
    }
    if let Some(e) = err {
        cx.malformed(Proto::Lldp, e.code(), &e, m.map(|_| 0), data);
    }
}

#[cfg(test)]
mod tests;
