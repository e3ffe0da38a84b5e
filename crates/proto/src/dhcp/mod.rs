//! DHCP (and plain BOOTP) over UDP 67/68.
//!
//! - `wire`: zero-copy parsing of one message and its options.
//! - this file: the session (one message per datagram, no state: the
//!   transaction id already ties a client's messages together) and the
//!   identity a message gives about the client (`chaddr`).
//! - `json`: the `dhcp` object of NDJSON records.

mod json;
pub mod wire;

use std::net::{IpAddr, Ipv4Addr};

use otwatch_core::{MacAddr, MsgKind, Proto, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{Identity, Subject};
use crate::protocols::ProtoMessage;
pub use wire::{Dhcp, Error};

/// A dissected DHCP message.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub dhcp: Dhcp<'a>,
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.dhcp.msg_type as u16
    }

    /// Client requests name the client (`chaddr`): host name, vendor class;
    /// an ACK gives its address.
    fn identity(&self) -> Option<Identity<'_>> {
        let d = &self.dhcp;
        let mac = d.client_mac()?;
        let mut id = Identity::new(Subject::Mac(MacAddr(mac)), "dhcp");
        id.hostname = d.hostname.and_then(crate::ident::text).or_else(|| {
            d.fqdn
                .map(|f| wire::fqdn_text(d.fqdn_flags, f))
                .and_then(|s| {
                    s.split('.')
                        .next()
                        .filter(|h| !h.is_empty())
                        .map(|h| h.to_string().into())
                })
        });
        match (d.op, d.msg_type) {
            (1, 1 | 3 | 8) => {
                id.source = "dhcp request";
                id.device_class = d.vendor_class.and_then(crate::ident::text);
            }
            (2, 5) if d.yiaddr != [0; 4] => {
                id.source = "dhcp ack";
                id.ip = Some(IpAddr::V4(Ipv4Addr::from(d.yiaddr)));
            }
            _ => return None,
        }
        if id.hostname.is_none() && id.device_class.is_none() && id.ip.is_none() {
            return None;
        }
        Some(id)
    }
}

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Udp, 67), (Transport::Udp, 68)];

/// Strict content check: a whole BOOTP message with the DHCP cookie and a
/// message type option.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    transport == Transport::Udp
        && matches!(wire::parse(data), (Some(d), None) if d.cookie && (1..=8).contains(&d.msg_type) && d.hlen == 6)
}

/// Per-flow state (none needed).
#[derive(Debug, Default)]
pub struct Session {}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let (m, err) = wire::parse(data);
        let fc = m.map(|d| d.msg_type as u16);
        if let Some(d) = m {
            let kind = if d.op == 1 {
                MsgKind::Request
            } else {
                MsgKind::Response
            };
            cx.message(kind, crate::Message::Dhcp(Message { dhcp: d }));
        }
        if let Some(e) = err {
            cx.malformed(Proto::Dhcp, e.code(), &e, fc, data);
        }
        data.len()
    }
    fn on_gap(&mut self, _len: u32, _cx: &mut Ctx<'_>) {}
}

#[cfg(test)]
mod tests;
