//! Mitsubishi MELSEC communication: SLMP / MC protocol 3E and 4E binary
//! frames, and the MELSOFT engineering protocol of GX Works.
//!
//! - `wire`: pure parsing of one frame of either family.
//! - this file: the per-flow [`Session`]: framing over a byte stream (by the
//!   data length of each family), resync after garbage or a gap, and
//!   request/response matching (3E: in order; 4E: by serial number; MELSOFT
//!   responses carry their command).
//! - `json`: the NDJSON form.

mod json;
pub mod wire;

use otwatch_core::{MsgKind, Proto, Timestamp, Transport};

use crate::dissector::{Ctx, Dissector};
use crate::ident::{Identity, Subject, text};
use crate::protocols::ProtoMessage;
pub use wire::{Error, Format, Frame};

/// Default server ports: MELSOFT TCP 5007 / UDP 5006 (GX Works), and TCP 5562
/// (the MELSOFT port of the public corpus capture).
pub const PORTS: &[(Transport, u16)] = &[
    (Transport::Tcp, 5007),
    (Transport::Udp, 5006),
    (Transport::Tcp, 5562),
];

/// Requests remembered per flow while waiting for their response.
pub const MAX_PENDING: usize = 32;

/// A request remembered until its response arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestInfo {
    pub format: Format,
    pub serial: Option<u16>,
    pub command: u16,
    pub subcommand: Option<u16>,
    pub ts: Timestamp,
}

/// A dissected MELSEC message.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub frame: Frame<'a>,
    /// On an SLMP response: the request it answers.
    pub request: Option<RequestInfo>,
    pub latency_ns: Option<i64>,
}

impl Message<'_> {
    /// The command of the message, or of the request a response answers.
    pub fn command(&self) -> Option<u16> {
        self.frame.command.or(self.request.map(|r| r.command))
    }
}

impl ProtoMessage for Message<'_> {
    fn function_code(&self) -> u16 {
        self.command().unwrap_or(0)
    }

    fn identity(&self) -> Option<Identity<'_>> {
        if !self.frame.response
            || self.frame.end_code != Some(0)
            || self.frame.format == Format::Melsoft
            || self.command() != Some(0x0101)
        {
            return None;
        }
        let (model, code) = wire::cpu_model(self.frame.data)?;
        let mut id = Identity::new(Subject::Sender, "melsec read CPU model");
        id.vendor = Some("Mitsubishi Electric".into());
        id.model = text(model);
        id.product_code = Some(format!("0x{code:04x}").into());
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
    /// Requests dropped from `pending` without an answer.
    pub unanswered: u64,
    /// Responses that matched no pending request.
    pub unmatched_responses: u64,
}

/// Bytes needed to recognise a header of any family.
const PEEK: usize = 0x15;

fn plausible(b: &[u8]) -> bool {
    match wire::frame_len(b) {
        Ok(Some((_, _, _, n))) => match b.get(..n) {
            Some(f) => wire::parse(f).is_ok(),
            None => true,
        },
        _ => false,
    }
}

fn find_header(b: &[u8]) -> Option<usize> {
    (0..b.len().saturating_sub(PEEK - 1))
        .find(|&i| matches!(b[i], 0x50 | 0xd0 | 0x54 | 0xd4 | 0x57 | 0xd7) && plausible(&b[i..]))
}

impl Session {
    fn remember(&mut self, f: &Frame<'_>, ts: Timestamp) {
        let Some(command) = f.command else { return };
        let info = RequestInfo {
            format: f.format,
            serial: f.serial,
            command,
            subcommand: f.subcommand,
            ts,
        };
        let slot = match self.pending.iter().position(|p| p.is_none()) {
            Some(i) => i,
            None => {
                self.unanswered += 1;
                self.oldest().unwrap_or(0)
            }
        };
        self.pending[slot] = Some(info);
    }

    fn oldest(&self) -> Option<usize> {
        (0..MAX_PENDING)
            .filter(|&i| self.pending[i].is_some())
            .min_by_key(|&i| self.pending[i].map_or(Timestamp::ZERO, |p| p.ts))
    }

    fn take(&mut self, f: &Frame<'_>) -> Option<RequestInfo> {
        let i = match f.format {
            Format::Slmp4e => self.pending.iter().position(|p| {
                p.is_some_and(|r| r.format == Format::Slmp4e && r.serial == f.serial)
            }),
            Format::Slmp3e => (0..MAX_PENDING)
                .filter(|&i| self.pending[i].is_some_and(|r| r.format == Format::Slmp3e))
                .min_by_key(|&i| self.pending[i].map_or(Timestamp::ZERO, |p| p.ts)),
            Format::Melsoft => self.pending.iter().position(|p| {
                p.is_some_and(|r| r.format == Format::Melsoft && Some(r.command) == f.command)
            }),
        };
        let r = i.and_then(|i| self.pending[i].take());
        if r.is_none() {
            self.unmatched_responses += 1;
        }
        r
    }

    fn frame(&mut self, b: &[u8], cx: &mut Ctx<'_>) {
        match wire::parse(b) {
            Ok(f) => {
                let (kind, request) = if f.response {
                    (MsgKind::Response, self.take(&f))
                } else {
                    self.remember(&f, cx.ts);
                    (MsgKind::Request, None)
                };
                let latency_ns = request.map(|r| cx.ts.nanos_since(r.ts));
                cx.message(
                    kind,
                    crate::Message::Melsec(Message {
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
        cx.malformed(Proto::Melsec, e.code(), &e, e.command(), shown);
    }
}

impl Dissector for Session {
    fn on_data(&mut self, data: &[u8], datagram: bool, cx: &mut Ctx<'_>) -> usize {
        let d = cx.dir.idx();
        if datagram {
            match wire::frame_len(data) {
                Ok(Some((_, _, _, n))) if n <= data.len() => self.frame(&data[..n], cx),
                Ok(_) => {
                    let e = Error::BadLength {
                        format: Format::Slmp3e,
                        length: data.len() as u16,
                    };
                    self.malformed(e, data, cx)
                }
                Err(e) => self.malformed(e, data, cx),
            }
            return data.len();
        }
        if !self.started[d] {
            self.started[d] = true;
            if !cx.flow.handshake_seen() && !plausible(data) {
                self.resync[d] = true;
                self.reported[d] = true;
            }
        }
        let mut off = 0;
        while data.len() - off >= 2 {
            let rest = &data[off..];
            if self.resync[d] {
                if rest.len() < PEEK {
                    break;
                }
                if !plausible(rest) {
                    match find_header(&rest[1..]) {
                        Some(k) => {
                            off += 1 + k;
                            continue;
                        }
                        None => {
                            off = data.len() - (PEEK - 1);
                            break;
                        }
                    }
                }
            }
            match wire::frame_len(rest) {
                Ok(None) => break,
                Ok(Some((_, _, _, n))) => {
                    if rest.len() < n {
                        break;
                    }
                    self.resync[d] = false;
                    self.reported[d] = false;
                    self.frame(&rest[..n], cx);
                    off += n;
                }
                Err(e) => {
                    if !self.reported[d] {
                        self.malformed(e, rest, cx);
                        self.reported[d] = true;
                    }
                    self.resync[d] = true;
                    off += 1;
                }
            }
        }
        off
    }

    fn on_gap(&mut self, _len: u32, cx: &mut Ctx<'_>) {
        let d = cx.dir.idx();
        self.resync[d] = true;
        self.reported[d] = true;
    }
}

/// Content probe: one whole, valid frame of either family.
pub fn probe(_transport: Transport, data: &[u8]) -> bool {
    matches!(wire::frame_len(data), Ok(Some((_, _, _, n))) if n == data.len())
        && wire::parse(data).is_ok()
        && data.len() >= PEEK
}

#[cfg(test)]
mod tests;
