//! GE SRTP (TCP 18245): GE Fanuc / Emerson Series 90 and PACSystems PLCs.
//!
//! - `wire`: pure parsing of one message (56-byte header and data).
//! - this file: the per-flow [`Session`]: framing by the header's data
//!   length over a byte stream, resync after garbage or a gap, and matching
//!   of responses to requests by sequence number.
//! - `json`: the NDJSON form.

mod json;
pub mod wire;

use otwatch_core::{MsgKind, Proto, Timestamp, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::framing::{Framer, StreamSync, frame_stream};
use crate::protocols::ProtoMessage;
use wire::HDR_LEN;
pub use wire::{Error, Frame};

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Tcp, 18245)];

pub const MAX_PENDING: usize = 32;

/// `function_code` of the connection initialisation exchange.
pub const FC_INIT: u16 = 0x100;
/// `function_code` of a response that matched no request.
pub const FC_UNMATCHED: u16 = 0xff;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestInfo {
    pub sequence: u8,
    pub service: u8,
    pub segment: u8,
    pub address: u16,
    pub ts: Timestamp,
}

/// A dissected SRTP message.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub frame: Frame<'a>,
    pub request: Option<RequestInfo>,
    pub latency_ns: Option<i64>,
}

impl Message<'_> {
    pub fn service(&self) -> Option<u8> {
        self.frame.service.or(self.request.map(|r| r.service))
    }
}

impl ProtoMessage for Message<'_> {
    fn function_code(&self) -> u16 {
        match self.frame.packet_type {
            wire::packet_type::INIT_REQUEST | wire::packet_type::INIT_RESPONSE => FC_INIT,
            _ => self.service().map_or(FC_UNMATCHED, u16::from),
        }
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
    matches!(wire::message_len(b), Ok(Some(_))) && b[1] == 0
}

/// Resync looks for request/response headers only: the initialisation
/// messages are mostly zero bytes and would match inside any data.
fn find_header(b: &[u8]) -> Option<usize> {
    (0..b.len().saturating_sub(HDR_LEN - 1)).find(|&i| matches!(b[i], 2 | 3) && plausible(&b[i..]))
}

impl Session {
    fn remember(&mut self, f: &Frame<'_>, ts: Timestamp) {
        let Some(service) = f.service else { return };
        let info = RequestInfo {
            sequence: f.sequence,
            service,
            segment: f.segment.unwrap_or(0),
            address: f.address.unwrap_or(0),
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

    fn take(&mut self, f: &Frame<'_>) -> Option<RequestInfo> {
        let r = self
            .pending
            .iter_mut()
            .find(|p| p.is_some_and(|r| r.sequence == f.sequence))
            .and_then(|p| p.take());
        if r.is_none() {
            self.unmatched_responses += 1;
        }
        r
    }

    fn message(&mut self, b: &[u8], cx: &mut Ctx<'_>) {
        match wire::parse(b) {
            Ok(f) => {
                let (kind, request) = match f.packet_type {
                    wire::packet_type::REQUEST => {
                        self.remember(&f, cx.ts);
                        (MsgKind::Request, None)
                    }
                    wire::packet_type::RESPONSE => (MsgKind::Response, self.take(&f)),
                    wire::packet_type::INIT_REQUEST => (MsgKind::Request, None),
                    _ => (MsgKind::Response, None),
                };
                let latency_ns = request.map(|r| cx.ts.nanos_since(r.ts));
                cx.message(
                    kind,
                    crate::Message::Srtp(Message {
                        frame: f,
                        request,
                        latency_ns,
                    }),
                );
            }
            Err(e) => self.malformed(e, b, cx),
        }
    }

    fn malformed(&mut self, e: Error, data: &[u8], cx: &mut Ctx<'_>) {
        let shown = &data[..data.len().min(256)];
        cx.malformed(Proto::Srtp, e.code(), &e, None, shown);
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
        let mut sync = self.sync[d];
        let off = frame_stream(
            &mut sync,
            data,
            !datagram && !cx.flow.handshake_seen(),
            &FRAMER,
            |r| match r {
                Ok(pdu) => self.message(pdu, cx),
                Err((e, rest)) => self.malformed(e, rest, cx),
            },
        );
        self.sync[d] = sync;
        if datagram { data.len() } else { off }
    }

    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        self.sync[cx.dir.idx()].lost();
    }
}

/// Content probe: a whole SRTP request (type 2, mailbox 0xC0) or the
/// all-zero initialisation message.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    transport == Transport::Tcp
        && data.len() >= HDR_LEN
        && matches!(wire::message_len(data), Ok(Some(n)) if n == data.len())
        && (data[0] == wire::packet_type::REQUEST && data[1] == 0
            || data.len() == HDR_LEN && data.iter().all(|&b| b == 0))
}

#[cfg(test)]
mod tests;
