//! BACnet/IP dissector (ANSI/ASHRAE 135 Annex J: BVLC, NPDU, APDU).
//!
//! - `wire`: pure parsing of the BVLC header, the NPDU header, the APDU
//!   header and the service data of the common services.
//! - this file: the per-flow [`Session`]: one datagram at a time, reassembly
//!   of segmented confirmed requests and complex acks by (direction, PDU
//!   type, invoke id), bounded in count and bytes.
//! - `json`: the NDJSON form of a message.
//! - `names`: object type, property, service, error, reason and vendor names.
//!
//! One message per APDU (a segmented message is reported once, when its last
//! segment arrives), per network layer message and per BVLC-only function.
//! `function_code`: APDU type × 256 + service choice (types without a service:
//! type × 256); network layer messages: 0xF000 | message type; BVLC functions
//! without an NPDU: 0xE000 | function.

mod json;
pub mod names;
pub mod wire;

use otwatch_core::{MsgKind, Proto, Timestamp, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{Identity, Subject};
use crate::protocols::ProtoMessage;
pub use wire::{ApduHeader, Bvlc, Detail, DeviceProps, Error, Npdu, ObjectId, Value};

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Udp, 47808)];

/// Segmented messages reassembled at once per flow.
pub const MAX_REASSEMBLIES: usize = 4;
/// Largest reassembled service data held per flow (all messages together).
pub const MAX_REASSEMBLY_BYTES: usize = 64 * 1024;

/// A dissected BACnet/IP message.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    /// The BVLC header (BACnet/IP); `None` for BACnet/Ethernet (LLC) frames.
    pub bvlc: Option<Bvlc>,
    pub npdu: Option<Npdu<'a>>,
    pub apdu: Option<ApduHeader>,
    /// Segments reassembled into this message (0 when not segmented).
    pub segments: u16,
    /// Service data (reassembled for a segmented message).
    pub service_data: &'a [u8],
}

impl<'a> Message<'a> {
    /// The decoded service data (parsed again on each call: pure, no
    /// allocation; empty when the service data is malformed).
    pub fn detail(&self) -> Detail<'a> {
        match &self.apdu {
            Some(h) => wire::parse_service(h, self.service_data).unwrap_or_default(),
            None => Detail::default(),
        }
    }

    /// The counted key (see the module documentation).
    pub fn code(&self) -> u16 {
        if let Some(h) = &self.apdu {
            return wire::apdu_function_code(h);
        }
        if let Some(t) = self.npdu.and_then(|n| n.message_type) {
            return 0xF000 | t as u16;
        }
        0xE000 | self.bvlc.map_or(0, |b| b.function) as u16
    }

    pub fn service_name(&self) -> Option<&'static str> {
        let h = self.apdu?;
        let s = h.service?;
        Some(if h.pdu_type == wire::pdu::UNCONFIRMED_REQUEST {
            names::unconfirmed_service_name(s)
        } else {
            names::confirmed_service_name(s)
        })
    }

    /// Request or response (see the protocol documentation).
    pub fn kind(&self) -> MsgKind {
        if let Some(h) = &self.apdu {
            return if h.is_request() {
                MsgKind::Request
            } else {
                MsgKind::Response
            };
        }
        if let Some(t) = self.npdu.and_then(|n| n.message_type) {
            return match t {
                0x01 | 0x02 | 0x03 | 0x04 | 0x05 | 0x07 | 0x0C | 0x13 => MsgKind::Response,
                _ => MsgKind::Request,
            };
        }
        match self.bvlc.map_or(0xff, |b| b.function) {
            wire::bvlc::RESULT | wire::bvlc::READ_BDT_ACK | wire::bvlc::READ_FDT_ACK => {
                MsgKind::Response
            }
            _ => MsgKind::Request,
        }
    }
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.code()
    }

    fn identity(&self) -> Option<Identity<'_>> {
        let h = self.apdu?;
        // A routed message comes from a device behind the router that sent it.
        if self.npdu.is_some_and(|n| n.snet.is_some()) {
            return None;
        }
        let subject = match self.bvlc.and_then(|b| b.origin) {
            Some((ip, _)) if self.bvlc.map(|b| b.function) == Some(wire::bvlc::FORWARDED_NPDU) => {
                Subject::Ip(std::net::IpAddr::from(ip))
            }
            _ => Subject::Sender,
        };
        let d = &self.detail();
        if h.pdu_type == wire::pdu::UNCONFIRMED_REQUEST && h.service == Some(0) {
            let mut id = Identity::new(subject, "bacnet I-Am");
            id.vendor_id = d.vendor_id;
            if let Some(v) = d.vendor_id.and_then(|v| u16::try_from(v).ok()) {
                let n = names::vendor_name(v);
                if n != "unknown" {
                    id.vendor = Some(n.into());
                }
            }
            id.device_class = Some("BACnet device".into());
            return Some(id);
        }
        if h.pdu_type != wire::pdu::COMPLEX_ACK || d.device_props.is_empty() {
            return None;
        }
        let p = d.device_props;
        let source = if h.service == Some(14) {
            "bacnet ReadPropertyMultiple"
        } else {
            "bacnet ReadProperty"
        };
        let mut id = Identity::new(subject, source);
        id.vendor = p.vendor_name.and_then(crate::ident::text);
        id.vendor_id = p.vendor_identifier;
        id.model = p.model_name.and_then(crate::ident::text);
        id.firmware = p.firmware_revision.and_then(crate::ident::text);
        id.os = p.application_software_version.and_then(crate::ident::text);
        id.hostname = p.object_name.and_then(crate::ident::text);
        id.serial = p.serial_number.and_then(crate::ident::text);
        Some(id)
    }
}

/// A segmented message being reassembled.
#[derive(Debug, Default)]
struct Reassembly {
    active: bool,
    dir: usize,
    invoke_id: u8,
    pdu_type: u8,
    next_seq: u8,
    segments: u16,
    first: ApduHeader,
    started: Timestamp,
    buf: Vec<u8>,
}

/// Per-flow state.
#[derive(Debug, Default)]
pub struct Session {
    /// Link-layer frames: no reassembly.
    stateless: bool,
    reasm: [Reassembly; MAX_REASSEMBLIES],
    /// Segmented messages dropped unfinished (evicted, out of order, too large).
    pub dropped_reassemblies: u64,
    /// Segments whose first segment was never seen.
    pub orphan_segments: u64,
}

impl Session {
    fn malformed(e: Error, data: &[u8], cx: &mut Ctx<'_>) {
        cx.malformed(Proto::Bacnet, e.code(), &e, e.function(), data);
    }

    fn report(msg: Message<'_>, cx: &mut Ctx<'_>) {
        cx.message(msg.kind(), crate::Message::Bacnet(msg));
    }

    fn datagram(&mut self, data: &[u8], cx: &mut Ctx<'_>) {
        let (bvlc, npdu_bytes) = match wire::parse_bvlc(data) {
            Ok(x) => x,
            Err(e) => return Self::malformed(e, data, cx),
        };
        let msg = Message {
            bvlc: Some(bvlc),
            npdu: None,
            apdu: None,
            segments: 0,
            service_data: &[],
        };
        let bad_len = (bvlc.length as usize != data.len())
            .then_some(Error::BadBvlcLength(bvlc.length, data.len()));
        self.npdu(msg, npdu_bytes, data, cx);
        if let Some(e) = bad_len {
            Self::malformed(e, data, cx);
        }
    }

    fn npdu<'a>(
        &'a mut self,
        mut msg: Message<'a>,
        npdu_bytes: Option<&'a [u8]>,
        data: &'a [u8],
        cx: &mut Ctx<'_>,
    ) {
        let Some(nb) = npdu_bytes else {
            return Self::report(msg, cx);
        };
        let (npdu, rest) = match wire::parse_npdu(nb) {
            Ok(x) => x,
            Err(e) => return Self::malformed(e, data, cx),
        };
        msg.npdu = Some(npdu);
        if npdu.message_type.is_some() {
            msg.service_data = rest;
            return Self::report(msg, cx);
        }
        let (h, sd) = match wire::parse_apdu_header(rest) {
            Ok(x) => x,
            Err(e) => return Self::malformed(e, data, cx),
        };
        msg.apdu = Some(h);
        if h.segmented() && !self.stateless {
            return self.segment(msg, h, sd, data, cx);
        }
        msg.service_data = sd;
        let bad = wire::parse_service(&h, sd).err();
        // With bad service data the header is still sound: the message counts.
        Self::report(msg, cx);
        if let Some(e) = bad {
            Self::malformed(e, data, cx);
        }
    }

    fn npdu_stateless<'a>(
        &'a mut self,
        msg: Message<'a>,
        nb: &'a [u8],
        data: &'a [u8],
        cx: &mut Ctx<'_>,
    ) {
        self.stateless = true;
        self.npdu(msg, Some(nb), data, cx);
    }

    fn segment<'a>(
        &'a mut self,
        mut msg: Message<'a>,
        h: ApduHeader,
        sd: &[u8],
        data: &[u8],
        cx: &mut Ctx<'_>,
    ) {
        let d = cx.dir.idx();
        let iid = h.invoke_id.unwrap_or(0);
        let seq = h.sequence.unwrap_or(0);
        let found = self
            .reasm
            .iter()
            .position(|r| r.active && r.dir == d && r.invoke_id == iid && r.pdu_type == h.pdu_type);
        let i = if seq == 0 {
            let i = match found {
                Some(i) => i,
                None => match self.reasm.iter().position(|r| !r.active) {
                    Some(i) => i,
                    None => {
                        self.dropped_reassemblies += 1;
                        (0..MAX_REASSEMBLIES)
                            .min_by_key(|&i| self.reasm[i].started)
                            .unwrap_or(0)
                    }
                },
            };
            let r = &mut self.reasm[i];
            r.active = true;
            r.dir = d;
            r.invoke_id = iid;
            r.pdu_type = h.pdu_type;
            r.next_seq = 0;
            r.segments = 0;
            r.first = h;
            r.started = cx.ts;
            r.buf.clear();
            if r.buf.capacity() > MAX_REASSEMBLY_BYTES / MAX_REASSEMBLIES {
                // Give back the memory of an earlier large message.
                r.buf = Vec::new();
            }
            i
        } else {
            match found {
                Some(i) => i,
                None => {
                    self.orphan_segments += 1;
                    return;
                }
            }
        };
        let held: usize = self
            .reasm
            .iter()
            .filter(|r| r.active)
            .map(|r| r.buf.len())
            .sum();
        let r = &mut self.reasm[i];
        if seq != r.next_seq {
            if seq.wrapping_add(1) == r.next_seq {
                return; // retransmitted segment
            }
            let e = Error::SegmentOutOfOrder(iid, r.next_seq, seq);
            r.active = false;
            self.dropped_reassemblies += 1;
            return Self::malformed(e, data, cx);
        }
        if held + sd.len() > MAX_REASSEMBLY_BYTES {
            let e = Error::SegmentedTooLarge(iid, r.buf.len() + sd.len());
            r.active = false;
            r.buf = Vec::new();
            self.dropped_reassemblies += 1;
            return Self::malformed(e, data, cx);
        }
        r.buf.extend_from_slice(sd);
        r.next_seq = seq.wrapping_add(1);
        r.segments += 1;
        if h.more_follows() {
            return;
        }
        r.active = false;
        let mut first = r.first;
        // The message as a whole: the last segment's flags, the first's service.
        first.flags = h.flags;
        first.sequence = h.sequence;
        msg.apdu = Some(first);
        msg.segments = r.segments;
        msg.service_data = &r.buf;
        let bad = wire::parse_service(&first, &r.buf).err();
        Self::report(msg, cx);
        if let Some(e) = bad {
            Self::malformed(e, data, cx);
        }
    }
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], _datagram: bool, cx: &mut Ctx<'_>) -> usize {
        // BACnet/IP is UDP only: every call is one datagram.
        self.datagram(data, cx);
        data.len()
    }

    fn on_gap(&mut self, _len: u32, _cx: &mut Ctx<'_>) {}
}

/// LLC header of BACnet over ISO 8802-2 (BACnet/Ethernet): DSAP, SSAP, UI.
pub const LLC_HEADER: [u8; 3] = [0x82, 0x82, 0x03];

/// True when an IEEE 802.3 frame payload is BACnet/Ethernet (LLC SAP 0x82).
pub fn is_llc_frame(payload: &[u8]) -> bool {
    payload.starts_with(&LLC_HEADER)
}

/// Dissects one BACnet/Ethernet frame (`payload` starts at the LLC header),
/// for the link-layer dispatch. Stateless: segments of a segmented message
/// are reported one by one, not reassembled.
pub fn on_frame(payload: &[u8], cx: &mut Ctx<'_>) {
    let Some(nb) = payload.strip_prefix(&LLC_HEADER) else {
        return;
    };
    let msg = Message {
        bvlc: None,
        npdu: None,
        apdu: None,
        segments: 0,
        service_data: &[],
    };
    let mut s = Session::default();
    s.npdu_stateless(msg, nb, payload, cx);
}

/// Content probe: a BVLC header whose length is the datagram length, a known
/// function, and for NPDU-carrying functions an NPDU of version 1.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    if transport != Transport::Udp {
        return false;
    }
    (match wire::parse_bvlc(data) {
        Ok((_, Some(n))) => wire::parse_npdu(n).is_ok_and(|(h, rest)| {
            h.message_type.is_some() || wire::parse_apdu_header(rest).is_ok()
        }),
        Ok((b, None)) => b.function != wire::bvlc::SECURE_BVLL,
        Err(_) => false,
    }) && crate::wire::be16_at(data, 2) == Some(data.len() as u16)
}

#[cfg(test)]
mod tests;
