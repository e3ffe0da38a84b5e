//! Cisco Discovery Protocol (LLC/SNAP OUI 00000c, PID 0x2000): stateless.
//!
//! - `wire`: zero-copy TLV parsing.
//! - this file: frame handling and the identity a neighbour announces.
//! - `json`: the `cdp` object of NDJSON records.

mod json;
pub mod wire;

use otwatch_core::{MsgKind, Proto};

use crate::dissector::Ctx;
use crate::ident::{Identity, Subject};
use crate::protocols::ProtoMessage;
pub use wire::{Cdp, Error};

/// A dissected CDP packet.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub cdp: Cdp<'a>,
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        0
    }

    fn identity(&self) -> Option<Identity<'_>> {
        let c = &self.cdp;
        let mut id = Identity::new(Subject::Sender, "cdp");
        id.vendor = Some("Cisco".into());
        id.hostname = c.device_id.and_then(crate::ident::text);
        id.model = c.platform.and_then(crate::ident::text);
        id.os = c.software.and_then(crate::ident::text);
        id.device_class = c.capabilities.map(|b| wire::caps_text(b).into());
        id.ip = c
            .addresses
            .or(c.mgmt_addresses)
            .and_then(|a| wire::addresses(a, 8).next());
        id.domain = c.vtp_domain.and_then(crate::ident::text);
        id.module = c.port_id.and_then(crate::ident::text);
        Some(id)
    }
}

/// Dissects one frame (the bytes after the SNAP header).
pub fn on_frame(data: &[u8], cx: &mut Ctx<'_>) {
    let (m, err) = wire::parse(data);
    if let Some(cdp) = m {
        cx.message(MsgKind::Other, crate::Message::Cdp(Message { cdp }));
    }
    if let Some(e) = err {
        cx.malformed(Proto::Cdp, e.code(), &e, m.map(|_| 0), data);
    }
}

#[cfg(test)]
mod tests;
