//! NetBIOS Name Service (RFC 1001/1002) over UDP 137: DNS wire format parsed
//! by [`crate::dns::wire`], with NetBIOS first-level name decoding, the
//! NBNS opcodes and node status responses.
//!
//! - this file: the message type, name decoding, the session, identity.
//! - `json`: the `nbns` object of NDJSON records.

mod json;

use std::net::{IpAddr, Ipv4Addr};

use otwatch_core::{MacAddr, MsgKind, Proto, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::dns::wire::{self, Msg, Name};
use crate::ident::{Identity, Subject};
use crate::protocols::ProtoMessage;

/// A dissected NBNS message (a DNS-format message).
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub msg: Msg<'a>,
}

/// A decoded NetBIOS name: 15 characters (space padded) and the suffix byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NbName {
    pub name: [u8; 15],
    pub suffix: u8,
}

impl NbName {
    /// The name without padding.
    pub fn trimmed(&self) -> &[u8] {
        let end = self
            .name
            .iter()
            .rposition(|&c| c != b' ' && c != 0)
            .map_or(0, |i| i + 1);
        &self.name[..end]
    }
}

/// First-level decoding of a 32-character encoded label (`'A' + nibble`).
pub fn decode_name(label: &[u8]) -> Option<NbName> {
    if label.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, p) in label.chunks_exact(2).enumerate() {
        let hi = p[0].wrapping_sub(b'A');
        let lo = p[1].wrapping_sub(b'A');
        if hi > 15 || lo > 15 {
            return None;
        }
        out[i] = (hi << 4) | lo;
    }
    let mut name = [0u8; 15];
    name.copy_from_slice(&out[..15]);
    Some(NbName {
        name,
        suffix: out[15],
    })
}

/// NBNS opcode names.
pub fn opcode_name(op: u8) -> &'static str {
    match op {
        0 => "query",
        5 => "registration",
        6 => "release",
        7 => "wack",
        8 | 9 => "refresh",
        15 => "multihomed_registration",
        _ => "unknown",
    }
}

impl<'a> Message<'a> {
    pub fn opcode(&self) -> u8 {
        self.msg.header.opcode()
    }
    /// The name the message is about: the question's, or the first record's.
    pub fn name(&self) -> Option<Name<'a>> {
        self.msg
            .question
            .map(|q| q.name)
            .or_else(|| self.msg.records().next().map(|(_, r)| r.name))
    }
    pub fn nb_name(&self) -> Option<NbName> {
        self.name()?.first_label().and_then(decode_name)
    }
    /// IPv4 addresses of NB records (flags + address entries).
    pub fn addresses(&self) -> impl Iterator<Item = Ipv4Addr> + 'a {
        self.msg
            .records()
            .take(16)
            .filter(|(_, r)| r.rtype == 0x20)
            .flat_map(|(_, r)| r.rdata.chunks_exact(6))
            .map(|c| Ipv4Addr::new(c[2], c[3], c[4], c[5]))
    }
    /// The node status (NBSTAT) answer: names table and unit id.
    pub fn node_status(&self) -> Option<NodeStatus<'a>> {
        let (_, r) = self
            .msg
            .records()
            .find(|(s, r)| *s == 1 && r.rtype == 0x21)?;
        let n = *r.rdata.first()? as usize;
        let names = r.rdata.get(1..1 + n * 18)?;
        let unit = r
            .rdata
            .get(1 + n * 18..7 + n * 18)
            .and_then(|u| <[u8; 6]>::try_from(u).ok());
        Some(NodeStatus { names, unit })
    }
}

/// A node status response body.
#[derive(Clone, Copy, Debug)]
pub struct NodeStatus<'a> {
    /// 18-byte entries: 15-byte name, suffix, 2 flag bytes.
    pub names: &'a [u8],
    pub unit: Option<[u8; 6]>,
}

impl<'a> NodeStatus<'a> {
    /// `(name, suffix, group)` entries.
    pub fn entries(&self) -> impl Iterator<Item = (&'a [u8], u8, bool)> + 'a {
        self.names.chunks_exact(18).map(|e| {
            let end = e[..15]
                .iter()
                .rposition(|&c| c != b' ' && c != 0)
                .map_or(0, |i| i + 1);
            (&e[..end], e[15], e[16] & 0x80 != 0)
        })
    }
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.opcode() as u16
    }

    /// Registrations name the registering host (unique name, suffix 0x00) or
    /// its workgroup (group name); node status responses list both.
    fn identity(&self) -> Option<Identity<'_>> {
        let h = self.msg.header;
        if let Some(ns) = self.node_status().filter(|_| h.response()) {
            let mut id = Identity::new(Subject::Sender, "nbns node status");
            for (name, suffix, group) in ns.entries() {
                if suffix == 0 && !group && id.hostname.is_none() {
                    id.hostname = crate::ident::text(name);
                } else if suffix == 0 && group && id.domain.is_none() {
                    id.domain = crate::ident::text(name);
                }
            }
            return (id.hostname.is_some() || id.domain.is_some()).then_some(id);
        }
        if h.response() || !matches!(self.opcode(), 5 | 8 | 9 | 15) {
            return None;
        }
        let nb = self.nb_name()?;
        if nb.suffix != 0 {
            return None;
        }
        // The NB flags of the additional record say group or unique.
        let group = self
            .msg
            .records()
            .find(|(_, r)| r.rtype == 0x20)
            .and_then(|(_, r)| r.rdata.first().map(|f| f & 0x80 != 0))
            .unwrap_or(false);
        let mut id = Identity::new(Subject::Sender, "nbns registration");
        if group {
            id.domain = crate::ident::text(nb.trimmed()).map(|c| c.into_owned().into());
        } else {
            id.hostname = crate::ident::text(nb.trimmed()).map(|c| c.into_owned().into());
            id.ip = self.addresses().next().map(IpAddr::V4);
        }
        Some(id)
    }
}

/// The MAC of a node status response (unit id), if any.
pub fn unit_mac(m: &Message<'_>) -> Option<MacAddr> {
    m.node_status()?.unit.map(MacAddr)
}

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Udp, 137)];

/// No content probe: NBNS is claimed by port only.
pub fn probe(_transport: Transport, _data: &[u8]) -> bool {
    false
}

/// Per-flow state (none needed: broadcast queries are answered by anyone).
#[derive(Debug, Default)]
pub struct Session {}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let (m, res) = wire::parse(data);
        let fc = m.map(|m| m.header.opcode() as u16);
        if let Some(msg) = m {
            let kind = if msg.header.response() {
                MsgKind::Response
            } else {
                MsgKind::Request
            };
            cx.message(kind, crate::Message::Nbns(Message { msg }));
        }
        if let Err(e) = res {
            cx.malformed(Proto::Nbns, e.code(), &e, fc, data);
        }
        data.len()
    }
    fn on_gap(&mut self, _len: u32, _cx: &mut Ctx<'_>) {}
}

#[cfg(test)]
mod tests;
