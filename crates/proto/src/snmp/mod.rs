//! SNMP v1/v2c/v3 over UDP 161/162.
//!
//! - `wire`: BER parsing of one message (varbinds kept raw).
//! - this file: the session (one message per datagram; request/response
//!   matching by request id) and the identity of agents answering sysDescr,
//!   sysObjectID or sysName.
//! - `json`: the `snmp` object of NDJSON records.

mod json;
pub mod wire;

use otwatch_core::{Direction, MsgKind, Proto, Timestamp, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{Identity, Subject};
use crate::protocols::ProtoMessage;
pub use wire::{Error, Snmp};

/// Requests remembered per flow while waiting for their response.
pub const MAX_PENDING: usize = 32;

/// A dissected SNMP message.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub snmp: Snmp<'a>,
    /// On a response matched to its request: time since the request, ns.
    pub latency_ns: Option<i64>,
}

/// Vendor of a private enterprise number (sysObjectID 1.3.6.1.4.1.N...).
fn enterprise_vendor(n: u64) -> Option<&'static str> {
    Some(match n {
        9 => "Cisco",
        11 => "Hewlett-Packard",
        311 => "Microsoft",
        2636 => "Juniper Networks",
        4329 => "Siemens",
        3833 => "Schneider Electric",
        4196 => "Hirschmann",
        248 => "Hirschmann",
        8072 => "Net-SNMP",
        1916 => "Extreme Networks",
        25506 => "H3C",
        2011 => "Huawei",
        6527 => "Nokia",
        8691 => "Moxa",
        16394 => "Phoenix Contact",
        1588 => "Brocade",
        674 => "Dell",
        2 => "IBM",
        _ => return None,
    })
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.snmp.pdu_type as u16
    }

    /// A response carrying sysDescr / sysName / sysObjectID describes the agent.
    fn identity(&self) -> Option<Identity<'_>> {
        if self.snmp.pdu_type != 2 {
            return None;
        }
        let mut id = Identity::new(Subject::Sender, "snmp system group");
        let mut any = false;
        for vb in self.snmp.varbinds().take(64) {
            if !vb.value.is_universal(4) && !vb.value.is_universal(6) {
                continue;
            }
            match vb.oid {
                wire::SYS_DESCR => {
                    id.os = crate::ident::text(vb.value.value);
                    any |= id.os.is_some();
                }
                wire::SYS_NAME => {
                    id.hostname = crate::ident::text(vb.value.value);
                    any |= id.hostname.is_some();
                }
                wire::SYS_OBJECT_ID => {
                    let v = vb.value.value;
                    if let Some(s) = crate::ber::oid_to_string(v) {
                        if let Some(rest) = s.strip_prefix("1.3.6.1.4.1.") {
                            let n = rest.split('.').next().and_then(|x| x.parse().ok());
                            id.vendor = n.and_then(enterprise_vendor).map(Into::into);
                        }
                        id.product_code = Some(s.into());
                        any = true;
                    }
                }
                _ => {}
            }
        }
        any.then_some(id)
    }
}

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Udp, 161), (Transport::Udp, 162)];

/// Strict content check: a whole v1/v2c message with a printable community
/// and a well-formed PDU.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    if transport != Transport::Udp || data.first() != Some(&0x30) {
        return false;
    }
    match wire::parse(data) {
        (Some(m), None) => {
            m.version != 3
                && !m.community.is_empty()
                && m.community.iter().all(|c| c.is_ascii_graphic())
                && crate::ber::Tlv::parse(data).is_ok_and(|t| t.len == data.len())
        }
        _ => false,
    }
}

/// Per-flow state.
#[derive(Debug, Default)]
pub struct Session {
    pending: [Option<(i64, Timestamp)>; MAX_PENDING],
    next: usize,
    /// Responses that matched no request.
    pub unmatched_responses: u64,
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let (m, err) = wire::parse(data);
        let fc = m.map(|m| m.pdu_type as u16);
        if let Some(snmp) = m {
            let kind = match snmp.pdu_type {
                0 | 1 | 3 | 4 | 5 | 6 | 7 => MsgKind::Request,
                2 | 8 => MsgKind::Response,
                _ => match cx.dir {
                    Direction::ToServer => MsgKind::Request,
                    Direction::ToClient => MsgKind::Response,
                },
            };
            let mut latency_ns = None;
            let key = if snmp.version == 3 {
                snmp.msg_id
            } else {
                snmp.request_id
            };
            match snmp.pdu_type {
                0 | 1 | 3 | 5 | 6 => {
                    self.pending[self.next] = Some((key, cx.ts));
                    self.next = (self.next + 1) % MAX_PENDING;
                }
                2 | 8 => match self
                    .pending
                    .iter_mut()
                    .find(|p| p.is_some_and(|p| p.0 == key))
                {
                    Some(slot) => latency_ns = slot.take().map(|(_, t)| cx.ts.nanos_since(t)),
                    None => self.unmatched_responses += 1,
                },
                _ => {}
            }
            cx.message(kind, crate::Message::Snmp(Message { snmp, latency_ns }));
        }
        if let Some(e) = err {
            cx.malformed(Proto::Snmp, e.code(), &e, fc, data);
        }
        data.len()
    }
    fn on_gap(&mut self, _len: u32, _cx: &mut Ctx<'_>) {}
}

#[cfg(test)]
mod tests;
