//! HART-IP (TCP/UDP 5094): sessions, keep-alives and HART commands passed
//! through to field devices.
//!
//! - `wire`: pure parsing of the HART-IP header and the HART PDU.
//! - this file: the per-flow [`Session`]: framing by byte count over a byte
//!   stream or one message per datagram, resync after garbage or a gap, and
//!   request/response matching by sequence number.
//! - `json`: the NDJSON form.

mod json;
pub mod wire;

use otwatch_core::{MsgKind, Proto, Timestamp, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::framing::{Framer, StreamSync, frame_stream};
use crate::ident::{Identity, Subject};
use crate::protocols::ProtoMessage;
use wire::HDR_LEN;
pub use wire::{Error, Header, Pdu};

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Tcp, 5094), (Transport::Udp, 5094)];

pub const MAX_PENDING: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestInfo {
    pub sequence: u16,
    pub message_id: u8,
    pub ts: Timestamp,
}

/// A dissected HART-IP message.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub header: Header,
    /// The HART PDU of pass-through / direct PDU messages.
    pub pdu: Option<Pdu<'a>>,
    /// Body bytes after the header.
    pub body: &'a [u8],
    pub latency_ns: Option<i64>,
}

impl ProtoMessage for Message<'_> {
    fn function_code(&self) -> u16 {
        let base = (self.header.message_id as u16) << 8;
        match self.pdu {
            Some(p) if matches!(self.header.message_id, 3 | 4) => base | p.command as u16,
            _ => base,
        }
    }

    fn identity(&self) -> Option<Identity<'_>> {
        let p = self.pdu?;
        if p.command != 0 || !p.from_device() || p.response_code != Some(0) {
            return None;
        }
        let u = wire::parse_command0(p.data)?;
        let mut id = Identity::new(Subject::Sender, "hart command 0");
        id.vendor_id = Some(u.manufacturer_id as u32);
        id.model = Some(format!("device type 0x{:04x}", u.device_type).into());
        id.serial = Some(format!("{:06x}", u.device_id).into());
        id.firmware = Some(format!("{}", u.software_rev).into());
        id.hardware = Some(format!("{}", u.hardware_rev).into());
        id.device_class = Some(format!("HART {} field device", u.universal_rev).into());
        Some(id)
    }
}

#[derive(Debug, Default)]
pub struct Session {
    /// Framing state per direction.
    sync: [StreamSync; 2],
    pending: [Option<RequestInfo>; MAX_PENDING],
    pub unanswered: u64,
    pub unmatched_responses: u64,
}

fn plausible(b: &[u8]) -> bool {
    matches!(wire::message_len(b), Ok(Some(_)))
        && wire::parse_header(b)
            .is_some_and(|h| matches!(h.message_type, 0..=3 | 15) && h.message_id <= 5)
}

/// Resync accepts version 1 headers only (a version-2 byte is common in data),
/// and when the whole candidate message is present, what follows must be
/// the end of the bytes or another plausible header.
fn find_header(b: &[u8]) -> Option<usize> {
    (0..b.len().saturating_sub(HDR_LEN - 1)).find(|&i| {
        let c = &b[i..];
        c[0] == 1
            && plausible(c)
            && match wire::message_len(c) {
                Ok(Some(n)) if c.len() > n => c.len() - n < HDR_LEN || plausible(&c[n..]),
                _ => true,
            }
    })
}

impl Session {
    fn remember(&mut self, h: &Header, ts: Timestamp) {
        let info = RequestInfo {
            sequence: h.sequence,
            message_id: h.message_id,
            ts,
        };
        let slot = match self.pending.iter().position(|p| p.is_none()) {
            Some(i) => i,
            None => {
                self.unanswered += 1;
                (0..MAX_PENDING)
                    .min_by_key(|&i| self.pending[i].map_or(Timestamp::ZERO, |p| p.ts))
                    .unwrap_or(0)
            }
        };
        self.pending[slot] = Some(info);
    }

    fn take(&mut self, h: &Header) -> Option<RequestInfo> {
        let r = self
            .pending
            .iter_mut()
            .find(|p| p.is_some_and(|r| r.sequence == h.sequence && r.message_id == h.message_id))
            .and_then(|p| p.take());
        if r.is_none() {
            self.unmatched_responses += 1;
        }
        r
    }

    fn message(&mut self, m: &[u8], cx: &mut Ctx<'_>) {
        let Some(h) = wire::parse_header(m) else {
            return;
        };
        let body = &m[HDR_LEN..];
        let pdu = if matches!(h.message_id, 3 | 4) && !body.is_empty() {
            match wire::parse_pdu(body) {
                Ok(p) => Some(p),
                Err(e) => {
                    self.malformed(e, m, cx, Some((h.message_id as u16) << 8));
                    None
                }
            }
        } else {
            None
        };
        let (kind, req) = match h.message_type {
            0 => {
                self.remember(&h, cx.ts);
                (MsgKind::Request, None)
            }
            1 | 3 | 15 => (MsgKind::Response, self.take(&h)),
            // Publish (burst) messages come from the device unasked.
            _ => (MsgKind::Response, None),
        };
        let latency_ns = req.map(|r| cx.ts.nanos_since(r.ts));
        cx.message(
            kind,
            crate::Message::HartIp(Message {
                header: h,
                pdu,
                body,
                latency_ns,
            }),
        );
    }

    fn malformed(&mut self, e: Error, data: &[u8], cx: &mut Ctx<'_>, fc: Option<u16>) {
        let shown = &data[..data.len().min(256)];
        cx.malformed(Proto::HartIp, e.code(), &e, fc, shown);
    }
}

/// Stream framing: header pattern, resync and PDU length.
const FRAMER: Framer<Error> = Framer {
    min_len: HDR_LEN,
    plausible,
    find: find_header,
    len: wire::message_len,
};

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let d = cx.dir.idx();
        if datagram {
            match wire::message_len(data) {
                Ok(Some(n)) if n <= data.len() => self.message(&data[..n], cx),
                Ok(_) => self.malformed(
                    Error::BadByteCount(crate::wire::be16_at(data, 6).unwrap_or(0)),
                    data,
                    cx,
                    None,
                ),
                Err(e) => self.malformed(e, data, cx, None),
            }
            return data.len();
        }
        let mut sync = self.sync[d];
        let off = frame_stream(
            &mut sync,
            data,
            !cx.flow.handshake_seen(),
            &FRAMER,
            |r| match r {
                Ok(pdu) => self.message(pdu, cx),
                Err((e, rest)) => self.malformed(e, rest, cx, None),
            },
        );
        self.sync[d] = sync;
        off
    }

    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        self.sync[cx.dir.idx()].lost();
    }
}

/// Content probe: a whole session-initiate request (the first message of
/// every HART-IP session).
pub fn probe(_transport: Transport, data: &[u8]) -> bool {
    wire::parse_header(data).is_some_and(|h| {
        h.version == 1
            && h.message_type == 0
            && h.message_id == 0
            && h.byte_count as usize == data.len()
            && data.len() == 13
    })
}

#[cfg(test)]
mod tests;
