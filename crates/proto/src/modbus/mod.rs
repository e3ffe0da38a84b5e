//! Modbus/TCP (and Modbus over UDP) dissector.
//!
//! - `wire`: pure parsing of one ADU into [`wire::Pdu`] or [`wire::Error`].
//! - this file: the per-flow [`Session`]: MBAP framing over a byte stream,
//!   several ADUs per segment or one ADU across segments, resynchronisation
//!   after garbage or gaps, and request/response matching by transaction id.
//! - `json`: the NDJSON form of a message.

mod json;
pub mod wire;

use otwatch_core::{Direction, MsgKind, Proto, Timestamp, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::protocols::ProtoMessage;
pub use wire::{Body, Error, Mbap, Pdu, Side};
use wire::{MBAP_LEN, check_mbap, parse_mbap, parse_pdu};

/// Requests remembered per flow while waiting for their response.
pub const MAX_PENDING: usize = 32;

/// A request remembered until its response arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestInfo {
    pub transaction_id: u16,
    pub unit_id: u8,
    pub function_code: u8,
    /// Start address of the request, when its function has one.
    pub address: Option<u16>,
    /// Quantity of coils/registers, when its function has one.
    pub quantity: Option<u16>,
    /// UMAS function code of a function-90 request.
    pub sub_function: Option<u8>,
    pub ts: Timestamp,
}

/// A dissected Modbus message as reported in events.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub pdu: Pdu<'a>,
    /// On a response: the request it answers, matched by transaction id.
    pub request: Option<RequestInfo>,
    /// On a response matched to a request: time since the request, in ns.
    pub latency_ns: Option<i64>,
}

impl<'a> Message<'a> {
    #[inline]
    pub fn function_code(&self) -> u8 {
        self.pdu.function_code
    }
    pub fn transaction_id(&self) -> u16 {
        self.pdu.mbap.transaction_id
    }
    pub fn unit_id(&self) -> u8 {
        self.pdu.mbap.unit_id
    }
    pub fn exception_code(&self) -> Option<u8> {
        self.pdu.exception_code
    }

    /// `(address, quantity)` addressed by the message, from the request for responses.
    pub fn address_range(&self) -> Option<(u16, u16)> {
        match self.pdu.body {
            Body::Read { address, quantity }
            | Body::WriteMultiple {
                address, quantity, ..
            }
            | Body::WriteMultipleAck { address, quantity } => Some((address, quantity)),
            Body::WriteSingle { address, .. } | Body::MaskWrite { address, .. } => {
                Some((address, 1))
            }
            Body::ReadWrite {
                read_address,
                read_quantity,
                ..
            } => Some((read_address, read_quantity)),
            _ => self
                .request
                .and_then(|r| Some((r.address?, r.quantity.unwrap_or(0)))),
        }
    }
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.function_code() as u16
    }

    /// A Read Device Identification (43/14) response names the server:
    /// vendor (object 0), product code (1), revision (2), product name (4),
    /// model name (5).
    fn identity(&self) -> Option<crate::ident::Identity<'_>> {
        use crate::ident::{Identity, Subject, text};
        let Body::DeviceId { objects, .. } = self.pdu.body else {
            return None;
        };
        let mut id = Identity::new(Subject::Sender, "modbus 43/14 device identification");
        for o in wire::DeviceIdObjects::new(objects) {
            let v = text(o.value);
            match o.id {
                0 => id.vendor = v.or(id.vendor),
                1 => id.product_code = v.or(id.product_code),
                2 => id.firmware = v.or(id.firmware),
                4 if id.model.is_none() => id.model = v,
                5 => id.model = v.or(id.model),
                _ => {}
            }
        }
        Some(id)
    }
}

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Tcp, 502), (Transport::Udp, 502)];

/// Per-flow Modbus state.
#[derive(Debug, Default)]
pub struct Session {
    /// Per direction: looking for the next plausible MBAP header after garbage or a gap.
    resync: [bool; 2],
    /// Per direction: the malformed event for the current garbage run was already reported.
    reported: [bool; 2],
    /// Per direction: the first bytes were seen (stream start may be mid-PDU).
    started: [bool; 2],
    /// Per direction: a gap was reported and no bytes have followed yet.
    after_gap: [bool; 2],
    pending: [Option<RequestInfo>; MAX_PENDING],
    /// Next slot to overwrite when `pending` is full (oldest first).
    next_slot: usize,
    /// Requests dropped from `pending` without an answer (flow-level flood indicator).
    pub unanswered: u64,
    /// Responses that matched no pending request.
    pub unmatched_responses: u64,
}

/// True when `b` starts with an MBAP header and function code that look real.
///
/// Used to resynchronise, so it is strict: when the whole ADU is present its
/// PDU must parse, and when the next header is present it must be valid too.
#[inline]
fn plausible(b: &[u8], side: Side) -> bool {
    let Some(h) = parse_mbap(b) else {
        return false;
    };
    if check_mbap(&h).is_err() {
        return false;
    }
    match b.get(MBAP_LEN) {
        None => return true,
        Some(&f) if f & 0x80 != 0 => {
            if side != Side::Response || h.length != 3 {
                return false;
            }
        }
        Some(0) => return false,
        Some(_) => {}
    }
    let n = h.adu_len();
    let Some(pdu) = b.get(MBAP_LEN..n) else {
        return true;
    };
    if parse_pdu(h, pdu, side).is_err() {
        return false;
    }
    match b.get(n..).and_then(parse_mbap) {
        Some(next) => check_mbap(&next).is_ok(),
        None => true,
    }
}

/// True when `b` (the first bytes after a stream start or a gap) begins with a
/// sound MBAP header whose ADU ends where the bytes end or where another sound
/// header starts. Segments usually start on ADU boundaries, so this accepts a
/// first PDU even when its body is invalid (it is then reported as malformed).
fn at_boundary(b: &[u8]) -> bool {
    let Some(h) = parse_mbap(b) else {
        return false;
    };
    if check_mbap(&h).is_err() || b.get(MBAP_LEN) == Some(&0) && h.length > 2 {
        return false;
    }
    let n = h.adu_len();
    match b.len().cmp(&n) {
        std::cmp::Ordering::Equal => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Greater => b
            .get(n..)
            .and_then(parse_mbap)
            .is_some_and(|next| check_mbap(&next).is_ok()),
    }
}

/// Offset of the first plausible header in `b`, if any.
fn find_header(b: &[u8], side: Side) -> Option<usize> {
    (0..b.len().saturating_sub(MBAP_LEN - 1))
        .find(|&i| b[i + 2] == 0 && b[i + 3] == 0 && plausible(&b[i..], side))
}

impl Session {
    fn remember(&mut self, pdu: &Pdu<'_>, ts: Timestamp) {
        let (address, quantity) = match pdu.body {
            Body::Read { address, quantity } => (Some(address), Some(quantity)),
            Body::WriteMultiple {
                address, quantity, ..
            } => (Some(address), Some(quantity)),
            Body::WriteSingle { address, .. } | Body::MaskWrite { address, .. } => {
                (Some(address), Some(1))
            }
            Body::ReadWrite {
                read_address,
                read_quantity,
                ..
            } => (Some(read_address), Some(read_quantity)),
            _ => (None, None),
        };
        let sub_function = match pdu.body {
            Body::Raw { data } if pdu.function_code == crate::umas::MODBUS_FUNCTION => {
                data.get(1).copied()
            }
            _ => None,
        };
        let info = RequestInfo {
            transaction_id: pdu.mbap.transaction_id,
            unit_id: pdu.mbap.unit_id,
            function_code: pdu.function_code,
            address,
            quantity,
            sub_function,
            ts,
        };
        if let Some(slot) = self.pending.iter_mut().find(|p| p.is_none()) {
            *slot = Some(info);
            return;
        }
        // Full: replace the oldest entry.
        let oldest = (0..MAX_PENDING)
            .min_by_key(|&i| self.pending[i].map_or(Timestamp::ZERO, |p| p.ts))
            .unwrap_or(self.next_slot);
        self.next_slot = (oldest + 1) % MAX_PENDING;
        self.pending[oldest] = Some(info);
        self.unanswered += 1;
    }

    fn take_request(&mut self, pdu: &Pdu<'_>) -> Option<RequestInfo> {
        let tid = pdu.mbap.transaction_id;
        let slot = self.pending.iter_mut().find(|p| {
            p.is_some_and(|r| r.transaction_id == tid && r.unit_id == pdu.mbap.unit_id)
        })?;
        slot.take()
    }

    fn report(&mut self, pdu: Pdu<'_>, side: Side, cx: &mut Ctx<'_>) {
        let (kind, request) = match side {
            Side::Request => {
                self.remember(&pdu, cx.ts);
                (MsgKind::Request, None)
            }
            Side::Response => {
                let r = self.take_request(&pdu);
                if r.is_none() {
                    self.unmatched_responses += 1;
                }
                (MsgKind::Response, r)
            }
        };
        let latency_ns = request.map(|r| cx.ts.nanos_since(r.ts));
        if pdu.function_code == crate::umas::MODBUS_FUNCTION {
            // Schneider UMAS rides in function 90: reported as its own protocol.
            let u = crate::umas::Message::from_modbus(
                &pdu,
                side == Side::Response,
                request.and_then(|r| r.sub_function),
                latency_ns,
            );
            cx.message(kind, crate::Message::Umas(u));
            if let Err(e) = u.check() {
                let shown = pdu_bytes(&pdu);
                cx.malformed(Proto::Umas, e.code(), &e, Some(u.function() as u16), shown);
            }
            return;
        }
        cx.message(
            kind,
            crate::Message::Modbus(Message {
                pdu,
                request,
                latency_ns,
            }),
        );
    }

    fn malformed(&mut self, e: Error, data: &[u8], cx: &mut Ctx<'_>) {
        let shown = &data[..data.len().min(wire::MAX_PDU_LEN + MBAP_LEN)];
        cx.malformed(
            Proto::Modbus,
            e.code(),
            &e,
            e.function().map(u16::from),
            shown,
        );
    }
}

/// The bytes after the function code of a raw (function 90) PDU.
fn pdu_bytes<'a>(pdu: &Pdu<'a>) -> &'a [u8] {
    match pdu.body {
        Body::Raw { data } | Body::Invalid { data } => data,
        _ => &[],
    }
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let d = cx.dir.idx();
        let side = match cx.dir {
            Direction::ToServer => Side::Request,
            Direction::ToClient => Side::Response,
        };
        if !self.started[d] {
            self.started[d] = true;
            // Without the handshake the first byte may be inside a PDU: unless
            // the bytes start with a sound header, look for one instead of
            // calling the first bytes malformed.
            if !datagram && !cx.flow.handshake_seen() && !at_boundary(data) {
                self.resync[d] = true;
                self.reported[d] = true;
            }
        } else if self.after_gap[d] {
            self.after_gap[d] = false;
            if at_boundary(data) {
                self.resync[d] = false;
            }
        }
        let mut off = 0;
        while data.len() - off >= MBAP_LEN {
            let rest = &data[off..];
            if self.resync[d] && !plausible(rest, side) {
                match find_header(&rest[1..], side) {
                    Some(k) => {
                        off += 1 + k;
                        continue;
                    }
                    None => {
                        // Keep a possible header prefix for the next bytes.
                        off = data.len() - (MBAP_LEN - 1);
                        break;
                    }
                }
            }
            let Some(h) = parse_mbap(rest) else { break };
            if let Err(e) = check_mbap(&h) {
                if !self.reported[d] {
                    self.malformed(e, rest, cx);
                    self.reported[d] = true;
                }
                self.resync[d] = true;
                off += 1;
                continue;
            }
            let n = h.adu_len();
            if rest.len() < n {
                break;
            }
            self.resync[d] = false;
            self.reported[d] = false;
            let pdu_bytes = &rest[MBAP_LEN..n];
            match parse_pdu(h, pdu_bytes, side) {
                Ok(pdu) => self.report(pdu, side, cx),
                Err(e) => {
                    // The frame is sound, so the PDU is still a message (with
                    // its function code) besides being malformed.
                    if let Some(pdu) = wire::invalid_pdu(h, pdu_bytes) {
                        self.report(pdu, side, cx);
                    }
                    self.malformed(e, &rest[..n], cx);
                }
            }
            off += n;
        }
        if datagram {
            // A datagram carries whole ADUs: leftover bytes are a truncated ADU.
            if off < data.len() && !self.reported[d] {
                let e = Error::BadLength(parse_mbap(&data[off..]).map_or(0, |h| h.length));
                self.malformed(e, &data[off..], cx);
            }
            self.resync[d] = false;
            self.reported[d] = false;
            data.len()
        } else {
            off
        }
    }

    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        let d = cx.dir.idx();
        self.resync[d] = true;
        self.after_gap[d] = true;
        // The gap itself is reported by the flow layer; garbage after it is expected.
        self.reported[d] = true;
    }
}

/// Content probe for flows on non-standard ports: a complete, valid ADU.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    // Modbus headers are too weak a signature to claim arbitrary UDP traffic.
    if transport != Transport::Tcp || data.len() < MBAP_LEN + 1 {
        return false;
    }
    let Some(h) = parse_mbap(data) else {
        return false;
    };
    h.adu_len() == data.len()
        && wire::parse_adu(data, Side::Request).is_ok()
        && matches!(data[MBAP_LEN], 1..=8 | 15 | 16 | 23 | 43)
}

#[cfg(test)]
mod tests;
