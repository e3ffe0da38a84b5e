//! Omron FINS over UDP and TCP (FINS/TCP).
//!
//! - `wire`: pure parsing of the FINS/TCP header and of one FINS frame
//!   (header, command code, end code, command fields).
//! - this file: the per-flow [`Session`]: one FINS frame per UDP datagram;
//!   FINS/TCP framing over the stream ("FINS" magic + length), resync on the
//!   magic after garbage or gaps; command/response matching by SID.
//! - `json`: the NDJSON form of a message.
//!
//! `function_code` = MRC × 256 + SRC. FINS/TCP frames that carry no FINS frame
//! (node address handshake, error notification) are messages with
//! `function_code` 0xF000 | FINS/TCP command.

mod json;
pub mod names;
pub mod wire;

use otwatch_core::{MsgKind, Proto, Timestamp, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{Identity, Subject};
use crate::protocols::ProtoMessage;
pub use wire::{Detail, Error, Frame, Header, TcpHeader};

/// Default server ports.
pub const PORTS: &[(Transport, u16)] = &[(Transport::Udp, 9600), (Transport::Tcp, 9600)];

/// Commands remembered per flow while waiting for their response.
pub const MAX_PENDING: usize = 32;

/// A command remembered until its response arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestInfo {
    pub sid: u8,
    pub command: u16,
    pub memory_area: Option<u8>,
    pub address: Option<u32>,
    pub count: Option<u32>,
    pub ts: Timestamp,
}

/// A dissected FINS message.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    /// The FINS/TCP header (TCP only).
    pub tcp: Option<TcpHeader>,
    /// The FINS frame (absent for FINS/TCP handshake frames).
    pub frame: Option<Frame<'a>>,
    /// On a response: the command it answers (matched by SID and command).
    pub request: Option<RequestInfo>,
    pub latency_ns: Option<i64>,
}

impl Message<'_> {
    pub fn code(&self) -> u16 {
        match (&self.frame, &self.tcp) {
            (Some(f), _) => f.command(),
            (None, Some(t)) => 0xF000 | (t.command & 0xff) as u16,
            (None, None) => 0,
        }
    }

    pub fn kind(&self) -> MsgKind {
        match (&self.frame, &self.tcp) {
            (Some(f), _) if f.header.is_response() => MsgKind::Response,
            (Some(_), _) => MsgKind::Request,
            (None, Some(t)) => match t.command {
                wire::tcp::NODE_ADDRESS_SERVER | wire::tcp::ERROR_NOTIFICATION => MsgKind::Response,
                _ => MsgKind::Request,
            },
            (None, None) => MsgKind::Other,
        }
    }
}

impl ProtoMessage for Message<'_> {
    #[inline]
    fn function_code(&self) -> u16 {
        self.code()
    }

    fn identity(&self) -> Option<Identity<'_>> {
        let f = self.frame?;
        if !f.header.is_response() || f.command() != 0x0501 || f.end_code.unwrap_or(1) & 0x7f3f != 0
        {
            return None;
        }
        let d = f.detail();
        let model = d.model.and_then(crate::ident::text)?;
        let mut id = Identity::new(Subject::Sender, "fins Controller Data Read");
        id.vendor = Some("OMRON".into());
        id.model = Some(model);
        id.firmware = d.version.and_then(crate::ident::text);
        id.device_class = Some("PLC".into());
        Some(id)
    }
}

/// Per-flow state.
#[derive(Debug, Default)]
pub struct Session {
    resync: [bool; 2],
    reported: [bool; 2],
    started: [bool; 2],
    pending: [Option<RequestInfo>; MAX_PENDING],
    /// Commands dropped from `pending` without an answer.
    pub unanswered: u64,
    /// Responses that matched no pending command.
    pub unmatched_responses: u64,
}

impl Session {
    fn remember(&mut self, f: &Frame<'_>, ts: Timestamp) {
        let d = f.detail();
        let info = RequestInfo {
            sid: f.header.sid,
            command: f.command(),
            memory_area: d.memory_area,
            address: d.address,
            count: d.count,
            ts,
        };
        if let Some(slot) = self.pending.iter_mut().find(|p| p.is_none()) {
            *slot = Some(info);
            return;
        }
        let oldest = (0..MAX_PENDING)
            .min_by_key(|&i| self.pending[i].map_or(Timestamp::ZERO, |p| p.ts))
            .unwrap_or(0);
        self.pending[oldest] = Some(info);
        self.unanswered += 1;
    }

    fn take(&mut self, f: &Frame<'_>) -> Option<RequestInfo> {
        let (sid, cmd) = (f.header.sid, f.command());
        self.pending
            .iter_mut()
            .find(|p| p.is_some_and(|r| r.sid == sid && r.command == cmd))?
            .take()
    }

    fn report(&mut self, tcp: Option<TcpHeader>, frame: Option<Frame<'_>>, cx: &mut Ctx<'_>) {
        let mut msg = Message {
            tcp,
            frame,
            request: None,
            latency_ns: None,
        };
        if let Some(f) = &frame {
            if f.header.is_response() {
                msg.request = self.take(f);
                match msg.request {
                    Some(r) => msg.latency_ns = Some(cx.ts.nanos_since(r.ts)),
                    None => self.unmatched_responses += 1,
                }
            } else if !f.header.no_response() {
                self.remember(f, cx.ts);
            }
        }
        cx.message(msg.kind(), crate::Message::Fins(msg));
    }

    fn frame(&mut self, tcp: Option<TcpHeader>, b: &[u8], whole: &[u8], cx: &mut Ctx<'_>) {
        let (f, e) = wire::parse_frame(b);
        if f.is_some() {
            self.report(tcp, f, cx);
        }
        if let Some(e) = e {
            cx.malformed(Proto::Fins, e.code(), &e, e.function(), whole);
        }
    }

    fn stream(&mut self, data: &[u8], cx: &mut Ctx<'_>) -> usize {
        let d = cx.dir.idx();
        let mut off = 0;
        while data.len() - off >= 8 {
            let rest = &data[off..];
            if self.resync[d] && !rest.starts_with(wire::TCP_MAGIC) {
                match rest[1..].windows(4).position(|w| w == wire::TCP_MAGIC) {
                    Some(k) => {
                        off += 1 + k;
                        continue;
                    }
                    None => {
                        off = data.len() - 3;
                        break;
                    }
                }
            }
            let (mut h, n) = match wire::parse_tcp_header(rest) {
                Ok(Some(x)) => x,
                Ok(None) => break,
                Err(e) => {
                    if !self.reported[d] {
                        cx.malformed(Proto::Fins, e.code(), &e, None, &rest[..rest.len().min(64)]);
                        self.reported[d] = true;
                    }
                    self.resync[d] = true;
                    off += 1;
                    continue;
                }
            };
            if rest.len() < n {
                break;
            }
            self.resync[d] = false;
            self.reported[d] = false;
            let body = &rest[wire::TCP_HEADER_LEN..n];
            if h.command == wire::tcp::FRAME {
                self.frame(Some(h), body, &rest[..n], cx);
            } else {
                match wire::tcp_nodes(&mut h, body) {
                    Ok(()) => self.report(Some(h), None, cx),
                    Err(e) => cx.malformed(Proto::Fins, e.code(), &e, e.function(), &rest[..n]),
                }
            }
            off += n;
        }
        off
    }
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], datagram: bool, cx: &mut Ctx<'_>) -> usize {
        if datagram {
            self.frame(None, data, data, cx);
            return data.len();
        }
        let d = cx.dir.idx();
        if !self.started[d] {
            self.started[d] = true;
            if !cx.flow.handshake_seen() && !data.starts_with(wire::TCP_MAGIC) {
                self.resync[d] = true;
                self.reported[d] = true;
            }
        }
        self.stream(data, cx)
    }

    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        let d = cx.dir.idx();
        self.resync[d] = true;
        self.reported[d] = true;
    }
}

/// Content probe: TCP — a whole FINS/TCP frame starting with "FINS" and a
/// known FINS/TCP command; UDP — a command frame with a sound header and a
/// known command code.
pub fn probe(transport: Transport, data: &[u8]) -> bool {
    match transport {
        Transport::Tcp => matches!(
            wire::parse_tcp_header(data),
            Ok(Some((h, n))) if n == data.len() && matches!(h.command, 0 | 2)
        ),
        Transport::Udp => {
            wire::plausible_header(data) && data[0] & 0x40 == 0 && data[0] & 0x80 != 0
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
